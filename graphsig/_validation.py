"""Checks shared by every public entry point.

Every array that reaches a compiled kernel passes through these first, so a
kernel only ever sees in-range indices, finite values and validated
parameters.
"""

import numbers

import numpy as np
import scipy.sparse as sp


def check_sparse_structure(matrix, name):
    """Check the index arrays of a scipy sparse matrix or array.

    scipy does not check the index arrays of a matrix built from raw arrays
    (``csr_matrix((data, indices, indptr))``, a file, or arrays changed in
    place), and compiled code that trusts them reads or writes out of bounds.
    This check costs one pass over the indices.

    Parameters
    ----------
    matrix : scipy.sparse matrix or array
        Any format; CSR, CSC and COO are checked in full, other formats are
        converted by scipy (which checks them) and left alone.
    name : str
        What to call the matrix in error messages.

    Raises
    ------
    ValueError
        If the index pointer is not a nondecreasing sequence from 0 to the
        number of stored entries, or an index is negative or not below the
        matching dimension.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> bad = sp.csr_matrix((np.ones(1), np.array([7]), np.array([0, 1, 1])), shape=(2, 3))
    >>> check_sparse_structure(bad, "X")
    Traceback (most recent call last):
        ...
    ValueError: X has column indices outside [0, 3) (found 7); the sparse matrix is corrupted
    """
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got a sparse array of shape {matrix.shape}")
    n_rows, n_cols = matrix.shape
    fmt = matrix.format
    if fmt in ("csr", "csc"):
        major, minor = (n_rows, n_cols) if fmt == "csr" else (n_cols, n_rows)
        what = ("row", "column") if fmt == "csr" else ("column", "row")
        indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
        for array, label in ((indptr, "index pointer"), (indices, f"{what[1]} indices")):
            if array.ndim != 1 or array.dtype.kind not in "iu":
                raise ValueError(
                    f"{name} has a malformed {label} array (dtype {array.dtype}, "
                    f"{array.ndim}-D); the sparse matrix is corrupted"
                )
        if indptr.size != major + 1:
            raise ValueError(
                f"{name} has an index pointer of length {indptr.size} for {major} "
                f"{what[0]}s (expected {major + 1}); the sparse matrix is corrupted"
            )
        nnz = int(indptr[-1]) if indptr.size else 0
        if int(indptr[0]) != 0 or nnz > min(indices.size, data.size):
            raise ValueError(
                f"{name} has an index pointer from {int(indptr[0])} to {nnz} but "
                f"{indices.size} indices and {data.size} values; the sparse matrix is corrupted"
            )
        if major and (np.diff(indptr) < 0).any():
            raise ValueError(
                f"{name} has a decreasing index pointer; the sparse matrix is corrupted"
            )
        _check_range(indices[:nnz], minor, f"{name} has {what[1]} indices")
        if indices.size != nnz or data.size != nnz:
            raise ValueError(
                f"{name} stores {indices.size} indices and {data.size} values beyond the "
                f"{nnz} its index pointer covers; the sparse matrix is corrupted"
            )
    elif fmt == "coo":
        row, col = _coo_coords(matrix)
        if not (row.size == col.size == matrix.data.size):
            raise ValueError(
                f"{name} has {row.size} row indices, {col.size} column indices and "
                f"{matrix.data.size} values; the sparse matrix is corrupted"
            )
        _check_range(row, n_rows, f"{name} has row indices")
        _check_range(col, n_cols, f"{name} has column indices")


def _coo_coords(matrix):
    coords = getattr(matrix, "coords", None)
    if coords is not None and len(coords) == 2:
        return np.asarray(coords[0]), np.asarray(coords[1])
    return np.asarray(matrix.row), np.asarray(matrix.col)


def _check_range(indices, bound, message):
    if indices.size == 0:
        return
    low, high = int(indices.min()), int(indices.max())
    if low < 0 or high >= bound:
        found = low if low < 0 else high
        raise ValueError(
            f"{message} outside [0, {bound}) (found {found}); the sparse matrix is corrupted"
        )


def check_integer(value, name, *, minimum=None, allow_none=False):
    """``value`` as an int, refusing booleans, floats and out-of-range values.

    Examples
    --------
    >>> check_integer(3, "n_neighbors", minimum=1)
    3
    >>> check_integer(True, "n_neighbors", minimum=1)
    Traceback (most recent call last):
        ...
    TypeError: n_neighbors must be an integer, got True (a bool)
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r} (a bool)")
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_real(value, name, *, positive=False, allow_none=False):
    """``value`` as a finite float, refusing booleans and non-numbers.

    Examples
    --------
    >>> check_real(2, "mass_penalty", positive=True)
    2.0
    >>> check_real(False, "mass_penalty", positive=True)
    Traceback (most recent call last):
        ...
    TypeError: mass_penalty must be a real number, got False (a bool)
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {value!r} (a bool)")
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_n_jobs(n_jobs):
    """``n_jobs`` as scikit-learn reads it: None, a positive int, or a negative int.

    ``-1`` means all cores, ``-2`` all but one, and so on; 0 is refused.

    Examples
    --------
    >>> check_n_jobs(0)
    Traceback (most recent call last):
        ...
    ValueError: n_jobs must be None, a positive integer or a negative integer (-1: all cores), got 0
    """
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be None or an integer, got {n_jobs!r}")
    if int(n_jobs) == 0:
        raise ValueError(
            "n_jobs must be None, a positive integer or a negative integer "
            "(-1: all cores), got 0"
        )
    return int(n_jobs)


def check_finite_output(values, what, hint):
    """Raise if an output holds NaN or inf (an overflow of extreme inputs)."""
    data = values.data if sp.issparse(values) else np.asarray(values)
    if data.dtype.kind == "f" and data.size and not np.isfinite(data).all():
        raise ValueError(f"{what} overflowed to a non-finite value; {hint}")


def validate_params(estimator):
    """scikit-learn's parameter validation, plus what its constraints let through.

    ``Interval(numbers.Integral, ...)`` and ``Interval(numbers.Real, ...)``
    accept ``True`` and ``False`` (bool is an int in Python), and
    ``numbers.Integral`` for ``n_jobs`` accepts 0. Both are refused here with
    scikit-learn's ``InvalidParameterError`` (a ValueError and a TypeError).
    """
    from sklearn.utils._param_validation import Interval, InvalidParameterError

    estimator._validate_params()
    params = estimator.get_params(deep=False)
    for name, constraints in estimator._parameter_constraints.items():
        value = params.get(name)
        if not isinstance(value, (bool, np.bool_)) or not isinstance(constraints, list):
            continue
        if "boolean" in constraints or bool in constraints:
            continue
        if any(isinstance(c, Interval) or c in (numbers.Integral, numbers.Real) for c in constraints):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be a number, "
                f"not a bool; got {value!r}."
            )
    if "n_jobs" in params and params["n_jobs"] is not None and int(params["n_jobs"]) == 0:
        raise InvalidParameterError(
            f"The 'n_jobs' parameter of {type(estimator).__name__} must be None, a positive "
            "integer or a negative integer (-1: all cores); got 0."
        )
