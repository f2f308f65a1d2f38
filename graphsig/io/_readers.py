"""Readers of signal matrices stored on disk, one batch of rows at a time."""

import numbers
import os
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

__all__ = ["SignalReader", "open_signals"]

_SUFFIXES = (".npy", ".npz", ".h5ad", ".h5", ".hdf5")
_NPZ_KEYS = ("signals", "X")


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
        The file (or a description of the array) read.
    """

    sparse = False

    def __init__(self, shape, dtype, name):
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2:
            raise ValueError(
                f"signals in {name} must be a 2-D array (n_signals, n_nodes), got shape {shape}"
            )
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.name = name
        if self.dtype.kind not in "biuf":
            raise TypeError(f"signals in {name} must hold numbers, got dtype {self.dtype}")

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
        return self._read(start, stop)

    def take(self, rows):
        """The given rows, in increasing order of index (an ndarray or CSR matrix)."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if rows.size and (rows[0] < 0 or rows[-1] >= self.shape[0]):
            raise IndexError(f"rows must be in [0, {self.shape[0]}), got {rows[[0, -1]].tolist()}")
        parts = [self._read(int(r), int(r) + 1) for r in rows]
        if not parts:
            return self._read(0, 0)
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
            yield self._read(a, min(a + int(batch_size), stop))

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
    """Any 2-D array-like supporting row slices; scipy.sparse matrices as CSR."""

    def __init__(self, array, name, owner=None):
        if sp.issparse(array):
            array = array.tocsr()
            self.sparse = True
        self._array = array
        self._owner = owner
        super().__init__(array.shape, array.dtype, name)

    def _read(self, start, stop):
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


class _NpyMember:
    """A 1-D (or C-ordered) ``.npy`` member of a zip archive, read by item ranges.

    The member is opened once and read forward; reading backwards restarts
    it (a compressed stream can only be decompressed from its start).
    """

    def __init__(self, archive, member):
        self._file = archive.open(member)
        version = np.lib.format.read_magic(self._file)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(self._file)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(self._file)
        else:
            shape, fortran, dtype = np.lib.format._read_array_header(self._file, version)
        if dtype.hasobject:
            raise ValueError(f"{member} holds Python objects, not numbers")
        self.shape, self.fortran, self.dtype = shape, fortran, dtype
        self._origin = self._file.tell()

    def read_items(self, start, count):
        size = self.dtype.itemsize
        position = self._origin + start * size
        if self._file.tell() != position:
            self._file.seek(position)
        raw = self._file.read(count * size)
        if len(raw) != count * size:
            raise ValueError("the file ends before its data (truncated?)")
        return np.frombuffer(raw, dtype=self.dtype).copy()

    def read_all(self):
        return self.read_items(0, int(np.prod(self.shape, dtype=np.int64)))

    def close(self):
        self._file.close()


class _SparseNpzReader(SignalReader):
    """A CSR matrix saved by ``scipy.sparse.save_npz``: ``indptr`` read first,
    then ``indices`` and ``data`` streamed batch by batch."""

    sparse = True

    def __init__(self, archive, name, shape):
        self._archive = archive
        self._members = []
        try:
            indptr = self._member("indptr.npy")
            self._indptr = indptr.read_all().astype(np.int64)
            indptr.close()
            self._indices = self._member("indices.npy")
            self._data = self._member("data.npy")
            super().__init__(shape, self._data.dtype, name)
        except Exception:
            self.close()
            raise
        if self._indptr.size != self.shape[0] + 1 or self._indptr[0] != 0 \
                or np.any(np.diff(self._indptr) < 0):
            self.close()
            raise ValueError(f"{name} is not a valid CSR matrix (bad indptr)")

    def _member(self, member):
        m = _NpyMember(self._archive, member)
        self._members.append(m)
        return m

    def _read(self, start, stop):
        a, b = int(self._indptr[start]), int(self._indptr[stop])
        indices = self._indices.read_items(a, b - a)
        data = self._data.read_items(a, b - a)
        indptr = self._indptr[start : stop + 1] - a
        return sp.csr_matrix((data, indices, indptr), shape=(stop - start, self.shape[1]))

    def close(self):
        for m in self._members:
            m.close()
        self._members = []
        if self._archive is not None:
            self._archive.close()
            self._archive = None


class _DenseNpzReader(SignalReader):
    """A C-ordered dense array in a ``.npz`` archive, streamed by rows."""

    def __init__(self, archive, member, name):
        self._archive = archive
        try:
            self._member = _NpyMember(archive, member)
        except Exception:
            archive.close()
            raise
        try:
            super().__init__(self._member.shape, self._member.dtype, name)
        except Exception:
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
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"cannot read signals from {name}: not a .npz archive ({exc})") from None
    try:
        members = {m[:-4]: m for m in archive.namelist() if m.endswith(".npy")}
        if key is None and {"format", "shape", "data", "indices", "indptr"} <= set(members):
            fmt = _NpyMember(archive, "format.npy")
            fmt_value = fmt.read_all()
            fmt.close()
            fmt_value = fmt_value.item() if fmt_value.size == 1 else fmt_value
            fmt_value = fmt_value.decode() if isinstance(fmt_value, bytes) else str(fmt_value)
            shape_member = _NpyMember(archive, "shape.npy")
            shape = tuple(int(s) for s in shape_member.read_all())
            shape_member.close()
            if fmt_value == "csr":
                return _SparseNpzReader(archive, name, shape)
            # other sparse layouts cannot be read by rows: loaded whole, as CSR
            archive.close()
            return _ArrayReader(sp.load_npz(path).tocsr(), name)
        if key is None:
            if len(members) == 1:
                key = next(iter(members))
            else:
                key = next((k for k in _NPZ_KEYS if k in members), None)
                if key is None:
                    raise ValueError(
                        f"{name} holds several arrays ({', '.join(sorted(members))}); name the "
                        f"one to read with key= (tried {', '.join(_NPZ_KEYS)})"
                    )
        elif key not in members:
            raise KeyError(
                f"{name} has no array {key!r} (it holds {', '.join(sorted(members)) or 'none'})"
            )
        member = _NpyMember(archive, members[key])
        fortran = member.fortran
        member.close()
        if fortran:
            # columns are contiguous on disk: rows cannot be streamed
            with np.load(path, allow_pickle=False) as f:
                array = f[key]
            archive.close()
            return _ArrayReader(array, name)
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
        self._indptr = np.asarray(group["indptr"][()], dtype=np.int64)
        self._indices = group["indices"]
        self._data = group["data"]
        super().__init__(shape, self._data.dtype, name)
        if self._indptr.size != self.shape[0] + 1:
            raise ValueError(f"{name} is not a valid CSR matrix (bad indptr)")

    def _read(self, start, stop):
        a, b = int(self._indptr[start]), int(self._indptr[stop])
        indptr = self._indptr[start : stop + 1] - a
        return sp.csr_matrix(
            (self._data[a:b], self._indices[a:b], indptr), shape=(stop - start, self.shape[1])
        )

    def close(self):
        if self._owner is not None:
            self._owner.close()
            self._owner = None


def _open_h5(path, name, key):
    try:
        import h5py
    except ImportError:
        raise ImportError("reading .h5ad files needs h5py: pip install graphsig[h5ad]") from None
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"cannot read signals from {name}: {exc}") from None
    try:
        key = "X" if key is None else key
        if key not in f:
            raise KeyError(f"{name} has no matrix {key!r} (expected an AnnData file with X)")
        node = f[key]
        if isinstance(node, h5py.Dataset):
            return _ArrayReader(node, name, owner=f)
        attrs = node.attrs
        fmt = attrs.get("encoding-type", attrs.get("h5sparse_format"))
        shape = attrs.get("shape", attrs.get("h5sparse_shape"))
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt is None or shape is None or not {"data", "indices", "indptr"} <= set(node):
            raise ValueError(f"{name}: {key} is neither an array nor a sparse matrix")
        fmt = str(fmt).replace("_matrix", "")
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
        For an unknown extension, a file that cannot be read, or an array
        that is not 2-D.

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
    name = repr(str(path))
    if not path.exists():
        raise FileNotFoundError(f"signals file not found: {name}")
    if not path.is_file():
        raise ValueError(f"signals path is not a file: {name}")
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"cannot read signals from {name}: unknown extension {suffix or '(none)'!r} "
            f"(use {', '.join(_SUFFIXES)})"
        )
    if path.stat().st_size == 0:
        raise ValueError(f"cannot read signals from {name}: the file is empty")
    if suffix in (".h5ad", ".h5", ".hdf5"):
        return _open_h5(path, name, key)
    if suffix == ".npz":
        return _open_npz(path, name, key)
    if key is not None:
        raise ValueError("key applies to .npz and HDF5 files only")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"cannot read signals from {name}: {exc}") from None
    return _ArrayReader(array, name)
