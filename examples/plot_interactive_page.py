"""
The interactive page
====================

``fastrelu.plot.html(net, "net.html")`` writes one self-contained HTML page (BokehJS
inlined: it opens offline, no server) with the output, the slope and the negative
count on one shared axis.  It is drawn from the exact linear pieces, so zooming in by
10^6 or more still shows every kink where it is; hovering gives each piece's values and,
over a kink, the units that switch there.  Bokeh comes with ``pip install ".[html]"``.
"""

import os
import tempfile

import fastrelu
import fastrelu.plot

net = fastrelu.Network.random(hidden=100, seed=0)
folder = tempfile.mkdtemp()
path = fastrelu.plot.html(net, os.path.join(folder, "net.html"), seed=0)
print(f"wrote {os.path.basename(path)}: {os.path.getsize(path) / 1e6:.1f} MB, one file")

# %%
# The same network's static figure, for comparison:

fig = fastrelu.sweep(net).plot(seed=0, kinks=True)

# %%
# The page itself, live: in Jupyter a network or a result displays as this page, and
# so it does here (pan with the mouse, zoom with the wheel or the box tool, hover a
# curve; the check box shows the linear twin).  The gallery's thumbnail is a screenshot
# of it taken in headless Chromium (``docs/make_screenshots.py``).

# sphinx_gallery_capture_repr_block = ('_repr_html_',)
net

# sphinx_gallery_thumbnail_path = 'fastrelu-page.png'
