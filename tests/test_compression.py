"""Compressed embeddings: layout, sparse/local path, accuracy against dense."""

import numpy as np
import pytest
import scipy.sparse as sp

from graphsig import DiffusionEMD, UnbalancedDiffusionEMD, exact_emd
from graphsig.datasets import make_clustered_signals
from graphsig.graphs import grid_graph, partition_pyramid, path_graph
from graphsig.neighbors import l1_distances


@pytest.fixture(scope="module")
def grid_data():
    W = sp.csr_matrix(grid_graph(24, 24), dtype=np.float64)
    X, centres = make_clustered_signals(W, 120, n_centers=12, max_nnz=12, random_state=1)
    return W, X


def test_pyramid_cells_are_nested_and_shrink():
    pyramid = partition_pyramid(grid_graph(20, 20), random_state=3)
    assert pyramid.n_cells[0] == 400
    assert np.all(np.diff(pyramid.n_cells) < 0)
    for fine, coarse in zip(pyramid.labels[:-1], pyramid.labels[1:]):
        # every fine cell lies inside one coarse cell
        pairs = np.unique(np.stack([fine, coarse]), axis=1)
        assert np.unique(pairs[0]).size == pairs.shape[1]
    agg = pyramid.aggregation(1)
    assert np.allclose(np.asarray(agg.sum(axis=0)).ravel(), 1.0)


def test_pyramid_rejects_empty_graph():
    with pytest.raises(ValueError, match="no nodes|empty"):
        partition_pyramid(sp.csr_matrix((0, 0)))


def test_compressed_is_smaller_and_named(grid_data):
    W, X = grid_data
    dense = DiffusionEMD(W, compression=1).fit(X)
    small = DiffusionEMD(W).fit(X)
    assert small.n_features_out_ < 0.7 * dense.n_features_out_
    emb = small.transform(X.toarray())
    assert emb.shape == (X.shape[0], small.n_features_out_)
    names = small.get_feature_names_out()
    assert names.shape == (small.n_features_out_,) and len(set(names)) == names.size


@pytest.mark.parametrize("cls", [DiffusionEMD, UnbalancedDiffusionEMD])
def test_sparse_local_path_equals_dense_path(grid_data, cls):
    W, X = grid_data
    est = cls(W, max_scale=5).fit(X)
    sparse = est.transform(X)
    dense = est.transform(X.toarray())
    assert sp.issparse(sparse) and not sp.issparse(dense)
    np.testing.assert_allclose(sparse.toarray(), dense, atol=1e-9)


def test_leaf_merge_changes_no_distance(grid_data):
    # with every diffusion block kept per node, merging the trees' leaf
    # coordinates must leave all distances unchanged
    W, X = grid_data
    dense = DiffusionEMD(W, max_scale=4, compression=1, tree_weight=0.3).fit(X)
    merged = DiffusionEMD(W, max_scale=4, compression=1.01, tree_weight=0.3).fit(X)
    assert np.all(merged.block_levels_ == 0)
    assert merged.n_features_out_ < dense.n_features_out_
    d0 = l1_distances(dense.transform(X.toarray()))
    d1 = l1_distances(merged.transform(X.toarray()))
    np.testing.assert_allclose(d1, d0, rtol=1e-9, atol=1e-9)


def test_compressed_keeps_neighbour_accuracy(grid_data):
    W, X = grid_data
    queries = np.arange(10)
    exact = exact_emd(W, X[queries], X)

    def precision(est):
        emb = est.fit(X).transform(X.toarray())
        approx = l1_distances(emb[queries], emb)
        hits = []
        for i, q in enumerate(queries):
            a, e = approx[i].copy(), exact[i].copy()
            a[q] = e[q] = np.inf
            hits.append(np.intersect1d(np.argsort(a, kind="stable")[:10],
                                       np.argsort(e, kind="stable")[:10]).size / 10)
        return np.mean(hits)

    dense = precision(DiffusionEMD(W, compression=1))
    compressed = precision(DiffusionEMD(W))
    assert compressed >= dense - 0.05
    assert compressed >= 0.7


def test_compression_on_a_small_graph_falls_back_to_nodes():
    X = np.eye(6)[:4] + 0.1
    est = DiffusionEMD(path_graph(6)).fit(X)
    assert np.all(est.block_levels_ == 0)  # fewer than 32 cells at any coarser level
    assert est.transform(X).shape == (4, est.n_features_out_)


def test_compression_below_one_is_rejected():
    with pytest.raises(ValueError, match="compression"):
        DiffusionEMD(path_graph(5), compression=0.5).fit(np.eye(5))


def test_clustered_signals_are_sparse_and_seeded():
    W = grid_graph(30, 30)
    X1, c1 = make_clustered_signals(W, 40, max_nnz=8, random_state=5)
    X2, c2 = make_clustered_signals(W, 40, max_nnz=8, random_state=5)
    assert (X1 != X2).nnz == 0 and np.array_equal(c1, c2)
    assert X1.getnnz(axis=1).max() <= 8 and X1.min() >= 0


@pytest.mark.parametrize(
    "kwargs, message",
    [({"n_signals": 0}, "n_signals"), ({"min_nnz": 5, "max_nnz": 2}, "min_nnz"),
     ({"n_centers": 10_000}, "n_centers")],
)
def test_clustered_signals_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_clustered_signals(grid_graph(10, 10), **{"n_signals": 5, **kwargs})


def test_auto_scale_is_capped_by_ball_growth(monkeypatch):
    import graphsig.emd._plan as plan

    # a grid whose balls of radius 8 exceed the budget: the diffusion stops
    # below the reach of the graph; the signals (about 3 hops wide) spread
    # farther than it moves mass, so trees join it
    monkeypatch.setattr(plan, "BALL_BUDGET", 100)
    graph = grid_graph(40, 40)
    X, _ = make_clustered_signals(graph, 30, random_state=0)
    est = DiffusionEMD(graph, n_calibration_signals=8).fit(X)
    assert est.plan_["kind"] == "local"
    assert est.max_scale_ < est.plan_["reach_scale"]
    assert est.plan_["spread"] > plan.reach_hops(est.max_scale_)
    assert est.n_trees_ == 8
    # balls of radius degree(2^max_scale) are within the budget
    from graphsig.diffusion._operator import _chebyshev_degree

    radius = _chebyshev_degree(2**est.max_scale_, est.tol)
    assert 2 * radius * (radius + 1) + 1 <= 100  # ball of a 4-neighbour grid
    E = est.transform(X)
    assert sp.issparse(E) and E.shape[0] == 30
