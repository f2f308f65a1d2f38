"""Guard rails of the diffusion: Chebyshev degree and time limits, batch sizes.

``bdtr`` (the binomial tail used to choose the Chebyshev degree) returns NaN
beyond 2**31 trials, which used to make the degree fall back to the time
itself: 2**30 lazy steps and more asked for hundreds of GiB. The degree is
now computed for any time, grows like ``sqrt(t log(1 / tol))``, and degrees
above ``MAX_CHEBYSHEV_DEGREE`` are refused with a message saying what fits.
"""

import math
import re
import time
from fractions import Fraction

import numpy as np
import pytest
from scipy.special import bdtr
from scipy.stats import binom

import graphsig
from graphsig.diffusion import (
    DiffusionOperator,
    dyadic_times,
    estimate_diameter,
    lazy_walk_chebyshev,
)
from graphsig.diffusion import _operator
from graphsig.diffusion._operator import (
    MAX_CHEBYSHEV_DEGREE,
    MAX_SCALE,
    MAX_TIME,
    _chebyshev_degree,
)
from graphsig.graphs import path_graph


def tail(t, m):
    """sum_{k > m} c_k = 2 P(Binomial(2t, 1/2) <= t - m - 1), any t."""
    return 2.0 * binom.cdf(t - m - 1, 2 * t, 0.5)


# ---------------------------------------------------------------------------
# the degree for long times


@pytest.mark.parametrize("tol", [1e-7, 1e-10, 0.5])
def test_degree_grows_like_sqrt_t_beyond_the_bdtr_range(tol):
    ratios = []
    for k in range(28, MAX_SCALE + 1, 2):  # 2 t up to 2**41 trials, beyond bdtr's 2**31
        t = 2**k
        m = _chebyshev_degree(t, tol)
        assert isinstance(m, int) and 0 < m < t / 1000  # never the time itself
        # Hoeffding: the tail is <= 2 exp(-(m + 1)^2 / t)
        assert m <= math.ceil(math.sqrt(t * math.log(4 / tol)))
        # the smallest degree whose tail is <= tol / 2
        assert tail(t, m) <= tol / 2 < tail(t, m - 1)
        ratios.append(m / math.sqrt(t))
    # m / sqrt(t) is constant (about z_{tol / 4} / sqrt(2)) for long times
    np.testing.assert_allclose(ratios, ratios[-1], rtol=1e-3)


def test_degree_is_continuous_across_the_bdtr_limit():
    assert np.isnan(bdtr(2**30 - 100, 2**31, 0.5))  # why the switch exists
    degrees = [_chebyshev_degree(t, 1e-7) for t in range(2**30 - 3, 2**30 + 3)]
    assert len(set(degrees)) == 1 and 100_000 < degrees[0] < 140_000


# ---------------------------------------------------------------------------
# coefficients of long times


@pytest.mark.parametrize(
    "times, tol",
    [([2**24], 1e-7), ([0, 1, 7, 2**20, 2**24], 1e-7), ([2**29], 0.5), ([2**30 + 12345], 0.99)],
)
def test_long_time_coefficients_finite_nonnegative_sum_to_one(times, tol):
    coef = lazy_walk_chebyshev(times, tol)
    degree = coef.shape[0] - 1
    assert degree <= MAX_CHEBYSHEV_DEGREE
    assert np.all(np.isfinite(coef)) and np.all(coef >= 0)
    np.testing.assert_allclose(coef.sum(axis=0), 1.0, rtol=0, atol=1e-12)
    t = times[-1]
    assert tail(t, degree) <= tol / 2 < tail(t, degree - 1)
    # closed form 2 * Binomial(2t, 1/2) pmf at t - k, rescaled to sum to one
    k = np.arange(degree + 1)
    closed = np.where(k == 0, 1.0, 2.0) * binom.pmf(t - k, 2 * t, 0.5)
    np.testing.assert_allclose(coef[:, -1], closed / closed.sum(), rtol=1e-9)


# ---------------------------------------------------------------------------
# refusals


def parse_refusal(message):
    scale = int(re.search(r"max_scale=(\d+)", message).group(1))
    found = re.search(r"tol \(at least ([0-9.e+-]+)", message)
    return scale, float(found.group(1)) if found else None


@pytest.mark.parametrize("tol", [1e-7, 1e-3])
def test_too_long_time_refused_with_what_fits(tol):
    t = 2**35
    needed = _chebyshev_degree(t, tol)
    with pytest.raises(ValueError, match=rf"diffusing {t} lazy steps .*degree {needed}\b") as info:
        lazy_walk_chebyshev(dyadic_times(35), tol)
    scale, _ = parse_refusal(str(info.value))
    assert "MAX_CHEBYSHEV_DEGREE" in str(info.value)
    # the suggested max_scale is the largest that fits
    assert lazy_walk_chebyshev(dyadic_times(scale), tol).shape[0] - 1 <= MAX_CHEBYSHEV_DEGREE
    with pytest.raises(ValueError, match="MAX_CHEBYSHEV_DEGREE"):
        lazy_walk_chebyshev(dyadic_times(scale + 1), tol)


def test_refusal_suggests_a_tol_that_fits():
    with pytest.raises(ValueError, match=r"max_scale=24.*or a larger tol") as info:
        lazy_walk_chebyshev([0, 1, 2**25])
    _, tol = parse_refusal(str(info.value))
    assert 1e-7 < tol < 1e-4
    assert lazy_walk_chebyshev([0, 1, 2**25], tol).shape[0] - 1 <= MAX_CHEBYSHEV_DEGREE


def test_max_degree_argument_and_module_limit():
    # 4096 steps need degree 247 at the default tol; 2**9 steps need 87
    refusal = r"degree 247, .*limit of 100 \(max_degree\).*max_scale=9\b"
    with pytest.raises(ValueError, match=refusal):
        lazy_walk_chebyshev([4096], max_degree=100)
    assert lazy_walk_chebyshev([4096], max_degree=247).shape == (248, 1)
    assert lazy_walk_chebyshev(dyadic_times(9), max_degree=100).shape == (88, 11)


@pytest.mark.parametrize("t", [MAX_TIME + 1, 2**50, 1e30])
def test_times_beyond_max_time_refused_before_any_work(t):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"times above MAX_TIME = 2\*\*40 .*max_scale=24"):
        lazy_walk_chebyshev([0, t])
    assert time.perf_counter() - start < 2.0


def test_dyadic_times_limit():
    assert dyadic_times(MAX_SCALE)[-1] == MAX_TIME
    with pytest.raises(ValueError, match=r"max_scale must be <= 40 .*got 41.*up to 24"):
        dyadic_times(41)
    for bad in (float("inf"), float("nan"), "3", 2.5):
        with pytest.raises(ValueError, match="max_scale must be an integer"):
            dyadic_times(bad)


def test_diffusion_emd_refuses_a_huge_max_scale_without_allocating():
    X = np.eye(8)
    with pytest.raises(ValueError, match=r"34359738368 lazy steps.*max_scale=24"):
        graphsig.DiffusionEMD(path_graph(8), max_scale=35, n_jobs=1).fit(X)


# ---------------------------------------------------------------------------
# short times: unchanged


def test_short_time_degrees_match_a_direct_binomial_search():
    for tol in (1e-14, 1e-10, 1e-7, 1e-3, 0.5):
        for t in range(0, 400):
            m = np.arange(t + 1)
            tails = np.where(m >= t, 0.0, 2.0 * bdtr(t - m - 1, 2 * t, 0.5))
            expected = int(np.argmax(tails <= tol / 2))
            assert _chebyshev_degree(t, tol) == expected, (t, tol)
    # sampled longer times, still in bdtr's range
    rng = np.random.default_rng(0)
    for t in rng.integers(400, 2**30 - 1, 40):
        m = _chebyshev_degree(int(t), 1e-7)
        assert tail(int(t), m) <= 0.5e-7 < tail(int(t), m - 1)


@pytest.mark.parametrize("t", [0, 1, 2, 5, 12, 40, 80])
def test_short_time_coefficients_match_exact_binomials(t):
    coef = lazy_walk_chebyshev([t], 1e-15)[:, 0]
    exact = [Fraction(math.comb(2 * t, t - k) * (1 if k == 0 else 2), 4**t) for k in range(t + 1)]
    degree = coef.size - 1
    kept = exact[: degree + 1]
    expected = np.array([float(c / sum(kept)) for c in kept])
    np.testing.assert_allclose(coef, expected, rtol=1e-13, atol=0)
    if t <= 12:
        assert degree == t


# ---------------------------------------------------------------------------
# batch size and diameter


def test_batch_size_is_never_zero():
    op = DiffusionOperator(path_graph(1000))
    assert op.batch_size(MAX_SCALE + 2, np.float64, max_memory=1) == 1
    assert op.batch_size(MAX_SCALE + 2, np.float64, max_memory=0) == 1
    per_signal = (10 + 4) * 1000 * 8
    assert op.batch_size(10, np.float64, max_memory=5 * per_signal) == 5
    assert op.batch_size(10, np.float32, max_memory=5 * per_signal) == 10


def test_diameter_of_a_long_path_is_quick():
    start = time.perf_counter()
    assert estimate_diameter(path_graph(30_000)) == 29_999
    assert time.perf_counter() - start < 3.0


def test_limits_are_consistent():
    assert MAX_TIME == 2**MAX_SCALE
    assert _operator.MAX_CHEBYSHEV_DEGREE == MAX_CHEBYSHEV_DEGREE
    # the default tol admits 2**24 lazy steps and not 2**25
    assert _chebyshev_degree(2**24, 1e-7) <= MAX_CHEBYSHEV_DEGREE < _chebyshev_degree(2**25, 1e-7)


def test_auto_scale_never_refuses_on_a_long_path():
    # the case: a 30,000-bin histogram on a path used to ask for
    # hundreds of GiB with max_scale="auto"; now the plan caps the scale
    # (and a path, a tree, is embedded exactly by its trees)
    n = 30_000
    X = np.zeros((3, n))
    X[np.arange(3), [0, 10, n - 1]] = 1.0
    est = graphsig.DiffusionEMD(path_graph(n)).fit(X)
    assert est.plan_["kind"] == "hierarchy"
    d = np.abs(est.transform(X)[0] - est.transform(X)).sum(axis=1)
    np.testing.assert_allclose(d, [0.0, 10.0, n - 1.0])
