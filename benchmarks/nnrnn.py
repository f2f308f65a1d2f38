"""nnRNN against the orthogonal RNN: memory (copy task) and computation over a sequence.

- copy: the copy task at delay 200 (ten symbols from 1..8, 199 blanks, a
  marker, ten blanks; 220 steps), 32 units, modReLU, Adam at 1e-3 with
  gradients clipped to norm 1, one update per fresh batch of 10 sequences,
  3000 updates; held-out loss on 200 sequences relative to the memoryless
  baseline 10 log 8 / 220.
- digits: permuted sequential digits, the 8x8 digits read pixel by pixel in a
  fixed random order (64 steps of one value; a small psMNIST), 32 units,
  modReLU, Adam at 1e-3, batches of 32, 30 epochs on 70% of the images;
  accuracy on the other 30%.

Both recurrences use NonNormalRNNClassifier's defaults otherwise.

Run: python benchmarks/nnrnn.py copy   and   python benchmarks/nnrnn.py digits
(``--n-jobs N`` runs N of the six runs at a time, one thread each)
Results: benchmarks/results/nnrnn_<part>.{json,md}
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from graphsig.datasets import copy_task_baseline, make_copy_task
from graphsig.models import NonNormalRNNClassifier

RESULTS = Path(__file__).parent / "results"
SEEDS = (0, 1, 2)
RECURRENCES = ("nonnormal", "orthogonal")
DELAY, N_UPDATES, BATCH, EVAL_EVERY = 200, 3000, 10, 500


def copy_run(recurrence, seed):
    rng = np.random.RandomState(seed)
    X_eval, y_eval = make_copy_task(200, delay=DELAY, random_state=10_000 + seed)
    clf = NonNormalRNNClassifier(32, recurrence=recurrence, batch_size=BATCH,
                                 random_state=seed)
    baseline = copy_task_baseline(DELAY)
    curve = []
    for update in range(1, N_UPDATES + 1):
        X, y = make_copy_task(BATCH, delay=DELAY, random_state=rng)
        clf.partial_fit(X, y, classes=np.arange(9))
        if update % EVAL_EVERY == 0:
            proba = clf.predict_proba(X_eval)
            loss = -np.mean(np.log(np.take_along_axis(proba, y_eval[..., None], axis=2)
                                   + 1e-300))
            curve.append(float(loss / baseline))
    return dict(curve=curve, final=curve[-1])


def digits_run(recurrence, seed):
    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(1234).permutation(64)
    X = (X / 16.0)[:, order][:, :, None]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y,
                                              random_state=seed)
    clf = NonNormalRNNClassifier(32, recurrence=recurrence, batch_size=32, max_iter=30,
                                 tol=0.0, n_iter_no_change=10**6, random_state=seed)
    clf.fit(X_tr, y_tr)
    return dict(train=clf.score(X_tr, y_tr), test=clf.score(X_te, y_te))


def one_run(part, recurrence, seed):
    warnings.simplefilter("ignore", ConvergenceWarning)
    t0 = time.perf_counter()
    with threadpool_limits(1):
        r = (copy_run if part == "copy" else digits_run)(recurrence, seed)
    r.update(recurrence=recurrence, seed=seed, seconds=time.perf_counter() - t0)
    return r


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["copy", "digits"])
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args()
    part = args.part
    start = time.perf_counter()
    jobs = [(rec, seed) for rec in RECURRENCES for seed in SEEDS]
    rows = Parallel(n_jobs=args.n_jobs)(delayed(one_run)(part, rec, seed) for rec, seed in jobs)
    for r in rows:
        print(json.dumps(r), flush=True)

    def fmt(values):
        values = np.asarray(values)
        return f"{values.mean():.3f} ± {values.std():.3f}"

    if part == "copy":
        lines = [f"copy task, delay {DELAY}, 32 units: held-out loss / memoryless baseline, "
                 "mean ± std over seeds 0, 1, 2", "",
                 "| recurrence | " + " | ".join(f"{u} updates" for u in
                                                range(EVAL_EVERY, N_UPDATES + 1, EVAL_EVERY))
                 + " | seconds per run |",
                 "|---|" + "---|" * (N_UPDATES // EVAL_EVERY + 1)]
        for rec in RECURRENCES:
            sel = [r for r in rows if r["recurrence"] == rec]
            curves = np.array([r["curve"] for r in sel])
            lines.append(f"| {rec} | " + " | ".join(fmt(c) for c in curves.T)
                         + f" | {np.mean([r['seconds'] for r in sel]):.0f} |")
    else:
        lines = ["permuted sequential digits (64 steps), 32 units, 30 epochs: accuracy, "
                 "mean ± std over seeds 0, 1, 2", "",
                 "| recurrence | train | test | seconds per run |", "|---|---|---|---|"]
        for rec in RECURRENCES:
            sel = [r for r in rows if r["recurrence"] == rec]
            lines.append(f"| {rec} | {fmt([r['train'] for r in sel])} | "
                         f"{fmt([r['test'] for r in sel])} | "
                         f"{np.mean([r['seconds'] for r in sel]):.0f} |")
    lines += ["", f"wall time {time.perf_counter() - start:.0f} s "
                  f"(`python benchmarks/nnrnn.py {part} --n-jobs {args.n_jobs}`)"]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"nnrnn_{part}.json").write_text(json.dumps(rows, indent=1))
    (RESULTS / f"nnrnn_{part}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
