"""numba kernels of the diffusion engine.

This module is imported only when a diffusion is run, so that importing
graphsig compiles nothing. Every kernel is compiled once (lazily, on first
call, for the dtypes it meets) and cached on disk.

Layout: a block of signals is stored node-major, ``block[node, signal]``, as a
C-contiguous array, so that one sparse row of the operator combines whole
contiguous rows of the block (a vectorisable axpy over the signals).

No kernel uses fastmath, and every sum runs in a fixed order over the nodes
(or the sparse row's entries), separately for each signal: a signal's values
do not depend on which other signals share its block, on how the block's
columns are split between threads, on the CPU's vector width, or on whether
the kernel was just compiled or loaded from numba's cache.
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def chebyshev_diffuse(indptr, indices, data, data2, block, coef, out, work, n_chunks):
    """Apply every filter of a Chebyshev expansion to a block of signals.

    Computes ``out[s] = sum_k coef[k, s] T_k(S) block`` with the three-term
    recurrence ``T_{k+1} = 2 S T_k - T_{k-1}``, for a symmetric sparse ``S``
    (CSR arrays ``indptr``, ``indices``, ``data``) with spectrum in [-1, 1].

    The recurrence of each signal is independent of the others, so the
    block's columns are cut into ``n_chunks`` slices (one per thread) and each
    slice runs all terms on its own: there is no synchronisation between terms.

    Parameters
    ----------
    indptr, indices, data : CSR arrays of S, shape (n_nodes, n_nodes).
    data2 : ``2 * data``. All float arrays share the block's dtype, so that
        the inner loops run in that precision and vectorise.
    block : ndarray (n_nodes, n_signals), C-contiguous; not modified.
    coef : ndarray (n_terms, n_filters).
    out : ndarray (n_filters, n_nodes, n_signals), overwritten.
    work : ndarray (3, n_nodes, n_signals), scratch.
    n_chunks : int
        Number of column slices, at most n_signals.
    """
    n_signals = block.shape[1]
    for chunk in prange(n_chunks):
        b0 = chunk * n_signals // n_chunks
        b1 = (chunk + 1) * n_signals // n_chunks
        _chebyshev_slice(indptr, indices, data, data2, block, coef, out, work, b0, b1)


@njit(cache=True, nogil=True)
def _chebyshev_slice(indptr, indices, data, data2, block, coef, out, work, b0, b1):
    """The whole recurrence for the block's columns ``b0:b1``."""
    n_nodes = block.shape[0]
    n_terms, n_filters = coef.shape
    width = b1 - b0
    for i in range(n_nodes):
        src = block[i, b0:b1]
        work[0, i, b0:b1] = src
        for s in range(n_filters):
            c = coef[0, s]
            row = out[s, i, b0:b1]
            for b in range(width):
                row[b] = c * src[b]
    for k in range(1, n_terms):
        # T_1 = S T_0;  T_k = 2 S T_{k-1} - T_{k-2}; buffers rotate through work
        ia = (k - 2) % 3
        ib = (k - 1) % 3
        ic = k % 3
        weights = data if k == 1 else data2
        for i in range(n_nodes):
            dst = work[ic, i, b0:b1]
            if k == 1:
                dst[:] = 0
            else:
                old = work[ia, i, b0:b1]
                for b in range(width):
                    dst[b] = -old[b]
            for jj in range(indptr[i], indptr[i + 1]):
                a = weights[jj]
                src = work[ib, indices[jj], b0:b1]
                for b in range(width):
                    dst[b] += a * src[b]
            for s in range(n_filters):
                c = coef[k, s]
                if c != 0:
                    row = out[s, i, b0:b1]
                    for b in range(width):
                        row[b] += c * dst[b]


@njit(parallel=True, cache=True, nogil=True)
def assemble_blocks(diffused, weights, scale_out, last_weight, mass_penalty, embedding, offset):
    """Write weighted differences of consecutive diffusions into embeddings.

    ``embedding[offset + b, k * n + i] = weights[k] * scale_out[i] *
    (diffused[k + 1, i, b] - diffused[k, i, b])`` for the difference blocks.
    The last block is ``w_b * scale_out[i] * diffused[-1, i, b]`` with
    ``w_b = last_weight`` when ``mass_penalty <= 0``; otherwise
    ``w_b = max(mass_penalty - F_b / m_b, 0)``, where ``F_b`` is the L1 norm
    of the signal's difference blocks and ``m_b`` its mass
    (``scale_out * diffused[0]`` is the signal itself), so that scaling a
    signal by ``(1 + e)`` moves its embedding by exactly
    ``e * m_b * mass_penalty``.
    """
    n_times, n_nodes, n_signals = diffused.shape
    n_diff = n_times - 1
    for b in prange(n_signals):
        row = offset + b
        fine = 0.0
        mass = 0.0
        for i in range(n_nodes):
            mass += scale_out[i] * diffused[0, i, b]
        for k in range(n_diff):
            w = weights[k]
            base = k * n_nodes
            for i in range(n_nodes):
                v = w * scale_out[i] * (diffused[k + 1, i, b] - diffused[k, i, b])
                embedding[row, base + i] = v
                fine += abs(v)
        wl = last_weight
        if mass_penalty > 0.0:
            wl = mass_penalty - fine / mass if mass > 0.0 else mass_penalty
            if wl < 0.0:
                wl = 0.0
        base = n_diff * n_nodes
        for i in range(n_nodes):
            embedding[row, base + i] = wl * scale_out[i] * diffused[n_diff, i, b]


@njit(cache=True, nogil=True)
def column_sums(values, absolute):
    """float64 sum of each column of a 2-D array (of absolute values if ``absolute``).

    Each column is summed over the rows in order, whatever the number of
    columns: numpy sums a single column pairwise but several columns row by
    row, so its result for a signal would depend on the width of its batch.
    Rows of zeros (nodes a local diffusion leaves out) change no sum.
    """
    n_rows, n_cols = values.shape
    out = np.zeros(n_cols)
    for i in range(n_rows):
        for b in range(n_cols):
            v = np.float64(values[i, b])
            out[b] += abs(v) if absolute else v
    return out


@njit(parallel=True, cache=True, nogil=True)
def tree_blocks(orders, parents, block, scale, embedding, offset, column, n_chunks):
    """Subtree masses of signals on rooted trees, written into embeddings.

    For tree ``t`` (``orders[t]``: its nodes from the root outwards;
    ``parents[t]``: each node's parent, -1 at the root) and signal ``b``
    (column ``b`` of ``block``, node-major), coordinate ``v`` is ``scale``
    times the mass of ``b`` in the subtree below node ``v`` (zero at the
    root): the L1 distance between two signals' coordinates is their
    Wasserstein-1 distance on that tree, scaled.

    Writes ``embedding[offset + b, column + t * n_nodes + v]``.
    """
    n_trees, n_nodes = orders.shape
    n_signals = block.shape[1]
    for chunk in prange(n_chunks):
        b0 = chunk * n_signals // n_chunks
        b1 = (chunk + 1) * n_signals // n_chunks
        mass = np.empty((n_nodes, b1 - b0), dtype=block.dtype)
        for t in range(n_trees):
            mass[:, :] = block[:, b0:b1]
            order = orders[t]
            parent = parents[t]
            for pos in range(n_nodes - 1, 0, -1):
                v = order[pos]
                p = parent[v]
                for b in range(b1 - b0):
                    mass[p, b] += mass[v, b]
            base = column + t * n_nodes
            root = order[0]
            for b in range(b1 - b0):
                row = offset + b0 + b
                for v in range(n_nodes):
                    embedding[row, base + v] = scale * mass[v, b]
                embedding[row, base + root] = 0.0


@njit(parallel=True, cache=True, nogil=True)
def subtree_masses(order, parent, block, out, n_chunks):
    """Mass of each signal below every node of a rooted tree.

    ``order`` lists the tree's nodes from the root outwards and ``parent``
    gives each node's parent (-1 at the root, or at every root of a forest
    cut from the tree); ``block`` holds signals as
    columns (node-major). Writes ``out[v, b]``, the mass of signal ``b`` in
    the subtree of ``v``.
    """
    n_nodes = order.size
    n_signals = block.shape[1]
    for chunk in prange(n_chunks):
        b0 = chunk * n_signals // n_chunks
        b1 = (chunk + 1) * n_signals // n_chunks
        for v in range(n_nodes):
            for b in range(b0, b1):
                out[v, b] = block[v, b]
        for pos in range(n_nodes - 1, 0, -1):
            v = order[pos]
            p = parent[v]
            if p >= 0:  # a forest has several roots
                for b in range(b0, b1):
                    out[p, b] += out[v, b]


@njit(cache=True, nogil=True)
def ball_nodes(indptr, indices, sources, depth, seen):
    """Nodes within ``depth`` hops of any source, in increasing order.

    ``seen`` is a boolean scratch array of the graph's size, all False on
    entry and on return.
    """
    queue = np.empty(indptr.size - 1, dtype=np.int64)
    dist = np.empty(indptr.size - 1, dtype=np.int64)
    tail = 0
    for s in sources:
        if not seen[s]:
            seen[s] = True
            queue[tail] = s
            dist[tail] = 0
            tail += 1
    head = 0
    while head < tail:
        v = queue[head]
        d = dist[head]
        head += 1
        if d == depth:
            continue
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            if not seen[u]:
                seen[u] = True
                queue[tail] = u
                dist[tail] = d + 1
                tail += 1
    nodes = np.sort(queue[:tail])
    for v in nodes:
        seen[v] = False
    return nodes


@njit(cache=True, nogil=True)
def sparse_subtree_masses(indptr, indices, data, scale, parent, column_of, mass, touched,
                          root_scale=1.0):
    """Subtree masses of sparse signals on a rooted tree, as COO triplets.

    Signal ``b`` has masses ``data[indptr[b]:indptr[b+1]]`` at nodes
    ``indices[...]``; each mass is added to every node on the way to its
    root (``parent`` may describe a forest: -1 at every root). Nodes with
    ``column_of[v] >= 0`` are output as
    ``(b, column_of[v], scale * mass)``, times ``root_scale`` at the roots.
    ``mass`` (float64, graph-sized, zero) and ``touched`` (int64,
    graph-sized) are scratch arrays.
    """
    n_signals = indptr.size - 1
    rows = []
    cols = []
    vals = []
    for b in range(n_signals):
        n_touched = 0
        for p in range(indptr[b], indptr[b + 1]):
            m = data[p]
            u = indices[p]
            while True:
                if mass[u] == 0.0:
                    touched[n_touched] = u
                    n_touched += 1
                mass[u] += m
                if parent[u] < 0:
                    break
                u = parent[u]
        for i in range(n_touched):
            u = touched[i]
            if column_of[u] >= 0 and mass[u] != 0.0:
                rows.append(b)
                cols.append(column_of[u])
                weight = scale * root_scale if parent[u] < 0 else scale
                vals.append(weight * mass[u])
            mass[u] = 0.0
    return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(vals)


@njit(cache=True, nogil=True)
def subtree_key_sums(order, parent, keys):
    """Wrapping sum of the uint64 ``keys`` of the nodes below each node of a tree."""
    sums = keys.copy()
    for pos in range(order.size - 1, 0, -1):
        v = order[pos]
        sums[parent[v]] += sums[v]
    return sums


@njit(cache=True, nogil=True)
def tree_depths(order, parent):
    """Depth of every node of a rooted tree (-1 where the tree does not reach).

    ``order`` lists the tree's nodes from the root outwards, parents first.
    """
    depth = np.full(parent.size, -1, dtype=np.int64)
    depth[order[0]] = 0
    for pos in range(1, order.size):
        v = order[pos]
        if parent[v] >= 0:
            depth[v] = depth[parent[v]] + 1
    return depth
