"""Tests for graphsig.diffusion: Chebyshev coefficients, the diffusion engine, diameters.

The fast path (``DiffusionOperator.diffuse``, a numba Chebyshev recurrence) is
checked against three oracles: the slow exact path (``diffuse_exact``,
repeated sparse products), a lazy random walk built here from the adjacency
alone, and the exact spectral result from a dense eigendecomposition.

Most calls pass ``n_jobs=1``: the graphs here are tiny, so numba threads only
add one synchronisation per Chebyshev term; threading is tested on its own.
"""

import pickle
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial import chebyshev
from scipy.sparse.csgraph import shortest_path
from scipy.stats import binom

from graphsig.diffusion import (
    DiffusionOperator,
    dyadic_times,
    estimate_diameter,
    lazy_walk_chebyshev,
)
from graphsig.graphs import cycle_graph, grid_graph, knn_graph, path_graph, random_tree

S_GRID = np.linspace(-1.0, 1.0, 2001)


def lazy_filter(t, s=S_GRID):
    return ((1.0 + s) / 2.0) ** t


def random_signals(n_signals, n_nodes, rng, density=0.3):
    """Nonnegative signals, each with some mass, a few of them Diracs."""
    X = rng.random((n_signals, n_nodes)) * (rng.random((n_signals, n_nodes)) < density)
    X[np.arange(n_signals), rng.integers(0, n_nodes, n_signals)] += 0.5
    X[0] = 0.0
    X[0, 0] = 1.0
    return X


def lazy_walk_oracle(adjacency, anisotropy, weighted):
    """Column-stochastic lazy walk (I + K D^-1) / 2, built from the adjacency only."""
    W = sp.csr_matrix(adjacency, dtype=np.float64, copy=True)
    W.setdiag(0)
    W.eliminate_zeros()
    if not weighted:
        W.data[:] = 1.0
    W = W.toarray()
    q = W.sum(axis=1)
    qa = np.where(q > 0, q, 1.0) ** -anisotropy
    K = qa[:, None] * W * qa[None, :]
    d = K.sum(axis=0)
    P = np.where(d > 0, K / np.where(d > 0, d, 1.0)[None, :], 0.0)
    P[np.diag_indices_from(P)] += d == 0  # isolated nodes keep their mass
    return 0.5 * (np.eye(len(q)) + P)


def oracle_graphs():
    rng = np.random.default_rng(0)
    return {
        "knn": knn_graph(rng.normal(size=(60, 2)), n_neighbors=6),
        "path": path_graph(30),
        "grid": grid_graph(6, 7),
        "tree": random_tree(40, random_state=1),
    }


# ---------------------------------------------------------------------------
# lazy_walk_chebyshev


@pytest.mark.parametrize("t", range(13))
def test_chebyshev_short_times_are_exact(t):
    coef = lazy_walk_chebyshev([t])
    assert coef.shape == (t + 1, 1)
    values = chebyshev.chebval(S_GRID, coef[:, 0])
    np.testing.assert_allclose(values, lazy_filter(t), rtol=0, atol=1e-12)


def test_chebyshev_several_short_times_at_once():
    times = list(range(13))
    coef = lazy_walk_chebyshev(times)
    assert coef.shape == (13, 13)  # degree max(times): exact, nothing truncated
    for j, t in enumerate(times):
        np.testing.assert_allclose(
            chebyshev.chebval(S_GRID, coef[:, j]), lazy_filter(t), rtol=0, atol=1e-12
        )
        assert np.all(coef[t + 1 :, j] == 0)


@pytest.mark.parametrize(
    "times", [[0, 1, 2, 5, 12], [256], [4096], [0, 4096], list(dyadic_times(12))]
)
def test_chebyshev_coefficients_nonnegative_and_sum_to_one(times):
    tol = 1e-7
    coef = lazy_walk_chebyshev(times, tol)
    assert coef.dtype == np.float64
    assert np.all(coef >= 0)
    sums = coef.sum(axis=0)
    assert np.all(sums <= 1 + 1e-10)  # gammaln rounding at long times
    assert np.all(sums >= 1 - tol)


@pytest.mark.parametrize("t", [256, 4096])
@pytest.mark.parametrize("tol", [1e-7, 1e-10])
def test_chebyshev_long_times_truncated_within_tol(t, tol):
    coef = lazy_walk_chebyshev([t], tol)
    degree = coef.shape[0] - 1
    # the degree grows like sqrt(t log(1/tol)), far below t
    assert degree < t / 3
    assert degree <= 4 * np.sqrt(t * np.log(1 / tol))
    error = np.abs(chebyshev.chebval(S_GRID, coef[:, 0]) - lazy_filter(t)).max()
    assert error <= tol
    # closed form: c_0 = b(t), c_k = 2 b(t - k) with b the Binomial(2t, 1/2) pmf
    k = np.arange(degree + 1)
    closed = np.where(k == 0, 1.0, 2.0) * binom.pmf(t - k, 2 * t, 0.5)
    np.testing.assert_allclose(coef[:, 0], closed, rtol=2 * tol)
    # the degree is the smallest whose tail sum_{k > degree} c_k is <= tol / 2
    # (the rescaling to f_t(1) = 1 then keeps the total error <= tol)
    tail = lambda m: 2.0 * binom.cdf(t - m - 1, 2 * t, 0.5)  # noqa: E731
    assert tail(degree) <= tol / 2 < tail(degree - 1)


def test_chebyshev_columns_do_not_depend_on_the_other_times():
    alone = lazy_walk_chebyshev([3])
    together = lazy_walk_chebyshev([3, 256])
    np.testing.assert_array_equal(together[: alone.shape[0], 0], alone[:, 0])
    assert np.all(together[alone.shape[0] :, 0] == 0)


def test_chebyshev_memory_does_not_grow_with_the_longest_time():
    # 2**16 lazy steps need about 1,000 terms (coefficient table of 144 kB for
    # the 18 dyadic times); nothing of length 2**16 per time should be built.
    times = dyadic_times(16)
    tracemalloc.start()
    try:
        coef = lazy_walk_chebyshev(times)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert coef.shape[0] < 2000
    assert peak < 4 * 2**20, f"peak memory {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    "times, match",
    [
        ([], "non-empty"),
        ([-1], "nonnegative"),
        ([0, 2, -3], "nonnegative"),
        ([[1, 2]], "1-D"),
        (3, "1-D"),
    ],
)
def test_chebyshev_bad_times(times, match):
    with pytest.raises(ValueError, match=match):
        lazy_walk_chebyshev(times)


def test_chebyshev_non_integer_times_rejected():
    # 1.5 lazy steps is not a polynomial of S; it must not be truncated to 1 silently
    with pytest.raises(ValueError, match="integer"):
        lazy_walk_chebyshev([1.5])


@pytest.mark.parametrize("tol", [0, 1, -1e-3, 2.0, float("nan")])
def test_chebyshev_bad_tol(tol):
    with pytest.raises(ValueError, match="tol must be in"):
        lazy_walk_chebyshev([4], tol)


def test_dyadic_times():
    np.testing.assert_array_equal(dyadic_times(0), [0, 1])
    np.testing.assert_array_equal(dyadic_times(4), [0, 1, 2, 4, 8, 16])
    with pytest.raises(ValueError, match="max_scale must be >= 0"):
        dyadic_times(-1)


# ---------------------------------------------------------------------------
# the diffusion engine against oracles


@pytest.mark.parametrize("name", ["knn", "path", "grid", "tree"])
def test_diffuse_matches_exact_path(name):
    graph = oracle_graphs()[name]
    rng = np.random.default_rng(1)
    X = random_signals(6, graph.shape[0], rng)
    times = dyadic_times(6)  # 0, 1, 2, 4, ..., 64
    for weighted in (True, False):
        for anisotropy in (0.0, 0.5, 1.0):
            op = DiffusionOperator(graph, anisotropy=anisotropy, weighted=weighted)
            exact = op.diffuse_exact(X, times)
            # tol small enough that the truncation is below rounding
            fast = op.diffuse(X, times, tol=1e-14, n_jobs=1)
            assert fast.shape == (len(times), 6, graph.shape[0])
            err = np.abs(fast - exact).max()
            assert err <= 1e-9, (weighted, anisotropy, err)
            # the default tol bounds the truncation error
            fast = op.diffuse(X, times, n_jobs=1)
            assert np.abs(fast - exact).max() <= 10 * 1e-7


@pytest.mark.parametrize("name", ["knn", "tree"])
@pytest.mark.parametrize("anisotropy", [0.0, 0.5, 1.0])
def test_exact_path_matches_lazy_walk_built_from_adjacency(name, anisotropy):
    graph = oracle_graphs()[name]
    weighted = name == "knn"
    op = DiffusionOperator(graph, anisotropy=anisotropy, weighted=weighted)
    step = lazy_walk_oracle(graph, anisotropy, weighted)
    np.testing.assert_allclose(step.sum(axis=0), 1.0, atol=1e-12)  # the oracle moves mass
    X = random_signals(4, graph.shape[0], np.random.default_rng(2))
    times = [0, 1, 2, 7, 16]
    expected = np.stack([X @ np.linalg.matrix_power(step, t).T for t in times])
    np.testing.assert_allclose(op.diffuse_exact(X, times), expected, rtol=0, atol=1e-12)
    fast = op.diffuse(X, times, tol=1e-14, n_jobs=1)
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("anisotropy, weighted", [(0.0, True), (1.0, True), (0.5, False)])
def test_diffuse_matches_spectral_result(anisotropy, weighted):
    rng = np.random.default_rng(3)
    graph = knn_graph(rng.normal(size=(40, 2)), n_neighbors=5)
    op = DiffusionOperator(graph, anisotropy=anisotropy, weighted=weighted)
    S = op.symmetric.toarray()
    np.testing.assert_allclose(S, S.T, atol=1e-15)
    lam, V = np.linalg.eigh(S)
    assert lam.min() >= -1 - 1e-12 and lam.max() <= 1 + 1e-12
    assert abs(lam.max() - 1) < 1e-12  # the stationary mode
    X = rng.random((3, 40))
    times = [0, 1, 3, 10, 100, 1024]
    fast = op.diffuse(X, times, n_jobs=1)
    sq = op.sqrt_degree
    for i, t in enumerate(times):
        M = (sq[:, None] * V) @ np.diag(((1 + lam) / 2) ** t) @ (V.T / sq[None, :])
        err = np.abs(fast[i] - X @ M.T).max()
        assert err <= 1e-6, (t, err)


def test_long_diffusion_reaches_the_stationary_distribution():
    graph = grid_graph(4, 5)
    op = DiffusionOperator(graph, anisotropy=0.0)
    X = np.eye(20)[[0, 7, 19]] * [[1.0], [2.0], [0.5]]
    out = op.diffuse(X, [4096], n_jobs=1)[0]
    degree = np.asarray(graph.sum(axis=1)).ravel()
    stationary = degree / degree.sum()
    np.testing.assert_allclose(out, X.sum(axis=1, keepdims=True) * stationary, atol=1e-6)


# ---------------------------------------------------------------------------
# mass, nonnegativity, components


@pytest.mark.parametrize("name", ["knn", "path", "grid", "tree"])
def test_mass_preserved_and_nonnegative(name):
    graph = oracle_graphs()[name]
    X = random_signals(8, graph.shape[0], np.random.default_rng(4)) * 3.0
    op = DiffusionOperator(graph)
    mass = X.sum(axis=1)
    # times up to 64 with a tol far below rounding
    out = op.diffuse(X, dyadic_times(6), tol=1e-15, n_jobs=1)
    np.testing.assert_allclose(out.sum(axis=2), np.broadcast_to(mass, out.shape[:2]), rtol=1e-12)
    assert out.min() >= -1e-12
    # long times: truncated at the default tol, which bounds the relative mass error
    out = op.diffuse(X, dyadic_times(12), n_jobs=1)
    rel = np.abs(out.sum(axis=2) / mass - 1).max()
    assert rel <= 1e-7
    assert out.min() >= -1e-12 * X.max()
    # with a tight tol only rounding is left
    out = op.diffuse(X, dyadic_times(12), tol=1e-15, n_jobs=1)
    assert np.abs(out.sum(axis=2) / mass - 1).max() <= 1e-10
    assert out.min() >= -1e-12 * X.max()


def two_paths_and_an_isolated_node():
    """Nodes 0-4 a path, 5-8 a path, node 9 isolated."""
    A = sp.lil_matrix((10, 10))
    for u, v in [(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8)]:
        A[u, v] = A[v, u] = 1.0
    return A.tocsr()


@pytest.mark.parametrize("anisotropy", [0.0, 1.0])
def test_components_keep_their_mass_and_isolated_nodes_stay(anisotropy):
    graph = two_paths_and_an_isolated_node()
    op = DiffusionOperator(graph, anisotropy=anisotropy)
    rng = np.random.default_rng(5)
    X = rng.random((4, 10))
    times = [0, 1, 5, 64, 1024]
    out = op.diffuse(X, times, tol=1e-15, n_jobs=1)
    for nodes in (slice(0, 5), slice(5, 9)):
        mass = np.broadcast_to(X[:, nodes].sum(axis=1), (5, 4))
        np.testing.assert_allclose(out[:, :, nodes].sum(axis=2), mass, rtol=1e-10)
    np.testing.assert_allclose(out[:, :, 9], np.broadcast_to(X[:, 9], (5, 4)), rtol=1e-10)
    assert out.min() >= 0
    np.testing.assert_allclose(out[:3], op.diffuse_exact(X, times[:3]), atol=1e-12)
    # no mass crosses between components
    Y = np.zeros((1, 10))
    Y[0, 0] = 1.0
    assert np.all(op.diffuse(Y, [1024], n_jobs=1)[0, 0, 5:] == 0)


@settings(max_examples=20, deadline=None)
@given(
    n_nodes=st.integers(2, 25),
    n_extra=st.integers(0, 20),
    seed=st.integers(0, 2**32 - 1),
    anisotropy=st.sampled_from([0.0, 0.5, 1.0]),
    weighted=st.booleans(),
)
def test_property_mass_and_sign(n_nodes, n_extra, seed, anisotropy, weighted):
    rng = np.random.default_rng(seed)
    # a random forest (some nodes may stay isolated) plus random extra edges
    edges = [(i, int(rng.integers(0, i))) for i in range(1, n_nodes) if rng.random() < 0.8]
    edges += [tuple(rng.choice(n_nodes, 2, replace=False)) for _ in range(n_extra)]
    if not edges:
        edges = [(0, 1)]
    rows, cols = np.array(edges).T
    w = rng.uniform(0.1, 3.0, len(edges))
    ij = (np.r_[rows, cols], np.r_[cols, rows])
    A = sp.coo_matrix((np.r_[w, w], ij), shape=(n_nodes, n_nodes))
    op = DiffusionOperator(A, anisotropy=anisotropy, weighted=weighted)
    X = rng.random((3, n_nodes)) * (rng.random((3, n_nodes)) < 0.5)
    times = [0, 1, 3, 16, 200]
    out = op.diffuse(X, times, tol=1e-14, n_jobs=1)
    mass = X.sum(axis=1)
    assert np.abs(out.sum(axis=2) - mass).max() <= 1e-12 * max(1.0, mass.max())
    assert out.min() >= -1e-12
    np.testing.assert_allclose(out[:3], op.diffuse_exact(X, times[:3]), atol=1e-12)


# ---------------------------------------------------------------------------
# dtypes, threads, determinism, pickling, bad input


def test_float32_in_float32_out():
    graph = oracle_graphs()["knn"]
    X = random_signals(7, 60, np.random.default_rng(6))
    op = DiffusionOperator(graph)
    times = dyadic_times(8)
    ref = op.diffuse(X, times, n_jobs=1)
    out = op.diffuse(X.astype(np.float32), times, n_jobs=1)
    assert ref.dtype == np.float64
    assert out.dtype == np.float32
    assert np.abs(out - ref).max() <= 1e-4 * np.abs(ref).max()


@pytest.mark.parametrize("dtype", [np.int64, np.float16, bool])
def test_other_dtypes_are_diffused_in_float64(dtype):
    op = DiffusionOperator(path_graph(5))
    X = np.eye(5)[[0, 3]]
    out = op.diffuse(X.astype(dtype), [0, 2], n_jobs=1)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, op.diffuse(X, [0, 2], n_jobs=1))


def test_threads_and_repeated_runs_give_identical_results():
    graph = oracle_graphs()["knn"]
    X = random_signals(9, 60, np.random.default_rng(7))
    op = DiffusionOperator(graph)
    times = [0, 1, 2, 4, 8, 16]
    one = op.diffuse(X, times, n_jobs=1)
    two = op.diffuse(X, times, n_jobs=2)
    again = DiffusionOperator(graph).diffuse(X, times, n_jobs=1)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, again)


def test_thread_setting_is_restored():
    import numba

    before = numba.get_num_threads()
    DiffusionOperator(path_graph(6)).diffuse(np.eye(6)[:2], [0, 3], n_jobs=1)
    assert numba.get_num_threads() == before


def test_operator_pickle_round_trip():
    op = DiffusionOperator(grid_graph(3, 4), anisotropy=0.5)
    X = np.eye(12)[[0, 5]]
    before = op.diffuse(X, [0, 1, 8], n_jobs=1)
    op.diffuse(X.astype(np.float32), [1], n_jobs=1)  # fills the per-dtype cache
    copy = pickle.loads(pickle.dumps(op))
    np.testing.assert_array_equal(copy.diffuse(X, [0, 1, 8], n_jobs=1), before)


def test_operator_attributes():
    graph = grid_graph(3, 4)
    op = DiffusionOperator(graph, anisotropy=0.0)
    assert op.n_nodes == 12
    assert isinstance(op.symmetric, sp.csr_matrix) and op.symmetric.dtype == np.float64
    degree = np.asarray(graph.sum(axis=1)).ravel()
    np.testing.assert_allclose(op.sqrt_degree, np.sqrt(degree))
    np.testing.assert_allclose(op.symmetric @ op.sqrt_degree, op.sqrt_degree, atol=1e-12)


@pytest.mark.parametrize("anisotropy", [-0.1, 1.5, float("nan")])
def test_operator_bad_anisotropy(anisotropy):
    with pytest.raises(ValueError, match="anisotropy must be (in|finite)"):
        DiffusionOperator(path_graph(4), anisotropy=anisotropy)


@pytest.mark.parametrize("shape", [(3, 5), (4,), (2, 4, 1)])
def test_diffuse_bad_shape(shape):
    op = DiffusionOperator(path_graph(4))
    with pytest.raises(ValueError, match=r"X must have shape \(n_signals, 4\)"):
        op.diffuse(np.ones(shape), [1], n_jobs=1)


def test_operator_rejects_bad_graph():
    with pytest.raises(ValueError, match="asymmetric"):
        DiffusionOperator(np.triu(np.ones((4, 4)), 1))


# ---------------------------------------------------------------------------
# estimate_diameter


@pytest.mark.parametrize("n", [2, 3, 10, 37])
def test_diameter_path(n):
    assert estimate_diameter(path_graph(n)) == n - 1


@pytest.mark.parametrize("n", [3, 4, 9, 20])
def test_diameter_cycle(n):
    assert estimate_diameter(cycle_graph(n)) == n // 2


@pytest.mark.parametrize("rows, cols", [(1, 5), (4, 5), (7, 3), (6, 6)])
def test_diameter_grid(rows, cols):
    assert estimate_diameter(grid_graph(rows, cols)) == rows + cols - 2


@pytest.mark.parametrize("seed", range(5))
def test_diameter_random_tree(seed):
    tree = random_tree(80, random_state=seed)
    true = int(shortest_path(tree, directed=False, unweighted=True).max())
    for start in range(3):
        assert estimate_diameter(tree, random_state=start) == true


def test_diameter_is_a_lower_bound_and_ignores_small_components():
    rng = np.random.default_rng(8)
    graph = knn_graph(rng.normal(size=(50, 2)), n_neighbors=3)
    hops = shortest_path(graph, directed=False, unweighted=True)
    true = int(hops[np.isfinite(hops)].max())
    assert 0 < estimate_diameter(graph) <= true
    # a long path beside a short one: the diameter of the largest component
    A = sp.block_diag([path_graph(12), path_graph(3)]).tocsr()
    assert estimate_diameter(A) == 11
    assert DiffusionOperator(A).diameter == 11
