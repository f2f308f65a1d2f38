"""Training time per epoch of graphsig's neural estimators against scikit-learn's MLP.

Every model trains on the same data (``make_classification``: 2000 samples, 32
standardised features, 4 classes, or a regression target for the regressor)
with the same mini-batch size (200), Adam, one BLAS thread, and widths of 100
where the model has hidden layers of its own (the MLP's default width):

- MLP estimators (Spectral Decoupling, Fisher penalty): ``hidden_layer_sizes=(100,)``,
  as ``MLPClassifier``;
- CoRelNet: one object per column, encoder ``(100,)``, head ``(100,)``;
- compositional attention: one token per column, ``d_model=100``, head ``(100,)``;
- non-normal RNN: 32 time steps of one feature, ``n_hidden=100``;
- gradient flow has no epochs: its whole fit is timed against the MLP's whole fit
  (``max_iter=200``, its default).

Each model is timed over ``--epochs`` epochs (convergence checks disabled), best of
``--repeats`` runs after one warm-up run (the recurrent loops compile on first use),
and divided by the epochs. The MLP is timed the same way right after each model, and the
ratio is graphsig's time over the MLP's; the machine is shared, so read the ratios rather
than the seconds.

    python benchmarks/models_speed.py              # a few minutes
    python benchmarks/models_speed.py --epochs 3 --repeats 2
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from _common import command_line, load_average, machine_info, markdown_table, write_results

N_SAMPLES, N_FEATURES, N_CLASSES, WIDTH, BATCH = 2000, 32, 4, 100, 200

# training settings that make every call run exactly max_iter epochs
_NO_STOP = dict(tol=0.0, n_iter_no_change=10**6, batch_size=BATCH, learning_rate_init=1e-3)


def models(epochs):
    from graphsig.models import (
        CompositionalAttentionClassifier,
        CompositionalAttentionRegressor,
        CoRelNetClassifier,
        FisherPenaltyClassifier,
        GradientFlowClassifier,
        NonNormalRNNClassifier,
        SpectralDecouplingClassifier,
    )

    kw = dict(max_iter=epochs, random_state=0, **_NO_STOP)
    return {
        "SpectralDecouplingClassifier": ("classification",
                                         SpectralDecouplingClassifier((WIDTH,), **kw)),
        "FisherPenaltyClassifier": ("classification", FisherPenaltyClassifier((WIDTH,), **kw)),
        "CoRelNetClassifier": ("classification", CoRelNetClassifier(
            encoder_layer_sizes=(WIDTH,), head_hidden_layer_sizes=(WIDTH,), **kw)),
        "CompositionalAttentionClassifier": ("classification", CompositionalAttentionClassifier(
            d_model=WIDTH, head_hidden_layer_sizes=(WIDTH,), **kw)),
        "CompositionalAttentionRegressor": ("regression", CompositionalAttentionRegressor(
            d_model=WIDTH, head_hidden_layer_sizes=(WIDTH,), **kw)),
        "NonNormalRNNClassifier": ("classification", NonNormalRNNClassifier(WIDTH, **kw)),
        "GradientFlowClassifier": ("classification", GradientFlowClassifier(random_state=0)),
    }


def reference(task, epochs):
    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls(hidden_layer_sizes=(WIDTH,), max_iter=epochs, random_state=0, **_NO_STOP)


def data():
    X, y = make_classification(N_SAMPLES, N_FEATURES, n_informative=16, n_classes=N_CLASSES,
                               random_state=0)
    X = StandardScaler().fit_transform(X)
    y_reg = X[:, :4].sum(axis=1) + 0.1 * np.random.default_rng(0).normal(size=N_SAMPLES)
    return X, y, y_reg


def best_fit_time(estimator, X, y, repeats):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(X, y)  # warm-up (compilation of the recurrent loops)
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            estimator.fit(X, y)
            best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--estimators", default=None, help="comma-separated names")
    args = parser.parse_args()
    X, y, y_reg = data()
    load_start = load_average()
    rows, runs = [], {}
    with threadpool_limits(1):
        for name, (task, est) in models(args.epochs).items():
            if args.estimators and name not in args.estimators.split(","):
                continue
            target = y if task == "classification" else y_reg
            seconds = best_fit_time(est, X, target, args.repeats)
            # the reference is timed right after each model, so that both see the same load
            if name == "GradientFlowClassifier":
                ref = best_fit_time(reference(task, 200), X, target, 1)
                per, unit = seconds, "whole fit"
            else:
                ref = best_fit_time(reference(task, args.epochs), X, target,
                                    args.repeats) / args.epochs
                per, unit = seconds / args.epochs, "epoch"
            n_params = est.network_.n_params if hasattr(est, "network_") else None
            runs[name] = {"seconds": per, "reference_seconds": ref, "unit": unit,
                          "n_params": n_params}
            rows.append([name, unit, f"{per * 1e3:.1f}", f"{ref * 1e3:.1f}",
                         f"{per / ref:.1f}", "" if n_params is None else f"{n_params:,}"])
            print(rows[-1], flush=True)
    n_mlp = (N_FEATURES + 1) * WIDTH + (WIDTH + 1) * N_CLASSES
    header = ["estimator", "per", "graphsig ms", "MLP ms", "ratio (graphsig / MLP)",
              "parameters"]
    markdown = "\n".join([
        "# Training time of graphsig's estimators against scikit-learn's MLP",
        "",
        f"Command: `{command_line()}`",
        "",
        f"{N_SAMPLES} samples x {N_FEATURES} standardised features, {N_CLASSES} classes, "
        f"mini-batches of {BATCH}, Adam, one BLAS thread; hidden widths {WIDTH} (the MLP: one "
        f"hidden layer of {WIDTH}, {n_mlp:,} parameters). Best of {args.repeats} runs of "
        f"{args.epochs} epochs after a warm-up, per epoch (gradient flow: per whole fit, "
        "against the MLP's whole fit of 200 epochs). Load average "
        f"{load_start} at the start, {load_average()} at the end: the machine is shared, "
        "read the ratios.",
        "",
        markdown_table(header, rows),
        "",
    ])
    payload = {"command": command_line(), "machine": machine_info(),
               "load_average": [load_start, load_average()], "runs": runs,
               "settings": {"n_samples": N_SAMPLES, "n_features": N_FEATURES, "width": WIDTH,
                            "batch_size": BATCH, "epochs": args.epochs,
                            "repeats": args.repeats}}
    md, js = write_results("models_speed", markdown, payload)
    print(markdown)
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
