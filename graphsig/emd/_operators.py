"""One diffusion operator per graph and parameters, shared by every estimator on it."""

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from ..diffusion import DiffusionOperator

__all__ = ["operator_for"]

# A small cache keyed by the content of the validated adjacency, so that
# editing a graph in place and refitting builds a new operator, while clones
# and refits on the same graph share one.
_OPERATORS = OrderedDict()
_OPERATORS_LOCK = threading.Lock()
_OPERATORS_MAX = 4


def operator_for(adjacency, anisotropy, weighted):
    """The (cached) :class:`~graphsig.diffusion.DiffusionOperator` of a graph."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.asarray(adjacency.shape, dtype=np.int64).tobytes())
    for array in (adjacency.indptr, adjacency.indices, adjacency.data):
        digest.update(np.ascontiguousarray(array).tobytes())
    key = (digest.hexdigest(), float(anisotropy), bool(weighted))
    with _OPERATORS_LOCK:
        op = _OPERATORS.get(key)
        if op is not None:
            _OPERATORS.move_to_end(key)
            return op
    op = DiffusionOperator(adjacency, anisotropy=anisotropy, weighted=weighted)
    with _OPERATORS_LOCK:
        _OPERATORS[key] = op
        while len(_OPERATORS) > _OPERATORS_MAX:
            _OPERATORS.popitem(last=False)
    return op
