"""knn_affinity: the adaptive kernel over k-nearest-neighbour distance graphs."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import SpectralClustering

from graphsig.neighbors import EMDNeighbors, knn_affinity


def two_clusters(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((2 * n, 5))
    X[n:, 0] += 3.0  # L1 gaps between the clusters above 2, within about 1.7
    return X, np.repeat([0, 1], n)


def test_formula_symmetry_and_diagonal():
    X, _ = two_clusters()
    G = EMDNeighbors(embedding="precomputed", n_neighbors=5).fit_transform(X)
    K = knn_affinity(G, decay=2.0)
    assert K.shape == (80, 80) and abs(K - K.T).max() == 0
    assert np.all(K.diagonal() == 1) and K.data.min() > 0 and K.data.max() <= 1
    # one entry by hand: mean of the two directions (or half of one)
    dist = G.toarray()
    sigma = np.sort(np.where(G.toarray() > 0, dist, np.inf), axis=1)[:, 4]
    i = 0
    j = G[0].indices[1]
    k_ij = np.exp(-((dist[i, j] / sigma[i]) ** 2))
    k_ji = np.exp(-((dist[j, i] / sigma[j]) ** 2)) if G[j, i] != 0 else 0.0
    assert K[i, j] == pytest.approx((k_ij + k_ji) / 2)


def test_symmetrize_options_and_decay():
    X, _ = two_clusters()
    G = EMDNeighbors(embedding="precomputed", n_neighbors=5).fit_transform(X)
    mean, high, low = (knn_affinity(G, symmetrize=s) for s in ("mean", "max", "min"))
    assert high.nnz >= mean.nnz >= low.nnz
    assert np.all(high.toarray() >= mean.toarray()) and np.all(mean.toarray() >= low.toarray())
    # beyond sigma a larger decay falls faster, within sigma slower
    G = EMDNeighbors(embedding="precomputed", n_neighbors=10).fit_transform(X)
    sharp = knn_affinity(G, n_neighbors=3, decay=8.0, symmetrize="max").toarray()
    soft = knn_affinity(G, n_neighbors=3, decay=1.0, symmetrize="max").toarray()
    off = ~np.eye(80, dtype=bool) & (sharp > 0) & (soft > 0)
    assert np.any(sharp[off] > soft[off]) and np.any(sharp[off] < soft[off])


def test_duplicates_give_finite_affinities_of_one():
    X = np.repeat(np.random.default_rng(1).random((10, 3)), 6, axis=0)  # six copies each
    G = EMDNeighbors(embedding="precomputed", n_neighbors=4).fit_transform(X)
    K = knn_affinity(G)  # every sigma is 0
    assert np.all(np.isfinite(K.data))
    assert K[0, 1] == 1.0 and K.data.min() > 0
    # a mix: sigma 0 rows borrow the smallest positive bandwidth
    Y = np.vstack([X[:6], np.random.default_rng(2).random((20, 3))])
    K2 = knn_affinity(EMDNeighbors(embedding="precomputed", n_neighbors=3).fit_transform(Y))
    assert np.all(np.isfinite(K2.data)) and K2[0, 1] == 1.0


def test_feeds_spectral_clustering_and_separates_two_clusters():
    X, labels = two_clusters()
    # k=45 > 40 keeps the kNN graph connected across the gap
    G = EMDNeighbors(embedding="precomputed", n_neighbors=45).fit_transform(X)
    K = knn_affinity(G, n_neighbors=5, symmetrize="max")
    found = SpectralClustering(n_clusters=2, affinity="precomputed", random_state=0).fit_predict(K)
    assert np.all((found == found[0]) == (labels == labels[0]))


def test_diffusion_map_on_the_affinity():
    X, labels = two_clusters()
    G = EMDNeighbors(embedding="precomputed", n_neighbors=45).fit_transform(X)
    K = knn_affinity(G, n_neighbors=5)
    degree = np.asarray(K.sum(axis=1)).ravel()
    # eigenvectors of P = D^-1 K from the symmetric D^-1/2 K D^-1/2
    inv_sqrt = sp.diags(1 / np.sqrt(degree))
    values, vectors = np.linalg.eigh((inv_sqrt @ K @ inv_sqrt).toarray())
    values, vectors = values[::-1], vectors[:, ::-1]
    psi = vectors / np.sqrt(degree)[:, None]
    assert values[0] == pytest.approx(1.0)
    coords = values[1:3] * psi[:, 1:3]
    assert np.all(np.isfinite(coords))
    first = coords[:, 0] > 0
    assert np.all(first == (labels == 0)) or np.all(first == (labels == 1))


def test_float32_graph_gives_float32_affinity():
    X, _ = two_clusters()
    G = EMDNeighbors(embedding="precomputed", n_neighbors=3).fit_transform(X.astype(np.float32))
    assert knn_affinity(G).dtype == np.float32


def test_dense_input_is_refused():
    with pytest.raises(TypeError, match="must be a scipy.sparse"):
        knn_affinity(np.zeros((3, 3)))


def test_non_square_graph_is_refused():
    knn = EMDNeighbors(embedding="precomputed", n_neighbors=2).fit(np.eye(4))
    with pytest.raises(ValueError, match="must be square"):
        knn_affinity(knn.transform(np.eye(4)[:2]))


def test_bad_decay():
    G = sp.csr_matrix(np.ones((3, 3)))
    with pytest.raises(ValueError, match="decay must be a positive number"):
        knn_affinity(G, decay=0)


def test_bad_symmetrize():
    G = sp.csr_matrix(np.ones((3, 3)))
    with pytest.raises(ValueError, match="symmetrize must be one of"):
        knn_affinity(G, symmetrize="sum")


def test_negative_or_nan_distances():
    G = sp.csr_matrix(np.array([[0, -1.0], [1.0, 0]]))
    with pytest.raises(ValueError, match="finite nonnegative distances"):
        knn_affinity(G)


def test_n_neighbors_beyond_the_stored_entries():
    X, _ = two_clusters()
    G = EMDNeighbors(embedding="precomputed", n_neighbors=3).fit_transform(X)
    with pytest.raises(ValueError, match="n_neighbors=4 must be between 1 and"):
        knn_affinity(G, n_neighbors=4)
