"""Nearest neighbours, distances and kernels over embeddings of graph signals."""

from .._lazy import attach

_LAZY = {
    "l1_distances": "graphsig.neighbors._distances",
    "l1_kneighbors": "graphsig.neighbors._knn",
    "EMDNeighbors": "graphsig.neighbors._transformer",
    "knn_affinity": "graphsig.neighbors._affinity",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
