"""Figures of sweeps: output (blue), slope (green), negative units (orange).

matplotlib is imported when a figure is drawn, never by ``import fastrelu.plot``.
"""

from .figures import COLORS, FORMATS, check_figure_path, column_indices, compare_figure, save_figure, step_indices, sweep_figure

__all__ = ["COLORS", "FORMATS", "check_figure_path", "column_indices", "compare_figure", "save_figure", "step_indices", "sweep_figure"]
