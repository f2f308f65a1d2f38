"""Faults on a Dask cluster: a worker dies mid-run, a port never answers."""

import os
import signal
import socket
import sys
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

dask = pytest.importorskip("dask", reason="Dask is not installed (pip install graphsig[dask])")
distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install graphsig[dask])"
)

from graphsig import DiffusionEMD  # noqa: E402
from graphsig.graphs import grid_graph  # noqa: E402
from graphsig.neighbors import l1_kneighbors  # noqa: E402
from graphsig.parallel import connect, embed, kneighbors  # noqa: E402

# the workers cannot import this module: send its classes and functions by value
import cloudpickle  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])

N_ROWS, N_COLS = 5, 6
N_SIGNALS = 120
CHUNK = 4  # 30 chunks
TASK_SECONDS = 0.05  # per chunk: ~0.75 s of work per worker, enough to kill one mid-run
DEADLINE = 60  # seconds for a job to finish after the kill (a generous bound)


class _SlowDiffusionEMD(DiffusionEMD):
    """A DiffusionEMD whose transform takes a while, so that a worker dies mid-run."""

    def transform(self, X):
        time.sleep(TASK_SECONDS)
        return super().transform(X)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(11)
    X = rng.uniform(0.1, 1.0, size=(N_SIGNALS, N_ROWS * N_COLS))
    X[rng.uniform(size=X.shape) < 0.7] = 0.0
    X[:, 2] += 0.3  # every signal has mass
    est = _SlowDiffusionEMD(grid_graph(N_ROWS, N_COLS)).fit(X)
    return est, X


def _warm_up(est, X):
    """Import graphsig and load numba's kernels (run on the workers)."""
    est.transform(X)
    l1_kneighbors(est.transform(sp.csr_matrix(X)), n_neighbors=1)


@pytest.fixture
def client(problem):
    """A client of two worker processes with one thread each, ready to transform.

    Processes, so that a worker can really die; one cluster per test, since
    the nanny of a killed worker starts a new one, which the next test
    should not wait for. A worker fetching data from the dead one retries
    to connect for ``distributed.comm.timeouts.connect`` (30 s by default)
    before it asks the scheduler for another copy: 3 s here.
    """
    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}), distributed.LocalCluster(
        host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
        memory_limit="1GiB", dashboard_address=":0",
    ) as cluster, distributed.Client(cluster) as client:
        est, X = problem
        client.run(_warm_up, est, X[:2])
        yield client


@pytest.fixture
def workers(client):
    """The process id of each worker, by address."""
    pids = client.run(os.getpid)
    assert len(pids) == 2
    return pids


def _dense(a):
    return a.toarray() if sp.issparse(a) else np.asarray(a)


def _assert_same(got, expected):
    """Bitwise equal, of the same kind (dense or sparse) and dtype."""
    assert sp.issparse(got) == sp.issparse(expected)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(_dense(got), _dense(expected))


def _count(dask_scheduler, prefix, states):
    """Tasks named ``prefix...`` in one of ``states`` (run on the scheduler)."""
    return sum(
        1 for key, ts in dask_scheduler.tasks.items()
        if str(key[0] if isinstance(key, tuple) else key).startswith(prefix)
        and ts.state in states
    )


def _kill_when_started(client, pids, prefix, before, *, finished=True):
    """Kill a worker once a task named ``prefix...`` has finished (or started).

    The worker killed is the one holding the most keys not in ``before``
    (the job's chunks and results). Returns how many such tasks had finished
    then (to check that the kill happened mid-run).
    """
    states = ("memory",) if finished else ("processing", "memory")
    start = time.monotonic()
    while True:
        if client.run_on_scheduler(_count, prefix=prefix, states=states):
            break
        assert time.monotonic() - start < DEADLINE, "no task finished"
        time.sleep(0.02)
    held = client.has_what()
    address = max(pids, key=lambda a: len(set(held.get(a, ())) - before))
    os.kill(pids[address], signal.SIGKILL)
    return client.run_on_scheduler(_count, prefix=prefix, states=("memory",))


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_embed_recovers_from_a_killed_worker(client, workers, problem, kind):
    est, X = problem
    if kind == "sparse":
        X = sp.csr_matrix(X)
    expected = est.transform(X)
    before = set(client.who_has())
    emb = embed(est, X, client=client, chunk_size=CHUNK)
    n_chunks = len(emb.chunks[0])
    assert n_chunks == N_SIGNALS // CHUNK
    # on the two workers only: the one the nanny starts after the kill would
    # import graphsig before running anything
    future = client.compute(emb, workers=list(workers), allow_other_workers=False)
    done = _kill_when_started(client, workers, "_transform_chunk", before)
    assert done < n_chunks - 2  # killed mid-run
    got = future.result(timeout=DEADLINE)
    _assert_same(got, expected)


def _slow_l1_kneighbors(seconds):
    """Make this worker's kNN blocks take ``seconds`` more (run on the workers)."""
    import graphsig.neighbors as neighbors

    fast = neighbors.l1_kneighbors

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return fast(*args, **kwargs)

    neighbors.l1_kneighbors = slow


def test_kneighbors_recovers_from_a_killed_worker(client, workers, problem):
    est, X = problem
    emb = est.transform(X)
    expected = l1_kneighbors(emb, n_neighbors=4, exclude_self=True)
    client.run(_slow_l1_kneighbors, 0.02)  # 100 blocks: ~1 s of work per worker
    n_chunks = N_SIGNALS // (3 * CHUNK)
    before = set(client.who_has())
    result = {}

    def search():
        try:
            with dask.annotate(workers=list(workers), allow_other_workers=False):  # as above
                result["got"] = kneighbors(emb, n_neighbors=4, exclude_self=True,
                                           client=client, chunk_size=3 * CHUNK)
        except BaseException as exc:  # re-raised below
            result["error"] = exc

    thread = threading.Thread(target=search)
    thread.start()
    try:
        # as soon as a block runs: the blocks soon copy every chunk to every worker
        done = _kill_when_started(client, workers, "_block_kneighbors", before, finished=False)
    finally:
        thread.join(DEADLINE)
    assert not thread.is_alive()
    assert done < n_chunks**2 - 2  # killed mid-run
    if "error" in result:
        raise result["error"]
    np.testing.assert_array_equal(result["got"][1], expected[1])
    np.testing.assert_array_equal(result["got"][0], expected[0])


# ---------------------------------------------------------------------------
# connecting


def test_connect_to_a_running_scheduler():
    with distributed.LocalCluster(
        protocol="tcp://", host="127.0.0.1", n_workers=1, threads_per_worker=1, processes=False,
        dashboard_address=":0",
    ) as cluster:
        client = connect(cluster.scheduler_address, timeout=5)
        try:
            assert client.status == "running"
            assert connect(cluster.scheduler_address, timeout=5) is client  # kept
            assert sum(client.nthreads().values()) == 1
        finally:
            client.close()


@pytest.fixture
def silent_port():
    """A local port that accepts TCP connections and never sends a byte."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.05)
    accepted = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except socket.timeout:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()
    for conn in accepted:
        conn.close()


def test_connect_to_a_silent_port_times_out(silent_port):
    address = f"tcp://127.0.0.1:{silent_port}"
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=rf"cannot reach the Dask scheduler at "
                                              rf"'{address}' within 2 s: .*handshake"):
        connect(address, timeout=2)
    assert 1.5 < time.perf_counter() - start < 10
    assert not [t for t in threading.enumerate() if t.name.startswith("graphsig")]  # none left
