"""Recurrent networks assembled from frozen, pre-trained recurrent modules.

A recurrent module is the recurrent matrix of a small tanh RNN trained on one
task of a family. A new task reuses the modules as they are: their matrices
are placed on the diagonal of one block-diagonal recurrent matrix, kept
frozen, and only a new input map (into every module) and a new read-out
(from every module) are learned, which is far fewer parameters than a
recurrent network trained from scratch.
"""

import numbers

import numpy as np
from scipy.linalg import block_diag
from sklearn.utils.validation import check_is_fitted

from ._base import TRAINING_PARAMETER_CONSTRAINTS, NumberInterval
from ._layers import Dense, Module
from ._relevancy import RelevancyScreeningRNNClassifier

__all__ = ["PrimitiveRecurrentNetwork", "RecurrentPrimitivesClassifier"]


class PrimitiveRecurrentNetwork(Module):
    """Tanh RNN ``h_t = m * tanh(W h_{t-1} + U^T x_t + b)`` with an optionally frozen ``W``.

    ``m`` is a 0/1 mask of the units (all ones unless units are ablated).
    A frozen ``W`` is stored as a plain array, not a parameter, so the
    optimisers and the L2 penalty never see it.

    Parameters
    ----------
    n_in, n_out : int
    recurrent : ndarray of shape (n_hidden, n_hidden) or int
        A frozen recurrent matrix, or the number of units of a learned one
        (initialised orthogonal).
    output : {'last', 'sequence'}, default='last'
    random_state : int, RandomState or None
    dtype : numpy dtype, default=float64
        Of the parameters and of the computation.
    """

    def __init__(self, n_in, n_out, recurrent, *, output="last", random_state=None,
                 dtype=np.float64):
        from sklearn.utils import check_random_state

        super().__init__()
        rng = check_random_state(random_state)
        if isinstance(recurrent, numbers.Integral):
            n = int(recurrent)
            self.frozen = False
            self.add_param("W", np.linalg.qr(rng.standard_normal((n, n)))[0].astype(dtype))
        else:
            self.W_frozen = np.array(recurrent, dtype=dtype)
            n = self.W_frozen.shape[0]
            self.frozen = True
        self.n_hidden = n
        self.output = output
        self.add_module("input", Dense(n_in, n, random_state=rng, dtype=dtype))
        self.add_module("readout", Dense(n, n_out, random_state=rng, dtype=dtype))
        self.unit_mask = np.ones(n, dtype=dtype)
        self._cache = None
        self.state_gradients = None

    def recurrent_matrix(self):
        """The recurrent matrix ``W`` (a new array)."""
        return (self.W_frozen if self.frozen else self.W).copy()

    def _run(self, X):
        W = self.W_frozen if self.frozen else self.W
        Z = self.input.forward(X)
        H = np.empty(Z.shape, dtype=Z.dtype)
        h = np.zeros((Z.shape[0], self.n_hidden), dtype=Z.dtype)
        for t in range(Z.shape[1]):
            h = np.tanh(Z[:, t] + h @ W) * self.unit_mask
            H[:, t] = h
        return H

    def hidden_states(self, X):
        """States ``h_1 .. h_T``, shape (n_samples, n_timesteps, n_hidden)."""
        return self._run(X)

    def forward(self, X):
        H = self._run(X)
        self._cache = H
        return self.readout.forward(H if self.output == "sequence" else H[:, -1])

    def backward(self, grad_out):
        H = self._cache
        W = self.W_frozen if self.frozen else self.W
        if self.output == "sequence":
            dH = np.array(self.readout.backward(grad_out), dtype=H.dtype)
        else:
            dH = np.zeros_like(H)
            dH[:, -1] = self.readout.backward(grad_out)
        dZ = np.empty_like(H)
        for t in range(H.shape[1] - 1, -1, -1):
            dz = dH[:, t] * (1.0 - H[:, t] ** 2) * self.unit_mask
            dZ[:, t] = dz
            if t > 0:
                if not self.frozen:
                    self._grads["W"] += H[:, t - 1].T @ dz
                dH[:, t - 1] += dz @ W.T
        self.state_gradients = dH
        return self.input.backward(dZ)


def _recurrent_of(primitive, i):
    if isinstance(primitive, RecurrentPrimitivesClassifier):
        check_is_fitted(primitive, "network_")
        return primitive.network_.recurrent_matrix()
    W = np.asarray(primitive)
    if W.dtype.kind not in "fiu" or W.ndim != 2 or W.shape[0] != W.shape[1] or W.size == 0:
        raise ValueError(
            f"primitives[{i}] must be a fitted RecurrentPrimitivesClassifier or a square "
            f"recurrent matrix, got {type(primitive).__name__} of shape {np.shape(primitive)}"
        )
    W = W.astype(np.float64)
    if not np.all(np.isfinite(W)):
        raise ValueError(f"primitives[{i}] contains NaN or infinity")
    return W


class RecurrentPrimitivesClassifier(RelevancyScreeningRNNClassifier):
    """Recurrent classifier on frozen, pre-trained recurrent modules (latent primitives).

    With ``primitives=None`` this is a tanh RNN of ``n_hidden`` units whose
    every weight is trained (a module to pre-train, or the full-RNN
    baseline). With ``primitives`` a list of such fitted classifiers (or of
    recurrent matrices), their recurrent matrices are placed on the diagonal
    of one block-diagonal matrix and frozen: fitting learns only the input map
    into all modules and the read-out from them, so a new task reuses what
    the modules learned on their own tasks.

    Inputs and targets are as for
    :class:`~graphsig.models.RelevancyScreeningRNNClassifier`: sequences of
    shape ``(n_samples, n_timesteps, n_features)`` (or 2-D with
    ``n_timesteps``), one label per sequence (from the last state) or one per
    step.

    Parameters
    ----------
    n_hidden : int, default=32
        Units of the network when ``primitives`` is None (ignored otherwise).
    primitives : list or None, default=None
        Fitted ``RecurrentPrimitivesClassifier`` instances or square
        recurrent matrices, the frozen modules.
    n_timesteps : int or None, default=None
    alpha : float, default=0.0
    batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, \
n_iter_no_change
        Training loop, as in :class:`sklearn.neural_network.MLPClassifier`
        (``max_iter`` counts epochs).

    Attributes
    ----------
    classes_ : ndarray
    network_ : PrimitiveRecurrentNetwork
    n_trainable_params_ : int
        Number of learned scalars (the frozen modules excluded).
    recurrent_matrix_ : ndarray of shape (n_units, n_units)
    loss_curve_ : list of float
    n_iter_, t_ : int

    Examples
    --------
    >>> from graphsig.datasets import make_neuroscience_task
    >>> from graphsig.models import RecurrentPrimitivesClassifier
    >>> X, y = make_neuroscience_task("delay", 100, random_state=0)
    >>> module = RecurrentPrimitivesClassifier(8, max_iter=30, learning_rate_init=0.01,
    ...                                        random_state=0).fit(X, y)
    >>> X2, y2 = make_neuroscience_task("anti_delay", 100, random_state=1)
    >>> new = RecurrentPrimitivesClassifier(primitives=[module], max_iter=30,
    ...                                     learning_rate_init=0.01, random_state=0)
    >>> new.fit(X2, y2).n_trainable_params_ < module.n_trainable_params_
    True

    References
    ----------
    Modular latent primitives: recurrent modules pre-trained on the statistics
    of a family of tasks, reused frozen (arXiv:2105.14108).
    """

    _parameter_constraints = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        "n_hidden": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "primitives": [None, list, tuple],
        "n_timesteps": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_hidden=32, *, primitives=None, n_timesteps=None, alpha=0.0,
                 batch_size="auto", solver="adam", learning_rate_init=1e-3, momentum=0.9,
                 max_grad_norm=1.0, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 warm_start=False, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10):
        self.n_hidden = n_hidden
        self.primitives = primitives
        self.n_timesteps = n_timesteps
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

    def _build_network(self, X, y, random_state, dtype):
        if self.primitives is None:
            recurrent = self.n_hidden
        else:
            if len(self.primitives) == 0:
                raise ValueError("primitives must hold at least one module, got an empty list")
            recurrent = block_diag(*[_recurrent_of(p, i) for i, p in enumerate(self.primitives)])
        return PrimitiveRecurrentNetwork(X.shape[2], len(self.classes_), recurrent,
                                         output="sequence" if y.ndim == 2 else "last",
                                         random_state=random_state, dtype=dtype)

    @property
    def n_trainable_params_(self):
        check_is_fitted(self, "network_")
        return self.network_.n_params

    @property
    def recurrent_matrix_(self):
        check_is_fitted(self, "network_")
        return self.network_.recurrent_matrix()

    def score_ablated(self, X, y, units):
        """Accuracy with some hidden units silenced (held at 0) at every step.

        Parameters
        ----------
        X : array-like
        y : array-like
        units : array-like of int
            Indices of the units to silence.

        Returns
        -------
        float
        """
        check_is_fitted(self, "network_")
        net = self.network_
        units = np.asarray(units)
        if units.size == 0:
            units = units.astype(np.intp)
        if units.ndim != 1 or (units.size and (units.dtype.kind not in "iu" or units.min() < 0
                                              or units.max() >= net.n_hidden)):
            raise ValueError(f"units must be a 1-D array of unit indices in "
                             f"[0, {net.n_hidden - 1}], got {units!r}")
        dtype = net.unit_mask.dtype
        net.unit_mask = np.ones(net.n_hidden, dtype=dtype)
        net.unit_mask[units] = 0.0
        try:
            return self.score(X, y)
        finally:
            net.unit_mask = np.ones(net.n_hidden, dtype=dtype)
