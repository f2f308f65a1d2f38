"""Tests of CoRelNetClassifier."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from graphsig.datasets import make_random_objects, make_relational_split, make_relational_task
from graphsig.models import CoRelNetClassifier
from graphsig.models._corelnet import ContextNorm, CoRelNetNetwork
from graphsig.models._gradcheck import check_estimator_gradients, check_module_gradients

TOL = 1e-5
SMALL = dict(encoder_layer_sizes=(12,), head_hidden_layer_sizes=(8,))


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(task="same_different", n=200, seed=0, n_ids=20, n_features=6):
    objects = make_random_objects(n_ids, n_features, random_state=seed)
    return make_relational_task(task, n, objects, random_state=seed)


# -- gradients -----------------------------------------------------------------

@pytest.mark.parametrize("floor", [0.0, 0.1, 2.0])
@pytest.mark.parametrize("segments", [None, [[0, 1], [2, 3, 4]]])
def test_context_norm_gradients(segments, floor):
    x = np.random.default_rng(0).normal(size=(3, 5, 4))
    res = check_module_gradients(ContextNorm(4, segments=segments, floor=floor), x)
    assert res.params_error < TOL and res.input_error < TOL


def test_context_norm_floor_tells_near_identical_from_different():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 16))
    near = np.stack([a, a + 1e-2 * rng.normal(size=16)])[None]
    far = np.stack([a, b])[None]
    paper, floored = ContextNorm(16, floor=0.0, eps=0.0), ContextNorm(16, floor=0.1, eps=0.0)
    # without the floor both pairs map every feature to +-1: nothing tells them apart
    np.testing.assert_allclose(np.abs(paper.forward(near)), 1.0, rtol=1e-9)
    np.testing.assert_allclose(np.abs(paper.forward(far)), 1.0, rtol=1e-9)
    # with it the near pair collapses towards beta = 0 and the far one does not
    assert np.abs(floored.forward(near)).max() < 0.1
    assert np.abs(floored.forward(far)).mean() > 0.5


def test_context_norm_floor_is_scale_invariant():
    z = np.random.default_rng(1).normal(size=(4, 3, 5))
    norm = ContextNorm(5, floor=0.1, eps=0.0)
    np.testing.assert_allclose(norm.forward(1e-6 * z), norm.forward(z), rtol=1e-9)
    np.testing.assert_allclose(norm.forward(1e6 * z), norm.forward(z), rtol=1e-9)


def test_context_norm_of_identical_objects_is_beta():
    norm = ContextNorm(3)
    norm.beta[...] = [1.0, 2.0, 3.0]
    z = np.tile(np.array([[0.3, -1.0, 2.0]]), (2, 1))[None]
    np.testing.assert_allclose(norm.forward(z), [[[1, 2, 3], [1, 2, 3]]], atol=1e-12)


@pytest.mark.parametrize("similarity", ["softmax", "sigmoid", "none"])
@pytest.mark.parametrize("mask", ["causal", "none"])
@pytest.mark.parametrize("context_norm", ["sample", "none", [[0, 1, 3], [2, 4]]])
def test_network_gradients(similarity, mask, context_norm):
    net = CoRelNetNetwork(5, 3, 3, encoder_layer_sizes=(5, 4), head_hidden_layer_sizes=(6,),
                          activation="tanh", context_norm=context_norm, similarity=similarity,
                          mask=mask, random_state=0)
    x = np.random.default_rng(1).normal(size=(3, 5, 3))
    res = check_module_gradients(net, x, max_checks=100)
    assert res.params_error < TOL and res.input_error < TOL


def test_estimator_end_to_end_gradients():
    X, y = _data("rmts", n=60)
    clf = CoRelNetClassifier(activation="tanh", alpha=0.1, max_iter=1, random_state=0,
                             **SMALL).fit(X, y)
    Xi, yi = clf._prepare_data(X[:8], y[:8])
    assert check_estimator_gradients(clf, Xi, yi).params_error < TOL


def test_similarity_gradient_formula():
    # dL/dZ = (G + G^T) Z for R = Z Z^T, checked through the network with no norm
    net = CoRelNetNetwork(3, 2, 2, encoder_layer_sizes=(4,), head_hidden_layer_sizes=(),
                          activation="tanh", context_norm="none", similarity="none",
                          mask="none", random_state=0)
    x = np.random.default_rng(0).normal(size=(2, 3, 2))
    assert check_module_gradients(net, x).input_error < TOL


# -- scikit-learn contract -------------------------------------------------------

# scikit-learn's estimator checks, at default settings: tests/test_common.py

def test_determinism_under_random_state():
    X, y = _data()
    a = CoRelNetClassifier(random_state=1, max_iter=3, **SMALL).fit(X, y)
    b = CoRelNetClassifier(random_state=1, max_iter=3, **SMALL).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_


def test_pickle_round_trip():
    X, y = _data()
    clf = CoRelNetClassifier(random_state=0, max_iter=3, **SMALL).fit(X, y)
    clf2 = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), clf2.predict_proba(X))


def test_2d_input_with_n_objects_equals_3d():
    X, y = _data("rmts", n=80)
    a = CoRelNetClassifier(random_state=0, max_iter=2, **SMALL).fit(X, y)
    b = CoRelNetClassifier(n_objects=6, random_state=0, max_iter=2, **SMALL).fit(
        X.reshape(len(X), -1), y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X.reshape(len(X), -1)))
    assert (b.n_objects_, b.n_object_features_, b.n_features_in_) == (6, 6, 36)
    # a model fitted on 3-D input also takes the flattened layout
    np.testing.assert_allclose(a.predict_proba(X), a.predict_proba(X.reshape(len(X), -1)))


def test_relation_matrices_are_causal_row_stochastic():
    X, y = _data("rmts", n=30)
    clf = CoRelNetClassifier(random_state=0, max_iter=1, **SMALL).fit(X, y)
    R = clf.relation_matrices(X)
    assert R.shape == (30, 6, 6)
    np.testing.assert_allclose(R.sum(axis=-1), 1.0)
    assert np.all(np.triu(R, k=1) == 0)


def test_table_input_uses_sigmoid_relations():
    # a table of features: similarity='auto' is the sigmoid, whose symmetric matrix
    # the causal mask passes whole (lower triangle); objects keep the row softmax
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 5))
    y = (X[:, 0] > 0).astype(int)
    table = CoRelNetClassifier(random_state=0, max_iter=1, **SMALL).fit(X, y)
    R = table.relation_matrices(X)
    assert R.shape == (40, 5, 5)
    assert np.all(np.triu(R, k=1) == 0)
    rows, cols = np.tril_indices(5)
    assert np.all((R[:, rows, cols] > 0) & (R[:, rows, cols] < 1))
    assert not np.allclose(R.sum(axis=-1), 1.0)
    assert table.network_.similarity == "sigmoid"
    Xo, yo = _data("rmts", n=30)
    objects = CoRelNetClassifier(random_state=0, max_iter=1, **SMALL).fit(Xo, yo)
    assert objects.network_.similarity == "softmax"
    np.testing.assert_allclose(objects.relation_matrices(Xo).sum(axis=-1), 1.0)
    # an explicit similarity is kept for tables
    soft = CoRelNetClassifier(similarity="softmax", random_state=0, max_iter=1, **SMALL)
    np.testing.assert_allclose(soft.fit(X, y).relation_matrices(X).sum(axis=-1), 1.0)


def test_learns_same_different_out_of_distribution_quickly():
    d = make_relational_split("same_different", 600, 400, n_identities=40, n_features=10,
                              n_holdout=30, random_state=0)
    clf = CoRelNetClassifier(encoder_layer_sizes=(32,), head_hidden_layer_sizes=(16,),
                             learning_rate_init=2e-3, max_iter=10, random_state=0)
    clf.fit(d.X_train, d.y_train)
    assert clf.score(d.X_test, d.y_test) > 0.9


def test_noisy_same_different_out_of_distribution_needs_the_floor():
    # two occurrences of one identity differ by noise: the paper's context norm
    # (floor 0) maps every pair to the same relation matrix and stays at chance
    d = make_relational_split("same_different", 600, 400, n_identities=40, n_features=10,
                              n_holdout=30, noise=0.05, random_state=0)
    scores = {}
    for floor in (0.1, 0.0):
        clf = CoRelNetClassifier(encoder_layer_sizes=(32,), head_hidden_layer_sizes=(16,),
                                 learning_rate_init=2e-3, max_iter=10, random_state=0,
                                 context_norm_floor=floor)
        scores[floor] = clf.fit(d.X_train, d.y_train).score(d.X_test, d.y_test)
    assert scores[0.1] > 0.9
    assert scores[0.0] < 0.6


def test_partial_fit_and_warm_start():
    X, y = _data()
    clf = CoRelNetClassifier(random_state=0, **SMALL)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2
    warm = CoRelNetClassifier(random_state=0, max_iter=2, warm_start=True, **SMALL).fit(X, y)
    net = warm.network_
    warm.fit(X, y)
    assert warm.network_ is net and warm.n_iter_ == 4


def test_segmented_context_norm_runs():
    X, y = _data("rmts", n=60)
    clf = CoRelNetClassifier(context_norm=[[0, 1], [2, 3], [4, 5]], random_state=0,
                             max_iter=2, **SMALL).fit(X, y)
    assert clf.predict(X).shape == (60,)


# -- bad input ----------------------------------------------------------------

def test_error_negative_context_norm_floor():
    X, y = _data()
    with pytest.raises(ValueError, match="context_norm_floor"):
        CoRelNetClassifier(context_norm_floor=-0.1, **SMALL).fit(X, y)


def test_error_wrong_number_of_objects_at_predict():
    X, y = _data("rmts", n=40)
    clf = CoRelNetClassifier(random_state=0, max_iter=1, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 objects per sample, but CoRelNetClassifier "
                                         "was fitted with 6"):
        clf.predict(X[:, :2])


def test_error_n_objects_parameter_mismatch():
    X, y = _data("rmts", n=40)
    with pytest.raises(ValueError, match="X has 6 objects per sample but n_objects=4"):
        CoRelNetClassifier(n_objects=4, max_iter=1).fit(X, y)


def test_error_columns_not_divisible_into_objects():
    X, y = _data("rmts", n=40)
    with pytest.raises(ValueError, match="cannot be split into n_objects=5"):
        CoRelNetClassifier(n_objects=5, max_iter=1).fit(X.reshape(40, -1), y)


def test_error_single_object():
    with pytest.raises(ValueError, match="needs at least 2 objects per sample, got 1"):
        CoRelNetClassifier(max_iter=1).fit(np.ones((4, 1, 3)), [0, 1, 0, 1])


def test_error_inconsistent_feature_widths():
    X = [[[0.0, 1.0], [1.0, 2.0]], [[0.0, 1.0], [1.0, 2.0, 3.0]]]
    with pytest.raises(ValueError, match="inconsistent feature widths"):
        CoRelNetClassifier(max_iter=1).fit(X, [0, 1])


def test_error_wrong_feature_width_at_predict():
    X, y = _data(n=40)
    clf = CoRelNetClassifier(random_state=0, max_iter=1, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features per object, but CoRelNetClassifier "
                                         "was fitted with 6"):
        clf.predict(X[:, :, :5])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_error_nan_inf(bad):
    X, y = _data(n=40)
    X[3, 1, 2] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        CoRelNetClassifier(max_iter=1).fit(X, y)


def test_error_single_class():
    X, y = _data(n=40)
    with pytest.raises(ValueError, match="needs samples of at least 2 classes.*got 1 class"):
        CoRelNetClassifier(max_iter=1).fit(X, np.ones(40))


def test_error_predict_before_fit():
    X, _ = _data(n=10)
    with pytest.raises(NotFittedError):
        CoRelNetClassifier().predict(X)


def test_error_bad_segments():
    X, y = _data("rmts", n=20)
    with pytest.raises(ValueError, match="must partition the objects"):
        CoRelNetClassifier(context_norm=[[0, 1], [2, 3]], max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="indices outside"):
        CoRelNetClassifier(context_norm=[[0, 1, 2], [3, 4, 9]], max_iter=1).fit(X, y)


def test_error_4d_input():
    with pytest.raises(ValueError, match="got 4 dimensions"):
        CoRelNetClassifier(max_iter=1).fit(np.ones((4, 2, 2, 2)), [0, 1, 0, 1])


# -- graph input -----------------------------------------------------------------

def test_graph_input_uses_the_diffusion_emd_embedding():
    from graphsig import DiffusionEMD
    from graphsig.graphs import grid_graph

    graph = grid_graph(3, 3)
    objects = np.random.default_rng(0).random((12, 9))
    X, y = make_relational_task("same_different", 120, objects, random_state=0)
    clf = CoRelNetClassifier(graph=graph, random_state=0, max_iter=3, **SMALL).fit(X, y)
    assert isinstance(clf.graph_embedding_, DiffusionEMD)
    emb = clf.graph_embedding_.transform(objects)
    # the encoder's first layer takes the embedding, not the 9 node values
    assert clf.network_.encoder.layers[0].n_in == emb.shape[1] > 9
    assert clf.n_object_features_ == 9 and clf.predict(X).shape == (120,)
    # a configured DiffusionEMD is accepted too
    clf2 = CoRelNetClassifier(graph=DiffusionEMD(graph, max_scale=2), random_state=0,
                              max_iter=1, **SMALL).fit(X, y)
    assert clf2.graph_embedding_.max_scale_ == 2


def test_error_graph_input_negative():
    from graphsig.graphs import grid_graph

    X = -np.ones((4, 2, 9))
    with pytest.raises(ValueError, match="graph input must be nonnegative"):
        CoRelNetClassifier(graph=grid_graph(3, 3), max_iter=1).fit(X, [0, 1, 0, 1])
