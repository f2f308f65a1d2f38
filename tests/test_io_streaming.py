"""Tests of graphsig.io: signals read from disk in batches and embedded."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from graphsig import DiffusionEMD, UnbalancedDiffusionEMD, cli
from graphsig.graphs import grid_graph
from graphsig.io import SignalReader, open_signals, transform_file

N_ROWS, N_COLS = 5, 6
N_NODES = N_ROWS * N_COLS
N_SIGNALS = 37
BATCH = 7  # several batches, the last one shorter


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(11)
    X = rng.uniform(0.1, 1.0, size=(N_SIGNALS, N_NODES))
    X[rng.uniform(size=X.shape) < 0.7] = 0.0
    X[:, 2] += 0.3  # every signal has mass
    est = DiffusionEMD(grid_graph(N_ROWS, N_COLS)).fit(X)
    return est, X


def _dense(a):
    return a.toarray() if sp.issparse(a) else np.asarray(a)


def _write(tmp_path, X, kind):
    """Write ``X`` in one of the supported forms; return the source and whether it is sparse."""
    if kind == "npy":
        path = tmp_path / "s.npy"
        np.save(path, X)
        return str(path), False
    if kind == "npz-csr":
        path = tmp_path / "s.npz"
        sp.save_npz(path, sp.csr_matrix(X), compressed=False)
        return str(path), True
    if kind == "npz-csr-compressed":
        path = tmp_path / "s.npz"
        sp.save_npz(path, sp.csr_matrix(X), compressed=True)
        return path, True
    if kind == "npz-csc":
        path = tmp_path / "s.npz"
        sp.save_npz(path, sp.csc_matrix(X))
        return str(path), True
    if kind == "npz-coo":
        path = tmp_path / "s.npz"
        sp.save_npz(path, sp.coo_matrix(X))
        return str(path), True
    if kind == "npz-coo-array":
        path = tmp_path / "s.npz"
        sp.save_npz(path, sp.coo_array(X))
        return str(path), True
    if kind == "npz-dense":
        path = tmp_path / "s.npz"
        np.savez(path, X)
        return str(path), False
    if kind == "npz-dense-compressed":
        path = tmp_path / "s.npz"
        np.savez_compressed(path, signals=X, other=np.zeros(3))
        return str(path), False
    if kind == "npz-dense-fortran":
        path = tmp_path / "s.npz"
        np.savez(path, np.asfortranarray(X))
        return str(path), False
    if kind in ("h5ad-dense", "h5ad-csr"):
        h5py = pytest.importorskip("h5py")
        path = tmp_path / "s.h5ad"
        with h5py.File(path, "w") as f:
            if kind == "h5ad-dense":
                f.create_dataset("X", data=X, chunks=(4, N_NODES))
            else:
                m = sp.csr_matrix(X)
                g = f.create_group("X")
                g.attrs["encoding-type"] = "csr_matrix"
                g.attrs["shape"] = np.array(m.shape)
                for name in ("data", "indices", "indptr"):
                    g.create_dataset(name, data=getattr(m, name))
        return str(path), kind == "h5ad-csr"
    if kind == "memmap":
        path = tmp_path / "s.dat"
        mm = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
        mm[:] = X
        mm.flush()
        return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape), False
    if kind == "csr-in-memory":
        return sp.csr_matrix(X), True
    raise AssertionError(kind)


KINDS = [
    "npy", "npz-csr", "npz-csr-compressed", "npz-csc", "npz-coo", "npz-coo-array", "npz-dense",
    "npz-dense-compressed", "npz-dense-fortran", "h5ad-dense", "h5ad-csr", "memmap",
    "csr-in-memory",
]


@pytest.mark.parametrize("kind", KINDS)
def test_streaming_equals_in_memory(tmp_path, problem, kind):
    est, X = problem
    source, sparse = _write(tmp_path, X, kind)
    expected = est.transform(sp.csr_matrix(X) if sparse else X)
    got = transform_file(est, source, batch_size=BATCH, progress=False)
    assert sp.issparse(got) == sp.issparse(expected)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(_dense(got), _dense(expected))


@pytest.mark.parametrize("kind", ["npy", "npz-csr-compressed", "npz-coo", "npz-dense-compressed",
                                  "h5ad-csr"])
def test_reader_batches(tmp_path, problem, kind):
    _, X = problem
    source, sparse = _write(tmp_path, X, kind)
    with open_signals(source) as reader:
        assert isinstance(reader, SignalReader)
        assert reader.shape == X.shape and reader.dtype == X.dtype
        assert reader.sparse == sparse
        batches = list(reader.iter_batches(BATCH))
        assert [b.shape[0] for b in batches] == [7, 7, 7, 7, 7, 2]
        assert all(sp.issparse(b) == sparse for b in batches)
        np.testing.assert_array_equal(np.vstack([_dense(b) for b in batches]), X)
        # random access, backwards too
        np.testing.assert_array_equal(_dense(reader.read(30, 33)), X[30:33])
        np.testing.assert_array_equal(_dense(reader.read(2, 4)), X[2:4])
        np.testing.assert_array_equal(_dense(reader.take([9, 1, 20])), X[[1, 9, 20]])


def test_output_memmap(tmp_path, problem):
    est, X = problem
    source, _ = _write(tmp_path, X, "npz-csr-compressed")
    out = tmp_path / "emb.npy"
    got = transform_file(est, source, batch_size=BATCH, output=out, progress=False)
    assert isinstance(got, np.memmap)
    expected = est.transform(sp.csr_matrix(X))
    np.testing.assert_array_equal(np.load(out), _dense(expected))


def test_float32_and_unbalanced(tmp_path, problem):
    _, X = problem
    est = UnbalancedDiffusionEMD(grid_graph(N_ROWS, N_COLS), mass_penalty=2.0).fit(
        X.astype(np.float32)
    )
    source, _ = _write(tmp_path, X, "npy")
    got = transform_file(est, source, batch_size=BATCH, dtype=np.float32, progress=False)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, est.transform(X.astype(np.float32)))


def test_progress_bar(tmp_path, capsys, problem):
    est, X = problem
    source, _ = _write(tmp_path, X, "npy")
    transform_file(est, source, batch_size=BATCH)
    assert "embedding" in capsys.readouterr().err
    transform_file(est, source, batch_size=BATCH, progress=False)
    transform_file(est, source, batch_size=N_SIGNALS)  # one batch: no bar
    assert capsys.readouterr().err == ""
    assert est.progress is False  # the caller's estimator is unchanged


def test_peak_memory_is_one_batch(tmp_path):
    rng = np.random.default_rng(0)
    n_rows, n_cols = 60_000, 50
    X = sp.random(n_rows, n_cols, density=0.3, format="csr", random_state=rng)
    path = tmp_path / "big.npz"
    sp.save_npz(path, X, compressed=True)
    stored = X.data.nbytes + X.indices.nbytes  # 10.8 MB
    tracemalloc.start()
    try:
        with open_signals(path) as reader:
            total = 0.0
            for batch in reader.iter_batches(1000):
                total += batch.sum()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == pytest.approx(X.sum())
    # indptr (0.5 MB, read whole) and one batch (0.18 MB), not the data
    assert peak < stored / 5, (peak, stored)


# ---------------------------------------------------------------------------
# errors


def test_missing_file(tmp_path, problem):
    with pytest.raises(FileNotFoundError, match="signals file not found: .*nope.npy"):
        transform_file(problem[0], tmp_path / "nope.npy")


def test_unknown_format(tmp_path, problem):
    path = tmp_path / "s.csv"
    path.write_text("1,2\n")
    with pytest.raises(ValueError, match=r"unknown extension '\.csv' \(use \.npy, \.npz"):
        transform_file(problem[0], path)


def test_empty_file(tmp_path, problem):
    path = tmp_path / "s.npy"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="the file is empty"):
        transform_file(problem[0], path)


def test_not_an_npz(tmp_path, problem):
    path = tmp_path / "s.npz"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="not a .npz archive"):
        transform_file(problem[0], path)


def test_zero_rows(tmp_path, problem):
    path = tmp_path / "s.npy"
    np.save(path, np.zeros((0, N_NODES)))
    with pytest.raises(ValueError, match=r"holds no signals \(0 rows\)"):
        transform_file(problem[0], path)


def test_wrong_width(tmp_path, problem):
    est, X = problem
    source, _ = _write(tmp_path, X[:, :-1], "npz-csr")
    with pytest.raises(ValueError, match=f"have {N_NODES - 1} columns .* fitted on {N_NODES}"):
        transform_file(est, source)


def test_not_2d(tmp_path, problem):
    path = tmp_path / "s.npy"
    np.save(path, np.ones(N_NODES))
    with pytest.raises(ValueError, match=r"must be a 2-D array .* got shape \(30,\)"):
        transform_file(problem[0], path)


def test_nan_names_rows(tmp_path, problem):
    est, X = problem
    bad = X.copy()
    bad[23, 4] = np.nan
    bad[25, 0] = np.inf
    source, _ = _write(tmp_path, bad, "npz-csr-compressed")
    with pytest.raises(ValueError, match=r"NaN or infinite values \(rows 23, 25\)"):
        transform_file(est, source, batch_size=BATCH, progress=False)


def test_negative_values_name_batch(tmp_path, problem):
    est, X = problem
    bad = X.copy()
    bad[16, 5] = -1.0
    source, _ = _write(tmp_path, bad, "npy")
    with pytest.raises(ValueError, match=r"in rows 14\.\.20 of .*Negative values"):
        transform_file(est, source, batch_size=BATCH, progress=False)


def test_partial_output_removed(tmp_path, problem):
    est, X = problem
    bad = X.copy()
    bad[30, 5] = -1.0
    source, _ = _write(tmp_path, bad, "npy")
    out = tmp_path / "emb.npy"
    with pytest.raises(ValueError, match="Negative values"):
        transform_file(est, source, batch_size=BATCH, output=out, progress=False)
    assert not out.exists()


def test_output_must_be_npy(tmp_path, problem):
    est, X = problem
    with pytest.raises(ValueError, match="output must be a .npy file"):
        transform_file(est, X, output=tmp_path / "emb.npz")


def test_ambiguous_npz(tmp_path, problem):
    path = tmp_path / "s.npz"
    np.savez(path, first=problem[1], second=problem[1])
    with pytest.raises(ValueError, match=r"holds several arrays \(first, second\)"):
        open_signals(path)


def test_h5ad_csc_rejected(tmp_path, problem):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "s.h5ad"
    m = sp.csc_matrix(problem[1])
    with h5py.File(path, "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"] = "csc_matrix"
        g.attrs["shape"] = np.array(m.shape)
        for name in ("data", "indices", "indptr"):
            g.create_dataset(name, data=getattr(m, name))
    with pytest.raises(ValueError, match="stored as CSC, whose rows cannot be read"):
        open_signals(path)


def test_not_fitted(tmp_path, problem):
    with pytest.raises(NotFittedError):
        transform_file(DiffusionEMD(grid_graph(N_ROWS, N_COLS)), problem[1])


# ---------------------------------------------------------------------------
# the command line streams its input


def test_cli_streams_and_fits_on_a_sample(tmp_path, capsys, monkeypatch, problem):
    _, X = problem
    graph = sp.csr_matrix(grid_graph(N_ROWS, N_COLS), dtype=np.float64)
    g = tmp_path / "graph.npz"
    sp.save_npz(g, graph)
    source, _ = _write(tmp_path, X, "npz-csr-compressed")
    monkeypatch.setattr(cli, "_FIT_MAX_BYTES", 2000)  # the file is "too large" to fit on
    out = tmp_path / "emb.npy"
    assert cli.main(["embed", str(g), str(source), "-o", str(out), "--quiet"]) == 0
    rows = cli._fit_sample(N_SIGNALS, 2000 // (N_NODES * 8))
    assert 0 < len(rows) < N_SIGNALS
    est = DiffusionEMD(graph, max_scale="auto").fit(sp.csr_matrix(X[rows]))
    np.testing.assert_array_equal(np.load(out), _dense(est.transform(sp.csr_matrix(X))))
