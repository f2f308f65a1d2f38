"""The ``graphsig`` command.

``graphsig demo`` (also ``graphsig`` alone) embeds the genes of the bundled
PBMC data set as signals on its cell graph, shows the nearest genes of a few
marker genes and checks the embedding against exact EMD on a sample.

``graphsig embed GRAPH SIGNALS -o OUT`` embeds signals read from files and
writes the embedding to ``.npy`` or ``.npz``.

Run ``graphsig COMMAND --help`` for the options. :func:`main` is the entry
point; it returns the exit code (0 on success, 2 on a user error, 130 if
interrupted by SIGINT, 143 if terminated by SIGTERM, each with a one-line
message on stderr). Files are read and written by :mod:`graphsig.io`: the
output is written under a temporary name and renamed into place once
complete, so a failed or stopped run leaves no partial file and any older
output as it was.
"""

import argparse
import math
import signal
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

# .npy and .npz signals are streamed in batches (graphsig.io); the estimator
# is fitted on all of them if they take at most this much memory as float64,
# else on a seeded random sample of as many rows
_FIT_MAX_BYTES = 256 * 2**20


class UsageError(Exception):
    """An error in what the user asked for: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


class _Terminated(BaseException):
    """SIGTERM, raised where the program is so that its cleanups run."""


def _raise_terminated(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM cannot cut the cleanup
    raise _Terminated


def _handle_sigterm():
    """Turn SIGTERM into :class:`_Terminated`; return the handler it replaced.

    Only the default action is replaced (not a handler of a host program,
    nor an inherited "ignore"); returns None when nothing was changed.
    """
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return None
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals cannot be handled here
        return None


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
        inconsistent input), 130 if interrupted (SIGINT, Ctrl-C), 143 if
        terminated (SIGTERM); a one-line message on stderr for each error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["demo"]
    previous = None
    try:
        previous = _handle_sigterm()
        parser = _build_parser()
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
    except _Terminated:
        print("graphsig: terminated", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


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
            "(scipy.sparse.save_npz of a CSR, CSC or COO matrix, or numpy.savez of a dense "
            "array), .mtx (Matrix Market) or .npy; or .h5ad (uns/neighbors/connectivities). "
            "SIGNALS: .npz, .mtx or .npy with one signal per row; or .h5ad, whose genes "
            "(columns of raw.X, else X) are the signals on its cells. .npy and .npz signals "
            "are read and embedded in batches; if they would take more than 256 MiB as "
            "float64, the embedding's hop scale is fitted on a seeded random sample of that "
            "size. OUT is written under a temporary name and renamed once complete: a failed "
            "or interrupted run leaves no partial file and an older OUT untouched. OUT must "
            "not be GRAPH or SIGNALS."
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
    batch = est._batch_size(X.dtype)
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

    # The numba kernels are compiled (or loaded from their on-disk cache) on
    # first use: a first fit + transform on a copy of the estimator, with the
    # L1 and exact EMD kernels run on two signals, pays this one-off cost; the
    # timed fit + transform below is the steady state.
    from sklearn.base import clone

    start = time.perf_counter()
    first = clone(est).fit(X)
    l1_distances(np.asarray(_dense_rows(first.transform(X))[:2]))
    if args.n_queries:
        exact_emd(graph, X[:1], X[1:2],
                  mass_penalty=None if balanced else est.mass_penalty)
    first_seconds = time.perf_counter() - start
    del first

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

    embed_total = fit_seconds + transform_seconds + pairs_seconds
    compile_seconds = max(0.0, first_seconds - fit_seconds - transform_seconds)
    lines = [
        ("first fit + transform (includes one-off costs)", first_seconds,
         f"  (one-off: {compile_seconds:.2f} s)"),
        ("fit (operator, scales, calibration)", fit_seconds, "  (steady state)"),
        (f"transform ({n_genes} genes)", transform_seconds, "  (steady state)"),
        (f"all-pairs L1 distances ({n_pairs} pairs)", pairs_seconds, ""),
    ]
    if exact_seconds is not None:
        n_exact = len(queries) * n_genes
        per_pair = exact_seconds / n_exact
        lines.append((f"exact EMD of the sample ({n_exact} pairs)", exact_seconds,
                      f"  ({1e3 * per_pair:.2f} ms per pair)"))
        lines.append((f"exact EMD of all {n_pairs} pairs, extrapolated", per_pair * n_pairs, ""))
    print("\nTime", file=out)
    width = max(len(label) for label, _, _ in lines)
    for label, seconds, extra in lines:
        print(f"  {label:<{width}}  {seconds:9.2f} s{extra}", file=out)
    print(f"\nOne-off compilation: {compile_seconds:.2f} s (the first fit + transform minus the "
          "steady state: compiling the numba kernels, or loading them from their on-disk cache "
          "after the first run)", file=out)
    if exact_seconds is not None:
        ratio = per_pair * n_pairs / embed_total
        print(f"Steady state: exact EMD of all pairs takes {ratio:.0f}x the time of "
              f"fit + transform + all-pairs L1 ({embed_total:.2f} s)", file=out)
    return 0


def _dense_rows(emb):
    """The embedding as a dense array (compressed embeddings may be sparse)."""
    return emb.toarray() if hasattr(emb, "toarray") else emb


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
    from . import io

    _check_form(args)
    output = Path(args.output)
    if output.suffix not in (".npy", ".npz"):
        raise UsageError(
            f"cannot write {str(output)!r}: unknown extension {output.suffix or '(none)'!r} "
            "(use .npy or .npz)"
        )
    if args.signals_by_nodes and args.signals.lower().endswith(".h5ad"):
        raise UsageError(
            "--signals-by-nodes does not apply to .h5ad signals: their cells are the nodes "
            "and their genes the signals"
        )
    dtype = np.float32 if args.float32 else np.float64
    try:
        io.check_output(output, [args.graph, args.signals])
        graph = io.read_graph(args.graph)
        reader = io.read_signals(args.signals, by_nodes=args.signals_by_nodes, stream=True)
    except (OSError, ValueError, TypeError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    try:
        shape = reader.shape
        rows = _fit_sample(shape[0], max(2, _FIT_MAX_BYTES // (8 * max(1, shape[1]))))
        try:
            X = reader.read(0, shape[0]) if len(rows) == shape[0] else reader.take(rows)
        except (ValueError, TypeError) as exc:
            raise UsageError(str(exc)) from None
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
            del X
            emb = io.transform_file(est, reader, dtype=dtype, progress=not args.quiet,
                                    output=output if output.suffix == ".npy" else None)
            seconds = time.perf_counter() - start
            if output.suffix == ".npz":
                io.save_embedding(output, emb, times=est.times_, hop_scale=est.hop_scale_)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{exc}{hint}") from None
        except OSError as exc:
            raise UsageError(f"cannot write {str(output)!r}: {exc.strerror or exc}") from None
    finally:
        reader.close()
    if not args.quiet:
        print(
            f"embedded {shape[0]} signals on {est.n_features_in_} nodes, {_form(est)}: "
            f"diffusion times 0..{est.times_[-1]} (max_scale {est.max_scale_}), "
            f"hop_scale {est.hop_scale_:.4g}, {seconds:.2f} s"
        )
        print(f"wrote {output}: {emb.shape[0]} x {emb.shape[1]} {emb.dtype}")
    return 0


def _fit_sample(n_signals, max_rows):
    """Rows to fit on: all, or a seeded random sample of ``max_rows`` (sorted)."""
    if n_signals <= max_rows:
        return np.arange(n_signals)
    return np.sort(np.random.default_rng(0).choice(n_signals, max_rows, replace=False))


if __name__ == "__main__":
    sys.exit(main())
