"""Validation of signals on graphs (shared by the EMD estimators and functions)."""

import numpy as np
import scipy.sparse as sp

from ._validation import check_sparse_structure


def check_raw_signals(X, name="X"):
    """Checks due before any conversion of user input.

    A sparse matrix's index arrays are checked (scipy's own conversions trust
    them, and so would the kernels); a dense input holding strings is refused,
    so that every entry point reads ``["1", "2"]`` the same way: as an error,
    not as numbers.
    """
    if sp.issparse(X):
        check_sparse_structure(X, name)
    else:
        reject_strings(X, name)
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind is None and not sp.issparse(X):
        try:
            kind = np.asarray(X).dtype.kind
        except (ValueError, TypeError):  # ragged: reported by the array check
            kind = None
    if kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} has complex entries; signals and "
            "embeddings must be real"
        )


def reject_strings(X, name="X"):
    """Raise TypeError if an array-like holds strings or bytes.

    Examples
    --------
    >>> import numpy as np
    >>> reject_strings(np.array([["1", "0"]], dtype=object), "X")
    Traceback (most recent call last):
        ...
    TypeError: X holds strings (e.g. '1'); signals must be numbers: convert them first, e.g. np.asarray(X, dtype=float)
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a 2-D array of numbers, got a string")
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind in ("U", "S"):
        example = np.asarray(X).ravel()[:1]
    elif kind == "O" or (kind is None and isinstance(X, (list, tuple))):
        try:
            values = np.asarray(X, dtype=object).ravel()
        except (ValueError, TypeError):  # ragged: reported by the array check
            return
        strings = [v for v in values if isinstance(v, (str, bytes, np.str_, np.bytes_))]
        if not strings:
            return
        example = strings[:1]
    else:
        return
    if len(example):
        raise TypeError(
            f"{name} holds strings (e.g. {example[0]!r}); signals must be numbers: "
            "convert them first, e.g. np.asarray(X, dtype=float)"
        )


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
    mass = row_masses(X)
    limit = np.finfo(X.dtype).max
    huge = np.flatnonzero(~(mass <= limit))
    if huge.size:
        raise ValueError(
            f"{name} has signals whose total mass overflows {X.dtype} (rows {_few(huge)}); "
            "rescale them (the balanced EMD does not depend on the scale of a signal)"
        )
    if balanced:
        empty = np.flatnonzero(mass <= 0)
        if empty.size:
            raise ValueError(
                f"{name} has zero-mass signals (rows {_few(empty)}); the balanced EMD "
                "compares unit-mass distributions. Drop them, or use "
                "UnbalancedDiffusionEMD, which accepts any nonnegative mass"
            )


def row_masses(X):
    """Total mass of each row, summed in float64 (inf where it overflows)."""
    with np.errstate(over="ignore"):
        if sp.issparse(X):
            X = X.tocsr() if X.format != "csr" else X
            rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
            return np.bincount(rows, weights=np.asarray(X.data, dtype=np.float64),
                               minlength=X.shape[0])
        return np.asarray(X, dtype=np.float64).sum(axis=1)


def _few(indices, limit=5):
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")


def dense_rows(X, start, stop, dtype):
    """Rows ``start:stop`` of ``X`` (dense or sparse) as a new dense C array."""
    block = X[start:stop]
    if sp.issparse(block):
        return np.ascontiguousarray(block.toarray(), dtype=dtype)
    return np.array(block, dtype=dtype, order="C", copy=True)
