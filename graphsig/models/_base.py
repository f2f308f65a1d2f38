"""Estimator base classes: the mini-batch training loop shared by every model.

A model subclasses :class:`BaseNeuralEstimator` together with
:class:`NeuralClassifierMixin` or :class:`NeuralRegressorMixin` and provides
``_build_network`` (and, where its input is not a plain 2-D matrix,
``_prepare_X``). The base class runs Adam or SGD over shuffled mini-batches,
with an L2 penalty, optional gradient clipping, early stopping on a held-out
validation fraction, ``warm_start`` and ``partial_fit``, and stops with a
:class:`FloatingPointError` naming the epoch and step if the loss or the
gradients stop being finite.

Hooks, from the coarsest to the finest (override the finest that suffices):

``_loss_and_gradients(X, y, sample_weight)``
    Forward pass, loss, backward pass into ``network_.grads``; returns the
    scalar loss. Override for penalties that need extra passes (Hessian-vector
    products, sampled labels).
``_forward(X)`` / ``_backward(grad_output)``
    Default to ``network_.forward`` / ``network_.backward``.
``_data_loss(output, y, sample_weight)``
    Default: ``self._loss_function()``; returns ``(value, grad_output)``.
``_output_penalty(output, y, sample_weight)``
    Extra term on the outputs, ``(value, grad_output or None)``; default none.
``_parameter_penalty(n_samples)``
    Penalty on the parameters; adds its gradient into ``network_.grads`` and
    returns its value. Default: ``0.5 * alpha * ||W||^2 / n_samples`` over the
    weights (``network_.decay_mask``), as scikit-learn's MLP.
``_after_step()``
    Called after each optimiser step (projections, constraints, schedules).

Training and prediction run with BLAS limited to one thread (``_blas_threads``;
restored on return), as the matrices of these models are small.
"""

import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from threadpoolctl import ThreadpoolController

from ._losses import AbsoluteError, SoftmaxCrossEntropy, SquaredError, softmax
from ._optim import SGD, Adam, clip_gradients

__all__ = [
    "BaseNeuralEstimator",
    "NeuralClassifierMixin",
    "NeuralRegressorMixin",
    "NonFiniteOutputError",
    "NumberInterval",
    "TRAINING_PARAMETER_CONSTRAINTS",
    "encode_labels",
]


class NumberInterval(Interval):
    """A scikit-learn :class:`Interval` of finite numbers that refuses booleans.

    ``numbers.Integral`` and ``numbers.Real`` both include ``bool``, so a plain
    ``Interval(Integral, 1, None)`` accepts ``max_iter=True`` as 1 and
    ``Interval(Real, 0, 1)`` accepts ``momentum=False`` as 0: neither is a
    meaningful setting of a numeric hyperparameter. Infinite values are
    refused whatever the bounds.

    Examples
    --------
    >>> import numbers
    >>> NumberInterval(numbers.Integral, 1, None, closed="left").is_satisfied_by(True)
    False
    >>> NumberInterval(numbers.Integral, 1, None, closed="left").is_satisfied_by(3)
    True
    """

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        if (isinstance(val, numbers.Real) and not isinstance(val, numbers.Integral)
                and not math.isfinite(val)):
            return False
        return super().is_satisfied_by(val)


def _magnitude(X):
    """Largest absolute entry of an array (for error messages), or None."""
    try:
        X = np.asarray(X)
        if X.dtype.kind not in "fiu" or X.size == 0:
            return None
        with np.errstate(all="ignore"):
            return float(np.max(np.abs(X)))
    except (TypeError, ValueError):
        return None


class NonFiniteOutputError(ValueError):
    """A network computed NaN or infinity from finite inputs (an overflow)."""


def check_finite_network_output(values, X, what="the network output", network=None):
    """``values``, or a :class:`NonFiniteOutputError` if they overflowed.

    The message gives the largest magnitudes of the inputs ``X`` and of the
    parameters of ``network`` (when given), to tell large inputs from a
    network whose weights have grown too large.
    """
    data = np.asarray(values)
    if data.dtype.kind != "f" or data.size == 0 or np.isfinite(data).all():
        return values
    sizes = []
    largest = _magnitude(X)
    if largest is not None:
        sizes.append(f"the largest |X| is {largest:.3g}")
    if network is not None:
        largest = _magnitude(network.get_flat_params())
        if largest is not None:
            sizes.append(f"the largest |parameter| is {largest:.3g}")
    sizes = f" ({', '.join(sizes)})" if sizes else ""
    raise NonFiniteOutputError(
        f"{what} on X overflowed to a non-finite value{sizes}: the inputs or the fitted "
        "weights are too large for floating-point arithmetic in the network; standardise "
        "the inputs (e.g. with sklearn.preprocessing.StandardScaler)"
    )

#: constraints of the training parameters every estimator exposes
TRAINING_PARAMETER_CONSTRAINTS = {
    "alpha": [NumberInterval(numbers.Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), NumberInterval(numbers.Integral, 1, None,
                                                        closed="left")],
    "solver": [StrOptions({"adam", "sgd"})],
    "learning_rate_init": [NumberInterval(numbers.Real, 0, None, closed="neither")],
    "momentum": [NumberInterval(numbers.Real, 0, 1, closed="both")],
    "max_grad_norm": [None, NumberInterval(numbers.Real, 0, None, closed="neither")],
    "max_iter": [NumberInterval(numbers.Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [NumberInterval(numbers.Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [NumberInterval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [NumberInterval(numbers.Integral, 1, None, closed="left")],
}

_PREDICT_BATCH = 2048

_CONTROLLER = None


def _blas_limit(n_threads):
    """Context limiting BLAS to ``n_threads``; the libraries are looked up once."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=n_threads, user_api="blas")


class BaseNeuralEstimator(BaseEstimator):
    """Mini-batch training loop over a network of :class:`~graphsig.models._layers.Module`.

    Subclasses declare all their parameters in ``__init__`` (scikit-learn
    convention), including the training parameters listed in
    ``TRAINING_PARAMETER_CONSTRAINTS``, whose meanings follow
    :class:`sklearn.neural_network.MLPClassifier`:

    alpha : L2 penalty on the weights, ``0.5 * alpha * ||W||^2 / batch size``.
    batch_size : int or 'auto' (``min(200, n_samples)``).
    solver : 'adam' or 'sgd' (with ``momentum``, Nesterov).
    learning_rate_init, momentum, max_grad_norm (clip the joint gradient norm, or None).
    max_iter : epochs per call to ``fit``.
    shuffle, random_state, tol, n_iter_no_change.
    warm_start : continue from the fitted network and optimiser state on ``fit``.
    early_stopping, validation_fraction : hold out a fraction of the training
        data, stop when its score (accuracy or R^2) stops improving by ``tol``
        for ``n_iter_no_change`` epochs, and keep the best parameters.

    Fitted attributes: ``network_``, ``n_iter_`` (epochs, cumulative over warm
    starts), ``t_`` (optimiser steps), ``loss_`` and ``loss_curve_`` (mean
    training loss per epoch, penalties included), ``best_loss_``,
    ``validation_scores_``, ``best_validation_score_``, ``n_features_in_``.
    """

    _parameter_constraints = dict(TRAINING_PARAMETER_CONSTRAINTS)

    #: BLAS threads while training (None: leave the BLAS setting alone). The
    #: matrices of these small networks are too small for threads to pay, and
    #: threads slow training down badly on a busy machine; the limit is set with
    #: threadpoolctl for the duration of ``fit`` / ``partial_fit`` only.
    _blas_threads = 1

    # -- hooks for subclasses -------------------------------------------------
    def _prepare_X(self, X, *, reset):
        """Validate X and return the array the network consumes."""
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])

    def _build_network(self, X, y, random_state, dtype):
        """Return a new Module for inputs like ``X`` and internal targets like ``y``."""
        raise NotImplementedError

    def _forward(self, X):
        return self.network_.forward(X)

    def _backward(self, grad_output):
        return self.network_.backward(grad_output)

    def _data_loss(self, output, y, sample_weight=None):
        return self._loss_function()(output, y, sample_weight)

    def _output_penalty(self, output, y, sample_weight=None):
        return 0.0, None

    def _parameter_penalty(self, n_samples):
        alpha = float(getattr(self, "alpha", 0.0))
        if alpha == 0.0:
            return 0.0
        value = 0.0
        net = self.network_
        for p, g, decay in zip(net.params, net.grads, net.decay_mask):
            if decay:
                value += float(np.vdot(p, p))
                g += (alpha / n_samples) * p
        return 0.5 * alpha * value / n_samples

    def _tracked_loss(self, value):
        """The part of a step's objective that the loss curve and ``tol`` follow."""
        return value

    def _after_step(self):
        pass

    def _loss_and_gradients(self, X, y, sample_weight=None):
        """Loss of one batch (penalties included); gradients in ``network_.grads``."""
        self.network_.zero_grad()
        output = self._forward(X)
        value, grad = self._data_loss(output, y, sample_weight)
        pen, pen_grad = self._output_penalty(output, y, sample_weight)
        value += pen
        if pen_grad is not None:
            grad = grad + pen_grad
        self._backward(grad)
        value += self._parameter_penalty(X.shape[0] if hasattr(X, "shape") else len(X))
        return value

    def _validation_score(self, X, y):
        raise NotImplementedError

    # -- shared machinery -----------------------------------------------------
    def _make_optimizer(self):
        params = self.network_.params
        if self.solver == "adam":
            return Adam(params, learning_rate=self.learning_rate_init)
        return SGD(params, learning_rate=self.learning_rate_init, momentum=self.momentum,
                   nesterov=self.momentum > 0)

    def _initialize(self, X, y):
        self._random_state = check_random_state(self.random_state)
        self._dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        self.network_ = self._build_network(X, y, self._random_state, self._dtype)
        self._optimizer = self._make_optimizer()
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None

    def _prepare_data(self, X, y, *, reset=False, classes=None):
        """Internal (X, y) as passed to ``_loss_and_gradients``."""
        X = self._prepare_X(X, reset=reset)
        y = self._prepare_y(y, reset=reset, classes=classes)
        n_x = X.shape[0] if hasattr(X, "shape") else len(X)
        if n_x != len(y):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {n_x} and {len(y)}"
            )
        return X, y

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n_samples} training "
                "samples; using the whole set as one batch.",
                UserWarning,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        if self._blas_threads is None:
            return self._fit_unlimited(X, y, sample_weight, incremental=incremental,
                                       classes=classes)
        with _blas_limit(self._blas_threads):
            return self._fit_unlimited(X, y, sample_weight, incremental=incremental,
                                       classes=classes)

    def _fit_unlimited(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        self._validate_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        first = not hasattr(self, "network_") or not (self.warm_start or incremental)
        X, y = self._prepare_data(X, y, reset=first, classes=classes)
        n_samples = len(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, np.empty(n_samples),
                                                 dtype=np.float64)
        if first:
            self._initialize(X, y)

        early_stopping = self.early_stopping and not incremental
        if early_stopping:
            if self.validation_scores_ is None:
                self.validation_scores_ = []
            if self.best_validation_score_ is None:
                self.best_validation_score_ = -np.inf
            stratify = self._stratify(y)
            idx_train, idx_val = train_test_split(
                np.arange(n_samples), test_size=self.validation_fraction,
                random_state=self._random_state, stratify=stratify,
            )
            X_val, y_val = X[idx_val], y[idx_val]
            X, y = X[idx_train], y[idx_train]
            if sample_weight is not None:
                sample_weight = sample_weight[idx_train]
            n_samples = len(y)
            best_params = self.network_.get_flat_params()
            self.best_validation_score_ = -np.inf
        self._no_improvement_count = 0

        batch_size = self._batch_size(n_samples)
        n_epochs = 1 if incremental else self.max_iter
        converged = False
        for _ in range(n_epochs):
            order = (self._random_state.permutation(n_samples) if self.shuffle
                     else np.arange(n_samples))
            total = 0.0
            for start in range(0, n_samples, batch_size):
                batch = order[start : start + batch_size]
                sw = None if sample_weight is None else sample_weight[batch]
                value = self._loss_and_gradients(X[batch], y[batch], sw)
                grads = self.network_.grads
                norm = clip_gradients(grads, self.max_grad_norm)
                if not (np.isfinite(value) and np.isfinite(norm)):
                    what = "loss" if not np.isfinite(value) else "gradient norm"
                    if self.t_ == 0:
                        # no step taken yet: the data, not the training, overflowed
                        largest = _magnitude(X)
                        size = "" if largest is None else f" (the largest |X| is {largest:.3g})"
                        raise ValueError(
                            f"the {what} of the initial network is not finite on the training "
                            f"data: the inputs{size}, the targets or a penalty weight are too "
                            "large for floating-point arithmetic in the network; standardise "
                            "the data (e.g. with sklearn.preprocessing.StandardScaler)"
                        )
                    raise FloatingPointError(
                        f"training diverged at epoch {self.n_iter_ + 1}, step {self.t_ + 1}: "
                        f"the {what} is not finite (loss={value}). Try a smaller "
                        f"learning_rate_init (now {self.learning_rate_init}), a max_grad_norm, "
                        "or standardised inputs."
                    )
                self._optimizer.step(grads)
                self.t_ += 1
                self._after_step()
                total += self._tracked_loss(value) * len(batch)
            self.n_iter_ += 1
            self.loss_ = total / n_samples
            self.loss_curve_.append(self.loss_)

            if early_stopping:
                try:
                    score = float(self._validation_score(X_val, y_val))
                except NonFiniteOutputError as exc:
                    raise FloatingPointError(
                        f"training diverged at epoch {self.n_iter_}, step {self.t_}: the "
                        "network output on the validation data is not finite. Try a "
                        f"smaller learning_rate_init (now {self.learning_rate_init}), a "
                        "max_grad_norm, or standardised inputs."
                    ) from exc
                self.validation_scores_.append(score)
                if score < self.best_validation_score_ + self.tol:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best_params = self.network_.get_flat_params()
            else:
                if self.loss_ > self.best_loss_ - self.tol:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                self.best_loss_ = min(self.best_loss_, self.loss_)
            if self._no_improvement_count > self.n_iter_no_change:
                converged = True
                break

        if not incremental and not converged:
            warnings.warn(
                f"{type(self).__name__}: the maximum number of epochs ({self.max_iter}) was "
                "reached and the optimisation has not converged yet.",
                ConvergenceWarning,
            )
        if early_stopping:
            self.network_.set_flat_params(best_params)
        self.network_.clear_cache()
        return self

    def _stratify(self, y):
        return None

    def _predict_output(self, X):
        """Network output for validated, internal X, computed in batches."""
        if self._blas_threads is None:
            return self._predict_output_unlimited(X)
        with _blas_limit(self._blas_threads):
            return self._predict_output_unlimited(X)

    def _predict_output_unlimited(self, X):
        n = X.shape[0]
        if n <= _PREDICT_BATCH:
            out = self._forward(X)
        else:
            out = np.concatenate(
                [self._forward(X[s : s + _PREDICT_BATCH]) for s in range(0, n, _PREDICT_BATCH)]
            )
        self.network_.clear_cache()
        return check_finite_network_output(out, X, network=self.network_)

    def _check_fitted_and_prepare(self, X):
        check_is_fitted(self, "network_")
        return self._prepare_X(X, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def encode_labels(estimator, y, *, reset, classes=None, per_item=False):
    """Class labels as indices into ``estimator.classes_``: the one label-encoding
    path of the graphsig classifiers.

    Parameters
    ----------
    estimator : classifier
        On ``reset``, receives ``classes_`` (sorted unique labels, as
        :func:`sklearn.utils.multiclass.unique_labels`); otherwise its
        ``classes_`` are used, and labels outside them are an error.
    y : array-like
        One label per sample, shape (n_samples,) (a column vector is accepted
        with scikit-learn's warning); with ``per_item``, one label per item of
        a sample (token, time step), shape (n_samples, n_items).
    reset : bool
        First call (``fit``, or the first ``partial_fit``).
    classes : array-like, optional
        All labels that will ever appear (``partial_fit``); used on ``reset``.
    per_item : bool, default=False

    Returns
    -------
    ndarray of intp, shaped like ``y``

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> est = BaseEstimator()
    >>> encode_labels(est, ["b", "a", "b"], reset=True)
    array([1, 0, 1])
    >>> est.classes_
    array(['a', 'b'], dtype='<U1')
    """
    name = type(estimator).__name__
    if per_item:
        y = np.asarray(y)
        if y.ndim != 2:
            raise ValueError(
                f"y must hold one label per item, shape (n_samples, n_items); got {y.ndim} "
                "dimensions"
            )
        flat = y.ravel()
    else:
        y = flat = column_or_1d(y, warn=True)
    check_classification_targets(flat)
    if reset:
        labels = unique_labels(flat) if classes is None else unique_labels(np.asarray(classes))
        if len(labels) < 2:
            raise ValueError(
                f"{name} needs samples of at least 2 classes in the data, got 1 class: "
                f"{labels[0]!r}"
            )
        estimator.classes_ = labels
    else:
        unknown = np.setdiff1d(unique_labels(flat), estimator.classes_)
        if len(unknown):
            raise ValueError(
                f"y contains labels not seen in the first call: {unknown.tolist()}; "
                f"known classes are {estimator.classes_.tolist()}"
            )
    return np.searchsorted(estimator.classes_, y).astype(np.intp)


class NeuralClassifierMixin(ClassifierMixin):
    """Labels, probabilities and the cross-entropy loss for classifiers.

    The network outputs one logit per class (``n_classes_`` outputs, last axis).
    Labels are encoded by :func:`encode_labels`.
    """

    def _prepare_y(self, y, *, reset, classes=None):
        return encode_labels(self, y, reset=reset, classes=classes)

    @property
    def n_classes_(self):
        return len(self.classes_)

    def _loss_function(self):
        return SoftmaxCrossEntropy()

    def _stratify(self, y):
        counts = np.bincount(y)
        return y if counts[counts > 0].min() >= 2 else None

    def _validation_score(self, X, y):
        return accuracy_score(y, self._predict_output(X).argmax(axis=-1))

    def fit(self, X, y, sample_weight=None):
        """Fit the model to training data.

        Parameters
        ----------
        X : array-like
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over the given data, continuing from the current state.

        Parameters
        ----------
        X : array-like
        y : array-like of shape (n_samples,)
        classes : array-like, optional
            All labels that will ever appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if not hasattr(self, "network_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
        else:
            classes = None
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        X = self._check_fitted_and_prepare(X)
        return softmax(self._predict_output(X), axis=-1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        from ._losses import log_softmax

        X = self._check_fitted_and_prepare(X)
        return log_softmax(self._predict_output(X), axis=-1)

    def predict(self, X):
        """Most probable class of each sample."""
        X = self._check_fitted_and_prepare(X)
        return self.classes_[self._predict_output(X).argmax(axis=-1)]


class NeuralRegressorMixin(RegressorMixin):
    """Targets and losses for regressors: ``loss`` is 'squared_error' or 'absolute_error'."""

    def _prepare_y(self, y, *, reset, classes=None):
        y = np.asarray(y)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got {y.ndim} dimensions")
        if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"y must be numeric, got dtype {y.dtype}") from exc
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity")
        if reset:
            self._y_ndim = y.ndim
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(
                f"y has {1 if y.ndim == 1 else y.shape[1]} outputs, expected {self.n_outputs_}"
            )
        return y.reshape(len(y), -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _loss_function(self):
        return AbsoluteError() if getattr(self, "loss", "squared_error") == "absolute_error" \
            else SquaredError()

    def _validation_score(self, X, y):
        pred = self._predict_output(X)
        return r2_score(y.reshape(len(y), -1), pred.reshape(len(pred), -1))

    def fit(self, X, y, sample_weight=None):
        """Fit the model to training data.

        Parameters
        ----------
        X : array-like
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over the given data, continuing from the current state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _format_prediction(self, out):
        out = out.reshape(len(out), -1)
        return out.ravel() if self._y_ndim == 1 else out

    def predict(self, X):
        """Predicted targets, shaped like the ``y`` given to ``fit``."""
        X = self._check_fitted_and_prepare(X)
        return self._format_prediction(self._predict_output(X))
