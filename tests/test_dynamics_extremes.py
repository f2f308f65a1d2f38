"""lyapunov_spectrum on Jacobians near the overflow threshold or subnormal.

Scaling a Jacobian by ``c`` shifts every exponent by ``log|c|``: the spectrum
of extreme Jacobians is the shifted spectrum of moderate ones, finite.
"""

import warnings

import numpy as np
import pytest

from graphsig.dynamics import lyapunov_spectrum


class _Factors:
    """Jacobians ``diag(gains[:, t]) @ W`` given directly."""

    def __init__(self, W, gains):
        self.W, self.gains = W, gains

    def jacobian_factors(self, X):
        return self.W, self.gains


def _factors(seed=0, n=4, n_seq=2, n_steps=60):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) / np.sqrt(n)
    gains = rng.uniform(0.2, 1.0, size=(n_seq, n_steps, n))
    return W, gains


X = np.zeros((2, 60, 1))


@pytest.mark.parametrize("w_scale, g_scale", [
    (1e200, 1e200),      # W Q overflows after the product with the gains
    (1e300, 1e10),
    (1e-200, 1e-200),    # the product underflows
    (1e-300, 1.0),
    (1e-300, 1e-20),     # the product is deep in the subnormals: digits lost
    (2.0 ** -1030, 1.0),  # subnormal W
    (1.0, 1e-310),       # subnormal gains
])
def test_scaled_jacobians_shift_the_spectrum(w_scale, g_scale):
    W, gains = _factors()
    reference, ref_std = lyapunov_spectrum(_Factors(W, gains), X, return_std=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid value on the way
        spectrum, std = lyapunov_spectrum(_Factors(W * w_scale, gains * g_scale), X,
                                          return_std=True)
    assert np.all(np.isfinite(spectrum))
    # the scaled factors are rounded (subnormals keep fewer digits): compare to that
    np.testing.assert_allclose(spectrum - np.log(w_scale) - np.log(g_scale), reference,
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(std, ref_std, atol=1e-6)


def test_moderate_jacobians_are_computed_as_before():
    # the rescaling only applies out of the safe range: here it changes no bit
    W, gains = _factors(seed=1)
    a = lyapunov_spectrum(_Factors(W, gains), X)
    b = lyapunov_spectrum(_Factors(W * 2.0 ** 100, gains), X)
    np.testing.assert_allclose(b - 100 * np.log(2.0), a, rtol=0, atol=1e-12)


def test_wide_dynamic_range_within_one_jacobian():
    # exponents log(1e200), 0, log(1e-200): representable without any scaling
    W = np.diag([1e200, 1.0, 1e-200])
    spectrum = lyapunov_spectrum(_Factors(W, np.ones((2, 60, 3))), X, n_warmup=1)
    np.testing.assert_allclose(spectrum, [np.log(1e200), 0.0, np.log(1e-200)], atol=1e-9)


def test_step_dependent_gains_of_extreme_magnitude():
    # gains alternating between 1e250 and 1e-250: the product over two steps is 1
    W, gains = _factors(seed=2, n_steps=60)
    wild = gains.copy()
    wild[:, ::2] *= 1e250
    wild[:, 1::2] *= 1e-250
    spectrum = lyapunov_spectrum(_Factors(W, wild), X)
    reference = lyapunov_spectrum(_Factors(W, gains), X)
    assert np.all(np.isfinite(spectrum))
    np.testing.assert_allclose(spectrum, reference, atol=1e-8)
