"""Threads for the Numba kernels, and for OpenMP in a forked process.

The Numba kernels are plain jitted functions over a range of chunks (never
``parallel=True``); ``run`` hands the ranges to a pool of Python threads, which run
them at once because the kernels release the GIL.  Not ``prange``, for three reasons
measured here:

- Numba links a function called from a parallel region into that region and
  optimises it a second time: the one-layer kernel's loop was unrolled again and
  spilled its sums, 20 to 40% slower (benchmarks/README.md).
- Numba's OpenMP threading layer hangs in a process forked after it ran (Python's
  ``multiprocessing`` forks by default on Linux), and its ``workqueue`` layer aborts
  when two threads call parallel code at once.  A pool of Python threads does
  neither: it is started again in a forked process.
- Every Numba kernel then follows one thread setting, this module's.

The C kernels use OpenMP, whose GNU runtime also hangs in a process forked after it
started its threads.  ``guard_openmp`` makes such a child run the C kernels on one
thread instead, and says so the first time more are asked for.
"""

import os
import threading
import warnings
from contextlib import contextmanager

_local = threading.local()


def _default_threads():
    env = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


DEFAULT_THREADS = _default_threads()


def get_num_threads():
    """Threads the Numba kernels use in the calling thread (all cores by default)."""
    return getattr(_local, "threads", DEFAULT_THREADS)


def set_num_threads(n):
    """Set the threads the Numba kernels use in the calling thread."""
    _local.threads = int(n)


def run(work, nchunks, threads=None):
    """Call ``work(c0, c1)`` over ranges of chunks covering ``range(nchunks)``, on
    ``threads`` threads (None: ``get_num_threads()``), the calling one included.  Errors are raised once
    every thread has stopped.

    The ranges are handed out as OpenMP's guided schedule does: each thread takes a
    share of what is left (half of it, split among the threads), so there are few
    calls into Numba (microseconds each), and the last ranges are single chunks, so
    the threads finish together however costly a chunk is.
    """
    threads = min(get_num_threads() if threads is None else threads, nchunks)
    if threads <= 1:
        if nchunks > 0:
            work(0, nchunks)
        return
    lock = threading.Lock()
    left = [0]  # the first chunk not handed out; nchunks once a worker has failed

    def worker():
        while True:
            with lock:
                c0 = left[0]
                c1 = min(nchunks, c0 + max(1, (nchunks - c0) // (2 * threads)))
                left[0] = c1
            if c0 >= nchunks:
                return
            try:
                work(c0, c1)
            except BaseException:
                with lock:
                    left[0] = nchunks  # the others stop after their current range
                raise

    from concurrent.futures import wait

    helpers = [_pool().submit(worker) for _ in range(threads - 1)]
    try:
        worker()
    finally:
        wait(helpers)  # every thread has stopped writing before anything is raised
    for f in helpers:
        f.result()


_POOL = (None, None)  # (process id, executor)
_POOL_LOCK = threading.Lock()


def _pool():
    """The worker threads, started on first use in each process: a process forked
    after a sweep inherits the executor but none of its threads, and work given to
    it would wait for ever."""
    global _POOL
    with _POOL_LOCK:
        pid, executor = _POOL
        if pid != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            executor = ThreadPoolExecutor(1024, thread_name_prefix="fastrelu")  # threads start as needed
            _POOL = (os.getpid(), executor)
    return executor


class _OpenMP:
    """The thread setting of an OpenMP build (``fastrelu.kernels._c``), safe across fork."""

    def __init__(self, lib):
        self.lib = lib
        self.forked = False  # forked after OpenMP started its threads: stay on one thread
        self.warned = False
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self):
        # the C kernels note when a parallel region ran with more than one thread
        if self.lib.openmp_started():
            self.forked = True
            self.lib.set_num_threads(1)

    def get_num_threads(self):
        return self.lib.get_num_threads()

    def set_num_threads(self, n):
        if self.forked and n > 1 and not self.warned:
            warnings.warn(
                "fastrelu: this process was forked from one that had started OpenMP threads, and GNU "
                "OpenMP cannot start them again: the C kernels run on one thread here.  Start worker "
                "processes with the 'spawn' or 'forkserver' method to sweep in parallel in them.",
                RuntimeWarning,
                stacklevel=4,
            )
            self.warned = True
        self.lib.set_num_threads(1 if self.forked else n)


_OPENMP = {}
_OPENMP_LOCK = threading.Lock()


def guard_openmp(lib):
    """The fork-safe thread setting of the OpenMP build ``lib`` (one per process)."""
    with _OPENMP_LOCK:
        if id(lib) not in _OPENMP:
            _OPENMP[id(lib)] = _OpenMP(lib)
        return _OPENMP[id(lib)]


_BLAS = [None]  # threadpoolctl's ThreadpoolController class, or False without threadpoolctl
_BLAS_LOCK = threading.Lock()
# One limit for the whole process, however many threads hold it: BLAS's thread setting is
# the process's, so it is set when the first holder enters and restored when the last
# leaves (a limit per holder would restore it under another thread still running).
_PINNED = {"depth": 0, "limiter": None}


def _blas_controller():
    """A controller of the BLAS libraries loaded now (a library loaded later, e.g. with
    torch, is not in an older one; finding them takes under a millisecond), or None."""
    with _BLAS_LOCK:
        if _BLAS[0] is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # a dependency; without it BLAS keeps its threads
                _BLAS[0] = False
            else:
                _BLAS[0] = ThreadpoolController
    return _BLAS[0]() if _BLAS[0] else None


@contextmanager
def blas_pinned():
    """Hold BLAS to one thread in the body (threadpoolctl); yields whether it is held.

    The exact walks split their matrix products over this module's threads instead
    (``walk._product``; the plane's tiles): BLAS's own threads would otherwise run beside
    theirs and, idle between products, spin against them (on a machine shared with
    other processes, one line took twice as long; a 2 -> [128] x 4 region map was twice as
    fast on one BLAS thread).  The setting is the process's: it is taken when the first
    thread enters and restored when the last one leaves; ``blas_is_pinned()`` tells
    whether the calling thread is inside.  OpenBLAS heeds the setting made from the
    thread that started it (the main thread), so a walk on worker threads enters here
    in the calling thread first, as ``plane_walk.walk_tiles`` and ``walk_many`` do.

    Examples
    --------
    >>> with blas_pinned() as pinned:
    ...     pinned == blas_is_pinned()
    True
    """
    outer = getattr(_local, "blas_pinned", False)
    if _BLAS[0] is False or (_BLAS[0] is None and _blas_controller() is None):
        yield outer
        return
    with _BLAS_LOCK:
        if _PINNED["depth"] == 0:
            _PINNED["limiter"] = _BLAS[0]().limit(limits=1, user_api="blas")
        _PINNED["depth"] += 1
    _local.blas_pinned = True
    try:
        yield True
    finally:
        _local.blas_pinned = outer
        with _BLAS_LOCK:
            _PINNED["depth"] -= 1
            if _PINNED["depth"] == 0:
                _PINNED["limiter"].restore_original_limits()
                _PINNED["limiter"] = None


def blas_is_pinned():
    """Whether the calling thread runs inside ``blas_pinned`` with BLAS held to one thread."""
    return getattr(_local, "blas_pinned", False)
