"""The figure, page and result files: checked before any computation (a file that exists
is replaced only with ``--force``, but for the commands' default figures), then written."""

import os
import sys
import time
from importlib.util import find_spec

import numpy as np

from ..plot import check_figure_path
from ..plot.outputs import shown_outputs
from ..utils.validation import existing_folder
from .errors import CommandError
from .report import size_text

DEMO_FIGURE = "fastrelu-sweep.png"
COMPARE_FIGURE = "fastrelu-compare.png"
MAP_FIGURE = "fastrelu-map.png"


def check_figure_options(args, plot):
    """Refuse a bad figure option before any computation, in one line naming the option:
    the figure is drawn after the sweep, which may have taken minutes (or written a store)."""
    if args.zoom is not None:
        lo, hi = args.zoom
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise CommandError(f"--zoom LO HI needs finite numbers with LO < HI, got {lo:g} {hi:g}")
    if not (np.isfinite(args.dpi) and args.dpi > 0):
        raise CommandError(f"--dpi must be a number > 0, got {args.dpi:g}")
    for option, path, check in (("--plot", plot, check_figure_path), ("--html", args.html, existing_folder)):
        if path:
            try:
                check(path)
            except ValueError as exc:
                raise CommandError(f"{option}: {exc}") from None
            check_new_file(args, option, path)
    if args.html and find_spec("bokeh") is None:
        raise CommandError("--html needs bokeh: pip install 'fastrelu[html]'")


#: The figures the commands draw when no --plot names one: each command's own file, drawn
#: again by running it again (the demo, run twice, must not stop on its own figure), so
#: replaced with a line on stderr instead of refused.
DEFAULT_FIGURES = (DEMO_FIGURE, COMPARE_FIGURE, MAP_FIGURE)


def check_new_file(args, option, path):
    """Refuse to replace an existing file unless ``--force``: a figure, page or result is
    never overwritten without being asked (another command may have written it).  A
    command's default figure (``DEFAULT_FIGURES``) is replaced, and the command says so."""
    if not (path and os.path.isfile(path)) or getattr(args, "force", False):
        return
    if option == "--plot" and os.path.normpath(path) in DEFAULT_FIGURES:
        print(f"replacing {path}, this command's default figure (--plot names another)", file=sys.stderr)
        return
    raise CommandError(f"{option}: {path} exists; --force replaces it (or name another file)")


def check_outputs(args, net):
    """A bad --outputs fails before the sweep, not after it."""
    if args.outputs is not None:
        shown_outputs(net, args.outputs)


def zoom(args):
    """``zoom=`` of the figure: None, ``(lo, hi)`` or ``"auto"``."""
    if args.no_zoom:
        return None
    return tuple(args.zoom) if args.zoom is not None else "auto"


def save(fig, path, dpi):
    """Write the figure and say where."""
    # PNG at zlib level 1: a third of the encoding time of matplotlib's default level
    # (6), for a file about 30% larger, still lossless (the demo's 0.1 s budget)
    extra = {"pil_kwargs": {"compress_level": 1}} if str(path).lower().endswith(".png") else {}
    fig.savefig(path, dpi=dpi, **extra)
    print(f"figure        {path}")


BIG_FILE = 100_000_000  # bytes: a file this size or larger is announced before it is written


def write_result(res, path):
    """Save an in-memory result to ``path`` (``.npz``), announcing a big file on stderr first;
    return ``(bytes, seconds)`` so that the writing is reported apart from the sweep."""
    nbytes = sum(a.nbytes for a in (res.x, res.y, res.slope, res.negative, res.negative_by_layer) if a is not None)
    if nbytes >= BIG_FILE:
        print(f"fastrelu: writing {path} ({size_text(nbytes)})", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    res.save(path)
    return os.path.getsize(path), time.perf_counter() - t0
