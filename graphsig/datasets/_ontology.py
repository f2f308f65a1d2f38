"""Synthetic ontologies (polyhierarchies) and annotation signals on them.

Knowledge graphs such as SNOMED CT, the Human Phenotype Ontology or the Gene
Ontology are polyhierarchies: a rooted tree of "is-a" links in which a few
concepts have a second parent. Their child counts are heavy-tailed (a few hub
concepts have hundreds to thousands of children, most concepts are leaves),
and they are shallow (depth 10-16) so their hop diameter is small.
:func:`make_polyhierarchy` generates such graphs, and
:func:`make_annotation_signals` patient-like sparse annotations on them.
"""

import numbers

import numpy as np
import scipy.sparse as sp

__all__ = ["make_polyhierarchy", "make_annotation_signals"]


def _check_int(value, name, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_real(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _level_sizes(n_nodes, max_depth, n_categories):
    """Number of concepts at each depth 0, 1, ..., all nonzero, summing to n_nodes.

    Depth 1 holds the categories. Below, the level sizes grow geometrically
    up to the peak depth ``max_depth / 2``, then decay as a half bell curve
    of width ``max_depth / 6`` (as in real ontologies, the middle levels are
    the most populated); the growth ratio is solved for the total.
    """
    if max_depth == 1 or n_nodes - 1 <= n_categories:
        return np.array([1, n_nodes - 1], dtype=np.int64)
    peak = min(max_depth, max(2, int(round(0.5 * max_depth))))
    width = max(max_depth / 6.0, 0.5)
    tail = np.exp(-0.5 * (np.arange(1, max_depth - peak + 1) / width) ** 2)
    rise = np.arange(peak)  # exponents of the ratio at depths 1 .. peak

    def total(log_ratio):
        grow = np.exp(rise * log_ratio)
        return n_categories * (grow.sum() + grow[-1] * tail.sum())

    lo, hi = -10.0, 20.0  # bisection on the log growth ratio
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if total(mid) < n_nodes - 1 else (lo, mid)
    grow = np.exp(rise * lo)
    shape = np.concatenate([grow[1:], grow[-1] * tail])  # depths 2 .. max_depth
    rest = n_nodes - 1 - n_categories
    bounds = np.rint(np.cumsum(shape) / shape.sum() * rest).astype(np.int64)
    sizes = np.diff(bounds, prepend=0)
    sizes = sizes[sizes > 0]  # empty levels are skipped: depths stay contiguous
    return np.concatenate([[1, n_categories], sizes]).astype(np.int64)


def make_polyhierarchy(n_nodes=10_000, *, extra_parent_fraction=0.03, max_depth=14,
                       n_categories=20, hub_exponent=2.2, random_state=0):
    """A random ontology: a rooted is-a tree plus a few extra parent links.

    Concept 0 is the root and concepts ``1 .. n_categories`` (its children)
    the top-level categories. The other concepts are spread over depths
    ``2 .. max_depth``, most of them in the middle levels. Each concept at
    depth ``d`` picks its tree parent among the concepts at depth ``d - 1``
    with probability proportional to the parent's *fitness*, a Pareto
    variable drawn once per concept; so the number of children has a power
    law tail ``P(k) ~ k ** -hub_exponent``: most concepts are leaves, a few
    hubs have hundreds or thousands of children. Then a fraction
    ``extra_parent_fraction`` of the concepts below depth 1 get one extra
    parent, drawn by fitness at a shallower depth (one level up with
    probability 1/2, two levels up with 1/4, and so on, never above depth 1)
    and never among their tree ancestors. All links point to a shallower
    concept, so the parent relation is acyclic.

    Concepts are numbered level by level (breadth-first): a concept's
    descendants at any depth form a contiguous range of numbers, and the
    children of a concept are consecutive.

    Parameters
    ----------
    n_nodes : int, default=10_000
        Number of concepts, root included (at least 2).
    extra_parent_fraction : float in [0, 1), default=0.03
        Fraction of the ``n_nodes - 1`` non-root concepts that get a second
        parent (capped by the number of concepts below depth 1; a draw that
        cannot avoid the concept's tree ancestors is dropped, so the
        realised fraction can be slightly lower).
    max_depth : int, default=14
        Depth of the deepest concepts (at least 1). Levels that would be
        empty for small ``n_nodes`` are skipped, so the realised depth can be
        smaller.
    n_categories : int, default=20
        Number of top-level categories, the root's children (at least 1;
        capped at ``n_nodes - 1``, and all ``n_nodes - 1`` non-root concepts
        are categories when ``max_depth == 1``).
    hub_exponent : float, default=2.2
        Exponent ``gamma > 1`` of the power-law tail of the number of
        children. Smaller values give bigger hubs; real ontologies have
        ``gamma`` around 2 to 2.5.
    random_state : int, numpy.random.Generator or None, default=0
        Seed of the generator; equal seeds give identical graphs.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_nodes, n_nodes), float64
        Undirected graph of all is-a links (tree and extra), symmetric, of
        ones, without self loops (for hop distances and diffusion). It is
        connected, with ``n_nodes - 1`` tree edges plus one edge per extra
        parent.
    parents : scipy.sparse.csr_matrix of shape (n_nodes, n_nodes), int8
        The directed is-a relation: row ``i`` holds the parents of concept
        ``i``, with value 1 for its tree parent and 2 for an extra parent.
        The root's row is empty. ``parents == 1`` is the spanning tree and
        ``parents.astype(bool)`` the whole relation (a DAG).
    depth : ndarray of int64 of shape (n_nodes,)
        Depth of each concept in the tree (0 for the root). Every parent of
        a concept is shallower than the concept.

    See Also
    --------
    make_annotation_signals : sparse patient-like annotations on the result.
    graphsig.datasets.make_clustered_signals : signals in hop balls of any graph.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.datasets import make_polyhierarchy
    >>> A, parents, depth = make_polyhierarchy(5000, random_state=0)
    >>> A.shape, A.nnz // 2 - (5000 - 1), int(depth.max())
    ((5000, 5000), 150, 14)
    >>> child, parent = parents.nonzero()
    >>> bool((A != A.T).nnz == 0), bool(np.all(depth[parent] < depth[child]))
    (True, True)
    >>> degree = A.getnnz(axis=1)
    >>> int(np.median(degree)), bool(degree.max() > 100)
    (1, True)
    """
    n_nodes = _check_int(n_nodes, "n_nodes", 2)
    fraction = _check_real(extra_parent_fraction, "extra_parent_fraction")
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"extra_parent_fraction must lie in [0, 1), got {extra_parent_fraction!r}")
    max_depth = _check_int(max_depth, "max_depth", 1)
    n_categories = _check_int(n_categories, "n_categories", 1)
    gamma = _check_real(hub_exponent, "hub_exponent")
    if gamma <= 1.0:
        raise ValueError(f"hub_exponent must be > 1, got {hub_exponent!r}")
    rng = np.random.default_rng(random_state)

    sizes = _level_sizes(n_nodes, max_depth, min(n_categories, n_nodes - 1))
    starts = np.concatenate([[0], np.cumsum(sizes)])  # level d is starts[d]:starts[d+1]
    depth = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    # fitness: Pareto(alpha = gamma - 1) with minimum 1, so that the Poisson
    # mixture of child counts has the tail k ** -gamma
    fitness = 1.0 + rng.pareto(gamma - 1.0, size=n_nodes)
    # cumulative fitness restarting at each level: a draw in level d is
    # searchsorted within cum[starts[d]:starts[d+1]]
    cum = np.cumsum(fitness)

    def draw(level, count):
        """``count`` concepts of the given depths (array or scalar), by fitness."""
        lo, hi = starts[level], starts[level + 1]
        base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
        u = base + rng.random(count) * (cum[hi - 1] - base)
        pick = np.searchsorted(cum, u, side="right")
        return np.clip(pick, lo, hi - 1)

    parent = np.empty(n_nodes, dtype=np.int64)
    parent[0] = -1
    for d in range(1, len(sizes)):
        # sorted, so that the children of a concept are consecutive
        parent[starts[d]:starts[d + 1]] = np.sort(draw(d - 1, int(sizes[d])))

    # extra parents, for concepts of depth >= 2
    first = int(starts[2]) if len(sizes) > 2 else n_nodes
    n_extra = min(int(round(fraction * (n_nodes - 1))), n_nodes - first)
    child = first + rng.choice(n_nodes - first, size=n_extra, replace=False) if n_extra else \
        np.empty(0, dtype=np.int64)
    child.sort()
    extra = np.full(child.size, -1, dtype=np.int64)
    todo = np.arange(child.size)
    for _ in range(16):  # redraw the few that hit a tree ancestor
        if todo.size == 0:
            break
        cd = depth[child[todo]]
        up = np.minimum(rng.geometric(0.5, size=todo.size), cd - 1)  # 1, 2, ... levels up
        level = cd - up
        pick = draw(level, todo.size)
        ancestor = child[todo]
        for _step in range(int(up.max())):
            climb = depth[ancestor] > level
            ancestor[climb] = parent[ancestor[climb]]
        ok = pick != ancestor
        extra[todo[ok]] = pick[ok]
        todo = todo[~ok]
    keep = extra >= 0
    child, extra = child[keep], extra[keep]

    nodes = np.arange(1, n_nodes, dtype=np.int64)
    rows = np.concatenate([nodes, child])
    cols = np.concatenate([parent[1:], extra])
    codes = np.concatenate([np.ones(n_nodes - 1, np.int8), np.full(child.size, 2, np.int8)])
    parents = sp.csr_matrix((codes, (rows, cols)), shape=(n_nodes, n_nodes))
    parents.sort_indices()
    ones = np.ones(2 * rows.size)
    adjacency = sp.csr_matrix((ones, (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
                              shape=(n_nodes, n_nodes))
    adjacency.sort_indices()
    return adjacency, parents, depth


def _proper_ancestors(indicator, relation):
    """Rows: the proper ancestors (by ``relation``, child -> parent) of each row's nodes."""
    step = indicator
    reached = sp.csr_matrix(indicator.shape, dtype=np.float64)
    while True:
        step = (step @ relation).tocsr()
        step.data[:] = 1.0
        grown = reached + step
        grown.data[:] = 1.0
        if grown.nnz == reached.nnz:
            return reached
        reached = grown


def _most_specific(indicator, relation):
    """Drop each row's nodes that are ancestors of another node of the same row."""
    indicator = indicator.tocsr()
    indicator.sum_duplicates()
    indicator.data[:] = 1.0
    covered = indicator.multiply(_proper_ancestors(indicator, relation)).tocsr()
    result = (indicator - covered).tocsr()
    result.eliminate_zeros()
    result.sort_indices()
    return result


def make_annotation_signals(parents, n_signals=1000, *, n_diseases=None, terms_per_disease=30,
                            min_nnz=5, max_nnz=15, noise=0.1, random_state=0):
    """Patient-like annotations on an ontology: a few specific concepts per signal.

    A model of patients annotated with ontology terms (phenotypes of a rare
    disease, diagnoses in a record). Each of ``n_diseases`` diseases has a
    centre concept: a random concept, lifted to its (first) parent until it
    has at least ``terms_per_disease`` descendants. The disease is annotated
    with ``terms_per_disease`` random descendants of its centre, reduced to
    the most specific ones (a concept is dropped when one of its
    descendants is also drawn: the true-path rule). Each signal belongs to
    one random disease and annotates between ``min_nnz`` and ``max_nnz`` of
    the disease's concepts, each replaced with probability ``noise`` by a
    random concept of the ontology; the annotations are again reduced to the
    most specific ones, and weigh uniformly in [0.1, 1.1). Signals of a
    disease share their terms and all their terms' ancestors up to the
    centre, so they are near each other in EMD on the ontology graph.

    Unlike :func:`graphsig.datasets.make_clustered_signals`, whose hop balls
    ignore the direction of the links (a ball holds the ancestors of its
    centre, and a ball through a hub holds thousands of siblings), the
    annotations here are sets of unrelated specific concepts.

    Parameters
    ----------
    parents : sparse matrix of shape (n_nodes, n_nodes)
        The is-a relation of a DAG: a nonzero ``parents[i, j]`` means
        concept ``i`` is a child of concept ``j`` (the ``parents`` output of
        :func:`make_polyhierarchy`; for a loaded ontology, its child -> parent
        matrix). When a row holds several parents, the first one with the
        smallest value is used to lift a centre.
    n_signals : int, default=1000
    n_diseases : int, optional
        Number of diseases (default ``max(1, n_signals // 10)``).
    terms_per_disease : int, default=30
        Number of concepts drawn for each disease, before the reduction to
        the most specific ones.
    min_nnz, max_nnz : int, default=5, 15
        Range of the number of concepts drawn for a signal (at most the
        disease's number of concepts). After noise and the reduction a
        signal can hold a few fewer, never none.
    noise : float in [0, 1], default=0.1
        Probability that an annotation is replaced by a uniformly random
        concept.
    random_state : int, numpy.random.Generator or None, default=0

    Returns
    -------
    signals : scipy.sparse.csr_matrix of shape (n_signals, n_nodes), float64
        Positive weights, sorted indices.
    disease : ndarray of int64 of shape (n_signals,)
        The disease of each signal, in ``range(n_diseases)``.
    centres : ndarray of int64 of shape (n_diseases,)
        The centre concept of each disease.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.datasets import make_polyhierarchy, make_annotation_signals
    >>> A, parents, depth = make_polyhierarchy(20_000, random_state=0)
    >>> X, disease, centres = make_annotation_signals(parents, 200, random_state=0)
    >>> X.shape, disease.shape, centres.shape
    ((200, 20000), (200,), (20,))
    >>> nnz = X.getnnz(axis=1)
    >>> bool(nnz.min() >= 1 and nnz.max() <= 15 and X.data.min() > 0)
    True
    """
    if not sp.issparse(parents) or parents.ndim != 2 or parents.shape[0] != parents.shape[1]:
        raise TypeError("parents must be a square scipy sparse matrix (child -> parent), got "
                        f"{type(parents).__name__}")
    n_nodes = parents.shape[0]
    if n_nodes < 2:
        raise ValueError(f"parents must have at least 2 concepts, got {n_nodes}")
    n_signals = _check_int(n_signals, "n_signals", 1)
    n_diseases = max(1, n_signals // 10) if n_diseases is None else \
        _check_int(n_diseases, "n_diseases", 1)
    terms_per_disease = _check_int(terms_per_disease, "terms_per_disease", 1)
    min_nnz = _check_int(min_nnz, "min_nnz", 1)
    max_nnz = _check_int(max_nnz, "max_nnz", 1)
    if min_nnz > max_nnz:
        raise ValueError(f"need min_nnz <= max_nnz, got {min_nnz} and {max_nnz}")
    noise = _check_real(noise, "noise")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must lie in [0, 1], got {noise!r}")
    from ..diffusion._kernels import ball_nodes

    rng = np.random.default_rng(random_state)
    relation = sp.csr_matrix(parents, dtype=np.float64, copy=True)
    relation.sum_duplicates()
    relation.eliminate_zeros()
    relation.sort_indices()
    # the parent used to lift a centre: first entry of smallest value in each row
    lift = np.full(n_nodes, -1, dtype=np.int64)
    row_of = np.repeat(np.arange(n_nodes), np.diff(relation.indptr))
    order = np.lexsort((np.arange(relation.nnz), relation.data, row_of))
    first_of_row = np.ones(order.size, dtype=bool)
    first_of_row[1:] = row_of[order[1:]] != row_of[order[:-1]]
    lift[row_of[order[first_of_row]]] = relation.indices[order[first_of_row]]
    relation.data[:] = 1.0
    children = relation.T.tocsr()
    indptr = children.indptr.astype(np.int64)
    indices = children.indices.astype(np.int64)
    seen = np.zeros(n_nodes, dtype=bool)

    centres = rng.choice(n_nodes, n_diseases, replace=n_diseases > n_nodes)
    profile_rows, profile_cols = [], []
    for j in range(n_diseases):
        c = int(centres[j])
        pool = ball_nodes(indptr, indices, np.array([c], dtype=np.int64), n_nodes, seen)
        while pool.size <= terms_per_disease and lift[c] >= 0:
            c = int(lift[c])
            pool = ball_nodes(indptr, indices, np.array([c], dtype=np.int64), n_nodes, seen)
        centres[j] = c
        pool = pool[pool != c] if pool.size > 1 else pool
        terms = rng.choice(pool, min(terms_per_disease, pool.size), replace=False)
        profile_rows.append(np.full(terms.size, j))
        profile_cols.append(terms)
    profiles = sp.csr_matrix((np.ones(sum(map(len, profile_cols))),
                              (np.concatenate(profile_rows), np.concatenate(profile_cols))),
                             shape=(n_diseases, n_nodes))
    profiles = _most_specific(profiles, relation)

    # each signal: a random subset of its disease's concepts (random keys,
    # padding sorted last), then noise
    disease = rng.integers(0, n_diseases, size=n_signals)
    sizes = np.diff(profiles.indptr)
    width = int(sizes.max())
    table = np.full((n_diseases, width), -1, dtype=np.int64)
    table[np.repeat(np.arange(n_diseases), sizes),
          np.arange(profiles.nnz) - np.repeat(profiles.indptr[:-1], sizes)] = profiles.indices
    keys = rng.random((n_signals, width))
    keys[table[disease] < 0] = np.inf
    chosen = np.take_along_axis(table[disease], np.argsort(keys, axis=1), axis=1)
    nnz = np.minimum(rng.integers(min_nnz, max_nnz + 1, size=n_signals), sizes[disease])
    mask = np.arange(width) < nnz[:, None]
    rows = np.repeat(np.arange(n_signals), nnz)
    cols = chosen[mask]
    noisy = rng.random(cols.size) < noise
    cols[noisy] = rng.integers(0, n_nodes, size=int(noisy.sum()))
    signals = _most_specific(
        sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(n_signals, n_nodes)), relation)
    signals.data = rng.uniform(0.1, 1.1, size=signals.nnz)
    return signals, disease.astype(np.int64), centres.astype(np.int64)
