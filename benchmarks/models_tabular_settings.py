"""Settings tried for the estimators that stay below scikit-learn's MLP on tables.

``models_tabular.py`` measures every estimator at its defaults. For those below
``MLPClassifier`` there, this script measures other settings on the same split
and preprocessing (``make_pipeline(StandardScaler(), model)``, stratified 75/25
split with seed 0), to tell a default that can be improved from a limit of the
method. Each setting is a set of constructor parameters on top of the defaults.
The number of model seeds per row is given (the CoRelNet and attention fits on
digits take minutes each, so some of their rows have fewer seeds); mean ± std
over them. Fits are cached in ``results/cache/models_tabular_settings.cache.json``
(``--fresh`` ignores the cache), so an interrupted run resumes.

    python benchmarks/models_tabular_settings.py                      # all (about an hour)
    python benchmarks/models_tabular_settings.py --estimators NonNormalRNNClassifier
    python benchmarks/models_tabular_settings.py --cached-only        # render the table

Results: benchmarks/results/models_tabular_settings.{md,json}
"""

import argparse
import json

import numpy as np

from _common import CACHE, command_line, load_average, machine_info, markdown_table, write_results
from models_tabular import CACHE_FILE as DEFAULTS_CACHE
from models_tabular import _fmt, _save, run_one

CACHE_FILE = CACHE / "models_tabular_settings.cache.json"

# (estimator, parameters, data set, seeds)
SETTINGS = [
    ("NonNormalRNNClassifier", {}, "digits", 3),
    ("NonNormalRNNClassifier", {"n_timesteps": 8}, "digits", 3),
    ("NonNormalRNNClassifier", {"n_timesteps": 1}, "digits", 3),
    ("NonNormalRNNClassifier", {"n_hidden": 128}, "digits", 3),
    ("NonNormalRNNClassifier", {"learning_rate_init": 3e-3}, "digits", 3),
    ("NonNormalRNNClassifier", {"alpha": 1e-3}, "digits", 3),
    ("NonNormalRNNClassifier", {"early_stopping": True}, "digits", 3),
    ("NonNormalRNNClassifier", {"recurrence": "orthogonal"}, "digits", 3),
    ("NonNormalRNNClassifier", {}, "breast_cancer", 3),
    ("NonNormalRNNClassifier", {"n_timesteps": 6}, "breast_cancer", 3),
    ("NonNormalRNNClassifier", {"n_timesteps": 1}, "breast_cancer", 3),
    ("NonNormalRNNClassifier", {"learning_rate_init": 3e-3}, "breast_cancer", 3),
    ("NonNormalRNNClassifier", {"alpha": 1e-4}, "breast_cancer", 3),
    ("NonNormalRNNClassifier", {"recurrence": "orthogonal"}, "breast_cancer", 3),
    ("CoRelNetClassifier", {"similarity": "softmax", "mask": "causal"}, "iris", 3),
    ("CoRelNetClassifier", {"similarity": "softmax", "mask": "none"}, "iris", 3),
    ("CoRelNetClassifier", {"similarity": "sigmoid", "mask": "causal"}, "iris", 3),
    ("CoRelNetClassifier", {"similarity": "sigmoid", "mask": "none"}, "iris", 3),
    ("CoRelNetClassifier", {"similarity": "softmax", "mask": "causal"}, "breast_cancer", 3),
    ("CoRelNetClassifier", {"similarity": "softmax", "mask": "none"}, "breast_cancer", 3),
    ("CoRelNetClassifier", {"similarity": "sigmoid", "mask": "causal"}, "breast_cancer", 3),
    ("CoRelNetClassifier", {"similarity": "sigmoid", "mask": "none"}, "breast_cancer", 3),
    ("CoRelNetClassifier", {"similarity": "softmax", "mask": "causal"}, "digits", 3),
    ("CoRelNetClassifier", {"similarity": "softmax", "mask": "none"}, "digits", 3),
    ("CoRelNetClassifier", {"similarity": "sigmoid", "mask": "causal"}, "digits", 3),
    ("CoRelNetClassifier", {"similarity": "sigmoid", "mask": "none"}, "digits", 3),
    ("CompositionalAttentionClassifier", {"d_model": 128}, "digits", 1),
    ("CompositionalAttentionClassifier", {"learning_rate_init": 3e-3}, "digits", 3),
    ("CompositionalAttentionClassifier", {"n_layers": 2}, "digits", 1),
    ("CompositionalAttentionClassifier", {"early_stopping": True}, "digits", 1),
    ("CompositionalAttentionClassifier", {"alpha": 1e-3}, "digits", 1),
]


def _describe(params):
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimators", default=None, help="comma-separated names")
    parser.add_argument("--datasets", default=None, help="comma-separated names")
    parser.add_argument("--fresh", action="store_true", help="ignore the cache")
    parser.add_argument("--cached-only", action="store_true",
                        help="write the table from the cached fits, running nothing")
    args = parser.parse_args()
    wanted = None if args.estimators is None else set(args.estimators.split(","))
    datasets = None if args.datasets is None else set(args.datasets.split(","))

    cache = {}
    if CACHE_FILE.exists() and not args.fresh:
        cache = json.loads(CACHE_FILE.read_text())
    CACHE.mkdir(parents=True, exist_ok=True)
    defaults = json.loads(DEFAULTS_CACHE.read_text()) if DEFAULTS_CACHE.exists() else {}
    load_start = load_average()

    rows, runs = [], {}
    for name, params, dataset, n_seeds in SETTINGS:
        selected = ((wanted is None or name in wanted)
                    and (datasets is None or dataset in datasets))
        scores = []
        for seed in range(n_seeds):
            key = f"{dataset}|{name}|{json.dumps(params, sort_keys=True)}|{seed}"
            if key not in cache:
                if args.cached_only or not selected:
                    continue
                cache[key] = run_one(dataset, name, seed, "scaled", params)
                _save(cache, CACHE_FILE)
                print(f"{dataset:14s} {name} {_describe(params)} seed {seed}: "
                      f"{cache[key]['score']:.3f} ({cache[key]['fit_seconds']:.0f} s)",
                      flush=True)
            scores.append(cache[key])
        runs[f"{dataset}|{name}|{_describe(params)}"] = scores
        mlp = [defaults[k]["score"] for k in
               (f"{dataset}|MLP|scaled|{s}" for s in range(3)) if k in defaults]
        if not scores:
            rows.append([dataset, name, _describe(params), "not run", "", "", ""])
            continue
        mean = np.mean([r["score"] for r in scores])
        rows.append([dataset, name, _describe(params), _fmt([r["score"] for r in scores]),
                     str(len(scores)), f"{mean - np.mean(mlp):+.3f}" if mlp else "",
                     f"{np.mean([r['fit_seconds'] for r in scores]):.0f}"])

    header = ["data set", "estimator", "setting", "test accuracy (mean ± std)", "seeds",
              "− MLP (defaults)", "fit s"]
    markdown = "\n".join([
        "# Settings tried for the estimators below MLP on tables",
        "",
        f"Command: `{command_line()}`",
        "",
        "Scaled input (`make_pipeline(StandardScaler(), model)`), the split of "
        "`models_tabular.py`; `− MLP` compares with `MLPClassifier` at its defaults "
        "(3 seeds, from `models_tabular.py`'s cache). Cells come from cached fits, possibly "
        "of earlier runs; fit times are wall seconds on a shared machine (load average "
        f"{load_start} at the start, {load_average()} at the end of this rendering).",
        "",
        markdown_table(header, rows),
        "",
    ])
    payload = {"command": command_line(), "machine": machine_info(),
               "load_average": [load_start, load_average()], "runs": runs}
    md, js = write_results("models_tabular_settings", markdown, payload)
    print(markdown)
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
