"""Tests for graphsig.emd._exact.exact_emd: oracles, closed forms, properties, errors."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse.csgraph import shortest_path

from graphsig.emd import _exact
from graphsig.emd._exact import exact_emd

# ---------------------------------------------------------------------------
# graphs and signals built here, independently of graphsig.graphs


def graph_from_edges(n_nodes, edges, weights=None):
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if weights is None:
        weights = np.ones(len(edges))
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    data = np.concatenate([weights, weights])
    return sp.csr_matrix((data, (rows, cols)), shape=(n_nodes, n_nodes))


def path(n_nodes):
    return graph_from_edges(n_nodes, [(i, i + 1) for i in range(n_nodes - 1)])


def cycle(n_nodes):
    return graph_from_edges(n_nodes, [(i, (i + 1) % n_nodes) for i in range(n_nodes)])


def grid(n_rows, n_cols):
    node = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    edges = np.concatenate(
        [
            np.stack([node[:, :-1].ravel(), node[:, 1:].ravel()], axis=1),
            np.stack([node[:-1, :].ravel(), node[1:, :].ravel()], axis=1),
        ]
    )
    return graph_from_edges(n_rows * n_cols, edges)


def random_tree_parents(n_nodes, rng):
    """Parent of each node i > 0 among the nodes before it (node 0 is the root)."""
    return np.array([-1] + [rng.integers(0, i) for i in range(1, n_nodes)])


def random_connected_graph(n_nodes, rng, n_extra=None, weighted=True):
    """Random spanning tree plus random extra edges, with random positive weights."""
    parents = random_tree_parents(n_nodes, rng)
    edges = [(i, parents[i]) for i in range(1, n_nodes)]
    if n_extra is None:
        n_extra = n_nodes
    for _ in range(n_extra):
        u, v = rng.choice(n_nodes, 2, replace=False)
        edges.append((u, v))
    edges = np.unique(np.sort(np.array(edges), axis=1), axis=0)
    weights = rng.uniform(0.1, 5.0, len(edges)) if weighted else None
    return graph_from_edges(n_nodes, edges, weights)


def random_signals(n_signals, n_nodes, rng, density=0.5):
    """Nonnegative signals with random supports, each with at least one nonzero."""
    signals = rng.random((n_signals, n_nodes)) * (rng.random((n_signals, n_nodes)) < density)
    anchors = rng.integers(0, n_nodes, n_signals)
    signals[np.arange(n_signals), anchors] += rng.random(n_signals) + 0.1
    return signals


# ---------------------------------------------------------------------------
# the independent oracle: a linear program on edge flows

# tighter than HiGHS's default feasibility tolerances (1e-7)
LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def beckmann_lp(adjacency, mu, nu, mass_penalty=None):
    r"""(Unbalanced) W1 with hop cost, as a linear program on edge flows.

    Each undirected edge e = (u, v) (u < v) carries a flow f_e = f+_e - f-_e,
    f+, f- >= 0, positive from u to v; every edge has length 1 (hop cost).
    B is the node-edge incidence matrix, B[u, e] = 1, B[v, e] = -1, so that
    (B f)_i is the net flow leaving node i.

    Balanced (mass_penalty=None), with mu and nu normalised to unit mass:

        minimise  sum_e (f+_e + f-_e)
        s.t.      B (f+ - f-) = mu - nu.

    Unbalanced, penalty c: at each node i, s_i of mu's mass is destroyed and
    t_i of nu's mass is created, 0 <= s <= mu, 0 <= t <= nu, each at cost c
    per unit. What remains of mu, mu - s, must be routed onto what remains
    of nu, nu - t, so the net outflow is (mu - s) - (nu - t):

        minimise  sum_e (f+_e + f-_e) + c (sum_i s_i + sum_i t_i)
        s.t.      B (f+ - f-) + s - t = mu - nu.

    Decomposing the flow into paths gives a transport plan pi with
    pi 1 = mu - s and pi^T 1 = nu - t whose cost <D, pi> is at most the flow
    cost, and routing any plan along shortest paths gives a flow of cost
    <D, pi>; so the optimum is UW1_c(mu, nu) = min_pi <D, pi>
    + c (||mu - pi 1||_1 + ||nu - pi^T 1||_1). On a disconnected graph the
    unbalanced program stays feasible (s = mu, t = nu).
    """
    upper = sp.triu(adjacency, 1).tocoo()
    n_nodes, n_edges = adjacency.shape[0], upper.nnz
    edge = np.arange(n_edges)
    incidence = sp.csr_matrix(
        (
            np.concatenate([np.ones(n_edges), -np.ones(n_edges)]),
            (np.concatenate([upper.row, upper.col]), np.concatenate([edge, edge])),
        ),
        shape=(n_nodes, n_edges),
    )
    mu = np.asarray(mu, dtype=np.float64)
    nu = np.asarray(nu, dtype=np.float64)
    if mass_penalty is None:
        mu, nu = mu / mu.sum(), nu / nu.sum()
        a_eq = sp.hstack([incidence, -incidence])
        cost = np.ones(2 * n_edges)
        bounds = [(0, None)] * (2 * n_edges)
    else:
        identity = sp.identity(n_nodes)
        a_eq = sp.hstack([incidence, -incidence, identity, -identity])
        cost = np.concatenate([np.ones(2 * n_edges), np.full(2 * n_nodes, mass_penalty)])
        bounds = [(0, None)] * (2 * n_edges) + [(0, m) for m in mu] + [(0, m) for m in nu]
    result = linprog(
        cost, A_eq=a_eq.tocsr(), b_eq=mu - nu, bounds=bounds, method="highs", options=LP_OPTIONS
    )
    assert result.status == 0, result.message
    return result.fun


def lp_matrix(adjacency, X, Y, mass_penalty=None):
    return np.array([[beckmann_lp(adjacency, x, y, mass_penalty) for y in Y] for x in X])


# ---------------------------------------------------------------------------
# oracle tests


@pytest.mark.parametrize("n_nodes", [10, 15, 20])
def test_balanced_matches_edge_flow_lp(n_nodes):
    rng = np.random.default_rng(n_nodes)
    adjacency = random_connected_graph(n_nodes, rng)
    X = random_signals(3, n_nodes, rng, density=0.4)
    Y = random_signals(3, n_nodes, rng, density=0.4)
    result = exact_emd(adjacency, X, Y)
    np.testing.assert_allclose(result, lp_matrix(adjacency, X, Y), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mass_penalty", [0.2, 0.7, 1.0, 1.6, 3.0, 100.0])
def test_unbalanced_matches_edge_flow_lp(mass_penalty):
    rng = np.random.default_rng(7)
    n_nodes = 16
    adjacency = random_connected_graph(n_nodes, rng, n_extra=4)
    X = random_signals(3, n_nodes, rng, density=0.4) * 3.0
    Y = random_signals(3, n_nodes, rng, density=0.4)
    result = exact_emd(adjacency, X, Y, mass_penalty=mass_penalty)
    expected = lp_matrix(adjacency, X, Y, mass_penalty)
    np.testing.assert_allclose(result, expected, rtol=1e-9, atol=1e-9)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_nodes=st.integers(6, 14),
    mass_penalty=st.sampled_from([None, 0.3, 0.9, 2.0, 5.0]),
)
def test_random_graphs_match_edge_flow_lp(seed, n_nodes, mass_penalty):
    rng = np.random.default_rng(seed)
    adjacency = random_connected_graph(n_nodes, rng, n_extra=int(rng.integers(0, n_nodes)))
    X = random_signals(2, n_nodes, rng, density=rng.uniform(0.1, 0.9))
    Y = random_signals(2, n_nodes, rng, density=rng.uniform(0.1, 0.9)) * rng.uniform(0.2, 5)
    result = exact_emd(adjacency, X, Y, mass_penalty=mass_penalty)
    expected = lp_matrix(adjacency, X, Y, mass_penalty)
    np.testing.assert_allclose(result, expected, rtol=1e-8, atol=1e-9)


def test_unbalanced_on_disconnected_graph_matches_lp():
    rng = np.random.default_rng(3)
    # two components: nodes 0..7 and 8..13
    first = random_connected_graph(8, rng, n_extra=3)
    second = random_connected_graph(6, rng, n_extra=2)
    adjacency = sp.block_diag([first, second]).tocsr()
    X = random_signals(3, 14, rng, density=0.3)
    Y = random_signals(2, 14, rng, density=0.3) * 2.0
    for c in (0.4, 2.5):
        result = exact_emd(adjacency, X, Y, mass_penalty=c)
        np.testing.assert_allclose(result, lp_matrix(adjacency, X, Y, c), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------
# closed forms


def test_path_closed_form():
    rng = np.random.default_rng(0)
    n_nodes = 30
    X = random_signals(4, n_nodes, rng, density=0.3)
    Y = random_signals(5, n_nodes, rng, density=0.3)
    cdf_x = np.cumsum(X / X.sum(1, keepdims=True), axis=1)
    cdf_y = np.cumsum(Y / Y.sum(1, keepdims=True), axis=1)
    expected = np.abs(cdf_x[:, None, :-1] - cdf_y[None, :, :-1]).sum(-1)
    np.testing.assert_allclose(exact_emd(path(n_nodes), X, Y), expected, rtol=1e-10, atol=1e-12)


def test_tree_closed_form():
    rng = np.random.default_rng(1)
    n_nodes = 40
    parents = random_tree_parents(n_nodes, rng)
    adjacency = graph_from_edges(n_nodes, [(i, parents[i]) for i in range(1, n_nodes)])
    X = random_signals(3, n_nodes, rng, density=0.2)
    Y = random_signals(4, n_nodes, rng, density=0.2)

    def subtree_mass(signal):
        mass = signal / signal.sum()
        for node in range(n_nodes - 1, 0, -1):  # children come after parents
            mass[parents[node]] += mass[node]
        return mass[1:]  # one entry per edge (node, parent)

    expected = np.array(
        [[np.abs(subtree_mass(x.copy()) - subtree_mass(y.copy())).sum() for y in Y] for x in X]
    )
    np.testing.assert_allclose(exact_emd(adjacency, X, Y), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n_nodes", [9, 12])
def test_cycle_closed_form(n_nodes):
    rng = np.random.default_rng(n_nodes)
    X = random_signals(4, n_nodes, rng, density=0.4)
    Y = random_signals(4, n_nodes, rng, density=0.4)
    expected = np.empty((4, 4))
    for i, x in enumerate(X):
        for j, y in enumerate(Y):
            cumulative = np.cumsum(x / x.sum() - y / y.sum())
            expected[i, j] = np.abs(cumulative - np.median(cumulative)).sum()
    np.testing.assert_allclose(exact_emd(cycle(n_nodes), X, Y), expected, rtol=1e-10, atol=1e-12)


def test_grid_diracs_give_manhattan_distance():
    rng = np.random.default_rng(2)
    n_rows, n_cols = 7, 9
    positions = rng.integers(0, [n_rows, n_cols], size=(12, 2))
    diracs = np.zeros((12, n_rows * n_cols))
    diracs[np.arange(12), positions[:, 0] * n_cols + positions[:, 1]] = rng.uniform(0.5, 2, 12)
    manhattan = np.abs(positions[:, None, :] - positions[None, :, :]).sum(-1)
    np.testing.assert_array_equal(exact_emd(grid(n_rows, n_cols), diracs), manhattan)


def test_unbalanced_small_penalty_never_moves_mass():
    # c < 1/2: moving one hop costs more than destroying and creating (2c)
    rng = np.random.default_rng(4)
    adjacency = random_connected_graph(12, rng)
    X = random_signals(3, 12, rng) * 2
    Y = random_signals(4, 12, rng)
    c = 0.3
    expected = c * np.abs(X[:, None, :] - Y[None, :, :]).sum(-1)
    result = exact_emd(adjacency, X, Y, mass_penalty=c)
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_unbalanced_large_penalty_equals_balanced_for_equal_masses():
    # 2c >= diameter: nothing is destroyed, UW1 is the unnormalised W1
    rng = np.random.default_rng(5)
    adjacency = random_connected_graph(15, rng, n_extra=2)
    diameter = shortest_path(adjacency, unweighted=True).max()
    X = random_signals(3, 15, rng)
    Y = random_signals(4, 15, rng)
    mass = 2.5
    X *= mass / X.sum(1, keepdims=True)
    Y *= mass / Y.sum(1, keepdims=True)
    balanced = exact_emd(adjacency, X, Y)
    unbalanced = exact_emd(adjacency, X, Y, mass_penalty=diameter / 2)
    np.testing.assert_allclose(unbalanced, mass * balanced, rtol=1e-10)
    # with a smaller penalty, destroying and creating sometimes wins
    cheaper = exact_emd(adjacency, X, Y, mass_penalty=1.0)
    assert np.all(cheaper <= mass * balanced + 1e-12)
    assert np.any(cheaper < mass * balanced - 1e-6)


def test_unbalanced_zero_signal_costs_its_partners_mass():
    rng = np.random.default_rng(6)
    adjacency = random_connected_graph(10, rng)
    Y = random_signals(3, 10, rng)
    X = np.zeros((2, 10))
    result = exact_emd(adjacency, X, Y, mass_penalty=1.5)
    np.testing.assert_allclose(result, 1.5 * np.tile(Y.sum(1), (2, 1)))
    assert np.all(exact_emd(adjacency, X, mass_penalty=1.5) == 0)


def test_balanced_disconnected_graph_is_rejected_but_unbalanced_works():
    adjacency = sp.block_diag([path(3), path(2)]).tocsr()  # {0, 1, 2} and {3, 4}
    X = np.array([[1.0, 0, 0, 0, 0], [0, 0, 0, 0, 2.0]])
    with pytest.raises(ValueError, match="disconnected"):
        exact_emd(adjacency, X)
    result = exact_emd(adjacency, X, mass_penalty=5.0)
    # across components everything is destroyed and created: 5 * (1 + 2)
    np.testing.assert_allclose(result, [[0.0, 15.0], [15.0, 0.0]])


# ---------------------------------------------------------------------------
# properties


@pytest.mark.parametrize("mass_penalty", [None, 1.2])
def test_metric_properties(mass_penalty):
    rng = np.random.default_rng(8)
    adjacency = random_connected_graph(25, rng, n_extra=10)
    X = random_signals(9, 25, rng, density=0.3) * rng.uniform(0.5, 2, (9, 1))
    D = exact_emd(adjacency, X, mass_penalty=mass_penalty)
    assert D.shape == (9, 9) and D.dtype == np.float64
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0)
    assert np.all(D[~np.eye(9, dtype=bool)] > 0)
    # triangle inequality over all triples: D[i, k] <= D[i, j] + D[j, k]
    slack = D[:, :, None] + D[None, :, :] - D[:, None, :].transpose(0, 2, 1)
    assert slack.min() >= -1e-10
    # Y=None is exact_emd(graph, X, X)
    same = exact_emd(adjacency, X, X, mass_penalty=mass_penalty)
    np.testing.assert_allclose(same, D, atol=1e-12)


def test_balanced_is_scale_invariant_and_ignores_edge_weights():
    rng = np.random.default_rng(9)
    adjacency = random_connected_graph(14, rng)  # random weights
    unit = adjacency.copy()
    unit.data[:] = 1.0
    X = random_signals(3, 14, rng)
    Y = random_signals(3, 14, rng)
    reference = exact_emd(unit, X, Y)
    np.testing.assert_allclose(exact_emd(adjacency, X, Y), reference, rtol=1e-12)
    np.testing.assert_allclose(exact_emd(adjacency, 7.0 * X, Y / 3.0), reference, rtol=1e-12)


def test_input_forms_agree():
    rng = np.random.default_rng(10)
    adjacency = random_connected_graph(12, rng)
    X = random_signals(4, 12, rng, density=0.3)
    Y = random_signals(3, 12, rng, density=0.3)
    reference = exact_emd(adjacency, X, Y, mass_penalty=2.0)
    for x, y, tolerance in [
        (sp.csr_matrix(X), sp.csc_matrix(Y), 1e-12),
        (sp.coo_array(X), Y.tolist(), 1e-12),
        (X.astype(np.float32), sp.csr_matrix(Y.astype(np.float32)), 1e-6),
    ]:
        result = exact_emd(adjacency.toarray(), x, y, mass_penalty=2.0)
        assert result.dtype == np.float64
        np.testing.assert_allclose(result, reference, rtol=tolerance)


@pytest.mark.parametrize("mass_penalty", [None, 0.8])
def test_searches_from_the_smaller_side_give_the_transpose(mass_penalty):
    rng = np.random.default_rng(15)
    adjacency = random_connected_graph(40, rng, n_extra=20)
    many = random_signals(6, 40, rng, density=0.5)  # supports cover more nodes
    few = random_signals(2, 40, rng, density=0.05)
    assert np.unique(np.nonzero(few)[1]).size < np.unique(np.nonzero(many)[1]).size
    forward = exact_emd(adjacency, many, few, mass_penalty=mass_penalty)
    backward = exact_emd(adjacency, few, many, mass_penalty=mass_penalty)
    assert forward.shape == (6, 2) and forward.flags.c_contiguous
    np.testing.assert_allclose(forward, backward.T, rtol=1e-12)
    expected = lp_matrix(adjacency, many, few, mass_penalty)
    np.testing.assert_allclose(forward, expected, rtol=1e-9, atol=1e-9)


def test_empty_signal_sets_give_empty_results():
    X = np.ones((3, 5))
    assert exact_emd(path(5), X, np.empty((0, 5))).shape == (3, 0)
    assert exact_emd(path(5), np.empty((0, 5))).shape == (0, 0)
    np.testing.assert_array_equal(exact_emd(path(5), X[:1]), [[0.0]])


def test_parallel_blocked_and_progress_agree(monkeypatch, capsys):
    rng = np.random.default_rng(11)
    adjacency = random_connected_graph(60, rng, n_extra=30)
    X = random_signals(7, 60, rng, density=0.1)
    Y = random_signals(5, 60, rng, density=0.1)
    for mass_penalty in (None, 1.5):
        reference = exact_emd(adjacency, X, Y, mass_penalty=mass_penalty)
        symmetric = exact_emd(adjacency, X, mass_penalty=mass_penalty)
        # threads, with pairs handed out in chunks of 2
        monkeypatch.setattr(_exact, "_PAIRS_PER_TASK", 2)
        np.testing.assert_allclose(
            exact_emd(adjacency, X, Y, mass_penalty=mass_penalty, n_jobs=2), reference, atol=1e-12
        )
        # tiny distance tables: many blocks of X rows, one row each at least
        monkeypatch.setattr(_exact, "_DISTANCE_BUDGET_BYTES", 4 * 60 * 8)
        np.testing.assert_allclose(
            exact_emd(adjacency, X, Y, mass_penalty=mass_penalty), reference, atol=1e-12
        )
        np.testing.assert_allclose(
            exact_emd(adjacency, X, mass_penalty=mass_penalty, n_jobs=2), symmetric, atol=1e-12
        )
        monkeypatch.undo()
    capsys.readouterr()
    exact_emd(adjacency, X, Y, progress=True)
    assert "35/35" in capsys.readouterr().err


def test_row_blocks_respect_the_budget():
    X = sp.csr_matrix(np.kron(np.eye(6), np.ones((1, 3))))  # 6 disjoint supports of 3 nodes
    blocks = list(_exact._row_blocks(X, 6, max_sources=7))
    assert blocks == [[0, 1], [2, 3], [4, 5]]
    assert list(_exact._row_blocks(X, 5, max_sources=1)) == [[0], [1], [2], [3], [4]]


def test_large_sparse_graph_relabelled_searches():
    # 22,500 nodes (relabelled internally); 30-nonzero signals; Diracs give Manhattan
    n_side = 150
    adjacency = grid(n_side, n_side)
    rng = np.random.default_rng(12)
    positions = rng.integers(0, n_side, size=(6, 2))
    diracs = sp.csr_matrix(
        (np.ones(6), (np.arange(6), positions[:, 0] * n_side + positions[:, 1])),
        shape=(6, n_side * n_side),
    )
    manhattan = np.abs(positions[:, None, :] - positions[None, :, :]).sum(-1)
    np.testing.assert_array_equal(exact_emd(adjacency, diracs), manhattan)

    rows = np.repeat(np.arange(4), 30)
    cols = rng.integers(0, n_side * n_side, size=rows.size)
    X = sp.csr_matrix((rng.random(rows.size) + 0.1, (rows, cols)), shape=(4, n_side**2))
    support = np.unique(X.indices)
    hops = shortest_path(adjacency, unweighted=True, indices=support)[:, support]
    dense = X[:, support].toarray()
    for mass_penalty in (None, 20.0):
        result = exact_emd(adjacency, X[:2], X[2:], mass_penalty=mass_penalty)
        # the same problems as plain transport LPs on the hop table of the supports
        expected = [[_plan_lp(hops, mu, nu, mass_penalty) for nu in dense[2:]] for mu in dense[:2]]
        np.testing.assert_allclose(result, expected, rtol=1e-10)


def _plan_lp(cost, mu, nu, mass_penalty):
    """(Unbalanced) EMD on an explicit cost matrix, by linprog on the plan pi (and s, t).

    Balanced: min <cost, pi>, pi 1 = mu, pi^T 1 = nu (normalised). Unbalanced:
    min <cost, pi> + c (1^T s + 1^T t), pi 1 + s = mu, pi^T 1 + t = nu.
    """
    n = cost.shape[0]
    rows = sp.kron(sp.identity(n), np.ones((1, n)))
    cols = sp.kron(np.ones((1, n)), sp.identity(n))
    if mass_penalty is None:
        a_eq = sp.vstack([rows, cols])
        c_vec = cost.ravel()
        b_eq = np.concatenate([mu / mu.sum(), nu / nu.sum()])
    else:
        zero = sp.csr_matrix((n, n))
        a_eq = sp.vstack(
            [sp.hstack([rows, sp.identity(n), zero]), sp.hstack([cols, zero, sp.identity(n)])]
        )
        c_vec = np.concatenate([cost.ravel(), np.full(2 * n, mass_penalty)])
        b_eq = np.concatenate([mu, nu])
    result = linprog(c_vec, A_eq=a_eq.tocsr(), b_eq=b_eq, method="highs", options=LP_OPTIONS)
    assert result.status == 0, result.message
    return result.fun


def test_hop_kernel_matches_scipy_shortest_path():
    from graphsig.emd._hops_kernels import hop_distances

    rng = np.random.default_rng(13)
    adjacency = sp.block_diag(
        [random_connected_graph(30, rng, n_extra=10), random_connected_graph(10, rng)]
    ).tocsr()
    n_nodes = adjacency.shape[0]
    sources = rng.choice(n_nodes, 12, replace=False).astype(np.int64)
    targets = rng.choice(n_nodes, 15, replace=False)
    target_pos = np.full(n_nodes, -1, dtype=np.int64)
    target_pos[targets] = np.arange(targets.size)
    out = np.full((sources.size, targets.size), np.inf, dtype=np.float32)
    indptr, indices = adjacency.indptr, adjacency.indices
    hop_distances(indptr, indices, sources, target_pos, targets.size, 10**6, out)
    expected = shortest_path(adjacency, unweighted=True, indices=sources)[:, targets]
    np.testing.assert_array_equal(out, expected)
    assert np.isinf(out).any() and np.isfinite(out).any()
    # searches cut at depth 2 leave the farther targets at inf
    out[:] = np.inf
    hop_distances(indptr, indices, sources, target_pos, targets.size, 2, out)
    np.testing.assert_array_equal(out, np.where(expected <= 2, expected, np.inf))
    assert (expected > 2).any() and (expected[np.isfinite(expected)] > 2).any()


def test_solver_failure_raises(monkeypatch):
    monkeypatch.setattr(_exact, "_max_iterations", lambda n_sources, n_sinks: 1)
    rng = np.random.default_rng(14)
    adjacency = random_connected_graph(20, rng)
    X = random_signals(1, 20, rng, density=0.9)
    Y = random_signals(1, 20, rng, density=0.9)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="did not reach an optimum"):
        exact_emd(adjacency, X, Y)


# ---------------------------------------------------------------------------
# bad inputs


GRAPH = path(4)
GOOD = np.array([[1.0, 0, 0, 1], [0, 2.0, 0, 0]])


def test_one_dimensional_signals_rejected():
    with pytest.raises(ValueError, match=r"X must be 2-D .* got ndim=1"):
        exact_emd(GRAPH, np.ones(4))


def test_three_dimensional_signals_rejected():
    with pytest.raises(ValueError, match=r"Y must be 2-D .* got ndim=3"):
        exact_emd(GRAPH, GOOD, np.ones((2, 2, 4)))


def test_width_not_matching_graph_rejected():
    with pytest.raises(ValueError, match="5 columns but the graph has 4 nodes"):
        exact_emd(GRAPH, np.ones((2, 5)))


def test_x_and_y_widths_differ_rejected():
    with pytest.raises(ValueError, match="same number of columns.*got 4 and 3"):
        exact_emd(GRAPH, GOOD, np.ones((2, 3)))


def test_nan_entries_rejected():
    bad = GOOD.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="X has NaN entries"):
        exact_emd(GRAPH, bad)


def test_infinite_entries_rejected():
    bad = sp.csr_matrix(GOOD)
    bad.data[0] = np.inf
    with pytest.raises(ValueError, match="Y has infinite entries"):
        exact_emd(GRAPH, GOOD, bad)


def test_negative_entries_rejected():
    bad = GOOD.copy()
    bad[0, 1] = -0.5
    with pytest.raises(ValueError, match=r"X has negative entries \(min -0.5\)"):
        exact_emd(GRAPH, bad, mass_penalty=1.0)


def test_complex_entries_rejected():
    # scikit-learn's convention for complex input: a ValueError
    with pytest.raises(ValueError, match="[Cc]omplex"):
        exact_emd(GRAPH, GOOD.astype(complex))


def test_zero_mass_signal_rejected_when_balanced():
    bad = np.vstack([GOOD, np.zeros(4)])
    with pytest.raises(ValueError, match="Y row 2 has zero total mass"):
        exact_emd(GRAPH, GOOD, bad)


@pytest.mark.parametrize("mass_penalty", [0, -1.0, np.nan, np.inf])
def test_bad_mass_penalty_rejected(mass_penalty):
    with pytest.raises(ValueError, match="mass_penalty must be a finite positive number"):
        exact_emd(GRAPH, GOOD, mass_penalty=mass_penalty)


def test_non_numeric_mass_penalty_rejected():
    with pytest.raises(TypeError, match="mass_penalty must be None or a positive number"):
        exact_emd(GRAPH, GOOD, mass_penalty="1")


def test_bad_n_jobs_rejected():
    with pytest.raises(ValueError, match="n_jobs must be a nonzero int"):
        exact_emd(GRAPH, GOOD, n_jobs=0)


def test_bad_progress_rejected():
    with pytest.raises(TypeError, match="progress must be a bool"):
        exact_emd(GRAPH, GOOD, progress="yes")
