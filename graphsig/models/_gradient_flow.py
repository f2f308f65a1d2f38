"""A linear classifier that adapts by gradient flow for a fitted time.

The head ``W`` on fixed features follows the gradient flow of the training
cross-entropy, ``dW/dt = -grad L_train(W)``, from ``W(0) = 0``, solved as an
ordinary differential equation. The adaptation time ``T`` is a parameter of
the model: it is chosen to minimise the loss on held-out (query) data, whose
derivative along the flow is

.. math::

    \\frac{d L_{query}(W_T)}{d T} = -\\langle \\nabla L_{train}(W_T),
                                          \\nabla L_{query}(W_T) \\rangle,

the meta-gradient of continuous-time meta-learning (COMLN, Deleu et al.,
2022). Its sign changes locate the minima of the query loss along the
trajectory exactly (to the ODE tolerance), and the best one is kept.
"""

import numbers
import warnings

import numpy as np
from scipy.integrate import solve_ivp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from ._losses import log_softmax, softmax

__all__ = ["GradientFlowClassifier"]


class _SoftmaxHead:
    """Cross-entropy of a linear softmax head and its gradient, on one data set."""

    def __init__(self, X, y, n_classes, fit_intercept):
        n = X.shape[0]
        self.X = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
        self.Y = np.zeros((n, n_classes))
        self.Y[np.arange(n), y] = 1.0
        self.shape = (self.X.shape[1], n_classes)

    def loss(self, w):
        logits = self.X @ w.reshape(self.shape)
        return float(-(self.Y * log_softmax(logits)).sum(axis=1).mean())

    def gradient(self, w):
        P = softmax(self.X @ w.reshape(self.shape))
        return (self.X.T @ (P - self.Y) / self.X.shape[0]).ravel()


class GradientFlowClassifier(ClassifierMixin, BaseEstimator):
    """Linear softmax head trained by gradient flow for a fitted adaptation time.

    The weights follow ``dW/dt = -grad L(W)`` (mean cross-entropy) from zero,
    solved as an ODE. With ``adaptation_time='auto'``, a stratified
    ``validation_fraction`` of the data is held out as a query set, the flow
    runs on the rest (up to ``max_time``, or until the query loss has been
    rising for a while, see ``patience``), and the time ``T`` that minimises
    the query loss along the trajectory is kept: the zeros of
    ``dL_query/dT = -<grad L_train(W_T), grad L_query(W_T)>`` (from negative to
    positive) are located by the ODE solver's event detection, and compared
    with a logarithmic grid of times. With ``refit=True``
    the flow is then run on all the data for time ``T``. This is the
    single-task form of continuous-time meta-learning: the adaptation time
    acts as a learned, continuous amount of regularisation (early stopping).

    The features are used as given: put a scaler or a feature map (for graph
    signals, :class:`graphsig.DiffusionEMD`) before it in a Pipeline.

    Parameters
    ----------
    adaptation_time : 'auto' or float, default='auto'
        A fixed positive time ``T`` (the flow then uses all the data), or
        'auto' to fit it.
    max_time : float, default=1000.0
        Longest time considered by 'auto'.
    validation_fraction : float, default=0.2
        Fraction of the data held out as the query set for 'auto'.
    patience : float or None, default=10.0
        For 'auto': stop following the flow once the time exceeds
        ``patience`` times the best time so far while the query loss is above
        its best. None follows it up to ``max_time``.
    refit : bool, default=True
        After fitting ``T``, run the flow on all the data for time ``T``
        (otherwise keep the weights adapted on the training part).
    fit_intercept : bool, default=True
    method : {'LSODA', 'RK45', 'DOP853', 'BDF', 'Radau'}, default='LSODA'
        Integrator of :func:`scipy.integrate.solve_ivp`. The default LSODA
        switches between a non-stiff and a stiff method as needed: the flow
        turns stiff on unscaled features (the gradient's Lipschitz constant
        grows with ``||X||^2``), where an explicit method such as RK45 needs
        millions of steps. The implicit methods estimate a Jacobian of size
        (n_weights, n_weights) by finite differences, which pays only for
        small heads.
    tol : float, default=1e-6
        Relative tolerance of the integrator (absolute: ``1e-3 * tol``).
    random_state : int, RandomState instance or None, default=None
        Draws the query set.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features)
    intercept_ : ndarray of shape (n_classes,)
    adaptation_time_ : float
        The adaptation time ``T`` in use.
    query_loss_ : float or None
        Query loss at ``T`` (None when ``T`` was given).
    time_grid_, query_loss_curve_ : ndarray or None
        Times along the trajectory and the query loss there ('auto' only).
    n_features_in_ : int

    References
    ----------
    Deleu, Kanaa, Feng, Kerg, Bengio, Lajoie and Bacon, "Continuous-time
    meta-learning with forward mode differentiation", ICLR 2022.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from graphsig.models import GradientFlowClassifier
    >>> X, y = make_classification(200, n_features=20, flip_y=0.3, random_state=0)
    >>> clf = GradientFlowClassifier(random_state=0).fit(X, y)
    >>> round(clf.adaptation_time_, 2)
    4.12
    >>> clf.coef_.shape
    (2, 20)
    """

    _parameter_constraints = {
        "adaptation_time": [StrOptions({"auto"}), Interval(numbers.Real, 0, None,
                                                            closed="neither")],
        "max_time": [Interval(numbers.Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "patience": [None, Interval(numbers.Real, 1, None, closed="left")],
        "refit": ["boolean"],
        "fit_intercept": ["boolean"],
        "method": [StrOptions({"LSODA", "RK45", "BDF", "Radau", "DOP853"})],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, adaptation_time="auto", max_time=1000.0, validation_fraction=0.2,
                 patience=10.0, refit=True, fit_intercept=True, method="LSODA", tol=1e-6,
                 random_state=None):
        self.adaptation_time = adaptation_time
        self.max_time = max_time
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.refit = refit
        self.fit_intercept = fit_intercept
        self.method = method
        self.tol = tol
        self.random_state = random_state

    def _solve(self, head, t_end, *, w0=None, t_start=0.0, events=None):
        def rhs(t, w):
            return -head.gradient(w)

        if w0 is None:
            w0 = np.zeros(head.shape[0] * head.shape[1])
        sol = solve_ivp(rhs, (t_start, t_end), w0, method=self.method, rtol=self.tol,
                        atol=1e-3 * self.tol, events=events, dense_output=True)
        if sol.status < 0:
            raise FloatingPointError(f"the gradient flow could not be integrated: {sol.message}")
        if not np.all(np.isfinite(sol.y)):
            raise FloatingPointError("the gradient flow produced non-finite weights")
        return sol

    def fit(self, X, y):
        """Fit the head and, with ``adaptation_time='auto'``, the adaptation time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_ = unique_labels(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                f"got 1 class: {self.classes_[0]!r}"
            )
        codes = np.searchsorted(self.classes_, y)
        n_classes = len(self.classes_)
        X64 = np.asarray(X, dtype=np.float64)
        self.query_loss_ = None
        self.time_grid_ = None
        self.query_loss_curve_ = None
        if self.adaptation_time != "auto":
            T = float(self.adaptation_time)
            w = self._solve(_SoftmaxHead(X64, codes, n_classes, self.fit_intercept), T).y[:, -1]
        else:
            counts = np.bincount(codes)
            stratify = codes if counts.min() >= 2 else None
            idx_tr, idx_q = train_test_split(
                np.arange(len(codes)), test_size=self.validation_fraction,
                random_state=check_random_state(self.random_state), stratify=stratify)
            train = _SoftmaxHead(X64[idx_tr], codes[idx_tr], n_classes, self.fit_intercept)
            query = _SoftmaxHead(X64[idx_q], codes[idx_q], n_classes, self.fit_intercept)

            def slope(t, w):  # dL_query/dT along the flow
                return -float(train.gradient(w) @ query.gradient(w))

            slope.direction = 1.0  # from decreasing to increasing: a minimum
            T_max = float(self.max_time)
            # follow the flow over a logarithmic grid of times (ten per decade),
            # keeping the best of the grid times and of the located minima
            w = np.zeros(train.shape[0] * n_classes)
            t_start, T, best_loss, best_w = 0.0, None, np.inf, None
            times, losses = [], []
            for t_end in np.geomspace(T_max * 1e-4, T_max, 41):
                sol = self._solve(train, t_end, w0=w, t_start=t_start, events=slope)
                for t in [*sol.t_events[0], t_end]:
                    w_t = sol.sol(t)
                    loss = query.loss(w_t)
                    times.append(float(t))
                    losses.append(loss)
                    if loss < best_loss:
                        T, best_loss, best_w = float(t), loss, w_t
                w, t_start = sol.y[:, -1], t_end
                if (self.patience is not None and t_end >= self.patience * T
                        and losses[-1] > best_loss):
                    break  # the query loss has been rising for a while
            self.query_loss_ = float(best_loss)
            self.time_grid_ = np.asarray(times)
            self.query_loss_curve_ = np.asarray(losses)
            w = best_w
            if self.refit:
                full = _SoftmaxHead(X64, codes, n_classes, self.fit_intercept)
                w = self._solve(full, T).y[:, -1]
        shape = (X.shape[1] + int(self.fit_intercept), n_classes)
        W = np.asarray(w).reshape(shape)
        self.adaptation_time_ = T
        self.coef_ = W[: X.shape[1]].T.copy()
        self.intercept_ = W[X.shape[1]].copy() if self.fit_intercept else np.zeros(n_classes)
        if T == self.max_time and self.adaptation_time == "auto":
            warnings.warn(
                f"the query loss was still decreasing at max_time={self.max_time}; "
                "consider a larger max_time",
                UserWarning,
            )
        return self

    def _logits(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_

    def decision_function(self, X):
        """Logits, shape (n_samples, n_classes); for two classes the logit of the
        second class minus that of the first, shape (n_samples,)."""
        z = self._logits(X)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return softmax(self._logits(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return log_softmax(self._logits(X))

    def predict(self, X):
        """Most probable class of each sample."""
        scores = self._logits(X)
        return self.classes_[np.argmax(scores, axis=1)]
