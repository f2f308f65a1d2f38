"""Serial transform against two local Dask workers, on the same signals.

Embeds sparse signals on a grid graph three ways: in this process with one
numba thread, in this process with two numba threads, and with
``graphsig.parallel.embed`` on a ``LocalCluster`` of two single-threaded
worker processes. Every run embeds the same row chunks; each chunk is
reduced to one digest per row (blake2b of the row's bytes), so the
embeddings are checked bitwise equal without gathering gigabytes, and the
times compare the embedding work itself. The cluster's start-up is timed
apart.

    python benchmarks/dask_speedup.py
    python benchmarks/dask_speedup.py --rows 100 --cols 200 --signals 3000

Writes ``results/dask.md`` and ``results/dask.json``.
"""

import argparse
import hashlib
import sys
import time

import numpy as np
import scipy.sparse as sp

from _common import command_line, load_average, machine_info, markdown_table, write_results


def row_digests(block):
    """One 64-bit digest per row of a dense or CSR block."""
    dense = block.toarray() if sp.issparse(block) else np.ascontiguousarray(block)
    out = np.empty(dense.shape[0], dtype=np.uint64)
    for i, row in enumerate(dense):
        out[i] = int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little")
    return out


def _digest_chunk(block):
    return row_digests(block)


def _spin(n):
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - start


def free_cores(n=5_000_000):
    """Cores free for this run: one spin loop's time over that of two at once."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [n // 10] * 2))  # start the processes
        alone = min(pool.submit(_spin, n).result() for _ in range(2))
        together = max(pool.map(_spin, [n, n]))
    return 2 * alone / together


def serial(est, X, chunk, n_jobs):
    est.set_params(n_jobs=n_jobs)
    start = time.perf_counter()
    digests = np.concatenate([
        row_digests(est.transform(X[a:a + chunk])) for a in range(0, X.shape[0], chunk)
    ])
    return time.perf_counter() - start, digests


def distributed_run(est, X, chunk, client):
    from graphsig.parallel import embed

    start = time.perf_counter()
    emb = embed(est, X, client=client, chunk_size=chunk)
    digests = emb.map_blocks(_digest_chunk, drop_axis=1, dtype=np.uint64).compute()
    return time.perf_counter() - start, digests


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100, help="grid rows (default 100)")
    parser.add_argument("--cols", type=int, default=100, help="grid columns (default 100)")
    parser.add_argument("--signals", type=int, default=2000, help="signals (default 2000)")
    parser.add_argument("--nnz", type=int, default=20, help="nonzeros per signal (default 20)")
    parser.add_argument("--max-scale", type=int, default=8,
                        help="largest diffusion time 2**K (default 8)")
    parser.add_argument("--chunk", type=int, default=250, help="signals per chunk (default 250)")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from graphsig import DiffusionEMD
    from graphsig.graphs import grid_graph

    n_nodes = args.rows * args.cols
    rng = np.random.default_rng(0)
    cols = rng.integers(0, n_nodes, size=(args.signals, args.nnz))
    X = sp.csr_matrix(
        (rng.uniform(0.1, 1.0, size=cols.size), cols.ravel(),
         np.arange(0, cols.size + 1, args.nnz)),
        shape=(args.signals, n_nodes),
    )
    X.sum_duplicates()
    graph = grid_graph(args.rows, args.cols)
    print(f"grid {args.rows} x {args.cols} ({n_nodes} nodes), {args.signals} sparse signals "
          f"({args.nnz} nonzeros each), max_scale {args.max_scale}, chunks of {args.chunk}",
          flush=True)
    start = time.perf_counter()
    est = DiffusionEMD(graph, max_scale=args.max_scale).fit(X[: min(256, args.signals)])
    fit_seconds = time.perf_counter() - start
    print(f"  fit: {fit_seconds:.2f} s, {est.n_features_out_} features per signal", flush=True)
    est.transform(X[:2])  # compile the kernels in this process

    cores = free_cores()
    print(f"  free cores (two spin loops at once): {cores:.2f} of 2", flush=True)
    t1, d1 = serial(est, X, args.chunk, 1)
    print(f"  serial, 1 numba thread:  {t1:8.2f} s", flush=True)
    t2, d2 = serial(est, X, args.chunk, 2)
    print(f"  serial, 2 numba threads: {t2:8.2f} s", flush=True)

    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(lambda: __import__("graphsig.diffusion._kernels"))
        startup = time.perf_counter() - start
        print(f"  cluster start-up:        {startup:8.2f} s", flush=True)
        # a first small run compiles (or loads from the numba cache) on the workers
        distributed_run(est, X[:4], 2, client)
        td, dd = distributed_run(est, X, args.chunk, client)
    print(f"  Dask, 2 workers x 1:     {td:8.2f} s", flush=True)

    equal = bool(np.array_equal(d1, dd) and np.array_equal(d1, d2))
    print(f"  embeddings bitwise equal: {equal}")
    print(f"  speed-up of Dask over serial 1 thread: {t1 / td:.2f}x, "
          f"over serial 2 threads: {t2 / td:.2f}x")

    rows = [
        ["serial, 1 numba thread", f"{t1:.2f}", "1.00"],
        ["serial, 2 numba threads", f"{t2:.2f}", f"{t1 / t2:.2f}"],
        ["Dask LocalCluster, 2 workers x 1 thread", f"{td:.2f}", f"{t1 / td:.2f}"],
    ]
    load = load_average()
    info = machine_info()
    markdown = "\n".join([
        "# Dask: serial transform against two local workers",
        "",
        f"`{command_line()}`",
        "",
        f"Grid graph {args.rows} x {args.cols} ({n_nodes} nodes), {args.signals} sparse "
        f"signals with {args.nnz} nonzeros each, `DiffusionEMD(max_scale={args.max_scale})` "
        f"({est.n_features_out_} features per signal), chunks of {args.chunk} signals. "
        "Each chunk's embedding is reduced to one digest per row on the worker, so the "
        "times are those of the embedding, not of gathering it.",
        "",
        markdown_table(["run", "seconds", "speed-up over 1 thread"], rows),
        "",
        f"Embeddings bitwise equal in all three runs: {'yes' if equal else 'NO'}. "
        f"Cluster start-up (not included): {startup:.2f} s. Fit: {fit_seconds:.2f} s.",
        "",
        f"Machine: {info['cpu_count']} cores, {info['platform']}, Python {info['python']}, "
        f"numba {info['numba']}; load average (1, 5, 15 min) at the end: {load}. The machine was "
        f"shared: two CPU-bound processes started together ran as if on {cores:.2f} free cores "
        "(2.00 on an idle machine), which bounds any speed-up from a second thread or worker.",
        "",
    ])
    payload = {
        "command": command_line(),
        "grid": [args.rows, args.cols],
        "n_nodes": n_nodes,
        "n_signals": args.signals,
        "nnz_per_signal": args.nnz,
        "max_scale": args.max_scale,
        "n_features_out": int(est.n_features_out_),
        "chunk": args.chunk,
        "fit_seconds": fit_seconds,
        "serial_1_thread_seconds": t1,
        "serial_2_threads_seconds": t2,
        "dask_2_workers_seconds": td,
        "cluster_startup_seconds": startup,
        "free_cores": cores,
        "speedup_vs_1_thread": t1 / td,
        "speedup_vs_2_threads": t2 / td,
        "bitwise_equal": equal,
        "load_average": load,
        "machine": info,
    }
    md, js = write_results("dask", markdown, payload)
    print(f"wrote {md} and {js}")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
