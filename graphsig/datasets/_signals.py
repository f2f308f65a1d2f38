"""Synthetic sparse clustered signals on a graph."""

import numpy as np
import scipy.sparse as sp

__all__ = ["make_clustered_signals"]


def make_clustered_signals(graph, n_signals=1000, *, n_centers=None, min_nnz=5, max_nnz=30,
                           random_state=0):
    """Sparse nonnegative signals clustered around random nodes of a graph.

    A model of patients on a knowledge graph: each signal picks one of
    ``n_centers`` random centre nodes, then between ``min_nnz`` and
    ``max_nnz`` distinct nodes of the smallest hop ball around its centre
    holding at least ``max_nnz`` nodes, with weights uniform in [0.1, 1.1).
    Signals sharing a centre are near each other in EMD; the ball search
    touches only the balls, so this scales to graphs of millions of nodes.

    Parameters
    ----------
    graph : graph-like
        Anything :func:`graphsig.graphs.as_adjacency` accepts.
    n_signals : int, default=1000
    n_centers : int, optional
        Number of centres (default ``max(1, n_signals // 10)``).
    min_nnz, max_nnz : int, default=5, 30
        Range of the number of nonzeros per signal.
    random_state : int, default=0

    Returns
    -------
    signals : scipy.sparse.csr_matrix of shape (n_signals, n_nodes), float64
    centers : ndarray of int of shape (n_signals,)
        The centre node of each signal.

    Examples
    --------
    >>> from graphsig.datasets import make_clustered_signals
    >>> from graphsig.graphs import grid_graph
    >>> X, centers = make_clustered_signals(grid_graph(20, 20), 50, max_nnz=10)
    >>> X.shape, int(X.getnnz(axis=1).max()) <= 10
    ((50, 400), True)
    """
    from ..diffusion._kernels import ball_nodes
    from ..graphs import as_adjacency

    adjacency = as_adjacency(graph)
    n_nodes = adjacency.shape[0]
    if n_signals < 1:
        raise ValueError(f"n_signals must be at least 1, got {n_signals}")
    if not 1 <= min_nnz <= max_nnz:
        raise ValueError(f"need 1 <= min_nnz <= max_nnz, got {min_nnz} and {max_nnz}")
    n_centers = max(1, n_signals // 10) if n_centers is None else int(n_centers)
    if not 1 <= n_centers <= n_nodes:
        raise ValueError(f"n_centers must be in [1, {n_nodes}], got {n_centers}")
    rng = np.random.default_rng(random_state)
    indptr = adjacency.indptr.astype(np.int64)
    indices = adjacency.indices.astype(np.int64)
    seen = np.zeros(n_nodes, dtype=bool)
    centres = rng.choice(n_nodes, n_centers, replace=False)
    balls = []
    for c in centres:
        radius = 1
        ball = ball_nodes(indptr, indices, np.array([c], dtype=np.int64), radius, seen)
        while ball.size < max_nnz and radius < n_nodes:
            radius += 1
            bigger = ball_nodes(indptr, indices, np.array([c], dtype=np.int64), radius, seen)
            if bigger.size == ball.size:
                break  # the whole component
            ball = bigger
        balls.append(ball)
    owner = rng.integers(0, n_centers, size=n_signals)
    rows, cols, vals = [], [], []
    for i, c in enumerate(owner):
        ball = balls[c]
        nnz = min(int(rng.integers(min_nnz, max_nnz + 1)), ball.size)
        rows.append(np.full(nnz, i))
        cols.append(rng.choice(ball, nnz, replace=False))
        vals.append(rng.uniform(0.1, 1.1, size=nnz))
    signals = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_signals, n_nodes),
    )
    signals.sort_indices()
    return signals, centres[owner]
