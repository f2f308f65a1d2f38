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
  pairs the truncated diffusion underestimates, so none are used.

Every other graph (kNN graphs, meshes and grids small enough for the
diffusion to reach across) gets diffusion blocks to the reach and
:data:`GENERAL_TREES` trees, mixed by the fitted tree share.
"""

import numpy as np

from ..diffusion._operator import MAX_CHEBYSHEV_DEGREE, _chebyshev_degree

__all__ = ["graph_profile", "plan_blocks"]

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


def is_hierarchy(profile):
    """Hub-dominated or nearly a tree (see the module's notes)."""
    return profile["hub_ratio"] >= HUB_RATIO or profile["cycle_rank"] <= TREE_CYCLE_RANK


def plan_blocks(profile, *, tol, has_trees):
    """The embedding's blocks for a graph.

    Parameters
    ----------
    profile : dict
        From :func:`graph_profile`.
    tol : float
        Chebyshev truncation error (sets the degree of each time).
    has_trees : bool
        Whether the estimator has tree blocks (the balanced form).

    Returns
    -------
    plan : dict
        ``kind`` ("hierarchy", "local" or "global"), ``max_scale`` (the
        reach, capped by the ball budget and the degree limit),
        ``reach_scale`` (uncapped), ``n_trees``, ``diffusion`` (False when
        the embedding is trees only), ``hubs`` (``hub_ratio`` at least
        :data:`HUB_RATIO`) and ``reason`` (a sentence).
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
            "n_trees": HIERARCHY_TREES, "diffusion": False, "hubs": hubs,
            "reason": (
                f"hub ratio {profile['hub_ratio']:.0f} (max degree / mean degree) and "
                f"{profile['cycle_rank']:.3f} independent cycles per node: a hierarchy, "
                f"embedded by {HIERARCHY_TREES} shortest-path trees"
            ),
        }
    if scale < reach:
        return {
            "kind": "local", "max_scale": scale, "reach_scale": reach, "n_trees": 0,
            "diffusion": True, "hubs": hubs,
            "reason": (
                f"crossing the graph (diameter about {diameter}) needs 2^{reach} steps; "
                f"diffusion stops at 2^{scale}, whose balls stay within {BALL_BUDGET} nodes"
            ),
        }
    return {
        "kind": "global", "max_scale": reach, "reach_scale": reach,
        "n_trees": GENERAL_TREES if has_trees else 0, "diffusion": True, "hubs": hubs,
        "reason": f"the diffusion reaches across the graph (diameter about {diameter})",
    }
