"""Row-chunked embedding and block-by-block kNN on Dask."""

import asyncio
import copy
import math
import numbers
import os
import threading

import numpy as np
import scipy.sparse as sp

from ..neighbors._knn import _check_n_neighbors, _check_search

__all__ = ["connect", "embed", "kneighbors"]

_DEFAULT_TIMEOUT = 10.0
# extra time the handshake probe allows after ``timeout``, so that a connection
# that fails within ``timeout`` reports its own error
_PROBE_GRACE = 0.5
# largest output of one chunk when the chunks are chosen here
_CHUNK_BYTES = 256 * 2**20

_CLIENTS = {}
_CLIENTS_LOCK = threading.Lock()


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise ImportError(
            "graphsig.parallel needs Dask: pip install graphsig[dask] "
            "(dask[array,distributed])"
        ) from None
    return dask, da


# ---------------------------------------------------------------------------
# clients


def connect(address, *, timeout=_DEFAULT_TIMEOUT):
    """A Dask client connected to the scheduler at ``address``.

    Connecting gives up after about ``timeout`` seconds instead of waiting
    for a scheduler that never answers, including at a port that accepts
    connections without answering the Dask handshake (another service, or a
    hung scheduler). Clients are kept per address: connecting
    again to the same address returns the same client while it is open. The
    client becomes Dask's default one, so that ``.compute()`` on the arrays
    returned by :func:`embed` runs on it.

    Parameters
    ----------
    address : str
        The scheduler's address, such as ``"tcp://10.0.0.5:8786"``.
    timeout : float, default=10
        Seconds allowed to connect.

    Returns
    -------
    client : distributed.Client

    Raises
    ------
    ConnectionError
        If no scheduler answers at ``address`` within ``timeout`` seconds
        (the message names both).

    Notes
    -----
    ``distributed.Client(address, timeout=...)`` bounds only the opening
    of the connection: the handshake that follows waits for the other side
    without a deadline. A probe connection, handshake included, therefore
    runs first under a hard deadline, in a short-lived thread with its own
    event loop (which ends with the probe); the client connects once the
    probe has been answered.

    Examples
    --------
    >>> from graphsig.parallel import connect
    >>> connect("tcp://127.0.0.1:9", timeout=0.5)  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    ConnectionError: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 0.5 s: ...
    """
    _import_dask()
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(
            "connecting to a Dask cluster needs distributed: pip install graphsig[dask]"
        ) from None
    if not isinstance(address, str) or not address:
        raise TypeError(f"address must be a non-empty string, got {address!r}")
    timeout = _check_timeout(timeout)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status in ("running", "connecting"):
            return client
        try:
            _probe(address, timeout)
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s: {exc}"
            ) from None
        _CLIENTS[address] = client
    return client


def _probe(address, timeout):
    """Open and close one connection to ``address``, handshake included, in bounded time.

    Raises
    ------
    TimeoutError
        If the handshake has not been answered ``timeout`` seconds (plus a
        grace) after connecting started.
    OSError
        If no connection could be opened within ``timeout`` seconds, or it
        broke during the handshake, or the answer was not Dask's.
    """
    from distributed.comm import connect as comm_connect
    from distributed.security import Security

    deadline = timeout + min(_PROBE_GRACE, timeout / 4)
    args = Security().get_connection_args("client")  # as a Client without ``security``

    async def probe():
        # opening the connection gives up after ``timeout`` (with its own
        # error): only the handshake can still be waiting at ``deadline``
        try:
            comm = await asyncio.wait_for(
                comm_connect(address, timeout=timeout, **args), deadline
            )
        except asyncio.TimeoutError:
            raise TimeoutError(
                "the port accepts connections but no Dask scheduler answered the handshake"
            ) from None
        await comm.close()

    outcome = []

    def run():
        try:
            asyncio.run(probe())
        except BaseException as exc:  # re-raised in the calling thread
            outcome.append(exc)
        else:
            outcome.append(None)

    # its own thread and event loop: the caller may be running a loop already
    thread = threading.Thread(target=run, name=f"graphsig-probe {address}", daemon=True)
    thread.start()
    thread.join(deadline + 5.0)  # the probe ends at ``deadline``; 5 s for a stuck DNS lookup
    if not outcome:
        raise TimeoutError(f"no answer within {deadline + 5.0:g} s")
    if outcome[0] is not None:
        exc = outcome[0]
        if isinstance(exc, (OSError, TimeoutError)):
            raise exc
        reason = f"{type(exc).__name__}: {exc}"
        raise OSError(f"the answer is not a Dask scheduler's ({reason})") from exc


def _check_timeout(timeout):
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be a number of seconds, got {timeout!r}")
    timeout = float(timeout)
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout}")
    return timeout


def _resolve_client(client, timeout):
    """A distributed client, or None to use Dask's default scheduler."""
    if isinstance(client, str):
        return connect(client, timeout=timeout)
    if client is not None:
        if not hasattr(client, "scatter"):
            raise TypeError(
                "client must be a distributed.Client, a scheduler address or None, "
                f"got {type(client).__name__}"
            )
        return client
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:  # no client: Dask's local scheduler
        return None


def _total_threads(client):
    if client is None:
        return os.cpu_count() or 1
    return max(1, sum(client.nthreads().values()))


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a nonzero integer, got {n_jobs!r}")
    return int(n_jobs)


def _task_threads(n_jobs):
    """numba threads of one task: ``n_jobs``, else one (see :func:`embed`)."""
    return 1 if n_jobs is None else n_jobs


# ---------------------------------------------------------------------------
# row chunks


def _chunk_rows(n_rows, chunk_size, n_threads, row_bytes, batch=None):
    """Row chunk sizes: ``chunk_size``, or the default rule.

    The default rule: two chunks per worker thread, each of at most 256 MiB
    of output (``row_bytes`` per row); and, given the estimator's ``batch``
    (the signals ``transform`` embeds at once, ``estimator._batch_size``,
    the rule the file readers and the command line follow too), a chunk of
    more than one batch is cut down to a whole number of batches, so that
    each task runs the same full batches as the serial transform.
    """
    if chunk_size is None:
        size = max(1, math.ceil(n_rows / (2 * n_threads)))
        size = min(size, max(1, _CHUNK_BYTES // max(1, row_bytes)))
        if batch is not None and size > batch:
            size -= size % batch
    else:
        if (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, numbers.Integral)
            or chunk_size < 1
        ):
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        size = int(chunk_size)
    sizes = [size] * (n_rows // size)
    if n_rows % size or not sizes:
        sizes.append(n_rows % size)
    return tuple(sizes)


def _is_dask_array(X):
    try:
        import dask.array as da
    except ImportError:
        return False
    return isinstance(X, da.Array)


def _as_row_chunked(X, name, chunk_size, client, row_bytes, batch=None):
    """``X`` as a dask array chunked by rows only (one chunk across the columns).

    ``batch``: a function of the output dtype giving the estimator's batch
    (see :func:`_chunk_rows`), or None.
    """
    dask, da = _import_dask()
    if _is_dask_array(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_rows, n_columns), got shape {X.shape}")
        if any(math.isnan(s) for s in X.shape):
            raise ValueError(f"{name} must have known chunk sizes: call {name}.compute_chunk_sizes()")
        if chunk_size is not None:
            X = X.rechunk({0: _chunk_rows(X.shape[0], chunk_size, 1, row_bytes)})
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        return X
    if sp.issparse(X):
        X = X.tocsr()
        meta = sp.csr_matrix((0, 0), dtype=X.dtype)
    else:
        X = np.asarray(X)
        meta = np.empty((0, 0), dtype=X.dtype)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_rows, n_columns), got shape {X.shape}")
    rows = None if batch is None else batch(_output_dtype(X.dtype))
    sizes = _chunk_rows(X.shape[0], chunk_size, _total_threads(client), row_bytes, rows)
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    parts = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    # Each chunk is a task of the graph that holds its rows, rather than data
    # scattered to one worker: when a worker dies, the scheduler runs the
    # tasks of its chunks again on the others, whereas scattered data would
    # be lost with it (and the job with them). This costs one copy of the
    # input on the scheduler while the graph runs; replicating scattered
    # chunks instead would cost a copy per worker, and still lose data when
    # the holders of a chunk die.
    blocks = [
        da.from_delayed(dask.delayed(p, pure=False), shape=p.shape, dtype=X.dtype, meta=meta)
        for p in parts
    ]
    return da.concatenate(blocks, axis=0)


def _output_dtype(dtype):
    """dtype of the transform of signals of ``dtype``: float32 stays, else float64."""
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _estimator_batch(estimator):
    """The fitted estimator's batch size as a function of the dtype, or None.

    None for transformers other than DiffusionEMD and UnbalancedDiffusionEMD.
    """
    from ..emd._diffusion_emd import _BaseDiffusionEMD

    if not isinstance(estimator, _BaseDiffusionEMD):
        return None
    return lambda dtype: max(1, int(estimator._batch_size(dtype)))


def _broadcast(obj, client):
    """One reference to ``obj`` on every worker (a delayed object without a client)."""
    dask, _ = _import_dask()
    if client is None:
        return dask.delayed(obj, pure=False, traverse=False)
    return client.scatter(obj, broadcast=True, hash=False)


# ---------------------------------------------------------------------------
# embedding


def _transform_chunk(block, estimator, n_jobs):
    """Transform one row chunk on a worker with ``n_jobs`` numba threads."""
    from .._threads import numba_threads as _numba_threads

    threads = _task_threads(n_jobs)
    est = copy.copy(estimator)  # shares the fitted state; the worker's copy stays unchanged
    params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
    settings = {k: v for k, v in (("n_jobs", threads), ("progress", False)) if k in params}
    if settings:
        est.set_params(**settings)
    with _numba_threads(threads):
        return est.transform(block)


def _check_fitted(estimator):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not hasattr(estimator, "transform"):
        raise TypeError(
            f"estimator must be a fitted transformer such as DiffusionEMD, got "
            f"{type(estimator).__name__}"
        )
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted: call fit on a sample of the "
            "signals before embed (the fitted state is what the workers share)"
        ) from None


def _probe_output(estimator, X):
    """Type, dtype and width of the transform of ``X``'s kind, from one unit-mass row."""
    row = np.zeros((1, X.shape[1]), dtype=_output_dtype(X.dtype))
    row[0, 0] = 1.0
    if isinstance(X._meta, sp.spmatrix) or sp.issparse(X._meta):
        row = sp.csr_matrix(row)
    out = _transform_chunk(row, estimator, 1)
    return out


def embed(estimator, X, *, client=None, chunk_size=None, n_jobs=None, timeout=_DEFAULT_TIMEOUT):
    """Transform signals on a Dask cluster, one row chunk per task.

    The fitted estimator (with its graph operator) is sent once to every
    worker (``client.scatter(..., broadcast=True)``); each task then
    transforms one row chunk of ``X`` there. Since the transform is
    row-wise and deterministic, the result equals ``estimator.transform(X)``
    exactly.

    Each task runs the estimator's numba kernels on ``n_jobs`` threads
    (default one). A worker runs as many tasks at once as it has threads
    (its ``nthreads``), so with the default a worker keeps exactly its
    ``nthreads`` cores busy and workers sharing a machine do not
    oversubscribe it, whatever ``n_jobs`` the estimator holds. Workers
    started with one thread each (``dask worker --nthreads 1``) may use
    ``n_jobs`` equal to their cores instead.

    Parameters
    ----------
    estimator : fitted DiffusionEMD or UnbalancedDiffusionEMD
        Any fitted transformer whose transform is row-wise works.
    X : dask array, ndarray or sparse matrix of shape (n_signals, n_nodes)
        The signals. A dask array keeps its row chunks (its columns are
        joined into one chunk); other inputs are cut into row chunks, each
        a task of the graph holding its rows (see Notes).
    client : distributed.Client, str or None
        The cluster: a client, a scheduler address (see :func:`connect`), or
        None for the default client if there is one, else Dask's local
        scheduler (threads of this process).
    chunk_size : int, optional
        Rows per task. For a dask array, rechunks its rows if given. The
        default for other input: two chunks per worker thread, each of at
        most 256 MiB of output; a chunk larger than one of the estimator's
        batches (the signals ``transform`` embeds at once within its
        ``max_memory``, the batches :mod:`graphsig.io` and the command line
        read too) is cut down to a whole number of batches, so that a task
        runs the same full batches as the serial transform and its work
        memory stays within ``max_memory``.
    n_jobs : int, optional
        numba threads per task (default 1).
    timeout : float, default=10
        Seconds allowed to connect when ``client`` is an address.

    Returns
    -------
    embedding : dask array of shape (n_signals, n_features_out)
        Lazy; row chunks as those of ``X``, one chunk across the columns.
        The chunks are ndarrays, or scipy.sparse CSR matrices when the
        estimator returns sparse embeddings (then ``.compute()`` stacks them
        into one CSR matrix). ``.compute()`` runs on the default client:
        with a client that is not the default, use ``client.compute``.

    Raises
    ------
    NotFittedError
        If the estimator is not fitted.
    ValueError
        If ``X`` has not one column per node of the fitted graph.
    ConnectionError
        If ``client`` is an address where no scheduler answers in time.

    Notes
    -----
    A worker that dies during the computation loses its chunks and
    results; the scheduler runs their tasks again on the other workers and
    the result stays bitwise the same. This holds for every kind of input:
    a dask array's chunks are tasks already, and an ndarray or sparse
    matrix is cut into tasks that each hold their rows, so the scheduler
    keeps one copy of the input while the computation runs (data scattered
    to a single worker would be lost with it). The fitted estimator is sent
    to every worker, and workers that join later copy it from the others:
    it is lost only if every worker holding it dies.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig import DiffusionEMD
    >>> from graphsig.graphs import grid_graph
    >>> from graphsig.parallel import embed
    >>> X = np.random.default_rng(0).uniform(size=(40, 16))
    >>> est = DiffusionEMD(grid_graph(4, 4)).fit(X)
    >>> emb = embed(est, X, chunk_size=16)  # no cluster: Dask's local threads
    >>> emb.chunks[0]
    (16, 16, 8)
    >>> bool((emb.compute() == est.transform(X)).all())
    True
    """
    _import_dask()
    _check_fitted(estimator)
    n_jobs = _check_n_jobs(n_jobs)
    client = _resolve_client(client, _check_timeout(timeout))
    n_nodes = getattr(estimator, "n_features_in_", None)
    n_out = getattr(estimator, "n_features_out_", None)
    row_bytes = 8 * (n_out or 1)
    X = _as_row_chunked(X, "X", chunk_size, client, row_bytes, _estimator_batch(estimator))
    if n_nodes is not None and X.shape[1] != n_nodes:
        raise ValueError(
            f"X has {X.shape[1]} columns (nodes) but {type(estimator).__name__} was fitted "
            f"on {n_nodes} nodes; X must have shape (n_signals, n_nodes)"
        )
    if X.shape[0] == 0:
        raise ValueError("X has no signals (0 rows)")
    sparse_in = sp.issparse(X._meta) or isinstance(X._meta, sp.spmatrix)
    if sparse_in or n_out is None:
        probe = _probe_output(estimator, X)
        meta = probe[:0]
        n_out = probe.shape[1]
    else:
        meta = np.empty((0, 0), dtype=_output_dtype(X.dtype))
    ref = _broadcast(estimator, client)
    return X.map_blocks(
        _transform_chunk,
        ref,
        n_jobs,
        chunks=(X.chunks[0], (n_out,)),
        dtype=meta.dtype,
        meta=meta,
    )


# ---------------------------------------------------------------------------
# nearest neighbours


def _block_kneighbors(queries, data, n_neighbors, offset, diagonal, n_jobs):
    """kNN of a query chunk in one data chunk, with global data indices.

    ``diagonal``: the chunks hold the same rows, query ``i`` is data row ``i``
    and is left out.
    """
    from .._threads import numba_threads as _numba_threads
    from ..neighbors import l1_kneighbors

    threads = _task_threads(n_jobs)
    with _numba_threads(threads):
        dist, ind = l1_kneighbors(queries, data, n_neighbors, n_jobs=threads,
                                  exclude_self=diagonal)
    return dist, ind + offset


def _merge_kneighbors(parts, n_neighbors):
    """The ``n_neighbors`` best of several candidate lists, ties by smaller index."""
    dist = np.concatenate([p[0] for p in parts], axis=1)
    ind = np.concatenate([p[1] for p in parts], axis=1)
    order = np.lexsort((ind, dist), axis=1)[:, :n_neighbors]
    rows = np.arange(dist.shape[0])[:, None]
    return dist[rows, order], ind[rows, order]


def kneighbors(queries, data=None, n_neighbors=5, *, client=None, exclude_self=False,
               chunk_size=None, n_jobs=None, timeout=_DEFAULT_TIMEOUT):
    """Exact L1 nearest neighbours, block by block on a Dask cluster.

    The distributed form of :func:`graphsig.neighbors.l1_kneighbors` for
    embeddings that do not fit one process: each row chunk of the queries
    is searched in each row chunk of the data by one task, and the
    candidates of a query chunk are merged by distance, equal distances by
    smaller index. The result equals ``l1_kneighbors(queries, data, ...)``
    exactly.

    Parameters
    ----------
    queries : dask array, ndarray or sparse matrix of shape (n_queries, n_features)
        Embeddings to search from, for example the result of :func:`embed`.
    data : same kinds, shape (n_samples, n_features), optional
        Embeddings to search in; defaults to ``queries``.
    n_neighbors : int, default=5
        Neighbours per query.
    client : distributed.Client, str or None
        As for :func:`embed`.
    exclude_self : bool, default=False
        Never return row ``i`` of ``data`` as a neighbour of query ``i``
        (for ``data=None``: the kNN graph without self-loops).
    chunk_size : int, optional
        Rows per block (default: two blocks per worker thread, each of at
        most 256 MiB); dask arrays keep their row chunks unless given. As
        in :func:`embed`, a worker that dies loses no input: its blocks are
        computed again on the others.
    n_jobs : int, optional
        numba threads per task (default 1, see :func:`embed`).
    timeout : float, default=10
        Seconds allowed to connect when ``client`` is an address.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
    indices : ndarray of int64, shape (n_queries, n_neighbors)
        As returned by :func:`~graphsig.neighbors.l1_kneighbors`.

    Examples
    --------
    >>> import numpy as np
    >>> from graphsig.parallel import kneighbors
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    >>> dist, ind = kneighbors(X, n_neighbors=2, exclude_self=True, chunk_size=2)
    >>> ind.tolist(), dist[:, 0].tolist()
    ([[1, 3], [0, 3], [0, 3], [1, 0]], [1.0, 1.0, 3.0, 1.0])
    """
    dask, _ = _import_dask()
    n_jobs = _check_n_jobs(n_jobs)
    n_neighbors = _check_n_neighbors(n_neighbors)
    client = _resolve_client(client, _check_timeout(timeout))
    self_search = data is None
    row_bytes = 8 * (queries.shape[1] if len(getattr(queries, "shape", ())) == 2 else 1)
    Q = _as_row_chunked(queries, "queries", chunk_size, client, row_bytes)
    D = Q if self_search else _as_row_chunked(data, "data", chunk_size, client, row_bytes)
    _check_search(Q.shape, D.shape, n_neighbors, exclude_self)
    if exclude_self and not self_search and Q.chunks[0] != D.chunks[0]:
        D = D.rechunk({0: Q.chunks[0]})
    q_blocks = Q.to_delayed().ravel()
    d_blocks = D.to_delayed().ravel()
    d_sizes = D.chunks[0]
    d_offsets = np.concatenate([[0], np.cumsum(d_sizes)]).astype(np.int64)
    block_knn = dask.delayed(_block_kneighbors, pure=True)
    merge = dask.delayed(_merge_kneighbors, pure=True)
    results = []
    for i, q in enumerate(q_blocks):
        parts = []
        for j, d in enumerate(d_blocks):
            diagonal = exclude_self and i == j
            k = min(n_neighbors, d_sizes[j] - (1 if diagonal else 0))
            if k < 1:
                continue
            parts.append(block_knn(q, d, k, int(d_offsets[j]), diagonal, n_jobs))
        results.append(merge(parts, n_neighbors))
    if client is not None:
        results = client.gather(client.compute(results))
    else:
        results = dask.compute(*results)
    distances = np.concatenate([r[0] for r in results], axis=0)
    indices = np.concatenate([r[1] for r in results], axis=0)
    return distances, indices
