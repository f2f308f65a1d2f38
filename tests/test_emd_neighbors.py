"""EMDNeighbors: scikit-learn's KNeighborsTransformer contract and the estimators it feeds."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import DBSCAN, SpectralClustering
from sklearn.manifold import Isomap
from sklearn.neighbors import KNeighborsClassifier, KNeighborsTransformer
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphsig.emd import DiffusionEMD, UnbalancedDiffusionEMD
from graphsig.graphs import path_graph
from graphsig.neighbors import EMDNeighbors


class PathGraphs:
    """``path_graph`` as a factory with a stable repr (the checks' ids hold it)."""

    def __call__(self, n_nodes):
        return path_graph(n_nodes)

    def __repr__(self):
        return "path_graph"


@pytest.fixture(autouse=True)
def one_numba_thread():
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


SPARSE_DATA = (
    "zero-mass signals: the check's sparse data (40 rows of 3 uniform entries, those below "
    "0.6 set to zero) have all-zero rows, which the default embedding (the balanced "
    "DiffusionEMD) rejects"
)

# With signals embedded by DiffusionEMD, the same checks fail as for DiffusionEMD
# itself (tests/test_emd_estimator_checks.py), for the same reason; with
# embedding="precomputed" every check passes.
SIGNAL_FAILURES = {
    "check_estimators_dtypes": (
        "zero-mass signals: the integer copies of the check's data (3 * uniform, truncated "
        "to int32 and int64) have an all-zero row, which the balanced EMD rejects; the "
        "float32 and float64 copies pass"
    ),
    "check_estimator_sparse_tag": SPARSE_DATA + (
        "; the check then reports the sparse tag as wrong, but sparse input is supported"
    ),
    "check_estimator_sparse_array": SPARSE_DATA + (
        "; the check then reports that sparse input is refused, but it is supported"
    ),
    "check_estimator_sparse_matrix": SPARSE_DATA + (
        "; the check then reports that sparse input is refused, but it is supported"
    ),
}


def expected_failed_checks(estimator):
    if estimator.embedding is None:
        return SIGNAL_FAILURES
    return {}


@parametrize_with_checks(
    [
        EMDNeighbors(embedding="precomputed", n_jobs=1),
        EMDNeighbors(graph=PathGraphs(), n_jobs=1),
    ],
    expected_failed_checks=expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------
# the KNeighborsTransformer contract


@pytest.fixture
def embeddings():
    rng = np.random.default_rng(0)
    return rng.random((60, 7))


def test_graph_matches_kneighbors_transformer(embeddings):
    ours = EMDNeighbors(embedding="precomputed", n_neighbors=4).fit_transform(embeddings)
    ref = KNeighborsTransformer(n_neighbors=4, metric="manhattan").fit_transform(embeddings)
    assert ours.format == "csr" and ours.shape == (60, 60)
    assert np.array_equal(ours.indptr, np.arange(0, 61 * 5, 5)[:61])
    np.testing.assert_allclose(ours.toarray(), ref.toarray(), rtol=1e-12, atol=1e-12)
    # each sample is its own first neighbour, stored as an explicit 0
    assert np.array_equal(ours.indices[ours.indptr[:-1]], np.arange(60))
    assert np.all(ours.data[ours.indptr[:-1]] == 0)
    assert np.all(np.diff(ours.data.reshape(60, 5), axis=1) >= 0)


def test_transform_of_training_data_equals_fit_transform(embeddings):
    knn = EMDNeighbors(embedding="precomputed", n_neighbors=3)
    G = knn.fit_transform(embeddings)
    H = knn.transform(embeddings)
    assert np.array_equal(G.indices, H.indices)
    np.testing.assert_array_equal(G.data, H.data)


def test_connectivity_mode_and_kneighbors_graph(embeddings):
    knn = EMDNeighbors(embedding="precomputed", n_neighbors=3, mode="connectivity")
    G = knn.fit_transform(embeddings)
    assert G.nnz == 60 * 3 and np.all(G.data == 1)
    D = knn.kneighbors_graph(mode="distance")
    assert D.nnz == 60 * 3 and np.all(D.diagonal() == 0) and np.all(D.data > 0)
    with pytest.raises(ValueError, match="mode must be"):
        knn.kneighbors_graph(mode="similarity")


def test_kneighbors_without_x_leaves_each_sample_out(embeddings):
    knn = EMDNeighbors(embedding="precomputed", n_neighbors=3).fit(embeddings)
    dist, ind = knn.kneighbors()
    assert not np.any(ind == np.arange(60)[:, None])
    ref_dist, ref_ind = KNeighborsTransformer(n_neighbors=3, metric="manhattan").fit(
        embeddings
    ).kneighbors()
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist)
    assert knn.kneighbors(embeddings[:2], 2, return_distance=False).tolist() == [
        [0, ref_ind[0, 0]], [1, ref_ind[1, 0]]
    ]


def test_sparse_precomputed_embedding_matches_dense(embeddings):
    sparse = embeddings.copy()
    sparse[sparse < 0.6] = 0
    dense_graph = EMDNeighbors(embedding="precomputed", n_neighbors=4).fit_transform(sparse)
    sparse_graph = EMDNeighbors(embedding="precomputed", n_neighbors=4).fit_transform(
        sp.csr_matrix(sparse)
    )
    assert np.array_equal(dense_graph.indices, sparse_graph.indices)
    np.testing.assert_allclose(dense_graph.data, sparse_graph.data, rtol=1e-12)


def test_float32_embeddings_give_float32_distances(embeddings):
    G = EMDNeighbors(embedding="precomputed").fit_transform(embeddings.astype(np.float32))
    assert G.dtype == np.float32


def signals_on_path(n_signals=40, n_nodes=10, seed=0):
    """Two groups of histograms: mass near node 1 or near node 8 of a path."""
    rng = np.random.default_rng(seed)
    centre = np.where(np.arange(n_signals) % 2 == 0, 1, 8)
    nodes = np.arange(n_nodes)
    X = np.exp(-((nodes[None, :] - centre[:, None]) ** 2) / 2.0)
    X += 0.3 * rng.random((n_signals, n_nodes))
    return X, (centre > 4).astype(int)


def test_default_embedding_is_diffusion_emd_then_exact_search():
    X, _ = signals_on_path()
    knn = EMDNeighbors(graph=path_graph(10), n_neighbors=3, random_state=0).fit(X)
    emb = DiffusionEMD(graph=path_graph(10), random_state=0).fit_transform(X)
    from graphsig.neighbors import l1_kneighbors

    dist, ind = l1_kneighbors(emb, n_neighbors=3, exclude_self=True)
    got_dist, got_ind = knn.kneighbors()
    np.testing.assert_array_equal(got_ind, ind)
    np.testing.assert_allclose(got_dist, dist)
    assert knn.algorithm_ == "exact" and knn.n_features_in_ == 10


def test_given_embedding_is_cloned_and_gets_the_graph():
    X, _ = signals_on_path()
    embedding = UnbalancedDiffusionEMD(mass_penalty=3.0)
    knn = EMDNeighbors(graph=path_graph(10), embedding=embedding).fit(X)
    assert isinstance(knn.embedder_, UnbalancedDiffusionEMD) and knn.embedder_ is not embedding
    assert embedding.graph is None  # the parameter itself is untouched
    assert knn.fit_embedding_.shape == (40, knn.embedder_.n_features_out_)


def test_pickle_round_trip():
    X, _ = signals_on_path()
    knn = EMDNeighbors(graph=path_graph(10), n_neighbors=3).fit(X)
    again = pickle.loads(pickle.dumps(knn))
    assert np.array_equal(again.transform(X[:5]).toarray(), knn.transform(X[:5]).toarray())


# ---------------------------------------------------------------------------
# estimators taking metric="precomputed"


def test_pipeline_with_kneighbors_classifier():
    X, y = signals_on_path(60)
    model = make_pipeline(
        EMDNeighbors(graph=path_graph(10), n_neighbors=6, random_state=0),
        KNeighborsClassifier(n_neighbors=5, metric="precomputed"),
    )
    model.fit(X[:40], y[:40])
    assert model.score(X[40:], y[40:]) == 1.0


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")
def test_isomap_dbscan_and_spectral_clustering_on_the_graph():
    X, y = signals_on_path(60)
    knn = EMDNeighbors(graph=path_graph(10), n_neighbors=8, random_state=0)
    G = knn.fit_transform(X)
    # Isomap in a pipeline: bumps centred along the path lie on a line
    centre = np.linspace(1, 8, 50)
    bumps = np.exp(-((np.arange(10)[None, :] - centre[:, None]) ** 2) / 2.0)
    coords = make_pipeline(
        EMDNeighbors(graph=path_graph(10), n_neighbors=6, random_state=0),
        Isomap(n_neighbors=6, n_components=1, metric="precomputed"),
    ).fit_transform(bumps)
    assert coords.shape == (50, 1)
    steps = np.diff(coords[:, 0])
    assert np.all(steps > 0) or np.all(steps < 0)
    # DBSCAN: eps between the within-group and the between-group distances
    within = G.data[G.data > 0].max()
    labels = DBSCAN(eps=within * 1.01, min_samples=3, metric="precomputed").fit_predict(G)
    assert len(set(labels)) == 2 and -1 not in labels
    assert np.all((labels == labels[0]) == (y == y[0]))
    spectral = SpectralClustering(
        n_clusters=2, affinity="precomputed_nearest_neighbors", n_neighbors=8, random_state=0
    ).fit_predict(G)
    assert np.all((spectral == spectral[0]) == (y == y[0]))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_umap_on_the_symmetrised_graph():
    # UMAP takes a sparse precomputed matrix only if it is symmetric: the
    # union of the kNN relations, G.maximum(G.T), keeps every neighbour distance
    umap = pytest.importorskip("umap")
    X, y = signals_on_path(60)
    G = EMDNeighbors(graph=path_graph(10), n_neighbors=8, random_state=0).fit_transform(X)
    Y = umap.UMAP(n_neighbors=8, metric="precomputed", random_state=0, n_epochs=50).fit_transform(
        G.maximum(G.T)
    )
    assert Y.shape == (60, 2) and np.isfinite(Y).all()
    # the two groups of signals stay apart in the layout
    a, b = Y[y == y[0]], Y[y != y[0]]
    gap = np.linalg.norm(a.mean(axis=0) - b.mean(axis=0))
    assert gap > 2 * max(a.std(axis=0).max(), b.std(axis=0).max())


# ---------------------------------------------------------------------------
# approximate search


def test_approximate_search_recalls_the_exact_neighbours():
    rng = np.random.default_rng(1)
    centres = rng.random((20, 16)) * 4
    X = centres[rng.integers(0, 20, 1500)] + rng.random((1500, 16))
    exact = EMDNeighbors(embedding="precomputed", n_neighbors=10, algorithm="exact").fit(X)
    approx = EMDNeighbors(
        embedding="precomputed", n_neighbors=10, algorithm="approximate", random_state=0
    ).fit(X)
    assert approx.algorithm_ == "approximate"
    _, ind = exact.kneighbors()
    dist_a, ind_a = approx.kneighbors()
    recall = np.mean([np.intersect1d(a, b).size / 10 for a, b in zip(ind, ind_a)])
    assert recall >= 0.95
    assert not np.any(ind_a == np.arange(1500)[:, None])
    assert np.all(np.diff(dist_a, axis=1) >= 0)
    _, ind_q = approx.kneighbors(X[:50] + 0.01, 10)
    _, ind_e = exact.kneighbors(X[:50] + 0.01, 10)
    assert np.mean([np.intersect1d(a, b).size / 10 for a, b in zip(ind_e, ind_q)]) >= 0.95
    G = approx.fit_transform(X)
    assert G.nnz == 1500 * 11 and np.all(G.diagonal() == 0)
    # sparse embeddings go through the same index
    Xs = sp.csr_matrix(np.where(X > 2.5, X, 0))
    _, ind_s = EMDNeighbors(embedding="precomputed", n_neighbors=10, algorithm="exact").fit(
        Xs
    ).kneighbors()
    _, ind_sa = EMDNeighbors(
        embedding="precomputed", n_neighbors=10, algorithm="approximate", random_state=0
    ).fit(Xs).kneighbors()
    assert np.mean([np.intersect1d(a, b).size / 10 for a, b in zip(ind_s, ind_sa)]) >= 0.95


def test_auto_switches_to_approximate_above_the_documented_size():
    from graphsig.neighbors._transformer import AUTO_EXACT_MAX_SAMPLES

    knn = EMDNeighbors(embedding="precomputed")
    assert knn._resolve_algorithm(AUTO_EXACT_MAX_SAMPLES) == "exact"
    assert knn._resolve_algorithm(AUTO_EXACT_MAX_SAMPLES + 1) == "approximate"


# ---------------------------------------------------------------------------
# bad input


def test_too_many_neighbours_for_the_fitted_samples(embeddings):
    knn = EMDNeighbors(embedding="precomputed", n_neighbors=60).fit(embeddings)
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        knn.transform(embeddings)
    with pytest.raises(ValueError, match="n_neighbors = 60, n_samples_fit = 60"):
        knn.kneighbors()


def test_query_width_differs_from_fitted_embeddings(embeddings):
    knn = EMDNeighbors(embedding="precomputed").fit(embeddings)
    with pytest.raises(ValueError, match="X has 6 features, but EMDNeighbors is expecting 7"):
        knn.transform(embeddings[:, :6])


def test_query_signals_on_another_graph_size():
    X, _ = signals_on_path()
    knn = EMDNeighbors(graph=path_graph(10)).fit(X)
    with pytest.raises(ValueError, match="X has 9 features, but EMDNeighbors is expecting 10"):
        knn.transform(X[:, :9])


def test_empty_input(embeddings):
    with pytest.raises(ValueError, match="0 sample"):
        EMDNeighbors(embedding="precomputed").fit(embeddings[:0])
    knn = EMDNeighbors(embedding="precomputed").fit(embeddings)
    with pytest.raises(ValueError, match="0 sample"):
        knn.transform(embeddings[:0])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_precomputed_embeddings(embeddings, bad):
    embeddings[3, 2] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        EMDNeighbors(embedding="precomputed").fit(embeddings)


def test_duplicates_give_deterministic_ties_by_index():
    rng = np.random.default_rng(3)
    X = rng.random((30, 5))
    X[[4, 11, 20, 27]] = X[9]
    knn = EMDNeighbors(embedding="precomputed", n_neighbors=4)
    first = knn.fit_transform(X)
    again = knn.fit_transform(X)
    assert np.array_equal(first.indices, again.indices)
    # the five copies are each other's nearest, in index order
    for i in (4, 9, 11, 20, 27):
        assert first[i].indices.tolist() == [4, 9, 11, 20, 27]
