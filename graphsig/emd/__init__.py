"""Earth mover's distances on graphs: diffusion embeddings and exact solutions."""

from .._lazy import attach

_LAZY = {
    "DiffusionEMD": "graphsig.emd._diffusion_emd",
    "UnbalancedDiffusionEMD": "graphsig.emd._diffusion_emd",
    "GraphSignalFeaturizer": "graphsig.emd._featurizer",
    "exact_emd": "graphsig.emd._exact",
    "exact_kneighbors": "graphsig.emd._certified",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY)
