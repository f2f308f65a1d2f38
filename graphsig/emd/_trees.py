"""Shortest-path trees of a graph, whose subtree masses embed tree Wasserstein distances."""

import numpy as np

__all__ = ["shortest_path_trees", "merged_subtrees"]


def shortest_path_trees(adjacency, n_trees, rng):
    """Breadth-first trees from random roots.

    Returns ``roots`` (n_trees,), ``orders`` and ``parents`` (n_trees,
    n_nodes; the parent of a root, or of a node outside its component, is -1).
    """
    n = adjacency.shape[0]
    orders = np.zeros((n_trees, n), dtype=np.int64)
    parents = np.zeros((n_trees, n), dtype=np.int64)
    if n_trees == 0:
        return np.zeros(0, dtype=np.int64), orders, parents
    from scipy.sparse.csgraph import breadth_first_order

    roots = rng.choice(n, size=n_trees, replace=n_trees > n).astype(np.int64)
    for t, root in enumerate(roots):
        order, parent = breadth_first_order(adjacency, int(root), directed=False)
        parent = parent.astype(np.int64)
        parent[parent < 0] = -1
        orders[t] = order
        parents[t] = parent
    return roots, orders, parents


def merged_subtrees(orders, parents):
    """Columns of the trees' subtrees, identical subtrees sharing one column.

    A subtree is identified by the sum of random 64-bit keys of its nodes
    (wrapping), which tells distinct node sets apart except with negligible
    probability. Returns ``column_of`` (n_trees, n_nodes; -1 at the roots)
    and how many trees hold each column's subtree.
    """
    from ..diffusion._kernels import subtree_key_sums

    n_trees, n = orders.shape
    keys = np.random.default_rng(0x5EED).integers(
        np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=n, dtype=np.int64, endpoint=True
    ).view(np.uint64)
    sums = np.empty((n_trees, n), dtype=np.uint64)
    for t in range(n_trees):
        sums[t] = subtree_key_sums(orders[t], parents[t], keys)
    valid = parents >= 0  # every node but the root has a coordinate
    distinct, inverse, counts = np.unique(sums[valid], return_inverse=True, return_counts=True)
    column_of = np.full((n_trees, n), -1, dtype=np.int64)
    column_of[valid] = inverse
    return column_of, counts.astype(np.float64)
