"""Tests of the ``graphsig`` command line (graphsig.cli)."""

import os
import re
import signal
import sys
import threading
import time

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from graphsig import DiffusionEMD, UnbalancedDiffusionEMD
from graphsig import cli
from graphsig.graphs import grid_graph

N_ROWS, N_COLS = 4, 6
N_NODES = N_ROWS * N_COLS
N_SIGNALS = 10


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    graph = sp.csr_matrix(grid_graph(N_ROWS, N_COLS), dtype=np.float64)
    X = rng.uniform(0.1, 1.0, size=(N_SIGNALS, N_NODES))
    X[rng.uniform(size=X.shape) < 0.6] = 0.0
    X[:, 0] += 0.5  # every signal has mass
    return graph, X


def _error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("graphsig: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


# ---------------------------------------------------------------------------
# writers of the supported formats


def _as_read(X, kind):
    """The signals as the command reads them: sparse from sparse files."""
    return sp.csr_matrix(X) if kind in ("npz-sparse", "mtx") else X


def _write_matrix(tmp_path, name, matrix, kind):
    if kind == "npz-sparse":
        path = tmp_path / f"{name}.npz"
        sp.save_npz(path, sp.csr_matrix(matrix))
    elif kind == "npz-dense":
        path = tmp_path / f"{name}.npz"
        np.savez(path, np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix))
    elif kind == "mtx":
        path = tmp_path / f"{name}.mtx"
        scipy.io.mmwrite(path, sp.coo_matrix(matrix))
    elif kind == "npy":
        path = tmp_path / f"{name}.npy"
        np.save(path, np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix))
    else:
        raise AssertionError(kind)
    return str(path)


def _write_h5ad(path, graph, expression, layout):
    """A minimal AnnData file: cells x genes ``expression`` and the cell graph."""
    h5py = pytest.importorskip("h5py")
    graph = sp.csr_matrix(graph)
    expr = sp.csr_matrix(expression)
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=-np.ones(expr.shape))  # scaled data: not a mass
        if layout == "h5sparse":  # anndata < 0.7
            raw = f.create_group("raw.X")
            raw.attrs["h5sparse_format"] = "csr"
            raw.attrs["h5sparse_shape"] = np.array(expr.shape)
            conn = f.create_group("uns/neighbors/connectivities")
            conn.attrs["h5sparse_format"] = "csr"
            conn.attrs["h5sparse_shape"] = np.array(graph.shape)
        else:  # anndata >= 0.8
            raw = f.create_group("raw/X")
            raw.attrs["encoding-type"] = "csr_matrix"
            raw.attrs["shape"] = np.array(expr.shape)
            conn = f.create_group("obsp/connectivities")
            conn.attrs["encoding-type"] = "csr_matrix"
            conn.attrs["shape"] = np.array(graph.shape)
        for group, m in ((raw, expr), (conn, graph)):
            group.create_dataset("data", data=m.data)
            group.create_dataset("indices", data=m.indices)
            group.create_dataset("indptr", data=m.indptr)


# ---------------------------------------------------------------------------
# demo


def test_demo_prints_neighbours_accuracy_and_times(capsys):
    code = cli.main(["demo", "--n-queries", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = captured.out
    for section in ("Nearest genes", "Accuracy against exact EMD (2 query genes", "Time"):
        assert section in out
    for timing in ("fit (", "transform (765 genes)", "all-pairs L1 distances",
                   "exact EMD of the sample", "extrapolated"):
        assert timing in out
    # the certified exact neighbours agree with exact EMD on every query
    assert re.search(r'exact 10 nearest \(refine="exact"\): P@10 1\.000 with \d+ exact solves',
                     out)
    # CD3D's nearest genes include other T-cell receptor genes
    cd3d = next(line for line in out.splitlines() if line.strip().startswith("CD3D"))
    assert re.search(r"\b(CD3E|CD3G|LCK)\b", cd3d)
    nearest = out[out.index("Nearest genes"):out.index("Accuracy against")]
    markers = re.findall(r"^  (\S+) +\([^)]*\): (.*)$", nearest, flags=re.M)
    assert len(markers) == 6
    assert all(len(near.split(", ")) == 5 for _, near in markers)  # five nearest each
    spearman = float(re.search(r"Spearman correlation of distances: mean ([0-9.]+)", out)[1])
    precision = float(re.search(r"P@10 .*: mean ([0-9.]+)", out)[1])
    assert spearman > 0.9
    assert 0.0 <= precision <= 1.0
    assert "embedding" in captured.err  # the progress bar
    # the one-off compilation is reported apart from the steady-state ratio
    one_off = re.search(r"^One-off compilation: ([0-9.]+) s", out, flags=re.M)
    steady = re.search(r"^Steady state: exact EMD of all pairs takes (\d+)x the time of "
                       r"fit \+ transform \+ all-pairs L1 \(([0-9.]+) s\)$", out, flags=re.M)
    assert one_off and steady, out
    assert float(one_off[1]) >= 0.0 and int(steady[1]) > 0
    assert "first fit + transform (includes one-off costs)" in out


def test_no_arguments_runs_the_demo(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "_run_demo", lambda args: calls.append(args) or 0)
    assert cli.main([]) == 0
    assert len(calls) == 1
    assert calls[0].n_queries == 8 and not calls[0].unbalanced


def test_demo_mass_penalty_needs_unbalanced(capsys):
    assert cli.main(["demo", "--mass-penalty", "2"]) == 2
    assert "add --unbalanced" in _error_line(capsys)


def test_demo_too_many_queries(capsys):
    assert cli.main(["demo", "--n-queries", "100000"]) == 2
    assert "--n-queries must be at most 765" in _error_line(capsys)


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("graphsig ")


# ---------------------------------------------------------------------------
# embed: round trips


def _dense(embedding):
    """Compressed embeddings of sparse signals are sparse; ``.npy`` output is dense."""
    return embedding.toarray() if sp.issparse(embedding) else embedding


def test_sparse_embedding_written_as_scipy_npz(tmp_path, capsys, problem):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "npz-sparse")
    s = _write_matrix(tmp_path, "signals", X, "npz-sparse")
    out = tmp_path / "emb.npz"
    assert cli.main(["embed", g, s, "-o", str(out), "--quiet"]) == 0, capsys.readouterr().err
    expected = DiffusionEMD(graph).fit_transform(_as_read(X, "npz-sparse"))
    assert sp.issparse(expected)
    got = sp.load_npz(out)
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-10, atol=1e-12)
    with np.load(out) as f:
        assert "times" in f and "hop_scale" in f


@pytest.mark.parametrize(
    "graph_kind, signal_kind",
    [
        ("npz-sparse", "npz-sparse"),
        ("npz-dense", "npz-dense"),
        ("mtx", "mtx"),
        ("npy", "npy"),
        ("mtx", "npz-sparse"),
        ("npz-sparse", "npy"),
    ],
)
def test_embed_round_trip_matches_estimator(tmp_path, capsys, problem, graph_kind, signal_kind):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, graph_kind)
    s = _write_matrix(tmp_path, "signals", X, signal_kind)
    out = tmp_path / "emb.npy"
    assert cli.main(["embed", g, s, "-o", str(out)]) == 0, capsys.readouterr().err
    expected = _dense(DiffusionEMD(graph).fit_transform(_as_read(X, signal_kind)))
    got = np.load(out)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    summary = capsys.readouterr().out
    assert f"embedded {N_SIGNALS} signals on {N_NODES} nodes" in summary
    assert f"{N_SIGNALS} x {expected.shape[1]}" in summary


def test_embed_npz_output_and_options(tmp_path, capsys, problem):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "npz-sparse")
    s = _write_matrix(tmp_path, "signals", X.T, "npy")  # nodes x signals
    out = tmp_path / "emb.npz"
    code = cli.main(["embed", g, s, "-o", str(out), "--signals-by-nodes", "--float32",
                     "--max-scale", "3", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out == ""
    est = DiffusionEMD(graph, max_scale=3).fit(X.astype(np.float32))
    expected = est.transform(X.astype(np.float32))
    with np.load(out) as f:
        assert sorted(f.keys()) == ["embedding", "hop_scale", "times"]
        assert f["embedding"].dtype == np.float32
        np.testing.assert_allclose(f["embedding"], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(f["times"], [0, 1, 2, 4, 8])
        assert float(f["hop_scale"]) == pytest.approx(est.hop_scale_)


def test_embed_unbalanced(tmp_path, capsys, problem):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "mtx")
    s = _write_matrix(tmp_path, "signals", 3.0 * X, "npz-sparse")
    out = tmp_path / "emb.npy"
    code = cli.main(["embed", g, s, "-o", str(out), "--unbalanced", "--mass-penalty", "3"])
    assert code == 0, capsys.readouterr().err
    expected = _dense(UnbalancedDiffusionEMD(graph, mass_penalty=3.0).fit_transform(
        _as_read(3.0 * X, "npz-sparse")
    ))
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-10, atol=1e-12)
    assert "mass_penalty=3" in capsys.readouterr().out


@pytest.mark.parametrize("layout", ["h5sparse", "anndata"])
def test_embed_h5ad(tmp_path, capsys, problem, layout):
    graph, X = problem
    path = tmp_path / "data.h5ad"
    _write_h5ad(path, graph, X.T, layout)  # cells x genes
    out = tmp_path / "emb.npy"
    assert cli.main(["embed", str(path), str(path), "-o", str(out)]) == 0, capsys.readouterr().err
    expected = _dense(DiffusionEMD(graph).fit_transform(sp.csr_matrix(X)))
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-10, atol=1e-12)


def test_embed_h5ad_without_h5py(tmp_path, capsys, monkeypatch, problem):
    graph, X = problem
    path = tmp_path / "data.h5ad"
    path.write_bytes(b"not read")
    s = _write_matrix(tmp_path, "signals", X, "npy")
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py raises ImportError
    assert cli.main(["embed", str(path), s, "-o", str(tmp_path / "e.npy")]) == 2
    assert "pip install graphsig[h5ad]" in _error_line(capsys)


# ---------------------------------------------------------------------------
# embed: errors


def test_embed_missing_graph_file(tmp_path, capsys, problem):
    s = _write_matrix(tmp_path, "signals", problem[1], "npy")
    code = cli.main(["embed", str(tmp_path / "nope.npz"), s, "-o", str(tmp_path / "e.npy")])
    assert code == 2
    assert "graph file not found" in _error_line(capsys)


def test_embed_missing_signals_file(tmp_path, capsys, problem):
    g = _write_matrix(tmp_path, "graph", problem[0], "npz-sparse")
    code = cli.main(["embed", g, str(tmp_path / "nope.npy"), "-o", str(tmp_path / "e.npy")])
    assert code == 2
    assert "signals file not found" in _error_line(capsys)


def test_embed_unknown_input_extension(tmp_path, capsys, problem):
    bad = tmp_path / "graph.csv"
    bad.write_text("0,1\n1,0\n")
    s = _write_matrix(tmp_path, "signals", problem[1], "npy")
    assert cli.main(["embed", str(bad), s, "-o", str(tmp_path / "e.npy")]) == 2
    line = _error_line(capsys)
    assert "unknown extension '.csv'" in line and ".npz, .mtx, .npy or .h5ad" in line


def test_embed_unknown_output_extension(tmp_path, capsys, problem):
    g = _write_matrix(tmp_path, "graph", problem[0], "npz-sparse")
    s = _write_matrix(tmp_path, "signals", problem[1], "npy")
    assert cli.main(["embed", g, s, "-o", str(tmp_path / "e.txt")]) == 2
    assert "use .npy or .npz" in _error_line(capsys)


def test_embed_width_mismatch(tmp_path, capsys, problem):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "npz-sparse")
    s = _write_matrix(tmp_path, "signals", X[:, :-1], "npy")
    assert cli.main(["embed", g, s, "-o", str(tmp_path / "e.npy")]) == 2
    line = _error_line(capsys)
    assert f"X has {N_NODES - 1} columns (nodes) but the graph has {N_NODES} nodes" in line
    assert not (tmp_path / "e.npy").exists()


def test_embed_signals_by_nodes_hint(tmp_path, capsys, problem):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "npz-sparse")
    s = _write_matrix(tmp_path, "signals", X.T, "npy")  # nodes x signals, flag forgotten
    assert cli.main(["embed", g, s, "-o", str(tmp_path / "e.npy")]) == 2
    assert "add --signals-by-nodes" in _error_line(capsys)


def test_embed_negative_signals(tmp_path, capsys, problem):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "npz-sparse")
    s = _write_matrix(tmp_path, "signals", -X, "npy")
    assert cli.main(["embed", g, s, "-o", str(tmp_path / "e.npy")]) == 2
    assert "Negative values" in _error_line(capsys)


def test_embed_ambiguous_npz(tmp_path, capsys, problem):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "npz-sparse")
    s = tmp_path / "signals.npz"
    np.savez(s, first=X, second=X)
    assert cli.main(["embed", g, str(s), "-o", str(tmp_path / "e.npy")]) == 2
    assert "holds several arrays (first, second)" in _error_line(capsys)


def test_embed_bad_mass_penalty(tmp_path, capsys, problem):
    g = _write_matrix(tmp_path, "graph", problem[0], "npz-sparse")
    s = _write_matrix(tmp_path, "signals", problem[1], "npy")
    code = cli.main(["embed", g, s, "-o", str(tmp_path / "e.npy"), "--unbalanced",
                     "--mass-penalty", "-1"])
    assert code == 2
    assert "expected a finite number > 0" in _error_line(capsys)


def test_unknown_command(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "invalid choice: 'frobnicate'" in _error_line(capsys)


def test_embed_missing_output_option(tmp_path, capsys, problem):
    g = _write_matrix(tmp_path, "graph", problem[0], "npz-sparse")
    s = _write_matrix(tmp_path, "signals", problem[1], "npy")
    assert cli.main(["embed", g, s]) == 2
    assert "-o/--output" in _error_line(capsys)


def test_progress_bar_over_batches(capsys, problem):
    graph, X = problem
    est = DiffusionEMD(graph, max_memory=4096).fit(X)  # a few signals per batch
    emb = cli._transform(est, X, progress=True, unit="signal")
    np.testing.assert_allclose(emb, est.transform(X), rtol=1e-12, atol=1e-14)
    assert "diffusing" in capsys.readouterr().err  # the estimator's bar, one step per batch
    assert est.progress is False


def test_transform_uses_the_estimators_batch_size(capsys, monkeypatch, problem):
    graph, X = problem
    est = DiffusionEMD(graph).fit(X)  # one batch by the default memory budget
    monkeypatch.setattr(DiffusionEMD, "_batch_size", lambda self, dtype: 3)
    emb = cli._transform(est, X, progress=True, unit="signal")
    np.testing.assert_allclose(emb, est.transform(X), rtol=1e-12, atol=1e-14)
    assert "diffusing" in capsys.readouterr().err  # the estimator's bar: 4 batches of 3


# ---------------------------------------------------------------------------
# embed: inputs are never lost, outputs never partial


@pytest.mark.parametrize("case", ["signals", "signals-symlink", "signals-hardlink", "graph"])
def test_embed_refuses_an_output_that_is_an_input(tmp_path, capsys, problem, case):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "npy")
    s = _write_matrix(tmp_path, "signals", X, "npy")
    before = {p: open(p, "rb").read() for p in (g, s)}
    source = g if case == "graph" else s
    out = source
    if case == "signals-symlink":
        out = str(tmp_path / "link.npy")
        os.symlink(s, out)
    elif case == "signals-hardlink":
        out = str(tmp_path / "hard.npy")
        os.link(s, out)
    assert cli.main(["embed", g, s, "-o", out, "--quiet"]) == 2
    line = _error_line(capsys)
    assert f"output {out!r} is the input file {source!r}" in line
    assert {p: open(p, "rb").read() for p in (g, s)} == before


def test_embed_failure_keeps_an_older_output(tmp_path, capsys, monkeypatch, problem):
    from graphsig.diffusion import DiffusionOperator

    graph, _ = problem
    rng = np.random.default_rng(4)
    X = rng.uniform(0.1, 1.0, size=(60, N_NODES))
    monkeypatch.setattr(cli, "_FIT_MAX_BYTES", 2000)  # fit on a sample of 10 rows
    assert 59 not in cli._fit_sample(60, 2000 // (N_NODES * 8))
    X[59, 3] = -1.0  # found in the last of 8 batches, after 7 are written
    monkeypatch.setattr(DiffusionOperator, "batch_size",
                        lambda self, n_times, dtype, max_memory=None: 8)
    g = _write_matrix(tmp_path, "graph", graph, "npz-sparse")
    s = _write_matrix(tmp_path, "signals", X, "npy")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "emb.npy"
    out.write_bytes(b"an older embedding")
    assert cli.main(["embed", g, s, "-o", str(out), "--quiet"]) == 2
    assert "Negative values" in _error_line(capsys)
    assert out.read_bytes() == b"an older embedding"
    assert os.listdir(out_dir) == ["emb.npy"]


def _flipped_npz(path, matrix):
    sp.save_npz(path, sp.csr_matrix(matrix), compressed=True)
    raw = bytearray(path.read_bytes())
    for i in range(len(raw) // 3, len(raw) // 3 + 64):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def _bad_index_npz(path, matrix):
    m = sp.csr_matrix(matrix)
    indices = m.indices.copy()
    indices[-1] = 10**6
    np.savez(path, data=m.data, indices=indices, indptr=m.indptr, format=np.array(b"csr"),
             shape=np.array(m.shape))


@pytest.mark.parametrize("which, damage", [
    ("graph", "flipped"), ("signals", "flipped"), ("graph", "truncated-npy"),
    ("signals", "truncated-npy"), ("graph", "bad-index"), ("signals", "bad-index"),
    ("graph", "truncated-h5ad"),
])
def test_embed_corrupted_input_is_one_line(tmp_path, capsys, problem, which, damage):
    graph, X = problem
    g = _write_matrix(tmp_path, "graph", graph, "npz-sparse")
    s = _write_matrix(tmp_path, "signals", X, "npy")
    matrix = graph if which == "graph" else X
    if damage == "flipped":
        bad = tmp_path / "bad.npz"
        _flipped_npz(bad, matrix)
    elif damage == "bad-index":
        bad = tmp_path / "bad.npz"
        _bad_index_npz(bad, matrix)
    elif damage == "truncated-npy":
        bad = tmp_path / "bad.npy"
        np.save(bad, np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix))
        bad.write_bytes(bad.read_bytes()[:200])
    else:
        bad = tmp_path / "bad.h5ad"
        _write_h5ad(bad, graph, X.T, "anndata")
        bad.write_bytes(bad.read_bytes()[:1500])
    args = [str(bad), s] if which == "graph" else [g, str(bad)]
    out = tmp_path / "e.npy"
    assert cli.main(["embed", *args, "-o", str(out), "--quiet"]) == 2
    line = _error_line(capsys)
    assert f"cannot read {which} from {str(bad)!r}" in line
    assert not out.exists()


@pytest.mark.parametrize("layout", [sp.coo_matrix, sp.csc_matrix])
def test_embed_coo_and_csc_npz(tmp_path, capsys, problem, layout):
    graph, X = problem
    g, s = tmp_path / "graph.npz", tmp_path / "signals.npz"
    sp.save_npz(g, layout(graph))
    sp.save_npz(s, layout(X))
    out = tmp_path / "emb.npz"
    assert cli.main(["embed", str(g), str(s), "-o", str(out), "--quiet"]) == 0, \
        capsys.readouterr().err
    expected = DiffusionEMD(graph).fit_transform(sp.csr_matrix(X))
    np.testing.assert_allclose(sp.load_npz(out).toarray(), _dense(expected), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32",
                    reason="POSIX signals")
def test_sigterm_is_an_orderly_exit(capsys, monkeypatch):
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("the test runner handles SIGTERM itself")
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are handled in the main thread only")

    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between two of these
            time.sleep(0.01)
        raise AssertionError("SIGTERM was not handled")

    monkeypatch.setattr(cli, "_run_demo", terminated)
    assert cli.main(["demo"]) == 143
    captured = capsys.readouterr()
    assert captured.err == "graphsig: terminated\n"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def test_a_host_programs_sigterm_handler_is_kept(monkeypatch):
    def host(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, host)
    try:
        seen = []
        monkeypatch.setattr(cli, "_run_demo",
                            lambda args: seen.append(signal.getsignal(signal.SIGTERM)) or 0)
        assert cli.main(["demo"]) == 0
        assert seen == [host] and signal.getsignal(signal.SIGTERM) is host
    finally:
        signal.signal(signal.SIGTERM, previous)
