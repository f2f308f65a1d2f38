"""One validated reader per file format.

Every reader checks what it reads before handing it on: the header of a
``.npy`` array against the bytes that hold its data, the members of a
``.npz`` archive, the index arrays of every sparse matrix
(:func:`graphsig._validation.check_sparse_structure`). A file that fails a
check, or that the underlying library cannot parse (a corrupted archive, a
truncated array, an unreadable HDF5 file), raises a :class:`FileReadError`,
a ValueError whose message names the file and what is wrong.
"""

import contextlib
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .._validation import check_sparse_structure

# errors of the libraries that parse files: reported as FileReadError
_PARSE_ERRORS = (
    OSError, EOFError, ValueError, KeyError, RuntimeError, struct.error, zlib.error,
    zipfile.BadZipFile,
)
_CORRUPTION = (EOFError, struct.error, zlib.error, zipfile.BadZipFile)
_SPARSE_MEMBERS = {
    "csr": ("data", "indices", "indptr"),
    "csc": ("data", "indices", "indptr"),
    "coo": ("data", "row", "col"),
}


class FileReadError(ValueError):
    """A file (or array) that cannot be read; the message names it and the problem."""


class MissingEntryError(FileReadError, KeyError):
    """The array or matrix asked for by name is not in the file."""

    __str__ = ValueError.__str__


def suffix_of(path):
    """The lower-case extension of ``path``, ``.mtx.gz`` counted as one."""
    name = Path(path).name.lower()
    if name.endswith(".mtx.gz"):
        return ".mtx.gz"
    return Path(name).suffix


def check_input(path, what, suffixes, listing):
    """Check that ``path`` is a nonempty file with a known extension.

    Returns ``(suffix, name)``, ``name`` being how messages quote the file.
    """
    p = Path(path)
    name = repr(str(path))
    if not p.exists():
        raise FileNotFoundError(f"{what} file not found: {name}")
    if not p.is_file():
        raise ValueError(f"{what} path is not a file: {name}")
    suffix = suffix_of(p)
    if suffix not in suffixes:
        raise ValueError(
            f"cannot read {what} from {name}: unknown extension {suffix or '(none)'!r} "
            f"(use {listing})"
        )
    if p.stat().st_size == 0:
        raise ValueError(f"cannot read {what} from {name}: the file is empty")
    return suffix, name


@contextlib.contextmanager
def reading(what, name):
    """Report any error of parsing a file as one FileReadError naming it."""
    try:
        yield
    except (FileReadError, FileNotFoundError):
        raise
    except _PARSE_ERRORS as exc:
        raise FileReadError(f"cannot read {what} from {name}: {_describe(exc)}") from exc


def _describe(exc):
    text = str(exc) if not isinstance(exc, KeyError) else f"missing entry {exc}"
    if isinstance(exc, _CORRUPTION):
        return f"the file is corrupted or truncated ({type(exc).__name__}: {text})"
    return text or type(exc).__name__


# ---------------------------------------------------------------------------
# .npy


def read_npy_header(fp, where="the array"):
    """``(shape, fortran_order, dtype)`` of a ``.npy`` stream, left at its data."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"{where} has an unsupported .npy format version {version}")
    if dtype.hasobject:
        raise ValueError(f"{where} holds Python objects, not numbers")
    return tuple(int(s) for s in shape), bool(fortran), dtype


def _check_data_size(shape, dtype, available, where):
    needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if available < needed:
        raise ValueError(
            f"{where} is truncated: its header describes a {'x'.join(map(str, shape)) or '0-d'} "
            f"{dtype} array ({needed} bytes of data) but only {max(available, 0)} bytes follow"
        )


def load_npy(path, what, name, *, mmap=False):
    """A ``.npy`` array, its header checked against the file size first."""
    with reading(what, name):
        with open(path, "rb") as f:
            shape, _, dtype = read_npy_header(f, "the file")
            offset = f.tell()
        _check_data_size(shape, dtype, os.path.getsize(path) - offset, "the file")
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


# ---------------------------------------------------------------------------
# .npz


class NpyMember:
    """A ``.npy`` member of a zip archive, read by item ranges.

    The header is checked against the member's stored size when it is
    opened. The member is read forward; reading backwards restarts it (a
    compressed stream can only be decompressed from its start).
    """

    def __init__(self, archive, member):
        self.name = member
        self._file = archive.open(member)
        try:
            where = f"member {member}"
            self.shape, self.fortran, self.dtype = read_npy_header(self._file, where)
            self._origin = self._file.tell()
            self.size = int(np.prod(self.shape, dtype=np.int64))
            _check_data_size(
                self.shape, self.dtype, archive.getinfo(member).file_size - self._origin, where
            )
        except BaseException:
            self._file.close()
            raise

    def read_items(self, start, count):
        """Items ``start:start + count`` of the flattened array (in storage order)."""
        size = self.dtype.itemsize
        position = self._origin + start * size
        if self._file.tell() != position:
            self._file.seek(position)
        raw = self._file.read(count * size)
        if len(raw) != count * size:
            raise EOFError(f"member {self.name} ends before its data")
        return np.frombuffer(raw, dtype=self.dtype).copy()

    def read_array(self):
        """The whole array, in its shape."""
        items = self.read_items(0, self.size)
        return items.reshape(self.shape, order="F" if self.fortran else "C")

    def close(self):
        self._file.close()


def read_member(archive, member):
    """The array of one ``.npy`` member of an archive."""
    m = NpyMember(archive, member)
    try:
        return m.read_array()
    finally:
        m.close()


def open_npz(path):
    """A ``.npz`` file opened as a zip archive."""
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a .npz archive, or a truncated one ({exc})") from None


def npz_members(archive):
    """``{array name: member name}`` of the ``.npy`` members of an archive."""
    return {m[:-4]: m for m in archive.namelist() if m.endswith(".npy")}


def sparse_layout(archive, members):
    """``(format, shape)`` of a matrix saved by scipy.sparse.save_npz, else None."""
    if not {"format", "shape", "data"} <= set(members):
        return None
    fmt = read_member(archive, members["format"])
    fmt = fmt.item() if fmt.size == 1 else fmt
    fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
    shape = read_member(archive, members["shape"])
    if shape.ndim != 1 or shape.size != 2 or shape.dtype.kind not in "iu" or (shape < 0).any():
        raise ValueError(f"the sparse matrix has an invalid shape {shape.tolist()}")
    needed = _SPARSE_MEMBERS.get(fmt, ())
    missing = [m for m in needed if m not in members]
    if missing:
        raise ValueError(f"the {fmt.upper()} matrix has no {', '.join(missing)} array")
    return fmt, (int(shape[0]), int(shape[1]))


def load_sparse_members(archive, members, fmt, shape, path):
    """A sparse matrix saved by scipy.sparse.save_npz, validated, as CSR."""
    if fmt in ("csr", "csc"):
        data, indices, indptr = (read_member(archive, members[k]) for k in _SPARSE_MEMBERS[fmt])
        check_index_arrays(indices=indices, indptr=indptr)
        matrix = (sp.csr_matrix if fmt == "csr" else sp.csc_matrix)(
            (data, indices, indptr), shape=shape
        )
    elif fmt == "coo":
        # scipy checks the coordinates' range and lengths as it builds the matrix
        data, row, col = (read_member(archive, members[k]) for k in _SPARSE_MEMBERS[fmt])
        check_index_arrays(row=row, col=col)
        matrix = sp.coo_matrix((data, (row, col)), shape=shape)
    else:
        # other layouts (BSR, DIA): scipy builds and checks them
        matrix = sp.load_npz(path)
    return validated_csr(matrix)


def check_index_arrays(**arrays):
    """Refuse index arrays that are not 1-D integers (scipy would cast them silently)."""
    for label, array in arrays.items():
        if array.ndim != 1 or array.dtype.kind not in "iu":
            raise ValueError(
                f"the sparse matrix has a malformed {label} array (dtype {array.dtype}, "
                f"{array.ndim}-D); the sparse matrix is corrupted"
            )


def validated_csr(matrix):
    """``matrix`` (any scipy sparse format) checked, then as a CSR matrix."""
    check_sparse_structure(matrix, "the sparse matrix")
    return sp.csr_matrix(matrix)


def choose_member(members, keys, hint=""):
    """The array of an archive to read: its only one, else the first of ``keys``."""
    if len(members) == 1:
        return next(iter(members))
    for key in keys:
        if key in members:
            return key
    if not members:
        raise ValueError("the archive holds no arrays")
    raise ValueError(
        f"it holds several arrays ({', '.join(sorted(members))}) and none named "
        f"{' or '.join(repr(k) for k in keys)}{hint}"
    )


def load_npz(path, what, name, keys):
    """A ``.npz`` archive: its sparse matrix (as CSR) or its dense array."""
    with reading(what, name):
        with open_npz(path) as archive:
            members = npz_members(archive)
            layout = sparse_layout(archive, members)
            if layout is not None:
                return load_sparse_members(archive, members, *layout, path)
            return read_member(archive, members[choose_member(members, keys)])


# ---------------------------------------------------------------------------
# Matrix Market


def load_mtx(path, what, name):
    """A Matrix Market file (``.mtx``, ``.mtx.gz``): sparse as CSR, else an ndarray."""
    from scipy.io import mmread

    with reading(what, name):
        matrix = mmread(path)
        if sp.issparse(matrix):
            return validated_csr(matrix)
        return np.asarray(matrix)


# ---------------------------------------------------------------------------
# HDF5 (.h5ad)


def open_h5(path, what, name):
    """An HDF5 file opened for reading."""
    try:
        import h5py
    except ImportError:
        raise ImportError("reading .h5ad files needs h5py: pip install graphsig[h5ad]") from None
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise FileReadError(
            f"cannot read {what} from {name}: not a readable HDF5 file ({exc})"
        ) from exc


def h5_sparse_layout(node):
    """``(format, shape)`` of an HDF5 group holding a sparse matrix (anndata or h5sparse)."""
    attrs = node.attrs
    fmt = attrs.get("encoding-type", attrs.get("h5sparse_format"))
    shape = attrs.get("shape", attrs.get("h5sparse_shape"))
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if fmt is None or shape is None or not {"data", "indices", "indptr"} <= set(node.keys()):
        raise ValueError(f"{node.name} is neither an array nor a sparse matrix")
    shape = np.asarray(shape)
    if shape.ndim != 1 or shape.size != 2 or (shape < 0).any():
        raise ValueError(f"{node.name} has an invalid shape {shape.tolist()}")
    fmt = str(fmt).replace("_matrix", "")
    if fmt not in ("csr", "csc"):
        raise ValueError(f"{node.name} has an unknown sparse format {fmt!r}")
    return fmt, (int(shape[0]), int(shape[1]))


def load_h5_matrix(node):
    """A dense dataset as an ndarray, or a CSR/CSC group, validated, as CSR."""
    import h5py

    if isinstance(node, h5py.Dataset):
        return np.asarray(node[()])
    fmt, shape = h5_sparse_layout(node)
    arrays = (node["data"][()], node["indices"][()], node["indptr"][()])
    check_index_arrays(indices=arrays[1], indptr=arrays[2])
    matrix = (sp.csr_matrix if fmt == "csr" else sp.csc_matrix)(arrays, shape=shape)
    return validated_csr(matrix)


def check_indptr(indptr, n_rows, n_stored, where):
    """Check the index pointer of a CSR matrix whose rows are read in batches."""
    if indptr.ndim != 1 or indptr.dtype.kind not in "iu":
        raise ValueError(f"{where} has a malformed index pointer (dtype {indptr.dtype})")
    if indptr.size != n_rows + 1:
        raise ValueError(
            f"{where} has an index pointer of length {indptr.size} for {n_rows} rows "
            f"(expected {n_rows + 1}); the sparse matrix is corrupted"
        )
    if indptr[0] != 0 or (np.diff(indptr) < 0).any() or indptr[-1] > n_stored:
        raise ValueError(
            f"{where} has an index pointer that is not nondecreasing from 0 to at most "
            f"{n_stored} (the stored entries); the sparse matrix is corrupted"
        )
