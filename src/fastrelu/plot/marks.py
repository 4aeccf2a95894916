"""What a figure marks on its panels: the kinks (thin dotted purple lines) and the zoom inset.

matplotlib is imported by the figures that call these, never by importing this module.
"""

import numpy as np

from ..analysis.pieces import kinks, regions
from .reduce import POINTS_PER_COLUMN, columns_union, in_window
from .style import COLORS, KINK_STYLE, legend


def kink_positions(res, x, changes):
    """Where to put the kink markers, and whether they are exact.

    THE PLUG-IN POINT for exact kinks: with ``fastrelu.kinks`` (the exact
    analysis) the markers sit at the true kink positions inside the swept range;
    without it, at the grid points where the slope changes.  A network of one
    hidden layer and one output the analysis does not cover (a clamping
    activation) falls back to the grid; any other network (deep, or of several
    outputs) is always analysed exactly, of ``t`` along a line, and an error of
    the analysis is an error of the figure.

    Examples
    --------
    >>> import fastrelu
    >>> res = fastrelu.sweep(fastrelu.Network.random(3, seed=0), -5, 5, num=101)
    >>> at, exact = kink_positions(res, res.x, res.slope_changes)
    >>> exact, len(at) == len(fastrelu.kinks(res.network, -5, 5))
    (True, True)
    """
    exact = kinks
    if len(x):
        swept = getattr(res, "swept_path", None)
        if swept is not None:  # a path's sweep: the path's own exact kinks, in arc length
            at = np.asarray(exact(swept.network, path=swept.points, closed=swept.closed), np.float64).reshape(-1)
            return at[(at >= x[0]) & (at <= x[-1])], True
        one_layer = res.network.depth == 1 and res.network.out_features == 1
        covered = (TypeError, ValueError, NotImplementedError) if one_layer else ()
        try:
            found = exact(res.network, start=float(x[0]), stop=float(x[-1]))
            return np.asarray(getattr(found, "x", found), dtype=np.float64).reshape(-1), True
        except covered:
            pass  # a one-layer network the exact analysis does not cover: fall back to the grid
    return np.asarray(x[np.flatnonzero(changes)], dtype=np.float64), False


def decision_positions(net, lo, hi):
    """Where the predicted class of ``net`` (a network of one coordinate) changes in ``[lo, hi]``.

    Examples
    --------
    >>> import fastrelu
    >>> decision_positions(fastrelu.Network([1.0], [0.0], [1.0], b2=-0.5), -2.0, 2.0)
    array([0.5])
    """
    if not lo < hi:
        return np.zeros(0)
    return np.asarray(regions(net, lo, hi).decisions)


def draw_decisions(ax, positions):
    """Dashed dark vertical lines at ``positions`` on the output panel ``ax`` (gid "decisions"),
    with one legend entry for them all."""
    if positions.size:
        ax.vlines(positions, 0, 1, transform=ax.get_xaxis_transform(), colors=COLORS["decisions"],
                  linestyles=(0, (4, 3)), linewidths=0.9, alpha=0.8, zorder=1.5, gid="decisions",
                  label=f"class changes ({positions.size:,})")
        # one more entry in the panel's legend, outside the axes as the others are
        old = ax.get_legend()
        legend(ax, title=old.get_title().get_text() or None if old is not None else None)


def draw_kinks(axes, positions, lo, hi, columns):
    """Thin dotted vertical lines at ``positions`` from ``lo`` to ``hi`` on every one of ``axes``
    (coloured and dotted apart from the grid's lines); returns how many were drawn (at most
    one per column).

    Examples
    --------
    >>> draw_kinks(fig.axes[:3], fastrelu.kinks(net, -10, 10), -10, 10, 3000)  # doctest: +SKIP
    """
    positions = positions[(positions >= lo) & (positions <= hi)]
    if positions.size and hi > lo:
        # At most one marker per column: more would be drawn on the same pixels.
        col = np.floor((positions - lo) / (hi - lo) * columns)
        _, first = np.unique(col, return_index=True)
        positions = positions[first]
    for ax in axes:
        # x in data coordinates, y across the whole axes whatever its limits
        ax.vlines(positions, 0, 1, transform=ax.get_xaxis_transform(), colors=COLORS["kinks"],
                  linewidths=0.6, linestyles=[KINK_STYLE], alpha=0.45, zorder=0.5, gid="kinks")
    return positions.size


def auto_zoom(x, changes):
    """The stretch of x where the middle 80% of the slope changes lie, when that is a
    small part of the range (kinks of a random network crowd near 0), else None.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-100, 100, 2001)
    >>> [round(float(v), 1) for v in auto_zoom(x, np.abs(x) < 5)]
    [-5.1, 5.1]
    >>> auto_zoom(x, np.ones(x.shape, bool)) is None
    True
    """
    at = np.flatnonzero(changes)
    if at.shape[0] < 3:
        return None
    lo, hi = np.quantile(x[at], [0.1, 0.9])
    pad = 0.15 * (hi - lo)
    lo, hi = max(float(x[0]), lo - pad), min(float(x[-1]), hi + pad)
    if not hi > lo or (hi - lo) > 0.3 * (float(x[-1]) - float(x[0])):
        return None
    return lo, hi


_INSET_FONT_POINTS = 6.5  # the inset's tick labels and title: small, inside the panel


def draw_zoom(ax, x, y, zoom, columns, kink_positions, window=None, colors=None, coord="x"):
    """An inset of the output over ``zoom``, in the corner of ``ax`` the curve leaves emptiest.

    ``y`` is (N,) or (N, k) for k outputs drawn in ``colors``.  ``window(lo, hi)``, when
    given, supplies the inset's points (for a stored sweep, whose ``x`` and ``y`` here are
    already reduced to the whole range's columns).

    Examples
    --------
    >>> draw_zoom(fig.axes[0], res.x, res.y, (-1, 1), 3000, None)  # doctest: +SKIP
    """
    lo, hi = zoom
    xs, ys = in_window(x, y, lo, hi) if window is None else window(lo, hi)
    if xs.shape[0] < 2:
        return None
    keep = columns_union(xs, ys, columns) if xs.shape[0] > POINTS_PER_COLUMN * columns else slice(None)
    # Where does the full curve pass, in axes fractions?  Count reduced points per corner.
    coarse = columns_union(x, y, 400)
    xr, yr = x[coarse], y[coarse]
    if yr.ndim == 2:
        xr, yr = np.repeat(xr, yr.shape[1]), yr.ravel()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    fx, fy = (xr - x0) / (x1 - x0), (yr - y0) / (y1 - y0)
    w, h = 0.32, 0.4
    # Corners first, then the middle of the top and bottom edges (the empty space
    # above a V-shaped output); the first of the least crowded wins.  (Nominal places:
    # the inset is put there exactly when drawn, clear of the panel's axes: _InsetPlace.)
    places = [("left", "top"), ("right", "top"), ("right", "bottom"), ("left", "bottom"), ("middle", "top"),
              ("middle", "bottom")]
    nominal = {"left": 0.08, "right": 0.99 - w, "middle": 0.34, "top": 0.47, "bottom": 0.12}
    crowd = []
    for across, up in places:
        cx, cy = nominal[across], nominal[up]
        crowd.append(int(np.count_nonzero((fx > cx - 0.03) & (fx < cx + w + 0.03) & (fy > cy - 0.05) & (fy < cy + h + 0.05))))
    across, up = places[int(np.argmin(crowd))]
    inset = ax.inset_axes([nominal[across], nominal[up], w, h])
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
    inset.tick_params(labelsize=_INSET_FONT_POINTS)
    inset.set_title(f"zoom: {coord} from {float(xs[0]):.3g} to {float(xs[-1]):.3g}", fontsize=_INSET_FONT_POINTS, pad=2)
    inset.grid(True, lw=0.4, alpha=0.4)
    inset.set_axes_locator(_InsetPlace(ax, inset, across, up, w, h))
    ax.indicate_inset_zoom(inset, edgecolor="0.3", alpha=0.6)
    return inset


class _InsetPlace:
    """Where the zoom inset goes when the figure is drawn: in its corner of the panel, with
    its own tick labels and title inside the panel's frame, clear of the panel's spines and
    tick labels whatever the figure's size and layout.

    The labels' extent around the inset's frame is measured once (it depends on the text,
    not on where the inset is); the place is worked out from the panel's frame at each draw,
    after the layout has sized it.
    """

    def __init__(self, ax, inset, across, up, w, h):
        self.ax, self.across, self.up, self.w, self.h = ax, across, up, w, h
        renderer = ax.get_figure().canvas.get_renderer()
        title = inset.title.get_window_extent(renderer)
        self.title = (title.width, title.height + 2.0 * ax.get_figure().dpi / 72)  # and its pad
        inset.title.set_visible(False)  # the tick labels alone, first
        frame, tight = inset.get_window_extent(renderer), inset.get_tightbbox(renderer)
        inset.title.set_visible(True)
        self.pads = (max(frame.x0 - tight.x0, 0.0), max(tight.x1 - frame.x1, 0.0),
                     max(frame.y0 - tight.y0, 0.0), max(tight.y1 - frame.y1, 0.0))  # left, right, below, above

    def __call__(self, inset, renderer):
        from matplotlib.transforms import Bbox

        fig = self.ax.get_figure()
        box = self.ax.get_window_extent(renderer)
        gap = 4.0 * fig.dpi / 72  # points between the labels and the panel's frame
        left, right, below, above = self.pads
        width, height = self.w * box.width, self.h * box.height
        # the title is centred above the inset: it may be wider than the inset is now
        over = max((self.title[0] - width) / 2, 0.0)
        left, right, above = max(left, over), max(right, over), max(above, self.title[1])
        x0 = {"left": box.x0 + left + gap, "right": box.x1 - gap - right - width,
              "middle": box.x0 + 0.34 * box.width}[self.across]
        y0 = {"top": box.y1 - gap - above - height, "bottom": box.y0 + below + gap}[self.up]
        return Bbox.from_bounds(x0, y0, width, height).transformed(fig.transSubfigure.inverted())


def draw_vertices(axes, positions):
    """Dashed grey vertical lines at a path's vertices (``sweep(path=...).vertices``) on
    every one of ``axes``: where the path bends, so where a slope may jump without a kink.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> draw_vertices([ax], [1.0, 2.5])
    2
    """
    for ax in axes:
        for t in positions:
            ax.axvline(float(t), color="0.45", linestyle=(0, (6, 3)), linewidth=0.8, zorder=0.5)
    return len(positions)
