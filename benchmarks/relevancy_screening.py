"""Relevancy screening against a plain RNN and a full-memory attentive RNN over long lags.

Three networks with 32 tanh units (``RelevancyScreeningRNNClassifier``),
trained with Adam (learning rate 1e-2, gradient norm clipped at 1):

- ``none``: a plain RNN (orthogonal recurrent initialisation);
- ``relevancy``: attention over a buffer of the last 5 states and a memory of
  the 10 most relevant older ones (at most 15 states attended per step);
- ``full``: attention over every past state (up to 219 per step).

``python benchmarks/relevancy_screening.py`` (``results/relevancy_screening.md``):

1. gradient propagation at initialisation on copy-task sequences of 220
   steps (``make_copy_task(delay=200)``; ``graphsig.dynamics.gradient_propagation``):
   the norm of ``dL/dh_t`` for the loss on the 10 output steps, at the last
   input symbol (lag 210 from the end) relative to the last step;
2. recall over a lag of 219 steps: one of 8 symbols at step 0, then 219
   random distractor symbols (8 other one-hot channels); the label is the
   first symbol, predicted from the last state (chance 0.125). 100 updates
   on fresh batches of 20; accuracy on 200 held-out sequences;
3. the largest number of past states attended at one step (the memory cost).

``python benchmarks/relevancy_screening.py copy [n_updates]``
(``results/relevancy_copy_task.md``): the copy task itself (delay 200), 400
updates (default) on fresh batches of 10, held-out cross-entropy per step
relative to the memoryless baseline ``10 log 8 / 220`` and accuracy on the
10 output steps.

Three seeds each (mean ± std), in 2 processes.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from graphsig.datasets import copy_task_baseline, make_copy_task
from graphsig.dynamics import gradient_propagation
from graphsig.models import RelevancyScreeningRNNClassifier

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = (0, 1, 2)
DELAY, N_MEMORIZE, BATCH = 200, 10, 10
MODELS = ("none", "relevancy", "full")


def held_out(clf, X, y):
    proba = clf.predict_proba(X)
    p = np.take_along_axis(proba, np.searchsorted(clf.classes_, y)[..., None], axis=-1)
    loss = float(-np.log(np.maximum(p, 1e-300)).mean())
    acc = float((clf.predict(X)[:, -N_MEMORIZE:] == y[:, -N_MEMORIZE:]).mean())
    return loss, acc


def recall_task(n, rng, n_steps=220):
    X = np.zeros((n, n_steps, 16))
    y = rng.integers(0, 8, n)
    X[np.arange(n), 0, y] = 1
    X[np.arange(n)[:, None], np.arange(1, n_steps)[None],
      8 + rng.integers(0, 8, (n, n_steps - 1))] = 1
    return X, y


def _model(attention, seed, batch):
    return RelevancyScreeningRNNClassifier(32, attention=attention, buffer_size=5,
                                           memory_size=10, batch_size=batch,
                                           learning_rate_init=1e-2, random_state=seed)


def run_recall(attention, seed, n_updates=100):
    # gradient propagation at initialisation, on copy-task sequences
    X, y = make_copy_task(20, delay=DELAY, random_state=1000 + seed)
    clf = _model(attention, seed, 2)
    clf.partial_fit(X[:2], y[:2], classes=np.arange(9))  # one step on 2 sequences
    n_steps = X.shape[1]
    norms = gradient_propagation(clf, X, y, steps=np.arange(n_steps - N_MEMORIZE, n_steps))
    ratio = norms[N_MEMORIZE - 1] / norms[-1]
    cost = max(clf.network_.attended_states(t) for t in range(n_steps))
    # recall of the first of 220 symbols
    rng = np.random.default_rng(seed)
    X_test, y_test = recall_task(200, np.random.default_rng(1000 + seed))
    clf = _model(attention, seed, 20)
    for u in range(n_updates):
        X, y = recall_task(20, rng)
        clf.partial_fit(X, y, classes=np.arange(8) if u == 0 else None)
    return ratio, clf.score(X_test, y_test), cost


def run_copy(attention, seed, n_updates):
    X_test, y_test = make_copy_task(100, delay=DELAY, random_state=1000 + seed)
    clf = _model(attention, seed, BATCH)
    rng = np.random.default_rng(seed)
    for u in range(n_updates):
        X, y = make_copy_task(BATCH, delay=DELAY, random_state=rng.integers(2**31))
        clf.partial_fit(X, y, classes=np.arange(9) if u == 0 else None)
    loss, acc = held_out(clf, X_test, y_test)
    return loss / copy_task_baseline(DELAY, n_memorize=N_MEMORIZE), acc


def timed_run(func, *args):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    with threadpool_limits(1):
        t = time.perf_counter()
        row = func(*args)
        return row, time.perf_counter() - t


def main():
    copy = len(sys.argv) > 1 and sys.argv[1] == "copy"
    n_updates = int(sys.argv[2]) if copy and len(sys.argv) > 2 else 400
    t0 = time.perf_counter()
    jobs = [(attention, seed) for attention in MODELS for seed in SEEDS]
    if copy:
        func, args = run_copy, (n_updates,)
    else:
        func, args = run_recall, ()
    done = Parallel(n_jobs=2)(delayed(timed_run)(func, a, s, *args) for a, s in jobs)
    results = dict(zip(jobs, done))
    head = f"Command: `python {' '.join(sys.argv)}`; seeds {list(SEEDS)}; mean ± std."
    if copy:
        lines = ["# Relevancy screening on the copy task (delay 200, 220 steps)", "",
                 f"{head} {n_updates} updates of batches of {BATCH}.", "",
                 "| attention | held-out loss / baseline | accuracy on the 10 output steps | "
                 "seconds per run |", "|---|---|---|---|"]
    else:
        lines = ["# Relevancy screening: gradients and recall over 200+ steps", "", head, "",
                 "| attention | grad norm at lag 210 / at the last step (init, copy task) | "
                 "recall of the first of 220 symbols after 100 updates | most states attended "
                 "per step | seconds per run |", "|---|---|---|---|---|"]
    for attention in MODELS:
        r = np.array([results[attention, seed][0] for seed in SEEDS], dtype=float)
        sec = np.mean([results[attention, seed][1] for seed in SEEDS])
        if copy:
            lines.append(f"| {attention} | {r[:, 0].mean():.3f} ± {r[:, 0].std():.3f} | "
                         f"{r[:, 1].mean():.3f} ± {r[:, 1].std():.3f} | {sec:.0f} |")
        else:
            lines.append(f"| {attention} | {r[:, 0].mean():.2e} ± {r[:, 0].std():.2e} | "
                         f"{r[:, 1].mean():.3f} ± {r[:, 1].std():.3f} | {int(r[0, 2])} | "
                         f"{sec:.0f} |")
    lines += ["", f"Total run time {time.perf_counter() - t0:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    name = "relevancy_copy_task.md" if copy else "relevancy_screening.md"
    (RESULTS / name).write_text(text)


if __name__ == "__main__":
    main()
