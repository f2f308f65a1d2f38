"""Analysis of learning dynamics and of trained dynamical systems.

- :func:`lyapunov_spectrum` measures how a recurrent network expands or
  contracts perturbations of its state along its trajectory: the Lyapunov
  exponents of the driven system ``h_t = phi(W h_{t-1} + U^T x_t + b)``.
- :func:`gradient_propagation` measures how the gradient of a recurrent
  network's loss with respect to its hidden states decays with the lag.
- :func:`tangent_kernel` and :func:`tangent_kernel_alignment` measure the
  empirical neural tangent kernel of a network and its centred alignment with
  the targets.

Each analysis lives in its own private module of this package and is
re-exported here; add a new one by adding its module and one line below.
"""

from ._gradient_propagation import gradient_propagation
from ._lyapunov import lyapunov_spectrum
from ._tangent_kernel import tangent_kernel, tangent_kernel_alignment

__all__ = [
    "gradient_propagation",
    "lyapunov_spectrum",
    "tangent_kernel",
    "tangent_kernel_alignment",
]
