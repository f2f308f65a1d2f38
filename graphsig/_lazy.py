"""Lazy public namespaces: names are imported from their modules on first use."""

import sys
from importlib import import_module


def attach(package, names, submodules=()):
    """Module-level ``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``names`` maps each public name to the module defining it; each name in
    ``submodules`` is the package's submodule of that name. A loaded value is
    stored in the package, so later lookups cost nothing.
    """
    public = sorted(set(names) | set(submodules))

    def __getattr__(name):
        if name in names:
            value = getattr(import_module(names[name]), name)
        elif name in submodules:
            value = import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(public))

    return __getattr__, __dir__, public
