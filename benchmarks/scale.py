"""Scale: embedding plus the 10-NN graph of many sparse signals on a large graph.

The case of the issue: a grid graph of up to 250,000 nodes with up to 20,000
sparse clustered ("patient-like") signals of at most 30 nonzeros
(:func:`graphsig.datasets.make_clustered_signals`). Each configuration runs
in its own process, so that its peak resident memory is its own. For each
it reports the seconds of fitting, embedding (compressed, sparse) and of the
exact 10-NN graph over all signals, the peak memory, and P@10 of the kNN
graph against exact EMD on sampled queries.

    python benchmarks/scale.py                    # the full growth table
    python benchmarks/scale.py --one 250000 20000 # one configuration

Writes ``results/scale.md`` and ``results/scale.json``.
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

from _common import (
    command_line,
    load_average,
    machine_info,
    markdown_table,
    query_indices,
    write_results,
)

CONFIGS = [(25_000, 2_000), (25_000, 20_000), (250_000, 2_000), (250_000, 20_000)]


def run_one(n_nodes, n_signals, n_queries, max_scale, compression, algorithm, n_trees=8):
    from graphsig import DiffusionEMD, exact_emd
    from graphsig.datasets import make_clustered_signals
    from graphsig.graphs import grid_graph
    from graphsig.neighbors import EMDNeighbors

    side = int(round(np.sqrt(n_nodes)))
    graph = sp.csr_matrix(grid_graph(side, side), dtype=np.float64)
    signals, _ = make_clustered_signals(graph, n_signals, random_state=0)
    signals = signals.astype(np.float32)
    out = {"n_nodes": graph.shape[0], "n_signals": n_signals, "max_scale": max_scale,
           "compression": compression, "algorithm": algorithm, "n_trees": n_trees}

    start = time.perf_counter()
    est = DiffusionEMD(graph, max_scale=max_scale, compression=compression, n_trees=n_trees,
                       progress=True)
    est.fit(signals)
    out["fit_s"] = time.perf_counter() - start
    start = time.perf_counter()
    embedding = est.transform(signals)
    out["embed_s"] = time.perf_counter() - start
    out["width"] = int(embedding.shape[1])
    out["nnz_per_signal"] = float(embedding.nnz / n_signals)
    out["embedding_mb"] = float(
        (embedding.data.nbytes + embedding.indices.nbytes + embedding.indptr.nbytes) / 1e6
    )
    start = time.perf_counter()
    knn = EMDNeighbors(embedding="precomputed", n_neighbors=10, algorithm=algorithm)
    knn_graph = knn.fit_transform(embedding)
    out["knn_s"] = time.perf_counter() - start
    out["total_s"] = out["fit_s"] + out["embed_s"] + out["knn_s"]
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6

    if n_queries:
        queries = query_indices(n_signals, n_queries)
        start = time.perf_counter()
        exact = exact_emd(graph, signals[queries], signals, n_jobs=2)
        out["exact_s"] = time.perf_counter() - start
        precision = []
        for i, q in enumerate(queries):
            row = knn_graph[q]
            found = row.indices[row.indices != q]
            found = found[np.argsort(row.data[row.indices != q], kind="stable")][:10]
            e = exact[i].copy()
            e[q] = np.inf
            truth = np.argsort(e, kind="stable")[:10]
            precision.append(np.intersect1d(found, truth).size / 10)
        out["p_at_10"] = float(np.mean(precision))
        out["p_at_10_std"] = float(np.std(precision))
        out["n_queries"] = int(len(queries))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=2, type=int, metavar=("N_NODES", "N_SIGNALS"))
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--max-scale", type=int, default=6)
    parser.add_argument("--compression", type=float, default=16.0)
    parser.add_argument("--algorithm", default="auto")
    parser.add_argument("--n-trees", type=int, default=0)
    args = parser.parse_args()
    if args.one:
        result = run_one(*args.one, args.queries, args.max_scale, args.compression,
                         args.algorithm, args.n_trees)
        print("RESULT " + json.dumps(result), flush=True)
        return

    rows, results = [], []
    for n_nodes, n_signals in CONFIGS:
        print(f"== {n_nodes} nodes, {n_signals} signals", flush=True)
        cmd = [sys.executable, __file__, "--one", str(n_nodes), str(n_signals),
               "--queries", str(args.queries), "--max-scale", str(args.max_scale),
               "--compression", str(args.compression), "--algorithm", args.algorithm,
               "--n-trees", str(args.n_trees)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            raise SystemExit(f"configuration {n_nodes}/{n_signals} failed")
        r = json.loads(line[0][len("RESULT "):])
        print(json.dumps(r, indent=1), flush=True)
        results.append(r)
        rows.append([
            f"{r['n_nodes']:,}", f"{r['n_signals']:,}", f"{r['fit_s']:.1f}", f"{r['embed_s']:.1f}",
            f"{r['knn_s']:.1f}", f"{r['total_s']:.1f}", f"{r['peak_rss_gb']:.2f}",
            f"{r['nnz_per_signal']:.0f}", f"{r.get('p_at_10', float('nan')):.3f}",
        ])
    md = "\n".join([
        "# Scale: embedding and the 10-NN graph of sparse signals on large grids",
        "",
        f"Command: `{command_line()}`; load average {load_average()}.",
        f"DiffusionEMD(max_scale={args.max_scale}, compression={args.compression}, "
        f"n_trees={args.n_trees}), "
        f"EMDNeighbors(algorithm={args.algorithm!r}, n_neighbors=10); signals from "
        "make_clustered_signals (5-30 nonzeros, one centre per 10 signals). P@10 of the "
        f"kNN graph against exact EMD on {args.queries} sampled queries (exact EMD time "
        "not included in the total).",
        "",
        markdown_table(
            ["nodes", "signals", "fit s", "embed s", "10-NN s", "total s", "peak RSS GB",
             "nnz/signal", "P@10"], rows),
        "",
    ])
    write_results("scale", md, {"machine": machine_info(), "results": results,
                                "load_average": load_average()})
    print(md)


if __name__ == "__main__":
    main()
