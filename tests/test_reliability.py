"""Hostile inputs at the core entry points: corrupted sparse matrices,
extreme finite values, parameters of the wrong type.

Each case gets a correct result or a ValueError/TypeError naming the problem.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from graphsig.emd import DiffusionEMD, UnbalancedDiffusionEMD, exact_emd, exact_kneighbors
from graphsig.graphs import as_adjacency, grid_graph, path_graph
from graphsig.neighbors import EMDNeighbors

N = 8


def _signals(n_rows=5, n_nodes=N, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, n_nodes))
    X[X < 0.5] = 0
    X[:, 0] += 0.1  # no empty row
    return X


def _corrupt_csr(kind):
    """A CSR matrix whose index arrays scipy accepted but which are wrong."""
    X = sp.csr_matrix(_signals())
    if kind == "large index":
        X.indices[1] = 10**6
    elif kind == "negative index":
        X.indices[1] = -3
    elif kind == "index equal to n_cols":
        X.indices[-1] = N
    elif kind == "decreasing indptr":
        X.indptr[2], X.indptr[3] = X.indptr[3], X.indptr[2]
    elif kind == "indptr past the end":
        X.indptr[-1] += 4
    return X


CORRUPTIONS = [
    "large index", "negative index", "index equal to n_cols", "decreasing indptr",
    "indptr past the end",
]
SIGNAL_ENTRY_POINTS = {
    "DiffusionEMD.fit": lambda X: DiffusionEMD(path_graph(N)).fit(X),
    "DiffusionEMD.transform": lambda X: DiffusionEMD(path_graph(N)).fit(_signals()).transform(X),
    "UnbalancedDiffusionEMD.fit": lambda X: UnbalancedDiffusionEMD(path_graph(N)).fit(X),
    "UnbalancedDiffusionEMD.transform": (
        lambda X: UnbalancedDiffusionEMD(path_graph(N)).fit(_signals()).transform(X)
    ),
    "exact_emd": lambda X: exact_emd(path_graph(N), X),
    "exact_emd Y": lambda X: exact_emd(path_graph(N), _signals(), X),
    "exact_kneighbors": lambda X: exact_kneighbors(path_graph(N), X, n_neighbors=2),
    "EMDNeighbors.fit": lambda X: EMDNeighbors(graph=path_graph(N), n_neighbors=2).fit(X),
    "EMDNeighbors.kneighbors": (
        lambda X: EMDNeighbors(graph=path_graph(N), n_neighbors=2).fit(_signals()).kneighbors(X)
    ),
}


@pytest.mark.parametrize("kind", CORRUPTIONS)
@pytest.mark.parametrize("entry", sorted(SIGNAL_ENTRY_POINTS))
def test_corrupted_sparse_signals_are_refused(entry, kind):
    X = _corrupt_csr(kind)
    with pytest.raises(ValueError, match="X|queries|Y"):
        SIGNAL_ENTRY_POINTS[entry](X)


@pytest.mark.parametrize("fmt", ["csc", "coo"])
def test_corrupted_csc_and_coo_signals_are_refused(fmt):
    X = sp.csr_matrix(_signals()).asformat(fmt)
    if fmt == "csc":
        X.indices[0] = 99
    else:
        X.col[0] = 99
    for entry in ("DiffusionEMD.fit", "exact_emd"):
        with pytest.raises(ValueError, match="indices outside"):
            SIGNAL_ENTRY_POINTS[entry](X)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupted_adjacency_is_refused(kind):
    A = sp.csr_matrix(path_graph(N), dtype=np.float64)
    if kind == "large index":
        A.indices[0] = 10**6
    elif kind == "negative index":
        A.indices[0] = -1
    elif kind == "index equal to n_cols":
        A.indices[-1] = N
    elif kind == "decreasing indptr":
        A.indptr[2], A.indptr[3] = A.indptr[3], A.indptr[2] + 1
    elif kind == "indptr past the end":
        A.indptr[-1] += 2
    with pytest.raises(ValueError, match="adjacency"):
        as_adjacency(A)
    with pytest.raises(ValueError, match="adjacency"):
        DiffusionEMD(A).fit(_signals())


def test_coo_adjacency_with_bad_coordinates_is_refused():
    A = sp.coo_matrix(path_graph(N))
    A.row[0] = N + 3
    with pytest.raises(ValueError, match="row indices outside"):
        as_adjacency(A)


# -- extreme finite values -------------------------------------------------


def test_balanced_mass_overflow_is_refused_not_zeroed():
    X = np.zeros((2, N))
    X[0, :2] = 1e308  # sums to inf in float64
    X[1, -2:] = 1e308
    with pytest.raises(ValueError, match="overflows float64"):
        DiffusionEMD(path_graph(N)).fit(X)
    with pytest.raises(ValueError, match="overflows float64"):
        exact_emd(path_graph(N), X)
    # a scale that fits gives the same answer as unit mass
    scaled = exact_emd(path_graph(N), X / 4)
    unit = exact_emd(path_graph(N), X / 1e308)
    np.testing.assert_allclose(scaled, unit)
    assert unit[0, 1] == pytest.approx(N - 2)


def test_unbalanced_cost_overflow_is_refused():
    X = np.zeros((2, N))
    X[0, 0] = 1e308
    X[1, -1] = 1e308
    with pytest.raises(ValueError, match="overflows float64"):
        exact_emd(path_graph(N), X, mass_penalty=5.0)
    with pytest.raises(ValueError, match="overflows float64"):
        exact_kneighbors(path_graph(N), X, n_neighbors=1, mass_penalty=5.0)


@pytest.mark.parametrize("graph", [path_graph(N), grid_graph(3, 3)])
@pytest.mark.parametrize("cls", [DiffusionEMD, UnbalancedDiffusionEMD])
def test_float32_near_its_max_gives_finite_output_or_an_error(cls, graph):
    n = graph.shape[0]
    X = _signals(n_nodes=n).astype(np.float32)
    est = cls(graph).fit(X)
    for total in (1e30, 1e37, 3.3e38):
        big = (X / X.sum(axis=1, keepdims=True) * np.float32(total)).astype(np.float32)
        assert np.isfinite(big).all()
        try:
            out = est.transform(big)
        except ValueError as exc:
            assert "overflow" in str(exc)
        else:
            assert np.isfinite(out).all()


def test_embedding_overflow_is_reported():
    est = UnbalancedDiffusionEMD(path_graph(N), mass_penalty=1e30).fit(_signals())
    with pytest.raises(ValueError, match="overflow"):
        est.transform(_signals() * 1e300)
    # the unbalanced weights' sums would overflow: refused, not a zeroed block
    est = UnbalancedDiffusionEMD(path_graph(N), mass_penalty=20.0).fit(np.eye(N))
    X = np.zeros((1, N))
    X[0, 0] = 4e307
    with pytest.raises(ValueError, match="overflows float64"):
        est.transform(X)
    X[0, 0] = 1e300
    assert np.isfinite(est.transform(X)).all() and est.transform(X).max() > 1e299


@pytest.mark.parametrize("weight", [1e-320, 1e-310, 1e300, 1e308])
@pytest.mark.parametrize("cls", [DiffusionEMD, UnbalancedDiffusionEMD])
def test_extreme_edge_weights_give_the_scaled_answer(cls, weight):
    base = sp.triu(grid_graph(4, 4).astype(np.float64)).tocsr()
    base.data[::3] = 0.375  # not all equal, ratios exact in binary
    reference = (base + base.T).tocsr()
    extreme = (base * weight + (base * weight).T).tocsr()
    X = np.eye(16)
    expected = cls(reference, weighted=True).fit(X).transform(X)
    got = cls(extreme, weighted=True).fit(X).transform(X)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_symmetrising_weights_near_the_float_max_does_not_overflow():
    A = np.array([[0, 1.7e308], [1.7e308 * (1 + 1e-12), 0]])
    out = as_adjacency(A)
    assert np.isfinite(out.data).all()
    assert out[0, 1] == pytest.approx(1.7e308)


# -- parameters ------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: UnbalancedDiffusionEMD(path_graph(N), mass_penalty=True),
    lambda: DiffusionEMD(path_graph(N), max_scale=True),
    lambda: DiffusionEMD(path_graph(N), n_trees=True),
    lambda: DiffusionEMD(path_graph(N), n_calibration_signals=False),
    lambda: EMDNeighbors(graph=path_graph(N), n_neighbors=True),
    lambda: EMDNeighbors(graph=path_graph(N), n_candidates=True),
])
def test_booleans_are_not_numbers(make):
    with pytest.raises((TypeError, ValueError), match="bool"):
        make().fit(_signals())


@pytest.mark.parametrize("make", [
    lambda: DiffusionEMD(path_graph(N), n_jobs=0),
    lambda: UnbalancedDiffusionEMD(path_graph(N), n_jobs=0),
    lambda: EMDNeighbors(graph=path_graph(N), n_neighbors=2, n_jobs=0),
])
def test_n_jobs_zero_is_refused_at_fit(make):
    with pytest.raises(ValueError, match="n_jobs"):
        make().fit(_signals())


def test_mass_penalty_bool_refused_by_exact_functions():
    with pytest.raises(TypeError, match="mass_penalty"):
        exact_emd(path_graph(N), _signals(), mass_penalty=True)


# -- object arrays: one reading everywhere ---------------------------------


def test_numeric_strings_are_refused_everywhere():
    X = _signals().astype(str).astype(object)
    calls = [
        lambda: DiffusionEMD(path_graph(N)).fit(X),
        lambda: UnbalancedDiffusionEMD(path_graph(N)).fit(X),
        lambda: exact_emd(path_graph(N), X),
        lambda: exact_kneighbors(path_graph(N), X, n_neighbors=2),
        lambda: EMDNeighbors(graph=path_graph(N), n_neighbors=2).fit(X),
        lambda: DiffusionEMD(path_graph(N)).fit(_signals()).transform(X),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="strings"):
            call()
    with pytest.raises(TypeError, match="strings"):
        exact_emd(path_graph(N), _signals().astype(str))


def test_object_arrays_of_numbers_are_read_alike():
    X = _signals()
    as_objects = X.astype(object)
    np.testing.assert_array_equal(exact_emd(path_graph(N), as_objects), exact_emd(path_graph(N), X))
    est = DiffusionEMD(path_graph(N)).fit(X)
    np.testing.assert_array_equal(est.transform(as_objects), est.transform(X))


# -- embeddings and kNN graphs ----------------------------------------------


def test_l1_searches_refuse_corrupted_sparse_and_report_overflow():
    from graphsig.neighbors import knn_affinity, l1_distances, l1_kneighbors

    S = sp.csr_matrix(np.eye(3))
    S.indices[0] = 7
    for call in (lambda: l1_distances(S), lambda: l1_kneighbors(S, n_neighbors=1),
                 lambda: knn_affinity(S)):
        with pytest.raises(ValueError, match="indices outside"):
            call()
    X = np.full((3, 4), 1e308)
    X[1] = -1e308
    for call in (lambda: l1_distances(X), lambda: l1_kneighbors(X, n_neighbors=2),
                 lambda: l1_kneighbors(sp.csr_matrix(X), n_neighbors=2)):
        with pytest.raises(ValueError, match="overflowed"):
            call()
    with pytest.raises(ValueError, match="n_jobs"):
        l1_distances(np.eye(3), n_jobs=0)
    with pytest.raises(ValueError, match="n_jobs"):
        l1_kneighbors(np.eye(3), n_neighbors=1, n_jobs=0)
