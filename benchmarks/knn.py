"""Exact and approximate 10-nearest-neighbour graphs over diffusion EMD embeddings.

Three kinds of embeddings, each made with graphsig.DiffusionEMD:

* histograms: ``--n`` (default 100 000) histograms of 200 draws over 12
  ordered bins (mixtures of one to three Gaussian bumps: binned 1-D
  measurements, such as a per-sample distribution of a marker), signals on
  the 12-node path graph (a few hundred dimensions), float32;
* PBMC: the 765 gene signals on the bundled 700-cell graph (dense, float32);
* sparse: sparse clustered signals (``graphsig.datasets.make_clustered_signals``)
  on the 100 x 100 grid, whose compressed embedding is sparse (CSR), as in
  ``scale.py``.

For each, the exact 10-NN graph (each point without itself) by
graphsig.neighbors.l1_kneighbors is compared with faiss ``IndexFlat`` L1 (dense
only) in the same run, both on the same number of threads, and the
approximate searches (graphsig's cluster index, ``EMDNeighbors(
algorithm="approximate")``; pynndescent; faiss ``IndexHNSWFlat`` L1, dense
only) are timed and scored by recall@10 against the exact graph.
pynndescent's numba compilation (tens of seconds per process) is excluded
by a warm-up on a small input, and reported separately.

Usage::

    python benchmarks/knn.py [--n 100000] [--threads 2] [--faiss-max 100000]

``--faiss-max``: above this many points, faiss IndexFlat runs on a subset of
that size and its time is extrapolated quadratically (marked so).
Writes results/knn.md and results/knn.json.
"""

import argparse
import time

import numpy as np
import scipy.sparse as sp

from _common import command_line, load_average, machine_info, markdown_table, write_results

K = 10


def histograms(n, n_bins=12, n_draws=200, seed=0):
    rng = np.random.default_rng(seed)
    bins = np.arange(n_bins)
    n_comp = rng.integers(1, 4, n)
    X = np.zeros((n, n_bins))
    for c in range(3):
        centre = rng.uniform(-0.5, n_bins - 0.5, n)
        width = rng.uniform(0.5, 3.0, n)
        weight = rng.uniform(0.2, 1.0, n) * (c < n_comp)
        X += weight[:, None] * np.exp(
            -0.5 * ((bins[None] - centre[:, None]) / width[:, None]) ** 2
        )
    X /= X.sum(axis=1, keepdims=True)
    counts = rng.multinomial(n_draws, X)
    return counts.astype(np.float32)


def embed(graph, signals):
    from graphsig import DiffusionEMD

    start = time.perf_counter()
    emb = DiffusionEMD(graph, random_state=0).fit(signals).transform(signals)
    return emb, time.perf_counter() - start


def recall(exact, approx):
    hits = [np.intersect1d(a, b).size for a, b in zip(exact, approx)]
    return float(np.mean(hits)) / exact.shape[1]


def timed(func):
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def ours_exact(emb, threads):
    from graphsig.neighbors import l1_kneighbors

    return timed(lambda: l1_kneighbors(emb, n_neighbors=K, n_jobs=threads, exclude_self=True))


def faiss_flat(emb, threads, faiss_max):
    import faiss

    faiss.omp_set_num_threads(threads)
    X = np.ascontiguousarray(emb, dtype=np.float32)
    n = X.shape[0]
    sub = X if n <= faiss_max else X[:faiss_max]

    def run():
        index = faiss.IndexFlat(X.shape[1], faiss.METRIC_L1)
        index.add(sub)
        return index.search(sub, K + 1)

    seconds, (_, ind) = timed(run)
    if sub.shape[0] < n:
        return seconds * (n / sub.shape[0]) ** 2, None, sub.shape[0]
    return seconds, ind, n


def drop_self(ind):
    out = np.empty((ind.shape[0], K), dtype=np.int64)
    for i, row in enumerate(ind):
        row = row[row != i]
        out[i] = row[:K]
    return out


def ours_approximate(emb, threads):
    from graphsig.neighbors import EMDNeighbors

    knn = EMDNeighbors(
        embedding="precomputed", n_neighbors=K, algorithm="approximate", n_jobs=threads,
        random_state=0,
    )
    return timed(lambda: knn.fit(emb).kneighbors(return_distance=False))


def pynndescent_graph(emb, threads):
    import numba
    from pynndescent import NNDescent

    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        warm = emb[:2000]
        compile_s, _ = timed(
            lambda: NNDescent(warm, metric="manhattan", n_neighbors=30, random_state=0).neighbor_graph
        )
        seconds, (ind, _) = timed(
            lambda: NNDescent(emb, metric="manhattan", n_neighbors=30, random_state=0).neighbor_graph
        )
    finally:
        numba.set_num_threads(before)
    return seconds, drop_self(ind), compile_s


def faiss_hnsw(emb, threads, ef_search):
    import faiss

    faiss.omp_set_num_threads(threads)
    X = np.ascontiguousarray(emb, dtype=np.float32)
    index = faiss.IndexHNSWFlat(X.shape[1], 32, faiss.METRIC_L1)
    build_s, _ = timed(lambda: index.add(X))
    out = []
    for ef in ef_search:
        index.hnsw.efSearch = ef
        seconds, (_, ind) = timed(lambda: index.search(X, K + 1))
        out.append((ef, build_s + seconds, drop_self(ind)))
    return out


def run_dataset(name, description, emb, threads, faiss_max, log):
    log(f"\n== {name}: {description}; embedding {emb.shape}, "
        f"{'CSR, ' + str(emb.nnz) + ' nonzeros' if sp.issparse(emb) else emb.dtype}")
    result = {"dataset": name, "description": description, "n": emb.shape[0],
              "dims": emb.shape[1], "sparse": bool(sp.issparse(emb)), "methods": []}
    ex_s, (_, exact) = ours_exact(emb, threads)
    log(f"  graphsig exact: {ex_s:.2f} s")
    result["methods"].append({"method": "graphsig l1_kneighbors (exact)", "seconds": ex_s,
                              "recall": 1.0})
    dense = None if sp.issparse(emb) else emb
    if sp.issparse(emb) and emb.shape[0] * emb.shape[1] * 4 < 4e9:
        dense_s, (_, dense_ind) = ours_exact(emb.toarray().astype(np.float32), threads)
        log(f"  graphsig exact on the densified embedding: {dense_s:.2f} s")
        result["methods"].append({"method": "graphsig l1_kneighbors on densified (exact)",
                                  "seconds": dense_s, "recall": recall(exact, dense_ind)})
    if dense is not None:
        fl_s, fl_ind, fl_n = faiss_flat(dense, threads, faiss_max)
        entry = {"method": "faiss IndexFlat L1 (exact)", "seconds": fl_s,
                 "ratio_to_graphsig_exact": fl_s / ex_s}
        if fl_ind is not None:
            entry["recall"] = recall(exact, drop_self(fl_ind))
        else:
            entry["extrapolated_from_n"] = fl_n
        result["methods"].append(entry)
        log(f"  faiss IndexFlat L1: {fl_s:.2f} s{' (extrapolated)' if fl_ind is None else ''}, "
            f"ratio faiss/graphsig {fl_s / ex_s:.2f}")
    ap_s, ap_ind = ours_approximate(emb, threads)
    result["methods"].append({"method": "graphsig EMDNeighbors(algorithm='approximate')",
                              "seconds": ap_s, "recall": recall(exact, ap_ind)})
    log(f"  graphsig approximate: {ap_s:.2f} s, recall@10 {recall(exact, ap_ind):.4f}")
    try:
        pn_s, pn_ind, pn_compile = pynndescent_graph(emb, threads)
        result["methods"].append({"method": "pynndescent NNDescent (n_neighbors=30)",
                                  "seconds": pn_s, "recall": recall(exact, pn_ind),
                                  "warm_up_seconds_2000_points": pn_compile})
        log(f"  pynndescent: {pn_s:.2f} s (warm-up {pn_compile:.1f} s), "
            f"recall@10 {recall(exact, pn_ind):.4f}")
    except ImportError:
        log("  pynndescent not installed")
    if dense is not None:
        try:
            for ef, hn_s, hn_ind in faiss_hnsw(dense, threads, (64, 128)):
                result["methods"].append({"method": f"faiss IndexHNSWFlat L1 (M=32, efSearch={ef})",
                                          "seconds": hn_s, "recall": recall(exact, hn_ind)})
                log(f"  faiss HNSW efSearch={ef}: {hn_s:.2f} s (build + search), "
                    f"recall@10 {recall(exact, hn_ind):.4f}")
        except ImportError:
            log("  faiss not installed")
    return result


def sparse_embedding(n_signals):
    """Compressed (CSR) embeddings of sparse clustered signals on a 100 x 100 grid."""
    from graphsig import DiffusionEMD
    from graphsig.datasets import make_clustered_signals
    from graphsig.graphs import grid_graph

    graph = sp.csr_matrix(grid_graph(100, 100), dtype=np.float64)
    signals, _ = make_clustered_signals(graph, n_signals, random_state=0)
    est = DiffusionEMD(graph, max_scale=6, n_trees=0, random_state=0)
    return est.fit(signals).transform(signals.astype(np.float32))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--faiss-max", type=int, default=100_000)
    parser.add_argument("--n-sparse", type=int, default=3000)
    args = parser.parse_args(argv)
    log = print
    import numba

    from graphsig.graphs import path_graph
    from graphsig.neighbors import l1_kneighbors

    numba.set_num_threads(args.threads)
    # compile (or load from cache) the kernels outside the timings
    warm = np.random.default_rng(0).random((300, 8))
    for dtype in (np.float32, np.float64):
        l1_kneighbors(warm.astype(dtype), n_neighbors=K, exclude_self=True)
        l1_kneighbors(sp.csr_matrix(warm.astype(dtype)), n_neighbors=K, exclude_self=True)
    load_before = load_average()
    results = []

    signals = histograms(args.n)
    emb, emb_s = embed(path_graph(12), signals)
    log(f"histograms embedded in {emb_s:.1f} s")
    results.append(run_dataset(
        "histograms", f"{args.n} histograms on the 12-node path graph", emb,
        args.threads, args.faiss_max, log,
    ))
    del emb

    from graphsig.datasets import load_pbmc68k

    data = load_pbmc68k()
    emb, _ = embed(data.graph.astype(np.float64), data.signals)
    if sp.issparse(emb):  # a third of the values are nonzero: dense, so faiss runs too
        emb = emb.toarray()
    results.append(run_dataset(
        "pbmc", "765 PBMC genes on the 700-cell graph (compressed embedding, dense)",
        emb.astype(np.float32),
        args.threads, args.faiss_max, log,
    ))

    emb = sparse_embedding(args.n_sparse)
    results.append(run_dataset(
        "sparse", f"{args.n_sparse} sparse clustered signals (make_clustered_signals) on the "
        "100 x 100 grid, compressed DiffusionEMD(max_scale=6, n_trees=0) embedding", emb,
        args.threads, args.faiss_max, log,
    ))

    payload = {"command": command_line(), "machine": machine_info(), "threads": args.threads,
               "load_average_before": load_before, "load_average_after": load_average(),
               "k": K, "results": results}
    lines = ["# 10-nearest-neighbour graphs over diffusion EMD embeddings", "",
             f"Command: `{command_line()}`  ", f"Threads: {args.threads} for every method; "
             f"load average before/after: {load_before} / {load_average()}  ",
             f"Machine: {payload['machine']['processor']}, {payload['machine']['cpu_count']} "
             "cores", "",
             "Each row: the 10-NN graph of every point (itself left out), seconds of wall "
             "time (index build included), and recall@10 against graphsig's exact graph.", ""]
    for res in results:
        lines += [f"## {res['dataset']}: {res['description']}", "",
                  f"{res['n']} points, {res['dims']} dimensions"
                  f"{' (CSR)' if res['sparse'] else ''}.", ""]
        rows = []
        for m in res["methods"]:
            note = ""
            if "ratio_to_graphsig_exact" in m:
                note = f"{m['ratio_to_graphsig_exact']:.2f}x graphsig exact"
                if "extrapolated_from_n" in m:
                    note += f", extrapolated from n={m['extrapolated_from_n']}"
            if "warm_up_seconds_2000_points" in m:
                note = f"plus {m['warm_up_seconds_2000_points']:.0f} s compilation per process"
            rec = m.get("recall")
            rows.append([m["method"], f"{m['seconds']:.2f}",
                         "" if rec is None else f"{rec:.4f}", note])
        lines += [markdown_table(["method", "seconds", "recall@10", "note"], rows), ""]
    lines += [NOTES]
    md, js = write_results("knn", "\n".join(lines) + "\n", payload)
    log(f"\nwrote {md} and {js}")


NOTES = """## Choices

* Histograms: signals on a 12-node path give embeddings of a few hundred
  dimensions, the width of embeddings of signals on small graphs (binned 1-D
  measurements);
  100 000 of them make the exact search long enough to time fairly against
  faiss. Their count noise (200 draws) keeps near-duplicates apart.
* faiss is given float32 (its only type); graphsig's dense kernel sums float32
  embeddings in float32 too.
* `algorithm="approximate"` is graphsig's own cluster index: about sqrt(n)
  clusters (centres drawn from the data, two rounds of L1 assignment and
  means), then the exact kernel over the members of each query's 8 nearest
  clusters. It needs no extra dependency, handles dense and CSR embeddings,
  and compiles nothing beyond the exact kernels; pynndescent needs tens of
  seconds of numba compilation in every new process, and faiss HNSW takes
  dense float32 only.
* The sparse embeddings are the compressed embeddings of sparse signals:
  l1_kneighbors searches them through the inverted index of their nonzeros
  (or densified blocks when rows are dense enough that this costs less).
* The machine was shared: compare times within a run (the load averages are
  above), not across runs.
"""


if __name__ == "__main__":
    main()
