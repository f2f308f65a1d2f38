"""GradientFlowClassifier: the ODE against gradient descent, the fitted time against a grid."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from graphsig.models import GradientFlowClassifier
from graphsig.models._gradient_flow import _SoftmaxHead


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_flow_matches_small_step_gradient_descent(iris):
    X, y = iris
    T = 3.0
    clf = GradientFlowClassifier(adaptation_time=T, method="DOP853", tol=1e-10).fit(X, y)
    head = _SoftmaxHead(X, y, 3, True)
    w = np.zeros(head.shape[0] * head.shape[1])
    lr = 1e-3
    for _ in range(int(T / lr)):
        w -= lr * head.gradient(w)
    W = w.reshape(head.shape)
    # explicit Euler is first order: the gap is O(lr)
    np.testing.assert_allclose(clf.coef_, W[:4].T, atol=5e-3)
    np.testing.assert_allclose(clf.intercept_, W[4], atol=5e-3)


def test_query_loss_slope_formula(iris):
    X, y = iris
    train = _SoftmaxHead(X[::2], y[::2], 3, True)
    query = _SoftmaxHead(X[1::2], y[1::2], 3, True)
    w = np.random.default_rng(0).normal(size=train.shape[0] * 3)
    h = 1e-6
    # along the flow dw/dt = -grad L_train
    numeric = (query.loss(w - h * train.gradient(w)) - query.loss(w + h * train.gradient(w))) \
        / (2 * h)
    assert numeric == pytest.approx(-train.gradient(w) @ query.gradient(w), rel=1e-6)


def _overfitting_problem(seed=1):
    # few samples, many irrelevant features, noisy labels: the query loss has an
    # interior minimum along the flow
    rng = np.random.default_rng(seed)
    Xn = rng.normal(size=(80, 30))
    y = (Xn[:, 0] + 0.8 * rng.normal(size=80) > 0).astype(int)
    return Xn, y


def test_fitted_time_minimises_the_query_loss():
    Xn, y = _overfitting_problem()
    clf = GradientFlowClassifier(max_time=500.0, refit=False, random_state=0).fit(Xn, y)
    times, losses = clf.time_grid_, clf.query_loss_curve_
    assert clf.query_loss_ == pytest.approx(losses.min())
    assert 0 < clf.adaptation_time_ < 500.0
    # a dense independent evaluation of the trajectory agrees
    dense = GradientFlowClassifier(max_time=500.0, refit=False, random_state=0)
    dense.set_params(method="DOP853", tol=1e-9).fit(Xn, y)
    assert dense.adaptation_time_ == pytest.approx(clf.adaptation_time_, rel=1e-3)
    assert np.all(np.diff(times) >= 0)


def test_patience_stops_early_without_changing_the_time():
    Xn, y = _overfitting_problem()
    full = GradientFlowClassifier(max_time=1000.0, patience=None, random_state=0).fit(Xn, y)
    early = GradientFlowClassifier(max_time=1000.0, patience=10.0, random_state=0).fit(Xn, y)
    assert early.adaptation_time_ == pytest.approx(full.adaptation_time_)
    assert full.time_grid_[-1] == 1000.0
    assert early.time_grid_[-1] < 20 * early.adaptation_time_


def test_fixed_time_uses_all_data_and_refit(iris):
    X, y = iris
    auto = GradientFlowClassifier(max_time=50.0, random_state=0).fit(X, y)
    fixed = GradientFlowClassifier(adaptation_time=auto.adaptation_time_).fit(X, y)
    np.testing.assert_allclose(auto.coef_, fixed.coef_, rtol=1e-5, atol=1e-8)
    assert fixed.query_loss_ is None
    longer = GradientFlowClassifier(adaptation_time=10 * auto.adaptation_time_).fit(X, y)
    assert np.linalg.norm(longer.coef_) > np.linalg.norm(fixed.coef_)


def test_probabilities(iris):
    X, y = iris
    clf = GradientFlowClassifier(adaptation_time=50.0).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), atol=1e-12)
    assert clf.score(X, y) > 0.9


def test_warns_when_the_time_reaches_max_time(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="larger max_time"):
        GradientFlowClassifier(max_time=0.01, random_state=0).fit(X, y)


def test_determinism_and_pickle(iris):
    X, y = iris
    a = GradientFlowClassifier(max_time=20.0, random_state=0).fit(X, y)
    b = GradientFlowClassifier(max_time=20.0, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))


@pytest.mark.parametrize("params, match", [
    (dict(adaptation_time=0.0), "adaptation_time"),
    (dict(adaptation_time=-2.0), "adaptation_time"),
    (dict(max_time=0.0), "max_time"),
])
def test_non_positive_time(iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        GradientFlowClassifier(**params).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(iris, bad):
    X, y = iris
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        GradientFlowClassifier().fit(X, y)


def test_single_class(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="at least 2 classes"):
        GradientFlowClassifier().fit(X, np.zeros(len(X)))


def test_predict_before_fit(iris):
    with pytest.raises(NotFittedError):
        GradientFlowClassifier().predict(iris[0])




# -- few-shot: the adaptation time fitted across tasks ------------------------------

def _episodes(n, seed, shots=5, n_query=20):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        centres = rng.normal(size=(3, 6))
        y_s = np.repeat(np.arange(3), shots)
        y_q = np.repeat(np.arange(3), n_query)
        X_s = centres[y_s] + 1.5 * rng.normal(size=(len(y_s), 6))
        X_q = centres[y_q] + 1.5 * rng.normal(size=(len(y_q), 6))
        out.append((X_s, y_s, X_q, y_q))
    return out


def test_meta_fit_adaptation_time_minimises_the_mean_query_loss():
    from graphsig.models import meta_fit_adaptation_time

    episodes = _episodes(8, 0)
    result = meta_fit_adaptation_time(episodes, max_time=100.0, n_times=9)
    assert result.query_loss.shape == (8, 9)
    np.testing.assert_allclose(result.mean_query_loss, result.query_loss.mean(axis=0))
    assert result.adaptation_time == result.times[np.argmin(result.mean_query_loss)]
    # the loss at each time is the query loss of the head trained for that time
    X_s, y_s, X_q, y_q = episodes[3]
    clf = GradientFlowClassifier(adaptation_time=result.times[4]).fit(X_s, y_s)
    loss = -np.mean(np.log(clf.predict_proba(X_q)[np.arange(len(y_q)), y_q]))
    np.testing.assert_allclose(result.query_loss[3, 4], loss, rtol=1e-4)


def test_meta_fitted_time_beats_extreme_fixed_times_on_query_loss():
    from graphsig.models import meta_fit_adaptation_time

    T = meta_fit_adaptation_time(_episodes(10, 1), max_time=1000.0, n_times=13).adaptation_time
    losses = {}
    for name, t in (("meta", T), ("short", 0.1), ("long", 1000.0)):
        per = []
        for X_s, y_s, X_q, y_q in _episodes(10, 2):
            p = GradientFlowClassifier(adaptation_time=t).fit(X_s, y_s).predict_proba(X_q)
            per.append(-np.mean(np.log(p[np.arange(len(y_q)), y_q])))
        losses[name] = np.mean(per)
    assert losses["meta"] < losses["short"] and losses["meta"] < losses["long"]


def test_auto_on_a_few_shot_task_warns_and_points_to_meta_fit():
    X_s, y_s, _, _ = _episodes(1, 0)[0]
    with pytest.warns(UserWarning, match="meta_fit_adaptation_time"):
        GradientFlowClassifier(random_state=0, max_time=10.0).fit(X_s, y_s)


def test_meta_fit_errors():
    from graphsig.models import meta_fit_adaptation_time

    X_s, y_s, X_q, y_q = _episodes(1, 0)[0]
    with pytest.raises(ValueError, match="empty"):
        meta_fit_adaptation_time([])
    with pytest.raises(ValueError, match="tuple"):
        meta_fit_adaptation_time([(X_s, y_s)])
    with pytest.raises(ValueError, match="not among the support labels"):
        meta_fit_adaptation_time([(X_s, y_s, X_q, y_q + 5)])
    with pytest.raises(ValueError, match="max_time"):
        meta_fit_adaptation_time([(X_s, y_s, X_q, y_q)], max_time=-1.0)
    with pytest.raises(ValueError, match="n_times"):
        meta_fit_adaptation_time([(X_s, y_s, X_q, y_q)], n_times=1)
    with pytest.raises(ValueError, match="features"):
        meta_fit_adaptation_time([(X_s, y_s, X_q[:, :3], y_q)])
