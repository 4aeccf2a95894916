"""Write the interactive pages' screenshots: docs/fastrelu-page.png and docs/fastrelu-map-page.png.

Each page is written to a temporary folder (megabytes of inlined BokehJS, not kept) and
shot in Debian's Chromium, headless, through Playwright, as the tests drive it:

- ``line``: ``fastrelu.plot.html(Network.random(hidden=100, seed=0))``, zoomed onto the
  crowd of kinks, the linear twin switched on, the hover tooltip over one piece;
- ``map``: ``fastrelu.plot.region_map_html(m)`` of a 784→64×3→10 network on the plane
  through three random inputs (``fastrelu map --widths 784,64,64,64,10 --plane random
  --seed 1``), with the tooltip of the largest face the decision boundary crosses.

    python docs/make_screenshots.py {line,map} [--chromium /usr/bin/chromium] [--load-time N]

``--load-time N`` instead writes a bigger page and prints its size and how long the
browser takes to open and draw it (best of five): for ``line`` the page of
``Network.random(hidden=N, seed=0)`` (until Bokeh's first idle), for ``map`` that of the
map of ``Network.random([2, N, N, N, N, 1], seed=0)`` on [-1, 1]² (until every face is
drawn).
"""

import argparse
import contextlib
import os
import shutil
import tempfile
import time

import numpy as np

import fastrelu
from fastrelu.model.slices import random_plane
from fastrelu.plot import html, region_map_html

HERE = os.path.dirname(os.path.abspath(__file__))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# the line page is ready at Bokeh's first idle; the map page once its status says every
# face of the current view is drawn
IDLE = ("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.index.find_one(Bokeh.documents[0].roots()[0]) != null"
        " && Bokeh.index.find_one(Bokeh.documents[0].roots()[0]).is_idle")
DRAWN = ("() => window.Bokeh && Bokeh.documents.length > 0 && (() => { const d = Bokeh.documents[0], "
         "s = d.get_model_by_name('status'), x = d.get_model_by_name('x_range'), y = d.get_model_by_name('y_range'); "
         "return s.tags.length == 6 && s.tags[2] == x.start && s.tags[3] == x.end && s.tags[4] == y.start "
         "&& s.tags[5] == y.end && Bokeh.index.find_one(d.roots()[0]).is_idle; })()")


@contextlib.contextmanager
def browser(chromium, width, height):
    """A headless Chromium with a fresh profile, removed afterwards."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="fastrelu-chromium-")
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True, args=FLAGS,
                                                       viewport={"width": width, "height": height},
                                                       device_scale_factor=1)
            yield ctx
            ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _bottom(page, name):
    return page.evaluate(f"() => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('{name}'))"
                         ".el.getBoundingClientRect().bottom")


def line_page(folder, hidden=100):
    return html(fastrelu.Network.random(hidden=hidden, seed=0), os.path.join(folder, "page.html"), seed=0)


def line_shot(page, width):
    r = fastrelu.regions(fastrelu.Network.random(hidden=100, seed=0), -100, 100)
    page.wait_for_function(IDLE, timeout=60_000)
    page.locator("input[type=checkbox]").first.click()  # the linear twin
    # zoom onto the crowd of kinks around 0, as a reader would
    lo, hi = np.quantile(r.hi[:-1], [0.05, 0.95])
    pad = 0.1 * (hi - lo)
    page.evaluate(f"() => {{ const r = Bokeh.documents[0].get_model_by_name('x_range'); "
                  f"r.start = {float(lo - pad)!r}; r.end = {float(hi + pad)!r}; }}")
    page.wait_for_function(IDLE)
    page.wait_for_timeout(300)
    # hover the slope near the right, where the tooltip covers only flat steps
    box = page.evaluate("""() => {
        const v = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('slope'));
        const r = v.el.getBoundingClientRect(), f = v.frame.bbox;
        return [r.left + f.left, r.top + f.top, f.width, f.height];
    }""")
    page.mouse.move(box[0] + 0.93 * box[2], box[1] + 0.75 * box[3])
    page.wait_for_timeout(400)
    return {"x": 0, "y": 0, "width": width, "height": _bottom(page, "negative") + 8}


def map_of_plane():
    net = fastrelu.Network.random([784, 64, 64, 64, 10], seed=1)
    return fastrelu.regions(net, plane=random_plane(784, seed=1))


def map_shot(page, width, m):
    page.wait_for_function(DRAWN, timeout=120_000)
    # hover the largest face the decision boundary crosses
    crossed = np.unique(np.asarray(m.decision_boundary().face))
    f = int(crossed[np.argmax(np.asarray(m.area)[crossed])])
    g = np.asarray(m.vertices)[m.polygon(f)].mean(axis=0)
    xy = page.evaluate(f"""() => {{
        const w = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('map'));
        const r = w.el.getBoundingClientRect();
        return [r.left + w.frame.x_scale.compute({float(g[0])!r}), r.top + w.frame.y_scale.compute({float(g[1])!r})];
    }}""")
    page.mouse.move(*xy)
    page.wait_for_timeout(500)
    return {"x": 0, "y": 0, "width": width, "height": _bottom(page, "status") + 8}


def screenshot(which, chromium):
    width, height = (1040, 900) if which == "line" else (900, 1100)
    folder = tempfile.mkdtemp(prefix="fastrelu-page-")
    try:
        if which == "line":
            path, shot, png = line_page(folder), line_shot, "fastrelu-page.png"
        else:
            m = map_of_plane()
            path = region_map_html(m, os.path.join(folder, "map.html"), outputs=[4, 8])
            shot, png = (lambda page, width: map_shot(page, width, m)), "fastrelu-map-page.png"
        with browser(chromium, width, height) as ctx:
            page = ctx.new_page()
            page.goto("file://" + os.path.abspath(path))
            page.screenshot(path=os.path.join(HERE, png), clip=shot(page, width))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"wrote {os.path.join(HERE, png)}")


def load_time(which, chromium, n, repeats=5):
    folder = tempfile.mkdtemp(prefix="fastrelu-page-")
    try:
        t0 = time.perf_counter()
        if which == "line":
            net = fastrelu.Network.random(hidden=n, seed=0)
            path, ready, drawn = line_page(folder, n), IDLE, None
            what = f"H = {n:,}: {len(fastrelu.regions(net, -100, 100, boundaries=True)):,} pieces"
        else:
            m = fastrelu.regions(fastrelu.Network.random([2, n, n, n, n, 1], seed=0), bounds=((-1, 1), (-1, 1)))
            t0 = time.perf_counter()
            path, ready, drawn = region_map_html(m, os.path.join(folder, "map.html")), DRAWN, len(m)
            what = f"2→[{n}]×4→1 on [-1, 1]²: {len(m):,} faces, {m.n_edges:,} edges"
        written = time.perf_counter() - t0
        times = []
        with browser(chromium, 1040, 1100) as ctx:
            for _ in range(repeats):
                page = ctx.new_page()
                errors = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                t0 = time.perf_counter()
                page.goto("file://" + path)
                page.wait_for_function(ready, timeout=120_000, polling=10)
                times.append(time.perf_counter() - t0)
                faces = drawn and page.evaluate("() => Bokeh.documents[0].get_model_by_name('status').tags[0]")
                if errors or faces != drawn:
                    raise RuntimeError(f"errors on the page: {errors}; {faces} of {drawn} faces drawn")
                page.close()
        print(f"{what}; page {os.path.getsize(path) / 1e6:.1f} MB, written in {written:.2f} s; opened and drawn in "
              f"{min(times):.2f} s (best of {repeats}; all: {', '.join(f'{t:.2f}' for t in times)})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page", choices=["line", "map"])
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--load-time", type=int, metavar="N")
    args = ap.parse_args()
    if args.load_time:
        load_time(args.page, args.chromium, args.load_time)
    else:
        screenshot(args.page, args.chromium)


if __name__ == "__main__":
    main()
