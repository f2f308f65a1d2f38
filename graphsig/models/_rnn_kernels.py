"""Compiled time loops of the recurrent networks (numba, cached on disk).

Imported only when a recurrent network runs, so that importing graphsig
compiles nothing. The activation is selected by an integer code, its
``kernel_code`` in :data:`graphsig.models._activations.ACTIVATIONS`; its
parameters come as two per-unit arrays.
"""

import numpy as np
from numba import njit

from ._activations import KERNEL_CODES

# activation codes, from the table of activations (compile-time constants here)
IDENTITY = KERNEL_CODES["identity"]
TANH = KERNEL_CODES["tanh"]
RELU = KERNEL_CODES["relu"]
LOGISTIC = KERNEL_CODES["logistic"]
SOFTPLUS = KERNEL_CODES["softplus"]
MODRELU = KERNEL_CODES["modrelu"]
ADAPTIVE = KERNEL_CODES["adaptive"]


@njit(cache=True, inline="always")
def _softplus(z):
    if z > 0:
        return z + np.log1p(np.exp(-z))
    return np.log1p(np.exp(z))


@njit(cache=True, inline="always")
def _sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def _activate(z, out, code, p0, p1):
    n_samples, n_units = z.shape
    for i in range(n_samples):
        for j in range(n_units):
            v = z[i, j]
            if code == IDENTITY:
                r = v
            elif code == TANH:
                r = np.tanh(v)
            elif code == RELU:
                r = v if v > 0 else 0.0
            elif code == LOGISTIC:
                r = _sigmoid(v)
            elif code == SOFTPLUS:
                r = _softplus(v)
            elif code == MODRELU:
                m = abs(v) + p0[j]
                if m > 0:
                    r = m if v > 0 else (-m if v < 0 else 0.0)
                else:
                    r = 0.0
            else:  # ADAPTIVE: (1 - s) softplus(n v) / n + s sigmoid(n v)
                g = p0[j]
                s = p1[j]
                r = (1.0 - s) * _softplus(g * v) / g + s * _sigmoid(g * v)
            out[i, j] = r


@njit(cache=True)
def forward_loop(Z, WT, code, p0, p1):
    """Run the recurrence in place: ``Z`` holds the input drive on entry and
    the pre-activations on exit; returns the states ``H``."""
    n_samples, n_steps, n_units = Z.shape
    H = np.empty_like(Z)
    h = np.empty((n_samples, n_units), dtype=Z.dtype)
    z = np.empty((n_samples, n_units), dtype=Z.dtype)
    for t in range(n_steps):
        if t == 0:
            z[:, :] = Z[:, 0, :]
        else:
            z[:, :] = np.dot(h, WT)
            z += Z[:, t, :]
            Z[:, t, :] = z
        _activate(z, h, code, p0, p1)
        H[:, t, :] = h
    return H


@njit(cache=True)
def backward_loop(dH, fx, W):
    """Backpropagate through time: ``dH`` (gradients of the states from the
    read-out) is updated in place to the total gradient of each state; returns
    the gradients of the pre-activations."""
    n_samples, n_steps, n_units = dH.shape
    dZ = np.empty_like(dH)
    dz = np.empty((n_samples, n_units), dtype=dH.dtype)
    carry = np.zeros((n_samples, n_units), dtype=dH.dtype)
    for t in range(n_steps - 1, -1, -1):
        for i in range(n_samples):
            for j in range(n_units):
                d = dH[i, t, j] + carry[i, j]
                dH[i, t, j] = d
                dz[i, j] = d * fx[i, t, j]
        dZ[:, t, :] = dz
        if t > 0:
            carry[:, :] = np.dot(dz, W)
    return dZ
