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


def test_unbalanced_on_a_polyhierarchy_runs_locally():
    adjacency, parents, _ = make_polyhierarchy(5000, random_state=3)
    X, _, _ = make_annotation_signals(parents, 40, random_state=1)
    est = UnbalancedDiffusionEMD(adjacency, mass_penalty=2.0).fit(X)
    E = est.transform(X)
    assert E.shape[0] == 40 and np.isfinite(E.data if sp.issparse(E) else E).all()


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
