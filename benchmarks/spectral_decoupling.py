"""Spectral Decoupling against plain training (ERM) on spurious-feature tasks.

Coloured digits (scikit-learn's 8x8 digits with the Colored-MNIST construction,
:func:`graphsig.datasets.make_colored_digits`), in two forms:

- 'paper': label = (digit < 5) flipped with probability 0.25, colour = label
  flipped with probability 0.1 and 0.2 in the two training environments and
  0.9 at test (Arjovsky et al., 2019, as used by Pezeshki et al., 2021);
- 'perfect': no label noise, colour equal to the label in training and
  reversed at test.

Each is trained with three protocols, ERM (sd_lambda=0) beside SD:

- defaults: SpectralDecouplingClassifier's defaults (SD: sd_lambda=0.01);
- full batch: full-batch Adam, learning rate 1e-3, 500 steps, 128-100-100-1
  ReLU network, SD with sd_lambda=1;
- paper: full-batch Adam at 1e-4, 128-100-100-1; ERM with an L2 penalty of
  0.001 ||W||^2 for 1000 steps; SD with sd_coef 2e-5 for 450 steps, then
  mean(logits^2) with sd_lambda = 2, 2000 steps in all;
- paper, 300 units: the same with the paper's 300-unit hidden layers (run on
  the paper's construction only).

Then the two moons of the paper (train on margin 0.1, test on margin -0.1,
2-500-1 ReLU network, full-batch SGD with momentum 0.9, learning rate 0.01,
1000 epochs, sd_lambda = 0.006).

Reported: test accuracy, mean ± std over seeds 0, 1, 2, and the ratio SD / ERM.

Run: python benchmarks/spectral_decoupling.py
(``--protocols 'paper, 300 units'`` runs the named protocols only, on the paper's
construction, and merges them into the existing results)
Results: benchmarks/results/spectral_decoupling.{json,md}

``python benchmarks/spectral_decoupling.py --curves`` prints instead the train and
test accuracy along full-batch training (every 50 steps up to 400, Adam 1e-3,
128-100-100-1) on the paper's construction for sd_lambda = 0, 1 and 10, to see
whether SD gains anywhere along the way (benchmarks/results/spectral_decoupling_curves.md).
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from graphsig.datasets import make_colored_digits, make_shifted_moons
from graphsig.models import SpectralDecouplingClassifier

RESULTS = Path(__file__).parent / "results"
SEEDS = (0, 1, 2)
CONSTRUCTIONS = {
    "paper": dict(label_noise=0.25, train_color_noise=(0.1, 0.2), test_color_noise=0.9),
    "perfect": dict(label_noise=0.0, train_color_noise=(0.0,), test_color_noise=1.0),
}


def protocol(name, sd, n_train, seed):
    if name == "defaults":
        return SpectralDecouplingClassifier(sd_lambda=0.01 if sd else 0.0, random_state=seed)
    width = 300 if name == "paper, 300 units" else 100
    common = dict(hidden_layer_sizes=(width, width), batch_size=n_train, tol=0.0,
                  n_iter_no_change=10**6, random_state=seed)
    if name == "full batch":
        return SpectralDecouplingClassifier(sd_lambda=1.0 if sd else 0.0, max_iter=500,
                                            learning_rate_init=1e-3, **common)
    if sd:
        return SpectralDecouplingClassifier(sd_lambda=2.0, penalty_start=450,
                                            penalty_start_factor=2e-5, max_iter=2000,
                                            learning_rate_init=1e-4, **common)
    # l2 * ||W||^2 = 0.5 * alpha * ||W||^2 / n_samples
    return SpectralDecouplingClassifier(sd_lambda=0.0, alpha=2 * 0.001 * n_train, max_iter=1000,
                                        learning_rate_init=1e-4, **common)


def moons(sd, seed):
    X, y = make_shifted_moons(300, margin=0.1, random_state=seed)
    X_test, y_test = make_shifted_moons(300, margin=-0.1, random_state=1000 + seed)
    clf = SpectralDecouplingClassifier((500,), sd_lambda=0.006 if sd else 0.0, solver="sgd",
                                       learning_rate_init=0.01, momentum=0.9, batch_size=300,
                                       max_iter=1000, tol=0.0, n_iter_no_change=10**6,
                                       random_state=seed).fit(X, y)
    return clf.score(X, y), clf.score(X_test, y_test)


def curves():
    lines = ["coloured digits (paper's construction): train / test accuracy along full-batch "
             "training, mean over seeds 0, 1, 2", "",
             "| sd_lambda | " + " | ".join(f"step {s}" for s in range(50, 401, 50)) + " |",
             "|---|" + "---|" * 8]
    for lam in (0.0, 1.0, 10.0):
        table = []
        for seed in SEEDS:
            d = make_colored_digits(random_state=seed, **CONSTRUCTIONS["paper"])
            clf = SpectralDecouplingClassifier((100, 100), sd_lambda=lam, batch_size=len(d.y_train),
                                               learning_rate_init=1e-3, max_iter=50,
                                               warm_start=True, tol=0.0, n_iter_no_change=10**6,
                                               random_state=seed)
            row = []
            for _ in range(8):
                clf.fit(d.X_train, d.y_train)
                row.append((clf.score(d.X_train, d.y_train), clf.score(d.X_test, d.y_test)))
            table.append(row)
        mean = np.mean(table, axis=0)
        lines.append(f"| {lam:g} | " + " | ".join(f"{a:.2f} / {b:.2f}" for a, b in mean) + " |")
    text = "\n".join(lines)
    print(text)
    (RESULTS / "spectral_decoupling_curves.md").write_text(text + "\n")


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    if "--curves" in sys.argv[1:]:
        with threadpool_limits(1):
            curves()
        return
    start = time.perf_counter()
    rows = []
    only = None
    if "--protocols" in sys.argv[1:]:
        only = [p.strip() for p in sys.argv[sys.argv.index("--protocols") + 1].split(";")]
    plan = ([(c, n) for c in CONSTRUCTIONS for n in ("defaults", "full batch", "paper")]
            + [("paper", "paper, 300 units")])
    if only is not None:
        plan = [("paper", n) for n in only]
    with threadpool_limits(1):
        for construction, name in plan:
            params = CONSTRUCTIONS[construction]
            for seed in SEEDS:
                d = make_colored_digits(random_state=seed, **params)
                for sd in (False, True):
                    t0 = time.perf_counter()
                    clf = protocol(name, sd, len(d.y_train), seed).fit(d.X_train, d.y_train)
                    rows.append(dict(task=f"coloured digits ({construction})",
                                     protocol=name, model="SD" if sd else "ERM", seed=seed,
                                     train=clf.score(d.X_train, d.y_train),
                                     test=clf.score(d.X_test, d.y_test),
                                     seconds=time.perf_counter() - t0))
                    print(json.dumps(rows[-1]), flush=True)
        for seed in SEEDS if only is None else ():
            for sd in (False, True):
                t0 = time.perf_counter()
                train, test = moons(sd, seed)
                rows.append(dict(task="two moons", protocol="paper", model="SD" if sd else "ERM",
                                 seed=seed, train=train, test=test,
                                 seconds=time.perf_counter() - t0))
                print(json.dumps(rows[-1]), flush=True)
    if only is not None:  # merge into the stored rows, replacing those of the same protocols
        stored = json.loads((RESULTS / "spectral_decoupling.json").read_text())
        new = {(r["task"], r["protocol"]) for r in rows}
        rows = [r for r in stored if (r["task"], r["protocol"]) not in new] + rows
    lines = ["test accuracy (train accuracy in brackets), mean ± std over seeds 0, 1, 2", "",
             "| task | protocol | ERM | SD | SD / ERM (test) | seconds per run |",
             "|---|---|---|---|---|---|"]
    keys = []
    for r in rows:
        if (r["task"], r["protocol"]) not in keys:
            keys.append((r["task"], r["protocol"]))
    for task, name in keys:
        cells = {}
        for model in ("ERM", "SD"):
            sel = [r for r in rows if (r["task"], r["protocol"], r["model"]) == (task, name, model)]
            te = np.array([r["test"] for r in sel])
            tr = np.array([r["train"] for r in sel])
            cells[model] = (te, f"{te.mean():.3f} ± {te.std():.3f} ({tr.mean():.3f})")
        ratio = cells["SD"][0].mean() / max(cells["ERM"][0].mean(), 1e-12)
        secs = np.mean([r["seconds"] for r in rows if (r["task"], r["protocol"]) == (task, name)])
        lines.append(f"| {task} | {name} | {cells['ERM'][1]} | {cells['SD'][1]} | "
                     f"{ratio:.2f} | {secs:.0f} |")
    command = " ".join(["python benchmarks/spectral_decoupling.py", *(
        [f"--protocols '{sys.argv[sys.argv.index('--protocols') + 1]}'"] if only else [])])
    lines += ["", f"wall time {time.perf_counter() - start:.0f} s (`{command}`"
                  + (", merged into the rows of earlier runs)" if only else ")")]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "spectral_decoupling.json").write_text(json.dumps(rows, indent=1))
    (RESULTS / "spectral_decoupling.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
