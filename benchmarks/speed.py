"""Speed of graphsig's diffusion EMD beside the reference, in one run.

Four measures:

1. Embedding the 765 PBMC genes: graphsig DiffusionEMD (fit + transform, and
   transform alone) against MultiscaleEMD 1.1.1 ``DiffusionCheb()`` with its
   defaults (fit_transform), best of ``--repeats`` runs each, and their ratio.
2. Compile time of the numba kernels: a fresh process with an empty
   NUMBA_CACHE_DIR (compile + run), a fresh process reusing that cache, and
   the warm time in this process.
3. All-pairs distances between the 765 genes: embedding + all-pairs L1
   against exact EMD over all pairs, extrapolated from a timed random sample.
4. Kernel efficiency: effective memory bandwidth of the Chebyshev diffusion
   kernel (a byte model divided by measured time) against a numpy streaming
   copy measured in the same run, on PBMC and on a large grid whose working
   set does not fit in cache.

Usage::

    python benchmarks/speed.py [--repeats 5] [--skip-compile] [--grid-side 500]

Writes results/speed.md and results/speed.json. The machine's load average
is recorded at start and end: on a busy machine, the ratios are the figures
to read.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy.sparse as sp

from _common import (
    best_of,
    command_line,
    load_average,
    machine_info,
    markdown_table,
    write_results,
)


def _load_pbmc():
    from graphsig.datasets import load_pbmc68k

    data = load_pbmc68k()
    return data.graph.astype(np.float64), data.signals


def _unit_mass_dense(signals):
    dense = signals.toarray().astype(np.float64)
    dense /= dense.sum(axis=1, keepdims=True)
    return dense


# ---------------------------------------------------------------------------
# 1. embedding PBMC


def bench_embedding(graph, X, repeats, log):
    from graphsig import DiffusionEMD

    log("\n== Embedding the 765 PBMC genes (best of %d)" % repeats)
    DiffusionEMD(graph).fit(X).transform(X)  # compile / load the kernels

    def fit_transform_fresh():
        # a copy of the graph: the operator is built anew, as in a first fit
        return DiffusionEMD(graph.copy()).fit(X).transform(X)

    t_fresh, emb = best_of(fit_transform_fresh, repeats)
    shared = graph.copy()
    DiffusionEMD(shared).fit(X)

    def fit_transform_cached():
        return DiffusionEMD(shared).fit(X).transform(X)

    t_cached, _ = best_of(fit_transform_cached, repeats)
    est = DiffusionEMD(graph).fit(X)
    t_transform, _ = best_of(lambda: est.transform(X), repeats)
    result = {
        "ours_fit_transform_s": t_fresh,
        "ours_fit_transform_operator_cached_s": t_cached,
        "ours_transform_s": t_transform,
        "ours_embedding_shape": list(emb.shape),
        "ours_dtype": str(emb.dtype),
        "ours_times": est.times_.tolist(),
    }
    log(f"  graphsig DiffusionEMD fit + transform (new graph object): {t_fresh:.3f} s")
    log(f"  graphsig DiffusionEMD fit + transform (operator cached):  {t_cached:.3f} s")
    log(f"  graphsig DiffusionEMD transform:                           {t_transform:.3f} s")
    try:
        from MultiscaleEMD import DiffusionCheb
    except ImportError:
        log("  MultiscaleEMD is not installed (pip install -e .[benchmark]): reference skipped")
        return result
    dense = _unit_mass_dense(X).T.copy()
    csr = sp.csr_matrix(graph)

    def reference():
        np.random.seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return DiffusionCheb().fit_transform(csr, dense)

    reference()
    t_ref, emb_ref = best_of(reference, repeats)
    result.update({
        "reference_fit_transform_s": t_ref,
        "reference_embedding_shape": list(emb_ref.shape),
        "reference_dtype": str(emb_ref.dtype),
        "ratio_reference_over_ours_fit_transform": t_ref / t_fresh,
        "ratio_reference_over_ours_transform": t_ref / t_transform,
    })
    log(f"  reference DiffusionCheb fit_transform:                     {t_ref:.3f} s")
    log(f"  ratio reference / ours: {t_ref / t_fresh:.2f}x (fit + transform), "
        f"{t_ref / t_transform:.2f}x (transform alone)")
    return result


# ---------------------------------------------------------------------------
# 2. compile time

_COMPILE_SCRIPT = r"""
import json, time
t0 = time.perf_counter()
from graphsig import DiffusionEMD
from graphsig.datasets import load_pbmc68k
data = load_pbmc68k()
t1 = time.perf_counter()
DiffusionEMD(data.graph.copy()).fit(data.signals).transform(data.signals)
t2 = time.perf_counter()
DiffusionEMD(data.graph.copy()).fit(data.signals).transform(data.signals)
t3 = time.perf_counter()
print(json.dumps({"import_and_load_s": t1 - t0, "first_s": t2 - t1, "second_s": t3 - t2}))
"""


def _run_compile_script(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT], env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"compile-time subprocess failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    return out


def bench_compile(log):
    log("\n== Compile time (DiffusionEMD fit + transform of the PBMC genes)")
    with tempfile.TemporaryDirectory(prefix="graphsig-numba-") as cache_dir:
        cold = _run_compile_script(cache_dir)
        warm = _run_compile_script(cache_dir)
    in_process = min(cold["second_s"], warm["second_s"])
    result = {
        "cold_cache_first_call_s": cold["first_s"],
        "warm_cache_first_call_s": warm["first_s"],
        "in_process_warm_call_s": in_process,
        "compile_overhead_s": cold["first_s"] - in_process,
        "cache_load_overhead_s": warm["first_s"] - in_process,
        "cold_process": cold,
        "warm_cache_process": warm,
    }
    log(f"  fresh process, empty NUMBA_CACHE_DIR (compile + run): {cold['first_s']:.2f} s")
    log(f"  fresh process, warm cache (load + run):               {warm['first_s']:.2f} s")
    log(f"  same process, warm:                                   {in_process:.2f} s")
    log(f"  -> compilation costs {result['compile_overhead_s']:.2f} s once; loading the cache "
        f"{result['cache_load_overhead_s']:.2f} s per process")
    return result


# ---------------------------------------------------------------------------
# 3. all pairs


def bench_all_pairs(graph, X, repeats, n_sample_pairs, exact_n_jobs, log):
    from scipy.spatial.distance import pdist

    from graphsig import DiffusionEMD, exact_emd
    from graphsig.neighbors import l1_distances

    n = X.shape[0]
    n_pairs = n * (n - 1) // 2
    log(f"\n== All-pairs distances between the {n} genes ({n_pairs} pairs)")

    def embedding_route():
        emb = DiffusionEMD(graph.copy()).fit(X).transform(X)
        return l1_distances(emb)

    emb = DiffusionEMD(graph).fit(X).transform(X)
    l1_distances(emb[:2])  # compile / load the kernel
    t_route, _ = best_of(embedding_route, repeats)
    t_l1, _ = best_of(lambda: l1_distances(emb), repeats)
    dense = emb.toarray() if sp.issparse(emb) else emb
    t_pdist, _ = best_of(lambda: pdist(dense.astype(np.float64), metric="cityblock"), 1)

    # exact EMD on a random sample of pairs, in small row blocks
    rng = np.random.default_rng(1)
    rows_per_block, cols_per_block = 2, 10
    per_block = rows_per_block * cols_per_block
    n_blocks = max(1, n_sample_pairs // per_block)
    exact_emd(graph, X[:1], X[1:2])  # load the kernels
    start = time.perf_counter()
    for _ in range(n_blocks):
        chosen = rng.choice(n, rows_per_block + cols_per_block, replace=False)
        exact_emd(graph, X[chosen[:rows_per_block]], X[chosen[rows_per_block:]],
                  n_jobs=exact_n_jobs)
    t_sample = time.perf_counter() - start
    n_sampled = n_blocks * per_block
    per_pair = t_sample / n_sampled
    t_exact = per_pair * n_pairs
    result = {
        "n_signals": n,
        "n_pairs": n_pairs,
        "embedding_plus_all_pairs_l1_s": t_route,
        "all_pairs_l1_only_s": t_l1,
        "all_pairs_l1_scipy_pdist_s": t_pdist,
        "exact_sampled_pairs": n_sampled,
        "exact_sample_s": t_sample,
        "exact_per_pair_ms": 1e3 * per_pair,
        "exact_n_jobs": exact_n_jobs,
        "exact_all_pairs_extrapolated_s": t_exact,
        "ratio_exact_over_embedding": t_exact / t_route,
    }
    log(f"  embedding (fit + transform) + all-pairs L1 (graphsig.neighbors.l1_distances): "
        f"{t_route:.2f} s (L1 alone {t_l1:.2f} s; scipy pdist cityblock {t_pdist:.2f} s)")
    log(f"  exact EMD: {n_sampled} random pairs in {n_blocks} blocks of {rows_per_block} x "
        f"{cols_per_block}: {t_sample:.2f} s = {1e3 * per_pair:.2f} ms per pair "
        f"(n_jobs={exact_n_jobs})")
    log(f"  exact EMD of all pairs, extrapolated: {t_exact:.0f} s "
        f"-> ratio {t_exact / t_route:.0f}x (target >= 1000x)")
    return result


# ---------------------------------------------------------------------------
# 4. kernel efficiency

BYTE_MODEL = (
    "Bytes per Chebyshev step k >= 1 of `chebyshev_diffuse` on a block of n nodes x b signals "
    "of itemsize s, with an operator of nnz stored entries: the CSR arrays (indptr 8 (n + 1), "
    "indices 8 nnz, data s nnz); the rows of T_{k-1} gathered by the sparse pattern, each "
    "counted once per nonzero (s b nnz); reading T_{k-2} (s b n, from k = 2); writing T_k "
    "(s b n); reading and writing the accumulator of every filter whose coefficient at step k "
    "is nonzero in the block's dtype (2 s b n each). Step 0: reading the block, writing T_0, "
    "writing every filter's accumulator (s b n each). Write-allocate traffic is not counted. "
    "The copy reference: np.copyto of a large float64 array, bytes = read + write."
)


def kernel_bytes(n_nodes, nnz, n_signals, itemsize, coef):
    """Bytes the kernel must move, by the model in ``BYTE_MODEL``."""
    n_terms, n_filters = coef.shape
    row = itemsize * n_signals * n_nodes
    total = row * (2 + n_filters)  # step 0
    csr = 8 * (n_nodes + 1) + 8 * nnz + itemsize * nnz
    gathered = itemsize * n_signals * nnz
    for k in range(1, n_terms):
        active = int(np.count_nonzero(coef[k]))
        total += csr + gathered + row + 2 * active * row
        if k >= 2:
            total += row
    return total


def copy_bandwidth(megabytes, repeats):
    n = int(megabytes * 2**20 // 8)
    src = np.ones(n)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch the pages
    seconds, _ = best_of(lambda: np.copyto(dst, src), repeats)
    return 2 * src.nbytes / seconds, seconds, src.nbytes


def _kernel_problem(adjacency, signals, times, dtype):
    from graphsig.diffusion import DiffusionOperator, lazy_walk_chebyshev

    op = DiffusionOperator(adjacency)
    S = op.symmetric
    indptr = S.indptr.astype(np.int64)
    indices = S.indices.astype(np.int64)
    data = S.data.astype(dtype)
    block = np.ascontiguousarray((signals / op.sqrt_degree[:, None]).astype(dtype))
    coef = lazy_walk_chebyshev(times).astype(dtype)
    out = np.empty((coef.shape[1],) + block.shape, dtype=dtype)
    work = np.empty((3,) + block.shape, dtype=dtype)
    from graphsig.diffusion._operator import _parallel_chunks

    n_chunks = _parallel_chunks(block.shape[1])
    return (indptr, indices, data, data + data, block, coef, out, work, n_chunks), S.nnz


def bench_kernel(graph, X, repeats, grid_side, grid_signals, copy_mb, log):
    from graphsig.diffusion import dyadic_times
    from graphsig.diffusion._kernels import chebyshev_diffuse
    from graphsig.graphs import grid_graph

    log("\n== Kernel efficiency (chebyshev_diffuse)")
    copy_bw, copy_s, copy_bytes = copy_bandwidth(copy_mb, repeats)
    log(f"  numpy copy of {copy_bytes / 2**20:.0f} MB (np.copyto, 1 thread): "
        f"{copy_bw / 1e9:.2f} GB/s")

    problems = []
    pbmc_block = _unit_mass_dense(X).T.copy()
    problems.append(("PBMC 700 nodes x 765 genes, float32, times 0..256",
                     graph, pbmc_block, dyadic_times(8), np.float32))
    if grid_side:
        n = grid_side * grid_side
        rng = np.random.default_rng(0)
        block = rng.uniform(size=(n, grid_signals))
        block /= block.sum(axis=0, keepdims=True)
        problems.append((f"grid {grid_side} x {grid_side} ({n} nodes) x {grid_signals} signals, "
                         "float32, times 0..64", grid_graph(grid_side, grid_side), block,
                         dyadic_times(6), np.float32))
    rows = []
    for label, adjacency, block, times, dtype in problems:
        args, nnz = _kernel_problem(adjacency, block, times, dtype)
        chebyshev_diffuse(*args)  # compile / load
        seconds, _ = best_of(lambda: chebyshev_diffuse(*args), repeats)
        n_nodes, n_signals = args[4].shape
        coef = args[5]
        nbytes = kernel_bytes(n_nodes, nnz, n_signals, np.dtype(dtype).itemsize, coef)
        working_set = sum(a.nbytes for a in args if hasattr(a, "nbytes"))
        bw = nbytes / seconds
        rows.append({
            "problem": label,
            "n_nodes": n_nodes,
            "nnz": nnz,
            "n_signals": n_signals,
            "dtype": np.dtype(dtype).name,
            "n_terms": coef.shape[0],
            "n_filters": coef.shape[1],
            "working_set_mb": working_set / 2**20,
            "model_bytes": nbytes,
            "seconds": seconds,
            "effective_gb_per_s": bw / 1e9,
            "ratio_to_copy": bw / copy_bw,
        })
        log(f"  {label}: {coef.shape[0]} Chebyshev terms, {coef.shape[1]} filters, working set "
            f"{working_set / 2**20:.0f} MB")
        log(f"    {nbytes / 1e9:.2f} GB by the byte model in {seconds:.3f} s = "
            f"{bw / 1e9:.2f} GB/s = {bw / copy_bw:.2f} x the copy (target >= 0.5)")
    return {
        "byte_model": BYTE_MODEL,
        "copy_gb_per_s": copy_bw / 1e9,
        "copy_megabytes": copy_bytes / 2**20,
        "copy_seconds": copy_s,
        "problems": rows,
    }


# ---------------------------------------------------------------------------
# report


def render(payload):
    md = [
        "# Speed",
        "",
        f"Command: `{payload['command']}`  ",
        f"Load average (1, 5, 15 min) at start {payload['load_average_start']}, at end "
        f"{payload['load_average_end']}; {payload['machine']['cpu_count']} CPUs, "
        f"{payload['machine']['numba_threads']} numba threads. Best of {payload['repeats']} "
        "runs; on a shared machine the ratios are the figures to read.",
    ]
    e = payload.get("embedding")
    if e:
        md += ["", "## Embedding the 765 PBMC genes", ""]
        rows = [
            ["graphsig DiffusionEMD fit + transform (new graph object)",
             f"{e['ours_fit_transform_s']:.3f}"],
            ["graphsig DiffusionEMD fit + transform (operator cached)",
             f"{e['ours_fit_transform_operator_cached_s']:.3f}"],
            ["graphsig DiffusionEMD transform", f"{e['ours_transform_s']:.3f}"],
        ]
        if "reference_fit_transform_s" in e:
            rows.append(["MultiscaleEMD DiffusionCheb() fit_transform (defaults)",
                         f"{e['reference_fit_transform_s']:.3f}"])
        md.append(markdown_table(["method", "seconds"], rows))
        if "reference_fit_transform_s" in e:
            ratio = e["ratio_reference_over_ours_fit_transform"]
            md += ["", f"Ratio reference / ours: {ratio:.2f}x "
                   f"(fit + transform), {e['ratio_reference_over_ours_transform']:.2f}x "
                   "(transform alone). The reference is fed dense unit-mass float64 signals "
                   "(the conversion is not timed); ours reads the sparse float32 signals."]
    c = payload.get("compile")
    if c:
        md += ["", "## Compile time", "",
               markdown_table(["run", "seconds"], [
                   ["fresh process, empty NUMBA_CACHE_DIR: first fit + transform (compile + run)",
                    f"{c['cold_cache_first_call_s']:.2f}"],
                   ["fresh process, warm cache: first fit + transform (load + run)",
                    f"{c['warm_cache_first_call_s']:.2f}"],
                   ["same process, warm", f"{c['in_process_warm_call_s']:.2f}"],
                   ["compile overhead (once)", f"{c['compile_overhead_s']:.2f}"],
                   ["cache load overhead (per process)", f"{c['cache_load_overhead_s']:.2f}"],
               ])]
    a = payload.get("all_pairs")
    if a:
        md += ["", f"## All-pairs distances, {a['n_signals']} genes ({a['n_pairs']} pairs)", "",
               markdown_table(["route", "seconds"], [
                   ["embedding (fit + transform) + all-pairs L1 "
                    "(graphsig.neighbors.l1_distances)",
                    f"{a['embedding_plus_all_pairs_l1_s']:.2f}"],
                   ["all-pairs L1 alone (l1_distances)", f"{a['all_pairs_l1_only_s']:.2f}"],
                   ["all-pairs L1 alone (scipy pdist cityblock, float64, for comparison)",
                    f"{a['all_pairs_l1_scipy_pdist_s']:.2f}"],
                   [f"exact EMD, {a['exact_sampled_pairs']} random pairs (n_jobs="
                    f"{a['exact_n_jobs']})", f"{a['exact_sample_s']:.2f}"],
                   ["exact EMD, all pairs (extrapolated)",
                    f"{a['exact_all_pairs_extrapolated_s']:.0f}"],
               ]),
               "", f"Ratio exact / embedding route: {a['ratio_exact_over_embedding']:.0f}x "
               "(target >= 1000x)."]
    k = payload.get("kernel")
    if k:
        md += ["", "## Kernel efficiency", "", k["byte_model"], "",
               f"numpy copy: {k['copy_gb_per_s']:.2f} GB/s ({k['copy_megabytes']:.0f} MB).", ""]
        md.append(markdown_table(
            ["problem", "terms", "filters", "working set MB", "GB moved (model)", "seconds",
             "GB/s", "ratio to copy (target >= 0.5)"],
            [[r["problem"], r["n_terms"], r["n_filters"], f"{r['working_set_mb']:.0f}",
              f"{r['model_bytes'] / 1e9:.2f}", f"{r['seconds']:.3f}",
              f"{r['effective_gb_per_s']:.2f}", f"{r['ratio_to_copy']:.2f}"]
             for r in k["problems"]]))
    return "\n".join(md) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs (default 5)")
    parser.add_argument("--skip-compile", action="store_true",
                        help="skip the compile-time subprocesses")
    parser.add_argument("--sample-pairs", type=int, default=200,
                        help="exact EMD pairs timed for the extrapolation (default 200)")
    parser.add_argument("--exact-n-jobs", type=int, default=-1,
                        help="threads of the exact EMD (default -1: all)")
    parser.add_argument("--grid-side", type=int, default=500,
                        help="side of the large grid of the kernel benchmark (default 500, "
                             "250,000 nodes; 0 skips it)")
    parser.add_argument("--grid-signals", type=int, default=64,
                        help="signals in the large grid block (default 64)")
    parser.add_argument("--copy-mb", type=float, default=512,
                        help="size of the array copied for the bandwidth reference (default 512)")
    args = parser.parse_args(argv)

    log = lambda *a: print(*a, flush=True)  # noqa: E731
    payload = {"command": command_line(), "repeats": args.repeats,
               "load_average_start": load_average(), "machine": machine_info(),
               "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    log(f"load average at start: {payload['load_average_start']}")
    graph, X = _load_pbmc()
    payload["embedding"] = bench_embedding(graph, X, args.repeats, log)
    if not args.skip_compile:
        payload["compile"] = bench_compile(log)
    payload["all_pairs"] = bench_all_pairs(graph, X, min(args.repeats, 3), args.sample_pairs,
                                           args.exact_n_jobs, log)
    payload["kernel"] = bench_kernel(graph, X, args.repeats, args.grid_side, args.grid_signals,
                                     args.copy_mb, log)
    payload["load_average_end"] = load_average()
    log(f"\nload average at end: {payload['load_average_end']}")
    md = render(payload)
    md_path, json_path = write_results("speed", md, payload)
    print()
    print(md)
    print(f"written: {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
