"""The copy task with a delay of 100 steps: nnRNN against orthogonal and vanilla RNNs.

Ten symbols from 1..8 are shown, followed by 99 blanks, a marker and ten more
blanks; the network must output blanks and then reproduce the ten symbols
(120 steps). A network without memory can do no better than the baseline
cross-entropy 10 log(8) / 120 = 0.173 per step. Each network is trained on
fresh batches (one optimiser step per batch) for 3000 updates, and its loss
on 200 held-out sequences is measured every 100 updates.

Reported over 3 seeds (mean +- std): the held-out loss after 3000 updates
(relative to the baseline), and the number of updates after which the
held-out loss first falls below 1/10 of the baseline (runs that never do are
counted as not reaching it).

Run: python examples/nnrnn_copy_task.py   (uses 2 processes)
"""

import time

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from graphsig.datasets import copy_task_baseline, make_copy_task
from graphsig.models import NonNormalRNNClassifier

DELAY = 100
N_UPDATES = 3000
EVAL_EVERY = 100
BATCH = 10
SEEDS = (0, 1, 2)
MODELS = {
    "nnRNN (modReLU)": dict(recurrence="nonnormal", activation="modrelu"),
    "orthogonal RNN (modReLU)": dict(recurrence="orthogonal", activation="modrelu"),
    "vanilla RNN (tanh)": dict(recurrence="vanilla", activation="tanh"),
}
COMMON = dict(n_hidden=64, batch_size=BATCH, learning_rate_init=1e-3, max_grad_norm=1.0)


def held_out_loss(clf, X, y):
    proba = clf.predict_proba(X)
    return float(-np.mean(np.log(np.take_along_axis(proba, y[..., None], axis=2) + 1e-300)))


def run(name, seed):
    with threadpool_limits(1):
        rng = np.random.RandomState(seed)
        X_eval, y_eval = make_copy_task(200, delay=DELAY, random_state=10_000 + seed)
        clf = NonNormalRNNClassifier(random_state=seed, **MODELS[name], **COMMON)
        curve = []
        start = time.perf_counter()
        for update in range(1, N_UPDATES + 1):
            X, y = make_copy_task(BATCH, delay=DELAY, random_state=rng)
            clf.partial_fit(X, y, classes=np.arange(9))
            if update % EVAL_EVERY == 0:
                curve.append((update, held_out_loss(clf, X_eval, y_eval)))
        return name, seed, np.array(curve), time.perf_counter() - start


def main():
    start = time.perf_counter()
    baseline = copy_task_baseline(DELAY)
    jobs = [(name, seed) for name in MODELS for seed in SEEDS]
    out = Parallel(n_jobs=2)(delayed(run)(name, seed) for name, seed in jobs)
    print(f"Copy task, delay T={DELAY}: baseline 10 log 8 / (T + 20) = {baseline:.4f}; "
          f"target loss < {baseline / 10:.4f}")
    print(f"{'model':26s} {'loss/baseline @3000':>22s} {'updates to baseline/10':>24s} "
          f"{'runs reaching it':>17s}")
    for name in MODELS:
        rows = [o for o in out if o[0] == name]
        final = np.array([c[-1, 1] / baseline for _, _, c, _ in rows])
        reach = []
        for _, _, c, _ in rows:
            hit = np.nonzero(c[:, 1] < baseline / 10)[0]
            reach.append(c[hit[0], 0] if len(hit) else np.nan)
        reach = np.array(reach)
        ok = np.isfinite(reach)
        reach_txt = f"{reach[ok].mean():.0f} +- {reach[ok].std():.0f}" if ok.any() else "never"
        print(f"{name:26s} {final.mean():12.4f} +- {final.std():.4f} {reach_txt:>24s} "
              f"{ok.sum():>13d} / {len(rows)}")
    print("\nheld-out loss / baseline along training (mean over seeds):")
    updates = out[0][2][:, 0].astype(int)
    keep = [i for i, u in enumerate(updates) if u in (100, 300, 500, 1000, 1500, 2000, 3000)]
    print(f"{'updates':26s}" + "".join(f"{updates[i]:>9d}" for i in keep))
    for name in MODELS:
        curves = np.array([o[2][:, 1] for o in out if o[0] == name]) / baseline
        print(f"{name:26s}" + "".join(f"{curves[:, i].mean():9.5f}" for i in keep))
    per_run = np.mean([o[3] for o in out])
    print(f"\nmean time per run {per_run:.0f} s; wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
