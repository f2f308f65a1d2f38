"""Scale: embedding plus the 10-NN graph of many sparse signals on a large graph, on defaults.

Grids (``grid``) with sparse clustered ("patient-like") signals of 5 to 30
nonzeros (:func:`graphsig.datasets.make_clustered_signals`), and
ontology-like polyhierarchies (``poly``, :func:`graphsig.datasets.make_polyhierarchy`)
with annotation signals (:func:`graphsig.datasets.make_annotation_signals`,
5 to 30 concepts). ``DiffusionEMD`` and ``EMDNeighbors`` run with their
default parameters. Each configuration runs in its own process, so that its
peak resident memory is its own. For each it reports the seconds of
fitting, embedding (compressed, sparse) and of the exact 10-NN graph over
all signals, the peak memory, and P@10 of the kNN graph against exact EMD on
sampled queries (a neighbour counts as correct when its exact distance is at
most the exact 10th smallest, since integer hop costs give ties); the exact
10 nearest come from the certified search :func:`graphsig.emd.exact_kneighbors`.

    python benchmarks/scale.py                          # the full growth table
    python benchmarks/scale.py --one grid 250000 20000  # one configuration

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

CONFIGS = [
    ("grid", 25_000, 2_000), ("grid", 25_000, 20_000), ("grid", 250_000, 2_000),
    ("grid", 250_000, 20_000),
    ("poly", 35_000, 2_000), ("poly", 350_000, 2_000), ("poly", 350_000, 20_000),
    ("poly", 1_000_000, 100_000),
]


def make_data(kind, n_nodes, n_signals):
    from graphsig.datasets import (
        make_annotation_signals,
        make_clustered_signals,
        make_polyhierarchy,
    )
    from graphsig.graphs import grid_graph

    if kind == "grid":
        side = int(round(np.sqrt(n_nodes)))
        graph = sp.csr_matrix(grid_graph(side, side), dtype=np.float64)
        signals, _ = make_clustered_signals(graph, n_signals, random_state=0)
    else:
        graph, parents, _ = make_polyhierarchy(n_nodes, random_state=0)
        signals, _, _ = make_annotation_signals(
            parents, n_signals, min_nnz=5, max_nnz=30, random_state=0
        )
    return graph, signals.astype(np.float32)


def run_one(kind, n_nodes, n_signals, n_queries):
    from graphsig import DiffusionEMD, exact_emd
    from graphsig.neighbors import EMDNeighbors

    start = time.perf_counter()
    graph, signals = make_data(kind, n_nodes, n_signals)
    out = {"kind": kind, "n_nodes": graph.shape[0], "n_signals": n_signals,
           "data_s": time.perf_counter() - start,
           "mean_nnz": float(signals.nnz / n_signals)}

    start = time.perf_counter()
    est = DiffusionEMD(graph)
    est.fit(signals)
    out["fit_s"] = time.perf_counter() - start
    out["plan"] = {k: v for k, v in est.plan_.items()}
    out["max_scale"] = est.max_scale_
    out["n_trees"] = est.n_trees_
    start = time.perf_counter()
    embedding = est.transform(signals)
    out["embed_s"] = time.perf_counter() - start
    out["width"] = int(embedding.shape[1])
    out["nnz_per_signal"] = float(embedding.nnz / n_signals)
    out["embedding_mb"] = float(
        (embedding.data.nbytes + embedding.indices.nbytes + embedding.indptr.nbytes) / 1e6
    )
    start = time.perf_counter()
    knn = EMDNeighbors(embedding="precomputed", n_neighbors=10)
    knn_graph = knn.fit_transform(embedding)
    out["algorithm"] = knn.algorithm_
    out["knn_s"] = time.perf_counter() - start
    out["total_s"] = out["fit_s"] + out["embed_s"] + out["knn_s"]
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6

    if n_queries:
        # the exact 10 nearest of sampled queries, certified by lower bounds
        # (graphsig.emd.exact_kneighbors) rather than solved against all signals
        from graphsig.emd import exact_kneighbors

        queries = query_indices(n_signals, n_queries)
        start = time.perf_counter()
        truth_d, _, n_solves = exact_kneighbors(
            graph, signals[queries], signals, n_neighbors=11,
            order=knn_graph[queries].indices.reshape(len(queries), -1),
        )
        out["exact_s"] = time.perf_counter() - start
        out["exact_solves_per_query"] = float(n_solves.mean())
        precision = []
        for i, q in enumerate(queries):
            row = knn_graph[q]
            keep = row.indices != q
            found = row.indices[keep][np.argsort(row.data[keep], kind="stable")][:10]
            found_d = exact_emd(graph, signals[q], signals[found])[0]
            tenth = truth_d[i][10]  # the 11 nearest include the query itself, at 0
            precision.append(float(np.mean(found_d <= tenth + 1e-9 * max(1.0, tenth))))
        out["p_at_10"] = float(np.mean(precision))
        out["p_at_10_std"] = float(np.std(precision))
        out["n_queries"] = int(len(queries))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, metavar=("KIND", "N_NODES", "N_SIGNALS"))
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--configs", default=None,
                        help="comma-separated indices into CONFIGS (default: all)")
    args = parser.parse_args()
    if args.one:
        kind, n_nodes, n_signals = args.one[0], int(args.one[1]), int(args.one[2])
        result = run_one(kind, n_nodes, n_signals, args.queries)
        print("RESULT " + json.dumps(result), flush=True)
        return

    configs = CONFIGS if args.configs is None else [
        CONFIGS[int(i)] for i in args.configs.split(",")
    ]
    rows, results = [], []
    for kind, n_nodes, n_signals in configs:
        print(f"== {kind}: {n_nodes} nodes, {n_signals} signals", flush=True)
        cmd = [sys.executable, __file__, "--one", kind, str(n_nodes), str(n_signals),
               "--queries", str(args.queries)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(proc.stdout[-2000:], proc.stderr[-4000:])
            raise SystemExit(f"configuration {kind} {n_nodes}/{n_signals} failed")
        r = json.loads(line[0][len("RESULT "):])
        print(json.dumps(r, indent=1), flush=True)
        results.append(r)
        rows.append([
            r["kind"], f"{r['n_nodes']:,}", f"{r['n_signals']:,}", r["plan"]["kind"],
            f"{r['fit_s']:.1f}", f"{r['embed_s']:.1f}", f"{r['knn_s']:.1f}",
            f"{r['total_s']:.1f}", f"{r['peak_rss_gb']:.2f}", f"{r['nnz_per_signal']:.0f}",
            f"{r.get('p_at_10', float('nan')):.3f}",
        ])
    md = "\n".join([
        "# Scale: embedding and the 10-NN graph of sparse signals on large graphs, defaults",
        "",
        f"Command: `{command_line()}`; load average {load_average()}.",
        "DiffusionEMD() and EMDNeighbors(embedding='precomputed', n_neighbors=10) with their "
        "defaults; the plan column is the block choice made from the graph "
        "(`DiffusionEMD.plan_`). P@10 of the kNN graph against exact EMD on "
        f"{args.queries} sampled queries, ties counted (exact EMD time not included in the "
        "total).",
        "",
        markdown_table(
            ["graph", "nodes", "signals", "plan", "fit s", "embed s", "10-NN s", "total s",
             "peak RSS GB", "nnz/signal", "P@10"], rows),
        "",
    ])
    write_results("scale", md, {"machine": machine_info(), "results": results,
                                "load_average": load_average()})
    print(md)


if __name__ == "__main__":
    main()
