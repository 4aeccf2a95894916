"""The per-pixel reduction: the few points of a big sweep that draw the same picture.

Each pixel column of a polyline keeps its first, last, lowest and highest point
(``column_indices``); a step function keeps exactly the points where its value
changes (``step_indices``) while they are fewer than the pixels.  The drawn picture
is the same as with every point, at a cost that does not depend on the number of
points once they are read.

``panel_indices`` reduces the three panels of a sweep at once (the output, the slope,
the negative count or its stack by hidden layer); the figures draw each panel through
its own indices, and the page keeps their union (``drawn_indices``).  A stored sweep
(a Zarr store, larger than memory) is reduced chunk by chunk (``reduce_stored``).
numpy only: nothing here draws.
"""

import numpy as np

from ..sweeps.result import SweepResult
from .outputs import pick

#: Reduce only above this many points per column; below, drawing every point costs
#: nothing worth saving.  The page's script (static/update.js) uses the same rule.
POINTS_PER_COLUMN = 4

# Step panels keep exact edges while there are at most this many changes per
# column; past that the changes are denser than pixels and the column envelope
# draws the same band.
_MAX_STEPS_PER_COLUMN = 2
# Sortedness and changes are found in blocks so that a 10**8-point grid needs no 10**8 temporary.
_BLOCK = 1 << 22


def is_sorted(x):
    """Whether ``x`` is non-decreasing, checked block by block.

    Examples
    --------
    >>> import numpy as np
    >>> is_sorted(np.array([0.0, 1.0, 1.0, 2.0])), is_sorted(np.array([1.0, 0.0]))
    (True, False)
    """
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


def columns_union(x, v, columns, lo=None, hi=None):
    """``column_indices`` of every column of ``v`` (N,) or (N, k), merged: a polyline of each
    column through the merged points is the same as through its own.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[0, 0], [5, 0], [1, 9], [2, 0]])
    >>> columns_union(np.arange(4.0), v, 1)
    array([0, 1, 2, 3])
    """
    if v.ndim == 1:
        return column_indices(x, v, columns, lo, hi)
    return np.unique(np.concatenate([column_indices(x, v[:, k], columns, lo, hi) for k in range(v.shape[1])]))


def steps_union(x, v, columns, changes=None, lo=None, hi=None):
    """``step_indices`` for every column of ``v`` (N,) or (N, k) at once.

    While the rows change at most ``2 * columns`` times, the first point, every
    point where any column changes and the last point: each column's step function
    exactly.  Past that, each column's own steps (exact where they are few) or its
    column envelope, merged.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[0, 1], [0, 1], [2, 1], [2, 1], [2, 3]])
    >>> steps_union(np.arange(5.0), v, 100)
    array([0, 2, 4])
    """
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


def stack_indices(x, by_layer, columns, lo=None, hi=None):
    """Indices that draw the stacked split by layer (its running sums, the last being the
    total) as step functions: every change while they are few, else each sum's envelope.

    Examples
    --------
    >>> import numpy as np
    >>> by_layer = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    >>> stack_indices(np.arange(4.0), by_layer, 100)
    array([0, 2, 3])
    """
    n = by_layer.shape[0]
    if n == 0:
        return np.zeros(0, np.intp)
    at = _row_changes(by_layer)
    if at.shape[0] <= _MAX_STEPS_PER_COLUMN * columns:
        return np.unique(np.concatenate(([0], at, [n - 1])))
    parts, running = [], np.zeros(n, np.int64)
    for k in range(by_layer.shape[1]):
        running += by_layer[:, k]
        parts.append(steps_union(x, running, columns, lo=lo, hi=hi))
    return np.unique(np.concatenate(parts))


def panel_indices(x, y, slope, negative, by_layer, columns, changes=None, lo=None, hi=None):
    """The points that draw each of the three panels of a sweep over sorted ``x``.

    Parameters
    ----------
    x : ndarray, shape (N,)
        Sorted positions.
    y, slope : ndarray, shape (N,) or (N, k)
        The outputs (drawn as polylines) and their slopes (step functions).
    negative : ndarray, shape (N,)
        The negative count (a step function).
    by_layer : ndarray, shape (N, depth)
        The count by hidden layer; with several layers the panel draws their stack,
        whose last running sum is ``negative``.
    columns : int
        Number of columns, as for ``column_indices``.
    changes : ndarray of bool, optional
        Where the slope (of any output) changes, when already known.
    lo, hi : float, optional
        The x range the columns split, as for ``column_indices``.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Sorted indices of the output's points, the slope's and the negative panel's.

    Examples
    --------
    >>> import fastrelu
    >>> res = fastrelu.sweep(fastrelu.Network.random(5, seed=0), -1, 1, num=10**5)
    >>> out, slope, neg = panel_indices(res.x, res.y, res.slope, res.negative, res.negative_by_layer, 100)
    >>> len(out) <= 400, len(slope) < 10
    (True, True)
    """
    iy = columns_union(x, y, columns, lo, hi)
    islope = steps_union(x, slope, columns, changes, lo, hi)
    if by_layer.shape[1] > 1:
        ineg = stack_indices(x, by_layer, columns, lo, hi)
    else:
        ineg = steps_union(x, negative, columns, lo=lo, hi=hi)
    return iy, islope, ineg


def drawn_indices(x, y, slope, negative, by_layer, columns, changes=None, lo=None, hi=None):
    """The points that draw all three panels: ``panel_indices`` merged, with both ends.

    Examples
    --------
    >>> import fastrelu
    >>> res = fastrelu.sweep(fastrelu.Network.random(5, seed=0), -1, 1, num=10**5)
    >>> idx = drawn_indices(res.x, res.y, res.slope, res.negative, res.negative_by_layer, 100)
    >>> int(idx[0]), int(idx[-1]), len(idx) < 500
    (0, 99999, True)
    """
    n = x.shape[0]
    if n == 0:
        return np.zeros(0, np.intp)
    parts = panel_indices(x, y, slope, negative, by_layer, columns, changes, lo, hi)
    return np.unique(np.concatenate((*parts, [0, n - 1])))


def ordered(res):
    """x, y, slope, negative, negative_by_layer and the slope-change mask of ``res`` in increasing x.

    Examples
    --------
    >>> import fastrelu, numpy as np
    >>> res = fastrelu.sweep(fastrelu.Network.random(5, seed=0), x=np.array([1.0, -1.0, 0.0]))
    >>> ordered(res)[0]
    array([-1.,  0.,  1.])
    """
    if is_sorted(res.x):
        return res.x, res.y, res.slope, res.negative, res.negative_by_layer, res.slope_changes
    order = np.argsort(res.x, kind="stable")
    slope = res.slope[order]
    changes = np.zeros(slope.shape[0], bool)
    differ = slope[1:] != slope[:-1]
    changes[1:] = differ if differ.ndim == 1 else differ.any(axis=1)
    return res.x[order], res.y[order], slope, res.negative[order], res.negative_by_layer[order], changes


def reduce_stored(stored, columns):
    """A stored sweep (``StoredResult``) reduced chunk by chunk to the points that draw it.

    Each chunk keeps the points that draw its panels in columns of the *whole* sweep's
    x range (``drawn_indices``), its first and last point among them, so a jump
    between chunks is kept too.

    Returns
    -------
    (SweepResult, int)
        The reduced sweep, and the number of slope changes of the full one.

    Examples
    --------
    >>> reduced, n_changes = reduce_stored(fastrelu.open_result("sweep.zarr"), 2000)  # doctest: +SKIP
    """
    lo, hi = float(stored.x[0]), float(stored.x[-1])
    kept, n_changes, last = [], 0, None
    for piece in stored.chunks():
        x = piece.x
        if not is_sorted(x) or (last is not None and x[0] < last[0]):
            raise ValueError("a stored sweep is drawn chunk by chunk only over sorted x")
        changes = np.array(piece.slope_changes)
        if last is not None:
            changes[0] = bool(np.any(piece.slope[0] != last[1]))
        n_changes += int(np.count_nonzero(changes))
        idx = drawn_indices(x, piece.y, piece.slope, piece.negative, piece.negative_by_layer, columns, changes, lo, hi)
        kept.append([getattr(piece, f)[idx] for f in ("x", "y", "slope", "negative", "negative_by_layer")])
        last = (float(x[-1]), piece.slope[-1])
    x, y, slope, negative, by_layer = (np.concatenate(parts) for parts in zip(*kept))
    reduced = SweepResult(x, y, slope, negative, network=stored.network, backend=stored.backend,
                          negative_by_layer=by_layer, along=stored.along)
    return reduced, n_changes


def in_window(x, y, lo, hi):
    """The points of sorted ``x`` (and the rows of ``y``) from ``lo`` up to the first at or past ``hi``.

    Examples
    --------
    >>> import numpy as np
    >>> in_window(np.arange(6.0), np.arange(6) * 10, 1.5, 3.5)
    (array([2., 3., 4.]), array([20, 30, 40]))
    """
    s, e = np.searchsorted(x, [lo, hi], side="left")
    e = min(e + 1, x.shape[0])
    return x[s:e], y[s:e]


def stored_window(stored, lo, hi, columns, shown=None):
    """The output (the ``shown`` outputs) of a stored sweep from ``lo`` to ``hi``, read chunk
    by chunk and reduced to ``columns`` columns of that window (for a zoom inset).

    Examples
    --------
    >>> xs, ys = stored_window(fastrelu.open_result("sweep.zarr"), -1.0, 1.0, 2000)  # doctest: +SKIP
    """
    xs, ys = [], []
    for i0 in range(0, len(stored), stored.chunk):
        x = stored.x[i0 : i0 + stored.chunk]
        if x[-1] < lo or x[0] > hi:
            continue
        x, y = in_window(x, pick(stored.y[i0 : i0 + stored.chunk], shown), lo, hi)
        keep = columns_union(x, y, columns, lo, hi)
        xs.append(x[keep])
        ys.append(y[keep])
    return (np.concatenate(xs), np.concatenate(ys)) if xs else (np.zeros(0), np.zeros(0))
