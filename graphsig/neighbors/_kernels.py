"""numba kernel for all L1 distances between embeddings.

Imported only when used; compiled lazily with an on-disk cache.

The kernel lives in :mod:`graphsig.neighbors._knn_kernels`, next to the kNN
kernels that share its tile, so that numba's cache (which checks only the
file of the function compiled) sees any change to the tile.
"""

from ._knn_kernels import l1_cross, l1_tile

__all__ = ["l1_cross", "l1_tile"]
