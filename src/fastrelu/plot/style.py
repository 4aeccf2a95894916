"""How the panels look: their colours, the shades and line styles of several lines, legends.

matplotlib is imported by the functions that need it, never by importing this module.
"""

import numpy as np

#: Colours of the three panels (matplotlib's default cycle: blue, green, orange).
COLORS = {"output": "tab:blue", "slope": "tab:green", "negative": "tab:orange", "kinks": "0.45", "decisions": "0.1"}

#: Colour maps of the shades when a panel draws several lines (outputs, layers).
SHADES = {"output": "Blues", "slope": "Greens", "negative": "Oranges"}

# Past this many outputs, shades alone are too close to tell apart: line styles cycle too.
_MAX_SHADES_ALONE = 4


def shades(panel, k, lo=0.45, hi=0.95):
    """``k`` shades of a panel's colour, light to dark.

    Examples
    --------
    >>> len(shades("output", 3))
    3
    """
    import matplotlib

    cmap = matplotlib.colormaps[SHADES[panel]]
    return [cmap(v) for v in (np.linspace(lo, hi, k) if k > 1 else [hi])]


def dashes(k):
    """Line styles of ``k`` outputs: all solid while shades suffice, else cycling.

    Examples
    --------
    >>> dashes(3), dashes(5)
    (['-', '-', '-'], ['-', '--', ':', '-.', '-'])
    """
    if k <= _MAX_SHADES_ALONE:
        return ["-"] * k
    return [("-", "--", ":", "-.")[i % 4] for i in range(k)]


def legend(ax, title=None, reverse=False):
    """A legend outside the axes on the right, so that it hides no data; None when nothing is labelled.

    Examples
    --------
    >>> legend(fig.axes[0], "slopes")  # doctest: +SKIP
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                     fontsize="small", title=title, title_fontsize="small", frameon=False, handlelength=1.6)
