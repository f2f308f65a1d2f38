"""nnRNN and its baselines: expm gradient, BPTT gradient checks, estimator contract."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.linalg as sl
from sklearn.exceptions import NotFittedError

from graphsig.datasets import copy_task_baseline, make_copy_task
from graphsig.models import NonNormalRNNClassifier
from graphsig.models._gradcheck import check_estimator_gradients, check_module_gradients
from graphsig.models._rnn import RecurrentNetwork, SkewExponential

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _skew(n, scale, seed):
    A = np.random.default_rng(seed).normal(size=(n, n)) * scale
    return A - A.T


# -- exponential of skew-symmetric matrices -----------------------------------------
@pytest.mark.parametrize("scale", [0.0, 0.1, 2.0])
def test_skew_exponential_matches_scipy(scale):
    A = _skew(9, scale, 0)
    expo = SkewExponential(A)
    np.testing.assert_allclose(expo.matrix, sl.expm(A), atol=1e-12)
    np.testing.assert_allclose(expo.matrix @ expo.matrix.T, np.eye(9), atol=1e-12)
    G = np.random.default_rng(1).normal(size=(9, 9))
    # adjoint of the Frechet derivative: <G, L(A, E)> = <L(A^T, G), E>
    np.testing.assert_allclose(expo.adjoint(G), sl.expm_frechet(A.T, G)[1], atol=1e-11)


def test_skew_exponential_with_repeated_eigenvalues():
    A = np.zeros((6, 6))
    A[0, 1], A[1, 0] = -0.7, 0.7
    A[2, 3], A[3, 2] = -0.7, 0.7  # eigenvalues +-0.7i twice, and 0 twice
    G = np.random.default_rng(2).normal(size=(6, 6))
    np.testing.assert_allclose(SkewExponential(A).adjoint(G), sl.expm_frechet(A.T, G)[1],
                               atol=1e-11)


# -- the network ---------------------------------------------------------------------
def _network(recurrence, activation, output, seed=0, n_hidden=5):
    net = RecurrentNetwork(3, n_hidden, 4, recurrence=recurrence, activation=activation,
                           output=output, random_state=seed, adaptive_init=(1.3, 0.4))
    rng = np.random.default_rng(seed + 10)
    if recurrence == "nonnormal":  # move away from the initial values
        net.skew[...] = rng.normal(size=net.skew.shape) * 0.3
        net.upper[...] = rng.normal(size=net.upper.shape) * 0.3
        net.scales[...] = 1 + 0.2 * rng.normal(size=net.scales.shape)
    return net


@pytest.mark.parametrize("recurrence", ["nonnormal", "orthogonal", "vanilla"])
@pytest.mark.parametrize("activation", ["modrelu", "tanh", "adaptive", "identity"])
def test_bptt_gradients(recurrence, activation):
    net = _network(recurrence, activation, "sequence")
    x = np.random.default_rng(1).normal(size=(3, 6, 3))
    result = check_module_gradients(net, x)
    assert result.params_error < 1e-5
    assert result.input_error < 1e-5


@pytest.mark.parametrize("n_hidden", [4, 5])
def test_bptt_gradients_last_state_output(n_hidden):
    net = _network("nonnormal", "modrelu", "last", n_hidden=n_hidden)
    x = np.random.default_rng(2).normal(size=(3, 7, 3))
    assert check_module_gradients(net, x).max_error < 1e-5


@pytest.mark.parametrize("activation", ["modrelu", "tanh", "relu", "adaptive", "logistic",
                                        "softplus", "identity"])
def test_compiled_loops_match_reference(activation):
    net = _network("nonnormal", activation, "sequence")
    x = np.random.default_rng(3).normal(size=(4, 8, 3))
    W = net.recurrent_matrix()
    Z1, H1 = net._run(x, W)
    Z2, H2 = net._run(x, W, compiled=False)
    np.testing.assert_allclose(H1, H2, atol=1e-13)
    np.testing.assert_allclose(Z1, Z2, atol=1e-13)
    dH = np.random.default_rng(4).normal(size=H1.shape)
    fx = np.random.default_rng(5).uniform(size=H1.shape)
    a = net._backward_loop(dH.copy(), fx, W)
    b = net._backward_loop(dH.copy(), fx, W, compiled=False)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, atol=1e-13)


def test_nonnormal_matrix_is_a_real_schur_form():
    net = _network("nonnormal", "modrelu", "last", n_hidden=6)
    W = net.recurrent_matrix()
    P = sl.expm(np.triu(np.zeros((6, 6))) + _skew_from(net))
    D = P.T @ W @ P
    # block upper triangular with 2x2 blocks alpha_k R(theta_k) on the diagonal
    for k in range(3):
        block = D[2 * k : 2 * k + 2, 2 * k : 2 * k + 2]
        a, t = net.scales[k], net.angles[k]
        expected = a * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        np.testing.assert_allclose(block, expected, atol=1e-12)
    assert np.abs(np.tril(D, -2)).max() < 1e-12
    eig = np.sort_complex(np.linalg.eigvals(W))
    expected = np.sort_complex(np.concatenate([net.scales * np.exp(1j * net.angles),
                                               net.scales * np.exp(-1j * net.angles)]))
    np.testing.assert_allclose(eig, expected, atol=1e-10)


def _skew_from(net):
    n = net.n_hidden
    A = np.zeros((n, n))
    A[np.triu_indices(n, 1)] = net.skew
    return A - A.T


def test_orthogonal_recurrence_stays_orthogonal_after_training():
    X, y = _memory_task(40, seed=0)
    clf = NonNormalRNNClassifier(6, recurrence="orthogonal", max_iter=5, random_state=0,
                                 learning_rate_init=0.05).fit(X, y)
    W = clf.recurrent_matrix_
    np.testing.assert_allclose(W @ W.T, np.eye(6), atol=1e-10)


# -- estimator -------------------------------------------------------------------------
def _memory_task(n, seed, steps=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, steps, 2))
    return X, (X[:, 0, 0] > 0).astype(int)  # remember the first input


@pytest.mark.parametrize("recurrence", ["nonnormal", "orthogonal", "vanilla"])
def test_estimator_gradients_with_penalties(recurrence):
    X, y = _memory_task(12, seed=1)
    clf = NonNormalRNNClassifier(5, recurrence=recurrence, scale_penalty=0.3,
                                 triangular_penalty=0.2, alpha=0.1, max_iter=2,
                                 random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    assert check_estimator_gradients(clf, Xi, yi).params_error < 1e-5


def test_learns_to_remember():
    X, y = _memory_task(200, seed=2, steps=10)
    Xt, yt = _memory_task(200, seed=3, steps=10)
    clf = NonNormalRNNClassifier(16, learning_rate_init=0.01, max_iter=40,
                                 random_state=0).fit(X, y)
    assert clf.score(Xt, yt) > 0.85  # chance is 0.5


def test_copy_task_sequence_targets():
    X, y = make_copy_task(64, delay=4, n_memorize=3, n_symbols=3, random_state=0)
    clf = NonNormalRNNClassifier(24, batch_size=16, learning_rate_init=0.01, max_iter=40,
                                 random_state=0).fit(X, y)
    assert clf.predict(X[:5]).shape == (5, X.shape[1])
    assert clf.predict_proba(X[:5]).shape == (5, X.shape[1], 4)
    baseline = copy_task_baseline(4, n_symbols=3, n_memorize=3)
    assert clf.loss_ < 0.5 * baseline
    assert 0 <= clf.score(X, y) <= 1


def test_two_dimensional_inputs():
    X, y = _memory_task(30, seed=4, steps=6)
    flat = X.reshape(30, 12)
    a = NonNormalRNNClassifier(4, n_timesteps=6, max_iter=3, random_state=0).fit(flat, y)
    b = NonNormalRNNClassifier(4, max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(a.predict_proba(flat), b.predict_proba(X))
    c = NonNormalRNNClassifier(4, max_iter=2, random_state=0).fit(flat, y)
    assert c.n_timesteps_ == 12  # each column one step of a scalar sequence


def test_recurrent_learning_rate_groups():
    X, y = _memory_task(30, seed=5)
    clf = NonNormalRNNClassifier(4, recurrent_learning_rate=1e-12, learning_rate_init=0.05,
                                 max_iter=3, random_state=0)
    clf.fit(X, y)
    init = NonNormalRNNClassifier(4, max_iter=1, random_state=0)
    init._validate_params()
    Xi, yi = init._prepare_data(X, y, reset=True)
    init._initialize(Xi, yi)
    np.testing.assert_allclose(clf.recurrent_matrix_, init.recurrent_matrix_, atol=1e-9)
    assert not np.allclose(clf.network_.readout.W, init.network_.readout.W)


def test_modulus_learning_rate_auto_divides_by_the_sequence_length():
    X, y = _memory_task(30, seed=5, steps=10)
    clf = NonNormalRNNClassifier(4, learning_rate_init=0.02, max_iter=1, random_state=0).fit(X, y)
    net = clf.network_
    rates = {}
    for idx, opt in clf._optimizer.groups:
        for i in idx:
            rates[id(net.params[i])] = opt.learning_rate
    assert rates[id(net.scales)] == pytest.approx(0.02 / 10)
    assert rates[id(net.upper)] == rates[id(net.skew)] == rates[id(net.angles)] == 0.02
    assert rates[id(net.readout.W)] == 0.02
    fixed = NonNormalRNNClassifier(4, modulus_learning_rate=0.5, max_iter=1,
                                   random_state=0).fit(X, y)
    assert 0.5 in [opt.learning_rate for _, opt in fixed._optimizer.groups]


def test_moduli_stay_near_one_on_a_long_memory_task():
    # at the full learning rate Adam walks the moduli alpha_k away from 1 by about
    # the learning rate per step, and alpha^n_timesteps (the memory) collapses
    X, y = make_copy_task(40, delay=60, n_memorize=3, n_symbols=3, random_state=0)
    kw = dict(n_hidden=8, batch_size=10, max_iter=8, learning_rate_init=0.01, random_state=0)
    auto = NonNormalRNNClassifier(**kw).fit(X, y)
    full = NonNormalRNNClassifier(modulus_learning_rate=0.01, **kw).fit(X, y)
    drift_auto = np.abs(auto.network_.scales - 1).max()
    drift_full = np.abs(full.network_.scales - 1).max()
    assert drift_auto < 0.01 < drift_full


def test_error_bad_modulus_learning_rate():
    X, y = _memory_task(10, seed=11)
    with pytest.raises(ValueError, match="modulus_learning_rate"):
        NonNormalRNNClassifier(4, modulus_learning_rate=0.0).fit(X, y)


def test_hidden_states_and_jacobians_accept_any_length():
    X, y = _memory_task(10, seed=6)
    clf = NonNormalRNNClassifier(4, max_iter=1, random_state=0).fit(X, y)
    long = np.random.default_rng(0).normal(size=(3, 40, 2))
    assert clf.hidden_states(long).shape == (3, 40, 4)
    W, gains = clf.jacobian_factors(long)
    assert W.shape == (4, 4) and gains.shape == (3, 40, 4)
    with pytest.raises(ValueError, match="2 features per step"):
        clf.hidden_states(np.zeros((3, 40, 5)))


def test_determinism_and_pickle():
    X, y = _memory_task(30, seed=7)
    a = NonNormalRNNClassifier(5, max_iter=3, random_state=3).fit(X, y)
    b = NonNormalRNNClassifier(5, max_iter=3, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))


# -- bad input -------------------------------------------------------------------------
def test_sequences_of_the_wrong_length():
    X, y = _memory_task(20, seed=8, steps=6)
    clf = NonNormalRNNClassifier(4, max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="sequences of 6 time steps"):
        clf.predict(np.zeros((3, 5, 2)))
    with pytest.raises(ValueError, match="n_timesteps=4"):
        NonNormalRNNClassifier(4, n_timesteps=4).fit(X, y)


def test_columns_not_a_multiple_of_n_timesteps():
    with pytest.raises(ValueError, match="not a multiple of n_timesteps=4"):
        NonNormalRNNClassifier(4, n_timesteps=4).fit(np.zeros((6, 10)), [0, 1] * 3)


def test_per_step_targets_of_the_wrong_length():
    X, y = make_copy_task(6, delay=3, random_state=0)
    with pytest.raises(ValueError, match="labels per sequence"):
        NonNormalRNNClassifier(4).fit(X, y[:, :-1])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(bad):
    X, y = _memory_task(10, seed=9)
    X[2, 3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        NonNormalRNNClassifier(4).fit(X, y)


def test_single_class():
    X, _ = _memory_task(10, seed=10)
    with pytest.raises(ValueError, match="at least 2 classes"):
        NonNormalRNNClassifier(4).fit(X, np.zeros(10, dtype=int))


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        NonNormalRNNClassifier(4).predict(np.zeros((2, 3, 1)))


def test_negative_penalty():
    X, y = _memory_task(10, seed=11)
    with pytest.raises(ValueError, match="scale_penalty"):
        NonNormalRNNClassifier(4, scale_penalty=-1.0).fit(X, y)


def test_divergence_names_the_step():
    X, y = _memory_task(20, seed=12)
    clf = NonNormalRNNClassifier(4, recurrence="vanilla", activation="identity", solver="sgd",
                                 learning_rate_init=1e30, max_grad_norm=None, batch_size=5,
                                 max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match=r"diverged at epoch \d+, step \d+"):
            clf.fit(X, y)
