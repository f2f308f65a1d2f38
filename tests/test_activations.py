"""Adaptive activation and modReLU: limits, derivatives, tangent passes, estimators."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphsig.models._activations import (
    ACTIVATIONS,
    AdaptiveActivation,
    ModReLU,
    _adaptive_partials,
    adaptive_activation,
    build_activation,
)
from graphsig.models._gradcheck import check_module_gradients, relative_error


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


X = np.linspace(-3, 3, 61)


def test_saturation_zero_large_gain_is_relu():
    for n in (50.0, 500.0, 5000.0):
        err = np.abs(adaptive_activation(X, gain=n, saturation=0.0) - np.maximum(X, 0)).max()
        # softplus(n x)/n - relu(x) is at most log(2)/n, reached at x = 0
        assert err <= np.log(2) / n + 1e-12
    assert np.abs(adaptive_activation(X, 5000.0, 0.0) - np.maximum(X, 0)).max() < 2e-4


def test_saturation_one_is_sigmoid():
    np.testing.assert_allclose(adaptive_activation(X, 1.0, 1.0), _sigmoid(X), rtol=1e-14)
    np.testing.assert_allclose(adaptive_activation(X, 3.0, 1.0), _sigmoid(3 * X), rtol=1e-14)


def test_saturation_zero_gain_one_is_softplus():
    np.testing.assert_allclose(adaptive_activation(X, 1.0, 0.0), np.log1p(np.exp(X)),
                               rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(gain=st.floats(0.05, 50.0), saturation=st.floats(0.0, 1.0))
def test_adaptive_activation_is_nondecreasing_and_stable(gain, saturation):
    x = np.linspace(-200, 200, 801)
    y = adaptive_activation(x, gain, saturation)
    assert np.all(np.isfinite(y))
    assert np.all(np.diff(y) >= -1e-12)


def _fd(fun, h=1e-6):
    return (fun(h) - fun(-h)) / (2 * h)


@pytest.mark.parametrize("s", [0.0, 0.3, 1.0])
def test_partial_derivatives_against_finite_differences(s):
    rng = np.random.default_rng(0)
    x = rng.normal(size=50) * 2
    n = 1.7
    p = _adaptive_partials(x, n, s, second=True)

    def f(key, dx=0.0, dn=0.0, ds=0.0):
        return _adaptive_partials(x + dx, n + dn, s + ds)[key]

    checks = {
        "fx": _fd(lambda h: f("f", dx=h)),
        "fn": _fd(lambda h: f("f", dn=h)),
        "fs": _fd(lambda h: f("f", ds=h)),
        "fxx": _fd(lambda h: f("fx", dx=h)),
        "fxn": _fd(lambda h: f("fx", dn=h)),
        "fxs": _fd(lambda h: f("fx", ds=h)),
        "fnn": _fd(lambda h: f("fn", dn=h)),
        "fns": _fd(lambda h: f("fn", ds=h)),
    }
    for key, numeric in checks.items():
        assert relative_error(p[key], numeric) < 1e-6, key


@pytest.mark.parametrize("per_neuron", [False, True])
def test_adaptive_module_gradients(per_neuron):
    rng = np.random.default_rng(1)
    act = AdaptiveActivation(4, per_neuron=per_neuron, gain=1.4, saturation=0.35)
    if per_neuron:
        act.gain_param[...] = rng.uniform(0.5, 2.0, 4)
        act.saturation_param[...] = rng.uniform(0.1, 0.9, 4)
    result = check_module_gradients(act, rng.normal(size=(6, 4)))
    assert result.params_error < 1e-6
    assert result.input_error < 1e-6


def test_modrelu_gradients():
    rng = np.random.default_rng(2)
    act = ModReLU(5, bias=-0.2)
    result = check_module_gradients(act, rng.normal(size=(7, 5)))
    assert result.params_error < 1e-6 and result.input_error < 1e-6


@pytest.mark.parametrize("per_neuron", [False, True])
def test_tangent_passes_against_finite_differences(per_neuron):
    """forward_tangent / backward_tangent are the directional derivatives of forward / backward."""
    rng = np.random.default_rng(3)
    act = AdaptiveActivation(4, per_neuron=per_neuron, gain=1.2, saturation=0.4)
    x = rng.normal(size=(5, 4))
    g = rng.normal(size=(5, 4))
    x_dot = rng.normal(size=(5, 4))
    g_dot = rng.normal(size=(5, 4))
    p_dots = [rng.normal(size=p.shape) * 0.5 for p in act.params]
    theta = [p.copy() for p in act.params]

    def passes(h):
        for p, p0, d in zip(act.params, theta, p_dots):
            p[...] = p0 + h * d
        y = act.forward(x + h * x_dot)
        act.zero_grad()
        gin = act.backward(g + h * g_dot)
        return y, gin, [q.copy() for q in act.grads]

    h = 1e-6
    y_p, gin_p, gp_p = passes(h)
    y_m, gin_m, gp_m = passes(-h)
    passes(0.0)
    y_dot = act.forward_tangent(x_dot, p_dots)
    gin, gin_dot, gp_dot = act.backward_tangent(g, g_dot, x_dot, p_dots)
    assert relative_error(y_dot, (y_p - y_m) / (2 * h)) < 1e-6
    assert relative_error(gin_dot, (gin_p - gin_m) / (2 * h)) < 1e-6
    for a, b_p, b_m in zip(gp_dot, gp_p, gp_m):
        assert relative_error(a, (b_p - b_m) / (2 * h)) < 1e-6
    act.zero_grad()
    np.testing.assert_allclose(gin, act.backward(g))


def test_parameters_stay_valid_under_any_update():
    act = AdaptiveActivation(3, per_neuron=True)
    act.gain_param[...] = [-2.0, 0.0, 3.0]
    act.saturation_param[...] = [-0.25, 1.5, 2.25]
    np.testing.assert_allclose(act.gain, [2.0, 1e-3, 3.0])
    np.testing.assert_allclose(act.saturation, [0.25, 0.5, 0.25])
    assert np.all(np.isfinite(act.forward(np.linspace(-5, 5, 12).reshape(4, 3))))


def test_fixed_activation_has_no_parameters():
    act = AdaptiveActivation(3, gain=2.0, saturation=1.0, learnable=False)
    assert act.params == []
    np.testing.assert_allclose(act.forward(X[:, None]), _sigmoid(2 * X[:, None]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(gain=0.0), "gain must be positive"),
    (dict(gain=-1.0), "gain must be positive"),
    (dict(saturation=1.5), "saturation must lie in"),
    (dict(saturation=-0.1), "saturation must lie in"),
    (dict(per_neuron=True), "n_units is required"),
])
def test_bad_activation_parameters(kwargs, match):
    n_units = None if kwargs.get("per_neuron") else 3
    with pytest.raises(ValueError, match=match):
        AdaptiveActivation(n_units, **kwargs)


def test_adaptive_activation_function_rejects_bad_parameters():
    with pytest.raises(ValueError, match="gain must be positive"):
        adaptive_activation(X, gain=0.0)
    with pytest.raises(ValueError, match="saturation must lie in"):
        adaptive_activation(X, gain=1.0, saturation=2.0)


def test_unknown_activation_name():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        build_activation("swish", 3)


@pytest.mark.parametrize("per_neuron", [False, True])
def test_estimators_learn_and_expose_activation_shape(per_neuron):
    from graphsig.models import SpectralDecouplingClassifier

    rng = np.random.default_rng(0)
    Xd = rng.normal(size=(80, 3))
    y = (Xd[:, 0] * Xd[:, 1] > 0).astype(int)
    clf = SpectralDecouplingClassifier(
        (6, 5), sd_lambda=0.0, activation="adaptive", adaptive_per_neuron=per_neuron,
        adaptive_init=(1.0, 0.5), learning_rate_init=0.02, max_iter=30, random_state=0,
    ).fit(Xd, y)
    gains, sats = clf.activation_gain_, clf.activation_saturation_
    expected = [(6,), (5,)] if per_neuron else [(1,), (1,)]
    assert [g.shape for g in gains] == expected and [s.shape for s in sats] == expected
    # the shape parameters were learned, and stayed valid
    assert not np.allclose(np.concatenate(gains), 1.0)
    assert not np.allclose(np.concatenate(sats), 0.5)
    assert all(np.all(g > 0) for g in gains)
    assert all(np.all((s >= 0) & (s <= 1)) for s in sats)


def test_rnn_exposes_adaptive_parameters():
    from graphsig.models import NonNormalRNNClassifier

    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(30, 5, 2))
    y = (Xs[:, 0, 0] > 0).astype(int)
    clf = NonNormalRNNClassifier(6, activation="adaptive", adaptive_init=(1.0, 0.5),
                                 max_iter=5, random_state=0).fit(Xs, y)
    assert clf.activation_gain_.shape == (6,) and clf.activation_saturation_.shape == (6,)
    assert not np.allclose(clf.activation_saturation_, 0.5)
    relu_rnn = NonNormalRNNClassifier(6, activation="relu", max_iter=1, random_state=0)
    assert relu_rnn.fit(Xs, y).activation_gain_ is None


# -- the table of activations ------------------------------------------------------

_FREE = sorted(n for n, row in ACTIVATIONS.items() if row.module is None)


@pytest.mark.parametrize("name", _FREE)
def test_table_derivatives_against_finite_differences(name):
    row = ACTIVATIONS[name]
    x = np.linspace(-3, 3, 41) + 0.013  # off the kinks of relu and leaky_relu
    h = 1e-6
    f = row.function
    np.testing.assert_allclose(row.derivative(x, f(x)), (f(x + h) - f(x - h)) / (2 * h),
                               rtol=1e-6, atol=1e-8)
    d = row.derivative
    np.testing.assert_allclose(row.second_derivative(x, f(x)),
                               (d(x + h, f(x + h)) - d(x - h, f(x - h))) / (2 * h),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", _FREE)
def test_table_functions_keep_float32(name):
    row = ACTIVATIONS[name]
    x = np.linspace(-2, 2, 9, dtype=np.float32)
    y = row.function(x)
    assert y.dtype == np.float32
    assert row.derivative(x, y).dtype == np.float32
    assert build_activation(name).forward(x).dtype == np.float32


@pytest.mark.parametrize("name", sorted(n for n, row in ACTIVATIONS.items()
                                        if row.kernel_code is not None))
def test_table_kernel_code_matches_numpy(name):
    from graphsig.models._rnn_kernels import forward_loop

    act = build_activation(name, 3, init=(1.7, 0.3))
    z = np.random.default_rng(0).normal(size=(5, 1, 3)) * 2
    code, p0, p1 = act.kernel_parameters(3)
    H = forward_loop(z.copy(), np.zeros((3, 3)), code, p0, p1)
    np.testing.assert_allclose(H[:, 0], act.value(z[:, 0]), rtol=1e-12, atol=1e-12)


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'swish'; choose one of"):
        build_activation("swish")
