"""Polygonal paths ``x0 -> x1 -> ... -> xk`` (and back to ``x0`` when closed): their
segments checked, and what happens at their vertices.

A path is walked one segment at a time, each segment the line ``a + t*(b - a)``, ``t``
in ``[0, 1]``, exactly as ``regions(net, along=(a, b), start=0, stop=1)`` walks it; the
segments are then joined here, for ``regions``, ``kinks`` and ``line_stats`` alike.  A
vertex where the activation pattern changes is one boundary (its crossing units are those
whose interval between breakpoints differs on the two sides), never two; a vertex is no
kink: the path bends there itself.  Along a path, position is arc length in input space
(``0`` to the path's length), which is what a figure "along the path" wants.
"""

import numpy as np

from ..utils.validation import as_float_array
from .patterns import graph64, layout, node_states

__all__ = ["by_layer", "lengths", "path_segments", "vertex_changes"]


def path_segments(path, closed, n_in):
    """The segments of every path, ``(n, k, 2, in)`` float64: ``path`` is ``(k + 1, in)``
    points (one path) or ``(n, k + 1, in)``; ``closed`` adds the segment back to the first
    point.  Bad input is a ValueError naming ``path``.

    Examples
    --------
    >>> path_segments([[0, 0], [1, 0], [1, 1]], True, 2).shape   # one path, three segments
    (1, 3, 2, 2)
    """
    if not isinstance(closed, (bool, np.bool_)):
        raise TypeError(f"closed must be True or False, got {closed!r}")
    p = np.asarray(path)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3:
        raise ValueError(f"path must be (k + 1, in) points or (n, k + 1, in) for n paths, got shape {p.shape}")
    if p.shape[0] == 0:
        raise ValueError("path holds no path: give at least one")
    if p.shape[1] < 2:
        raise ValueError(f"path needs at least two points, got {p.shape[1]}")
    if p.shape[2] != n_in:
        raise ValueError(f"path's points must have {n_in} entries (the network's inputs), got shape {p.shape}")
    p = as_float_array(p.reshape(-1, p.shape[-1]), "path", np.float64, ndim=2).reshape(p.shape)
    ends = np.concatenate((p, p[:, :1]), axis=1) if closed else p
    seg = np.stack((ends[:, :-1], ends[:, 1:]), axis=2)
    same = ~np.any(seg[:, :, 0] != seg[:, :, 1], axis=2)
    if same.any():
        i, s = np.argwhere(same)[0]
        raise ValueError(f"path: segment {s} of path {i} has zero length (two equal points in a row)")
    with np.errstate(over="ignore"):
        if not np.isfinite(seg[:, :, 1] - seg[:, :, 0]).all() or not np.isfinite(lengths(seg)).all():
            raise ValueError("path: a segment's length overflows float64")
    return seg


def lengths(seg):
    """Each segment's length in input space, ``(n, k)``.

    Examples
    --------
    >>> lengths(path_segments([[0, 0], [3, 4], [3, 5]], False, 2))
    array([[5., 1.]])
    """
    return np.linalg.norm(seg[..., 1, :] - seg[..., 0, :], axis=-1)


def _intervals(net, X):
    """Each piecewise unit's region at the points ``X`` (m, in): (m, units), an activation's
    count of breakpoints below ``z`` (``z`` on a breakpoint counts as below it, as ``z <= 0``
    is negative), a max-pool window's argmax (``patterns.node_states``)."""
    states, _ = node_states(graph64(net), X)
    return np.concatenate([st.region for st in states], axis=1) if states else np.zeros((X.shape[0], 0), np.int8)


def _beside(edges_before, edges_after, a, b, c):
    """Points inside the last fine piece of segment ``a -> b`` and the first of ``b -> c``
    (their middles in ``t``; ``edges`` are each walk's fine edges over one float64 step
    beyond ``[0, 1]``): on either side of the vertex ``b``, where the pattern is that of
    the open pieces beside it."""
    e = edges_before
    last = int(np.searchsorted(e, 1.0, side="left")) - 1
    t0 = 0.5 * (max(e[last], 0.0) + 1.0)
    e = edges_after
    first = int(np.searchsorted(e, 0.0, side="right")) - 1
    t1 = 0.5 * min(e[first + 1], 1.0)
    return a + t0 * (b - a), b + t1 * (c - b)


def vertex_changes(net, seg, closed, edges):
    """The units whose pattern changes at each vertex between two segments.

    ``seg`` (n, k, 2, in) from ``path_segments``; ``edges[i * k + s]`` the fine edges of
    segment ``s`` of path ``i``.  Returns ``(owner, vertex, changed)``: for each inner
    vertex (the ``k - 1`` joints of an open path, ``k`` of a closed one, the last being
    its first point) the path's index, the segment it ends, and a (units,) bool array of
    the piecewise units changing there (``patterns.layout``: a chain's hidden units, a
    graph's activation units and max-pool windows; none changing: no boundary).

    Examples
    --------
    >>> from fastrelu.model.network import Network
    >>> net = Network.from_layers([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    >>> seg = path_segments([[-1, 1], [0, 1], [1, 2]], False, 2)   # turns where unit 0 switches
    >>> edges = [np.array([-np.inf, np.inf])] * 2                  # no boundary inside either segment
    >>> owner, vertex, changed = vertex_changes(net, seg, False, edges)
    >>> changed.tolist()
    [[True, False]]
    """
    n, k = seg.shape[:2]
    ends = range(k) if closed else range(k - 1)
    before, after, owner, vertex = [], [], [], []
    for i in range(n):
        for s in ends:
            s2 = (s + 1) % k
            p, q = _beside(edges[i * k + s], edges[i * k + s2], seg[i, s, 0], seg[i, s, 1], seg[i, s2, 1])
            before.append(p), after.append(q), owner.append(i), vertex.append(s)
    if not owner:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, layout(net).units), bool)
    changed = _intervals(net, np.array(before)) != _intervals(net, np.array(after))
    return np.asarray(owner, np.int64), np.asarray(vertex, np.int64), changed


def by_layer(net, changed):
    """Units of each piecewise node among ``changed`` (m, units): (m, nodes) int64; a dense
    chain's nodes are its hidden layers (``patterns.layout``).

    Examples
    --------
    >>> from fastrelu.model.network import Network
    >>> by_layer(Network.random([2, 3, 2, 1], seed=0), np.array([[True, False, True, True, False]])).tolist()
    [[2, 1]]
    """
    off = layout(net).offsets
    return np.stack([changed[:, off[j] : off[j + 1]].sum(axis=1) for j in range(off.shape[0] - 1)], axis=1).astype(np.int64).reshape(changed.shape[0], -1)
