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
thread, and says so once, instead.
"""

import os
import threading
import warnings

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


def run(work, nchunks):
    """Call ``work(c0, c1)`` over ranges of chunks covering ``range(nchunks)``, on
    ``get_num_threads()`` threads, the calling one included; the threads take the
    ranges one after another, as OpenMP's dynamic schedule does.  Errors are raised
    once every thread has stopped."""
    threads = min(get_num_threads(), nchunks)
    if threads <= 1:
        if nchunks > 0:
            work(0, nchunks)
        return
    # Up to 16 ranges per thread, so that a thread slowed down does not hold up the
    # others for long (4 cost the deep kernel 7%); but at least 8 chunks per range
    # beyond 2 per thread, so that calling into Numba (microseconds each) does not show
    # in small sweeps (1 chunk per range cost 10% at 20,001 points x 100 units).
    ranges = min(nchunks, 16 * threads, max(2 * threads, nchunks // 8))
    bounds = [k * nchunks // ranges for k in range(ranges + 1)]
    todo = iter(range(ranges))  # next() on a range iterator is atomic under the GIL

    def worker():
        for k in todo:
            work(bounds[k], bounds[k + 1])

    helpers = [_pool().submit(worker) for _ in range(threads - 1)]
    try:
        worker()
    finally:
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
    """The thread setting of an OpenMP build (``fastrelu._ckernel``), safe across fork."""

    def __init__(self, lib):
        self.lib = lib
        self.started = False  # whether a parallel region may have started OpenMP's threads
        self.forked = False  # a child forked after that: OpenMP must stay on one thread
        self.warned = False
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self):
        if self.started:
            self.forked = True
            self.lib.set_num_threads(1)

    def parallel(self):
        """Note a call into the C kernels: it may start OpenMP's threads."""
        if self.lib.get_num_threads() > 1:
            self.started = True

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


def guard_openmp(lib):
    """The fork-safe thread setting of the OpenMP build ``lib`` (one per process)."""
    if id(lib) not in _OPENMP:
        _OPENMP[id(lib)] = _OpenMP(lib)
    return _OPENMP[id(lib)]
