"""Writing a store: ``sweep_to_store`` creates the store (or opens the one to resume)
and computes every chunk not yet flagged done, here one after another behind an
optional progress bar, or as Dask tasks; ``write_chunk`` computes, writes and flags
one chunk.  A Dask task reads all it needs from the store, its plan rebuilt once
per worker, and writes only while the store still holds the request it was sent for.
"""

import os
import threading
import time

import numpy as np

from ..kernels.registry import kernel_for
from ..sweeps.grid import Grid, PlaneGrid
from ..sweeps.sweep import _check_memory, _Plan, run
from ..utils.validation import as_positive_int
from .format import (
    _along_from,
    _create,
    _fields,
    _fingerprint,
    _line_attr,
    _network_from,
    _open_existing,
    _path_attr,
    _plane_attr,
    _plane_from,
    _zarr,
)
from .read import StoredResult

DEFAULT_CHUNK = 1 << 22  # 4 Mi points: ~120 MB of outputs in float64, ~2 s of H=1000 work


# A Dask worker's plans, one per store request: the network is read from the store
# once per worker, not once per task, and stays the same object, so the exact
# backend's cache of its sorted switch points (keyed on the network's arrays) hits.
_plans = {}
_plans_lock = threading.Lock()


def _plan_from(root):
    """Rebuild the sweep's plan from a store, without the points of an explicit grid."""
    attrs = root.attrs
    key = attrs["request"]
    with _plans_lock:
        plan = _plans.get(key)
    if plan is None:
        net = _network_from(root, str(root.store))
        plane = _plane_from(root)
        # an explicit grid's points stay in the store: each task reads its own slice
        if plane is not None:
            grid = PlaneGrid(Grid(**attrs["grid"]["u"]), Grid(**attrs["grid"]["v"]))
        elif attrs["grid"] is None:  # the whole request's span, for kernels that analyse an interval
            grid = Grid(attrs["n"], span=_points_span(root["points"], np.dtype(attrs["dtype"]), attrs["chunk"]))
        else:
            grid = Grid(**attrs["grid"])
        kernel = kernel_for(attrs["backend"], net)
        # on a worker each task runs its kernel on one thread: the worker's T threads
        # run T tasks at once, so kernel threads x tasks never exceed T
        plan = _Plan(net, _along_from(root), grid, np.dtype(attrs["dtype"]), kernel.backend, kernel, 1, plane)
        with _plans_lock:
            _plans.clear()  # one request at a time per worker: keep only the newest
            _plans[key] = plan
    return plan


def _points_span(points, dtype, chunk):
    """``Grid.span`` of the stored points, read chunk by chunk (memory stays bounded)."""
    lo, hi = np.inf, -np.inf
    for i in range(0, points.shape[0], chunk):
        p = np.asarray(points[i : i + chunk], dtype)
        p = p[~np.isnan(p)]
        if p.size:
            lo, hi = min(lo, float(p.min())), max(hi, float(p.max()))
    return (lo, hi) if lo <= hi else None


def write_chunk(root, plan, chunk, k, points_in_store=False):
    """Compute chunk ``k``, write its arrays, then mark it done.

    ``points_in_store``: the plan's grid is a placeholder for the store's ``points``,
    of which only this chunk's are read.  On a plane a chunk is a tile of ``chunk`` rows
    of pixels.
    """
    lo = k * chunk
    if plan.plane is not None:
        rows, nu = plan.grid.shape
        hi = min(lo + chunk, rows)
        res = run(plan, lo * nu, hi * nu)  # the tile's rows, swept as the whole request (span: its rectangle)
        for name in _fields(plan.plane):
            root[name][lo:hi] = getattr(res, name)
        root["done"][k] = True
        return res.negative.size
    hi = min(lo + chunk, plan.grid.n)
    if points_in_store:
        span = plan.grid.span(plan.dtype)  # the request's, not this chunk's: same bits in any chunking
        res = run(plan._replace(grid=Grid(hi - lo, points=root["points"][lo:hi], span=span)))
    else:
        res = run(plan, lo, hi)
    for name in _fields(None):
        root[name][lo : lo + len(res)] = getattr(res, name)
    root["done"][k] = True
    return len(res)


def _dask_task(path, k, request):
    """One chunk on a Dask worker: everything it needs is read from the store, and it
    writes only if the store still holds the request it was sent for."""
    zarr = _zarr()
    root = zarr.open_group(path, mode="r+")
    if root.attrs.get("request") != request:
        raise RuntimeError(f"{path!r} now holds another sweep; chunk {k} of the old request was not written")
    return write_chunk(root, _plan_from(root), root.attrs["chunk"], k, points_in_store=root.attrs["grid"] is None)


class _Progress:
    """A tqdm bar counting chunks and showing pairs/s, or nothing."""

    def __init__(self, enabled, total, hidden):
        self.bar, self.hidden, self.points, self.t0 = None, hidden, 0, time.perf_counter()
        if enabled and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="chunk", desc="fastrelu sweep")

    def update(self, points):
        self.points += points
        if self.bar is not None:
            rate = self.points * self.hidden / max(time.perf_counter() - self.t0, 1e-9)
            self.bar.set_postfix_str(f"{rate:.3g} pairs/s", refresh=False)
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def sweep_to_store(plan, out, *, chunk=None, client=None, progress=False, overwrite=False):
    """Run a planned sweep into the Zarr store ``out``; see ``fastrelu.sweep``."""
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path (str or os.PathLike), got {type(out).__name__}")
    n, per_row = plan.grid.n, 1
    if plan.plane is not None:  # tiles of whole rows of pixels: chunk counts rows
        n, per_row = plan.grid.shape
        chunk = max(1, DEFAULT_CHUNK // per_row) if chunk is None else as_positive_int(chunk, "chunk")
    chunk = DEFAULT_CHUNK if chunk is None else as_positive_int(chunk, "chunk")
    chunk = min(chunk, n)
    _check_memory(chunk * per_row, plan.dtype, plan.net, plan.kernel)
    if client is not None and plan.threads is not None:
        raise TypeError("threads goes with a local sweep: on Dask each task runs its kernel on one of its worker's threads")
    # absolute: a Dask worker may run in another working directory
    path = os.path.abspath(os.fspath(out))
    points = None if plan.grid.points is None else [plan.grid.points]
    fingerprint = _fingerprint(
        plan.net._arrays(), points, _line_attr(plan.along), plan.grid.params(), n, plan.dtype.name, chunk,
        plan.backend, _plane_attr(plan.plane),
    )
    root = _open_existing(path, fingerprint, overwrite)
    if root is None:
        root = _create(path, plan, chunk, fingerprint)
    todo = np.flatnonzero(~root["done"][:]).tolist()
    bar = _Progress(progress, len(todo), plan.net.hidden)
    try:
        if client is None:
            for k in todo:
                bar.update(write_chunk(root, plan, chunk, k))
        else:
            from distributed import as_completed

            request = root.attrs["request"]
            futures = client.map(_dask_task, [path] * len(todo), todo, [request] * len(todo), pure=False)
            try:
                for future in as_completed(futures):
                    bar.update(future.result())
            except BaseException:
                # an error or Ctrl-C: no task of this request may go on writing
                client.cancel(futures)
                raise
    finally:
        bar.close()
    result = StoredResult(path)
    result.computed = tuple(todo)
    return result


def result_to_store(res, out, *, chunk=None, overwrite=False):
    """Write a sweep computed in memory into the Zarr store ``out`` (a path's sweep, which
    is swept over its arc length in memory: ``sweep(net, path=..., out="p.zarr")``).

    The store is the one ``sweep_to_store`` writes for given points (``x``), with the
    attribute ``path`` (its points, closedness and vertices) and the network swept along
    it (``path/network/``), all in its fingerprint; written again, only the chunks not yet
    flagged done are written.

    Examples
    --------
    >>> import fastrelu, numpy as np, tempfile, os
    >>> from fastrelu.sweeps.result import SweptPath
    >>> net = fastrelu.Network.random([3, 8, 1], seed=0)
    >>> res = fastrelu.sweep(net, path=np.eye(3), num=100)
    >>> res.swept_path = SweptPath(np.eye(3), False, net)  # as sweep(path=) sets it
    >>> stored = result_to_store(res, os.path.join(tempfile.mkdtemp(), "p.zarr"), chunk=30)
    >>> bool((stored.y[:] == res.y).all()), bool((stored.vertices == res.vertices).all())
    (True, True)
    """
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path (str or os.PathLike), got {type(out).__name__}")
    if getattr(res, "swept_path", None) is None or res.vertices is None:
        raise TypeError("result_to_store writes a path's sweep (its swept_path and vertices set); a line's or a "
                        "plane's is planned and written chunk by chunk: sweep(..., out=...)")
    n = len(res.x)
    chunk = min(DEFAULT_CHUNK if chunk is None else as_positive_int(chunk, "chunk"), max(n, 1))
    dtype = res.x.dtype
    plan = _Plan(res.network, None, Grid(n, points=res.x), dtype, res.backend, None, None)
    path = os.path.abspath(os.fspath(out))
    fingerprint = _fingerprint(res.network._arrays(), [res.x], None, None, n, dtype.name, chunk, res.backend, None,
                               _path_attr(res))
    root = _open_existing(path, fingerprint, overwrite)
    if root is None:
        root = _create(path, plan, chunk, fingerprint, res)
    todo = np.flatnonzero(~root["done"][:]).tolist()
    for k in todo:  # each chunk's arrays, then its flag, as write_chunk does
        lo, hi = k * chunk, min((k + 1) * chunk, n)
        for name in _fields(None):
            root[name][lo:hi] = getattr(res, name)[lo:hi]
        root["done"][k] = True
    result = StoredResult(path)
    result.computed = tuple(todo)
    return result
