"""Lyapunov spectrum of recurrent networks against the analytic cases."""

import numpy as np
import pytest

from graphsig.dynamics import lyapunov_spectrum
from graphsig.models import NonNormalRNNClassifier
from graphsig.models._rnn import RecurrentNetwork

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _linear_network(W):
    n = W.shape[0]
    net = RecurrentNetwork(2, n, 2, recurrence="vanilla", activation="identity",
                           random_state=0)
    net.W[...] = W
    return net


def _inputs(n_seq=3, n_steps=200, seed=0):
    return np.random.default_rng(seed).normal(size=(n_seq, n_steps, 2))


@pytest.mark.parametrize("a", [0.5, -1.3, 1.0, 2.0])
def test_scaled_identity_gives_log_abs_a(a):
    spectrum = lyapunov_spectrum(_linear_network(a * np.eye(5)), _inputs())
    np.testing.assert_allclose(spectrum, np.log(abs(a)), atol=1e-12)


def test_diagonal_matrix_gives_sorted_logs():
    d = np.array([0.3, -2.0, 1.1, 0.8])
    spectrum = lyapunov_spectrum(_linear_network(np.diag(d)), _inputs(n_steps=400))
    np.testing.assert_allclose(spectrum, np.sort(np.log(np.abs(d)))[::-1], atol=1e-2)


def test_orthogonal_linear_rnn_has_zero_exponents():
    rng = np.random.default_rng(1)
    Q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    np.testing.assert_allclose(lyapunov_spectrum(_linear_network(Q), _inputs()), 0.0,
                               atol=1e-12)


def test_fitted_orthogonal_estimator_has_zero_exponents():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 8, 2))
    y = (X[:, 0, 0] > 0).astype(int)
    clf = NonNormalRNNClassifier(6, recurrence="orthogonal", activation="identity",
                                 max_iter=3, learning_rate_init=0.05, random_state=0).fit(X, y)
    spectrum, std = lyapunov_spectrum(clf, _inputs(n_steps=300), return_std=True)
    np.testing.assert_allclose(spectrum, 0.0, atol=1e-10)
    assert std.shape == (6,)


def test_non_normal_transient_growth_has_no_effect_on_exponents():
    # a Jordan-like block: transient growth, but both exponents are log|a|
    W = np.array([[0.9, 5.0], [0.0, 0.9]])
    spectrum = lyapunov_spectrum(_linear_network(W), _inputs(n_steps=3000), n_warmup=200)
    np.testing.assert_allclose(spectrum, np.log(0.9), atol=5e-3)


def test_tanh_network_contracts_more_than_its_linearisation():
    rng = np.random.default_rng(3)
    Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    net = RecurrentNetwork(2, 5, 2, recurrence="vanilla", activation="tanh", random_state=0)
    net.W[...] = Q
    spectrum = lyapunov_spectrum(net, _inputs(n_steps=300))
    # |tanh'| <= 1 with strict inequality along a driven trajectory
    assert np.all(spectrum < 0)
    assert np.all(np.diff(spectrum) <= 0)


def test_n_exponents_and_warmup():
    net = _linear_network(np.diag([0.5, 0.25, 0.125]))
    spectrum = lyapunov_spectrum(net, _inputs(n_steps=100), n_exponents=2, n_warmup=50)
    np.testing.assert_allclose(spectrum, np.log([0.5, 0.25]), atol=1e-6)


def test_deterministic():
    net = _linear_network(np.random.default_rng(4).normal(size=(4, 4)))
    a = lyapunov_spectrum(net, _inputs(), random_state=3)
    b = lyapunov_spectrum(net, _inputs(), random_state=3)
    np.testing.assert_array_equal(a, b)


def test_annihilated_direction_is_minus_infinity():
    # after one step the frame is aligned with the surviving direction
    spectrum = lyapunov_spectrum(_linear_network(np.diag([1.0, 0.0])), _inputs(n_steps=10),
                                 n_warmup=1)
    assert spectrum[0] == pytest.approx(0.0, abs=1e-12) and spectrum[1] == -np.inf


def test_rejects_objects_without_jacobians():
    with pytest.raises(TypeError, match="jacobian_factors"):
        lyapunov_spectrum(np.eye(3), _inputs())


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_exponents=0), "n_exponents must be an integer in"),
    (dict(n_exponents=4), "n_exponents must be an integer in"),
    (dict(n_warmup=10), "n_warmup must be an integer in"),
    (dict(n_warmup=-1), "n_warmup must be an integer in"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lyapunov_spectrum(_linear_network(np.eye(3)), _inputs(n_steps=10), **kwargs)


def test_non_finite_jacobians():
    net = _linear_network(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        lyapunov_spectrum(net, _inputs(n_steps=5))
