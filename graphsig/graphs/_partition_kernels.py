"""numba kernels of the multiscale partition (imported only when used)."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def carve_balls(indptr, indices, order):
    """Partition a graph into balls of radius one.

    Nodes are visited in ``order``; each node not yet assigned becomes the
    centre of a new cell that takes it and its unassigned neighbours.
    Returns the cell of every node and the centre of every cell.
    """
    n = indptr.size - 1
    labels = np.full(n, -1, dtype=np.int64)
    centres = np.empty(n, dtype=np.int64)
    n_cells = 0
    for v in order:
        if labels[v] >= 0:
            continue
        labels[v] = n_cells
        centres[n_cells] = v
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            if labels[u] < 0:
                labels[u] = n_cells
        n_cells += 1
    return labels, centres[:n_cells].copy()


@njit(cache=True, nogil=True)
def hops_to_centres(indptr, indices, labels, centres):
    """Hop distance of every node to its cell's centre, inside its cell.

    A breadth-first search from all centres at once that never crosses
    between cells; nodes their centre cannot reach inside the cell get -1.
    """
    n = indptr.size - 1
    dist = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    for c in centres:
        dist[c] = 0
        queue[tail] = c
        tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            if dist[u] < 0 and labels[u] == labels[v]:
                dist[u] = dist[v] + 1
                queue[tail] = u
                tail += 1
    return dist
