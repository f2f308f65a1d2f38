"""tangent_kernel and tangent_kernel_alignment: exact cases, finite differences, bad input."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from graphsig.dynamics import tangent_kernel, tangent_kernel_alignment
from graphsig.models import SpectralDecouplingClassifier
from graphsig.models._gradcheck import numerical_gradient
from graphsig.models._layers import Dense, make_mlp


def test_linear_layer_kernel_is_the_linear_kernel_plus_one():
    X = np.random.default_rng(0).normal(size=(6, 3))
    K = tangent_kernel(Dense(3, 2, random_state=0), X)
    # two outputs, each with gradient (x, 1) with respect to its own column and bias
    np.testing.assert_allclose(K, 2 * (X @ X.T + 1))


def test_kernel_matches_finite_difference_jacobian():
    rng = np.random.default_rng(1)
    net = make_mlp([3, 5, 2], activation="tanh", random_state=0)
    X = rng.normal(size=(4, 3))
    theta = net.get_flat_params()
    rows = []
    for i in range(len(X)):
        for c in range(2):
            def f(v, i=i, c=c):
                net.set_flat_params(v)
                return float(net.forward(X[i:i + 1])[0, c])
            rows.append(numerical_gradient(f, theta))
    net.set_flat_params(theta)
    J = np.array(rows).reshape(len(X), -1)
    np.testing.assert_allclose(tangent_kernel(net, X), J @ J.T, rtol=1e-6, atol=1e-8)


def test_alignment_is_one_for_a_kernel_equal_to_the_targets():
    # a bias-free linear layer on one-hot inputs: K = X X^T = Y Y^T
    y = np.array([0, 1, 2, 0, 1, 2, 2])
    X = np.eye(3)[y]
    layer = Dense(3, 1, bias=False, random_state=0)
    assert tangent_kernel_alignment(layer, X, y) == pytest.approx(1.0)
    # shuffled labels are less aligned, and the value stays in [0, 1]
    other = tangent_kernel_alignment(layer, X, np.array([2, 0, 1, 1, 0, 2, 0]))
    assert 0.0 <= other < 0.5


def test_alignment_is_invariant_to_the_scale_of_the_network():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, 10)
    a = Dense(2, 1, random_state=0)
    b = Dense(2, 1, random_state=0)
    b.W[...] *= 5  # a linear layer's tangent kernel does not depend on its weights
    assert tangent_kernel_alignment(a, X, y) == pytest.approx(tangent_kernel_alignment(b, X, y))
    a2, K = tangent_kernel_alignment(a, 3 * X, y, centered=False, return_kernel=True)
    assert K.shape == (10, 10) and -1 <= a2 <= 1


def test_real_targets_and_uncentred_alignment():
    X = np.array([[1.0], [2.0], [3.0]])
    value = tangent_kernel_alignment(Dense(1, 1, bias=False, random_state=0), X,
                                     np.array([1.0, 2.0, 3.0]), centered=False)
    assert value == pytest.approx(1.0)  # K = x x^T = y y^T


def test_alignment_rises_with_training_on_true_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)  # not linearly separable
    kw = dict(sd_lambda=0.0, learning_rate_init=0.01, batch_size=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = SpectralDecouplingClassifier((16,), max_iter=1, **kw).fit(X, y)
        end = SpectralDecouplingClassifier((16,), max_iter=100, **kw).fit(X, y)
    before = tangent_kernel_alignment(start, X, y)
    after = tangent_kernel_alignment(end, X, y)
    assert end.score(X, y) == 1.0
    assert after > 2 * before and after > before + 0.05


# -- bad input ---------------------------------------------------------------------------
def _fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SpectralDecouplingClassifier((4,), max_iter=2, random_state=0).fit(X, y), X, y


def test_unfitted_estimator():
    with pytest.raises(NotFittedError):
        tangent_kernel(SpectralDecouplingClassifier(), np.zeros((3, 2)))


def test_not_a_network():
    with pytest.raises(TypeError, match="must be a fitted graphsig neural estimator"):
        tangent_kernel(object(), np.zeros((3, 2)))


def test_one_sample():
    with pytest.raises(ValueError, match="at least 2 samples"):
        tangent_kernel(Dense(2, 1), np.zeros((1, 2)))


def test_non_finite_input():
    clf, X, y = _fitted()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tangent_kernel(clf, X)
    with pytest.raises(ValueError, match="NaN or infinity"):
        tangent_kernel(Dense(3, 1), X)


def test_wrong_number_of_features():
    clf, X, y = _fitted()
    with pytest.raises(ValueError, match="features"):
        tangent_kernel(clf, X[:, :2])


def test_targets_of_the_wrong_length_or_unknown_labels():
    clf, X, y = _fitted()
    with pytest.raises(ValueError, match="one entry per sample"):
        tangent_kernel_alignment(clf, X, y[:-1])
    with pytest.raises(ValueError, match="labels the model does not know: \\[7\\]"):
        tangent_kernel_alignment(clf, X, np.where(y == 1, 7, 0))


def test_centered_must_be_boolean():
    clf, X, y = _fitted()
    with pytest.raises(TypeError, match="centered must be a boolean"):
        tangent_kernel_alignment(clf, X, y, centered="yes")
