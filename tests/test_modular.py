"""RecurrentPrimitivesClassifier and the neuroscience tasks: frozen modules, contract, bad input."""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from graphsig.datasets import NEUROSCIENCE_TASKS, make_neuroscience_task
from graphsig.models import RecurrentPrimitivesClassifier
from graphsig.models._gradcheck import check_estimator_gradients, check_module_gradients
from graphsig.models._modular import PrimitiveRecurrentNetwork

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("output", ["last", "sequence"])
def test_network_gradients(frozen, output):
    X = np.random.default_rng(0).normal(size=(3, 7, 2))
    recurrent = np.random.default_rng(1).normal(size=(4, 4)) * 0.5 if frozen else 4
    net = PrimitiveRecurrentNetwork(2, 3, recurrent, output=output, random_state=0)
    net.unit_mask[1] = 0.0
    result = check_module_gradients(net, X)
    assert result.params_error < 1e-6 and result.input_error < 1e-6


def _module(task="delay", n_hidden=4, seed=0, max_iter=3):
    X, y = make_neuroscience_task(task, 30, random_state=seed)
    return RecurrentPrimitivesClassifier(n_hidden, max_iter=max_iter, random_state=seed).fit(X, y)


def test_modules_stay_frozen_and_only_the_maps_learn():
    modules = [_module("delay", 3), _module("go_nogo", 4, seed=1)]
    X, y = make_neuroscience_task("anti_delay", 30, random_state=2)
    clf = RecurrentPrimitivesClassifier(primitives=modules, max_iter=5, random_state=0)
    clf.fit(X, y)
    expected = np.zeros((7, 7))
    expected[:3, :3] = modules[0].recurrent_matrix_
    expected[3:, 3:] = modules[1].recurrent_matrix_
    np.testing.assert_array_equal(clf.recurrent_matrix_, expected)
    # input map 4 x 7 + 7, read-out 7 x 2 + 2
    assert clf.n_trainable_params_ == 4 * 7 + 7 + 7 * 2 + 2
    full = RecurrentPrimitivesClassifier(7, max_iter=1, random_state=0).fit(X, y)
    assert full.n_trainable_params_ == clf.n_trainable_params_ + 49
    Xi, yi = clf._prepare_data(X, y)
    assert check_estimator_gradients(clf, Xi, yi).params_error < 1e-6


def test_recurrent_matrices_are_accepted_as_primitives():
    X, y = make_neuroscience_task("delay", 20, random_state=0)
    W = 0.5 * np.eye(3)
    clf = RecurrentPrimitivesClassifier(primitives=[W, W], max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.recurrent_matrix_, 0.5 * np.eye(6))


def test_frozen_modules_solve_a_related_task():
    X, y = make_neuroscience_task("delay", 200, random_state=0)
    module = RecurrentPrimitivesClassifier(8, max_iter=40, learning_rate_init=0.01,
                                           batch_size=50, random_state=0).fit(X, y)
    X2, y2 = make_neuroscience_task("anti_delay", 200, random_state=1)
    new = RecurrentPrimitivesClassifier(primitives=[module], max_iter=40,
                                        learning_rate_init=0.01, batch_size=50,
                                        random_state=0).fit(X2, y2)
    X3, y3 = make_neuroscience_task("anti_delay", 200, random_state=2)
    assert new.score(X3, y3) > 0.9


def test_ablation_silences_units():
    clf = _module(max_iter=5)
    X, y = make_neuroscience_task("delay", 30, random_state=5)
    assert clf.score_ablated(X, y, []) == clf.score(X, y)
    silenced = clf.score_ablated(X, y, np.arange(4))  # no unit left: a constant prediction
    assert silenced == max(np.mean(y), 1 - np.mean(y)) or silenced == min(np.mean(y),
                                                                          1 - np.mean(y))
    np.testing.assert_array_equal(clf.network_.unit_mask, 1.0)
    with pytest.raises(ValueError, match="units must be a 1-D array of unit indices"):
        clf.score_ablated(X, y, [7])


def test_determinism_and_pickle():
    modules = [_module()]
    X, y = make_neuroscience_task("anti_delay", 30, random_state=2)
    a = RecurrentPrimitivesClassifier(primitives=modules, max_iter=3, random_state=1).fit(X, y)
    b = RecurrentPrimitivesClassifier(primitives=modules, max_iter=3, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))


@pytest.mark.parametrize("task", sorted(NEUROSCIENCE_TASKS))
def test_tasks_are_balanced_and_noise_free_when_asked(task):
    X, y = make_neuroscience_task(task, 400, noise=0.0, random_state=0)
    assert X.shape == (400, 40, 4) and set(np.unique(y)) == {0, 1}
    assert 0.35 < y.mean() < 0.65
    np.testing.assert_array_equal(X[:, -5:, 3], 1.0)
    np.testing.assert_array_equal(X[:, :-5, 0], 1.0)


# -- bad input ---------------------------------------------------------------------------
def test_bad_primitives():
    X, y = make_neuroscience_task("delay", 20, random_state=0)
    with pytest.raises(ValueError, match="at least one module"):
        RecurrentPrimitivesClassifier(primitives=[]).fit(X, y)
    with pytest.raises(ValueError, match=r"primitives\[0\] must be a fitted"):
        RecurrentPrimitivesClassifier(primitives=[np.ones((2, 3))]).fit(X, y)
    with pytest.raises(ValueError, match=r"primitives\[1\] contains NaN"):
        RecurrentPrimitivesClassifier(primitives=[np.eye(2), np.full((2, 2), np.nan)]).fit(X, y)
    with pytest.raises(NotFittedError):
        RecurrentPrimitivesClassifier(primitives=[RecurrentPrimitivesClassifier()]).fit(X, y)
    with pytest.raises(ValueError, match="'primitives' parameter"):
        RecurrentPrimitivesClassifier(primitives="delay").fit(X, y)


@pytest.mark.parametrize("kwargs, match", [
    (dict(task="stroop"), "unknown task 'stroop'"),
    (dict(task="delay", n_timesteps=20), "n_timesteps must be an integer >= 30"),
    (dict(task="delay", n_samples=0), "n_samples must be an integer >= 1"),
    (dict(task="delay", noise=-1.0), "noise must be a finite number >= 0"),
])
def test_bad_task_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_neuroscience_task(**kwargs)
