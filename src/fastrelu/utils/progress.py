"""A progress bar (tqdm, optional) for a call that may run past about a second.

The bar goes to stderr, as tqdm's do, and appears only once the call has run ``DELAY``
seconds, so a quick call prints nothing.  It shows in non-interactive use too (a batch
job's log), as tqdm's default does; ``progress=False`` turns it off.
"""

import sys

DELAY = 1.0  # seconds before a bar appears
MIN_PAIRS = 1 << 24  # a sweep of fewer (point, unit) pairs is one kernel call, never a bar
PARTS = 50  # a sweep with a bar runs in this many parts
MIN_PART = 1 << 18  # points, so that the kernels' threads still have work (and a part's setup is paid rarely)


def check_progress(progress):
    """``progress`` as given: None (a bar when tqdm is installed), True (a bar; tqdm
    needed) or False (none)."""
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    return progress


def bar(total, desc, progress, unit, *, scale=True, leave=True):
    """A tqdm bar over ``total`` steps of ``unit``, or None for none: the one rule of every
    ``progress=`` argument.

    ``progress`` None shows it once the call has run ``DELAY`` seconds, when tqdm is
    installed; True shows it at once (tqdm needed); False never.  ``scale``: counts in k
    and M (points), or as they are (layers, lines, blocks); ``leave=False`` clears the bar
    once done (a step inside a call, whose own output follows).
    """
    if progress is False or total == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        if progress:
            raise ImportError("progress=True needs tqdm: pip install tqdm") from None
        return None
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, delay=0 if progress else DELAY, unit_scale=scale,
                leave=leave)


def parts(n, pairs):
    """The bounds ``(lo, hi)`` of the parts a sweep of ``n`` points and ``pairs`` (point,
    unit) pairs runs in: one part below ``MIN_PAIRS``, else about ``PARTS``."""
    if pairs < MIN_PAIRS or n <= MIN_PART:
        return [(0, n)]
    step = max(MIN_PART, -(-n // PARTS))
    return [(i0, min(i0 + step, n)) for i0 in range(0, n, step)]


def walk_bar(total, progress):
    """A bar over a line's walk, one step per hidden layer, or None (``bar``'s rule)."""
    return bar(total, "walk", progress, "layer", scale=False, leave=False)
