"""Tests for graphsig.graphs: as_adjacency, components, knn_graph, generators."""

import subprocess
import sys
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsig.graphs import (
    as_adjacency,
    check_connected,
    connected_components,
    cycle_graph,
    grid_graph,
    knn_graph,
    largest_component,
    path_graph,
    random_tree,
)

# A small weighted symmetric graph with a self-loop, used throughout.
DENSE = np.array(
    [
        [5.0, 2.0, 0.0, 1.5],
        [2.0, 0.0, 3.0, 0.0],
        [0.0, 3.0, 0.0, 0.5],
        [1.5, 0.0, 0.5, 0.0],
    ]
)
EXPECTED = DENSE - np.diag(np.diag(DENSE))


def assert_canonical(adjacency, dtype=np.float64):
    assert type(adjacency) is sp.csr_matrix
    assert adjacency.dtype == dtype
    assert adjacency.indices.dtype in (np.int32, np.int64)
    assert adjacency.indptr.dtype == adjacency.indices.dtype
    # sorted, no duplicates: recomputed, not the cached flag
    for row in range(adjacency.shape[0]):
        cols = adjacency.indices[adjacency.indptr[row] : adjacency.indptr[row + 1]]
        assert np.all(np.diff(cols) > 0)
    assert np.all(adjacency.data > 0)
    assert np.all(adjacency.diagonal() == 0)
    assert (adjacency != adjacency.T).nnz == 0


def assert_same_csr(left, right):
    assert left.shape == right.shape
    assert left.dtype == right.dtype
    np.testing.assert_array_equal(left.indptr, right.indptr)
    np.testing.assert_array_equal(left.indices, right.indices)
    np.testing.assert_array_equal(left.data, right.data)


# ---------------------------------------------------------------------------
# as_adjacency: round trips


def test_dense_round_trip_drops_diagonal():
    adjacency = as_adjacency(DENSE)
    assert_canonical(adjacency)
    np.testing.assert_array_equal(adjacency.toarray(), EXPECTED)
    assert adjacency.nnz == 8  # 4 edges, both directions


def test_list_of_lists():
    adjacency = as_adjacency(DENSE.tolist())
    np.testing.assert_array_equal(adjacency.toarray(), EXPECTED)


FORMATS = ["csr", "csc", "coo", "lil", "dok", "dia", "bsr"]


@pytest.mark.parametrize("kind", ["matrix", "array"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_scipy_format_gives_identical_csr(fmt, kind):
    reference = as_adjacency(DENSE)
    maker = sp.csr_matrix if kind == "matrix" else sp.csr_array
    adjacency = as_adjacency(maker(DENSE).asformat(fmt))
    assert_canonical(adjacency)
    assert_same_csr(adjacency, reference)


def test_duplicates_summed_and_explicit_zeros_removed():
    rows = np.array([0, 1, 0, 1, 1, 2, 2, 2])
    cols = np.array([1, 0, 1, 0, 2, 1, 1, 0])
    data = np.array([1.0, 2.0, 1.0, 0.0, 4.0, 3.0, 1.0, 0.0])
    coo = sp.coo_matrix((data, (rows, cols)), shape=(3, 3))
    adjacency = as_adjacency(coo)
    assert_canonical(adjacency)
    np.testing.assert_array_equal(
        adjacency.toarray(), [[0, 2, 0], [2, 0, 4], [0, 4, 0]]
    )
    assert adjacency.nnz == 4


def test_csr_with_unsorted_indices_and_duplicates_is_not_modified():
    indptr = np.array([0, 3, 4, 5])
    indices = np.array([2, 1, 1, 0, 0])
    data = np.array([1.0, 0.5, 0.5, 1.0, 1.0])
    csr = sp.csr_matrix((data, indices, indptr), shape=(3, 3))
    before = (csr.indptr.copy(), csr.indices.copy(), csr.data.copy())
    adjacency = as_adjacency(csr)
    np.testing.assert_array_equal(adjacency.toarray(), [[0, 1, 1], [1, 0, 0], [1, 0, 0]])
    assert_canonical(adjacency)
    for original, now in zip(before, (csr.indptr, csr.indices, csr.data)):
        np.testing.assert_array_equal(original, now)


def test_canonical_input_is_returned_without_copy():
    adjacency = as_adjacency(DENSE)
    assert as_adjacency(adjacency) is adjacency
    # a csr_array that is canonical shares its arrays
    array = sp.csr_array(adjacency)
    again = as_adjacency(array)
    assert type(again) is sp.csr_matrix
    assert np.shares_memory(again.data, array.data)


def test_self_loops_only_input_is_not_modified():
    csr = sp.csr_matrix(DENSE)
    as_adjacency(csr)
    assert csr[0, 0] == 5.0


def test_float32_dtype():
    adjacency = as_adjacency(DENSE, dtype=np.float32)
    assert_canonical(adjacency, dtype=np.float32)
    np.testing.assert_array_equal(adjacency.toarray(), EXPECTED.astype(np.float32))
    again = as_adjacency(adjacency, dtype=np.float32)
    assert again is adjacency
    back = as_adjacency(adjacency)
    assert back.dtype == np.float64


def test_bad_dtype_argument():
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        as_adjacency(DENSE, dtype=np.int64)


LOW_PRECISION_CASES = [
    (value_dtype, container)
    for value_dtype in [np.int8, np.int64, np.uint16, bool, np.float16]
    for container in ["dense", "csr", "coo", "lil"]
    if not (value_dtype is np.float16 and container != "dense")  # no float16 in scipy.sparse
]


@pytest.mark.parametrize("value_dtype, container", LOW_PRECISION_CASES)
def test_integer_and_boolean_adjacency_without_warnings(value_dtype, container):
    values = (EXPECTED != 0) if value_dtype is bool else np.rint(EXPECTED)
    values = values.astype(value_dtype)
    graph = values if container == "dense" else sp.csr_matrix(values).asformat(container)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adjacency = as_adjacency(graph)
    assert_canonical(adjacency)
    np.testing.assert_array_equal(adjacency.toarray(), values.astype(np.float64))


def test_networkx_round_trip_with_weights_and_node_order():
    graph = nx.Graph()
    graph.add_nodes_from(["c", "a", "b", "d"])  # node order is insertion order
    graph.add_edge("a", "b", weight=2.5)
    graph.add_edge("c", "a", weight=4.0)
    graph.add_edge("b", "d")  # no weight attribute: weight 1
    graph.add_edge("d", "d", weight=9.0)  # self-loop: dropped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adjacency = as_adjacency(graph)
    assert_canonical(adjacency)
    expected = np.zeros((4, 4))
    order = {node: index for index, node in enumerate(graph.nodes)}
    for u, v, w in [("a", "b", 2.5), ("c", "a", 4.0), ("b", "d", 1.0)]:
        expected[order[u], order[v]] = expected[order[v], order[u]] = w
    np.testing.assert_array_equal(adjacency.toarray(), expected)
    # an other attribute, and unweighted
    nx.set_edge_attributes(graph, 7.0, "capacity")
    capacity = as_adjacency(graph, weight="capacity")
    np.testing.assert_array_equal(capacity.toarray(), 7.0 * (expected > 0))
    np.testing.assert_array_equal(as_adjacency(graph, weight=None).toarray(), expected > 0)


def test_networkx_integer_weights_no_warning():
    graph = nx.path_graph(5)
    nx.set_edge_attributes(graph, 3, "weight")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adjacency = as_adjacency(graph)
    assert_same_csr(adjacency, 3.0 * path_graph(5))


def test_networkx_directed_rejected():
    with pytest.raises(ValueError, match="directed networkx graphs are not supported"):
        as_adjacency(nx.DiGraph([(0, 1), (1, 0)]))


def test_networkx_empty_rejected():
    with pytest.raises(ValueError, match="graph has no nodes"):
        as_adjacency(nx.Graph())
    with pytest.raises(ValueError, match="graph has no edges"):
        as_adjacency(nx.empty_graph(3))


def test_pygsp_ring_round_trip():
    pygsp = pytest.importorskip("pygsp")
    ring = pygsp.graphs.Ring(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adjacency = as_adjacency(ring)
    assert_canonical(adjacency)
    assert_same_csr(adjacency, cycle_graph(10))


def test_pygsp_integer_graph_no_warning():
    pygsp = pytest.importorskip("pygsp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pygsp's own constructor warns on ints
        graph = pygsp.graphs.Graph(np.rint(EXPECTED).astype(np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adjacency = as_adjacency(graph)
    np.testing.assert_array_equal(adjacency.toarray(), np.rint(EXPECTED))


def test_nearly_symmetric_is_symmetrised_exactly():
    noisy = EXPECTED.copy()
    noisy[0, 1] += 1e-12
    adjacency = as_adjacency(sp.csr_matrix(noisy))
    assert_canonical(adjacency)
    assert adjacency[0, 1] == adjacency[1, 0] == pytest.approx(2.0 + 5e-13, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    n_nodes=st.integers(2, 8),
    seed=st.integers(0, 2**32 - 1),
    fmt=st.sampled_from(FORMATS),
)
def test_matches_dense_oracle(n_nodes, seed, fmt):
    # random symmetric weights, entered as a coo with duplicates, explicit
    # zeros and self-loops, then converted to some format
    rng = np.random.default_rng(seed)
    n_entries = int(rng.integers(1, 3 * n_nodes))
    rows = rng.integers(0, n_nodes, n_entries)
    cols = rng.integers(0, n_nodes, n_entries)
    values = rng.integers(0, 4, n_entries).astype(np.float64)
    coo = sp.coo_matrix(
        (np.r_[values, values], (np.r_[rows, cols], np.r_[cols, rows])), shape=(n_nodes, n_nodes)
    )
    dense = coo.toarray()
    np.fill_diagonal(dense, 0)
    if not dense.any():
        with pytest.raises(ValueError, match="graph has no edges"):
            as_adjacency(coo.asformat(fmt))
        return
    adjacency = as_adjacency(coo.asformat(fmt))
    assert_canonical(adjacency)
    np.testing.assert_array_equal(adjacency.toarray(), dense)
    assert adjacency.nnz == np.count_nonzero(dense)


def test_float32_input_gets_a_float32_tolerance():
    noisy = EXPECTED.astype(np.float32)
    noisy[1, 2] = np.nextafter(noisy[1, 2], np.float32(4))  # one float32 ulp
    adjacency = as_adjacency(sp.csr_matrix(noisy), dtype=np.float32)
    assert_canonical(adjacency, dtype=np.float32)
    with pytest.raises(ValueError, match="asymmetric"):
        as_adjacency(sp.csr_matrix(noisy.astype(np.float64) + EXPECTED * 1e-6 * np.eye(4, k=1)))


def test_import_is_light():
    code = (
        "import sys, graphsig.graphs; "
        "bad = [m for m in ('networkx', 'pygsp', 'sklearn') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------
# as_adjacency: bad inputs, one test each


def test_not_square():
    with pytest.raises(ValueError, match=r"adjacency must be square, got shape \(3, 4\)"):
        as_adjacency(np.ones((3, 4)))


def test_sparse_not_square():
    with pytest.raises(ValueError, match=r"adjacency must be square, got shape \(3, 4\)"):
        as_adjacency(sp.random(3, 4, density=0.5, format="csr", random_state=0))


def test_not_two_dimensional():
    with pytest.raises(ValueError, match=r"adjacency must be square, got shape \(2, 2, 2\)"):
        as_adjacency(np.ones((2, 2, 2)))


def test_sparse_one_dimensional():
    with pytest.raises(ValueError, match=r"adjacency must be square, got shape \(4,\)"):
        as_adjacency(sp.coo_array(np.ones(4)))


def test_asymmetric():
    bad = EXPECTED.copy()
    bad[0, 1] = 1.0
    with pytest.raises(ValueError, match=r"asymmetric.*\(A \+ A\.T\) / 2"):
        as_adjacency(bad)


def test_asymmetric_structure():
    with pytest.raises(ValueError, match="asymmetric"):
        as_adjacency(sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1], [0, 1, 0]])))


def test_negative_weights():
    bad = EXPECTED.copy()
    bad[0, 1] = bad[1, 0] = -1.0
    with pytest.raises(ValueError, match="negative weights"):
        as_adjacency(bad)


def test_nan_weights():
    bad = EXPECTED.copy()
    bad[0, 1] = bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN weights"):
        as_adjacency(sp.coo_matrix(bad))


def test_infinite_weights():
    bad = EXPECTED.copy()
    bad[2, 3] = bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="infinite weights"):
        as_adjacency(bad)


def test_overflow_on_float32_cast():
    big = EXPECTED * 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="too large for float32"):
            as_adjacency(big, dtype=np.float32)


def test_zero_nodes():
    with pytest.raises(ValueError, match="graph has no nodes"):
        as_adjacency(np.zeros((0, 0)))


def test_no_edges():
    with pytest.raises(ValueError, match="graph has no edges"):
        as_adjacency(np.diag([1.0, 2.0, 3.0]))  # self-loops only


def test_unsupported_type():
    with pytest.raises(TypeError, match="unsupported graph type builtins.dict"):
        as_adjacency({0: [1], 1: [0]})


def test_complex_dtype():
    with pytest.raises(TypeError, match="complex weights are not supported"):
        as_adjacency(sp.csr_matrix(EXPECTED.astype(np.complex128)))


def test_string_entries():
    with pytest.raises(TypeError, match="must be real numbers"):
        as_adjacency([["0", "1"], ["1", "0"]])


def test_ragged_lists():
    with pytest.raises(TypeError, match="cannot read graph as an array"):
        as_adjacency([[0, 1], [1]])


# ---------------------------------------------------------------------------
# components


def two_components():
    return sp.block_diag([path_graph(3), cycle_graph(4)], format="csr")


def test_connected_components():
    n_components, labels = connected_components(two_components())
    assert n_components == 2
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 1, 1])
    assert connected_components(grid_graph(3, 3))[0] == 1


def test_check_connected_passes_on_connected():
    assert check_connected(random_tree(20, random_state=0)) is None


def test_check_connected_message():
    graph = sp.block_diag([path_graph(2), path_graph(2), path_graph(3)], format="csr")
    with pytest.raises(
        ValueError,
        match=r"graph is disconnected \(3 connected components\); the balanced EMD is "
        r"infinite between components\. Use the unbalanced form \(mass_penalty\)",
    ):
        check_connected(graph)
    with pytest.raises(ValueError, match="the diffusion distance is infinite"):
        check_connected(graph, what="the diffusion distance")


def test_largest_component():
    sub, nodes = largest_component(two_components())
    np.testing.assert_array_equal(nodes, [3, 4, 5, 6])
    assert_canonical(sub)
    assert_same_csr(sub, cycle_graph(4))
    connected = path_graph(5)
    same, all_nodes = largest_component(connected)
    assert same is connected
    np.testing.assert_array_equal(all_nodes, np.arange(5))
    sub32, _ = largest_component(two_components().astype(np.float32))
    assert sub32.dtype == np.float32


# ---------------------------------------------------------------------------
# knn_graph


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(size=(60, 4)), rng.normal(loc=8.0, size=(40, 4))])


@pytest.mark.parametrize("weighting", ["adaptive", "connectivity"])
@pytest.mark.parametrize("n_neighbors", [1, 5, 15])
def test_knn_graph_properties(blobs, weighting, n_neighbors):
    adjacency = knn_graph(blobs, n_neighbors, weighting=weighting)
    assert adjacency.shape == (100, 100)
    assert_canonical(adjacency)
    assert adjacency.getnnz(axis=1).min() >= n_neighbors
    assert adjacency.data.min() > 0
    assert adjacency.data.max() <= 1
    if weighting == "connectivity":
        np.testing.assert_array_equal(adjacency.data, 1.0)


def test_knn_graph_adaptive_formula(blobs):
    from scipy.spatial.distance import cdist

    k = 5
    adjacency = knn_graph(blobs, k).toarray()
    distances = cdist(blobs, blobs)
    np.fill_diagonal(distances, np.inf)
    order = np.sort(distances, axis=1)
    sigma = order[:, k - 1]
    in_knn = distances <= sigma[:, None]
    union = in_knn | in_knn.T
    kernel = np.exp(-(distances**2) / np.outer(sigma, sigma))
    np.testing.assert_allclose(adjacency, np.where(union, kernel, 0.0), rtol=1e-10, atol=0)


def test_knn_graph_union_symmetrisation():
    # point 3 is far: its nearest neighbour is 2, but it is nobody's neighbour
    points = np.array([[0.0], [1.0], [2.0], [10.0]])
    adjacency = knn_graph(points, 1, weighting="connectivity")
    np.testing.assert_array_equal(
        adjacency.toarray(),
        [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]],
    )


def test_knn_graph_duplicate_points_no_nan():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(10, 2))
    points = np.concatenate([base, base, base, base[:3]])  # each point 3-4 times
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adjacency = knn_graph(points, 3)
    assert np.isfinite(adjacency.data).all()
    assert adjacency.data.min() > 0 and adjacency.data.max() <= 1
    assert adjacency.getnnz(axis=1).min() >= 3
    # copies of the same point are joined with weight 1
    assert adjacency[0, 10] == 1.0 and adjacency[0, 20] == 1.0


def test_knn_graph_all_points_identical():
    adjacency = knn_graph(np.ones((5, 3)), 2)
    assert np.isfinite(adjacency.data).all()
    np.testing.assert_array_equal(adjacency.data, 1.0)


def test_knn_graph_outlier_edges_do_not_underflow():
    rng = np.random.default_rng(2)
    points = np.concatenate([1e-6 * rng.normal(size=(20, 2)), [[1e3, 0.0]]])
    adjacency = knn_graph(points, 3)
    assert adjacency.getnnz(axis=1).min() >= 3
    assert adjacency.data.min() > 0
    assert adjacency.astype(np.float32).data.min() > 0


def test_knn_graph_float32_stays_float32(blobs):
    adjacency = knn_graph(blobs.astype(np.float32), 5)
    assert_canonical(adjacency, dtype=np.float32)


def test_knn_graph_other_metric(blobs):
    adjacency = knn_graph(blobs, 4, metric="manhattan")
    assert_canonical(adjacency)
    assert adjacency.getnnz(axis=1).min() >= 4


def test_knn_graph_deterministic(blobs):
    assert_same_csr(knn_graph(blobs, 5, random_state=0), knn_graph(blobs, 5, random_state=1))


def test_knn_graph_nan_points():
    points = np.ones((5, 2))
    points[2, 1] = np.nan
    with pytest.raises(ValueError, match="Input points contains NaN"):
        knn_graph(points, 2)


def test_knn_graph_not_two_dimensional():
    with pytest.raises(ValueError, match="Expected 2D array"):
        knn_graph(np.arange(5.0), 2)


def test_knn_graph_single_point():
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        knn_graph(np.ones((1, 3)), 1)


@pytest.mark.parametrize("n_neighbors", [0, 10, -1])
def test_knn_graph_n_neighbors_out_of_range(n_neighbors):
    with pytest.raises(ValueError, match=r"n_neighbors must be in \[1, n_points - 1\] = \[1, 9\]"):
        knn_graph(np.random.default_rng(0).normal(size=(10, 2)), n_neighbors)


def test_knn_graph_n_neighbors_not_integer():
    with pytest.raises(TypeError, match="n_neighbors must be an integer"):
        knn_graph(np.random.default_rng(0).normal(size=(10, 2)), 2.5)


def test_knn_graph_bad_weighting():
    with pytest.raises(ValueError, match="weighting must be one of"):
        knn_graph(np.random.default_rng(0).normal(size=(10, 2)), 2, weighting="gaussian")


# ---------------------------------------------------------------------------
# generators


def test_grid_graph():
    n_rows, n_cols = 3, 5
    adjacency = grid_graph(n_rows, n_cols)
    assert_canonical(adjacency)
    assert adjacency.shape == (15, 15)
    assert adjacency.nnz // 2 == n_rows * (n_cols - 1) + (n_rows - 1) * n_cols
    degrees = np.asarray(adjacency.sum(axis=1)).ravel().reshape(n_rows, n_cols)
    expected = np.full((n_rows, n_cols), 4.0)
    expected[[0, -1], :] -= 1
    expected[:, [0, -1]] -= 1
    np.testing.assert_array_equal(degrees, expected)
    # node r * n_cols + c: (1, 2) touches (0, 2), (1, 1), (1, 3), (2, 2)
    assert adjacency[7].indices.tolist() == [2, 6, 8, 12]
    reference = nx.grid_2d_graph(n_rows, n_cols)
    assert_same_csr(adjacency, as_adjacency(reference))  # same row-major order
    assert connected_components(adjacency)[0] == 1


def test_grid_graph_8x8():
    adjacency = grid_graph(8, 8)
    assert adjacency.shape == (64, 64) and adjacency.nnz == 2 * 112


def test_grid_graph_one_row_is_a_path():
    assert_same_csr(grid_graph(1, 6), path_graph(6))
    assert_same_csr(grid_graph(6, 1), path_graph(6))


def test_path_graph():
    adjacency = path_graph(6)
    assert_canonical(adjacency)
    degrees = np.asarray(adjacency.sum(axis=1)).ravel()
    np.testing.assert_array_equal(degrees, [1, 2, 2, 2, 2, 1])
    assert_same_csr(adjacency, as_adjacency(nx.path_graph(6)))


def test_cycle_graph():
    adjacency = cycle_graph(7)
    assert_canonical(adjacency)
    np.testing.assert_array_equal(np.asarray(adjacency.sum(axis=1)).ravel(), 2.0)
    assert adjacency.nnz // 2 == 7
    assert_same_csr(adjacency, as_adjacency(nx.cycle_graph(7)))


@pytest.mark.parametrize("n_nodes", [2, 3, 50])
def test_random_tree(n_nodes):
    adjacency = random_tree(n_nodes, random_state=0)
    assert_canonical(adjacency)
    assert adjacency.nnz // 2 == n_nodes - 1
    assert connected_components(adjacency)[0] == 1
    np.testing.assert_array_equal(adjacency.data, 1.0)
    assert nx.is_tree(nx.from_scipy_sparse_array(adjacency))


def test_random_tree_parents_precede_children():
    adjacency = random_tree(30, random_state=3).tocoo()
    lower = adjacency.row > adjacency.col  # (child, parent)
    children = np.sort(adjacency.row[lower])
    np.testing.assert_array_equal(children, np.arange(1, 30))  # one parent each


def test_random_tree_random_state():
    assert_same_csr(random_tree(40, random_state=7), random_tree(40, random_state=7))
    assert_same_csr(
        random_tree(40, random_state=np.random.RandomState(7)), random_tree(40, random_state=7)
    )
    generator_tree = random_tree(40, random_state=np.random.default_rng(7))
    assert generator_tree.nnz // 2 == 39
    assert (random_tree(40, random_state=7) != random_tree(40, random_state=8)).nnz > 0


def test_random_tree_uniform_parent():
    # the parent of node 3 is uniform on {0, 1, 2}
    rng = np.random.RandomState(0)
    parents = [random_tree(4, random_state=rng)[3].indices.min() for _ in range(600)]
    counts = np.bincount(parents, minlength=3)
    assert counts.min() > 150


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: path_graph(1), "n_nodes must be at least 2, got 1"),
        (lambda: cycle_graph(2), "n_nodes must be at least 3, got 2"),
        (lambda: random_tree(1), "n_nodes must be at least 2, got 1"),
        (lambda: grid_graph(0, 4), "n_rows must be at least 1, got 0"),
        (lambda: grid_graph(3, 0), "n_cols must be at least 1, got 0"),
        (lambda: grid_graph(1, 1), "a grid needs at least 2 nodes"),
    ],
)
def test_generators_bad_sizes(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_generators_non_integer_size():
    with pytest.raises(TypeError, match="n_nodes must be an integer, got float"):
        path_graph(4.0)
