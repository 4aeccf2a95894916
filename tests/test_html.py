"""The interactive page (``fastrelu.plot.html``) in a real browser: Debian's Chromium,
headless, driven by Playwright.

Playwright drives the system browser (``executable_path=/usr/bin/chromium``); it never
downloads one.  A missing browser, Playwright or Bokeh is a test *failure*, never a
skip: CI installs them (apt ``chromium``, pip ``playwright`` and ``bokeh``).
"""

import io
import os
import re

import numpy as np
import pytest
from matplotlib.colors import to_hex

import fastrelu
from fastrelu.plot.page import html, repr_html

PANELS = {"output": (0x1F, 0x77, 0xB4), "slope": (0x2C, 0xA0, 0x2C), "negative": (0xFF, 0x7F, 0x0E)}


def open_page(ctx, path):
    """Open ``path``, wait until Bokeh has drawn it; return the page and its list of errors."""
    page = ctx.new_page()
    errors = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.goto("file://" + os.path.abspath(path))
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.index.find_one("
                           "Bokeh.documents[0].roots()[0]) != null && Bokeh.index.find_one("
                           "Bokeh.documents[0].roots()[0]).is_idle", timeout=60_000)
    return page, errors


def model(page, name, expr):
    """Evaluate ``expr`` (JavaScript, ``m`` is the model named ``name``) in the page."""
    return page.evaluate(f"() => {{ const m = Bokeh.documents[0].get_model_by_name({name!r}); return {expr}; }}")


def zoom(page, lo, hi):
    """Set the shared x range from JavaScript, as a wheel zoom would, and wait for the redraw."""
    page.evaluate(f"() => {{ const r = Bokeh.documents[0].get_model_by_name('x_range'); r.start = {float(lo)!r}; r.end = {float(hi)!r}; }}")
    page.wait_for_function("() => Bokeh.index.find_one(Bokeh.documents[0].roots()[0]).is_idle")
    page.wait_for_timeout(200)


def panel_box(page, name):
    """The page coordinates of panel ``name``'s plotting frame: left, top, width, height."""
    return page.evaluate(f"""() => {{
        const v = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name({name!r}));
        const r = v.el.getBoundingClientRect(), f = v.frame.bbox;
        return [r.left + f.left, r.top + f.top, f.width, f.height];
    }}""")


def to_screen(page, name, x, y):
    """Page coordinates of the data point (x, y) in panel ``name``."""
    return page.evaluate(f"""() => {{
        const v = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name({name!r}));
        const r = v.el.getBoundingClientRect();
        return [r.left + v.frame.x_scale.compute({float(x)!r}), r.top + v.frame.y_scale.compute({float(y)!r})];
    }}""")


def colour_pixels(page, name, rgb, tol=40):
    """How many pixels of panel ``name``'s frame are within ``tol`` of the colour ``rgb``."""
    from PIL import Image

    left, top, width, height = panel_box(page, name)
    png = page.screenshot(clip={"x": left, "y": top, "width": width, "height": height})
    px = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(px - np.array(rgb)).max(axis=2) <= tol).sum())


_TOOLTIPS_JS = """() => [...document.querySelectorAll('*')].flatMap(e => e.shadowRoot ? [e, ...e.shadowRoot.querySelectorAll('*')] : [])
    .filter(e => e.classList && e.classList.contains('bk-Tooltip') && e.shadowRoot && e.checkVisibility())
    .map(t => Object.fromEntries([...t.shadowRoot.querySelectorAll('.bk-tooltip-row-label')]
        .map(l => [l.textContent.replace(/:\\s*$/, '').trim(), l.nextElementSibling.textContent.trim()])))
    .filter(rows => Object.keys(rows).length > 0)"""


def tooltip_rows(page, key):
    """The rows ({label: value text}) of the visible Bokeh tooltip that has the row ``key``
    (tooltips live in shadow roots, nested in the plots' own)."""
    page.wait_for_function(f"() => ({_TOOLTIPS_JS})().some(rows => {key!r} in rows)", timeout=10_000)
    rows = next(r for r in page.evaluate(_TOOLTIPS_JS) if key in r)
    return rows, str(rows)


@pytest.fixture(scope="module")
def net():
    return fastrelu.Network.random(hidden=100, seed=0)


@pytest.fixture(scope="module")
def page_path(net, tmp_path_factory):
    return html(net, tmp_path_factory.mktemp("page") / "net.html", seed=0)


@pytest.fixture(scope="module")
def deep_path(tmp_path_factory):
    deep = fastrelu.Network.random([2, 32, 32, 3], seed=0)
    return html(deep, tmp_path_factory.mktemp("deep") / "deep.html", along=([-1, -1], [1, 1]), seed=0)


# -- the file ----------------------------------------------------------------------------------


def test_page_is_self_contained(net, tmp_path):
    text = html(net)
    assert text.startswith("<!DOCTYPE html>")
    # every script inline: no script or style fetched from anywhere
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=", text)
    assert "cdn.bokeh.org" not in text
    path = tmp_path / "page.html"
    assert html(net, path) == path
    assert path.read_text(encoding="utf-8") .startswith("<!DOCTYPE html>")
    frame = repr_html(net)
    assert frame.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in frame


def test_bad_arguments(net, tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        html(net, tmp_path / "missing" / "page.html")
    with pytest.raises(ValueError, match="start < stop"):
        html(net, start=1.0, stop=1.0)
    with pytest.raises(TypeError, match="draws a Network"):
        html(np.zeros(3))


# -- in the browser ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["page_path", "deep_path"])
def test_page_loads_and_every_panel_draws(browser, which, request):
    page, errors = open_page(browser, request.getfixturevalue(which))
    try:
        assert errors == []
        for name, rgb in PANELS.items():
            assert colour_pixels(page, name, rgb) > 200, f"panel {name} drew nothing in its colour"
    finally:
        page.close()


def test_zoom_to_a_millionth_keeps_the_exact_kink(browser, net, page_path):
    kinks = fastrelu.kinks(net, -100, 100)
    page, errors = open_page(browser, page_path)
    try:
        for k in (kinks[len(kinks) // 2], kinks[0], kinks[-1]):
            lo, hi = k - 5e-7, k + 5e-7
            zoom(page, lo, hi)
            assert model(page, "x_range", "[m.start, m.end]") == [lo, hi]
            xs = np.array(model(page, "view", "Array.from(m.data.x)"))
            inside = xs[(xs >= lo) & (xs <= hi)]
            expected = kinks[(kinks >= lo) & (kinks <= hi)]
            assert k in inside  # the vertex itself, at exactly the float64 of fastrelu.kinks
            assert np.array_equal(inside, expected)
            # the marker is drawn at the kink, and the output still draws in the window
            assert k in model(page, "marks", "Array.from(m.data.x)")
            assert colour_pixels(page, "output", PANELS["output"]) > 100
            y0, y1 = model(page, "y_output", "[m.start, m.end]")
            assert np.isfinite([y0, y1]).all() and 0 < y1 - y0 < 1e-3  # the y axis follows the window
        assert errors == []
    finally:
        page.close()


def test_hover_shows_the_piece_values(browser, net, page_path):
    r = fastrelu.regions(net, -100, 100)
    widths = r.hi - r.lo
    widths[[0, -1]] = 0  # an inner piece
    i = int(np.argmax(widths))
    page, errors = open_page(browser, page_path)
    try:
        w = r.hi[i] - r.lo[i]
        zoom(page, r.lo[i] - 0.1 * w, r.hi[i] + 0.1 * w)
        left, top, width, height = panel_box(page, "slope")
        page.mouse.move(left + width / 2, top + height / 2)
        rows, text = tooltip_rows(page, "slope")
        assert float(rows["slope"]) == r.slope[i], text
        assert int(rows["negative units"]) == r.negative[i], text
        lo_text, hi_text = rows["piece"].split(": ")[1].split(" to ")
        assert (float(lo_text), float(hi_text)) == (r.lo[i], r.hi[i]), text
        x = float(rows["x"])
        assert r.lo[i] < x < r.hi[i]
        y = r.slope[i] * x + r.intercept[i]
        assert float(rows["y"]) == pytest.approx(y, rel=1e-12, abs=1e-12), text
        assert float(rows["y"]) == pytest.approx(float(net(x)), rel=1e-9, abs=1e-12)

        # a kink marker names the unit(s) switching there, as regions().switching does
        k = r.hi[i]
        zoom(page, k - 1e-6, k + 1e-6)
        yk = r.slope[i] * k + r.intercept[i]
        page.mouse.move(0, 0)
        page.mouse.move(*to_screen(page, "output", k, yk))
        rows, text = tooltip_rows(page, "switching (layer, unit)")
        layer, unit = r.switching(i)
        want = " ".join(f"({int(a)}, {int(b)})" for a, b in zip(layer, unit))
        assert want in text and str(k) in text, text
        assert str(r.slope[i]) in text and str(r.slope[i + 1]) in text, text
        assert errors == []
    finally:
        page.close()


def test_deep_hover_shows_every_output_and_layer(browser, deep_path):
    deep = fastrelu.Network.random([2, 32, 32, 3], seed=0)
    r = fastrelu.regions(deep, 0, 1, along=([-1, -1], [1, 1]), boundaries=True)
    i = int(np.argmax(r.hi - r.lo))
    page, errors = open_page(browser, deep_path)
    try:
        w = r.hi[i] - r.lo[i]
        zoom(page, r.lo[i] + 0.2 * w, r.hi[i] - 0.2 * w)
        left, top, width, height = panel_box(page, "negative")
        page.mouse.move(left + width / 2, top + height / 2)
        rows, text = tooltip_rows(page, "by layer")
        for j in range(3):
            assert float(rows[f"slope (output {j})"]) == r.slope[i, j], text
        assert int(rows["negative units"]) == r.negative[i]
        assert [int(v) for v in rows["by layer"].split(",")] == list(r.negative_by_layer[i]), text
        assert float(rows["t"]) > r.lo[i]
        assert errors == []
    finally:
        page.close()


@pytest.mark.parametrize("which", ["page_path", "deep_path"])
def test_twin_toggle_shows_a_straight_line(browser, which, request):
    page, errors = open_page(browser, request.getfixturevalue(which))
    try:
        assert model(page, "twin_output_0", "m.visible") is False
        # the twin of one output is grey; of several, each dashed in its output's colour (output 0's here)
        grey = (0x7F, 0x7F, 0x7F) if which == "page_path" else (0x1F, 0x77, 0xB4)
        before = colour_pixels(page, "output", grey, tol=12)
        page.locator("input[type=checkbox]").first.click()
        page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('twin_output_0').visible")
        page.wait_for_timeout(300)
        assert colour_pixels(page, "output", grey, tol=12) > before + 100
        n_out = 3 if which == "deep_path" else 1
        for k in range(n_out):
            col = "twin_y" if n_out == 1 else f"twin_y_{k}"
            assert model(page, f"twin_output_{k}", "m.visible") is True
            x = np.array(model(page, "view", "Array.from(m.data.x)"))
            y = np.array(model(page, "view", f"Array.from(m.data[{col!r}])"))
            assert x.shape[0] > 10
            line = y[0] + (y[-1] - y[0]) * (x - x[0]) / (x[-1] - x[0])
            assert np.abs(y - line).max() <= 1e-12 * max(1.0, np.abs(y).max())
        # and off again
        page.locator("input[type=checkbox]").first.click()
        page.wait_for_function("() => !Bokeh.documents[0].get_model_by_name('twin_output_0').visible")
        assert errors == []
    finally:
        page.close()


def test_sweep_result_and_store(browser, net, tmp_path):
    res = fastrelu.sweep(net, -10, 10, 0.01)
    path = html(res, tmp_path / "res.html")
    text = path.read_text(encoding="utf-8")
    assert "Exact:" in text and "of x from -10 to 10" in text
    store = fastrelu.sweep(net, -10, 10, 0.001, out=str(tmp_path / "res.zarr"))
    spath = html(store, tmp_path / "store.html")
    assert "Sampled: 20,001 grid points" in spath.read_text(encoding="utf-8")
    for p in (path, spath):
        page, errors = open_page(browser, p)
        try:
            assert errors == []
            for name, rgb in PANELS.items():
                assert colour_pixels(page, name, rgb) > 200, f"{p.name}: panel {name} drew nothing"
        finally:
            page.close()


# -- issue 18, point 9: the page's colours are the figure's ------------------------------------

def test_ten_outputs_on_the_page_are_coloured_as_in_the_figure_with_kinks_on_each(browser, tmp_path):
    from fastrelu.plot.style import OUTPUT_COLORS, layer_colors

    deep = fastrelu.Network.random([2, 12, 12, 12, 10], seed=2)
    line = ([-1, -1], [1, 1])
    path = html(deep, tmp_path / "ten.html", along=line, twin=True)
    # the figure's colours, output by output and layer by layer
    fig = fastrelu.plot.sweep_figure(fastrelu.sweep(deep, along=line, num=2001))
    figure_colours = [to_hex(ln.get_color()) for k in range(10) for ln in fig.axes[0].lines if ln.get_gid() == f"output {k}"]
    figure_layers = [to_hex(c.get_facecolor()[0]) for k in range(3) for c in fig.axes[2].collections
                     if c.get_gid() == f"layer {k + 1}"]
    assert figure_colours == list(OUTPUT_COLORS) and figure_layers == layer_colors(3)
    page, errors = open_page(browser, path)
    try:
        for k in range(10):
            assert model(page, f"output_{k}", "m.glyph.line_color.value") == OUTPUT_COLORS[k]
            assert model(page, f"slope_{k}", "m.glyph.line_color.value") == OUTPUT_COLORS[k]
            assert model(page, f"twin_output_{k}", "m.glyph.line_color.value") == OUTPUT_COLORS[k]  # not one grey for all
        fills = [model(page, f"layer_{k + 1}", "m.glyph.fill_color.value") for k in range(3)]
        assert fills == figure_layers
        for c in fills:  # light oranges: no dark brown for the last layer
            r, g, b = (int(c[i:i + 2], 16) for i in (1, 3, 5))
            assert r > g > b and r + g + b > 450, c
        # a kink marker on every output drawn, at the output's value there
        x = np.array(model(page, "marks", "Array.from(m.data.x)"))
        exact = fastrelu.kinks(deep, 0, 1, along=line)
        assert x.size == exact.size > 0 and np.isin(x, exact).all()
        x0, x1 = np.array(line, float)
        y = deep(x0 + x[:, None] * (x1 - x0))
        for k in range(10):
            name = f"kink_marks_{k}"
            assert model(page, name, "m.glyph.y.field") == f"y_{k}"
            assert model(page, name, "m.glyph.line_color.value") == OUTPUT_COLORS[k]
            marks_y = np.array(model(page, "marks", f"Array.from(m.data['y_{k}'])"))
            np.testing.assert_allclose(marks_y, y[:, k], rtol=1e-9, atol=1e-9 * np.abs(y).max())
        assert errors == []
    finally:
        page.close()


def test_legends_of_ten_outputs_sit_beside_the_panels_not_over_the_curves(browser, tmp_path):
    deep = fastrelu.Network.random([2, 12, 12, 12, 10], seed=2)
    path = html(deep, tmp_path / "ten.html", along=([-1, -1], [1, 1]), twin=True)
    page, errors = open_page(browser, path)
    try:
        boxes = page.evaluate("""() => ['output', 'slope', 'negative'].map(name => {
            const f = Bokeh.documents[0].get_model_by_name(name), v = Bokeh.index.find_one(f);
            const legends = [...f.center, ...f.left, ...f.right, ...f.above, ...f.below].filter(r => r.items !== undefined);
            const fr = v.frame.bbox;
            return [[fr.left, fr.top, fr.right, fr.bottom],
                    legends.map(l => { const b = Bokeh.index.find_one(l).bbox; return [b.left, b.top, b.right, b.bottom]; }),
                    legends.map(l => l.items.length)];
        })""")
        frames = [frame for frame, _, _ in boxes]
        assert all(frame[0] == frames[0][0] and frame[2] == frames[0][2] for frame in frames), frames  # x axes aligned
        for (left, top, right, bottom), legends, items in boxes:
            assert len(legends) == 1 and items[0] >= 4, (legends, items)
            l_left, l_top, l_right, l_bottom = legends[0]
            assert l_left >= right, (legends[0], right)  # wholly right of the plotting frame
            assert l_bottom - l_top <= bottom - top + 6, (legends[0], top, bottom)  # not cut off below the panel
        assert boxes[0][2][0] == 12  # ten outputs, the linear twin and the kinks
        assert errors == []
    finally:
        page.close()
