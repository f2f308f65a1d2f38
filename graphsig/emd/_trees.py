"""Shortest-path trees of a graph, whose subtree masses embed tree Wasserstein distances."""

import numpy as np

__all__ = ["shortest_path_trees", "merged_subtrees", "cluster_forests"]


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
    import scipy.sparse as sp
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    roots = rng.choice(n, size=n_trees, replace=n_trees > n).astype(np.int64)
    n_components, labels = connected_components(adjacency, directed=False)
    if n_components > 1:
        # a forest: one breadth-first search from a virtual node n joined to
        # the root and to one node of every other component
        firsts = np.unique(labels, return_index=True)[1]
    for t, root in enumerate(roots):
        if n_components == 1:
            order, parent = breadth_first_order(adjacency, int(root), directed=False)
        else:
            starts = firsts.copy()
            starts[labels[root]] = root
            joined = sp.bmat([
                [adjacency, sp.csr_matrix((np.ones(starts.size), (starts, np.zeros_like(starts))),
                                          shape=(n, 1))],
                [None, sp.csr_matrix((1, 1))],
            ], format="csr")
            order, parent = breadth_first_order(joined, n, directed=False)
            order, parent = order[1:], parent[:n]
            parent[parent == n] = -1
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


def cluster_forests(orders, parents, span, rng):
    """Trees cut into clusters of ``span`` levels, for the unbalanced form.

    In each tree, the nodes whose depth is ``offset`` modulo ``span`` (a
    random offset per tree) lose the link to their parent and become the
    roots of clusters: a cluster holds a root and its descendants down to
    the next cluster roots, so any two of its nodes are at most
    ``2 (span - 1)`` hops apart in the tree. With coordinates the mass of
    every cluster subtree (the roots' weighted by the mass penalty ``c``),
    the L1 distance is the cost of one feasible unbalanced plan: in each
    cluster, the surplus or deficit is destroyed or created at the root at
    ``c`` per unit, and the rest moves along the tree's edges. It bounds the
    unbalanced W1 on the graph from above.

    Returns the forests' parent arrays (-1 at every cluster root).
    """
    from ..diffusion._kernels import tree_depths

    forests = parents.copy()
    for t in range(parents.shape[0]):
        depth = tree_depths(orders[t], parents[t])
        offset = int(rng.integers(span))
        forests[t, (depth >= 0) & ((depth - offset) % span == 0)] = -1
    return forests
