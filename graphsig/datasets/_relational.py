"""Task generators for relational reasoning and contextual retrieval.

Relational tasks are built over a vocabulary of object identities: each
identity is one feature vector (a random vector, or an 8x8 digit image seen as
a signal on the 8x8 grid graph). A sample is a short sequence of objects and
the label depends only on which objects are identical, never on what they
are. Holding some identities out of training (:func:`split_identities`) tests
whether a model learned the relation or memorised the objects.

=========================  ========  =======  ==========================================
task                       objects   classes  label
=========================  ========  =======  ==========================================
``same_different``         2         2        1 if the two objects are the same
``rmts``                   6         2        which of the target pairs (objects 2-3 or
                                              4-5) has the relation of the source pair
                                              (objects 0-1): both same or both different
``distribution_of_three``  9         4        objects 0-2 are three distinct objects,
                                              3-4 two of them in a new order; which of
                                              the candidates 5-8 completes the second row
``identity_rules``         9         4        objects 0-2 follow ABA, ABB or AAA; 3-4
                                              start a second row with other objects;
                                              which candidate 5-8 completes it by the
                                              same rule
=========================  ========  =======  ==========================================
"""

import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "RELATIONAL_TASKS",
    "make_random_objects",
    "load_digit_objects",
    "split_identities",
    "make_relational_task",
    "make_relational_split",
    "make_contextual_retrieval",
]

#: task name -> (objects per sample, number of classes, distinct identities needed)
RELATIONAL_TASKS = {
    "same_different": (2, 2, 2),
    "rmts": (6, 2, 5),
    "distribution_of_three": (9, 4, 4),
    "identity_rules": (9, 4, 4),
}


def _check_int(value, name, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_noise(noise):
    if (not isinstance(noise, numbers.Real) or isinstance(noise, bool) or not np.isfinite(noise)
            or noise < 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def make_random_objects(n_identities=100, n_features=32, *, random_state=None):
    """A vocabulary of object identities: standard normal feature vectors.

    Parameters
    ----------
    n_identities : int, default=100
    n_features : int, default=32
    random_state : int, RandomState instance or None

    Returns
    -------
    objects : ndarray of shape (n_identities, n_features)

    Examples
    --------
    >>> from graphsig.datasets import make_random_objects
    >>> make_random_objects(100, 16, random_state=0).shape
    (100, 16)
    """
    n_identities = _check_int(n_identities, "n_identities", 2)
    n_features = _check_int(n_features, "n_features", 1)
    rng = check_random_state(random_state)
    return rng.standard_normal((n_identities, n_features))


def load_digit_objects():
    """The 1797 8x8 digit images of scikit-learn as signals on the 8x8 grid graph.

    Each image is one object identity: a nonnegative signal (pixel intensity
    scaled to [0, 1]) on the 64 nodes of the four-neighbour grid graph, node
    ``8 * row + column``.

    Returns
    -------
    data : sklearn.utils.Bunch
        objects : ndarray of shape (1797, 64), float64 in [0, 1]
        digits : ndarray of shape (1797,), the digit each image shows
        images : ndarray of shape (1797, 8, 8)
        graph : scipy.sparse.csr_matrix of shape (64, 64), the grid adjacency

    Examples
    --------
    >>> from graphsig.datasets import load_digit_objects
    >>> data = load_digit_objects()
    >>> data.objects.shape, data.graph.shape
    ((1797, 64), (64, 64))
    >>> train_ids = (data.digits <= 4).nonzero()[0]   # identities of digits 0-4
    """
    from sklearn.datasets import load_digits

    from graphsig.graphs import grid_graph

    digits = load_digits()
    images = digits.images / 16.0
    return Bunch(
        objects=images.reshape(len(images), -1),
        digits=digits.target.copy(),
        images=images,
        graph=grid_graph(8, 8),
    )


def split_identities(n_identities, n_holdout, *, random_state=None):
    """Split identities ``0..n_identities-1`` into training and held-out sets.

    Parameters
    ----------
    n_identities : int
    n_holdout : int
        Number of identities held out of training (used alone at test time).
    random_state : int, RandomState instance or None

    Returns
    -------
    train_identities, test_identities : ndarray of int, sorted

    Examples
    --------
    >>> from graphsig.datasets import split_identities
    >>> train, test = split_identities(100, 95, random_state=0)
    >>> len(train), len(test), len(set(train) & set(test))
    (5, 95, 0)
    """
    n_identities = _check_int(n_identities, "n_identities", 2)
    n_holdout = _check_int(n_holdout, "n_holdout", 0)
    if n_holdout >= n_identities:
        raise ValueError(
            f"n_holdout={n_holdout} leaves no identity for training out of {n_identities}"
        )
    rng = check_random_state(random_state)
    perm = rng.permutation(n_identities)
    return np.sort(perm[n_holdout:]), np.sort(perm[:n_holdout])


def _draw_distinct(rng, pool, n_samples, k):
    """``k`` distinct identities from ``pool`` for each sample, shape (n_samples, k)."""
    keys = rng.random((n_samples, len(pool)))
    if k < len(pool):
        chosen = np.argpartition(keys, k - 1, axis=1)[:, :k]
        # argpartition leaves the chosen ones in an order tied to the pool: shuffle it
        chosen = np.take_along_axis(chosen, _rows_permutation(rng, n_samples, k), axis=1)
    else:
        chosen = np.argsort(keys, axis=1)
    return pool[chosen]


def _rows_permutation(rng, n_samples, k):
    return np.argsort(rng.random((n_samples, k)), axis=1)


def _same_different(rng, pool, n):
    ids = _draw_distinct(rng, pool, n, 2)
    y = rng.randint(0, 2, n)
    seq = ids.copy()
    seq[y == 1, 1] = seq[y == 1, 0]
    return seq, y


def _rmts(rng, pool, n):
    ids = _draw_distinct(rng, pool, n, 5)
    a, b, c, d, e = ids.T
    source_same = rng.randint(0, 2, n).astype(bool)
    y = rng.randint(0, 2, n)  # position of the matching target pair
    # source same: (a, a), match (b, b), other (c, d)
    # source different: (a, b), match (c, d), other (e, e)
    src = np.where(source_same[:, None], np.stack([a, a], 1), np.stack([a, b], 1))
    match = np.where(source_same[:, None], np.stack([b, b], 1), np.stack([c, d], 1))
    other = np.where(source_same[:, None], np.stack([c, d], 1), np.stack([e, e], 1))
    first = np.where((y == 0)[:, None], match, other)
    second = np.where((y == 0)[:, None], other, match)
    return np.concatenate([src, first, second], axis=1), y


def _candidates(rng, ids4, answer):
    """Shuffle 4 candidate identities; return them and the position of ``answer``."""
    perm = _rows_permutation(rng, len(ids4), 4)
    cand = np.take_along_axis(ids4, perm, axis=1)
    y = np.argmax(cand == answer[:, None], axis=1)
    return cand, y


def _distribution_of_three(rng, pool, n):
    ids = _draw_distinct(rng, pool, n, 4)
    row1 = ids[:, :3]
    perm = _rows_permutation(rng, n, 3)
    row2 = np.take_along_axis(row1, perm, axis=1)
    cand, y = _candidates(rng, ids, row2[:, 2])
    return np.concatenate([row1, row2[:, :2], cand], axis=1), y


def _identity_rules(rng, pool, n):
    ids = _draw_distinct(rng, pool, n, 4)
    o0, o1, o2, o3 = ids.T
    rule = rng.randint(0, 3, n)  # 0: ABA, 1: ABB, 2: AAA
    row1 = np.stack([o0, o1, o0], axis=1)
    row1[rule == 1, 2] = o1[rule == 1]
    row1[rule == 2, 1] = o0[rule == 2]
    row1[rule == 2, 2] = o0[rule == 2]
    row2 = np.stack([o2, o3], axis=1)
    row2[rule == 2, 1] = o2[rule == 2]
    answer = np.where(rule == 0, o2, np.where(rule == 1, o3, o2))
    cand, y = _candidates(rng, ids, answer)
    return np.concatenate([row1, row2, cand], axis=1), y


_GENERATORS = {
    "same_different": _same_different,
    "rmts": _rmts,
    "distribution_of_three": _distribution_of_three,
    "identity_rules": _identity_rules,
}


def make_relational_task(task, n_samples, objects, *, identities=None, noise=0.0,
                         random_state=None, return_identities=False):
    """Samples of a relational task over a vocabulary of object identities.

    Parameters
    ----------
    task : {'same_different', 'rmts', 'distribution_of_three', 'identity_rules'}
        See the table in :mod:`graphsig.datasets._relational`.
    n_samples : int
    objects : array-like of shape (n_identities, n_features)
        One feature vector (or flattened signal) per identity.
    identities : array-like of int, default=None
        Identities samples may use (default all); pass the held-out ones of
        :func:`split_identities` to build an out-of-distribution test set.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added independently to every
        object of every sample, so that two occurrences of one identity are
        close but not bit-identical (as two photographs of one object are).
        The label still depends only on the identities.
    random_state : int, RandomState instance or None
    return_identities : bool, default=False
        Also return the identity of every object.

    Returns
    -------
    X : ndarray of shape (n_samples, n_objects, n_features)
    y : ndarray of int, shape (n_samples,)
        Classes are balanced in expectation.
    ids : ndarray of int, shape (n_samples, n_objects)
        Only with ``return_identities``.

    Examples
    --------
    >>> from graphsig.datasets import make_random_objects, make_relational_task
    >>> objects = make_random_objects(100, 16, random_state=0)
    >>> X, y, ids = make_relational_task("rmts", 5, objects, random_state=0,
    ...                                  return_identities=True)
    >>> X.shape, y.shape, ids.shape
    ((5, 6, 16), (5,), (5, 6))
    >>> import numpy as np
    >>> X, y = make_relational_task("same_different", 5, objects, noise=0.05, random_state=0)
    >>> bool(np.all(X[y == 1, 0] != X[y == 1, 1]))   # same identity, different noise
    True
    """
    if task not in RELATIONAL_TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {sorted(RELATIONAL_TASKS)}")
    n_samples = _check_int(n_samples, "n_samples", 1)
    objects = np.asarray(objects, dtype=np.float64)
    if objects.ndim < 2:
        raise ValueError("objects must have shape (n_identities, n_features)")
    objects = objects.reshape(len(objects), -1)
    if not np.all(np.isfinite(objects)):
        raise ValueError("objects contain NaN or infinity")
    if identities is None:
        pool = np.arange(len(objects))
    else:
        pool = np.unique(np.asarray(identities, dtype=np.intp).ravel())
        if pool.size and (pool.min() < 0 or pool.max() >= len(objects)):
            raise ValueError(f"identities must lie in [0, {len(objects)})")
    needed = RELATIONAL_TASKS[task][2]
    if len(pool) < needed:
        raise ValueError(
            f"task {task!r} needs at least {needed} distinct identities, got {len(pool)}"
        )
    noise = _check_noise(noise)
    rng = check_random_state(random_state)
    ids, y = _GENERATORS[task](rng, pool, n_samples)
    X = objects[ids]
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    if return_identities:
        return X, y, ids
    return X, y


def make_relational_split(task, n_train, n_test, *, objects=None, n_identities=100,
                          n_features=32, n_holdout=50, noise=0.0, random_state=None):
    """Training and out-of-distribution test sets of a relational task.

    Identities are split with :func:`split_identities`; the training samples
    use only training identities and the test samples only held-out ones.

    Parameters
    ----------
    task : str
        See :func:`make_relational_task`.
    n_train, n_test : int
    objects : array-like of shape (n_identities, n_features), default=None
        The vocabulary; default :func:`make_random_objects` with
        ``n_identities`` and ``n_features``.
    n_identities, n_features : int, default=100, 32
        Size of the default vocabulary.
    n_holdout : int, default=50
    noise : float, default=0.0
        Standard deviation of the Gaussian noise on every object of every
        sample (training and test); see :func:`make_relational_task`.
    random_state : int, RandomState instance or None

    Returns
    -------
    data : sklearn.utils.Bunch
        X_train, y_train, X_test, y_test, objects, train_identities, test_identities.

    Examples
    --------
    >>> from graphsig.datasets import make_relational_split
    >>> d = make_relational_split("same_different", 100, 50, n_holdout=95, random_state=0)
    >>> d.X_train.shape, d.X_test.shape, len(d.train_identities)
    ((100, 2, 32), (50, 2, 32), 5)
    """
    rng = check_random_state(random_state)
    if objects is None:
        objects = make_random_objects(n_identities, n_features, random_state=rng)
    objects = np.asarray(objects, dtype=np.float64)
    train_ids, test_ids = split_identities(len(objects), n_holdout, random_state=rng)
    X_train, y_train = make_relational_task(task, n_train, objects, identities=train_ids,
                                            noise=noise, random_state=rng)
    X_test, y_test = make_relational_task(task, n_test, objects, identities=test_ids,
                                          noise=noise, random_state=rng)
    return Bunch(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
                 objects=objects, train_identities=train_ids, test_identities=test_ids)


def _retrieval_combinations(n_searches, n_retrievals, split, train_fraction, task_seed):
    """Index tuples (one retrieval per search) allowed in ``split``."""
    grids = np.meshgrid(*[np.arange(n_retrievals)] * n_searches, indexing="ij")
    combos = np.stack([g.ravel() for g in grids], axis=1)
    if split == "all":
        return combos
    perm = np.random.default_rng(task_seed).permutation(len(combos))
    n_train = int(round(train_fraction * len(combos)))
    if not 1 <= n_train < len(combos):
        raise ValueError(
            f"train_fraction={train_fraction} leaves an empty split of the {len(combos)} "
            "retrieval index tuples"
        )
    chosen = perm[:n_train] if split == "train" else perm[n_train:]
    return combos[np.sort(chosen)]


def make_contextual_retrieval(n_samples, *, n_tokens=10, n_searches=2, n_retrievals=4,
                              split="all", train_fraction=0.75, coefficients="random",
                              task_seed=0, random_state=None, return_details=False):
    """The contextual retrieval task of compositional attention.

    Each of the ``n_tokens`` tokens carries ``n_searches`` search features
    and ``n_retrievals`` retrieval features, all standard normal, and, for each
    search ``s``, a one-hot retrieval index ``r_s``. For token ``i`` and search
    ``s``, let ``j_s(i)`` be the other token whose search feature ``s`` is
    nearest to token ``i``'s. The target of token ``i`` is

    ``y_i = sum_s c_s * x_{j_s(i)}[n_searches + r_s(i)]``,

    so every search must be paired with a retrieval chosen by the token itself.

    Parameters
    ----------
    n_samples : int
    n_tokens : int, default=10
    n_searches : int, default=2
    n_retrievals : int, default=4
    split : {'all', 'train', 'test'}, default='all'
        Which retrieval index tuples ``(r_1, ..., r_S)`` tokens may carry: all
        of them, or the training or held-out part of a fixed split (set by
        ``task_seed`` and ``train_fraction``). Training on 'train' and testing
        on 'test' measures out-of-distribution generalisation to unseen
        combinations of searches and retrievals.
    train_fraction : float, default=0.75
        Share of the index tuples in the training split.
    coefficients : 'random', 'ones' or array-like of shape (n_searches,), default='random'
        The ``c_s``; 'random' draws their sizes from U(0.5, 1) and their signs
        at random, with ``task_seed`` (so that every search matters).
    task_seed : int, default=0
        Fixes the task (split of tuples, coefficients) across calls.
    random_state : int, RandomState instance or None
        Draws the samples.
    return_details : bool, default=False
        Also return a Bunch with the nearest tokens ``neighbours`` of shape
        (n_samples, n_tokens, n_searches), the ``retrievals`` indices of the
        same shape, and the ``coefficients``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_tokens, n_token_features)
        ``n_token_features = n_searches + n_retrievals + n_searches * n_retrievals``:
        search features, retrieval features, then the one-hot indices (search-major).
    y : ndarray of shape (n_samples, n_tokens)

    Examples
    --------
    >>> from graphsig.datasets import make_contextual_retrieval
    >>> X, y = make_contextual_retrieval(4, n_tokens=10, n_searches=2, n_retrievals=4,
    ...                                  split="train", random_state=0)
    >>> X.shape, y.shape
    ((4, 10, 14), (4, 10))
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_tokens = _check_int(n_tokens, "n_tokens", 2)
    n_searches = _check_int(n_searches, "n_searches", 1)
    n_retrievals = _check_int(n_retrievals, "n_retrievals", 1)
    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}")
    if isinstance(coefficients, str):
        if coefficients == "random":
            crng = np.random.default_rng([task_seed, 1])
            coef = crng.uniform(0.5, 1.0, n_searches) * crng.choice([-1.0, 1.0], n_searches)
        elif coefficients == "ones":
            coef = np.ones(n_searches)
        else:
            raise ValueError(f"coefficients must be 'random', 'ones' or an array, got "
                             f"{coefficients!r}")
    else:
        coef = np.asarray(coefficients, dtype=np.float64).ravel()
        if coef.shape != (n_searches,):
            raise ValueError(f"coefficients must have {n_searches} entries, got {coef.size}")
    combos = _retrieval_combinations(n_searches, n_retrievals, split, train_fraction,
                                     task_seed)
    rng = check_random_state(random_state)
    S, P, L = n_searches, n_retrievals, n_tokens
    data = rng.standard_normal((n_samples, L, S + P))
    retr = combos[rng.randint(0, len(combos), size=(n_samples, L))]  # (n, L, S)
    onehot = np.zeros((n_samples, L, S, P))
    np.put_along_axis(onehot, retr[..., None], 1.0, axis=-1)

    neighbours = np.empty((n_samples, L, S), dtype=np.intp)
    y = np.zeros((n_samples, L))
    rows = np.arange(n_samples)[:, None]
    for s in range(S):
        f = data[:, :, s]
        dist = np.abs(f[:, :, None] - f[:, None, :])
        dist[:, np.arange(L), np.arange(L)] = np.inf
        j = np.argmin(dist, axis=2)  # (n, L)
        neighbours[:, :, s] = j
        y += coef[s] * data[rows, j, S + retr[:, :, s]]
    X = np.concatenate([data, onehot.reshape(n_samples, L, S * P)], axis=2)
    if return_details:
        return X, y, Bunch(neighbours=neighbours, retrievals=retr, coefficients=coef)
    return X, y
