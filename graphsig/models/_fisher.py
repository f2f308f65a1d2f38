"""Fisher penalty: an MLP trained with a penalty on the trace of the Fisher information.

Early in training with a small learning rate, the trace of the Fisher
information ``Tr F = E_x E_{y ~ p(.|x)} ||grad log p(y|x)||^2`` rises sharply
("Fisher explosion"), which goes with memorisation and poor generalisation
(Jastrzebski et al., 2021). The penalty ``alpha ||g_hat||^2``, with ``g_hat``
the mean gradient of the loss of a mini-batch on labels sampled from the
model, curbs it. Its gradient ``2 alpha H g_hat`` needs a Hessian-vector
product: computed exactly with a forward-mode (R-operator) pass through the
network's backward pass, or by central differences of gradients.
"""

import numbers

import numpy as np
from sklearn.utils._param_validation import StrOptions

from ._activations import (
    AdaptiveActivation,
    ModReLU,
    activation_partials,
    activation_second_derivative,
)
from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NumberInterval,
)
from ._layers import Dense
from ._losses import SoftmaxCrossEntropy, _weights, softmax
from ._multilayer_perceptron import MLP_PARAMETER_CONSTRAINTS, MLPMixin

__all__ = [
    "FisherPenaltyClassifier",
    "mlp_hessian_vector_product",
    "mlp_fisher_trace",
]


# ---------------------------------------------------------------------------
# second-order passes through a Sequential MLP
# ---------------------------------------------------------------------------
def _second_derivative(layer, x, y):
    """f''(x) of a parameter-free activation with input x and output y."""
    try:
        return activation_second_derivative(layer, x, y)
    except NotImplementedError:
        raise NotImplementedError(
            f"no Hessian-vector product through {type(layer).__name__}; use "
            "hvp='finite_difference'"
        ) from None


def _split_by_layer(vector, layers):
    out, start = [], 0
    for layer in layers:
        chunk = []
        for p in getattr(layer, "params", []):
            chunk.append(vector[start : start + p.size].reshape(p.shape))
            start += p.size
        out.append(chunk)
    return out


def mlp_hessian_vector_product(network, X, y, vector, sample_weight=None):
    """Exact Hessian-vector product of the mean softmax cross-entropy of an MLP.

    Pearlmutter's R-operator: the directional derivative, along ``vector``, of
    the forward pass and of the backward pass, in one sweep each way.

    Parameters
    ----------
    network : Sequential
        Dense layers and elementwise activations (those of the training core,
        :class:`~graphsig.models._activations.AdaptiveActivation` or
        :class:`~graphsig.models._activations.ModReLU`) whose last layer
        outputs logits.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) of int
        Class indices.
    vector : ndarray of shape (n_params,)
        Direction, in the order of ``network.get_flat_params()``.
    sample_weight : ndarray of shape (n_samples,), optional

    Returns
    -------
    ndarray of shape (n_params,)
        ``H @ vector``, with ``H`` the Hessian of the (weighted) mean loss.
        The network's gradients are left untouched.
    """
    layers = network.layers
    tangents = _split_by_layer(np.asarray(vector, dtype=np.float64), layers)
    a = X
    a_dot = np.zeros_like(X, dtype=np.float64)
    saved = []
    for layer, v in zip(layers, tangents):
        out = layer.forward(a)
        saved.append((a, a_dot, out))
        if isinstance(layer, Dense):
            out_dot = a_dot @ layer.W + a @ v[0]
            if layer.use_bias:
                out_dot = out_dot + v[1]
        elif isinstance(layer, (AdaptiveActivation, ModReLU)):
            out_dot = layer.forward_tangent(a_dot, v)
        else:
            out_dot = activation_partials(layer, a, out)[0] * a_dot
        a, a_dot = out, out_dot
    n = X.shape[0]
    w = _weights(sample_weight, n, (n,), np.float64)[:, None]
    p = softmax(a)
    g = p.copy()
    g[np.arange(n), y] -= 1
    g *= w
    g_dot = w * (p * a_dot - p * np.sum(p * a_dot, axis=1, keepdims=True))
    result = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        layer, v = layers[i], tangents[i]
        x, x_dot, y_out = saved[i]
        if isinstance(layer, Dense):
            parts = [x.T @ g_dot + x_dot.T @ g]
            if layer.use_bias:
                parts.append(g_dot.sum(axis=0))
            g, g_dot = g @ layer.W.T, g_dot @ layer.W.T + g @ v[0].T
        elif isinstance(layer, (AdaptiveActivation, ModReLU)):
            g, g_dot, parts = layer.backward_tangent(g, g_dot, x_dot, v)
        else:
            fx = activation_partials(layer, x, y_out)[0]
            fxx = _second_derivative(layer, x, y_out)
            g, g_dot = g * fx, g_dot * fx + g * fxx * x_dot
            parts = []
        result[i] = parts
    flat = [np.ravel(p) for parts in result for p in parts]
    return np.concatenate(flat) if flat else np.zeros(0)


def _per_sample_squared_norms(layers, saved, G):
    """Squared norms of per-sample parameter gradients.

    ``G`` of shape (n_directions, n_samples, n_outputs) holds, for each
    direction, the per-sample gradients of the outputs (unnormalised);
    ``saved`` the (input, output) of each layer. Returns an array of shape
    (n_directions, n_samples), without forming any per-sample gradient.
    """
    sq = np.zeros(G.shape[:2])
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        x, y_out = saved[i]
        if isinstance(layer, Dense):
            gg = np.einsum("cij,cij->ci", G, G)
            sq += np.einsum("ij,ij->i", x, x)[None, :] * gg
            if layer.use_bias:
                sq += gg
            if i == 0:
                break
            G = G @ layer.W.T
        else:
            fx, parts = activation_partials(layer, x, y_out)
            for param, part in zip(getattr(layer, "params", []), parts):
                contrib = G * part[None]
                if param.size == 1:
                    sq += contrib.sum(axis=2) ** 2
                else:
                    sq += np.einsum("cij,cij->ci", contrib, contrib)
            G = G * fx[None]
    return sq


def mlp_fisher_trace(network, X):
    """Trace of the Fisher information of an MLP classifier on inputs ``X``.

    ``Tr F = mean_i sum_c p(c|x_i) ||grad_theta log p(c|x_i)||^2``, computed
    exactly (the expectation over the model's labels is a sum over classes)
    from per-sample gradient norms, without forming per-sample gradients.

    Parameters
    ----------
    network : Sequential
        Dense layers and elementwise activations, logits out.
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    float
    """
    layers = network.layers
    saved = []
    a = X
    for layer in layers:
        out = layer.forward(a)
        saved.append((a, out))
        a = out
    p = softmax(a)
    n_classes = p.shape[1]
    # gradient of -log p(c|x) with respect to the logits, for every class c
    G = p[None, :, :] - np.eye(n_classes)[:, None, :]
    sq = _per_sample_squared_norms(layers, saved, G)
    return float(np.mean(np.sum(p.T * sq, axis=0)))


# ---------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------
class FisherPenaltyClassifier(MLPMixin, NeuralClassifierMixin, BaseNeuralEstimator):
    """MLP classifier with the Fisher penalty, recording the trace of the Fisher information.

    Each penalised step minimises

    .. math::

        L_B(\\theta) + \\alpha \\Big\\lVert \\frac{1}{B} \\sum_{i \\in B}
        \\nabla_\\theta \\ell(x_i, \\hat y_i) \\Big\\rVert^2,
        \\qquad \\hat y_i \\sim p_\\theta(\\cdot \\mid x_i),

    with the labels ``y_hat`` sampled from the model and held fixed. The
    gradient of the penalty is ``2 alpha H g``, a Hessian-vector product of the
    sampled-label loss, computed exactly (``hvp='exact'``, an R-operator pass)
    or by central differences of gradients (``hvp='finite_difference'``).
    Along training the trace of the Fisher information is measured on a fixed
    subset of the training inputs (:attr:`fisher_trace_`), exactly, as a sum
    over classes of per-sample gradient norms.

    The trace depends on the units of the features: the first layer's
    gradients grow linearly with them and the penalty's gradient with their
    fourth power, and off-centre features add a large curvature along their
    mean. In raw units a fixed ``fisher_penalty`` therefore ranges from
    negligible to overwhelming: on unscaled iris, wine or breast-cancer
    features the penalty wins over the data and the model ends at chance
    (confident constant predictions have a zero sampled-label gradient). By
    default (``standardize=True``) the features are therefore centred and
    scaled to unit variance on the training data, and the network, the
    penalty and the recorded trace all live in those units.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
    fisher_penalty : float, default=0.1
        ``alpha >= 0``; 0 trains without the penalty (the trace is still recorded).
    standardize : bool, default=True
        Centre and scale each feature by its mean and standard deviation on the
        data of the first ``fit`` (or ``partial_fit``) call before the network;
        constant features are only centred. False feeds the features as given,
        and the penalty's strength then depends on their units.
    penalty_interval : int, default=1
        The penalty and its gradient are computed on every
        ``penalty_interval``-th optimiser step only (steps 0, k, 2k, ...); the
        other steps use the plain loss. Larger values save time.
    hvp : {'exact', 'finite_difference'}, default='exact'
    finite_difference_step : float, default=1e-4
        Norm of the parameter perturbation of the central difference.
    fisher_trace_interval : int or None, default=10
        Record ``Tr F`` before training and after every
        ``fisher_trace_interval`` optimiser steps; None records nothing.
    fisher_trace_samples : int, default=512
        Size of the fixed random subset of the training inputs on which the
        trace is measured.
    activation : str, default='relu'
        'relu', 'tanh', 'logistic', 'softplus', 'identity', 'modrelu' or
        'adaptive' (learned gain and saturation).
    adaptive_per_neuron : bool, default=False
    adaptive_init : tuple of float, default=(1.0, 0.0)
    init : {'fan_in_uniform', 'glorot_uniform', 'he_uniform'}, default='fan_in_uniform'
    alpha : float, default=0.0
        L2 penalty on the weights (not the Fisher penalty).
    batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, \
n_iter_no_change
        Training loop, as in :class:`sklearn.neural_network.MLPClassifier`.

    Attributes
    ----------
    classes_ : ndarray
    network_ : Sequential
    feature_mean_, feature_scale_ : ndarray of shape (n_features,) or None
        The standardisation applied before the network (None when
        ``standardize=False``).
    fisher_trace_ : ndarray
        ``Tr F`` at the optimiser steps :attr:`fisher_trace_steps_`, measured in
        the standardised units when ``standardize=True``.
    fisher_trace_steps_ : ndarray of int
    loss_curve_ : list of float
        Mean data loss per epoch, without the Fisher penalty (which is sampled
        anew at every step and rises by design early in training); it drives
        the ``tol`` convergence check.
    activation_gain_, activation_saturation_ : list of ndarray or None
    n_iter_, t_ : int

    References
    ----------
    Jastrzebski, Arpit, Astrand, Kerg, Wang, Xiong, Socher, Cho and Geras,
    "Catastrophic Fisher explosion: early phase Fisher matrix impacts
    generalization", ICML 2021.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from graphsig.models import FisherPenaltyClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FisherPenaltyClassifier((16,), fisher_penalty=0.01, max_iter=100,
    ...                               learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> clf.fisher_trace_.shape == clf.fisher_trace_steps_.shape
    True
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _parameter_constraints = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        **MLP_PARAMETER_CONSTRAINTS,
        "fisher_penalty": [NumberInterval(numbers.Real, 0, None, closed="left")],
        "standardize": ["boolean"],
        "penalty_interval": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "hvp": [StrOptions({"exact", "finite_difference"})],
        "finite_difference_step": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "fisher_trace_interval": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
        "fisher_trace_samples": [NumberInterval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, hidden_layer_sizes=(100,), *, fisher_penalty=0.1, standardize=True,
                 penalty_interval=1,
                 hvp="exact", finite_difference_step=1e-4, fisher_trace_interval=10,
                 fisher_trace_samples=512, activation="relu", adaptive_per_neuron=False,
                 adaptive_init=(1.0, 0.0), init="fan_in_uniform", alpha=0.0,
                 batch_size="auto", solver="adam", learning_rate_init=1e-3, momentum=0.9,
                 max_grad_norm=None, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 warm_start=False, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.fisher_penalty = fisher_penalty
        self.standardize = standardize
        self.penalty_interval = penalty_interval
        self.hvp = hvp
        self.finite_difference_step = finite_difference_step
        self.fisher_trace_interval = fisher_trace_interval
        self.fisher_trace_samples = fisher_trace_samples
        self.activation = activation
        self.adaptive_per_neuron = adaptive_per_neuron
        self.adaptive_init = adaptive_init
        self.init = init
        self.alpha = alpha
        self.batch_size = batch_size
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.max_grad_norm = max_grad_norm
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    def _n_outputs(self):
        return len(self.classes_)

    # -- training ---------------------------------------------------------------
    def _prepare_X(self, X, *, reset):
        X = super()._prepare_X(X, reset=reset)
        if reset:
            if self.standardize:
                # moments of X / max|X| per column, so that no square overflows
                largest = np.max(np.abs(X), axis=0).astype(np.float64)
                largest[largest == 0] = 1.0
                unit = X / largest
                mean = unit.mean(axis=0, dtype=np.float64) * largest
                scale = unit.std(axis=0, dtype=np.float64) * largest
                constant = (scale == 0) | (scale <= 10 * np.finfo(np.float64).eps * np.abs(mean))
                scale[constant] = 1.0
                self.feature_mean_, self.feature_scale_ = mean, scale
            else:
                self.feature_mean_ = self.feature_scale_ = None
        if getattr(self, "feature_mean_", None) is None:
            return X
        return ((X - self.feature_mean_) / self.feature_scale_).astype(X.dtype, copy=False)

    def _initialize(self, X, y):
        super()._initialize(X, y)
        rs = self._random_state
        # labels are sampled from per-step seeds, so that one step's penalty is
        # a deterministic function of the parameters (and can be gradient-checked)
        self._label_seed = int(rs.randint(2**31 - 1))
        n = X.shape[0]
        idx = np.sort(rs.choice(n, size=min(n, self.fisher_trace_samples), replace=False))
        self._trace_inputs = np.asarray(X[idx], dtype=np.float64)
        self._fisher_trace = []
        self._fisher_trace_steps = []
        self._record_fisher_trace()

    def _record_fisher_trace(self):
        if self.fisher_trace_interval is None:
            return
        value = mlp_fisher_trace(self.network_, self._trace_inputs)
        self._fisher_trace.append(value)
        self._fisher_trace_steps.append(self.t_)

    def _after_step(self):
        if self.fisher_trace_interval is not None and self.t_ % self.fisher_trace_interval == 0:
            self._record_fisher_trace()

    def _sample_labels(self, X):
        """Labels drawn from the model's predictive distribution (inverse CDF of
        uniforms fixed by the step number)."""
        p = softmax(self.network_.forward(X))
        u = np.random.RandomState((self._label_seed + self.t_) % (2**31 - 1)).random_sample(
            len(p))
        cdf = np.cumsum(p, axis=1)
        return np.minimum((cdf < u[:, None]).sum(axis=1), p.shape[1] - 1)

    def _sampled_gradient(self, X, labels, sample_weight):
        net = self.network_
        net.zero_grad()
        _, g = SoftmaxCrossEntropy()(net.forward(X), labels, sample_weight)
        net.backward(g)
        return net.get_flat_grads()

    def _hessian_vector_product(self, X, labels, vector, sample_weight):
        if self.hvp == "exact":
            return mlp_hessian_vector_product(self.network_, X, labels, vector, sample_weight)
        net = self.network_
        theta = net.get_flat_params()
        # the unit direction and the norm, without overflow or underflow of the
        # squares for vectors of extreme magnitude (subnormal or near the float max)
        largest = float(np.max(np.abs(vector))) if vector.size else 0.0
        if largest == 0.0 or not np.isfinite(largest):
            return np.zeros_like(vector) if largest == 0.0 else np.full_like(vector, np.nan)
        scaled = vector / largest
        scaled_norm = float(np.linalg.norm(scaled))
        direction = scaled / scaled_norm
        h = self.finite_difference_step
        try:
            net.set_flat_params(theta + h * direction)
            g_plus = self._sampled_gradient(X, labels, sample_weight)
            net.set_flat_params(theta - h * direction)
            g_minus = self._sampled_gradient(X, labels, sample_weight)
        finally:
            net.set_flat_params(theta)
        # H v = |v| H u, with |v| = largest * scaled_norm
        return ((g_plus - g_minus) / (2 * h)) * scaled_norm * largest

    def _loss_and_gradients(self, X, y, sample_weight=None):
        value = super()._loss_and_gradients(X, y, sample_weight)
        alpha = float(self.fisher_penalty)
        if alpha == 0.0 or self.t_ % self.penalty_interval:
            return value
        net = self.network_
        data_grads = net.get_flat_grads()
        labels = self._sample_labels(X)
        g_sampled = self._sampled_gradient(X, labels, sample_weight)
        sq_norm = float(g_sampled @ g_sampled)
        hv = self._hessian_vector_product(X, labels, g_sampled, sample_weight)
        total = data_grads + 2 * alpha * hv
        start = 0
        for g in net.grads:
            g[...] = total[start : start + g.size].reshape(g.shape)
            start += g.size
        self._last_penalty = alpha * sq_norm
        return value + alpha * sq_norm

    def _tracked_loss(self, value):
        # the loss curve and the convergence check follow the data loss alone: the
        # penalty is sampled anew at every step and rises by design early on
        penalty, self._last_penalty = getattr(self, "_last_penalty", 0.0), 0.0
        return value - penalty

    def _fit(self, X, y, sample_weight=None, **kwargs):
        try:
            return super()._fit(X, y, sample_weight, **kwargs)
        finally:
            if hasattr(self, "_fisher_trace"):
                self.fisher_trace_ = np.asarray(self._fisher_trace, dtype=np.float64)
                self.fisher_trace_steps_ = np.asarray(self._fisher_trace_steps, dtype=np.intp)
