"""RelevancyScreeningRNNClassifier and gradient_propagation: gradients, screening, contract."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from graphsig.dynamics import gradient_propagation
from graphsig.models import RelevancyScreeningRNNClassifier
from graphsig.models._gradcheck import check_estimator_gradients, check_module_gradients
from graphsig.models._relevancy import RelevancyScreeningNetwork

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _sequences(n=12, T=9, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, d))
    return X, (X[:, 0, 0] > 0).astype(int), rng.integers(0, 3, (n, T))


@pytest.mark.parametrize("attention", ["relevancy", "full", "none"])
@pytest.mark.parametrize("output", ["last", "sequence"])
def test_network_gradients(attention, output):
    X, _, _ = _sequences(3)
    net = RelevancyScreeningNetwork(2, 5, 3, attention=attention, buffer_size=2, memory_size=3,
                                    output=output, random_state=0)
    result = check_module_gradients(net, X)
    assert result.params_error < 1e-6 and result.input_error < 1e-6


def test_estimator_gradients_with_penalty():
    X, _, Y = _sequences()
    clf = RelevancyScreeningRNNClassifier(4, buffer_size=2, memory_size=2, alpha=0.5,
                                          max_iter=2, random_state=0).fit(X, Y)
    Xi, yi = clf._prepare_data(X, Y)
    assert check_estimator_gradients(clf, Xi, yi).params_error < 1e-6


def test_memory_holds_the_most_attended_states():
    # with zero attention weights the scores are equal, so each step spreads
    # its attention uniformly; the oldest states then accumulate the most
    net = RelevancyScreeningNetwork(1, 3, 2, buffer_size=2, memory_size=3, random_state=0)
    net.Wa[...] = 0.0
    X = np.random.default_rng(0).normal(size=(1, 12, 1))
    _, steps = net._run(X)
    idx, mask, a, _, _ = steps[11]
    attended = sorted(idx[0][mask[0]].tolist())
    assert attended == [0, 1, 2, 9, 10]  # memory: the three oldest; buffer: the last two
    np.testing.assert_allclose(a[0][mask[0]], 1 / 5)
    assert [net.attended_states(t) for t in (0, 1, 3, 11, 500)] == [0, 1, 3, 5, 5]


def test_full_attention_sees_every_past_state():
    net = RelevancyScreeningNetwork(1, 3, 2, attention="full", random_state=0)
    _, steps = net._run(np.zeros((2, 7, 1)))
    assert steps[6][0].shape == (2, 6) and net.attended_states(6) == 6


def test_none_is_a_plain_rnn():
    X, y, _ = _sequences()
    clf = RelevancyScreeningRNNClassifier(4, attention="none", max_iter=1, random_state=0)
    clf.fit(X, y)
    net = clf.network_
    h = np.zeros((len(X), 4))
    for t in range(X.shape[1]):
        h = np.tanh(X[:, t] @ net.input.W + net.input.b + h @ net.W)
    np.testing.assert_allclose(net.hidden_states(X)[:, -1], h)


def test_attention_carries_gradient_across_long_lags():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 60, 2))
    y = (X[:, 0, 0] > 0).astype(int)
    norms = {}
    for attention in ("none", "relevancy"):
        clf = RelevancyScreeningRNNClassifier(8, attention=attention, buffer_size=3,
                                              memory_size=4, max_iter=1, random_state=0)
        norms[attention] = gradient_propagation(clf.fit(X, y), X, y)
    ratio = {k: v[0] / v[-1] for k, v in norms.items()}
    assert ratio["relevancy"] > 100 * ratio["none"]


def test_learns_to_remember_the_first_input():
    X, y, _ = _sequences(n=80, T=15, seed=1)
    clf = RelevancyScreeningRNNClassifier(8, buffer_size=2, memory_size=2, max_iter=40,
                                          learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9


def test_determinism_and_pickle():
    X, _, Y = _sequences()
    a = RelevancyScreeningRNNClassifier(4, max_iter=3, random_state=1).fit(X, Y)
    b = RelevancyScreeningRNNClassifier(4, max_iter=3, random_state=1).fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))
    assert a.predict(X).shape == Y.shape


def test_two_dimensional_input_with_n_timesteps():
    X, y, _ = _sequences()
    clf = RelevancyScreeningRNNClassifier(4, n_timesteps=9, max_iter=2, random_state=0)
    flat = clf.fit(X.reshape(len(X), -1), y).predict_proba(X.reshape(len(X), -1))
    np.testing.assert_array_equal(
        flat, RelevancyScreeningRNNClassifier(4, max_iter=2, random_state=0).fit(X, y)
        .predict_proba(X))


# -- bad input ---------------------------------------------------------------------------
def test_bad_parameters():
    X, y, _ = _sequences()
    with pytest.raises(ValueError, match="'attention' parameter"):
        RelevancyScreeningRNNClassifier(attention="sparse").fit(X, y)
    with pytest.raises(ValueError, match="'buffer_size' parameter"):
        RelevancyScreeningRNNClassifier(buffer_size=0).fit(X, y)


def test_bad_shapes():
    X, y, Y = _sequences()
    with pytest.raises(ValueError, match="not a multiple of n_timesteps=4"):
        RelevancyScreeningRNNClassifier(n_timesteps=4).fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match="y has 5 labels per sequence"):
        RelevancyScreeningRNNClassifier().fit(X, Y[:, :5])
    clf = RelevancyScreeningRNNClassifier(4, max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="fitted on sequences of 9 time steps"):
        clf.predict(X[:, :5])


def test_nan_input_and_unfitted():
    X, y, _ = _sequences()
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RelevancyScreeningRNNClassifier().fit(X, y)
    with pytest.raises(NotFittedError):
        RelevancyScreeningRNNClassifier().predict(X)


def test_gradient_propagation_bad_input():
    X, y, Y = _sequences()
    with pytest.raises(TypeError, match="state_gradients"):
        gradient_propagation(object(), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seq = RelevancyScreeningRNNClassifier(4, max_iter=1, random_state=0).fit(X, Y)
        last = RelevancyScreeningRNNClassifier(4, max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="steps must be a non-empty 1-D array of time steps"):
        gradient_propagation(seq, X, Y, steps=[20])
    with pytest.raises(ValueError, match="steps applies to per-step targets only"):
        gradient_propagation(last, X, y, steps=[1])
    with pytest.raises(NotFittedError):
        gradient_propagation(RelevancyScreeningRNNClassifier(), X, y)
