"""Exact earth mover's distance between signals on a graph (the ground truth)."""

import numbers

import numpy as np
import scipy.sparse as sp

from .._signals import check_raw_signals, row_masses
from .._validation import check_finite_output

from graphsig.graphs import as_adjacency, check_connected

__all__ = ["exact_emd"]

# Hop distances are held as float32 (exact for integers below 2**24) in tables
# of (sources of a block of X rows) x (nodes of the Y supports), each at most
# this large; on graphs up to about 8000 nodes the whole hop matrix fits.
_DISTANCE_BUDGET_BYTES = 256 * 2**20

# Graphs with at least this many nodes are relabelled by reverse Cuthill-McKee
# before the breadth-first searches: neighbours end up close in memory, which
# makes each search several times faster on large graphs stored in a random order.
_REORDER_MIN_NODES = 10_000

# With n_jobs > 1, signal pairs are handed to the threads in chunks of this size.
_PAIRS_PER_TASK = 32

# POT's result code for an optimal network simplex solution.
_OPTIMAL = 1


def exact_emd(graph, X, Y=None, *, mass_penalty=None, n_jobs=None, progress=False):
    r"""Exact earth mover's distances between signals on a graph.

    The ground cost is the hop distance :math:`d(u, v)`: the number of edges
    on a shortest path from node :math:`u` to node :math:`v` (edge weights are
    ignored). Each distance is one network simplex solve (POT's ``ot.emd``);
    this is the ground truth that the diffusion EMD embeddings approximate.

    **Balanced** (``mass_penalty=None``). Each signal is normalised to unit
    mass, :math:`\hat\mu = \mu / \|\mu\|_1`, and the result is the
    Wasserstein-1 distance

    .. math::

        W_1(\hat\mu, \hat\nu) = \min_{\pi \ge 0,\ \pi 1 = \hat\mu,\
        \pi^\top 1 = \hat\nu} \langle D, \pi \rangle
        = \sup_{f \text{ 1-Lipschitz}} \langle f, \hat\mu - \hat\nu \rangle ,

    with :math:`D_{uv} = d(u, v)`.

    **Unbalanced** (``mass_penalty=c``). Signals keep their mass, which may be
    destroyed or created at a cost of :math:`c` per unit:

    .. math::

        UW_1^c(\mu, \nu) = \min_{\pi \ge 0} \langle D, \pi \rangle
        + c \left( \|\mu - \pi 1\|_1 + \|\nu - \pi^\top 1\|_1 \right)
        = \sup_{f \text{ 1-Lipschitz},\ \|f\|_\infty \le c}
        \langle f, \mu - \nu \rangle ,

    the unbalanced Wasserstein-1 (Kantorovich-Rubinstein) distance, a metric
    on nonnegative signals. It is solved as one balanced problem with a dummy
    node on each side: the dummy on :math:`\mu`'s side holds
    :math:`\|\nu\|_1`, the one on :math:`\nu`'s side holds
    :math:`\|\mu\|_1`, node-to-dummy costs are :math:`c`, dummy-to-dummy
    cost is 0, and the node-to-node cost is :math:`\min(d, 2c)` (moving
    farther than :math:`2c` never beats destroying and re-creating). With
    signals of equal mass, :math:`UW_1^c = W_1` (unnormalised) once
    :math:`2c` reaches the graph's diameter; for :math:`c < 1/2` nothing
    moves and :math:`UW_1^c = c \|\mu - \nu\|_1`.

    Parameters
    ----------
    graph : graph
        Anything :func:`graphsig.graphs.as_adjacency` accepts, with
        ``n_nodes`` nodes. Only which node pairs are joined matters.
    X : {array-like, sparse matrix} of shape (n_signals_X, n_nodes)
        Nonnegative finite signals, one per row.
    Y : {array-like, sparse matrix} of shape (n_signals_Y, n_nodes), default=None
        Second set of signals. ``None`` means ``Y = X``: then only the pairs
        ``i < j`` are solved and mirrored, and the diagonal is 0.
    mass_penalty : float, default=None
        ``None`` for the balanced EMD between mass-normalised signals, or the
        cost :math:`c > 0` (in hops) per unit of mass destroyed or created,
        for the unbalanced form.
    n_jobs : int, default=None
        Number of threads for the breadth-first searches and the transport
        problems (both release the GIL while they run); ``None`` means 1,
        ``-1`` all processors. The per-pair Python work still runs one
        thread at a time, so small problems gain little.
    progress : bool, default=False
        Show a progress bar (tqdm) over the signal pairs.

    Returns
    -------
    distances : ndarray of shape (n_signals_X, n_signals_Y), dtype float64
        ``distances[i, j]`` is the (unbalanced) EMD between ``X[i]`` and
        ``Y[j]``, in hops.

    Raises
    ------
    ValueError
        If ``X`` or ``Y`` is not 2-D, has NaN, infinite or negative entries,
        or a width different from the other or from the graph's node count;
        if ``mass_penalty`` is not a finite positive number; and, in the
        balanced form, if a signal has zero total mass or the graph is
        disconnected (the balanced EMD is infinite across components; the
        unbalanced form handles disconnected graphs).
        Also if ``n_jobs`` is 0.
    TypeError
        If the signals are not real numbers, ``mass_penalty`` is not a real
        number, ``n_jobs`` is not an int or ``progress`` is not a bool.
    RuntimeError
        If the network simplex stops before reaching an optimum.

    See Also
    --------
    graphsig.graphs.largest_component : restrict a graph and its signals to
        one component for the balanced EMD.

    Notes
    -----
    Signals of any real dtype (float32 included) are read in float64; the
    result is float64. Hop distances are exact integers.

    Each problem is restricted to the supports of the two signals, and
    further to where they differ: with a metric cost an optimal plan leaves
    the common part :math:`\min(\hat\mu, \hat\nu)` in place (the cost depends
    on :math:`\hat\mu - \hat\nu` only, as the dual forms above show), so only
    :math:`(\hat\mu - \hat\nu)_+` and :math:`(\hat\nu - \hat\mu)_+` are
    transported; the same holds for the unbalanced form.

    The all-pairs hop matrix is never built for a large graph.
    Breadth-first searches run from the nodes of the supports of one side
    only (``X``, or ``Y`` when its supports cover fewer nodes), each
    recording its distances to the nodes of the other side's supports, so a
    block of rows costs (size of the union of their supports) x (size of the
    union of the other side's supports) float32 numbers. Rows are taken in
    blocks whose table stays under 256 MB: with sparse signals on a large
    graph (e.g. 30 nonzeros on 250,000 nodes) only the needed searches run;
    on a graph of up to about 8,000 nodes with dense signals, this is the
    whole hop matrix, computed once. In the unbalanced form the searches stop
    at depth :math:`2c`, which makes them cheap for small penalties. Graphs
    of 10,000 nodes or more are relabelled internally (reverse
    Cuthill-McKee) to make the searches cache-friendly.

    References
    ----------
    .. [1] A. Tong, G. Huguet, A. Natik, K. MacDonald, M. Kuchroo,
       R. Coifman, G. Wolf, S. Krishnaswamy, "Diffusion Earth Mover's
       Distance and Distribution Embeddings", ICML 2021, arXiv:2102.12833.
    .. [2] A. Tong, G. Huguet, D. Shung, A. Natik, M. Kuchroo, G. Lajoie,
       G. Wolf, S. Krishnaswamy, "Embedding Signals on Graphs with
       Unbalanced Diffusion Earth Mover's Distance", ICASSP 2022,
       arXiv:2107.12334.
    .. [3] L. V. Kantorovich, G. S. Rubinstein, "On a space of completely
       additive functions", Vestnik Leningrad Univ. 13(7), 1958 (the
       Kantorovich-Rubinstein norm and the unbalanced Wasserstein-1 distance).
    .. [4] J. Lellmann, D. A. Lorenz, C. Schönlieb, T. Valkonen, "Imaging
       with Kantorovich-Rubinstein discrepancy", SIAM J. Imaging Sci. 7(4),
       2014 (the bounded-Lipschitz dual of the unbalanced form).
    .. [5] N. Bonneel, M. van de Panne, S. Paris, W. Heidrich, "Displacement
       interpolation using Lagrangian mass transport", ACM Trans. Graph.
       30(6), 2011 (the network simplex solver).

    Examples
    --------
    Three signals on the path 0 - 1 - 2 - 3. The balanced EMD compares
    normalised signals (the mass 2 at node 3 counts as a unit Dirac). With
    ``mass_penalty=1``, moving mass three hops costs more than destroying
    and re-creating it (2 per unit): against the second signal the first is
    destroyed and the second created (1 + 2); against the third, 0.5 stays
    at node 0, 0.5 is destroyed there and 0.5 created at node 3 (1).

    >>> import numpy as np
    >>> from graphsig import exact_emd
    >>> from graphsig.graphs import path_graph
    >>> X = np.array([[1.0, 0.0, 0.0, 0.0],
    ...               [0.0, 0.0, 0.0, 2.0],
    ...               [0.5, 0.0, 0.0, 0.5]])
    >>> exact_emd(path_graph(4), X)
    array([[0. , 3. , 1.5],
           [3. , 0. , 1.5],
           [1.5, 1.5, 0. ]])
    >>> exact_emd(path_graph(4), X[:1], X[1:], mass_penalty=1.0)
    array([[3., 1.]])
    """
    adjacency = as_adjacency(graph)
    n_nodes = adjacency.shape[0]
    X = _check_signals(X, "X")
    symmetric = Y is None
    Y = X if symmetric else _check_signals(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must have the same number of columns (nodes), "
            f"got {X.shape[1]} and {Y.shape[1]}"
        )
    if X.shape[1] != n_nodes:
        raise ValueError(
            f"signals have {X.shape[1]} columns but the graph has {n_nodes} nodes; "
            "each column of X and Y is one node of the graph"
        )
    penalty = _check_mass_penalty(mass_penalty)
    n_jobs = _check_n_jobs(n_jobs)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")

    if penalty is None:
        X = _normalised(X, "X")
        Y = X if symmetric else _normalised(Y, "Y")
        check_connected(adjacency, what="the balanced EMD")
    else:
        _check_penalty_range(penalty, X, Y)
    distances = _all_pairs(adjacency, X, Y, symmetric, penalty, n_jobs, bool(progress))
    check_finite_output(distances, "an exact EMD", "rescale the signals")
    return distances


def _check_penalty_range(penalty, *signals):
    """The unbalanced cost is at most c (|x| + |y|): it must fit in float64."""
    largest = max(float(row_masses(s).max(initial=0.0)) for s in signals)
    with np.errstate(over="ignore"):
        bound = 2.0 * penalty * largest
    if not np.isfinite(bound):
        raise ValueError(
            f"mass_penalty ({penalty:g}) times the signals' largest mass ({largest:.3g}) "
            "overflows float64: rescale the signals or the penalty"
        )


# ---------------------------------------------------------------------------
# validation


def _check_signals(signals, name):
    """Validate signals; return a canonical float64 CSR matrix (sorted indices)."""
    check_raw_signals(signals, name)
    if sp.issparse(signals):
        if signals.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D of shape (n_signals, n_nodes), got ndim={signals.ndim}"
            )
        _check_real_dtype(signals.dtype, name)
        matrix = sp.csr_matrix(signals, dtype=np.float64, copy=True)
        matrix.sum_duplicates()  # also sorts the indices
        values = matrix.data
    else:
        try:
            array = np.asarray(signals)
        except (ValueError, TypeError) as exc:  # ragged nested lists
            raise TypeError(f"cannot read {name} as an array of numbers: {exc}") from exc
        if array.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D of shape (n_signals, n_nodes), got ndim={array.ndim} "
                f"(shape {array.shape}); for one signal use {name}.reshape(1, -1)"
            )
        if array.dtype.kind == "O":  # numbers held as objects, as scikit-learn reads them
            try:
                array = array.astype(np.float64)
            except (ValueError, TypeError) as exc:
                raise TypeError(f"cannot read {name} as an array of numbers: {exc}") from exc
        _check_real_dtype(array.dtype, name)
        values = array
        matrix = None
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        kind = "NaN" if np.isnan(values).any() else "infinite"
        raise ValueError(f"{name} has {kind} entries; signals must be finite")
    if values.size and values.min() < 0:
        raise ValueError(
            f"{name} has negative entries (min {values.min():.6g}); signals must be nonnegative"
        )
    if matrix is None:
        matrix = sp.csr_matrix(np.asarray(values, dtype=np.float64))
    huge = np.flatnonzero(~(row_masses(matrix) <= np.finfo(np.float64).max))
    if huge.size:
        raise ValueError(
            f"{name} has signals whose total mass overflows float64 (rows "
            f"{', '.join(str(i) for i in huge[:5])}); rescale them"
        )
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def _check_real_dtype(dtype, name):
    if dtype.kind == "c":
        raise TypeError(f"{name} has complex dtype {dtype}; signals must be real")
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} entries must be real numbers, got dtype {dtype}")


def _check_mass_penalty(mass_penalty):
    if mass_penalty is None:
        return None
    if isinstance(mass_penalty, (bool, np.bool_)) or not isinstance(mass_penalty, numbers.Real):
        raise TypeError(
            f"mass_penalty must be None or a positive number, got {type(mass_penalty).__name__}"
        )
    value = float(mass_penalty)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"mass_penalty must be a finite positive number, got {mass_penalty!r}")
    return value


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be None or an int, got {type(n_jobs).__name__}")
    if n_jobs == 0:
        raise ValueError("n_jobs must be a nonzero int (-1 for all processors), got 0")
    from joblib import effective_n_jobs

    return effective_n_jobs(int(n_jobs))


def _normalised(signals, name):
    """Rows scaled to unit mass; a zero row is an error."""
    mass = np.asarray(signals.sum(axis=1)).ravel()
    empty = np.flatnonzero(mass == 0)
    if empty.size:
        rows = ", ".join(str(i) for i in empty[:5]) + (", ..." if empty.size > 5 else "")
        raise ValueError(
            f"{name} row {empty[0]} has zero total mass (rows with zero mass: {rows}); "
            "the balanced EMD normalises each signal to unit mass. Drop these rows or "
            "use the unbalanced form (mass_penalty)."
        )
    result = signals.copy()
    result.data /= np.repeat(mass, np.diff(result.indptr))
    return result


# ---------------------------------------------------------------------------
# computation


def _all_pairs(adjacency, X, Y, symmetric, penalty, n_jobs, progress, names=("X", "Y")):
    if not symmetric and np.unique(Y.indices).size < np.unique(X.indices).size:
        # searches run from the X supports: start them from the smaller side
        swapped = _all_pairs(adjacency, Y, X, False, penalty, n_jobs, progress, ("Y", "X"))
        return np.ascontiguousarray(swapped.T)
    n_x, n_y = X.shape[0], Y.shape[0]
    distances = np.zeros((n_x, n_y), dtype=np.float64)
    # rows of X that have pairs to solve (with Y = X, the last row has none)
    n_rows = n_x - 1 if symmetric else n_x
    if n_rows <= 0 or n_y == 0:
        return distances
    n_pairs = n_rows * (n_rows + 1) // 2 if symmetric else n_x * n_y

    import ot  # costs over a second: imported only when needed
    from tqdm import tqdm

    from ._hops_kernels import hop_distances

    n_nodes = adjacency.shape[0]
    # Unbalanced: distances beyond 2c are capped at 2c, so searches stop there.
    max_depth = n_nodes if penalty is None else int(min(np.floor(2.0 * penalty), n_nodes))
    indptr, indices = adjacency.indptr, adjacency.indices
    label = None  # internal label of each node, when the graph is relabelled
    if n_nodes >= _REORDER_MIN_NODES:
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        order = reverse_cuthill_mckee(adjacency, symmetric_mode=True)
        label = np.empty(n_nodes, dtype=np.int64)
        label[order] = np.arange(n_nodes)
        relabelled = adjacency[order][:, order].tocsr()
        indptr, indices = relabelled.indptr, relabelled.indices

    def internal(nodes):
        nodes = nodes.astype(np.int64)
        return nodes if label is None else label[nodes]

    # columns of the distance tables: the nodes of the Y supports
    targets = np.unique(Y.indices)
    n_targets = targets.size
    target_pos = np.full(n_nodes, -1, dtype=np.int64)
    target_pos[internal(targets)] = np.arange(n_targets)
    y_columns = target_pos[internal(Y.indices)]

    max_sources = max(1, _DISTANCE_BUDGET_BYTES // (4 * max(n_targets, 1)))
    solver = _PairSolver(ot, penalty, names)
    source_pos = np.full(n_nodes, -1, dtype=np.int64)

    parallel = None
    if n_jobs > 1:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=n_jobs, backend="threading", return_as="generator_unordered")

    def solve_pairs(i, first, last, table):
        """Distances from X row i to Y rows first, ..., last - 1."""
        start, stop = X.indptr[i], X.indptr[i + 1]
        x_nodes, x_values = X.indices[start:stop], X.data[start:stop]
        x_rows = source_pos[internal(x_nodes)]
        values = np.empty(last - first, dtype=np.float64)
        for j in range(first, last):
            y_start, y_stop = Y.indptr[j], Y.indptr[j + 1]
            values[j - first] = solver.solve(
                x_nodes,
                x_values,
                x_rows,
                Y.indices[y_start:y_stop],
                Y.data[y_start:y_stop],
                y_columns[y_start:y_stop],
                table,
                i,
                j,
            )
        return i, first, values

    def tasks(rows):
        """(row, first, last) pair ranges: whole rows, or chunks to share among threads."""
        for i in rows:
            first = i + 1 if symmetric else 0
            step = n_y if parallel is None else _PAIRS_PER_TASK
            for start in range(first, n_y, step):
                yield i, start, min(start + step, n_y)

    with tqdm(total=n_pairs, disable=not progress, desc="exact EMD", unit="pair") as bar:
        for rows in _row_blocks(X, n_rows, max_sources):
            sources = internal(np.unique(X.indices[X.indptr[rows[0]] : X.indptr[rows[-1] + 1]]))
            source_pos[sources] = np.arange(sources.size)
            table = np.full((sources.size, n_targets), np.inf, dtype=np.float32)
            if parallel is None:
                hop_distances(indptr, indices, sources, target_pos, n_targets, max_depth, table)
                results = (solve_pairs(*task, table) for task in tasks(rows))
            else:
                bounds = np.linspace(0, sources.size, n_jobs + 1).astype(np.int64)
                list(
                    parallel(
                        delayed(hop_distances)(
                            indptr,
                            indices,
                            sources[a:b],
                            target_pos,
                            n_targets,
                            max_depth,
                            table[a:b],
                        )
                        for a, b in zip(bounds[:-1], bounds[1:])
                        if b > a
                    )
                )
                results = parallel(delayed(solve_pairs)(*task, table) for task in tasks(rows))
            for i, first, values in results:
                distances[i, first : first + values.size] = values
                bar.update(values.size)
            source_pos[sources] = -1

    if symmetric:
        upper = np.triu(distances, 1)
        distances = upper + upper.T
    return distances


def _row_blocks(X, n_rows, max_sources):
    """Consecutive blocks of rows whose supports together hold <= max_sources nodes.

    A single row with a larger support forms a block on its own.
    """
    seen = np.zeros(X.shape[1], dtype=bool)
    count = 0
    block = []
    for i in range(n_rows):
        nodes = X.indices[X.indptr[i] : X.indptr[i + 1]]
        new = np.unique(nodes[~seen[nodes]])
        if block and count + new.size > max_sources:
            yield block
            seen[:] = False
            block, count = [], 0
            new = nodes
        seen[new] = True
        count += new.size
        block.append(i)
    if block:
        yield block


def _max_iterations(n_sources, n_sinks):
    """Network simplex iteration limit: generous, far above what optimality needs."""
    return max(1_000_000, 100 * n_sources * n_sinks)


class _PairSolver:
    """One (unbalanced) EMD between two sparse signals, given their hop distances."""

    def __init__(self, ot, penalty, names):
        self.ot = ot
        self.penalty = penalty
        self.names = names  # of the two signal sets, for error messages

    def solve(self, x_nodes, x_values, x_rows, y_nodes, y_values, y_columns, table, i, j):
        """The distance between the two signals."""
        return self._solve(
            x_nodes, x_values, x_rows, y_nodes, y_values, y_columns, table, i, j, False
        )[0]

    def solve_dual(self, x_nodes, x_values, x_rows, y_nodes, y_values, y_columns, table, i, j):
        """The distance and a Kantorovich potential of the pair.

        Returns ``(value, potential)`` with ``potential = (nodes, offsets,
        floor)`` describing the 1-Lipschitz function ``f(v) = max(max_s
        (offsets[s] - hops(nodes[s], v)), floor)`` (clipped to
        ``[-c, c]`` in the unbalanced form), for which ``<f, x - y>`` equals
        the distance (up to rounding) and ``|<f, x' - y'>|`` bounds the
        distance of any other pair from below. ``potential`` is None when
        the two signals are equal.
        """
        return self._solve(
            x_nodes, x_values, x_rows, y_nodes, y_values, y_columns, table, i, j, True
        )

    def _solve(self, x_nodes, x_values, x_rows, y_nodes, y_values, y_columns, table, i, j,
               dual):
        # Transport only where the signals differ: a = (x - y)_+, b = (y - x)_+.
        a = x_values.copy()
        b = y_values.copy()
        if x_nodes.size and y_nodes.size:
            pos = np.searchsorted(y_nodes, x_nodes)
            np.minimum(pos, y_nodes.size - 1, out=pos)
            shared = y_nodes[pos] == x_nodes
            common = np.minimum(x_values[shared], y_values[pos[shared]])
            a[shared] -= common
            b[pos[shared]] -= common
        keep_a = a > 0
        keep_b = b > 0
        a, rows, a_nodes = a[keep_a], x_rows[keep_a], x_nodes[keep_a]
        b, cols = b[keep_b], y_columns[keep_b]
        mass_a, mass_b = a.sum(), b.sum()

        if self.penalty is None:
            if a.size == 0 or b.size == 0:
                return 0.0, None
            cost = table[np.ix_(rows, cols)].astype(np.float64)
            if a.size == 1 or b.size == 1:
                # u = 0 at a single source; u = hops to a single sink
                if a.size == 1:
                    return float(cost[0] @ b), (a_nodes, np.zeros(1), -np.inf)
                return float(a @ cost[:, 0]), (a_nodes, cost[:, 0].copy(), -np.inf)
            # both sides carry the same mass up to rounding; solve at unit mass
            value, log = self._emd(a / mass_a, b / mass_b, cost, i, j)
            return value * 0.5 * (mass_a + mass_b), (a_nodes, log["u"], -np.inf)

        c = self.penalty
        if a.size == 0 or b.size == 0:
            # everything is destroyed or created: the constant potential +-c
            floor = c if b.size == 0 else -c
            empty = np.zeros(0, dtype=np.int64)
            return c * (mass_a + mass_b), (empty, np.zeros(0), floor)
        cost = np.empty((a.size + 1, b.size + 1), dtype=np.float64)
        cost[:-1, :-1] = table[np.ix_(rows, cols)]  # exact integers (or inf) in float64
        np.minimum(cost[:-1, :-1], 2.0 * c, out=cost[:-1, :-1])
        cost[-1, :] = c
        cost[:, -1] = c
        cost[-1, -1] = 0.0
        total = mass_a + mass_b
        source = np.append(a, mass_b) / total
        sink = np.append(b, mass_a) / total
        value, log = self._emd(source, sink, cost, i, j)
        if not dual:
            return value * total, None
        # gauge with the sink dummy's potential at 0: then f = u on the
        # sources, and the source dummy bounds f from below by u_dummy - c
        u = log["u"] + log["v"][-1]
        floor = max(float(u[-1]) - c, float(u[:-1].max()) - 2.0 * c)
        return value * total, (a_nodes, u[:-1], floor)

    def _emd(self, source, sink, cost, i, j):
        _, log = self.ot.emd(
            source,
            sink,
            cost,
            numItermax=_max_iterations(source.size, sink.size),
            log=True,
            check_marginals=False,
        )
        if log["result_code"] != _OPTIMAL:
            raise RuntimeError(
                f"the network simplex did not reach an optimum for {self.names[0]} row {i} "
                f"and {self.names[1]} row {j} "
                f"(result code {log['result_code']}: {log['warning']})"
            )
        return float(log["cost"]), log
