"""Recurrent networks with self-attention over a screened memory of past states.

The state follows

.. math::

    h_t = \\tanh(W h_{t-1} + U^\\top x_t + b + V c_t), \\qquad
    c_t = \\sum_{i \\in M_t} a_{t,i} h_i, \\qquad
    a_{t,\\cdot} = \\mathrm{softmax}_{i \\in M_t}\\big(h_{t-1}^\\top W_a h_i / \\sqrt{n}\\big),

where ``M_t`` is the set of past states the network may attend to at step
``t`` (Kerg, Kanuparthi, Goyal, Hill, Bengio and Lajoie, 2020):

``'relevancy'`` (relevancy screening)
    the last ``buffer_size`` states (a short-term buffer) and a long-term
    memory of at most ``memory_size`` older states. Each state's relevancy is
    the attention it has received so far; when a state leaves the buffer it
    enters the memory if the memory has room or if it is more relevant than
    the least relevant state there, which it then replaces. At most
    ``buffer_size + memory_size`` states are attended, whatever the length.
``'full'``
    every past state ``h_0 .. h_{t-1}`` (cost and memory O(T) per step).
``'none'``
    no attention: an Elman RNN.

Gradients flow through the attention to the attended states, which is what
lets them reach far into the past; the screening itself (which states are
kept) is a discrete choice and carries no gradient.
"""

import numbers

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NumberInterval,
)
from ._layers import Dense, Module
from ._sequences import SequenceInputMixin, SequenceTargetsMixin

__all__ = ["RelevancyScreeningNetwork", "RelevancyScreeningRNNClassifier"]


def _softmax_masked(scores, mask):
    scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


class RelevancyScreeningNetwork(Module):
    """Tanh RNN with attention over past states, trained by backpropagation through time.

    ``forward`` maps inputs of shape ``(n_samples, n_timesteps, n_in)`` to
    logits of shape ``(n_samples, n_timesteps, n_out)`` (``output='sequence'``)
    or ``(n_samples, n_out)`` (``output='last'``).

    Parameters
    ----------
    n_in, n_hidden, n_out : int
    attention : {'relevancy', 'full', 'none'}, default='relevancy'
    buffer_size, memory_size : int, default=5, 10
        Short-term buffer and long-term memory of ``'relevancy'``.
    output : {'last', 'sequence'}, default='last'
    random_state : int, RandomState or None
    dtype : numpy dtype, default=float64
        Of the parameters and of the computation.
    """

    def __init__(self, n_in, n_hidden, n_out, *, attention="relevancy", buffer_size=5,
                 memory_size=10, output="last", random_state=None, dtype=np.float64):
        from sklearn.utils import check_random_state

        super().__init__()
        rng = check_random_state(random_state)
        n = self.n_hidden = int(n_hidden)
        if attention not in ("relevancy", "full", "none"):
            raise ValueError(f"unknown attention {attention!r}")
        self.attention = attention
        self.buffer_size = int(buffer_size)
        self.memory_size = int(memory_size)
        self.output = output
        self.add_module("input", Dense(n_in, n, random_state=rng, dtype=dtype))
        self.add_param("W", np.linalg.qr(rng.standard_normal((n, n)))[0].astype(dtype))
        if attention != "none":
            bound = np.sqrt(6.0 / (2 * n))
            self.add_param("Wa", rng.uniform(-bound, bound, (n, n)).astype(dtype))
            self.add_param("V", rng.uniform(-bound, bound, (n, n)).astype(dtype))
        self.add_module("readout", Dense(n, n_out, random_state=rng, dtype=dtype))
        self._cache = None
        self.state_gradients = None

    def attended_states(self, t):
        """Number of past states attended at step ``t`` (0-based)."""
        if self.attention == "none":
            return 0
        if self.attention == "full":
            return t
        return min(t, self.buffer_size) + min(max(t - self.buffer_size, 0), self.memory_size)

    def _run(self, X):
        B, T, _ = X.shape
        n = self.n_hidden
        Z = self.input.forward(X)
        # slot T is a zero state that masked (empty) memory slots point to
        H = np.zeros((B, T + 1, n), dtype=Z.dtype)
        steps = [None] * T
        rows = np.arange(B)[:, None]
        scale = 1.0 / np.sqrt(n)
        relevancy = np.zeros((B, T + 1)) if self.attention == "relevancy" else None
        memory = np.full((B, self.memory_size), -1, dtype=np.intp)
        h_prev = np.zeros((B, n), dtype=Z.dtype)
        for t in range(T):
            z = Z[:, t] + h_prev @ self.W
            if self.attention != "none" and t >= 1:
                if self.attention == "full":
                    idx = np.broadcast_to(np.arange(t), (B, t))
                    mask = np.ones((B, t), dtype=bool)
                else:
                    leaving = t - self.buffer_size - 1
                    if leaving >= 0 and self.memory_size:
                        held = np.where(memory >= 0,
                                        relevancy[rows, np.maximum(memory, 0)], -np.inf)
                        slot = held.argmin(axis=1)
                        enter = relevancy[:, leaving] > held[rows[:, 0], slot]
                        memory[rows[enter, 0], slot[enter]] = leaving
                    start = max(t - self.buffer_size, 0)
                    buffer = np.broadcast_to(np.arange(start, t), (B, t - start))
                    idx = np.concatenate([buffer, memory], axis=1)
                    mask = idx >= 0
                    idx = np.where(mask, idx, T)
                Hs = H[rows, idx]
                q = h_prev @ self.Wa
                a = _softmax_masked(np.einsum("bn,bsn->bs", q, Hs) * scale, mask)
                c = np.einsum("bs,bsn->bn", a, Hs)
                z = z + c @ self.V
                if relevancy is not None:
                    # the indices of one row are distinct, except the masked ones (slot T)
                    relevancy[rows, idx] += a
                steps[t] = (idx, mask, a, c, q)
            h_prev = np.tanh(z)
            H[:, t] = h_prev
        return H, steps

    def forward(self, X):
        H, steps = self._run(X)
        self._cache = (H, steps)
        if self.output == "sequence":
            return self.readout.forward(H[:, :-1])
        return self.readout.forward(H[:, -2])

    def hidden_states(self, X):
        """States ``h_1 .. h_T``, shape (n_samples, n_timesteps, n_hidden)."""
        return self._run(X)[0][:, :-1]

    def backward(self, grad_out):
        H, steps = self._cache
        B, T, n = H.shape
        T -= 1
        dH = np.zeros_like(H)
        if self.output == "sequence":
            dH[:, :-1] = self.readout.backward(grad_out)
        else:
            dH[:, -2] = self.readout.backward(grad_out)
        dZ = np.empty((B, T, n), dtype=H.dtype)
        rows = np.arange(B)[:, None]
        scale = 1.0 / np.sqrt(n)
        gW = self._grads["W"]
        for t in range(T - 1, -1, -1):
            dz = dH[:, t] * (1.0 - H[:, t] ** 2)
            dZ[:, t] = dz
            if t == 0:
                continue
            h_prev = H[:, t - 1]
            gW += h_prev.T @ dz
            dH[:, t - 1] += dz @ self.W.T
            if steps[t] is not None:
                idx, mask, a, c, q = steps[t]
                Hs = H[rows, idx]
                self._grads["V"] += c.T @ dz
                dc = dz @ self.V.T
                da = np.einsum("bn,bsn->bs", dc, Hs)
                ds = a * (da - (a * da).sum(axis=1, keepdims=True)) * scale
                dHs = a[:, :, None] * dc[:, None, :] + ds[:, :, None] * q[:, None, :]
                dq = np.einsum("bs,bsn->bn", ds, Hs)
                self._grads["Wa"] += h_prev.T @ dq
                dH[:, t - 1] += dq @ self.Wa.T
                dH[rows, idx] += dHs  # distinct per row, but for the masked slot T
        self.state_gradients = dH[:, :-1]
        return self.input.backward(dZ)


class RelevancyScreeningRNNClassifier(SequenceTargetsMixin, SequenceInputMixin,
                                       NeuralClassifierMixin, BaseNeuralEstimator):
    """Recurrent classifier with self-attention over a relevancy-screened memory.

    A tanh RNN whose next state also receives an attention read-out of past
    states: the last ``buffer_size`` states and a long-term memory of the
    ``memory_size`` states that received the most attention
    (``attention='relevancy'``, Kerg et al., 2020); or every past state
    (``'full'``); or none (``'none'``, a plain RNN with the same
    initialisation). See :class:`RelevancyScreeningNetwork` for the equations.
    Trained by backpropagation through time with hand-written gradients.

    Inputs are sequences of shape ``(n_samples, n_timesteps, n_features)``,
    or 2-D arrays of shape ``(n_samples, n_timesteps * n_features)`` read
    with ``n_timesteps`` (None reads each column as one step of a scalar
    sequence). Targets are one label per sequence, shape ``(n_samples,)``,
    predicted from the last state, or one label per step, shape
    ``(n_samples, n_timesteps)`` (the copy task); ``predict`` returns labels
    of the same shape.

    Parameters
    ----------
    n_hidden : int, default=32
    attention : {'relevancy', 'full', 'none'}, default='relevancy'
    buffer_size : int, default=5
        Most recent states always attended (``'relevancy'``).
    memory_size : int, default=10
        Capacity of the long-term memory (``'relevancy'``).
    n_timesteps : int or None, default=None
        Length of the sequences when ``X`` is 2-D.
    alpha : float, default=0.0
        L2 penalty on the weights.
    batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, \
n_iter_no_change
        Training loop, as in :class:`sklearn.neural_network.MLPClassifier`
        (``max_iter`` counts epochs; ``max_grad_norm`` clips the joint
        gradient norm, 1.0 by default).

    Attributes
    ----------
    classes_ : ndarray
    network_ : RelevancyScreeningNetwork
    n_timesteps_ : int
    loss_curve_ : list of float
    n_iter_, t_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import RelevancyScreeningRNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 12, 2))
    >>> y = (X[:, 0, 0] > 0).astype(int)          # remember the first input
    >>> clf = RelevancyScreeningRNNClassifier(n_hidden=8, buffer_size=3, memory_size=2,
    ...                                       max_iter=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape, clf.network_.attended_states(11)
    ((3,), 5)

    References
    ----------
    Kerg, Kanuparthi, Goyal, Hill, Bengio and Lajoie, "Untangling tradeoffs
    between recurrence and self-attention in neural networks", NeurIPS 2020
    (arXiv:2006.09471).
    """

    _parameter_constraints = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        "n_hidden": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "attention": [StrOptions({"relevancy", "full", "none"})],
        "buffer_size": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "memory_size": [NumberInterval(numbers.Integral, 0, None, closed="left")],
        "n_timesteps": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_hidden=32, *, attention="relevancy", buffer_size=5, memory_size=10,
                 n_timesteps=None, alpha=0.0, batch_size="auto", solver="adam",
                 learning_rate_init=1e-3, momentum=0.9, max_grad_norm=1.0, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10):
        self.n_hidden = n_hidden
        self.attention = attention
        self.buffer_size = buffer_size
        self.memory_size = memory_size
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
        return RelevancyScreeningNetwork(
            X.shape[2], self.n_hidden, len(self.classes_), attention=self.attention,
            buffer_size=self.buffer_size, memory_size=self.memory_size,
            output="sequence" if y.ndim == 2 else "last", random_state=random_state,
            dtype=dtype)

    # -- analysis ---------------------------------------------------------------------
    def state_gradients(self, X, y, steps=None):
        """Gradient of the loss on ``(X, y)`` with respect to every hidden state.

        The total derivative ``dL/dh_t`` (through the recurrence and the
        attention) at the fitted parameters, where ``L`` is the mean
        cross-entropy (no penalties) over the samples and, for per-step
        targets, over the time steps ``steps``. See
        :func:`graphsig.dynamics.gradient_propagation`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_timesteps)
        steps : array-like of int or None, default=None
            Time steps whose outputs enter the loss (per-step targets only);
            None is all of them.

        Returns
        -------
        ndarray of shape (n_samples, n_timesteps, n_hidden)
        """
        from ._losses import softmax

        check_is_fitted(self, "network_")
        X, y = self._prepare_data(X, y)
        net = self.network_
        net.zero_grad()
        out = net.forward(X)
        grad = softmax(out, axis=-1)
        np.put_along_axis(grad, y[..., None],
                          np.take_along_axis(grad, y[..., None], axis=-1) - 1, axis=-1)
        if y.ndim == 2:
            weight = np.zeros(y.shape[1])
            if steps is None:
                weight[:] = 1.0
            else:
                chosen = np.asarray(steps)
                if (chosen.ndim != 1 or chosen.size == 0 or chosen.dtype.kind not in "iu"
                        or chosen.min() < -y.shape[1] or chosen.max() >= y.shape[1]):
                    raise ValueError(
                        f"steps must be a non-empty 1-D array of time steps in "
                        f"[0, {y.shape[1] - 1}], got {steps!r}")
                weight[chosen] = 1.0
            grad *= (weight / (weight.sum() * len(y)))[None, :, None]
        else:
            if steps is not None:
                raise ValueError("steps applies to per-step targets only")
            grad /= len(y)
        net.backward(grad)
        out = net.state_gradients
        net.zero_grad()
        net.clear_cache()
        net.state_gradients = None
        return out

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (over all time steps for per-step targets)."""
        y = np.asarray(y)
        if y.ndim != 2:
            return super().score(X, y, sample_weight)
        correct = (self.predict(X) == y).mean(axis=1)
        return float(np.average(correct, weights=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
