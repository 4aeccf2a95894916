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

Deep networks (several hidden layers, several outputs, a line through a space of
several inputs) draw in the same three panels: one line per output (shades of
blue, up to ``MAX_OUTPUTS``, with a legend), one step line per output's slope
(shades of green), and the negative count as the total (orange) over a stacked
area of its split by hidden layer.  A sweep ``along=(x0, x1)`` is drawn against
``t``, the coordinate along the line.
"""

import os

import numpy as np

from ..analysis.pieces import kinks
from ..model.describe import figure_title, twin_titles
from ..sweeps.result import SweepResult
from ..sweeps.sweep import sweep
from ..utils.validation import existing_folder

#: Colours of the three panels (matplotlib's default cycle: blue, green, orange).
COLORS = {"output": "tab:blue", "slope": "tab:green", "negative": "tab:orange", "kinks": "0.45"}

#: Colour maps of the shades when a panel draws several lines (outputs, layers).
SHADES = {"output": "Blues", "slope": "Greens", "negative": "Oranges"}

#: At most this many outputs are drawn by default (``outputs=`` picks others).
MAX_OUTPUTS = 10

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


def _row_changes(v):
    """Indices i >= 1 where row ``v[i]`` differs from ``v[i-1]`` in any column (1-D ``v``: any
    change), found block by block."""
    if v.ndim == 1:
        return _changes(v)
    found = []
    for i0 in range(0, v.shape[0] - 1, _BLOCK):
        a = v[i0 : i0 + _BLOCK + 1]
        found.append(np.flatnonzero((a[1:] != a[:-1]).any(axis=1)) + (i0 + 1))
    return np.concatenate(found) if found else np.zeros(0, np.intp)


def _columns_union(x, v, columns, lo=None, hi=None):
    """``column_indices`` of every column of ``v`` (N,) or (N, k), merged: a polyline of each
    column through the merged points is the same as through its own."""
    if v.ndim == 1:
        return column_indices(x, v, columns, lo, hi)
    return np.unique(np.concatenate([column_indices(x, v[:, k], columns, lo, hi) for k in range(v.shape[1])]))


def _steps_union(x, v, columns, changes=None, lo=None, hi=None):
    """``step_indices`` for every column of ``v`` (N,) or (N, k) at once.

    While the rows change at most ``2 * columns`` times, the first point, every
    point where any column changes and the last point: each column's step function
    exactly.  Past that, each column's own steps (exact where they are few) or its
    column envelope, merged."""
    n = v.shape[0]
    if n == 0:
        return np.zeros(0, np.intp)
    at = np.flatnonzero(changes) if changes is not None else _row_changes(v)
    if at.shape[0] <= _MAX_STEPS_PER_COLUMN * columns:
        return np.unique(np.concatenate(([0], at, [n - 1])))
    if v.ndim == 1:
        return column_indices(x, v, columns, lo, hi)
    parts = []
    for k in range(v.shape[1]):
        own = _changes(v[:, k])
        if own.shape[0] <= _MAX_STEPS_PER_COLUMN * columns:
            parts.append(np.concatenate(([0], own, [n - 1])))
        else:
            parts.append(column_indices(x, v[:, k], columns, lo, hi))
    return np.unique(np.concatenate(parts))


def _stack_indices(x, by_layer, columns, lo=None, hi=None):
    """Indices that draw the stacked split by layer (its running sums, the last being the
    total) as step functions: every change while they are few, else each sum's envelope."""
    n = by_layer.shape[0]
    if n == 0:
        return np.zeros(0, np.intp)
    at = _row_changes(by_layer)
    if at.shape[0] <= _MAX_STEPS_PER_COLUMN * columns:
        return np.unique(np.concatenate(([0], at, [n - 1])))
    parts, running = [], np.zeros(n, np.int64)
    for k in range(by_layer.shape[1]):
        running += by_layer[:, k]
        parts.append(_steps_union(x, running, columns, lo=lo, hi=hi))
    return np.unique(np.concatenate(parts))


def _reduce_stored(stored, columns):
    """A stored sweep (``StoredResult``) reduced chunk by chunk to the points that draw it.

    Each chunk keeps its column extremes of every output (columns of the *whole*
    sweep's x range), every point where a slope, the count or a layer's count changes
    (or their column extremes where changes are denser than pixels) and its first and
    last point, so a jump between chunks is kept too.  Returns the reduced
    ``SweepResult`` and the number of slope changes of the full sweep.
    """
    lo, hi = float(stored.x[0]), float(stored.x[-1])
    deep = stored.network.depth > 1
    kept, n_changes, last = [], 0, None
    for piece in stored.chunks():
        x = piece.x
        if not _is_sorted(x) or (last is not None and x[0] < last[0]):
            raise ValueError("a stored sweep is drawn chunk by chunk only over sorted x")
        changes = np.array(piece.slope_changes)
        if last is not None:
            changes[0] = bool(np.any(piece.slope[0] != last[1]))
        n_changes += int(np.count_nonzero(changes))
        at = _steps_union(x, piece.slope, columns, changes, lo, hi)
        if deep:
            at_neg = _stack_indices(x, piece.negative_by_layer, columns, lo, hi)
        else:
            at_neg = _changes(piece.negative)
            if at_neg.shape[0] > _MAX_STEPS_PER_COLUMN * columns:
                at_neg = column_indices(x, piece.negative, columns, lo, hi)
        idx = np.unique(np.concatenate((_columns_union(x, piece.y, columns, lo, hi), at, at_neg, [0, len(x) - 1])))
        kept.append([getattr(piece, f)[idx] for f in ("x", "y", "slope", "negative", "negative_by_layer")])
        last = (float(x[-1]), piece.slope[-1])
    x, y, slope, negative, by_layer = (np.concatenate(parts) for parts in zip(*kept))
    reduced = SweepResult(x, y, slope, negative, network=stored.network, backend=stored.backend,
                          negative_by_layer=by_layer, along=stored.along)
    return reduced, n_changes


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
    """x, y, slope, negative, negative_by_layer and the slope-change mask in increasing x."""
    if _is_sorted(res.x):
        return res.x, res.y, res.slope, res.negative, res.negative_by_layer, res.slope_changes
    order = np.argsort(res.x, kind="stable")
    slope = res.slope[order]
    changes = np.zeros(slope.shape[0], bool)
    differ = slope[1:] != slope[:-1]
    changes[1:] = differ if differ.ndim == 1 else differ.any(axis=1)
    return res.x[order], res.y[order], slope, res.negative[order], res.negative_by_layer[order], changes


def _one_layer(net):
    """One hidden layer and one output: the networks the exact analysis has always covered."""
    return net.depth == 1 and net.out_features == 1


def _kink_positions(res, x, changes):
    """Where to put the kink markers.

    THE PLUG-IN POINT for exact kinks: with ``fastrelu.kinks`` (the exact
    analysis) the markers sit at the true kink positions inside the swept range;
    without it, at the grid points where the slope changes.  A network of one
    hidden layer and one output the analysis does not cover (a clamping
    activation) falls back to the grid; any other network (deep, or of several
    outputs) is always analysed exactly, of ``t`` along a line, and an error of
    the analysis is an error of the figure.
    """
    exact = kinks
    if len(x):
        covered = (TypeError, ValueError, NotImplementedError) if _one_layer(res.network) else ()
        try:
            found = exact(res.network, start=float(x[0]), stop=float(x[-1]))
            return np.asarray(getattr(found, "x", found), dtype=np.float64).reshape(-1), True
        except covered:
            pass  # a one-layer network the exact analysis does not cover: fall back to the grid
    return np.asarray(x[np.flatnonzero(changes)], dtype=np.float64), False


def _shown_outputs(net, outputs):
    """Indices of the outputs to draw, or None for a network of one output."""
    out = net.out_features
    if outputs is None:
        return None if out == 1 else list(range(min(out, MAX_OUTPUTS)))
    picked = np.atleast_1d(np.asarray(outputs))
    if picked.ndim != 1 or picked.size == 0 or not np.issubdtype(picked.dtype, np.integer):
        raise ValueError(f"outputs must be output indices (ints), got {outputs!r}")
    if picked.min() < -out or picked.max() >= out:
        raise ValueError(f"outputs must be indices of the network's {out} outputs, got {outputs!r}")
    picked = [int(k) % out for k in picked]
    if len(set(picked)) != len(picked):
        raise ValueError(f"outputs has repeats: {outputs!r}")
    return None if out == 1 else picked


def _pick(v, shown):
    return v if shown is None or v.ndim == 1 else v[:, shown]


def _shades(panel, k, lo=0.45, hi=0.95):
    """``k`` shades of a panel's colour, light to dark."""
    import matplotlib

    cmap = matplotlib.colormaps[SHADES[panel]]
    return [cmap(v) for v in (np.linspace(lo, hi, k) if k > 1 else [hi])]


# Past this many outputs, shades alone are too close to tell apart: line styles cycle too.
_MAX_SHADES_ALONE = 4


def _dashes(k):
    """Line styles of ``k`` outputs: all solid while shades suffice, else cycling."""
    if k <= _MAX_SHADES_ALONE:
        return ["-"] * k
    return [("-", "--", ":", "-.")[i % 4] for i in range(k)]


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
    """The points of sorted ``x`` (and ``y``, rows) from ``lo`` to just past ``hi``."""
    s, e = np.searchsorted(x, [lo, hi], side="left")
    e = min(e + 1, x.shape[0])
    return x[s:e], y[s:e]


def _stored_window(stored, lo, hi, columns, shown=None):
    """The output (the ``shown`` outputs) of a stored sweep from ``lo`` to ``hi``, read
    chunk by chunk and reduced to ``columns`` columns of that window (for the zoom inset)."""
    xs, ys = [], []
    for i0 in range(0, len(stored), stored.chunk):
        x = stored.x[i0 : i0 + stored.chunk]
        if x[-1] < lo or x[0] > hi:
            continue
        x, y = _window(x, _pick(stored.y[i0 : i0 + stored.chunk], shown), lo, hi)
        keep = _columns_union(x, y, columns, lo, hi)
        xs.append(x[keep])
        ys.append(y[keep])
    return (np.concatenate(xs), np.concatenate(ys)) if xs else (np.zeros(0), np.zeros(0))


def _draw_zoom(ax, x, y, changes, zoom, columns, kink_positions, window=None, colors=None, coord="x"):
    """An inset of the output over ``zoom``, in the corner of ``ax`` the curve leaves emptiest.

    ``y`` is (N,) or (N, k) for k outputs drawn in ``colors``.  ``window(lo, hi)``, when
    given, supplies the inset's points (for a stored sweep, whose ``x`` and ``y`` here are
    already reduced to the whole range's columns)."""
    lo, hi = zoom
    xs, ys = _window(x, y, lo, hi) if window is None else window(lo, hi)
    if xs.shape[0] < 2:
        return None
    keep = _columns_union(xs, ys, columns) if xs.shape[0] > _AUTO_POINTS_PER_COLUMN * columns else slice(None)
    # Where does the full curve pass, in axes fractions?  Count reduced points per corner.
    coarse = _columns_union(x, y, 400)
    xr, yr = x[coarse], y[coarse]
    if yr.ndim == 2:
        xr, yr = np.repeat(xr, yr.shape[1]), yr.ravel()
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
    if ys.ndim == 1:
        inset.plot(xs[keep], ys[keep], color=COLORS["output"], lw=1.2, gid="zoom")
    else:
        kept = ys[keep]
        for k in range(ys.shape[1]):
            inset.plot(xs[keep], kept[:, k], color=colors[k], lw=1.0, gid=f"zoom {k}")
    if kink_positions is not None:
        # Markers under the curve in the inset are thin ticks at the bottom edge:
        # full-height lines would hide the corners they are meant to point at.
        inside = kink_positions[(kink_positions >= xs[0]) & (kink_positions <= xs[-1])]
        inset.vlines(inside, 0, 0.06, transform=inset.get_xaxis_transform(), colors=COLORS["kinks"],
                     linewidths=0.6, zorder=0.5)
    inset.set_xlim(float(xs[0]), float(xs[-1]))
    inset.tick_params(labelsize="x-small")
    inset.set_title(f"zoom: {coord} from {float(xs[0]):.3g} to {float(xs[-1]):.3g}", fontsize="x-small", pad=2)
    inset.grid(True, lw=0.4, alpha=0.4)
    ax.indicate_inset_zoom(inset, edgecolor="0.3", alpha=0.6)
    return inset


# Past this many hidden layers the split's legend names only the first and the last.
_MAX_LAYER_LABELS = 10


def _legend(ax, title=None, reverse=False):
    """A legend outside the axes on the right, so that it hides no data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                     fontsize="small", title=title, title_fontsize="small", frameon=False, handlelength=1.6)


def _draw_split(ax, x, negative, by_layer, idx):
    """The negative count as a stack of its hidden layers (layer 1 at the bottom) under
    the total (orange), all as step functions over the points ``idx``."""
    xs, total = x[idx], negative[idx]
    running = np.cumsum(by_layer[idx], axis=1, dtype=np.int64)
    depth = running.shape[1]
    # light shades, so that the total's orange line stays the darkest thing in the panel
    shades = _shades("negative", depth, 0.08, 0.36)
    below = np.zeros(xs.shape[0], np.int64)
    for k in range(depth):
        named = depth <= _MAX_LAYER_LABELS or k in (0, depth - 1)
        # snap=False as for the step lines: Agg snaps only paths of few vertices to pixels,
        # which would draw a reduced stack half a pixel off the full one
        # a thin white edge parts neighbouring layers, whose shades are close when there are many
        ax.fill_between(xs, below, running[:, k], step="post", facecolor=shades[k], edgecolor="white", lw=0.5,
                        gid=f"layer {k + 1}", label=f"layer {k + 1}" if named else None, snap=False)
        below = running[:, k]
    ax.plot(xs, total, color=COLORS["negative"], lw=1.4, drawstyle="steps-post", gid="negative", snap=False,
            label="all layers")


def _draw_result(axes, res, columns, reduce, kinks, labels=True, zoom=None, n_changes=None, window=None,
                 outputs=None, legends=True):
    """Draw the three panels of ``res`` into the three ``axes``; return the number of kinks marked.

    ``n_changes`` is the number of slope changes to report when ``res`` is already a
    reduction of a larger sweep.  ``outputs`` picks the outputs of a network of several
    (default the first ``MAX_OUTPUTS``); ``legends`` puts their legends (and the
    split by layer's) beside the panels."""
    from matplotlib.ticker import MaxNLocator

    x, y, slope, negative, by_layer, changes = _ordered(res)
    net, along = res.network, getattr(res, "along", None)
    coord = "x" if along is None else "t"
    shown = _shown_outputs(net, outputs)
    y, slope = _pick(y, shown), _pick(slope, shown)
    split = by_layer.shape[1] > 1
    n = x.shape[0]
    if reduce == "auto":
        reduce = n > _AUTO_POINTS_PER_COLUMN * columns
    if reduce:
        iy = _columns_union(x, y, columns)
        islope = _steps_union(x, slope, columns, changes)
        ineg = _stack_indices(x, by_layer, columns) if split else step_indices(x, negative, columns)
    else:
        iy = islope = ineg = slice(None)
    ax_y, ax_s, ax_n = axes
    blues = None
    if shown is None:
        ax_y.plot(x[iy], y[iy], color=COLORS["output"], lw=1.4, gid="output")
        ax_s.plot(x[islope], slope[islope], color=COLORS["slope"], lw=1.2, drawstyle="steps-post", gid="slope", snap=False)
    else:
        blues, greens = _shades("output", len(shown)), _shades("slope", len(shown))
        dashes = _dashes(len(shown))
        ys, ss = y[iy], slope[islope]
        for k, j in enumerate(shown):
            ax_y.plot(x[iy], ys[:, k], color=blues[k], ls=dashes[k], lw=1.3, gid=f"output {j}", label=f"output {j}")
            ax_s.plot(x[islope], ss[:, k], color=greens[k], ls=dashes[k], lw=1.1, drawstyle="steps-post",
                      gid=f"slope {j}", snap=False, label=f"output {j}")
    if split:
        _draw_split(ax_n, x, negative, by_layer, ineg)
    else:
        ax_n.plot(x[ineg], negative[ineg], color=COLORS["negative"], lw=1.2, drawstyle="steps-post", gid="negative", snap=False)
    ax_n.yaxis.set_major_locator(MaxNLocator(integer=True))
    if labels:
        ax_y.set_ylabel("output  y" if shown is None else "outputs  y")
        ax_s.set_ylabel(f"slope  dy/d{coord}")
        layers = f" in {by_layer.shape[1]} layers" if split else ""
        ax_n.set_ylabel(f"negative units\n(of {net.hidden:,}{layers})")
    ax_n.set_xlabel("x" if along is None else "t along the line")
    if legends:
        if shown is not None:
            more = f"{len(shown)} of {net.out_features} outputs" if len(shown) < net.out_features else None
            _legend(ax_y, more)
            _legend(ax_s, "slopes" if more is None else f"slopes, {more}")
        if split:
            _legend(ax_n, reverse=True)
    for ax in axes:
        ax.grid(True, lw=0.5, alpha=0.4)
        ax.margins(x=0)
    if n:
        ax_y.set_xlim(float(x[0]), float(x[-1]))
    if split:
        ax_n.set_ylim(bottom=0)
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
        _draw_zoom(ax_y, x, y, changes, (lo, hi), columns, positions, window, blues, coord)
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
                 outputs=None, figsize=(10, 8), dpi=150):
    """Three stacked panels of a sweep: output (blue), slope (green steps), negative units (orange steps).

    A network of several outputs draws one line per output in shades of blue (and
    its slopes in shades of green), with a legend; a network of several hidden
    layers draws the negative count over a stacked area of its split by layer
    ("layer 1" at the bottom); a sweep along a line is drawn against ``t``.

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
        ``seed`` when given; for a deep network its widths, as in
        "784→1024×8→10 ReLU network") and the grid.
    seed : int, optional
        The seed the network was drawn with, for the default title (a
        ``Network`` does not remember it).
    kinks : bool, default False
        Mark the kinks with thin grey vertical lines on every panel: exact kink
        positions where the exact analysis is available, else the grid points
        where the slope changes.  Networks of several layers or outputs are
        always analysed exactly (``fastrelu.kinks`` of the network of ``t``).
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
    outputs : sequence of int, optional
        The outputs to draw, of a network of several (default the first
        ``MAX_OUTPUTS``, 10).
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

    A deep network of two inputs and three outputs, along a line:

    >>> deep = fastrelu.Network.random([2, 64, 64, 64, 3], seed=0)
    >>> res = fastrelu.sweep(deep, along=([-1, -1], [1, 1]), backend="numpy")
    >>> fig = sweep_figure(res, seed=0)
    >>> fig.axes[2].get_xlabel(), fig._suptitle.get_text().splitlines()[0]
    ('t along the line', '2→64×3→3 ReLU network, seed 0, along a line')
    """
    if reduce not in ("auto", True, False):
        raise ValueError(f"reduce must be 'auto', True or False, got {reduce!r}")
    shown = _shown_outputs(res.network, outputs)  # a bad choice fails before any drawing
    if axes is None:
        fig, grid = _new_figure(3, 1, figsize, dpi)
        axes = grid[:, 0]
    else:
        axes = _check_axes(axes, (3,))
        fig = axes[0].figure
    columns = _columns_for(fig, columns)
    if title is None:
        title = figure_title(res.network, res.x, seed, getattr(res, "along", None))
    n_changes = window = None
    if not isinstance(res.x, np.ndarray):  # a StoredResult: its arrays live in a Zarr store
        stored = res
        res, n_changes = _reduce_stored(stored, columns)

        def window(lo, hi):
            return _stored_window(stored, lo, hi, columns, shown)

    _draw_result(axes, res, columns, reduce, kinks, zoom=zoom, n_changes=n_changes, window=window, outputs=outputs)
    fig.suptitle(title)
    return fig


def compare_figure(net, start=None, stop=None, step=None, *, num=None, x=None, along=None, backend="auto", dtype=None,
                   threads=None, axes=None, title=None, seed=None, kinks=False, zoom=None, reduce="auto",
                   columns=None, outputs=None, figsize=(14, 8), dpi=150):
    """A ReLU network (left) beside its linear twin ``net.linear()`` (right), same grid and rows.

    Each row shares its y axis between the two, so the twin's straight line and
    constant slope are read on the same scale as the ReLU network's kinks.  The
    twin's units still cross zero (its negative count moves) but, without the
    ReLU, that changes nothing.  A deep network's twin is deep too: every hidden
    layer loses its activation, so the whole network is one affine map, a straight
    line along any line.

    Parameters
    ----------
    net : Network
        The network (any activation; the right column is always the linear twin).
    start, stop, step, num, x, along, backend, dtype, threads
        The grid and how to sweep it, as for ``fastrelu.sweep`` (by default x from
        -100 to 100, step 0.01; along a line ``along=(x0, x1)``, 20,001 points of t
        from 0 to 1).
    axes : 3 x 2 array of matplotlib Axes, optional
        Draw into these (rows output, slope, negative; columns network, twin).
    title, seed, kinks, zoom, reduce, columns, outputs, figsize, dpi
        As for ``sweep_figure``; kink markers and the zoom inset go on the left
        column only, the legends of several outputs or layers on the right.

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
    >>> deep = fastrelu.Network.random([3, 16, 16, 2], seed=0)
    >>> fig = compare_figure(deep, along=([0, 0, 0], [1, 2, 3]), num=501, backend="numpy")
    >>> len(fig.axes)
    6
    """
    grid = dict(num=num, x=x, along=along, backend=backend, dtype=dtype, threads=threads)
    res = sweep(net, start, stop, step, **grid)
    twin = sweep(net.linear(), start, stop, step, **grid)
    if reduce not in ("auto", True, False):
        raise ValueError(f"reduce must be 'auto', True or False, got {reduce!r}")
    _shown_outputs(net, outputs)
    if axes is None:
        fig, axes = _new_figure(3, 2, figsize, dpi)
    else:
        axes = _check_axes(axes, (3, 2))
        fig = axes[0, 0].figure
    columns = _columns_for(fig, columns)
    # The twin first: the rows share y, and the zoom inset (left) picks its corner
    # from the final limits.
    _draw_result(axes[:, 1], twin, columns, reduce, False, labels=False, outputs=outputs)
    _draw_result(axes[:, 0], res, columns, reduce, kinks, zoom=zoom, outputs=outputs, legends=False)
    left, right = twin_titles(net)
    axes[0, 0].set_title(left, fontsize="medium")
    axes[0, 1].set_title(right, fontsize="medium")
    if title is None:
        title = figure_title(net, res.x, seed, res.along, twin=True)
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
    return existing_folder(path)
