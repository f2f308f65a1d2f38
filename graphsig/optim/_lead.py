"""Least-action dynamics (LEAD) and gradient descent-ascent for min-max games.

For a game ``min_x max_y f(x, y)`` the LEAD update (Hemmat, Mitra, Lajoie and
Mitliagkas, 2020) is

.. math::

    x_{k+1} &= x_k + \\beta \\Delta x_k - \\eta \\nabla_x f(x_k, y_k)
              - \\alpha \\nabla_{xy} f(x_k, y_k) \\Delta y_k, \\\\
    y_{k+1} &= y_k + \\beta \\Delta y_k + \\eta \\nabla_y f(x_k, y_k)
              + \\alpha \\nabla_{yx} f(x_k, y_k) \\Delta x_k,

with ``Delta x_k = x_k - x_{k-1}``: momentum ``beta``, the gradient step
``eta`` and a coupling ``alpha`` through the mixed second derivatives, which
damps the rotation that makes gradient descent-ascent (``alpha = 0``,
``beta = 0``) spiral away from the equilibrium of a bilinear game. The mixed
products need no second derivatives: to first order

.. math::

    \\nabla_{xy} f(x_k, y_k) \\Delta y_k \\approx
    \\nabla_x f(x_k, y_k) - \\nabla_x f(x_k, y_{k-1}),

exact when ``f`` is bilinear; :class:`LEADOptimizer` keeps ``x_{k-1}`` and
``y_{k-1}`` so that the caller can evaluate those gradients.
"""

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LEADOptimizer", "MinMaxResult", "solve_minmax"]


def _check_real(name, value, low=None, high=None, *, low_open=False, high_open=True):
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not math.isfinite(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return value


class LEADOptimizer:
    """LEAD update of two players' parameter arrays, in place.

    The minimising player owns ``params_x``, the maximising player
    ``params_y``. Each call to :meth:`step` takes both players' gradients at
    the current point (and, optionally, the mixed products) and moves both
    players simultaneously.

    Parameters
    ----------
    params_x, params_y : list of ndarray
        Parameters of the minimising and of the maximising player, updated in
        place.
    learning_rate : float, default=0.01
        ``eta > 0``.
    momentum : float, default=0.0
        ``beta`` in ``(-1, 1)``.
    coupling : float or None, default=None
        ``alpha >= 0``; None uses ``learning_rate``. ``coupling=0`` with
        ``momentum=0`` is simultaneous gradient descent-ascent.

    Attributes
    ----------
    previous_x, previous_y : list of ndarray
        Parameters before the last step (``x_{k-1}``, ``y_{k-1}``); equal to
        the initial parameters before the first step.
    t : int
        Number of steps taken.

    Examples
    --------
    The bilinear game ``f(x, y) = x y``, whose equilibrium is ``(0, 0)``:

    >>> import numpy as np
    >>> from graphsig.optim import LEADOptimizer
    >>> x, y = np.array([1.0]), np.array([1.0])
    >>> opt = LEADOptimizer([x], [y], learning_rate=0.2, coupling=0.4)
    >>> for _ in range(300):
    ...     mixed_x = y - opt.previous_y[0]     # d2f/dxdy (y_k - y_{k-1})
    ...     mixed_y = x - opt.previous_x[0]
    ...     opt.step([y.copy()], [x.copy()], [mixed_x], [mixed_y])
    >>> bool(abs(x[0]) < 1e-3 and abs(y[0]) < 1e-3)
    True
    """

    def __init__(self, params_x, params_y, *, learning_rate=0.01, momentum=0.0, coupling=None):
        self.params_x = list(params_x)
        self.params_y = list(params_y)
        for p in self.params_x + self.params_y:
            if not isinstance(p, np.ndarray):
                raise TypeError(f"parameters must be numpy arrays, got {type(p).__name__}")
        self.learning_rate = _check_real("learning_rate", learning_rate, 0, low_open=True,
                                         high=None)
        self.momentum = _check_real("momentum", momentum, -1, 1, low_open=True)
        self.coupling = (self.learning_rate if coupling is None else
                         _check_real("coupling", coupling, 0, high=None))
        self.previous_x = [p.copy() for p in self.params_x]
        self.previous_y = [p.copy() for p in self.params_y]
        self.t = 0

    def _update(self, params, previous, grads, mixed, sign, name):
        grads = list(grads)
        if len(grads) != len(params):
            raise ValueError(f"expected {len(params)} gradient arrays for {name}, "
                             f"got {len(grads)}")
        if mixed is None:
            mixed = [None] * len(params)
        else:
            mixed = list(mixed)
            if len(mixed) != len(params):
                raise ValueError(f"expected {len(params)} mixed-product arrays for {name}, "
                                 f"got {len(mixed)}")
        eta, beta, alpha = self.learning_rate, self.momentum, self.coupling
        for p, prev, g, m in zip(params, previous, grads, mixed):
            step = beta * (p - prev) + sign * eta * np.asarray(g)
            if m is not None and alpha != 0.0:
                step = step + sign * alpha * np.asarray(m)
            prev[...] = p
            p += step.astype(p.dtype, copy=False)

    def step(self, grads_x, grads_y, mixed_x=None, mixed_y=None):
        """One simultaneous step of both players.

        Parameters
        ----------
        grads_x, grads_y : list of ndarray
            ``grad_x f`` and ``grad_y f`` at the current parameters.
        mixed_x, mixed_y : list of ndarray or None
            ``grad_xy f (y_k - y_{k-1})`` and ``grad_yx f (x_k - x_{k-1})``
            (for instance ``grad_x f(x_k, y_k) - grad_x f(x_k, y_{k-1})``);
            None leaves out the coupling of that player.
        """
        self._update(self.params_x, self.previous_x, grads_x, mixed_x, -1.0, "x")
        self._update(self.params_y, self.previous_y, grads_y, mixed_y, +1.0, "y")
        self.t += 1


@dataclass
class MinMaxResult:
    """Outcome of :func:`solve_minmax`.

    Attributes
    ----------
    x, y : ndarray
        Final iterates.
    n_iter : int
        Steps taken.
    converged : bool
        Whether the gradient norm fell to ``tol``.
    diverged : bool
        Whether the iterates or gradients stopped being finite (the run stops).
    grad_norms : ndarray of shape (n_iter + 1,)
        ``sqrt(||grad_x f||^2 + ||grad_y f||^2)`` at each iterate.
    path : ndarray of shape (n_iter + 1, n_x + n_y) or None
        The iterates ``[x, y]``, when ``return_path=True``.
    """

    x: np.ndarray
    y: np.ndarray
    n_iter: int
    converged: bool
    diverged: bool
    grad_norms: np.ndarray
    path: np.ndarray | None = field(default=None, repr=False)


def _vector(name, value):
    arr = np.array(value, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def solve_minmax(grad_x, grad_y, x0, y0, *, method="lead", learning_rate=0.01, momentum=0.0,
                 coupling=None, mixed_products=None, max_iter=1000, tol=0.0,
                 return_path=False):
    """Solve ``min_x max_y f(x, y)`` from the players' gradients.

    Parameters
    ----------
    grad_x, grad_y : callable
        ``grad_x(x, y)`` and ``grad_y(x, y)`` return the gradients of ``f``
        with respect to ``x`` and to ``y`` (1-D arrays like ``x0``, ``y0``).
    x0, y0 : array-like of shape (n_x,), (n_y,)
        Starting point.
    method : {'lead', 'gda'}, default='lead'
        'lead' is the update of :class:`LEADOptimizer`; 'gda' is simultaneous
        gradient descent-ascent with momentum ``momentum`` and no coupling.
    learning_rate : float, default=0.01
    momentum : float, default=0.0
    coupling : float or None, default=None
        ``alpha`` of LEAD (None: ``learning_rate``); ignored by 'gda'.
    mixed_products : callable or None, default=None
        ``mixed_products(x, y, dx, dy) -> (grad_xy f dy, grad_yx f dx)``.
        None uses differences of gradients, ``grad_x(x, y) - grad_x(x, y - dy)``
        and ``grad_y(x, y) - grad_y(x - dx, y)`` (two more gradient
        evaluations per step; exact for bilinear games).
    max_iter : int, default=1000
    tol : float, default=0.0
        Stop once the joint gradient norm is at most ``tol``.
    return_path : bool, default=False
        Keep every iterate in ``result.path``.

    Returns
    -------
    MinMaxResult

    Examples
    --------
    On the bilinear game ``f(x, y) = x^T A y`` gradient descent-ascent spirals
    outwards and LEAD converges to the equilibrium ``(0, 0)``:

    >>> import numpy as np
    >>> from graphsig.optim import solve_minmax
    >>> A = np.array([[1.0, 0.5], [0.0, 1.0]])
    >>> gx, gy = (lambda x, y: A @ y), (lambda x, y: A.T @ x)
    >>> lead = solve_minmax(gx, gy, [1.0, 1.0], [1.0, -1.0], learning_rate=0.2,
    ...                     coupling=0.4, max_iter=500)
    >>> gda = solve_minmax(gx, gy, [1.0, 1.0], [1.0, -1.0], method="gda",
    ...                    learning_rate=0.2, max_iter=500)
    >>> bool(lead.grad_norms[-1] < 1e-6 < 1e3 < gda.grad_norms[-1])
    True

    References
    ----------
    Hemmat, Mitra, Lajoie and Mitliagkas, "LEAD: Least-Action Dynamics for
    Min-Max Optimization", arXiv:2010.13846, 2020.
    """
    if not (callable(grad_x) and callable(grad_y)):
        raise TypeError("grad_x and grad_y must be callables grad(x, y) -> array")
    if method not in ("lead", "gda"):
        raise ValueError(f"method must be 'lead' or 'gda', got {method!r}")
    if mixed_products is not None and not callable(mixed_products):
        raise TypeError("mixed_products must be None or a callable (x, y, dx, dy) -> (mx, my)")
    if (isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, numbers.Integral)
            or max_iter < 0):
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    tol = _check_real("tol", tol, 0, high=None)
    x = _vector("x0", x0)
    y = _vector("y0", y0)
    opt = LEADOptimizer([x], [y], learning_rate=learning_rate, momentum=momentum,
                        coupling=0.0 if method == "gda" else coupling)
    lead = method == "lead" and opt.coupling != 0.0

    def gradients(xv, yv):
        gxv = np.asarray(grad_x(xv, yv), dtype=np.float64)
        gyv = np.asarray(grad_y(xv, yv), dtype=np.float64)
        if gxv.shape != x.shape or gyv.shape != y.shape:
            raise ValueError(f"grad_x and grad_y must return arrays of shapes {x.shape} and "
                             f"{y.shape}, got {gxv.shape} and {gyv.shape}")
        return gxv, gyv

    norms = []
    path = [] if return_path else None
    converged = diverged = False
    n_iter = 0
    with np.errstate(over="ignore", invalid="ignore"):
        gx, gy = gradients(x.copy(), y.copy())
        for k in range(max_iter + 1):
            norm = float(np.sqrt(gx @ gx + gy @ gy))
            norms.append(norm)
            if return_path:
                path.append(np.concatenate([x, y]))
            if not (math.isfinite(norm) and np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                diverged = True
                break
            if norm <= tol:
                converged = True
                break
            if k == max_iter:
                break
            mx = my = None
            if lead:
                dx, dy = x - opt.previous_x[0], y - opt.previous_y[0]
                if mixed_products is not None:
                    mx, my = mixed_products(x.copy(), y.copy(), dx, dy)
                    mx, my = np.asarray(mx, dtype=np.float64), np.asarray(my, dtype=np.float64)
                else:
                    mx = gx - gradients(x.copy(), y - dy)[0]
                    my = gy - gradients(x - dx, y.copy())[1]
            opt.step([gx], [gy], None if mx is None else [mx], None if my is None else [my])
            n_iter += 1
            gx, gy = gradients(x.copy(), y.copy())
    return MinMaxResult(x=x, y=y, n_iter=n_iter, converged=converged, diverged=diverged,
                        grad_norms=np.array(norms),
                        path=np.array(path) if return_path else None)
