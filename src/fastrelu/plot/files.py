"""Figure files: the formats figures save to, and the check of a figure's path before drawing."""

import os

from ..utils.validation import existing_folder

#: File formats ``save_figure`` and the command line accept.
FORMATS = ("png", "svg", "pdf")


def save_figure(fig, path):
    """Save ``fig`` to ``path`` in the format its extension names (png, svg or pdf).

    Raises a one-line ``ValueError`` for another extension or a missing folder,
    before anything is drawn.

    Examples
    --------
    >>> save_figure(fig, "sweep.svg")  # doctest: +SKIP
    """
    check_figure_path(path)
    fig.savefig(path)
    return path


def check_figure_path(path):
    """Raise ``ValueError`` unless ``path`` ends in .png, .svg or .pdf and its folder exists.

    Examples
    --------
    >>> check_figure_path("figure.txt")
    Traceback (most recent call last):
    ...
    ValueError: 'figure.txt': the figure's file name must end in .png, .svg or .pdf
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise ValueError(f"{path!r}: the figure's file name must end in .png, .svg or .pdf")
    return existing_folder(path)
