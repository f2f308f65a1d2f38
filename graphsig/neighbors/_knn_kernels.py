"""numba kernels for L1 distances and exact L1 k-nearest neighbours of embeddings.

Imported only when used; compiled lazily with an on-disk cache.

No kernel uses fastmath: a dense distance is the plain sum
``s = 0; for f: s += |a_f - b_f|`` in feature order (:func:`l1_tile`), so
it does not depend on the tiling, the number of threads, the CPU's vector
width, or on whether the kernel was just compiled or loaded from numba's
cache. The loops are still vectorised, across rows rather than features.

Every kNN kernel keeps, per query, the ``k`` best ``(distance, index)``
pairs in a sorted array. Data rows are scanned in increasing index order and
a row enters only if its distance is strictly smaller than the current k-th,
after any equal distances already kept, so ties go to the smaller index
whatever the blocking or the number of threads.
"""

import numpy as np
from numba import njit, prange

# queries per parallel task; data rows per block (the block's distances to
# the task's queries, 64 x 256 in the data's dtype, stay in the L2 cache)
QUERY_BLOCK = 64
DATA_BLOCK = 256

# rows of A and of B per task of l1_cross; features per transposed slice of B
# (a slice of 32 features by 256 rows is 64 KiB in float64)
ROWS = 128
COLS = 256
FEATURES = 32


@njit(cache=True, nogil=True)
def l1_tile(A, i0, i1, B, j0, j1, chunk, acc):
    """``acc[i - i0, j - j0] = sum_f |A[i, f] - B[j, f]|`` for a tile of row pairs.

    Each sum starts from zero in ``acc``'s dtype and adds the features in
    increasing order (differences taken in the inputs' dtype): exactly the
    plain loop's value. Slices of ``FEATURES`` features of ``B``'s rows are
    transposed into ``chunk`` (at least ``(FEATURES, j1 - j0)``), so that the
    innermost loops run along contiguous rows of ``chunk`` and ``acc``,
    updating independent sums: they vectorise without reassociating any sum.
    Four rows of ``A`` and four features are taken per pass, each sum adding
    its four terms in order.
    """
    n_f = A.shape[1]
    width = j1 - j0
    for r in range(i1 - i0):
        for jj in range(width):
            acc[r, jj] = 0
    for f0 in range(0, n_f, FEATURES):
        f1 = min(f0 + FEATURES, n_f)
        for f in range(f0, f1):
            row = chunk[f - f0]
            for jj in range(width):
                row[jj] = B[j0 + jj, f]
        i = i0
        while i < i1:
            if i + 4 <= i1:
                s0 = acc[i - i0]
                s1 = acc[i - i0 + 1]
                s2 = acc[i - i0 + 2]
                s3 = acc[i - i0 + 3]
                a0 = A[i]
                a1 = A[i + 1]
                a2 = A[i + 2]
                a3 = A[i + 3]
                f = f0
                while f + 4 <= f1:
                    c0 = chunk[f - f0]
                    c1 = chunk[f - f0 + 1]
                    c2 = chunk[f - f0 + 2]
                    c3 = chunk[f - f0 + 3]
                    p0, p1, p2, p3 = a0[f], a0[f + 1], a0[f + 2], a0[f + 3]
                    q0, q1, q2, q3 = a1[f], a1[f + 1], a1[f + 2], a1[f + 3]
                    r0, r1, r2, r3 = a2[f], a2[f + 1], a2[f + 2], a2[f + 3]
                    t0, t1, t2, t3 = a3[f], a3[f + 1], a3[f + 2], a3[f + 3]
                    for jj in range(width):
                        x0 = c0[jj]
                        x1 = c1[jj]
                        x2 = c2[jj]
                        x3 = c3[jj]
                        s0[jj] = (((s0[jj] + abs(p0 - x0)) + abs(p1 - x1))
                                  + abs(p2 - x2)) + abs(p3 - x3)
                        s1[jj] = (((s1[jj] + abs(q0 - x0)) + abs(q1 - x1))
                                  + abs(q2 - x2)) + abs(q3 - x3)
                        s2[jj] = (((s2[jj] + abs(r0 - x0)) + abs(r1 - x1))
                                  + abs(r2 - x2)) + abs(r3 - x3)
                        s3[jj] = (((s3[jj] + abs(t0 - x0)) + abs(t1 - x1))
                                  + abs(t2 - x2)) + abs(t3 - x3)
                    f += 4
                while f < f1:
                    c0 = chunk[f - f0]
                    p0, q0, r0, t0 = a0[f], a1[f], a2[f], a3[f]
                    for jj in range(width):
                        x0 = c0[jj]
                        s0[jj] += abs(p0 - x0)
                        s1[jj] += abs(q0 - x0)
                        s2[jj] += abs(r0 - x0)
                        s3[jj] += abs(t0 - x0)
                    f += 1
                i += 4
            else:
                s0 = acc[i - i0]
                a0 = A[i]
                f = f0
                while f + 4 <= f1:
                    c0 = chunk[f - f0]
                    c1 = chunk[f - f0 + 1]
                    c2 = chunk[f - f0 + 2]
                    c3 = chunk[f - f0 + 3]
                    p0, p1, p2, p3 = a0[f], a0[f + 1], a0[f + 2], a0[f + 3]
                    for jj in range(width):
                        s0[jj] = (((s0[jj] + abs(p0 - c0[jj])) + abs(p1 - c1[jj]))
                                  + abs(p2 - c2[jj])) + abs(p3 - c3[jj])
                    f += 4
                while f < f1:
                    c0 = chunk[f - f0]
                    p0 = a0[f]
                    for jj in range(width):
                        s0[jj] += abs(p0 - c0[jj])
                    f += 1
                i += 1


@njit(parallel=True, cache=True, nogil=True)
def l1_cross(A, B, out):
    """``out[i, j] = sum_f |A[i, f] - B[j, f]|`` for C-contiguous 2-D ``A``, ``B``.

    Each distance is summed in float64, feature by feature in order
    (:func:`l1_tile`), then stored in ``out``'s dtype: the same bits whatever
    the number of threads, and the same as for any subset of the rows.
    Tasks are tiles of ``ROWS`` rows of ``A`` by ``COLS`` rows of ``B``.
    """
    n_a = A.shape[0]
    n_b = B.shape[0]
    n_ib = (n_a + ROWS - 1) // ROWS
    n_jb = (n_b + COLS - 1) // COLS
    for task in prange(n_ib * n_jb):
        i0 = (task // n_jb) * ROWS
        i1 = min(i0 + ROWS, n_a)
        j0 = (task % n_jb) * COLS
        j1 = min(j0 + COLS, n_b)
        acc = np.empty((i1 - i0, j1 - j0), dtype=np.float64)
        chunk = np.empty((FEATURES, j1 - j0), dtype=B.dtype)
        l1_tile(A, i0, i1, B, j0, j1, chunk, acc)
        for i in range(i0, i1):
            for jj in range(j1 - j0):
                out[i, j0 + jj] = acc[i - i0, jj]


@njit(cache=True, nogil=True, inline="always")
def _insert(best_d, best_i, row, k, value, index):
    """Insert ``(value, index)`` into the sorted row ``row`` of ``best_d``/``best_i``."""
    p = k - 1
    while p > 0 and best_d[row, p - 1] > value:
        best_d[row, p] = best_d[row, p - 1]
        best_i[row, p] = best_i[row, p - 1]
        p -= 1
    best_d[row, p] = value
    best_i[row, p] = index


@njit(parallel=True, cache=True, nogil=True)
def l1_topk_dense(Q, D, k, exclude_self, out_dist, out_idx):
    """Exact ``k`` nearest rows of ``D`` (by L1) for each row of ``Q``.

    ``Q`` and ``D`` are C-contiguous 2-D arrays of one dtype; each distance is
    summed in that dtype, feature by feature in order
    (:func:`l1_tile`): the value
    :func:`recompute_dense_l1` reports, so the neighbours kept are ranked by
    the distances returned. With ``exclude_self``, row ``i`` of ``D`` is
    never a neighbour of query ``i``. Writes ``out_dist`` and ``out_idx`` of
    shape ``(n_q, k)``; missing neighbours (fewer than ``k`` candidates) keep
    distance inf and index -1.
    """
    n_q = Q.shape[0]
    n_d = D.shape[0]
    inf = Q.dtype.type(np.inf)
    n_blocks = (n_q + QUERY_BLOCK - 1) // QUERY_BLOCK
    for blk in prange(n_blocks):
        q0 = blk * QUERY_BLOCK
        q1 = min(q0 + QUERY_BLOCK, n_q)
        nq = q1 - q0
        best_d = np.full((nq, k), inf, dtype=Q.dtype)
        best_i = np.full((nq, k), -1, dtype=np.int64)
        dist = np.empty((nq, DATA_BLOCK), dtype=Q.dtype)
        chunk = np.empty((FEATURES, DATA_BLOCK), dtype=D.dtype)
        for d0 in range(0, n_d, DATA_BLOCK):
            d1 = min(d0 + DATA_BLOCK, n_d)
            l1_tile(Q, q0, q1, D, d0, d1, chunk, dist)
            for row in range(nq):
                query = q0 + row
                worst = best_d[row, k - 1]
                for jj in range(d1 - d0):
                    value = dist[row, jj]
                    if value < worst:
                        j = d0 + jj
                        if exclude_self and j == query:
                            continue
                        _insert(best_d, best_i, row, k, value, j)
                        worst = best_d[row, k - 1]
        for row in range(nq):
            for c in range(k):
                out_dist[q0 + row, c] = best_d[row, c]
                out_idx[q0 + row, c] = best_i[row, c]


@njit(cache=True, nogil=True, inline="always")
def _insert_ordered(best_d, best_i, k, value, index):
    """Insert ``(value, index)`` into row 0 sorted by (distance, index), if it ranks."""
    last = best_d[0, k - 1]
    if value > last or (value == last and index > best_i[0, k - 1]):
        return
    p = k - 1
    while p > 0 and (best_d[0, p - 1] > value
                     or (best_d[0, p - 1] == value and best_i[0, p - 1] > index)):
        best_d[0, p] = best_d[0, p - 1]
        best_i[0, p] = best_i[0, p - 1]
        p -= 1
    best_d[0, p] = value
    best_i[0, p] = index


@njit(parallel=True, cache=True, nogil=True)
def l1_topk_sparse(q_ptr, q_ind, q_val, d_ptr, d_ind, d_val, col_ptr, col_row, col_val,
                   d_norm, norm_order, k, exclude_self, out_dist, out_idx):
    """Exact ``k`` nearest rows (by L1) between CSR matrices.

    Uses ``|a - b|_1 = |a|_1 + |b|_1 - 2 sum_f [a_f b_f > 0] min(|a_f|, |b_f|)``:
    the overlap sum runs over the nonzeros the query shares with each data
    row, found through the data's column index (``col_ptr``, ``col_row``,
    ``col_val``, a CSC copy of the data). Rows sharing no nonzero with the
    query are at distance ``|a|_1 + |b|_1``, so only the first of them in
    ``norm_order`` (data rows by increasing norm, ties by index) can rank.
    The ``k`` kept distances are then recomputed exactly by merging the two
    rows (float64 sums), and re-sorted by (distance, index). CSR rows must
    have sorted indices.
    """
    n_q = q_ptr.shape[0] - 1
    n_d = d_ptr.shape[0] - 1
    n_blocks = (n_q + QUERY_BLOCK - 1) // QUERY_BLOCK
    for blk in prange(n_blocks):
        q0 = blk * QUERY_BLOCK
        q1 = min(q0 + QUERY_BLOCK, n_q)
        overlap = np.zeros(n_d, dtype=np.float64)
        touched = np.empty(n_d, dtype=np.int64)
        mark = np.zeros(n_d, dtype=np.bool_)
        best_d = np.full((1, k), np.inf, dtype=np.float64)
        best_i = np.full((1, k), -1, dtype=np.int64)
        for query in range(q0, q1):
            norm = 0.0
            for p in range(q_ptr[query], q_ptr[query + 1]):
                norm += abs(np.float64(q_val[p]))
            n_touched = 0
            for p in range(q_ptr[query], q_ptr[query + 1]):
                a = np.float64(q_val[p])
                f = q_ind[p]
                for r in range(col_ptr[f], col_ptr[f + 1]):
                    b = np.float64(col_val[r])
                    j = col_row[r]
                    if not mark[j]:
                        mark[j] = True
                        touched[n_touched] = j
                        n_touched += 1
                    if a * b > 0:
                        overlap[j] += min(abs(a), abs(b))
            for c in range(k):
                best_d[0, c] = np.inf
                best_i[0, c] = -1
            for t in range(n_touched):
                j = touched[t]
                if exclude_self and j == query:
                    continue
                value = max(norm + d_norm[j] - 2.0 * overlap[j], 0.0)
                _insert_ordered(best_d, best_i, k, value, j)
            for t in range(n_d):
                j = norm_order[t]
                value = norm + d_norm[j]
                if value > best_d[0, k - 1]:
                    break
                if mark[j] or (exclude_self and j == query):
                    continue
                _insert_ordered(best_d, best_i, k, value, j)
            for t in range(n_touched):
                j = touched[t]
                overlap[j] = 0.0
                mark[j] = False
            # exact distances of the kept rows, by merging the sorted rows
            for c in range(k):
                j = best_i[0, c]
                if j >= 0:
                    best_d[0, c] = _merge_l1(q_ind, q_val, q_ptr[query], q_ptr[query + 1],
                                             d_ind, d_val, d_ptr[j], d_ptr[j + 1])
            # re-sort by (distance, index): insertion sort of k items
            for c in range(1, k):
                vd = best_d[0, c]
                vi = best_i[0, c]
                p = c
                while p > 0 and (best_d[0, p - 1] > vd
                                 or (best_d[0, p - 1] == vd and best_i[0, p - 1] > vi)):
                    best_d[0, p] = best_d[0, p - 1]
                    best_i[0, p] = best_i[0, p - 1]
                    p -= 1
                best_d[0, p] = vd
                best_i[0, p] = vi
            for c in range(k):
                out_dist[query, c] = best_d[0, c]
                out_idx[query, c] = best_i[0, c]


@njit(cache=True, nogil=True)
def _merge_l1(a_ind, a_val, a0, a1, b_ind, b_val, b0, b1):
    """L1 distance between two sorted sparse rows (float64 sum)."""
    s = 0.0
    p = a0
    r = b0
    while p < a1 and r < b1:
        fa = a_ind[p]
        fb = b_ind[r]
        if fa == fb:
            s += abs(np.float64(a_val[p]) - np.float64(b_val[r]))
            p += 1
            r += 1
        elif fa < fb:
            s += abs(np.float64(a_val[p]))
            p += 1
        else:
            s += abs(np.float64(b_val[r]))
            r += 1
    while p < a1:
        s += abs(np.float64(a_val[p]))
        p += 1
    while r < b1:
        s += abs(np.float64(b_val[r]))
        r += 1
    return s


@njit(parallel=True, cache=True, nogil=True)
def recompute_l1(q_ptr, q_ind, q_val, d_ptr, d_ind, d_val, indices, out):
    """``out[i, c]``: L1 distance between sparse query ``i`` and data row ``indices[i, c]``.

    Every distance is the same float64 merge of the two sorted rows, whatever
    path found the neighbours, so results do not depend on how the data were
    split into blocks.
    """
    n_q, k = indices.shape
    for i in prange(n_q):
        for c in range(k):
            j = indices[i, c]
            out[i, c] = _merge_l1(q_ind, q_val, q_ptr[i], q_ptr[i + 1],
                                  d_ind, d_val, d_ptr[j], d_ptr[j + 1])


@njit(parallel=True, cache=True, nogil=True)
def recompute_dense_l1(Q, D, indices, out):
    """``out[i, c]``: L1 distance between ``Q[i]`` and ``D[indices[i, c]]``, summed in order.

    A plain sequential sum in the arrays' dtype (no reassociation), so the
    value does not depend on how the search blocked or vectorised the data.
    """
    n_q, k = indices.shape
    n_f = Q.shape[1]
    for i in prange(n_q):
        for c in range(k):
            j = indices[i, c]
            s = Q.dtype.type(0)
            for f in range(n_f):
                s += abs(Q[i, f] - D[j, f])
            out[i, c] = s
