"""Embedding signals read from disk, one batch at a time."""

import copy
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._readers import SignalReader, open_signals
from ._writers import atomic_output, check_output

__all__ = ["transform_file"]

_DEFAULT_BATCH = 1024


def _check_fitted(estimator):
    from sklearn.utils.validation import check_is_fitted

    if not hasattr(estimator, "transform"):
        raise TypeError(
            f"estimator must be a fitted transformer such as DiffusionEMD, got "
            f"{type(estimator).__name__}"
        )
    check_is_fitted(estimator)


def _default_batch(estimator, dtype):
    """Signals per batch: the estimator's own batch of ``transform`` if it has one."""
    from ..emd._diffusion_emd import _BaseDiffusionEMD

    if isinstance(estimator, _BaseDiffusionEMD):
        return estimator._batch_size(np.dtype(dtype))
    return _DEFAULT_BATCH


def _bad_rows(batch):
    """Rows of a batch holding NaN or inf."""
    if sp.issparse(batch):
        bad = ~np.isfinite(batch.data)
        if not bad.any():
            return np.zeros(0, dtype=np.int64)
        rows = np.repeat(np.arange(batch.shape[0]), np.diff(batch.indptr))
        return np.unique(rows[bad])
    if batch.dtype.kind != "f":
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(~np.isfinite(batch).all(axis=1))


def _few(indices, limit=5):
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in this batch)" if len(indices) > limit else "")


def transform_file(estimator, source, *, batch_size=None, output=None, dtype=None,
                   progress=True, key=None):
    """Embed signals stored on disk, one batch of rows at a time.

    Only one batch of signals is in memory at a time (see
    :func:`open_signals` for how each format is read), and with ``output``
    the embedding goes to a memory-mapped ``.npy`` file instead of memory.
    The result equals ``estimator.transform(X)`` of the whole matrix, since
    the transform is row-wise.

    Parameters
    ----------
    estimator : fitted DiffusionEMD or UnbalancedDiffusionEMD
        Fitted on the same graph (for example on a sample of the signals).
    source : str, path, array-like or SignalReader
        The signals, one per row (see :func:`open_signals`).
    batch_size : int, optional
        Signals per batch (default: as many as one batch of the estimator's
        work memory, ``max_memory``).
    output : str or path, optional
        A ``.npy`` file to write the embedding to, returned memory-mapped.
        Sparse embeddings are written dense. The file is written under a
        temporary name in the same directory and renamed to ``output`` once
        complete: if an error or an interruption stops the run, the
        temporary file is removed and any older ``output`` is left as it
        was. ``output`` must not be the file the signals are read from.
    dtype : {numpy.float32, numpy.float64}, optional
        Cast each batch to this dtype first (the embedding has it). Default:
        the stored dtype (float32 stays float32, others become float64).
    progress : bool, default=True
        Show a progress bar (on stderr) when there is more than one batch.
    key : str, optional
        The array to read in a file (see :func:`open_signals`).

    Returns
    -------
    embedding : ndarray, numpy.memmap or CSR matrix of shape (n_signals, n_features_out)
        A CSR matrix when the estimator returns sparse embeddings (and no
        ``output``), a memory-mapped array when ``output`` is given.

    Raises
    ------
    FileNotFoundError
        If ``source`` is a path to no file.
    ValueError
        For unreadable, empty, corrupted or truncated files, signals with a
        number of columns other than the fitted graph's nodes, bad values
        (NaN, inf, negative), naming the rows, and an ``output`` that is the
        input file (also through a link).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from graphsig import DiffusionEMD
    >>> from graphsig.graphs import path_graph
    >>> from graphsig.io import transform_file
    >>> X = np.random.default_rng(0).uniform(size=(50, 8))
    >>> path = os.path.join(tempfile.mkdtemp(), "signals.npy")
    >>> np.save(path, X)
    >>> est = DiffusionEMD(path_graph(8)).fit(X[:20])
    >>> emb = transform_file(est, path, batch_size=16, progress=False)
    >>> bool((emb == est.transform(X)).all())
    True
    """
    _check_fitted(estimator)
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if output is not None:
        output = Path(output)
        if output.suffix != ".npy":
            raise ValueError(f"output must be a .npy file, got {str(output)!r}")
        check_output(output)
    owned = not isinstance(source, SignalReader)
    reader = open_signals(source, key=key)
    try:
        if output is None:
            return _transform_reader(estimator, reader, batch_size, None, dtype, progress)
        check_output(output, [reader.path])
        with atomic_output(output) as tmp:
            _transform_reader(estimator, reader, batch_size, tmp, dtype, progress)
    finally:
        if owned:
            reader.close()
    return np.load(output, mmap_mode="r+")


def _transform_reader(estimator, reader, batch_size, output, dtype, progress):
    n_signals, n_nodes = reader.shape
    fitted_nodes = getattr(estimator, "n_features_in_", None)
    if fitted_nodes is not None and n_nodes != fitted_nodes:
        raise ValueError(
            f"signals in {reader.name} have {n_nodes} columns (nodes) but "
            f"{type(estimator).__name__} was fitted on {fitted_nodes} nodes; the signals "
            "must have shape (n_signals, n_nodes)"
        )
    if n_signals == 0:
        raise ValueError(f"{reader.name} holds no signals (0 rows)")
    work_dtype = dtype or (
        reader.dtype if reader.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    )
    if batch_size is None:
        batch_size = _default_batch(estimator, work_dtype)
    n_batches = -(-n_signals // int(batch_size)) if int(batch_size) > 0 else 0

    est = copy.copy(estimator)  # the caller's estimator keeps its settings
    if "progress" in est.get_params(deep=False):
        est.set_params(progress=False)

    bar = None
    if progress and n_batches > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_signals, desc="embedding", unit="signal", file=sys.stderr)
    result = None
    parts = []
    try:
        start = 0
        for batch in reader.iter_batches(batch_size):
            stop = start + batch.shape[0]
            if dtype is not None:
                batch = batch.astype(dtype, copy=False)
            bad = _bad_rows(batch)
            if bad.size:
                raise ValueError(
                    f"signals in {reader.name} hold NaN or infinite values (rows "
                    f"{_few(bad + start)})"
                )
            try:
                emb = est.transform(batch)
            except ValueError as exc:
                raise ValueError(
                    f"in rows {start}..{stop - 1} of {reader.name} (row numbers below count "
                    f"from {start}): {exc}"
                ) from None
            if output is not None:
                if result is None:
                    result = np.lib.format.open_memmap(
                        output, mode="w+", dtype=emb.dtype, shape=(n_signals, emb.shape[1])
                    )
                result[start:stop] = emb.toarray() if sp.issparse(emb) else emb
            elif sp.issparse(emb):
                parts.append(sp.csr_matrix(emb))
            else:
                if result is None:
                    result = np.empty((n_signals, emb.shape[1]), dtype=emb.dtype)
                result[start:stop] = emb
            start = stop
            if bar is not None:
                bar.update(batch.shape[0])
        if parts:
            return sp.vstack(parts, format="csr")
        if output is not None:
            result.flush()
            return None  # the memory map closes with the last reference to it
        return result
    finally:
        if bar is not None:
            bar.close()
