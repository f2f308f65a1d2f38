"""Tests of graphsig.parallel: embeddings and kNN on a local Dask cluster."""

import socket
import sys
import time

import numpy as np
import pytest
import scipy.sparse as sp

dask = pytest.importorskip("dask", reason="Dask is not installed (pip install graphsig[dask])")
distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install graphsig[dask])"
)
import dask.array as da  # noqa: E402
from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from graphsig import DiffusionEMD, UnbalancedDiffusionEMD  # noqa: E402
from graphsig.graphs import grid_graph  # noqa: E402
from graphsig.neighbors import l1_kneighbors  # noqa: E402
from graphsig.parallel import connect, embed, kneighbors  # noqa: E402

# the workers cannot import this module: send its classes by value
import cloudpickle  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])

N_ROWS, N_COLS = 6, 7
N_NODES = N_ROWS * N_COLS
N_SIGNALS = 61


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    X = rng.uniform(0.1, 1.0, size=(N_SIGNALS, N_NODES))
    X[rng.uniform(size=X.shape) < 0.8] = 0.0
    X[:, 3] += 0.2  # every signal has mass
    est = DiffusionEMD(grid_graph(N_ROWS, N_COLS)).fit(X)
    return est, X


def _dense(a):
    return a.toarray() if sp.issparse(a) else np.asarray(a)


def _assert_same(got, expected):
    """Bitwise equal, of the same kind (dense or sparse) and dtype."""
    assert sp.issparse(got) == sp.issparse(expected)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(_dense(got), _dense(expected))


# ---------------------------------------------------------------------------
# embed


def test_embed_dense_equals_serial(client, problem):
    est, X = problem
    emb = embed(est, X, client=client, chunk_size=13)
    assert isinstance(emb, da.Array)
    assert emb.chunks == ((13, 13, 13, 13, 9), (est.n_features_out_,))
    _assert_same(emb.compute(), est.transform(X))


def test_embed_sparse_equals_serial(client, problem):
    est, X = problem
    Xs = sp.csr_matrix(X)
    emb = embed(est, Xs, client=client, chunk_size=20)
    _assert_same(emb.compute(), est.transform(Xs))


def test_embed_dask_array_keeps_row_chunks(client, problem):
    est, X = problem
    Xd = da.from_array(X, chunks=(17, 10))  # column chunks are joined
    emb = embed(est, Xd)  # the default client
    assert emb.chunks[0] == (17, 17, 17, 10)
    _assert_same(emb.compute(), est.transform(X))


def test_embed_unbalanced_float32(client, problem):
    _, X = problem
    X32 = (3.0 * X).astype(np.float32)
    est = UnbalancedDiffusionEMD(grid_graph(N_ROWS, N_COLS), mass_penalty=2.0).fit(X32)
    got = embed(est, X32, client=client, chunk_size=30).compute()
    assert got.dtype == np.float32
    _assert_same(got, est.transform(X32))


def test_embed_estimator_is_broadcast_once(client, problem):
    est, X = problem
    before = set(client.who_has())
    emb = embed(est, X, client=client, chunk_size=10)
    new = {k: v for k, v in client.who_has().items() if k not in before}
    estimators = [k for k in new if str(k).startswith("DiffusionEMD-")]
    assert len(estimators) == 1  # one copy, referenced by every task ...
    assert len(new[estimators[0]]) == 2  # ... held by both workers
    assert not [k for k in emb.__dask_graph__() if "DiffusionEMD" in str(k)]  # not in the graph
    _assert_same(emb.compute(), est.transform(X))


class _ThreadProbe(TransformerMixin, BaseEstimator):
    """A row-wise transformer reporting the numba threads it runs with."""

    def __init__(self, n_jobs=None):
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        self.n_features_out_ = 1
        return self

    def transform(self, X):
        import numba

        return np.full((X.shape[0], 1), numba.get_num_threads(), dtype=np.float64)


def test_numba_threads_per_task(client):
    X = np.ones((8, 3))
    probe = _ThreadProbe(n_jobs=-1).fit(X)  # the estimator's own n_jobs is overridden
    # each worker has one thread: its tasks run numba on one thread
    assert np.unique(embed(probe, X, client=client, chunk_size=2).compute()).tolist() == [1]
    # without the setting a worker's numba would use every core
    assert set(client.run(lambda: __import__("numba").get_num_threads()).values()) == {
        __import__("numba").config.NUMBA_NUM_THREADS
    }
    # n_jobs asks for more per task
    got = embed(probe, X, client=client, chunk_size=2, n_jobs=2).compute()
    assert np.unique(got).tolist() == [min(2, __import__("numba").config.NUMBA_NUM_THREADS)]


def test_default_chunks_are_whole_batches(client, problem):
    _, X = problem
    est = DiffusionEMD(grid_graph(N_ROWS, N_COLS)).fit(X)
    f64 = np.dtype(np.float64)
    # two chunks per worker thread: 16 rows each, cut down to whole batches of 7
    for max_memory in range(2**12, 2**24, 2**9):
        if est.set_params(max_memory=max_memory)._batch_size(f64) == 7:
            break
    assert est._batch_size(f64) == 7
    emb = embed(est, X, client=client)
    assert emb.chunks[0] == (14, 14, 14, 14, 5)
    _assert_same(emb.compute(), est.transform(X))
    assert embed(est, sp.csr_matrix(X), client=client).chunks[0] == (14, 14, 14, 14, 5)
    # an explicit chunk size is kept
    assert embed(est, X, client=client, chunk_size=10).chunks[0] == (10,) * 6 + (1,)
    # chunks within one batch stay two per thread
    est.set_params(max_memory=None)
    assert est._batch_size(f64) > 16
    assert embed(est, X, client=client).chunks[0] == (16, 16, 16, 13)


def test_embed_not_fitted(client, problem):
    _, X = problem
    with pytest.raises(NotFittedError, match="not fitted: call fit on a sample"):
        embed(DiffusionEMD(grid_graph(N_ROWS, N_COLS)), X, client=client)


def test_embed_width_mismatch(client, problem):
    est, X = problem
    with pytest.raises(ValueError, match=f"X has {N_NODES - 1} columns .* fitted on {N_NODES}"):
        embed(est, X[:, 1:], client=client)


def test_embed_bad_chunk_size(client, problem):
    est, X = problem
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        embed(est, X, client=client, chunk_size=0)


def test_embed_bad_n_jobs(client, problem):
    est, X = problem
    with pytest.raises(ValueError, match="n_jobs must be None or a nonzero integer"):
        embed(est, X, client=client, n_jobs=0)


# ---------------------------------------------------------------------------
# kneighbors


def test_kneighbors_equals_serial(client, problem):
    est, X = problem
    emb = est.transform(X)
    expected = l1_kneighbors(emb, n_neighbors=6, exclude_self=True)
    got = kneighbors(emb, n_neighbors=6, exclude_self=True, client=client, chunk_size=11)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[0].dtype == expected[0].dtype


def test_kneighbors_queries_and_data(client, problem):
    est, X = problem
    emb = est.transform(X)
    queries, data = emb[::3], emb[5:]
    expected = l1_kneighbors(queries, data, n_neighbors=4)
    got = kneighbors(queries, data, n_neighbors=4, client=client, chunk_size=9)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])


def test_kneighbors_ties_by_index(client):
    # many equal rows: ties broken by the smaller index across blocks
    data = np.repeat(np.eye(3), 7, axis=0)
    expected = l1_kneighbors(data, n_neighbors=9, exclude_self=True)
    got = kneighbors(data, n_neighbors=9, exclude_self=True, client=client, chunk_size=4)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])


def test_kneighbors_sparse_embedding(client, problem):
    est, X = problem
    emb = est.transform(X)
    emb = sp.csr_matrix(np.where(emb > np.quantile(emb, 0.7), emb, 0.0))
    expected = l1_kneighbors(emb, n_neighbors=5, exclude_self=True)
    got = kneighbors(emb, n_neighbors=5, exclude_self=True, client=client, chunk_size=16)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])


def test_kneighbors_of_embed_result(client, problem):
    est, X = problem
    emb = embed(est, X, client=client, chunk_size=25)
    expected = l1_kneighbors(est.transform(X), n_neighbors=3)
    got = kneighbors(emb, n_neighbors=3, client=client)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])


def test_kneighbors_too_many_neighbours(client):
    data = np.eye(4)
    with pytest.raises(ValueError, match="n_neighbors=4 is larger than the 3 data rows"):
        kneighbors(data, n_neighbors=4, exclude_self=True, client=client)


def test_kneighbors_feature_mismatch(client):
    with pytest.raises(ValueError, match="same number of features, got 3 and 2"):
        kneighbors(np.eye(3), np.ones((4, 2)), n_neighbors=1, client=client)


# ---------------------------------------------------------------------------
# unreachable cluster


def _closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_unreachable_cluster_raises_in_bounded_time(problem):
    est, X = problem
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=rf"cannot reach the Dask scheduler at "
                                              rf"'{address}' within 1 s"):
        embed(est, X, client=address, timeout=1)
    assert time.perf_counter() - start < 8


def test_connect_bad_timeout():
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds > 0"):
        connect("tcp://127.0.0.1:1", timeout=0)
