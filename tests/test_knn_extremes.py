"""knn_graph on points of extreme magnitude and on degenerate arguments.

The neighbours and the adaptive kernel do not depend on the units of the
points, so points near the overflow threshold or subnormal give the graph of
the same points rescaled, and never an overflow inside numpy or scikit-learn.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from graphsig.graphs import knn_graph


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(size=(40, 3)), rng.normal(loc=6.0, size=(30, 3))])


def _same(a, b):
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


def _close(a, b, rtol):
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.data, b.data, rtol=rtol, atol=0)


@pytest.mark.parametrize("exponent", [-1000, -600, 600, 1000])
@pytest.mark.parametrize("weighting", ["adaptive", "connectivity"])
def test_power_of_two_scaling_gives_the_same_graph(points, exponent, weighting):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid value on the way
        scaled = knn_graph(np.ldexp(points, exponent), 6, weighting=weighting)
    _same(scaled, knn_graph(points, 6, weighting=weighting))


@pytest.mark.parametrize("scale", [1e300, 1e200, 1e-300])
def test_extreme_points_give_the_graph_of_the_rescaled_points(points, scale):
    huge = points * scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = knn_graph(huge, 6)
    exponent = int(np.frexp(np.abs(huge).max())[1])
    _same(graph, knn_graph(np.ldexp(huge, -exponent), 6))
    _close(graph, knn_graph(points, 6), rtol=1e-12)


def test_subnormal_points(points):
    # subnormal coordinates carry fewer digits: the graph agrees to their precision
    tiny = points * 1e-310
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = knn_graph(tiny, 6)
    _close(graph, knn_graph(points, 6), rtol=1e-9)
    assert graph.data.min() > 0 and graph.data.max() <= 1


def test_sparse_points_near_the_overflow_threshold(points):
    huge = points * 1e300
    exponent = int(np.frexp(np.abs(huge).max())[1])
    graph = knn_graph(sp.csr_matrix(huge), 6)
    _same(graph, knn_graph(sp.csr_matrix(np.ldexp(huge, -exponent)), 6))
    # the sparse search computes the distances another way: equal to rounding
    _close(graph, knn_graph(huge, 6), rtol=1e-9)


@pytest.mark.parametrize("metric", ["manhattan", "chebyshev", "sqeuclidean", "cosine",
                                    "correlation", "canberra", "braycurtis", "minkowski"])
@pytest.mark.parametrize("scale", [1e300, 1e-310])
def test_scale_free_metrics(points, metric, scale):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = knn_graph(points * scale, 5, metric=metric)
    _close(graph, knn_graph(points, 5, metric=metric), rtol=1e-9)


def test_squared_euclidean_kernel_does_not_overflow(points):
    # d is a squared distance here: d^2 overflows long before the points do
    _same(knn_graph(np.ldexp(points, 300), 5, metric="sqeuclidean"),
          knn_graph(points, 5, metric="sqeuclidean"))


def test_precomputed_distances_of_any_magnitude(points):
    from scipy.spatial.distance import cdist

    distances = cdist(points, points)
    _close(knn_graph(distances * 1e305, 5, metric="precomputed"),
           knn_graph(distances, 5, metric="precomputed"), rtol=1e-12)


@pytest.mark.parametrize("scale", [1e30, 1e-30])
def test_float32_points(points, scale):
    graph = knn_graph((points * scale).astype(np.float32), 5)
    assert graph.dtype == np.float32
    _close(graph, knn_graph(points.astype(np.float32), 5), rtol=1e-5)


def test_duplicated_points_near_the_overflow_threshold(points):
    doubled = np.concatenate([points, points]) * 1e300
    graph = knn_graph(doubled, 3)
    n = len(points)
    assert np.isfinite(graph.data).all()
    assert graph[0, n] == 1.0 and graph[5, n + 5] == 1.0
    _close(graph, knn_graph(np.concatenate([points, points]), 3), rtol=1e-12)


def test_identical_points_near_the_overflow_threshold():
    graph = knn_graph(np.full((6, 2), 1.5e308), 2)
    np.testing.assert_array_equal(graph.data, 1.0)


def test_callable_metric_refuses_points_it_cannot_measure(points):
    def euclidean(a, b):
        return np.sqrt(((a - b) ** 2).sum())

    graph = knn_graph(points, 4, metric=euclidean)
    _close(graph, knn_graph(points, 4), rtol=1e-12)
    for scale in (1e300, 1e-300):
        with pytest.raises(ValueError, match="outside the range where the metric"):
            knn_graph(points * scale, 4, metric=euclidean)


@pytest.mark.parametrize("n_neighbors", [True, np.True_, False])
def test_boolean_n_neighbors(points, n_neighbors):
    with pytest.raises(TypeError, match="n_neighbors must be an integer"):
        knn_graph(points, n_neighbors)


@pytest.mark.parametrize("n_neighbors", [70, 71, 10**30])
def test_n_neighbors_at_least_the_number_of_points(points, n_neighbors):
    with pytest.raises(ValueError, match=r"n_neighbors must be in \[1, n_points - 1\]"):
        knn_graph(points, n_neighbors)


def test_all_other_points_as_neighbours(points):
    graph = knn_graph(points * 1e300, len(points) - 1)
    assert graph.nnz == len(points) * (len(points) - 1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_points(points, bad):
    broken = points.copy()
    broken[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        knn_graph(broken, 4)


def test_sparse_points_with_duplicated_entries():
    # a CSR matrix may store one coordinate in several entries, which add up
    points = sp.csr_matrix((np.array([0.75, 0.25, -1.0]), np.array([0, 0, 0]),
                            np.array([0, 0, 2, 3])), shape=(3, 1))
    before = points.data.copy()
    _same(knn_graph(points, 1), knn_graph(points.toarray(), 1))
    np.testing.assert_array_equal(points.data, before)  # the input is left alone


@pytest.mark.parametrize("fmt", ["csr", "coo"])
def test_corrupted_sparse_points_are_refused(fmt):
    # out-of-range indices would be read out of bounds by scipy's conversions
    if fmt == "csr":
        points = sp.csr_matrix((np.ones(3), np.array([0, 5, 0]), np.array([0, 1, 2, 3])),
                               shape=(3, 1))
    else:
        points = sp.coo_matrix((np.ones(2), (np.array([0, 1]), np.array([0, 0]))),
                               shape=(3, 1))
        points.row[1] = 7
    with pytest.raises(ValueError, match="the sparse matrix is corrupted"):
        knn_graph(points, 1)


def test_sparse_duplicated_entries_that_overflow_when_summed():
    points = sp.csr_matrix((np.array([1.5e308, 1.5e308, 1.0]), np.array([0, 0, 0]),
                            np.array([0, 2, 3, 3])), shape=(3, 1))
    with pytest.raises(ValueError, match="duplicated entries whose sum overflows"):
        knn_graph(points, 1)
