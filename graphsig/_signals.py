"""Validation of signals on graphs (shared by the EMD estimators and functions)."""

import numpy as np
import scipy.sparse as sp


def check_signal_values(X, *, balanced, name="X"):
    """Check that signals are nonnegative and, if ``balanced``, have mass.

    ``X`` is already a finite 2-D float array or sparse matrix (as returned by
    scikit-learn's ``validate_data``); raises ValueError naming the bad rows.
    """
    values = X.data if sp.issparse(X) else X
    if values.size and values.min() < 0:
        if sp.issparse(X):
            rows = np.unique(X.tocoo().row[X.tocoo().data < 0])
        else:
            rows = np.flatnonzero((X < 0).any(axis=1))
        raise ValueError(
            f"Negative values in data passed to {name} (signal rows {_few(rows)}); "
            "signals on a graph are nonnegative masses"
        )
    if balanced:
        mass = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
        empty = np.flatnonzero(mass <= 0)
        if empty.size:
            raise ValueError(
                f"{name} has zero-mass signals (rows {_few(empty)}); the balanced EMD "
                "compares unit-mass distributions. Drop them, or use "
                "UnbalancedDiffusionEMD, which accepts any nonnegative mass"
            )


def _few(indices, limit=5):
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")


def dense_rows(X, start, stop, dtype):
    """Rows ``start:stop`` of ``X`` (dense or sparse) as a new dense C array."""
    block = X[start:stop]
    if sp.issparse(block):
        return np.ascontiguousarray(block.toarray(), dtype=dtype)
    return np.array(block, dtype=dtype, order="C", copy=True)
