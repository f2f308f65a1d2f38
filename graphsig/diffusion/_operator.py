"""The diffusion operator of a graph and its application to many signals."""

import math
import threading
from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from scipy.special import bdtr, betainc

from .._validation import check_real
from .._threads import numba_threads as _numba_threads
from .._threads import parallel_chunks as _parallel_chunks
from ..graphs import as_adjacency, connected_components

__all__ = [
    "DiffusionOperator",
    "lazy_walk_chebyshev",
    "estimate_diameter",
    "dyadic_times",
]

_DEFAULT_MAX_MEMORY = 512 * 2**20

# Largest Chebyshev degree (= sparse products per batch of signals) a diffusion
# may use: it admits 2**24 lazy steps (walks spreading ~2,900 hops; degree 15,789
# at the default tol, 2**25 needs 22,329) with a coefficient table below 7 MB.
MAX_CHEBYSHEV_DEGREE = 20_000

# Longest time accepted at all, 2**MAX_SCALE lazy steps (DiffusionEMD's max_scale
# range), refused before any work; shorter times are bounded by the degree limit.
MAX_SCALE = 40
MAX_TIME = 2**MAX_SCALE

# bdtr takes a C int number of trials and returns NaN beyond it
_BDTR_MAX_TRIALS = 2**31 - 1


def _tail(t, m):
    """Truncation error of degree ``m`` at time ``t``: ``sum_{k > m} c_k``.

    It equals ``2 P(Binomial(2t, 1/2) <= t - m - 1)``. ``bdtr`` takes a C int
    number of trials and returns NaN beyond ``2**31 - 1`` of them; longer times
    use the regularised incomplete beta function, the same probability
    ``I_{1/2}(t + m + 1, t - m)``, which is accurate for any size.
    """
    if m >= t:
        return 0.0
    if 2 * t <= _BDTR_MAX_TRIALS:
        return 2.0 * float(bdtr(t - m - 1, 2 * t, 0.5))
    return 2.0 * float(betainc(float(t + m + 1), float(t - m), 0.5))


def _hoeffding_degree(t, tol):
    """A degree that always suffices at time ``t``: at most ``min(t, ~sqrt(t log(4 / tol)))``.

    By Hoeffding's inequality the tail is at most ``2 exp(-(m + 1)^2 / t)``,
    which is ``<= tol / 2`` once ``m + 1 >= sqrt(t log(4 / tol))``; one more
    term covers the rounding of the square root.
    """
    return min(t, math.ceil(math.sqrt(t * (math.log(4.0) - math.log(tol)))))


def _chebyshev_degree(t, tol):
    """Smallest degree whose tail at time ``t`` is at most ``tol / 2``.

    Bisection on ``[0, _hoeffding_degree(t, tol)]``, which holds the answer,
    so the degree never exceeds the Hoeffding bound (it never falls back to
    ``t`` itself), whatever the precision of the tail.
    """
    lo = 0
    hi = _hoeffding_degree(t, tol)
    while lo < hi:
        mid = (lo + hi) // 2
        if _tail(t, mid) <= tol / 2:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _round_up(x, digits=2):
    """``x`` rounded up to ``digits`` significant digits (for messages)."""
    step = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return math.ceil(x / step) * step


def _too_long_message(t, tol, degree, max_degree, approximate=False):
    """Why time ``t`` is refused, and the settings that would fit."""
    fits = [k for k in range(MAX_SCALE + 1) if _chebyshev_degree(2**k, tol) <= max_degree]
    largest = max(fits) if fits else None
    about = "about " if approximate else ""
    text = (
        f"diffusing {t} lazy steps at tol={tol:g} needs a Chebyshev expansion of degree "
        f"{about}{degree}, i.e. as many sparse products per batch of signals, above the "
        f"limit of {max_degree} ("
        + ("MAX_CHEBYSHEV_DEGREE" if max_degree == MAX_CHEBYSHEV_DEGREE else "max_degree")
        + "); "
    )
    if largest is not None:
        text += (
            f"use times up to 2**{largest} = {2**largest} steps (max_scale={largest}, "
            f"degree {_chebyshev_degree(2**largest, tol)})"
        )
    else:
        text += "no dyadic time fits this limit"
    # degree <= max_degree exactly when the tail of degree max_degree is <= tol / 2
    need = 2.0 * _tail(t, max_degree) if t <= MAX_TIME else math.inf
    if 0.0 < need < 1.0:
        text += f", or a larger tol (at least {_round_up(need):.2g} for these times)"
    return text


def lazy_walk_chebyshev(times, tol=1e-7, *, max_degree=None):
    """Chebyshev coefficients of the lazy random walk at several times.

    The lazy walk ``((I + S) / 2)^t`` with ``S`` symmetric and spectrum in
    [-1, 1] is the polynomial ``f_t(s) = ((1 + s) / 2)^t`` of ``S``. With
    ``s = cos(theta)``, ``f_t = cos(theta / 2)^(2t)``, whose Chebyshev
    coefficients are known in closed form::

        c_0 = 4^-t C(2t, t),    c_k = 2 * 4^-t C(2t, t - k)   (1 <= k <= t).

    They are nonnegative, sum to ``f_t(1) = 1`` and decay like
    ``exp(-k^2 / t)``, so a truncation at degree ``m`` has operator-norm error
    at most the tail sum ``sum_{k > m} c_k``. The degree returned is the
    smallest for which every tail is at most ``tol / 2``: it equals ``max(times)``
    (the expansion is then exact) for short times and grows like
    ``sqrt(t log(1 / tol))`` for long ones (it is at most
    ``ceil(sqrt(t log(4 / tol)))`` by Hoeffding's inequality), so long
    diffusions cost far fewer sparse products than repeated multiplication.
    Each truncated expansion is rescaled to keep ``f_t(1) = 1``, so that
    diffusion preserves mass to rounding; the degree is chosen so that the
    error stays at most ``tol``.

    A diffusion costs one sparse product per degree and batch of signals:
    times longer than ``MAX_TIME`` steps, or needing a degree above
    ``max_degree``, are refused.

    Parameters
    ----------
    times : sequence of int
        Nonnegative numbers of lazy steps, at most ``MAX_TIME`` (``2**40``).
    tol : float, default=1e-7
        Largest truncation error (operator norm) allowed at any time.
    max_degree : int, optional
        Largest degree allowed (default ``MAX_CHEBYSHEV_DEGREE``).

    Returns
    -------
    coef : ndarray of shape (n_terms, n_times), float64

    Raises
    ------
    ValueError
        If a time exceeds ``MAX_TIME`` or needs a degree above ``max_degree``;
        the message gives the degree needed and the longest dyadic time (the
        ``max_scale``) and the ``tol`` that fit.

    Examples
    --------
    >>> from graphsig.diffusion import lazy_walk_chebyshev
    >>> coef = lazy_walk_chebyshev([0, 1, 2])
    >>> coef.round(3).tolist()
    [[1.0, 0.5, 0.375], [0.0, 0.5, 0.5], [0.0, 0.0, 0.125]]
    >>> lazy_walk_chebyshev([2**16]).shape  # degree ~ sqrt(t log(1 / tol)), not t
    (988, 1)
    """
    raw = np.asarray(times)
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError("times must be a non-empty 1-D sequence of nonnegative integers")
    if raw.dtype.kind not in "iuf" or not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw)):
        raise ValueError(f"times must be nonnegative integers, got {raw.tolist()}")
    if (raw < 0).any():
        raise ValueError(f"times must be nonnegative integers, got {raw.tolist()}")
    if not (0 < tol < 1):
        raise ValueError(f"tol must be in (0, 1), got {tol!r}")
    max_degree = MAX_CHEBYSHEV_DEGREE if max_degree is None else int(max_degree)
    longest = raw.max()
    if longest > MAX_TIME:
        # refused before any work (and before a cast to int64 could overflow)
        t = int(longest)
        raise ValueError(
            f"times above MAX_TIME = 2**{MAX_SCALE} = {MAX_TIME} lazy steps are not supported; "
            + _too_long_message(t, tol, _hoeffding_degree(t, tol), max_degree, approximate=True)
        )
    times = raw.astype(np.int64)
    # degree needed by each time: the smallest m whose tail is <= tol / 2
    degree, worst = 0, 0
    for t in np.unique(times):
        m = _chebyshev_degree(int(t), tol)
        if m > degree:
            degree, worst = m, int(t)
    if degree > max_degree:
        raise ValueError(_too_long_message(worst, tol, degree, max_degree))
    coef = np.zeros((degree + 1, times.size))
    for j, t in enumerate(times):
        t = int(t)
        n_terms = min(t, degree) + 1
        # c_{k+1} / c_k = (t - k) / (t + k + 1): log-ratios summed from c_0 are
        # accurate for any t, whereas gammaln(2t + 1) - ... loses about
        # t log(t) * 2**-52 (relative error 1e-7 at t = 2**24, beyond tol)
        k = np.arange(n_terms - 1, dtype=np.float64)
        log_ratio = np.log1p(-(2.0 * k + 1.0) / (t + k + 1.0))
        c = np.exp(np.concatenate(([0.0], np.cumsum(log_ratio))))
        c[1:] *= 2.0
        # rescaled so that f_t(1) = 1 exactly: mass is preserved to rounding;
        # the tail (<= tol / 2) and the rescaling together err by <= tol
        coef[:n_terms, j] = c / c.sum()
    return coef


def dyadic_times(max_scale):
    """Diffusion times ``0, 1, 2, 4, ..., 2**max_scale``, with ``max_scale <= MAX_SCALE`` (40).

    Examples
    --------
    >>> from graphsig.diffusion import dyadic_times
    >>> dyadic_times(3).tolist()
    [0, 1, 2, 4, 8]
    """
    try:
        ok = not isinstance(max_scale, bool) and int(max_scale) == max_scale
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"max_scale must be an integer, got {max_scale!r}")
    max_scale = int(max_scale)
    if max_scale < 0:
        raise ValueError(f"max_scale must be >= 0, got {max_scale}")
    if max_scale > MAX_SCALE:
        fits = max(k for k in range(MAX_SCALE + 1)
                   if _chebyshev_degree(2**k, 1e-7) <= MAX_CHEBYSHEV_DEGREE)
        raise ValueError(
            f"max_scale must be <= {MAX_SCALE} (times up to 2**{MAX_SCALE} lazy steps), "
            f"got {max_scale}; the diffusion itself allows max_scale up to {fits} at the "
            f"default tol=1e-07 (MAX_CHEBYSHEV_DEGREE = {MAX_CHEBYSHEV_DEGREE} sparse products)"
        )
    return np.array([0] + [2**k for k in range(max_scale + 1)], dtype=np.int64)


def _bfs_hops(adjacency, source):
    from scipy.sparse.csgraph import shortest_path

    return shortest_path(adjacency, directed=False, unweighted=True, indices=source)


def estimate_diameter(graph, n_sweeps=4, random_state=0):
    """Lower bound on the hop diameter of a graph's largest component.

    Repeated double sweeps: a breadth-first search from a node, then from the
    farthest node found, and so on. On trees the first double sweep is exact;
    on other graphs the bound is usually tight.

    Parameters
    ----------
    graph : graph-like
        Anything :func:`graphsig.graphs.as_adjacency` accepts.
    n_sweeps : int, default=4
        Number of breadth-first searches.
    random_state : int, default=0
        Seed of the start node.

    Returns
    -------
    diameter : int

    Examples
    --------
    >>> from graphsig.graphs import path_graph, grid_graph
    >>> from graphsig.diffusion import estimate_diameter
    >>> estimate_diameter(path_graph(10)), estimate_diameter(grid_graph(4, 5))
    (9, 7)
    """
    adjacency = as_adjacency(graph)
    n_comp, labels = connected_components(adjacency)
    largest = np.argmax(np.bincount(labels))
    nodes = np.flatnonzero(labels == largest)
    rng = np.random.default_rng(random_state)
    source = int(rng.choice(nodes))
    best = 0
    for _ in range(max(1, int(n_sweeps))):
        hops = _bfs_hops(adjacency, source)
        hops[~np.isfinite(hops)] = -1
        far = int(np.argmax(hops))
        best = max(best, int(hops[far]))
        source = far
    return best


_OperatorArrays = namedtuple(
    "_OperatorArrays", "indptr indices data data2 inv_sqrt_degree sqrt_degree"
)


def _unit_scale(adjacency):
    """The weights times a power of two that brings the largest into [1, 2).

    The operator depends only on the ratios of the weights, and a power of two
    changes no bit of them; without it, weights near the ends of the float64
    range (subnormal, or near 1e308) overflow or underflow in the degrees and
    their powers.
    """
    largest = float(adjacency.data.max())
    exponent = np.frexp(largest)[1] - 1
    if exponent == 0:
        return adjacency
    scaled = adjacency.copy()
    # two steps: 2**-exponent alone is out of range for subnormal weights
    half = exponent // 2
    scaled.data = np.ldexp(np.ldexp(scaled.data, -half), half - exponent)
    scaled.eliminate_zeros()  # ratios below 2**-1074 of the largest weight vanish
    return scaled


class DiffusionOperator:
    """Mass-preserving lazy random-walk diffusion on a graph.

    With edge weights ``W`` (all ones when ``weighted=False``), the
    anisotropic kernel ``K = Q^-a W Q^-a`` (``Q`` the weighted degrees, ``a``
    the anisotropy) and its degrees ``D``, one diffusion step moves the mass
    of a signal ``mu`` by the lazy walk::

        mu  ->  (mu + K D^-1 mu) / 2,

    whose columns sum to one, so mass is preserved. It is applied through its
    symmetric conjugate ``S = D^-1/2 K D^-1/2`` (spectrum in [-1, 1])::

        mu_t = D^1/2 ((I + S) / 2)^t D^-1/2 mu,

    evaluated for all times at once by one Chebyshev recurrence
    (:func:`lazy_walk_chebyshev`): exact up to degree ``max(times)`` and with
    error at most ``tol`` beyond. Isolated nodes keep their mass.

    Parameters
    ----------
    graph : graph-like
        Anything :func:`graphsig.graphs.as_adjacency` accepts.
    anisotropy : float in [0, 1], default=1.0
        Density normalisation of the kernel (0: none; 1: Laplace-Beltrami
        normalisation of Coifman and Lafon).
    weighted : bool, default=False
        Diffuse along the edge weights. By default every edge counts as one
        hop, which matches the hop ground distance of the EMD.

    Attributes
    ----------
    n_nodes : int
    symmetric : scipy.sparse.csr_matrix
        ``S``, float64.
    sqrt_degree : ndarray of shape (n_nodes,)
        ``D^1/2``.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.graphs import path_graph
    >>> from graphsig.diffusion import DiffusionOperator
    >>> op = DiffusionOperator(path_graph(5))
    >>> mu = np.array([[0.0, 0.0, 1.0, 0.0, 0.0]])
    >>> out = op.diffuse(mu, [0, 1, 100])
    >>> out.shape
    (3, 1, 5)
    >>> out.sum(axis=2).round(6).ravel().tolist()  # mass is preserved
    [1.0, 1.0, 1.0]
    """

    def __init__(self, graph, *, anisotropy=1.0, weighted=False):
        anisotropy = check_real(anisotropy, "anisotropy")
        if not 0.0 <= anisotropy <= 1.0:
            raise ValueError(f"anisotropy must be in [0, 1], got {anisotropy!r}")
        if not isinstance(weighted, (bool, np.bool_)):
            raise TypeError(f"weighted must be a bool, got {weighted!r}")
        adjacency = as_adjacency(graph)
        if adjacency is graph or not weighted:
            # own the adjacency: the caller may edit its graph later
            adjacency = adjacency.copy()
        if not weighted:
            adjacency.data[:] = 1.0
        else:
            adjacency = _unit_scale(adjacency)
        q = np.asarray(adjacency.sum(axis=1)).ravel()
        isolated = q == 0
        if anisotropy > 0:
            qa = np.where(isolated, 1.0, q) ** -float(anisotropy)
            kernel = sp.diags(qa) @ adjacency @ sp.diags(qa)
        else:
            kernel = adjacency
        kernel = sp.csr_matrix(kernel)
        d = np.asarray(kernel.sum(axis=1)).ravel()
        d[isolated] = 1.0
        inv_sqrt = 1.0 / np.sqrt(d)
        sym = sp.csr_matrix(sp.diags(inv_sqrt) @ kernel @ sp.diags(inv_sqrt))
        if isolated.any():
            # an isolated node keeps its mass: S_ii = 1
            sym = sp.csr_matrix(sym + sp.diags(isolated.astype(np.float64)))
        sym.sort_indices()
        self.n_nodes = adjacency.shape[0]
        self.anisotropy = float(anisotropy)
        self.weighted = bool(weighted)
        self.adjacency = adjacency
        self.symmetric = sym
        self.sqrt_degree = np.sqrt(d)
        self._by_dtype = {}
        self._lock = threading.Lock()

    # -- state shared across threads, and pickling ------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_by_dtype"] = {}
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _arrays(self, dtype):
        """CSR arrays of S (and 2 S) and the degree scalings in ``dtype`` (cached)."""
        dtype = np.dtype(dtype)
        with self._lock:
            arrays = self._by_dtype.get(dtype)
            if arrays is None:
                sym = self.symmetric
                data = sym.data.astype(dtype)
                arrays = _OperatorArrays(
                    indptr=sym.indptr.astype(np.int64),
                    indices=sym.indices.astype(np.int64),
                    data=data,
                    data2=data + data,
                    inv_sqrt_degree=(1.0 / self.sqrt_degree).astype(dtype),
                    sqrt_degree=self.sqrt_degree.astype(dtype),
                )
                self._by_dtype[dtype] = arrays
        return arrays

    @property
    def diameter(self):
        """Estimated hop diameter of the largest component (cached)."""
        if not hasattr(self, "_diameter"):
            self._diameter = estimate_diameter(self.adjacency)
        return self._diameter

    def batch_size(self, n_times, dtype, max_memory=None):
        """Number of signals per block so that work arrays fit ``max_memory``.

        A signal's work arrays in :meth:`diffuse_block` are ``n_times + 4``
        vectors over the nodes (the diffusions, three recurrence terms and the
        scaled input). The result is at least 1, even when one signal exceeds
        ``max_memory``: its work is then about one row of the embedding the
        caller stores anyway (``n_times`` vectors over the nodes), so a
        smaller budget cannot be met by any batching (with dyadic times there
        are at most ``MAX_SCALE + 2`` of them, so that row stays bounded).

        Examples
        --------
        >>> import numpy as np
        >>> from graphsig.graphs import path_graph
        >>> from graphsig.diffusion import DiffusionOperator
        >>> op = DiffusionOperator(path_graph(1000))
        >>> op.batch_size(10, np.float64, max_memory=2**20)  # 112 kB per signal
        9
        >>> op.batch_size(10, np.float64, max_memory=1)  # never 0
        1
        """
        max_memory = _DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
        per_signal = max(1, (int(n_times) + 4) * self.n_nodes * np.dtype(dtype).itemsize)
        return int(max(1, max_memory // per_signal))

    def _restricted_arrays(self, dtype, nodes):
        """The arrays of :meth:`_arrays` for the operator restricted to ``nodes``."""
        full = self._arrays(dtype)
        sym = self.symmetric[nodes][:, nodes]
        sym.sort_indices()
        data = sym.data.astype(dtype)
        return _OperatorArrays(
            indptr=sym.indptr.astype(np.int64),
            indices=sym.indices.astype(np.int64),
            data=data,
            data2=data + data,
            inv_sqrt_degree=full.inv_sqrt_degree[nodes],
            sqrt_degree=full.sqrt_degree[nodes],
        )

    def diffuse_block(self, block, coef, *, n_jobs=None, rescale=True, nodes=None):
        """Diffuse a node-major block; returns ``(n_times, n_nodes, n_signals)``.

        ``block`` holds mass signals as columns, shape (n_nodes, n_signals),
        float32 or float64; the result has its dtype. With ``rescale=False``
        the final multiplication by ``D^1/2`` (``sqrt_degree``) is left to the
        caller, who can fuse it with its own pass over the result.

        With ``nodes`` (sorted node indices), the block's rows are those
        nodes and the walk is restricted to them. A Chebyshev expansion of
        degree ``m`` moves mass at most ``m`` hops, so this is exact when
        ``nodes`` holds every node within ``m = coef.shape[0] - 1`` hops of
        the signals' supports.
        """
        from ._kernels import chebyshev_diffuse

        dtype = block.dtype
        a = self._arrays(dtype) if nodes is None else self._restricted_arrays(dtype, nodes)
        scaled = np.ascontiguousarray(block * a.inv_sqrt_degree[:, None])
        out = np.empty((coef.shape[1],) + block.shape, dtype=dtype)
        work = np.empty((3,) + block.shape, dtype=dtype)
        with _numba_threads(n_jobs):
            chebyshev_diffuse(
                a.indptr, a.indices, a.data, a.data2, scaled, coef.astype(dtype), out, work,
                _parallel_chunks(block.shape[1]),
            )
        if rescale:
            out *= a.sqrt_degree[None, :, None]
        return out

    def diffuse(self, X, times, *, tol=1e-7, n_jobs=None):
        """Diffuse the rows of ``X`` for several numbers of lazy steps.

        Parameters
        ----------
        X : ndarray of shape (n_signals, n_nodes)
            Mass signals, float32 or float64 (others are cast to float64).
        times : sequence of int
        tol : float, default=1e-7
            Truncation error of the Chebyshev expansion.
        n_jobs : int, optional
            numba threads (default: numba's setting).

        Returns
        -------
        diffused : ndarray of shape (n_times, n_signals, n_nodes)
        """
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_nodes:
            raise ValueError(
                f"X must have shape (n_signals, {self.n_nodes}), got {X.shape}"
            )
        coef = lazy_walk_chebyshev(times, tol)
        out = self.diffuse_block(np.ascontiguousarray(X.T), coef, n_jobs=n_jobs)
        return np.ascontiguousarray(out.transpose(0, 2, 1))

    def diffuse_exact(self, X, times):
        """Slow exact path: repeated sparse lazy-walk products in float64.

        Used to check :meth:`diffuse`; cost grows linearly with ``max(times)``.
        """
        X = np.asarray(X, dtype=np.float64)
        step = 0.5 * (
            sp.eye(self.n_nodes, format="csr")
            + sp.diags(self.sqrt_degree) @ self.symmetric @ sp.diags(1.0 / self.sqrt_degree)
        )
        step = sp.csr_matrix(step)
        times = [int(t) for t in times]
        cur = X.T.copy()
        done = 0
        results = {}
        for t in sorted(set(times)):
            while done < t:
                cur = step @ cur
                done += 1
            results[t] = cur.T.copy()
        return np.stack([results[t] for t in times])
