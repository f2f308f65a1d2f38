"""The activations of the graphsig models, in one table.

Every activation is one row of :data:`ACTIVATIONS`, an
:class:`ActivationFunction` that carries everything the models need of it:

``function(x)``
    the value ``y = f(x)``;
``derivative(x, y)``
    ``f'(x)``, given the input and the output (whichever is cheaper);
``second_derivative(x, y)``
    ``f''(x)``, for exact Hessian-vector products (R-operator passes);
``kernel_code``
    the integer naming its scalar form in the compiled time loops of the
    recurrent networks (:mod:`graphsig.models._rnn_kernels`), or None: the
    recurrent networks then run their numpy loop;
``module``
    None for parameter-free activations, which the generic
    :class:`Activation` module evaluates from the row; for activations with
    learned parameters, the :class:`~graphsig.models._layers.Module` class
    that implements them (:class:`AdaptiveActivation`, :class:`ModReLU`).

Adding an activation means adding one row (and, for a compiled form in the
recurrent loops, one branch in ``_rnn_kernels._activate`` for its code).
Every estimator that takes an ``activation`` name, :func:`make_activation`,
the recurrent loops and the Hessian-vector products read this table.

The adaptive activation (Geadah et al., 2020) interpolates between a softplus
of sharpness ``n`` (a ReLU as ``n`` grows) and a sigmoid:

.. math::

    \\gamma(x; n, s) = (1 - s)\\,\\frac{\\operatorname{softplus}(n x)}{n}
                      + s\\,\\sigma(n x),

with gain ``n > 0`` and saturation ``s`` in ``[0, 1]``. Both are learned, one
pair per layer or one pair per neuron.

Every activation module follows the layer interface of
:mod:`graphsig.models._layers` (``forward``, ``backward`` adding into
``grads``) and provides the stateless evaluations ``value(x)`` and
``partials(x, y)`` used by the recurrent networks, and the tangent
(R-operator) passes used for exact Hessian-vector products:
``forward_tangent`` gives the directional derivative of the output, and
``backward_tangent`` the directional derivative of the backward pass.
"""

import copy
import numbers
from functools import partial
from typing import Callable, NamedTuple, Optional

import numpy as np

from ._layers import Module

__all__ = [
    "ACTIVATIONS",
    "ActivationFunction",
    "Activation",
    "AdaptiveActivation",
    "ModReLU",
    "adaptive_activation",
    "activation_factory",
    "activation_partials",
    "activation_second_derivative",
    "activation_value",
    "adaptive_parameters",
    "build_activation",
    "check_adaptive_init",
    "make_activation",
    "sigmoid",
    "softplus",
]


# ---------------------------------------------------------------------------
# numerically stable elementwise functions
# ---------------------------------------------------------------------------
def sigmoid(x):
    """Overflow-free logistic function ``1 / (1 + exp(-x))``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x):
    """Overflow-free ``log(1 + exp(x))``."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


# the rows' functions: module-level (picklable), dtype-preserving
def _identity(x):
    return x


def _ones(x, y):
    return np.ones_like(x)


def _zeros(x, y):
    return np.zeros_like(x)


def _relu(x):
    return np.maximum(x, 0)


def _relu_derivative(x, y):
    return (x > 0).astype(x.dtype)


_LEAKY_SLOPE = 0.01


def _leaky_relu(x):
    return np.where(x > 0, x, _LEAKY_SLOPE * x)


def _leaky_relu_derivative(x, y):
    return np.where(x > 0, 1.0, _LEAKY_SLOPE).astype(x.dtype)


def _tanh_derivative(x, y):
    return 1 - y * y


def _tanh_second_derivative(x, y):
    return -2 * y * (1 - y * y)


def _logistic(x):
    return sigmoid(x).astype(x.dtype, copy=False)


def _logistic_derivative(x, y):
    return y * (1 - y)


def _logistic_second_derivative(x, y):
    return y * (1 - y) * (1 - 2 * y)


def _softplus(x):
    return softplus(x).astype(x.dtype, copy=False)


def _softplus_derivative(x, y):
    return sigmoid(x).astype(x.dtype, copy=False)


def _softplus_second_derivative(x, y):
    s = sigmoid(x)
    return (s * (1 - s)).astype(x.dtype, copy=False)


_GELU_C = float(np.sqrt(2 / np.pi))
_GELU_A = 0.044715


def _gelu(x):
    return 0.5 * x * (1 + np.tanh(_GELU_C * (x + _GELU_A * x**3)))


def _gelu_derivative(x, y):
    t = np.tanh(_GELU_C * (x + _GELU_A * x**3))
    du = _GELU_C * (1 + 3 * _GELU_A * x**2)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du


def _gelu_second_derivative(x, y):
    t = np.tanh(_GELU_C * (x + _GELU_A * x**3))
    du = _GELU_C * (1 + 3 * _GELU_A * x**2)
    d2u = 6 * _GELU_A * _GELU_C * x
    return (1 - t * t) * (du + 0.5 * x * (d2u - 2 * t * du * du))


class ActivationFunction(NamedTuple):
    """One row of :data:`ACTIVATIONS` (see the module docstring)."""

    function: Optional[Callable] = None
    derivative: Optional[Callable] = None
    second_derivative: Optional[Callable] = None
    kernel_code: Optional[int] = None
    module: Optional[type] = None
    description: str = ""


# filled below, once the modules of the parametrised activations exist
ACTIVATIONS = {}

class Activation(Module):
    """Parameter-free elementwise activation, evaluated from its row of :data:`ACTIVATIONS`.

    Parameters
    ----------
    name : str, default='relu'
        A key of :data:`ACTIVATIONS` whose row has no ``module``.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models._activations import Activation
    >>> act = Activation("relu")
    >>> act.forward(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> act.backward(np.ones(2))
    array([0., 1.])
    """

    def __init__(self, name="relu"):
        super().__init__()
        row = _row(name)
        if row.module is not None:
            raise ValueError(
                f"activation {name!r} has learned parameters; build it with build_activation"
            )
        self.name = name
        self._cache = None

    @property
    def _spec(self):
        return ACTIVATIONS[self.name]

    def __repr__(self):
        return f"Activation({self.name!r})"

    # -- layer interface ----------------------------------------------------
    def forward(self, x):
        y = self._spec.function(x)
        self._cache = (x, y)
        return y

    def backward(self, grad_out):
        x, y = self._cache
        return grad_out * self._spec.derivative(x, y)

    # -- stateless evaluation -------------------------------------------------
    def value(self, x):
        """Activation at ``x`` without caching anything."""
        return self._spec.function(x)

    def partials(self, x, y=None):
        """``(dy_dx, [])`` at input ``x`` with output ``y`` (computed if None)."""
        if y is None:
            y = self._spec.function(x)
        return self._spec.derivative(x, y), []

    def second_derivative(self, x, y=None):
        """``f''(x)`` at input ``x`` with output ``y`` (computed if None)."""
        if y is None:
            y = self._spec.function(x)
        return self._spec.second_derivative(x, y)

    def reduce_param_grads(self, arrays):
        """No parameters: an empty list."""
        return []

    def kernel_parameters(self, n_units):
        """``(code, p0, p1)`` for the compiled recurrent loops, or None."""
        code = self._spec.kernel_code
        if code is None:
            return None
        empty = np.zeros(n_units)
        return code, empty, empty

    # -- tangent (R-operator) passes ----------------------------------------
    def forward_tangent(self, x_dot, param_dots=()):
        """Directional derivative of the output of the last :meth:`forward`."""
        x, y = self._cache
        return self._spec.derivative(x, y) * x_dot

    def backward_tangent(self, grad_out, grad_out_dot, x_dot, param_dots=()):
        """Backward pass and its directional derivative (input gradient, its
        tangent, and an empty list of parameter-gradient tangents)."""
        x, y = self._cache
        fx = self._spec.derivative(x, y)
        fxx = self._spec.second_derivative(x, y)
        return grad_out * fx, grad_out_dot * fx + grad_out * fxx * x_dot, []


# smallest gain used in the computation (the stored parameter may be smaller)
_MIN_GAIN = 1e-3


def _reflect_unit(raw):
    """Reflect a real number into [0, 1] (a triangle wave); returns value and slope.

    Inside [0, 1] the value is the number itself with slope 1, so a parameter
    initialised in range behaves as the natural parameter; a step across a
    bound bounces back instead of sticking to it.
    """
    m = np.mod(raw, 2.0)
    value = np.where(m <= 1.0, m, 2.0 - m)
    slope = np.where(m <= 1.0, 1.0, -1.0)
    return value, slope


def _positive_gain(raw):
    """Gain ``max(|raw|, 1e-3)`` and its slope with respect to ``raw``."""
    a = np.abs(raw)
    value = np.maximum(a, _MIN_GAIN)
    slope = np.where(a > _MIN_GAIN, np.sign(raw), 0.0)
    return value, slope


def adaptive_activation(x, gain=1.0, saturation=0.0):
    """Adaptive activation ``(1 - s) softplus(n x) / n + s sigmoid(n x)``.

    Parameters
    ----------
    x : array_like
        Pre-activations.
    gain : float or array_like, default=1.0
        Gain ``n > 0``, broadcast against ``x`` (one per neuron along the last
        axis, or a scalar).
    saturation : float or array_like, default=0.0
        Saturation ``s`` in ``[0, 1]``: 0 gives a softplus of sharpness ``n``
        (a ReLU as ``n`` grows), 1 gives the sigmoid ``sigmoid(n x)``.

    Returns
    -------
    ndarray
        The activation, same shape as ``x`` (broadcast with the parameters).

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import adaptive_activation
    >>> x = np.array([-1.0, 0.5, 2.0])
    >>> np.round(adaptive_activation(x, gain=200.0, saturation=0.0), 4)
    array([0. , 0.5, 2. ])
    >>> bool(np.allclose(adaptive_activation(x, 1.0, 1.0), 1 / (1 + np.exp(-x))))
    True
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(gain, dtype=float)
    s = np.asarray(saturation, dtype=float)
    if np.any(n <= 0):
        raise ValueError("gain must be positive")
    if np.any((s < 0) | (s > 1)):
        raise ValueError("saturation must lie in [0, 1]")
    z = n * x
    return (1 - s) * softplus(z) / n + s * sigmoid(z)


def _adaptive_partials(x, n, s, second=False):
    """Value and partial derivatives of gamma(x; n, s) in the natural parameters.

    Returns a dict with ``f, fx, fn, fs`` and, if ``second``, ``fxx, fxn, fxs,
    fnn, fns`` (``fss`` is zero: gamma is affine in ``s``).
    """
    z = n * x
    sig = sigmoid(z)
    sp = softplus(z) / n
    ds = sig * (1 - sig)  # sigma'(z)
    u = x * sig - sp  # n * d(sp)/dn
    out = {
        "f": (1 - s) * sp + s * sig,
        "fx": (1 - s) * sig + s * n * ds,
        "fn": (1 - s) * u / n + s * x * ds,
        "fs": sig - sp,
    }
    if second:
        d2 = ds * (1 - 2 * sig)  # sigma''(z)
        out["fxx"] = (1 - s) * n * ds + s * n * n * d2
        out["fxn"] = (1 - s) * x * ds + s * (ds + n * x * d2)
        out["fxs"] = -sig + n * ds
        out["fnn"] = (1 - s) * (x * x * ds / n - 2 * u / (n * n)) + s * x * x * d2
        out["fns"] = -u / n + x * ds
    return out


class AdaptiveActivation(Module):
    """Adaptive activation with learned gain and saturation.

    ``gamma(x; n, s) = (1 - s) * softplus(n x) / n + s * sigmoid(n x)``.

    The stored parameters are the gain and saturation themselves; the
    computation uses ``n = max(|gain|, 1e-3)`` and ``s`` reflected into
    ``[0, 1]``, so unconstrained optimisers keep them valid without getting
    stuck at a bound. :attr:`gain` and :attr:`saturation` return the values in
    use.

    Parameters
    ----------
    n_units : int or None, default=None
        Width of the layer; required when ``per_neuron=True``.
    per_neuron : bool, default=False
        One (gain, saturation) pair per neuron instead of one per layer.
    gain : float, default=1.0
        Initial gain ``n > 0``.
    saturation : float, default=0.0
        Initial saturation ``s`` in ``[0, 1]``.
    learnable : bool, default=True
        Whether ``n`` and ``s`` are parameters (otherwise fixed constants).
    dtype : numpy dtype, default=float64

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import AdaptiveActivation
    >>> act = AdaptiveActivation(3, per_neuron=True, gain=2.0, saturation=0.5)
    >>> y = act.forward(np.zeros((4, 3)))
    >>> act.zero_grad(); g = act.backward(np.ones((4, 3)))
    >>> act.gain.shape, len(act.params)
    ((3,), 2)
    """

    def __init__(self, n_units=None, *, per_neuron=False, gain=1.0, saturation=0.0,
                 learnable=True, dtype=np.float64):
        super().__init__()
        if not gain > 0:
            raise ValueError(f"gain must be positive, got {gain!r}")
        if not 0 <= saturation <= 1:
            raise ValueError(f"saturation must lie in [0, 1], got {saturation!r}")
        if per_neuron and n_units is None:
            raise ValueError("n_units is required when per_neuron=True")
        shape = (int(n_units),) if per_neuron else (1,)
        self.n_units = n_units
        self.per_neuron = bool(per_neuron)
        self.learnable = bool(learnable)
        gain_arr = np.full(shape, gain, dtype=dtype)
        sat_arr = np.full(shape, saturation, dtype=dtype)
        if self.learnable:
            self.add_param("gain_param", gain_arr, decay=False)
            self.add_param("saturation_param", sat_arr, decay=False)
        else:
            self._fixed = (gain_arr, sat_arr)
        self._cache = None

    # -- parameter views ----------------------------------------------------
    def _raw(self):
        if self.learnable:
            return self.gain_param, self.saturation_param
        return self._fixed

    def _natural(self):
        raw_n, raw_s = self._raw()
        n, dn = _positive_gain(raw_n)
        s, ds = _reflect_unit(raw_s)
        return n, s, dn, ds

    @property
    def gain(self):
        """Gain ``n`` in use, shape ``(1,)`` or ``(n_units,)``."""
        return self._natural()[0]

    @property
    def saturation(self):
        """Saturation ``s`` in use, shape ``(1,)`` or ``(n_units,)``."""
        return self._natural()[1]

    def _sum_to_param(self, a):
        # reduce an array of the activation's shape to the parameter's shape
        a = a.reshape(-1, a.shape[-1])
        if self.per_neuron:
            return a.sum(axis=0)
        return np.array([a.sum()])

    # -- stateless evaluation (used by the recurrent networks) ---------------
    def value(self, x):
        """Activation at ``x`` without caching anything."""
        n, s, _, _ = self._natural()
        return ((1 - s) * softplus(n * x) / n + s * sigmoid(n * x)).astype(x.dtype, copy=False)

    def partials(self, x, y=None):
        """Derivative in ``x`` and derivatives in each entry of :attr:`params`.

        Returns ``(dy_dx, [dy_dparam, ...])``, arrays shaped like ``x`` (the
        second list is empty when not learnable); reduce ``grad * dy_dparam``
        to the parameter shapes with :meth:`reduce_param_grads`.
        """
        n, s, dn, ds = self._natural()
        p = _adaptive_partials(x, n, s)
        if not self.learnable:
            return p["fx"], []
        return p["fx"], [p["fn"] * dn, p["fs"] * ds]

    def reduce_param_grads(self, arrays):
        """Sum per-element parameter gradients to the parameter shapes."""
        return [self._sum_to_param(a) for a in arrays]

    # -- layer interface ----------------------------------------------------
    def forward(self, x):
        n, s, dn, ds = self._natural()
        parts = _adaptive_partials(x, n, s)
        self._cache = (x, parts)
        return parts["f"].astype(x.dtype, copy=False)

    def backward(self, grad_out):
        x, parts = self._cache
        if self.learnable:
            _, _, dn, ds = self._natural()
            self._grads["gain_param"] += self._sum_to_param(grad_out * parts["fn"]) * dn
            self._grads["saturation_param"] += self._sum_to_param(grad_out * parts["fs"]) * ds
        return grad_out * parts["fx"]

    def kernel_parameters(self, n_units):
        """``(code, gain, saturation)`` per unit for the compiled recurrent loops."""
        return (ACTIVATIONS["adaptive"].kernel_code,
                np.broadcast_to(self.gain, n_units).astype(np.float64),
                np.broadcast_to(self.saturation, n_units).astype(np.float64))

    # -- tangent (R-operator) passes ----------------------------------------
    def forward_tangent(self, x_dot, param_dots):
        """Directional derivative of the output of the last :meth:`forward`.

        ``x_dot`` is the tangent of the input and ``param_dots`` the tangents
        of :attr:`params` (ignored when not learnable).
        """
        x, _ = self._cache
        n, s, dn, ds = self._natural()
        p = _adaptive_partials(x, n, s, second=True)
        self._tangent = p
        out = p["fx"] * x_dot
        if self.learnable:
            n_dot = dn * param_dots[0]
            s_dot = ds * param_dots[1]
            out = out + p["fn"] * n_dot + p["fs"] * s_dot
        return out

    def backward_tangent(self, grad_out, grad_out_dot, x_dot, param_dots):
        """Backward pass and its directional derivative.

        Returns the input gradient, its tangent, and the tangents of the
        parameter gradients (a list, empty when not learnable). Call after
        :meth:`forward_tangent`; the parameter gradients themselves are not
        accumulated.
        """
        p = self._tangent
        n, s, dn, ds = self._natural()
        if self.learnable:
            n_dot = dn * param_dots[0]
            s_dot = ds * param_dots[1]
        else:
            n_dot = s_dot = 0.0
        fx_dot = p["fxx"] * x_dot + p["fxn"] * n_dot + p["fxs"] * s_dot
        gin = grad_out * p["fx"]
        gin_dot = grad_out_dot * p["fx"] + grad_out * fx_dot
        if not self.learnable:
            return gin, gin_dot, []
        fn_dot = p["fxn"] * x_dot + p["fnn"] * n_dot + p["fns"] * s_dot
        fs_dot = p["fxs"] * x_dot + p["fns"] * n_dot
        # the reparametrisations are piecewise linear: no second-order term
        g_n = self._sum_to_param(grad_out_dot * p["fn"] + grad_out * fn_dot) * dn
        g_s = self._sum_to_param(grad_out_dot * p["fs"] + grad_out * fs_dot) * ds
        return gin, gin_dot, [g_n, g_s]


class ModReLU(Module):
    """modReLU for real units: ``sign(z) * relu(|z| + b)`` with a learned bias per unit.

    The nonlinearity of the unitary and non-normal RNNs: it keeps the sign of
    a unit and shrinks its magnitude by ``-b``, which leaves the norm of the
    state almost unchanged when ``b`` is near zero.

    Parameters
    ----------
    n_units : int
    bias : float, default=-0.01
        Initial bias ``b``. The paper's copy-task models start near zero.
    dtype : numpy dtype, default=float64
    """

    def __init__(self, n_units, *, bias=-0.01, dtype=np.float64):
        super().__init__()
        self.n_units = int(n_units)
        self.add_param("b", np.full(self.n_units, bias, dtype=dtype), decay=False)
        self._cache = None

    def forward(self, x):
        mag = np.abs(x) + self.b
        on = mag > 0
        sign = np.sign(x)
        self._cache = (on, sign)
        return np.where(on, sign * mag, 0.0).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        on, sign = self._cache
        g = grad_out * on
        self._grads["b"] += (g * sign).reshape(-1, self.n_units).sum(axis=0)
        return g

    def value(self, x):
        """modReLU at ``x`` without caching anything."""
        mag = np.abs(x) + self.b
        return np.where(mag > 0, np.sign(x) * mag, 0.0).astype(x.dtype, copy=False)

    def partials(self, x, y=None):
        """``(dy_dx, [dy_db])``, arrays shaped like ``x``."""
        on = ((np.abs(x) + self.b) > 0).astype(x.dtype)
        return on, [on * np.sign(x)]

    def reduce_param_grads(self, arrays):
        """Sum per-element parameter gradients to the parameter shapes."""
        return [a.reshape(-1, self.n_units).sum(axis=0) for a in arrays]

    def kernel_parameters(self, n_units):
        """``(code, b, unused)`` for the compiled recurrent loops."""
        return (ACTIVATIONS["modrelu"].kernel_code, np.asarray(self.b, dtype=np.float64),
                np.zeros(n_units))

    def forward_tangent(self, x_dot, param_dots):
        """Directional derivative of the output of the last :meth:`forward`."""
        on, sign = self._cache
        return on * (x_dot + sign * param_dots[0])

    def backward_tangent(self, grad_out, grad_out_dot, x_dot, param_dots):
        """Backward pass and its directional derivative (the second derivatives vanish)."""
        on, sign = self._cache
        return (grad_out * on, grad_out_dot * on,
                self.reduce_param_grads([grad_out_dot * on * sign]))


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------
# Kernel codes are the branches of ``_rnn_kernels._activate``; they are fixed
# numbers (the compiled loops are cached on disk), never reused for another
# activation.
ACTIVATIONS.update({
    "identity": ActivationFunction(_identity, _ones, _zeros, kernel_code=0,
                                   description="x"),
    "tanh": ActivationFunction(np.tanh, _tanh_derivative, _tanh_second_derivative,
                               kernel_code=1, description="tanh(x)"),
    "relu": ActivationFunction(_relu, _relu_derivative, _zeros, kernel_code=2,
                               description="max(x, 0)"),
    "logistic": ActivationFunction(_logistic, _logistic_derivative,
                                   _logistic_second_derivative, kernel_code=3,
                                   description="1 / (1 + exp(-x))"),
    "softplus": ActivationFunction(_softplus, _softplus_derivative,
                                   _softplus_second_derivative, kernel_code=4,
                                   description="log(1 + exp(x))"),
    "modrelu": ActivationFunction(kernel_code=5, module=ModReLU,
                                  description="sign(x) max(|x| + b, 0), b learned per unit"),
    "adaptive": ActivationFunction(kernel_code=6, module=AdaptiveActivation,
                                   description="(1 - s) softplus(n x) / n + s sigmoid(n x), "
                                               "n and s learned"),
    "leaky_relu": ActivationFunction(_leaky_relu, _leaky_relu_derivative, _zeros,
                                     description="x if x > 0 else 0.01 x"),
    "gelu": ActivationFunction(_gelu, _gelu_derivative, _gelu_second_derivative,
                               description="Gaussian error linear unit (tanh form)"),
})

#: kernel code of each activation that has a compiled form in the recurrent loops
KERNEL_CODES = {name: row.kernel_code for name, row in ACTIVATIONS.items()
                if row.kernel_code is not None}

#: names accepted by :func:`build_activation` and the ``activation`` parameter of
#: the MLP and recurrent estimators
ACTIVATION_NAMES = tuple(ACTIVATIONS)


def _row(name):
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def build_activation(name, n_units=None, *, per_neuron=False, init=(1.0, 0.0),
                     dtype=np.float64):
    """Activation module for a layer of ``n_units`` units.

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`. ``'adaptive'`` is
        :class:`AdaptiveActivation` (learned gain and saturation), ``'modrelu'``
        is :class:`ModReLU` (learned bias per unit); the others are
        parameter-free :class:`Activation` modules.
    n_units : int, optional
        Width of the layer (required for 'modrelu' and for 'adaptive' with
        ``per_neuron``).
    per_neuron : bool, default=False
        For ``'adaptive'``: one (gain, saturation) pair per neuron instead of
        one per layer.
    init : tuple of float, default=(1.0, 0.0)
        For ``'adaptive'``: initial (gain, saturation).
    dtype : numpy dtype, default=float64
        Dtype of the learned parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models._activations import build_activation
    >>> build_activation("tanh").forward(np.zeros(2))
    array([0., 0.])
    """
    row = _row(name)
    if row.module is AdaptiveActivation:
        gain, saturation = init
        return AdaptiveActivation(n_units, per_neuron=per_neuron, gain=gain,
                                  saturation=saturation, dtype=dtype)
    if row.module is not None:
        return row.module(n_units, dtype=dtype)
    return Activation(name)


def make_activation(spec, n_units=None):
    """Build one activation module.

    Parameters
    ----------
    spec : str, Module or callable
        A key of :data:`ACTIVATIONS`; a module instance (deep-copied, so that
        each layer gets its own parameters); or a callable ``spec(n_units)``
        returning a module (for activations with per-neuron parameters).
    n_units : int, optional
        Width of the layer the activation follows.
    """
    if isinstance(spec, str):
        return build_activation(spec, n_units)
    if hasattr(spec, "forward") and hasattr(spec, "backward"):
        return copy.deepcopy(spec)
    if callable(spec):
        return spec(n_units)
    raise TypeError(f"activation must be a name, a module or a callable, got {spec!r}")


def activation_value(act, x):
    """Evaluate an activation module at ``x`` without touching its cache."""
    return act.value(x)


def activation_partials(act, x, y):
    """``(dy_dx, [dy_dparam, ...])`` of an activation at input ``x`` with output ``y``."""
    return act.partials(x, y)


def activation_second_derivative(act, x, y):
    """``f''(x)`` of a parameter-free activation with input ``x`` and output ``y``."""
    second = getattr(act, "second_derivative", None)
    if second is None:
        raise NotImplementedError(
            f"no second derivative for {type(act).__name__}; use its backward_tangent"
        )
    return second(x, y)


def activation_factory(name, *, per_neuron=False, init=(1.0, 0.0)):
    """Picklable callable ``factory(n_units) -> activation module`` for
    :func:`~graphsig.models._layers.make_mlp`."""
    _row(name)
    return partial(build_activation, name, per_neuron=per_neuron, init=tuple(init))


def adaptive_parameters(modules):
    """Gains and saturations of the adaptive activations among ``modules``.

    Returns two lists with one array per adaptive activation (in order), or
    ``(None, None)`` when there is none.
    """
    acts = [m for m in modules if isinstance(m, AdaptiveActivation)]
    if not acts:
        return None, None
    return [a.gain.copy() for a in acts], [a.saturation.copy() for a in acts]


def check_adaptive_init(value):
    """``(gain, saturation)`` as two floats, with a finite ``gain > 0`` and
    ``saturation`` in ``[0, 1]``; booleans are refused."""
    try:
        init = tuple(value)
    except TypeError:
        init = ()
    if (len(init) != 2
            or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)
                   for v in init)
            or not 0 < init[0] < np.inf or not 0 <= init[1] <= 1):
        raise ValueError(
            "adaptive_init must be a pair of numbers (finite gain > 0, saturation in "
            f"[0, 1]), got {value!r}"
        )
    return float(init[0]), float(init[1])
