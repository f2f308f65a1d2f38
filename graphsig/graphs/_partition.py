"""A multiscale partition of a graph: nested cells of growing radius."""

import numpy as np
import scipy.sparse as sp

from ._adjacency import as_adjacency

__all__ = ["PartitionPyramid", "partition_pyramid"]


class PartitionPyramid:
    """Nested partitions of a graph's nodes, from single nodes to a few cells.

    Level 0 has one cell per node. Level ``l + 1`` partitions the cells of
    level ``l`` into balls of radius one in their adjacency graph (two cells
    are adjacent when an edge joins them), so cells grow by about one hop of
    the previous level per level.

    Attributes
    ----------
    labels : list of ndarray of int
        ``labels[l][v]`` is the level-``l`` cell of node ``v``.
    n_cells : ndarray of int
        Number of cells at each level.
    radii : ndarray of float
        Mean hop distance of a node to its cell's centre node, per level
        (distances measured inside the cell).
    """

    def __init__(self, labels, n_cells, radii):
        self.labels = labels
        self.n_cells = np.asarray(n_cells, dtype=np.int64)
        self.radii = np.asarray(radii, dtype=np.float64)

    @property
    def n_levels(self):
        return len(self.labels)

    def aggregation(self, level, dtype=np.float64):
        """Sparse ``(n_cells[level], n_nodes)`` matrix summing nodes into cells."""
        labels = self.labels[level]
        n = labels.size
        return sp.csr_matrix(
            (np.ones(n, dtype=dtype), (labels, np.arange(n))),
            shape=(int(self.n_cells[level]), n),
        )


# a level keeping more than this share of the previous level's cells ends the pyramid
_MAX_KEPT = 0.9


def partition_pyramid(graph, *, min_cells=1, random_state=0):
    """Build nested partitions of a graph by repeated radius-one ball carving.

    Parameters
    ----------
    graph : graph-like
        Anything :func:`graphsig.graphs.as_adjacency` accepts.
    min_cells : int, default=1
        Stop once a level has at most this many cells, or keeps more than
        90 % of the cells of the level below (each component has become one
        cell, or hubs keep the carving from shrinking the graph).
    random_state : int, default=0
        Seed of the order in which cell centres are chosen.

    Returns
    -------
    PartitionPyramid

    Examples
    --------
    >>> from graphsig.graphs import grid_graph, partition_pyramid
    >>> pyramid = partition_pyramid(grid_graph(16, 16))
    >>> int(pyramid.n_cells[0]), bool(pyramid.n_cells[1] < 256)
    (256, True)
    >>> bool(pyramid.radii[0] == 0.0 and pyramid.radii[1] > 0.5)
    True
    """
    from ._partition_kernels import carve_balls, hops_to_centres

    adjacency = as_adjacency(graph)
    n = adjacency.shape[0]
    if n == 0:
        raise ValueError("the graph has no nodes")
    rng = np.random.default_rng(random_state)
    fine = sp.csr_matrix(
        (np.ones(adjacency.nnz), adjacency.indices, adjacency.indptr), shape=adjacency.shape
    )
    fine_indptr = fine.indptr.astype(np.int64)
    fine_indices = fine.indices.astype(np.int64)
    labels = [np.arange(n, dtype=np.int64)]
    n_cells = [n]
    radii = [0.0]
    centres_fine = np.arange(n, dtype=np.int64)  # fine centre node of each cell
    current = fine
    while n_cells[-1] > min_cells:
        order = rng.permutation(current.shape[0]).astype(np.int64)
        cell_of, centre_cells = carve_balls(
            current.indptr.astype(np.int64), current.indices.astype(np.int64), order
        )
        if centre_cells.size > _MAX_KEPT * current.shape[0]:
            # no edges left between cells (every component is one cell), or
            # a level that barely shrinks: around a hub, the first leaf cell
            # carved takes the hub and every other leaf stays alone, so
            # without this stop a star of k leaves would take k levels
            break
        node_labels = cell_of[labels[-1]]
        centres_fine = centres_fine[centre_cells]
        hops = hops_to_centres(fine_indptr, fine_indices, node_labels, centres_fine)
        reached = hops >= 0
        labels.append(node_labels)
        n_cells.append(int(centre_cells.size))
        radii.append(float(hops[reached].mean()) if reached.any() else 0.0)
        agg = sp.csr_matrix(
            (np.ones(cell_of.size), (cell_of, np.arange(cell_of.size))),
            shape=(centre_cells.size, cell_of.size),
        )
        coarse = sp.csr_matrix(agg @ current @ agg.T)
        coarse.setdiag(0)
        coarse.eliminate_zeros()
        coarse.sort_indices()
        current = coarse
    return PartitionPyramid(labels, n_cells, radii)
