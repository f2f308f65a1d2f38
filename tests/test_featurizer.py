"""Tests of GraphSignalFeaturizer: graph signals in front of any estimator."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from graphsig.emd import DiffusionEMD, GraphSignalFeaturizer, UnbalancedDiffusionEMD
from graphsig.graphs import grid_graph, path_graph


class PathGraphs:
    """``path_graph`` as a factory with a stable repr (see test_emd_estimator_checks)."""

    def __call__(self, n_nodes):
        return path_graph(n_nodes)

    def __repr__(self):
        return "path_graph"


@pytest.fixture(autouse=True)
def one_numba_thread():
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def _signals(n=30, n_nodes=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, n_nodes)) + 0.01


# the balanced EMD refuses zero-mass rows, which some checks generate (see
# test_emd_estimator_checks.py for the same list and reasons)
_ZERO_MASS = "zero-mass signals: the check's data have an all-zero row"
_BALANCED_FAILURES = {
    "check_estimators_dtypes": _ZERO_MASS,
    "check_estimator_sparse_tag": _ZERO_MASS,
    "check_estimator_sparse_array": _ZERO_MASS,
    "check_estimator_sparse_matrix": _ZERO_MASS,
}


def _expected_failures(est):
    return _BALANCED_FAILURES if not isinstance(est.graph, UnbalancedDiffusionEMD) else {}


@parametrize_with_checks(
    [GraphSignalFeaturizer(PathGraphs()),
     GraphSignalFeaturizer(UnbalancedDiffusionEMD(PathGraphs()), scaling="feature")],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_global_scaling_gives_unit_mean_variance_and_keeps_emd_ratios():
    X = _signals()
    raw = DiffusionEMD(path_graph(12)).fit(X).transform(X)
    feat = GraphSignalFeaturizer(path_graph(12)).fit(X)
    F = feat.transform(X)
    assert F.shape == raw.shape
    np.testing.assert_allclose(F.var(axis=0).mean(), 1.0, rtol=1e-10)
    np.testing.assert_allclose(F.mean(axis=0), 0.0, atol=1e-10)
    # L1 distances are the embedding's, divided by one number
    d_raw = np.abs(raw[0] - raw[1:]).sum(axis=1)
    d_new = np.abs(F[0] - F[1:]).sum(axis=1)
    np.testing.assert_allclose(d_new / d_raw, d_new[0] / d_raw[0], rtol=1e-8)
    assert np.unique(feat.scale_).size == 1


def test_feature_scaling_standardises_each_column():
    X = _signals()
    F = GraphSignalFeaturizer(path_graph(12), scaling="feature").fit_transform(X)
    std = F.std(axis=0)
    varying = std > 1e-12
    np.testing.assert_allclose(std[varying], 1.0, rtol=1e-8)


def test_scaling_none_is_the_raw_embedding():
    X = _signals()
    raw = DiffusionEMD(path_graph(12)).fit(X).transform(X)
    F = GraphSignalFeaturizer(path_graph(12), scaling="none").fit_transform(X)
    np.testing.assert_allclose(F, raw)


def test_three_d_input_is_embedded_per_object():
    X = _signals(24)
    feat = GraphSignalFeaturizer(path_graph(12)).fit(X)
    sets = X.reshape(8, 3, 12)
    out = feat.transform(sets)
    assert out.shape == (8, 3, feat.n_embedding_features_)
    np.testing.assert_allclose(out.reshape(24, -1), feat.transform(X))
    flat = clone(feat).set_params(flatten=True).fit(sets).transform(sets)
    assert flat.shape == (8, 3 * feat.n_embedding_features_)
    np.testing.assert_allclose(flat.reshape(24, -1), out.reshape(24, -1), rtol=1e-10)


def test_repeated_signals_are_embedded_once_with_the_same_result():
    X = _signals(6)
    repeated = X[[0, 1, 0, 2, 1, 0, 3, 4, 5, 5]]
    feat = GraphSignalFeaturizer(path_graph(12)).fit(X)
    np.testing.assert_allclose(feat.transform(repeated), feat.transform(X)[[0, 1, 0, 2, 1, 0,
                                                                            3, 4, 5, 5]])


def test_float32_stays_float32():
    X = _signals().astype(np.float32)
    F = GraphSignalFeaturizer(path_graph(12)).fit_transform(X)
    assert F.dtype == np.float32


def test_configured_embedding_is_cloned_not_fitted_in_place():
    emb = DiffusionEMD(path_graph(12), max_scale=2)
    feat = GraphSignalFeaturizer(emb).fit(_signals())
    assert not hasattr(emb, "times_")
    assert feat.embedding_.max_scale_ <= 2


def test_embedding_params_are_passed():
    feat = GraphSignalFeaturizer(path_graph(12), embedding_params={"max_scale": 1}).fit(
        _signals())
    assert feat.embedding_.max_scale_ <= 1


def test_clone_shares_the_graph_and_pickle_round_trip():
    graph = path_graph(12)
    feat = GraphSignalFeaturizer(graph)
    assert clone(feat).graph is graph
    X = _signals()
    feat.fit(X)
    again = pickle.loads(pickle.dumps(feat))
    np.testing.assert_array_equal(again.transform(X), feat.transform(X))


def test_digits_classifier_needs_the_scaling():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:600], y[300:600]
    feat = GraphSignalFeaturizer(grid_graph(8, 8)).fit(X_train)
    features = {
        "global": (feat.transform(X_train), feat.transform(X_test)),
        "none": (feat.embedding_.transform(X_train), feat.embedding_.transform(X_test)),
    }
    scores = {name: LogisticRegression(max_iter=300).fit(a, y_train).score(b, y_test)
              for name, (a, b) in features.items()}
    assert scores["global"] > 0.8
    assert scores["none"] < 0.5


@pytest.mark.parametrize("name", [
    "SpectralDecouplingClassifier", "FisherPenaltyClassifier", "GradientFlowClassifier",
    "CoRelNetClassifier", "CompositionalAttentionClassifier", "NonNormalRNNClassifier",
])
def test_every_classifier_takes_graph_features_in_a_pipeline(name):
    import graphsig.models as models

    rng = np.random.default_rng(0)
    n_nodes = 10
    # two bumps on a path: class = where the mass sits (left or right end)
    y = rng.integers(0, 2, 40)
    centres = np.where(y == 1, 7.5, 1.5)[:, None]
    X = np.exp(-((np.arange(n_nodes)[None] - centres) ** 2)) + 0.01 * rng.random((40, n_nodes))
    if name in ("CoRelNetClassifier", "CompositionalAttentionClassifier",
                "NonNormalRNNClassifier"):
        # sets / sequences of three signals, labelled by the first one
        X = np.stack([X, X[::-1], X[rng.permutation(40)]], axis=1)
    params = {"random_state": 0}
    if name != "GradientFlowClassifier":
        params["max_iter"] = 5
    model = make_pipeline(GraphSignalFeaturizer(path_graph(n_nodes)),
                          getattr(models, name)(**params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    pred = model.predict(X)
    assert pred.shape == (40,)
    assert set(np.unique(pred)) <= {0, 1}


def test_regressor_takes_graph_features_per_token():
    from graphsig.models import CompositionalAttentionRegressor

    rng = np.random.default_rng(0)
    X = rng.random((20, 4, 10)) + 0.01
    y = X[:, 0, :5].sum(axis=1)
    model = make_pipeline(GraphSignalFeaturizer(path_graph(10)),
                          CompositionalAttentionRegressor(max_iter=3, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert np.all(np.isfinite(model.predict(X)))


# -- bad input -------------------------------------------------------------------

def test_error_no_graph():
    with pytest.raises(ValueError, match="needs a graph"):
        GraphSignalFeaturizer().fit(_signals())


def test_error_negative_signals():
    X = _signals()
    X[0, 0] = -1.0
    with pytest.raises(ValueError, match="negative"):
        GraphSignalFeaturizer(path_graph(12)).fit(X)


def test_error_wrong_number_of_nodes_at_transform():
    feat = GraphSignalFeaturizer(path_graph(12)).fit(_signals())
    with pytest.raises(ValueError, match="12"):
        feat.transform(_signals(n_nodes=11))
    with pytest.raises(ValueError, match="nodes per object"):
        feat.transform(_signals(n_nodes=11).reshape(10, 3, 11))


def test_error_four_d_input():
    with pytest.raises(ValueError, match="2-D .* or 3-D"):
        GraphSignalFeaturizer(path_graph(3)).fit(np.ones((2, 2, 2, 3)))


def test_error_bad_scaling():
    with pytest.raises(ValueError, match="scaling"):
        GraphSignalFeaturizer(path_graph(12), scaling="minmax").fit(_signals())


def test_error_transform_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GraphSignalFeaturizer(path_graph(12)).transform(_signals())
