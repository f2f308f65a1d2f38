"""Fault tests of ``graphsig embed``: a run stopped by SIGTERM or SIGINT while it writes.

The command runs in a child process (``graphsig.cli`` as ``__main__``, as
``python -m graphsig.cli`` runs it), paced so that it is still running when
the signal comes: transform batches of 4 signals, each followed by a short
sleep and one line in a marker file. The test waits for the marker (and for
the temporary output file, when the output is written batch by batch), then
sends the signal and checks that the run stops in order: exit code 143 or
130, one line on stderr, no partial output, no temporary file, and any older
output byte for byte as it was.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.sparse as sp

from graphsig.graphs import grid_graph

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

N_SIGNALS = 2000  # 500 paced batches: minutes of work, stopped after a few batches
BATCHES_BEFORE_SIGNAL = 3
START_TIMEOUT = 180.0  # seconds for the child to start and embed its first batches
STOP_TIMEOUT = 120.0

# the command line as `python -m graphsig.cli` runs it, paced by small batches;
# the child starts with the signal dispositions of a shell (SIGINT raises
# KeyboardInterrupt, SIGTERM terminates) whatever the test runner's are
_DRIVER = """
import runpy, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
from graphsig.diffusion import DiffusionOperator
from graphsig.emd._diffusion_emd import _BaseDiffusionEMD
marker = sys.argv.pop(1)
transform = _BaseDiffusionEMD.transform
def paced(self, X):
    out = transform(self, X)
    with open(marker, "a") as f:
        f.write("batch\\n")
    time.sleep(0.05)
    return out
_BaseDiffusionEMD.transform = paced
DiffusionOperator.batch_size = lambda self, n_times, dtype, max_memory=None: 4
sys.argv[0] = "graphsig"
runpy.run_module("graphsig.cli", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(5)
    graph = sp.csr_matrix(grid_graph(5, 6))
    X = rng.uniform(0.0, 1.0, size=(N_SIGNALS, graph.shape[0]))
    X[:, 0] += 0.5
    g, s = directory / "graph.npz", directory / "signals.npy"
    sp.save_npz(g, graph)
    np.save(s, X)
    return str(g), str(s)


def _temporary_files(directory, output):
    return [p for p in os.listdir(directory) if p != os.path.basename(output)]


def _batches(marker):
    try:
        with open(marker) as f:
            return f.read().count("batch")
    except FileNotFoundError:
        return 0


def _run_and_stop(tmp_path, inputs, output, signum, *, wait_for_temporary):
    """Start ``graphsig embed``, send ``signum`` once it is writing; return (code, stderr)."""
    marker = tmp_path / "batches.txt"
    g, s = inputs
    child = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(marker), "embed", g, s, "-o", str(output),
         "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"the run ended (code {child.returncode}) before the signal:\n{err}")
            writing = not wait_for_temporary or _temporary_files(output.parent, output)
            if _batches(marker) >= BATCHES_BEFORE_SIGNAL and writing:
                break
            if time.monotonic() > deadline:
                pytest.fail("the run did not start embedding in time")
            time.sleep(0.02)
        child.send_signal(signum)
        _, err = child.communicate(timeout=STOP_TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return child.returncode, err


def _check_stopped(code, err, expected_code, message):
    assert code == expected_code, err
    assert "Traceback" not in err
    assert err.strip() == f"graphsig: {message}", err


@pytest.mark.parametrize("signum, code, message", [
    (signal.SIGTERM, 143, "terminated"),
    (signal.SIGINT, 130, "interrupted"),
])
def test_signal_while_writing_leaves_no_output(tmp_path, inputs, signum, code, message):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "embedding.npy"
    status, err = _run_and_stop(tmp_path, inputs, output, signum, wait_for_temporary=True)
    _check_stopped(status, err, code, message)
    assert not output.exists()
    assert os.listdir(out_dir) == []  # the temporary file is gone too


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_sigterm_keeps_an_older_output(tmp_path, inputs, suffix):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / f"embedding{suffix}"
    older = b"an older output, kept as it is"
    output.write_bytes(older)
    # a .npy output is written batch by batch (wait for its temporary file);
    # a .npz output is written at the end, so the signal comes before it
    status, err = _run_and_stop(tmp_path, inputs, output, signal.SIGTERM,
                                wait_for_temporary=suffix == ".npy")
    _check_stopped(status, err, 143, "terminated")
    assert output.read_bytes() == older
    assert os.listdir(out_dir) == [output.name]
