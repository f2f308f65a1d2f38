"""Writing outputs: never over an input, never a partial file."""

import contextlib
import os
import secrets
from pathlib import Path

import numpy as np
import scipy.sparse as sp

__all__ = ["check_output", "save_embedding"]

_OUTPUT_SUFFIXES = (".npy", ".npz")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def check_output(output, inputs=()):
    """Check that ``output`` can be written without touching an input file.

    Parameters
    ----------
    output : str or path
        The file to write.
    inputs : iterable of str or path
        Files the run reads (``None`` entries are skipped). An output that
        is one of them, by its path, a symbolic link or a hard link, is
        refused: writing it would destroy data still being read.

    Raises
    ------
    FileNotFoundError
        If the output's directory does not exist.
    ValueError
        If ``output`` is one of ``inputs``, or is a directory.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from graphsig.io import check_output
    >>> path = os.path.join(tempfile.mkdtemp(), "signals.npy")
    >>> np.save(path, np.eye(3))
    >>> check_output(path, [path])
    Traceback (most recent call last):
        ...
    ValueError: output '...signals.npy' is the input file '...signals.npy': ...
    """
    output = Path(output)
    if not output.parent.is_dir():
        raise FileNotFoundError(f"output directory not found: {str(output.parent)!r}")
    if output.is_dir():
        raise ValueError(f"output {str(output)!r} is a directory")
    for source in inputs:
        if source is not None and _same_file(output, source):
            raise ValueError(
                f"output {str(output)!r} is the input file {str(source)!r}: writing it would "
                "destroy the data being read; choose another output file"
            )


def _temporary(target):
    """Create an empty file next to ``target`` (same directory, same extension)."""
    for _ in range(100):
        tmp = target.parent / f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"cannot create a temporary file in {str(target.parent)!r}")


@contextlib.contextmanager
def atomic_output(output):
    """Yield a temporary path to write; it becomes ``output`` only on success.

    The temporary file is in the output's directory (through a symbolic
    link, the link's target's directory), so the final :func:`os.replace`
    is atomic: ``output`` is either its older version, untouched, or the
    complete new file, never a partial one. On any error or interruption
    (``KeyboardInterrupt`` too) the temporary file is removed and the error
    propagates.
    """
    target = Path(os.path.realpath(output))
    tmp = None
    try:
        tmp = _temporary(target)
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        raise


def save_embedding(output, embedding, *, times=None, hop_scale=None, inputs=()):
    """Write an embedding to ``.npy`` or ``.npz``, atomically.

    The file is written under a temporary name in the same directory and
    renamed into place once complete: an error or an interruption leaves no
    partial file, and any older ``output`` untouched.

    Parameters
    ----------
    output : str or path
        ``.npy``: the embedding alone, dense. ``.npz``: a sparse embedding in
        the layout of :func:`scipy.sparse.save_npz` (read it with
        :func:`scipy.sparse.load_npz`), a dense one as ``embedding``; with
        ``times`` and ``hop_scale`` alongside when given.
    embedding : ndarray or scipy.sparse matrix of shape (n_signals, n_features)
    times : array-like of int, optional
        The diffusion times of the embedding (``estimator.times_``).
    hop_scale : float, optional
        The embedding's hop scale (``estimator.hop_scale_``).
    inputs : iterable of str or path, optional
        Files the embedding was read from: ``output`` must be none of them
        (see :func:`check_output`).

    Raises
    ------
    ValueError
        For an extension other than ``.npy`` or ``.npz``, or an output that
        is one of ``inputs``.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, tempfile, os
    >>> from graphsig.io import save_embedding
    >>> path = os.path.join(tempfile.mkdtemp(), "embedding.npz")
    >>> save_embedding(path, sp.csr_matrix(np.eye(3)), times=[0, 1, 2], hop_scale=1.5)
    >>> sp.load_npz(path).toarray().trace(), float(np.load(path)["hop_scale"])
    (np.float64(3.0), 1.5)
    """
    output = Path(output)
    if output.suffix not in _OUTPUT_SUFFIXES:
        raise ValueError(
            f"cannot write {str(output)!r}: unknown extension {output.suffix or '(none)'!r} "
            "(use .npy or .npz)"
        )
    check_output(output, inputs)
    extra = {}
    if times is not None:
        extra["times"] = np.asarray(times)
    if hop_scale is not None:
        extra["hop_scale"] = np.float64(hop_scale)
    with atomic_output(output) as tmp:
        if output.suffix == ".npy":
            np.save(tmp, embedding.toarray() if sp.issparse(embedding) else embedding)
        elif sp.issparse(embedding):
            emb = sp.csr_matrix(embedding)
            np.savez(tmp, data=emb.data, indices=emb.indices, indptr=emb.indptr,
                     format=np.array(b"csr"), shape=np.array(emb.shape), **extra)
        else:
            np.savez(tmp, embedding=np.asarray(embedding), **extra)
