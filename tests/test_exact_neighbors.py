"""Certified exact EMD nearest neighbours: exact_kneighbors and EMDNeighbors(refine="exact")."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsig import UnbalancedDiffusionEMD, exact_emd
from graphsig.datasets import make_clustered_signals
from graphsig.emd import exact_kneighbors
from graphsig.emd._certified import CertifiedIndex
from graphsig.emd._exact import _check_signals, _normalised
from graphsig.graphs import as_adjacency, cycle_graph, grid_graph, random_tree
from graphsig.neighbors import EMDNeighbors


def brute_force(D, k, exclude_self=False):
    """k smallest per row, ties by index."""
    D = D.copy()
    if exclude_self:
        np.fill_diagonal(D, np.inf)
    idx = np.array([np.lexsort((np.arange(row.size), row))[:k] for row in D])
    return np.take_along_axis(D, idx, 1), idx


@pytest.mark.parametrize("mass_penalty", [None, 1.0, 3.0])
def test_exact_kneighbors_equals_brute_force(mass_penalty):
    graph = grid_graph(9, 9)
    X, _ = make_clustered_signals(graph, 60, max_nnz=12, random_state=4)
    D = exact_emd(graph, X, mass_penalty=mass_penalty)
    d, i, n_solves = exact_kneighbors(
        graph, X, n_neighbors=6, mass_penalty=mass_penalty, exclude_self=True
    )
    bd, bi = brute_force(D, 6, exclude_self=True)
    np.testing.assert_array_equal(i, bi)
    np.testing.assert_allclose(d, bd, rtol=1e-12, atol=1e-12)
    assert n_solves.shape == (60,)
    assert (n_solves >= 6).all() and (n_solves <= 59).all()
    assert n_solves.mean() < 59  # the bounds prune


def test_ties_are_ordered_by_index():
    # Diracs on a cycle of 12: nodes 3 and 9 are both 3 hops from node 0 and 6;
    # duplicates of node 1 tie at distance 0
    graph = cycle_graph(12)
    nodes = [0, 9, 3, 6, 1, 1, 11, 2]
    X = np.eye(12)[nodes]
    D = exact_emd(graph, X)
    for k in range(1, 7):
        d, i, _ = exact_kneighbors(graph, X, n_neighbors=k, exclude_self=True)
        bd, bi = brute_force(D, k, exclude_self=True)
        np.testing.assert_array_equal(i, bi)
        np.testing.assert_allclose(d, bd)


def test_queries_against_other_signals_and_order_changes_only_the_work():
    graph = grid_graph(10, 10)
    X, _ = make_clustered_signals(graph, 50, random_state=1)
    Q, _ = make_clustered_signals(graph, 7, random_state=2)
    D = exact_emd(graph, Q, X, mass_penalty=2.0)
    bd, bi = brute_force(D, 4)
    rng = np.random.default_rng(0)
    worst = np.argsort(-D, axis=1)[:, :20]  # an adversarial order: farthest first
    for order in (None, worst, rng.permutation(50)[None, :].repeat(7, 0)):
        d, i, n_solves = exact_kneighbors(
            graph, Q, X, n_neighbors=4, mass_penalty=2.0, order=order
        )
        np.testing.assert_array_equal(i, bi)
        np.testing.assert_allclose(d, bd, rtol=1e-12)


def test_tree_closed_form():
    # on a tree the EMD between Diracs is their hop distance
    tree = random_tree(40, random_state=3)
    X = np.eye(40)
    from scipy.sparse.csgraph import shortest_path

    hops = shortest_path(as_adjacency(tree), unweighted=True)
    d, i, _ = exact_kneighbors(tree, X[:10], X, n_neighbors=5)
    bd, bi = brute_force(hops[:10], 5)
    np.testing.assert_array_equal(i, bi)
    np.testing.assert_array_equal(d, bd)


@st.composite
def small_problem(draw):
    n = draw(st.integers(4, 14))
    extra = draw(st.integers(0, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    # a random tree plus extra edges: connected
    parent = [int(rng.integers(0, v)) for v in range(1, n)]
    rows = list(range(1, n)) + list(rng.integers(0, n, extra))
    cols = parent + list(rng.integers(0, n, extra))
    A = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    A = ((A + A.T) > 0).astype(float)
    A.setdiag(0)
    A.eliminate_zeros()
    n_signals = draw(st.integers(2, 6))
    X = rng.random((n_signals, n)) * (rng.random((n_signals, n)) < 0.5)
    X[np.arange(n_signals), rng.integers(0, n, n_signals)] += 0.5  # no empty row
    penalty = draw(st.sampled_from([None, 0.7, 1.5, 4.0]))
    return A, X, penalty


@settings(max_examples=40, deadline=None)
@given(small_problem())
def test_potentials_bound_every_pair_and_attain_their_own(problem):
    A, X, penalty = problem
    signals = _check_signals(X, "X")
    if penalty is None:
        signals = _normalised(signals, "X")
    index = CertifiedIndex(as_adjacency(A), signals, penalty, 3, 0)
    D = exact_emd(A, X, mass_penalty=penalty)
    # landmark bounds
    P = index.projections
    assert (np.abs(P[:, None, :] - P[None, :, :]).max(axis=2) <= D + 1e-9).all()
    from graphsig.emd._hops_kernels import hop_distances

    n = A.shape[0]
    for q in range(X.shape[0]):
        qn = signals.indices[signals.indptr[q]:signals.indptr[q + 1]]
        qv = signals.data[signals.indptr[q]:signals.indptr[q + 1]]
        table = np.full((qn.size, n), np.inf, dtype=np.float32)
        hop_distances(index.indptr, index.indices, qn.astype(np.int64),
                      np.arange(n, dtype=np.int64), n, n, table)
        for j in range(X.shape[0]):
            yn = signals.indices[signals.indptr[j]:signals.indptr[j + 1]]
            yv = signals.data[signals.indptr[j]:signals.indptr[j + 1]]
            value, spec = index.solver.solve_dual(
                qn, qv, np.arange(qn.size), yn, yv, yn.astype(np.int64), table, q, j
            )
            assert value == pytest.approx(D[q, j], rel=1e-9, abs=1e-9)
            if spec is None:
                continue
            f = index._potential(spec)
            # the same potential from the query's hop table (the fast path)
            np.testing.assert_allclose(
                index._potential_from_table(spec, table, qn, np.arange(n)), f, atol=1e-12
            )
            # 1-Lipschitz in hops (and bounded by c)
            r, c = A.nonzero()
            assert (np.abs(f[r] - f[c]) <= 1 + 1e-9).all()
            if penalty is not None:
                assert np.abs(f).max() <= penalty + 1e-12
            bounds = np.abs(signals @ f - qv @ f[qn])
            assert (bounds <= D[q] + 1e-9).all()
            assert qv @ f[qn] - yv @ f[yn] == pytest.approx(value, rel=1e-9, abs=1e-9)


def test_exact_kneighbors_errors():
    graph = grid_graph(4, 4)
    X = np.eye(16)[:5]
    with pytest.raises(ValueError, match="n_neighbors must be in"):
        exact_kneighbors(graph, X, n_neighbors=5, exclude_self=True)
    with pytest.raises(TypeError, match="n_neighbors must be an int"):
        exact_kneighbors(graph, X, n_neighbors=2.5)
    with pytest.raises(ValueError, match="order must have shape"):
        exact_kneighbors(graph, X, n_neighbors=2, order=np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="outside"):
        exact_kneighbors(graph, X, n_neighbors=2, order=np.full((5, 2), 7))
    with pytest.raises(ValueError, match="columns but the graph has 16 nodes"):
        exact_kneighbors(graph, np.eye(15)[:3], n_neighbors=1)
    with pytest.raises(ValueError, match="negative"):
        exact_kneighbors(graph, -X, n_neighbors=1)
    with pytest.raises(ValueError, match="zero total mass"):
        exact_kneighbors(graph, np.zeros((2, 16)), n_neighbors=1)
    two = sp.block_diag([as_adjacency(grid_graph(2, 2))] * 2).tocsr()
    with pytest.raises(ValueError, match="connected"):
        exact_kneighbors(two, np.eye(8)[:3], n_neighbors=1)


@pytest.mark.parametrize("unbalanced", [False, True])
def test_emd_neighbors_refine_exact(unbalanced):
    graph = grid_graph(10, 10)
    X, _ = make_clustered_signals(graph, 70, random_state=6)
    Q, _ = make_clustered_signals(graph, 9, random_state=7)
    penalty = 2.0 if unbalanced else None
    embedding = UnbalancedDiffusionEMD(mass_penalty=penalty) if unbalanced else None
    knn = EMDNeighbors(graph=graph, n_neighbors=5, refine="exact", embedding=embedding,
                       random_state=0)
    G = knn.fit_transform(X)
    D = exact_emd(graph, X, mass_penalty=penalty)
    bd, bi = brute_force(D, 6)  # self first, at 0
    np.testing.assert_array_equal(G.indices.reshape(70, 6)[:, 0], np.arange(70))
    np.testing.assert_allclose(np.sort(G.data.reshape(70, 6), axis=1), bd, atol=1e-12)
    assert knn.n_exact_solves_.shape == (70,)
    d, i = knn.kneighbors()
    bd, bi = brute_force(D, 5, exclude_self=True)
    np.testing.assert_array_equal(i, bi)
    np.testing.assert_allclose(d, bd, rtol=1e-12)
    d, i = knn.kneighbors(Q, n_neighbors=3)
    bd, bi = brute_force(exact_emd(graph, Q, X, mass_penalty=penalty), 3)
    np.testing.assert_array_equal(i, bi)
    np.testing.assert_allclose(d, bd, rtol=1e-12)
    assert knn.n_exact_solves_.shape == (9,)
    assert knn.n_exact_solves_.max() < 70


def test_emd_neighbors_refine_needs_signals():
    X = np.eye(9)[:4]
    with pytest.raises(ValueError, match="precomputed"):
        EMDNeighbors(embedding="precomputed", refine="exact").fit(X)
    with pytest.raises(ValueError, match="refine"):
        EMDNeighbors(graph=grid_graph(3, 3), refine="yes").fit(X)
