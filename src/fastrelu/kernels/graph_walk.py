"""exact backend for graph networks of a scalar: walk the line through the graph's nodes, in blocks.

The network takes a scalar ``t`` (a line folded in: its first node is an ``embed``).  On
each piece of the line every node's output is affine in ``t``: one map per piece, a
slope ``S`` and an intercept ``C`` shaped as the node (float64, held together as one
``(2, P, *shape)`` array).  The walk visits the nodes in topological order, a block of
pieces at a time:

- an affine node (dense, conv, pooling by averages, scale, add, cat, reshape...) maps the
  slopes and intercepts of its inputs as one batch without its constant part, then adds
  the constant to the intercepts (``fastrelu.model.graph.affine``: a convolution applied
  to the pieces' maps as to a batch of images, never expanded to a matrix);
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

Blocks.  Every piece's maps of every live node are held at once only within a block: a
block whose next activation or max-pool node would hold more than its share of memory
(``_budget``) is cut in two at one of its own edges, and each half goes on from that
node alone, one after another or on the threads (``threads``); the halves are joined
at the end (``_join``).  The result is the same bits however the line is blocked, on
any number of threads (``tests/test_graph_walk_blocks.py``); why, at ``_join``.
"""

import itertools
import threading
from typing import NamedTuple

import numpy as np

from ..model.graph import act_form, affine, maxpool_windows
from ..utils import config
from ..utils.memory import available_memory
from ..utils.progress import bar as progress_bar
from . import dense_numpy
from . import threads as kthreads

PIECEWISE = ("act", "maxpool")
BATCHED = ("dense", "conv", "avgpool", "embed")  # products through BLAS: in runs of a fixed number of maps
NUMBERS = 6  # float64 numbers held per (piece, unit) at a piecewise node: maps, cuts, temporaries


class GraphPieces(NamedTuple):
    """The pieces of a graph network of ``t`` on ``[start, stop]`` (as ``walk.LinePieces``)."""

    edges: np.ndarray  # (P + 1,)
    slope: np.ndarray  # (P, out)
    intercept: np.ndarray  # (P, out)
    negative_by_layer: np.ndarray  # (P, activation nodes) int32
    kink: np.ndarray  # (P - 1,) bool
    counts: np.ndarray  # (P - 1,) crossings at each interior edge
    cross: tuple  # (t, node, unit) arrays of every crossing, by node, then t, then unit

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


def _act_codes(z, lo, hi, alpha):
    """Each unit's region from its input at the piece's middle: bit 0 ``z > 0``, bit 1 at or
    below the clamp ``lo``, bit 2 at or above ``hi`` (the output then the clamp's constant)."""
    on = z > 0
    code = on.astype(np.int8)
    if np.isfinite(lo) or np.isfinite(hi):
        v = np.where(on, z, alpha * z)
        code |= ((v <= lo).astype(np.int8) << 1) | ((v >= hi).astype(np.int8) << 2)
    return code


class _Plan:
    """What the walk needs of each node, worked out once: the maps alive at it, the cuts
    it tests per piece, the runs of its products, its constant part."""

    def __init__(self, graph):
        nodes = graph.nodes
        self.nodes = nodes
        self.folded = int(len(nodes) > 1 and nodes[1].kind == "embed")  # crossings name nodes as net.nodes does
        index = {n.name: k for k, n in enumerate(nodes)}
        last = {n.name: max((index[c] for c in graph.consumers[n.name]), default=len(nodes)) for n in nodes}
        self.free = [[i for i in dict.fromkeys(n.inputs) if last[i] == k] for k, n in enumerate(nodes)]
        # units of the maps alive while node k runs: its inputs and every map still read later
        self.live = [sum(m.size for m in nodes[:k] if last[m.name] >= k) for k in range(len(nodes))]
        self.n_cuts, self.act, self.pairs, self.run, self.const = {}, {}, {}, {}, {}
        for k, n in enumerate(nodes):
            if n.kind == "act":
                alpha, lo, hi = act_form(n, np.float64)
                self.act[k] = (alpha, lo, hi)
                self.n_cuts[k] = n.size * (1 + int(np.isfinite(lo)) + int(np.isfinite(hi)))
            elif n.kind == "maxpool":
                kk = int(np.prod(n.params["kernel"]))
                self.pairs[k] = np.triu_indices(kk, 1)
                self.n_cuts[k] = n.size * (kk * (kk - 1) // 2)
            elif n.kind in BATCHED:
                shapes = [nodes[index[i]].shape for i in n.inputs]
                work = sum(int(np.prod(s, dtype=np.int64)) for s in shapes) + n.size
                if n.kind == "conv":  # the windows tensordot copies: input channels x kernel per output position
                    w = n.params["weight"]
                    work += int(np.prod(n.shape[1:], dtype=np.int64)) * int(np.prod(w.shape[1:], dtype=np.int64))
                # a run at least as large as the weights it meets: they are read once per run
                # (a dense 9216 -> 128 layer in runs of 7 maps was three times slower than of 128)
                weights = int(n.params["weight"].size) if "weight" in n.params else 0
                self.run[k] = max(1, config.GRAPH_WALK_RUN // work, weights // work)
            if n.kind not in ("input", *PIECEWISE):
                zero = [np.zeros((1, *nodes[index[i]].shape)) for i in n.inputs]
                has = any(n.params.get(p) is not None for p in ("bias", "shift", "const", "origin"))
                self.const[k] = affine(n, zero)[0] if has else None

    def need(self, k, pieces):
        """Bytes a block of ``pieces`` holds at node ``k`` (its maps, and those it makes or the cuts it tests)."""
        return NUMBERS * 8 * pieces * (self.live[k] + self.n_cuts.get(k, self.nodes[k].size))


def _refuse(node, pieces, units, need, have):
    raise ValueError(
        f"the walk of this line through node {node.name!r} ({node.kind}, {node.size:,} units) would hold "
        f"{pieces:,} pieces x {units:,} numbers in each block, about {need / 2**30:,.1f} GiB with the blocks on the "
        f"threads and those waiting, but only {have / 2**30:,.1f} GiB is available: walk a shorter stretch of the "
        "line (start, stop) will not help, since a block of fewer pieces is not walked; free memory, or walk on "
        "fewer threads"
    )


def _budget(plan, threads):
    """Bytes one block may hold: ``GRAPH_WALK_BYTES`` (or what a block of
    ``GRAPH_WALK_MIN_PIECES`` pieces needs, if more), within a share of the memory
    available (a block on each thread, and the halves waiting, each a few times smaller
    than a block); a ValueError, before anything is allocated, when blocks of
    ``GRAPH_WALK_MIN_PIECES`` pieces would not fit."""
    have = available_memory()
    share = 2 * threads + 2
    least = max((plan.need(k, config.GRAPH_WALK_MIN_PIECES), k) for k in plan.n_cuts) if plan.n_cuts else (0, 0)
    if have is not None:
        for k in plan.n_cuts:  # the first node that does not fit is named
            need = plan.need(k, config.GRAPH_WALK_MIN_PIECES)
            if need * share > have:
                _refuse(plan.nodes[k], config.GRAPH_WALK_MIN_PIECES, plan.live[k] + plan.n_cuts[k], need * share, have)
    budget = max(config.GRAPH_WALK_BYTES, least[0])
    return budget if have is None else min(budget, have // share)


def _affine(plan, k, ins):
    """Affine node ``k`` applied to its inputs' maps (each ``(2, P, *shape)``): the slopes
    and intercepts as one batch without the constant part, the constant then added to the
    intercepts (the bits of ``affine`` with it).  A product goes in runs of exactly
    ``plan.run[k]`` maps, the last padded with zeros, so that a map's bits do not depend
    on how many maps its block has."""
    node = plan.nodes[k]
    p = ins[0].shape[1]
    flat = [m.reshape((2 * p, *m.shape[2:])) for m in ins]
    if node.kind in BATCHED:
        run = plan.run[k]
        out = np.empty((2 * p, *node.shape))
        for i in range(0, 2 * p, run):
            xs = [f[i : i + run] for f in flat]
            n = xs[0].shape[0]
            if n < run:
                xs = [np.concatenate((x, np.zeros((run - n, *x.shape[1:])))) for x in xs]
            out[i : i + n] = affine(node, xs, bias=False)[:n]
    else:  # elementwise, or moves: each map's bits are its own whatever the batch
        out = np.ascontiguousarray(affine(node, flat, bias=False))
    out = out.reshape((2, p, *node.shape))
    if plan.const[k] is not None:
        out[1] += plan.const[k]
    return out


class _Block:
    """A stretch of the line in the walk: its pieces (``edges``), their maps of the live
    nodes, counts of off units, the crossings found inside it, and the patterns of its
    first and last piece at each piecewise node since its ends became cuts."""

    __slots__ = ("cross", "edges", "first", "k", "last", "maps", "negative")

    def __init__(self, k, edges, maps, negative, first, last):
        self.k, self.edges, self.maps, self.negative = k, edges, maps, negative
        self.first, self.last, self.cross = first, last, []

    def halves(self):
        """The block cut in two at its middle edge (an edge of the walk, never a new one);
        each half keeps the patterns of its outer end, and its end at the cut starts
        afresh."""
        h = (self.edges.shape[0] - 1) // 2
        left = _Block(self.k, self.edges[: h + 1].copy(), {n: m[:, :h].copy() for n, m in self.maps.items()},
                      self.negative[:h].copy(), self.first, {})
        right = _Block(self.k, self.edges[h:].copy(), {n: m[:, h:].copy() for n, m in self.maps.items()},
                       self.negative[h:].copy(), {}, self.last)
        left.cross = self.cross  # the crossings found so far, once
        return [left, right]


def _piecewise(plan, k, b, budget):
    """Piecewise node ``k`` on block ``b`` (its pieces split, their maps carried), or the
    block's halves when its children would hold more than ``budget``."""
    node = plan.nodes[k]
    edges = b.edges
    p = edges.shape[0] - 1
    m = b.maps[node.inputs[0]]
    s, c = m[0], m[1]
    lo_e, hi_e = edges[:-1, None], edges[1:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if node.kind == "act":
            alpha, lo, hi = plan.act[k]
            s2, c2 = s.reshape(p, -1), c.reshape(p, -1)
            found = []
            for bp in (0.0, lo, hi):
                if np.isfinite(bp):
                    # the breakpoint in z: 0, or the clamp in v (v = z above 0, alpha*z below)
                    zb = np.full(s2.shape[1], bp) if bp >= 0 else bp / alpha.reshape(-1)
                    t = (zb - c2) / s2
                    piece, unit = np.nonzero((t > lo_e) & (t < hi_e))
                    found.append(t[piece, unit])
            ts = np.concatenate(found)
        else:
            fill = np.finfo(np.float64).min  # padding never wins (PyTorch pads with -inf)
            ws, wc = maxpool_windows(node, s, 0.0), maxpool_windows(node, c, fill)
            found = []
            for i, j in zip(*plan.pairs[k]):  # pair by pair, on views: no (pieces, windows, pairs) array
                t = ((wc[..., i] - wc[..., j]) / (ws[..., j] - ws[..., i])).reshape(p, -1)
                piece, unit = np.nonzero((t > lo_e) & (t < hi_e))
                found.append(t[piece, unit])
            ts = np.concatenate(found) if found else np.zeros(0)  # a window of one input never changes
    need = NUMBERS * 8 * (p + ts.shape[0]) * plan.live[k]
    if need > budget:
        if p > 1:
            return b.halves()  # too many children: the halves find them again
        have = available_memory()  # one piece split in more than its block may hold: refused if it does not fit at all
        if have is not None and need > have:
            _refuse(node, p + ts.shape[0], plan.live[k], need, have)
    new = np.unique(np.concatenate((edges, ts))) if ts.size else edges
    parent = np.searchsorted(edges, new[:-1], side="right") - 1
    mid = _middles(new)
    if node.kind == "act":
        sc = m[:, parent]
        z = sc[0] * mid.reshape((-1,) + (1,) * (sc.ndim - 2)) + sc[1]
        code = _act_codes(z, lo, hi, alpha)
        pattern = code.reshape(code.shape[0], -1)
    else:  # the children's windows are their parents' (the input map itself is not carried on)
        sc = None
        ws, wc = ws[parent], wc[parent]
        v = ws * mid.reshape((-1,) + (1,) * (ws.ndim - 1)) + wc
        arg = np.argmax(v, axis=-1)[..., None]
        pattern = arg.reshape(arg.shape[0], -1)
    # drop the new edges across which this node's pattern does not change (an old edge,
    # where the parent changes, stays)
    keep_edge = (pattern[1:] != pattern[:-1]).any(axis=1) | (parent[1:] != parent[:-1])
    if not keep_edge.all():
        keep = np.concatenate(([True], keep_edge))
        new = np.concatenate((new[:1], new[1:-1][keep_edge], new[-1:]))
        parent, pattern = parent[keep], pattern[keep]
        if node.kind == "act":
            sc, code = sc[:, keep], code[keep]
        else:
            ws, wc, arg = ws[keep], wc[keep], arg[keep]
    if node.kind == "act":
        gain = np.where(code & 1, 1.0, alpha)
        if np.isfinite(lo) or np.isfinite(hi):
            gain = np.where(code & 6, 0.0, gain)
        out = sc * gain
        if np.isfinite(lo) or np.isfinite(hi):
            const = np.where(code & 2, lo, 0.0) + np.where(code & 4, hi, 0.0)
            out[1] += np.where(code & 6, const, 0.0)
    else:
        out = np.stack((np.take_along_axis(ws, arg, -1)[..., 0], np.take_along_axis(wc, arg, -1)[..., 0]))
    del sc
    for name in plan.free[k]:  # maps no later node reads are not carried
        b.maps.pop(name, None)
    for name in b.maps:  # the children carry their parent's maps of every earlier node
        b.maps[name] = b.maps[name][:, parent]
    b.maps[node.name] = out
    b.negative = b.negative[parent]
    if node.kind == "act":
        neg = np.count_nonzero((pattern & 1) == 0, axis=1).astype(np.int32)
        b.negative = np.concatenate((b.negative, neg[:, None]), axis=1)
    e, u = np.nonzero(pattern[1:] != pattern[:-1])
    if e.size:
        b.cross.append((new[1:-1][e], np.full(e.shape[0], k - plan.folded), u))
    b.edges = new
    b.first[k], b.last[k] = pattern[0].copy(), pattern[-1].copy()
    return None


def _advance(plan, b, budget, hungry):
    """Walk block ``b`` on through the nodes: None once it has passed the last, or its
    halves (to be walked on from where it stopped)."""
    nodes = plan.nodes
    while b.k < len(nodes):
        k, node = b.k, nodes[b.k]
        p = b.edges.shape[0] - 1
        if p > 1 and (plan.need(k, p) > budget or (p >= 2 * config.GRAPH_WALK_MIN_PIECES and hungry())):
            return b.halves()  # too large for its share of memory, or a thread waits for work
        if node.kind in PIECEWISE:
            halves = _piecewise(plan, k, b, budget)
            if halves is not None:
                return halves
        else:
            b.maps[node.name] = _affine(plan, k, [b.maps[i] for i in node.inputs])
            for name in plan.free[k]:
                b.maps.pop(name, None)
        b.k += 1
    return None


def _drive(plan, blocks, budget, threads, bar):
    """Every block walked to the end, on ``threads`` threads (the calling one among them):
    a block cut in two puts its halves first in line (depth first, so that few halves
    wait).  The finished blocks, in no order."""
    stack, done, errors = list(reversed(blocks)), [], []
    cond = threading.Condition()
    state = {"busy": 0, "waiting": 0}

    def hungry():  # a thread waits and nothing is in line: cut a block for it
        return state["waiting"] > 0 and not stack

    def worker():
        while True:
            with cond:
                while not stack and state["busy"] and not errors:
                    state["waiting"] += 1
                    cond.wait()
                    state["waiting"] -= 1
                if errors or not stack:
                    cond.notify_all()
                    return
                b = stack.pop()
                state["busy"] += 1
            try:
                halves = _advance(plan, b, budget, hungry if threads > 1 else (lambda: False))
            except BaseException as exc:  # noqa: BLE001 - raised in the calling thread below
                with cond:
                    errors.append(exc)
                    state["busy"] -= 1
                    cond.notify_all()
                return
            with cond:
                state["busy"] -= 1
                if halves is None:
                    done.append(b)
                    if bar is not None:
                        bar.update(1)
                else:
                    stack.extend(reversed(halves))
                    if bar is not None:  # shown at its next update (a refresh would show it before its delay)
                        bar.total += len(halves) - 1
                cond.notify_all()

    helpers = [threading.Thread(target=worker, name=f"fastrelu-graph-walk-{i}", daemon=True) for i in range(threads - 1)]
    for h in helpers:
        h.start()
    worker()
    for h in helpers:
        h.join()
    if errors:
        raise errors[0]
    return done


# Why the join is exact.  A block is only ever cut at one of its edges (``halves``), so a
# piece of the walk never spans a cut, and each half goes on with exactly the pieces and
# maps the whole block had.  From there every piece's maps are a function of the piece
# alone: elementwise steps act map by map, and products run in calls of one shape, where a
# row's bits do not depend on its neighbours (``_affine``); the cuts a node finds in a
# piece, and the pattern read at its middle, come from that piece's maps and its own
# edges.  So each half finds the very splits, patterns and maps the whole block would
# have, and what remains is the edge at the cut itself: the crossings there of the nodes
# walked after the cut, which the whole block finds by comparing the patterns of the two
# pieces beside it, and the join compares the same two patterns.  A unit crossing exactly
# at the cut is found there once.  A cut given by the caller (``cuts``) may fall inside a
# piece: the blocks then start apart, each cut is an edge of both sides from the first
# node, and the join compares the two patterns at every node; where none differs the two
# pieces are one piece (their maps, functions of the same pattern, are the same bits)
# and the cut is no edge.  There the result is the whole walk's too, except where a cut
# falls a few roundings beside a crossing without being on it: a piece of a few ulps then
# reads its pattern at a middle so close to that crossing that rounding may decide it.
def _join(plan, blocks):
    """The blocks (in order along the line) as one ``GraphPieces``."""
    cross = [c for b in blocks for c in b.cross]
    for left, right in itertools.pairwise(blocks):
        t = left.edges[-1]
        for k in sorted(set(left.last) & set(right.first)):  # the nodes walked apart since the cut
            u = np.flatnonzero(left.last[k] != right.first[k])
            if u.size:
                cross.append((np.full(u.shape[0], t), np.full(u.shape[0], k - plan.folded), u))
    if cross:
        ct, cn, cu = (np.concatenate([c[i] for c in cross]) for i in range(3))
        order = np.lexsort((cu, ct, cn))
        ct, cn, cu = ct[order], cn[order].astype(np.int64), cu[order].astype(np.int64)
    else:
        ct, cn, cu = np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    # a cut where nothing crosses is no edge: the pieces beside it are one
    merged = ~np.isin(np.array([b.edges[0] for b in blocks[1:]]), ct)
    name = plan.nodes[-1].name
    out = [b.maps[name].reshape(2, b.edges.shape[0] - 1, -1) for b in blocks]
    keep = np.concatenate([np.ones(blocks[0].edges.shape[0] - 1, bool)] + [np.concatenate(([not mg], np.ones(b.edges.shape[0] - 2, bool)))
                                                for mg, b in zip(merged, blocks[1:])])
    edges = np.concatenate([blocks[0].edges[:-1]] + [np.concatenate((b.edges[:1][[not mg]], b.edges[1:-1]))
                                                     for mg, b in zip(merged, blocks[1:])] + [blocks[-1].edges[-1:]])
    maps = np.concatenate(out, axis=1)[:, keep]
    slope, intercept = maps[0], maps[1]
    negative = np.concatenate([b.negative for b in blocks])[keep]
    kink = (slope[1:] != slope[:-1]).any(axis=1)
    counts = np.bincount(np.searchsorted(edges[1:-1], ct), minlength=edges.shape[0] - 2).astype(np.int64)
    return GraphPieces(edges, slope, intercept, negative, kink, counts, (ct, cn, cu))


def walk(graph, start, stop, *, cuts=(), threads=None, progress=False):
    """The pieces of the graph network ``graph`` (float64, input of one coordinate) on
    ``[start, stop]``: a ``GraphPieces``.

    The walk goes in blocks that fit memory, on ``threads`` threads (None: as
    ``kernels.threads`` is set), BLAS held to one thread, with a
    tqdm bar over its blocks (``progress`` as ``regions`` takes it: None shows one when
    the walk runs long).  ``cuts``: points strictly inside ``(start, stop)`` where the line
    is cut from the start (blocks walked apart and joined; the result is the same).
    """
    threads = kthreads.get_num_threads() if threads is None else int(threads)
    cuts = np.asarray(cuts, np.float64)
    if cuts.ndim > 1 or cuts.size and not (np.all(np.isfinite(cuts)) and np.all(np.diff(cuts) > 0) and cuts[0] > start and cuts[-1] < stop):
        raise ValueError(f"cuts must be finite, increasing and strictly inside (start, stop), got {cuts}")
    plan = _Plan(graph)
    budget = _budget(plan, max(threads, 1))
    ends = np.concatenate(([start], cuts.reshape(-1), [stop]))
    nodes = plan.nodes
    blocks = [_Block(1, ends[i : i + 2].copy(), {nodes[0].name: np.array([[[1.0]], [[0.0]]])}, np.zeros((1, 0), np.int32), {}, {})
              for i in range(ends.shape[0] - 1)]
    bar = progress_bar(len(blocks), "walk", progress, "block", scale=False, leave=False)
    try:
        # BLAS on one thread, always, entered in the calling thread (OpenBLAS heeds it from
        # there): the products come in runs of a few maps, and BLAS's threads, idle between
        # them, spun against the walk (a dense 9216 -> 128 node took 16 times as long)
        with kthreads.blas_pinned():
            done = _drive(plan, blocks, budget, threads, bar)
    finally:
        if bar is not None:
            bar.close()
    done.sort(key=lambda b: b.edges[0])
    return _join(plan, done)


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
    pieces = walk(g64, np.nextafter(lo, -np.inf), np.nextafter(hi, np.inf), threads=1)
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
