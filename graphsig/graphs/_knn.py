"""k-nearest-neighbour graphs over point clouds."""

import numbers

import numpy as np
import scipy.sparse as sp

from .._validation import check_sparse_structure
from ._adjacency import as_adjacency

__all__ = ["knn_graph"]

_WEIGHTINGS = ("adaptive", "connectivity")

# Bandwidths are floored at this fraction of the largest neighbour distance,
# so that duplicated points (distance 0 to their k-th neighbour) give no 0/0.
_BANDWIDTH_FLOOR = 1e-8

# Kernel weights are floored at the smallest normal float32, so that no kNN
# edge vanishes by underflow (also after a cast to float32).
_MIN_WEIGHT = float(np.finfo(np.float32).tiny)

# Metrics with d(c x, c y) = c^k d(x, y) for c = 2^e (k = 0 for the scale-free
# ones, among them those that compare coordinates for equality or for being
# nonzero, which a power of two preserves): scaling the points changes neither
# the neighbours nor the adaptive kernel d^2 / (sigma_i sigma_j), whose
# bandwidths scale as the distances. A precomputed distance matrix scales too.
_HOMOGENEOUS_METRICS = frozenset({
    "euclidean", "l2", "minkowski", "p", "manhattan", "cityblock", "l1", "chebyshev",
    "infinity", "sqeuclidean", "nan_euclidean", "cosine", "correlation", "canberra",
    "braycurtis", "hamming", "jaccard", "dice", "rogerstanimoto", "russellrao",
    "sokalsneath", "sokalmichener", "yule", "precomputed",
})

# Points whose largest magnitude lies outside [2^-L, 2^L] are rescaled by a power
# of two before the neighbour search: squared distances then neither overflow
# nor underflow. Points inside are used as given.
_SAFE_EXPONENT = {np.dtype(np.float64): 400, np.dtype(np.float32): 40}


def knn_graph(points, n_neighbors=15, *, weighting="adaptive", metric="euclidean",
              random_state=None):
    r"""Symmetric k-nearest-neighbour graph over the rows of ``points``.

    Each point is joined to its ``n_neighbors`` nearest other points; the
    graph is then symmetrised by union, so an edge exists when either point
    is among the other's nearest neighbours, and its weight is the larger of
    the two directed weights.

    With ``weighting="adaptive"`` the weights are a Gaussian kernel with a
    per-point bandwidth (self-tuning, as in self-tuning spectral clustering):

    .. math::

        w_{ij} = \exp\left(-\frac{d(x_i, x_j)^2}{\sigma_i \sigma_j}\right),

    where :math:`\sigma_i` is the distance from :math:`x_i` to its
    ``n_neighbors``-th nearest neighbour, floored at ``1e-8`` times the
    largest neighbour distance in the data so that duplicated points give
    no division by zero (duplicates are joined with weight 1). Weights are
    floored at the smallest normal float32 (about ``1.2e-38``) so that no
    neighbour edge vanishes by underflow. The kernel is symmetric in ``i``
    and ``j``, so both directions of an edge carry the same weight. With
    ``weighting="connectivity"`` every edge weighs 1.

    The neighbours and the adaptive weights do not depend on the units of
    the points for the usual metrics (Minkowski distances, cosine,
    correlation, Canberra, Bray-Curtis, Hamming and the boolean metrics, or
    precomputed distances): points with coordinates near the overflow
    threshold (1e300) or subnormal (1e-310) are first divided by a power of
    two, exactly, so that their largest magnitude is about 1, and give the
    graph of the rescaled points. Other metrics (callables, 'haversine')
    refuse points whose largest magnitude is outside ``[2^-400, 2^400]``
    (``[2^-40, 2^40]`` in float32) with a ValueError.

    Parameters
    ----------
    points : {array-like, sparse matrix} of shape (n_points, n_dims)
        The points, finite, at least 2 of them.
    n_neighbors : int, default=15
        Number of neighbours of each point, in ``[1, n_points - 1]``.
    weighting : {"adaptive", "connectivity"}, default="adaptive"
        Edge weights, see above.
    metric : str or callable, default="euclidean"
        Distance, any metric accepted by
        :class:`sklearn.neighbors.NearestNeighbors`.
    random_state : int, numpy.random.RandomState or None, default=None
        Accepted for a stable call signature; the neighbour search is exact
        and deterministic, so it does not affect the result.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_points, n_points)
        Canonical symmetric adjacency (see
        :func:`~graphsig.graphs.as_adjacency`), with weights in ``(0, 1]``
        and at least ``n_neighbors`` neighbours per node; float32 when
        ``points`` is float32, float64 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.graphs import knn_graph
    >>> points = np.random.default_rng(0).normal(size=(50, 3))
    >>> A = knn_graph(points, n_neighbors=5)
    >>> A.shape, bool((A != A.T).nnz == 0), int(A.getnnz(axis=1).min()) >= 5
    ((50, 50), True, True)
    >>> float(A.max()) <= 1.0
    True
    """
    from sklearn.neighbors import NearestNeighbors
    from sklearn.utils import check_array, check_random_state

    if sp.issparse(points):
        # scipy's conversions trust the index arrays: a corrupted matrix would
        # be read out of bounds before any other check
        check_sparse_structure(points, "points")
    points = check_array(
        points,
        accept_sparse="csr",
        dtype=[np.float64, np.float32],
        ensure_min_samples=2,
        input_name="points",
    )
    n_points = points.shape[0]
    if isinstance(n_neighbors, (bool, np.bool_)) or not isinstance(n_neighbors, numbers.Integral):
        raise TypeError(f"n_neighbors must be an integer, got {type(n_neighbors).__name__}")
    if not 1 <= n_neighbors <= n_points - 1:
        raise ValueError(
            f"n_neighbors must be in [1, n_points - 1] = [1, {n_points - 1}], got {n_neighbors}"
        )
    n_neighbors = int(n_neighbors)
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be one of {_WEIGHTINGS}, got {weighting!r}")
    check_random_state(random_state)
    if sp.issparse(points) and not points.has_canonical_format:
        # duplicated entries are summed (scipy's meaning); the search would not
        points = points.copy()
        points.sum_duplicates()
        if not np.isfinite(points.data).all():
            raise ValueError(
                "points stores duplicated entries whose sum overflows to infinity"
            )
    if isinstance(metric, str) and metric in _HOMOGENEOUS_METRICS:
        points = _rescaled(points)
    elif not _in_safe_range(points):
        # the distances of this metric may overflow or underflow, and do not
        # scale with the points
        limit = _SAFE_EXPONENT[points.dtype]
        raise ValueError(
            f"the largest |coordinate| of the points, {_largest_magnitude(points):.3g}, is "
            f"outside the range where the metric {metric!r} can be computed safely "
            f"([2^-{limit}, 2^{limit}]); rescale the points, or use a metric that scales "
            "with them (such as 'euclidean')"
        )

    search = NearestNeighbors(n_neighbors=n_neighbors, metric=metric).fit(points)
    with np.errstate(over="ignore", invalid="ignore"):
        distances, neighbors = search.kneighbors()  # excludes each point itself
    distances = distances.astype(np.float64, copy=False)
    if not np.isfinite(distances).all():
        raise ValueError(
            f"the {metric!r} distances between the points overflowed (the largest "
            f"|coordinate| is {_largest_magnitude(points):.3g}); rescale the points"
        )

    rows = np.repeat(np.arange(n_points), n_neighbors)
    cols = neighbors.ravel()
    if weighting == "connectivity":
        weights = np.ones(rows.size)
    else:
        largest = distances.max()
        floor = _BANDWIDTH_FLOOR * largest if largest > 0 else 1.0
        sigma = np.maximum(distances[:, -1], floor)
        # d^2 / (sigma_i sigma_j) as a product of ratios, which cannot overflow
        scaled = (distances / sigma[:, None]) * (distances / sigma[neighbors])
        weights = np.maximum(np.exp(-scaled.ravel()), _MIN_WEIGHT)

    directed = sp.csr_matrix((weights, (rows, cols)), shape=(n_points, n_points))
    union = directed.maximum(directed.T)
    dtype = np.float32 if points.dtype == np.float32 else np.float64
    return as_adjacency(union, dtype=dtype)


def _largest_magnitude(points):
    data = points.data if sp.issparse(points) else points
    return float(np.max(np.abs(data))) if data.size else 0.0


def _in_safe_range(points):
    largest = _largest_magnitude(points)
    limit = _SAFE_EXPONENT[points.dtype]
    return largest == 0.0 or 2.0 ** -limit <= largest <= 2.0 ** limit


def _rescaled(points):
    """``points`` divided by a power of two if their magnitude is extreme (a copy)."""
    if _in_safe_range(points):
        return points
    largest = _largest_magnitude(points)
    exponent = int(np.frexp(largest)[1])  # largest / 2^exponent is in [0.5, 1)
    if sp.issparse(points):
        points = points.copy()
        points.data = np.ldexp(points.data, -exponent).astype(points.dtype, copy=False)
        return points
    return np.ldexp(points, -exponent).astype(points.dtype, copy=False)
