"""Data sets: loaders for the data bundled with graphsig, and task generators.

Names are loaded on first use.
"""

from importlib import import_module

# public name -> private module defining it
_LAZY = {
    # bundled real data
    "load_pbmc68k": "graphsig.datasets._pbmc",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphsig.datasets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
