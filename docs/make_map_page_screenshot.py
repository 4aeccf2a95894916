"""Write the region map's demo page (to a temporary folder, not kept) and its screenshot,
docs/fastrelu-map-page.png.

The page is ``fastrelu.plot.region_map_html(m)`` of the map of a 784→64×3→10 network on
the plane through three random inputs (``fastrelu map --widths 784,64,64,64,10 --plane
random --seed 1``); the screenshot is taken in Debian's Chromium, headless, through
Playwright (as the tests drive it), with the tooltip of the largest face the decision
boundary crosses (the two outputs that tie there: 4 and 8).

    python docs/make_map_page_screenshot.py [--chromium /usr/bin/chromium] [--load-time W]

``--load-time W`` instead writes the page of the map of ``Network.random([2, W, W, W, W,
1], seed=0)`` on [-1, 1]² to a temporary folder and prints its size, how long it took to
write, and how long the browser takes to open and draw it (from navigation until every
face is drawn, best of five).
"""

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

import fastrelu
from fastrelu.model.slices import random_plane
from fastrelu.plot import region_map_html

HERE = os.path.dirname(os.path.abspath(__file__))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DRAWN = ("() => window.Bokeh && Bokeh.documents.length > 0 && (() => { const d = Bokeh.documents[0], "
         "s = d.get_model_by_name('status'), x = d.get_model_by_name('x_range'), y = d.get_model_by_name('y_range'); "
         "return s.tags.length == 6 && s.tags[2] == x.start && s.tags[3] == x.end && s.tags[4] == y.start "
         "&& s.tags[5] == y.end && Bokeh.index.find_one(d.roots()[0]).is_idle; })()")


def browser(p, chromium, profile):
    return p.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True, args=FLAGS,
                                                viewport={"width": 900, "height": 1100}, device_scale_factor=1)


def screenshot(chromium, m, page_path, png_path):
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="fastrelu-chromium-")
    try:
        with sync_playwright() as p:
            ctx = browser(p, chromium, profile)
            page = ctx.new_page()
            page.goto("file://" + os.path.abspath(page_path))
            page.wait_for_function(DRAWN, timeout=120_000)
            # hover the largest face the decision boundary crosses
            d = m.decision_boundary()
            crossed = np.unique(np.asarray(d.face))
            f = int(crossed[np.argmax(np.asarray(m.area)[crossed])])
            g = np.asarray(m.vertices)[m.polygon(f)].mean(axis=0)
            xy = page.evaluate(f"""() => {{
                const w = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('map'));
                const r = w.el.getBoundingClientRect();
                return [r.left + w.frame.x_scale.compute({float(g[0])!r}), r.top + w.frame.y_scale.compute({float(g[1])!r})];
            }}""")
            page.mouse.move(*xy)
            page.wait_for_timeout(500)
            bottom = page.evaluate("() => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('status'))"
                                   ".el.getBoundingClientRect().bottom")
            page.screenshot(path=png_path, clip={"x": 0, "y": 0, "width": 900, "height": bottom + 8})
            ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def load_time(chromium, width, repeats=5):
    from playwright.sync_api import sync_playwright

    folder = tempfile.mkdtemp(prefix="fastrelu-page-")
    profile = tempfile.mkdtemp(prefix="fastrelu-chromium-")
    try:
        net = fastrelu.Network.random([2, width, width, width, width, 1], seed=0)
        m = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))
        t0 = time.perf_counter()
        path = region_map_html(m, os.path.join(folder, "map.html"))
        written = time.perf_counter() - t0
        times = []
        with sync_playwright() as p:
            ctx = browser(p, chromium, profile)
            for _ in range(repeats):
                page = ctx.new_page()
                errors = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                t0 = time.perf_counter()
                page.goto("file://" + path)
                page.wait_for_function(DRAWN, timeout=120_000, polling=10)
                times.append(time.perf_counter() - t0)
                drawn = page.evaluate("() => Bokeh.documents[0].get_model_by_name('status').tags[0]")
                if errors or drawn != len(m):
                    raise RuntimeError(f"errors on the page: {errors}; {drawn} of {len(m)} faces drawn")
                page.close()
            ctx.close()
        size = os.path.getsize(path)
        print(f"2→[{width}]×4→1 on [-1, 1]²: {len(m):,} faces, {m.n_edges:,} edges; page {size / 1e6:.1f} MB, "
              f"written in {written:.2f} s; opened and every face drawn in {min(times):.2f} s "
              f"(best of {repeats}; all: {', '.join(f'{t:.2f}' for t in times)})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--load-time", type=int, metavar="W")
    args = ap.parse_args()
    if args.load_time:
        load_time(args.chromium, args.load_time)
        return
    net = fastrelu.Network.random([784, 64, 64, 64, 10], seed=1)
    m = fastrelu.regions(net, plane=random_plane(784, seed=1))
    folder = tempfile.mkdtemp(prefix="fastrelu-page-")
    try:
        page_path = region_map_html(m, os.path.join(folder, "map.html"), outputs=[4, 8])
        png = os.path.join(HERE, "fastrelu-map-page.png")
        screenshot(args.chromium, m, page_path, png)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
