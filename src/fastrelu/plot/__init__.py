"""Figures of sweeps: output (blue), slope (green), negative units (orange).

matplotlib is imported when a figure is drawn, never by ``import fastrelu.plot``;
Bokeh when an interactive page is written (``html``).
"""

from ..utils.plugins import provide
from .figures import (
    COLORS,
    FORMATS,
    check_figure_path,
    column_indices,
    compare_figure,
    save_figure,
    step_indices,
    sweep_figure,
)
from .page import html, repr_html

# what results and networks draw with (res.plot(), res.to_html(), Jupyter): see utils.plugins
provide("figure", sweep_figure)
provide("page", html)
provide("repr_html", repr_html)

__all__ = [
    "COLORS", "FORMATS", "check_figure_path", "column_indices", "compare_figure", "html", "repr_html", "save_figure",
    "step_indices", "sweep_figure",
]
