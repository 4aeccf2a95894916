"""exact backend for graph networks of a scalar: walk the line through the graph's nodes, once.

The network takes a scalar ``t`` (a line folded in: its first node is an ``embed``).  On
each piece of the line every node's output is affine in ``t``: one map per piece, a
slope ``S`` and an intercept ``C`` shaped as the node (float64).  The walk visits the
nodes in topological order, all pieces at once:

- an affine node (dense, conv, pooling by averages, scale, add, cat, reshape...) maps the
  batch of its inputs' slope maps without its constant part and the intercept maps with
  it (``fastrelu.model.graph.affine``: a convolution applied to the pieces' maps as to a
  batch of images, never expanded to a matrix);
- an activation node finds, for every piece and unit, where its input ``S t + C`` crosses
  each breakpoint (0, and the clamps ``lo``/``hi``): ``t* = (b - C) / S``, a split where
  it lies strictly inside the piece (a unit crosses a breakpoint at most once per piece:
  its input is affine there);
- a max-pool node splits each piece where two inputs of a window meet (the upper
  envelope of the window's ``K`` affine inputs changes only at such points, at most
  ``K - 1`` of them);
- the pieces are split at those points (children inherit every earlier node's maps: they
  are the parent's, affine across the split); each child's pattern at this node (the
  activation's region of every unit, the argmax of every window) is read at the child's
  middle, and the node's output maps follow from that pattern alone (gain times input
  map, or the clamp's constant; the winning input's map), never from rounded vertices.
  A split across which this node's pattern does not change (two inputs of a window that
  meet below the envelope) is dropped again.

An interior edge is a boundary: some node's pattern changes there; ``crossings(e)``
names ``(node, unit)``, the node by its index in the network's ``nodes`` (those of the
network before the line was folded in), the unit by its flat index in the node's output.  It is a kink where
the output's slope maps of the two pieces differ (computed each from its own pattern: a
change that reaches only units that are off, or zero weights, gives the same maps, so
such an edge is a boundary and not a kink; a change that cancels in exact arithmetic
but not in float64 would be reported as a kink).  On networks whose weights are short
dyadic numbers the maps are exact and every edge is the exact crossing correctly
rounded.  On a dense chain this is the same walk as ``walk.py`` (the pieces agree:
``tests/test_graph_walk.py``), which stays the fast kernel for chains.
"""

from typing import NamedTuple

import numpy as np

from ..model.graph import act_form, affine, maxpool_windows
from ..utils.memory import available_memory
from . import dense_numpy


class GraphPieces(NamedTuple):
    """The pieces of a graph network of ``t`` on ``[start, stop]`` (as ``walk.LinePieces``)."""

    edges: np.ndarray  # (P + 1,)
    slope: np.ndarray  # (P, out)
    intercept: np.ndarray  # (P, out)
    negative_by_layer: np.ndarray  # (P, activation nodes) int32
    kink: np.ndarray  # (P - 1,) bool
    counts: np.ndarray  # (P - 1,) crossings at each interior edge
    cross: tuple  # (t, node, unit) arrays of every crossing

    def crossings(self, e):
        """``(node, unit)`` arrays of what crosses at interior edge ``e`` (at ``edges[e + 1]``)."""
        t, node, unit = self.cross
        hit = t == self.edges[e + 1]
        return node[hit].astype(np.int32), unit[hit].astype(np.int32)


def _middles(edges):
    """A point strictly inside each piece: its middle, or one unit (of its size) past its
    finite end where it reaches an infinity."""
    lo, hi = edges[:-1], edges[1:]
    a, b = np.isfinite(lo), np.isfinite(hi)
    flo, fhi = np.where(a, lo, 0.0), np.where(b, hi, 0.0)
    mid = flo / 2 + fhi / 2
    mid = np.where(a & ~b, flo + np.maximum(1.0, np.abs(flo)), mid)
    return np.where(~a & b, fhi - np.maximum(1.0, np.abs(fhi)), mid)


def _split(edges, piece, t):
    """``edges`` with the points ``t`` (each strictly inside its ``piece``) added; and each new
    piece's parent."""
    if not t.size:
        return edges, np.arange(edges.shape[0] - 1)
    new = np.unique(np.concatenate((edges, t)))
    parent = np.searchsorted(edges, new[:-1], side="right") - 1
    return new, parent


def _act_codes(z, lo, hi, alpha):
    """Each unit's region from its input at the piece's middle: bit 0 ``z > 0``, bit 1 at or
    below the clamp ``lo``, bit 2 at or above ``hi`` (the output then the clamp's constant)."""
    on = z > 0
    v = np.where(on, z, alpha * z)
    return on.astype(np.int8) | ((v <= lo).astype(np.int8) << 1) | ((v >= hi).astype(np.int8) << 2)


def _check_memory(node, pieces, units):
    """Refuse, before allocating, a step that would hold ``pieces x units`` float64 numbers
    (a few times over: maps, crossings, temporaries) beyond the memory available."""
    need = 6 * 8 * pieces * units
    have = available_memory()
    if have is not None and need > have:
        raise ValueError(
            f"the walk of this line through node {node.name!r} ({node.kind}, {node.size:,} units) would hold "
            f"{pieces:,} pieces x {units:,} numbers, about {need / 2**30:,.1f} GiB, but only {have / 2**30:,.1f} GiB "
            "is available: walk a shorter stretch of the line (start, stop)"
        )


def walk(graph, start, stop):
    """The pieces of the graph network ``graph`` (float64, input of one coordinate) on
    ``[start, stop]``: a ``GraphPieces``."""
    nodes = graph.nodes
    # crossings name nodes as ``net.nodes`` lists them, before a line was folded in (its embed node)
    folded = int(len(nodes) > 1 and nodes[1].kind == "embed")
    edges = np.array([start, stop], np.float64)
    maps = {nodes[0].name: (np.ones((1, 1)), np.zeros((1, 1)))}
    negative = np.zeros((1, 0), np.int32)
    cross_t, cross_node, cross_unit = [], [], []
    for k, node in enumerate(nodes[1:], start=1):
        ins = [maps[i] for i in node.inputs]
        if node.kind not in ("act", "maxpool"):
            maps[node.name] = (affine(node, [s for s, _ in ins], bias=False), affine(node, [c for _, c in ins]))
        else:
            s, c = ins[0]
            p = s.shape[0]
            live = sum(m[0][0].size for m in maps.values())
            kk = int(np.prod(node.params["kernel"])) if node.kind == "maxpool" else 0
            n_cuts = node.size * 3 if node.kind == "act" else node.size * kk * (kk - 1) // 2  # breakpoints, or pairs of a window
            _check_memory(node, p, live + n_cuts)
            lo_e, hi_e = edges[:-1], edges[1:]
            if node.kind == "act":
                alpha, lo, hi = act_form(node, np.float64)
                s2, c2 = s.reshape(p, -1), c.reshape(p, -1)
                cuts = []
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    for b in (0.0, lo, hi):
                        if not np.isfinite(b):
                            continue
                        # the breakpoint in z: 0, or the clamp in v (v = z above 0, alpha*z below)
                        zb = np.full(s2.shape[1], b) if b >= 0 else b / alpha.reshape(-1)
                        cuts.append((zb - c2) / s2)
            else:
                fill = np.finfo(np.float64).min  # padding never wins (PyTorch pads with -inf)
                ws, wc = maxpool_windows(node, s, 0.0), maxpool_windows(node, c, fill)
                kk = ws.shape[-1]
                i, j = np.triu_indices(kk, 1)
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    cuts = [((wc[..., i] - wc[..., j]) / (ws[..., j] - ws[..., i])).reshape(p, -1)]
            t = np.concatenate(cuts, axis=1) if cuts else np.zeros((p, 0))
            inside = (t > lo_e[:, None]) & (t < hi_e[:, None])
            piece, unit = np.nonzero(inside)
            new_edges, parent = _split(edges, piece, t[piece, unit])
            del t, inside
            _check_memory(node, parent.shape[0], live + node.size)
            s, c = s[parent], c[parent]
            mid = _middles(new_edges)
            shape = (mid.shape[0],) + (1,) * (s.ndim - 1)
            if node.kind == "act":
                z = s * mid.reshape(shape) + c
                code = _act_codes(z, lo, hi, alpha)
                gain = np.where(code & 1, 1.0, alpha)
                gain = np.where(code & 6, 0.0, gain)
                const = np.where(code & 2, lo, 0.0) + np.where(code & 4, hi, 0.0)
                out = (gain * s, gain * c + np.where(code & 6, const, 0.0))
                pattern = code.reshape(code.shape[0], -1)
            else:
                ws, wc = maxpool_windows(node, s, 0.0), maxpool_windows(node, c, fill)
                v = ws * mid.reshape((mid.shape[0],) + (1,) * (ws.ndim - 1)) + wc
                arg = np.argmax(v, axis=-1)[..., None]
                out = (np.take_along_axis(ws, arg, -1)[..., 0], np.take_along_axis(wc, arg, -1)[..., 0])
                pattern = arg.reshape(arg.shape[0], -1)
            # drop the new edges across which this node's pattern does not change
            changed = (pattern[1:] != pattern[:-1]).any(axis=1)
            old = np.isin(new_edges[1:-1], edges[1:-1])
            keep_edge = changed | old
            keep_piece = np.concatenate(([True], keep_edge))
            edges = np.concatenate((new_edges[:1], new_edges[1:-1][keep_edge], new_edges[-1:]))
            parent, pattern = parent[keep_piece], pattern[keep_piece]
            out = (out[0][keep_piece], out[1][keep_piece])
            for name in list(maps):  # the children carry their parent's maps of every earlier node
                maps[name] = (maps[name][0][parent], maps[name][1][parent])
            negative = negative[parent]
            maps[node.name] = out
            if node.kind == "act":
                neg = np.count_nonzero((pattern & 1) == 0, axis=1).astype(np.int32)
                negative = np.concatenate((negative, neg[:, None]), axis=1)
            e, u = np.nonzero(pattern[1:] != pattern[:-1])
            cross_t.append(edges[1:-1][e])
            cross_node.append(np.full(e.shape[0], k - folded))
            cross_unit.append(u)
        for i in node.inputs:  # free the maps no later node reads
            if graph.consumers[i][-1] == node.name:
                maps.pop(i, None)
    s, c = maps[nodes[-1].name]
    slope, intercept = s.reshape(s.shape[0], -1), c.reshape(c.shape[0], -1)
    kink = (slope[1:] != slope[:-1]).any(axis=1)
    ct = np.concatenate(cross_t) if cross_t else np.zeros(0)
    cn = np.concatenate(cross_node) if cross_node else np.zeros(0, np.int64)
    cu = np.concatenate(cross_unit) if cross_unit else np.zeros(0, np.int64)
    counts = np.array([np.count_nonzero(ct == x) for x in edges[1:-1]], np.int64)
    return GraphPieces(edges, slope, intercept, negative, kink, counts, (ct, cn, cu))


# the exact backend's graph kernel: points read off their piece
get_num_threads = dense_numpy.get_num_threads
set_num_threads = dense_numpy.set_num_threads


def sweep_graph(t, graph, y, slope, negative, span=None):
    """``dense_numpy.sweep_graph``'s contract, read off the pieces of ``span`` (or of the
    points' range): each point's output and slope from its piece's map; a point exactly on
    an edge (where the counts are those of units at their breakpoint) by the reference."""
    if t.ndim != 1:
        raise ValueError("the graph walk reads points on a line (t of shape (N,))")
    if not t.shape[0]:
        return
    lo, hi = (float(np.min(t)), float(np.max(t))) if span is None else (float(span[0]), float(span[1]))
    g64 = graph.astype(np.float64)
    pieces = walk(g64, np.nextafter(lo, -np.inf), np.nextafter(hi, np.inf))
    t64 = t.astype(np.float64)
    idx = np.clip(np.searchsorted(pieces.edges, t64, side="right") - 1, 0, pieces.slope.shape[0] - 1)
    y[:] = pieces.slope[idx] * t64[:, None] + pieces.intercept[idx]
    slope[:] = pieces.slope[idx]
    negative[:] = pieces.negative_by_layer[idx]
    on_edge = np.flatnonzero(t64 == pieces.edges[idx])
    if on_edge.size:
        yy, ss, nn = (np.empty((on_edge.size, y.shape[1]), y.dtype), np.empty((on_edge.size, slope.shape[1]), y.dtype),
                      np.empty((on_edge.size, negative.shape[1]), negative.dtype))
        dense_numpy.sweep_graph(t[on_edge], graph, yy, ss, nn)
        y[on_edge], slope[on_edge], negative[on_edge] = yy, ss, nn
