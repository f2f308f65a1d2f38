"""Neuroscience-style tasks for recurrent networks: delays, go/no-go, evidence integration.

Every task shares one input layout, so that networks trained on some tasks
can be reused on others: each step has 4 channels, ``[fixation, stimulus A,
stimulus B, go cue]``. Fixation is 1 until the go cue, which is on during the
last 5 steps; the label is read from the network's state at the last step.
Gaussian noise of standard deviation ``noise`` is added to every channel.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["NEUROSCIENCE_TASKS", "make_neuroscience_task"]

#: task name -> one-line description
NEUROSCIENCE_TASKS = {
    "delay": "stimulus A or B briefly, a delay, then report which (0: A, 1: B)",
    "anti_delay": "as 'delay', but report the other one",
    "go_nogo": "stimulus A at high (go, 1) or low (no-go, 0) amplitude, then a delay",
    "integration": "A and B noisy throughout; report which has the larger mean",
    "delayed_integration": "as 'integration' for the first third, then a delay",
    "match": "two stimuli separated by a delay; report whether they are the same (1)",
}

_N_CHANNELS = 4
_GO = 5


def make_neuroscience_task(task, n_samples=100, *, n_timesteps=40, noise=0.1,
                           random_state=None):
    """Sequences and labels of one neuroscience-style task.

    Parameters
    ----------
    task : str
        A key of :data:`NEUROSCIENCE_TASKS`: 'delay', 'anti_delay', 'go_nogo',
        'integration', 'delayed_integration' or 'match'.
    n_samples : int, default=100
    n_timesteps : int, default=40
        Sequence length, at least 30 (stimuli at steps 5-9 and, for 'match',
        15-19; the go cue in the last 5 steps).
    noise : float, default=0.1
        Standard deviation of the Gaussian noise on every input.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, 4)
        Channels: fixation, stimulus A, stimulus B, go cue.
    y : ndarray of shape (n_samples,) of int
        Labels 0 or 1, balanced in expectation.

    Examples
    --------
    >>> from graphsig.datasets import make_neuroscience_task
    >>> X, y = make_neuroscience_task("delay", 4, random_state=0, noise=0.0)
    >>> X.shape, y.shape
    ((4, 40, 4), (4,))
    >>> bool((X[:, 5, 1:3].argmax(axis=1) == y).all())   # the stimulus gives the label
    True
    """
    if task not in NEUROSCIENCE_TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {sorted(NEUROSCIENCE_TASKS)}")
    for name, value, low in (("n_samples", n_samples, 1), ("n_timesteps", n_timesteps, 30)):
        if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
                or value < low):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if (isinstance(noise, (bool, np.bool_)) or not isinstance(noise, numbers.Real)
            or not np.isfinite(noise) or noise < 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = check_random_state(random_state)
    n, T = int(n_samples), int(n_timesteps)
    X = np.zeros((n, T, _N_CHANNELS))
    X[:, : T - _GO, 0] = 1.0
    X[:, T - _GO:, 3] = 1.0
    y = rng.randint(0, 2, n)
    rows = np.arange(n)
    stim = slice(5, 10)
    if task in ("delay", "anti_delay"):
        X[y == 0, stim, 1] = 1.0
        X[y == 1, stim, 2] = 1.0
        if task == "anti_delay":
            y = 1 - y
    elif task == "go_nogo":
        X[:, stim, 1] = np.where(y == 1, 1.0, 0.5)[:, None]
    elif task in ("integration", "delayed_integration"):
        end = T - _GO if task == "integration" else 5 + (T - _GO - 5) // 3
        strength = rng.uniform(0.05, 0.3, n) * np.where(y == 1, 1.0, -1.0)
        evidence = rng.normal(scale=0.5, size=(n, end - 5))
        X[:, 5:end, 1] = 0.5 + strength[:, None] + evidence
        X[:, 5:end, 2] = 0.5 - strength[:, None] - evidence
        y = ((X[:, 5:end, 1] - X[:, 5:end, 2]).mean(axis=1) > 0).astype(int)
    else:  # match
        first = rng.randint(0, 2, n)
        second = np.where(y == 1, first, 1 - first)
        X[rows[:, None], np.arange(5, 10)[None], 1 + first[:, None]] = 1.0
        X[rows[:, None], np.arange(15, 20)[None], 1 + second[:, None]] = 1.0
    if noise:
        X += rng.normal(scale=noise, size=X.shape)
    return X, y.astype(np.intp)
