"""Recurrent networks trained by backpropagation through time: nnRNN and baselines.

The state follows ``h_t = phi(W h_{t-1} + U^T x_t + b)`` from ``h_0 = 0``,
and a linear read-out gives logits from every state (sequence labelling) or
from the last one (sequence classification). Three parametrisations of the
recurrent matrix ``W`` are provided:

``'nonnormal'`` (nnRNN, Kerg et al., 2019)
    ``W = P (Lambda + T o M) P^T`` with ``P = expm(A)``, ``A`` skew-symmetric;
    ``Lambda`` block diagonal with 2x2 rotations ``alpha_k R(theta_k)``; ``T``
    learned on the strictly block-upper-triangular mask ``M``. This is a real
    Schur form: ``Lambda`` holds the eigenvalues, ``T`` the non-normal part.
    Penalties ``scale_penalty * sum (alpha_k - 1)^2`` and
    ``triangular_penalty * ||T o M||^2`` keep it close to orthogonal.
``'orthogonal'``
    ``W = expm(A)`` with ``A`` skew-symmetric: exactly orthogonal throughout
    training.
``'vanilla'``
    ``W`` unconstrained.

The matrix exponential of a skew-symmetric matrix and the adjoint of its
Frechet derivative are computed from one Hermitian eigendecomposition
(``A = V diag(i w) V^H``), which gives the exact gradient through ``expm``.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._activations import (
    ACTIVATION_NAMES,
    activation_partials,
    activation_value,
    build_activation,
    check_adaptive_init,
)
from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    BaseNeuralEstimator,
    NeuralClassifierMixin,
    NumberInterval,
    check_finite_network_output,
)
from ._layers import Dense, Module
from ._optim import SGD, Adam
from ._sequences import SequenceInputMixin, SequenceTargetsMixin

__all__ = ["RecurrentNetwork", "NonNormalRNNClassifier", "expm_skew", "SkewExponential"]


# ---------------------------------------------------------------------------
# exponential of skew-symmetric matrices
# ---------------------------------------------------------------------------
class SkewExponential:
    """``expm(A)`` of a real skew-symmetric matrix and the adjoint of its derivative.

    With ``A = V diag(lam) V^H`` (``lam`` imaginary, ``V`` unitary, from the
    Hermitian eigendecomposition of ``iA``), ``expm(A) = V diag(e^lam) V^H``
    and the Frechet derivative is ``L(A, E) = V (Phi o (V^H E V)) V^H`` with
    the divided differences ``Phi_jk = (e^lam_j - e^lam_k) / (lam_j - lam_k)``.
    :meth:`adjoint` maps ``G = dLoss/dexpm(A)`` to ``dLoss/dA``.

    Parameters
    ----------
    A : ndarray of shape (n, n)
        Skew-symmetric.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.linalg import expm
    >>> from graphsig.models._rnn import SkewExponential
    >>> A = np.array([[0.0, -0.3], [0.3, 0.0]])
    >>> bool(np.allclose(SkewExponential(A).matrix, expm(A)))
    True
    """

    def __init__(self, A):
        w, V = np.linalg.eigh(1j * A)
        lam = -1j * w  # eigenvalues of A
        self._V = V
        e = np.exp(lam)
        self.matrix = np.real((V * e) @ V.conj().T)
        d = lam[:, None] - lam[None, :]
        small = np.abs(d) < 1e-8
        safe = np.where(small, 1.0, d)
        ratio = np.where(small, 1.0 + d / 2, np.expm1(d) / safe)
        self._phi = e[None, :] * ratio  # (e^lam_j - e^lam_k) / (lam_j - lam_k)

    def adjoint(self, G):
        """Gradient with respect to ``A`` given the gradient ``G`` with respect to ``expm(A)``."""
        V = self._V
        inner = V.conj().T @ G @ V
        return np.real(V @ (np.conj(self._phi) * inner) @ V.conj().T)


def expm_skew(A):
    """Matrix exponential of a skew-symmetric matrix (an orthogonal matrix)."""
    return SkewExponential(A).matrix


def _rotation_angles(init, n_blocks, rng):
    if init == "henaff":
        return rng.uniform(-np.pi, np.pi, n_blocks)
    if init == "cayley":
        return rng.uniform(0, np.pi / 2, n_blocks) * rng.choice([-1.0, 1.0], n_blocks)
    raise ValueError(f"unknown recurrent_init {init!r}")


# ---------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------
class RecurrentNetwork(Module):
    """Elman recurrent network with a structured recurrent matrix, trained by BPTT.

    ``forward`` takes inputs of shape ``(n_samples, n_timesteps, n_in)`` and
    returns logits of shape ``(n_samples, n_timesteps, n_out)``
    (``output='sequence'``) or ``(n_samples, n_out)`` (``output='last'``).

    Parameters
    ----------
    n_in, n_hidden, n_out : int
    recurrence : {'nonnormal', 'orthogonal', 'vanilla'}, default='nonnormal'
    activation : str, default='modrelu'
        See :func:`graphsig.models._activations.build_activation`.
    output : {'last', 'sequence'}, default='last'
    recurrent_init : {'henaff', 'cayley', 'normal'}, default='henaff'
        Rotation angles of ``Lambda`` (or of ``A``, or of ``W``): uniform on
        ``(-pi, pi)`` ('henaff') or of magnitude uniform on ``(0, pi/2)``
        ('cayley'); 'normal' draws a vanilla ``W`` with i.i.d. ``N(0, 1/n)``
        entries.
    adaptive_per_neuron : bool, default=False
    adaptive_init : tuple, default=(1.0, 0.0)
    random_state : int, RandomState or None
    dtype : numpy dtype, default=float64
    """

    def __init__(self, n_in, n_hidden, n_out, *, recurrence="nonnormal", activation="modrelu",
                 output="last", recurrent_init="henaff", adaptive_per_neuron=False,
                 adaptive_init=(1.0, 0.0), random_state=None, dtype=np.float64):
        super().__init__()
        rng = check_random_state(random_state)
        n = self.n_hidden = int(n_hidden)
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.recurrence = recurrence
        self.output = output
        self.dtype = np.dtype(dtype)
        self.add_module("input", Dense(n_in, n, init="glorot_uniform", random_state=rng,
                                       dtype=dtype))
        self._iu = np.triu_indices(n, 1)
        n_blocks = n // 2
        if recurrence == "vanilla":
            if recurrent_init == "normal":
                W = rng.standard_normal((n, n)) / np.sqrt(n)
            else:
                W = self._block_rotations(_rotation_angles(recurrent_init, n_blocks, rng),
                                          np.ones(n - n_blocks))
            self.add_param("W", W.astype(dtype))
        elif recurrence in ("orthogonal", "nonnormal"):
            if recurrent_init == "normal":
                raise ValueError("recurrent_init='normal' applies to the vanilla recurrence only")
            angles = _rotation_angles(recurrent_init, n_blocks, rng)
            if recurrence == "orthogonal":
                # A block diagonal with blocks [[0, -theta], [theta, 0]]: expm(A) = rotations
                A = np.zeros((n, n))
                k = 2 * np.arange(n_blocks)
                A[k, k + 1] = -angles
                A[k + 1, k] = angles
                self.add_param("skew", A[self._iu].astype(dtype), decay=False)
            else:
                self.add_param("skew", np.zeros(len(self._iu[0]), dtype=dtype), decay=False)
                self.add_param("angles", angles.astype(dtype), decay=False)
                self.add_param("scales", np.ones(n - n_blocks, dtype=dtype), decay=False)
                mask = np.triu(np.ones((n, n), dtype=bool), 1)
                k = 2 * np.arange(n_blocks)
                mask[k, k + 1] = False  # the 2x2 blocks belong to Lambda
                self._tri = np.nonzero(mask)
                self.add_param("upper", np.zeros(len(self._tri[0]), dtype=dtype), decay=False)
        else:
            raise ValueError(f"unknown recurrence {recurrence!r}")
        self.add_module("activation", build_activation(
            activation, n, per_neuron=adaptive_per_neuron, init=adaptive_init, dtype=dtype))
        self.add_module("readout", Dense(n, n_out, init="glorot_uniform", random_state=rng,
                                         dtype=dtype))
        self._cache = None
        self._cache_W = None

    # -- recurrent matrix -----------------------------------------------------
    def _block_rotations(self, angles, scales):
        n = self.n_hidden
        nb = len(angles)
        L = np.zeros((n, n))
        k = 2 * np.arange(nb)
        c, s = np.cos(angles), np.sin(angles)
        a = scales[:nb]
        L[k, k], L[k, k + 1], L[k + 1, k], L[k + 1, k + 1] = a * c, -a * s, a * s, a * c
        if n % 2:
            L[-1, -1] = scales[-1]
        return L

    def _skew_matrix(self):
        n = self.n_hidden
        A = np.zeros((n, n))
        A[self._iu] = self.skew
        return A - A.T

    def recurrent_matrix(self):
        """The current recurrent matrix ``W`` (a new array)."""
        return self._compute_W()[0]

    def _compute_W(self):
        if self.recurrence == "vanilla":
            return np.array(self.W, dtype=np.float64), None
        expo = SkewExponential(self._skew_matrix())
        P = expo.matrix
        if self.recurrence == "orthogonal":
            return P, (expo,)
        D = self._block_rotations(self.angles, self.scales)
        D[self._tri] += self.upper
        return P @ D @ P.T, (expo, P, D)

    def _backward_W(self, gW, aux):
        """Gradients of the recurrence parameters from ``gW = dLoss/dW``."""
        if self.recurrence == "vanilla":
            self._grads["W"] += gW
            return
        expo = aux[0]
        if self.recurrence == "orthogonal":
            gA = expo.adjoint(gW)
        else:
            _, P, D = aux
            gD = P.T @ gW @ P
            self._grads["upper"] += gD[self._tri]
            nb = self.n_hidden // 2
            k = 2 * np.arange(nb)
            c, s = np.cos(self.angles), np.sin(self.angles)
            g00, g01, g10, g11 = gD[k, k], gD[k, k + 1], gD[k + 1, k], gD[k + 1, k + 1]
            a = self.scales[:nb]
            self._grads["scales"][:nb] += g00 * c - g01 * s + g10 * s + g11 * c
            self._grads["angles"] += a * (-g00 * s - g01 * c + g10 * c - g11 * s)
            if self.n_hidden % 2:
                self._grads["scales"][-1] += gD[-1, -1]
            gP = gW @ P @ D.T + gW.T @ P @ D
            gA = expo.adjoint(gP)
        self._grads["skew"] += gA[self._iu] - gA.T[self._iu]

    def penalty(self, scale_penalty, triangular_penalty):
        """nnRNN penalties ``scale_penalty * sum (alpha - 1)^2 + triangular_penalty * ||T||^2``.

        Adds the gradient into :attr:`grads`; returns the value (0 for the
        other recurrences).
        """
        if self.recurrence != "nonnormal":
            return 0.0
        d = self.scales - 1.0
        value = scale_penalty * float(d @ d) + triangular_penalty * float(self.upper @ self.upper)
        self._grads["scales"] += 2 * scale_penalty * d
        self._grads["upper"] += 2 * triangular_penalty * self.upper
        return value

    # -- passes ---------------------------------------------------------------
    def _kernel_activation(self):
        """(code, p0, p1) of the activation for the compiled loop, or None
        (its row of the activation table has no kernel code)."""
        return self.activation.kernel_parameters(self.n_hidden)

    def _run(self, X, W, compiled=True):
        """Pre-activations ``Z`` and states ``H`` for inputs ``X`` (n, T, n_in)."""
        # in the dtype of the parameters and inputs (float32 stays float32)
        Z = np.ascontiguousarray(self.input.forward(X))
        spec = self._kernel_activation() if compiled else None
        if spec is not None:
            from ._rnn_kernels import forward_loop

            WT = np.ascontiguousarray(W.T, dtype=Z.dtype)
            H = forward_loop(Z, WT, *spec)
            return Z, H
        # reference implementation (and fallback for other activations)
        H = np.empty_like(Z)
        act = self.activation
        WT = W.T.astype(Z.dtype, copy=False)
        h = None
        for t in range(Z.shape[1]):
            z = Z[:, t]
            if h is not None:
                z += h @ WT  # Z is a fresh array: update in place
            h = activation_value(act, z)
            H[:, t] = h
        return Z, H

    @staticmethod
    def _backward_loop(dH, fx, W, compiled=True):
        """Total state gradients and pre-activation gradients, from the
        read-out's state gradients ``dH``."""
        if compiled:
            from ._rnn_kernels import backward_loop

            dH = np.ascontiguousarray(dH)
            dZ = backward_loop(dH, np.ascontiguousarray(fx, dtype=dH.dtype),
                               np.ascontiguousarray(W, dtype=dH.dtype))
            return dH, dZ
        dZ = np.empty_like(dH)
        carry = None
        for t in range(dH.shape[1] - 1, -1, -1):
            dh = dH[:, t]
            if carry is not None:
                dh += carry
            dz = dh * fx[:, t]
            dZ[:, t] = dz
            carry = dz @ W
        return dH, dZ

    def hidden_states(self, X):
        """States ``h_1 .. h_T`` for inputs of shape (n, T, n_in), shape (n, T, n_hidden)."""
        W, _ = self._compute_W()
        return self._run(X, W)[1]

    def jacobian_factors(self, X):
        """``(W, gains)`` with ``dh_t / dh_{t-1} = diag(gains[:, t]) @ W``.

        ``gains`` has shape (n, T, n_hidden): the derivative of the activation
        at each pre-activation. Used by :func:`graphsig.dynamics.lyapunov_spectrum`.
        """
        W, _ = self._compute_W()
        Z, H = self._run(X, W)
        gains, _ = activation_partials(self.activation, Z, H)
        return W, gains

    def forward(self, X):
        W, aux = self._compute_W()
        Z, H = self._run(X, W)
        self._cache = (X, Z, H)
        self._cache_W = (W, aux)
        if self.output == "sequence":
            return self.readout.forward(H)
        return self.readout.forward(H[:, -1])

    def backward(self, grad_out):
        X, Z, H = self._cache
        W, aux = self._cache_W
        n_samples, n_steps, n = H.shape
        if self.output == "sequence":
            dH = self.readout.backward(grad_out)
        else:
            dH = np.zeros_like(H)
            dH[:, -1] = self.readout.backward(grad_out)
        fx, param_parts = activation_partials(self.activation, Z, H)
        # dH becomes the total gradient of each state, dZ of each pre-activation
        dH, dZ = self._backward_loop(dH, fx, W)
        if param_parts:
            act_grads = self.activation.reduce_param_grads([dH * p for p in param_parts])
            for g, v in zip(self.activation.grads, act_grads):
                g += v
        if n_steps > 1:
            gW = dZ[:, 1:].reshape(-1, n).T @ H[:, :-1].reshape(-1, n)
            self._backward_W(gW, aux)
        return self.input.backward(dZ)


# ---------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------
class _ParameterGroups:
    """Optimisers over disjoint groups of a network's parameter list."""

    def __init__(self, groups):
        self.groups = groups  # list of (indices, optimiser)

    def step(self, grads):
        for idx, opt in self.groups:
            opt.step([grads[i] for i in idx])


class NonNormalRNNClassifier(SequenceTargetsMixin, SequenceInputMixin, NeuralClassifierMixin,
                             BaseNeuralEstimator):
    """Recurrent classifier with a non-normal recurrent matrix (nnRNN), and its baselines.

    The recurrent matrix is ``W = P (Lambda + T o M) P^T`` with
    ``P = expm(A)``, ``A`` skew-symmetric, ``Lambda`` block diagonal with 2x2
    rotations scaled by ``alpha_k`` and ``T`` strictly block-upper-triangular
    (Kerg et al., 2019). ``recurrence='orthogonal'`` constrains ``W = expm(A)``
    and ``recurrence='vanilla'`` leaves it free. Trained by backpropagation
    through time with hand-written gradients (through ``expm`` exactly).

    Inputs are sequences of shape ``(n_samples, n_timesteps, n_features)``, or
    2-D arrays of shape ``(n_samples, n_timesteps * n_features)`` read with
    ``n_timesteps`` (the default ``n_timesteps=None`` reads each column as one
    time step of a scalar sequence). Targets are either one label per sequence,
    shape ``(n_samples,)``, predicted from the last state, or one label per time
    step, shape ``(n_samples, n_timesteps)``, predicted from every state (the
    copy task); ``predict`` returns labels of the same shape.

    Parameters
    ----------
    n_hidden : int, default=64
        Number of recurrent units.
    recurrence : {'nonnormal', 'orthogonal', 'vanilla'}, default='nonnormal'
    activation : str, default='modrelu'
        'modrelu' (learned bias per unit), 'tanh', 'relu', 'logistic',
        'softplus', 'identity', or 'adaptive' (learned gain and saturation,
        see :class:`~graphsig.models._activations.AdaptiveActivation`).
    adaptive_per_neuron : bool, default=True
        For ``activation='adaptive'``: one (gain, saturation) pair per unit.
    adaptive_init : tuple of float, default=(1.0, 0.0)
        Initial (gain, saturation) of the adaptive activation.
    n_timesteps : int or None, default=None
        Length of the sequences when ``X`` is 2-D.
    recurrent_init : {'auto', 'henaff', 'cayley', 'normal'}, default='auto'
        'auto' is 'henaff' (rotation angles uniform on (-pi, pi)) for the
        nonnormal and orthogonal recurrences and 'normal' (i.i.d. N(0, 1/n)
        entries) for the vanilla one.
    scale_penalty : float, default=1e-4
        ``delta`` in ``delta * sum_k (alpha_k - 1)^2`` (nonnormal only).
    triangular_penalty : float, default=1e-6
        Weight of ``||T o M||^2`` (nonnormal only).
    recurrent_learning_rate : float or None, default=None
        Learning rate of the parameters of ``W`` (``A``, angles, scales,
        ``T``, or the vanilla ``W``); None uses ``learning_rate_init``.
    modulus_learning_rate : 'auto' or float, default='auto'
        Learning rate of the moduli ``alpha_k`` of the eigenvalues (nonnormal
        only). Their effect compounds along the sequence: a state is
        multiplied by about ``alpha_k^n_timesteps`` on its way through, and
        an optimiser step that moves ``alpha_k`` by the learning rate (as
        Adam's steps do, whatever the gradient's size) changes that factor
        ``n_timesteps`` times as much. 'auto' therefore divides the recurrent
        learning rate by the length of the training sequences, so that one
        step changes the gain over a whole sequence by about the recurrent
        learning rate. (At the recurrent learning rate itself, ``alpha_k``
        drifts to about 0.85 within a few hundred Adam steps on the copy task
        at delay 200, a gain of 1e-14 over the delay, and the memory is
        lost.) The non-normal part ``T``, whose effect grows polynomially
        rather than exponentially along the sequence, learns at the
        recurrent learning rate.
    alpha : float, default=0.0
        L2 penalty on the input, read-out (and vanilla recurrent) weights.
    batch_size, solver, learning_rate_init, momentum, max_grad_norm, max_iter, \
shuffle, random_state, tol, warm_start, early_stopping, validation_fraction, \
n_iter_no_change
        Training loop, as in :class:`sklearn.neural_network.MLPClassifier`;
        ``max_iter`` counts epochs. ``max_grad_norm`` clips the joint gradient
        norm (default 1.0, as is usual for recurrent networks).

    Attributes
    ----------
    classes_ : ndarray
    network_ : RecurrentNetwork
    recurrent_matrix_ : ndarray of shape (n_hidden, n_hidden)
        The fitted ``W``.
    n_timesteps_ : int
        Sequence length seen in ``fit``.
    activation_gain_, activation_saturation_ : ndarray or None
        Fitted gain ``n`` and saturation ``s`` of the adaptive activation.
    loss_curve_ : list of float
        Mean training loss per epoch (per ``partial_fit`` call).
    n_iter_, t_ : int
        Epochs and optimiser steps.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.models import NonNormalRNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 6, 2))
    >>> y = (X[:, 0, 0] > 0).astype(int)      # remember the first input
    >>> clf = NonNormalRNNClassifier(n_hidden=8, max_iter=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape, clf.recurrent_matrix_.shape
    ((3,), (8, 8))
    """

    _parameter_constraints = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        "n_hidden": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "recurrence": [StrOptions({"nonnormal", "orthogonal", "vanilla"})],
        "activation": [StrOptions(set(ACTIVATION_NAMES))],
        "adaptive_per_neuron": ["boolean"],
        "adaptive_init": [tuple, list],
        "n_timesteps": [None, NumberInterval(numbers.Integral, 1, None, closed="left")],
        "recurrent_init": [StrOptions({"auto", "henaff", "cayley", "normal"})],
        "scale_penalty": [NumberInterval(numbers.Real, 0, None, closed="left")],
        "triangular_penalty": [NumberInterval(numbers.Real, 0, None, closed="left")],
        "recurrent_learning_rate": [None, NumberInterval(numbers.Real, 0, None, closed="neither")],
        "modulus_learning_rate": [StrOptions({"auto"}),
                                  NumberInterval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, n_hidden=64, *, recurrence="nonnormal", activation="modrelu",
                 adaptive_per_neuron=True, adaptive_init=(1.0, 0.0), n_timesteps=None,
                 recurrent_init="auto", scale_penalty=1e-4, triangular_penalty=1e-6,
                 recurrent_learning_rate=None, modulus_learning_rate="auto", alpha=0.0,
                 batch_size="auto", solver="adam",
                 learning_rate_init=1e-3, momentum=0.9, max_grad_norm=1.0, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10):
        self.n_hidden = n_hidden
        self.recurrence = recurrence
        self.activation = activation
        self.adaptive_per_neuron = adaptive_per_neuron
        self.adaptive_init = adaptive_init
        self.n_timesteps = n_timesteps
        self.recurrent_init = recurrent_init
        self.scale_penalty = scale_penalty
        self.triangular_penalty = triangular_penalty
        self.recurrent_learning_rate = recurrent_learning_rate
        self.modulus_learning_rate = modulus_learning_rate
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

    # -- network --------------------------------------------------------------
    def _build_network(self, X, y, random_state, dtype):
        init = self.recurrent_init
        if init == "auto":
            init = "normal" if self.recurrence == "vanilla" else "henaff"
        return RecurrentNetwork(
            X.shape[2], self.n_hidden, len(self.classes_), recurrence=self.recurrence,
            activation=self.activation, output="sequence" if y.ndim == 2 else "last",
            recurrent_init=init, adaptive_per_neuron=self.adaptive_per_neuron,
            adaptive_init=check_adaptive_init(self.adaptive_init), random_state=random_state,
            dtype=dtype,
        )

    def _modulus_rate(self):
        """Learning rate of the moduli ``alpha_k`` (see the class docstring)."""
        rec = (self.learning_rate_init if self.recurrent_learning_rate is None
               else self.recurrent_learning_rate)
        if self.modulus_learning_rate == "auto":
            return rec / self.n_timesteps_
        return float(self.modulus_learning_rate)

    def _make_optimizer(self):
        net = self.network_
        lr = self.learning_rate_init
        rec = lr if self.recurrent_learning_rate is None else self.recurrent_learning_rate
        modulus = self._modulus_rate() if self.recurrence == "nonnormal" else rec
        if rec == lr and modulus == lr:
            return super()._make_optimizer()
        kind = {id(p): (2 if name == "scales" else 1)
                for name, p in net._params.items()
                if name in ("W", "skew", "angles", "scales", "upper")}
        params = net.params
        groups = []
        for group, rate in ((0, lr), (1, rec), (2, modulus)):
            idx = [i for i, p in enumerate(params) if kind.get(id(p), 0) == group]
            if not idx:
                continue
            chosen = [params[i] for i in idx]
            if self.solver == "adam":
                opt = Adam(chosen, learning_rate=rate)
            else:
                opt = SGD(chosen, learning_rate=rate, momentum=self.momentum,
                          nesterov=self.momentum > 0)
            groups.append((idx, opt))
        return _ParameterGroups(groups)

    def _parameter_penalty(self, n_samples):
        value = super()._parameter_penalty(n_samples)
        return value + self.network_.penalty(self.scale_penalty, self.triangular_penalty)

    # -- fitted views -----------------------------------------------------------
    @property
    def recurrent_matrix_(self):
        check_is_fitted(self, "network_")
        return self.network_.recurrent_matrix()

    @property
    def activation_gain_(self):
        check_is_fitted(self, "network_")
        act = self.network_.activation
        return act.gain.copy() if hasattr(act, "gain") else None

    @property
    def activation_saturation_(self):
        check_is_fitted(self, "network_")
        act = self.network_.activation
        return act.saturation.copy() if hasattr(act, "saturation") else None

    def _prepare_sequences(self, X):
        """Validate sequences of any length with the fitted number of features per step."""
        check_is_fitted(self, "network_")
        X = check_array(X, allow_nd=True, dtype=[np.float64, np.float32], input_name="X")
        d = self._n_step_features
        if X.ndim == 2:
            if X.shape[1] % d:
                raise ValueError(
                    f"X has {X.shape[1]} columns, not a multiple of the {d} features per step"
                )
            X = X.reshape(X.shape[0], -1, d)
        if X.ndim != 3 or X.shape[2] != d:
            raise ValueError(
                f"X must hold sequences with {d} features per step, got shape {X.shape}"
            )
        return X

    def hidden_states(self, X):
        """States of the fitted network along input sequences of any length.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_steps, n_features)
            Or 2-D with ``n_steps * n_features`` columns.

        Returns
        -------
        ndarray of shape (n_samples, n_steps, n_hidden)
        """
        X = self._prepare_sequences(X)
        return check_finite_network_output(self.network_.hidden_states(X), X,
                                           "the hidden states", network=self.network_)

    def jacobian_factors(self, X):
        """``(W, gains)``, ``dh_t/dh_{t-1} = diag(gains[:, t]) W``, along sequences of any length.

        See :func:`graphsig.dynamics.lyapunov_spectrum`.
        """
        X = self._prepare_sequences(X)
        W, gains = self.network_.jacobian_factors(X)
        return W, check_finite_network_output(gains, X, "the activation derivatives",
                                              network=self.network_)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (over all time steps for per-step targets)."""
        y = np.asarray(y)
        if y.ndim != 2:
            return super().score(X, y, sample_weight)
        pred = self.predict(X)
        correct = (pred == y).mean(axis=1)
        return float(np.average(correct, weights=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
