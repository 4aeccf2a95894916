"""The interactive page of a region map: a plane's linear regions, zoomable, exact at any zoom.

``region_map_html(m, "map.html")`` writes one self-contained HTML file (BokehJS and the
page's scripts inlined, as the line page of ``page.html``): the map of
``fastrelu.regions(net, plane=...)`` with its faces coloured by their activation
pattern's hash (the figure's colours, ``region_map.face_colors``), the edges shaded by
layer (the figure's rule, ``region_map.edge_greys``; a graph network's layers are its act and
max-pool nodes), a classifier's decision boundary and the three points the plane runs through.

The page holds the map itself, not a picture of it: every vertex in float64, each face's
polygon, pattern counts and affine output map, each edge's two vertices and the units
switching across it.  The scripts (``static/plane_*.js``) draw the faces that meet the
visible window, each clipped to the window in float64, so the polygons are exact at any
zoom (a face much larger than the window is drawn as the part inside it, never with
vertices 10^12 pixels away, where the canvas would round them).  Edges are drawn while
at most ``MAX_EDGES`` of them are in view (beyond that they would cover the faces, whose
colours already show every region); zoom in to see them.  A menu colours the faces by
their negative count or the size of their gradient instead (each constant on a face, so
exact, as the figure's right-hand panels).  Hovering a face shows its
counts (in all and per layer), its output map ``y = a*u + b*v + c`` and, near an edge,
the ``(layer, unit)`` pairs switching across it.  Of a graph network, layers are named by
their nodes (``RegionMap.layer_names``): the counts per act node, and across an edge
``(node, unit)``, or ``(node, argmax of window w)`` where a max-pool window's largest
input changes.

Bokeh is imported on first use, never by ``import fastrelu``.
"""

import html as _html
from importlib import resources

import numpy as np

from ..utils.validation import existing_folder
from .outputs import shown_outputs
from .region_map import _title, edge_greys, face_rgba32

__all__ = ["MAX_EDGES", "plane_page_data", "region_map_html"]

#: Edges are drawn while at most this many are in the window (about 7,000 faces): past
#: that, on a map 800 pixels wide, they would cover the faces (the figure, larger, leaves
#: them out past 20,000 faces for the same reason).
MAX_EDGES = 20_000

#: While the window spans at least this part of the rectangle, the page draws every face
#: unclipped and leaves it to Bokeh to paint those in view (a zoom then costs a repaint, not
#: new data: 0.5 s instead of 3 s at 10^5 faces); zoomed in further, it draws the faces that
#: meet the window, clipped to it, so that no vertex lies more than 1/WHOLE_SPAN frames off
#: screen (float32, which the canvas uses, is then still within a tenth of a pixel).
WHOLE_SPAN = 1e-3

#: Past this many faces the page is refused unless ``max_faces`` says otherwise: at about
#: 100 bytes a face over 1.7 MB of BokehJS, 300,000 faces is a page of 32 MB, which a
#: browser opens in some 15 s (10^5 faces: 15 MB, 6 s).  Map a smaller rectangle instead.
MAX_FACES = 300_000

#: Pixels from an edge within which the tooltip names the units switching across it.
EDGE_PIXELS = 8

_EDGE_BLOCK = 1 << 14


def _script(name):
    return (resources.files(__package__) / "static" / f"{name}.js").read_text(encoding="utf-8")


def _small_int(a):
    """``a`` as the narrowest of int8/int16/int32 that holds it (the page's size)."""
    a = np.asarray(a)
    for t in (np.int8, np.int16):
        info = np.iinfo(t)
        if a.size == 0 or (a.min() >= info.min and a.max() <= info.max):
            return a.astype(t)
    return a.astype(np.int32)


def plane_page_data(m, outputs=None):
    """What the page of region map ``m`` holds: plain arrays, grouped by length.

    Parameters
    ----------
    m : RegionMap
    outputs : sequence of int, optional
        The outputs whose maps the tooltip shows (default: all, up to the first 10).

    Returns
    -------
    dict of dict of ndarray
        ``faces`` (one row per face: ``start`` of its polygon in ``corners``, ``color``
        (drawn) and ``pattern_color`` (its pattern's) packed ``0xRRGGBBAA``, ``area``, ``neg_<k>`` per layer, ``su_<j>``, ``sv_<j>``,
        ``c_<j>`` per shown output); ``corners`` (``vertex``: the polygons, CSR as
        ``m.face_vertices``); ``vertices`` (``u``, ``v``); ``edges`` sorted by their
        vertices (``lo < hi``, ``layer``, ``unit``, ``sw_start`` into ``switches``);
        ``switches`` (``unit``: the hidden units, numbered over all layers, whose region
        differs across each edge); ``decisions`` (``u0 v0 u1 v1``, ``face``); ``points``;
        ``layers``, lists over the walk's layers (``m.layer_widths``): ``name`` (a graph's
        node names, a chain's layer indices, as the tooltip prints them), ``argmax`` (a
        max-pool node, whose pattern is each window's argmax) and ``grey`` (its edges'
        shade, 0-255, the figure's ``edge_greys``); ``counted``: the names of the counts
        ``neg_<k>`` (a graph's act nodes; empty for a chain, whose counts are by layer).

    Examples
    --------
    >>> import fastrelu
    >>> m = fastrelu.regions(fastrelu.Network.random([2, 4, 1], seed=0), bounds=((-1, 1), (-1, 1)))
    >>> d = plane_page_data(m)
    >>> len(d["faces"]["start"]) == len(m), len(d["edges"]["lo"]) == m.n_edges
    (True, True)
    """
    F = len(m)
    depth = np.asarray(m.negative_by_layer).shape[1]
    shown = shown_outputs(m.network, outputs) or [0]
    slope = np.asarray(m.slope).reshape(F, -1, 2)
    icpt = np.asarray(m.intercept).reshape(F, -1)
    offsets = np.asarray(m.face_offsets)
    colors = face_rgba32(m.pattern_hash)
    # "color" is what is drawn (the menu may recolour it), "pattern_color" the pattern's
    faces = {"start": offsets[:-1].astype(np.int32), "color": colors, "pattern_color": colors,
             "area": np.asarray(m.area, np.float64)}
    by_layer = np.asarray(m.negative_by_layer)
    for k in range(depth):
        faces[f"neg_{k}"] = _small_int(by_layer[:, k])
    for j in shown:
        faces[f"su_{j}"], faces[f"sv_{j}"], faces[f"c_{j}"] = slope[:, j, 0], slope[:, j, 1], icpt[:, j]
    verts = np.asarray(m.vertices, np.float64)
    edges = np.asarray(m.edges)
    lo, hi = edges.min(axis=1), edges.max(axis=1)
    order = np.lexsort((hi, lo))
    ef = np.asarray(m.edge_faces)[order]
    units = np.asarray(m.edge_units)[order]
    # the units switching across each inner edge: where the two faces' patterns differ
    pattern = m.pattern
    counts = np.zeros(order.shape[0], np.int64)
    found = []
    inner = np.flatnonzero((ef >= 0).all(axis=1))
    for i0 in range(0, inner.shape[0], _EDGE_BLOCK):
        e = inner[i0 : i0 + _EDGE_BLOCK]
        row, unit = np.nonzero(pattern[ef[e, 0]] != pattern[ef[e, 1]])
        counts[e] = np.bincount(row, minlength=e.shape[0])
        found.append(unit)
    switched = np.concatenate(found) if found else np.zeros(0, np.int64)
    return {
        "faces": faces,
        "corners": {"vertex": np.asarray(m.face_vertices).astype(np.int32)},
        "vertices": {"u": verts[:, 0].copy(), "v": verts[:, 1].copy()},
        "edges": {"lo": lo[order].astype(np.int32), "hi": hi[order].astype(np.int32),
                  "layer": _small_int(units[:, 0]), "unit": _small_int(units[:, 1]),
                  "sw_start": (np.cumsum(counts) - counts).astype(np.int32)},
        "switches": {"unit": switched.astype(np.int32)},
        "decisions": _decision_columns(m),
        "points": {"u": np.asarray(m.points)[:, 0].copy(), "v": np.asarray(m.points)[:, 1].copy(),
                   "label": [f"x{i}" for i in range(np.asarray(m.points).shape[0])]},
        "shown": shown,
        "depth": depth,
        **_layer_columns(m),
    }


def _layer_columns(m):
    """The page's account of the walk's layers (``plane_page_data``'s ``layers`` and ``counted``)."""
    kinds = m.layer_kinds
    graph = m.network.is_graph
    # a chain's layers by index, as switching() numbers them; a graph's by node name
    names = list(m.layer_names) if graph else [str(k) for k in range(len(kinds))]
    argmax = [kind == "maxpool" for kind in kinds]
    grey = np.rint(255 * edge_greys(len(kinds))).astype(int).tolist()
    counted = [n for n, a in zip(names, argmax) if not a] if graph else []
    return {"layers": {"name": names, "argmax": argmax, "grey": grey}, "counted": counted}


def _decision_columns(m):
    """The classifier's decision boundary (``m.decision_boundary()``), or nothing for a network
    of one output whose figure draws none by default either."""
    if m.network.out_features == 1:
        seg = np.zeros((0, 2, 2))
        face = np.zeros(0, np.int32)
    else:
        d = m.decision_boundary()
        seg, face = np.asarray(d.segments), np.asarray(d.face).astype(np.int32)
    return {"u0": seg[:, 0, 0].copy(), "v0": seg[:, 0, 1].copy(), "u1": seg[:, 1, 0].copy(),
            "v1": seg[:, 1, 1].copy(), "face": face}


def _document(m, data, *, title, width):
    from bokeh.document import Document
    from bokeh.events import DocumentReady
    from bokeh.layouts import column
    from bokeh.models import (
        ColorBar,
        ColumnDataSource,
        CustomJS,
        CustomJSHover,
        Div,
        HoverTool,
        LinearColorMapper,
        Range1d,
        Select,
    )
    from bokeh.palettes import Greens256, Oranges256
    from bokeh.plotting import figure

    src = {name: ColumnDataSource(data[name], name=name)
           for name in ("faces", "corners", "vertices", "edges", "switches", "decisions")}
    (u0, u1), (v0, v1) = m.bounds
    # the frame keeps the rectangle's shape, so that a unit of u is a unit of v on the screen,
    # unless that would make it thinner than 200 pixels (a long, narrow rectangle): then
    # the frame is at least 200 pixels each way and the two scales differ
    fw, fh = _frame(u1 - u0, v1 - v0, int(width))
    equal = abs(np.log((fh / fw) / ((v1 - v0) / (u1 - u0)))) < 1e-2
    xr = Range1d(u0, u1, bounds=(u0, u1), name="x_range")
    yr = Range1d(v0, v1, bounds=(v0, v1), name="y_range")
    p = figure(name="map", x_range=xr, y_range=yr, frame_width=fw, frame_height=fh, match_aspect=equal,
               tools="wheel_zoom,pan,box_zoom,reset,save", active_scroll="wheel_zoom", active_drag="pan",
               output_backend="canvas", x_axis_label="u", y_axis_label="v")
    p.toolbar.logo = None
    p.grid.visible = False
    p.background_fill_color = "#f4f4f4"
    p.min_border_left = 70
    # the views: what the glyphs draw, refilled by plane_update.js for each window
    face_view = ColumnDataSource({"xs": [], "ys": [], "color": np.zeros(0, np.uint32), "face": np.zeros(0, np.int32)},
                                 name="face_view")
    edge_view = ColumnDataSource({"x0": [], "y0": [], "x1": [], "y1": [], "grey": np.zeros(0, np.uint8)},
                                 name="edge_view")
    dec_view = ColumnDataSource({"x0": [], "y0": [], "x1": [], "y1": []}, name="decision_view")
    faces = p.patches("xs", "ys", source=face_view, fill_color="color", line_color=None, name="face_patches")
    # a field spelled out: Bokeh reads the bare string "grey" as the colour, not the column
    p.segment("x0", "y0", "x1", "y1", source=edge_view, line_color={"field": "grey"}, line_width=0.7,
              name="edge_lines")
    # no legend: Bokeh draws a legend's swatch from the glyph's data, so it would vanish
    # whenever no segment is in the window; the note above the map says what is what
    p.segment("x0", "y0", "x1", "y1", source=dec_view, line_color="#111111", line_width=2.4, name="decision_lines")
    pts = ColumnDataSource(data["points"], name="points")
    # drawn also when empty (an input plane), so that the page always has the same models
    p.scatter("u", "v", source=pts, size=9, marker="circle", fill_color="white", line_color="black",
              line_width=1.5, name="plane_points")
    p.text("u", "v", text="label", source=pts, x_offset=7, y_offset=-4, text_font_size="11pt",
           text_font_style="bold", name="point_labels")
    status = Div(text="", name="status", styles={"font": "12px sans-serif", "color": "#444"})

    shown = data["shown"]
    widths = [int(w) for w in m.layer_widths]
    spec = dict(depth=data["depth"], outputs=shown, widths=widths, edge_pixels=EDGE_PIXELS, max_edges=MAX_EDGES,
                n_faces=len(m), bounds=[[u0, u1], [v0, v1]], whole_span=WHOLE_SPAN, layers=data["layers"])
    fmt = CustomJSHover(args=dict(faces=src["faces"], corners=src["corners"], vertices=src["vertices"],
                                  edges=src["edges"], switches=src["switches"], plot=p, xr=xr, yr=yr, spec=spec),
                        code=_script("plane_hover"))
    rows = [("face", "@face{face}"), ("u, v", "@face{uv}"), ("negative units", "@face{negative}")]
    graph = m.network.is_graph
    if data["depth"] > 1:
        rows.append((f"by node ({', '.join(data['counted'])})" if graph else "by layer", "@face{layers}"))
    multi = m.network.out_features > 1
    for j in shown:
        rows.append((f"y{j} =" if multi else "y =", f"@face{{map:{j}}}"))
    rows.append((f"edge ({'node' if graph else 'layer'}, unit)", "@face{edge}"))
    p.add_tools(HoverTool(renderers=[faces], tooltips=rows, formatters={"@face": fmt}, name="hover_faces",
                          point_policy="follow_mouse"))

    update = CustomJS(args=dict(xr=xr, yr=yr, faces=src["faces"], corners=src["corners"], vertices=src["vertices"],
                                edges=src["edges"], decisions=src["decisions"], face_view=face_view,
                                edge_view=edge_view, decision_view=dec_view, status=status, spec=spec),
                      code=_script("plane_update"))
    for r in (xr, yr):
        r.js_on_change("start", update)
        r.js_on_change("end", update)
    # the menu: faces coloured by their pattern, or by a quantity constant on each face
    grad = "gradient |∇y|" if m.network.out_features == 1 else f"gradient |∇y{shown[0]}|"
    palettes = {}
    for name, palette in (("negative units", Oranges256), (grad, Greens256)):
        hexes = list(palette[::-1])  # light to dark: more is darker, as in the figure
        packed = [(int(h[1:], 16) << 8) | 0xFF for h in hexes]
        palettes[name] = dict(hex=hexes, packed=packed)
    mapper = LinearColorMapper(palette=palettes["negative units"]["hex"], low=0, high=1, name="colour_mapper")
    colorbar = ColorBar(color_mapper=mapper, visible=False, name="colour_bar", width=12, title_text_font_size="10pt")
    p.add_layout(colorbar, "right")
    menu = Select(title="faces coloured by", value="activation pattern", width=220, name="colour_by",
                  options=["activation pattern", "negative units", grad])
    menu.js_on_change("value", CustomJS(args=dict(faces=src["faces"], face_view=face_view, update=update, mapper=mapper,
                                                  colorbar=colorbar, spec=dict(spec, palettes=palettes)),
                                        code=_script("plane_colour")))
    depth = data["depth"]
    names = data["layers"]["name"]
    shading = (f"by node (dark: {names[0]}{f', light: {names[-1]}' if len(names) > 1 else ''})" if graph else
               f"by layer (dark: layer 1{f', light: layer {depth}' if depth > 1 else ''})")
    marks = []
    if len(data["decisions"]["face"]):
        marks.append("the thick black line is the decision boundary (where the top two outputs tie)")
    if len(data["points"]["u"]):
        marks.append("the white dots are the three points x0, x1, x2")
    note = (f"Exact: {len(m):,} linear regions, {m.n_vertices:,} vertices, {m.n_edges:,} edges "
            f"({m.n_kinks:,} of {m.n_boundaries:,} inner edges are kinks); u from {u0:g} to {u1:g}, v from {v0:g} to "
            f"{v1:g}. Faces are coloured by their activation pattern (or, from the menu, by their negative count or "
            f"gradient size, constant on each face); edges shaded {shading}, drawn while at most {MAX_EDGES:,} are in view"
            f"{'; ' + ' and '.join(marks) if marks else ''}. "
            "Every face is its exact polygon at any zoom: wheel zooms, drag pans, hover for a face's counts and "
            f"output map, and, within {EDGE_PIXELS} pixels of an edge, the units switching across it.")
    head = Div(text=f"<div style='font:15px sans-serif;font-weight:600'>{_html.escape(title)}</div>"
                    f"<div style='font:12px sans-serif;color:#444;margin-top:3px;max-width:{fw + 80}px'>"
                    f"{_html.escape(note)}</div>", name="title")
    doc = Document()
    doc.add_root(column(head, menu, p, status, name="page"))
    doc.js_on_event(DocumentReady, update)
    return doc


def _frame(du, dv, width, tallest=900, thinnest=200):
    """The map's frame ``(width, height)`` in pixels: the rectangle's shape within
    ``width`` x ``tallest``, but never thinner than ``thinnest`` either way.

    Examples
    --------
    >>> _frame(2.0, 2.0, 800), _frame(2.0, 4.0, 800), _frame(100.0, 1.0, 800)
    ((800, 800), (450, 900), (800, 200))
    """
    fw, fh = width, width * dv / du
    if fh > tallest:
        fw, fh = width * tallest / fh, tallest
    return max(int(round(fw)), thinnest), max(int(round(fh)), thinnest)


def region_map_html(m, path=None, *, title=None, outputs=None, width=800, max_faces=MAX_FACES):
    """The interactive page of a region map: one self-contained HTML file.

    Parameters
    ----------
    m : RegionMap
        From ``fastrelu.regions(net, plane=...)`` or ``regions(net, bounds=...)``.
    path : str or os.PathLike, optional
        Where to write the page; None returns its text instead.
    title : str, optional
        The heading; by default the figure's title (the network and the number of regions).
    outputs : sequence of int, optional
        The outputs whose affine maps the tooltip shows, of a network of several
        (default the first 10).
    width : int, default 800
        Width of the map in CSS pixels (its height follows the rectangle's shape).
    max_faces : int, default MAX_FACES
        A map of more faces is refused (a ValueError saying how large its page would be)
        before anything is written: map a smaller rectangle, or raise the limit.

    Returns
    -------
    str or path
        The page's text when ``path`` is None, else ``path``.

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.plot import region_map_html
    >>> m = fastrelu.regions(fastrelu.Network.random([2, 8, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)))
    >>> region_map_html(m).startswith("<!DOCTYPE html>")
    True
    """
    if not (hasattr(m, "face_offsets") and hasattr(m, "pattern_hash")):
        raise TypeError(f"region_map_html() draws a RegionMap (fastrelu.regions(net, plane=...)), got {type(m).__name__}")
    width = int(width)
    if width < 200:
        raise ValueError(f"width must be at least 200 pixels, got {width}")
    if len(m) > int(max_faces):
        raise ValueError(f"the map has {len(m):,} faces, more than max_faces={int(max_faces):,}: its page would be about "
                         f"{(1.7e6 + 100 * len(m)) / 1e6:.0f} MB; map a smaller rectangle (bounds=) or raise max_faces")
    if path is not None:
        existing_folder(path)
    data = plane_page_data(m, outputs)
    title = _title(m) if title is None else str(title)
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    text = file_html(_document(m, data, title=title, width=width), INLINE, title=title)
    if path is None:
        return text
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
