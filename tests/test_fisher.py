"""FisherPenaltyClassifier: Hessian-vector products, Fisher trace, gradients, contract."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from graphsig.models import FisherPenaltyClassifier
from graphsig.models._activations import activation_factory
from graphsig.models._fisher import mlp_fisher_trace, mlp_hessian_vector_product
from graphsig.models._gradcheck import check_estimator_gradients, relative_error
from graphsig.models._layers import make_mlp
from graphsig.models._losses import SoftmaxCrossEntropy, softmax

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ACTIVATIONS = ["relu", "tanh", "logistic", "softplus", "identity", "adaptive", "modrelu"]


def _network(activation, seed=0):
    net = make_mlp([4, 6, 5, 3], random_state=seed, activation=activation_factory(
        activation, per_neuron=activation == "adaptive", init=(1.3, 0.4)))
    rng = np.random.default_rng(seed)
    net.set_flat_params(net.get_flat_params() + 0.1 * rng.normal(size=net.n_params))
    return net


def _gradient(net, X, y, theta, sample_weight=None):
    net.set_flat_params(theta)
    net.zero_grad()
    _, g = SoftmaxCrossEntropy()(net.forward(X), y, sample_weight)
    net.backward(g)
    return net.get_flat_grads()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_exact_hvp_against_finite_differences(activation):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(9, 4)), rng.integers(0, 3, 9)
    w = rng.uniform(0.5, 2, 9)
    net = _network(activation)
    theta = net.get_flat_params()
    v = rng.normal(size=theta.size)
    h = 1e-5
    numeric = (_gradient(net, X, y, theta + h * v, w) - _gradient(net, X, y, theta - h * v, w)) \
        / (2 * h)
    net.set_flat_params(theta)
    exact = mlp_hessian_vector_product(net, X, y, v, w)
    assert relative_error(exact, numeric) < 1e-5


def test_hvp_is_symmetric():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(9, 4)), rng.integers(0, 3, 9)
    net = _network("tanh")
    u, v = rng.normal(size=(2, net.n_params))
    assert u @ mlp_hessian_vector_product(net, X, y, v) == pytest.approx(
        v @ mlp_hessian_vector_product(net, X, y, u), rel=1e-10)


@pytest.mark.parametrize("activation", ["relu", "adaptive"])
def test_fisher_trace_against_per_sample_gradients(activation):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 4))
    net = _network(activation)
    p = softmax(net.forward(X))
    expected = 0.0
    for i in range(len(X)):
        for c in range(3):
            net.zero_grad()
            g = softmax(net.forward(X[i : i + 1]))
            g[0, c] -= 1
            net.backward(g)
            flat = net.get_flat_grads()
            expected += p[i, c] * flat @ flat
    assert mlp_fisher_trace(net, X) == pytest.approx(expected / len(X), rel=1e-10)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])


@pytest.mark.parametrize("hvp", ["exact", "finite_difference"])
@pytest.mark.parametrize("activation", ["tanh", "adaptive"])
def test_training_gradients_include_the_penalty(hvp, activation):
    X, y = _data()
    clf = FisherPenaltyClassifier((6,), fisher_penalty=0.5, hvp=hvp, activation=activation,
                                  adaptive_init=(1.2, 0.3), alpha=0.1, max_iter=2,
                                  random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    assert check_estimator_gradients(clf, Xi, yi).params_error < 1e-5


def test_finite_difference_hvp_matches_exact():
    X, y = _data()
    clf = FisherPenaltyClassifier((6,), activation="tanh", max_iter=2, random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    v = np.random.default_rng(0).normal(size=clf.network_.n_params)
    exact = clf._hessian_vector_product(Xi, yi, v, None)
    clf.set_params(hvp="finite_difference")
    theta = clf.network_.get_flat_params()
    numeric = clf._hessian_vector_product(Xi, yi, v, None)
    np.testing.assert_array_equal(clf.network_.get_flat_params(), theta)  # restored
    assert relative_error(exact, numeric) < 1e-6


def test_sampled_labels_follow_the_model():
    X, y = _data(400)
    clf = FisherPenaltyClassifier((6,), max_iter=3, random_state=0).fit(X, y)
    Xi, _ = clf._prepare_data(X, y)
    p = softmax(clf.network_.forward(Xi))
    counts = np.zeros(3)
    for t in range(50):
        clf.t_ = t
        counts += np.bincount(clf._sample_labels(Xi), minlength=3)
    np.testing.assert_allclose(counts / counts.sum(), p.mean(axis=0), atol=0.02)


def test_trace_is_recorded_and_penalty_lowers_it():
    X, y = _data(120, seed=1)
    kw = dict(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=0.05, momentum=0.0,
              batch_size=20, max_iter=15, fisher_trace_interval=6, random_state=0)
    plain = FisherPenaltyClassifier(fisher_penalty=0.0, **kw).fit(X, y)
    pen = FisherPenaltyClassifier(fisher_penalty=1.0, **kw).fit(X, y)
    np.testing.assert_array_equal(plain.fisher_trace_steps_, np.arange(0, 91, 6))
    assert plain.fisher_trace_[0] == pytest.approx(pen.fisher_trace_[0])
    assert pen.fisher_trace_[1:].max() < plain.fisher_trace_[1:].max()
    assert pen.fisher_trace_[-1] < 0.9 * plain.fisher_trace_[-1]


def test_penalty_interval_skips_steps():
    from graphsig.models._base import BaseNeuralEstimator

    X, y = _data()
    clf = FisherPenaltyClassifier((6,), fisher_penalty=0.5, penalty_interval=3, max_iter=1,
                                  random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    plain = BaseNeuralEstimator._loss_and_gradients(clf, Xi, yi)
    clf.t_ = 4  # not a multiple of 3: the plain loss
    assert clf._loss_and_gradients(Xi, yi) == plain
    clf.t_ = 3
    assert clf._loss_and_gradients(Xi, yi) > plain


def test_no_trace_when_disabled():
    X, y = _data()
    clf = FisherPenaltyClassifier((6,), fisher_trace_interval=None, max_iter=2,
                                  random_state=0).fit(X, y)
    assert clf.fisher_trace_.shape == (0,)


def test_determinism_and_pickle():
    X, y = _data()
    a = FisherPenaltyClassifier((6,), max_iter=3, random_state=2).fit(X, y)
    b = FisherPenaltyClassifier((6,), max_iter=3, random_state=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.fisher_trace_, b.fisher_trace_)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))


# -- bad input -------------------------------------------------------------------------
def test_negative_penalty():
    X, y = _data()
    with pytest.raises(ValueError, match="'fisher_penalty' parameter"):
        FisherPenaltyClassifier(fisher_penalty=-1.0).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(bad):
    X, y = _data()
    X[0, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        FisherPenaltyClassifier().fit(X, y)


def test_single_class():
    X, _ = _data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        FisherPenaltyClassifier().fit(X, np.zeros(len(X)))


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        FisherPenaltyClassifier().predict(np.zeros((2, 4)))


def test_divergence_names_the_step():
    X, y = _data()
    clf = FisherPenaltyClassifier((8,), solver="sgd", learning_rate_init=1e30, batch_size=10,
                                  max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match=r"diverged at epoch \d+, step \d+"):
            clf.fit(X, y)
