"""numba kernels for L1 distances between embeddings.

Imported only when used; compiled lazily with an on-disk cache.
"""

from numba import njit, prange

_TILE = 4


@njit(parallel=True, cache=True, nogil=True, fastmath=True)
def l1_cross(A, B, out):
    """``out[i, j] = sum_f |A[i, f] - B[j, f]|`` for C-contiguous 2-D ``A``, ``B``.

    Rows of ``A`` are processed four at a time, so that each row of ``B`` is
    read once per tile of four; the feature loop is contiguous and vectorises.
    """
    n_a, n_f = A.shape
    n_b = B.shape[0]
    n_tiles = (n_a + _TILE - 1) // _TILE
    for t in prange(n_tiles):
        i0 = t * _TILE
        if i0 + _TILE <= n_a:
            a0 = A[i0]
            a1 = A[i0 + 1]
            a2 = A[i0 + 2]
            a3 = A[i0 + 3]
            for j in range(n_b):
                b = B[j]
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                for f in range(n_f):
                    v = b[f]
                    s0 += abs(a0[f] - v)
                    s1 += abs(a1[f] - v)
                    s2 += abs(a2[f] - v)
                    s3 += abs(a3[f] - v)
                out[i0, j] = s0
                out[i0 + 1, j] = s1
                out[i0 + 2, j] = s2
                out[i0 + 3, j] = s3
        else:
            for i in range(i0, n_a):
                a = A[i]
                for j in range(n_b):
                    b = B[j]
                    s = 0.0
                    for f in range(n_f):
                        s += abs(a[f] - b[f])
                    out[i, j] = s
