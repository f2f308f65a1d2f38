"""L1 distances between embeddings."""

import numpy as np

from .._signals import check_raw_signals
from .._validation import check_finite_output, check_n_jobs

__all__ = ["l1_distances"]


def l1_distances(A, B=None, *, n_jobs=None):
    """All L1 (Manhattan) distances between the rows of two embeddings.

    A multi-threaded numba kernel; embeddings of graph signals compared by L1
    approximate their earth mover's distance (see :class:`graphsig.DiffusionEMD`).

    Parameters
    ----------
    A : {ndarray, sparse matrix} of shape (n_a, n_features)
        Sparse input (such as compressed embeddings of sparse signals) is
        made dense, since the result is dense anyway; for many signals use
        :func:`l1_kneighbors`.
    B : {ndarray, sparse matrix} of shape (n_b, n_features), optional
        Defaults to ``A``.
    n_jobs : int, optional
        numba threads (default: numba's setting).

    Returns
    -------
    distances : ndarray of shape (n_a, n_b)
        float32 when both inputs are float32, float64 otherwise. Each
        distance is summed in float64 in feature order, as a plain loop would:
        the bits do not depend on the threads, the blocking or the machine's
        numba cache.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.neighbors import l1_distances
    >>> A = np.array([[0.0, 1.0], [2.0, 3.0], [1.0, 1.0]])
    >>> l1_distances(A).tolist()
    [[0.0, 4.0, 1.0], [4.0, 0.0, 3.0], [1.0, 3.0, 0.0]]
    """
    from .._threads import numba_threads as _numba_threads
    from ._kernels import l1_cross

    n_jobs = check_n_jobs(n_jobs)
    A = _as_embedding(A, "A")
    B = A if B is None else _as_embedding(B, "B")
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"A and B must have the same number of features, got {A.shape[1]} and {B.shape[1]}"
        )
    dtype = np.result_type(A.dtype, B.dtype)
    A = np.ascontiguousarray(A, dtype=dtype)
    B = np.ascontiguousarray(B, dtype=dtype)
    out = np.empty((A.shape[0], B.shape[0]), dtype=dtype)
    with _numba_threads(n_jobs):
        l1_cross(A, B, out)
    check_finite_output(
        out, "an L1 distance", "the embeddings' values are too large for their dtype: rescale them"
    )
    return out


def _as_embedding(X, name):
    check_raw_signals(X, name)
    if hasattr(X, "toarray"):  # scipy.sparse: all pairs are dense anyway
        X = X.toarray()
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_signals, n_features), got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or inf")
    return X
