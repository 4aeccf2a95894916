"""Drawing a sweep's three panels: output (blue), slope (green steps), negative units (orange steps).

A network of several outputs draws one line per output, each output in its own colour
(``style.OUTPUT_COLORS``) in the output and slope panels, with legends; a network of several hidden layers draws
the negative count over a stacked area of its split by layer.  Big results are
reduced per pixel column first (``reduce``).  matplotlib is imported by the
functions that draw, never by importing this module.
"""

import textwrap

import numpy as np

from .marks import auto_zoom, draw_kinks, draw_zoom, kink_positions
from .outputs import pick, shown_outputs
from .page_data import layer_labels
from .reduce import POINTS_PER_COLUMN, ordered, panel_indices
from .style import COLORS, dashes, layer_colors, legend, output_colors

# Past this many hidden layers the split's legend names only the first and the last.
_MAX_LAYER_LABELS = 10


def new_figure(nrows, ncols, figsize, dpi):
    """A bare ``Figure`` on an Agg canvas and its ``nrows`` x ``ncols`` axes, sharing x by column.

    No ``pyplot``: nothing opens a window, no display is needed and no global figure
    list grows in a loop.

    Examples
    --------
    >>> fig, axes = new_figure(3, 1, (10, 8), 150)
    >>> axes.shape
    (3, 1)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, sharex="col", sharey="row" if ncols > 1 else False, squeeze=False)
    return fig, axes


def check_axes(axes, shape):
    """``axes`` as an array of ``shape``; ``ValueError`` when it holds another number of Axes.

    Examples
    --------
    >>> check_axes([1, 2, 3], (3, 2))
    Traceback (most recent call last):
    ...
    ValueError: axes must hold 6 Axes (shape (3, 2)), got 3
    """
    arr = np.asarray(axes, dtype=object)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"axes must hold {int(np.prod(shape))} Axes (shape {shape}), got {arr.size}")
    return arr.reshape(shape)


def _draw_split(ax, x, negative, by_layer, idx, names, total_label):
    """The negative count as a stack of its hidden layers (layer 1 at the bottom) under
    the total (orange), all as step functions over the points ``idx``; each layer labelled
    by its name in ``names`` (``page_data.layer_labels``), the total by ``total_label``."""
    xs, total = x[idx], negative[idx]
    running = np.cumsum(by_layer[idx], axis=1, dtype=np.int64)
    depth = running.shape[1]
    # light shades, so that the total's orange line stays the darkest thing in the panel
    fills = layer_colors(depth)
    below = np.zeros(xs.shape[0], np.int64)
    for k in range(depth):
        named = depth <= _MAX_LAYER_LABELS or k in (0, depth - 1)
        # snap=False as for the step lines: Agg snaps only paths of few vertices to pixels,
        # which would draw a reduced stack half a pixel off the full one
        # a thin white edge parts neighbouring layers, whose shades are close when there are many
        ax.fill_between(xs, below, running[:, k], step="post", facecolor=fills[k], edgecolor="white", lw=0.5,
                        gid=f"layer {k + 1}", label=names[k] if named else None, snap=False)
        below = running[:, k]
    ax.plot(xs, total, color=COLORS["negative"], lw=1.4, drawstyle="steps-post", gid="negative", snap=False,
            label=total_label)


def draw_result(axes, res, columns, reduce, kinks, labels=True, zoom=None, n_changes=None, window=None,
                outputs=None, legends=True):
    """Draw the three panels of ``res`` into the three ``axes``; return the number of kinks marked.

    ``reduce`` is True, False or "auto" (reduce above ``POINTS_PER_COLUMN`` points per
    column); ``kinks`` and ``zoom`` are ``sweep_figure``'s.  ``n_changes`` is the number of
    slope changes to report when ``res`` is already a reduction of a larger sweep, and
    ``window(lo, hi)`` the zoom inset's points then.  ``outputs`` picks the outputs of a
    network of several (default the first ``MAX_OUTPUTS``); ``legends`` puts their legends
    (and the split by layer's) beside the panels.

    Examples
    --------
    >>> fig, axes = new_figure(3, 1, (10, 8), 150)
    >>> draw_result(axes[:, 0], res, 3000, "auto", kinks=True)  # doctest: +SKIP
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    x, y, slope, negative, by_layer, changes = ordered(res)
    net, along = res.network, getattr(res, "along", None)
    on_path = getattr(res, "swept_path", None) is not None  # t is the arc length along a path
    coord = "x" if along is None and not on_path else "t"
    shown = shown_outputs(net, outputs)
    y, slope = pick(y, shown), pick(slope, shown)
    split = by_layer.shape[1] > 1
    n = x.shape[0]
    if reduce == "auto":
        reduce = n > POINTS_PER_COLUMN * columns
    if reduce:
        iy, islope, ineg = panel_indices(x, y, slope, negative, by_layer, columns, changes)
    else:
        iy = islope = ineg = slice(None)
    ax_y, ax_s, ax_n = axes
    colors = None
    if shown is None:
        ax_y.plot(x[iy], y[iy], color=COLORS["output"], lw=1.4, gid="output")
        ax_s.plot(x[islope], slope[islope], color=COLORS["slope"], lw=1.2, drawstyle="steps-post", gid="slope", snap=False)
    else:
        # one colour per output, the same in both panels (and on the page)
        colors, styles = output_colors(len(shown)), dashes(len(shown))
        ys, ss = y[iy], slope[islope]
        for k, j in enumerate(shown):
            ax_y.plot(x[iy], ys[:, k], color=colors[k], ls=styles[k], lw=1.3, gid=f"output {j}", label=f"output {j}")
            ax_s.plot(x[islope], ss[:, k], color=colors[k], ls=styles[k], lw=1.1, drawstyle="steps-post",
                      gid=f"slope {j}", snap=False, label=f"output {j}")
    if split:
        graph = net is not None and net.is_graph
        _draw_split(ax_n, x, negative, by_layer, ineg, layer_labels(net, by_layer.shape[1]),
                    "all activations" if graph else "all layers")
    else:
        ax_n.plot(x[ineg], negative[ineg], color=COLORS["negative"], lw=1.2, drawstyle="steps-post", gid="negative", snap=False)
    ax_n.yaxis.set_major_locator(MaxNLocator(integer=True))
    if labels:
        ax_y.set_ylabel("output  y" if shown is None else "outputs  y")
        ax_s.set_ylabel(f"slope  dy/d{coord}")
        layers = (f" in {by_layer.shape[1]} {'activation nodes' if net is not None and net.is_graph else 'layers'}"
                  if split else "")
        ax_n.set_ylabel(f"negative units\n(of {net.hidden:,}{layers})")
    ax_n.set_xlabel("t, arc length along the path" if on_path else "x" if along is None else "t along the line")
    if legends:
        if shown is not None:
            more = f"{len(shown)} of {net.out_features} outputs" if len(shown) < net.out_features else None
            legend(ax_y, more)
            legend(ax_s, "slopes" if more is None else f"slopes, {more}")
        if split:
            legend(ax_n, reverse=True)
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
        positions, exact = kink_positions(res, x, changes)
        marked = draw_kinks(axes, positions, float(x[0]), float(x[-1]), columns)
    if isinstance(zoom, str):
        if zoom != "auto":
            raise ValueError(f"zoom must be None, 'auto' or (lo, hi), got {zoom!r}")
        zoom = auto_zoom(x, changes) if n else None
    if zoom is not None:
        lo, hi = (float(v) for v in zoom)
        if not hi > lo:
            raise ValueError(f"zoom must be (lo, hi) with lo < hi, got {zoom!r}")
        draw_zoom(ax_y, x, y, (lo, hi), columns, positions, window, colors, coord)
    n_changes = int(np.count_nonzero(changes)) if n_changes is None else n_changes
    note = f"{n_changes:,} slope change{'s' if n_changes != 1 else ''} on the grid"
    if kinks and n:
        if exact:
            k = int(np.count_nonzero((positions >= x[0]) & (positions <= x[-1])))
            # why the two counts differ: the grid sees a change between two of its points,
            # however many kinks lie between them (and none where their changes cancel)
            note += (f"; {k:,} exact kink{'s' if k != 1 else ''} marked (dotted lines): kinks closer than one "
                     "grid step make one change on the grid")
        else:
            note += "; marked at the grid points (dotted lines)"
    # above the panel, not inside it (a label over the curves would hide them), in lines no
    # wider than the panel, so that the layout keeps the panels' width
    fig = ax_s.get_figure()
    size = FontProperties(size="small").get_size_in_points()
    chars = int(0.9 * ax_s.get_position().width * fig.get_figwidth() * 72 / (0.55 * size))
    ax_s.text(0.0, 1.02, textwrap.fill(note, max(chars, 30)), transform=ax_s.transAxes, va="bottom", ha="left",
              fontsize=size, gid="note")
    return marked
