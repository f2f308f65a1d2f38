"""Tests of the shared training core: layers, losses, optimisers, estimator loop."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from graphsig.models._activations import ACTIVATIONS, make_activation
from graphsig.models._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NeuralRegressorMixin,
)
from graphsig.models._gradcheck import (
    check_estimator_gradients,
    check_gradients,
    check_module_gradients,
    numerical_gradient,
    relative_error,
)
from graphsig.models._layers import Dense, Module, Normalization, Sequential, make_mlp
from graphsig.models._losses import (
    AbsoluteError,
    BinaryCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
)
from graphsig.models._optim import SGD, Adam, clip_gradients

TOL = 1e-5


def _training_kwargs(kw):
    defaults = dict(alpha=1e-4, batch_size="auto", solver="adam", learning_rate_init=1e-2,
                    momentum=0.9, max_grad_norm=None, max_iter=50, shuffle=True,
                    random_state=None, tol=1e-4, warm_start=False, early_stopping=False,
                    validation_fraction=0.1, n_iter_no_change=10)
    defaults.update(kw)
    return defaults


class _Params:
    def _set(self, hidden_layer_sizes, activation, kw):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        for k, v in _training_kwargs(kw).items():
            setattr(self, k, v)


class TinyMLPClassifier(NeuralClassifierMixin, BaseNeuralEstimator):
    """An MLP classifier on the core, to test the training loop."""

    _parameter_constraints = {**TRAINING_PARAMETER_CONSTRAINTS,
                              "hidden_layer_sizes": ["array-like"], "activation": [str]}

    def __init__(self, hidden_layer_sizes=(16,), activation="relu", *, alpha=1e-4,
                 batch_size="auto", solver="adam", learning_rate_init=1e-2, momentum=0.9,
                 max_grad_norm=None, max_iter=50, shuffle=True, random_state=None, tol=1e-4,
                 warm_start=False, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10):
        _Params._set(self, hidden_layer_sizes, activation, dict(
            alpha=alpha, batch_size=batch_size, solver=solver,
            learning_rate_init=learning_rate_init, momentum=momentum,
            max_grad_norm=max_grad_norm, max_iter=max_iter, shuffle=shuffle,
            random_state=random_state, tol=tol, warm_start=warm_start,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change))

    def _build_network(self, X, y, random_state, dtype):
        return make_mlp([X.shape[1], *self.hidden_layer_sizes, len(self.classes_)],
                        activation=self.activation, random_state=random_state, dtype=dtype)


class TinyMLPRegressor(NeuralRegressorMixin, BaseNeuralEstimator):
    """An MLP regressor on the core, to test the training loop."""

    _parameter_constraints = {**TRAINING_PARAMETER_CONSTRAINTS,
                              "hidden_layer_sizes": ["array-like"], "activation": [str],
                              "loss": [str]}

    def __init__(self, hidden_layer_sizes=(16,), activation="relu", *, loss="squared_error",
                 alpha=1e-4, batch_size="auto", solver="adam", learning_rate_init=1e-2,
                 momentum=0.9, max_grad_norm=None, max_iter=50, shuffle=True,
                 random_state=None, tol=1e-4, warm_start=False, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10):
        self.loss = loss
        _Params._set(self, hidden_layer_sizes, activation, dict(
            alpha=alpha, batch_size=batch_size, solver=solver,
            learning_rate_init=learning_rate_init, momentum=momentum,
            max_grad_norm=max_grad_norm, max_iter=max_iter, shuffle=shuffle,
            random_state=random_state, tol=tol, warm_start=warm_start,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change))

    def _build_network(self, X, y, random_state, dtype):
        return make_mlp([X.shape[1], *self.hidden_layer_sizes, self.n_outputs_],
                        activation=self.activation, random_state=random_state, dtype=dtype)


# -- layers ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(n for n, row in ACTIVATIONS.items() if row.module is None))
def test_activation_gradients(name):
    # (the activations with learned parameters are tested in test_activations.py)
    net = make_mlp([4, 6, 3], activation=name, output_activation=name, random_state=0)
    x = np.random.default_rng(0).normal(size=(7, 4))
    res = check_module_gradients(net, x)
    assert res.params_error < TOL and res.input_error < TOL


@pytest.mark.parametrize("axis", [-1, -2, (1, 2)])
def test_normalization_gradients(axis):
    net = Sequential(Dense(3, 5, random_state=0), Normalization(5, axis=axis))
    x = np.random.default_rng(1).normal(size=(4, 6, 3))
    res = check_module_gradients(net, x)
    assert res.params_error < TOL and res.input_error < TOL


def test_dense_on_leading_axes_matches_loop():
    layer = Dense(3, 2, random_state=0)
    x = np.random.default_rng(0).normal(size=(4, 5, 3))
    y = layer.forward(x)
    assert y.shape == (4, 5, 2)
    np.testing.assert_allclose(y[2, 3], x[2, 3] @ layer.W + layer.b)


def test_normalization_standardises_over_axis():
    x = np.random.default_rng(0).normal(3, 2, size=(5, 7, 4))
    y = Normalization(4, axis=-2).forward(x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=1), 1, atol=1e-6)


def test_gradcheck_detects_a_wrong_backward():
    class WrongSquare(Module):
        def forward(self, x):
            self._cache = x
            return x * x

        def backward(self, g):
            return g * self._cache  # should be 2 x

    x = np.random.default_rng(0).normal(size=(3, 4))
    assert check_module_gradients(WrongSquare(), x).input_error > 0.1


def test_flat_parameter_view_round_trip():
    net = make_mlp([3, 4, 2], random_state=0)
    theta = net.get_flat_params()
    assert theta.shape == (net.n_params,) == (3 * 4 + 4 + 4 * 2 + 2,)
    net.set_flat_params(np.arange(net.n_params, dtype=float))
    assert net.params[0][0, 1] == 1.0
    net.set_flat_params(theta)
    np.testing.assert_array_equal(net.get_flat_params(), theta)
    with pytest.raises(ValueError, match="expected a vector of 26 parameters"):
        net.set_flat_params(np.zeros(3))


def test_decay_mask_excludes_biases():
    net = Sequential(Dense(3, 4, random_state=0), Normalization(4))
    assert net.decay_mask == [True, False, False, False]


def test_activation_factory_and_instance_are_per_layer():
    class Scale(Module):
        def __init__(self, n_units):
            super().__init__()
            self.add_param("a", np.ones(n_units), decay=False)

        def forward(self, x):
            self._cache = x
            return x * self.a

        def backward(self, g):
            self._grads["a"] += (g * self._cache).reshape(-1, self.a.size).sum(0)
            return g * self.a

    net = make_mlp([3, 5, 4, 2], activation=lambda n: Scale(n), random_state=0)
    shapes = [p.shape for p in net.params]
    assert (5,) in shapes and (4,) in shapes
    x = np.random.default_rng(0).normal(size=(6, 3))
    assert check_module_gradients(net, x).params_error < TOL
    inst = Scale(5)
    a, b = make_activation(inst), make_activation(inst)
    assert a.a is not b.a
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        make_activation("swish")


# -- losses ------------------------------------------------------------------

@pytest.mark.parametrize("loss, target", [
    (SoftmaxCrossEntropy(), np.array([[0, 2], [1, 1], [2, 0]])),
    (BinaryCrossEntropy(), np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0]])),
    (SquaredError(), np.random.default_rng(2).normal(size=(3, 3))),
    (AbsoluteError(), np.random.default_rng(3).normal(size=(3, 3))),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_gradients(loss, target, weighted):
    rng = np.random.default_rng(0)
    out = rng.normal(size=(3, 2, 3)) if isinstance(loss, SoftmaxCrossEntropy) \
        else rng.normal(size=(3, 3))
    sw = np.array([0.5, 2.0, 1.0]) if weighted else None

    def func_and_grad(v):
        value, grad = loss(v.reshape(out.shape), target, sw)
        return value, grad

    assert check_gradients(func_and_grad, out).params_error < TOL


def test_softmax_cross_entropy_value():
    value, _ = SoftmaxCrossEntropy()(np.log(np.array([[0.25, 0.75]])), np.array([1]))
    assert value == pytest.approx(-np.log(0.75))


def test_relative_error_and_numerical_gradient():
    g = numerical_gradient(lambda v: float(np.sum(v**3)), np.array([1.0, -2.0]))
    np.testing.assert_allclose(g, [3.0, 12.0], rtol=1e-8)
    assert relative_error([1.0, 0.0], [1.0, 1e-12]) < 1e-9
    assert relative_error([1.0], [2.0]) == pytest.approx(1 / 3)


# -- optimisers --------------------------------------------------------------

@pytest.mark.parametrize("opt", [
    lambda p: Adam(p, learning_rate=0.1),
    lambda p: SGD(p, learning_rate=0.05, momentum=0.9),
    lambda p: SGD(p, learning_rate=0.05, momentum=0.9, nesterov=True),
])
def test_optimisers_minimise_a_quadratic(opt):
    w = np.array([3.0, -2.0, 1.0])
    o = opt([w])
    for _ in range(300):
        o.step([2 * w])
    assert np.abs(w).max() < 1e-2


def test_adam_first_step_has_learning_rate_size():
    w = np.array([1.0, -1.0])
    Adam([w], learning_rate=0.1).step([np.array([5.0, -0.01])])
    np.testing.assert_allclose(w, [0.9, -0.9], rtol=1e-5)


def test_clip_gradients():
    g = [np.array([3.0, 4.0])]
    assert clip_gradients(g, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g[0], [0.6, 0.8])


def test_optimiser_rejects_wrong_number_of_gradients():
    with pytest.raises(ValueError, match="expected 1 gradient arrays, got 2"):
        Adam([np.zeros(2)]).step([np.zeros(2), np.zeros(2)])


# -- estimator loop ------------------------------------------------------------

# scikit-learn's estimator checks, at default settings: tests/test_common.py

def _clf_data():
    return make_classification(300, 8, n_informative=5, random_state=0)


def test_estimator_end_to_end_gradients():
    X, y = _clf_data()
    clf = TinyMLPClassifier(hidden_layer_sizes=(7,), activation="tanh", alpha=0.3,
                            max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    Xi, yi = clf._prepare_data(X[:20], y[:20])
    assert check_estimator_gradients(clf, Xi, yi, sample_weight=np.linspace(0.5, 2, 20)
                                     ).params_error < TOL
    reg = TinyMLPRegressor(hidden_layer_sizes=(5,), activation="tanh", alpha=0.3,
                           max_iter=2, random_state=0)
    Xr, yr = make_regression(50, 4, n_targets=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(Xr, yr)
    assert check_estimator_gradients(reg, *reg._prepare_data(Xr[:10], yr[:10])
                                     ).params_error < TOL


def test_determinism_under_random_state():
    X, y = _clf_data()
    a = TinyMLPClassifier(random_state=3, max_iter=5).fit(X, y)
    b = TinyMLPClassifier(random_state=3, max_iter=5).fit(X, y)
    np.testing.assert_array_equal(a.network_.get_flat_params(), b.network_.get_flat_params())
    assert a.loss_curve_ == b.loss_curve_
    c = TinyMLPClassifier(random_state=4, max_iter=5).fit(X, y)
    assert not np.array_equal(a.network_.get_flat_params(), c.network_.get_flat_params())


def test_pickle_round_trip():
    X, y = _clf_data()
    clf = TinyMLPClassifier(random_state=0, max_iter=5).fit(X, y)
    clf2 = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), clf2.predict_proba(X))


def test_learns_and_stops_early():
    X, y = make_classification(300, 8, n_informative=5, class_sep=2.0, random_state=0)
    clf = TinyMLPClassifier(random_state=0, max_iter=500, early_stopping=True,
                            n_iter_no_change=5).fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(X, y) > 0.85


def test_convergence_warning_at_max_iter():
    X, y = _clf_data()
    with pytest.warns(ConvergenceWarning, match="maximum number of epochs \\(2\\)"):
        TinyMLPClassifier(random_state=0, max_iter=2).fit(X, y)


def test_warm_start_continues():
    X, y = _clf_data()
    clf = TinyMLPClassifier(random_state=0, max_iter=3, warm_start=True, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        net, steps = clf.network_, clf.t_
        clf.fit(X, y)
    assert clf.network_ is net and clf.t_ == 2 * steps
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6


def test_partial_fit():
    X, y = _clf_data()
    clf = TinyMLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    for _ in range(20):
        clf.partial_fit(X[:150], y[:150], classes=[0, 1])
    assert clf.n_iter_ == 20 and clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="labels not seen in the first call"):
        clf.partial_fit(X[:5], np.full(5, 7))


def test_divergence_raises_with_step():
    X, y = make_regression(100, 5, random_state=0)
    reg = TinyMLPRegressor(solver="sgd", learning_rate_init=1e3, momentum=0.0,
                           random_state=0, max_iter=50)
    with pytest.raises(FloatingPointError, match="training diverged at epoch \\d+, step \\d+"):
        reg.fit(X, y * 1e3)
    assert np.all(np.isfinite(reg.network_.get_flat_params()))


def test_single_class_error():
    X, _ = _clf_data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        TinyMLPClassifier().fit(X, np.zeros(len(X)))


def test_float32_stays_float32():
    X, y = _clf_data()
    clf = TinyMLPClassifier(random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X.astype(np.float32), y)
    assert all(p.dtype == np.float32 for p in clf.network_.params)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_gradient_clipping_bounds_each_step():
    X, y = make_regression(64, 5, random_state=0)
    reg = TinyMLPRegressor(solver="sgd", momentum=0.0, learning_rate_init=0.1,
                           max_grad_norm=1e-3, batch_size=64, max_iter=1, random_state=0)
    reg._validate_params()
    Xi, yi = reg._prepare_data(X, y, reset=True)
    reg._initialize(Xi, yi)
    before = reg.network_.get_flat_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.set_params(warm_start=True).fit(X, y)
    step = np.linalg.norm(reg.network_.get_flat_params() - before)
    assert step <= 0.1 * 1e-3 + 1e-12



def test_encode_labels_is_the_one_path_and_says_what_is_wrong():
    from sklearn.base import BaseEstimator

    from graphsig.models._base import encode_labels

    est = BaseEstimator()
    np.testing.assert_array_equal(encode_labels(est, ["b", "a", "b"], reset=True), [1, 0, 1])
    np.testing.assert_array_equal(
        encode_labels(est, [["a", "b"], ["b", "b"]], reset=False, per_item=True),
        [[0, 1], [1, 1]])
    with pytest.raises(ValueError, match=r"labels not seen in the first call: \['c'\]"):
        encode_labels(est, ["a", "c"], reset=False)
    with pytest.raises(ValueError, match="at least 2 classes"):
        encode_labels(BaseEstimator(), [1, 1, 1], reset=True)
    with pytest.raises(ValueError, match="one label per item"):
        encode_labels(est, ["a", "b"], reset=False, per_item=True)
    with pytest.raises(ValueError, match="Unknown label type"):
        encode_labels(BaseEstimator(), [0.5, 1.5, 2.5], reset=True)
