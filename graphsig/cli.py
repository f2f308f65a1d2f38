"""The ``graphsig`` command.

``graphsig demo`` (also ``graphsig`` alone) embeds the genes of the bundled
PBMC data set as signals on its cell graph, shows the nearest genes of a few
marker genes and checks the embedding against exact EMD on a sample.

``graphsig embed GRAPH SIGNALS -o OUT`` embeds signals read from files and
writes the embedding to ``.npy`` or ``.npz``.

Run ``graphsig COMMAND --help`` for the options. :func:`main` is the entry
point; it returns the exit code (0 on success, 2 on a user error, with a
one-line message on stderr).
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]

# marker genes of the main PBMC cell types, in the order they are shown
_MARKERS = {
    "CD3D": "T cells",
    "MS4A1": "B cells",
    "NKG7": "NK cells",
    "LYZ": "monocytes",
    "FCGR3A": "CD16+ monocytes, NK",
    "HLA-DRA": "antigen-presenting cells",
    "CD79A": "B cells",
    "GNLY": "NK cells",
    "CST3": "monocytes, dendritic cells",
    "IL7R": "T cells",
    "CCR7": "naive T cells",
    "S100A8": "monocytes",
}
_N_MARKERS_SHOWN = 6
_N_NEAREST = 5
_K_PRECISION = 10

_GRAPH_SUFFIXES = (".npz", ".mtx", ".mtx.gz", ".npy", ".h5ad")
# .npy and .npz signals are streamed in batches (graphsig.io); the estimator
# is fitted on all of them if they take at most this much memory as float64,
# else on a seeded random sample of as many rows
_FIT_MAX_BYTES = 256 * 2**20


class UsageError(Exception):
    """An error in what the user asked for: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


# ---------------------------------------------------------------------------
# entry point


def main(argv=None):
    """Run the ``graphsig`` command line; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``). No arguments runs the demo.

    Returns
    -------
    code : int
        0 on success, 2 on a user error (bad arguments, unreadable or
        inconsistent input), whose message is printed on stderr.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["demo"]
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        run = getattr(args, "run", None)
        if run is None:
            args = parser.parse_args(["demo"])
            run = args.run
        return run(args)
    except UsageError as exc:
        _print_error(exc)
        return 2
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print("graphsig: interrupted", file=sys.stderr)
        return 130


def _print_error(exc):
    message = " ".join(str(exc).split())
    print(f"graphsig: error: {message}", file=sys.stderr)


def _build_parser():
    from . import __version__

    parser = _Parser(
        prog="graphsig",
        description="Optimal transport on graphs: diffusion EMD embeddings of graph signals.",
    )
    parser.add_argument("--version", action="version", version=f"graphsig {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser(
        "demo",
        help="embed the genes of the bundled PBMC data and check against exact EMD (default)",
        description=(
            "Embed the 765 genes of the bundled PBMC data set as signals on its 700-cell "
            "graph, show the nearest genes of marker genes, and compare with exact EMD on "
            "a sample of query genes."
        ),
    )
    demo.add_argument("--n-queries", type=_nonnegative_int, default=8,
                      help="query genes compared with exact EMD (default 8; 0 skips the check)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the query sample (default 0)")
    _add_form_options(demo)
    demo.set_defaults(run=_run_demo)

    embed = commands.add_parser(
        "embed",
        help="embed signals on a graph read from files",
        description=(
            "Embed nonnegative signals on a graph so that L1 distances between embeddings "
            "approximate the earth mover's distance (hop ground cost). GRAPH: .npz "
            "(scipy.sparse.save_npz, or numpy.savez of a dense array), .mtx (Matrix Market) "
            "or .npy; or .h5ad (uns/neighbors/connectivities). SIGNALS: .npz, .mtx or .npy "
            "with one signal per row; or .h5ad, whose genes (columns of raw.X, else X) are "
            "the signals on its cells. .npy and .npz signals are read and embedded in "
            "batches; if they would take more than 256 MiB as float64, the embedding's hop "
            "scale is fitted on a seeded random sample of that size."
        ),
    )
    embed.add_argument("graph", metavar="GRAPH", help="adjacency matrix file")
    embed.add_argument("signals", metavar="SIGNALS", help="signals file")
    embed.add_argument("-o", "--output", metavar="OUT", required=True,
                       help="output file: .npy (the embedding) or .npz (embedding, times, "
                            "hop_scale)")
    _add_form_options(embed)
    embed.add_argument("--signals-by-nodes", action="store_true",
                       help="SIGNALS holds one signal per column (nodes x signals)")
    embed.add_argument("--float32", action="store_true",
                       help="compute and store in float32 (default float64)")
    embed.add_argument("--max-scale", type=_max_scale, default="auto", metavar="K",
                       help="largest diffusion time 2**K (default: from the graph's diameter)")
    embed.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    embed.set_defaults(run=_run_embed)
    return parser


def _add_form_options(parser):
    parser.add_argument("--unbalanced", action="store_true",
                        help="unbalanced EMD: signals keep their mass, created or destroyed "
                             "at a cost")
    parser.add_argument("--mass-penalty", type=_positive_float, default=None, metavar="C",
                        help="cost per unit of mass created or destroyed, in hops "
                             "(with --unbalanced; default 5)")


def _nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _max_scale(text):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {text!r}") from None
    if not 0 <= value <= 40:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 40], got {value}")
    return value


def _check_form(args):
    if args.mass_penalty is not None and not args.unbalanced:
        raise UsageError("--mass-penalty applies to the unbalanced form: add --unbalanced")


def _estimator(graph, args, **params):
    from .emd import DiffusionEMD, UnbalancedDiffusionEMD

    _check_form(args)
    if args.unbalanced:
        penalty = 5.0 if args.mass_penalty is None else args.mass_penalty
        return UnbalancedDiffusionEMD(graph, mass_penalty=penalty, **params)
    return DiffusionEMD(graph, **params)


def _form(est):
    if hasattr(est, "mass_penalty"):
        return f"unbalanced (UnbalancedDiffusionEMD, mass_penalty={est.mass_penalty:g})"
    return "balanced (DiffusionEMD)"


def _transform(est, X, *, progress, unit):
    """``est.transform(X)`` with a progress bar on stderr.

    The estimator's own bar (one step per batch of signals) when ``X`` takes
    several batches; otherwise one bar over the single call: splitting the
    work into more calls than the estimator's batches would slow it down.
    """
    if not progress:
        return est.transform(X)
    n = X.shape[0]
    batch = est.operator_.batch_size(len(est.times_), X.dtype, est.max_memory)
    if n > batch:
        est.set_params(progress=True)
        try:
            return est.transform(X)
        finally:
            est.set_params(progress=False)
    from tqdm.auto import tqdm

    with tqdm(total=n, desc="embedding", unit=unit, file=sys.stderr) as bar:
        emb = est.transform(X)
        bar.update(n)
    return emb


# ---------------------------------------------------------------------------
# demo


def _run_demo(args):
    from .datasets import load_pbmc68k
    from .emd import exact_emd
    from .neighbors import l1_distances

    _check_form(args)
    data = load_pbmc68k()
    graph, X, genes = data.graph, data.signals, data.gene_names
    n_genes, n_cells = X.shape
    if args.n_queries > n_genes:
        raise UsageError(f"--n-queries must be at most {n_genes} (the number of genes)")
    est = _estimator(graph, args)
    balanced = not args.unbalanced
    n_types = len(np.unique(data.cell_labels))
    out = sys.stdout
    print("graphsig demo: genes as signals on a cell graph", file=out)
    print(
        f"data: PBMC 68k reduced (10x Genomics, via scanpy): {n_genes} genes x {n_cells} cells, "
        f"kNN cell graph with {graph.nnz // 2} edges, {n_types} cell types",
        file=out,
    )
    print(f"form: {_form(est)}", file=out, flush=True)

    start = time.perf_counter()
    est.fit(X)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    emb = _transform(est, X, progress=True, unit="gene")
    transform_seconds = time.perf_counter() - start
    print(
        f"embedding: {emb.shape[0]} x {emb.shape[1]} {emb.dtype} "
        f"(diffusion times 0..{est.times_[-1]}, "
        f"max_scale_={est.max_scale_}, hop_scale_={est.hop_scale_:.4g})",
        file=out,
    )

    start = time.perf_counter()
    if hasattr(emb, "toarray"):  # a sparse (CSR) embedding
        emb = emb.toarray()
    dist = l1_distances(emb)
    pairs_seconds = time.perf_counter() - start
    n_pairs = n_genes * (n_genes - 1) // 2

    print(f"\nNearest genes (L1 between embeddings, approximates the "
          f"{'EMD' if balanced else 'unbalanced EMD'} in hops)", file=out)
    index = {g: i for i, g in enumerate(genes)}
    shown = [g for g in _MARKERS if g in index][:_N_MARKERS_SHOWN]
    width = max(len(g) for g in shown) if shown else 0
    for g in shown:
        i = index[g]
        order = [j for j in np.argsort(dist[i], kind="stable") if j != i][:_N_NEAREST]
        near = ", ".join(f"{genes[j]} {dist[i, j]:.3g}" for j in order)
        print(f"  {g:<{width}}  ({_MARKERS[g]}): {near}", file=out)

    exact_seconds = None
    if args.n_queries:
        queries = np.random.default_rng(args.seed).choice(n_genes, args.n_queries, replace=False)
        print(f"\nAccuracy against exact EMD ({len(queries)} query genes, seed {args.seed}, "
              f"each against the {n_genes - 1} other genes)", file=out, flush=True)
        start = time.perf_counter()
        exact = exact_emd(graph, X[queries], X, mass_penalty=est.mass_penalty if not balanced
                          else None, progress=True)
        exact_seconds = time.perf_counter() - start
        spearman, precision = _query_scores(dist[queries], exact, queries, _K_PRECISION)
        print(f"  Spearman correlation of distances: mean {spearman.mean():.3f} "
              f"(min {spearman.min():.3f})", file=out)
        print(f"  P@{_K_PRECISION} (overlap of the {_K_PRECISION} nearest genes): mean "
              f"{precision.mean():.3f} (min {precision.min():.3f})", file=out)
        # the exact nearest genes, certified by lower bounds: the embedding
        # orders the candidates, Kantorovich potentials prune them
        from .emd import exact_kneighbors

        order = np.argsort(dist[queries], axis=1, kind="stable")[:, :32]
        start = time.perf_counter()
        _, certified, n_solves = exact_kneighbors(
            graph, X[queries], X, n_neighbors=_K_PRECISION + 1, order=order,
            mass_penalty=None if balanced else est.mass_penalty,
        )
        certified_seconds = time.perf_counter() - start
        found = [[j for j in row if j != q][:_K_PRECISION] for q, row in zip(queries, certified)]
        tenth = np.array([np.sort(np.delete(e, q))[_K_PRECISION - 1]
                          for q, e in zip(queries, exact)])
        agree = np.mean([np.mean(exact[i, f] <= tenth[i] + 1e-9)
                         for i, f in enumerate(found)])
        print(f"  exact {_K_PRECISION} nearest (refine=\"exact\"): P@{_K_PRECISION} {agree:.3f} "
              f"with {n_solves.mean():.0f} exact solves per gene (of {n_genes - 1}), "
              f"{certified_seconds:.2f} s", file=out)

    lines = [
        ("fit (operator, scales, calibration)", fit_seconds, ""),
        (f"transform ({n_genes} genes)", transform_seconds, ""),
        (f"all-pairs L1 distances ({n_pairs} pairs)", pairs_seconds, ""),
    ]
    if exact_seconds is not None:
        n_exact = len(queries) * n_genes
        per_pair = exact_seconds / n_exact
        embed_total = fit_seconds + transform_seconds + pairs_seconds
        lines.append((f"exact EMD of the sample ({n_exact} pairs)", exact_seconds,
                      f"  ({1e3 * per_pair:.2f} ms per pair)"))
        lines.append((f"exact EMD of all {n_pairs} pairs, extrapolated", per_pair * n_pairs,
                      f"  ({per_pair * n_pairs / embed_total:.0f} x fit + transform + "
                      "all-pairs L1)"))
    print("\nTime", file=out)
    width = max(len(label) for label, _, _ in lines)
    for label, seconds, extra in lines:
        print(f"  {label:<{width}}  {seconds:9.2f} s{extra}", file=out)
    return 0


def _query_scores(approx, exact, queries, k):
    """Per-query Spearman correlation and P@k, the query itself left out."""
    from scipy.stats import spearmanr

    spearman = np.empty(len(queries))
    precision = np.empty(len(queries))
    for i, q in enumerate(queries):
        keep = np.arange(approx.shape[1]) != q
        a, e = approx[i, keep], exact[i, keep]
        spearman[i] = spearmanr(a, e).statistic
        near_a = np.argsort(a, kind="stable")[:k]
        near_e = np.argsort(e, kind="stable")[:k]
        precision[i] = np.intersect1d(near_a, near_e).size / k
    return spearman, precision


# ---------------------------------------------------------------------------
# embed


def _run_embed(args):
    _check_form(args)
    output = Path(args.output)
    if output.suffix not in (".npy", ".npz"):
        raise UsageError(
            f"cannot write {str(output)!r}: unknown extension {output.suffix or '(none)'!r} "
            "(use .npy or .npz)"
        )
    if not output.parent.is_dir():
        raise UsageError(f"output directory not found: {str(output.parent)!r}")

    graph = read_graph(args.graph)
    if args.signals_by_nodes and _suffix(args.signals) == ".h5ad":
        raise UsageError(
            "--signals-by-nodes does not apply to .h5ad signals: their cells are the nodes "
            "and their genes the signals"
        )
    dtype = np.float32 if args.float32 else np.float64
    reader = _open_streamed(args.signals, args.signals_by_nodes)
    if reader is None:
        X = read_signals(args.signals, by_nodes=args.signals_by_nodes).astype(dtype, copy=False)
        shape = X.shape
    else:
        shape = reader.shape
        rows = _fit_sample(shape[0], max(2, _FIT_MAX_BYTES // (8 * max(1, shape[1]))))
        X = reader.read(0, shape[0]) if len(rows) == shape[0] else reader.take(rows)
        X = X.astype(dtype, copy=False)
    n_nodes = graph.shape[0] if graph.ndim == 2 else None
    if n_nodes is not None and shape[1] != n_nodes and shape[0] == n_nodes:
        hint = (" (its columns look like the signals: add --signals-by-nodes)"
                if not args.signals_by_nodes else " (drop --signals-by-nodes?)")
    else:
        hint = ""

    est = _estimator(graph, args, max_scale=args.max_scale)
    start = time.perf_counter()
    try:
        est.fit(X)
        if reader is None:
            emb = _transform(est, X, progress=not args.quiet, unit="signal")
        else:
            from .io import transform_file

            emb = transform_file(est, reader, dtype=dtype, progress=not args.quiet,
                                 output=output if output.suffix == ".npy" else None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{exc}{hint}") from None
    except OSError as exc:
        raise UsageError(f"cannot write {str(output)!r}: {exc.strerror or exc}") from None
    finally:
        if reader is not None:
            reader.close()
    seconds = time.perf_counter() - start

    try:
        if output.suffix == ".npy":
            if reader is None:
                np.save(output, emb.toarray() if hasattr(emb, "toarray") else emb)
        elif hasattr(emb, "tocsr"):
            # scipy.sparse.load_npz reads it; times and hop_scale ride along
            emb = emb.tocsr()
            np.savez(output, data=emb.data, indices=emb.indices, indptr=emb.indptr,
                     format=np.array(b"csr"), shape=np.array(emb.shape),
                     times=est.times_, hop_scale=np.float64(est.hop_scale_))
        else:
            np.savez(output, embedding=emb, times=est.times_, hop_scale=np.float64(est.hop_scale_))
    except OSError as exc:
        raise UsageError(f"cannot write {str(output)!r}: {exc.strerror or exc}") from None
    if not args.quiet:
        print(
            f"embedded {shape[0]} signals on {est.n_features_in_} nodes, {_form(est)}: "
            f"diffusion times 0..{est.times_[-1]} (max_scale {est.max_scale_}), "
            f"hop_scale {est.hop_scale_:.4g}, {seconds:.2f} s"
        )
        print(f"wrote {output}: {emb.shape[0]} x {emb.shape[1]} {emb.dtype}")
    return 0


# ---------------------------------------------------------------------------
# reading files


def _suffix(path):
    name = Path(path).name.lower()
    if name.endswith(".mtx.gz"):
        return ".mtx.gz"
    return Path(name).suffix


def _open_streamed(path, by_nodes):
    """A batch reader of the signals file, or None to read it whole.

    .npy and .npz files of 2-D signals (one per row) are streamed; other
    files, and files the reader cannot open (whose problem the whole-file
    reader then reports), are read whole.
    """
    if by_nodes or _check_file(path, "signals") not in (".npy", ".npz"):
        return None
    from .io import open_signals

    try:
        return open_signals(path)
    except (ValueError, TypeError, KeyError, OSError):
        return None


def _fit_sample(n_signals, max_rows):
    """Rows to fit on: all, or a seeded random sample of ``max_rows`` (sorted)."""
    if n_signals <= max_rows:
        return np.arange(n_signals)
    return np.sort(np.random.default_rng(0).choice(n_signals, max_rows, replace=False))


def _check_file(path, what):
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{what} file not found: {str(path)!r}")
    if not p.is_file():
        raise UsageError(f"{what} path is not a file: {str(path)!r}")
    suffix = _suffix(path)
    if suffix not in _GRAPH_SUFFIXES:
        raise UsageError(
            f"cannot read {what} file {str(path)!r}: unknown extension {suffix or '(none)'!r} "
            "(use .npz, .mtx, .npy or .h5ad)"
        )
    return suffix


def read_graph(path):
    """Read an adjacency matrix from .npz, .mtx, .npy or .h5ad (sparse or dense)."""
    suffix = _check_file(path, "graph")
    if suffix == ".h5ad":
        return _read_h5ad(path, "graph")
    return _read_matrix(path, suffix, "graph", keys=("adjacency", "graph", "W", "A"))


def read_signals(path, *, by_nodes=False):
    """Read signals, one per row (one per column with ``by_nodes``); returns 2-D."""
    import scipy.sparse as sp

    suffix = _check_file(path, "signals")
    if suffix == ".h5ad":
        return _read_h5ad(path, "signals")
    X = _read_matrix(path, suffix, "signals", keys=("signals", "X"))
    if not sp.issparse(X):
        if X.ndim == 1:
            X = X.reshape(1, -1) if not by_nodes else X.reshape(-1, 1)
        elif X.ndim != 2:
            raise UsageError(
                f"signals in {str(path)!r} must be a 2-D array, got shape {X.shape}"
            )
    if by_nodes:
        X = X.T
    return sp.csr_matrix(X) if sp.issparse(X) else np.ascontiguousarray(X)


def _read_matrix(path, suffix, what, keys):
    import scipy.sparse as sp

    try:
        if suffix in (".mtx", ".mtx.gz"):
            from scipy.io import mmread

            M = mmread(path)
            return sp.csr_matrix(M) if sp.issparse(M) else np.asarray(M)
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as f:
            names = list(f.keys())
            if {"format", "shape", "data"} <= set(names):
                return sp.csr_matrix(sp.load_npz(path))
            if len(names) == 1:
                return f[names[0]]
            for key in keys:
                if key in names:
                    return f[key]
    except UsageError:
        raise
    except (OSError, ValueError, TypeError, EOFError) as exc:
        raise UsageError(f"cannot read {what} file {str(path)!r}: {exc}") from None
    raise UsageError(
        f"cannot read {what} file {str(path)!r}: it holds several arrays "
        f"({', '.join(names)}); name the one to use {' or '.join(repr(k) for k in keys)}"
    )


def _read_h5ad(path, what):
    """Read the cell graph or the gene signals of an AnnData (.h5ad) file."""
    try:
        import h5py
    except ImportError:
        raise UsageError(
            "reading .h5ad files needs h5py: pip install graphsig[h5ad]"
        ) from None
    try:
        with h5py.File(path, "r") as f:
            if what == "graph":
                for name in ("uns/neighbors/connectivities", "obsp/connectivities"):
                    if name in f:
                        return _h5_matrix(f[name])
                raise UsageError(
                    f"no cell graph in {str(path)!r}: expected uns/neighbors/connectivities "
                    "or obsp/connectivities"
                )
            for name in ("raw.X", "raw/X", "X"):
                if name in f:
                    # cells x genes: the genes (columns) are the signals on the cells
                    matrix = _h5_matrix(f[name])
                    return matrix.T.tocsr() if hasattr(matrix, "tocsr") else matrix.T.copy()
            raise UsageError(f"no expression matrix in {str(path)!r}: expected raw.X, raw/X or X")
    except UsageError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot read {what} from {str(path)!r}: {exc}") from None


def _h5_matrix(node):
    """A dense dataset, or a CSR/CSC group (anndata or h5sparse layout)."""
    import h5py
    import scipy.sparse as sp

    if isinstance(node, h5py.Dataset):
        return np.asarray(node[()])
    attrs = node.attrs
    fmt = attrs.get("encoding-type", attrs.get("h5sparse_format"))
    shape = attrs.get("shape", attrs.get("h5sparse_shape"))
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt is None or shape is None or not {"data", "indices", "indptr"} <= set(node.keys()):
        raise ValueError(f"{node.name} is neither an array nor a sparse matrix")
    fmt = str(fmt).replace("_matrix", "")
    arrays = (node["data"][()], node["indices"][()], node["indptr"][()])
    shape = tuple(int(s) for s in shape)
    if fmt == "csr":
        return sp.csr_matrix(arrays, shape=shape)
    if fmt == "csc":
        return sp.csc_matrix(arrays, shape=shape).tocsr()
    raise ValueError(f"{node.name} has an unknown sparse format {fmt!r}")


if __name__ == "__main__":
    sys.exit(main())
