"""Finite-difference checks of hand-written gradients.

Central differences in float64: ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``.
Errors are reported as ``max_i |a_i - n_i| / max(|a_i| + |n_i|, floor)``.

>>> import numpy as np
>>> from graphsig.models._layers import make_mlp
>>> from graphsig.models._gradcheck import check_module_gradients
>>> net = make_mlp([4, 6, 3], activation="tanh", random_state=0)
>>> result = check_module_gradients(net, np.random.default_rng(0).normal(size=(5, 4)))
>>> bool(result.params_error < 1e-6 and result.input_error < 1e-6)
True
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "numerical_gradient",
    "relative_error",
    "GradientCheckResult",
    "check_gradients",
    "check_module_gradients",
    "check_estimator_gradients",
]


def relative_error(analytic, numeric, floor=None):
    """Largest elementwise relative error between two arrays (0.0 if empty).

    Each coordinate's error ``|a - n|`` is divided by ``max(|a| + |n|, floor)``.
    The default ``floor`` is ``1e-3`` times the largest ``|a| + |n|``, so that
    coordinates whose true gradient is zero (up to rounding) are judged against
    the scale of the whole gradient rather than against their own rounding noise.
    """
    a = np.asarray(analytic, dtype=np.float64).ravel()
    n = np.asarray(numeric, dtype=np.float64).ravel()
    if a.shape != n.shape:
        raise ValueError(f"shapes differ: {a.shape} and {n.shape}")
    if a.size == 0:
        return 0.0
    scale = np.abs(a) + np.abs(n)
    if floor is None:
        floor = 1e-3 * float(scale.max()) + 1e-12
    return float(np.max(np.abs(a - n) / np.maximum(scale, floor)))


def _pick(n, max_checks, rng):
    if max_checks is None or max_checks >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_checks, replace=False))


def numerical_gradient(func, x, *, eps=1e-6, indices=None):
    """Central-difference gradient of a scalar function of a 1-D vector.

    Parameters
    ----------
    func : callable
        ``func(vector) -> float``. Called on modified copies of ``x``.
    x : ndarray of shape (n,)
    eps : float, default=1e-6
    indices : array of int, optional
        Coordinates to differentiate (default all); the others are left at 0.

    Returns
    -------
    grad : ndarray of shape (n,)
    """
    x = np.array(x, dtype=np.float64).ravel()
    grad = np.zeros_like(x)
    idx = np.arange(x.size) if indices is None else np.asarray(indices)
    for i in idx:
        old = x[i]
        x[i] = old + eps
        fp = func(x.copy())
        x[i] = old - eps
        fm = func(x.copy())
        x[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad


@dataclass
class GradientCheckResult:
    """Outcome of a gradient check.

    Attributes
    ----------
    params_error : float
        Largest relative error over the checked parameter coordinates.
    input_error : float or None
        Largest relative error over the checked input coordinates.
    n_checked : int
        Number of coordinates compared.
    """

    params_error: float
    input_error: float | None
    n_checked: int

    @property
    def max_error(self):
        return max(self.params_error, self.input_error or 0.0)


def check_gradients(func_and_grad, x, *, eps=1e-6, max_checks=None, random_state=0):
    """Compare ``func_and_grad(x) -> (value, gradient)`` with central differences.

    Returns a :class:`GradientCheckResult` (``input_error`` is None).
    """
    rng = check_random_state(random_state)
    x = np.array(x, dtype=np.float64).ravel()
    _, analytic = func_and_grad(x.copy())
    analytic = np.asarray(analytic, dtype=np.float64).ravel()
    idx = _pick(x.size, max_checks, rng)
    numeric = numerical_gradient(lambda v: func_and_grad(v)[0], x, eps=eps, indices=idx)
    return GradientCheckResult(relative_error(analytic[idx], numeric[idx]), None, len(idx))


def check_module_gradients(module, x, *, eps=1e-6, max_checks=None, check_input=True,
                           random_state=0):
    """Check a module's backward pass against finite differences.

    The scalar checked is ``sum(forward(x) * R)`` for a fixed random ``R``, so
    every output coordinate contributes. Parameters are perturbed through the
    module's flat view; they are restored afterwards.

    Parameters
    ----------
    module : Module
        Works in float64 for meaningful errors.
    x : ndarray
        Input; a tuple of arrays is not supported (wrap such modules).
    eps : float, default=1e-6
    max_checks : int, optional
        Check at most this many parameter (and input) coordinates, at random.
    check_input : bool, default=True
        Also check the gradient returned by ``backward``.
    random_state : int, default=0

    Returns
    -------
    GradientCheckResult
    """
    rng = check_random_state(random_state)
    x = np.array(x, dtype=np.float64)
    out = module.forward(x.copy())
    weights = rng.standard_normal(np.shape(out))

    module.zero_grad()
    module.forward(x.copy())
    grad_in = module.backward(weights.copy())
    analytic = module.get_flat_grads()
    theta = module.get_flat_params()

    def f_params(v):
        module.set_flat_params(v)
        return float(np.sum(module.forward(x.copy()) * weights))

    idx = _pick(theta.size, max_checks, rng)
    numeric = numerical_gradient(f_params, theta, eps=eps, indices=idx)
    module.set_flat_params(theta)
    p_err = relative_error(analytic[idx], numeric[idx])
    n_checked = len(idx)

    i_err = None
    if check_input:
        def f_input(v):
            return float(np.sum(module.forward(v.reshape(x.shape)) * weights))

        idx_in = _pick(x.size, max_checks, rng)
        numeric_in = numerical_gradient(f_input, x.ravel(), eps=eps, indices=idx_in)
        i_err = relative_error(np.asarray(grad_in).ravel()[idx_in], numeric_in[idx_in])
        n_checked += len(idx_in)
    return GradientCheckResult(p_err, i_err, n_checked)


def check_estimator_gradients(estimator, X, y, *, sample_weight=None, eps=1e-6,
                              max_checks=None, random_state=0):
    """Check an estimator's full training loss (data loss and penalties) end to end.

    ``estimator`` is one of the graphsig neural estimators whose network has
    been built (after ``fit`` or ``_initialize``); ``X`` and ``y`` must be in
    the internal form the training loop passes to ``_loss_and_gradients``
    (as returned by ``estimator._prepare_data``).
    """
    net = estimator.network_
    theta = net.get_flat_params()

    def func_and_grad(v):
        net.set_flat_params(v)
        value = estimator._loss_and_gradients(X, y, sample_weight)
        return value, net.get_flat_grads()

    try:
        return check_gradients(func_and_grad, theta, eps=eps, max_checks=max_checks,
                               random_state=random_state)
    finally:
        net.set_flat_params(theta)
