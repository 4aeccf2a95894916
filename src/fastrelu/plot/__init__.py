"""Figures of sweeps: output (blue), slope (green), negative units (orange).

matplotlib is imported when a figure is drawn, never by ``import fastrelu.plot``;
Bokeh when an interactive page is written (``html``).

Where things are:

- ``figures``: the public figures, ``sweep_figure`` and ``compare_figure``;
- ``panels``: drawing the output, slope and negative panels into matplotlib axes;
- ``marks``: kink markers and the zoom inset; ``style``: colours, shades, legends;
- ``reduce``: the per-pixel reduction, shared by the figures and the page, and the
  chunk-by-chunk reduction of a stored sweep;
- ``outputs``: which outputs of a network are drawn;
- ``files``: figure formats, the path check and saving;
- ``region_map``: the figure of a plane's region map (``region_map_figure``), and of a
  plane's sweep (``plane_sweep_figure``), whose images the map's figure shares;
- ``lines``: figures of many lines (``lines_figure``) and of their density over training
  (``training_figure``);
- ``plane_page``: the interactive page of a region map (``region_map_html``), with its
  JavaScript in ``static/plane_*.js``;
- ``page``: the interactive page (Bokeh), of what ``page_data`` works out (exact
  pieces or a reduced grid), with its JavaScript in ``static/*.js``.

Titles name the network through ``fastrelu.model.describe``.
"""

from ..utils.plugins import provide
from .figures import compare_figure, sweep_figure
from .files import FORMATS, check_figure_path, save_figure
from .lines import lines_figure, training_figure
from .page import html, repr_html
from .plane_page import region_map_html
from .reduce import column_indices, step_indices
from .region_map import plane_sweep_figure, region_map_figure
from .style import COLORS

# what results and networks draw with (res.plot(), res.to_html(), Jupyter): see utils.plugins
provide("figure", sweep_figure)
provide("page", html)
provide("repr_html", repr_html)
provide("region_map_figure", region_map_figure)
provide("training_figure", training_figure)
provide("region_map_page", region_map_html)

__all__ = [
    "COLORS", "FORMATS", "check_figure_path", "column_indices", "compare_figure", "html", "plane_sweep_figure", "region_map_figure", "region_map_html", "repr_html",
    "save_figure", "step_indices", "sweep_figure",
    "lines_figure", "training_figure",
]
