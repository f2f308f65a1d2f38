"""The early peak of the Fisher trace with a small learning rate, and the Fisher penalty.

Jastrzebski et al. (2021) train with plain SGD and find that the trace of the
Fisher information rises sharply early in training and then falls, that the
peak is higher with a smaller learning rate, which generalises worse, and that
penalising the trace (the Fisher penalty) closes much of that gap; the penalty
also slows memorisation of noisy labels.

Setting: 8x8 digits (2/3 for training), a 64-256-256-10 ReLU MLP, plain SGD
(no momentum), batches of 32, 100 epochs (3800 steps); Tr F measured every 50
steps on 128 fixed training inputs. Runs:

- clean labels: learning rate 0.1 ('large'), 0.01 ('small'), and 0.01 with
  the Fisher penalty (alpha = 1 and 10, every 10 steps, exact Hessian-vector
  products); learning rate 0.003 without and with the penalty (alpha = 1);
- 25% of the training labels replaced by a wrong class: learning rate 0.01
  without and with the penalty (alpha = 1 and 10).

Every run is made in two input units: pixels standardised on the training set
(the estimator's default, ``standardize=True``) and pixels divided by 16, in
[0, 1], fed as given (``standardize=False``). The units change the learning
dynamics a fixed learning rate produces, and with them where the peak falls.

Reported, mean ± std over seeds 0, 1, 2: Tr F at initialisation, its peak,
the step of the peak, Tr F at the end and the end / peak ratio (below 1: the
trace fell after its peak), accuracy on the training labels and on clean test
labels.

Run: python benchmarks/fisher_explosion.py
Results: benchmarks/results/fisher_explosion.{json,md}
"""

import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from graphsig.models import FisherPenaltyClassifier

RESULTS = Path(__file__).parent / "results"
SEEDS = (0, 1, 2)
EPOCHS = 100
RUNS = [
    # name, label noise, learning rate, Fisher penalty
    ("clean, large lr 0.1", 0.0, 0.1, 0.0),
    ("clean, small lr 0.01", 0.0, 0.01, 0.0),
    ("clean, small lr 0.01 + Fisher penalty", 0.0, 0.01, 1.0),
    ("clean, small lr 0.01 + Fisher penalty x10", 0.0, 0.01, 10.0),
    ("clean, smaller lr 0.003", 0.0, 0.003, 0.0),
    ("clean, smaller lr 0.003 + Fisher penalty", 0.0, 0.003, 1.0),
    ("25% noisy labels, small lr 0.01", 0.25, 0.01, 0.0),
    ("25% noisy labels, small lr 0.01 + Fisher penalty", 0.25, 0.01, 1.0),
    ("25% noisy labels, small lr 0.01 + Fisher penalty x10", 0.25, 0.01, 10.0),
]


def data(seed, noise):
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X / 16.0, y, test_size=1 / 3, stratify=y,
                                              random_state=seed)
    rng = np.random.RandomState(seed)
    wrong = rng.rand(len(y_tr)) < noise
    y_tr = y_tr.copy()
    y_tr[wrong] = (y_tr[wrong] + rng.randint(1, 10, wrong.sum())) % 10
    return X_tr, y_tr, X_te, y_te


INPUTS = {"standardised": True, "[0, 1]": False}


def run(name, noise, lr, penalty, seed, standardize=True):
    X_tr, y_tr, X_te, y_te = data(seed, noise)
    start = time.perf_counter()
    clf = FisherPenaltyClassifier(
        (256, 256), fisher_penalty=penalty, standardize=standardize, penalty_interval=10,
        fisher_trace_interval=50,
        fisher_trace_samples=128, solver="sgd", momentum=0.0, learning_rate_init=lr,
        batch_size=32, max_iter=EPOCHS, tol=0.0, n_iter_no_change=10**6, random_state=seed,
    ).fit(X_tr, y_tr)
    trace, steps = clf.fisher_trace_, clf.fisher_trace_steps_
    peak = int(np.argmax(trace))
    return dict(run=name, inputs="standardised" if standardize else "[0, 1]", seed=seed,
                init=float(trace[0]), peak=float(trace[peak]),
                peak_step=int(steps[peak]), final=float(trace[-1]), n_steps=int(steps[-1]),
                train=clf.score(X_tr, y_tr), test=clf.score(X_te, y_te),
                trace=trace.tolist(), steps=steps.tolist(),
                seconds=time.perf_counter() - start)


def fmt(values, digits=3):
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    rows = []
    with threadpool_limits(1):
        for standardize in INPUTS.values():
            for name, noise, lr, penalty in RUNS:
                for seed in SEEDS:
                    rows.append(run(name, noise, lr, penalty, seed, standardize))
                    r = rows[-1]
                    print(json.dumps({k: v for k, v in r.items()
                                      if k not in ("trace", "steps")}), flush=True)
    lines = [f"8x8 digits, 64-256-256-10 ReLU MLP, plain SGD, batch 32, {EPOCHS} epochs; "
             "mean ± std over seeds 0, 1, 2. Inputs: pixels standardised on the training set "
             "(`standardize=True`, the default) or divided by 16 and fed as given "
             "(`standardize=False`).", "",
             "| inputs | run | Tr F at init | peak Tr F | step of peak | final Tr F | "
             "final / peak | train acc | test acc (clean) | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for inputs, name in [(i, n) for i in INPUTS for n, *_ in RUNS]:
        sel = [r for r in rows if r["run"] == name and r["inputs"] == inputs]
        lines.append(
            f"| {inputs} | {name} | {fmt([r['init'] for r in sel], 2)} | {fmt([r['peak'] for r in sel], 1)}"
            f" | {fmt([r['peak_step'] for r in sel], 0)} of {sel[0]['n_steps']} | "
            f"{fmt([r['final'] for r in sel], 1)} | "
            f"{fmt([r['final'] / r['peak'] for r in sel], 2)} | "
            f"{fmt([r['train'] for r in sel])} | {fmt([r['test'] for r in sel])} | "
            f"{np.mean([r['seconds'] for r in sel]):.0f} |")
    steps = np.array(rows[0]["steps"])
    picks = [i for i, s in enumerate(steps) if s in (0, 100, 200, 400, 800, 1200, 1600, 2400,
                                                      3200, steps[-1])]
    lines += ["", "Tr F along training (mean over seeds):", "",
              "| inputs | run | " + " | ".join(f"step {steps[i]}" for i in picks) + " |",
              "|---|---|" + "---|" * len(picks)]
    for inputs, name in [(i, n) for i in INPUTS for n, *_ in RUNS]:
        curve = np.mean([r["trace"] for r in rows if r["run"] == name and r["inputs"] == inputs],
                        axis=0)
        lines.append(f"| {inputs} | {name} | "
                     + " | ".join(f"{curve[i]:.1f}" for i in picks) + " |")
    lines += ["", f"wall time {time.perf_counter() - start:.0f} s "
                  "(`python benchmarks/fisher_explosion.py`)"]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fisher_explosion.json").write_text(json.dumps(rows, indent=1))
    (RESULTS / "fisher_explosion.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
