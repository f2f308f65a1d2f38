"""Task generators: shifted moons, coloured digits, the copy task."""

import numpy as np
import pytest

from graphsig.datasets import (
    copy_task_baseline,
    make_colored_digits,
    make_copy_task,
    make_shifted_moons,
)


@pytest.mark.parametrize("margin", [0.1, 0.3])
def test_shifted_moons_are_separated_by_the_first_feature(margin):
    X, y = make_shifted_moons(300, margin=margin, random_state=0)
    assert X.shape == (300, 2) and set(np.unique(y)) == {0, 1}
    assert X[y == 0, 0].min() >= margin - 1e-12
    assert X[y == 1, 0].max() <= -margin + 1e-12
    # the second feature alone does not separate them
    assert X[y == 0, 1].max() > X[y == 1, 1].min()


def test_negative_margin_overlaps():
    X, y = make_shifted_moons(1000, margin=-0.1, random_state=0)
    assert X[y == 0, 0].min() < X[y == 1, 0].max()
    overlap = np.mean((X[:, 0] > 0) != (y == 0))
    assert 0 < overlap < 0.2


def test_shifted_moons_deterministic():
    a = make_shifted_moons(50, random_state=3)
    b = make_shifted_moons(50, random_state=3)
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_samples=1), "n_samples must be an integer"),
    (dict(margin=np.nan), "margin must be a finite number"),
    (dict(noise=-1.0), "noise must be a nonnegative number"),
])
def test_shifted_moons_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_shifted_moons(**kwargs)


def test_colored_digits_construction():
    d = make_colored_digits(random_state=0)
    n_train, n_test = len(d.y_train), len(d.y_test)
    assert n_train + n_test == 1797 and d.X_train.shape == (n_train, 128)
    for X, color in ((d.X_train, d.color_train), (d.X_test, d.color_test)):
        # exactly one channel is lit: the colour's
        lit = np.stack([X[:, :64].sum(axis=1) > 0, X[:, 64:].sum(axis=1) > 0], axis=1)
        np.testing.assert_array_equal(lit.argmax(axis=1), color)
        assert np.all(lit.sum(axis=1) == 1)
    clean = (np.concatenate([d.digit_train, d.digit_test]) < 5)
    noisy = np.concatenate([d.y_train, d.y_test])
    assert abs(np.mean(clean != noisy) - 0.25) < 0.04
    for env, agree in ((0, 0.9), (1, 0.8)):
        mask = d.environment_train == env
        assert abs(np.mean(d.color_train[mask] == d.y_train[mask]) - agree) < 0.05
    assert abs(np.mean(d.color_test == d.y_test) - 0.1) < 0.04


def test_colored_digits_deterministic():
    a = make_colored_digits(random_state=1)
    b = make_colored_digits(random_state=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)


@pytest.mark.parametrize("kwargs, match", [
    (dict(label_noise=1.5), "label_noise must be a probability"),
    (dict(train_color_noise=(0.1, -0.2)), "train_color_noise must be a probability"),
    (dict(test_fraction=1.0), "test_fraction must lie in"),
])
def test_colored_digits_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_colored_digits(**kwargs)


def test_copy_task_structure():
    X, y = make_copy_task(5, delay=7, n_symbols=4, n_memorize=3, random_state=0)
    assert X.shape == (5, 13, 6) and y.shape == (5, 13)
    np.testing.assert_array_equal(X.sum(axis=2), 1)  # one-hot
    tokens = X.argmax(axis=2)
    symbols = tokens[:, :3]
    assert symbols.min() >= 1 and symbols.max() <= 4
    np.testing.assert_array_equal(tokens[:, 3:9], 0)  # delay - 1 blanks
    np.testing.assert_array_equal(tokens[:, 9], 5)  # the marker
    np.testing.assert_array_equal(tokens[:, 10:], 0)
    np.testing.assert_array_equal(y[:, :10], 0)
    np.testing.assert_array_equal(y[:, 10:], symbols)


def test_copy_task_baseline_is_the_memoryless_loss():
    # blank until the marker, then uniform over the symbols
    delay, n_symbols, n_mem = 10, 8, 10
    X, y = make_copy_task(50, delay=delay, random_state=0)
    p = np.zeros(y.shape + (n_symbols + 1,))
    p[:, : delay + n_mem, 0] = 1.0
    p[:, delay + n_mem :, 1:] = 1.0 / n_symbols
    loss = -np.mean(np.log(np.take_along_axis(p, y[..., None], axis=2)))
    assert loss == pytest.approx(copy_task_baseline(delay, n_symbols=n_symbols,
                                                    n_memorize=n_mem))


@pytest.mark.parametrize("kwargs, match", [
    (dict(delay=0), "delay must be an integer"),
    (dict(n_symbols=0), "n_symbols must be an integer"),
    (dict(n_memorize=2.5), "n_memorize must be an integer"),
])
def test_copy_task_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_copy_task(3, **kwargs)
