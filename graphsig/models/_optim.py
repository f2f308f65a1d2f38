"""First-order optimisers over lists of parameter arrays.

An optimiser is built on the list of parameter arrays it updates (in place)
and is stepped with the list of their gradients, in the same order:

>>> import numpy as np
>>> from graphsig.models._optim import Adam
>>> w = np.array([1.0, -2.0])
>>> opt = Adam([w], learning_rate=0.1)
>>> for _ in range(200):
...     opt.step([2 * w])          # gradient of ||w||^2
>>> bool(np.abs(w).max() < 0.05)
True
"""

import numpy as np

__all__ = ["Adam", "SGD", "clip_gradients"]


def clip_gradients(grads, max_norm):
    """Scale the gradient arrays in place so that their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping.
    """
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if max_norm is not None and norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in grads:
            g *= scale
    return norm


class Adam:
    """Adam (Kingma and Ba, 2015) with bias correction.

    Parameters
    ----------
    params : list of ndarray
        Arrays updated in place.
    learning_rate : float, default=1e-3
        Mutable attribute, so schedules may change it between steps.
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-8
    """

    def __init__(self, params, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.params = list(params)
        self.learning_rate = float(learning_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.ms = [np.zeros_like(p) for p in self.params]
        self.vs = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradient arrays, got {len(grads)}")
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        lr = self.learning_rate * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, v in zip(self.params, grads, self.ms, self.vs):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= (lr * m / (np.sqrt(v) + self.epsilon)).astype(p.dtype, copy=False)


class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Parameters
    ----------
    params : list of ndarray
    learning_rate : float, default=1e-2
    momentum : float, default=0.0
    nesterov : bool, default=False
    """

    def __init__(self, params, learning_rate=1e-2, momentum=0.0, nesterov=False):
        self.params = list(params)
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.t = 0
        self.velocities = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradient arrays, got {len(grads)}")
        self.t += 1
        lr, mu = self.learning_rate, self.momentum
        for p, g, v in zip(self.params, grads, self.velocities):
            v *= mu
            v -= lr * g
            if self.nesterov:
                p += (mu * v - lr * g).astype(p.dtype, copy=False)
            else:
                p += v.astype(p.dtype, copy=False)
