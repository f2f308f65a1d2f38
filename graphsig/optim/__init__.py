"""Optimisers for differentiable two-player games.

:func:`solve_minmax` runs gradient descent-ascent or LEAD (least-action
dynamics) on a min-max problem given the two players' gradients, and
:class:`LEADOptimizer` applies the same update to lists of parameter arrays
(the networks of :class:`graphsig.models.AdversarialGenerator`). Names are
loaded on first use.
"""

from .._lazy import attach

# public name -> private module defining it
_LAZY = {
    "LEADOptimizer": "graphsig.optim._lead",
    "MinMaxResult": "graphsig.optim._lead",
    "solve_minmax": "graphsig.optim._lead",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
