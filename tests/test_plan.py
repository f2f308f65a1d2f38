"""Blocks chosen from measured properties of the graph (n_trees="auto", max_scale="auto")."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from graphsig import DiffusionEMD, UnbalancedDiffusionEMD, exact_emd
from graphsig.datasets import make_annotation_signals, make_clustered_signals, make_polyhierarchy
from graphsig.emd._plan import graph_profile, is_hierarchy, plan_blocks
from graphsig.graphs import as_adjacency, cycle_graph, grid_graph, knn_graph, path_graph, random_tree
from graphsig.neighbors import l1_distances


def profile_of(graph):
    from graphsig.diffusion import estimate_diameter

    adjacency = as_adjacency(graph)
    return graph_profile(adjacency, estimate_diameter(adjacency))


def test_profile_measures():
    p = profile_of(cycle_graph(50))
    assert p["n_nodes"] == 50 and p["n_edges"] == 50
    assert p["cycle_rank"] == pytest.approx(1 / 50)
    assert p["hub_ratio"] == pytest.approx(1.0)
    assert p["diameter"] == 25
    assert p["ball_sizes"][1] == 3 and p["ball_sizes"][2] == 5


@pytest.mark.parametrize(
    "graph, kind",
    [
        (lambda: path_graph(300), "hierarchy"),           # a tree
        (lambda: random_tree(500, random_state=0), "hierarchy"),
        (lambda: make_polyhierarchy(3000, random_state=1)[0], "hierarchy"),  # hubs
        (lambda: grid_graph(20, 20), "global"),
        (lambda: knn_graph(np.random.default_rng(0).normal(size=(400, 3)), 10), "global"),
    ],
)
def test_kind_follows_the_graph(graph, kind):
    plan = plan_blocks(profile_of(graph()), tol=1e-7, has_trees=True)
    assert plan["kind"] == kind, plan["reason"]
    if kind == "hierarchy":
        assert not plan["diffusion"] and plan["n_trees"] > 0


def test_large_grid_stays_local():
    # 250,000 nodes: crossing needs 2^20 steps; balls cap the diffusion
    plan = plan_blocks(profile_of(grid_graph(500, 500)), tol=1e-7, has_trees=True)
    assert plan["kind"] == "local"
    assert plan["max_scale"] <= 7 and plan["reach_scale"] >= 19
    assert plan["n_trees"] == 0


def test_unbalanced_has_no_trees():
    plan = plan_blocks(profile_of(random_tree(200, random_state=0)), tol=1e-7, has_trees=False)
    assert plan["n_trees"] == 0 and plan["diffusion"]


def test_trees_alone_are_exact_on_a_tree():
    tree = random_tree(60, random_state=2)
    rng = np.random.default_rng(0)
    X = rng.random((12, 60)) * (rng.random((12, 60)) < 0.2)
    X[np.arange(12), rng.integers(0, 60, 12)] += 1.0
    est = DiffusionEMD(tree, random_state=0).fit(X)
    assert est.plan_["kind"] == "hierarchy" and est.tree_weight_ == 1.0
    approx = l1_distances(est.transform(X)) / est.tree_scale_
    np.testing.assert_allclose(approx, exact_emd(tree, X), rtol=1e-9, atol=1e-9)


def test_polyhierarchy_embedding_is_sparse_and_follows_the_support():
    adjacency, parents, depth = make_polyhierarchy(20_000, random_state=0)
    X, _, _ = make_annotation_signals(parents, 60, random_state=0)
    est = DiffusionEMD(adjacency).fit(X)
    assert est.plan_["kind"] == "hierarchy"
    E = est.transform(X)
    assert sp.issparse(E)
    # each nonzero of a signal touches at most depth + 1 coordinates per tree
    bound = X.getnnz(axis=1) * (int(depth.max()) * 3 + 1) * est.n_trees_
    assert (E.getnnz(axis=1) <= bound).all()
    assert E.getnnz(axis=1).mean() < 0.05 * est.n_features_out_
    # the embedding is a lower-error upper bound in ranking terms: check order
    D = exact_emd(adjacency, X[:5], X)
    A = l1_distances(E[:5], E)
    from scipy.stats import spearmanr

    assert np.mean([spearmanr(D[i], A[i]).statistic for i in range(5)]) > 0.7


def test_explicit_parameters_override_the_plan():
    tree = random_tree(80, random_state=1)
    X = np.eye(80)[:10]
    est = DiffusionEMD(tree, n_trees=3, max_scale=2).fit(X)
    assert est.n_trees_ == 3 and est.max_scale_ == 2
    est = DiffusionEMD(tree, tree_weight=0.5).fit(X)
    assert est.tree_weight_ == 0.5  # a set share keeps the diffusion
    est = DiffusionEMD(grid_graph(6, 6), n_trees=0).fit(np.eye(36)[:6])
    assert est.n_trees_ == 0


def test_unbalanced_on_a_polyhierarchy_uses_cluster_trees():
    adjacency, parents, _ = make_polyhierarchy(5000, random_state=3)
    X, _, _ = make_annotation_signals(parents, 40, random_state=1)
    # unequal masses
    X = sp.csr_matrix(sp.diags(np.random.default_rng(0).uniform(0.5, 2.0, size=40)) @ X)
    for c in (1.0, 2.0, 3.5):
        est = UnbalancedDiffusionEMD(adjacency, mass_penalty=c).fit(X)
        assert est.plan_["kind"] == "hierarchy" and est.n_trees_ > 0
        E = est.transform(X)
        assert sp.issparse(E) and np.isfinite(E.data).all()
        approx = l1_distances(E)
        exact = exact_emd(adjacency, X, mass_penalty=c)
        # one feasible plan per tree: an upper bound of the exact UW1
        assert (approx >= exact - 1e-9).all()
        from scipy.stats import spearmanr

        rho = np.mean([spearmanr(np.delete(exact[i], i), np.delete(approx[i], i)).statistic
                       for i in range(10)])
        assert rho > 0.8


def test_unbalanced_keeps_the_diffusion_on_a_tree_without_hubs():
    # a path of histogram bins: no hubs, the diffusion is kept
    X = np.zeros((2, 6))
    X[0, 0] = 1.0
    X[1, 0] = 2.0
    est = UnbalancedDiffusionEMD(path_graph(6), mass_penalty=3.0).fit(X)
    assert est.plan_["kind"] == "hierarchy" and not est.plan_["hubs"]
    assert est.n_trees_ == 0 and len(est.times_) > 1
    assert l1_distances(est.transform(X))[0, 1] > 0


def test_unbalanced_cluster_trees_on_a_disconnected_hierarchy():
    a, _, _ = make_polyhierarchy(3000, random_state=1)
    b, _, _ = make_polyhierarchy(2000, random_state=2)
    two = sp.block_diag([a, b]).tocsr()
    X = np.zeros((6, 5000))
    X[np.arange(6), [0, 5, 3010, 3020, 4500, 4999]] = 1.0
    est = UnbalancedDiffusionEMD(two, mass_penalty=1.5).fit(X)
    assert est.n_trees_ > 0
    approx = l1_distances(est.transform(X))
    exact = exact_emd(two, X, mass_penalty=1.5)
    assert (approx >= exact - 1e-9).all()
    # across components everything is destroyed and re-created (2c), plus
    # the way to each cluster root; within a span of 2 levels at most 2 hops
    assert 3.0 - 1e-9 <= approx[0, 2] <= 3.0 + 2 * 2 + 1e-9


def test_partition_pyramid_of_a_star_has_few_levels():
    # carving around a hub used to shrink a star by one cell per level
    from graphsig.graphs import partition_pyramid

    n = 5000
    star = sp.csr_matrix(
        (np.ones(2 * (n - 1)), (np.r_[np.zeros(n - 1), np.arange(1, n)],
                                np.r_[np.arange(1, n), np.zeros(n - 1)])),
        shape=(n, n),
    )
    pyramid = partition_pyramid(star, random_state=0)
    assert pyramid.n_levels <= 3


def test_cluster_index_keeps_sparse_centres():
    from graphsig.neighbors._clusters import ClusterIndex
    from graphsig.neighbors import l1_kneighbors

    rng = np.random.default_rng(0)
    data = sp.random(400, 50_000, density=0.001, format="csr", random_state=1)
    index = ClusterIndex(data, 20, 20, np.random.RandomState(0))
    assert sp.issparse(index.centres)
    # probing every cluster is the exact search
    d, i = index.query(data[:10], 3)
    de, ie = l1_kneighbors(data[:10], data, 3)
    np.testing.assert_allclose(d, de, rtol=1e-6)


def test_trees_bound_the_emd_from_above_on_a_polyhierarchy():
    # Diracs: the EMD is the hop distance (a closed form); every tree distance
    # is at least the graph's, so their average is an upper bound, tight for
    # a concept and its parent
    adjacency, parents, _ = make_polyhierarchy(3000, random_state=5)
    rng = np.random.default_rng(0)
    nodes = rng.choice(3000, 40, replace=False)
    X = np.zeros((40, 3000))
    X[np.arange(40), nodes] = 1.0
    est = DiffusionEMD(adjacency, n_calibration_signals=0).fit(X)
    assert est.plan_["kind"] == "hierarchy" and est.tree_scale_ == 1.0
    tree = l1_distances(est.transform(X))
    hops = shortest_path(as_adjacency(adjacency), unweighted=True, indices=nodes)[:, nodes]
    np.testing.assert_allclose(exact_emd(adjacency, X), hops)
    assert (tree >= hops - 1e-9).all()
    # a leaf with one parent: its only edge is in every tree, so the bound is tight
    A = as_adjacency(adjacency)
    leaf = int(np.flatnonzero(np.diff(A.indptr) == 1)[0])
    parent = int(A.indices[A.indptr[leaf]])
    pair = np.zeros((2, 3000))
    pair[0, leaf] = pair[1, parent] = 1.0
    assert l1_distances(est.transform(pair))[0, 1] == pytest.approx(1.0)


def test_unbalanced_on_a_long_path_is_in_hops():
    # far pairs saturate a truncated diffusion: the scale is fitted on pairs
    # within 2c hops, here unit masses (no training pair is that close)
    n = 5000
    X = np.zeros((4, n))
    X[np.arange(4), [0, 1000, 2500, n - 1]] = 1.0
    est = UnbalancedDiffusionEMD(path_graph(n), mass_penalty=3.0).fit(X)
    d = l1_distances(est.transform(X))
    exact = exact_emd(path_graph(n), X, mass_penalty=3.0)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(exact[off], 6.0)
    assert np.all(np.abs(d[off] - 6.0) <= 0.2 * 6.0)  # within 20 %: in hops


# -- signals wider than a stopped diffusion ------------------------------------


def test_signal_spread_measures_mass_weighted_hops():
    from graphsig.emd._plan import signal_spread

    path = as_adjacency(path_graph(10))
    X = np.zeros((2, 10))
    X[0, 2], X[0, 6] = 3.0, 1.0  # heaviest node 2; node 6 is 4 hops away
    X[1, 5] = 2.0  # one node
    assert signal_spread(path, X[:1]) == pytest.approx(1.0)
    assert signal_spread(path, X[1:]) == 0.0
    assert signal_spread(path, np.zeros((3, 10))) == 0.0


def test_wide_signals_bring_trees_where_the_diffusion_stops_early():
    from graphsig.emd._plan import reach_hops

    profile = profile_of(grid_graph(500, 500))
    local = plan_blocks(profile, tol=1e-7, has_trees=True)
    reach = reach_hops(local["max_scale"])
    narrow = plan_blocks(profile, tol=1e-7, has_trees=True, spread=0.9 * reach)
    wide = plan_blocks(profile, tol=1e-7, has_trees=True, spread=1.1 * reach)
    assert narrow["kind"] == wide["kind"] == "local"
    assert narrow["n_trees"] == 0 and wide["n_trees"] > 0
    assert "spread" in wide["reason"]
    # the unbalanced form never gets them
    assert plan_blocks(profile, tol=1e-7, has_trees=False, spread=10 * reach)["n_trees"] == 0


def _bumps(width, n_side=100, n_signals=8, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.divmod(np.arange(n_side * n_side), n_side)
    centres = rng.integers(10, n_side - 10, size=(n_signals, 2))
    squared = (rows[None] - centres[:, :1]) ** 2 + (cols[None] - centres[:, 1:]) ** 2
    X = np.exp(-squared / (2.0 * width**2))
    X[X < 0.05] = 0.0
    return X


def test_fit_measures_the_spread_on_a_large_grid():
    # 10,000 nodes: the ball budget stops the diffusion at 2^8 steps (about 11 hops)
    grid = grid_graph(100, 100)
    wide = DiffusionEMD(grid, n_calibration_signals=4, random_state=0).fit(_bumps(16.0))
    assert wide.plan_["kind"] == "local" and wide.plan_["spread"] > 15
    assert wide.n_trees_ == 8
    narrow = DiffusionEMD(grid, n_calibration_signals=4, random_state=0).fit(_bumps(3.0))
    assert narrow.plan_["kind"] == "local" and narrow.plan_["spread"] < 5
    assert narrow.n_trees_ == 0
    # measured only where the diffusion stops early
    small = DiffusionEMD(grid_graph(20, 20), random_state=0).fit(np.eye(400)[:6] + 0.1)
    assert small.plan_["kind"] == "global" and small.plan_["spread"] is None


# -- calibration within budgets --------------------------------------------------


def test_calibration_groups_keep_the_plain_draw_when_it_fits():
    from graphsig.emd._calibration import budgeted_groups

    order = np.random.default_rng(0).permutation(40)
    supports = np.full(40, 10)
    first, second = budgeted_groups(order, supports, 16, 10**6, 10**9)
    np.testing.assert_array_equal(first, order[:16])
    np.testing.assert_array_equal(second, order[16:32])


def test_calibration_groups_respect_the_budgets():
    from graphsig.emd._calibration import budgeted_groups

    rng = np.random.default_rng(1)
    supports = rng.integers(50, 5000, size=200)
    order = rng.permutation(200)
    first, second = budgeted_groups(order, supports, 16, 4000, 4000 * 30000)
    assert 0 < first.size <= 16 and 0 < second.size <= 16
    assert not set(first) & set(second)
    assert supports[first].sum() <= 4000
    assert supports[first].sum() * supports[second].sum() <= 4000 * 30000
    # every signal too large: the two sparsest, one against the other
    first, second = budgeted_groups(order, supports, 16, 10, 100)
    assert set(np.concatenate([first, second])) == set(np.argsort(supports)[:2])
    assert first.size == second.size == 1
