"""Calibration of an embedding against exact EMD on a few pairs of training signals."""

import numpy as np
import scipy.sparse as sp

__all__ = [
    "ARC_BUDGET", "SEARCH_BUDGET", "budgeted_groups", "calibration_pairs", "dirac_pairs",
    "least_squares_scales", "origin_fit", "tree_share",
]


# What the calibration's exact EMD may spend. A breadth-first search runs from
# every node of one group's supports (each costs the nodes plus the stored
# entries of the graph), and each pair is a network simplex over the product
# of its two supports. Signals are drawn at random; one that would take its
# group past either budget is passed over, so that sparse signals keep every
# pair (16 x 16 by default) and the cost of dense ones (genes over many
# cells) stays bounded on large graphs.
SEARCH_BUDGET = 2**31  # search steps: sources x (nodes + stored entries)
ARC_BUDGET = 2**26  # network-simplex arcs, summed over the pairs


def calibration_pairs(adjacency, X, n_signals, rng, n_jobs):
    """Two random groups of training signals and their exact balanced EMD.

    Only signals with mass, all of it inside the graph's largest component,
    are drawn, up to ``n_signals // 2`` per group, within the budgets
    :data:`SEARCH_BUDGET` and :data:`ARC_BUDGET` (see
    :func:`budgeted_groups`). Returns ``(rows, n_first, exact)``: the rows
    of ``X`` drawn (the first ``n_first`` against the others) and the exact
    distances, or None when fewer than two signals qualify or
    ``n_signals < 2``.
    """
    from scipy.sparse.csgraph import connected_components

    from ._exact import exact_emd

    half = n_signals // 2
    _, labels = connected_components(adjacency, directed=False)
    big = labels == np.argmax(np.bincount(labels))
    X = X.tocsr() if sp.issparse(X) else X
    outside = np.asarray(X[:, ~big].sum(axis=1)).ravel()
    total = np.asarray(X.sum(axis=1)).ravel()
    rows = np.flatnonzero((total > 0) & (outside == 0))
    if half == 0 or rows.size < 2:
        return None
    supports = (np.diff(X.indptr) if sp.issparse(X) else np.count_nonzero(X, axis=1))
    supports = np.asarray(supports, dtype=np.int64)
    max_sources = SEARCH_BUDGET // (adjacency.shape[0] + adjacency.nnz)
    first, second = budgeted_groups(
        rng.permutation(rows), supports, half, max_sources, ARC_BUDGET
    )
    nodes = np.flatnonzero(big)
    exact = exact_emd(
        adjacency[nodes][:, nodes], X[first][:, nodes], X[second][:, nodes],
        n_jobs=-1 if n_jobs is None else n_jobs,
    )
    return np.concatenate([first, second]), first.size, exact


def budgeted_groups(order, supports, half, max_sources, max_arcs):
    """Two groups of at most ``half`` rows each, taken in ``order`` within budgets.

    The first ``2 half`` rows, split in two, when they fit. Otherwise each
    row goes to the group with fewer rows (the first on a tie), else to the
    other, if the first group's supports then total at most
    ``max_sources`` nodes (the searches) and the product of the two groups'
    totals is at most ``max_arcs`` (the network-simplex arcs, an empty group
    counted as the smallest support); otherwise it is passed over. When a
    group stays empty, the two rows of smallest support are used (the least
    that calibrates). Returns the two groups as integer arrays.
    """
    order = np.asarray(order, dtype=np.int64)
    plain = order[: 2 * half]
    first, second = plain[: plain.size // 2], plain[plain.size // 2 :]
    totals = int(supports[first].sum()), int(supports[second].sum())
    if first.size and totals[0] <= max_sources and totals[0] * totals[1] <= max_arcs:
        return first, second  # the plain draw fits
    smallest = int(supports[order].min())
    groups = ([], [])
    totals = [0, 0]
    for row in order:
        if len(groups[0]) >= half and len(groups[1]) >= half:
            break
        size = int(supports[row])
        for side in ((0, 1) if len(groups[0]) <= len(groups[1]) else (1, 0)):
            if len(groups[side]) >= half:
                continue
            new = list(totals)
            new[side] += size
            if new[0] > max_sources or max(new[0], smallest) * max(new[1], smallest) > max_arcs:
                continue
            groups[side].append(int(row))
            totals = new
            break
    if not groups[0] or not groups[1]:
        pick = order[np.argsort(supports[order], kind="stable")[:2]]
        return pick[:1], pick[1:]
    return np.array(groups[0], dtype=np.int64), np.array(groups[1], dtype=np.int64)


# the smallest distance whose square is a normal float64
_SMALLEST_FIT = float(np.sqrt(np.finfo(np.float64).tiny))


def least_squares_scales(parts, n_first, exact, max_distance=np.inf):
    """For each part of the embedding, the least-squares factor into hops.

    ``parts`` are the (dense or CSR) column blocks of the calibration rows'
    embedding; returns the factors through the origin, fitted on the pairs
    whose exact distance is at most ``max_distance``, and each part's L1
    distances between the two groups (None for an empty part).
    """
    scales, approxes = [], []
    for part in parts:
        if part.shape[1] == 0:
            scales.append(1.0)
            approxes.append(None)
            continue
        approx = cross_l1(part[:n_first], part[n_first:])
        scales.append(origin_fit(exact, approx, exact <= max_distance))
        approxes.append(approx)
    return scales, approxes


def origin_fit(exact, approx, keep=True):
    """Least-squares factor through the origin from ``approx`` to ``exact``.

    Over the pairs in ``keep`` whose ``approx`` squares to a normal number
    (smaller distances carry no scale, only underflow); 1.0 if there are none.
    """
    keep = (approx > _SMALLEST_FIT) & keep
    if not keep.any():
        return 1.0
    return float(np.sum(exact[keep] * approx[keep]) / np.sum(approx[keep] ** 2))


def tree_share(exact, approxes, scales, default):
    """Share of the trees: nonnegative least squares of the two parts against exact EMD."""
    if exact is None or approxes[0] is None or approxes[1] is None:
        return default
    from scipy.optimize import nnls

    design = np.stack([scales[0] * approxes[0].ravel(), scales[1] * approxes[1].ravel()], 1)
    coef, _ = nnls(design, exact.ravel())
    total = coef.sum()
    return float(coef[1] / total) if total > 0 else default


def cross_l1(A, B):
    """L1 distances between the rows of two small sets (dense or CSR), float64."""
    out = np.empty((A.shape[0], B.shape[0]))
    ones = sp.csr_matrix(np.ones((B.shape[0], 1), dtype=B.dtype)) if sp.issparse(B) else None
    for i in range(A.shape[0]):
        diff = B - (ones @ A[i] if ones is not None else A[i])  # row i repeated
        out[i] = np.asarray(abs(diff).sum(axis=1), dtype=np.float64).ravel()
    return out


def _column_masses(X):
    """Each node's total mass over the signals, in units of the largest entry.

    Scaled by a power of two so that each entry is at most 1: the sums cannot
    overflow (masses near the float64 maximum), and the shares stay
    representable when some masses are subnormal (those may round to zero
    and are then never drawn).
    """
    values = np.abs(X.data if sp.issparse(X) else np.asarray(X, dtype=np.float64))
    top = float(values.max(initial=0.0))
    if top == 0:
        return np.zeros(X.shape[1])
    exponent = int(np.frexp(top)[1])
    half = exponent // 2
    scaled = np.ldexp(np.ldexp(values.astype(np.float64), -half), half - exponent)
    if sp.issparse(X):
        columns = sp.csr_matrix(X).indices
        return np.bincount(columns, weights=scaled, minlength=X.shape[1])
    return scaled.sum(axis=0)


def dirac_pairs(adjacency, X, n_sources, radius, rng):
    """Node pairs at every distance 1, ..., ``radius`` hops, with their distances.

    The EMD between unit masses at two nodes is their hop distance, exact
    for free. Sources are drawn from the nodes carrying the training
    signals' mass, in proportion to it; each gets one random partner at
    every distance up to ``radius`` that its component reaches. Returns
    ``(first, second, hops)``, or None when no pair exists.
    """
    from ..diffusion._kernels import ball_nodes

    mass = _column_masses(X)
    carrying = np.flatnonzero(mass > 0)
    if carrying.size == 0 or radius < 1:
        return None
    sources = rng.choice(
        carrying, size=min(n_sources, carrying.size), replace=False,
        p=mass[carrying] / mass[carrying].sum(),
    )
    indptr = adjacency.indptr.astype(np.int64)
    indices = adjacency.indices.astype(np.int64)
    seen = np.zeros(adjacency.shape[0], dtype=bool)
    first, second, hops = [], [], []
    for source in sources:
        inner = np.array([source], dtype=np.int64)
        for d in range(1, radius + 1):
            ball = ball_nodes(indptr, indices, np.array([source], dtype=np.int64), d, seen)
            ring = np.setdiff1d(ball, inner, assume_unique=True)
            if ring.size == 0:
                break  # the whole component is within d - 1 hops
            first.append(int(source))
            second.append(int(rng.choice(ring)))
            hops.append(float(d))
            inner = ball
    if not first:
        return None
    return np.array(first), np.array(second), np.array(hops)
