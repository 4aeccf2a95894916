"""Figures of many lines: region density over training (``training_figure``) and the
spread of one table's statistics over its lines (``lines_figure``).

matplotlib is imported when a figure is drawn, never by importing this module.
"""

import numpy as np

from ..model.describe import architecture
from .files import save_figure
from .panels import new_figure
from .style import legend

__all__ = ["lines_figure", "training_figure"]


def _network(stats):
    """What a title calls the network: its widths, or a graph network's piecewise nodes."""
    if stats.widths:
        return architecture(stats.widths)
    return f"graph network ({len(stats.names)} piecewise nodes)"


def _spread(ax, x, values, color, label, quantiles):
    """The median of ``values`` (rows: x, columns: lines or points) as a line, the band
    between ``quantiles`` shaded and the extremes dotted."""
    lo, hi = quantiles
    q = np.quantile(values, [0.0, lo, 0.5, hi, 1.0], axis=1)
    ax.fill_between(x, q[1], q[3], color=color, alpha=0.25, linewidth=0, label=f"{lo:.0%}–{hi:.0%} of {label}")
    ax.plot(x, q[0], ":", color=color, linewidth=0.8, label=f"min and max of {label}")
    ax.plot(x, q[4], ":", color=color, linewidth=0.8)
    ax.plot(x, q[2], "-o", color=color, markersize=3, label=f"median of {label}")


def training_figure(stats, path=None, *, labels=None, quantiles=(0.1, 0.9), per_neuron=True, figsize=None, dpi=150):
    """Region density (and boundary distance) of the same lines (points) at each checkpoint.

    Parameters
    ----------
    stats : TrainingStats
        From ``fastrelu.training_stats``.
    path : str, optional
        Save the figure there too (.png, .svg or .pdf).
    labels : sequence of str, optional
        Tick labels of the checkpoints (e.g. epochs); by default their index.
    quantiles : (float, float), default (0.1, 0.9)
        The band of the spread over lines (points), around their median.
    per_neuron : bool, default True
        Density per unit length and per hidden unit (Hanin & Rolnick's normalisation),
        else per unit length.
    figsize : (float, float), optional
    dpi : int, default 150

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import fastrelu, numpy as np
    >>> nets = [fastrelu.Network.random([2, 8, 8, 1], seed=s) for s in range(3)]
    >>> ts = fastrelu.training_stats(nets, np.zeros((4, 2)), np.ones((4, 2)), points=np.ones((5, 2)))
    >>> fig = fastrelu.plot.training_figure(ts)
    >>> len(fig.axes)
    2
    """
    lo, hi = (float(q) for q in quantiles)
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"quantiles must be two increasing numbers in [0, 1], got {quantiles!r}")
    n = len(stats)
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels must name the {n} checkpoints, got {len(labels)}")
    panels = 1 if stats.distance is None else 2
    fig, axes = new_figure(panels, 1, figsize or (9.0, 2.6 * panels + 0.6), dpi)
    x = np.arange(n)
    density = np.stack([t.density_per_neuron if per_neuron else t.density for t in stats.lines])
    ax = axes[0, 0]
    _spread(ax, x, density, "tab:purple", "lines", (lo, hi))
    ax.set_ylabel("boundaries per unit length" + (" per neuron" if per_neuron else ""))
    legend(ax)  # outside, on the right: it hides no line
    ax.set_title(f"{_network(stats.lines[0])}: {density.shape[1]:,} lines" + (
        f", {stats.distance.shape[1]:,} points" if stats.distance is not None else ""), fontsize="medium")
    if stats.distance is not None:
        ax = axes[1, 0]
        d = np.where(np.isfinite(stats.distance), stats.distance, np.nan)
        _spread(ax, x, np.nan_to_num(d, nan=np.nanmax(d) if np.isfinite(d).any() else 0.0), "tab:red", "points", (lo, hi))
        if np.all(d[np.isfinite(d)] > 0):  # distances spread over decades
            ax.set_yscale("log")
        ax.set_ylabel("distance to the\nnearest boundary")
        legend(ax)
    ax = axes[-1, 0]
    ax.set_xlabel("checkpoint")
    ax.set_xticks(x)
    if labels is not None:
        ax.set_xticklabels([str(v) for v in labels])
    if path is not None:
        save_figure(fig, path)
    return fig


def lines_figure(stats, path=None, *, bins=30, figsize=(9.0, 3.4), dpi=150):
    """One table's lines: the histogram of their density, and the mean crossings per layer
    (of a graph network: per piecewise node, named).

    Parameters
    ----------
    stats : LineStats
    path : str, optional
        Save the figure there too (.png, .svg or .pdf).
    bins : int, default 30
    figsize : (float, float), default (9, 3.4)
    dpi : int, default 150

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import fastrelu, numpy as np
    >>> s = fastrelu.line_stats(fastrelu.Network.random([2, 8, 8, 1], seed=0), np.zeros((3, 2)), np.ones((3, 2)))
    >>> len(fastrelu.plot.lines_figure(s).axes)
    2
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, squeeze=False)  # two quantities: no shared axis
    ax = axes[0, 0]
    ax.hist(stats.density, bins=bins, color="tab:purple", alpha=0.8)
    ax.set_xlabel("boundaries per unit length")
    ax.set_ylabel(f"{stats.kind}s")
    ax = axes[0, 1]
    depth = stats.crossings_by_layer.shape[1]
    ax.bar(np.arange(depth), stats.crossings_by_layer.mean(axis=0) if len(stats) else np.zeros(depth), color="tab:orange")
    ax.set_ylabel(f"crossings per {stats.kind} (mean)")
    ax.set_xticks(np.arange(depth))
    if stats.widths:
        ax.set_xlabel("hidden layer")
    else:  # a graph network: one bar per piecewise node, by its name (max-pools count argmax changes)
        ax.set_xlabel("piecewise node (activation or max-pool)")
        ax.set_xticklabels(stats.names, rotation=30 if depth > 4 else 0, ha="right" if depth > 4 else "center")
    fig.suptitle(f"{_network(stats)}: {len(stats):,} {stats.kind}s", fontsize="medium")
    if path is not None:
        save_figure(fig, path)
    return fig
