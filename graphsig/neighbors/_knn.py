"""Exact L1 k-nearest neighbours between embeddings, dense or sparse."""

import numbers

import numpy as np
import scipy.sparse as sp

from .._signals import check_raw_signals
from .._validation import check_finite_output, check_n_jobs

__all__ = ["l1_kneighbors"]


def l1_kneighbors(queries, data=None, n_neighbors=5, *, n_jobs=None, exclude_self=False):
    """Exact ``n_neighbors`` nearest rows of ``data`` by L1 distance, for each query.

    Embeddings of graph signals compared by L1 approximate their earth
    mover's distance (see :class:`graphsig.DiffusionEMD`), so this is the
    exact nearest-neighbour search under the embedded EMD. Dense input runs
    a blocked multi-threaded numba kernel (each thread takes a block of
    queries and streams the data through the cache in blocks, keeping a
    sorted list of the ``n_neighbors`` best per query). Sparse (CSR) input
    runs a kernel over the nonzeros each query shares with the data rows,
    through an inverted (column) index, using
    ``|a - b|_1 = |a|_1 + |b|_1 - 2 sum_f [a_f b_f > 0] min(|a_f|, |b_f|)``;
    the returned distances are recomputed exactly from the two rows.

    Parameters
    ----------
    queries : {ndarray, sparse matrix} of shape (n_queries, n_features)
        Embeddings to search from, float32 or float64 (other dtypes are cast
        to float64).
    data : {ndarray, sparse matrix} of shape (n_samples, n_features), optional
        Embeddings to search in; defaults to ``queries``. If either is
        sparse, both are treated as CSR.
    n_neighbors : int, default=5
        Neighbours per query; at most ``n_samples`` (``n_samples - 1`` with
        ``exclude_self``).
    n_jobs : int, optional
        numba threads (default: numba's setting).
    exclude_self : bool, default=False
        Never return row ``i`` of ``data`` as a neighbour of query ``i``
        (the k-nearest-neighbour graph of a set without self-loops). Needs
        ``len(queries) == len(data)``; it is meant for ``data=None``.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        Sorted increasingly in each row. float32 when every input is float32
        (dense sums are then accumulated in float32), float64 otherwise.
    indices : ndarray of int64, shape (n_queries, n_neighbors)
        Rows of ``data``. Equal distances are ordered by index, so duplicate
        rows give the same answer on every run and thread count.

    See Also
    --------
    l1_distances : all distances, for small inputs.
    graphsig.neighbors.EMDNeighbors : the same search as a scikit-learn transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.neighbors import l1_kneighbors
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    >>> dist, ind = l1_kneighbors(X, n_neighbors=2)
    >>> ind.tolist()
    [[0, 1], [1, 0], [2, 0], [3, 1]]
    >>> dist, ind = l1_kneighbors(X, n_neighbors=2, exclude_self=True)
    >>> ind.tolist()                  # row 2: rows 0 and 3 tie at 3, by index
    [[1, 3], [0, 3], [0, 3], [1, 0]]
    >>> dist[2].tolist()
    [3.0, 3.0]
    """
    from .._threads import numba_threads as _numba_threads

    n_jobs = check_n_jobs(n_jobs)
    sparse = sp.issparse(queries) or (data is not None and sp.issparse(data))
    queries = _check_embedding(queries, "queries", sparse)
    data = queries if data is None else _check_embedding(data, "data", sparse)
    n_neighbors = _check_n_neighbors(n_neighbors)
    _check_search(queries.shape, data.shape, n_neighbors, exclude_self)

    n_queries = queries.shape[0]
    if sparse:
        distances, indices = _sparse_kneighbors(queries, data, n_neighbors, exclude_self, n_jobs)
        check_finite_output(distances, "an L1 distance", _OVERFLOW_HINT)
        return distances, indices
    from ._knn_kernels import l1_topk_dense

    dtype = np.result_type(queries.dtype, data.dtype)
    queries = np.ascontiguousarray(queries, dtype=dtype)
    data = np.ascontiguousarray(data, dtype=dtype)
    distances = np.empty((n_queries, n_neighbors), dtype=dtype)
    indices = np.empty((n_queries, n_neighbors), dtype=np.int64)
    if n_queries:
        from ._knn_kernels import recompute_dense_l1

        with _numba_threads(n_jobs):
            l1_topk_dense(queries, data, n_neighbors, bool(exclude_self), distances, indices)
            # the reported distances: one fixed-order sum per chosen pair, the
            # same whichever path (dense, sparse, Dask blocks) found the pair
            recompute_dense_l1(queries, data, indices, distances)
        order = np.lexsort((indices, distances))
        take = np.arange(n_queries)[:, None]
        distances, indices = distances[take, order], indices[take, order]
    check_finite_output(distances, "an L1 distance", _OVERFLOW_HINT)
    return distances, indices


_OVERFLOW_HINT = "the embeddings' values are too large for their dtype: rescale them"


# One overlap step of the sparse kernel costs about as much as this many
# feature differences of the dense kernel (measured on diffusion EMD
# embeddings, benchmarks/knn.py): denser inputs are searched densely.
_SPARSE_STEP_COST = 40
# bytes of densified rows per block
_DENSE_BLOCK_BYTES = 1 << 27


def _sparse_kneighbors(queries, data, n_neighbors, exclude_self, n_jobs):
    from .._threads import numba_threads as _numba_threads
    from ._knn_kernels import l1_topk_sparse

    q_counts = np.bincount(queries.indices, minlength=queries.shape[1]).astype(np.float64)
    d_counts = np.bincount(data.indices, minlength=data.shape[1]).astype(np.float64)
    sparse_work = _SPARSE_STEP_COST * float(q_counts @ d_counts)
    dense_work = float(queries.shape[0]) * data.shape[0] * data.shape[1]
    if sparse_work > dense_work:
        distances, indices = _densified_kneighbors(
            queries, data, n_neighbors, exclude_self, n_jobs
        )
        return _canonical_distances(queries, data, indices, n_jobs)

    columns = data.tocsc()
    columns.sort_indices()
    norms = np.asarray(abs(data).sum(axis=1), dtype=np.float64).ravel()
    order = np.argsort(norms, kind="stable").astype(np.int64)
    distances = np.empty((queries.shape[0], n_neighbors), dtype=np.float64)
    indices = np.empty((queries.shape[0], n_neighbors), dtype=np.int64)
    if queries.shape[0]:
        with _numba_threads(n_jobs):
            l1_topk_sparse(
                queries.indptr, queries.indices, queries.data,
                data.indptr, data.indices, data.data,
                columns.indptr, columns.indices, columns.data,
                norms, order, n_neighbors, bool(exclude_self), distances, indices,
            )
    dtype = np.result_type(queries.dtype, data.dtype)
    return distances.astype(dtype, copy=False), indices


def _canonical_distances(queries, data, indices, n_jobs):
    """Distances of found neighbours by the sparse kernel's exact merge, rows re-sorted.

    The densified search sums in another order; recomputing makes results
    independent of which path ran and of how the rows were blocked.
    """
    from .._threads import numba_threads as _numba_threads
    from ._knn_kernels import recompute_l1

    distances = np.empty(indices.shape, dtype=np.float64)
    if indices.size:
        with _numba_threads(n_jobs):
            recompute_l1(queries.indptr, queries.indices, queries.data,
                         data.indptr, data.indices, data.data, indices, distances)
        order = np.lexsort((indices, distances))
        take = np.arange(indices.shape[0])[:, None]
        distances, indices = distances[take, order], indices[take, order]
    dtype = np.result_type(queries.dtype, data.dtype)
    return distances.astype(dtype, copy=False), indices


def _densified_kneighbors(queries, data, n_neighbors, exclude_self, n_jobs):
    """The dense kernel over blocks of densified rows, merged by (distance, index)."""
    from .._threads import numba_threads as _numba_threads
    from ._knn_kernels import l1_topk_dense

    dtype = np.result_type(queries.dtype, data.dtype)
    rows = max(256, _DENSE_BLOCK_BYTES // (dtype.itemsize * max(1, data.shape[1])))
    n_q, n_d = queries.shape[0], data.shape[0]
    distances = np.empty((n_q, n_neighbors), dtype=dtype)
    indices = np.empty((n_q, n_neighbors), dtype=np.int64)
    for q0 in range(0, n_q, rows):
        q1 = min(q0 + rows, n_q)
        Q = np.ascontiguousarray(queries[q0:q1].toarray(), dtype=dtype)
        best_d = best_i = None
        for d0 in range(0, n_d, rows):
            d1 = min(d0 + rows, n_d)
            D = np.ascontiguousarray(data[d0:d1].toarray(), dtype=dtype)
            # a query's own row may be in this block: search one more, then drop it
            own_rows = exclude_self and d0 < q1 and q0 < d1
            k = min(n_neighbors + own_rows, d1 - d0)
            block_d = np.empty((q1 - q0, k), dtype=dtype)
            block_i = np.empty((q1 - q0, k), dtype=np.int64)
            with _numba_threads(n_jobs):
                l1_topk_dense(Q, D, k, False, block_d, block_i)
            block_i += d0
            if own_rows:
                block_d = np.where(block_i == np.arange(q0, q1)[:, None], np.inf, block_d)
            if best_d is not None:
                block_d = np.concatenate([best_d, block_d], axis=1)
                block_i = np.concatenate([best_i, block_i], axis=1)
            order = np.lexsort((block_i, block_d))[:, :n_neighbors]
            take = np.arange(q1 - q0)[:, None]
            best_d, best_i = block_d[take, order], block_i[take, order]
        distances[q0:q1] = best_d
        indices[q0:q1] = best_i
    return distances, indices


def _check_n_neighbors(n_neighbors):
    """``n_neighbors`` as an int of at least 1, or a TypeError / ValueError."""
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral):
        raise TypeError(f"n_neighbors must be an int, got {type(n_neighbors).__name__}")
    n_neighbors = int(n_neighbors)
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors must be at least 1, got {n_neighbors}")
    return n_neighbors


def _check_search(queries_shape, data_shape, n_neighbors, exclude_self):
    """Widths agree, and the data hold ``n_neighbors`` rows for every query."""
    if queries_shape[1] != data_shape[1]:
        raise ValueError(
            f"queries and data must have the same number of features, got "
            f"{queries_shape[1]} and {data_shape[1]}"
        )
    if exclude_self and queries_shape[0] != data_shape[0]:
        raise ValueError(
            "exclude_self=True needs as many queries as data rows (query i is data row i), "
            f"got {queries_shape[0]} and {data_shape[0]}"
        )
    available = data_shape[0] - (1 if exclude_self else 0)
    if n_neighbors > available:
        raise ValueError(
            f"n_neighbors={n_neighbors} is larger than the {available} data rows available"
            + (" (excluding each query itself)" if exclude_self else "")
        )


def _check_embedding(X, name, sparse):
    """Validate one embedding: 2-D, float32/float64, finite; CSR with sorted indices if sparse."""
    check_raw_signals(X, name)
    if sparse:
        if not sp.issparse(X):
            X = np.asarray(X)
            if X.ndim != 2:
                raise ValueError(
                    f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}"
                )
            if X.dtype not in (np.float32, np.float64):
                X = X.astype(np.float64)  # float16 and ints: not scipy.sparse dtypes
        X = sp.csr_matrix(X) if not (sp.issparse(X) and X.format == "csr") else X
        values = X.data
    else:
        X = np.asarray(X)
        values = X
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if values.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
            raise TypeError(f"{name} must hold numbers, got dtype {values.dtype}")
        X = X.astype(np.float64)
        values = X.data if sparse else X
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or inf")
    if sparse:
        if not X.has_sorted_indices:
            X = X.sorted_indices()
        if X.has_canonical_format is False:
            X = X.copy()
            X.sum_duplicates()
    return X
