"""Write the demo page (to a temporary folder: 1.7 MB of inlined BokehJS, not kept) and its
screenshot, docs/fastrelu-page.png.

The page is ``fastrelu.plot.html(Network.random(hidden=100, seed=0))``; the screenshot is
taken in Debian's Chromium, headless, through Playwright (as the tests drive it), with the
hover tooltip shown over one piece and the linear twin switched on.

    python docs/make_page_screenshot.py [--chromium /usr/bin/chromium] [--load-time H]

``--load-time H`` instead writes the page of ``Network.random(hidden=H, seed=0)`` to a
temporary folder and prints its size and how long the browser takes to open and draw it
(from navigation to Bokeh's first idle, best of five).
"""

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

import fastrelu
from fastrelu.plot import html

HERE = os.path.dirname(os.path.abspath(__file__))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = ("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.index.find_one(Bokeh.documents[0].roots()[0]) != null"
        " && Bokeh.index.find_one(Bokeh.documents[0].roots()[0]).is_idle")


def browser(p, chromium, profile):
    return p.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True, args=FLAGS,
                                                viewport={"width": 1040, "height": 900}, device_scale_factor=1)


def screenshot(chromium, page_path, png_path):
    from playwright.sync_api import sync_playwright

    net = fastrelu.Network.random(hidden=100, seed=0)
    r = fastrelu.regions(net, -100, 100)
    profile = tempfile.mkdtemp(prefix="fastrelu-chromium-")
    try:
        with sync_playwright() as p:
            ctx = browser(p, chromium, profile)
            page = ctx.new_page()
            page.goto("file://" + os.path.abspath(page_path))
            page.wait_for_function(IDLE, timeout=60_000)
            page.locator("input[type=checkbox]").first.click()  # the linear twin
            # zoom onto the crowd of kinks around 0, as a reader would
            inner = r.hi[:-1]
            lo, hi = np.quantile(inner, [0.05, 0.95])
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
            bottom = page.evaluate("() => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('negative'))"
                                   ".el.getBoundingClientRect().bottom")
            page.screenshot(path=png_path, clip={"x": 0, "y": 0, "width": 1040, "height": bottom + 8})
            ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def load_time(chromium, hidden, repeats=5):
    from playwright.sync_api import sync_playwright

    folder = tempfile.mkdtemp(prefix="fastrelu-page-")
    profile = tempfile.mkdtemp(prefix="fastrelu-chromium-")
    try:
        net = fastrelu.Network.random(hidden=hidden, seed=0)
        t0 = time.perf_counter()
        path = html(net, os.path.join(folder, "page.html"), seed=0)
        written = time.perf_counter() - t0
        times = []
        with sync_playwright() as p:
            ctx = browser(p, chromium, profile)
            for _ in range(repeats):
                page = ctx.new_page()
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                t0 = time.perf_counter()
                page.goto("file://" + path)
                page.wait_for_function(IDLE, timeout=60_000, polling=10)
                times.append(time.perf_counter() - t0)
                if errors:
                    raise RuntimeError(f"errors on the page: {errors}")
                page.close()
            ctx.close()
        size = os.path.getsize(path)
        pieces = len(fastrelu.regions(net, -100, 100, boundaries=True))
        print(f"H = {hidden:,}: {pieces:,} pieces, page {size / 1e6:.2f} MB, written in {written:.2f} s; "
              f"opened and drawn in {min(times):.2f} s (best of {repeats}; all: {', '.join(f'{t:.2f}' for t in times)})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--load-time", type=int, metavar="H")
    args = ap.parse_args()
    if args.load_time:
        load_time(args.chromium, args.load_time)
        return
    folder = tempfile.mkdtemp(prefix="fastrelu-page-")
    try:
        page_path = html(fastrelu.Network.random(hidden=100, seed=0), os.path.join(folder, "page.html"), seed=0)
        png = os.path.join(HERE, "fastrelu-page.png")
        screenshot(args.chromium, page_path, png)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
