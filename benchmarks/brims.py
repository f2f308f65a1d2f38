"""BRIMs against a plain RNN of the same size: robustness to test-time noise on digits.

Sequential digits: scikit-learn's ``load_digits`` (1797 images of 8x8), each
image read row by row as 8 steps of 8 features, standardised; a stratified
half for training, the other half for testing (the split changes with the
seed). Models, all trained clean with Adam (learning rate 1e-2, batches of
64, gradient norm clipped at 1) for ``EPOCHS`` epochs:

- ``brims, top_k=2``: ``BRIMsClassifier`` with 2 layers of 4 modules of 6
  units, 2 active modules per layer and step, keys of size 6;
- ``brims, top_k=1`` and ``brims, top_k=4``: the same with 1 active module,
  and with all 4 active (no competition), to separate the competition from
  the architecture (same number of parameters; distractors only);
- ``rnn``: a tanh RNN (``RelevancyScreeningRNNClassifier(attention='none')``)
  whose width is chosen so that its number of parameters is the closest to
  that of the BRIMs networks.

Two test-time perturbations, each at several levels:

1. ``noise``: Gaussian noise of standard deviation ``sigma`` added to every
   standardised pixel;
2. ``distractors``: every sequence carries ``N_DISTRACTORS`` extra steps after
   its 8 rows (zeros during training), which hold Gaussian noise of standard
   deviation ``sigma`` at test time; the label is read after them.

Three seeds (mean ± std), in 2 processes. ``python benchmarks/brims.py``
writes ``results/brims.md``.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from graphsig.models import BRIMsClassifier, RelevancyScreeningRNNClassifier
from graphsig.models._brims import BRIMsNetwork

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = (0, 1, 2)
EPOCHS = 40
N_DISTRACTORS = 4
NOISE = (0.0, 0.5, 1.0, 1.5)
DISTRACTOR_NOISE = (0.0, 1.0, 2.0, 4.0)
BRIMS = dict(n_layers=2, n_modules=4, n_hidden=6, key_size=6)
TRAIN = dict(max_iter=EPOCHS, batch_size=64, learning_rate_init=1e-2)
MODELS = {"noise": ("brims, top_k=2", "rnn"),
          "distractors": ("brims, top_k=1", "brims, top_k=2", "brims, top_k=4", "rnn")}


def _rnn_width(n_params, n_in, n_classes):
    # a tanh RNN with h units has n_in*h + h + h*h + h*n_classes + n_classes parameters
    widths = np.arange(1, 200)
    counts = widths * (n_in + 1 + widths + n_classes) + n_classes
    return int(widths[np.argmin(np.abs(counts - n_params))])


def _model(name, seed, n_classes=10):
    if name.startswith("brims"):
        top_k = int(name.rsplit("=", 1)[1])
        return BRIMsClassifier(**BRIMS, top_k=top_k, **TRAIN, random_state=seed)
    n_params = BRIMsNetwork(8, n_classes, **BRIMS, top_k=1).n_params
    return RelevancyScreeningRNNClassifier(_rnn_width(n_params, 8, n_classes),
                                           attention="none", **TRAIN, random_state=seed)


def _data(seed):
    digits = load_digits()
    X = digits.data.reshape(-1, 8, 8)
    Xtr, Xte, ytr, yte = train_test_split(X, digits.target, test_size=0.5,
                                          random_state=seed, stratify=digits.target)
    mean, std = Xtr.mean(), Xtr.std()
    return (Xtr - mean) / std, (Xte - mean) / std, ytr, yte


def _pad(X):
    return np.concatenate([X, np.zeros((len(X), N_DISTRACTORS, X.shape[2]))], axis=1)


def run(seed, name, setting):
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        Xtr, Xte, ytr, yte = _data(seed)
        if setting == "distractors":
            Xtr, Xte = _pad(Xtr), _pad(Xte)
        start = time.perf_counter()
        clf = _model(name, seed).fit(Xtr, ytr)
        seconds = time.perf_counter() - start
        rng = np.random.default_rng(100 + seed)
        scores = []
        for sigma in (NOISE if setting == "noise" else DISTRACTOR_NOISE):
            noise = sigma * rng.normal(size=Xte.shape)
            if setting == "distractors":
                noise[:, :-N_DISTRACTORS] = 0.0
            scores.append(clf.score(Xte + noise, yte))
        return dict(seed=seed, name=name, setting=setting, scores=scores,
                    n_params=clf.network_.n_params, seconds=seconds)


def _fmt(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main():
    start = time.perf_counter()
    jobs = [(seed, name, setting) for setting in ("noise", "distractors")
            for name in MODELS[setting] for seed in SEEDS]
    # the slow BRIMs runs first, so that the two processes finish together
    jobs.sort(key=lambda job: job[1] == "rnn")
    results = Parallel(n_jobs=2)(delayed(run)(*job) for job in jobs)
    total = time.perf_counter() - start

    lines = [
        "# BRIMs: robustness to test-time noise on sequential digits",
        "",
        f"Command: `python benchmarks/brims.py`; seeds {list(SEEDS)}; mean ± std. Digits "
        f"read row by row (8 steps of 8 features), trained clean for {EPOCHS} epochs on half "
        "of the images, tested on the other half. `relative` is the accuracy at the largest "
        "perturbation divided by the clean accuracy.",
        "",
    ]
    for setting, levels, title in (
            ("noise", NOISE, "Gaussian noise of standard deviation sigma on every pixel"),
            ("distractors", DISTRACTOR_NOISE,
             f"{N_DISTRACTORS} distractor steps after the rows (zeros in training), "
             "Gaussian noise of standard deviation sigma at test")):
        lines += [f"## {title}", "",
                  "| model | parameters | " + " | ".join(f"sigma = {s:g}" for s in levels)
                  + " | relative | seconds per fit |",
                  "|---|---|" + "---|" * len(levels) + "---|---|"]
        for name in MODELS[setting]:
            rows = [r for r in results if r["setting"] == setting and r["name"] == name]
            scores = np.array([r["scores"] for r in rows])
            cells = [_fmt(scores[:, i]) for i in range(len(levels))]
            rel = _fmt(scores[:, -1] / scores[:, 0])
            secs = np.mean([r["seconds"] for r in rows])
            lines.append(f"| {name} | {rows[0]['n_params']} | " + " | ".join(cells)
                         + f" | {rel} | {secs:.0f} |")
        lines.append("")
    lines.append(f"Total run time {total:.0f} s.")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "brims.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
