"""A simulated differentiation for the GeneTrajectory benchmark: cells x genes, NB counts.

Cells lie on a branching lineage tree of five segments, each one unit of
developmental time long: a trunk (0) that splits into two branches (1, 2),
of which branch 2 splits again (3, 4). Leaves: 1, 3, 4. Each cell has a
segment (drawn in proportion to length, so uniformly over the tree) and a
position in it, uniform in [0, 1).

Genes (2,000 by default):

- 80 % programme genes: each peaks at a point of the tree (a segment and a
  position) with a width in [0.08, 0.3] units; its activity on a cell is
  ``exp(-d^2 / (2 w^2))``, ``d`` the distance along the tree between the
  cell and the gene's peak (through the branch points);
- 10 % housekeeping genes, the same mean on every cell;
- 10 % noise genes, a low mean on every cell.

Counts are negative binomial (gamma-Poisson, dispersion 1/theta with
theta = 2): mean ``size_c * (base_g + amplitude_g * activity_gc)``, with
log-normal size factors (sigma 0.3), base levels and amplitudes. The counts
are then log-normalised (each cell to 10,000 counts, ``log1p``), reduced by
PCA (50 components, sklearn, centred) and joined into a 15-nearest-neighbour
graph (:func:`graphsig.graphs.knn_graph`, adaptive Gaussian weights): the
usual single-cell preprocessing.

Usage::

    from _genetrajectory_data import make_differentiation, preprocess
    data = make_differentiation(10_000, 2_000, random_state=0)
    data.counts        # cells x genes, CSR float32
    prep = preprocess(data.counts)
    prep.lognorm       # cells x genes, CSR float32
    prep.graph         # cells x cells kNN graph (CSR)

Run as a script to print the statistics of one draw::

    python benchmarks/_genetrajectory_data.py [--cells 10000] [--genes 2000]
"""

import argparse
import time
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

__all__ = ["Differentiation", "Preprocessed", "make_differentiation", "preprocess"]

# segment -> parent segment (-1: the root); start time of each segment
PARENT = np.array([-1, 0, 0, 2, 2])
START = np.array([0.0, 1.0, 1.0, 2.0, 2.0])
N_SEGMENTS = len(PARENT)
THETA = 2.0  # negative-binomial shape (dispersion 1 / THETA)
CHUNK = 4096  # cells drawn at a time


class Differentiation(NamedTuple):
    counts: sp.csr_matrix  # cells x genes, float32 counts
    segment: np.ndarray  # segment of each cell
    time: np.ndarray  # developmental time of each cell (START[segment] + position)
    gene_kind: np.ndarray  # "programme", "housekeeping" or "noise"
    gene_segment: np.ndarray  # segment of each programme gene's peak (-1 for the others)
    gene_time: np.ndarray  # developmental time of its peak (nan for the others)


class Preprocessed(NamedTuple):
    lognorm: sp.csr_matrix  # cells x genes, log1p(counts / total * 1e4), float32
    pca: np.ndarray  # cells x 50
    graph: sp.csr_matrix  # cells x cells, symmetric kNN graph
    seconds: dict


def _ancestors():
    """``anc[s, a]``: segment ``a`` is ``s`` or one of its ancestors."""
    anc = np.zeros((N_SEGMENTS, N_SEGMENTS), dtype=bool)
    for s in range(N_SEGMENTS):
        a = s
        while a >= 0:
            anc[s, a] = True
            a = PARENT[a]
    return anc


def _lca_time(seg_a, time_a, seg_b, time_b, anc):
    """Time of the lowest common point of two points of the tree (broadcast).

    On one line of descent it is the earlier point; otherwise the end of the
    deepest segment that both descend from (their branch point).
    """
    same_line = anc[seg_a, seg_b] | anc[seg_b, seg_a]
    end = START + 1.0
    branch = np.zeros(np.broadcast(seg_a, seg_b).shape)
    for s in range(N_SEGMENTS):
        branch = np.where(anc[seg_a, s] & anc[seg_b, s], np.maximum(branch, end[s]), branch)
    earlier = np.minimum(time_a, time_b)
    return np.where(same_line, earlier, np.minimum(branch, earlier))


def make_differentiation(n_cells=10_000, n_genes=2_000, *, random_state=0):
    """Draw ``n_cells`` cells x ``n_genes`` genes of negative-binomial counts."""
    rng = np.random.default_rng(random_state)
    anc = _ancestors()
    segment = rng.integers(0, N_SEGMENTS, n_cells)
    time = START[segment] + rng.uniform(0.0, 1.0, n_cells)
    order = np.lexsort((time, segment))  # cells sorted along the tree
    segment, time = segment[order], time[order]

    n_prog = int(round(0.8 * n_genes))
    n_house = int(round(0.1 * n_genes))
    n_noise = n_genes - n_prog - n_house
    kind = np.array(["programme"] * n_prog + ["housekeeping"] * n_house + ["noise"] * n_noise)
    gene_segment = np.full(n_genes, -1)
    gene_time = np.full(n_genes, np.nan)
    gene_segment[:n_prog] = rng.integers(0, N_SEGMENTS, n_prog)
    gene_time[:n_prog] = START[gene_segment[:n_prog]] + rng.uniform(0.0, 1.0, n_prog)
    width = rng.uniform(0.08, 0.3, n_genes)
    base = np.empty(n_genes)
    amplitude = np.zeros(n_genes)
    base[:n_prog] = np.exp(rng.normal(np.log(0.01), 0.8, n_prog))
    amplitude[:n_prog] = np.exp(rng.normal(np.log(1.5), 0.8, n_prog))
    base[n_prog:n_prog + n_house] = np.exp(rng.normal(np.log(1.0), 0.7, n_house))
    base[n_prog + n_house:] = np.exp(rng.normal(np.log(0.03), 0.7, n_noise))
    size = np.exp(rng.normal(0.0, 0.3, n_cells))

    prog = np.arange(n_prog)
    blocks = []
    for lo in range(0, n_cells, CHUNK):
        hi = min(n_cells, lo + CHUNK)
        seg_c = segment[lo:hi, None]
        t_c = time[lo:hi, None]
        lca = _lca_time(seg_c, t_c, gene_segment[None, prog], gene_time[None, prog], anc)
        dist = t_c + gene_time[None, prog] - 2.0 * lca
        activity = np.zeros((hi - lo, n_genes))
        activity[:, prog] = np.exp(-0.5 * (dist / width[None, prog]) ** 2)
        mean = size[lo:hi, None] * (base[None, :] + amplitude[None, :] * activity)
        lam = rng.gamma(THETA, mean / THETA)
        counts = rng.poisson(lam).astype(np.float32)
        blocks.append(sp.csr_matrix(counts))
    counts = sp.vstack(blocks, format="csr")
    return Differentiation(counts, segment, time, kind, gene_segment, gene_time)


def preprocess(counts, *, n_components=50, n_neighbors=15, random_state=0):
    """Log-normalise, PCA and the kNN cell graph (graphsig.graphs.knn_graph)."""
    from sklearn.decomposition import PCA

    from graphsig.graphs import knn_graph

    seconds = {}
    start = time.perf_counter()
    counts = sp.csr_matrix(counts, dtype=np.float32)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    lognorm = sp.csr_matrix(sp.diags(1e4 / np.maximum(totals, 1.0)) @ counts, dtype=np.float32)
    np.log1p(lognorm.data, out=lognorm.data)
    seconds["lognorm_s"] = time.perf_counter() - start
    start = time.perf_counter()
    pca = PCA(n_components=n_components, svd_solver="covariance_eigh",
              random_state=random_state).fit_transform(lognorm)
    seconds["pca_s"] = time.perf_counter() - start
    start = time.perf_counter()
    graph = knn_graph(pca.astype(np.float32), n_neighbors=n_neighbors)
    seconds["knn_graph_s"] = time.perf_counter() - start
    return Preprocessed(lognorm, pca, graph, seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--genes", type=int, default=2_000)
    args = parser.parse_args()
    from scipy.sparse.csgraph import connected_components

    start = time.perf_counter()
    data = make_differentiation(args.cells, args.genes)
    print(f"drawn in {time.perf_counter() - start:.1f} s: {data.counts.shape}, "
          f"{data.counts.nnz / np.prod(data.counts.shape):.1%} nonzero")
    detected = np.asarray((data.counts > 0).mean(axis=0)).ravel()
    for k in ("programme", "housekeeping", "noise"):
        d = detected[data.gene_kind == k]
        print(f"  {k}: {d.size} genes, cells detected: median {np.median(d):.1%}, "
              f"range {d.min():.1%} to {d.max():.1%}")
    print(f"  genes detected in 1 % to 50 % of cells: {int(((detected > 0.01) & (detected < 0.5)).sum())}")
    prep = preprocess(data.counts)
    n_comp = connected_components(prep.graph)[0]
    print(f"preprocessed: {prep.seconds}; graph {prep.graph.nnz / args.cells:.1f} entries per "
          f"cell, {n_comp} component(s)")


if __name__ == "__main__":
    main()
