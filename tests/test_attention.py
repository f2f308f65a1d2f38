"""Tests of compositional and multi-head attention, layers and estimators."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from graphsig.models import CompositionalAttentionClassifier, CompositionalAttentionRegressor
from graphsig.models._attention import (
    AttentionNetwork,
    CompositionalAttention,
    MultiHeadAttention,
)
from graphsig.models._gradcheck import check_estimator_gradients, check_module_gradients

TOL = 1e-5
SMALL = dict(n_searches=2, n_retrievals=2, d_model=8, head_hidden_layer_sizes=(8,))


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _x(shape=(3, 5, 8), seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# -- layers --------------------------------------------------------------------

@pytest.mark.parametrize("exclude_self", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_multihead_gradients(exclude_self, causal):
    layer = MultiHeadAttention(8, 2, exclude_self=exclude_self, causal=causal, random_state=0)
    res = check_module_gradients(layer, _x())
    assert res.params_error < TOL and res.input_error < TOL


@pytest.mark.parametrize("exclude_self", [False, True])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("searches, retrievals", [(2, 4), (3, 1), (1, 2)])
def test_compositional_gradients(exclude_self, causal, searches, retrievals):
    layer = CompositionalAttention(8, searches, retrievals, search_dim=6, value_dim=8,
                                   exclude_self=exclude_self, causal=causal, random_state=0)
    res = check_module_gradients(layer, _x())
    assert res.params_error < TOL and res.input_error < TOL


@pytest.mark.parametrize("attention", ["compositional", "multihead"])
@pytest.mark.parametrize("output", ["sequence", "tokens"])
def test_network_gradients(attention, output):
    net = AttentionNetwork(5, 8, 3, attention=attention, n_searches=2, n_retrievals=4,
                           d_model=8, n_layers=2, ffn_width=6, layer_norm=True, positional=True,
                           exclude_self=True, output=output, random_state=0)
    res = check_module_gradients(net, _x(), max_checks=200)
    assert res.params_error < TOL and res.input_error < TOL


def test_network_without_residual_gradients():
    net = AttentionNetwork(5, 8, 2, n_searches=2, n_retrievals=2, d_model=8, n_layers=2,
                           residual=False, output="tokens", random_state=0)
    res = check_module_gradients(net, _x(), max_checks=150)
    assert res.params_error < TOL and res.input_error < TOL
    # without the residual path the readout sees the attention output only
    x = _x()
    out = net.forward(x)
    blocks = net.blocks
    h = blocks[1]["attention"].forward(blocks[0]["attention"].forward(net.embed.forward(x)))
    np.testing.assert_allclose(out, net.head.forward(h))


def test_masks_and_row_sums():
    x = _x()
    p = MultiHeadAttention(8, 2, exclude_self=True, random_state=0).attention_weights(x)
    np.testing.assert_allclose(p.sum(-1), 1.0)
    assert np.all(p[..., np.arange(5), np.arange(5)] == 0)
    p, c = CompositionalAttention(8, 2, 4, causal=True, random_state=0).attention_weights(x)
    assert np.all(np.triu(p[0, 0], k=1) == 0)
    np.testing.assert_allclose(c.sum(-1), 1.0)
    assert c.shape == (3, 2, 5, 4)
    # first token with both masks attends to nothing: zero output, no NaN
    both = CompositionalAttention(8, 2, 2, causal=True, exclude_self=True, random_state=0)
    assert np.all(np.isfinite(both.forward(x)))


@pytest.mark.parametrize("layer", [MultiHeadAttention(8, 2, random_state=0),
                                   CompositionalAttention(8, 2, 4, random_state=0)])
def test_permutation_equivariance(layer):
    x = _x()
    perm = np.array([3, 0, 4, 1, 2])
    np.testing.assert_allclose(layer.forward(x)[:, perm], layer.forward(x[:, perm]),
                               atol=1e-12)


def test_single_retrieval_equals_one_shared_value():
    # with R = 1 the retrieval competition is trivial: each search reads the same values
    layer = CompositionalAttention(8, 2, 1, value_dim=4, random_state=0)
    x = _x()
    y = layer.forward(x)
    p, c = layer.attention_weights(x)
    np.testing.assert_allclose(c, 1.0)
    v = layer.value.forward(x)  # (B, N, 4)
    out = np.concatenate([p[:, s] @ v for s in range(2)], axis=-1)
    np.testing.assert_allclose(y, layer.out.forward(out), atol=1e-12)


def test_head_dims_must_divide():
    with pytest.raises(ValueError, match="search_dim=10 must be a multiple of the number "
                                         "of searches 4"):
        CompositionalAttention(8, 4, 2, search_dim=10)
    with pytest.raises(ValueError, match="value_dim=8 must be a multiple of the number of "
                                         "values 3"):
        CompositionalAttention(8, 2, 3)


# -- estimators ------------------------------------------------------------------

# scikit-learn's estimator checks, at default settings: tests/test_common.py

def _set_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5, 3))
    return X, X[:, :, 0].max(axis=1)


@pytest.mark.parametrize("output", ["sequence", "tokens"])
def test_regressor_end_to_end_gradients(output):
    X, y = _set_data(40)
    if output == "tokens":
        y = np.stack([X[:, :, 1], X[:, :, 2]], axis=-1)
    reg = CompositionalAttentionRegressor(output=output, alpha=0.1, max_iter=1,
                                          random_state=0, **SMALL).fit(X, y)
    Xi, yi = reg._prepare_data(X[:6], y[:6])
    assert check_estimator_gradients(reg, Xi, yi).params_error < TOL


def test_classifier_end_to_end_gradients():
    X, _ = _set_data(40)
    y = (X[:, :, 0] > 0).astype(int)
    clf = CompositionalAttentionClassifier(output="tokens", alpha=0.1, max_iter=1,
                                           random_state=0, **SMALL).fit(X, y)
    assert check_estimator_gradients(clf, *clf._prepare_data(X[:6], y[:6])).params_error < TOL


def test_per_token_outputs_and_scores():
    X, _ = _set_data(60)
    y = X[:, :, 1] - X[:, :, 2]
    reg = CompositionalAttentionRegressor(output="tokens", random_state=0, max_iter=2,
                                          **SMALL).fit(X, y)
    assert reg.predict(X).shape == (60, 5)
    assert np.isfinite(reg.score(X, y))
    labels = np.where(X[:, :, 0] > 0, "pos", "neg")
    clf = CompositionalAttentionClassifier(output="tokens", random_state=0, max_iter=2,
                                           **SMALL).fit(X, labels)
    assert clf.predict(X).shape == (60, 5) and set(clf.classes_) == {"neg", "pos"}
    assert clf.predict_proba(X).shape == (60, 5, 2)
    assert 0 <= clf.score(X, labels) <= 1


def test_sets_of_other_sizes_without_positions():
    X, y = _set_data(60)
    reg = CompositionalAttentionRegressor(random_state=0, max_iter=2, **SMALL).fit(X, y)
    assert reg.predict(X[:, :3]).shape == (60,)
    pos = CompositionalAttentionRegressor(positional=True, random_state=0, max_iter=2,
                                          **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 tokens per sample, but "
                                         "CompositionalAttentionRegressor was fitted with 5"):
        pos.predict(X[:, :3])


def test_attention_weights_api():
    X, y = _set_data(30)
    reg = CompositionalAttentionRegressor(n_searches=2, n_retrievals=4, d_model=8,
                                          random_state=0, max_iter=1).fit(X, y)
    p, c = reg.attention_weights(X)
    assert p.shape == (30, 2, 5, 5) and c.shape == (30, 2, 5, 4)
    mha = CompositionalAttentionRegressor(attention="multihead", random_state=0, max_iter=1,
                                          **SMALL).fit(X, y)
    p, c = mha.attention_weights(X)
    assert p.shape == (30, 2, 5, 5) and c is None


def test_determinism_and_pickle():
    X, y = _set_data()
    a = CompositionalAttentionRegressor(random_state=2, max_iter=3, **SMALL).fit(X, y)
    b = CompositionalAttentionRegressor(random_state=2, max_iter=3, **SMALL).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict(X), c.predict(X))


def test_learns_a_set_function_quickly():
    X, y = _set_data(500)
    reg = CompositionalAttentionRegressor(random_state=0, max_iter=40, learning_rate_init=3e-3,
                                          **SMALL).fit(X, y)
    Xt, yt = _set_data(300, seed=1)
    assert reg.score(Xt, yt) > 0.6


def test_learns_contextual_retrieval_above_chance():
    from graphsig.datasets import make_contextual_retrieval

    kw = dict(n_tokens=6, n_searches=1, n_retrievals=2)
    X, y = make_contextual_retrieval(1500, random_state=0, **kw)
    Xt, yt = make_contextual_retrieval(300, random_state=1, **kw)
    reg = CompositionalAttentionRegressor(n_searches=1, n_retrievals=2, d_model=16,
                                          exclude_self=True, output="tokens",
                                          loss="absolute_error", learning_rate_init=3e-3,
                                          batch_size=128, max_iter=15, random_state=0)
    reg.fit(X.astype(np.float32), y)
    err = np.abs(reg.predict(Xt.astype(np.float32)) - yt).mean()
    assert err < 0.8 * np.abs(yt - np.median(yt)).mean()


# -- bad input -------------------------------------------------------------------

def test_error_nan_inf():
    X, y = _set_data(20)
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        CompositionalAttentionRegressor(max_iter=1).fit(X, y)
    X[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        CompositionalAttentionRegressor(max_iter=1).fit(X, y)


def test_error_nan_in_y():
    X, y = _set_data(20)
    y[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        CompositionalAttentionRegressor(max_iter=1).fit(X, y)


def test_error_single_class():
    X, _ = _set_data(20)
    with pytest.raises(ValueError, match="needs samples of at least 2 classes.*got 1 class"):
        CompositionalAttentionClassifier(max_iter=1).fit(X, np.zeros(20))


def test_error_predict_before_fit():
    X, _ = _set_data(5)
    with pytest.raises(NotFittedError):
        CompositionalAttentionRegressor().predict(X)
    with pytest.raises(NotFittedError):
        CompositionalAttentionClassifier().predict_proba(X)


def test_error_wrong_token_width():
    X, y = _set_data(20)
    reg = CompositionalAttentionRegressor(max_iter=1, random_state=0, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features per token, but "
                                         "CompositionalAttentionRegressor was fitted with 3"):
        reg.predict(X[:, :, :2])


def test_error_inconsistent_widths():
    X = [[[0.0, 1.0], [1.0]], [[0.0, 1.0], [1.0, 2.0]]]
    with pytest.raises(ValueError, match="inconsistent feature widths"):
        CompositionalAttentionRegressor(max_iter=1).fit(X, [0.0, 1.0])


def test_error_per_token_targets_mismatch():
    X, _ = _set_data(20)
    with pytest.raises(ValueError, match="y needs one target per token: X has 5 tokens per "
                                         "sample, y has 4"):
        CompositionalAttentionRegressor(output="tokens", max_iter=1).fit(X, np.zeros((20, 4)))
    with pytest.raises(ValueError, match="with output='tokens', y must have shape"):
        CompositionalAttentionRegressor(output="tokens", max_iter=1).fit(X, np.zeros(20))


def test_error_head_dims_at_fit():
    X, y = _set_data(20)
    with pytest.raises(ValueError, match="value_dim=8 must be a multiple"):
        CompositionalAttentionRegressor(n_searches=2, n_retrievals=3, d_model=8,
                                        max_iter=1).fit(X, y)


def test_error_n_tokens_mismatch():
    X, y = _set_data(20)
    with pytest.raises(ValueError, match="X has 5 tokens per sample but n_tokens=4"):
        CompositionalAttentionRegressor(n_tokens=4, max_iter=1).fit(X, y)


# -- tables of features ------------------------------------------------------------

def test_table_columns_are_told_apart_and_sets_are_not():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > X[:, 1]).astype(int)
    swapped = X[:, [1, 0, 2]]
    clf = CompositionalAttentionClassifier(max_iter=2, random_state=0, **SMALL).fit(X, y)
    assert clf.positional_ is True
    # each column has its own embedding: swapping two columns changes the output
    assert np.abs(clf.predict_proba(X) - clf.predict_proba(swapped)).max() > 1e-3
    # 3-D X is a set of tokens: no positions, and permuting the tokens changes nothing
    X3 = X[:, :, None]
    clf3 = CompositionalAttentionClassifier(max_iter=2, random_state=0, **SMALL).fit(X3, y)
    assert clf3.positional_ is False
    np.testing.assert_allclose(clf3.predict_proba(X3), clf3.predict_proba(swapped[:, :, None]),
                               rtol=1e-10, atol=1e-12)


def test_table_input_is_kept_for_predict():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    reg = CompositionalAttentionRegressor(max_iter=2, random_state=0, **SMALL).fit(X, X[:, 0])
    # the same table as 3-D (one feature per token) gives the same predictions
    np.testing.assert_allclose(reg.predict(X), reg.predict(X[:, :, None]), rtol=1e-12)
    with pytest.raises(ValueError, match="expecting 4 features"):
        reg.predict(X[:, :3])
