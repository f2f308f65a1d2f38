"""Tests of graphsig.io's files: outputs never over an input, never partial;
corrupted files and invalid sparse matrices reported as ValueErrors; one
batch-size rule."""

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphsig import DiffusionEMD, UnbalancedDiffusionEMD
from graphsig.graphs import grid_graph
from graphsig.io import (
    SignalReader, check_output, open_signals, read_graph, read_signals, save_embedding,
    transform_file,
)

N_ROWS, N_COLS = 5, 6
N_NODES = N_ROWS * N_COLS
N_SIGNALS = 37
BATCH = 7


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(12)
    X = rng.uniform(0.1, 1.0, size=(N_SIGNALS, N_NODES))
    X[rng.uniform(size=X.shape) < 0.7] = 0.0
    X[:, 2] += 0.3  # every signal has mass
    graph = sp.csr_matrix(grid_graph(N_ROWS, N_COLS), dtype=np.float64)
    return DiffusionEMD(graph).fit(X), X, graph


def _listing(directory):
    return sorted(os.listdir(directory))


def _mentions(path):
    return re.escape(str(path))


# ---------------------------------------------------------------------------
# an output that is the input is refused, and the input kept


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink", "relative"])
def test_output_that_is_the_input_is_refused(tmp_path, monkeypatch, problem, link):
    est, X, _ = problem
    source = tmp_path / "x.npy"
    np.save(source, X)
    before = source.read_bytes()
    output = source
    if link == "symlink":
        output = tmp_path / "link.npy"
        output.symlink_to(source)
    elif link == "hardlink":
        output = tmp_path / "hard.npy"
        os.link(source, output)
    elif link == "relative":
        monkeypatch.chdir(tmp_path)
        output = Path("sub/../x.npy")
        (tmp_path / "sub").mkdir()
    with pytest.raises(ValueError, match=f"output '{_mentions(output)}' is the input file "
                                         f"'{_mentions(source)}'"):
        transform_file(est, str(source), output=output, batch_size=BATCH, progress=False)
    assert source.read_bytes() == before


@pytest.mark.parametrize("kind", ["reader", "memmap"])
def test_output_over_an_open_source_is_refused(tmp_path, problem, kind):
    est, X, _ = problem
    source = tmp_path / "x.npy"
    np.save(source, X)
    before = source.read_bytes()
    if kind == "reader":
        opened = open_signals(source)
    else:
        opened = np.load(source, mmap_mode="r")
    with pytest.raises(ValueError, match="is the input file"):
        transform_file(est, opened, output=source, batch_size=BATCH, progress=False)
    del opened
    assert source.read_bytes() == before


def test_check_output(tmp_path):
    source = tmp_path / "in.npy"
    source.write_bytes(b"data")
    check_output(tmp_path / "out.npy", [source, None])  # another file: fine
    with pytest.raises(FileNotFoundError, match="output directory not found"):
        check_output(tmp_path / "nope" / "out.npy")
    with pytest.raises(ValueError, match="is a directory"):
        check_output(tmp_path)


# ---------------------------------------------------------------------------
# outputs are written whole or not at all


def _fail_on_batch(monkeypatch, n, exc):
    """Make DiffusionEMD.transform raise ``exc`` on its ``n``-th call (from 1)."""
    calls = []
    transform = DiffusionEMD.transform

    def failing(self, X):
        calls.append(X.shape[0])
        if len(calls) == n:
            raise exc
        return transform(self, X)

    monkeypatch.setattr(DiffusionEMD, "transform", failing)
    return calls


@pytest.mark.parametrize("exc", [ValueError("Negative values in X"), KeyboardInterrupt()])
def test_failed_run_keeps_an_older_output(tmp_path, monkeypatch, problem, exc):
    est, X, _ = problem
    source = tmp_path / "x.npy"
    np.save(source, X)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "emb.npy"
    older = b"an older embedding"
    output.write_bytes(older)
    _fail_on_batch(monkeypatch, 3, exc)  # after two batches are written
    with pytest.raises(type(exc)):
        transform_file(est, source, output=output, batch_size=BATCH, progress=False)
    assert output.read_bytes() == older
    assert _listing(out_dir) == ["emb.npy"]  # no temporary file left


def test_output_appears_only_when_complete(tmp_path, monkeypatch, problem):
    est, X, _ = problem
    source = tmp_path / "x.npy"
    np.save(source, X)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "emb.npy"
    seen = []
    transform = DiffusionEMD.transform

    def watching(self, batch):
        seen.append((output.exists(), _listing(out_dir)))
        return transform(self, batch)

    monkeypatch.setattr(DiffusionEMD, "transform", watching)
    emb = transform_file(est, source, output=output, batch_size=BATCH, progress=False)
    assert len(seen) == -(-N_SIGNALS // BATCH)
    assert not any(exists for exists, _ in seen)
    # while it runs, one temporary file in the output's directory, with its extension
    temporary = {name for _, names in seen[1:] for name in names}
    assert len(temporary) == 1 and temporary.pop().endswith(".npy")
    assert _listing(out_dir) == ["emb.npy"]
    assert isinstance(emb, np.memmap)
    np.testing.assert_array_equal(np.load(output), est.transform(X))


def test_output_through_a_symlink_writes_its_target(tmp_path, problem):
    est, X, _ = problem
    source = tmp_path / "x.npy"
    np.save(source, X)
    target = tmp_path / "target.npy"
    target.write_bytes(b"older")
    link = tmp_path / "link.npy"
    link.symlink_to(target)
    transform_file(est, source, output=link, batch_size=BATCH, progress=False)
    assert link.is_symlink()
    np.testing.assert_array_equal(np.load(target), est.transform(X))


def test_output_permissions_follow_the_umask(tmp_path, problem):
    est, X, _ = problem
    old = os.umask(0o022)
    try:
        output = tmp_path / "emb.npy"
        transform_file(est, X, output=output, batch_size=BATCH, progress=False)
    finally:
        os.umask(old)
    assert output.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("sparse", [False, True])
def test_save_embedding(tmp_path, sparse):
    emb = np.arange(12.0).reshape(3, 4)
    emb = sp.csr_matrix(emb) if sparse else emb
    path = tmp_path / "emb.npz"
    save_embedding(path, emb, times=[0, 1, 2], hop_scale=0.5)
    with np.load(path) as f:
        np.testing.assert_array_equal(f["times"], [0, 1, 2])
        assert float(f["hop_scale"]) == 0.5
        if not sparse:
            np.testing.assert_array_equal(f["embedding"], emb)
    if sparse:
        np.testing.assert_array_equal(sp.load_npz(path).toarray(), emb.toarray())
    save_embedding(tmp_path / "emb.npy", emb)
    np.testing.assert_array_equal(np.load(tmp_path / "emb.npy"), np.arange(12.0).reshape(3, 4))
    assert _listing(tmp_path) == ["emb.npy", "emb.npz"]
    with pytest.raises(ValueError, match="use .npy or .npz"):
        save_embedding(tmp_path / "emb.txt", emb)
    with pytest.raises(ValueError, match="is the input file"):
        save_embedding(path, emb, inputs=[path])


def test_save_embedding_failure_keeps_an_older_output(tmp_path, monkeypatch):
    path = tmp_path / "emb.npz"
    path.write_bytes(b"older")

    def broken(file, **arrays):
        with open(file, "wb") as f:
            f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="No space left"):
        save_embedding(path, np.eye(2))
    assert path.read_bytes() == b"older"
    assert _listing(tmp_path) == ["emb.npz"]


# ---------------------------------------------------------------------------
# corrupted and truncated files: a ValueError naming the file


def _compressed_csr(X):
    buffer = io.BytesIO()
    sp.save_npz(buffer, sp.csr_matrix(X), compressed=True)
    return buffer.getvalue()


def _corrupt(tmp_path, X, kind):
    """A damaged file of signals ``X`` (or of a graph: the same layouts)."""
    if kind == "npz-flipped":
        # bytes flipped inside the compressed members
        raw = bytearray(_compressed_csr(X))
        for i in range(len(raw) // 3, len(raw) // 3 + 64):
            raw[i] ^= 0xFF
        path = tmp_path / "s.npz"
        path.write_bytes(bytes(raw))
    elif kind == "npz-truncated":
        raw = _compressed_csr(X)
        path = tmp_path / "s.npz"
        path.write_bytes(raw[: len(raw) - 50])
    elif kind == "npz-bad-member":
        path = tmp_path / "s.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("signals.npy", b"\x93NUMPY garbage where a header should be")
    elif kind == "npz-short-member":
        # a member whose header describes more data than it holds
        buffer = io.BytesIO()
        np.save(buffer, X)
        path = tmp_path / "s.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("signals.npy", buffer.getvalue()[:-80])
    elif kind == "npz-bad-crc":
        # an uncompressed member whose data was changed after its checksum
        buffer = io.BytesIO()
        np.savez(buffer, signals=X)
        raw = bytearray(buffer.getvalue())
        raw[300] ^= 0xFF
        path = tmp_path / "s.npz"
        path.write_bytes(bytes(raw))
    elif kind == "npy-truncated":
        buffer = io.BytesIO()
        np.save(buffer, X)
        path = tmp_path / "s.npy"
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    elif kind == "npy-garbage":
        path = tmp_path / "s.npy"
        path.write_bytes(b"this is not a numpy file at all")
    elif kind in ("h5ad-truncated", "h5ad-garbage"):
        h5py = pytest.importorskip("h5py")
        path = tmp_path / "s.h5ad"
        with h5py.File(path, "w") as f:
            f.create_dataset("X", data=X)
        raw = path.read_bytes()
        path.write_bytes(raw[:1000] if kind == "h5ad-truncated" else b"\x89HDF garbage" * 50)
    else:
        raise AssertionError(kind)
    return path


CORRUPTIONS = ["npz-flipped", "npz-truncated", "npz-bad-member", "npz-short-member",
               "npz-bad-crc", "npy-truncated", "npy-garbage", "h5ad-truncated", "h5ad-garbage"]


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupted_signals_raise_value_error(tmp_path, problem, kind):
    est, X, _ = problem
    path = _corrupt(tmp_path, X, kind)
    # streamed, a member's checksum is only known at its end: values changed
    # in a stored member may fail the signals' own checks first
    expected = _mentions(path) if kind == "npz-bad-crc" else \
        f"cannot read signals from '{_mentions(path)}'"
    with pytest.raises(ValueError, match=expected):
        transform_file(est, path, batch_size=BATCH, progress=False)
    if kind.startswith("h5ad"):
        return  # read_signals reads the genes of an AnnData file: tested below
    with pytest.raises(ValueError, match=f"cannot read signals from '{_mentions(path)}'"):
        read_signals(path)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupted_graph_raises_value_error(tmp_path, problem, kind):
    _, _, graph = problem
    path = _corrupt(tmp_path, graph.toarray(), kind)
    with pytest.raises(ValueError, match=f"cannot read graph from '{_mentions(path)}'"):
        read_graph(path)


def test_corrupted_h5ad_signals_for_read_signals(tmp_path, problem):
    path = _corrupt(tmp_path, problem[1], "h5ad-truncated")
    with pytest.raises(ValueError, match=f"cannot read signals from '{_mentions(path)}': not a "
                                         "readable HDF5 file"):
        read_signals(path)


def test_corrupted_h5ad_chunk(tmp_path, problem):
    h5py = pytest.importorskip("h5py")
    est, X, _ = problem
    path = tmp_path / "s.h5ad"
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("X", data=X, chunks=(8, N_NODES), compression="gzip")
        chunk = dataset.id.get_chunk_info(2)  # rows 16..23
    raw = bytearray(path.read_bytes())
    for i in range(chunk.byte_offset + 10, chunk.byte_offset + 40):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    message = f"cannot read signals from '{_mentions(path)}': .*read data"
    with pytest.raises(ValueError, match=message):
        transform_file(est, path, batch_size=8, progress=False)
    with pytest.raises(ValueError, match=message):
        read_signals(path)


def test_truncated_npy_says_so(tmp_path, problem):
    path = _corrupt(tmp_path, problem[1], "npy-truncated")
    with pytest.raises(ValueError, match=r"the file is truncated: its header describes a 37x30 "
                                         r"float64 array \(8880 bytes of data\)"):
        open_signals(path)


# ---------------------------------------------------------------------------
# sparse matrices read from files: their index arrays checked


def _save_csr_arrays(path, data, indices, indptr, shape, fmt="csr"):
    np.savez(path, data=data, indices=indices, indptr=indptr, format=np.array(fmt.encode()),
             shape=np.array(shape))


def _bad_csr(X, where, value):
    m = sp.csr_matrix(X)
    indices, indptr = m.indices.copy(), m.indptr.copy()
    if where == "indices":
        indices[m.indptr[30] + 1] = value  # in row 30, of the 5th batch
    else:
        indptr[10] = indptr[12]  # decreasing
    return m.data, indices, indptr, m.shape


@pytest.mark.parametrize("value, found", [(N_NODES + 7, N_NODES + 7), (-3, -3)])
def test_streamed_csr_batches_are_checked(tmp_path, problem, value, found):
    est, X, _ = problem
    path = tmp_path / "s.npz"
    _save_csr_arrays(path, *_bad_csr(X, "indices", value))
    message = (rf"cannot read signals from '{_mentions(path)}': rows 28\.\.34 of the sparse "
               rf"matrix has column indices outside \[0, {N_NODES}\) \(found {found}\)")
    with pytest.raises(ValueError, match=message):
        transform_file(est, path, batch_size=BATCH, progress=False)
    with pytest.raises(ValueError, match=message):
        with open_signals(path) as reader:
            list(reader.iter_batches(BATCH))
    with pytest.raises(ValueError, match="column indices outside"):
        read_signals(path)
    with pytest.raises(ValueError, match="column indices outside"):
        read_graph(path)


def test_decreasing_index_pointer_is_refused(tmp_path, problem):
    est, X, _ = problem
    path = tmp_path / "s.npz"
    _save_csr_arrays(path, *_bad_csr(X, "indptr", None))
    with pytest.raises(ValueError, match=f"'{_mentions(path)}'.*index pointer"):
        open_signals(path)
    with pytest.raises(ValueError, match="decreasing index pointer"):
        read_graph(path)


@pytest.mark.parametrize("fmt", ["csc", "coo"])
def test_other_sparse_layouts_are_checked(tmp_path, problem, fmt):
    _, X, _ = problem
    path = tmp_path / "s.npz"
    if fmt == "csc":
        m = sp.csc_matrix(X)
        indices = m.indices.copy()
        indices[3] = N_SIGNALS + 5
        _save_csr_arrays(path, m.data, indices, m.indptr, m.shape, fmt="csc")
        message = "row indices outside"
    else:
        m = sp.coo_matrix(X)
        row = m.row.copy()
        row[3] = -1
        np.savez(path, data=m.data, row=row, col=m.col, format=np.array(b"coo"),
                 shape=np.array(m.shape))
        message = "negative"
    for read in (open_signals, read_signals, read_graph):
        with pytest.raises(ValueError, match=f"'{_mentions(path)}'.*{message}"):
            read(path)


def test_float_indices_are_refused(tmp_path, problem):
    _, X, _ = problem
    m = sp.coo_matrix(X)
    path = tmp_path / "s.npz"
    np.savez(path, data=m.data, row=m.row + 0.5, col=m.col, format=np.array(b"coo"),
             shape=np.array(m.shape))
    with pytest.raises(ValueError, match="malformed row array"):
        read_graph(path)


def _h5_csr(path, matrix, key="X", layout="anndata"):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        g = f.create_group(key)
        if layout == "anndata":
            g.attrs["encoding-type"] = "csr_matrix"
            g.attrs["shape"] = np.array(matrix.shape)
        else:
            g.attrs["h5sparse_format"] = "csr"
            g.attrs["h5sparse_shape"] = np.array(matrix.shape)
        for name in ("data", "indices", "indptr"):
            g.create_dataset(name, data=getattr(matrix, name))


def test_h5ad_sparse_groups_are_checked(tmp_path, problem):
    _, X, graph = problem
    m = sp.csr_matrix(X)
    m.indices[m.indptr[30]] = 999  # a row of the 5th batch
    path = tmp_path / "s.h5ad"
    _h5_csr(path, m)
    with pytest.raises(ValueError, match=rf"'{_mentions(path)}': rows 28\.\.34 of the sparse "
                                         r"matrix has column indices outside \[0, 30\)"):
        with open_signals(path) as reader:
            list(reader.iter_batches(BATCH))
    with pytest.raises(ValueError, match=f"'{_mentions(path)}'.*column indices outside"):
        read_signals(path)  # the genes of raw.X / X
    g = graph.copy()
    g.indices[4] = -2
    _h5_csr(path, g, key="obsp/connectivities")
    with pytest.raises(ValueError, match=f"'{_mentions(path)}'.*column indices outside"):
        read_graph(path)


def test_in_memory_sparse_source_is_checked(problem):
    est, X, _ = problem
    m = sp.csr_matrix(X)
    m.indices[0] = 10_000
    with pytest.raises(ValueError, match="column indices outside"):
        transform_file(est, m, progress=False)


# ---------------------------------------------------------------------------
# sparse layouts scipy.sparse.save_npz writes: all accepted


@pytest.mark.parametrize("layout", [sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.coo_array,
                                    sp.bsr_matrix, sp.dia_matrix])
def test_read_graph_and_signals_of_any_sparse_layout(tmp_path, problem, layout):
    est, X, graph = problem
    g, s = tmp_path / "g.npz", tmp_path / "s.npz"
    sp.save_npz(g, layout(graph))
    sp.save_npz(s, layout(X))
    got = read_graph(g)
    assert got.format == "csr"
    np.testing.assert_array_equal(got.toarray(), graph.toarray())
    np.testing.assert_array_equal(read_signals(s).toarray(), X)
    emb = transform_file(est, s, batch_size=BATCH, progress=False)
    np.testing.assert_array_equal(emb.toarray(), est.transform(sp.csr_matrix(X)).toarray())


def test_read_signals_layouts(tmp_path, problem):
    _, X, _ = problem
    path = tmp_path / "s.npy"
    np.save(path, X.T)
    np.testing.assert_array_equal(read_signals(path, by_nodes=True), X)
    np.save(path, X[0])
    assert read_signals(path).shape == (1, N_NODES)
    with read_signals(path, stream=True) as reader:  # 1-D: read whole, one signal
        assert reader.shape == (1, N_NODES) and reader.path == str(path)
    np.save(path, X)
    with read_signals(path, stream=True) as reader:  # 2-D .npy: memory-mapped
        assert isinstance(reader, SignalReader) and reader.shape == X.shape
        np.testing.assert_array_equal(reader.read(3, 5), X[3:5])
    np.save(path, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"must be a 2-D array, got shape \(2, 3, 4\)"):
        read_signals(path)
    (tmp_path / "x.h5ad").write_bytes(b"not read")
    with pytest.raises(ValueError, match="by_nodes does not apply to .h5ad"):
        read_signals(tmp_path / "x.h5ad", by_nodes=True)


def test_missing_key_is_a_key_error(tmp_path, problem):
    path = tmp_path / "s.npz"
    np.savez(path, signals=problem[1])
    with pytest.raises(KeyError, match="has no array 'nope'"):
        open_signals(path, key="nope")


# ---------------------------------------------------------------------------
# one batch-size rule: the estimator's


@pytest.mark.parametrize("cls", [DiffusionEMD, UnbalancedDiffusionEMD])
def test_default_batch_is_the_estimators(tmp_path, monkeypatch, problem, cls):
    _, X, graph = problem
    est = cls(graph).fit(X)
    asked = []

    def batch_size(self, dtype):
        asked.append(np.dtype(dtype))
        return 5

    monkeypatch.setattr(cls, "_batch_size", batch_size)
    sizes = []

    class Recording(SignalReader):
        def _read(self, start, stop):
            sizes.append(stop - start)
            return X[start:stop]

    transform_file(est, Recording(X.shape, X.dtype, "the recording"), dtype=np.float32,
                   progress=False)
    assert asked[0] == np.float32  # asked for the dtype the batches are cast to
    assert sizes == [5] * 7 + [2]


def test_default_batch_of_other_transformers(problem):
    from sklearn.preprocessing import StandardScaler

    from graphsig.io._stream import _DEFAULT_BATCH, _default_batch

    assert _default_batch(StandardScaler().fit(problem[1]), np.float64) == _DEFAULT_BATCH
