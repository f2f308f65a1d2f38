"""numba thread settings shared by every package's kernels (internal)."""

from contextlib import contextmanager

__all__ = ["numba_threads", "parallel_chunks"]


def parallel_chunks(n_signals):
    """Column slices for the numba threads: one per thread, of at least 32 signals."""
    import numba

    return max(1, min(numba.get_num_threads(), n_signals // 32))


@contextmanager
def numba_threads(n_jobs):
    """Run numba kernels on ``n_jobs`` threads, restoring the previous setting.

    ``None`` keeps numba's setting; a negative ``n_jobs`` counts back from
    all of numba's threads (-1: all of them).
    """
    if n_jobs is None:
        yield
        return
    import numba

    previous = numba.get_num_threads()
    n = int(n_jobs)
    if n < 0:
        n = max(1, numba.config.NUMBA_NUM_THREADS + 1 + n)
    n = max(1, min(n, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
