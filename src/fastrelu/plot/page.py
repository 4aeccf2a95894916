"""An interactive page of a network: zoom into any kink, exactly, in a browser.

``html(net)`` writes one self-contained HTML file (every script inlined: it opens
offline, from disk, with no server) with three panels on one shared x axis: the
output, the slope dy/dx and the number of negative units (for a deep network,
stacked by hidden layer).  Wheel-zoom, box-zoom and pan move all three.

A piecewise-linear network is described exactly by its linear pieces
(``fastrelu.regions``), so the page draws them rather than samples: the output
is the polyline through the exact kinks (and the ends of the range), the slope
and the count are step functions held over each piece.  Zooming in by 10**6, or
10**12, still shows each kink at its float64 position, since nothing was
resampled.  The y axes follow the visible window.  Hovering a panel shows, for
the piece under the mouse, x (or t), y, the slope, the negative count and the
piece's ends; hovering a kink marker shows the ``(layer, unit)`` pairs that
switch there.  A check box shows the linear twin (``net.linear()``, the same
weights without the activation): a straight line along any line, at any depth.

A sampled result (a Zarr store, or a network the exact analysis does not cover)
is drawn from its grid, reduced per pixel column with the figures' reduction
(``fastrelu.plot.reduce``).  What is drawn, pieces or grid, is worked out in
``page_data``; this module builds the Bokeh document and writes the file.

Why Bokeh: it is a maintained browser plotting library whose documents embed in
one file with their JavaScript (``bokeh.embed.file_html`` with
``bokeh.resources.INLINE``), whose ranges, glyphs and data sources are reachable
from JavaScript (``Bokeh.documents[0].get_model_by_name``), which the tests use,
and which needs no server for zooming, hover and toggles (``CustomJS``).  Bokeh
is imported on first use, never by ``import fastrelu``.  The callbacks' JavaScript
(the window's redraw, the tooltips, the twin's check box) is in ``static/*.js``,
shipped with the package and inlined into each page.
"""

import html as _html
from importlib import resources

import numpy as np

from ..analysis.plane import RegionMap
from ..model.describe import network_title
from ..model.network import Network, on_line
from ..model.slices import default_range
from ..utils.validation import existing_folder
from .outputs import shown_outputs
from .style import layer_colors, output_colors
from .page_data import exact_page, keep_indices, layer_labels, reduce_page, sampled_page, twin_pieces
from .plane_page import region_map_html

#: Up to this many pieces the page holds every piece (about 45 bytes each over 1.6 MB
#: of BokehJS: 6.1 MB for 10**5 pieces, 8.2 MB for 1.5 * 10**5); past it, the pieces are reduced per pixel
#: column like a sampled sweep and the page says so (zoom shows the reduction, not
#: the pieces: call ``html`` again with ``start`` and ``stop`` around the place).
MAX_PIECES = 150_000

#: Kink markers are drawn while at most this many kinks are in view (more would
#: cover the curve); the count is kept up to date as the x range changes.
MAX_MARKERS = 2_000

# One output: the figure's panel colours.  Several: each output in its colour of
# style.OUTPUT_COLORS in every panel (its twin too, dashed), as the figure draws them;
# the layers in the figure's shades (style.layer_colors).
_COLORS = {"output": "#1f77b4", "slope": "#2ca02c", "negative": "#ff7f0e", "twin": "#7f7f7f", "kinks": "#d62728"}


# -- the Bokeh document -------------------------------------------------------------------

# The page's scripts live in static/*.js, one Bokeh callback body each (what it does and
# its arguments are said at its top); they are read when a page is written.


def _script(name):
    """The text of ``static/<name>.js``, shipped with the package."""
    return (resources.files(__package__) / "static" / f"{name}.js").read_text(encoding="utf-8")


LEGEND_WIDTH = 150  # CSS pixels right of each panel's frame, for its legend


def _document(page, twin, *, coord, title, note, width, twin_visible, out_labels, depth, names=None, graph=False):
    from bokeh.document import Document
    from bokeh.layouts import column
    from bokeh.models import (
        CheckboxGroup,
        ColumnDataSource,
        CustomJS,
        CustomJSHover,
        Div,
        HoverTool,
        Legend,
        Range1d,
    )

    names = [f"layer {k + 1}" for k in range(depth)] if names is None else names
    multi = page.y.ndim == 2
    k_out = page.y.shape[1] if multi else 1
    ycols = [f"y_{k}" for k in range(k_out)] if multi else ["y"]
    scols = [c.replace("y", "slope", 1) for c in ycols]
    tycols = ["twin_" + c for c in ycols]
    tscols = ["twin_" + c for c in scols]
    data = {"x": page.x, "negative": page.negative.astype(np.int32)}
    for k in range(k_out):
        data[ycols[k]] = page.y[:, k] if multi else page.y
        data[scols[k]] = page.slope[:, k] if multi else page.slope
    split = depth > 1
    cum_cols = []
    if split:
        running = np.cumsum(page.by_layer, axis=1, dtype=np.int64).astype(np.int32)
        for k in range(depth):
            cum_cols.append(f"cum_{k}")
            data[cum_cols[-1]] = running[:, k]
    copy = list(data)
    if page.units:
        data["units"] = page.units
    full = ColumnDataSource(data, name="pieces")
    t_lo, t_hi, t_slope, t_icpt = twin
    # The view starts as the reduction of the whole range (the script refills it when the
    # page is ready, and on every change of the x range).  Never empty: Bokeh 3.9's
    # varea_step loops forever painting an empty source.
    idx = keep_indices(page, 2 * width)
    first = {c: data[c][idx] for c in copy}
    j = np.clip(np.searchsorted(t_hi, first["x"], side="left"), 0, len(t_hi) - 1)
    for k in range(k_out):
        s_k = t_slope[:, k] if t_slope.ndim == 2 else t_slope
        c_k = t_icpt[:, k] if t_icpt.ndim == 2 else t_icpt
        first[tycols[k]] = s_k[j] * first["x"] + c_k[j]
        first[tscols[k]] = s_k[j]
    view = ColumnDataSource(first, name="view")
    tdata = {"hi": t_hi}
    for k in range(k_out):
        tdata[f"slope_{k}"] = t_slope[:, k] if t_slope.ndim == 2 else t_slope
        tdata[f"intercept_{k}"] = t_icpt[:, k] if t_icpt.ndim == 2 else t_icpt
    tsrc = ColumnDataSource(tdata, name="twin")
    ksrc = ColumnDataSource({"i": page.kinks.astype(np.int32)}, name="kinks")
    # the kink markers: at each kink, one on every output drawn (columns y_0, y_1, ...)
    msrc = ColumnDataSource({"x": np.zeros(0), "i": np.zeros(0, np.int32), **{f"y_{k}": np.zeros(0) for k in range(k_out)}},
                            name="marks")

    x0, x1 = float(page.x[0]), float(page.x[-1])
    xr = Range1d(x0, x1, bounds=(x0, x1), name="x_range")
    tools = "xwheel_zoom,xpan,xbox_zoom,reset,save"
    # The legends sit right of the frames, never over the curves (ten outputs make a tall
    # one); every frame has the same width so the three panels' x axes stay aligned.
    common = dict(x_range=xr, frame_width=max(100, width - 80 - LEGEND_WIDTH), tools=tools,
                  active_scroll="xwheel_zoom", active_drag="xpan", output_backend="canvas")
    from bokeh.plotting import figure

    f_out = figure(height=330, name="output", y_range=Range1d(0, 1, name="y_output"), **common)
    f_slope = figure(height=210, name="slope", y_range=Range1d(0, 1, name="y_slope"), **common)
    f_neg = figure(height=230 if split else 200, name="negative", y_range=Range1d(0, 1, name="y_negative"), **common)
    for f in (f_out, f_slope, f_neg):
        f.toolbar.logo = None
        f.min_border_left = 80
        f.grid.grid_line_alpha = 0.4
        f.min_border_right = LEGEND_WIDTH
        f.add_layout(Legend(click_policy="hide", location="top_left", background_fill_alpha=0.75,
                            label_text_font_size="8pt", spacing=0, padding=4, margin=6, glyph_height=12,
                            label_height=12), "right")
    f_out.yaxis.axis_label = "outputs y" if multi else "output y"
    f_slope.yaxis.axis_label = f"slope dy/d{coord}"
    f_neg.yaxis.axis_label = "negative units"
    f_neg.xaxis.axis_label = "x" if coord == "x" else "t along the line"

    colors = output_colors(k_out) if multi else [_COLORS["output"]]
    slope_colors = colors if multi else [_COLORS["slope"]]
    twin_colors = colors if multi else [_COLORS["twin"]]
    twin_renderers, fit_out, fit_slope = [], [], []
    for k in range(k_out):
        label = out_labels[k] if multi else "output"
        f_out.line("x", ycols[k], source=view, color=colors[k], line_width=1.6, name=f"output_{k}",
                   legend_label=label)
        fit_out.append([ycols[k], None, "line"])
        f_slope.step("x", scols[k], source=view, mode="after", color=slope_colors[k], line_width=1.4,
                     name=f"slope_{k}", legend_label="slope" if not multi else f"slope, {label}")
        fit_slope.append([scols[k], None, "step"])
    for k in range(k_out):
        tw = f_out.line("x", tycols[k], source=view, color=twin_colors[k], line_width=1.6, line_dash="dashed",
                        visible=twin_visible, name=f"twin_output_{k}", legend_label="linear twin")
        tws = f_slope.step("x", tscols[k], source=view, mode="after", color=twin_colors[k], line_width=1.4,
                           line_dash="dashed", visible=twin_visible, name=f"twin_slope_{k}", legend_label="linear twin")
        twin_renderers += [tw, tws]
        fit_out.append([tycols[k], tw, "line"])
        fit_slope.append([tscols[k], tws, "step"])
    fit_neg = [["negative", None, "step"]]
    if split:
        below = None
        shades = layer_colors(depth)
        for k in range(depth):
            f_neg.varea_step(x="x", y1=below if below else 0, y2=cum_cols[k], source=view, step_mode="after",
                             fill_color=shades[k], fill_alpha=0.6, name=f"layer_{k + 1}", legend_label=names[k])
            below = cum_cols[k]
    f_neg.step("x", "negative", source=view, mode="after", color=_COLORS["negative"], line_width=1.5, name="negative_count",
               legend_label=("all activations" if graph else "all layers") if split else "negative units")
    f_neg.legend.visible = split
    marks = [f_out.scatter("x", f"y_{k}", source=msrc, size=6, marker="circle", fill_color="white",
                           line_color=colors[k] if multi else _COLORS["kinks"], line_width=1.3,
                           name=f"kink_marks_{k}",
                           legend_label="kinks" if page.exact else "slope changes (grid)") for k in range(k_out)]

    # Hover: every panel reports the piece (or the samples) under the mouse.
    fmt = CustomJSHover(args=dict(full=full, layers=cum_cols), code=_script("hover"))
    rows = [(coord, "$x{x}")]
    for k in range(k_out):
        rows.append(("y" + ("" if not multi else f" ({out_labels[k]})"), f"@x{{at:{scols[k]}}}"))
    for k in range(k_out):
        rows.append(("slope" + ("" if not multi else f" ({out_labels[k]})"), f"@x{{v:{scols[k]}}}"))
    rows.append(("negative units", "@x{v:negative}"))
    if split:
        # a graph network's parts by their nodes' names, in the order of the counts
        rows.append((f"by node ({', '.join(n.removeprefix('node ') for n in names)})" if graph else "by layer", "@x{layers}"))
    rows.append(("piece" if page.exact else "between samples", "@x{piece}"))
    for f, col in ((f_out, ycols[0]), (f_slope, scols[0]), (f_neg, "negative")):
        # Step glyphs have no hit test: an invisible line through the drawn vertices
        # tells the hover tool that the mouse is over the panel's data.
        probe = f.line("x", col, source=view, line_alpha=0, name=f"hover_{f.name}")
        f.add_tools(HoverTool(renderers=[probe], mode="vline", line_policy="none", tooltips=rows,
                              formatters={"$x": fmt, "@x": fmt}, name=f"hover_{f.name}"))
    kfmt = CustomJSHover(args=dict(full=full, marks=msrc), code=_script("kink_hover"))
    kink_rows = [(("kink" if page.exact else "slope change") + f" at {coord}", "@x{v:x}"),
                 ("y", f"@x{{v:{ycols[0]}}}"), ("slope left", f"@x{{left:{scols[0]}}}"),
                 ("slope right", f"@x{{v:{scols[0]}}}")]
    if page.units:
        kink_rows.append((f"switching ({'node' if graph else 'layer'}, unit)", "@x{units}"))
    f_out.add_tools(HoverTool(renderers=marks, mode="mouse", tooltips=kink_rows, formatters={"@x": kfmt},
                              name="hover_kinks"))

    panels = [dict(range=f_out.y_range, cols=fit_out, zero=False, integer=False),
              dict(range=f_slope.y_range, cols=fit_slope, zero=False, integer=False),
              dict(range=f_neg.y_range, cols=fit_neg, zero=split, integer=True)]
    spec = dict(columns=2 * width, values=ycols + scols + ["negative"] + cum_cols, copy=copy, y=ycols,
                twin_y=tycols, twin_slope=tscols)
    update = CustomJS(args=dict(xr=xr, full=full, view=view, twin=tsrc, kinks=ksrc, marks=msrc, panels=panels,
                                spec=spec, max_markers=MAX_MARKERS), code=_script("update"))
    xr.js_on_change("start", update)
    xr.js_on_change("end", update)

    toggle = CheckboxGroup(labels=["linear twin: net.linear(), the same weights without the activation "
                                   "(a straight line at any depth)"], active=[0] if twin_visible else [],
                           name="twin_toggle")
    toggle.js_on_change("active", CustomJS(args=dict(rs=twin_renderers, update=update), code=_script("twin_toggle")))
    head = Div(text=f"<div style='font:15px sans-serif;font-weight:600'>{_html.escape(title)}</div>"
                    f"<div style='font:12px sans-serif;color:#444;margin-top:3px;max-width:{width}px'>"
                    f"{_html.escape(note)}</div>", name="title")
    doc = Document()
    doc.add_root(column(head, toggle, f_out, f_slope, f_neg, name="page"))
    from bokeh.events import DocumentReady

    doc.js_on_event(DocumentReady, update)
    return doc


# -- the public functions -----------------------------------------------------------------


def html(net_or_result, path=None, *, start=None, stop=None, along=None, twin=False, title=None, seed=None,
         outputs=None, width=1000, max_pieces=None):
    """An interactive page of a network or a sweep: one self-contained HTML file.

    Parameters
    ----------
    net_or_result : Network, SweepResult, StoredResult or RegionMap
        A network is drawn from its exact pieces over ``[start, stop]``.  A sweep is
        drawn from the exact pieces of its network over its range when the analysis
        covers the network, else from its grid (as is a store), reduced per pixel
        column.  A region map (``fastrelu.regions(net, plane=...)``) gets its own
        page, ``region_map_html``, of which only ``path``, ``title``, ``outputs`` and
        ``width`` apply.
    path : str or os.PathLike, optional
        Where to write the page; None returns its text instead.
    start, stop : float, optional
        The range of a network: by default the sweep's, -100 to 100 (``t`` from 0 to
        1 along a line).  For a sweep, a narrower range than its own.
    along : (x0, x1), optional
        For a network of several inputs: the line ``x0 + t*(x1 - x0)``.
    twin : bool, default False
        Show the linear twin (``net.linear()``) when the page opens; its check box
        shows and hides it either way.
    title : str, optional
        The heading; by default the network as a figure's title names it
        (``fastrelu.model.describe.network_title``).
    seed : int, optional
        The seed the network was drawn with, for the default heading.
    outputs : sequence of int, optional
        The outputs to draw, of a network of several (default the first 10).
    width : int, default 1000
        Width of the panels in CSS pixels, the legends right of the plots included.
    max_pieces : int, optional
        Past this many pieces (default ``MAX_PIECES``) the page holds a per-pixel
        reduction of the pieces instead of all of them, and says so.

    Returns
    -------
    str or path
        The page's text when ``path`` is None, else ``path``.

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.plot.page import html
    >>> page = html(fastrelu.Network.random(hidden=20, seed=0), seed=0)
    >>> page.startswith("<!DOCTYPE html>"), "cdn.bokeh.org" in page
    (True, False)
    """
    if isinstance(net_or_result, RegionMap):  # a plane's map has its own page
        for name, value in (("start", start), ("stop", stop), ("along", along), ("max_pieces", max_pieces)):
            if value is not None:
                raise ValueError(f"{name}= is for a line's page; a region map's page takes path, title, outputs, width")
        return region_map_html(net_or_result, path, title=title, outputs=outputs, width=width)
    max_pieces = MAX_PIECES if max_pieces is None else int(max_pieces)
    width = int(width)
    if width < 200:
        raise ValueError(f"width must be at least 200 pixels, got {width}")
    columns = 2 * width
    if path is not None:
        existing_folder(path)
    if isinstance(net_or_result, Network):
        net, line = on_line(net_or_result, along)
        start, stop = (float(v) for v in default_range(start, stop, line))
        source = None
    elif hasattr(net_or_result, "network") and hasattr(net_or_result, "x"):
        if along is not None:
            raise TypeError("along= is for a network; a sweep carries its own line")
        source = net_or_result
        net, line = source.network, getattr(source, "along", None)
        x = source.x
        lo_x, hi_x = float(x[0]), float(x[-1])
        if isinstance(x, np.ndarray) and x.shape[0]:
            lo_x, hi_x = float(np.min(x)), float(np.max(x))
        start = lo_x if start is None else max(float(start), lo_x)
        stop = hi_x if stop is None else min(float(stop), hi_x)
    else:
        raise TypeError(f"html() draws a Network, a SweepResult or a StoredResult, got {type(net_or_result).__name__}")
    if not (np.isfinite(start) and np.isfinite(stop) and stop > start):
        raise ValueError(f"the page needs a finite range with start < stop, got start={start} and stop={stop}")
    shown = shown_outputs(net, outputs)
    page = None
    if source is None or isinstance(source.x, np.ndarray):
        covered = (TypeError, ValueError, NotImplementedError) if source is not None else ()
        try:
            page = exact_page(net, start, stop, shown)
        except covered:
            page = None  # a network the exact analysis does not cover: its grid
    if page is None:
        page = sampled_page(source, shown, columns)
    if page.exact and page.pieces > max_pieces:
        page = reduce_page(page, columns)
    twin_lines = twin_pieces(net, float(page.x[0]), float(page.x[-1]), shown)

    coord = "x" if line is None else "t"
    if title is None:
        title = network_title(net, seed, line)
    if page.exact:
        note = (f"Exact: {page.pieces:,} linear pieces of {coord} from {start:g} to {stop:g}, "
                f"{page.n_kinks:,} kinks ({page.n_boundaries:,} activation boundaries). ")
        if page.reduced:
            note += (f"Reduced to {page.x.shape[0]:,} vertices for the page (more than {max_pieces:,} pieces): "
                     "zooming shows the reduction; draw a narrower range for every kink. ")
        else:
            note += "Every kink is a vertex: zoom in as far as you like. "
    else:
        note = (f"Sampled: {len(source):,} grid points of {coord} from {start:g} to {stop:g}"
                f"{', reduced per pixel column' if page.reduced else ''}; markers at the grid points where the slope changes. ")
    note += f"Wheel zooms {coord}, drag pans, hover for values"
    note += ", hover a kink for the units switching there." if page.units else "."
    out_labels = [f"output {j}" for j in (shown or [0])]
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    doc = _document(page, twin_lines, coord=coord, title=title, note=note, width=width,
                    twin_visible=bool(twin), out_labels=out_labels, depth=page.by_layer.shape[1],
                    names=layer_labels(net, page.by_layer.shape[1]), graph=net.is_graph)
    # INLINE: the page embeds BokehJS itself, so that it opens offline and from disk,
    # with no CDN and no server; CDN resources would leave a page that is blank offline.
    text = file_html(doc, INLINE, title=title)
    if path is None:
        return text
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def repr_html(obj, height=None):
    """The page of ``obj`` (a Network or a SweepResult) for Jupyter's ``_repr_html_``.

    The page sits in an ``<iframe srcdoc=...>``: it keeps its own copy of BokehJS
    and its own scripts, so it runs whatever else the notebook has loaded, and it
    works offline.  Returns None (Jupyter then shows the plain repr) for what has no
    default page: a network of several inputs (it needs a line) or Bokeh not installed.
    """
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return None
    if getattr(obj, "in_features", 1) != 1:
        return None
    text = html(obj)
    height = int(height or 900)
    return (f'<iframe srcdoc="{_html.escape(text, quote=True)}" style="width:100%;height:{height}px;border:0" '
            f'sandbox="allow-scripts allow-downloads"></iframe>')
