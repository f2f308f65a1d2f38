"""Diffusion operators on graphs and their fast application to many signals.

The numba kernels live in ``graphsig.diffusion._kernels`` and are imported
(and compiled, with an on-disk cache) only when a diffusion runs.
"""

from ._operator import (
    DiffusionOperator,
    dyadic_times,
    estimate_diameter,
    lazy_walk_chebyshev,
)

__all__ = ["DiffusionOperator", "dyadic_times", "estimate_diameter", "lazy_walk_chebyshev"]
