"""Tests of the relational task generators and the contextual retrieval task."""

import numpy as np
import pytest

from graphsig.datasets import (
    RELATIONAL_TASKS,
    load_digit_objects,
    make_contextual_retrieval,
    make_random_objects,
    make_relational_split,
    make_relational_task,
    split_identities,
)


@pytest.fixture(scope="module")
def objects():
    return make_random_objects(30, 5, random_state=0)


def _same(ids, i, j):
    return ids[:, i] == ids[:, j]


@pytest.mark.parametrize("task", sorted(RELATIONAL_TASKS))
def test_shapes_balance_and_objects(task, objects):
    n_obj, n_cls, _ = RELATIONAL_TASKS[task]
    X, y, ids = make_relational_task(task, 3000, objects, random_state=0,
                                     return_identities=True)
    assert X.shape == (3000, n_obj, 5) and y.shape == (3000,) and ids.shape == (3000, n_obj)
    np.testing.assert_array_equal(X, objects[ids])
    counts = np.bincount(y, minlength=n_cls)
    assert len(counts) == n_cls and counts.min() > 0.8 * 3000 / n_cls


def test_same_different_labels(objects):
    _, y, ids = make_relational_task("same_different", 500, objects, random_state=1,
                                     return_identities=True)
    np.testing.assert_array_equal(y, _same(ids, 0, 1))


def test_rmts_labels(objects):
    _, y, ids = make_relational_task("rmts", 500, objects, random_state=1,
                                     return_identities=True)
    src = _same(ids, 0, 1)
    first, second = _same(ids, 2, 3), _same(ids, 4, 5)
    assert np.all(first != second)  # exactly one target pair shares the relation
    np.testing.assert_array_equal(y, np.where(first == src, 0, 1))
    # all objects of different pairs are distinct identities
    assert np.all([len(set(r)) == (4 if s else 5) for r, s in zip(ids, src)])


def test_distribution_of_three_labels(objects):
    _, y, ids = make_relational_task("distribution_of_three", 500, objects, random_state=1,
                                     return_identities=True)
    for row, label in zip(ids, y):
        first = set(row[:3])
        assert len(first) == 3 and set(row[3:5]) < first and row[3] != row[4]
        missing = (first - set(row[3:5])).pop()
        assert row[5 + label] == missing
        assert len(set(row[5:])) == 4


def test_identity_rules_labels(objects):
    _, y, ids = make_relational_task("identity_rules", 900, objects, random_state=1,
                                     return_identities=True)
    rules = set()
    for row, label in zip(ids, y):
        a, b, c = row[:3]
        rule = "AAA" if a == b == c else "ABA" if a == c else "ABB" if b == c else None
        assert rule is not None
        rules.add(rule)
        d, e, answer = row[3], row[4], row[5 + label]
        completed = (d, e, answer)
        if rule == "AAA":
            assert d == e == answer
        elif rule == "ABA":
            assert d != e and answer == d
        else:
            assert d != e and answer == e
        assert d not in (a, b, c) and len(set(row[5:])) == 4 and len(completed) == 3
    assert rules == {"AAA", "ABA", "ABB"}


def test_identities_restrict_the_pool(objects):
    _, _, ids = make_relational_task("identity_rules", 300, objects, identities=[3, 7, 8, 11],
                                     random_state=0, return_identities=True)
    assert set(np.unique(ids)) <= {3, 7, 8, 11}


def test_determinism(objects):
    a = make_relational_task("rmts", 50, objects, random_state=5)
    b = make_relational_task("rmts", 50, objects, random_state=5)
    c = make_relational_task("rmts", 50, objects, random_state=6)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_split_identities_and_split_sets():
    train, test = split_identities(100, 95, random_state=0)
    assert len(train) == 5 and len(test) == 95 and not set(train) & set(test)
    d = make_relational_split("rmts", 200, 100, n_holdout=50, random_state=0)
    train_rows = {tuple(r) for r in d.objects[d.train_identities]}
    test_rows = {tuple(r) for r in d.objects[d.test_identities]}
    assert all(tuple(o) in train_rows for o in d.X_train.reshape(-1, 32))
    assert all(tuple(o) in test_rows for o in d.X_test.reshape(-1, 32))


def test_digit_objects():
    data = load_digit_objects()
    assert data.objects.shape == (1797, 64) and data.objects.min() >= 0
    assert data.objects.max() <= 1 and data.graph.shape == (64, 64)
    assert data.graph.nnz == 2 * (8 * 7 * 2)
    np.testing.assert_array_equal(data.objects[5], data.images[5].ravel())


@pytest.mark.parametrize("task", ["same_different", "rmts", "identity_rules"])
def test_noise_is_independent_per_object_and_keeps_labels(task, objects):
    clean, y0, ids0 = make_relational_task(task, 300, objects, random_state=3,
                                           return_identities=True)
    noisy, y1, ids1 = make_relational_task(task, 300, objects, noise=0.2, random_state=3,
                                           return_identities=True)
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(ids0, ids1)
    diff = noisy - objects[ids1]
    assert abs(diff.std() - 0.2) < 0.01
    # two occurrences of one identity are not bit-identical
    same = ids1[:, 0] == ids1[:, 1] if task != "rmts" else ids1[:, 2] == ids1[:, 3]
    assert same.any()
    cols = (0, 1) if task != "rmts" else (2, 3)
    assert np.all(noisy[same, cols[0]] != noisy[same, cols[1]])


def test_split_passes_noise(objects):
    d = make_relational_split("same_different", 50, 50, objects=objects, n_holdout=5,
                              noise=0.1, random_state=0)
    same = d.y_train == 1
    assert np.all(d.X_train[same, 0] != d.X_train[same, 1])


@pytest.mark.parametrize("noise", [-0.1, np.nan, np.inf, "0.1", True])
def test_error_bad_noise(objects, noise):
    with pytest.raises(ValueError, match="noise"):
        make_relational_task("same_different", 5, objects, noise=noise)


def test_error_unknown_task(objects):
    with pytest.raises(ValueError, match="unknown task 'odd_one_out'"):
        make_relational_task("odd_one_out", 10, objects)


def test_error_too_few_identities(objects):
    with pytest.raises(ValueError, match="needs at least 5 distinct identities, got 3"):
        make_relational_task("rmts", 10, objects, identities=[0, 1, 2])


def test_error_identities_out_of_range(objects):
    with pytest.raises(ValueError, match="identities must lie in"):
        make_relational_task("same_different", 10, objects, identities=[0, 99])


def test_error_nonfinite_objects(objects):
    bad = objects.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        make_relational_task("same_different", 10, bad)


def test_error_holdout_too_large():
    with pytest.raises(ValueError, match="leaves no identity for training"):
        split_identities(10, 10)


# -- contextual retrieval --------------------------------------------------------

def test_contextual_retrieval_targets_by_brute_force():
    X, y, det = make_contextual_retrieval(20, n_tokens=6, n_searches=2, n_retrievals=3,
                                          random_state=0, return_details=True)
    S, P = 2, 3
    assert X.shape == (20, 6, S + P + S * P) and y.shape == (20, 6)
    for n in range(20):
        for i in range(6):
            expected = 0.0
            for s in range(S):
                others = [j for j in range(6) if j != i]
                j = min(others, key=lambda t: abs(X[n, t, s] - X[n, i, s]))
                onehot = X[n, i, S + P + s * P: S + P + (s + 1) * P]
                r = int(np.argmax(onehot))
                assert onehot.sum() == 1 and det.neighbours[n, i, s] == j
                expected += det.coefficients[s] * X[n, j, S + r]
            assert y[n, i] == pytest.approx(expected)


def test_contextual_retrieval_ood_split_is_disjoint_and_fixed():
    kw = dict(n_tokens=5, n_searches=2, n_retrievals=4)
    _, _, tr = make_contextual_retrieval(400, split="train", random_state=0,
                                         return_details=True, **kw)
    _, _, te = make_contextual_retrieval(400, split="test", random_state=1,
                                         return_details=True, **kw)
    train_t = {tuple(t) for t in tr.retrievals.reshape(-1, 2)}
    test_t = {tuple(t) for t in te.retrievals.reshape(-1, 2)}
    assert len(train_t) == 12 and len(test_t) == 4 and not train_t & test_t
    np.testing.assert_array_equal(tr.coefficients, te.coefficients)
    assert np.all(np.abs(tr.coefficients) >= 0.5)


def test_contextual_retrieval_errors():
    with pytest.raises(ValueError, match="split must be 'all', 'train' or 'test'"):
        make_contextual_retrieval(5, split="ood")
    with pytest.raises(ValueError, match="coefficients must have 2 entries"):
        make_contextual_retrieval(5, coefficients=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="leaves an empty split"):
        make_contextual_retrieval(5, split="train", train_fraction=0.99)
