"""Exact k nearest neighbours under graph EMD, certified by Kantorovich lower bounds."""

import numbers

import numpy as np
import scipy.sparse as sp

from .._validation import check_integer
from ..graphs import as_adjacency, check_connected
from ._exact import (
    _DISTANCE_BUDGET_BYTES,
    _check_mass_penalty,
    _check_n_jobs,
    _check_penalty_range,
    _check_signals,
    _normalised,
    _PairSolver,
)

__all__ = ["exact_kneighbors", "CertifiedIndex", "validated_signals"]

# Lower bounds within this relative margin of the current k-th distance are
# solved rather than pruned, so that rounding in the bounds never drops a
# true neighbour (exact EMD values are sums of masses times integer hops).
_PRUNE_RTOL = 1e-9
_PRUNE_ATOL = 1e-12


class CertifiedIndex:
    """Signals on a graph, searched for their exact EMD nearest neighbours.

    Every function ``f`` on the nodes that is 1-Lipschitz in the hop
    distance (and bounded by ``c`` in absolute value, for the unbalanced
    form) bounds the EMD from below: :math:`W_1(\\mu, \\nu) \\geq |\\langle f,
    \\mu - \\nu \\rangle|` by Kantorovich-Rubinstein duality. A query's
    candidates are solved exactly in a given order (the embedding's), and
    every solve yields a Kantorovich potential, a 1-Lipschitz ``f`` attaining
    the distance of its pair. Its inner products with all the signals
    (one sparse product) raise every candidate's lower bound. A candidate
    whose bound exceeds the k-th smallest exact distance found so far cannot
    be among the k nearest, and is never solved. Hop distances to a few
    far-apart landmark nodes are the bounds before any solve.

    The result equals the brute-force exact k nearest neighbours, ties
    ordered by index. Only the number of solves depends on the order.

    Parameters
    ----------
    adjacency : scipy.sparse.csr_matrix
        Validated adjacency (:func:`graphsig.graphs.as_adjacency`).
    signals : scipy.sparse.csr_matrix of shape (n_samples, n_nodes)
        Validated float64 signals (:func:`graphsig.emd._exact._check_signals`),
        normalised to unit mass in the balanced form.
    mass_penalty : float or None
        None for the balanced EMD, else the unbalanced form's ``c``.
    n_landmarks : int
        Landmark nodes, chosen by farthest-point sampling from a random start.
    random_state : int or None
    """

    def __init__(self, adjacency, signals, mass_penalty, n_landmarks, random_state):
        import ot

        from ._hops_kernels import hop_distances, offset_geodesic

        self._hop_distances = hop_distances
        self._offset_geodesic = offset_geodesic
        self.adjacency = adjacency
        self.indptr = adjacency.indptr.astype(np.int64)
        self.indices = adjacency.indices.astype(np.int64)
        self.n_nodes = adjacency.shape[0]
        self.signals = signals
        self.penalty = mass_penalty
        self.solver = _PairSolver(ot, mass_penalty, ("query", "sample"))
        self.landmarks = _farthest_points(adjacency, n_landmarks, random_state)
        basis = self._landmark_potentials()
        self.projections = np.asarray(signals @ basis)  # (n_samples, n_potentials)
        self.basis = basis
        # potentials are needed only on the nodes the samples touch
        self.support = np.unique(signals.indices).astype(np.int64)
        position = np.full(self.n_nodes, -1, dtype=np.int64)
        position[self.support] = np.arange(self.support.size)
        self.signals_on_support = sp.csr_matrix(
            (signals.data, position[signals.indices], signals.indptr),
            shape=(signals.shape[0], self.support.size),
        )

    def _landmark_potentials(self):
        """Hop distances to the landmarks (capped and centred in the unbalanced form)."""
        from scipy.sparse.csgraph import shortest_path

        hops = shortest_path(
            self.adjacency, directed=False, unweighted=True, indices=self.landmarks
        ).T
        if self.penalty is None:
            return np.where(np.isfinite(hops), hops, 0.0)  # one component: all finite
        c = self.penalty
        capped = np.minimum(hops, 2.0 * c) - c  # 1-Lipschitz, within [-c, c]
        # the constant c: its bound is the cost of the mass difference
        return np.column_stack([np.full(self.n_nodes, c), capped])

    def _potential_from_table(self, spec, table, q_nodes, columns):
        """The potential on ``columns``, from the hop table of the query's support.

        The potential's nodes are part of the query's support, whose hop
        distances to every node ``table`` already holds.
        """
        nodes, offsets, floor = spec
        values = np.full(columns.size, floor, dtype=np.float64)
        if nodes.size:
            rows = np.searchsorted(q_nodes, nodes)
            hops = table[rows][:, columns].astype(np.float64)
            np.maximum(values, (offsets[:, None] - hops).max(axis=0), out=values)
        if self.penalty is not None:
            np.clip(values, -self.penalty, self.penalty, out=values)
        return values

    def _potential(self, spec):
        """The potential ``(nodes, offsets, floor)`` on every node."""
        nodes, offsets, floor = spec
        values = np.empty(self.n_nodes, dtype=np.float64)
        if nodes.size:
            limit = -floor if np.isfinite(floor) else np.inf
            self._offset_geodesic(
                self.indptr, self.indices, nodes.astype(np.int64), -offsets, limit, values
            )
            np.negative(values, out=values)
            np.maximum(values, floor, out=values)
        else:
            values.fill(floor)
        if self.penalty is not None:
            np.clip(values, -self.penalty, self.penalty, out=values)
        return values

    def query(self, q_nodes, q_values, n_neighbors, order=None, exclude=-1):
        """Exact ``n_neighbors`` nearest signals of one query signal.

        Parameters
        ----------
        q_nodes, q_values : ndarray
            The query's support (sorted node indices) and values (normalised
            to unit mass in the balanced form).
        n_neighbors : int
        order : ndarray of int, optional
            Candidates to solve first, best first (the embedding's nearest);
            the others follow in increasing order of their lower bound.
        exclude : int
            A sample never returned (the query itself), or -1.

        Returns
        -------
        distances, indices : ndarray of shape (n_neighbors,)
        n_solves : int
            Exact EMD problems solved.
        """
        data = self.signals
        n = data.shape[0]
        max_depth = self.n_nodes if self.penalty is None else int(
            min(np.floor(2.0 * self.penalty), self.n_nodes)
        )
        q_basis = q_values @ self.basis[q_nodes]
        lower = np.abs(self.projections - q_basis[None, :]).max(axis=1, initial=0.0) if n else np.zeros(0)
        done = np.zeros(n, dtype=bool)
        if exclude >= 0:
            done[exclude] = True
        sources = q_nodes.astype(np.int64)
        # hop table from the query's support: to every node if it fits, else
        # per candidate
        n_sources = q_nodes.size
        whole = n_sources * self.n_nodes * 4 <= _DISTANCE_BUDGET_BYTES
        target_pos = np.full(self.n_nodes, -1, dtype=np.int64)
        if whole:
            target_pos[:] = np.arange(self.n_nodes)
            table = np.full((n_sources, self.n_nodes), np.inf, dtype=np.float32)
            self._hop_distances(
                self.indptr, self.indices, sources, target_pos,
                self.n_nodes, max_depth, table,
            )
        rows = np.arange(n_sources, dtype=np.int64)
        best_d = np.full(n_neighbors, np.inf)
        best_i = np.full(n_neighbors, n, dtype=np.int64)
        n_solves = 0
        prefix = np.zeros(0, dtype=np.int64) if order is None else np.asarray(order, np.int64)
        cursor = 0
        while True:
            bound = best_d[-1] * (1.0 + _PRUNE_RTOL) + _PRUNE_ATOL
            j = -1
            while cursor < prefix.size:
                candidate = prefix[cursor]
                cursor += 1
                if not done[candidate] and lower[candidate] <= bound:
                    j = candidate
                    break
            if j < 0:
                open_ = np.flatnonzero(~done & (lower <= bound))
                if open_.size == 0:
                    break
                j = open_[np.argmin(lower[open_])]
            done[j] = True
            start, stop = data.indptr[j], data.indptr[j + 1]
            y_nodes = data.indices[start:stop]
            if whole:
                y_columns = y_nodes.astype(np.int64)
                pair_table = table
            else:
                y_columns = np.arange(y_nodes.size, dtype=np.int64)
                target_pos[y_nodes] = y_columns
                pair_table = np.full((n_sources, y_nodes.size), np.inf, dtype=np.float32)
                self._hop_distances(
                    self.indptr, self.indices, sources, target_pos,
                    y_nodes.size, max_depth, pair_table,
                )
                target_pos[y_nodes] = -1
            value, spec = self.solver.solve_dual(
                q_nodes, q_values, rows, y_nodes, data.data[start:stop], y_columns,
                pair_table, 0, j,
            )
            n_solves += 1
            _insert(best_d, best_i, value, j)
            if spec is not None and n_solves < n:
                if whole:
                    on_support = self._potential_from_table(spec, table, q_nodes, self.support)
                    on_query = self._potential_from_table(spec, table, q_nodes, q_nodes)
                else:
                    f = self._potential(spec)
                    on_support, on_query = f[self.support], f[q_nodes]
                projected = self.signals_on_support @ on_support
                np.maximum(lower, np.abs(projected - q_values @ on_query), out=lower)
        return best_d, best_i, n_solves


def _insert(best_d, best_i, value, index):
    """Insert into the sorted (distance, index) lists, keeping their length."""
    k = best_d.size
    if (value, index) >= (best_d[-1], best_i[-1]):
        return
    pos = k - 1
    while pos > 0 and (value, index) < (best_d[pos - 1], best_i[pos - 1]):
        best_d[pos] = best_d[pos - 1]
        best_i[pos] = best_i[pos - 1]
        pos -= 1
    best_d[pos] = value
    best_i[pos] = index


def _farthest_points(adjacency, n_points, random_state):
    """Nodes spread over the graph: each next one farthest (in hops) from those before."""
    from scipy.sparse.csgraph import shortest_path

    n_nodes = adjacency.shape[0]
    n_points = min(int(n_points), n_nodes)
    if n_points == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(random_state)
    chosen = [int(rng.integers(n_nodes))]
    nearest = shortest_path(adjacency, directed=False, unweighted=True, indices=chosen[0])
    nearest[~np.isfinite(nearest)] = -1.0  # other components: never chosen
    for _ in range(n_points - 1):
        nxt = int(np.argmax(nearest))
        if nearest[nxt] <= 0:
            break
        chosen.append(nxt)
        hops = shortest_path(adjacency, directed=False, unweighted=True, indices=nxt)
        np.minimum(nearest, np.where(np.isfinite(hops), hops, np.inf), out=nearest)
    return np.asarray(chosen, dtype=np.int64)


def validated_signals(X, name, mass_penalty):
    """Signals as the exact search reads them: validated float64 CSR,
    normalised to unit mass in the balanced form (``mass_penalty`` None)."""
    signals = _check_signals(X, name)
    if mass_penalty is None:
        return _normalised(signals, name)
    _check_penalty_range(mass_penalty, signals)
    return signals


def exact_kneighbors(graph, queries, data=None, n_neighbors=5, *, mass_penalty=None,
                     order=None, exclude_self=False, n_landmarks=16, n_jobs=None,
                     random_state=0):
    r"""Exact k nearest neighbours under the graph EMD, certified by lower bounds.

    For each query signal, the ``n_neighbors`` signals of ``data`` with the
    smallest exact (unbalanced) EMD, as :func:`graphsig.exact_emd` defines
    it, without solving every pair. Each exact solve gives a Kantorovich
    potential :math:`f`, a function on the nodes that is 1-Lipschitz in hops
    (and bounded by :math:`c` in the unbalanced form), so that

    .. math::

        W_1(\mu, \nu) \geq |\langle f, \mu - \nu \rangle|

    for every pair. One sparse product turns a potential into lower bounds
    for all candidates; a candidate whose bound exceeds the k-th smallest
    exact distance found so far is never solved. Hop distances to
    ``n_landmarks`` far-apart nodes give the bounds before the first solve.
    Candidates are solved in ``order`` (typically the nearest by an
    embedding), then in increasing order of their bounds. The answer equals
    the brute-force one; the order only changes how many problems are
    solved.

    Parameters
    ----------
    graph : graph-like
        Anything :func:`graphsig.graphs.as_adjacency` accepts.
    queries : {array-like, sparse matrix} of shape (n_queries, n_nodes)
        Nonnegative signals.
    data : {array-like, sparse matrix} of shape (n_samples, n_nodes), optional
        Signals to search; defaults to ``queries``.
    n_neighbors : int, default=5
    mass_penalty : float, optional
        None for the balanced EMD (signals normalised to unit mass), else the
        cost :math:`c` of creating or destroying a unit of mass.
    order : array-like of int, shape (n_queries, n_candidates), optional
        Per query, samples to solve first, best first.
    exclude_self : bool, default=False
        Never return sample ``i`` for query ``i`` (``data=None``).
    n_landmarks : int, default=16
    n_jobs : int, optional
        Threads over the queries (None: 1, -1: all processors).
    random_state : int, default=0
        Seed of the first landmark.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        Exact distances, increasing along each row.
    indices : ndarray of int64, shape (n_queries, n_neighbors)
        Equal distances are ordered by index.
    n_solves : ndarray of int64, shape (n_queries,)
        Exact problems solved per query (brute force solves every sample).

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.emd import exact_kneighbors
    >>> from graphsig.graphs import path_graph
    >>> X = np.eye(10)[[0, 2, 3, 7, 9]]
    >>> d, i, n_solves = exact_kneighbors(path_graph(10), X, n_neighbors=2, exclude_self=True)
    >>> i.tolist()
    [[1, 2], [2, 0], [1, 0], [4, 2], [3, 2]]
    >>> d[0].tolist()
    [2.0, 3.0]
    """
    adjacency = as_adjacency(graph)
    penalty = _check_mass_penalty(mass_penalty)
    if penalty is None:
        check_connected(adjacency, what="the balanced EMD")
    queries = validated_signals(queries, "queries", penalty)
    symmetric = data is None
    data = queries if symmetric else validated_signals(data, "data", penalty)
    n_nodes = adjacency.shape[0]
    for name, signals in (("queries", queries), ("data", data)):
        if signals.shape[1] != n_nodes:
            raise ValueError(
                f"{name} has {signals.shape[1]} columns but the graph has {n_nodes} nodes"
            )
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral):
        raise TypeError(f"n_neighbors must be an int, got {type(n_neighbors).__name__}")
    available = data.shape[0] - (1 if exclude_self else 0)
    if not 1 <= n_neighbors <= available:
        raise ValueError(
            f"n_neighbors must be in [1, {available}] (the samples"
            f"{' other than the query' if exclude_self else ''}), got {n_neighbors}"
        )
    if exclude_self and queries.shape[0] != data.shape[0]:
        raise ValueError("exclude_self needs as many queries as samples (data=None)")
    n_jobs = _check_n_jobs(n_jobs)
    if order is not None:
        order = np.asarray(order)
        if order.dtype.kind not in "iu":
            raise TypeError(
                f"order must hold integer sample indices, got dtype {order.dtype}"
            )
        if order.ndim != 2 or order.shape[0] != queries.shape[0]:
            raise ValueError(
                f"order must have shape (n_queries, n_candidates) = ({queries.shape[0]}, ...), "
                f"got {order.shape}"
            )
        if order.size and (order.min() < 0 or order.max() >= data.shape[0]):
            raise ValueError(f"order holds sample indices outside [0, {data.shape[0]})")
    n_landmarks = check_integer(n_landmarks, "n_landmarks", minimum=0)
    index = CertifiedIndex(adjacency, data, penalty, n_landmarks, random_state)
    return search(index, queries, n_neighbors, order, exclude_self, n_jobs)


def search(index, queries, n_neighbors, order, exclude_self, n_jobs):
    """Run :meth:`CertifiedIndex.query` for every row of CSR ``queries``."""
    n_queries = queries.shape[0]
    distances = np.empty((n_queries, n_neighbors))
    indices = np.empty((n_queries, n_neighbors), dtype=np.int64)
    n_solves = np.zeros(n_queries, dtype=np.int64)

    def one(i):
        start, stop = queries.indptr[i], queries.indptr[i + 1]
        return i, index.query(
            queries.indices[start:stop], queries.data[start:stop], n_neighbors,
            None if order is None else order[i], i if exclude_self else -1,
        )

    if n_jobs > 1 and n_queries > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, backend="threading")(
            delayed(one)(i) for i in range(n_queries)
        )
    else:
        results = (one(i) for i in range(n_queries))
    for i, (d, idx, count) in results:
        distances[i], indices[i], n_solves[i] = d, idx, count
    return distances, indices, n_solves
