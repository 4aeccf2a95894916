"""``fastrelu.sweep``: validate, plan the grid, check memory, allocate, dispatch."""

import os
from typing import NamedTuple

import numpy as np

from .backends.registry import select, thread_limit
from ._grid import Grid, plan_grid
from .model.network import Network
from ._result import SweepResult
from ._validate import as_dtype, as_positive_int


def _available_memory():
    """Bytes of memory available now, or None where that cannot be told."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(n, dtype):
    """Refuse, before allocating, a sweep whose outputs would not fit in memory."""
    per_point = dtype.itemsize * 3 + np.dtype(np.int32).itemsize  # x, y, slope; negative
    need = n * per_point
    available = _available_memory()
    if available is not None and need > available:
        raise ValueError(
            f"a sweep of {n:,} points in {dtype.name} needs {need / 2**30:,.1f} GiB for x, y, slope and "
            f"negative, but only {available / 2**30:,.1f} GiB of memory is available; use fewer points, "
            "or out='result.zarr' to write it to disk chunk by chunk"
        )


def _check_range(net, xmax, dtype):
    """Refuse a network and grid (``|x| <= xmax``) whose pre-activations, output or slope
    could overflow ``dtype``."""
    w1, b1, w2 = (np.abs(a.astype(np.float64)) for a in (net.w1, net.b1, net.w2))
    b2 = abs(net.b2)
    with np.errstate(over="ignore"):
        z = w1 * xmax + b1
        bound = float(np.sum(w2 * z)) + float(b2)
        slope_bound = float(np.sum(w2 * w1))
    limit = float(np.finfo(dtype).max) / 4
    if not np.isfinite(xmax) or xmax >= limit:
        raise ValueError(f"the grid reaches |x| = {xmax:g}, beyond the range of {dtype.name}; use a narrower grid or float64")
    weights_max = max(float(w1.max()), float(b1.max()), float(w2.max()), b2)
    if not (weights_max < limit and float(np.max(z)) < limit and bound < limit and slope_bound < limit):
        raise ValueError(
            f"the network's pre-activations or output could overflow {dtype.name} on this grid "
            f"(|x| up to {xmax:g}); use smaller weights, a narrower grid or float64"
        )


class _Plan(NamedTuple):
    """A checked request: everything a chunk of it needs, nothing allocated."""

    net: Network
    grid: Grid
    dtype: np.dtype
    backend: str
    kernel: object
    threads: object


def plan_sweep(net, start, stop, step, num, x, backend, dtype, threads):
    """Check every argument of a sweep once and choose its backend."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
    dtype = net.dtype if dtype is None else as_dtype(dtype)
    if threads is not None:
        threads = as_positive_int(threads, "threads")
    grid = plan_grid(start, stop, step, num, x)
    name, kernel = select(backend, net, grid.n)
    _check_range(net, grid.bound(), dtype)
    return _Plan(net, grid, dtype, name, kernel, threads)


def run(plan, lo=0, hi=None):
    """Sweep points ``lo`` to ``hi`` of a planned grid: build, allocate, run the kernel."""
    xs = plan.grid.build(plan.dtype, lo, hi)
    y, slope = np.empty_like(xs), np.empty_like(xs)
    negative = np.empty(xs.shape, np.int32)
    with thread_limit(plan.kernel, plan.threads):
        plan.kernel.sweep_kernel(xs, *plan.net._kernel_params(plan.dtype), y, slope, negative)
    return SweepResult(xs, y, slope, negative, network=plan.net, backend=plan.backend)


def sweep(
    net, start=-100.0, stop=100.0, step=None, *, num=None, x=None, backend="auto", dtype=None, threads=None,
    out=None, chunk=None, client=None, progress=False, overwrite=False,
):
    """Evaluate ``net`` at every point of a 1-D grid: output, slope and negative units.

    Parameters
    ----------
    net : Network
        The network to sweep.
    start, stop : float, default -100.0, 100.0
        Ends of the grid.  ``stop`` is included when it lies on the grid (within
        rounding).
    step : float, optional
        Spacing: ``x_i = start + i*step``, each point computed directly so no
        rounding accumulates.  Defaults to 0.01 when neither ``num`` nor ``x`` is
        given.
    num : int, optional
        Instead of ``step``: ``num`` evenly spaced points from ``start`` to ``stop``,
        as ``numpy.linspace`` places them.
    x : array_like, optional
        Instead of a regular grid: these points (1-D, any order).
    backend : str, default "auto"
        ``"auto"`` (``$FASTRELU_BACKEND`` if set, else the fastest available), or a
        name from ``fastrelu.backends()``.
    dtype : {None, "float64", "float32"}
        Precision of the whole computation; None means the network's dtype.
    threads : int, optional
        Number of threads; None keeps the backend's setting (all cores unless
        ``NUMBA_NUM_THREADS`` or ``OMP_NUM_THREADS`` say otherwise).  The previous
        setting is restored afterwards, even on error.
    out : str or os.PathLike, optional
        Write the result to disk instead of holding it in memory.  A path ending
        in ``.npz`` saves the in-memory result there (``SweepResult.save``); any
        other path is a Zarr store (a folder) written chunk by chunk, so memory stays
        bounded by ``chunk`` whatever the grid size, and an interrupted sweep started
        again with the same arguments finishes only the missing chunks.
    chunk : int, optional
        Points per chunk of a Zarr store (default 2**22).
    client : dask.distributed.Client, optional
        Run the chunks of a Zarr store as tasks on this cluster; each worker writes
        its own chunks and runs its kernel on its own threads.
    progress : bool, default False
        Show a progress bar (chunks and pairs/s) while writing a Zarr store.
    overwrite : bool, default False
        Replace an existing Zarr store made with other arguments instead of
        refusing it.

    Returns
    -------
    SweepResult
        In memory; or, for a Zarr ``out``, a ``StoredResult`` with the same fields
        read lazily from the store.

    Raises
    ------
    TypeError, ValueError
        For bad arguments, naming the argument; ValueError also when the outputs
        would not fit in the available memory (checked before allocating).
    RuntimeError
        When an explicitly requested backend is not available here.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network.random(hidden=1000, seed=0)
    >>> res = fastrelu.sweep(net, start=-100.0, stop=100.0, step=0.01)
    >>> len(res), float(res.x[10000])
    (20001, 0.0)
    """
    plan = plan_sweep(net, start, stop, step, num, x, backend, dtype, threads)
    if out is not None and not str(out).endswith(".npz"):
        from .store.zarr_store import sweep_to_store

        return sweep_to_store(plan, out, chunk=chunk, client=client, progress=progress, overwrite=overwrite)
    for name, value in (("chunk", chunk), ("client", client), ("progress", progress or None), ("overwrite", overwrite or None)):
        if value is not None:
            raise TypeError(f"{name} goes with a Zarr store: out='result.zarr'")
    _check_memory(plan.grid.n, plan.dtype)
    res = run(plan)
    if out is not None:
        res.save(out)
    return res


def sweep_chunks(net, start=-100.0, stop=100.0, step=None, *, chunk, num=None, x=None, backend="auto", dtype=None, threads=None):
    """Sweep chunk by chunk, yielding each chunk as an in-memory ``SweepResult``.

    For reducing a sweep too large for memory on the fly, without storing it.
    Arguments as for ``sweep``; ``chunk`` is the number of points per chunk.  All
    arguments are checked before the first chunk is computed.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network.random(100, seed=0)
    >>> peak = max(float(c.y.max()) for c in fastrelu.sweep_chunks(net, chunk=5000))
    >>> peak == float(fastrelu.sweep(net).y.max())
    True
    """
    plan = plan_sweep(net, start, stop, step, num, x, backend, dtype, threads)
    chunk = as_positive_int(chunk, "chunk")
    _check_memory(min(chunk, plan.grid.n), plan.dtype)
    return (run(plan, lo, min(lo + chunk, plan.grid.n)) for lo in range(0, plan.grid.n, chunk))
