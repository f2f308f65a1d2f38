"""Layers with hand-written forward and backward passes.

Every layer is a :class:`Module`. A module owns learnable parameter arrays and
gradient arrays of the same shapes, and its submodules. ``forward`` caches what
``backward`` needs; ``backward(grad_out)`` *adds* the gradients of the
parameters into ``grads`` and returns the gradient with respect to the input.
Call ``zero_grad`` before each backward pass. One ``forward`` is followed by at
most one ``backward``: a module used twice in one computation must be written as
its own module.

Parameters are updated in place by the optimisers, so references held by a
module stay valid during training. Arrays broadcast over leading dimensions:
a :class:`Dense` layer maps ``(..., n_in)`` to ``(..., n_out)``, which applies
one shared layer to every object or token of a sample.

The activations are in :mod:`graphsig.models._activations`, one table.
"""

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "Module",
    "Sequential",
    "Dense",
    "Normalization",
    "make_mlp",
]


class Module:
    """Base class of the layers and networks.

    Subclasses register parameters with :meth:`add_param` and submodules with
    :meth:`add_module`, and implement :meth:`forward` and :meth:`backward`.
    Any object with ``forward``/``backward`` methods and optional ``params`` /
    ``grads`` lists can also be used as a submodule.

    Attributes
    ----------
    params : list of ndarray
        Learnable arrays of this module and of its submodules, in a fixed order.
    grads : list of ndarray
        Gradient arrays, one per parameter, same shapes.
    decay_mask : list of bool
        Whether each parameter receives the L2 penalty of the estimators
        (weights do, biases and normalisation gains do not).
    """

    def __init__(self):
        self._param_names = []
        self._params = {}
        self._grads = {}
        self._decay = {}
        self._modules = {}

    # -- registration -------------------------------------------------------
    def add_param(self, name, value, *, decay=True):
        """Register a learnable array (stored as given) and its zero gradient."""
        if not isinstance(value, np.ndarray):
            raise TypeError(f"parameter {name!r} must be a numpy array")
        if name in self._params:
            raise ValueError(f"parameter {name!r} is already registered")
        self._param_names.append(name)
        self._params[name] = value
        self._grads[name] = np.zeros_like(value)
        self._decay[name] = bool(decay)
        return value

    def add_module(self, name, module):
        """Register a submodule; its parameters follow this module's own."""
        if name in self._modules:
            raise ValueError(f"module {name!r} is already registered")
        self._modules[name] = module
        return module

    def __getattr__(self, name):
        # called only when normal lookup fails
        d = self.__dict__
        if "_params" in d and name in d["_params"]:
            return d["_params"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def grad(self, name):
        """Gradient array of this module's own parameter ``name``."""
        return self._grads[name]

    # -- parameter views ----------------------------------------------------
    @property
    def params(self):
        out = [self._params[n] for n in self._param_names]
        for m in self._modules.values():
            out.extend(getattr(m, "params", []))
        return out

    @property
    def grads(self):
        out = [self._grads[n] for n in self._param_names]
        for m in self._modules.values():
            out.extend(getattr(m, "grads", []))
        return out

    @property
    def decay_mask(self):
        out = [self._decay[n] for n in self._param_names]
        for m in self._modules.values():
            sub = getattr(m, "decay_mask", None)
            if sub is None:
                sub = [True] * len(getattr(m, "params", []))
            out.extend(sub)
        return out

    @property
    def n_params(self):
        """Number of learnable scalars."""
        return int(sum(p.size for p in self.params))

    def zero_grad(self):
        """Set every gradient array to zero (in place)."""
        for g in self.grads:
            g[...] = 0

    def get_flat_params(self):
        """All parameters concatenated into one new 1-D array."""
        params = self.params
        if not params:
            return np.zeros(0)
        return np.concatenate([p.ravel() for p in params])

    def set_flat_params(self, vector):
        """Copy a 1-D vector (as from :meth:`get_flat_params`) into the parameters in place."""
        vector = np.asarray(vector)
        n = self.n_params
        if vector.shape != (n,):
            raise ValueError(f"expected a vector of {n} parameters, got shape {vector.shape}")
        start = 0
        for p in self.params:
            p[...] = vector[start : start + p.size].reshape(p.shape)
            start += p.size

    def get_flat_grads(self):
        """All gradients concatenated into one new 1-D array."""
        grads = self.grads
        if not grads:
            return np.zeros(0)
        return np.concatenate([g.ravel() for g in grads])

    # -- computation --------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def clear_cache(self):
        """Drop the arrays cached by the last forward pass (smaller pickles)."""
        for key in [k for k in self.__dict__ if k.startswith("_cache")]:
            self.__dict__[key] = None
        for m in self._modules.values():
            if hasattr(m, "clear_cache"):
                m.clear_cache()

    def __repr__(self):
        return f"{type(self).__name__}(n_params={self.n_params})"


class Sequential(Module):
    """Modules applied one after the other."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    @property
    def layers(self):
        return list(self._modules.values())

    def forward(self, x):
        for m in self._modules.values():
            x = m.forward(x)
        return x

    def backward(self, grad_out):
        for m in reversed(self._modules.values()):
            grad_out = m.backward(grad_out)
        return grad_out


def _init_weight(rng, n_in, n_out, init, dtype):
    if init == "glorot_uniform":
        bound = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
    if init == "he_uniform":
        bound = np.sqrt(6.0 / n_in)
        return rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
    if init == "fan_in_uniform":
        bound = 1.0 / np.sqrt(n_in)
        return rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
    if init == "lecun_normal":
        return (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype)
    if init == "zeros":
        return np.zeros((n_in, n_out), dtype=dtype)
    raise ValueError(
        f"unknown init {init!r}; use 'glorot_uniform', 'he_uniform', 'fan_in_uniform', "
        "'lecun_normal' or 'zeros'"
    )


class Dense(Module):
    """Affine map ``y = x @ W + b`` over the last axis.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    bias : bool, default=True
    init : {'glorot_uniform', 'he_uniform', 'fan_in_uniform', 'lecun_normal', 'zeros'}
        Weight initialisation; biases start at zero, except with
        'fan_in_uniform', which draws weights and biases from
        ``U(-1/sqrt(n_in), 1/sqrt(n_in))``.
    random_state : int, RandomState or None
    dtype : numpy dtype, default=float64
    """

    def __init__(self, n_in, n_out, *, bias=True, init="glorot_uniform", random_state=None,
                 dtype=np.float64):
        super().__init__()
        rng = check_random_state(random_state)
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.add_param("W", _init_weight(rng, self.n_in, self.n_out, init, dtype))
        self.use_bias = bool(bias)
        if self.use_bias:
            if init == "fan_in_uniform":
                bound = 1.0 / np.sqrt(self.n_in)
                b = rng.uniform(-bound, bound, self.n_out).astype(dtype)
            else:
                b = np.zeros(self.n_out, dtype=dtype)
            self.add_param("b", b, decay=False)
        self._cache = None

    def forward(self, x):
        self._cache = x
        y = x @ self.W
        if self.use_bias:
            y = y + self.b
        return y

    def backward(self, grad_out):
        x = self._cache
        x2 = x.reshape(-1, self.n_in)
        g2 = grad_out.reshape(-1, self.n_out)
        self._grads["W"] += x2.T @ g2
        if self.use_bias:
            self._grads["b"] += g2.sum(axis=0)
        return grad_out @ self.W.T


def make_mlp(layer_sizes, *, activation="relu", output_activation=None, init="glorot_uniform",
             random_state=None, dtype=np.float64):
    """Multi-layer perceptron as a :class:`Sequential` of Dense and activations.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_in, hidden_1, ..., n_out]``; at least two entries.
    activation : str, Module or callable
        Hidden nonlinearity, see
        :func:`~graphsig.models._activations.make_activation`.
    output_activation : str, Module, callable or None
        Nonlinearity after the last layer; None leaves it linear.
    init, random_state, dtype
        Passed to :class:`Dense`.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models._layers import make_mlp
    >>> net = make_mlp([3, 8, 2], random_state=0)
    >>> net.forward(np.ones((5, 3))).shape
    (5, 2)
    >>> net.n_params
    50
    """
    from ._activations import make_activation  # the activations build on Module

    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2:
        raise ValueError("layer_sizes needs at least an input and an output width")
    rng = check_random_state(random_state)
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(Dense(sizes[i], sizes[i + 1], init=init, random_state=rng, dtype=dtype))
        last = i == len(sizes) - 2
        spec = output_activation if last else activation
        if spec is not None and spec != "identity":
            modules.append(make_activation(spec, sizes[i + 1]))
    return Sequential(*modules)


class Normalization(Module):
    """Standardise over some axes, then a learned per-feature gain and shift.

    ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` with the mean and
    variance taken over ``axis``, and ``gamma``, ``beta`` of the size of the last
    axis. ``axis=-1`` is layer normalisation; for inputs of shape
    ``(n_samples, n_objects, n_features)``, ``axis=-2`` is the context
    normalisation of CoRelNet (each feature standardised across the objects of
    one sample).

    Parameters
    ----------
    n_features : int
    axis : int or tuple of int, default=-1
    eps : float, default=1e-8
    affine : bool, default=True
        Learn ``gamma`` (initialised to 1) and ``beta`` (initialised to 0).
    """

    def __init__(self, n_features, *, axis=-1, eps=1e-8, affine=True, dtype=np.float64):
        super().__init__()
        self.n_features = int(n_features)
        self.axis = axis
        self.eps = float(eps)
        self.affine = bool(affine)
        if self.affine:
            self.add_param("gamma", np.ones(self.n_features, dtype=dtype), decay=False)
            self.add_param("beta", np.zeros(self.n_features, dtype=dtype), decay=False)
        self._cache = None

    def forward(self, x):
        mean = x.mean(axis=self.axis, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=self.axis, keepdims=True)
        inv = 1.0 / np.sqrt(var + self.eps)
        xhat = xc * inv
        self._cache = (xhat, inv)
        if self.affine:
            return xhat * self.gamma + self.beta
        return xhat

    def backward(self, grad_out):
        xhat, inv = self._cache
        if self.affine:
            lead = tuple(range(grad_out.ndim - 1))
            self._grads["gamma"] += (grad_out * xhat).sum(axis=lead)
            self._grads["beta"] += grad_out.sum(axis=lead)
            g = grad_out * self.gamma
        else:
            g = grad_out
        m1 = g.mean(axis=self.axis, keepdims=True)
        m2 = (g * xhat).mean(axis=self.axis, keepdims=True)
        return inv * (g - m1 - xhat * m2)
