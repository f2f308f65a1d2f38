"""Synthetic ontologies (make_polyhierarchy) and annotation signals on them."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from graphsig.datasets import make_annotation_signals, make_polyhierarchy


@pytest.fixture(scope="module")
def hierarchy():
    return make_polyhierarchy(20_000, random_state=0)


def test_shapes_and_types(hierarchy):
    adjacency, parents, depth = hierarchy
    assert sp.isspmatrix_csr(adjacency) and adjacency.dtype == np.float64
    assert sp.isspmatrix_csr(parents) and parents.dtype == np.int8
    assert adjacency.shape == parents.shape == (20_000, 20_000)
    assert depth.shape == (20_000,) and depth.dtype == np.int64


def test_symmetric_simple_connected(hierarchy):
    adjacency, _, _ = hierarchy
    assert (adjacency != adjacency.T).nnz == 0
    assert adjacency.diagonal().sum() == 0
    # no duplicate edges: every stored entry is a single 1
    np.testing.assert_array_equal(adjacency.data, 1.0)
    coo = adjacency.tocoo()
    assert np.unique(coo.row * adjacency.shape[0] + coo.col).size == adjacency.nnz
    assert connected_components(adjacency, directed=False)[0] == 1


def test_parent_relation_is_a_dag_matching_the_graph(hierarchy):
    adjacency, parents, depth = hierarchy
    child, parent = parents.nonzero()
    assert depth[0] == 0 and parents.getnnz(axis=1)[0] == 0
    assert np.all(depth[parent] < depth[child])  # every link goes up: acyclic
    assert connected_components(parents, directed=True, connection="strong")[0] == 20_000
    undirected = (parents + parents.T).astype(bool).astype(np.float64)
    assert (undirected != adjacency).nnz == 0
    # exactly one tree parent per non-root concept, one level up
    tree = (parents == 1).tocsr()
    np.testing.assert_array_equal(tree.getnnz(axis=1)[1:], 1)
    np.testing.assert_array_equal(depth[tree.indices], depth[1:] - 1)


def test_extra_parents_and_hubs(hierarchy):
    adjacency, parents, depth = hierarchy
    n = adjacency.shape[0]
    multi = np.mean(parents.getnnz(axis=1)[1:] >= 2)
    assert 0.025 <= multi <= 0.031
    assert parents.getnnz(axis=1).max() == 2
    assert np.all(parents.data[parents.data != 1] == 2)
    m = adjacency.nnz // 2
    assert abs((m - n + 1) / n - 0.03) < 0.005
    degree = adjacency.getnnz(axis=1)
    assert np.median(degree) <= 2 and degree.max() >= 100 * np.median(degree)
    # the root's children are the categories
    assert parents[:, 0].nnz == 20 and np.all(depth[parents[:, 0].nonzero()[0]] == 1)


def test_depth_and_fraction_parameters():
    _, parents, depth = make_polyhierarchy(3000, max_depth=6, extra_parent_fraction=0.2,
                                           n_categories=5, random_state=1)
    assert 4 <= depth.max() <= 6
    assert abs(np.mean(parents.getnnz(axis=1)[1:] >= 2) - 0.2) < 0.03
    _, parents, depth = make_polyhierarchy(50, max_depth=1, extra_parent_fraction=0.5)
    assert depth.max() == 1 and parents.nnz == 49  # a star: no room for extra parents
    adjacency, parents, depth = make_polyhierarchy(2)
    assert adjacency.nnz == 2 and parents.nnz == 1 and depth.tolist() == [0, 1]
    adjacency, _, _ = make_polyhierarchy(1000, extra_parent_fraction=0.0)
    assert adjacency.nnz == 2 * 999  # a tree


def test_deterministic():
    a = make_polyhierarchy(5000, random_state=3)
    b = make_polyhierarchy(5000, random_state=3)
    c = make_polyhierarchy(5000, random_state=4)
    assert (a[0] != b[0]).nnz == 0 and (a[1] != b[1]).nnz == 0
    np.testing.assert_array_equal(a[2], b[2])
    assert (a[1] != c[1]).nnz > 0


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_nodes=1), ValueError, "n_nodes must be an integer >= 2"),
    (dict(n_nodes=100.0), TypeError, "n_nodes must be an integer"),
    (dict(n_nodes=True), TypeError, "n_nodes must be an integer"),
    (dict(extra_parent_fraction=1.0), ValueError, r"extra_parent_fraction must lie in \[0, 1\)"),
    (dict(extra_parent_fraction=-0.1), ValueError, "extra_parent_fraction must lie in"),
    (dict(extra_parent_fraction=np.nan), ValueError, "extra_parent_fraction must be finite"),
    (dict(extra_parent_fraction="0.1"), TypeError, "extra_parent_fraction must be a real"),
    (dict(max_depth=0), ValueError, "max_depth must be an integer >= 1"),
    (dict(max_depth=3.5), TypeError, "max_depth must be an integer"),
    (dict(n_categories=0), ValueError, "n_categories must be an integer >= 1"),
    (dict(hub_exponent=1.0), ValueError, "hub_exponent must be > 1"),
    (dict(hub_exponent=None), TypeError, "hub_exponent must be a real"),
])
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_polyhierarchy(**kwargs)


# ---------------------------------------------------------------------------
# annotation signals


def test_annotation_signals(hierarchy):
    _, parents, depth = hierarchy
    X, disease, centres = make_annotation_signals(parents, 500, n_diseases=25, min_nnz=5,
                                                  max_nnz=12, noise=0.0, random_state=0)
    assert sp.isspmatrix_csr(X) and X.shape == (500, 20_000) and X.dtype == np.float64
    assert disease.shape == (500,) and centres.shape == (25,)
    assert X.data.min() >= 0.1 and X.data.max() < 1.1
    nnz = X.getnnz(axis=1)
    assert nnz.min() >= 1 and nnz.max() <= 12 and nnz.mean() > 5
    # without noise, every annotation descends from its disease's centre
    rows = np.repeat(np.arange(500), nnz)
    node, target = X.indices.copy(), centres[disease[rows]]
    descends = np.zeros(node.size, dtype=bool)
    relation = parents.astype(bool).astype(np.float64)  # (relation @ x)[c] sums x over c's parents
    for j in np.unique(disease):
        below = np.zeros(20_000)
        below[centres[j]] = 1
        reach = below.copy()
        while below.any():
            below = (relation @ below > 0).astype(np.float64)
            reach = np.maximum(reach, below)
        mine = disease[rows] == j
        descends[mine] = reach[node[mine]] > 0
    assert descends.all() and np.all(target != node)
    # true-path sparsity: no annotated concept is an ancestor of another of its signal
    for i in range(0, 500, 25):
        terms = X.indices[X.indptr[i]:X.indptr[i + 1]]
        ancestors = set()
        for t in terms:
            stack = list(parents[t].indices)
            while stack:
                p = stack.pop()
                if p not in ancestors:
                    ancestors.add(p)
                    stack.extend(parents[p].indices)
        assert not ancestors & set(terms)


def test_annotation_signals_of_a_disease_share_concepts(hierarchy):
    _, parents, _ = hierarchy
    X, disease, _ = make_annotation_signals(parents, 400, random_state=1)
    B = X.astype(bool).astype(np.float64)
    overlap = (B @ B.T).toarray()
    same = disease[:, None] == disease[None, :]
    np.fill_diagonal(same, False)
    other = ~same
    np.fill_diagonal(other, False)
    assert overlap[same].mean() > 10 * max(overlap[other].mean(), 1e-3)


def test_annotation_signals_deterministic(hierarchy):
    _, parents, _ = hierarchy
    a = make_annotation_signals(parents, 100, random_state=5)
    b = make_annotation_signals(parents, 100, random_state=5)
    assert (a[0] != b[0]).nnz == 0
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(parents=np.eye(3)), TypeError, "parents must be a square scipy sparse matrix"),
    (dict(n_signals=0), ValueError, "n_signals must be an integer >= 1"),
    (dict(n_diseases=0), ValueError, "n_diseases must be an integer >= 1"),
    (dict(terms_per_disease=2.0), TypeError, "terms_per_disease must be an integer"),
    (dict(min_nnz=6, max_nnz=5), ValueError, "need min_nnz <= max_nnz"),
    (dict(noise=1.5), ValueError, r"noise must lie in \[0, 1\]"),
])
def test_annotation_signals_bad_parameters(kwargs, error, match):
    kwargs.setdefault("parents", make_polyhierarchy(100)[1])
    with pytest.raises(error, match=match):
        make_annotation_signals(**kwargs)
