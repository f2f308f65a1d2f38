"""numba kernel: hop (unweighted shortest-path) distances by breadth-first search.

Imported only when exact EMD runs, so that importing graphsig compiles nothing.
"""

import heapq

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def hop_distances(
    indptr, indices, sources, target_pos, n_targets, max_depth, out
):  # pragma: no cover
    """Hop distances from each source node to a set of target nodes.

    One breadth-first search per source over the CSR graph
    ``(indptr, indices)``; a search stops as soon as it has reached every
    target, or all the nodes within ``max_depth`` hops.

    Parameters
    ----------
    indptr, indices : ndarray of int
        CSR structure of a symmetric adjacency (stored entries are edges).
    sources : ndarray of int64, shape (n_sources,)
        Start nodes.
    target_pos : ndarray of int64, shape (n_nodes,)
        Column of ``out`` for each target node, -1 for the other nodes.
    n_targets : int
        Number of target nodes (entries of ``target_pos`` that are >= 0).
    max_depth : int
        Largest distance recorded; farther targets are left at ``inf``.
    out : ndarray of float32, shape (n_sources, n_targets)
        Filled with the distances; must hold ``inf`` on entry, which stays
        for targets unreachable from a source.
    """
    n_nodes = indptr.shape[0] - 1
    dist = np.full(n_nodes, -1, np.int64)
    queue = np.empty(n_nodes, np.int64)
    for s in range(sources.shape[0]):
        source = sources[s]
        dist[source] = 0
        queue[0] = source
        head = 0
        tail = 1
        found = 0
        pos = target_pos[source]
        if pos >= 0:
            out[s, pos] = 0.0
            found += 1
        while head < tail and found < n_targets:
            node = queue[head]
            head += 1
            if dist[node] >= max_depth:
                break  # the queue is in order of distance: nothing nearer is left
            step = dist[node] + 1
            for k in range(indptr[node], indptr[node + 1]):
                neighbour = indices[k]
                if dist[neighbour] < 0:
                    dist[neighbour] = step
                    queue[tail] = neighbour
                    tail += 1
                    pos = target_pos[neighbour]
                    if pos >= 0:
                        out[s, pos] = step
                        found += 1
        for k in range(tail):  # reset only what this search touched
            dist[queue[k]] = -1


@njit(cache=True, nogil=True)
def offset_geodesic(indptr, indices, sources, offsets, limit, out):  # pragma: no cover
    """Smallest ``hops(x, s) + offsets[s]`` over the sources, for every node ``x``.

    A multi-source Dijkstra search on the unweighted CSR graph
    ``(indptr, indices)``, each source starting at its own offset. The
    result is 1-Lipschitz in the hop distance, which is what makes it a
    Kantorovich potential (a min of ``hops(., s)`` shifted by constants).

    Parameters
    ----------
    indptr, indices : ndarray of int
        CSR structure of a symmetric adjacency.
    sources : ndarray of int64, shape (n_sources,)
    offsets : ndarray of float64, shape (n_sources,)
    limit : float
        Values above ``limit`` are not needed: the search stops there and
        leaves them at ``inf`` (pass ``inf`` for the whole graph).
    out : ndarray of float64, shape (n_nodes,)
        Filled with the values; ``inf`` where unreached.
    """
    n_nodes = indptr.shape[0] - 1
    for x in range(n_nodes):
        out[x] = np.inf
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for s in range(sources.shape[0]):
        node = sources[s]
        if offsets[s] < out[node]:
            out[node] = offsets[s]
            heapq.heappush(heap, (offsets[s], node))
    done = np.zeros(n_nodes, np.bool_)
    while len(heap) > 0:
        value, node = heapq.heappop(heap)
        if done[node] or value > out[node]:
            continue
        if value > limit:
            break
        done[node] = True
        step = value + 1.0
        for k in range(indptr[node], indptr[node + 1]):
            neighbour = indices[k]
            if step < out[neighbour]:
                out[neighbour] = step
                heapq.heappush(heap, (step, np.int64(neighbour)))
    for x in range(n_nodes):
        if out[x] > limit:
            out[x] = np.inf
