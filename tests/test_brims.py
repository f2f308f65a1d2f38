"""BRIMsClassifier: gradients with the module selection held fixed, competition, contract."""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from graphsig.models import BRIMsClassifier
from graphsig.models._brims import BRIMsNetwork
from graphsig.models._gradcheck import check_estimator_gradients, check_module_gradients

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _sequences(n=12, T=6, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, d))
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


@pytest.mark.parametrize("n_layers, n_modules, top_k", [(2, 4, 2), (1, 3, 1), (3, 3, 3),
                                                         (2, 1, 1)])
def test_network_gradients_with_the_selection_fixed(n_layers, n_modules, top_k):
    X, _ = _sequences(3, T=5, d=2)
    net = BRIMsNetwork(2, 3, n_layers=n_layers, n_modules=n_modules, n_hidden=3, top_k=top_k,
                       key_size=4, random_state=0)
    net.forward(X)
    # the finite differences must not cross a change of the active modules: hold the
    # selection of the unperturbed network fixed, and check it had clear margins anyway
    net.fixed_masks = net.masks_.copy()
    assert net.margins_.min() > 1e-3
    result = check_module_gradients(net, X, max_checks=150)
    assert result.params_error < 1e-6 and result.input_error < 1e-6


def test_free_selection_matches_the_fixed_one_under_the_checked_perturbations():
    X, _ = _sequences(3, T=5, d=2)
    net = BRIMsNetwork(2, 3, n_layers=2, n_modules=4, n_hidden=3, top_k=2, key_size=4,
                       random_state=0)
    net.forward(X)
    masks = net.masks_.copy()
    # the selection is recomputed at every evaluation; with margins far above the
    # perturbations (eps = 1e-6) it never changes
    assert net.margins_.min() > 1e-3
    result = check_module_gradients(net, X, max_checks=150)
    net.forward(X)
    np.testing.assert_array_equal(net.masks_, masks)
    assert result.params_error < 1e-6 and result.input_error < 1e-6


def test_estimator_gradients_with_penalty():
    X, y = _sequences()
    clf = BRIMsClassifier(n_modules=3, n_hidden=3, top_k=2, key_size=3, alpha=0.5,
                          max_iter=2, random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    clf.network_.forward(Xi)
    clf.network_.fixed_masks = clf.network_.masks_.copy()
    assert check_estimator_gradients(clf, Xi, yi, max_checks=100).params_error < 1e-6


def test_only_top_k_modules_update():
    X, y = _sequences()
    clf = BRIMsClassifier(n_modules=4, n_hidden=3, top_k=1, max_iter=1, random_state=0)
    clf.fit(X, y)
    active = clf.active_modules(X)
    assert active.shape == (6, 2, 12, 4)
    assert (active.sum(axis=-1) == 1).all()
    # an inactive module keeps its state from one step to the next
    net = clf.network_
    H, caches = net._run(X)
    for t in range(1, X.shape[1]):
        keep = ~active[t, 0]
        np.testing.assert_array_equal(H[0][t][keep], H[0][t - 1][keep])
    # with top_k = n_modules every module updates
    clf_all = BRIMsClassifier(n_modules=3, n_hidden=3, top_k=3, max_iter=1,
                              random_state=0).fit(X, y)
    assert clf_all.active_modules(X).all()


def test_zero_input_scores_like_the_null_input():
    # a zero input has a zero key, as the null input: the input attention is uniform
    net = BRIMsNetwork(2, 2, n_layers=1, n_modules=3, n_hidden=2, top_k=1, random_state=0)
    a = net._run(np.zeros((2, 3, 2)))[1][0][0][8]
    np.testing.assert_allclose(a, 0.5)


def test_learns_a_sequence_sum():
    X, y = _sequences(n=120, T=5, d=2, seed=1)
    clf = BRIMsClassifier(n_modules=3, n_hidden=4, top_k=2, key_size=4, max_iter=40,
                          batch_size=32, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.85


def test_determinism_and_pickle():
    X, y = _sequences()
    kw = dict(n_modules=3, n_hidden=3, max_iter=3, random_state=1)
    a = BRIMsClassifier(**kw).fit(X, y)
    b = BRIMsClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))
    np.testing.assert_array_equal(c.active_modules(X), a.active_modules(X))


def test_two_dimensional_input_with_n_timesteps():
    X, y = _sequences()
    kw = dict(n_modules=3, n_hidden=3, max_iter=2, random_state=0)
    flat = BRIMsClassifier(n_timesteps=6, **kw).fit(X.reshape(len(X), -1), y)
    np.testing.assert_array_equal(flat.predict_proba(X.reshape(len(X), -1)),
                                  BRIMsClassifier(**kw).fit(X, y).predict_proba(X))
    scalars = BRIMsClassifier(**kw).fit(X[:, :, 0], y)
    assert scalars.n_timesteps_ == 6 and scalars.network_.layers[0].Ku.shape[0] == 1


def test_float32_kept():
    X, y = _sequences()
    clf = BRIMsClassifier(n_modules=2, n_hidden=3, max_iter=1, random_state=0)
    clf.fit(X.astype(np.float32), y)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


# -- bad input ---------------------------------------------------------------------------
def test_bad_parameters():
    X, y = _sequences()
    with pytest.raises(ValueError, match="top_k=5 is larger than n_modules=4"):
        BRIMsClassifier(top_k=5).fit(X, y)
    with pytest.raises(ValueError, match="'n_modules' parameter"):
        BRIMsClassifier(n_modules=0).fit(X, y)
    with pytest.raises(ValueError, match="'n_layers' parameter"):
        BRIMsClassifier(n_layers=1.5).fit(X, y)
    with pytest.raises(ValueError, match="'top_k' parameter"):
        BRIMsClassifier(top_k=True).fit(X, y)
    with pytest.raises(ValueError, match="top_k=3 must be between 1 and n_modules=2"):
        BRIMsNetwork(2, 2, n_modules=2, top_k=3)


def test_bad_shapes():
    X, y = _sequences()
    with pytest.raises(ValueError, match="not a multiple of n_timesteps=4"):
        BRIMsClassifier(n_timesteps=4).fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match="sequences of 6 time steps but n_timesteps=4"):
        BRIMsClassifier(n_timesteps=4).fit(X, y)
    with pytest.raises(ValueError, match="must be 2-D or 3-D"):
        BRIMsClassifier().fit(X[..., None], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        BRIMsClassifier().fit(X, y[:-1])
    clf = BRIMsClassifier(n_modules=2, n_hidden=2, max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="fitted on sequences of 6 time steps"):
        clf.predict(X[:, :4])


def test_nan_input_single_class_and_unfitted():
    X, y = _sequences()
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BRIMsClassifier().fit(X, y)
    X, y = _sequences()
    with pytest.raises(ValueError, match="at least 2 classes"):
        BRIMsClassifier().fit(X, np.zeros(len(X), dtype=int))
    with pytest.raises(NotFittedError):
        BRIMsClassifier().predict(X)
    with pytest.raises(NotFittedError):
        BRIMsClassifier().active_modules(X)
