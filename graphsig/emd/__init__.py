"""Earth mover's distances on graphs: diffusion embeddings and exact solutions."""

from importlib import import_module

_LAZY = {
    "DiffusionEMD": "graphsig.emd._diffusion_emd",
    "UnbalancedDiffusionEMD": "graphsig.emd._diffusion_emd",
    "exact_emd": "graphsig.emd._exact",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphsig.emd' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
