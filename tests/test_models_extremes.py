"""The estimators of graphsig.models on extreme inputs and hyperparameters.

For finite inputs of any magnitude (near the overflow threshold, subnormal) an
estimator gives a finite, correct result or a ValueError naming the problem:
never NaN or inf, never a hang. Numeric hyperparameters refuse booleans.
Checks that would hang on a regression run in a subprocess with a timeout.
"""

import json
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from graphsig.datasets import make_random_objects, make_relational_task
from graphsig.models import (
    CompositionalAttentionClassifier,
    CompositionalAttentionRegressor,
    CoRelNetClassifier,
    FisherPenaltyClassifier,
    GradientFlowClassifier,
    NonNormalRNNClassifier,
    SpectralDecouplingClassifier,
)

TIMEOUT = 180  # seconds; the fits below take well under one on the fixed code


def _run_isolated(code, timeout=TIMEOUT):
    """Run ``code`` in a fresh interpreter and return the JSON it prints last."""
    try:
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                                capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the fits did not return within {timeout} s")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- GradientFlowClassifier: the flow on features of large magnitude -------------------

_FLOW_FITS = """
import json, time, warnings
import numpy as np
from sklearn.datasets import make_classification
from graphsig.models import GradientFlowClassifier

X, y = make_classification(200, n_features=20, flip_y=0.3, random_state=0)
cases = {
    "scale_2^10": (2.0 ** 10, {}),
    "scale_1e20": (1e20, {}),
    "scale_2^200": (2.0 ** 200, {}),
    "scale_2^500": (2.0 ** 500, {}),
    "no_patience_1e20": (1e20, {"patience": None}),
    "fixed_time_1e20": (1e20, {"adaptation_time": 1.0}),
    "scale_1e300": (1e300, {}),
}
out = {}
for name, (scale, params) in cases.items():
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clf = GradientFlowClassifier(random_state=0, **params).fit(X * scale, y)
            res = {"T": clf.adaptation_time_, "coef": clf.coef_.tolist(),
                   "intercept": clf.intercept_.tolist(),
                   "proba": clf.predict_proba(X * scale).tolist(),
                   "score": clf.score(X * scale, y)}
        except Exception as exc:
            res = {"error": type(exc).__name__, "message": str(exc)}
    res["warnings"] = [[w.category.__name__, str(w.message)] for w in caught]
    res["seconds"] = time.perf_counter() - start
    res["scale"] = scale
    out[name] = res
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def flow_fits():
    return _run_isolated(_FLOW_FITS)


def _categories(fit):
    return [category for category, _ in fit["warnings"]]


def test_gradient_flow_on_features_of_1e20_returns_the_scaled_solution(flow_fits):
    fit, ref = flow_fits["scale_1e20"], flow_fits["scale_2^10"]
    assert "error" not in fit, fit.get("message")
    assert fit["seconds"] < 30
    assert "ConvergenceWarning" not in _categories(fit)
    # the flow on c X is the flow on X with time / c^2 and weights / c, up to the
    # intercept, which does not move on that time scale
    assert fit["T"] * 1e40 == pytest.approx(ref["T"] * 4.0 ** 10, rel=1e-4)
    np.testing.assert_allclose(np.asarray(fit["coef"]) * 1e20,
                               np.asarray(ref["coef"]) * 2.0 ** 10, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit["proba"], ref["proba"], atol=1e-5)
    assert fit["score"] == ref["score"] > 0.7


@pytest.mark.parametrize("k", [200, 500])
def test_gradient_flow_is_equivariant_up_to_features_of_1e150(flow_fits, k):
    fit, ref = flow_fits[f"scale_2^{k}"], flow_fits["scale_2^10"]
    assert "error" not in fit, fit.get("message")
    assert fit["T"] * 4.0 ** k == pytest.approx(ref["T"] * 4.0 ** 10, rel=1e-4)
    np.testing.assert_allclose(fit["proba"], ref["proba"], atol=1e-5)
    assert np.all(np.isfinite(fit["coef"]))


def test_gradient_flow_stiff_tail_stops_with_convergence_warning(flow_fits):
    # without patience the search follows the (stiff) flow up to max_time: the
    # evaluation budget stops it, and the best time found so far is kept
    fit, ref = flow_fits["no_patience_1e20"], flow_fits["scale_1e20"]
    assert "error" not in fit, fit.get("message")
    assert "ConvergenceWarning" in _categories(fit)
    assert any("max_fun=20000" in message for _, message in fit["warnings"])
    assert fit["T"] == pytest.approx(ref["T"], rel=1e-4)
    assert np.all(np.isfinite(fit["proba"])) and fit["score"] > 0.7


def test_gradient_flow_fixed_time_out_of_reach_stops_where_it_is(flow_fits):
    fit = flow_fits["fixed_time_1e20"]
    assert "error" not in fit, fit.get("message")
    assert "ConvergenceWarning" in _categories(fit)
    assert 0 < fit["T"] < 1.0  # the time reached, not the one requested
    assert np.all(np.isfinite(fit["coef"])) and np.all(np.isfinite(fit["proba"]))
    np.testing.assert_allclose(np.sum(fit["proba"], axis=1), 1.0)


def test_gradient_flow_refuses_features_beyond_the_range_of_its_time_scale(flow_fits):
    fit = flow_fits["scale_1e300"]
    assert fit.get("error") == "ValueError"
    assert "too large for the gradient flow" in fit["message"]
    assert "StandardScaler" in fit["message"]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_gradient_flow_max_fun_bounds_the_search(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="max_fun=40 gradient evaluations"):
        clf = GradientFlowClassifier(max_fun=40, random_state=0).fit(X, y)
    assert np.all(np.isfinite(clf.coef_)) and 0 < clf.adaptation_time_
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_gradient_flow_max_fun_bounds_a_fixed_time(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="not at adaptation_time=50"):
        clf = GradientFlowClassifier(adaptation_time=50.0, max_fun=40).fit(X, y)
    assert 0 < clf.adaptation_time_ < 50.0
    # the weights are those of the flow at the time reached
    exact = GradientFlowClassifier(adaptation_time=clf.adaptation_time_).fit(X, y)
    np.testing.assert_allclose(clf.coef_, exact.coef_, rtol=1e-3, atol=1e-5)


def test_gradient_flow_on_subnormal_features(iris):
    X, y = iris
    clf = GradientFlowClassifier(random_state=0).fit(X * 1e-310, y)
    proba = clf.predict_proba(X * 1e-310)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(proba))
    # features this small carry no signal within max_time: the class priors
    np.testing.assert_allclose(proba, 1 / 3, atol=1e-6)


def test_gradient_flow_prediction_overflow_is_a_value_error(iris):
    X, y = iris
    clf = GradientFlowClassifier(adaptation_time=5.0).fit(X, y)
    # finite features whose contributions to the first logit add up beyond the float max
    X_huge = np.sign(clf.coef_[:1]) * 1.5e308
    assert np.abs(clf.coef_[0]).sum() > 1.2
    for method in (clf.predict_proba, clf.predict_log_proba, clf.decision_function,
                   clf.predict):
        with pytest.raises(ValueError, match="logits on X overflowed"):
            method(X_huge)
    # large but representable logits are fine
    assert np.all(np.isfinite(clf.predict_proba(X * 1e300)))


# -- numeric hyperparameters refuse booleans ---------------------------------------------

def _flow():
    return GradientFlowClassifier()


def _sd():
    return SpectralDecouplingClassifier((4,), max_iter=2)


def _fisher():
    return FisherPenaltyClassifier((4,), max_iter=2)


def _rnn():
    return NonNormalRNNClassifier(3, max_iter=2)


def _attention():
    return CompositionalAttentionRegressor(n_searches=2, n_retrievals=2, d_model=4,
                                           head_hidden_layer_sizes=(4,), max_iter=2)


def _corelnet():
    return CoRelNetClassifier(encoder_layer_sizes=(4,), head_hidden_layer_sizes=(4,),
                              max_iter=2)


_BOOL_CASES = [
    (_flow, "max_time", True), (_flow, "tol", True), (_flow, "max_fun", True),
    (_flow, "patience", True), (_flow, "adaptation_time", True),
    (_flow, "validation_fraction", True),
    (_sd, "max_iter", True), (_sd, "batch_size", True), (_sd, "n_iter_no_change", True),
    (_sd, "alpha", False), (_sd, "learning_rate_init", True), (_sd, "momentum", True),
    (_sd, "tol", False), (_sd, "penalty_start", True), (_sd, "sd_lambda", True),
    (_sd, "sd_gamma", True), (_sd, "max_grad_norm", True),
    (_fisher, "fisher_penalty", True), (_fisher, "penalty_interval", True),
    (_fisher, "fisher_trace_samples", True),
    (_rnn, "n_hidden", True), (_rnn, "n_timesteps", True), (_rnn, "scale_penalty", False),
    (_attention, "d_model", True), (_attention, "n_searches", True),
    (_corelnet, "n_objects", True),
]


@pytest.mark.parametrize("make, name, value", _BOOL_CASES,
                         ids=[f"{m.__name__[1:]}-{n}" for m, n, _ in _BOOL_CASES])
def test_numeric_hyperparameters_refuse_booleans(make, name, value):
    X, y = make_classification(40, n_features=6, random_state=0)
    est = make().set_params(**{name: value})
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        est.fit(X, y)


@pytest.mark.parametrize("init", [(True, 0.0), (1.0, False), (np.inf, 0.0), (1.0,)])
@pytest.mark.parametrize("make", [_sd, _rnn])
def test_adaptive_init_refuses_booleans_and_infinity(make, init):
    X, y = make_classification(40, n_features=6, random_state=0)
    est = make().set_params(activation="adaptive", adaptive_init=init)
    with pytest.raises(ValueError, match="adaptive_init must be a pair"):
        est.fit(X, y)


def test_sd_gamma_refuses_a_boolean_array():
    X, y = make_classification(40, n_features=6, random_state=0)
    with pytest.raises(ValueError, match="sd_gamma must be a float or an array"):
        _sd().set_params(sd_gamma=np.array([True, False])).fit(X, y)


# -- neural estimators on inputs near the overflow threshold -----------------------------

def _set_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5, 3))
    return X, (X[:, :, 0].max(axis=1) > 1).astype(int)


def _sequence_data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6, 2))
    return X, (X[:, 0, 0] > 0).astype(int)


def _tabular_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] > 0).astype(int)


def _relational_data():
    objects = make_random_objects(20, 6, random_state=0)
    X, y = make_relational_task("same_different", 80, objects, random_state=0)
    return np.asarray(X, dtype=np.float64), y


SMALL_ATTENTION = dict(n_searches=2, n_retrievals=2, d_model=8, head_hidden_layer_sizes=(8,))

_ESTIMATORS = {
    "spectral_decoupling": (lambda: SpectralDecouplingClassifier((6,), max_iter=3,
                                                                 random_state=0),
                            _tabular_data),
    "fisher": (lambda: FisherPenaltyClassifier((6,), max_iter=3, random_state=0),
               _tabular_data),
    "fisher_raw": (lambda: FisherPenaltyClassifier((6,), standardize=False, max_iter=3,
                                                   random_state=0), _tabular_data),
    "fisher_fd": (lambda: FisherPenaltyClassifier((6,), hvp="finite_difference",
                                                  standardize=False, max_iter=3,
                                                  random_state=0), _tabular_data),
    "rnn": (lambda: NonNormalRNNClassifier(4, max_iter=3, random_state=0), _sequence_data),
    "attention_regressor": (lambda: CompositionalAttentionRegressor(
        max_iter=2, random_state=0, **SMALL_ATTENTION), _set_data),
    "attention_classifier": (lambda: CompositionalAttentionClassifier(
        max_iter=2, random_state=0, **SMALL_ATTENTION), _set_data),
    "corelnet": (lambda: CoRelNetClassifier(encoder_layer_sizes=(12,),
                                            head_hidden_layer_sizes=(8,), max_iter=2,
                                            random_state=0), _relational_data),
}

# the networks whose initial loss overflows on inputs of 1e300
_OVERFLOWING_FITS = ["spectral_decoupling", "fisher_raw", "fisher_fd", "rnn",
                     "attention_regressor", "attention_classifier"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", "batch_size=", UserWarning)
        yield


@pytest.mark.parametrize("name", _OVERFLOWING_FITS)
def test_fit_on_overflowing_inputs_names_the_inputs(name):
    make, data = _ESTIMATORS[name]
    X, y = data()
    with pytest.raises(ValueError, match=r"initial network is not finite .* largest \|X\| "
                                         r"is [\d.]+e\+300.*standardise"):
        make().fit(X * 1e300, y)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_fisher_standardises_inputs_of_any_magnitude(scale):
    # the Fisher penalty is measured in standardised units: rescaling the
    # inputs, even to the edge of the floating-point range, changes nothing
    X, y = _tabular_data()
    ref = FisherPenaltyClassifier((6,), max_iter=3, random_state=0).fit(X, y)
    est = FisherPenaltyClassifier((6,), max_iter=3, random_state=0).fit(X * scale, y)
    np.testing.assert_allclose(est.feature_scale_, ref.feature_scale_ * scale, rtol=1e-10)
    np.testing.assert_allclose(est.predict_proba(X * scale), ref.predict_proba(X), rtol=1e-6,
                               atol=1e-9)


_PREDICTIONS = ["predict", "predict_proba", "predict_log_proba", "decision_function"]


@pytest.mark.parametrize("scale", [1e300, 1e150, 1e-310])
@pytest.mark.parametrize("name", sorted(_ESTIMATORS))
def test_predictions_are_finite_or_a_value_error(name, scale):
    make, data = _ESTIMATORS[name]
    X, y = data()
    est = make().fit(X, y)
    Xs = X * scale
    for method in _PREDICTIONS:
        if not hasattr(est, method):
            continue
        try:
            out = getattr(est, method)(Xs)
        except ValueError as exc:
            assert "overflowed" in str(exc) and "|X|" in str(exc)
            continue
        out = np.asarray(out)
        if out.dtype.kind == "f":
            assert np.all(np.isfinite(out)), method


def test_attention_predictions_on_huge_inputs_raise():
    X, y = _set_data()
    reg = _ESTIMATORS["attention_regressor"][0]().fit(X, y.astype(float))
    with pytest.raises(ValueError, match="the network output on X overflowed"):
        reg.predict(X * 1e300)
    clf = _ESTIMATORS["attention_classifier"][0]().fit(X, y)
    with pytest.raises(ValueError, match="the network output on X overflowed"):
        clf.predict_proba(X * 1e300)
    with pytest.raises(ValueError, match="the attention weights on X overflowed"):
        clf.attention_weights(X * 1e300)


# -- finite-difference Hessian-vector products of extreme vectors ----------------------

@pytest.mark.parametrize("scale", [2.0 ** -1040, 1e-300, 1e200, 1e300])
def test_finite_difference_hvp_is_linear_at_any_magnitude(scale):
    X, y = _tabular_data()
    clf = FisherPenaltyClassifier((6,), hvp="finite_difference", max_iter=2,
                                  random_state=0).fit(X, y)
    Xi, yi = clf._prepare_data(X, y)
    labels = clf._sample_labels(Xi)
    v = np.random.default_rng(0).normal(size=clf.network_.n_params)
    v_scaled = v * scale
    reference = clf._hessian_vector_product(Xi, labels, v, None)
    hv = clf._hessian_vector_product(Xi, labels, v_scaled, None)
    assert np.all(np.isfinite(hv))
    # H (c v) = c H v, to the precision of c v (subnormal for the smallest c)
    np.testing.assert_allclose(hv / scale, reference, rtol=1e-6,
                               atol=1e-9 * np.abs(reference).max())


# -- a sequence that contains itself -----------------------------------------------------

def test_rnn_input_that_contains_itself_is_refused_without_hanging():
    X = []
    X.append(X)
    outcome = {}

    def fit():
        try:
            NonNormalRNNClassifier(3, max_iter=1).fit(X, [0])
        except Exception as exc:  # noqa: BLE001 - any clear error will do
            outcome["error"] = exc

    worker = threading.Thread(target=fit, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "fit did not return on a list that contains itself"
    assert isinstance(outcome.get("error"), (ValueError, TypeError))


def test_divergence_with_early_stopping_is_not_blamed_on_the_inputs():
    # parameters that overflow during an epoch reach the validation pass first
    X, y = _tabular_data(200)
    clf = SpectralDecouplingClassifier((8,), solver="sgd", learning_rate_init=1e300,
                                       momentum=0.0, batch_size=200, early_stopping=True,
                                       max_iter=5, random_state=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        clf.fit(X, y)
