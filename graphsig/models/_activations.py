"""Activations with learnable shape: the adaptive activation and modReLU.

The adaptive activation (Geadah et al., 2020) interpolates between a softplus
of sharpness ``n`` (a ReLU as ``n`` grows) and a sigmoid:

.. math::

    \\gamma(x; n, s) = (1 - s)\\,\\frac{\\operatorname{softplus}(n x)}{n}
                      + s\\,\\sigma(n x),

with gain ``n > 0`` and saturation ``s`` in ``[0, 1]``. Both are learned, one
pair per layer or one pair per neuron.

Both modules follow the layer interface of :mod:`graphsig.models._layers`
(``forward``, ``backward`` adding into ``grads``). They also provide the
tangent (R-operator) passes used for exact Hessian-vector products:
``forward_tangent`` gives the directional derivative of the output, and
``backward_tangent`` the directional derivative of the backward pass.
"""

import numbers
from functools import partial

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._layers import ACTIVATIONS, Identity, Module, _sigmoid, _softplus

__all__ = [
    "adaptive_activation",
    "AdaptiveActivation",
    "ModReLU",
    "ACTIVATION_NAMES",
    "build_activation",
    "activation_value",
    "activation_partials",
    "activation_factory",
    "adaptive_parameters",
    "AdaptiveMLPMixin",
    "MLP_PARAMETER_CONSTRAINTS",
    "check_adaptive_init",
]

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
    return (1 - s) * _softplus(z) / n + s * _sigmoid(z)


def _adaptive_partials(x, n, s, second=False):
    """Value and partial derivatives of gamma(x; n, s) in the natural parameters.

    Returns a dict with ``f, fx, fn, fs`` and, if ``second``, ``fxx, fxn, fxs,
    fnn, fns`` (``fss`` is zero: gamma is affine in ``s``).
    """
    z = n * x
    sig = _sigmoid(z)
    sp = _softplus(z) / n
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
        return ((1 - s) * _softplus(n * x) / n + s * _sigmoid(n * x)).astype(x.dtype, copy=False)

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

    def forward_tangent(self, x_dot, param_dots):
        """Directional derivative of the output of the last :meth:`forward`."""
        on, sign = self._cache
        return on * (x_dot + sign * param_dots[0])

    def backward_tangent(self, grad_out, grad_out_dot, x_dot, param_dots):
        """Backward pass and its directional derivative (the second derivatives vanish)."""
        on, sign = self._cache
        return (grad_out * on, grad_out_dot * on,
                self.reduce_param_grads([grad_out_dot * on * sign]))


#: names accepted by :func:`build_activation`
ACTIVATION_NAMES = ("identity", "relu", "tanh", "logistic", "softplus", "adaptive", "modrelu")


def build_activation(name, n_units, *, per_neuron=False, init=(1.0, 0.0), dtype=np.float64):
    """Activation module for a layer of ``n_units`` units.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATION_NAMES`. ``'adaptive'`` is
        :class:`AdaptiveActivation` (learned gain and saturation), ``'modrelu'``
        is :class:`ModReLU` (learned bias per unit); the others are the
        parameter-free activations of the training core.
    n_units : int
    per_neuron : bool, default=False
        For ``'adaptive'``: one (gain, saturation) pair per neuron instead of
        one per layer.
    init : tuple of float, default=(1.0, 0.0)
        For ``'adaptive'``: initial (gain, saturation).
    dtype : numpy dtype, default=float64
    """
    if name == "adaptive":
        gain, saturation = init
        return AdaptiveActivation(n_units, per_neuron=per_neuron, gain=gain,
                                  saturation=saturation, dtype=dtype)
    if name == "modrelu":
        return ModReLU(n_units, dtype=dtype)
    if name not in ACTIVATION_NAMES:
        raise ValueError(f"unknown activation {name!r}; choose one of {list(ACTIVATION_NAMES)}")
    return ACTIVATIONS[name]()


def activation_value(act, x):
    """Evaluate an activation module at ``x`` without touching its cache."""
    if hasattr(act, "value"):
        return act.value(x)
    if isinstance(act, Identity):
        return x
    return act._f(x)


def activation_partials(act, x, y):
    """``(dy_dx, [dy_dparam, ...])`` of an activation at input ``x`` with output ``y``."""
    if hasattr(act, "partials"):
        return act.partials(x, y)
    if isinstance(act, Identity):
        return np.ones_like(x), []
    return act._df(x, y), []


def activation_factory(name, *, per_neuron=False, init=(1.0, 0.0)):
    """Picklable callable ``factory(n_units) -> activation module`` for :func:`make_mlp`."""
    if name not in ACTIVATION_NAMES:
        raise ValueError(f"unknown activation {name!r}; choose one of {list(ACTIVATION_NAMES)}")
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


#: constraints of the network parameters shared by the MLP estimators
MLP_PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like"],
    "activation": [StrOptions(set(ACTIVATION_NAMES))],
    "adaptive_per_neuron": ["boolean"],
    "adaptive_init": [tuple, list],
    "init": [StrOptions({"fan_in_uniform", "glorot_uniform", "he_uniform"})],
}


class AdaptiveMLPMixin:
    """Network building and fitted activation shapes of the MLP estimators.

    The estimator defines ``hidden_layer_sizes``, ``activation``,
    ``adaptive_per_neuron``, ``adaptive_init`` and ``init``, and ``_n_outputs()``.
    ``init='fan_in_uniform'`` draws weights and biases uniformly on
    ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``; 'glorot_uniform' and 'he_uniform'
    draw the weights so and set the biases to zero.
    """

    def _hidden_sizes(self):
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        if sizes.ndim != 1 or not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1):
            raise ValueError(
                f"hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _check_adaptive_init(self):
        return check_adaptive_init(self.adaptive_init)

    def _build_network(self, X, y, random_state, dtype):
        from ._layers import make_mlp

        factory = activation_factory(self.activation, per_neuron=self.adaptive_per_neuron,
                                     init=self._check_adaptive_init())
        sizes = [X.shape[1], *self._hidden_sizes(), self._n_outputs()]
        return make_mlp(sizes, activation=factory, init=self.init, random_state=random_state,
                        dtype=np.float64)

    @property
    def activation_gain_(self):
        """Fitted gains ``n`` of the adaptive activations, one array per hidden layer
        (shape (1,) per layer or (width,) per neuron); None for other activations."""
        check_is_fitted(self, "network_")
        return adaptive_parameters(self.network_.layers)[0]

    @property
    def activation_saturation_(self):
        """Fitted saturations ``s``, as :attr:`activation_gain_`."""
        check_is_fitted(self, "network_")
        return adaptive_parameters(self.network_.layers)[1]
