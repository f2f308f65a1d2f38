"""LEAD: the two-player solver and the adversarial generator trained with it."""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from graphsig.models import AdversarialGenerator
from graphsig.models._gradcheck import check_gradients
from graphsig.optim import LEADOptimizer, solve_minmax


def _bilinear(seed=0, n=4):
    # a well-conditioned A (singular values 0.5 to 1.5)
    rng = np.random.default_rng(seed)
    Q1, Q2 = (np.linalg.qr(rng.normal(size=(n, n)))[0] for _ in range(2))
    A = Q1 @ np.diag(np.linspace(0.5, 1.5, n)) @ Q2
    return A, (lambda x, y: A @ y), (lambda x, y: A.T @ x), rng.normal(size=n), rng.normal(size=n)


# -- the solver ----------------------------------------------------------------------
def test_lead_converges_where_gda_diverges():
    A, gx, gy, x0, y0 = _bilinear()
    lr = 0.1
    lead = solve_minmax(gx, gy, x0, y0, learning_rate=lr, coupling=2 * lr, max_iter=3000)
    gda = solve_minmax(gx, gy, x0, y0, method="gda", learning_rate=lr, max_iter=3000)
    assert lead.grad_norms[-1] < 1e-3 * lead.grad_norms[0]
    assert gda.grad_norms[-1] > 1e3 * gda.grad_norms[0]
    assert not lead.diverged


def test_gda_is_the_plain_simultaneous_step():
    A, gx, gy, x0, y0 = _bilinear(1)
    res = solve_minmax(gx, gy, x0, y0, method="gda", learning_rate=0.1, max_iter=1)
    np.testing.assert_allclose(res.x, x0 - 0.1 * A @ y0)
    np.testing.assert_allclose(res.y, y0 + 0.1 * A.T @ x0)


def test_lead_second_step_matches_the_formula():
    A, gx, gy, x0, y0 = _bilinear(2)
    eta, beta, alpha = 0.1, 0.3, 0.2
    res = solve_minmax(gx, gy, x0, y0, learning_rate=eta, momentum=beta, coupling=alpha,
                       max_iter=2, return_path=True)
    x1, y1 = res.path[1][:4], res.path[1][4:]
    x2 = x1 + beta * (x1 - x0) - eta * A @ y1 - alpha * A @ (y1 - y0)
    y2 = y1 + beta * (y1 - y0) + eta * A.T @ x1 + alpha * A.T @ (x1 - x0)
    np.testing.assert_allclose(res.x, x2)
    np.testing.assert_allclose(res.y, y2)


def test_exact_mixed_products_equal_gradient_differences_on_bilinear_games():
    A, gx, gy, x0, y0 = _bilinear(3)
    exact = solve_minmax(gx, gy, x0, y0, learning_rate=0.05, max_iter=50,
                         mixed_products=lambda x, y, dx, dy: (A @ dy, A.T @ dx))
    diff = solve_minmax(gx, gy, x0, y0, learning_rate=0.05, max_iter=50)
    np.testing.assert_allclose(exact.x, diff.x, atol=1e-12)


def test_tol_stops_early_and_divergence_is_reported():
    A, gx, gy, x0, y0 = _bilinear()
    res = solve_minmax(gx, gy, x0, y0, learning_rate=0.05, coupling=0.1, max_iter=100000,
                       tol=1e-3)
    assert res.converged and res.n_iter < 100000 and res.grad_norms[-1] <= 1e-3
    bad = solve_minmax(gx, gy, x0, y0, method="gda", learning_rate=5.0, max_iter=100000)
    assert bad.diverged and not bad.converged and bad.n_iter < 100000


def test_optimizer_keeps_previous_parameters():
    x, y = np.array([1.0, 2.0]), np.array([3.0])
    opt = LEADOptimizer([x], [y], learning_rate=0.5, coupling=0.0)
    opt.step([np.array([1.0, 1.0])], [np.array([2.0])])
    np.testing.assert_array_equal(opt.previous_x[0], [1.0, 2.0])
    np.testing.assert_array_equal(x, [0.5, 1.5])
    np.testing.assert_array_equal(y, [4.0])
    assert opt.t == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="adam"), "method must be 'lead' or 'gda'"),
    (dict(learning_rate=0.0), "learning_rate must be > 0"),
    (dict(momentum=1.0), "momentum must be < 1"),
    (dict(coupling=-1.0), "coupling must be >= 0"),
    (dict(max_iter=-1), "max_iter must be a non-negative integer"),
    (dict(tol=np.nan), "tol must be a finite real number"),
])
def test_solver_bad_parameters(kwargs, match):
    A, gx, gy, x0, y0 = _bilinear()
    with pytest.raises(ValueError, match=match):
        solve_minmax(gx, gy, x0, y0, **kwargs)


def test_solver_bad_inputs():
    A, gx, gy, x0, y0 = _bilinear()
    with pytest.raises(TypeError, match="grad_x and grad_y must be callables"):
        solve_minmax(A, gy, x0, y0)
    with pytest.raises(ValueError, match="x0 contains NaN"):
        solve_minmax(gx, gy, [np.nan, 0, 0, 0], y0)
    with pytest.raises(ValueError, match="y0 must be a non-empty 1-D array"):
        solve_minmax(gx, gy, x0, np.ones((2, 2)))
    with pytest.raises(ValueError, match="must return arrays of shapes"):
        solve_minmax(lambda x, y: np.ones(3), gy, x0, y0)
    with pytest.raises(TypeError, match="mixed_products must be None or a callable"):
        solve_minmax(gx, gy, x0, y0, mixed_products=1)


def test_optimizer_bad_inputs():
    with pytest.raises(TypeError, match="must be numpy arrays"):
        LEADOptimizer([[1.0]], [np.ones(1)])
    opt = LEADOptimizer([np.ones(2)], [np.ones(1)])
    with pytest.raises(ValueError, match="expected 1 gradient arrays for x"):
        opt.step([np.ones(2), np.ones(2)], [np.ones(1)])
    with pytest.raises(ValueError, match="expected 1 mixed-product arrays for y"):
        opt.step([np.ones(2)], [np.ones(1)], None, [])


# -- the adversarial generator ---------------------------------------------------------
def _blob(n=60, seed=0):
    return np.random.default_rng(seed).normal(loc=[3.0, -1.0], scale=[0.5, 2.0], size=(n, 2))


@pytest.mark.parametrize("loss", ["nonsaturating", "minimax"])
def test_player_gradients(loss):
    gan = AdversarialGenerator(generator_hidden=(5,), discriminator_hidden=(4,),
                               activation="tanh", loss=loss, max_iter=3, random_state=0)
    X = (_blob() - _blob().mean(0)) / _blob().std(0)
    gan.fit(X)
    z = np.random.default_rng(1).normal(size=(7, gan.n_latent))
    Xb = X[:7]
    G, D = gan.generator_, gan.discriminator_

    def g_fun(v):
        G.set_flat_params(v)
        return gan._generator_loss(z)

    def d_fun(v):
        D.set_flat_params(v)
        return gan._discriminator_value(Xb, z)

    assert check_gradients(g_fun, G.get_flat_params()).params_error < 1e-6
    assert check_gradients(d_fun, D.get_flat_params()).params_error < 1e-6


def _energy_distance(a, b):
    from scipy.spatial.distance import cdist

    return 2 * cdist(a, b).mean() - cdist(a, a).mean() - cdist(b, b).mean()


def test_training_brings_the_samples_to_the_data():
    X = _blob(400)
    Z = (X - X.mean(0)) / X.std(0)
    kw = dict(preconditioner="adam", learning_rate=0.005, random_state=0)
    distances = []
    for n_steps in (1, 300):
        gan = AdversarialGenerator(max_iter=n_steps, **kw).fit(X)
        S = (gan.sample(1000, random_state=0) - X.mean(0)) / X.std(0)
        distances.append(_energy_distance(S, Z))
    assert distances[1] < 0.2 * distances[0]
    # the discriminator scores data higher than far-away points
    assert gan.discriminator_logit(X).mean() > gan.discriminator_logit(X + 20).mean()


def test_determinism_and_pickle():
    X = _blob()
    a = AdversarialGenerator(max_iter=20, random_state=3).fit(X)
    b = AdversarialGenerator(max_iter=20, random_state=3).fit(X)
    np.testing.assert_array_equal(a.sample(5, random_state=0), b.sample(5, random_state=0))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.sample(5, random_state=0), a.sample(5, random_state=0))
    assert len(a.generator_loss_curve_) == a.n_iter_ == 20


def test_float32_samples_stay_float32():
    gan = AdversarialGenerator(max_iter=5, random_state=0).fit(_blob().astype(np.float32))
    assert gan.sample(3, random_state=0).dtype == np.float32


def test_gda_and_lead_differ_only_by_the_coupling():
    X = _blob()
    gda = AdversarialGenerator(solver="gda", max_iter=10, random_state=0).fit(X)
    zero = AdversarialGenerator(solver="lead", coupling=0.0, max_iter=10, random_state=0).fit(X)
    lead = AdversarialGenerator(solver="lead", max_iter=10, random_state=0).fit(X)
    np.testing.assert_array_equal(gda.sample(4, random_state=0), zero.sample(4, random_state=0))
    assert not np.allclose(gda.sample(4, random_state=0), lead.sample(4, random_state=0))


def test_bad_inputs():
    X = _blob()
    with pytest.raises(ValueError, match="'solver' parameter"):
        AdversarialGenerator(solver="adam").fit(X)
    with pytest.raises(ValueError, match="'momentum' parameter"):
        AdversarialGenerator(momentum=1.0).fit(X)
    with pytest.raises(ValueError, match="generator_hidden must be a non-empty sequence"):
        AdversarialGenerator(generator_hidden=[]).fit(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        AdversarialGenerator().fit(bad)
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        AdversarialGenerator().fit(X[:1])
    with pytest.raises(NotFittedError):
        AdversarialGenerator().sample(3)
    gan = AdversarialGenerator(max_iter=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        gan.sample(0)
    with pytest.raises(ValueError, match="features"):
        gan.discriminator_logit(np.ones((3, 5)))


def test_divergence_names_the_step():
    with np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError, match=r"diverged at step \d+"):
            AdversarialGenerator(learning_rate=1e30, max_iter=50, random_state=0).fit(_blob())
