"""Readers of graphs and signals stored on disk: whole, or one batch of rows at a time."""

import numbers
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .._validation import check_sparse_structure
from ._formats import (
    FileReadError,
    MissingEntryError,
    NpyMember,
    check_indptr,
    check_input,
    choose_member,
    h5_sparse_layout,
    load_h5_matrix,
    load_mtx,
    load_npy,
    load_npz,
    load_sparse_members,
    npz_members,
    open_h5,
    open_npz,
    read_member,
    reading,
    sparse_layout,
)

__all__ = ["SignalReader", "open_signals", "read_graph", "read_signals"]

_SUFFIXES = (".npy", ".npz", ".h5ad", ".h5", ".hdf5")
_NPZ_KEYS = ("signals", "X")
_GRAPH_KEYS = ("adjacency", "graph", "W", "A")
_MATRIX_SUFFIXES = (".npz", ".mtx", ".mtx.gz", ".npy", ".h5ad")
_MATRIX_LISTING = ".npz, .mtx, .npy or .h5ad"


class SignalReader:
    """Rows of a signal matrix, read batch by batch.

    Returned by :func:`open_signals`; use it as a context manager (or call
    :meth:`close`) to release the file. Rows are the signals, columns the
    nodes of the graph.

    Attributes
    ----------
    shape : tuple of int
        ``(n_signals, n_nodes)``.
    dtype : numpy.dtype
        dtype of the stored values.
    sparse : bool
        Whether batches are scipy.sparse CSR matrices (else ndarrays).
    name : str
        The file (or a description of the array) read, as messages quote it.
    path : str or None
        The file read, if any.
    """

    sparse = False
    path = None

    def __init__(self, shape, dtype, name):
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2:
            raise FileReadError(
                f"signals in {name} must be a 2-D array (n_signals, n_nodes), got shape {shape}"
            )
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.name = name
        if self.dtype.kind not in "biuf":
            raise TypeError(f"signals in {name} must hold numbers, got dtype {self.dtype}")

    def _rows(self, start, stop):
        """Rows ``start:stop``, any error of reading the file naming it."""
        with reading("signals", self.name):
            return self._read(start, stop)

    def __repr__(self):
        kind = "sparse" if self.sparse else "dense"
        return (f"<{type(self).__name__} {self.name}: {self.shape[0]} x {self.shape[1]} "
                f"{kind} {self.dtype}>")

    @property
    def n_signals(self):
        """Number of rows (signals)."""
        return self.shape[0]

    @property
    def n_nodes(self):
        """Number of columns (nodes)."""
        return self.shape[1]

    def read(self, start, stop):
        """Rows ``start:stop`` as a new ndarray, or a CSR matrix if :attr:`sparse`."""
        start, stop = _check_range(start, stop, self.shape[0])
        return self._rows(start, stop)

    def take(self, rows):
        """The given rows, in increasing order of index (an ndarray or CSR matrix)."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if rows.size and (rows[0] < 0 or rows[-1] >= self.shape[0]):
            raise IndexError(f"rows must be in [0, {self.shape[0]}), got {rows[[0, -1]].tolist()}")
        parts = [self._rows(int(r), int(r) + 1) for r in rows]
        if not parts:
            return self._rows(0, 0)
        return sp.vstack(parts, format="csr") if self.sparse else np.concatenate(parts)

    def iter_batches(self, batch_size, *, start=0, stop=None):
        """Yield consecutive batches of ``batch_size`` rows (the last may be shorter).

        Parameters
        ----------
        batch_size : int
            Rows per batch.
        start, stop : int, optional
            The range of rows to read (default all).

        Yields
        ------
        batch : ndarray or CSR matrix of shape (n_rows, n_nodes)
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        start, stop = _check_range(start, self.shape[0] if stop is None else stop, self.shape[0])
        for a in range(start, stop, int(batch_size)):
            yield self._rows(a, min(a + int(batch_size), stop))

    def close(self):
        """Release the file."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, start, stop):  # pragma: no cover - abstract
        raise NotImplementedError


def _check_range(start, stop, n):
    start, stop = int(start), int(stop)
    if not 0 <= start <= stop <= n:
        raise IndexError(f"rows {start}:{stop} are outside [0, {n}]")
    return start, stop


# ---------------------------------------------------------------------------
# arrays in memory, memory maps, HDF5 datasets


class _ArrayReader(SignalReader):
    """Any 2-D array-like supporting row slices; scipy.sparse matrices as CSR.

    With ``owned``, the array was read whole for this reader alone: reading
    all its rows returns it without a copy.
    """

    def __init__(self, array, name, owner=None, *, owned=False):
        if sp.issparse(array):
            check_sparse_structure(array, f"the signals in {name}")
            array = array.tocsr()
            self.sparse = True
        self._array = array
        self._owner = owner
        self._owned = owned
        super().__init__(array.shape, array.dtype, name)
        filename = getattr(array, "filename", None)  # numpy.memmap
        if filename is None and hasattr(array, "file"):  # h5py dataset
            filename = getattr(array.file, "filename", None)
        self.path = filename

    def _read(self, start, stop):
        if self._owned and start == 0 and stop == self.shape[0]:
            return self._array
        block = self._array[start:stop]
        if self.sparse:
            return sp.csr_matrix(block)
        return np.array(block, copy=True)

    def close(self):
        self._array = None
        if self._owner is not None:
            self._owner.close()
            self._owner = None


# ---------------------------------------------------------------------------
# .npz archives: members streamed sequentially


class _SparseNpzReader(SignalReader):
    """A CSR matrix saved by ``scipy.sparse.save_npz``: ``indptr`` read first,
    then ``indices`` and ``data`` streamed batch by batch."""

    sparse = True

    def __init__(self, archive, members, name, shape):
        self._archive = archive
        self._members = []
        try:
            indptr = read_member(archive, members["indptr"])
            self._indices = self._member(members["indices"])
            self._data = self._member(members["data"])
            super().__init__(shape, self._data.dtype, name)
            if self._indices.dtype.kind not in "iu" or len(self._indices.shape) != 1:
                raise ValueError(
                    f"the sparse matrix has a malformed indices array (dtype "
                    f"{self._indices.dtype}); the sparse matrix is corrupted"
                )
            check_indptr(indptr, self.shape[0], min(self._indices.size, self._data.size),
                         "the sparse matrix")
            self._indptr = indptr.astype(np.int64)
        except BaseException:
            self.close()
            raise

    def _member(self, member):
        m = NpyMember(self._archive, member)
        self._members.append(m)
        return m

    def _read(self, start, stop):
        a, b = int(self._indptr[start]), int(self._indptr[stop])
        indices = self._indices.read_items(a, b - a)
        data = self._data.read_items(a, b - a)
        indptr = self._indptr[start : stop + 1] - a
        return _checked_batch(data, indices, indptr, start, stop, self.shape[1])

    def close(self):
        for m in self._members:
            m.close()
        self._members = []
        if self._archive is not None:
            self._archive.close()
            self._archive = None


def _checked_batch(data, indices, indptr, start, stop, n_cols):
    """Rows ``start:stop`` of a streamed CSR matrix, their index arrays checked."""
    batch = sp.csr_matrix((data, indices, indptr), shape=(stop - start, n_cols))
    check_sparse_structure(batch, f"rows {start}..{stop - 1} of the sparse matrix")
    return batch


class _DenseNpzReader(SignalReader):
    """A C-ordered dense array in a ``.npz`` archive, streamed by rows."""

    def __init__(self, archive, member, name):
        self._archive = archive
        try:
            self._member = NpyMember(archive, member)
        except BaseException:
            archive.close()
            raise
        try:
            super().__init__(self._member.shape, self._member.dtype, name)
        except BaseException:
            self.close()
            raise

    def _read(self, start, stop):
        n = self.shape[1]
        rows = self._member.read_items(start * n, (stop - start) * n)
        return rows.reshape(stop - start, n)

    def close(self):
        if self._archive is not None:
            self._member.close()
            self._archive.close()
            self._archive = None


def _open_npz(path, name, key):
    archive = open_npz(path)
    try:
        members = npz_members(archive)
        layout = sparse_layout(archive, members) if key is None else None
        if layout is not None:
            fmt, shape = layout
            if fmt == "csr":
                return _SparseNpzReader(archive, members, name, shape)
            # other sparse layouts cannot be read by rows: loaded whole, as CSR
            matrix = load_sparse_members(archive, members, fmt, shape, path)
            archive.close()
            return _ArrayReader(matrix, name, owned=True)
        if key is None:
            key = choose_member(members, _NPZ_KEYS, hint="; name the one to read with key=")
        elif key not in members:
            raise MissingEntryError(
                f"{name} has no array {key!r} (it holds {', '.join(sorted(members)) or 'none'})"
            )
        member = NpyMember(archive, members[key])
        fortran = member.fortran
        member.close()
        if fortran:
            # columns are contiguous on disk: rows cannot be streamed
            array = read_member(archive, members[key])
            archive.close()
            return _ArrayReader(array, name, owned=True)
        return _DenseNpzReader(archive, members[key], name)
    except BaseException:
        archive.close()
        raise


# ---------------------------------------------------------------------------
# HDF5 (.h5ad)


class _H5SparseReader(SignalReader):
    """A CSR group (``data``, ``indices``, ``indptr``) of an HDF5 file, read by row slices."""

    sparse = True

    def __init__(self, group, shape, name, owner):
        self._owner = owner
        indptr = np.asarray(group["indptr"][()])
        self._indices = group["indices"]
        self._data = group["data"]
        super().__init__(shape, self._data.dtype, name)
        if self._indices.dtype.kind not in "iu" or self._indices.ndim != 1:
            raise ValueError(
                f"{group.name} has a malformed indices array (dtype {self._indices.dtype}); "
                "the sparse matrix is corrupted"
            )
        check_indptr(indptr, self.shape[0], min(self._indices.shape[0], self._data.shape[0]),
                     group.name)
        self._indptr = indptr.astype(np.int64)

    def _read(self, start, stop):
        a, b = int(self._indptr[start]), int(self._indptr[stop])
        indptr = self._indptr[start : stop + 1] - a
        return _checked_batch(self._data[a:b], self._indices[a:b], indptr, start, stop,
                              self.shape[1])

    def close(self):
        if self._owner is not None:
            self._owner.close()
            self._owner = None


def _open_h5(path, name, key):
    import h5py

    f = open_h5(path, "signals", name)
    try:
        key = "X" if key is None else key
        if key not in f:
            raise MissingEntryError(
                f"{name} has no matrix {key!r} (expected an AnnData file with X)"
            )
        node = f[key]
        if isinstance(node, h5py.Dataset):
            return _ArrayReader(node, name, owner=f)
        fmt, shape = h5_sparse_layout(node)
        if fmt != "csr":
            raise ValueError(
                f"{name}: {key} is stored as {fmt.upper()}, whose rows cannot be read one "
                "batch at a time; store it as CSR"
            )
        return _H5SparseReader(node, shape, name, owner=f)
    except BaseException:
        f.close()
        raise


# ---------------------------------------------------------------------------
# entry point


def open_signals(source, *, key=None):
    """Open signals (one per row) for reading batch by batch.

    Only the rows asked for are read: ``.npy`` files are memory-mapped;
    CSR matrices saved by :func:`scipy.sparse.save_npz` (compressed or not)
    are read by streaming their ``indices`` and ``data`` from the archive;
    dense arrays in ``.npz`` archives are streamed by rows; ``.h5ad`` (and
    other HDF5) matrices are read by row slices, dense or CSR.

    Parameters
    ----------
    source : str, path, array-like or SignalReader
        A file (``.npy``, ``.npz``, ``.h5ad``, ``.h5``, ``.hdf5``) or an
        array supporting row slices: ndarray, :class:`numpy.memmap`,
        scipy.sparse matrix (read as CSR), h5py dataset. A reader is
        returned as it is.
    key : str, optional
        The array to read: in a ``.npz`` archive of several arrays (default:
        its only array, else ``"signals"`` or ``"X"``), or the matrix of an
        HDF5 file (default ``"X"``, the cells x genes matrix of an AnnData
        file; for example ``"raw/X"`` or ``"layers/counts"``).

    Returns
    -------
    reader : SignalReader
        With ``shape``, ``dtype``, ``sparse``, ``read(start, stop)`` and
        ``iter_batches(batch_size)``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        For an unknown extension, an array that is not 2-D, or a file that
        cannot be read: empty, corrupted or truncated, or holding a sparse
        matrix whose index arrays are invalid (the index pointer is checked
        when the file is opened, the indices of each batch when it is read).
        The message names the file and the problem.

    Notes
    -----
    Sparse ``.npz`` files in a layout other than CSR (CSC, COO, ...) and
    Fortran-ordered dense arrays in ``.npz`` archives cannot be read by
    rows: they are loaded whole.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, tempfile, os
    >>> from graphsig.io import open_signals
    >>> path = os.path.join(tempfile.mkdtemp(), "signals.npz")
    >>> sp.save_npz(path, sp.csr_matrix(np.eye(5)))
    >>> with open_signals(path) as reader:
    ...     print(reader.shape, [b.shape[0] for b in reader.iter_batches(2)])
    (5, 5) [2, 2, 1]
    """
    if isinstance(source, SignalReader):
        return source
    if isinstance(source, (str, os.PathLike)):
        return _open_path(Path(source), key)
    if not hasattr(source, "shape") or not hasattr(source, "__getitem__"):
        raise TypeError(
            "source must be a file path or an array supporting row slices, got "
            f"{type(source).__name__}"
        )
    if key is not None:
        raise ValueError("key applies to files only")
    return _ArrayReader(source, f"the {type(source).__name__}")


def _open_path(path, key):
    suffix, name = check_input(path, "signals", _SUFFIXES, ", ".join(_SUFFIXES))
    if suffix == ".npy" and key is not None:
        raise ValueError("key applies to .npz and HDF5 files only")
    if suffix == ".npy":
        reader = _ArrayReader(load_npy(path, "signals", name, mmap=True), name)
    else:
        with reading("signals", name):
            if suffix == ".npz":
                reader = _open_npz(path, name, key)
            else:
                reader = _open_h5(path, name, key)
    reader.path = os.fspath(path)
    return reader


# ---------------------------------------------------------------------------
# whole files: the graph, and the signals of the command line


def read_graph(path):
    """Read the adjacency matrix of a graph from a file.

    Parameters
    ----------
    path : str or path
        ``.npz``: a matrix saved by :func:`scipy.sparse.save_npz` (CSR, CSC,
        COO, ...) or a dense array saved by :func:`numpy.savez` (its only
        array, else the one named ``adjacency``, ``graph``, ``W`` or ``A``);
        ``.mtx`` or ``.mtx.gz`` (Matrix Market); ``.npy``; or ``.h5ad``, whose
        cell graph (``uns/neighbors/connectivities`` or
        ``obsp/connectivities``) is read.

    Returns
    -------
    adjacency : CSR matrix or ndarray
        Sparse matrices as CSR, their index arrays checked.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        For an unknown extension, or a file that is empty, corrupted or
        truncated, or holds an invalid sparse matrix; the message names the
        file and the problem.
    ImportError
        For ``.h5ad`` without h5py.

    Examples
    --------
    >>> import scipy.sparse as sp, tempfile, os
    >>> from graphsig.graphs import grid_graph
    >>> from graphsig.io import read_graph
    >>> path = os.path.join(tempfile.mkdtemp(), "graph.npz")
    >>> sp.save_npz(path, sp.coo_matrix(grid_graph(3, 3)))
    >>> read_graph(path).format, read_graph(path).nnz
    ('csr', 24)
    """
    suffix, name = check_input(path, "graph", _MATRIX_SUFFIXES, _MATRIX_LISTING)
    if suffix != ".h5ad":
        return _read_matrix(path, suffix, "graph", name, _GRAPH_KEYS)
    f = open_h5(path, "graph", name)
    with f, reading("graph", name):
        for key in ("uns/neighbors/connectivities", "obsp/connectivities"):
            if key in f:
                return load_h5_matrix(f[key])
        raise ValueError(
            "no cell graph: expected uns/neighbors/connectivities or obsp/connectivities"
        )


def read_signals(path, *, by_nodes=False, stream=False):
    """Read signals from a file, one per row.

    Parameters
    ----------
    path : str or path
        ``.npz`` (as :func:`read_graph`; a dense array is the only one, else
        ``signals`` or ``X``), ``.mtx``, ``.mtx.gz`` or ``.npy``: one signal
        per row. ``.h5ad``: the genes (columns of ``raw.X``, else ``X``) are
        the signals on the cells (to read the rows of an HDF5 matrix
        instead, use :func:`open_signals`).
    by_nodes : bool, default=False
        The file holds one signal per column (nodes x signals).
    stream : bool, default=False
        Return a :class:`SignalReader`: 2-D ``.npy`` and ``.npz`` signals
        (without ``by_nodes``) are then read batch by batch, as by
        :func:`open_signals`; other files are read whole.

    Returns
    -------
    signals : ndarray, CSR matrix or SignalReader of shape (n_signals, n_nodes)
        Sparse matrices as CSR, their index arrays checked; a 1-D array is
        one signal (one value per signal with ``by_nodes``).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        For an unknown extension, a file that is empty, corrupted or
        truncated, or holds an invalid sparse matrix or an array of more
        than 2 dimensions, and ``by_nodes`` with ``.h5ad``; the message
        names the file and the problem.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from graphsig.io import read_signals
    >>> path = os.path.join(tempfile.mkdtemp(), "signals.npy")
    >>> np.save(path, np.arange(12.0).reshape(4, 3))   # 3 signals on 4 nodes
    >>> read_signals(path, by_nodes=True).shape
    (3, 4)
    >>> with read_signals(path, stream=True) as reader:
    ...     reader.shape, reader.read(0, 2).shape
    ((4, 3), (2, 3))
    """
    suffix, name = check_input(path, "signals", _MATRIX_SUFFIXES, _MATRIX_LISTING)
    if suffix == ".h5ad" and by_nodes:
        raise ValueError(
            f"by_nodes does not apply to .h5ad signals ({name}): their cells are the nodes "
            "and their genes the signals"
        )
    if stream and not by_nodes and suffix in (".npy", ".npz") and _is_2d(path, suffix, name):
        return open_signals(path)
    if suffix == ".h5ad":
        X = _read_h5ad_signals(path, name)
    else:
        X = _read_matrix(path, suffix, "signals", name, _NPZ_KEYS)
        if not sp.issparse(X):
            if X.ndim == 1:
                X = X.reshape(-1, 1) if by_nodes else X.reshape(1, -1)
            elif X.ndim != 2:
                raise ValueError(
                    f"signals in {name} must be a 2-D array, got shape {X.shape}"
                )
        if by_nodes:
            X = X.T
    X = sp.csr_matrix(X) if sp.issparse(X) else np.ascontiguousarray(X)
    if not stream:
        return X
    reader = _ArrayReader(X, name, owned=True)
    reader.path = os.fspath(path)
    return reader


def _is_2d(path, suffix, name):
    """Whether a .npy or .npz file holds a 2-D array or a sparse matrix (streamable)."""
    if suffix == ".npy":
        return load_npy(path, "signals", name, mmap=True).ndim == 2
    with reading("signals", name), open_npz(path) as archive:
        members = npz_members(archive)
        if sparse_layout(archive, members) is not None:
            return True
        member = NpyMember(archive, members[choose_member(members, _NPZ_KEYS)])
        member.close()
        return len(member.shape) == 2


def _read_matrix(path, suffix, what, name, keys):
    if suffix in (".mtx", ".mtx.gz"):
        return load_mtx(path, what, name)
    if suffix == ".npy":
        return load_npy(path, what, name)
    return load_npz(path, what, name, keys)


def _read_h5ad_signals(path, name):
    """The genes of an AnnData file as signals on its cells (genes x cells)."""
    f = open_h5(path, "signals", name)
    with f, reading("signals", name):
        for key in ("raw.X", "raw/X", "X"):
            if key in f:
                # cells x genes: the genes (columns) are the signals on the cells
                matrix = load_h5_matrix(f[key])
                return matrix.T.tocsr() if sp.issparse(matrix) else matrix.T.copy()
        raise ValueError("no expression matrix: expected raw.X, raw/X or X")
