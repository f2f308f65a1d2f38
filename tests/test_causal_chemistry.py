"""make_causal_chemistry: orientation of the DAG, the semantics of interventions, bad input."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from graphsig.datasets import make_causal_chemistry
from graphsig.graphs import path_graph


def _complete(n):
    return np.ones((n, n)) - np.eye(n)


def test_default_order_orients_edges_by_node_number():
    data = make_causal_chemistry(path_graph(4), n_samples=5, random_state=0)
    np.testing.assert_array_equal(np.argwhere(data.dag), [[0, 1], [1, 2], [2, 3]])
    full = make_causal_chemistry(_complete(4), n_samples=5, random_state=0)
    np.testing.assert_array_equal(full.dag, np.triu(np.ones((4, 4), bool), 1))


def test_order_reverses_the_chain_and_builds_a_collider():
    data = make_causal_chemistry(path_graph(4), order=[3, 2, 1, 0], n_samples=5, random_state=0)
    np.testing.assert_array_equal(np.argwhere(data.dag), [[1, 0], [2, 1], [3, 2]])
    star = np.zeros((4, 4))
    star[0, 1:] = star[1:, 0] = 1  # centre 0, last in the order: a collider
    data = make_causal_chemistry(star, order=[1, 2, 3, 0], n_samples=5, random_state=0)
    np.testing.assert_array_equal(data.dag[:, 0], [False, True, True, True])
    assert not data.dag[0].any()
    assert [len(p) for p in data.parents] == [3, 0, 0, 0]


def test_networkx_and_sparse_graphs_give_the_same_environment():
    nx = pytest.importorskip("networkx")
    a = make_causal_chemistry(nx.path_graph(5), n_samples=50, random_state=1)
    b = make_causal_chemistry(sp.csr_matrix(path_graph(5)), n_samples=50, random_state=1)
    np.testing.assert_array_equal(a.next_states, b.next_states)


@pytest.mark.parametrize("initial_states", ["uniform", "ancestral"])
def test_interventions_follow_the_tables(initial_states):
    data = make_causal_chemistry(_complete(4), n_samples=300, n_colors=3,
                                 initial_states=initial_states, random_state=2)
    s, a, t = data.states, data.actions, data.next_states
    rows = np.arange(len(a))
    np.testing.assert_array_equal(t[rows, a[:, 0]], a[:, 1])
    # full DAG in order 0..3: the descendants of i are the objects after i
    for j in range(4):
        after = a[:, 0] < j
        table = data.tables[j]
        if table is not None:
            np.testing.assert_array_equal(t[after, j], table[tuple(t[after][:, data.parents[j]].T)])
        before = a[:, 0] > j
        np.testing.assert_array_equal(t[before, j], s[before, j])
    if initial_states == "ancestral":
        for j in range(1, 4):
            np.testing.assert_array_equal(s[:, j], data.tables[j][tuple(s[:, :j].T)])
    else:  # uniform states break the tables somewhere
        assert np.any(s[:, 1] != data.tables[1][s[:, 0]])


def test_noise_changes_some_recomputed_colours():
    kw = dict(n_samples=2000, n_colors=4, random_state=3)
    clean = make_causal_chemistry(path_graph(3), **kw)
    noisy = make_causal_chemistry(path_graph(3), noise=0.5, **kw)
    t, a = noisy.next_states, noisy.actions
    downstream = a[:, 0] == 0
    follows = t[downstream, 1] == noisy.tables[1][t[downstream, 0]]
    # a recomputed colour follows its table unless replaced (prob. 0.5 * 3/4)
    assert 0.5 < follows.mean() < 0.75
    assert np.all(clean.next_states[clean.actions[:, 0] == 0, 1]
                  == clean.tables[1][clean.next_states[clean.actions[:, 0] == 0, 0]])


def test_determinism_and_pickle():
    a = make_causal_chemistry(path_graph(5), n_samples=40, random_state=7)
    b = make_causal_chemistry(path_graph(5), n_samples=40, random_state=7)
    for key in ("states", "actions", "next_states"):
        np.testing.assert_array_equal(a[key], b[key])
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.next_states, a.next_states)
    assert a.states.min() >= 0 and a.states.max() < 5


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("order, match", [
    ([0, 1, 2], "permutation of the 4 nodes"),
    ([0, 1, 1, 2], "permutation of the 4 nodes"),
    ([0.0, 1.0, 2.0, 3.0], "1-D array of node indices"),
    ([[0, 1], [2, 3]], "1-D array of node indices"),
])
def test_bad_order(order, match):
    with pytest.raises(ValueError, match=match):
        make_causal_chemistry(path_graph(4), order=order)


def test_directed_matrix_is_refused_with_the_reason():
    A = np.triu(np.ones((3, 3)), 1)
    with pytest.raises(ValueError, match="symmetric|asymmetric"):
        make_causal_chemistry(A)


def test_graph_without_edges():
    with pytest.raises(ValueError, match="edge"):
        make_causal_chemistry(np.zeros((3, 3)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_colors=1), "n_colors must be an integer >= 2"),
    (dict(n_samples=0), "n_samples must be an integer >= 1"),
    (dict(n_samples=2.5), "n_samples must be an integer >= 1"),
    (dict(noise=1.5), "noise must be a probability"),
    (dict(noise=True), "noise must be a probability"),
    (dict(initial_states="random"), "initial_states must be 'uniform' or 'ancestral'"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_causal_chemistry(path_graph(3), **kwargs)


def test_tables_too_large():
    with pytest.raises(ValueError, match="object 9 has 9 parents"):
        make_causal_chemistry(_complete(10), n_colors=5)
