"""Small standard graphs as canonical sparse adjacencies.

Every generator returns a symmetric ``scipy.sparse.csr_matrix`` with float64
unit weights, sorted indices and no self-loops, in the canonical form of
:func:`graphsig.graphs.as_adjacency`.
"""

import numbers

import numpy as np
import scipy.sparse as sp

__all__ = ["grid_graph", "path_graph", "cycle_graph", "random_tree"]


def _check_count(value, name, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _from_edges(n_nodes, sources, targets):
    """Symmetric unit-weight CSR adjacency from an undirected edge list."""
    rows = np.concatenate([sources, targets])
    cols = np.concatenate([targets, sources])
    data = np.ones(rows.size, dtype=np.float64)
    adjacency = sp.coo_matrix((data, (rows, cols)), shape=(n_nodes, n_nodes)).tocsr()
    adjacency.sum_duplicates()
    return adjacency


def grid_graph(n_rows, n_cols):
    """Four-neighbour grid graph.

    Node ``r * n_cols + c`` sits at row ``r`` and column ``c`` (row-major
    order, as in ``image.ravel()``) and is joined with unit weight to the
    nodes above, below, left and right of it.

    Parameters
    ----------
    n_rows, n_cols : int
        Grid size, each at least 1, with at least two nodes in all.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_rows * n_cols, n_rows * n_cols)
        It has ``n_rows * (n_cols - 1) + (n_rows - 1) * n_cols`` edges.

    Examples
    --------
    >>> from graphsig.graphs import grid_graph
    >>> A = grid_graph(2, 3)
    >>> A.shape, A.nnz // 2
    ((6, 6), 7)
    >>> A[0].indices.tolist()  # node (0, 0): right (0, 1) and below (1, 0)
    [1, 3]
    """
    n_rows = _check_count(n_rows, "n_rows", 1)
    n_cols = _check_count(n_cols, "n_cols", 1)
    if n_rows * n_cols < 2:
        raise ValueError(f"a grid needs at least 2 nodes, got {n_rows} x {n_cols}")
    index = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    sources = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    targets = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    return _from_edges(n_rows * n_cols, sources, targets)


def path_graph(n_nodes):
    """Path graph on ``n_nodes`` nodes, each joined to the next, with unit weights.

    Parameters
    ----------
    n_nodes : int
        Number of nodes, at least 2.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_nodes, n_nodes)

    Examples
    --------
    >>> from graphsig.graphs import path_graph
    >>> path_graph(3).toarray()
    array([[0., 1., 0.],
           [1., 0., 1.],
           [0., 1., 0.]])
    """
    n_nodes = _check_count(n_nodes, "n_nodes", 2)
    nodes = np.arange(n_nodes - 1)
    return _from_edges(n_nodes, nodes, nodes + 1)


def cycle_graph(n_nodes):
    """Cycle graph on ``n_nodes`` nodes, the last joined back to the first, with unit weights.

    Parameters
    ----------
    n_nodes : int
        Number of nodes, at least 3.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_nodes, n_nodes)

    Examples
    --------
    >>> from graphsig.graphs import cycle_graph
    >>> A = cycle_graph(5)
    >>> A.nnz // 2, A[0].indices.tolist()
    (5, [1, 4])
    """
    n_nodes = _check_count(n_nodes, "n_nodes", 3)
    nodes = np.arange(n_nodes)
    return _from_edges(n_nodes, nodes, (nodes + 1) % n_nodes)


def random_tree(n_nodes, random_state=None):
    """Uniform random recursive tree with unit weights.

    Node ``i >= 1`` is joined to a parent drawn uniformly from
    ``0, ..., i - 1``, so node 0 is the root and every parent has a smaller
    index than its children.

    Parameters
    ----------
    n_nodes : int
        Number of nodes, at least 2.
    random_state : int, numpy.random.RandomState, numpy.random.Generator or None, default=None
        Seed or generator for the draw.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_nodes, n_nodes)
        A tree: connected, with ``n_nodes - 1`` edges.

    Examples
    --------
    >>> from graphsig.graphs import random_tree
    >>> A = random_tree(6, random_state=0)
    >>> A.shape, A.nnz // 2
    ((6, 6), 5)
    """
    n_nodes = _check_count(n_nodes, "n_nodes", 2)
    children = np.arange(1, n_nodes)
    if isinstance(random_state, np.random.Generator):
        uniform = random_state.random(n_nodes - 1)
    else:
        from sklearn.utils import check_random_state

        uniform = check_random_state(random_state).random_sample(n_nodes - 1)
    parents = np.minimum((uniform * children).astype(np.int64), children - 1)
    return _from_edges(n_nodes, parents, children)
