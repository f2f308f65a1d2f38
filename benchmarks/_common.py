"""Shared pieces of the benchmark scripts: protocol, exact-EMD cache, reporting."""

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = RESULTS / "cache"

# targets of the accuracy protocol
TARGET_SPEARMAN = 0.95
TARGET_PRECISION = 0.85
K_NEIGHBOURS = 10


# ---------------------------------------------------------------------------
# protocol


def query_indices(n_signals, n_queries):
    """The query signals: a seeded sample without replacement."""
    n_queries = min(int(n_queries), n_signals)
    return np.random.default_rng(0).choice(n_signals, n_queries, replace=False)


def l1_rows(embedding, queries):
    """L1 distances from the embedded queries to every embedded signal."""
    from scipy.spatial.distance import cdist

    if sp.issparse(embedding):  # compressed embeddings of sparse signals
        embedding = embedding.toarray()
    emb = np.asarray(embedding, dtype=np.float64)
    return cdist(emb[queries], emb, metric="cityblock")


def query_scores(approx, exact, queries, k=K_NEIGHBOURS):
    """Spearman correlation and P@k of each query, over all other signals.

    P@k counts a found neighbour as correct when its exact distance is at
    most the exact k-th smallest (ties in the exact distances are common).

    ``approx`` and ``exact`` have shape (n_queries, n_signals); row ``i``
    holds the distances from signal ``queries[i]`` to every signal, itself
    included (it is left out here).
    """
    from scipy.stats import spearmanr

    spearman = np.empty(len(queries))
    precision = np.empty(len(queries))
    for i, q in enumerate(queries):
        others = np.ones(approx.shape[1], dtype=bool)
        others[q] = False
        a = approx[i, others]
        e = exact[i, others]
        spearman[i] = spearmanr(a, e).statistic
        near_a = np.argsort(a, kind="stable")[:k]
        # a neighbour is correct when its exact distance is at most the exact
        # k-th smallest: integer hop costs give ties
        kth = np.partition(e, k - 1)[k - 1]
        precision[i] = np.mean(e[near_a] <= kth + 1e-9 * max(1.0, kth))
    return spearman, precision


def summarise(spearman, precision):
    """Means and standard deviations over the queries (a JSON-ready dict)."""
    return {
        "spearman_mean": float(np.mean(spearman)),
        "spearman_std": float(np.std(spearman)),
        "p_at_10_mean": float(np.mean(precision)),
        "p_at_10_std": float(np.std(precision)),
        "n_queries": int(len(spearman)),
    }


# ---------------------------------------------------------------------------
# cache of exact EMD


def fingerprint(*arrays, extra=""):
    """A short hash of the arrays (and sparse matrices) and a string."""
    h = hashlib.sha256(extra.encode())
    for a in arrays:
        if sp.issparse(a):
            a = sp.csr_matrix(a)
            parts = (a.indptr, a.indices, a.data, np.asarray(a.shape))
        else:
            parts = (np.asarray(a),)
        for p in parts:
            p = np.ascontiguousarray(p)
            h.update(str((p.dtype.str, p.shape)).encode())
            h.update(p.tobytes())
    return h.hexdigest()[:24]


def cached_exact(name, graph, signals, queries, *, mass_penalty=None, n_jobs=None,
                 log=print):
    """Exact EMD from the queries to every signal, cached on disk.

    The cache file ``results/cache/{name}.cache.npz`` is used only if its
    fingerprint (graph, signals, queries, mass penalty) matches.
    Returns ``(distances, seconds)``, seconds being those of the run that
    filled the cache.
    """
    from graphsig import exact_emd

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.cache.npz"
    key = fingerprint(graph, signals, queries, extra=f"mass_penalty={mass_penalty}")
    if path.exists():
        with np.load(path) as f:
            if str(f["key"]) == key:
                log(f"  exact EMD: cached in {path.relative_to(HERE.parent)}")
                return f["distances"], float(f["seconds"])
        log(f"  exact EMD: {path.name} is stale, recomputing")
    log(f"  exact EMD: {len(queries)} queries x {signals.shape[0]} signals ...")
    start = time.perf_counter()
    distances = exact_emd(
        graph, signals[queries], signals, mass_penalty=mass_penalty, n_jobs=n_jobs,
        progress=True,
    )
    seconds = time.perf_counter() - start
    np.savez(path, key=np.array(key), distances=distances, seconds=np.array(seconds),
             queries=np.asarray(queries))
    log(f"  exact EMD: {seconds:.1f} s, saved to {path.relative_to(HERE.parent)}")
    return distances, seconds


# ---------------------------------------------------------------------------
# machine and reporting


def machine_info():
    import numba

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }
    try:
        from importlib.metadata import version

        info["multiscaleemd"] = version("multiscaleemd")
    except Exception:  # noqa: BLE001 - the reference is optional for some runs
        info["multiscaleemd"] = None
    return info


def load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def command_line():
    return "python " + " ".join([Path(sys.argv[0]).as_posix().split("/main/")[-1]] + sys.argv[1:])


def write_results(stem, markdown, payload):
    """Write ``results/{stem}.md`` and ``results/{stem}.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    md_path = RESULTS / f"{stem}.md"
    json_path = RESULTS / f"{stem}.json"
    md_path.write_text(markdown)
    json_path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    return md_path, json_path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def best_of(func, repeats):
    """Smallest wall time of ``repeats`` calls, and the last result."""
    best = np.inf
    result = None
    for _ in range(max(1, int(repeats))):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
