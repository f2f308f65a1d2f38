"""GeneTrajectory (gene-trajectory 1.0.4) with its exact gene-gene EMD and with graphsig's.

GeneTrajectory (Qu et al., Nature Biotechnology 2024) computes the exact
earth mover's distance between every pair of genes (each gene a
distribution over the cells, the ground cost the hop distance between cells
on a cell kNN graph), then a diffusion map of the genes and gene
trajectories with an ordering of the genes along each. This script runs its
pipeline end to end on the bundled PBMC data twice, in one run:

1. with its own gene-gene distances (``gene_trajectory.gene_distance_shared.cal_ot_mat``:
   POT's network simplex for every pair, on a thread pool);
2. with graphsig's: L1 distances between ``DiffusionEMD`` embeddings of the
   genes, all pairs (``graphsig.neighbors.l1_distances``), on the same cell graph.

Everything else is GeneTrajectory's own code, with the parameters of its
tutorial: ``sc.pp.pca``, ``run_dm`` (the cells' diffusion map),
``get_graph_distance`` (the cell graph: ``k`` nearest neighbours on 5
diffusion coordinates, unweighted, all-pairs hop distances), then for each
distance matrix ``get_gene_embedding(k=5)`` and
``extract_gene_trajectory(t_list=[4, 8, 7], k=5)``.

It reports the agreement of the distances, of the gene embeddings and of
the gene orderings, the wall time of each pipeline and their ratio; then
graphsig's time and peak memory for the gene kNN graph and its kernel
(``graphsig.sc.emd_neighbors``, and ``gene_diffusion_map``) on simulated
differentiations of 10,000 and 50,000 cells x 2,000 genes
(``_genetrajectory_data.py``), each in its own process. GeneTrajectory is not
run at those sizes: its time there is an extrapolation, labelled as such.

Usage::

    python benchmarks/genetrajectory.py                    # everything (the exact EMD: ~30 min once)
    python benchmarks/genetrajectory.py --sizes 10000      # one scale size
    python benchmarks/genetrajectory.py --sizes "" --no-variants --skip-compile   # PBMC only, quick

GeneTrajectory's exact distance matrix is cached in
``results/cache/genetrajectory_pbmc_*.cache.npz`` with the seconds of the run
that computed it (those seconds are the ones reported). Writes
``results/genetrajectory.md`` and ``results/genetrajectory.json``.
"""

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy.sparse as sp

from _common import (
    CACHE,
    HERE,
    best_of,
    command_line,
    fingerprint,
    load_average,
    machine_info,
    markdown_table,
    query_scores,
    write_results,
)

GT_VERSION = "1.0.4"
TARGET_SPEARMAN = 0.95
TARGET_EMBEDDING = 0.95
TARGET_SPEEDUP = 100.0


def log(*args):
    print(*args, flush=True)


def _quiet():
    """Silence the warnings of scanpy/anndata and GeneTrajectory's info logs."""
    warnings.simplefilter("ignore")
    logging.getLogger().setLevel(logging.WARNING)


def _gt_version():
    from importlib.metadata import version

    return version("gene-trajectory")


# ---------------------------------------------------------------------------
# the cell graph (GeneTrajectory's own)


def cell_graph(adata, k_start, k_step, k_max):
    """GeneTrajectory's cell graph on the PBMC cells, as its tutorial builds it.

    ``sc.pp.pca`` then ``run_dm`` (the diffusion map of the cells), then
    ``get_graph_distance(adata, k)`` for the smallest ``k`` from ``k_start``
    (its default, 10) in steps of ``k_step`` for which the graph is connected:
    on a disconnected graph it raises and asks for a larger ``k``.
    """
    import scanpy as sc
    from gene_trajectory.get_graph_distance import get_graph_distance
    from gene_trajectory.run_dm import run_dm

    seconds = {}
    start = time.perf_counter()
    sc.pp.pca(adata)
    seconds["pca_s"] = time.perf_counter() - start
    start = time.perf_counter()
    run_dm(adata)
    seconds["run_dm_s"] = time.perf_counter() - start
    tried = []
    for k in range(k_start, k_max + 1, k_step):
        start = time.perf_counter()
        try:
            dist = get_graph_distance(adata, k=k)
        except RuntimeError:
            tried.append(k)
            continue
        seconds["graph_distance_s"] = time.perf_counter() - start
        return dist, k, tried, seconds
    raise SystemExit(f"GeneTrajectory's cell graph is disconnected for every k up to {k_max}")


def knn_adjacency(adata, k, dims=5):
    """The same kNN graph as ``get_graph_distance``, as a sparse 0/1 adjacency.

    It repeats its neighbour search (sklearn ``NearestNeighbors(k + 1)`` on the
    first ``dims`` diffusion coordinates, each cell joined to its ``k``
    nearest, undirected); graphsig needs the graph, not its distance matrix.
    """
    from sklearn.neighbors import NearestNeighbors

    emb = adata.obsm["X_dm"][:, :dims]
    nbrs = NearestNeighbors(n_neighbors=k + 1).fit(emb).kneighbors(emb, return_distance=False)
    rows = np.repeat(nbrs[:, 0], k)
    cols = nbrs[:, 1:].ravel()
    keep = rows != cols
    n = emb.shape[0]
    a = sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])), shape=(n, n))
    a = ((a + a.T) > 0).astype(np.float64)
    return sp.csr_matrix(a)


# ---------------------------------------------------------------------------
# GeneTrajectory's exact distances (cached)


def gt_exact_distances(graph_dist, expression, processes, name):
    """``cal_ot_mat`` over all gene pairs, cached with the seconds of its run."""
    from gene_trajectory.gene_distance_shared import cal_ot_mat

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.cache.npz"
    key = fingerprint(graph_dist, expression,
                      extra=f"gene-trajectory {_gt_version()} cal_ot_mat num_iter_max=50000")
    if path.exists():
        with np.load(path) as f:
            if str(f["key"]) == key:
                log(f"  GeneTrajectory cal_ot_mat: cached in {path.relative_to(HERE.parent)} "
                    f"({float(f['seconds']):.0f} s when computed)")
                return (f["distances"], float(f["seconds"]), int(f["processes"]),
                        json.loads(str(f["meta"])))
        log(f"  {path.name} is stale, recomputing")
    n_genes = expression.shape[1]
    log(f"  GeneTrajectory cal_ot_mat: {n_genes * (n_genes - 1) // 2} pairs "
        f"({processes} threads) ...")
    meta = {"load_average_start": load_average(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    start = time.perf_counter()
    # cal_ot_mat reads `processes` only when it is a float (else os.cpu_count())
    distances = cal_ot_mat(graph_dist, expression, show_progress_bar=True,
                           processes=float(processes))
    seconds = time.perf_counter() - start
    meta["load_average_end"] = load_average()
    np.savez(path, key=np.array(key), distances=distances, seconds=np.array(seconds),
             processes=np.array(processes), meta=np.array(json.dumps(meta)))
    log(f"  GeneTrajectory cal_ot_mat: {seconds:.0f} s, saved to {path.relative_to(HERE.parent)}")
    return distances, seconds, processes, meta


# ---------------------------------------------------------------------------
# graphsig's distances


def graphsig_distances(adjacency, signals, refine_neighbors=0, **params):
    """DiffusionEMD fit + transform of the genes, then all-pairs L1 (float64, symmetric).

    With ``refine_neighbors=m``, the distances from each gene to its ``m``
    exact nearest genes (``EMDNeighbors(refine="exact")``, candidates in
    embedding order) replace the L1 ones.
    """
    from graphsig import DiffusionEMD
    from graphsig.neighbors import EMDNeighbors, l1_distances

    est = DiffusionEMD(adjacency, random_state=0, **params).fit(signals)
    emb = est.transform(signals)
    dist = l1_distances(emb).astype(np.float64)
    dist = 0.5 * (dist + dist.T)
    if refine_neighbors:
        knn = EMDNeighbors(n_neighbors=refine_neighbors, embedding=est, refine="exact")
        exact, idx = knn.fit(signals).kneighbors()
        rows = np.repeat(np.arange(signals.shape[0]), idx.shape[1])
        dist[rows, idx.ravel()] = exact.ravel()
        dist[idx.ravel(), rows] = exact.ravel()
    np.fill_diagonal(dist, 0.0)
    return dist, est


_COMPILE_SCRIPT = r"""
import json, sys, time
import numpy as np, scipy.sparse as sp
t0 = time.perf_counter()
from graphsig import DiffusionEMD
from graphsig.neighbors import l1_distances
with np.load(sys.argv[1]) as f:
    A = sp.csr_matrix((f["a_data"], f["a_indices"], f["a_indptr"]), shape=tuple(f["a_shape"]))
    S = sp.csr_matrix((f["s_data"], f["s_indices"], f["s_indptr"]), shape=tuple(f["s_shape"]))
t1 = time.perf_counter()
l1_distances(DiffusionEMD(A.copy(), random_state=0).fit(S).transform(S))
t2 = time.perf_counter()
l1_distances(DiffusionEMD(A.copy(), random_state=0).fit(S).transform(S))
t3 = time.perf_counter()
print(json.dumps({"import_and_load_s": t1 - t0, "first_s": t2 - t1, "second_s": t3 - t2}))
"""


def compile_times(adjacency, signals):
    """First call in a fresh process: empty numba cache, then a warm one."""
    with tempfile.TemporaryDirectory(prefix="graphsig-gt-") as tmp:
        data = os.path.join(tmp, "problem.npz")
        a, s = sp.csr_matrix(adjacency), sp.csr_matrix(signals)
        np.savez(data, a_data=a.data, a_indices=a.indices, a_indptr=a.indptr,
                 a_shape=np.array(a.shape), s_data=s.data, s_indices=s.indices,
                 s_indptr=s.indptr, s_shape=np.array(s.shape))
        cache_dir = os.path.join(tmp, "numba-cache")
        runs = []
        for _ in range(2):
            env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
            proc = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT, data], env=env,
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"compile-time subprocess failed:\n{proc.stderr}")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    return {"cold_cache_first_call_s": cold["first_s"], "warm_cache_first_call_s": warm["first_s"],
            "in_process_second_call_s": min(cold["second_s"], warm["second_s"]),
            "cold_process": cold, "warm_cache_process": warm}


# ---------------------------------------------------------------------------
# GeneTrajectory's downstream and the agreement measures


def downstream(dist, gene_names, gene_k, t_list, n_ev):
    """``get_gene_embedding`` then ``extract_gene_trajectory``, timed."""
    from gene_trajectory.extract_gene_trajectory import (
        extract_gene_trajectory,
        get_gene_embedding,
    )

    start = time.perf_counter()
    emb, eigenvalues = get_gene_embedding(dist, k=gene_k, n_ev=n_ev)
    t_emb = time.perf_counter() - start
    start = time.perf_counter()
    traj = extract_gene_trajectory(emb, dist, gene_names=list(gene_names), t_list=list(t_list),
                                   k=gene_k)
    t_traj = time.perf_counter() - start
    return emb, eigenvalues, traj, {"gene_embedding_s": t_emb, "trajectories_s": t_traj}


def upper(d):
    i, j = np.triu_indices(d.shape[0], 1)
    return d[i, j]


def distance_agreement(approx, exact):
    from scipy.stats import pearsonr, spearmanr

    a, e = upper(approx), upper(exact)
    n = exact.shape[0]
    rho_rows, p10 = query_scores(approx, exact, np.arange(n))
    return {
        "spearman_upper_triangle": float(spearmanr(a, e).statistic),
        "pearson_upper_triangle": float(pearsonr(a, e).statistic),
        "per_gene_spearman_mean": float(np.mean(rho_rows)),
        "per_gene_spearman_std": float(np.std(rho_rows)),
        "per_gene_p_at_10_mean": float(np.mean(p10)),
        "ratio_mean": float(np.mean(a / np.maximum(e, 1e-12))),
        "n_pairs": int(a.size),
    }


def embedding_agreement(emb_a, emb_b, n_dims):
    """Agreement of the first ``n_dims`` diffusion coordinates of two gene embeddings.

    - per coordinate: |Pearson correlation| (the sign of an eigenvector is
      arbitrary, so this is the correlation after sign alignment);
    - Procrustes R^2: 1 - the disparity of ``scipy.spatial.procrustes`` (both
      centred and scaled to unit Frobenius norm, then the best rotation or
      reflection of one onto the other; 1 = identical up to those);
    - mean canonical correlation of the two coordinate sets (invariant to any
      invertible linear map of either);
    - Spearman correlation of the pairwise Euclidean distances between genes
      in the two embeddings (upper triangles).
    """
    from scipy.spatial import procrustes
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    a = np.asarray(emb_a[:, :n_dims], dtype=np.float64)
    b = np.asarray(emb_b[:, :n_dims], dtype=np.float64)
    per_coord = [abs(float(np.corrcoef(a[:, i], b[:, i])[0, 1])) for i in range(n_dims)]
    _, _, disparity = procrustes(a, b)
    qa, _ = np.linalg.qr(a - a.mean(axis=0))
    qb, _ = np.linalg.qr(b - b.mean(axis=0))
    canonical = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)
    return {
        "n_dims": n_dims,
        "per_coordinate_abs_corr": per_coord,
        "per_coordinate_abs_corr_mean": float(np.mean(per_coord)),
        "per_coordinate_abs_corr_min": float(np.min(per_coord)),
        "procrustes_r2": float(1.0 - disparity),
        "canonical_correlations": canonical.tolist(),
        "mean_canonical_correlation": float(canonical.mean()),
        "pairwise_distance_spearman": float(spearmanr(pdist(a), pdist(b)).statistic),
    }


def trajectory_agreement(traj_a, traj_b, n_traj):
    """Membership and ordering agreement of the gene trajectories of two runs.

    Each trajectory of run a is matched with the trajectory of run b that
    shares the most genes (Jaccard index). On the genes of both, the
    Spearman and Kendall correlations of their pseudo-orders.
    """
    from scipy.stats import kendalltau, spearmanr
    from sklearn.metrics import adjusted_rand_score

    rows = []
    labels_b = traj_b["selected"].to_numpy()
    for i in range(1, n_traj + 1):
        name = f"Trajectory-{i}"
        in_a = traj_a["selected"].to_numpy() == name
        if not in_a.any():
            continue
        best, best_j = -1.0, None
        for j in range(1, n_traj + 1):
            in_b = labels_b == f"Trajectory-{j}"
            jac = (in_a & in_b).sum() / max(1, (in_a | in_b).sum())
            if jac > best:
                best, best_j = jac, j
        in_b = labels_b == f"Trajectory-{best_j}"
        both = in_a & in_b
        order_a = traj_a[f"Pseudoorder-{i}"].to_numpy()[both]
        order_b = traj_b[f"Pseudoorder-{best_j}"].to_numpy()[both]
        ok = both.sum() >= 3
        rows.append({
            "trajectory": i, "matched": best_j, "genes_a": int(in_a.sum()),
            "genes_b": int(in_b.sum()), "genes_both": int(both.sum()), "jaccard": float(best),
            "last_gene_a": str(traj_a.index[np.argmax(traj_a[f"Pseudoorder-{i}"].to_numpy())]),
            "last_gene_b": str(traj_b.index[np.argmax(traj_b[f"Pseudoorder-{best_j}"].to_numpy())]),
            "order_spearman": float(spearmanr(order_a, order_b).statistic) if ok else None,
            "order_kendall": float(kendalltau(order_a, order_b).statistic) if ok else None,
        })
    ari = adjusted_rand_score(traj_a["selected"].to_numpy(), labels_b)
    return {"trajectories": rows, "adjusted_rand_index_of_labels": float(ari)}


# ---------------------------------------------------------------------------
# PBMC


def bench_pbmc(args):
    import anndata as ad
    import pandas as pd

    from graphsig import exact_emd
    from graphsig.datasets import load_pbmc68k

    _quiet()
    log("\n== PBMC: 700 cells x 765 genes")
    data = load_pbmc68k()
    signals = data.signals  # genes x cells, float32
    cells_by_genes = signals.T.tocsr()
    adata = ad.AnnData(X=cells_by_genes, obs=pd.DataFrame(index=data.cell_names),
                       var=pd.DataFrame(index=data.gene_names))
    detected = np.asarray((cells_by_genes > 0).mean(axis=0)).ravel()
    out = {"n_cells": int(adata.n_obs), "n_genes": int(adata.n_vars),
           "genes_detected_1_to_50_percent": int(((detected > 0.01) & (detected < 0.5)).sum())}

    graph_dist, k, tried, t_shared = cell_graph(adata, args.cell_k, 5, 100)
    out.update({"cell_k": k, "cell_k_disconnected": tried,
                "cell_graph_diameter": int(graph_dist.max())})
    log(f"  cell graph: k = {k} (disconnected for k = {tried}), hop diameter "
        f"{int(graph_dist.max())}; pca {t_shared['pca_s']:.2f} s, run_dm "
        f"{t_shared['run_dm_s']:.2f} s, get_graph_distance {t_shared['graph_distance_s']:.2f} s")

    start = time.perf_counter()
    adjacency = knn_adjacency(adata, k)
    t_adjacency = time.perf_counter() - start
    same_graph = bool(((graph_dist == 1) != (adjacency.toarray() > 0)).sum() == 0)
    out["graphsig_adjacency_equals_gt_graph"] = same_graph
    out["cell_graph_edges"] = int(adjacency.nnz // 2)
    log(f"  graphsig's adjacency (the same kNN search): {t_adjacency:.3f} s; identical to "
        f"GeneTrajectory's graph (hop distance 1): {same_graph}")

    expression = cells_by_genes.toarray().astype(np.float64)  # what cal_ot_mat is fed
    # -- GeneTrajectory's exact distances (cached), and a check of the ground cost
    gt_dist, gt_seconds, gt_processes, gt_meta = gt_exact_distances(
        graph_dist, expression, args.processes, f"genetrajectory_pbmc_k{k}")
    out["gt_cal_ot_mat_s"] = gt_seconds
    out["gt_cal_ot_mat_processes"] = gt_processes
    out["gt_cal_ot_mat_run"] = gt_meta
    rng = np.random.default_rng(2)
    pairs = np.array([rng.choice(adata.n_vars, 2, replace=False) for _ in range(args.check_pairs)])
    ours_exact = np.array([exact_emd(adjacency, signals[i], signals[j])[0, 0] for i, j in pairs])
    out["exact_check"] = {
        "pairs": int(len(pairs)),
        "max_abs_diff_graphsig_exact_emd_vs_gt": float(np.max(np.abs(
            ours_exact - gt_dist[pairs[:, 0], pairs[:, 1]]))),
    }
    # serial per-pair time of GeneTrajectory's own solver call, for the extrapolation
    from gene_trajectory.gene_distance_shared import _cal_ot

    sample = pairs[:min(len(pairs), 200)]
    start = time.perf_counter()
    for i, j in sample:
        _cal_ot(graph_dist, expression, 50000, int(i), int(j))
    per_pair_serial = (time.perf_counter() - start) / len(sample)
    n_pairs = adata.n_vars * (adata.n_vars - 1) // 2
    out["gt_per_pair_serial_ms"] = 1e3 * per_pair_serial
    out["gt_per_pair_parallel_ms"] = 1e3 * gt_seconds / n_pairs
    out["gt_thread_speedup"] = per_pair_serial * n_pairs / gt_seconds
    # GeneTrajectory's time at this moment's load: its serial rate on the sampled
    # pairs, times all pairs (one thread), and with a perfect thread speed-up
    out["gt_same_run_serial_s"] = per_pair_serial * n_pairs
    out["gt_same_run_ideal_threads_s"] = per_pair_serial * n_pairs / args.processes
    log(f"  graphsig exact_emd vs GeneTrajectory on {len(pairs)} pairs: max |diff| "
        f"{out['exact_check']['max_abs_diff_graphsig_exact_emd_vs_gt']:.1e}; GeneTrajectory "
        f"{1e3 * per_pair_serial:.2f} ms per pair serially, {out['gt_per_pair_parallel_ms']:.2f} ms "
        f"in its own run")

    # -- graphsig's distances
    load_before = load_average()
    start = time.perf_counter()
    gs_dist, est = graphsig_distances(adjacency, signals)
    t_first = time.perf_counter() - start
    t_steady, (gs_dist, est) = best_of(lambda: graphsig_distances(adjacency.copy(), signals),
                                       args.repeats)
    out["graphsig"] = {
        "first_call_in_process_s": t_first,
        "steady_s": t_steady,
        "repeats": args.repeats,
        "load_average": [load_before, load_average()],
        "plan": str(est.plan_["kind"]), "max_scale": int(est.max_scale_),
        "n_trees": int(est.n_trees_), "tree_weight": float(est.tree_weight_),
        "hop_scale": float(est.hop_scale_),
    }
    log(f"  graphsig DiffusionEMD + all-pairs L1: first call in this process {t_first:.2f} s, "
        f"steady {t_steady:.2f} s (best of {args.repeats}); plan {est.plan_['kind']}, "
        f"max_scale {est.max_scale_}, {est.n_trees_} trees, tree_weight {est.tree_weight_:.3f}")
    if not args.skip_compile:
        out["graphsig"]["compile"] = compile_times(adjacency, signals)
        c = out["graphsig"]["compile"]
        log(f"  fresh process: empty numba cache {c['cold_cache_first_call_s']:.2f} s, warm cache "
            f"{c['warm_cache_first_call_s']:.2f} s, second call {c['in_process_second_call_s']:.2f} s")

    # -- downstream, both
    t_list = [int(t) for t in args.t_list.split(",")]
    gt_emb, gt_eig, gt_traj, gt_t = downstream(gt_dist, data.gene_names, args.gene_k, t_list,
                                               args.n_ev)
    gs_emb, gs_eig, gs_traj, gs_t = downstream(gs_dist, data.gene_names, args.gene_k, t_list,
                                               args.n_ev)
    out["downstream_s"] = {"gt": gt_t, "graphsig": gs_t}
    out["eigenvalues"] = {"gt": gt_eig[:10].tolist(), "graphsig": gs_eig[:10].tolist()}
    out["distances"] = distance_agreement(gs_dist, gt_dist)
    out["embedding"] = {str(n): embedding_agreement(gt_emb, gs_emb, n) for n in args.emb_dims}
    out["trajectory"] = trajectory_agreement(gt_traj, gs_traj, len(t_list))
    d = out["distances"]
    log(f"  distances: Spearman {d['spearman_upper_triangle']:.4f} (upper triangle), Pearson "
        f"{d['pearson_upper_triangle']:.4f}, per-gene Spearman {d['per_gene_spearman_mean']:.4f}, "
        f"per-gene P@10 {d['per_gene_p_at_10_mean']:.3f}")
    for n, e in out["embedding"].items():
        log(f"  gene embedding, first {n} coordinates: |corr| per coordinate "
            f"{np.round(e['per_coordinate_abs_corr'], 3).tolist()}, Procrustes R^2 "
            f"{e['procrustes_r2']:.4f}, mean canonical corr {e['mean_canonical_correlation']:.4f}, "
            f"pairwise-distance Spearman {e['pairwise_distance_spearman']:.4f}")
    for r in out["trajectory"]["trajectories"]:
        log(f"  trajectory {r['trajectory']} ~ {r['matched']}: genes {r['genes_a']} / "
            f"{r['genes_b']}, Jaccard {r['jaccard']:.3f}, order Spearman {r['order_spearman']}, "
            f"Kendall {r['order_kendall']}")

    # -- wall times end to end
    shared = t_shared["pca_s"] + t_shared["run_dm_s"]
    gt_total = shared + t_shared["graph_distance_s"] + gt_seconds + sum(gt_t.values())
    gs_total = shared + t_adjacency + t_steady + sum(gs_t.values())
    first = out["graphsig"].get("compile", {}).get("cold_cache_first_call_s", t_first)
    gs_total_cold = shared + t_adjacency + first + sum(gs_t.values())
    out["times"] = {
        "pca_s": t_shared["pca_s"], "run_dm_s": t_shared["run_dm_s"],
        "gt_graph_distance_s": t_shared["graph_distance_s"],
        "graphsig_adjacency_s": t_adjacency,
        "gt_distances_s": gt_seconds, "graphsig_distances_s": t_steady,
        "graphsig_distances_first_call_s": first,
        "gt_end_to_end_s": gt_total, "graphsig_end_to_end_s": gs_total,
        "graphsig_end_to_end_with_first_call_s": gs_total_cold,
        "ratio_distances": gt_seconds / t_steady,
        "ratio_distances_first_call": gt_seconds / first,
        "ratio_end_to_end": gt_total / gs_total,
        "ratio_end_to_end_with_first_call": gt_total / gs_total_cold,
    }
    # the same with GeneTrajectory's distances timed on the sampled pairs in this run,
    # with a perfect thread speed-up (the load of its full run may differ)
    gt_ideal = out["gt_same_run_ideal_threads_s"]
    gt_total_ideal = gt_total - gt_seconds + gt_ideal
    out["times"].update({
        "gt_distances_same_run_ideal_threads_s": gt_ideal,
        "gt_end_to_end_same_run_ideal_threads_s": gt_total_ideal,
        "ratio_distances_same_run_ideal_threads": gt_ideal / t_steady,
        "ratio_end_to_end_same_run_ideal_threads": gt_total_ideal / gs_total,
        "ratio_end_to_end_same_run_ideal_threads_with_first_call": gt_total_ideal / gs_total_cold,
    })
    t = out["times"]
    log(f"  end to end: GeneTrajectory {gt_total:.1f} s, graphsig {gs_total:.1f} s "
        f"({gs_total_cold:.1f} s with the first call) -> {t['ratio_end_to_end']:.0f}x "
        f"({t['ratio_end_to_end_with_first_call']:.0f}x); distances alone "
        f"{t['ratio_distances']:.0f}x")

    if args.variants:
        out["variants"] = bench_variants(adjacency, signals, gt_dist, gt_emb, data.gene_names,
                                         args, t_list)
    return out


VARIANTS = [
    ("defaults", {}),
    ("n_trees=0 (diffusion alone)", {"n_trees": 0}),
    ("n_trees=32", {"n_trees": 32}),
    ("tree_weight=0.5", {"tree_weight": 0.5}),
    ("tree_weight=1 (trees alone)", {"tree_weight": 1.0}),
    ("compression=1 (uncompressed)", {"compression": 1}),
    ("max_scale=11", {"max_scale": 11}),
    ("alpha=0.45", {"alpha": 0.45}),
    ("alpha=0.55", {"alpha": 0.55}),
    ("refine: exact EMD for each gene's 10 nearest (EMDNeighbors(refine='exact')), L1 elsewhere",
     {"refine_neighbors": 10}),
]


def bench_variants(adjacency, signals, gt_dist, gt_emb, gene_names, args, t_list):
    """graphsig's public parameters against the same exact distances and embedding."""
    log("\n== graphsig parameters (PBMC), against GeneTrajectory's exact distances")
    rows = []
    n_dims = max(args.emb_dims)
    for label, params in VARIANTS:
        seconds, (dist, est) = best_of(
            lambda p=params: graphsig_distances(adjacency.copy(), signals, **p), 1)
        emb, _, _, _ = downstream(dist, gene_names, args.gene_k, t_list, args.n_ev)
        d = distance_agreement(dist, gt_dist)
        e = embedding_agreement(gt_emb, emb, n_dims)
        rows.append({"variant": label, "params": params, "seconds": seconds,
                     "width": int(est.n_features_out_), "tree_weight": float(est.tree_weight_),
                     "distances": d, "embedding": e})
        log(f"  {label}: {seconds:.2f} s, Spearman {d['spearman_upper_triangle']:.4f}, per-gene "
            f"P@10 {d['per_gene_p_at_10_mean']:.3f}, embedding ({n_dims} coords) |corr| mean "
            f"{e['per_coordinate_abs_corr_mean']:.3f}, Procrustes R^2 {e['procrustes_r2']:.3f}, "
            f"canonical {e['mean_canonical_correlation']:.3f}")
    return rows


# ---------------------------------------------------------------------------
# scale: graphsig at 10k / 50k cells (one process each)


def sim_data_path(n_cells, n_genes):
    return CACHE / f"genetrajectory_sim_{n_cells}x{n_genes}.cache.npz"


def sim_data(n_cells, n_genes):
    """The simulated differentiation, preprocessed, cached on disk."""
    from _genetrajectory_data import make_differentiation, preprocess

    path = sim_data_path(n_cells, n_genes)
    if path.exists():
        with np.load(path) as f:
            lognorm = sp.csr_matrix((f["x_data"], f["x_indices"], f["x_indptr"]),
                                    shape=tuple(f["x_shape"]))
            graph = sp.csr_matrix((f["g_data"], f["g_indices"], f["g_indptr"]),
                                  shape=tuple(f["g_shape"]))
            return lognorm, graph, json.loads(str(f["meta"]))
    start = time.perf_counter()
    data = make_differentiation(n_cells, n_genes, random_state=0)
    t_draw = time.perf_counter() - start
    prep = preprocess(data.counts)
    lognorm, graph = prep.lognorm, sp.csr_matrix(prep.graph)
    detected = np.asarray((data.counts > 0).mean(axis=0)).ravel()
    meta = {"draw_s": t_draw, **prep.seconds,
            "nonzero_fraction": float(data.counts.nnz / np.prod(data.counts.shape)),
            "genes_without_counts": int((detected == 0).sum()),
            "genes_detected_1_to_50_percent": int(((detected > 0.01) & (detected < 0.5)).sum()),
            "graph_entries_per_cell": float(graph.nnz / n_cells)}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_data=lognorm.data, x_indices=lognorm.indices, x_indptr=lognorm.indptr,
             x_shape=np.array(lognorm.shape), g_data=graph.data, g_indices=graph.indices,
             g_indptr=graph.indptr, g_shape=np.array(graph.shape), meta=np.array(json.dumps(meta)))
    return lognorm, graph, meta


def _proc_status_gb(field):
    """``VmRSS`` or ``VmHWM`` of this process in GB (Linux), else None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return None


def _reset_peak():
    """Reset the peak RSS (``VmHWM``) to the current RSS (Linux >= 4.0); True if done."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_scale_one(n_cells, n_genes, params, pairs_path):
    """In its own process: emd_neighbors + gene_diffusion_map, time and peak RSS."""
    import anndata as ad

    import graphsig.sc
    _quiet()
    start = time.perf_counter()
    lognorm, graph, meta = sim_data(n_cells, n_genes)
    keep = np.asarray(lognorm.sum(axis=0)).ravel() > 0
    lognorm = sp.csr_matrix(lognorm[:, keep])
    out = {"n_cells": n_cells, "n_genes": int(keep.sum()), "params": params, "data": meta,
           "load_s": time.perf_counter() - start}
    # first call on a small problem of the same types: numba compilation or cache
    # loading, reported apart
    from graphsig.graphs import knn_graph

    rng = np.random.default_rng(0)
    warm = ad.AnnData(X=sp.random(500, 50, density=0.3, format="csr", dtype=np.float32,
                                  random_state=0))
    warm.X.data += 0.1
    warm.obsp["connectivities"] = knn_graph(rng.normal(size=(500, 5)), 10).astype(graph.dtype)
    start = time.perf_counter()
    graphsig.sc.emd_neighbors(warm, **params)
    graphsig.sc.gene_diffusion_map(warm)
    out["warmup_s"] = time.perf_counter() - start

    adata = ad.AnnData(X=lognorm)
    adata.obsp["connectivities"] = graph
    del lognorm
    # the peak of this process from here on: VmHWM after a reset, since ru_maxrss
    # also counts the parent's RSS copied at the fork
    out["rss_before_gb"] = _proc_status_gb("VmRSS")
    out["peak_reset"] = _reset_peak()
    out["load_average_start"] = load_average()
    start = time.perf_counter()
    graphsig.sc.emd_neighbors(adata, **params)
    out["emd_neighbors_s"] = time.perf_counter() - start
    start = time.perf_counter()
    graphsig.sc.gene_diffusion_map(adata, n_components=10)
    out["gene_diffusion_map_s"] = time.perf_counter() - start
    out["total_s"] = out["emd_neighbors_s"] + out["gene_diffusion_map_s"]
    out["peak_rss_gb"] = _proc_status_gb("VmHWM") if out["peak_reset"] else None
    out["ru_maxrss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    if out["peak_rss_gb"] is None:
        out["peak_rss_gb"] = out["ru_maxrss_gb"]
    out["load_average_end"] = load_average()
    out["plan"] = adata.uns["graphsig"]["plan"]
    out["n_trees"] = adata.uns["graphsig"]["n_trees"]
    out["tree_weight"] = adata.uns["graphsig"]["tree_weight"]
    out["hop_scale"] = adata.uns["graphsig"]["hop_scale"]
    emb = adata.varm.get("graphsig_embedding")
    if emb is not None:
        out["embedding_shape"] = list(emb.shape)
        out["embedding_mb"] = float(
            (emb.data.nbytes + emb.indices.nbytes + emb.indptr.nbytes) / 1e6
            if sp.issparse(emb) else emb.nbytes / 1e6)
    if pairs_path and emb is not None:
        from scipy.stats import spearmanr

        with np.load(pairs_path) as f:
            pairs, exact = f["pairs"], f["exact"]
        e = emb.tocsr() if sp.issparse(emb) else emb
        approx = np.array([abs(e[i] - e[j]).sum() for i, j in pairs])
        out["accuracy_pairs"] = int(len(pairs))
        out["accuracy_spearman"] = float(spearmanr(approx, exact).statistic)
    return out


SCALE_VARIANTS = [
    ("defaults", {}),
    ("n_calibration_signals=0", {"n_calibration_signals": 0}),
    ("n_trees=8, n_calibration_signals=0", {"n_trees": 8, "n_calibration_signals": 0}),
    ("n_trees=32, tree_weight=1, n_calibration_signals=0",
     {"n_trees": 32, "tree_weight": 1.0, "n_calibration_signals": 0}),
]


def scale_exact_pairs(n_cells, n_genes, n_pairs):
    """Exact EMD (graphsig.exact_emd, hop cost) on random gene pairs, cached."""
    from graphsig import exact_emd

    path = CACHE / f"genetrajectory_sim_{n_cells}x{n_genes}_pairs{n_pairs}.cache.npz"
    lognorm, graph, _ = sim_data(n_cells, n_genes)
    signals = lognorm.T.tocsr()
    signals = signals[np.asarray(signals.sum(axis=1)).ravel() > 0]
    key = fingerprint(graph, signals, extra=f"pairs={n_pairs}")
    if path.exists():
        with np.load(path) as f:
            if str(f["key"]) == key:
                return path, float(f["seconds"])
    rng = np.random.default_rng(3)
    pairs = np.array([rng.choice(signals.shape[0], 2, replace=False) for _ in range(n_pairs)])
    start = time.perf_counter()
    exact = np.array([exact_emd(graph, signals[i], signals[j])[0, 0] for i, j in pairs])
    seconds = time.perf_counter() - start
    np.savez(path, key=np.array(key), pairs=pairs, exact=exact, seconds=np.array(seconds))
    return path, seconds


def bench_scale(args):
    rows = []
    variants = [v for v in SCALE_VARIANTS if v[0] in args.scale_variants]
    for n_cells in args.sizes:
        log(f"\n== scale: {n_cells} cells x {args.scale_genes} genes")
        start = time.perf_counter()
        sim_data(n_cells, args.scale_genes)  # draw and cache it (not in the measured process)
        log(f"  data ready in {time.perf_counter() - start:.1f} s")
        pairs_path = ""
        if args.scale_pairs and n_cells <= args.scale_pairs_max_cells:
            path, seconds = scale_exact_pairs(n_cells, args.scale_genes, args.scale_pairs)
            pairs_path = str(path)
            log(f"  exact EMD on {args.scale_pairs} random gene pairs: {seconds:.0f} s "
                f"(cached in {path.relative_to(HERE.parent)})")
        for label, params in variants:
            cmd = [sys.executable, __file__, "--one-scale", str(n_cells),
                   "--scale-genes", str(args.scale_genes), "--one-params", json.dumps(params),
                   "--one-pairs", pairs_path]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True,
                                      timeout=args.scale_timeout)
            except subprocess.TimeoutExpired:
                log(f"  {label}: did not finish within {args.scale_timeout} s")
                rows.append({"n_cells": n_cells, "variant": label, "params": params,
                             "timeout_s": args.scale_timeout})
                continue
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                log(proc.stdout[-2000:], proc.stderr[-4000:])
                raise SystemExit(f"scale run {n_cells} {label} failed")
            r = json.loads(line[0][len("RESULT "):])
            r["variant"] = label
            rows.append(r)
            log(f"  {label}: emd_neighbors {r['emd_neighbors_s']:.1f} s + gene_diffusion_map "
                f"{r['gene_diffusion_map_s']:.1f} s = {r['total_s']:.1f} s; peak RSS "
                f"{r['peak_rss_gb']:.2f} GB (before {r['rss_before_gb']:.2f} GB); plan "
                f"{r['plan']}; warm-up {r['warmup_s']:.1f} s"
                + (f"; Spearman on {r['accuracy_pairs']} pairs {r['accuracy_spearman']:.3f}"
                   if "accuracy_spearman" in r else ""))
    return rows


# ---------------------------------------------------------------------------
# GeneTrajectory at scale: an extrapolation, never a run


def gt_estimate(args):
    """Extrapolated GeneTrajectory time for all gene pairs at the scale sizes.

    GeneTrajectory's solver call (``_cal_ot``: the two genes normalised to unit
    mass, the cost matrix restricted to their supports, ``ot.emd2``) is timed
    serially on random gene pairs:

    - all cells (no coarse-graining, as graphsig): on the simulated data at a
      few small cell counts, with the hop distances of the same kNN cell graph
      as cost; a power law in the number of cells is fitted to the time per
      pair and extended to the scale sizes;
    - its coarse-graining (``coarse_grain``, default 1,000 meta-cells): the
      smallest scale size cut into 1,000 k-means clusters (of the cells' PCA;
      GeneTrajectory clusters its 5 diffusion coordinates), the expression
      summed over each cluster and the cost the mean hop distance between the
      cells of two clusters, as ``coarse_grain`` computes them. Its time per
      pair does not depend on the number of cells.

    Times the number of pairs, divided by the number of threads (a perfect
    speed-up, the best case for GeneTrajectory).
    """
    from gene_trajectory.gene_distance_shared import _cal_ot
    from scipy.sparse.csgraph import shortest_path

    from _genetrajectory_data import make_differentiation, preprocess

    _quiet()
    log("\n== GeneTrajectory per-pair time on the simulated data (for the extrapolation)")
    rng = np.random.default_rng(4)

    def per_pair_time(cost, expr, n_pairs):
        pairs = [rng.choice(expr.shape[1], 2, replace=False) for _ in range(n_pairs)]
        _cal_ot(cost, expr, 50000, int(pairs[0][0]), int(pairs[0][1]))
        start = time.perf_counter()
        for i, j in pairs:
            _cal_ot(cost, expr, 50000, int(i), int(j))
        support = float(np.mean([(expr[:, i] > 0).sum() for i, _ in pairs]))
        return (time.perf_counter() - start) / n_pairs, support

    points = []
    for n_cells in args.gt_sample_cells:
        data = make_differentiation(n_cells, args.scale_genes, random_state=0)
        prep = preprocess(data.counts)
        expr = prep.lognorm.toarray().astype(np.float64)
        expr = expr[:, expr.sum(axis=0) > 0]
        cost = shortest_path(prep.graph, unweighted=True, directed=False)
        per_pair, support = per_pair_time(cost, expr, args.gt_sample_pairs)
        points.append({"n_cells": n_cells, "per_pair_s": per_pair, "pairs": args.gt_sample_pairs,
                       "mean_support_cells": support})
        log(f"  {n_cells} cells: {1e3 * per_pair:.1f} ms per pair (mean support {support:.0f} "
            f"cells, {args.gt_sample_pairs} pairs)")
    x = np.log([q["n_cells"] for q in points])
    y = np.log([q["per_pair_s"] for q in points])
    slope, intercept = np.polyfit(x, y, 1)

    coarse = None
    if args.gt_meta_cells:
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        n_cells = min(args.sizes)
        lognorm, graph, _ = sim_data(n_cells, args.scale_genes)
        start = time.perf_counter()
        pca = PCA(50, svd_solver="covariance_eigh", random_state=0).fit_transform(lognorm)
        labels = KMeans(args.gt_meta_cells, n_init=1, random_state=1).fit(pca).labels_
        member = sp.csr_matrix((np.ones(n_cells), (labels, np.arange(n_cells))),
                               shape=(args.gt_meta_cells, n_cells))
        expr = np.asarray((member @ lognorm).toarray(), dtype=np.float64)  # meta-cells x genes
        expr = expr[:, expr.sum(axis=0) > 0]
        norm = sp.diags(1.0 / np.asarray(member.sum(axis=1)).ravel()) @ member
        norm_t = norm.T.tocsr()
        cost = np.zeros((args.gt_meta_cells, args.gt_meta_cells))
        for lo in range(0, n_cells, 500):  # mean hop distances, 500 source cells at a time
            rows = shortest_path(graph, unweighted=True, directed=False,
                                 indices=np.arange(lo, min(n_cells, lo + 500)))
            cost += norm[:, lo:lo + rows.shape[0]] @ (norm_t.T @ rows.T).T
        t_build = time.perf_counter() - start
        per_pair, support = per_pair_time(cost, expr, args.gt_sample_pairs)
        coarse = {"from_cells": n_cells, "meta_cells": args.gt_meta_cells, "per_pair_s": per_pair,
                  "pairs": args.gt_sample_pairs, "mean_support_meta_cells": support,
                  "build_s": t_build}
        log(f"  {args.gt_meta_cells} meta-cells of {n_cells} cells: {1e3 * per_pair:.0f} ms per "
            f"pair (mean support {support:.0f} meta-cells)")

    n_pairs = args.scale_genes * (args.scale_genes - 1) // 2
    rows = []
    for n_cells in args.sizes:
        per_pair = float(np.exp(intercept + slope * np.log(n_cells)))
        row = {"n_cells": n_cells, "per_pair_s": per_pair, "n_pairs": n_pairs,
               "threads": args.processes, "cal_ot_mat_s": per_pair * n_pairs / args.processes,
               "dense_cells_x_cells_gb": 8 * n_cells ** 2 / 1e9}
        if coarse:
            row["coarse_cal_ot_mat_s"] = coarse["per_pair_s"] * n_pairs / args.processes
        rows.append(row)
        log(f"  ESTIMATE {n_cells} cells: {per_pair:.2f} s per pair x {n_pairs} pairs / "
            f"{args.processes} threads = {row['cal_ot_mat_s'] / 3600:.0f} h"
            + (f"; coarse-grained {row['coarse_cal_ot_mat_s'] / 3600:.0f} h" if coarse else ""))
    return {"sample": points, "exponent": float(slope), "coarse": coarse, "estimates": rows}


# ---------------------------------------------------------------------------
# report


def _f(v, fmt):
    return "n/a" if v is None else format(v, fmt)


def render(p):
    md = ["# GeneTrajectory with its exact gene-gene EMD and with graphsig's", "",
          f"Command: `{p['command']}`  ",
          f"gene-trajectory {p['gene_trajectory']}; load average (1, 5, 15 min) at start "
          f"{p['load_average_start']}, at end {p['load_average_end']}; "
          f"{p['machine']['cpu_count']} CPUs, {p['machine']['numba_threads']} numba threads. "
          "On a shared machine, read the ratios."]
    names = {"pbmc": "PBMC", "scale": "graphsig at scale", "gt_estimate": "GeneTrajectory's estimate"}
    for key, c in p.get("carried", {}).items():
        md += ["", f"*{names[key]}: carried over from the run started {c['started']} "
               f"(`{c['command']}`, load average at its start {c['load_average_start']}).*"]
    b = p.get("pbmc")
    if b:
        t = b["times"]
        g = b["graphsig"]
        md += ["", f"## PBMC: {b['n_cells']} cells x {b['n_genes']} genes (all genes)", "",
               f"Cell graph: GeneTrajectory's own (`run_dm` on `sc.pp.pca`, then "
               f"`get_graph_distance` with k = {b['cell_k']}, the smallest k from its default 10 in "
               f"steps of 5 for which the graph is connected; k = {b['cell_k_disconnected']} gave "
               f"disconnected graphs), {b['cell_graph_edges']} edges, hop diameter "
               f"{b['cell_graph_diameter']}. graphsig gets the same graph as a 0/1 adjacency "
               f"(identical edges: {b['graphsig_adjacency_equals_gt_graph']}) and the default "
               "hop ground cost (`weighted=False`); graphsig's `exact_emd` matches "
               f"GeneTrajectory's EMD on {b['exact_check']['pairs']} random pairs to "
               f"{b['exact_check']['max_abs_diff_graphsig_exact_emd_vs_gt']:.1e}.",
               "", "### Agreement", ""]
        d = b["distances"]
        rows = [["distances: Spearman, upper triangle (target >= 0.95)",
                 f"{d['spearman_upper_triangle']:.4f}"],
                ["distances: Pearson, upper triangle", f"{d['pearson_upper_triangle']:.4f}"],
                ["distances: per-gene Spearman (mean ± sd over genes)",
                 f"{d['per_gene_spearman_mean']:.4f} ± {d['per_gene_spearman_std']:.4f}"],
                ["distances: per-gene P@10, ties counted", f"{d['per_gene_p_at_10_mean']:.3f}"]]
        for n, e in b["embedding"].items():
            rows += [
                [f"gene embedding, first {n} coords: \\|corr\\| per coordinate (target >= 0.95)",
                 ", ".join(f"{v:.3f}" for v in e["per_coordinate_abs_corr"])],
                [f"gene embedding, first {n} coords: Procrustes R^2", f"{e['procrustes_r2']:.4f}"],
                [f"gene embedding, first {n} coords: mean canonical correlation",
                 f"{e['mean_canonical_correlation']:.4f}"],
                [f"gene embedding, first {n} coords: Spearman of pairwise gene distances",
                 f"{e['pairwise_distance_spearman']:.4f}"]]
        tr = b["trajectory"]
        for r in tr["trajectories"]:
            rows.append([f"trajectory {r['trajectory']} (matched to {r['matched']}): genes "
                         f"{r['genes_a']} / {r['genes_b']}, Jaccard; order Spearman, Kendall on "
                         f"the {r['genes_both']} shared genes",
                         f"{r['jaccard']:.3f}; {_f(r['order_spearman'], '.3f')}, "
                         f"{_f(r['order_kendall'], '.3f')}"])
        rows.append(["trajectory labels: adjusted Rand index",
                     f"{tr['adjusted_rand_index_of_labels']:.3f}"])
        md.append(markdown_table(["measure", "value"], rows))
        md += ["", "Eigenvalues of the gene diffusion maps (first 10): GeneTrajectory "
               + ", ".join(f"{v:.3f}" for v in b["eigenvalues"]["gt"]) + "; graphsig "
               + ", ".join(f"{v:.3f}" for v in b["eigenvalues"]["graphsig"]) + "."]
        md += ["", "### Wall time", "", markdown_table(["step", "GeneTrajectory s", "graphsig s"], [
            ["sc.pp.pca + run_dm (shared)", f"{t['pca_s'] + t['run_dm_s']:.2f}",
             f"{t['pca_s'] + t['run_dm_s']:.2f}"],
            ["cell graph (get_graph_distance / the same kNN search)",
             f"{t['gt_graph_distance_s']:.2f}", f"{t['graphsig_adjacency_s']:.3f}"],
            [f"gene-gene distances, steady (graphsig: best of {g['repeats']})",
             f"{t['gt_distances_s']:.1f}", f"{t['graphsig_distances_s']:.2f}"],
            ["gene-gene distances, first call (graphsig: fresh process, empty numba cache)", "",
             f"{t['graphsig_distances_first_call_s']:.2f}"],
            ["get_gene_embedding + extract_gene_trajectory",
             f"{sum(b['downstream_s']['gt'].values()):.2f}",
             f"{sum(b['downstream_s']['graphsig'].values()):.2f}"],
            ["end to end, steady", f"{t['gt_end_to_end_s']:.1f}", f"{t['graphsig_end_to_end_s']:.2f}"],
            ["end to end, with graphsig's first call", f"{t['gt_end_to_end_s']:.1f}",
             f"{t['graphsig_end_to_end_with_first_call_s']:.2f}"],
        ])]
        c = g.get("compile")
        md += ["", f"Ratio GeneTrajectory / graphsig: distances {t['ratio_distances']:.0f}x "
               f"({t['ratio_distances_first_call']:.0f}x with the first call); end to end "
               f"{t['ratio_end_to_end']:.0f}x ({t['ratio_end_to_end_with_first_call']:.0f}x with "
               f"the first call); target >= 100x. GeneTrajectory's `cal_ot_mat` ran with "
               f"{b['gt_cal_ot_mat_processes']} threads (load average "
               f"{b['gt_cal_ot_mat_run']['load_average_start']} at its start, "
               f"{b['gt_cal_ot_mat_run']['load_average_end']} at its end, started "
               f"{b['gt_cal_ot_mat_run']['started']}): {b['gt_per_pair_parallel_ms']:.2f} ms per "
               f"pair, against {b['gt_per_pair_serial_ms']:.2f} ms serially in this run. graphsig: "
               f"plan {g['plan']}, max_scale {g['max_scale']}, {g['n_trees']} trees, tree_weight "
               f"{g['tree_weight']:.3f}; first call in this process {g['first_call_in_process_s']:.2f} s"
               + (f"; fresh process with an empty numba cache {c['cold_cache_first_call_s']:.2f} s, "
                  f"with a warm cache {c['warm_cache_first_call_s']:.2f} s, second call "
                  f"{c['in_process_second_call_s']:.2f} s" if c else "") + "."]
        md += ["", f"GeneTrajectory's distances were also timed on {b['exact_check']['pairs']} "
               f"random pairs, serially, in this run: {b['gt_per_pair_serial_ms']:.2f} ms per pair, "
               f"{b['gt_same_run_serial_s']:.0f} s for all pairs on one thread, "
               f"{t['gt_distances_same_run_ideal_threads_s']:.0f} s with a perfect speed-up on "
               f"{b['gt_cal_ot_mat_processes']} threads. Against that: distances "
               f"{t['ratio_distances_same_run_ideal_threads']:.0f}x, end to end "
               f"{t['ratio_end_to_end_same_run_ideal_threads']:.0f}x "
               f"({t['ratio_end_to_end_same_run_ideal_threads_with_first_call']:.0f}x with the "
               "first call)."]
        v = b.get("variants")
        if v:
            n = v[0]["embedding"]["n_dims"]
            md += ["", "### graphsig's public parameters (same exact distances)", "",
                   markdown_table(
                       ["parameters", "seconds", "columns", "tree_weight", "Spearman",
                        "per-gene P@10", f"\\|corr\\| first {n} coords, mean (min)",
                        "Procrustes R^2", "mean canonical corr"],
                       [[r["variant"], f"{r['seconds']:.2f}", r["width"], f"{r['tree_weight']:.3f}",
                         f"{r['distances']['spearman_upper_triangle']:.4f}",
                         f"{r['distances']['per_gene_p_at_10_mean']:.3f}",
                         f"{r['embedding']['per_coordinate_abs_corr_mean']:.3f} "
                         f"({r['embedding']['per_coordinate_abs_corr_min']:.3f})",
                         f"{r['embedding']['procrustes_r2']:.3f}",
                         f"{r['embedding']['mean_canonical_correlation']:.3f}"] for r in v])]
    s = p.get("scale")
    if s:
        md += ["", "## graphsig at scale: simulated differentiation, gene kNN graph and kernel", "",
               "`graphsig.sc.emd_neighbors(adata)` (defaults: 15 neighbours, the kNN graph of the "
               "genes and its kernel) then `graphsig.sc.gene_diffusion_map(adata, n_components=10)`, "
               "each size in its own process after a warm-up on a small problem (numba cache loading "
               "or compilation, reported apart). Peak RSS: the process's resident set when the "
               "data are loaded (before), and its peak during the two calls (Linux `VmHWM`, reset "
               "after loading; it includes the data). Target: 50,000 cells x 2,000 genes in <= 5 minutes and "
               "<= 8 GB. Spearman: embedding L1 against exact EMD (`graphsig.exact_emd`, hop "
               "ground cost) on random gene pairs.", "",
               markdown_table(
                   ["cells", "genes", "parameters", "plan", "emd_neighbors s",
                    "gene_diffusion_map s", "total s", "peak RSS GB (before)", "warm-up s",
                    "Spearman (pairs)"],
                   [[f"{r['n_cells']:,}", r.get("n_genes", ""), r["variant"],
                     r.get("plan", "") + (f", {r['n_trees']} trees ({r['tree_weight']:.2f})"
                                          if r.get("n_trees") else ""),
                     _f(r.get("emd_neighbors_s"), ".1f"), _f(r.get("gene_diffusion_map_s"), ".1f"),
                     _f(r.get("total_s"), ".1f") if "total_s" in r else
                     f"> {r['timeout_s']} (stopped)",
                     f"{r['peak_rss_gb']:.2f} ({r['rss_before_gb']:.2f})" if "peak_rss_gb" in r
                     else "", _f(r.get("warmup_s"), ".1f"),
                     f"{r['accuracy_spearman']:.3f} ({r['accuracy_pairs']})"
                     if "accuracy_spearman" in r else ""] for r in s])]
    e = p.get("gt_estimate")
    if e:
        co = e.get("coarse")
        md += ["", "## GeneTrajectory at scale: an ESTIMATE (not run)", "",
               "Its solver call (`_cal_ot`) timed serially on "
               f"{e['sample'][0]['pairs']} random gene pairs of the simulated data at "
               + ", ".join(f"{q['n_cells']:,} cells ({1e3 * q['per_pair_s']:.1f} ms per pair)"
                           for q in e["sample"])
               + f", with the hop distances of the same kNN graph as cost; a power law fitted "
               f"to these (exponent {e['exponent']:.2f}) and extended to all cells (no "
               "coarse-graining, as graphsig), times the pairs, divided by the threads (a "
               "perfect speed-up: the best case for GeneTrajectory)."
               + (f" With its coarse-graining to {co['meta_cells']:,} meta-cells (k-means of "
                  f"{co['from_cells']:,} cells, expression summed per cluster, cost the mean hop "
                  f"distance between clusters, as `coarse_grain` computes it): "
                  f"{1e3 * co['per_pair_s']:.0f} ms per pair, whatever the number of cells."
                  if co else "")
               + " Upstream, its `run_dm` (on the cells: `pairwise_distances`, a dense "
               "affinity and `numpy.linalg.eigh`, O(cells^3)), `get_graph_distance` "
               "(`np.array(g.distances())`) and `coarse_grain` hold dense cells x cells "
               "matrices of 8 bytes x cells^2 each.", "",
               markdown_table(["cells", "pairs", "s per pair, all cells (estimate)",
                               "cal_ot_mat h, all cells (estimate)",
                               "cal_ot_mat h, 1,000 meta-cells (estimate)",
                               "one dense cells x cells matrix GB"],
                              [[f"{r['n_cells']:,}", f"{r['n_pairs']:,}", f"{r['per_pair_s']:.2f}",
                                f"{r['cal_ot_mat_s'] / 3600:.0f}",
                                _f(r.get("coarse_cal_ot_mat_s", 0) / 3600 if co else None, ".0f"),
                                f"{r['dense_cells_x_cells_gb']:.1f}"] for r in e["estimates"]])]
    return "\n".join(md) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="best of this many graphsig runs (default 3)")
    parser.add_argument("--skip-pbmc", action="store_true", help="skip the PBMC comparison")
    parser.add_argument("--skip-compile", action="store_true",
                        help="skip the fresh-process compile-time runs")
    parser.add_argument("--no-variants", dest="variants", action="store_false",
                        help="skip the table of graphsig parameters")
    parser.add_argument("--processes", type=int, default=os.cpu_count(),
                        help="threads of GeneTrajectory's cal_ot_mat (default: all CPUs, its "
                             "default)")
    parser.add_argument("--cell-k", type=int, default=10,
                        help="first k tried for GeneTrajectory's cell graph (default 10, its "
                             "default; raised by 5 until the graph is connected)")
    parser.add_argument("--gene-k", type=int, default=5,
                        help="k of get_gene_embedding and extract_gene_trajectory (default 5)")
    parser.add_argument("--t-list", default="4,8,7",
                        help="diffusion times of extract_gene_trajectory (default 4,8,7)")
    parser.add_argument("--n-ev", type=int, default=30,
                        help="gene diffusion coordinates (default 30, its default)")
    parser.add_argument("--emb-dims", default="5,10",
                        help="coordinates compared (default 5,10)")
    parser.add_argument("--check-pairs", type=int, default=200,
                        help="random pairs on which graphsig's exact EMD is checked against "
                             "GeneTrajectory's and its serial time per pair is taken (default 200)")
    parser.add_argument("--sizes", default="10000,50000",
                        help="cells of the scale runs, comma-separated (default 10000,50000; "
                             "empty: none)")
    parser.add_argument("--scale-genes", type=int, default=2000)
    parser.add_argument("--scale-pairs", type=int, default=100,
                        help="random gene pairs for the Spearman check at scale (default 100)")
    parser.add_argument("--scale-pairs-max-cells", type=int, default=10000,
                        help="largest size at which the Spearman check runs (default 10000)")
    parser.add_argument("--scale-variants", default=",".join(str(i) for i in range(len(SCALE_VARIANTS))),
                        help="indices of the graphsig parameters run at scale (default all: "
                             + "; ".join(f"{i} {v[0]}" for i, v in enumerate(SCALE_VARIANTS)) + ")")
    parser.add_argument("--scale-timeout", type=int, default=900,
                        help="seconds after which a scale run is stopped (default 900, three "
                             "times the target)")
    parser.add_argument("--gt-sample-cells", default="1000,2000,4000",
                        help="cells at which GeneTrajectory's per-pair time is sampled for the "
                             "extrapolation (default 1000,2000,4000; empty: no estimate)")
    parser.add_argument("--gt-sample-pairs", type=int, default=40)
    parser.add_argument("--gt-meta-cells", type=int, default=1000,
                        help="meta-cells of the coarse-grained estimate (default 1000, "
                             "coarse_grain's default; 0: skip)")
    parser.add_argument("--one-scale", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--one-params", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--one-pairs", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.emb_dims = [int(s) for s in args.emb_dims.split(",") if s.strip()]
    args.gt_sample_cells = [int(s) for s in args.gt_sample_cells.split(",") if s.strip()]
    args.scale_variants = [SCALE_VARIANTS[int(i)][0] for i in args.scale_variants.split(",")
                           if i.strip()]

    if args.one_scale:
        result = run_scale_one(args.one_scale, args.scale_genes, json.loads(args.one_params),
                               args.one_pairs)
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    payload = {"command": command_line(), "gene_trajectory": _gt_version(),
               "load_average_start": load_average(), "machine": machine_info(),
               "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    log(f"load average at start: {payload['load_average_start']}")
    if not args.skip_pbmc:
        payload["pbmc"] = bench_pbmc(args)
    if args.sizes:
        payload["scale"] = bench_scale(args)
        if args.gt_sample_cells:
            payload["gt_estimate"] = gt_estimate(args)
    payload["load_average_end"] = load_average()
    # sections not run this time are carried over from the last results, with their dates
    previous_path = HERE / "results" / "genetrajectory.json"
    if previous_path.exists():
        previous = json.loads(previous_path.read_text())
        for key in ("pbmc", "scale", "gt_estimate"):
            if key not in payload and key in previous:
                payload[key] = previous[key]
                earlier = previous.get("carried", {}).get(key) or {
                    "started": previous.get("started"), "command": previous.get("command"),
                    "load_average_start": previous.get("load_average_start")}
                payload.setdefault("carried", {})[key] = earlier
    md = render(payload)
    md_path, json_path = write_results("genetrajectory", md, payload)
    print()
    print(md)
    print(f"written: {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
