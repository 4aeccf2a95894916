"""How the panels look: their colours, one colour per output, shades of layers, legends.

The figure (matplotlib) and the page (Bokeh) take their colours from here, so that an
output, a layer or a kink looks the same in both.  matplotlib is imported by the
functions that need it, never by importing this module.
"""

import numpy as np

#: Colours of the three panels of one output (matplotlib's default cycle: blue, green,
#: orange); kink marks are dotted purple, apart from the grid's light grey lines.
COLORS = {"output": "tab:blue", "slope": "tab:green", "negative": "tab:orange", "kinks": "#7b3294", "decisions": "0.1"}

#: Kink marks: dotted, so that a lone kink does not look like a grid line.
KINK_STYLE = (0, (1.5, 1.5))

#: One colour per output of a network of several, the same in the output and slope
#: panels, the zoom and the page: a qualitative cycle (matplotlib's tab10 with its grey,
#: too close to the grid, replaced by a dark indigo).
OUTPUT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#393b79", "#bcbd22",
                 "#17becf")

#: Colour maps of the shades when a panel draws several areas (the layers of the negative count).
SHADES = {"output": "Blues", "slope": "Greens", "negative": "Oranges"}

#: The layers of the negative count: light shades of its orange, so that the total's
#: line stays the darkest thing in the panel (the figure's and the page's).
LAYER_SHADES = (0.08, 0.36)


def output_colors(k):
    """The colours of ``k`` outputs, in order (cycling past ``len(OUTPUT_COLORS)``; ``dashes``
    then tells the rounds apart).

    Examples
    --------
    >>> output_colors(3)
    ['#1f77b4', '#ff7f0e', '#2ca02c']
    """
    return [OUTPUT_COLORS[i % len(OUTPUT_COLORS)] for i in range(k)]


def layer_colors(depth):
    """``depth`` shades of orange for the layers of the negative count, light to darker,
    as hex strings (the figure's and the page's).

    Examples
    --------
    >>> len(layer_colors(3)), layer_colors(1)[0].startswith("#")
    (3, True)
    """
    from matplotlib.colors import to_hex

    return [to_hex(c) for c in shades("negative", depth, *LAYER_SHADES)]


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
    """Line styles of ``k`` outputs: solid while each has its own colour, then a new style
    for each round of ``OUTPUT_COLORS``.

    Examples
    --------
    >>> dashes(3) == ["-"] * 3, dashes(12)[10:]
    (True, ['--', '--'])
    """
    return [("-", "--", ":", "-.")[(i // len(OUTPUT_COLORS)) % 4] for i in range(k)]


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
