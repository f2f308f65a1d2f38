"""l1_kneighbors: exact L1 top-k against scikit-learn's brute-force search."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

import graphsig.neighbors._knn as knn_module
from graphsig.neighbors import l1_distances, l1_kneighbors


def brute(queries, data, k):
    nn = NearestNeighbors(n_neighbors=k, metric="manhattan", algorithm="brute")
    return nn.fit(np.asarray(data, dtype=np.float64)).kneighbors(
        np.asarray(queries, dtype=np.float64)
    )


def sorted_by_distance_then_index(dist, ind):
    for d, i in zip(dist, ind):
        order = np.lexsort((i, d))
        if not np.array_equal(order, np.arange(len(d))):
            return False
    return True


def data_with_duplicates(n=300, n_features=23, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_features))
    X[[5, 77, 150]] = X[40]
    X[200] = X[201]
    return X


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_matches_sklearn_brute(dtype):
    X = data_with_duplicates().astype(dtype)
    queries = np.vstack([X[:50], np.random.default_rng(1).random((20, 23)).astype(dtype)])
    dist, ind = l1_kneighbors(queries, X, 7)
    ref_dist, _ = brute(queries, X, 7)
    assert dist.dtype == dtype and ind.dtype == np.int64 and dist.shape == (70, 7)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-5 if dtype == np.float32 else 1e-12)
    # the neighbours are right: their true distances are the k smallest
    true = l1_distances(queries.astype(np.float64), X.astype(np.float64))
    np.testing.assert_allclose(np.take_along_axis(true, ind, 1), ref_dist, rtol=1e-5)
    assert sorted_by_distance_then_index(dist, ind)


def test_query_block_edges_and_more_queries_than_a_block():
    # 131 queries: two full blocks of 64 and a ragged one of 3; 517 data rows
    rng = np.random.default_rng(2)
    X = rng.random((517, 9))
    Q = rng.random((131, 9))
    dist, ind = l1_kneighbors(Q, X, 12)
    ref_dist, ref_ind = brute(Q, X, 12)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)


def test_self_search_and_exclude_self():
    X = data_with_duplicates()
    dist, ind = l1_kneighbors(X, n_neighbors=5, exclude_self=True)
    assert not np.any(ind == np.arange(300)[:, None])
    ref_dist, _ = brute(X, X, 6)
    np.testing.assert_allclose(dist, ref_dist[:, 1:], atol=1e-12)
    # duplicates: the copies of row 40 are each other's nearest, by index
    assert ind[40, :3].tolist() == [5, 77, 150]
    assert ind[5, :3].tolist() == [40, 77, 150]
    assert np.all(dist[40, :3] == 0)
    dist_all, ind_all = l1_kneighbors(X, n_neighbors=4)
    assert ind_all[77].tolist() == [5, 40, 77, 150]


def test_ties_are_the_same_on_every_thread_count():
    X = np.repeat(np.random.default_rng(4).random((40, 6)), 5, axis=0)
    one = l1_kneighbors(X, n_neighbors=8, n_jobs=1)
    two = l1_kneighbors(X, n_neighbors=8, n_jobs=2)
    again = l1_kneighbors(X, n_neighbors=8, n_jobs=2)
    assert np.array_equal(one[1], two[1]) and np.array_equal(two[1], again[1])
    assert sorted_by_distance_then_index(*one)
    assert one[1][7].tolist()[:5] == [5, 6, 7, 8, 9]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_matches_sklearn_brute(dtype):
    rng = np.random.default_rng(5)
    S = sp.random(250, 400, density=0.03, random_state=5, format="csr", dtype=dtype)
    S.data -= dtype(0.3)  # signs differ: the overlap identity must check them
    S = sp.vstack([S, S[:4], sp.csr_matrix((2, 400), dtype=dtype)]).tocsr()
    queries = S[rng.choice(256, 40, replace=False)]
    dist, ind = l1_kneighbors(queries, S, 6)
    ref_dist, _ = brute(queries.toarray(), S.toarray(), 6)
    assert dist.dtype == dtype
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-5 if dtype == np.float32 else 1e-12)
    dense = l1_kneighbors(queries.toarray(), S.toarray(), 6)
    np.testing.assert_array_equal(ind, dense[1])


def test_sparse_exclude_self_with_empty_rows_and_duplicates():
    S = sp.random(120, 60, density=0.05, random_state=6, format="csr")
    S = sp.vstack([S, S[10], sp.csr_matrix((3, 60))]).tocsr()
    dist, ind = l1_kneighbors(S, n_neighbors=3, exclude_self=True)
    dense_dist, dense_ind = l1_kneighbors(S.toarray(), n_neighbors=3, exclude_self=True)
    np.testing.assert_array_equal(ind, dense_ind)
    np.testing.assert_allclose(dist, dense_dist, atol=1e-12)
    assert ind[120, 0] == 10 and dist[120, 0] == 0
    # the empty rows find other empty rows, at distance 0, in index order
    empty = np.flatnonzero(np.diff(S.indptr) == 0)
    assert np.all(dist[121] == 0) and ind[121].tolist() == [e for e in empty if e != 121][:3]


def test_dense_enough_sparse_input_is_searched_by_densified_blocks(monkeypatch):
    rng = np.random.default_rng(7)
    X = rng.random((300, 40))
    X[X < 0.4] = 0
    X[250] = X[3]
    monkeypatch.setattr(knn_module, "_DENSE_BLOCK_BYTES", 40 * 8 * 100)  # blocks of 256 rows
    calls = []
    original = knn_module._densified_kneighbors
    monkeypatch.setattr(
        knn_module, "_densified_kneighbors", lambda *a: calls.append(1) or original(*a)
    )
    dist, ind = l1_kneighbors(sp.csr_matrix(X), n_neighbors=5, exclude_self=True)
    assert calls  # 60 % nonzeros: cheaper densely
    ref = l1_kneighbors(X, n_neighbors=5, exclude_self=True)
    np.testing.assert_array_equal(ind, ref[1])
    np.testing.assert_allclose(dist, ref[0], atol=1e-12)


def test_n_neighbors_larger_than_data():
    X = np.random.default_rng(0).random((5, 3))
    with pytest.raises(ValueError, match="n_neighbors=6 is larger than the 5 data rows"):
        l1_kneighbors(X, n_neighbors=6)
    with pytest.raises(ValueError, match="larger than the 4 data rows available"):
        l1_kneighbors(X, n_neighbors=5, exclude_self=True)


def test_width_mismatch():
    with pytest.raises(ValueError, match="same number of features, got 3 and 4"):
        l1_kneighbors(np.ones((2, 3)), np.ones((5, 4)), 1)


def test_nan_in_embeddings():
    X = np.ones((4, 3))
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="data contains NaN or inf"):
        l1_kneighbors(np.ones((2, 3)), X, 1)


def test_exclude_self_needs_matching_sizes():
    with pytest.raises(ValueError, match="exclude_self=True needs as many queries"):
        l1_kneighbors(np.ones((2, 3)), np.ones((5, 3)), 1, exclude_self=True)


def test_n_neighbors_must_be_a_positive_int():
    with pytest.raises(TypeError, match="n_neighbors must be an int"):
        l1_kneighbors(np.ones((4, 3)), n_neighbors=2.0)
    with pytest.raises(ValueError, match="n_neighbors must be at least 1"):
        l1_kneighbors(np.ones((4, 3)), n_neighbors=0)


def test_zero_queries_give_empty_results():
    dist, ind = l1_kneighbors(np.ones((0, 3)), np.ones((4, 3)), 2)
    assert dist.shape == (0, 2) and ind.shape == (0, 2)
