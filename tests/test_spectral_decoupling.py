"""SpectralDecouplingClassifier: the penalty, its gradient, the contract and bad input."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from graphsig.datasets import make_shifted_moons
from graphsig.models import SpectralDecouplingClassifier
from graphsig.models._gradcheck import check_estimator_gradients

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_classes=2, n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (np.digitize(X[:, 0] + 0.5 * X[:, 1], np.linspace(-1, 1, n_classes - 1))
         if n_classes > 2 else (X[:, 0] > 0).astype(int))
    return X, y


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("gamma", [None, 0.7, "array"])
def test_gradients_with_penalty(n_classes, gamma):
    X, y = _data(n_classes)
    if gamma == "array":
        gamma = np.linspace(-1, 1, n_classes)
    clf = SpectralDecouplingClassifier((6,), sd_lambda=0.8, sd_gamma=gamma, activation="tanh",
                                       alpha=0.1, max_iter=3, random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    assert check_estimator_gradients(clf, Xi, yi).params_error < 1e-6


def test_gradients_with_adaptive_activation():
    X, y = _data(3)
    clf = SpectralDecouplingClassifier((5, 4), sd_lambda=0.5, activation="adaptive",
                                       adaptive_per_neuron=True, adaptive_init=(1.3, 0.4),
                                       max_iter=2, random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    assert check_estimator_gradients(clf, Xi, yi).params_error < 1e-6


def test_penalty_value():
    X, y = _data(2)
    clf = SpectralDecouplingClassifier((4,), sd_lambda=0.6, sd_gamma=0.5, max_iter=1,
                                       random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    out = clf.network_.forward(Xi)
    value, grad = clf._output_penalty(out, yi)
    target = np.where(yi == 1, 0.5, -0.5)
    assert value == pytest.approx(0.5 * 0.6 * np.mean((out[:, 0] - target) ** 2))
    np.testing.assert_allclose(grad[:, 0], 0.6 * (out[:, 0] - target) / len(yi))


def test_multiclass_penalty_is_a_sum_over_logits():
    X, y = _data(3)
    clf = SpectralDecouplingClassifier((4,), sd_lambda=2.0, max_iter=1, random_state=0)
    clf.fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    out = clf.network_.forward(Xi)
    value, _ = clf._output_penalty(out, yi)
    assert value == pytest.approx(np.mean(np.sum(out ** 2, axis=1)))


def test_lambda_zero_is_plain_training():
    X, y = _data(2)
    plain = SpectralDecouplingClassifier((8,), sd_lambda=0.0, max_iter=20, random_state=0)
    delayed = SpectralDecouplingClassifier((8,), sd_lambda=5.0, penalty_start=10**6,
                                           max_iter=20, random_state=0)
    np.testing.assert_array_equal(plain.fit(X, y).predict_proba(X),
                                  delayed.fit(X, y).predict_proba(X))
    assert plain._output_penalty(np.ones((3, 1)), np.zeros(3, int)) == (0.0, None)


def test_penalty_shrinks_logits():
    X, y = make_shifted_moons(200, random_state=0)
    kw = dict(solver="sgd", learning_rate_init=0.05, batch_size=200, max_iter=200, tol=0,
              n_iter_no_change=1000, random_state=0)
    plain = SpectralDecouplingClassifier((50,), sd_lambda=0.0, **kw).fit(X, y)
    sd = SpectralDecouplingClassifier((50,), sd_lambda=0.5, **kw).fit(X, y)
    assert np.abs(sd.decision_function(X)).mean() < 0.5 * np.abs(
        plain.decision_function(X)).mean()
    assert sd.score(X, y) == 1.0


def test_binary_probabilities_are_consistent():
    X, y = _data(2)
    clf = SpectralDecouplingClassifier((6,), max_iter=5, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.decision_function(X).shape == (len(X),)


def test_determinism_and_pickle():
    X, y = _data(3)
    a = SpectralDecouplingClassifier((6,), max_iter=5, random_state=1).fit(X, y)
    b = SpectralDecouplingClassifier((6,), max_iter=5, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))


# -- bad input -------------------------------------------------------------------------
def test_negative_lambda():
    X, y = _data(2)
    with pytest.raises(ValueError, match="'sd_lambda' parameter"):
        SpectralDecouplingClassifier(sd_lambda=-0.1).fit(X, y)


def test_gamma_of_the_wrong_length():
    X, y = _data(3)
    with pytest.raises(ValueError, match="sd_gamma must be a float or an array of 3"):
        SpectralDecouplingClassifier(sd_gamma=[1.0, 2.0], max_iter=1).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(bad):
    X, y = _data(2)
    X[4, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        SpectralDecouplingClassifier().fit(X, y)


def test_single_class():
    X, _ = _data(2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        SpectralDecouplingClassifier().fit(X, np.ones(len(X)))


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        SpectralDecouplingClassifier().predict(np.zeros((2, 3)))


def test_divergence_names_the_step():
    X, y = _data(3)
    clf = SpectralDecouplingClassifier((8,), solver="sgd", learning_rate_init=1e30,
                                       batch_size=10, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match=r"diverged at epoch \d+, step \d+"):
            clf.fit(X, y)


def test_colour_shortcut_is_not_removed():
    # a limit of the method, measured in benchmarks/spectral_decoupling.py: when the
    # colour equals the label in training, SD relies on it as plain training does
    from graphsig.datasets import make_colored_digits

    d = make_colored_digits(label_noise=0.0, train_color_noise=(0.0,), test_color_noise=1.0,
                            random_state=0)
    for sd_lambda in (0.0, 0.01, 1.0):
        clf = SpectralDecouplingClassifier((32,), sd_lambda=sd_lambda, max_iter=20,
                                           random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(d.X_train, d.y_train)
        assert clf.score(d.X_train, d.y_train) == 1.0
        assert clf.score(d.X_test, d.y_test) < 0.05
