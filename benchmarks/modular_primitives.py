"""Frozen recurrent modules pre-trained on a family of tasks, reused on a new one.

Six neuroscience-style tasks (``make_neuroscience_task``: delay, anti_delay,
go_nogo, integration, delayed_integration, match; 40 steps, 4 input channels).
For each held-out task, one module (a tanh RNN of 8 units,
``RecurrentPrimitivesClassifier``) is trained on each of the five other tasks
(500 sequences); the held-out task is then learned (200 training sequences)

- by the **primitives** model: the five modules' recurrent matrices frozen on
  the diagonal of a 40-unit network, only the input map and the read-out
  trained;
- by a **full RNN** of 40 units, every weight trained from scratch;

with the same optimiser (Adam, learning rate 1e-2, batches of 50, 100 epochs,
gradient norm clipped at 1). Scores on 1,000 held-out sequences: accuracy,
number of trained parameters, and accuracy with 2, 5 and 10 of the 40 units
silenced (mean over 5 random draws of the units each). Three seeds;
mean ± std. Writes
``results/modular_primitives.md``.

    python benchmarks/modular_primitives.py
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from graphsig.datasets import NEUROSCIENCE_TASKS, make_neuroscience_task
from graphsig.models import RecurrentPrimitivesClassifier

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = (0, 1, 2)
HELD_OUT = ("anti_delay", "delayed_integration", "match")
ABLATED = (2, 5, 10)
TRAIN = dict(learning_rate_init=1e-2, batch_size=50, max_iter=100)


def run(held_out, seed):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    with threadpool_limits(1):
        modules = []
        for i, task in enumerate(t for t in NEUROSCIENCE_TASKS if t != held_out):
            X, y = make_neuroscience_task(task, 500, random_state=100 * seed + i)
            modules.append(RecurrentPrimitivesClassifier(8, random_state=seed, **TRAIN).fit(X, y))
        X, y = make_neuroscience_task(held_out, 200, random_state=100 * seed + 50)
        X_test, y_test = make_neuroscience_task(held_out, 1000, random_state=100 * seed + 51)
        models = {
            "primitives": RecurrentPrimitivesClassifier(primitives=modules, random_state=seed,
                                                        **TRAIN),
            "full RNN": RecurrentPrimitivesClassifier(8 * len(modules), random_state=seed,
                                                      **TRAIN),
        }
        rng = np.random.default_rng(seed)
        draws = {k: [rng.choice(8 * len(modules), k, replace=False) for _ in range(5)]
                 for k in ABLATED}
        out = {}
        for name, model in models.items():
            model.fit(X, y)
            ablated = [np.mean([model.score_ablated(X_test, y_test, units) for units in draws[k]])
                       for k in ABLATED]
            out[name] = (model.score(X_test, y_test), model.n_trainable_params_, *ablated)
        return out


def main():
    t0 = time.perf_counter()
    jobs = [(task, seed) for task in HELD_OUT for seed in SEEDS]
    results = dict(zip(jobs, Parallel(n_jobs=2)(delayed(run)(t, s) for t, s in jobs)))
    lines = ["# Frozen recurrent primitives on a held-out task", "",
             f"Command: `python {' '.join(sys.argv)}`; seeds {list(SEEDS)}; mean ± std. "
             "Five 8-unit modules, each trained on one of the other tasks; 200 training "
             "sequences of the held-out task; 1,000 test sequences.", "",
             "| held-out task | model | trained parameters | accuracy | "
             + " | ".join(f"{k} of 40 units silenced" for k in ABLATED) + " |",
             "|---|---|---|---|" + "---|" * len(ABLATED)]
    for task in HELD_OUT:
        for name in ("primitives", "full RNN"):
            r = np.array([results[task, seed][name] for seed in SEEDS], dtype=float)
            cells = [f"{r[:, c].mean():.3f} ± {r[:, c].std():.3f}"
                     for c in [0] + list(range(2, 2 + len(ABLATED)))]
            lines.append(f"| {task} | {name} | {int(r[0, 1])} | " + " | ".join(cells) + " |")
    lines += ["", f"Total run time {time.perf_counter() - t0:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "modular_primitives.md").write_text(text)


if __name__ == "__main__":
    main()
