"""The region map's page (``fastrelu.plot.region_map_html``): what it holds, and what it shows
in a real browser (Debian's Chromium, headless, driven by Playwright as in test_html.py).

A missing browser, Playwright or Bokeh is a test failure, never a skip.
"""

import io
import re

import numpy as np
import pytest
from test_html import open_page, tooltip_rows

import fastrelu
from fastrelu.plot import region_map_html
from fastrelu.plot.plane_page import MAX_EDGES, plane_page_data
from fastrelu.plot.region_map import face_colors, face_rgba32


@pytest.fixture(scope="module")
def classifier():
    """A 2 -> 16 -> 16 -> 3 map: faces, every edge drawn, and a decision boundary."""
    return fastrelu.regions(fastrelu.Network.random([2, 16, 16, 3], seed=1), bounds=((-3, 3), (-3, 3)))


@pytest.fixture(scope="module")
def plane_map():
    """A map of a plane through three inputs of a 5-input network: the three points drawn."""
    net = fastrelu.Network.random([5, 24, 24, 1], seed=2)
    points = np.random.default_rng(3).normal(size=(3, 5))
    return fastrelu.regions(net, plane=points)


@pytest.fixture(scope="module")
def classifier_page(classifier, tmp_path_factory):
    return region_map_html(classifier, tmp_path_factory.mktemp("plane") / "map.html")


@pytest.fixture(scope="module")
def plane_page(plane_map, tmp_path_factory):
    return region_map_html(plane_map, tmp_path_factory.mktemp("plane") / "plane.html")


def js(page, name, expr):
    """Evaluate ``expr`` (``m`` is the Bokeh model named ``name``) in the page."""
    return page.evaluate(f"() => {{ const m = Bokeh.documents[0].get_model_by_name({name!r}); return {expr}; }}")


def drawn(page):
    """Wait until the map is drawn for the current window; return the status tags
    ``[faces drawn, edges drawn, u0, u1, v0, v1]``."""
    page.wait_for_function("() => { const s = Bokeh.documents[0].get_model_by_name('status'); "
                           "const x = Bokeh.documents[0].get_model_by_name('x_range'), "
                           "y = Bokeh.documents[0].get_model_by_name('y_range'); "
                           "return s.tags.length == 6 && s.tags[2] == x.start && s.tags[3] == x.end "
                           "&& s.tags[4] == y.start && s.tags[5] == y.end; }", timeout=60_000)
    page.wait_for_function("() => Bokeh.index.find_one(Bokeh.documents[0].roots()[0]).is_idle")
    page.wait_for_timeout(150)
    return js(page, "status", "m.tags")


def zoom(page, u0, u1, v0, v1):
    u0, u1, v0, v1 = (float(t) for t in (u0, u1, v0, v1))
    page.evaluate(f"() => {{ const d = Bokeh.documents[0]; const x = d.get_model_by_name('x_range'), "
                  f"y = d.get_model_by_name('y_range'); x.start = {u0!r}; x.end = {u1!r}; y.start = {v0!r}; "
                  f"y.end = {v1!r}; }}")
    return drawn(page)


def to_screen(page, u, v):
    return page.evaluate(f"""() => {{
        const w = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('map'));
        const r = w.el.getBoundingClientRect();
        return [r.left + w.frame.x_scale.compute({float(u)!r}), r.top + w.frame.y_scale.compute({float(v)!r})];
    }}""")


def screen_rgb(page, points):
    """The screenshot's colour at each page point ``(x, y)``."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
    return np.array([img[int(round(y)), int(round(x))] for x, y in points])


def inner_face(m):
    """The largest face not touching the rectangle's sides, and its centroid."""
    sides = np.asarray(m.edge_units)[:, 0] < 0
    touching = np.unique(np.asarray(m.edge_faces)[sides].ravel())
    area = np.asarray(m.area).copy()
    area[touching[touching >= 0]] = 0
    f = int(np.argmax(area))
    return f, np.asarray(m.vertices)[m.polygon(f)].mean(axis=0)


# -- what the page holds -------------------------------------------------------------------------


def test_the_page_holds_the_map_exactly(classifier):
    m = classifier
    d = plane_page_data(m)
    faces, edges = d["faces"], d["edges"]
    assert np.array_equal(faces["start"], np.asarray(m.face_offsets)[:-1])
    assert np.array_equal(d["corners"]["vertex"], m.face_vertices)
    assert np.array_equal(d["vertices"]["u"], np.asarray(m.vertices)[:, 0])
    assert np.array_equal(faces["color"], face_rgba32(m.pattern_hash))
    for k in range(m.network.depth):
        assert np.array_equal(faces[f"neg_{k}"], np.asarray(m.negative_by_layer)[:, k])
    for j in range(3):
        assert np.array_equal(faces[f"su_{j}"], m.slope[:, j, 0]) and np.array_equal(faces[f"c_{j}"], m.intercept[:, j])
    # edges sorted by their two vertices, each with the units the map says switch across it
    key = np.stack([edges["lo"], edges["hi"]], axis=1)
    assert (np.diff(key[:, 0]) >= 0).all() and (edges["lo"] < edges["hi"]).all()
    where = {tuple(sorted(e)): i for i, e in enumerate(np.asarray(m.edges).tolist())}
    widths = np.r_[0, np.cumsum(m.network.widths[1:-1])]
    ends = np.r_[edges["sw_start"][1:], len(d["switches"]["unit"])]
    for row, (lo, hi) in enumerate(key.tolist()):
        e = where[(lo, hi)]
        assert tuple(np.asarray(m.edge_units)[e]) == (edges["layer"][row], edges["unit"][row])
        layer, unit = m.switching(e)
        assert np.array_equal(d["switches"]["unit"][edges["sw_start"][row] : ends[row]], widths[layer] + unit)
    seg = np.asarray(m.decision_boundary().segments)
    assert seg.shape[0] > 0 and np.array_equal(d["decisions"]["u1"], seg[:, 1, 0])


def test_packed_colours_are_the_figure_s(classifier):
    rgb = face_colors(classifier.pattern_hash)
    packed = face_rgba32(classifier.pattern_hash)
    unpacked = np.stack([(packed >> s) & 0xFF for s in (24, 16, 8)], axis=1)
    assert np.abs(unpacked / 255.0 - rgb).max() <= 0.5 / 255 and ((packed & 0xFF) == 255).all()


def test_page_is_self_contained_and_bad_arguments_name_themselves(classifier, tmp_path):
    text = region_map_html(classifier)
    assert text.startswith("<!DOCTYPE html>") and "cdn.bokeh.org" not in text
    assert not re.search(r"<script[^>]+src=", text) and not re.search(r"<link[^>]+href=", text)
    with pytest.raises(TypeError, match="draws a RegionMap"):
        region_map_html(fastrelu.Network.random([2, 4, 1], seed=0))
    with pytest.raises(ValueError, match="width must be at least 200"):
        region_map_html(classifier, width=100)
    with pytest.raises(ValueError, match="no such folder"):
        region_map_html(classifier, tmp_path / "missing" / "map.html")
    with pytest.raises(ValueError, match="outputs must be indices"):
        region_map_html(classifier, outputs=[3])
    with pytest.raises(ValueError, match=f"the map has {len(classifier):,} faces, more than max_faces=100: its page"):
        region_map_html(classifier, tmp_path / "big.html", max_faces=100)
    assert not (tmp_path / "big.html").exists()


# -- in the browser ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["classifier", "plane_map"])
def test_the_page_draws_every_face_edge_and_segment(browser, which, request):
    m = request.getfixturevalue(which)
    page, errors = open_page(browser, request.getfixturevalue("classifier_page" if which == "classifier" else "plane_page"))
    try:
        faces, n_edges = drawn(page)[:2]
        assert faces == len(m) and js(page, "face_view", "m.data.face.length") == len(m)
        assert sorted(js(page, "face_view", "Array.from(m.data.face)")) == list(range(len(m)))
        inner = int(np.count_nonzero(np.asarray(m.edge_units)[:, 0] >= 0))
        assert inner <= MAX_EDGES and n_edges == inner
        # edges shaded by layer as in the figure: layer 1 darkest, the last lightest, one grey each
        layers, counts = np.unique(np.asarray(m.edge_units)[:, 0], return_counts=True)
        grey = np.rint(255 * (0.1 + 0.55 * layers[layers >= 0] / max(m.network.depth - 1, 1)))
        drawn_grey, drawn_counts = np.unique(js(page, "edge_view", "Array.from(m.data.grey)"), return_counts=True)
        assert np.array_equal(drawn_grey, grey) and np.array_equal(drawn_counts, counts[layers >= 0])
        segments = js(page, "decision_view", "m.data.x0.length")
        assert segments == (np.asarray(m.decision_boundary().segments).shape[0] if m.network.out_features > 1 else 0)
        assert js(page, "points", "m.data.u.length") == np.asarray(m.points).shape[0]
        # each face is drawn in its own colour: the pixel at a face's centroid
        f, (u, v) = inner_face(m)
        want = np.rint(face_colors(m.pattern_hash[[f]])[0] * 255)
        assert np.abs(screen_rgb(page, [to_screen(page, u, v)])[0] - want).max() <= 2
        assert errors == []
    finally:
        page.close()


def test_hover_gives_the_face_s_counts_map_and_the_units_of_the_edge(browser, classifier, classifier_page):
    m = classifier
    f, (u, v) = inner_face(m)
    page, errors = open_page(browser, classifier_page)
    try:
        drawn(page)
        page.mouse.move(*to_screen(page, u, v))
        rows, text = tooltip_rows(page, "negative units")
        assert rows["face"].startswith(f"#{f} of {len(m)}"), text
        assert int(rows["negative units"]) == m.negative[f], text
        assert [int(c) for c in rows["by layer"].split(",")] == list(m.negative_by_layer[f]), text
        for j in range(3):
            a, b, c = re.fullmatch(r"(\S+)\*u \+ (\S+)\*v \+ (\S+)", rows[f"y{j} ="]).groups()
            assert (float(a), float(b), float(c)) == (m.slope[f, j, 0], m.slope[f, j, 1], m.intercept[f, j]), text
        assert rows["edge (layer, unit)"].startswith("none within"), text
        # 3 pixels inside the face from the middle of one of its inner edges
        poly = m.polygon(f)
        where = {tuple(sorted(e)): i for i, e in enumerate(np.asarray(m.edges).tolist())}
        for k in range(len(poly)):
            e = where[tuple(sorted((int(poly[k]), int(poly[(k + 1) % len(poly)]))))]
            if np.asarray(m.edge_units)[e, 0] >= 0:
                break
        mid = np.asarray(m.vertices)[np.asarray(m.edges)[e]].mean(axis=0)
        sx, sy = to_screen(page, *mid)
        cx, cy = to_screen(page, u, v)
        step = 3 / np.hypot(cx - sx, cy - sy)
        page.mouse.move(0, 0)
        page.mouse.move(sx + step * (cx - sx), sy + step * (cy - sy))
        rows, text = tooltip_rows(page, "edge (layer, unit)")
        layer, unit = m.switching(e)
        assert rows["face"].startswith(f"#{f} "), text
        assert rows["edge (layer, unit)"] == " ".join(f"({a}, {b})" for a, b in zip(layer, unit)), text
        assert errors == []
    finally:
        page.close()


def test_zoom_to_a_billionth_keeps_every_polygon_exact(browser, classifier, classifier_page):
    m = classifier
    verts = np.asarray(m.vertices)
    (u0, u1), (v0, v1) = m.bounds
    # a vertex inside, where three or more faces meet, far from every other vertex
    corners = np.asarray(m.face_vertices)
    meets = np.bincount(corners, minlength=m.n_vertices)
    inside = (verts[:, 0] > u0) & (verts[:, 0] < u1) & (verts[:, 1] > v0) & (verts[:, 1] < v1) & (meets >= 3)
    gap = np.array([np.sort(np.hypot(*(verts - p).T))[1] for p in verts])
    i = int(np.flatnonzero(inside)[np.argmax(gap[inside])])
    assert gap[i] > 1e-6
    around = sorted({f for f in range(len(m)) if i in m.polygon(f)})
    u, v = verts[i]
    h = 1e-9
    page, errors = open_page(browser, classifier_page)
    try:
        drawn(page)
        faces, n_edges, a, b, c, d = zoom(page, u - h, u + h, v - h, v + h)
        assert (a, b, c, d) == (u - h, u + h, v - h, v + h)
        got = js(page, "face_view", "Array.from(m.data.face)")
        assert sorted(got) == around and faces == len(around)
        xs = js(page, "face_view", "m.data.xs.map(a => Array.from(a))")
        ys = js(page, "face_view", "m.data.ys.map(a => Array.from(a))")
        for X, Y in zip(xs, ys):
            X, Y = np.array(X), np.array(Y)
            at_vertex = (X == u) & (Y == v)  # the map's float64 vertex itself
            on_border = (X == a) | (X == b) | (Y == c) | (Y == d)
            assert at_vertex.any() and (at_vertex | on_border).all()
        # the edges through the vertex, each from it to the window's border
        assert n_edges == int(np.count_nonzero((np.asarray(m.edges) == i).any(axis=1)))
        # each face is drawn in its colour where it is: at the centroid of its part of the window
        # (of the parts whose centroid is 3 pixels or more from their sides, off the drawn edges)
        js(page, "edge_lines", "m.visible = false")
        page.wait_for_timeout(200)
        checked = []
        for f, X, Y in zip(got, xs, ys):
            P = np.array([to_screen(page, x, y) for x, y in zip(X, Y)])
            g = P.mean(axis=0)
            Q = np.roll(P, -1, axis=0)
            d, r = Q - P, g - P
            side = np.abs(d[:, 0] * r[:, 1] - d[:, 1] * r[:, 0]) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-300)
            if side.min() >= 3:
                checked.append((f, g))
        assert len(checked) >= 2
        want = np.rint(face_colors(m.pattern_hash[[f for f, _ in checked]]) * 255)
        assert np.abs(screen_rgb(page, [g for _, g in checked]) - want).max() <= 2
        faces = zoom(page, u0, u1, v0, v1)[0]  # back out: everything again
        assert faces == len(m)
        assert errors == []
    finally:
        page.close()


def test_the_command_writes_the_page(tmp_path, capsys, monkeypatch):
    from fastrelu.cli.errors import EXIT_ERROR
    from fastrelu.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["map", "--widths", "2,8,8,1", "--pixels", "8", "--html", "m.html", "--plot", "m.png"]) == 0
    assert "page          m.html" in capsys.readouterr().out
    m = fastrelu.regions(fastrelu.Network.random([2, 8, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)))
    text = (tmp_path / "m.html").read_text(encoding="utf-8")  # Bokeh's ids differ from page to page
    assert text.startswith("<!DOCTYPE html>") and f"Exact: {len(m):,} linear regions, {m.n_vertices:,} vertices" in text
    assert main(["map", "--widths", "2,8,1", "--html", "missing/m.html"]) == EXIT_ERROR
    assert "--html: 'missing/m.html': no such folder" in capsys.readouterr().err


def test_a_moderate_zoom_keeps_every_face_whole_and_a_deep_one_clips(browser, classifier, classifier_page):
    from fastrelu.plot.plane_page import WHOLE_SPAN

    m = classifier
    verts = np.asarray(m.vertices)
    page, errors = open_page(browser, classifier_page)
    try:
        drawn(page)
        # a tenth of the square: the view still holds every face, each its own polygon, unclipped
        tags = zoom(page, -0.3, 0.3, -0.3, 0.3)
        assert js(page, "face_view", "m.data.face.length") == len(m)
        xs = js(page, "face_view", "m.data.xs.map(a => Array.from(a))")
        faces = js(page, "face_view", "Array.from(m.data.face)")
        assert all(np.array_equal(X, verts[m.polygon(f), 0]) for f, X in zip(faces, xs))
        poly = [verts[m.polygon(f)] for f in range(len(m))]
        meets = sum(1 for p in poly if p[:, 0].max() >= -0.3 and p[:, 0].min() <= 0.3 and p[:, 1].max() >= -0.3
                    and p[:, 1].min() <= 0.3)
        assert tags[0] == meets  # the status counts the faces in view
        # narrower than WHOLE_SPAN of the square: only the faces meeting the window, clipped to it
        h = WHOLE_SPAN * 6 / 4  # a window half WHOLE_SPAN of the 6-wide square
        zoom(page, -h, h, -h, h)
        xs = js(page, "face_view", "m.data.xs.map(a => Array.from(a))")
        assert 0 < len(xs) < len(m) and all(np.abs(X).max() <= h for X in xs)
        assert errors == []
    finally:
        page.close()


def test_a_map_of_one_face_is_a_page_too(browser, tmp_path):
    # no boundary crosses the square: one face, four sides, nothing switching anywhere
    net = fastrelu.Network.from_layers([([[1.0, 0.0]], [5.0]), ([[2.0]], None)])
    m = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))
    assert len(m) == 1 and m.n_boundaries == 0
    page, errors = open_page(browser, region_map_html(m, tmp_path / "one.html"))
    try:
        assert drawn(page)[:2] == [1, 0]
        page.mouse.move(*to_screen(page, 0.2, 0.3))
        rows, text = tooltip_rows(page, "negative units")
        assert rows["face"].startswith("#0 of 1") and rows["y ="] == "2*u + 0*v + 10", text
        assert errors == []
    finally:
        page.close()


def test_a_long_narrow_rectangle_keeps_a_readable_frame(browser, tmp_path):
    m = fastrelu.regions(fastrelu.Network.random([2, 8, 8, 1], seed=0), bounds=((-50, 50), (-0.5, 0.5)))
    page, errors = open_page(browser, region_map_html(m, tmp_path / "long.html"))
    try:
        assert drawn(page)[0] == len(m)
        w, h = page.evaluate("() => { const v = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('map'));"
                             " return [v.frame.bbox.width, v.frame.bbox.height]; }")
        assert w == 800 and h == 200
        # the ranges are the rectangle's, not stretched to equal scales beyond it
        assert js(page, "x_range", "[m.start, m.end]") == [-50, 50] and js(page, "y_range", "[m.start, m.end]") == [-0.5, 0.5]
        assert errors == []
    finally:
        page.close()


def test_the_menu_colours_faces_by_their_count_or_gradient(browser, classifier, classifier_page):
    from bokeh.palettes import Greens256, Oranges256

    m = classifier
    counts = np.asarray(m.negative).astype(np.float64)
    grads = np.hypot(m.slope[:, 0, 0], m.slope[:, 0, 1])
    page, errors = open_page(browser, classifier_page)
    try:
        drawn(page)
        f, (u, v) = inner_face(m)
        for what, values, palette in (("negative units", counts, Oranges256), ("gradient |∇y0|", grads, Greens256)):
            light_to_dark = np.array([int(h[1:], 16) for h in palette[::-1]])
            k = np.floor((values - values.min()) / (values.max() - values.min()) * 255 + 0.5).astype(int)
            want = (light_to_dark[k] << 8) | 0xFF  # packed 0xRRGGBBAA, face by face
            js(page, "colour_by", f"m.value = {what!r}")
            page.wait_for_function(f"() => {{ const v = Bokeh.documents[0].get_model_by_name('face_view').data; "
                                   f"return v.color[0] == {int(want[0])} && v.color.length == {len(m)}; }}")
            page.wait_for_timeout(300)
            got = np.array(js(page, "face_view", "Array.from(m.data.color)"))
            order = np.array(js(page, "face_view", "Array.from(m.data.face)"))
            assert np.array_equal(got, want[order]), what
            assert js(page, "colour_bar", "[m.visible, m.color_mapper.low, m.color_mapper.high]") == [
                True, values.min(), values.max()]
            rgb = [(int(want[f]) >> s) & 0xFF for s in (24, 16, 8)]
            assert np.abs(screen_rgb(page, [to_screen(page, u, v)])[0] - rgb).max() <= 2
        js(page, "colour_by", "m.value = 'activation pattern'")
        page.wait_for_function(f"() => Bokeh.documents[0].get_model_by_name('face_view').data.color[0] == "
                               f"{int(face_rgba32(m.pattern_hash)[0])}")
        assert not js(page, "colour_bar", "m.visible")
        assert errors == []
    finally:
        page.close()


def test_a_map_saves_loads_and_pages_itself_through_the_one_entry_points(tmp_path):
    """RegionMap.save/load/to_html and fastrelu.plot.html(m) are the store's and the page's own functions."""
    from fastrelu.plot import html, region_map_html

    m = fastrelu.regions(fastrelu.Network.random([2, 8, 8, 2], seed=4), bounds=((-1, 1), (-2, 1)))
    m.save(tmp_path / "m.npz")
    back = fastrelu.RegionMap.load(tmp_path / "m.npz")
    assert len(back) == len(m) and np.array_equal(back.pattern_hash, m.pattern_hash)
    assert np.array_equal(back.vertices, m.vertices)
    # a page embeds fresh random ids, so the pages are compared with those taken out
    def same(page):
        return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\bp\d{4,}\b", "id", page)

    page = same(region_map_html(m))
    assert same(m.to_html()) == page == same(html(m, width=800))
    assert html(m, tmp_path / "m.html") == tmp_path / "m.html"
    assert same((tmp_path / "m.html").read_text()) == same(html(m))
    with pytest.raises(ValueError, match="along="):
        html(m, along=([0, 0], [1, 1]))


# -- graph networks: edges shaded and tooltips named by node (issues 15 and 16) ---------------------


def _pooled_cnn():
    """A Sequential CNN with a max-pool (torch.fx names its children ``_0``, ``_1``, ...)."""
    from torch import nn

    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 6),
                         nn.ReLU(), nn.Linear(6, 2))


@pytest.fixture(scope="module", params=["pooled_cnn", "maxpool", "residual"])
def graph_map(request, tmp_path_factory):
    """A graph network's map (act and max-pool nodes, or a residual branch) and its page."""
    # imported here, not at the top: that module imports this one
    import torch
    from test_plane_graph import _model, _plane

    if request.param == "pooled_cnn":
        torch.manual_seed(0)
        shape = (1, 4, 4)
        net = fastrelu.Network.from_torch(_pooled_cnn().double().eval(), input_shape=shape)
    else:
        _, shape, net = _model(request.param, seed=1)
    m = fastrelu.regions(net, plane=_plane(shape, 2))
    assert m.network.is_graph and len(m) > 20
    return m, region_map_html(m, tmp_path_factory.mktemp("graph") / f"{request.param}.html")


def _walk_layers(m):
    """The walk's layers as the page must name them: each act and max-pool node of the
    network, in order, with its index in ``net.nodes`` (as ``switching`` gives it)."""
    return [(k, n.name, n.kind) for k, n in enumerate(m.network.nodes) if n.kind in ("act", "maxpool")]


def _expected_grey(m):
    """Each edge's grey, 0-255, by the rule the figure states: the walk's first layer 0.1,
    its last 0.65, evenly between (a graph's layers: its act and max-pool nodes)."""
    L = len(_walk_layers(m))
    layer = np.asarray(m.edge_units)[:, 0]
    return np.where(layer >= 0, np.rint(255 * (0.1 + 0.55 * layer / max(L - 1, 1))), -1)


def test_a_graph_map_s_page_data_shades_and_names_by_node(graph_map):
    m, _ = graph_map
    d = plane_page_data(m)
    layers = _walk_layers(m)
    assert d["layers"]["name"] == [name for _, name, _ in layers]
    assert d["layers"]["argmax"] == [kind == "maxpool" for _, _, kind in layers]
    L = len(layers)
    assert d["layers"]["grey"] == [int(g) for g in np.rint(255 * (0.1 + 0.55 * np.arange(L) / max(L - 1, 1)))]
    assert len(set(d["layers"]["grey"])) == L  # every node its own grey
    # the face counts' names: the act nodes, in the order of negative_by_layer's columns
    assert d["counted"] == [name for _, name, kind in layers if kind == "act"]
    assert len(d["counted"]) == np.asarray(m.negative_by_layer).shape[1] == d["depth"]


def test_a_chain_s_page_keeps_its_layers(classifier):
    d = plane_page_data(classifier)
    assert d["layers"]["name"] == ["0", "1"] and d["layers"]["argmax"] == [False, False]
    assert d["counted"] == [] and d["layers"]["grey"] == [26, 166]


def _figure_greys(m):
    """Each inner edge's grey in the figure (``region_map_figure``), 0-255, read off its
    drawn LineCollection and matched to the map's edges by their end points."""
    from matplotlib.collections import LineCollection

    from fastrelu.plot.region_map import region_map_figure

    fig = region_map_figure(m, pixels=8)
    inner = np.flatnonzero(np.asarray(m.edge_units)[:, 0] >= 0)
    coll = [c for c in fig.axes[0].collections if isinstance(c, LineCollection) and len(c.get_segments()) == len(inner)]
    assert len(coll) == 1
    colors = coll[0].get_colors()
    where = {tuple(np.asarray(s).ravel().tolist()): i for i, s in enumerate(coll[0].get_segments())}
    verts = np.asarray(m.vertices)
    out = np.full(m.n_edges, -1.0)
    for e in inner:
        c = colors[where[tuple(verts[np.asarray(m.edges)[e]].ravel().tolist())]]
        assert c[0] == c[1] == c[2] and c[3] == 1
        out[e] = 255 * c[0]
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out


def _screen_transform(page, m):
    """Page coordinates of plane points ``(N, 2)``: the map's scales are linear."""
    (u0, u1), (v0, v1) = m.bounds
    (x0, y0), (x1, y1) = to_screen(page, u0, v0), to_screen(page, u1, v1)
    return lambda p: np.stack([x0 + (p[..., 0] - u0) / (u1 - u0) * (x1 - x0),
                               y0 + (p[..., 1] - v0) / (v1 - v0) * (y1 - y0)], axis=-1)


def _point_segment_distance(p, a, b):
    """Distance from each point ``p (N, 2)`` to each segment ``a-b (E, 2)``: ``(N, E)``."""
    d = b - a
    L = np.maximum((d * d).sum(axis=1), 1e-300)
    t = np.clip(((p[:, None, :] - a[None]) * d[None]).sum(axis=2) / L, 0, 1)
    return np.hypot(*(p[:, None, :] - a[None] - t[..., None] * d[None]).transpose(2, 0, 1))


def test_a_graph_map_s_edges_are_shaded_by_node_as_in_the_figure(browser, graph_map):
    m, path = graph_map
    want = _expected_grey(m)
    figure = _figure_greys(m)
    inner = np.asarray(m.edge_units)[:, 0] >= 0
    assert np.abs(figure[inner] - want[inner]).max() <= 0.5  # the figure's rule, unrounded
    page, errors = open_page(browser, path)
    try:
        assert drawn(page)[1] == int(np.count_nonzero(inner))
        greys, counts = np.unique(js(page, "edge_view", "Array.from(m.data.grey)"), return_counts=True)
        w, wc = np.unique(want[inner], return_counts=True)
        assert np.array_equal(greys, w) and np.array_equal(counts, wc)
        # on screen: wide lines, nothing over them; the middle of each edge far from every
        # other edge is its node's grey
        for name in ("decision_lines", "plane_points", "point_labels"):
            js(page, name, "m.visible = false")
        js(page, "edge_lines", "m.glyph.line_width = 5")
        page.wait_for_function("() => Bokeh.index.find_one(Bokeh.documents[0].roots()[0]).is_idle")
        page.wait_for_timeout(300)
        screen = _screen_transform(page, m)
        seg = screen(np.asarray(m.vertices)[np.asarray(m.edges)])  # (E, 2, 2)
        mid = seg.mean(axis=1)
        dist = _point_segment_distance(mid, seg[:, 0], seg[:, 1])
        np.fill_diagonal(dist, np.inf)
        alone = np.flatnonzero(inner & (dist.min(axis=1) >= 8))
        layers = np.asarray(m.edge_units)[alone, 0]
        assert set(layers.tolist()) == set(range(len(_walk_layers(m))))  # every node's edges checked
        rgb = screen_rgb(page, mid[alone])
        assert (rgb == rgb[:, :1]).all()
        # the figure's grey to the nearest of 256 levels: the middle of a 5-pixel line is not blended
        assert np.abs(rgb[:, 0] - figure[alone]).max() <= 0.5, (rgb[:, 0], figure[alone])
        assert errors == []
    finally:
        page.close()


def _hover_beside(page, m, e, face, pixels=3):
    """Move the mouse ``pixels`` into ``face`` from the middle of its side ``e``."""
    screen = _screen_transform(page, m)
    a, b = screen(np.asarray(m.vertices)[np.asarray(m.edges)[e]])
    mid = (a + b) / 2
    normal = np.array([b[1] - a[1], a[0] - b[0]]) / np.hypot(*(b - a))
    centre = screen(np.asarray(m.vertices)[m.polygon(face)].mean(axis=0))
    if np.dot(centre - mid, normal) < 0:
        normal = -normal
    page.mouse.move(0, 0)
    page.mouse.move(*(mid + pixels * normal))


def _side_to_hover(m, page, kind):
    """An inner edge on a ``kind`` node's boundary with a face beside it whose other sides are
    all 10 pixels or more from the point 3 pixels inside the face from the edge's middle."""
    screen = _screen_transform(page, m)
    layers = _walk_layers(m)
    verts = screen(np.asarray(m.vertices))
    edges = np.asarray(m.edges)
    where = {tuple(sorted(e)): i for i, e in enumerate(edges.tolist())}
    for e in np.flatnonzero(np.asarray(m.edge_units)[:, 0] >= 0):
        if layers[int(m.edge_units[e, 0])][2] != kind:
            continue
        a, b = verts[edges[e]]
        if np.hypot(*(b - a)) < 30:
            continue
        for face in m.edge_faces[e]:
            poly = m.polygon(face)
            sides = [where[tuple(sorted((int(p), int(q))))] for p, q in zip(poly, np.roll(poly, -1))]
            others = [s for s in sides if s != e]
            centre = verts[poly].mean(axis=0)
            mid = (a + b) / 2
            normal = np.array([b[1] - a[1], a[0] - b[0]]) / np.hypot(*(b - a))
            point = mid + 3 * normal * np.sign(np.dot(centre - mid, normal))
            if _point_segment_distance(point[None], verts[edges[others, 0]], verts[edges[others, 1]]).min() >= 10:
                return int(e), int(face)
    raise AssertionError(f"no {kind} edge to hover")


def _named(m, e):
    """What the tooltip must say switches across edge ``e``: each unit by its node's name,
    a max-pool window as the window whose argmax changes."""
    nodes = m.network.nodes
    return " ".join(f"({nodes[k].name}, argmax of window {u})" if nodes[k].kind == "maxpool"
                    else f"({nodes[k].name}, {u})" for k, u in zip(*m.switching(e)))


def test_a_graph_map_s_tooltip_names_nodes_and_windows(browser, graph_map):
    m, path = graph_map
    layers = _walk_layers(m)
    acts = [name for _, name, kind in layers if kind == "act"]
    page, errors = open_page(browser, path)
    try:
        drawn(page)
        f, (u, v) = inner_face(m)
        page.mouse.move(*to_screen(page, u, v))
        count_row = f"by node ({', '.join(acts)})"
        rows, text = tooltip_rows(page, count_row)
        assert rows["face"].startswith(f"#{f} of {len(m)}"), text
        assert [int(c) for c in rows[count_row].split(",")] == list(m.negative_by_layer[f]), text
        assert int(rows["negative units"]) == m.negative[f] and "by layer" not in rows, text
        for kind in sorted({kind for _, _, kind in layers}):
            e, face = _side_to_hover(m, page, kind)
            _hover_beside(page, m, e, face)
            rows, text = tooltip_rows(page, "edge (node, unit)")
            assert rows["face"].startswith(f"#{face} "), text
            assert rows["edge (node, unit)"] == _named(m, e), text
            node = layers[int(m.edge_units[e, 0])][1]
            if kind == "maxpool":  # the window whose argmax changes, in the node that cut the edge
                assert f"({node}, argmax of window {int(m.edge_units[e, 1])})" in rows["edge (node, unit)"], text
            else:
                assert f"({node}, {int(m.edge_units[e, 1])})" in rows["edge (node, unit)"], text
        assert errors == []
    finally:
        page.close()
