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
from scipy.integrate import BDF, DOP853, LSODA, RK45, Radau
from scipy.optimize import brentq
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_finite_output
from ._base import NumberInterval, encode_labels
from ._losses import log_softmax, softmax

__all__ = ["GradientFlowClassifier", "meta_fit_adaptation_time"]

_SOLVERS = {"LSODA": LSODA, "RK45": RK45, "DOP853": DOP853, "BDF": BDF, "Radau": Radau}

# fewer held-out samples than this in a class make the fitted adaptation time noisy
_MIN_QUERY_PER_CLASS = 5

# tolerance of the root finding of the slope's sign changes (as solve_ivp's events)
_EVENT_TOL = 4 * np.finfo(float).eps

_SCALE_HINT = (
    "features of large or very different magnitudes make the gradient flow stiff "
    "(its fastest time scale is about 1 / ||X||^2); standardise them (e.g. with "
    "sklearn.preprocessing.StandardScaler)"
)


class _Budget:
    """Gradient evaluations left to the integrator for one run of the flow."""

    def __init__(self, max_fun):
        self.left = int(max_fun)


class _BudgetExhausted(Exception):
    """Raised by the right-hand side of the flow when its evaluations run out."""


def _locate_minimum(slope, solver):
    """``(t, w)`` where ``slope`` turns non-negative within the solver's last step."""
    interpolant = solver.dense_output()
    a, b = solver.t_old, solver.t

    def g(t):
        return slope(t, interpolant(t))

    g_a, g_b = g(a), g(b)
    if g_a >= 0:  # the interpolant is already there at the start of the step
        t = a
    elif g_b < 0:  # ... or only at the step's end point itself
        t = b
    else:
        t = brentq(g, a, b, xtol=_EVENT_TOL, rtol=_EVENT_TOL)
    return float(t), (solver.y.copy() if t == b else interpolant(t))


class _FlowSegment:
    """Where one run of the flow ended: time, weights, events, whether it was cut short.

    Times and weights are in the units of :class:`_Units`.
    """

    def __init__(self, t, w, events, exhausted):
        self.t = float(t)
        self.w = np.array(w, dtype=np.float64)
        self.events = events  # list of (time, weights) at the located minima
        self.exhausted = exhausted


class _Units:
    """Exact change of units, by powers of two, that keeps the integrator near 1.

    A feature column whose largest magnitude is ``2^(e - 1) <= m < 2^e`` with
    ``e > 0`` is divided by ``2^e`` (so every scaled feature is below 1 in
    magnitude) and its weights are multiplied by ``2^e``, which leaves the
    logits unchanged; time is multiplied by ``2^(2 E)`` with ``E`` the largest
    ``e``. In these units the flow reads ``du/ds = -r * grad L(u)``, where the
    rate ``r = 2^(2 e - 2 E)`` of each row of weights is at most 1 (the
    intercept has ``e = 0``). This is the same flow, exactly (a power of two
    changes no digit, barring underflow), but the integrator's values,
    derivatives and tolerances no longer carry the units of the features:
    without it, features of magnitude 1e100 give derivatives whose squared
    norms overflow inside the solver.
    """

    def __init__(self, X, n_classes, fit_intercept):
        largest = np.max(np.abs(X), axis=0) if X.shape[0] else np.zeros(X.shape[1])
        self.exponents = np.maximum(np.frexp(largest)[1], 0).astype(np.intc)
        e_max = int(self.exponents.max()) if self.exponents.size else 0
        self.time_exponent = 2 * e_max
        rows = np.append(self.exponents, 0).astype(np.intc) if fit_intercept else self.exponents
        self.row_exponents = rows
        self.rate = np.repeat(np.ldexp(1.0, 2 * rows - self.time_exponent), n_classes)

    def features(self, X):
        return np.ldexp(X, -self.exponents)

    def flow_time(self, t):
        return float(np.ldexp(t, self.time_exponent))

    def time(self, s):
        return float(np.ldexp(s, -self.time_exponent))

    def weights(self, u):
        """Weights in the units of the features, shape (n_rows, n_classes)."""
        U = np.asarray(u).reshape(len(self.row_exponents), -1)
        return np.ldexp(U, -self.row_exponents[:, None])


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
    signals, :class:`graphsig.emd.GraphSignalFeaturizer`) before it in a
    Pipeline. The ODE has one variable per weight (``n_features * n_classes``)
    and its stiff phases estimate a Jacobian of that size, so on a wide
    embedding reduce it first (e.g. with :class:`~sklearn.decomposition.PCA`;
    on the 853 features of the 8x8 digits' embedding, 30 components take a fit
    from minutes to under a second). The flow
    is integrated in exact units of its own (powers of two, see ``tol``), and
    the grid of times reaches down to the flow's fastest time scale, about
    ``1 / max|X|^2``: on features multiplied by 1e20 the search costs as much
    as on the original ones, and finds the same minimum at a time 1e40 times
    smaller. Features so large that this time scale and ``max_time`` are not
    both within the range of floating point (magnitudes above about 1e150)
    are refused with a ValueError.

    Parameters
    ----------
    adaptation_time : 'auto' or float, default='auto'
        A fixed positive time ``T`` (the flow then uses all the data), or
        'auto' to fit it.
    max_time : float, default=1000.0
        Longest time considered by 'auto'.
    validation_fraction : float, default=0.2
        Fraction of the data held out as the query set for 'auto'. With fewer
        than 5 held-out samples in some class a UserWarning says that the
        fitted time is noisy: on few-shot tasks (a handful of examples per
        class) the time is better fitted across tasks, with
        :func:`meta_fit_adaptation_time`.
    patience : float or None, default=10.0
        For 'auto': stop following the flow once the time exceeds
        ``patience`` times the best time so far while the query loss is above
        its best. None follows it up to ``max_time``.
    refit : bool, default=True
        After fitting ``T``, run the flow on all the data for time ``T``
        (otherwise keep the weights adapted on the training part).
    fit_intercept : bool, default=True
    method : {'LSODA', 'RK45', 'DOP853', 'BDF', 'Radau'}, default='LSODA'
        Integrator of :mod:`scipy.integrate` (the solvers of
        :func:`~scipy.integrate.solve_ivp`). The default LSODA
        switches between a non-stiff and a stiff method as needed: the flow
        turns stiff on unscaled features (the gradient's Lipschitz constant
        grows with ``||X||^2``), where an explicit method such as RK45 needs
        millions of steps. The implicit methods estimate a Jacobian of size
        (n_weights, n_weights) by finite differences, which pays only for
        small heads.
    tol : float, default=1e-6
        Relative tolerance of the integrator (absolute: ``1e-3 * tol``). The
        absolute tolerance applies to the weights of the features brought
        below 1 in magnitude (divided by the power of two at or above their
        largest magnitude, when that is above 1): to the weights'
        contributions to the logits, whatever the units of the features.
    max_fun : int, default=20000
        Largest number of evaluations of the gradient by the integrator in one
        run of the flow (the search for the adaptation time, then the final
        run to it), including those of its Jacobian estimates. A run that
        needs more stops after the step that reaches the limit, with a
        :class:`~sklearn.exceptions.ConvergenceWarning`: the search keeps the
        best time reached, and the final run keeps the weights at the time
        reached (``adaptation_time_`` is then that time). This bounds the
        work on stiff flows, such as on features of large magnitude; runs on
        standardised features need a few thousand evaluations at most.
    random_state : int, RandomState instance or None, default=None
        Draws the query set.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features)
    intercept_ : ndarray of shape (n_classes,)
    adaptation_time_ : float
        The adaptation time ``T`` in use (the time reached, if the run to the
        requested time was stopped by ``max_fun``).
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
        "adaptation_time": [StrOptions({"auto"}),
                            NumberInterval(numbers.Real, 0, None, closed="neither")],
        "max_time": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "validation_fraction": [NumberInterval(numbers.Real, 0, 1, closed="neither")],
        "patience": [None, NumberInterval(numbers.Real, 1, None, closed="left")],
        "refit": ["boolean"],
        "fit_intercept": ["boolean"],
        "method": [StrOptions(set(_SOLVERS))],
        "tol": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "max_fun": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, adaptation_time="auto", max_time=1000.0, validation_fraction=0.2,
                 patience=10.0, refit=True, fit_intercept=True, method="LSODA", tol=1e-6,
                 max_fun=20000, random_state=None):
        self.adaptation_time = adaptation_time
        self.max_time = max_time
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.refit = refit
        self.fit_intercept = fit_intercept
        self.method = method
        self.tol = tol
        self.max_fun = max_fun
        self.random_state = random_state

    def _solve(self, head, units, t_end, budget, *, w0=None, t_start=0.0, event=None):
        """Follow the flow from ``t_start`` to ``t_end`` within the evaluations of ``budget``.

        Times and weights are in flow units (see :class:`_Units`). ``event(t,
        w)`` is the slope of the query loss; its sign changes from negative to
        non-negative (the minima) are located by root finding on each step's
        interpolant. Returns a :class:`_FlowSegment`, which ends at the last
        completed step when the budget runs out.
        """
        rate = units.rate

        def rhs(t, w):
            if budget.left <= 0:
                raise _BudgetExhausted
            budget.left -= 1
            return -rate * head.gradient(w)

        if w0 is None:
            w0 = np.zeros(head.shape[0] * head.shape[1])
        events = []
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                solver = _SOLVERS[self.method](rhs, t_start, w0, t_end, rtol=self.tol,
                                               atol=1e-3 * self.tol)
            except _BudgetExhausted:
                return _FlowSegment(t_start, w0, events, True)
            g_old = event(t_start, w0) if event is not None else None
            while solver.status == "running":
                try:
                    message = solver.step()
                except _BudgetExhausted:
                    # the step in progress is dropped; the last completed one stands
                    return _FlowSegment(solver.t, solver.y, events, True)
                if solver.status == "failed" or not np.all(np.isfinite(solver.y)):
                    detail = message or "the weights are no longer finite"
                    raise ValueError(
                        f"the gradient flow could not be integrated past time {solver.t:.6g} "
                        f"({detail}); {_SCALE_HINT}"
                    )
                if event is not None:
                    g_new = event(solver.t, solver.y)
                    if g_old <= 0 <= g_new:
                        events.append(_locate_minimum(event, solver))
                    g_old = g_new
        return _FlowSegment(solver.t, solver.y, events, False)

    def _warn_stopped(self, t, what):
        warnings.warn(
            f"the gradient flow needed more than max_fun={self.max_fun} gradient evaluations "
            f"and was stopped at time {t:.6g}; {what}. The {_SCALE_HINT}, or raise max_fun.",
            ConvergenceWarning,
        )

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
        codes = encode_labels(self, y, reset=True)
        n_classes = len(self.classes_)
        X64 = np.asarray(X, dtype=np.float64)
        units = _Units(X64, n_classes, self.fit_intercept)
        horizon = self.max_time if self.adaptation_time == "auto" else self.adaptation_time
        if not np.isfinite(units.flow_time(horizon)):
            raise ValueError(
                f"X is too large for the gradient flow: its largest |X| is "
                f"{float(np.max(np.abs(X64))):.3g}, so its fastest time scale, about "
                f"1 / ||X||^2, is too short to follow it up to time {float(horizon):g} in "
                "floating point; standardise the features (e.g. with "
                "sklearn.preprocessing.StandardScaler)"
            )
        Xs = units.features(X64)
        self.query_loss_ = None
        self.time_grid_ = None
        self.query_loss_curve_ = None
        if self.adaptation_time != "auto":
            T = float(self.adaptation_time)
            run = self._solve(_SoftmaxHead(Xs, codes, n_classes, self.fit_intercept), units,
                              units.flow_time(T), _Budget(self.max_fun))
            if run.exhausted:
                T = units.time(run.t)
                self._warn_stopped(T, "the weights are those at that time, not at "
                                      f"adaptation_time={self.adaptation_time:.6g}")
            w = run.w
        else:
            counts = np.bincount(codes)
            stratify = codes if counts.min() >= 2 else None
            idx_tr, idx_q = train_test_split(
                np.arange(len(codes)), test_size=self.validation_fraction,
                random_state=check_random_state(self.random_state), stratify=stratify)
            smallest = int(np.bincount(codes[idx_q], minlength=n_classes).min())
            if smallest < _MIN_QUERY_PER_CLASS:
                warnings.warn(
                    f"adaptation_time='auto' holds out a query set with only {smallest} "
                    f"sample(s) in some class (validation_fraction={self.validation_fraction} "
                    f"of {len(codes)} samples), on which the fitted adaptation time is noisy. "
                    "For few-shot tasks, fit one time across many tasks with "
                    "graphsig.models.meta_fit_adaptation_time and pass it as "
                    "adaptation_time.",
                    UserWarning,
                )
            train = _SoftmaxHead(Xs[idx_tr], codes[idx_tr], n_classes, self.fit_intercept)
            query = _SoftmaxHead(Xs[idx_q], codes[idx_q], n_classes, self.fit_intercept)
            rate = units.rate

            def slope(t, w):  # the sign of dL_query/dT along the flow
                return -float((rate * train.gradient(w)) @ query.gradient(w))

            T_max = float(self.max_time)
            # follow the flow over a logarithmic grid of times (ten per decade),
            # keeping the best of the grid times and of the located minima; the
            # grid spans 4 decades below max_time, and reaches down to the time
            # scale of the flow, 2^(-2E), on features of large magnitude
            start = min(T_max * 1e-4, units.time(1.0))
            n_intervals = int(np.ceil(10 * np.log10(T_max / start) - 1e-9))
            grid = np.geomspace(T_max * 10.0 ** (-n_intervals / 10), T_max, n_intervals + 1)
            w = np.zeros(train.shape[0] * n_classes)
            s_start, T, best_loss, best_w = 0.0, None, np.inf, None
            times, losses = [], []
            budget = _Budget(self.max_fun)
            for t_end in grid:
                run = self._solve(train, units, units.flow_time(t_end), budget, w0=w,
                                  t_start=s_start, event=slope)
                for s, w_s in [*run.events, (run.t, run.w)]:
                    t = units.time(s)
                    loss = query.loss(w_s)
                    if not np.isfinite(loss):
                        raise ValueError(
                            f"the query loss overflowed at time {t:.6g} of the gradient flow; "
                            f"{_SCALE_HINT}"
                        )
                    times.append(t)
                    losses.append(loss)
                    if loss < best_loss:
                        T, best_loss, best_w = t, loss, w_s
                if run.exhausted:
                    self._warn_stopped(units.time(run.t), f"the adaptation time {T:.6g} is "
                                                          "the best of the times reached")
                    break
                w, s_start = run.w, run.t
                if (self.patience is not None and t_end >= self.patience * T
                        and losses[-1] > best_loss):
                    break  # the query loss has been rising for a while
            self.query_loss_ = float(best_loss)
            self.time_grid_ = np.asarray(times)
            self.query_loss_curve_ = np.asarray(losses)
            w = best_w
            if self.refit:
                full = _SoftmaxHead(Xs, codes, n_classes, self.fit_intercept)
                run = self._solve(full, units, units.flow_time(T), _Budget(self.max_fun))
                if run.exhausted:
                    T_reached = units.time(run.t)
                    self._warn_stopped(T_reached, "the refitted weights are those at that "
                                                  f"time, not at the adaptation time {T:.6g}")
                    T = T_reached
                w = run.w
        W = units.weights(w)
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
        # float32 inputs give float32 outputs (the flow itself is solved in float64)
        with np.errstate(over="ignore", invalid="ignore"):
            logits = X @ self.coef_.T.astype(X.dtype) + self.intercept_.astype(X.dtype)
        largest = float(np.max(np.abs(X))) if X.size else 0.0
        check_finite_output(
            logits, "the logits on X",
            f"the largest |X| is {largest:.3g}; features of this magnitude exceed the range "
            "of floating-point arithmetic (standardise them, e.g. with "
            "sklearn.preprocessing.StandardScaler)",
        )
        return logits

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


def meta_fit_adaptation_time(episodes, *, max_time=1000.0, n_times=41, fit_intercept=True,
                             method="LSODA", tol=1e-6, max_fun=20000):
    """One adaptation time for many tasks: the time minimising the mean query loss.

    Continuous-time meta-learning (COMLN, Deleu et al., 2022) learns the
    adaptation time ``T`` across training tasks and then adapts to each new
    task for that time. Each episode is a support set, on which the head
    follows the gradient flow from zero, and a query set, on which the loss
    is measured along the way; the time with the lowest query loss averaged
    over the episodes is returned. Use it as
    ``GradientFlowClassifier(adaptation_time=result.adaptation_time)`` on new
    tasks.

    This is the form of the method for few-shot tasks:
    ``GradientFlowClassifier(adaptation_time='auto')`` holds a query set out
    of one task's own data, which with a handful of examples per class is
    too small to place ``T`` reliably.

    Parameters
    ----------
    episodes : iterable of (X_support, y_support, X_query, y_query)
        Query labels must be among the support labels of their episode.
        Features should be on a common scale across episodes (the same
        feature map and scaler).
    max_time : float, default=1000.0
        Longest time considered.
    n_times : int, default=41
        Times considered: ``n_times`` times evenly spaced in log scale from
        ``1e-4 * max_time`` to ``max_time``.
    fit_intercept, method, tol, max_fun
        As in :class:`GradientFlowClassifier`.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``adaptation_time`` (float), ``times`` (ndarray of shape
        (n_times,)), ``query_loss`` (ndarray of shape (n_episodes,
        n_times)), ``mean_query_loss`` (ndarray of shape (n_times,)).

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import GradientFlowClassifier, meta_fit_adaptation_time
    >>> rng = np.random.default_rng(0)
    >>> def episode():
    ...     w = rng.normal(size=5)
    ...     X = rng.normal(size=(40, 5))
    ...     y = (X @ w + rng.normal(scale=2.0, size=40) > 0).astype(int)
    ...     return X[:10], y[:10], X[10:], y[10:]
    >>> result = meta_fit_adaptation_time([episode() for _ in range(20)], max_time=100.0)
    >>> bool(0.01 <= result.adaptation_time <= 100.0), result.query_loss.shape
    (True, (20, 41))
    >>> X_s, y_s, X_q, y_q = episode()
    >>> clf = GradientFlowClassifier(adaptation_time=result.adaptation_time).fit(X_s, y_s)
    """
    from sklearn.utils import Bunch

    if not isinstance(max_time, numbers.Real) or not np.isfinite(max_time) or max_time <= 0:
        raise ValueError(f"max_time must be a positive number, got {max_time!r}")
    if not isinstance(n_times, numbers.Integral) or isinstance(n_times, bool) or n_times < 2:
        raise ValueError(f"n_times must be an integer >= 2, got {n_times!r}")
    flow = GradientFlowClassifier(fit_intercept=fit_intercept, method=method, tol=tol,
                                  max_fun=max_fun)
    flow._validate_params()
    times = np.geomspace(1e-4 * float(max_time), float(max_time), int(n_times))
    losses = []
    for k, episode in enumerate(episodes):
        try:
            X_s, y_s, X_q, y_q = episode
        except (TypeError, ValueError):
            raise ValueError(
                f"episode {k} must be a tuple (X_support, y_support, X_query, y_query)"
            ) from None
        support = GradientFlowClassifier()
        X_s, y_s = validate_data(support, X_s, y_s, dtype=np.float64)
        codes = encode_labels(support, y_s, reset=True)
        X_q, y_q = validate_data(support, X_q, y_q, reset=False, dtype=np.float64)
        unknown = np.setdiff1d(np.unique(y_q), support.classes_)
        if unknown.size:
            raise ValueError(
                f"episode {k}: query labels {unknown.tolist()} are not among the support labels"
            )
        q_codes = np.searchsorted(support.classes_, y_q)
        n_classes = len(support.classes_)
        units = _Units(X_s, n_classes, fit_intercept)
        train = _SoftmaxHead(units.features(X_s), codes, n_classes, fit_intercept)
        query = _SoftmaxHead(units.features(X_q), q_codes, n_classes, fit_intercept)
        w, s_start = np.zeros(train.shape[0] * n_classes), 0.0
        budget = _Budget(max_fun)
        row = np.full(len(times), np.nan)
        for i, t_end in enumerate(times):
            run = flow._solve(train, units, units.flow_time(t_end), budget, w0=w,
                              t_start=s_start)
            if run.exhausted:
                flow._warn_stopped(units.time(run.t), f"episode {k} counts only up to that time")
                break
            w, s_start = run.w, run.t
            row[i] = query.loss(w)
        losses.append(row)
    if not losses:
        raise ValueError("episodes is empty")
    losses = np.array(losses)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        mean = np.nanmean(losses, axis=0)
    if not np.any(np.isfinite(mean)):
        raise ValueError("no episode could follow the flow: " + _SCALE_HINT)
    best = int(np.nanargmin(mean))
    if best == len(times) - 1:
        warnings.warn(
            f"the mean query loss was still decreasing at max_time={max_time}; consider a "
            "larger max_time", UserWarning,
        )
    return Bunch(adaptation_time=float(times[best]), times=times, query_loss=losses,
                 mean_query_loss=mean)
