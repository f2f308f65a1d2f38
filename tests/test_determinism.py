"""Bits that depend neither on the machine's history nor on batching.

- A kernel freshly compiled and the same kernel loaded from numba's on-disk
  cache give the same bits (no fastmath: with it, the copy of a kernel that
  runs after a cold compile and the copy stored in the cache may be
  optimised differently).
- A signal's embedding does not depend on the other signals transformed
  with it (batch of one, permutations, batch size), for every plan, dense
  and sparse input.
- Results do not depend on the number of numba threads (``n_jobs``).
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphsig.datasets import make_polyhierarchy
from graphsig.emd import DiffusionEMD, UnbalancedDiffusionEMD
from graphsig.graphs import grid_graph
from graphsig.neighbors import l1_distances, l1_kneighbors

ROOT = Path(__file__).resolve().parents[1]

# fits, transforms and measures distances on a small graph; prints hashes
_SCRIPT = r"""
import hashlib
import numpy as np
import scipy.sparse as sp
from graphsig.emd import DiffusionEMD, UnbalancedDiffusionEMD
from graphsig.graphs import grid_graph
from graphsig.neighbors import l1_distances, l1_kneighbors

def digest(a):
    a = a.toarray() if sp.issparse(a) else np.asarray(a)
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()

rng = np.random.default_rng(0)
X = rng.random((24, 48)) * (rng.random((24, 48)) < 0.3)
X[:, 0] += 0.5
for cls in (DiffusionEMD, UnbalancedDiffusionEMD):
    est = cls(grid_graph(6, 8)).fit(X)
    emb = est.transform(X)
    dense = emb.toarray() if sp.issparse(emb) else emb
    dist, ind = l1_kneighbors(dense, n_neighbors=3)
    print(cls.__name__, digest(np.float64(est.hop_scale_)), digest(emb),
          digest(est.transform(sp.csr_matrix(X))), digest(l1_distances(dense)),
          digest(dist), digest(ind))
"""


def _run_hashes(cache_dir):
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    return [line for line in lines if line.strip()]


def test_cold_compile_and_cached_load_give_the_same_bits(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    cold = _run_hashes(cache)  # compiles every kernel and writes the cache
    assert any(cache.rglob("*.nbi")), "the first run wrote no numba cache"
    warm = _run_hashes(cache)  # loads every kernel from the cache
    assert len(cold) == 2
    assert cold == warm


def _signals(n_nodes, n_signals, density, rng):
    """Sparse nonnegative signals with mass, and one that covers much of the graph."""
    X = (rng.random((n_signals, n_nodes)) < density) * rng.random((n_signals, n_nodes))
    X[np.arange(n_signals), rng.integers(0, n_nodes, n_signals)] += 1.0
    X[3] += (rng.random(n_nodes) < 0.2) * rng.random(n_nodes)
    return X


_GRAPHS = {
    # plan "global": the diffusion reaches across the grid (with trees)
    "global": lambda: (grid_graph(12, 12), 0.05),
    # plan "local": balls of the full reach would exceed the budget
    "local": lambda: (grid_graph(80, 80), 0.0005),
    # plan "hierarchy": hubs, trees alone
    "hierarchy": lambda: (make_polyhierarchy(1000, random_state=0)[0], 0.003),
}


@pytest.fixture(scope="module", params=sorted(_GRAPHS))
def fitted(request):
    graph, density = _GRAPHS[request.param]()
    rng = np.random.default_rng(1)
    X = _signals(graph.shape[0], 30, density, rng)
    estimators = [cls(graph).fit(X) for cls in (DiffusionEMD, UnbalancedDiffusionEMD)]
    for est in estimators:
        assert est.plan_["kind"] == request.param
    return request.param, X, estimators


def _dense(a):
    return a.toarray() if sp.issparse(a) else np.asarray(a)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("which", [0, 1], ids=["balanced", "unbalanced"])
def test_batch_of_one_and_permutations(fitted, which, sparse):
    _, X, estimators = fitted
    est = estimators[which]
    X = sp.csr_matrix(X) if sparse else X
    full = _dense(est.transform(X))
    for i in (0, 3, 7, 29):  # row 3 covers much of the graph, the others do not
        one = _dense(est.transform(X[i : i + 1]))
        np.testing.assert_array_equal(one[0], full[i], strict=True)
        assert one[0].tobytes() == full[i].tobytes()
    perm = np.random.default_rng(2).permutation(X.shape[0])
    assert _dense(est.transform(X[perm])).tobytes() == full[perm].tobytes()
    assert _dense(est.transform(X[[5, 3]])).tobytes() == full[[5, 3]].tobytes()


@pytest.mark.parametrize("which", [0, 1], ids=["balanced", "unbalanced"])
def test_batch_size_changes_no_bit(fitted, which):
    _, X, estimators = fitted
    est = estimators[which]
    X = X[:29]
    reference = [_dense(est.transform(x)) for x in (X, sp.csr_matrix(X))]
    # batches of 7 signals, the last of one (work arrays: the diffusions and
    # 5 more vectors over the nodes per signal)
    per_signal = (len(est.times_) + 5) * X.shape[1] * X.dtype.itemsize
    small = est.set_params(max_memory=7 * per_signal)
    assert est._batch_size(X.dtype) == 7
    try:
        for x, ref in zip((X, sp.csr_matrix(X)), reference):
            assert _dense(small.transform(x)).tobytes() == ref.tobytes()
    finally:
        est.set_params(max_memory=None)


def test_float32_batch_of_one():
    rng = np.random.default_rng(3)
    graph = grid_graph(12, 12)
    X = _signals(graph.shape[0], 12, 0.05, rng).astype(np.float32)
    for cls in (DiffusionEMD, UnbalancedDiffusionEMD):
        for compression in (1.0, 16.0):
            est = cls(graph, compression=compression).fit(X)
            for x in (X, sp.csr_matrix(X)):
                full = _dense(est.transform(x))
                assert full.dtype == np.float32
                for i in (0, 3, 11):
                    assert _dense(est.transform(x[i : i + 1]))[0].tobytes() == full[i].tobytes()


def _digest(a):
    return hashlib.sha256(np.ascontiguousarray(_dense(a)).tobytes()).hexdigest()


@pytest.mark.parametrize("cls", [DiffusionEMD, UnbalancedDiffusionEMD])
@pytest.mark.parametrize("compression", [1.0, 16.0])
def test_n_jobs_changes_no_bit(cls, compression):
    rng = np.random.default_rng(4)
    graph = grid_graph(10, 12)
    X = _signals(graph.shape[0], 40, 0.05, rng)
    results = []
    for n_jobs in (1, 2):
        est = cls(graph, compression=compression, n_jobs=n_jobs).fit(X)
        results.append((
            est.hop_scale_, est.tree_scale_, getattr(est, "tree_weight_", None),
            _digest(est.transform(X)), _digest(est.transform(sp.csr_matrix(X))),
        ))
    assert results[0] == results[1]


def test_l1_kernels_batch_and_threads():
    rng = np.random.default_rng(5)
    for dtype in (np.float64, np.float32):
        A = rng.random((70, 301)).astype(dtype)
        B = rng.random((300, 301)).astype(dtype)
        B[7] = B[11]  # a tie
        full = l1_distances(A, B, n_jobs=2)
        assert l1_distances(A, B, n_jobs=1).tobytes() == full.tobytes()
        for i in (0, 13, 69):
            assert l1_distances(A[i : i + 1], B).tobytes() == full[i].tobytes()
        # the plain sum, feature by feature, accumulated in float64
        plain = np.zeros(B.shape[0])
        for f in range(A.shape[1]):
            plain += np.abs(A[13, f] - B[:, f]).astype(np.float64)
        assert full[13].tobytes() == plain.astype(dtype).tobytes()
        dist, ind = l1_kneighbors(A, B, n_neighbors=5, n_jobs=2)
        dist1, ind1 = l1_kneighbors(A, B, n_neighbors=5, n_jobs=1)
        assert dist.tobytes() == dist1.tobytes() and np.array_equal(ind, ind1)
        one_d, one_i = l1_kneighbors(A[13:14], B, n_neighbors=5)
        assert one_d.tobytes() == dist[13].tobytes() and np.array_equal(one_i[0], ind[13])
