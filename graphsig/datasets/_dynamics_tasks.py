"""Task generators for the learning-dynamics models.

- :func:`make_shifted_moons`: two moons arranged so that one feature separates
  the classes with a chosen margin (Gradient Starvation).
- :func:`make_colored_digits`: scikit-learn's 8x8 digits with the Colored-MNIST
  construction (a colour channel that is spuriously correlated with the label).
- :func:`make_copy_task`: the copy task of recurrent-network memory benchmarks.
"""

import numbers

import numpy as np
from sklearn.datasets import load_digits, make_moons
from sklearn.utils import Bunch, check_random_state

__all__ = ["make_shifted_moons", "make_colored_digits", "make_copy_task", "copy_task_baseline"]


def _check_int(value, name, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_probability(value, name):
    if not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def make_shifted_moons(n_samples=300, *, margin=0.1, noise=0.1, random_state=None):
    """Two moons on which the first feature alone separates the classes with a margin.

    The two interleaving half circles of :func:`sklearn.datasets.make_moons`
    are moved apart vertically, centred, folded about the horizontal axis so
    that class 0 lies above it and class 1 below, and each class is then
    pushed ``margin`` away from the axis. The axes are swapped at the end, so
    that the *first* feature separates the classes linearly, with a gap of
    ``2 * margin`` when ``margin > 0``, while the second feature carries the
    curved shape of the moons. With a negative ``margin`` the classes overlap
    by ``-2 * margin`` along the first feature and no single feature separates
    them: training on ``margin=0.1`` and testing on ``margin=-0.1`` measures
    whether a classifier used the second feature too (Gradient Starvation,
    Pezeshki et al., 2021).

    Parameters
    ----------
    n_samples : int, default=300
        Total number of points (split evenly between the classes).
    margin : float, default=0.1
        Distance of each class from the separating line along feature 0.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise of the moons.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,) of int
        0 (above the line along feature 0) or 1.

    Examples
    --------
    >>> from graphsig.datasets import make_shifted_moons
    >>> X, y = make_shifted_moons(200, margin=0.1, random_state=0)
    >>> bool(X[y == 0, 0].min() >= 0.1 and X[y == 1, 0].max() <= -0.1)
    True
    """
    n_samples = _check_int(n_samples, "n_samples", 2)
    if not isinstance(margin, numbers.Real) or not np.isfinite(margin):
        raise ValueError(f"margin must be a finite number, got {margin!r}")
    if not isinstance(noise, numbers.Real) or noise < 0:
        raise ValueError(f"noise must be a nonnegative number, got {noise!r}")
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=random_state)
    sign = 1.0 - 2.0 * y  # +1 for class 0 (upper moon), -1 for class 1
    horizontal = X[:, 0] - 0.5
    vertical = X[:, 1] + 0.3 * sign
    vertical -= vertical.mean()
    separating = sign * (np.abs(vertical) + margin)
    return np.column_stack([separating, horizontal]), y.astype(np.intp)


def make_colored_digits(*, label_noise=0.25, train_color_noise=(0.1, 0.2),
                        test_color_noise=0.9, test_fraction=1 / 3, random_state=None):
    """scikit-learn's 8x8 digits with the Colored-MNIST construction.

    Each image gets a binary label ``digit < 5``, flipped with probability
    ``label_noise``; a colour equal to the label, flipped with probability
    ``e`` of its environment; and is written into the colour's channel of a
    two-channel image (the other channel is zero). The colour is a shortcut:
    in the training environments it agrees with the label more often (90%
    and 80% by default) than the shape does (75%), and at test time it agrees
    only 10% of the time (Arjovsky et al., 2019, as used by Pezeshki et al.,
    2021).

    The digits are shuffled and split into a test part (``test_fraction``) and
    a training part, which is cut into one environment per entry of
    ``train_color_noise``.

    Parameters
    ----------
    label_noise : float, default=0.25
    train_color_noise : sequence of float, default=(0.1, 0.2)
        Colour-flip probability ``e`` of each training environment.
    test_color_noise : float, default=0.9
    test_fraction : float, default=1/3
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` (n_train, 128) and ``X_test`` (n_test, 128): pixel values
        in [0, 1], channel 0 in the first 64 columns and channel 1 in the next
        64 (each channel an 8x8 image in row-major order); ``y_train``,
        ``y_test`` the noisy binary labels; ``environment_train`` the index of
        each training sample's environment; ``digit_train``, ``digit_test``
        the original digits; ``color_train``, ``color_test`` the colours.

    Examples
    --------
    >>> from graphsig.datasets import make_colored_digits
    >>> d = make_colored_digits(random_state=0)
    >>> d.X_train.shape[1], sorted(set(d.environment_train.tolist()))
    (128, [0, 1])
    """
    label_noise = _check_probability(label_noise, "label_noise")
    test_color_noise = _check_probability(test_color_noise, "test_color_noise")
    train_color_noise = [_check_probability(e, "train_color_noise") for e in
                         np.atleast_1d(train_color_noise).tolist()]
    if not len(train_color_noise):
        raise ValueError("train_color_noise needs at least one environment")
    if not isinstance(test_fraction, numbers.Real) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    rng = check_random_state(random_state)
    digits = load_digits()
    images = digits.data / 16.0
    order = rng.permutation(len(images))
    images, digit = images[order], digits.target[order]
    n_test = int(round(test_fraction * len(images)))
    n_train = len(images) - n_test
    env = np.full(len(images), -1)
    bounds = np.linspace(0, n_train, len(train_color_noise) + 1).astype(int)
    flip_color = np.empty(len(images), dtype=bool)
    for k, e in enumerate(train_color_noise):
        sl = slice(bounds[k], bounds[k + 1])
        env[sl] = k
        flip_color[sl] = rng.random_sample(bounds[k + 1] - bounds[k]) < e
    flip_color[n_train:] = rng.random_sample(n_test) < test_color_noise
    label = (digit < 5).astype(np.intp)
    label ^= (rng.random_sample(len(label)) < label_noise)
    color = label ^ flip_color
    X = np.zeros((len(images), 128))
    X[color == 0, :64] = images[color == 0]
    X[color == 1, 64:] = images[color == 1]
    tr, te = slice(0, n_train), slice(n_train, None)
    return Bunch(
        X_train=X[tr], y_train=label[tr], environment_train=env[tr], digit_train=digit[tr],
        color_train=color[tr], X_test=X[te], y_test=label[te], digit_test=digit[te],
        color_test=color[te],
    )


def make_copy_task(n_samples=100, *, delay=100, n_symbols=8, n_memorize=10, random_state=None):
    """The copy task: remember a sequence of symbols across a delay, then reproduce it.

    Each input sequence shows ``n_memorize`` symbols drawn uniformly from
    ``1..n_symbols``, then ``delay - 1`` blanks, a marker, and ``n_memorize``
    more blanks; its length is ``delay + 2 * n_memorize``. The target is blank
    (0) everywhere except in the last ``n_memorize`` steps, where it is the
    memorised sequence. A model without memory can do no better than a
    cross-entropy of ``n_memorize * log(n_symbols) / (delay + 2 * n_memorize)``
    per step (:func:`copy_task_baseline`).

    Parameters
    ----------
    n_samples : int, default=100
    delay : int, default=100
        Steps between the end of the sequence and the marker, plus one.
    n_symbols : int, default=8
    n_memorize : int, default=10
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, delay + 2 * n_memorize, n_symbols + 2)
        One-hot inputs: column 0 blank, columns ``1..n_symbols`` the symbols,
        the last column the marker.
    y : ndarray of shape (n_samples, delay + 2 * n_memorize) of int
        Targets in ``0..n_symbols`` (0 is blank).

    Examples
    --------
    >>> from graphsig.datasets import make_copy_task
    >>> X, y = make_copy_task(4, delay=5, random_state=0)
    >>> X.shape, y.shape
    ((4, 25, 10), (4, 25))
    >>> bool((y[:, -10:] == X[:, :10].argmax(axis=2)).all())
    True
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    delay = _check_int(delay, "delay", 1)
    n_symbols = _check_int(n_symbols, "n_symbols", 1)
    n_memorize = _check_int(n_memorize, "n_memorize", 1)
    rng = check_random_state(random_state)
    length = delay + 2 * n_memorize
    symbols = rng.randint(1, n_symbols + 1, size=(n_samples, n_memorize))
    tokens = np.zeros((n_samples, length), dtype=np.intp)
    tokens[:, :n_memorize] = symbols
    tokens[:, n_memorize + delay - 1] = n_symbols + 1  # the marker
    X = np.zeros((n_samples, length, n_symbols + 2))
    np.put_along_axis(X, tokens[..., None], 1.0, axis=2)
    y = np.zeros((n_samples, length), dtype=np.intp)
    y[:, -n_memorize:] = symbols
    return X, y


def copy_task_baseline(delay=100, *, n_symbols=8, n_memorize=10):
    """Cross-entropy per step of the best memoryless strategy on the copy task.

    It predicts blank until the marker and then a uniform guess:
    ``n_memorize * log(n_symbols) / (delay + 2 * n_memorize)``.

    Examples
    --------
    >>> from graphsig.datasets import copy_task_baseline
    >>> round(copy_task_baseline(100), 4)
    0.1733
    """
    return float(n_memorize * np.log(n_symbols) / (delay + 2 * n_memorize))
