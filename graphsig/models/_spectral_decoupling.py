"""Spectral Decoupling: an MLP trained with an L2 penalty on its logits.

Gradient descent on the cross-entropy lets the features learned first starve
the others of gradient (Gradient Starvation, Pezeshki et al., 2021). Adding
``(lambda / 2) ||logits||^2`` to the loss decouples the dynamics of the
features so that the slower ones are learned too.
"""

import numbers

import numpy as np

from ._activations import sigmoid as _sigmoid
from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NumberInterval,
)
from ._losses import BinaryCrossEntropy, _weights
from ._multilayer_perceptron import MLP_PARAMETER_CONSTRAINTS, MLPMixin

__all__ = ["SpectralDecouplingClassifier"]


class SpectralDecouplingClassifier(MLPMixin, NeuralClassifierMixin, BaseNeuralEstimator):
    """MLP classifier with Spectral Decoupling, ``CE + (lambda/2) ||logits - gamma_y||^2``.

    The loss of a mini-batch is the mean over its samples of

    .. math::

        \\ell(x, y) = \\mathrm{CE}(f(x), y) + \\frac{\\lambda}{2}
                     \\lVert f(x) - \\gamma_y \\rVert^2,

    where ``f(x)`` are the logits. For two classes the network has a single
    logit with the logistic loss (as in the paper); for more it has one logit
    per class with the softmax cross-entropy. ``sd_lambda=0`` is plain
    training, so the plain network and Spectral Decoupling are compared with
    one class.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
    sd_lambda : float, default=0.01
        ``lambda >= 0``. The paper's ``sd_coef * mean(logits**2)`` is
        ``sd_lambda = 2 * sd_coef``.
    sd_gamma : None, float or array-like of shape (n_classes,), default=None
        Per-class shift ``gamma_y`` of the penalty. None is 0. For two classes
        a float ``g`` pulls the logit towards ``-g`` for the first class and
        ``+g`` for the second, and an array gives the target logit of each
        class. For more classes the logit of the true class is pulled towards
        ``gamma_y`` (a float: the same for every class) and the others towards 0.
    penalty_start : int, default=0
        Number of optimiser steps trained with ``sd_lambda * penalty_start_factor``
        before the full penalty applies (a warm-up of plain training).
    penalty_start_factor : float, default=0.0
        Fraction of ``sd_lambda`` applied during the warm-up.
    activation : str, default='relu'
        'relu', 'tanh', 'logistic', 'softplus', 'identity', 'modrelu' or
        'adaptive' (learned gain and saturation, see
        :class:`~graphsig.models._activations.AdaptiveActivation`).
    adaptive_per_neuron : bool, default=False
        For ``activation='adaptive'``: one (gain, saturation) pair per neuron
        instead of one per layer.
    adaptive_init : tuple of float, default=(1.0, 0.0)
        Initial (gain, saturation) of the adaptive activations.
    init : {'fan_in_uniform', 'glorot_uniform', 'he_uniform'}, default='fan_in_uniform'
        'fan_in_uniform' draws weights and biases uniformly on
        ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``, so that the hidden units' kinks
        start spread over the input space; the others draw the weights so and
        start the biases at zero.
    alpha : float, default=0.0
        L2 penalty on the weights, ``0.5 * alpha * ||W||^2 / batch size``.
    batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, \
n_iter_no_change
        Training loop, as in :class:`sklearn.neural_network.MLPClassifier`
        (``max_iter`` counts epochs).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    network_ : Sequential
    loss_curve_ : list of float
        Mean training loss (penalty included) per epoch.
    activation_gain_, activation_saturation_ : list of ndarray or None
        Fitted adaptive activation parameters per hidden layer.
    n_iter_, t_ : int
        Epochs and optimiser steps.

    References
    ----------
    Pezeshki, Kaba, Bengio, Courville, Precup and Lajoie, "Gradient Starvation:
    a learning proclivity in neural networks", NeurIPS 2021.

    Examples
    --------
    >>> from graphsig.datasets import make_shifted_moons
    >>> from graphsig.models import SpectralDecouplingClassifier
    >>> X, y = make_shifted_moons(100, random_state=0)
    >>> clf = SpectralDecouplingClassifier((20,), sd_lambda=0.01, max_iter=50,
    ...                                    learning_rate_init=0.01, random_state=0)
    >>> clf.fit(X, y).score(X, y)
    1.0
    """

    _parameter_constraints = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        **MLP_PARAMETER_CONSTRAINTS,
        "sd_lambda": [NumberInterval(numbers.Real, 0, None, closed="left")],
        "sd_gamma": [None, NumberInterval(numbers.Real, None, None, closed="neither"),
                     "array-like"],
        "penalty_start": [NumberInterval(numbers.Integral, 0, None, closed="left")],
        "penalty_start_factor": [NumberInterval(numbers.Real, 0, 1, closed="both")],
    }

    def __init__(self, hidden_layer_sizes=(100,), *, sd_lambda=0.01, sd_gamma=None,
                 penalty_start=0, penalty_start_factor=0.0, activation="relu",
                 adaptive_per_neuron=False, adaptive_init=(1.0, 0.0), init="fan_in_uniform",
                 alpha=0.0,
                 batch_size="auto", solver="adam", learning_rate_init=1e-3, momentum=0.9,
                 max_grad_norm=None, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 warm_start=False, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.sd_lambda = sd_lambda
        self.sd_gamma = sd_gamma
        self.penalty_start = penalty_start
        self.penalty_start_factor = penalty_start_factor
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

    # -- network and loss -------------------------------------------------------
    @property
    def _binary(self):
        return len(self.classes_) == 2

    def _n_outputs(self):
        return 1 if self._binary else len(self.classes_)

    def _loss_function(self):
        if self._binary:
            return BinaryCrossEntropy()
        return super()._loss_function()

    def _logit_targets(self, y):
        """``gamma_y`` for each sample: shape (n,) if binary, else (n, n_classes)."""
        n_classes = len(self.classes_)
        gamma = self.sd_gamma
        if gamma is None:
            return None
        if isinstance(gamma, numbers.Real):
            per_class = np.array([-gamma, gamma]) if self._binary else np.full(n_classes, gamma)
        else:
            raw = np.asarray(gamma)
            per_class = np.asarray(gamma, dtype=np.float64) if raw.dtype.kind in "iuf" else None
            if (per_class is None or per_class.shape != (n_classes,)
                    or not np.all(np.isfinite(per_class))):
                raise ValueError(
                    f"sd_gamma must be a float or an array of {n_classes} finite values (one per "
                    f"class), got {gamma!r}"
                )
        if self._binary:
            return per_class[y]
        targets = np.zeros((len(y), n_classes))
        targets[np.arange(len(y)), y] = per_class[y]
        return targets

    def _current_lambda(self):
        lam = float(self.sd_lambda)
        if getattr(self, "t_", 0) < self.penalty_start:
            lam *= self.penalty_start_factor
        return lam

    def _after_step(self):
        if self.t_ == self.penalty_start and self.penalty_start_factor != 1.0:
            # the objective changes here: restart the search for the best loss
            self.best_loss_ = np.inf
            self._no_improvement_count = 0

    def _output_penalty(self, output, y, sample_weight=None):
        lam = self._current_lambda()
        if lam == 0.0:
            return 0.0, None
        out = output[:, 0] if self._binary else output
        target = self._logit_targets(y)
        diff = out if target is None else out - target
        # mean over samples (weighted) of the squared norm of each sample's logits
        w = _weights(sample_weight, len(out), (len(out),), np.float64)
        if diff.ndim == 2:
            w = w[:, None]
        value = 0.5 * lam * float((w * diff * diff).sum())
        grad = lam * w * diff
        return value, grad.reshape(output.shape)

    def _prepare_data(self, X, y, *, reset=False, classes=None):
        X, y = super()._prepare_data(X, y, reset=reset, classes=classes)
        self._logit_targets(y[:1])  # validate sd_gamma against the classes
        return X, y

    # -- predictions ------------------------------------------------------------
    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        X = self._check_fitted_and_prepare(X)
        out = self._predict_output(X)
        return out[:, 0] if self._binary else out

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        if not self._fitted_binary():
            return super().predict_proba(X)
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        if not self._fitted_binary():
            return super().predict_log_proba(X)
        z = self.decision_function(X)
        return np.column_stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)])

    def predict(self, X):
        """Most probable class of each sample."""
        if not self._fitted_binary():
            return super().predict(X)
        return self.classes_[(self.decision_function(X) > 0).astype(np.intp)]

    def _fitted_binary(self):
        return hasattr(self, "classes_") and hasattr(self, "network_") and self._binary

    def _validation_score(self, X, y):
        out = self._predict_output(X)
        pred = (out[:, 0] > 0).astype(np.intp) if self._binary else out.argmax(axis=1)
        return float(np.mean(pred == y))

