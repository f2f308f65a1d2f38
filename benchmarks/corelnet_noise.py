"""CoRelNet on relational tasks whose objects are noisy views of their identities.

Every object of every sample gets independent Gaussian noise, so that two
occurrences of one identity are close but never bit-identical. Training uses
a few identities, testing only the others (out of distribution):

- same/different: trained on 5 of 100 identities, tested on the other 95;
- relational match-to-sample (RMTS) and identity rules: 50 of 100 held out.

Two context norms are compared at otherwise default settings of
CoRelNetClassifier: the default (``context_norm_floor=0.1``, the variance
floor relative to the mean square of the encodings) and the paper's
(``context_norm_floor=0``). The grid part varies the noise level and the
object dimension on same/different (one seed each), beside a reference that
knows the task: the best threshold on ``||x_1 - x_2||``, fitted on the
training pairs.

Usage::

    python benchmarks/corelnet_noise.py main   # 3 seeds, the three tasks
    python benchmarks/corelnet_noise.py grid   # noise x dimension, 1 seed

Results go to benchmarks/results/corelnet_noise_<part>.json and .md.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from graphsig.datasets import make_relational_split
from graphsig.models import CoRelNetClassifier

RESULTS = Path(__file__).parent / "results"
TASKS = [
    # task, held-out identities, training samples
    ("same_different", 95, 2000),
    ("rmts", 50, 3000),
    ("identity_rules", 50, 3000),
]
NOISE = 0.05
N_FEATURES = 16


def threshold_reference(d):
    """Accuracy of the best threshold on ||x_1 - x_2|| (same/different only)."""
    dist_tr = np.linalg.norm(d.X_train[:, 0] - d.X_train[:, 1], axis=1)
    dist_te = np.linalg.norm(d.X_test[:, 0] - d.X_test[:, 1], axis=1)
    cuts = np.sort(dist_tr)
    acc = [np.mean((dist_tr <= c) == (d.y_train == 1)) for c in cuts]
    cut = cuts[int(np.argmax(acc))]
    return float(np.mean((dist_te <= cut) == (d.y_test == 1)))


def run(task, n_holdout, n_train, seed, noise, n_features, floor):
    d = make_relational_split(task, n_train, 2000, n_identities=100, n_features=n_features,
                              n_holdout=n_holdout, noise=noise, random_state=seed)
    start = time.perf_counter()
    clf = CoRelNetClassifier(context_norm_floor=floor, random_state=seed)
    clf.fit(d.X_train, d.y_train)
    return dict(task=task, seed=seed, noise=noise, n_features=n_features, floor=floor,
                train=clf.score(d.X_train, d.y_train), ood=clf.score(d.X_test, d.y_test),
                epochs=clf.n_iter_, seconds=time.perf_counter() - start,
                reference=threshold_reference(d) if task == "same_different" else None)


def fmt(values):
    values = np.asarray(values)
    return f"{values.mean():.3f} ± {values.std():.3f}"


def main_part():
    rows = []
    lines = [f"noise {NOISE} on {N_FEATURES}-d objects, out-of-distribution accuracy, "
             "mean ± std over seeds 0, 1, 2", "",
             "| task | held-out identities | floor 0.1 (default) | floor 0 (paper) | "
             "threshold reference | seconds per run |",
             "|---|---|---|---|---|---|"]
    for task, n_holdout, n_train in TASKS:
        for floor in (0.1, 0.0):
            for seed in (0, 1, 2):
                r = run(task, n_holdout, n_train, seed, NOISE, N_FEATURES, floor)
                rows.append(r)
                print(json.dumps(r), flush=True)
        new = [r for r in rows if r["task"] == task and r["floor"] == 0.1]
        old = [r for r in rows if r["task"] == task and r["floor"] == 0.0]
        ref = fmt([r["reference"] for r in new]) if task == "same_different" else "-"
        lines.append(f"| {task} | {n_holdout} | {fmt([r['ood'] for r in new])} | "
                     f"{fmt([r['ood'] for r in old])} | {ref} | "
                     f"{np.mean([r['seconds'] for r in new + old]):.0f} |")
    return rows, lines


def grid_part():
    rows = []
    lines = ["same/different, trained on 5 identities, tested on 95, default settings, "
             "seed 0: out-of-distribution accuracy (threshold reference in brackets)", "",
             "| object dimension | noise 0 | noise 0.01 | noise 0.05 | noise 0.1 | noise 0.2 |",
             "|---|---|---|---|---|---|"]
    for n_features in (4, 16, 64):
        cells = []
        for noise in (0.0, 0.01, 0.05, 0.1, 0.2):
            r = run("same_different", 95, 2000, 0, noise, n_features, 0.1)
            rows.append(r)
            print(json.dumps(r), flush=True)
            cells.append(f"{r['ood']:.3f} ({r['reference']:.3f})")
        lines.append(f"| {n_features} | " + " | ".join(cells) + " |")
    return rows, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["main", "grid"])
    part = parser.parse_args().part
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    with threadpool_limits(1):
        rows, lines = main_part() if part == "main" else grid_part()
    lines.append("")
    lines.append(f"wall time {time.perf_counter() - start:.0f} s "
                 f"(`python benchmarks/corelnet_noise.py {part}`)")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"corelnet_noise_{part}.json").write_text(json.dumps(rows, indent=1))
    (RESULTS / f"corelnet_noise_{part}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
