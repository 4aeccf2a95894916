"""The public figures: ``sweep_figure`` draws one sweep, ``compare_figure`` a network
beside its linear twin.

Both return a ``matplotlib.figure.Figure`` that saves by file extension
(``fig.savefig("sweep.png")``, ``.svg``, ``.pdf``; ``save_figure`` checks the path
first).  Figures are made without ``matplotlib.pyplot``: a bare ``Figure`` on an Agg
canvas, so nothing ever opens a window, no display is needed and no global figure
list grows in a loop.  To look at one interactively, pass axes made with
``pyplot.subplots`` (``axes=``) and call ``pyplot.show()`` yourself.  matplotlib is
imported on first use, never at ``import fastrelu``.

Where the rest lives: ``reduce`` (the per-pixel reduction of big and stored sweeps),
``panels`` (drawing the output, slope and negative panels), ``marks`` (kink markers,
the zoom inset), ``style`` (colours), ``outputs`` (which outputs are drawn), ``files``
(formats and paths); the titles come from ``fastrelu.model.describe``.

Deep networks (several hidden layers, several outputs, a line through a space of
several inputs) draw in the same three panels: one line per output (each output
in its own colour, ``style.OUTPUT_COLORS``, up to ``MAX_OUTPUTS``, with a legend), one
step line per output's slope (in the output's colour), and the negative count as the total (orange) over a stacked
area of its split by hidden layer.  A sweep ``along=(x0, x1)`` is drawn against
``t``, the coordinate along the line.
"""

import numpy as np

from ..model.describe import figure_title, twin_titles
from ..sweeps.sweep import sweep
from .marks import decision_positions, draw_decisions, draw_vertices
from .outputs import shown_outputs
from .panels import check_axes, draw_result, new_figure
from .reduce import reduce_stored, stored_window
from .region_map import plane_sweep_figure

# Reduction columns per pixel of figure width: with 2, every column is at most
# half a pixel wide even when the axes span the whole figure.
_OVERSAMPLE = 2


def _columns_for(fig, columns):
    """The reduction's columns: ``columns`` checked, else twice the width of ``fig`` in pixels
    at the resolution it saves at (the larger of its own dpi and ``savefig.dpi``)."""
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


def sweep_figure(res, *, axes=None, title=None, seed=None, kinks=True, zoom=None, reduce="auto", columns=None,
                 outputs=None, decisions=None, figsize=(10, 8), dpi=150):
    """Three stacked panels of a sweep: output (blue), slope (green steps), negative units (orange steps).

    A network of several outputs draws one line per output, each in its own colour
    (its slope too, in the same colour), with a legend; a network of several hidden
    layers draws the negative count over a stacked area of its split by layer
    ("layer 1" at the bottom); a sweep along a line is drawn against ``t``.

    Parameters
    ----------
    res : SweepResult or StoredResult
        The sweep to draw; a stored one (a Zarr store) is read chunk by chunk
        through the reduction, so it may be larger than memory.  A plane's sweep
        (``sweep(net, plane=...)``) is drawn as images, one output at a time
        (``plane_sweep_figure``); the line-only options must then be left out.
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
    kinks : bool, default True
        Mark the kinks with thin dotted vertical lines on every panel (as the command
        line does; ``kinks=False`` for none): exact kink
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
    decisions : bool, optional
        Mark where the predicted class changes (argmax of several outputs, sign of one)
        with dashed dark lines on the output panel, at the exact points
        (``fastrelu.regions(...).decisions``); by default for a network of several
        outputs, a classifier's shape.
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
    if getattr(res, "plane", None) is not None:  # a plane's pixels: the region map figure's right-hand panels
        return _plane_figure(res, axes=axes, title=title, zoom=zoom, columns=columns, outputs=outputs, dpi=dpi)
    if reduce not in ("auto", True, False):
        raise ValueError(f"reduce must be 'auto', True or False, got {reduce!r}")
    shown = shown_outputs(res.network, outputs)  # a bad choice fails before any drawing
    if axes is None:
        fig, grid = new_figure(3, 1, figsize, dpi)
        axes = grid[:, 0]
    else:
        axes = check_axes(axes, (3,))
        fig = axes[0].figure
    columns = _columns_for(fig, columns)
    if title is None:
        title = figure_title(res.network, res.x, seed, getattr(res, "along", None),
                             path=getattr(res, "swept_path", None))
    n_changes = window = None
    if not isinstance(res.x, np.ndarray):  # a StoredResult: its arrays live in a Zarr store
        stored = res
        res, n_changes = reduce_stored(stored, columns)
        res.vertices, res.swept_path = getattr(stored, "vertices", None), getattr(stored, "swept_path", None)

        def window(lo, hi):
            return stored_window(stored, lo, hi, columns, shown)

    # a path's sweep: its vertices are marked; its exact kinks are the path's own (kinks(path=...)),
    # drawn when the result knows its path (swept_path); its network is one segment's, so no decisions
    vertices = getattr(res, "vertices", None)
    kinks = kinks and (vertices is None or getattr(res, "swept_path", None) is not None)
    draw_result(axes, res, columns, reduce, kinks, zoom=zoom, n_changes=n_changes, window=window, outputs=outputs)
    if vertices is not None:
        draw_vertices(axes, vertices)
    elif (res.network.out_features > 1 if decisions is None else decisions) and len(res.x):
        x = np.asarray(res.x)
        draw_decisions(axes[0], decision_positions(res.network, float(np.nanmin(x)), float(np.nanmax(x))))
    fig.suptitle(title)
    return fig


def compare_figure(net, start=None, stop=None, step=None, *, num=None, x=None, along=None, backend="auto", dtype=None,
                   threads=None, axes=None, title=None, seed=None, kinks=True, zoom=None, reduce="auto",
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
        As for ``sweep_figure`` (kinks marked by default, as there and on the command
        line); kink markers and the zoom inset go on the left column only, the legends
        of several outputs or layers on the right.

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
    shown_outputs(net, outputs)
    if axes is None:
        fig, axes = new_figure(3, 2, figsize, dpi)
    else:
        axes = check_axes(axes, (3, 2))
        fig = axes[0, 0].figure
    columns = _columns_for(fig, columns)
    # The twin first: the rows share y, and the zoom inset (left) picks its corner
    # from the final limits.
    draw_result(axes[:, 1], twin, columns, reduce, False, labels=False, outputs=outputs)
    draw_result(axes[:, 0], res, columns, reduce, kinks, zoom=zoom, outputs=outputs, legends=False)
    left, right = twin_titles(net)
    axes[0, 0].set_title(left, fontsize="medium")
    axes[0, 1].set_title(right, fontsize="medium")
    if title is None:
        title = figure_title(net, res.x, seed, res.along, twin=True)
    fig.suptitle(title)
    return fig


def _plane_figure(res, *, axes, title, zoom, columns, outputs, dpi):
    """``sweep_figure`` of a plane's sweep: ``plane_sweep_figure`` of one output.

    The options that only mean something on a line (axes of three stacked panels, a zoom
    inset, reduction columns) are refused when given, rather than silently ignored.
    """
    for name, value in (("axes", axes), ("zoom", zoom), ("columns", columns)):
        if value is not None:
            raise ValueError(f"{name}= draws a line's sweep; a plane's sweep is drawn as images (leave {name} out)")
    shown = shown_outputs(res.network, outputs)  # a bad choice fails before any drawing
    if outputs is not None and len(np.atleast_1d(outputs)) != 1:
        raise ValueError(f"a plane's sweep is drawn for one output at a time, got outputs={outputs!r}")
    return plane_sweep_figure(res, output=0 if shown is None else shown[0], title=title, dpi=dpi)
