"""Lyapunov spectra of recurrent networks.

:func:`lyapunov_spectrum` measures how a recurrent network expands or
contracts perturbations of its state along its trajectory: the Lyapunov
exponents of the driven system ``h_t = phi(W h_{t-1} + U^T x_t + b)``.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["lyapunov_spectrum"]


# products of the Jacobian factors are kept below 2^900 and above 2^-900 in magnitude
_SAFE_EXPONENT = 900


def _exponent_of_largest(values, axis=None):
    """``e`` with ``2^(e-1) <= max |values| < 2^e`` (0 where the maximum is 0)."""
    largest = np.max(np.abs(values), axis=axis) if np.size(values) else np.float64(0.0)
    return np.frexp(largest)[1].astype(np.intc)


def _shift_into_range(exponent):
    """Power of two to divide by so that ``exponent`` falls in the safe range."""
    exponent = np.asarray(exponent, dtype=np.intc)
    return (np.maximum(exponent - _SAFE_EXPONENT, 0)
            + np.minimum(exponent + _SAFE_EXPONENT, 0)).astype(np.intc)


def lyapunov_spectrum(rnn, X, *, n_exponents=None, n_warmup=0, return_std=False,
                      random_state=0):
    """Lyapunov exponents of a recurrent network driven by input sequences.

    The Jacobians ``J_t = dh_t / dh_{t-1} = diag(phi'(z_t)) W`` along the
    trajectory of each input sequence are multiplied into an orthonormal
    frame, re-orthonormalised at every step by a QR decomposition
    (``Q_t R_t = J_t Q_{t-1}``), and the exponents are the time averages

    .. math::

        \\lambda_i = \\frac{1}{T - T_0} \\sum_{t > T_0} \\log |(R_t)_{ii}|,

    after ``T_0 = n_warmup`` steps that let the frame align with the
    dynamics. They are averaged over the sequences. Exponents are per time
    step, in natural-log units: a linear network with ``W = a I`` has every
    exponent equal to ``log |a|``, an orthogonal linear network has every
    exponent 0.

    Parameters
    ----------
    rnn : fitted NonNormalRNNClassifier, RecurrentNetwork, or object
        Anything with a method ``jacobian_factors(X) -> (W, gains)``, where
        ``W`` is the recurrent matrix (n_hidden, n_hidden) and ``gains`` the
        activation derivatives (n_sequences, n_timesteps, n_hidden), such that
        ``J_t = diag(gains[:, t]) @ W``. A fitted
        :class:`~graphsig.models.NonNormalRNNClassifier` accepts sequences of
        any length here.
    X : array-like of shape (n_sequences, n_timesteps, n_features)
        Input sequences driving the network (2-D inputs are read as the
        estimator reads them).
    n_exponents : int or None, default=None
        Number of leading exponents (all ``n_hidden`` by default).
    n_warmup : int, default=0
        Initial steps whose stretching factors are discarded.
    return_std : bool, default=False
        Also return the standard deviation of each exponent over sequences.
    random_state : int, RandomState instance or None, default=0
        Draws the initial orthonormal frame.

    Returns
    -------
    exponents : ndarray of shape (n_exponents,)
        Sorted in decreasing order. A direction that the Jacobians annihilate
        exactly (for example units whose derivative is zero at every step)
        has exponent ``-inf``.
    std : ndarray of shape (n_exponents,)
        Only if ``return_std``.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.dynamics import lyapunov_spectrum
    >>> class Linear:                      # h_t = 0.5 h_{t-1} + x_t
    ...     def jacobian_factors(self, X):
    ...         X = np.asarray(X)
    ...         return 0.5 * np.eye(3), np.ones(X.shape[:2] + (3,))
    >>> lyapunov_spectrum(Linear(), np.zeros((2, 50, 1))).round(4)
    array([-0.6931, -0.6931, -0.6931])

    References
    ----------
    Vogt, Puelma Touzel, Shlizerman and Lajoie, "On Lyapunov exponents for
    RNNs: understanding information propagation using dynamical systems
    tools", 2020.
    """
    if not hasattr(rnn, "jacobian_factors"):
        raise TypeError(
            "rnn must be a fitted recurrent estimator or network with a "
            f"jacobian_factors(X) method, got {type(rnn).__name__}"
        )
    W, gains = rnn.jacobian_factors(X)
    W = np.asarray(W, dtype=np.float64)
    gains = np.asarray(gains, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"the recurrent matrix must be square, got shape {W.shape}")
    if gains.ndim != 3 or gains.shape[2] != W.shape[0]:
        raise ValueError(
            f"gains must have shape (n_sequences, n_timesteps, {W.shape[0]}), got {gains.shape}"
        )
    n_seq, n_steps, n_hidden = gains.shape
    if n_exponents is None:
        n_exponents = n_hidden
    if (not isinstance(n_exponents, numbers.Integral) or isinstance(n_exponents, bool)
            or not 1 <= n_exponents <= n_hidden):
        raise ValueError(f"n_exponents must be an integer in [1, {n_hidden}], got {n_exponents!r}")
    if (not isinstance(n_warmup, numbers.Integral) or isinstance(n_warmup, bool)
            or not 0 <= n_warmup < n_steps):
        raise ValueError(
            f"n_warmup must be an integer in [0, {n_steps - 1}] (the sequences have "
            f"{n_steps} steps), got {n_warmup!r}"
        )
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(gains))):
        raise ValueError("the Jacobians contain NaN or infinity")

    # Exponents shift by log(c) when a Jacobian is scaled by c. Where the
    # factors are so large (or small) that the products below would overflow
    # (or lose digits as subnormals), they are scaled by a power of two (exact)
    # into a safe range, and the exponents of those powers are added back.
    # Factors of moderate size are left as they are.
    W_shift = _shift_into_range(_exponent_of_largest(W))
    W = np.ldexp(W, -W_shift)
    # the products diag(gains) W: one shift per sequence and step
    gain_shifts = _shift_into_range(_exponent_of_largest(W)
                                    + _exponent_of_largest(gains, axis=2))
    gains = np.ldexp(gains, -gain_shifts[:, :, None])
    n_kept = n_steps - n_warmup
    shift = (n_kept * float(W_shift)
             + gain_shifts[:, n_warmup:].sum(axis=1, dtype=np.float64)) * np.log(2.0)

    rng = check_random_state(random_state)
    Q = np.linalg.qr(rng.standard_normal((n_hidden, n_exponents)))[0]
    Q = np.broadcast_to(Q, (n_seq, n_hidden, n_exponents))
    total = np.zeros((n_seq, n_exponents))
    with np.errstate(divide="ignore"):
        for t in range(n_steps):
            M = gains[:, t, :, None] * (W @ Q)
            Q, R = np.linalg.qr(M)
            if t >= n_warmup:
                total += np.log(np.abs(np.diagonal(R, axis1=1, axis2=2)))
    per_sequence = -np.sort(-((total + shift[:, None]) / n_kept), axis=1)
    with np.errstate(invalid="ignore"):
        mean = per_sequence.mean(axis=0)
        if not return_std:
            return mean
        std = np.where(np.isfinite(mean), per_sequence.std(axis=0), np.nan)
    return mean, std
