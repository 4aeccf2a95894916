"""What the interactive page draws: a network's exact pieces, or a sweep's grid reduced
per pixel column, as arrays of vertices (``PageData``).

A piecewise-linear network is described exactly by its linear pieces
(``fastrelu.regions``): its output is the polyline through the kinks (and the ends of
the range), its slope and negative count are step functions held over each piece.
A sweep the exact analysis does not cover, or a store, is drawn from its grid.
Either is reduced with the figures' reduction (``reduce.drawn_indices``) when it has
more vertices than the page should hold.
"""

import numpy as np

from ..analysis.pieces import kinks, regions
from ..kernels.params import one_layer
from .outputs import pick
from .reduce import POINTS_PER_COLUMN, drawn_indices, ordered, reduce_stored


class PageData:
    """What the page draws: vertex arrays (one row per vertex) and how to describe them.

    Attributes
    ----------
    exact : bool
        Whether the vertices are the exact pieces' ends (else grid points).
    x, y, slope, negative, by_layer : ndarray
        One row per vertex; ``y`` and ``slope`` of the shown outputs, and each value
        the one held from this vertex to the next.
    kinks : ndarray of int
        Indices of the vertices that are kinks (slope changes on a grid).
    units : list of str
        Per vertex, the ``(layer, unit)`` pairs switching there (empty for a grid); of a
        graph network ``(node, unit)``, the node by its name.
    pieces, n_kinks, n_boundaries : int or None
        Counts of the full range, for the page's note (None for a grid).
    reduced : bool
        Whether the vertices were reduced per pixel column.
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)


def layer_labels(net, depth):
    """The names of the negative count's parts, as the figure's and the page's legends give
    them: ``"layer k"`` (from 1) for a dense chain, ``"node <name>"`` for a graph network,
    with each activation node's name as ``net.nodes`` gives it, in the order of
    ``negative_by_layer``'s columns (a max-pool node counts no negative units).  The word
    first, as ``"layer"``'s, and because matplotlib leaves a label that starts with ``_``
    out of its legend: torch.fx names a Sequential's children ``_0``, ``_1``, ...

    Examples
    --------
    >>> import fastrelu
    >>> layer_labels(fastrelu.Network.random([2, 4, 4, 1], seed=0), 2)
    ['layer 1', 'layer 2']
    """
    if net is not None and net.is_graph:
        names = [f"node {n.name}" for n in net.nodes if n.kind == "act"]
        if len(names) == depth:
            return names
    return [f"layer {k + 1}" for k in range(depth)]


def _units_text(layers, units, names=None):
    """``(layer, unit)`` pairs; a graph network's node by its name (``names``, by index in ``net.nodes``)."""
    return " ".join(f"({int(l) if names is None else names[int(l)]}, {int(u)})" for l, u in zip(layers, units))


def _switching_texts(net, r, vx):
    """For each interior vertex (a boundary), the ``(layer, unit)`` pairs switching there (of a
    graph network ``(node, unit)``, the node by its name)."""
    n = len(r)
    if n < 2:
        return []
    if one_layer(net):
        # One hidden layer of a scalar: regions() calls the units with x == -b1/w1
        # (rounded in float64, as the analysis rounds them) switching; asking
        # r.switching(i) piece by piece would scan all H units for each of the H pieces.
        w1 = np.asarray(net.w1).reshape(-1)
        b1 = np.asarray(net.b1).reshape(-1)
        live = np.flatnonzero(w1 != 0)
        at = -b1[live] / w1[live].astype(np.float64) + 0.0
        order = np.argsort(at, kind="stable")
        at, who = at[order], live[order]
        inner = vx[1:-1]
        first = np.searchsorted(at, inner, side="left")
        last = np.searchsorted(at, inner, side="right")
        return [f"(0, {int(who[a])})" if b == a + 1 else _units_text(np.zeros(b - a), who[a:b])
                for a, b in zip(first.tolist(), last.tolist())]
    names = None
    if net.is_graph:
        names = [node.name for node in net.nodes]
        if net.nodes[1].kind == "embed":  # folded on the line: switching counts the unfolded network's nodes
            names = names[1:]
    return [_units_text(*r.switching(i), names) for i in range(n - 1)]


def exact_page(net, start, stop, shown):
    """The pieces of ``net`` (a network of one coordinate) over ``[start, stop]``, as vertices.

    Examples
    --------
    >>> import fastrelu
    >>> page = exact_page(fastrelu.Network.random(5, seed=0), -10, 10, None)
    >>> page.exact, page.pieces == len(page.x) - 1, page.units[0]
    (True, True, '')
    """
    r = regions(net, start, stop, boundaries=True)  # one activation pattern per piece: exact counts
    vx = np.concatenate((r.lo, r.hi[-1:]))
    last = np.concatenate((np.arange(len(r)), [len(r) - 1]))  # the piece each vertex starts (the last: ends)
    slope = r.slope[last]
    y = slope * (vx[:, None] if slope.ndim == 2 else vx) + r.intercept[last]
    by_layer = r.negative_by_layer[last]
    negative = r.negative[last]
    is_kink = np.zeros(vx.shape[0], bool)
    is_kink[1:-1] = np.isin(vx[1:-1], kinks(net, start, stop))
    units = [""] + _switching_texts(net, r, vx) + [""]
    return PageData(exact=True, x=vx, y=pick(y, shown), slope=pick(slope, shown), negative=negative,
                    by_layer=by_layer, kinks=np.flatnonzero(is_kink), units=units, pieces=len(r),
                    n_kinks=int(np.count_nonzero(is_kink)), n_boundaries=len(r) - 1, reduced=False)


def keep_indices(page, columns):
    """Indices of the vertices that draw ``page`` at ``columns`` columns: all of them while
    they are at most ``POINTS_PER_COLUMN`` per column, else ``drawn_indices``.

    Examples
    --------
    >>> import fastrelu
    >>> page = exact_page(fastrelu.Network.random(5, seed=0), -10, 10, None)
    >>> len(keep_indices(page, 100)) == len(page.x)
    True
    """
    x = page.x
    if x.shape[0] <= POINTS_PER_COLUMN * columns:
        return np.arange(x.shape[0])
    return drawn_indices(x, page.y, page.slope, page.negative, page.by_layer, columns)


def reduce_page(page, columns):
    """``page`` reduced per pixel column (``keep_indices``): the same picture at the full
    range, with fewer vertices.

    Examples
    --------
    >>> import fastrelu
    >>> page = exact_page(fastrelu.Network.random(2000, seed=0), -100, 100, None)
    >>> len(reduce_page(page, 200).x) < len(page.x)
    True
    """
    x = page.x
    idx = keep_indices(page, columns)
    kink_mask = np.zeros(x.shape[0], bool)
    kink_mask[page.kinks] = True
    units = [page.units[i] for i in idx.tolist()] if page.units else []
    out = PageData(**page.__dict__)
    out.x, out.y, out.slope, out.negative, out.by_layer = (a[idx] for a in (x, page.y, page.slope, page.negative, page.by_layer))
    out.kinks, out.units, out.reduced = np.flatnonzero(kink_mask[idx]), units, True
    return out


def sampled_page(res, shown, columns):
    """A sweep drawn from its grid: reduced per pixel column; markers where the slope changes.

    Examples
    --------
    >>> import fastrelu
    >>> res = fastrelu.sweep(fastrelu.Network.random(5, seed=0), -10, 10, num=10**5)
    >>> page = sampled_page(res, None, 200)
    >>> page.exact, page.reduced, page.n_kinks == int(res.slope_changes.sum())
    (False, True, True)
    """
    if not isinstance(res.x, np.ndarray):  # a StoredResult, read chunk by chunk
        res, _ = reduce_stored(res, columns)
    x, y, slope, negative, by_layer, changes = ordered(res)
    page = PageData(exact=False, x=x.astype(np.float64), y=pick(y, shown), slope=pick(slope, shown),
                    negative=negative, by_layer=by_layer, kinks=np.flatnonzero(changes), units=[], pieces=None,
                    n_kinks=int(np.count_nonzero(changes)), n_boundaries=None, reduced=False)
    if x.shape[0] > POINTS_PER_COLUMN * columns:
        page = reduce_page(page, columns)
    return page


def twin_pieces(net, start, stop, shown):
    """The linear twin's pieces over ``[start, stop]`` (one: it is affine): ``lo, hi, slope, intercept``.

    Examples
    --------
    >>> import fastrelu
    >>> lo, hi, slope, intercept = twin_pieces(fastrelu.Network.random(5, seed=0), -1, 1, None)
    >>> len(hi)
    1
    """
    r = regions(net.linear(), start, stop)
    return r.lo, r.hi, pick(r.slope, shown), pick(r.intercept, shown)
