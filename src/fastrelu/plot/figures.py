"""Figures of a sweep: output, slope and negative-unit count over the grid.

``sweep_figure(res)`` draws one result; ``compare_figure(net)`` draws a ReLU
network beside its linear twin.  Both return a ``matplotlib.figure.Figure``
that saves by file extension (``fig.savefig("sweep.png")``, ``.svg``, ``.pdf``).

Figures are made without ``matplotlib.pyplot``: a bare ``Figure`` on an Agg
canvas, so nothing ever opens a window, no display is needed and no global
figure list grows in a loop.  To look at one interactively, pass axes made with
``pyplot.subplots`` (``axes=``) and call ``pyplot.show()`` yourself.  matplotlib
is imported on first use, never at ``import fastrelu``.

Big results are reduced before drawing: each pixel column keeps its first,
last, lowest and highest point (``column_indices``), and the step panels keep
exactly the points where the value changes (``step_indices``).  The drawn
picture is the same as with every point, at a cost that does not depend on the
number of points once they are read.
"""

import os

import numpy as np

#: Colours of the three panels (matplotlib's default cycle: blue, green, orange).
COLORS = {"output": "tab:blue", "slope": "tab:green", "negative": "tab:orange", "kinks": "0.45"}

#: File formats ``save_figure`` and the command line accept.
FORMATS = ("png", "svg", "pdf")

# Reduction columns per pixel of figure width: with 2, every column is at most
# half a pixel wide even when the axes span the whole figure.
_OVERSAMPLE = 2
# "auto" reduces only above this many points per column; below, drawing every
# point costs nothing worth saving.
_AUTO_POINTS_PER_COLUMN = 4
# Step panels keep exact edges while there are at most this many changes per
# column; past that the changes are denser than pixels and the column envelope
# draws the same band.
_MAX_STEPS_PER_COLUMN = 2
# Sortedness is checked in blocks so that a 10**8-point grid needs no 10**8 temporary.
_BLOCK = 1 << 22


# -- the reduction (numpy only) ----------------------------------------------------


def _is_sorted(x):
    for i0 in range(0, x.shape[0] - 1, _BLOCK):
        a = x[i0 : i0 + _BLOCK + 1]
        if not (a[1:] >= a[:-1]).all():
            return False
    return True


def _column_bounds(x, columns, lo=None, hi=None):
    """Start and end index of each non-empty column of sorted ``x`` split into ``columns``
    equal intervals of x between ``lo`` and ``hi`` (default: the ends of ``x``)."""
    n = x.shape[0]
    lo = float(x[0]) if lo is None else float(lo)
    hi = float(x[-1]) if hi is None else float(hi)
    if n == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    if not hi > lo:
        return np.array([0]), np.array([n])
    inner = np.linspace(lo, hi, columns + 1)[1:-1]
    cuts = np.concatenate(([0], np.searchsorted(x, inner, side="left"), [n]))
    starts, ends = cuts[:-1], cuts[1:]
    keep = ends > starts
    return starts[keep], ends[keep]


def column_indices(x, v, columns, lo=None, hi=None):
    """Indices of the points that draw ``v`` against sorted ``x`` at ``columns`` columns.

    Splits the x range into ``columns`` equal columns and keeps, in each, the
    first, last, lowest and highest point (the "M4" reduction).  A polyline
    through the kept points covers, in every column, exactly the vertical range
    of the full polyline, and joins neighbouring columns by the same segment, so
    at one column per pixel or finer the rendered line is the same.

    Parameters
    ----------
    x : ndarray, shape (N,)
        Sorted (non-decreasing) positions.
    v : ndarray, shape (N,)
        Values at ``x``.
    columns : int
        Number of columns (at least the number of pixels across the axes).
    lo, hi : float, optional
        The x range the columns split (default: the ends of ``x``); give the
        whole sweep's range to reduce it piece by piece.

    Returns
    -------
    ndarray of intp
        Sorted unique indices into ``x`` and ``v``; at most ``4 * columns``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(8.0)
    >>> v = np.array([0, 5, 1, 2, 3, -4, 1, 0])
    >>> column_indices(x, v, 2)
    array([0, 1, 3, 4, 5, 7])
    """
    x, v = np.asarray(x), np.asarray(v)
    starts, ends = _column_bounds(x, int(columns), lo, hi)
    keep = np.empty((starts.shape[0], 4), np.intp)
    keep[:, 0] = starts
    keep[:, 3] = ends - 1
    # One argmin/argmax per column: a few thousand calls, each a vectorised pass
    # over its slice, so the cost is one read of v whatever the column sizes.
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        seg = v[s:e]
        keep[i, 1] = s + int(np.argmin(seg))
        keep[i, 2] = s + int(np.argmax(seg))
    return np.unique(keep)


def _changes(v):
    """Indices i >= 1 where ``v[i] != v[i-1]``, found block by block."""
    found = []
    for i0 in range(0, v.shape[0] - 1, _BLOCK):
        a = v[i0 : i0 + _BLOCK + 1]
        found.append(np.flatnonzero(a[1:] != a[:-1]) + (i0 + 1))
    return np.concatenate(found) if found else np.zeros(0, np.intp)


def step_indices(x, v, columns, changes=None):
    """Indices of the points that draw ``v`` against sorted ``x`` as a step function.

    A step function drawn "steps-post" (each value held until the next point)
    is unchanged by dropping the points whose value equals the previous one, so
    while there are few changes this keeps exactly the first point, every point
    where the value changes and the last point: every jump is drawn at its exact
    grid position.  When there are more than ``2 * columns`` changes they are
    denser than the pixels and the column reduction (``column_indices``) is used
    instead.

    Parameters
    ----------
    x, v : ndarray, shape (N,)
        Sorted positions and the values at them.
    columns : int
        Number of columns, as for ``column_indices``.
    changes : ndarray of bool, optional
        ``v[i] != v[i-1]`` (False at 0), when already known
        (``SweepResult.slope_changes``).

    Returns
    -------
    ndarray of intp
        Sorted unique indices.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(8.0)
    >>> step_indices(x, np.array([0, 0, 0, 1, 1, 3, 3, 3]), 100)
    array([0, 3, 5, 7])
    """
    x, v = np.asarray(x), np.asarray(v)
    n = v.shape[0]
    if n == 0:
        return np.zeros(0, np.intp)
    at = np.flatnonzero(changes) if changes is not None else _changes(v)
    if at.shape[0] > _MAX_STEPS_PER_COLUMN * columns:
        return column_indices(x, v, columns)
    return np.unique(np.concatenate(([0], at, [n - 1])))


def _reduce_stored(stored, columns):
    """A stored sweep (``StoredResult``) reduced chunk by chunk to the points that draw it.

    Each chunk keeps its column extremes of y (columns of the *whole* sweep's x
    range), every point where the slope or the count changes (or their column
    extremes where changes are denser than pixels) and its first and last point, so
    a jump between chunks is kept too.  Returns the reduced ``SweepResult`` and the
    number of slope changes of the full sweep.
    """
    from .._result import SweepResult

    lo, hi = float(stored.x[0]), float(stored.x[-1])
    kept, n_changes, last = [], 0, None
    for piece in stored.chunks():
        x = piece.x
        if not _is_sorted(x) or (last is not None and x[0] < last[0]):
            raise ValueError("a stored sweep is drawn chunk by chunk only over sorted x")
        changes = np.array(piece.slope_changes)
        if last is not None:
            changes[0] = piece.slope[0] != last[1]
        n_changes += int(np.count_nonzero(changes))
        at = np.flatnonzero(changes)
        if at.shape[0] > _MAX_STEPS_PER_COLUMN * columns:
            at = column_indices(x, piece.slope, columns, lo, hi)
        at_neg = _changes(piece.negative)
        if at_neg.shape[0] > _MAX_STEPS_PER_COLUMN * columns:
            at_neg = column_indices(x, piece.negative, columns, lo, hi)
        idx = np.unique(np.concatenate((column_indices(x, piece.y, columns, lo, hi), at, at_neg, [0, len(x) - 1])))
        kept.append([getattr(piece, f)[idx] for f in ("x", "y", "slope", "negative")])
        last = (float(x[-1]), piece.slope[-1])
    x, y, slope, negative = (np.concatenate(parts) for parts in zip(*kept))
    return SweepResult(x, y, slope, negative, network=stored.network, backend=stored.backend), n_changes


# -- drawing -----------------------------------------------------------------------


def _columns_for(fig, columns):
    if columns is not None:
        columns = int(columns)
        if columns < 1:
            raise ValueError(f"columns must be >= 1, got {columns}")
        return columns
    import matplotlib

    dpi = fig.dpi
    saved = matplotlib.rcParams["savefig.dpi"]
    if saved != "figure":
        dpi = max(dpi, float(saved))
    return max(1, int(np.ceil(fig.get_figwidth() * dpi * _OVERSAMPLE)))


def _new_figure(nrows, ncols, figsize, dpi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, sharex="col", sharey="row" if ncols > 1 else False, squeeze=False)
    return fig, axes


def _check_axes(axes, shape):
    arr = np.asarray(axes, dtype=object)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"axes must hold {int(np.prod(shape))} Axes (shape {shape}), got {arr.size}")
    return arr.reshape(shape)


def _ordered(res):
    """x, y, slope, negative and the slope-change mask in increasing x."""
    if _is_sorted(res.x):
        return res.x, res.y, res.slope, res.negative, res.slope_changes
    order = np.argsort(res.x, kind="stable")
    slope = res.slope[order]
    changes = np.zeros(slope.shape, bool)
    np.not_equal(slope[1:], slope[:-1], out=changes[1:])
    return res.x[order], res.y[order], slope, res.negative[order], changes


def _kink_positions(res, x, changes):
    """Where to put the kink markers.

    THE PLUG-IN POINT for exact kinks: with ``fastrelu.kinks`` (the exact
    analysis) the markers sit at the true kink positions inside the swept range;
    without it, at the grid points where the slope changes.
    """
    import fastrelu

    exact = getattr(fastrelu, "kinks", None)
    if exact is not None and len(x):
        try:
            found = exact(res.network, start=float(x[0]), stop=float(x[-1]))
            return np.asarray(getattr(found, "x", found), dtype=np.float64).reshape(-1), True
        except (TypeError, ValueError, NotImplementedError):
            pass  # a network the exact analysis does not cover: fall back to the grid
    return np.asarray(x[np.flatnonzero(changes)], dtype=np.float64), False


def _describe_grid(x):
    n = x.shape[0]
    if n == 0:
        return "no points"
    if n == 1:
        return f"x = {float(x[0]):g} (1 point)"
    step = (float(x[-1]) - float(x[0])) / (n - 1)
    mid = n // 2
    uniform = step > 0 and abs(float(x[mid]) - (float(x[0]) + mid * step)) <= 1e-6 * abs(step) * n
    if uniform:
        return f"x from {float(x[0]):g} to {float(x[-1]):g}, step {float(f'{step:.6g}'):g} ({n:,} points)"
    return f"x from {float(x[0]):g} to {float(x[-1]):g} ({n:,} points)"


def _describe_network(net, seed):
    what = "ReLU network" if net.activation == "relu" else f"{net.activation} network"
    s = f"{what}, {net.hidden:,} hidden unit{'s' if net.hidden != 1 else ''}"
    if seed is not None:
        s += f", seed {seed}"
    return s


def _draw_kinks(axes, positions, lo, hi, columns):
    positions = positions[(positions >= lo) & (positions <= hi)]
    if positions.size and hi > lo:
        # At most one marker per column: more would be drawn on the same pixels.
        col = np.floor((positions - lo) / (hi - lo) * columns)
        _, first = np.unique(col, return_index=True)
        positions = positions[first]
    for ax in axes:
        # x in data coordinates, y across the whole axes whatever its limits
        ax.vlines(positions, 0, 1, transform=ax.get_xaxis_transform(), colors=COLORS["kinks"],
                  linewidths=0.4, alpha=0.35, zorder=0.5, gid="kinks")
    return positions.size


def _auto_zoom(x, changes):
    """The stretch of x where the middle 80% of the slope changes lie, when that is a
    small part of the range (kinks of a random network crowd near 0), else None."""
    at = np.flatnonzero(changes)
    if at.shape[0] < 3:
        return None
    lo, hi = np.quantile(x[at], [0.1, 0.9])
    pad = 0.15 * (hi - lo)
    lo, hi = max(float(x[0]), lo - pad), min(float(x[-1]), hi + pad)
    if not hi > lo or (hi - lo) > 0.3 * (float(x[-1]) - float(x[0])):
        return None
    return lo, hi


def _window(x, y, lo, hi):
    """The points of sorted ``x`` (and ``y``) from ``lo`` to just past ``hi``."""
    s, e = np.searchsorted(x, [lo, hi], side="left")
    e = min(e + 1, x.shape[0])
    return x[s:e], y[s:e]


def _stored_window(stored, lo, hi, columns):
    """The output of a stored sweep from ``lo`` to ``hi``, read chunk by chunk and
    reduced to ``columns`` columns of that window (for the zoom inset)."""
    xs, ys = [], []
    for i0 in range(0, len(stored), stored.chunk):
        x = stored.x[i0 : i0 + stored.chunk]
        if x[-1] < lo or x[0] > hi:
            continue
        x, y = _window(x, stored.y[i0 : i0 + stored.chunk], lo, hi)
        keep = column_indices(x, y, columns, lo, hi)
        xs.append(x[keep])
        ys.append(y[keep])
    return (np.concatenate(xs), np.concatenate(ys)) if xs else (np.zeros(0), np.zeros(0))


def _draw_zoom(ax, x, y, changes, zoom, columns, kink_positions, window=None):
    """An inset of the output over ``zoom``, in the corner of ``ax`` the curve leaves emptiest.

    ``window(lo, hi)``, when given, supplies the inset's points (for a stored sweep,
    whose ``x`` and ``y`` here are already reduced to the whole range's columns)."""
    lo, hi = zoom
    xs, ys = _window(x, y, lo, hi) if window is None else window(lo, hi)
    if xs.shape[0] < 2:
        return None
    keep = column_indices(xs, ys, columns) if xs.shape[0] > _AUTO_POINTS_PER_COLUMN * columns else slice(None)
    # Where does the full curve pass, in axes fractions?  Count reduced points per corner.
    coarse = column_indices(x, y, 400)
    xr, yr = x[coarse], y[coarse]
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    fx, fy = (xr - x0) / (x1 - x0), (yr - y0) / (y1 - y0)
    w, h = 0.32, 0.4
    # Corners first, then the middle of the top and bottom edges (the empty space
    # above a V-shaped output); the first of the least crowded wins.
    corners = [(0.03, 0.47), (0.65, 0.47), (0.65, 0.06), (0.03, 0.06), (0.34, 0.47), (0.34, 0.06)]
    crowd = [int(np.count_nonzero((fx > cx - 0.03) & (fx < cx + w + 0.03) & (fy > cy - 0.05) & (fy < cy + h + 0.05)))
             for cx, cy in corners]
    cx, cy = corners[int(np.argmin(crowd))]
    inset = ax.inset_axes([cx, cy, w, h])
    inset.plot(xs[keep], ys[keep], color=COLORS["output"], lw=1.2, gid="zoom")
    if kink_positions is not None:
        # Markers under the curve in the inset are thin ticks at the bottom edge:
        # full-height lines would hide the corners they are meant to point at.
        inside = kink_positions[(kink_positions >= xs[0]) & (kink_positions <= xs[-1])]
        inset.vlines(inside, 0, 0.06, transform=inset.get_xaxis_transform(), colors=COLORS["kinks"],
                     linewidths=0.6, zorder=0.5)
    inset.set_xlim(float(xs[0]), float(xs[-1]))
    inset.tick_params(labelsize="x-small")
    inset.set_title(f"zoom: x from {float(xs[0]):.3g} to {float(xs[-1]):.3g}", fontsize="x-small", pad=2)
    inset.grid(True, lw=0.4, alpha=0.4)
    ax.indicate_inset_zoom(inset, edgecolor="0.3", alpha=0.6)
    return inset


def _draw_result(axes, res, columns, reduce, kinks, labels=True, zoom=None, n_changes=None, window=None):
    """Draw the three panels of ``res`` into the three ``axes``; return the number of kinks marked.

    ``n_changes`` is the number of slope changes to report when ``res`` is already a
    reduction of a larger sweep."""
    from matplotlib.ticker import MaxNLocator

    x, y, slope, negative, changes = _ordered(res)
    n = x.shape[0]
    if reduce == "auto":
        reduce = n > _AUTO_POINTS_PER_COLUMN * columns
    if reduce:
        iy = column_indices(x, y, columns)
        islope = step_indices(x, slope, columns, changes)
        ineg = step_indices(x, negative, columns)
    else:
        iy = islope = ineg = slice(None)
    ax_y, ax_s, ax_n = axes
    ax_y.plot(x[iy], y[iy], color=COLORS["output"], lw=1.4, gid="output")
    ax_s.plot(x[islope], slope[islope], color=COLORS["slope"], lw=1.2, drawstyle="steps-post", gid="slope", snap=False)
    ax_n.plot(x[ineg], negative[ineg], color=COLORS["negative"], lw=1.2, drawstyle="steps-post", gid="negative", snap=False)
    ax_n.yaxis.set_major_locator(MaxNLocator(integer=True))
    if labels:
        ax_y.set_ylabel("output  y")
        ax_s.set_ylabel("slope  dy/dx")
        ax_n.set_ylabel(f"negative units\n(of {res.network.hidden:,})")
    ax_n.set_xlabel("x")
    for ax in axes:
        ax.grid(True, lw=0.5, alpha=0.4)
        ax.margins(x=0)
    if n:
        ax_y.set_xlim(float(x[0]), float(x[-1]))
    marked = 0
    exact = False
    positions = None
    if kinks and n:
        positions, exact = _kink_positions(res, x, changes)
        marked = _draw_kinks(axes, positions, float(x[0]), float(x[-1]), columns)
    if isinstance(zoom, str):
        if zoom != "auto":
            raise ValueError(f"zoom must be None, 'auto' or (lo, hi), got {zoom!r}")
        zoom = _auto_zoom(x, changes) if n else None
    if zoom is not None:
        lo, hi = (float(v) for v in zoom)
        if not hi > lo:
            raise ValueError(f"zoom must be (lo, hi) with lo < hi, got {zoom!r}")
        _draw_zoom(ax_y, x, y, changes, (lo, hi), columns, positions, window)
    n_changes = int(np.count_nonzero(changes)) if n_changes is None else n_changes
    note = f"{n_changes:,} slope change{'s' if n_changes != 1 else ''} on the grid"
    if kinks and n:
        if exact:
            k = int(np.count_nonzero((positions >= x[0]) & (positions <= x[-1])))
            note += f"; {k:,} exact kink{'s' if k != 1 else ''} marked"
        else:
            note += "; marked at the grid points"
    ax_s.text(0.01, 0.95, note, transform=ax_s.transAxes, va="top", ha="left", fontsize="small",
              bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="none", alpha=0.8))
    return marked


def sweep_figure(res, *, axes=None, title=None, seed=None, kinks=False, zoom=None, reduce="auto", columns=None,
                 figsize=(10, 8), dpi=150):
    """Three stacked panels of a sweep: output (blue), slope (green steps), negative units (orange steps).

    Parameters
    ----------
    res : SweepResult or StoredResult
        The sweep to draw; a stored one (a Zarr store) is read chunk by chunk
        through the reduction, so it may be larger than memory.
    axes : sequence of three matplotlib Axes, optional
        Draw into these (output, slope, negative) instead of a new figure; the
        figure of the first is returned.
    title : str, optional
        Figure title; by default it names the network (activation, hidden width,
        ``seed`` when given) and the grid.
    seed : int, optional
        The seed the network was drawn with, for the default title (a
        ``Network`` does not remember it).
    kinks : bool, default False
        Mark the kinks with thin grey vertical lines on every panel: exact kink
        positions where the exact analysis is available, else the grid points
        where the slope changes.
    zoom : None, "auto" or (lo, hi)
        Add an inset to the output panel showing x from ``lo`` to ``hi``, where a
        wide grid hides the kinks (a random network's crowd near 0); ``"auto"``
        picks the stretch holding the middle 80% of the slope changes, if that is
        under 30% of the range.
    reduce : {"auto", True, False}
        Reduce each pixel column to its extremes before drawing (see
        ``column_indices`` and ``step_indices``); ``"auto"`` does so when there are
        more than a few points per column.
    columns : int, optional
        Number of reduction columns; by default twice the figure width in pixels.
    figsize, dpi
        Size and resolution of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.plot import sweep_figure
    >>> res = fastrelu.sweep(fastrelu.Network.random(50, seed=0), -10, 10, 0.01)
    >>> fig = sweep_figure(res, seed=0, kinks=True)
    >>> [ax.get_ylabel() for ax in fig.axes][:2]
    ['output  y', 'slope  dy/dx']
    >>> fig.savefig("sweep.png")  # doctest: +SKIP
    """
    if reduce not in ("auto", True, False):
        raise ValueError(f"reduce must be 'auto', True or False, got {reduce!r}")
    if axes is None:
        fig, grid = _new_figure(3, 1, figsize, dpi)
        axes = grid[:, 0]
    else:
        axes = _check_axes(axes, (3,))
        fig = axes[0].figure
    columns = _columns_for(fig, columns)
    if title is None:
        title = f"{_describe_network(res.network, seed)}\n{_describe_grid(res.x)}"
    n_changes = window = None
    if not isinstance(res.x, np.ndarray):  # a StoredResult: its arrays live in a Zarr store
        stored = res
        res, n_changes = _reduce_stored(stored, columns)

        def window(lo, hi):
            return _stored_window(stored, lo, hi, columns)

    _draw_result(axes, res, columns, reduce, kinks, zoom=zoom, n_changes=n_changes, window=window)
    fig.suptitle(title)
    return fig


def compare_figure(net, start=-100.0, stop=100.0, step=None, *, num=None, x=None, backend="auto", dtype=None,
                   threads=None, axes=None, title=None, seed=None, kinks=False, zoom=None, reduce="auto",
                   columns=None, figsize=(14, 8), dpi=150):
    """A ReLU network (left) beside its linear twin ``net.linear()`` (right), same grid and rows.

    Each row shares its y axis between the two, so the twin's straight line and
    constant slope are read on the same scale as the ReLU network's kinks.  The
    twin's units still cross zero (its negative count moves) but, without the
    ReLU, that changes nothing.

    Parameters
    ----------
    net : Network
        The network (any activation; the right column is always the linear twin).
    start, stop, step, num, x, backend, dtype, threads
        The grid and how to sweep it, as for ``fastrelu.sweep``.
    axes : 3 x 2 array of matplotlib Axes, optional
        Draw into these (rows output, slope, negative; columns network, twin).
    title, seed, kinks, zoom, reduce, columns, figsize, dpi
        As for ``sweep_figure``; kink markers and the zoom inset go on the left
        column only.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.plot import compare_figure
    >>> fig = compare_figure(fastrelu.Network.random(20, seed=1), -5, 5, num=1001, seed=1)
    >>> len(fig.axes)
    6
    """
    from .._sweep import sweep

    grid = dict(num=num, x=x, backend=backend, dtype=dtype, threads=threads)
    res = sweep(net, start, stop, step, **grid)
    twin = sweep(net.linear(), start, stop, step, **grid)
    if reduce not in ("auto", True, False):
        raise ValueError(f"reduce must be 'auto', True or False, got {reduce!r}")
    if axes is None:
        fig, axes = _new_figure(3, 2, figsize, dpi)
    else:
        axes = _check_axes(axes, (3, 2))
        fig = axes[0, 0].figure
    columns = _columns_for(fig, columns)
    # The twin first: the rows share y, and the zoom inset (left) picks its corner
    # from the final limits.
    _draw_result(axes[:, 1], twin, columns, reduce, False, labels=False)
    _draw_result(axes[:, 0], res, columns, reduce, kinks, zoom=zoom)
    left = "with ReLU" if net.activation == "relu" else f"with {net.activation}"
    axes[0, 0].set_title(left, fontsize="medium")
    axes[0, 1].set_title("linear twin (same weights, no ReLU)", fontsize="medium")
    if title is None:
        title = f"{_describe_network(net, seed)} beside its linear twin\n{_describe_grid(res.x)}"
    fig.suptitle(title)
    return fig


def save_figure(fig, path):
    """Save ``fig`` to ``path`` in the format its extension names (png, svg or pdf).

    Raises a one-line ``ValueError`` for another extension or a missing folder,
    before anything is drawn.

    Examples
    --------
    >>> save_figure(fig, "sweep.svg")  # doctest: +SKIP
    """
    check_figure_path(path)
    fig.savefig(path)
    return path


def check_figure_path(path):
    """Raise ``ValueError`` unless ``path`` ends in .png, .svg or .pdf and its folder exists.

    Examples
    --------
    >>> check_figure_path("figure.txt")
    Traceback (most recent call last):
    ...
    ValueError: 'figure.txt': the figure's file name must end in .png, .svg or .pdf
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise ValueError(f"{path!r}: the figure's file name must end in .png, .svg or .pdf")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{path!r}: no such folder {folder!r}")
    return path
