"""graphsig's neural estimators against scikit-learn's MLP on standard tabular data sets.

Every estimator at its DEFAULT settings (only ``random_state`` set), next to
``MLPClassifier`` / ``MLPRegressor`` at theirs, on iris, breast_cancer, digits
and a synthetic table (classifiers: test accuracy; the synthetic one has 20
features in units spread over five decades and off centre) and diabetes
(regressors: test R^2). One fixed
stratified train/test split (75 % / 25 %, split seed 0); 3 seeds of the models'
initialisation and mini-batches; mean ± standard deviation over the seeds.

Two preprocessings, the same for every estimator of a row:

- ``scaled``: ``make_pipeline(StandardScaler(), model)`` (the fair comparison:
  scikit-learn's MLP needs standardised inputs);
- ``raw``: the model on the features as loaded.

``LogisticRegressionCV`` (ten values of ``C``, five-fold) is the reference for
the models whose head is linear (GradientFlowClassifier); it is deterministic,
so its seeds agree.

Sequence models read the columns of a row as a sequence (NonNormalRNNClassifier:
one column per time step); the attention models as tokens with positions;
CoRelNet as objects, one per column. Each fit is cached in
``results/cache/models_tabular.cache.json`` (``--fresh`` ignores it), so an
interrupted run resumes.

    python benchmarks/models_tabular.py                 # everything (tens of minutes)
    python benchmarks/models_tabular.py --datasets iris --estimators MLP,SpectralDecouplingClassifier
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_digits, load_iris,
                              make_classification)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from _common import CACHE, command_line, load_average, machine_info, markdown_table, write_results

def load_synthetic(return_X_y=True):
    """A table unlike the others: 3 classes from 8 informative of 20 features, some
    redundant, 5 % of labels flipped, and columns in units spread over five decades."""
    X, y = make_classification(n_samples=600, n_features=20, n_informative=8, n_redundant=4,
                               n_classes=3, flip_y=0.05, class_sep=0.8, random_state=0)
    units = 10.0 ** np.random.RandomState(1).uniform(-2, 3, X.shape[1])
    return X * units + units * np.random.RandomState(2).uniform(-3, 3, X.shape[1]), y


DATASETS = {
    "iris": (load_iris, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "digits": (load_digits, "classification"),
    "synthetic": (load_synthetic, "classification"),
    "diabetes": (load_diabetes, "regression"),
}

CLASSIFIERS = [
    "MLP",
    "LogisticRegressionCV",
    "CoRelNetClassifier",
    "CompositionalAttentionClassifier",
    "SpectralDecouplingClassifier",
    "FisherPenaltyClassifier",
    "NonNormalRNNClassifier",
    "GradientFlowClassifier",
]
REGRESSORS = ["MLP", "CompositionalAttentionRegressor"]

CACHE_FILE = CACHE / "models_tabular.cache.json"


def make_estimator(name, task, seed, params=None):
    if name == "MLP":
        return (MLPClassifier if task == "classification" else MLPRegressor)(random_state=seed)
    if name == "LogisticRegressionCV":  # the best linear classifier, a reference for linear heads
        return LogisticRegressionCV(max_iter=5000)
    import graphsig.models

    return getattr(graphsig.models, name)(random_state=seed, **(params or {}))


def run_one(dataset, name, seed, preprocessing, params=None):
    loader, task = DATASETS[dataset]
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0,
        stratify=y if task == "classification" else None)
    model = make_estimator(name, task, seed, params)
    if preprocessing == "scaled":
        model = make_pipeline(StandardScaler(), model)
    start = time.perf_counter()
    # one BLAS thread for every estimator: graphsig's limit themselves to one while
    # training, and scikit-learn's MLP gets the same
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            model.fit(X_train, y_train)
            score = float(model.score(X_test, y_test))
        except (ValueError, FloatingPointError) as exc:  # divergence on raw data
            print(f"  {dataset} {name} seed {seed} {preprocessing}: {type(exc).__name__}: {exc}")
            score = float("nan")
    return {"score": score, "fit_seconds": time.perf_counter() - start}


def _save(cache, path=CACHE_FILE):
    """Merge ``cache`` into the cache file (runs of other processes are kept)."""
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored.update(cache)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=1))
    tmp.replace(path)


def _fmt(values):
    values = np.asarray(values, dtype=float)
    if np.all(np.isnan(values)):
        return "failed"
    return f"{np.nanmean(values):.3f} ± {np.nanstd(values):.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--estimators", default=None,
                        help="comma-separated names (default: all, with MLP)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--preprocessing", default="scaled,raw")
    parser.add_argument("--fresh", action="store_true", help="ignore the cache")
    parser.add_argument("--cached-only", action="store_true",
                        help="write the table from the cached fits, running nothing")
    args = parser.parse_args()

    cache = {}
    if CACHE_FILE.exists() and not args.fresh:
        cache = json.loads(CACHE_FILE.read_text())
    CACHE.mkdir(parents=True, exist_ok=True)
    load_start = load_average()
    datasets = args.datasets.split(",")
    preprocessings = args.preprocessing.split(",")
    wanted = None if args.estimators is None else args.estimators.split(",")

    results = {}
    for dataset in datasets:
        task = DATASETS[dataset][1]
        names = CLASSIFIERS if task == "classification" else REGRESSORS
        for name in names:
            if wanted is not None and name not in wanted:
                continue
            for prep in preprocessings:
                for seed in range(args.seeds):
                    key = f"{dataset}|{name}|{prep}|{seed}"
                    if key not in cache:
                        if args.cached_only:
                            continue
                        cache[key] = run_one(dataset, name, seed, prep)
                        _save(cache)
                    r = cache[key]
                    print(f"{dataset:14s} {name:34s} {prep:6s} seed {seed}: "
                          f"{r['score']:.3f} ({r['fit_seconds']:.1f} s)", flush=True)
                    results.setdefault((dataset, name, prep), []).append(r)

    # the table: one row per data set and estimator, MLP first
    rows = []
    for dataset in datasets:
        task = DATASETS[dataset][1]
        names = CLASSIFIERS if task == "classification" else REGRESSORS
        for name in names:
            cells = [dataset, name]
            for prep in preprocessings:
                rs = results.get((dataset, name, prep))
                if rs is None:
                    cells.append("not run")
                else:
                    n = "" if len(rs) == args.seeds else f" ({len(rs)} seed{'s' * (len(rs) > 1)})"
                    cells.append(_fmt([r["score"] for r in rs]) + n)
            mlp = results.get((dataset, "MLP", preprocessings[0]))
            own = results.get((dataset, name, preprocessings[0]))
            if name == "MLP" or mlp is None or own is None:
                cells.append("")
            else:
                diff = (np.nanmean([r["score"] for r in own])
                        - np.nanmean([r["score"] for r in mlp]))
                cells.append(f"{diff:+.3f}")
            rs = results.get((dataset, name, preprocessings[0]))
            cells.append("" if rs is None else f"{np.mean([r['fit_seconds'] for r in rs]):.1f}")
            rows.append(cells)
    header = (["data set", "estimator"] + [f"{p} (mean ± std)" for p in preprocessings]
              + [f"{preprocessings[0]} − MLP", f"fit s ({preprocessings[0]})"])
    metric = "test accuracy (classifiers), test R² (diabetes)"
    markdown = "\n".join([
        "# graphsig's estimators against scikit-learn's MLP, default settings",
        "",
        f"Command: `{command_line()}`",
        "",
        *(["Every cell comes from the cache of fits, made by earlier runs of this script "
           "over subsets of the estimators and data sets (each fit is cached with its score "
           "and seconds); the load averages below are those of this rendering, not of the "
           "fits.", ""] if args.cached_only else []),
        f"{metric}; fixed stratified 75/25 split (seed 0), mean ± std over "
        f"{args.seeds} model seeds. `scaled` is `make_pipeline(StandardScaler(), model)` "
        "for every estimator (MLP included); `raw` is the model on the features as "
        "loaded. Fit times are wall seconds on a shared machine (load average "
        f"{load_start} at the start, {load_average()} at the end): read them as rough.",
        "",
        markdown_table(header, rows),
        "",
        "`not run`: no fit in the cache for that cell (runs are resumable: rerun the script "
        "without `--cached-only`). The models that read each of digits' 64 columns as an "
        "object, token or time step take minutes per fit; see `results/models_speed.md`.",
        "",
    ])
    payload = {"command": command_line(), "machine": machine_info(),
               "load_average": [load_start, load_average()],
               "runs": {"|".join(k): v for k, v in results.items()}}
    md, js = write_results("models_tabular", markdown, payload)
    print(markdown)
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
