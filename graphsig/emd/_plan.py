"""Which blocks an EMD embedding uses on a given graph, chosen from measured properties.

The choice made with the default parameters (``n_trees="auto"``,
``max_scale="auto"``) depends on three measurements of the graph:

- **hubs and cycles.** ``hub_ratio`` (largest degree over mean degree) and
  ``cycle_rank`` (independent cycles per node, ``(m - n + c) / n``).
  Ontologies and other hierarchies have hubs with hundreds to thousands of
  children (``hub_ratio`` in the tens to thousands) or are nearly trees
  (``cycle_rank`` close to 0). On them a diffusion of a few steps reaches
  most of the graph through the hubs, so nothing stays sparse, and it ranks
  neighbours poorly; shortest-path trees are nearly exact there (exact on a
  tree) and a signal with ``s`` nonzeros touches at most ``s x depth``
  coordinates per tree. Such graphs get tree blocks only
  (:data:`HIERARCHY_TREES` trees).
- **reach.** The diffusion must reach across the graph:
  ``2^K >= 2 diameter^2`` (a lazy walk spreads about ``sqrt(t / 2)`` hops
  in ``t`` steps).
- **ball growth.** A Chebyshev expansion of degree ``m`` moves mass ``m``
  hops, so embedding a sparse signal costs the size of its ball of radius
  ``m``. ``K`` is capped at the largest scale whose ball (mean over sampled
  nodes) holds at most :data:`BALL_BUDGET` nodes: the cost of a signal then
  follows its support, not the graph. When the cap binds (large grids, road
  networks, meshes), the truncated diffusion measures the local transport
  that decides nearest neighbours; trees would then be fitted to the far
  pairs the truncated diffusion underestimates, so none are used, unless
  the signals themselves are wider than that reach.
- **signal spread** (only when the ball budget stops the diffusion). The
  median, over sampled training signals, of the mass-weighted mean hop
  distance from a signal's heaviest node to its mass. A truncated diffusion
  of ``2^K`` steps moves mass about ``sqrt(2^K / 2)`` hops; signals that
  spread farther (genes expressed over many cells of a large cell graph)
  are compared at distances it cannot see, so :data:`GENERAL_TREES` trees
  join it, mixed by the fitted tree share. Such signals cover much of
  their balls already, so the trees (``s x depth`` coordinates each) keep
  the cost following the support.

Every other graph (kNN graphs, meshes and grids small enough for the
diffusion to reach across) gets diffusion blocks to the reach and
:data:`GENERAL_TREES` trees, mixed by the fitted tree share.
"""

import numpy as np

from ..diffusion._operator import MAX_CHEBYSHEV_DEGREE, _chebyshev_degree

__all__ = ["graph_profile", "plan_blocks", "signal_spread"]

# hub_ratio at or above which a graph is treated as a hierarchy
HUB_RATIO = 20.0
# cycle_rank at or below which a graph is nearly a tree
TREE_CYCLE_RANK = 0.05
# trees of a hierarchy (measured on the Human Phenotype Ontology: 8 trees
# P@10 0.780, 32 trees 0.805, 64 trees 0.815; 32 keeps rows sparse)
HIERARCHY_TREES = 32
GENERAL_TREES = 8
# most nodes a sparse signal's diffusion ball may cover (mean over samples)
BALL_BUDGET = 4096
# nodes whose balls are measured
_BALL_SAMPLES = 8
# training signals whose spread is measured
_SPREAD_SAMPLES = 32


def graph_profile(adjacency, diameter, random_state=0):
    """Measured properties of a graph that decide the embedding's blocks.

    Parameters
    ----------
    adjacency : scipy.sparse.csr_matrix
        Validated symmetric adjacency.
    diameter : int
        Estimated hop diameter of its largest component.
    random_state : int

    Returns
    -------
    profile : dict
        ``n_nodes``, ``n_edges``, ``mean_degree``, ``max_degree``,
        ``hub_ratio``, ``cycle_rank``, ``diameter``, and ``ball_sizes``:
        the mean number of nodes within ``r`` hops of sampled nodes for
        ``r = 1, 2, 4, ...`` until it exceeds :data:`BALL_BUDGET` or stops
        growing (a dict from ``r`` to the size).
    """
    from scipy.sparse.csgraph import connected_components

    from ..diffusion._kernels import ball_nodes

    n = adjacency.shape[0]
    degree = np.diff(adjacency.indptr)
    n_edges = int(degree.sum()) // 2
    n_components, _ = connected_components(adjacency, directed=False)
    mean_degree = float(degree.mean()) if n else 0.0
    indptr = adjacency.indptr.astype(np.int64)
    indices = adjacency.indices.astype(np.int64)
    rng = np.random.default_rng(random_state)
    sources = rng.choice(n, size=min(_BALL_SAMPLES, n), replace=False).astype(np.int64)
    seen = np.zeros(n, dtype=bool)
    ball_sizes = {}
    radius = 1
    previous = 1.0
    while True:
        size = float(np.mean([
            ball_nodes(indptr, indices, sources[i : i + 1], radius, seen).size
            for i in range(sources.size)
        ]))
        ball_sizes[radius] = size
        if size > BALL_BUDGET or size == previous or radius >= max(1, diameter):
            break
        previous = size
        radius *= 2
    return {
        "n_nodes": int(n),
        "n_edges": n_edges,
        "mean_degree": mean_degree,
        "max_degree": int(degree.max()) if n else 0,
        "hub_ratio": float(degree.max() / mean_degree) if mean_degree > 0 else 0.0,
        "cycle_rank": (n_edges - n + n_components) / max(n, 1),
        "diameter": int(diameter),
        "ball_sizes": ball_sizes,
    }


def _ball_size(profile, radius):
    """Mean ball size at ``radius``, interpolated in log-log between measured radii."""
    sizes = profile["ball_sizes"]
    radii = np.array(sorted(sizes), dtype=np.float64)
    values = np.array([sizes[r] for r in sorted(sizes)])
    if radius <= radii[0]:
        return values[0]
    if radius >= radii[-1]:
        # measurement stopped above the budget, or once balls stopped growing
        return np.inf if values[-1] > BALL_BUDGET else values[-1]
    return float(np.exp(np.interp(np.log(radius), np.log(radii), np.log(values))))


def signal_spread(adjacency, X, random_state=0):
    """How far the training signals spread on the graph, in hops.

    For up to :data:`_SPREAD_SAMPLES` random signals with mass, the
    mass-weighted mean hop distance from the signal's heaviest node to its
    mass (0 for a signal on one node); returns their median, or 0.0 when no
    signal has mass.

    Parameters
    ----------
    adjacency : scipy.sparse.csr_matrix
        Validated symmetric adjacency.
    X : {ndarray, scipy.sparse.csr_matrix} of shape (n_signals, n_nodes)
        Validated nonnegative signals.
    random_state : int

    Returns
    -------
    spread : float
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import shortest_path

    X = sp.csr_matrix(X)
    rng = np.random.default_rng(random_state)
    rows = np.flatnonzero(np.diff(X.indptr) > 0)
    rows = rng.permutation(rows)[:_SPREAD_SAMPLES]
    spreads = []
    for row in rows:
        start, stop = X.indptr[row], X.indptr[row + 1]
        nodes, mass = X.indices[start:stop], X.data[start:stop].astype(np.float64)
        if mass.sum() <= 0:
            continue
        hops = shortest_path(
            adjacency, unweighted=True, directed=False, indices=[int(nodes[np.argmax(mass)])]
        )[0][nodes]
        reached = np.isfinite(hops)
        mass = mass[reached] / mass[reached].sum()
        spreads.append(float(np.sum(mass * hops[reached])))
    return float(np.median(spreads)) if spreads else 0.0


def reach_hops(scale):
    """Hops a lazy walk of ``2^scale`` steps moves mass: ``sqrt(2^scale / 2)``."""
    return float(np.sqrt(2.0 ** scale / 2.0))


def is_hierarchy(profile):
    """Hub-dominated or nearly a tree (see the module's notes)."""
    return profile["hub_ratio"] >= HUB_RATIO or profile["cycle_rank"] <= TREE_CYCLE_RANK


def plan_blocks(profile, *, tol, has_trees, spread=None):
    """The embedding's blocks for a graph.

    Parameters
    ----------
    profile : dict
        From :func:`graph_profile`.
    tol : float
        Chebyshev truncation error (sets the degree of each time).
    has_trees : bool
        Whether the estimator has tree blocks (the balanced form).
    spread : float, optional
        :func:`signal_spread` of the training signals. Measured only where
        the ball budget stops the diffusion short of the reach; when it
        exceeds the hops the truncated diffusion moves mass
        (:func:`reach_hops`), trees join the diffusion.

    Returns
    -------
    plan : dict
        ``kind`` ("hierarchy", "local" or "global"), ``max_scale`` (the
        reach, capped by the ball budget and the degree limit),
        ``reach_scale`` (uncapped), ``n_trees``, ``diffusion`` (False when
        the embedding is trees only), ``hubs`` (``hub_ratio`` at least
        :data:`HUB_RATIO`), ``spread`` (the signal spread, if given) and
        ``reason`` (a sentence).
    """
    diameter = max(1, profile["diameter"])
    reach = int(np.ceil(np.log2(2.0 * diameter**2)))
    scale = 0
    while scale < reach:
        degree = _chebyshev_degree(2 ** (scale + 1), tol)
        if degree > MAX_CHEBYSHEV_DEGREE or _ball_size(profile, degree) > BALL_BUDGET:
            break
        scale += 1
    hubs = profile["hub_ratio"] >= HUB_RATIO
    if has_trees and is_hierarchy(profile):
        return {
            "kind": "hierarchy", "max_scale": scale, "reach_scale": reach,
            "n_trees": HIERARCHY_TREES, "diffusion": False, "hubs": hubs, "spread": spread,
            "reason": (
                f"hub ratio {profile['hub_ratio']:.0f} (max degree / mean degree) and "
                f"{profile['cycle_rank']:.3f} independent cycles per node: a hierarchy, "
                f"embedded by {HIERARCHY_TREES} shortest-path trees"
            ),
        }
    if scale < reach:
        reason = (
            f"crossing the graph (diameter about {diameter}) needs 2^{reach} steps; "
            f"diffusion stops at 2^{scale}, whose balls stay within {BALL_BUDGET} nodes"
        )
        wide = has_trees and spread is not None and spread > reach_hops(scale)
        if wide:
            reason += (
                f"; the signals spread {spread:.1f} hops, beyond the "
                f"{reach_hops(scale):.1f} it moves mass, so {GENERAL_TREES} trees join it"
            )
        return {
            "kind": "local", "max_scale": scale, "reach_scale": reach,
            "n_trees": GENERAL_TREES if wide else 0, "diffusion": True, "hubs": hubs,
            "spread": spread, "reason": reason,
        }
    return {
        "kind": "global", "max_scale": reach, "reach_scale": reach,
        "n_trees": GENERAL_TREES if has_trees else 0, "diffusion": True, "hubs": hubs,
        "spread": spread,
        "reason": f"the diffusion reaches across the graph (diameter about {diameter})",
    }
