"""``fastrelu.sweep``: validate, plan the grid, check memory, allocate, dispatch."""

from typing import NamedTuple

import numpy as np

from ..analysis.plane import RegionMap, graph_forms, plane_network
from ..analysis.paths import lengths, path_segments
from ..analysis.plane_walk import walk_plane
from ..kernels.registry import kernel_for, thread_limit
from ..model.forward import check_range
from ..model.network import Network, on_line
from ..model.slices import DEFAULT_LINE_POINTS, default_range, input_plane
from ..utils.memory import available_memory
from ..utils.plugins import provide, provided
from ..utils.progress import bar as progress_bar, check_progress, parts as progress_parts
from ..utils.validation import as_dtype, as_positive_int, readonly
from .grid import Grid, plan_grid, plan_plane_grid
from .result import SweepResult, SweptPath

# the memory guard's reading lives in _memory (the walk needs it too)
_available_memory = available_memory


def _allocation_error(need):
    """The MemoryError to raise when an allocation fails although the check let it through."""
    return MemoryError(
        f"could not allocate {need / 2**30:,.1f} GiB for the sweep's outputs (the available memory could not be "
        "read on this system, so it was not checked in advance); use fewer points, or out='result.zarr'"
    )


def _check_memory(n, dtype, net=None, kernel=None):
    """Refuse, before allocating, a sweep whose outputs would not fit in memory."""
    out, depth = (1, 1) if net is None else (net.out_features, net.depth)
    k = 1 if net is None else net.in_features  # coordinates: a line's t, a plane's (u, v)
    # the points, y, slope (one per coordinate); negative and its split by layer
    per_point = dtype.itemsize * (k + out + k * out) + np.dtype(np.int32).itemsize * (1 + (depth if depth > 1 else 0))
    need = n * per_point
    if net is not None and kernel is not None and kernel.backend == "exact":
        if kernel.kind == "one_layer":
            need += net.hidden * 96  # the sorted switch points and prefix sums
        elif k == 2:
            pass  # a plane's region map counts each layer's memory itself before allocating it
        else:
            # the walk holds a few (pieces x widest layer) float64 matrices; a line crosses
            # about one piece per hidden unit (an estimate: the count is known only after)
            widest = max(node.size for node in net.graph.nodes) if net.is_graph else max(net.widths)
            need += 4 * net.hidden * widest * 8
    available = _available_memory()
    if available is not None and need > available:
        raise ValueError(
            f"a sweep of {n:,} points in {dtype.name} needs {need / 2**30:,.1f} GiB for x, y, slope and "
            f"negative, but only {available / 2**30:,.1f} GiB of memory is available; use fewer points, "
            "or out='result.zarr' to write it to disk chunk by chunk"
        )
    return need


class _Plan(NamedTuple):
    """A checked request: everything a chunk of it needs, nothing allocated."""

    net: Network  # a network of the grid's coordinates (a line or a plane folded in)
    along: object  # (x0, x1) or None
    grid: Grid  # or a PlaneGrid
    dtype: np.dtype
    backend: str
    kernel: object
    threads: object
    plane: object = None  # the Plane (model.slices) of a plane's sweep, else None


def on_plane(net, plane, bounds, dtype):
    """``net`` as a function of the plane coordinates ``(u, v)``, the ``Plane`` and the
    rectangle: the plane through three inputs (``plane``) or a two-input network's own
    (``bounds`` alone), in ``regions(net, plane=...)``'s coordinates and default bounds.

    The plane is folded as ``regions`` folds it (``analysis.plane.plane_network``: a dense
    chain's first layer takes it, in float64; a graph's input becomes an ``embed`` node), so
    that for a float64 network the exact backend's map is ``regions``' own.
    """
    return plane_network(net, plane, bounds, dtype)


def plan_sweep(net, start, stop, step, num, x, backend, dtype, threads, along=None, plane=None, bounds=None):
    """Check every argument of a sweep once and choose its backend."""
    if threads is not None:
        threads = as_positive_int(threads, "threads")
        if threads > MAX_THREADS:
            raise ValueError(f"threads must be at most {MAX_THREADS}, got {threads}")
    if plane is not None or bounds is not None:
        if along is not None:
            raise ValueError("along: give along=(x0, x1) for a line or plane=(x0, x1, x2) for a plane, not both")
        for name, value in (("start", start), ("stop", stop), ("x", x)):
            if value is not None:
                raise TypeError(f"{name} goes with a line; on a plane give bounds=((u0, u1), (v0, v1)) with num=(nu, nv) or step")
        if not isinstance(net, Network):
            raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
        dtype = net.dtype if dtype is None else as_dtype(dtype)
        folded, pl, rect = on_plane(net, plane, bounds, net.dtype)
        grid = plan_plane_grid(rect, step, num)
        kernel = kernel_for(backend, folded, grid.n)
        check_range(folded, grid.bound(), dtype)
        return _Plan(folded, None, grid, dtype, kernel.backend, kernel, threads, pl._replace(bounds=rect))
    net, along = on_line(net, along)
    dtype = net.dtype if dtype is None else as_dtype(dtype)
    if x is not None and (start is not None or stop is not None):
        raise TypeError("give the grid either as x or as start/stop, not both")
    start, stop = default_range(start, stop, along)
    if along is not None and step is None and num is None and x is None:
        num = DEFAULT_LINE_POINTS
    grid = plan_grid(start, stop, step, num, x)
    kernel = kernel_for(backend, net, grid.n)
    check_range(net, grid.bound(), dtype)
    return _Plan(net, along, grid, dtype, kernel.backend, kernel, threads)


MAX_THREADS = 1024  # more only oversubscribes the cores (and overflows OpenMP's int)
def run(plan, lo=0, hi=None, progress=False):
    """Sweep points ``lo`` to ``hi`` of a planned grid: build, allocate, run the kernel
    (in parts under a progress bar when ``progress`` is not False and the sweep is long:
    ``utils.progress``).

    On a plane the points are pixels in rows (flat, row-major), ``lo`` and ``hi``
    multiples of a row's ``nu``: the result holds those rows, ``(rows, nu)`` arrays.
    """
    xs = plan.grid.build(plan.dtype, lo, hi)
    net, n = plan.net, xs.shape[0]
    y = np.empty((n, net.out_features), plan.dtype)
    # one slope per coordinate of the slice: (n, out) on a line, (n, out, 2) on a plane
    slope = np.empty((n, net.out_features) + xs.shape[1:], plan.dtype)
    by_layer = np.empty((n, net.depth), np.int32)
    span = plan.grid.span(plan.dtype)
    # a long sweep runs in parts under a progress bar; the span is the whole request's,
    # so that no point's bits depend on the parts (see the kernels' ``span``)
    # (the exact kernels read each point off its piece: their work is the points, not the units)
    work = n if plan.kernel.owner.algorithm == "exact" else n * net.hidden
    cuts = progress_parts(n, work) if progress is not False else [(0, n)]
    shown = progress_bar(n, "fastrelu.sweep", progress, " points") if len(cuts) > 1 else None
    with thread_limit(plan.kernel.threads, plan.threads):
        for a, b in cuts:
            plan.kernel.sweep(xs[a:b], net, plan.dtype, y[a:b], slope[a:b], by_layer[a:b], span=span)
            if shown is not None:
                shown.update(b - a)
    if shown is not None:
        shown.close()
    negative = by_layer[:, 0] if net.depth == 1 else by_layer.sum(axis=1, dtype=np.int32)
    if net.out_features == 1:
        y, slope = y[:, 0], slope[:, 0]
    if plan.plane is None:
        return SweepResult(xs, y, slope, negative, network=net, backend=plan.backend, negative_by_layer=by_layer, along=plan.along)
    nu = plan.grid.shape[1]
    if n % nu or (lo or 0) % nu:
        raise ValueError(f"a plane is swept in whole rows of {nu} pixels, not pixels {lo} to {hi}")
    shape = (n // nu, nu)
    return SweepResult(
        None, y.reshape(shape + y.shape[1:]), slope.reshape(shape + slope.shape[1:]), negative.reshape(shape), network=net,
        backend=plan.backend, negative_by_layer=by_layer.reshape(shape + (net.depth,)), plane=plan.plane,
        u=xs[: shape[1], 0], v=xs[:: shape[1], 1],
    )


def _plane_map(layers, forms, bounds):
    """The region map of a network of two coordinates, given as float64 layers and activation
    forms, or as a float64 graph and None (``plane_walk.walk_plane``'s arguments), on its own
    plane: what the exact backend's plane kernel reads pixels off (lent to the kernels layer
    as ``"plane_map"``)."""
    if forms is None:
        forms = graph_forms(layers)
    return RegionMap(walk_plane(layers, forms, bounds), None, input_plane(), bounds, forms)


provide("plane_map", _plane_map)


def sweep(
    net, start=None, stop=None, step=None, *, num=None, x=None, along=None, plane=None, bounds=None, backend="auto",
    dtype=None, threads=None, out=None, chunk=None, client=None, progress=None, overwrite=False, path=None, closed=False,
):
    """Evaluate ``net`` at every point of a 1-D grid, or every pixel of a plane: output, slope and negative units.

    Parameters
    ----------
    net : Network
        The network to sweep.
    start, stop : float, default -100.0, 100.0 (0.0, 1.0 with ``along``)
        Ends of the grid.  ``stop`` is included when it lies on the grid (within
        rounding).
    step : float, optional
        Spacing: ``x_i = start + i*step``, each point computed directly so no
        rounding accumulates.  Defaults to 0.01 when neither ``num`` nor ``x`` is
        given.  On a plane: one spacing for both axes, or a pair ``(du, dv)``.
    num : int, or (nu, nv) on a plane, optional
        Instead of ``step``: ``num`` evenly spaced points from ``start`` to ``stop``,
        as ``numpy.linspace`` places them.  On a plane, ``nu`` pixels along ``u`` and
        ``nv`` along ``v``, each axis placed so over the bounds (default (400, 400)).
    x : array_like, optional
        Instead of a regular grid: these points (1-D, any order).
    along : (x0, x1), optional
        Sweep the line ``x(t) = x0 + t*(x1 - x0)`` through input space, over a grid of
        ``t`` (20,001 points from 0 to 1 unless told otherwise).  Needed when the network
        takes more than one input; ``x0`` and ``x1`` are vectors of ``in_features``.
    plane : (x0, x1, x2), optional
        Sweep a grid of pixels on the plane through three inputs, in the coordinates
        of ``fastrelu.regions(net, plane=...)`` (orthonormal ``(u, v)``, centred on the
        points: ``x = origin + u*d1 + v*d2``) and over its default square unless
        ``bounds`` says otherwise, so a pixel and the same point of the region map agree.
        The result's ``y`` is ``(nv, nu)`` (``(nv, nu, out)`` for several outputs), its
        ``slope`` the gradient in the plane, ``(nv, nu, 2)`` or ``(nv, nu, out, 2)`` (last
        axis: ``u``, ``v``), ``negative`` ``(nv, nu)`` and ``negative_by_layer``
        ``(nv, nu, depth)``; row ``j`` is ``v[j]``, column ``i`` is ``u[i]``.
    bounds : ((u0, u1), (v0, v1)), optional
        The rectangle of the plane to sweep.  Without ``plane``, a network of two inputs
        is swept on its own input plane over these bounds.
    path : array_like, shape (k + 1, in), optional
        Sweep the polygonal path through these points (``closed=True``: back to the
        first) over a grid of its arc length in input space, ``t`` from 0 to the path's
        length (20,001 points unless ``step``, ``num`` or ``x`` say otherwise): ``x`` is
        ``t``, ``slope`` the derivative per unit of arc length.  A point on a vertex is
        swept at the start of the segment after it (the end of the last segment for the
        path's end); ``res.vertices`` holds the vertices' ``t`` and ``res.plot()`` marks them.
    closed : bool, default False
        Close the path back to its first point.
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
        Points per chunk of a Zarr store (default 2**22); on a plane, rows of pixels
        per tile (default: as many rows as make 2**22 pixels).
    client : dask.distributed.Client, optional
        Run the chunks of a Zarr store as tasks on this cluster; each worker writes
        its own chunks and runs its kernel on its own threads.
    progress : bool or None, default None
        A progress bar (tqdm) on stderr for an in-memory sweep that runs longer than
        about a second: None shows it once the sweep has run a second, True at once
        (tqdm needed), False never.  It appears in non-interactive use too (a job's log), as tqdm's
        bars do.  For a Zarr store, True shows its bar (chunks and pairs/s); None or
        False none.
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

    A deep network of 3 inputs and 2 outputs, along the line from x0 to x1:

    >>> deep = fastrelu.Network.random([3, 32, 32, 2], seed=0)
    >>> res = fastrelu.sweep(deep, along=([0, 0, 0], [1, 2, 3]), num=1001)
    >>> res.y.shape, res.slope.shape, res.negative_by_layer.shape
    ((1001, 2), (1001, 2), (1001, 2))

    Pixels on the plane through three inputs (``u`` along the columns, ``v`` the rows):

    >>> res = fastrelu.sweep(deep, plane=([0, 0, 0], [1, 0, 0], [0, 1, 1]), num=(64, 48))
    >>> res.y.shape, res.slope.shape, res.negative.shape, res.u.shape, res.v.shape
    ((48, 64, 2), (48, 64, 2, 2), (48, 64), (64,), (48,))
    """
    if path is not None:
        for name, value in (("start", start), ("stop", stop), ("along", along), ("plane", plane), ("bounds", bounds),
                            ("chunk", chunk), ("client", client)):
            if value is not None:
                raise TypeError(f"{name} does not go with path=: a path is swept over its arc length, in memory")
        res = _path_sweep(net, path, closed, step, num, x, backend, dtype, threads)
        if out is not None and not is_npz(out):  # a store: the path's result written whole, then reopened
            return provided("store_result")(res, out, overwrite=overwrite)
        if out is not None:
            res.save(out)
        return res
    plan = plan_sweep(net, start, stop, step, num, x, backend, dtype, threads, along, plane, bounds)
    if out is not None and not is_npz(out):
        return provided("store")(plan, out, chunk=chunk, client=client, progress=bool(check_progress(progress)),
                                 overwrite=overwrite)
    check_progress(progress)
    for name, value in (("chunk", chunk), ("client", client), ("overwrite", overwrite or None)):
        if value is not None:
            raise TypeError(f"{name} goes with a Zarr store: out='result.zarr'")
    need = _check_memory(plan.grid.n, plan.dtype, plan.net, plan.kernel)
    try:
        res = run(plan, progress=progress)
    except MemoryError:
        if _available_memory() is None:
            raise _allocation_error(need) from None
        raise
    if out is not None:
        res.save(out)
    return res


def _path_sweep(net, path, closed, step, num, x, backend, dtype, threads):
    """``sweep(net, path=...)``: each segment swept as ``along=(a, b)`` sweeps it, at the
    grid points of arc length that fall on it, joined into one result over ``t``."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
    seg = path_segments(path, closed, net.in_features)
    if seg.shape[0] != 1:
        raise ValueError(f"path must be one path, (k + 1, in) points, got shape {np.shape(path)}")
    seg = seg[0]
    size = lengths(seg)
    at = np.concatenate(([0.0], np.cumsum(size)))
    if step is None and num is None and x is None:
        num = DEFAULT_LINE_POINTS
    grid = plan_grid(0.0, float(at[-1]), step, num, x)
    line = on_line(net, (seg[0, 0], seg[0, 1]))[0]  # a segment's network: the outputs' shapes, for the memory check
    _check_memory(2 * grid.n, line.dtype if dtype is None else as_dtype(dtype), line)  # the segments' results, and the path's
    t = grid.build(np.dtype(np.float64))
    which = np.searchsorted(at[1:-1], t, side="right")  # a vertex starts the segment after it
    parts = []
    for s in range(seg.shape[0]):
        mine = np.flatnonzero(which == s)
        local = np.clip((t[mine] - at[s]) / size[s], 0.0, 1.0) if mine.size else np.zeros(1)
        r = sweep(net, x=local, along=(seg[s, 0], seg[s, 1]), backend=backend, dtype=dtype, threads=threads, progress=False)
        parts.append((mine, r))
    r0 = parts[0][1]
    y = np.empty((t.shape[0],) + r0.y.shape[1:], r0.y.dtype)
    slope, negative = np.empty_like(y), np.empty(t.shape[0], np.int32)
    by_layer = np.empty((t.shape[0], r0.negative_by_layer.shape[1]), np.int32)
    for s, (mine, r) in enumerate(parts):
        if mine.size:
            y[mine], negative[mine], by_layer[mine] = r.y, r.negative, r.negative_by_layer
            slope[mine] = r.slope / r.slope.dtype.type(size[s])  # per unit of arc length
    res = SweepResult(t.astype(r0.x.dtype), y, slope, negative, network=r0.network, backend=r0.backend,
                      negative_by_layer=by_layer)
    res.vertices = readonly(at[1:] if closed else at[1:-1])
    points = seg[:, 0] if closed else np.concatenate([seg[:, 0], seg[-1:, 1]])
    res.swept_path = SweptPath(readonly(points), bool(closed), net)  # what kinks(path=) and a store need
    return res


def is_npz(path):
    """Whether ``path`` names an ``.npz`` file (any case, as the command line reads it)."""
    return str(path).lower().endswith(".npz")


def sweep_chunks(net, start=None, stop=None, step=None, *, chunk, num=None, x=None, along=None, backend="auto", dtype=None, threads=None):
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
    plan = plan_sweep(net, start, stop, step, num, x, backend, dtype, threads, along)
    chunk = as_positive_int(chunk, "chunk")
    _check_memory(min(chunk, plan.grid.n), plan.dtype, plan.net, plan.kernel)
    return (run(plan, lo, min(lo + chunk, plan.grid.n)) for lo in range(0, plan.grid.n, chunk))
