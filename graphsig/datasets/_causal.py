"""Causal-induction environments: coloured objects whose colours follow a causal DAG.

The "chemistry" environment of Ke et al. (2021): ``n`` objects each carry one
of ``n_colors`` colours. A directed acyclic graph says which objects' colours
cause which; each object with parents has a random conditional, a table that
maps its parents' colours to its own colour. An action is an intervention
``do(object i := colour c)``: object ``i`` takes colour ``c``, its descendants
are recomputed from their parents in causal order, and every other object
keeps its colour.
"""

import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = ["make_causal_chemistry"]

_MAX_TABLE = 1_000_000


def _dag_from_graph(graph, order):
    """Boolean matrix ``dag[i, j]`` (edge ``i -> j``) and the causal order."""
    from ..graphs import as_adjacency

    A = as_adjacency(graph).tocoo()
    n = A.shape[0]
    if order is None:
        order = np.arange(n)
    else:
        raw = np.asarray(order)
        if raw.ndim != 1 or raw.dtype.kind not in "iu":
            raise ValueError(f"order must be a 1-D array of node indices, got {order!r}")
        if raw.shape[0] != n or not np.array_equal(np.sort(raw), np.arange(n)):
            raise ValueError(
                f"order must be a permutation of the {n} nodes 0..{n - 1} (each exactly once), "
                f"got {raw.tolist()}"
            )
        order = raw.astype(np.intp)
    rank = np.empty(n, dtype=np.intp)
    rank[order] = np.arange(n)
    dag = np.zeros((n, n), dtype=bool)
    for i, j in zip(A.row, A.col):
        if rank[i] < rank[j]:
            dag[i, j] = True
        else:
            dag[j, i] = True
    return dag, order


def _descendants(dag, order):
    """``desc[i, j]``: ``j`` is a strict descendant of ``i``."""
    n = len(dag)
    desc = np.zeros((n, n), dtype=bool)
    for i in order[::-1]:
        for j in np.flatnonzero(dag[i]):
            desc[i, j] = True
            desc[i] |= desc[j]
    return desc


def _check_int(name, value, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def make_causal_chemistry(graph, *, n_samples=1000, n_colors=5, order=None,
                          initial_states="uniform", noise=0.0, random_state=None):
    """Transitions of a chemistry environment whose colours follow a causal DAG.

    The causal graph is the undirected ``graph`` oriented by a causal
    (topological) order: each edge points from the node that comes first in
    ``order`` to the one that comes later. An undirected graph together with
    an order defines exactly one DAG, and every DAG arises so (orient by any
    of its topological orders), which is why the direction is given by
    ``order`` rather than read from the matrix: ``as_adjacency`` accepts
    symmetric adjacencies only. By default the node numbering is the order,
    so on ``graphsig.graphs.path_graph(n)`` the graph is the chain
    ``0 -> 1 -> ... -> n-1``; a star centred on the last node is a collider;
    the complete graph is the full DAG.

    Each object ``j`` with parents ``P_j`` has a conditional drawn once per
    environment: a table giving its colour for every combination of its
    parents' colours, with uniformly random entries. A state is drawn with
    every colour uniform and independent (``initial_states='uniform'``: a
    random configuration, as after a reset) or by ancestral sampling through
    the tables (``'ancestral'``: a configuration the DAG could have produced;
    with one root and no noise it is a function of the root's colour), an
    action ``(i, c)`` uniformly, and the next state is the state after
    ``do(i := c)``: object ``i`` takes colour ``c``, then its descendants,
    in causal order, the colour their table gives for their parents' new
    colours; the other objects keep theirs. With ``noise > 0`` each colour
    computed from a table is replaced, with that probability, by a uniformly
    random one.

    Parameters
    ----------
    graph : sparse matrix, array-like, networkx.Graph or pygsp graph
        Anything :func:`graphsig.graphs.as_adjacency` accepts (undirected,
        at least one edge); its nodes are the objects. Weights are ignored.
    n_samples : int, default=1000
        Number of transitions.
    n_colors : int, default=5
        Colours per object (at least 2).
    order : array-like of int or None, default=None
        A permutation of the nodes: the causal order that orients the edges.
        None is ``0, 1, ..., n - 1``.
    initial_states : {'uniform', 'ancestral'}, default='uniform'
        How the states before the interventions are drawn (see above).
    noise : float in [0, 1], default=0.0
    random_state : int, RandomState instance or None, default=None
        Draws the conditionals and the transitions, in that order.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``states``, ``next_states`` : int ndarrays of shape (n_samples, n_objects);
        ``actions`` : int ndarray of shape (n_samples, 2), the intervened
        object and its new colour; ``dag`` : bool ndarray of shape
        (n_objects, n_objects), ``dag[i, j]`` for an edge ``i -> j``;
        ``order`` : the causal order; ``parents`` : list of int arrays;
        ``tables`` : list of int arrays, ``tables[j][colours of P_j]`` is the
        colour of ``j`` (None for objects without parents).

    Raises
    ------
    ValueError
        For a graph that ``as_adjacency`` refuses, an ``order`` that is not a
        permutation of the nodes, ``n_colors < 2``, ``noise`` outside [0, 1],
        an unknown ``initial_states``, or conditional tables too large
        (``n_colors ** n_parents`` above a million entries).

    Examples
    --------
    >>> from graphsig.datasets import make_causal_chemistry
    >>> from graphsig.graphs import path_graph
    >>> data = make_causal_chemistry(path_graph(4), n_samples=3, n_colors=3, random_state=0)
    >>> data.dag.astype(int)
    array([[0, 1, 0, 0],
           [0, 0, 1, 0],
           [0, 0, 0, 1],
           [0, 0, 0, 0]])
    >>> data.states.shape, data.actions.shape, data.next_states.shape
    ((3, 4), (3, 2), (3, 4))

    References
    ----------
    Ke, Didolkar, Mittal, Goyal, Lajoie, Bauer, Rezende, Bengio, Mozer and
    Pal, "Systematic evaluation of causal discovery in visual model based
    reinforcement learning", NeurIPS Datasets and Benchmarks 2021
    (arXiv:2107.00848).
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    n_colors = _check_int("n_colors", n_colors, 2)
    if (isinstance(noise, (bool, np.bool_)) or not isinstance(noise, numbers.Real)
            or not 0.0 <= noise <= 1.0):
        raise ValueError(f"noise must be a probability in [0, 1], got {noise!r}")
    if initial_states not in ("uniform", "ancestral"):
        raise ValueError(
            f"initial_states must be 'uniform' or 'ancestral', got {initial_states!r}")
    dag, order = _dag_from_graph(graph, order)
    n = len(dag)
    parents = [np.flatnonzero(dag[:, j]) for j in range(n)]
    for j, p in enumerate(parents):
        if n_colors ** len(p) > _MAX_TABLE:
            raise ValueError(
                f"object {j} has {len(p)} parents: its conditional table would have "
                f"{n_colors}**{len(p)} entries (more than {_MAX_TABLE:,}); use fewer colours "
                "or a sparser graph"
            )
    rng = check_random_state(random_state)
    tables = [None if len(p) == 0 else
              rng.randint(0, n_colors, size=(n_colors,) * len(p)) for p in parents]
    desc = _descendants(dag, order)

    def mechanism(states, j, rows):
        value = tables[j][tuple(states[rows][:, parents[j]].T)]
        if noise > 0:
            flip = rng.random_sample(len(rows)) < noise
            value = np.where(flip, rng.randint(0, n_colors, len(rows)), value)
        return value

    states = np.empty((n_samples, n), dtype=np.intp)
    all_rows = np.arange(n_samples)
    for j in order:
        if tables[j] is None or initial_states == "uniform":
            states[:, j] = rng.randint(0, n_colors, n_samples)
        else:
            states[:, j] = mechanism(states, j, all_rows)
    actions = np.column_stack([rng.randint(0, n, n_samples),
                               rng.randint(0, n_colors, n_samples)]).astype(np.intp)
    next_states = states.copy()
    next_states[all_rows, actions[:, 0]] = actions[:, 1]
    for j in order:
        rows = np.flatnonzero(desc[actions[:, 0], j])
        if len(rows):
            next_states[rows, j] = mechanism(next_states, j, rows)
    return Bunch(states=states, actions=actions, next_states=next_states, dag=dag,
                 order=order, parents=parents, tables=tables)
