"""exact backend for deep networks of a scalar: walk the line layer by layer, once.

The network takes a scalar ``t`` (a line through input space is folded into the first
layer by the caller).  Every pre-activation is then piecewise linear in ``t``, and so is
the output.  ``walk`` finds the pieces on ``[start, stop]`` exactly up to rounding,
layer by layer; ``sweep_deep`` reads each grid point off its piece.

Representation
--------------
On each piece ``p`` between edges ``te[p] < te[p+1]`` the pre-activations of the layer
being walked are affine, ``z = S[p] * t + C[p]`` (one row of slopes and one of intercepts
per piece, float64).  A unit of hidden layer ``k`` has breakpoints in ``z`` at 0 and at
the layer's finite clamps ``lo``, ``hi``; between them (its *region*) the activation is
affine, ``a = g * z + o``.  The walk of layer ``k``:

1. *Scan.*  For every piece and unit the crossing of each breakpoint ``b`` is
   ``t* = (b - C) / S`` (one correctly rounded division; with exact ``S``, ``C`` the
   edge is the exact crossing rounded once).  A crossing splits the piece where
   ``te[p] < t* < te[p+1]``.  The region of a unit is *carried* from piece to piece and
   updated at each crossing to the side its slope goes to; it is never re-evaluated at
   an edge.  Where a piece's own map puts the unit on another side at the piece's start
   than the one carried in, the unit crosses exactly at that edge (e.g. every unit of a
   bias-free network at ``t = 0``): the crossing is merged into that existing edge.
   When floating point contradicts itself around an edge (the map on the left
   crosses just before it, the map on the right just after it, in the same
   direction), the carried region wins and the double crossing is dropped
   (``LinePieces.suppressed`` counts these; they cannot occur in exact arithmetic).
   Crossings that fall on the same float64 ``t`` are merged into one edge.
2. *Split.*  The new pieces inherit the parent's map (the same affine function: the new
   edge's pre-activations are interpolated, not re-evaluated).
3. *Next layer, by rank-one updates.*  Across an edge created by one crossing the maps
   of every later layer change by ``q (x) (ds, dc)``: a vector ``q`` times the change
   ``(ds, dc)`` of the crossing unit's activation map.  ``q`` is carried per edge and
   pushed through each later layer (``q <- W (g * q)``), one matrix-vector product per
   edge and layer, all edges at once as one matrix-matrix product.  A new edge of layer
   ``k`` needs none there (its ``q`` at layer ``k+1`` is a column of ``W``).  The maps of
   the pieces follow by a prefix sum of the changes, in double-double, restarted from a
   full product at *anchor* pieces: the first one, every ``K``-th one (so that the
   rounding of the ``q`` stays bounded) and the one after each edge where several units
   cross (those edges carry the change of slope instead, ``dS``; they are *complex*).
   The work is about one row per edge of the matrix-matrix product per layer, i.e. the
   vertex-times-fan-in-times-fan-out floor, and the memory ``O(pieces x widest layer)``.

Exactness.  The arithmetic is float64 throughout (float32 networks are walked in
float64).  Each ``S``, ``C`` is computed from the activation pattern alone (never from
rounded edges), so on networks whose weights are short dyadic numbers every slope and
intercept is exact and every edge is the exact crossing correctly rounded.  In general
a piece's map carries the rounding of its anchor's product (about ``u`` times the
anchor's map, also in terms of units that are off on the piece: a slope that is exactly
0 may come out as 1e-18), which the agreement rule (``kernels/agreement.py``) bounds.

Kinks.  An edge is a *kink* when the output's slope changes there.  The change is
carried as its own vector (``q * ds`` or ``dS``), never taken as the difference of two
rounded slopes, so a pattern change that only feeds dead units (gain 0) or zero weights
gives an exact zero: a boundary that is not a kink.  The rule is: kink iff that carried
change is nonzero in some output.  A change that cancels in exact arithmetic but not in
float64 (two paths of opposite sign) would be reported as a kink.

Where things are.  This module runs the walk: the layer tables (``_layer_tables``),
the pieces type (``LinePieces``), the orchestration of each layer (``_steps``: sorting
the crossings, allocation; a generator that hands its memory checks and matrix-matrix
products to its driver: ``walk`` for one line, ``walk_many`` for many lines of one
network, whose small products it stacks and whose walks it runs on every thread; one
line's layers run in segments of their pieces on the threads, "one line in segments"), the
cache of the last walk (``clear_cache``) and the grid evaluation (``sweep_deep``).  The loops over pieces and
units are the kernels of ``walk_numba.py`` (arrays in, arrays out; which kernel
does which step is listed there), or their C twin ``walk_c.py`` when built (``_kernels``); the scratch memory kept between walks, and the guard
that refuses a layer that would not fit, are in ``scratch.py``.

Comparisons with zero, and why each is exact rather than a tolerance.  No tolerance near
zero is used anywhere in the walk: a zero either is exact or is rounding's choice, and
the two are told apart by structure, never by size.  Those of the kernels (the side of
a unit from its map's signs, live and moving units, the exact zeros of ``_prefix``)
are accounted for in ``walk_numba.py``'s docstring; those here:

* ``walk``: the live and moving inputs at the anchors are counted through ``W != 0``
  (and a layer with no ``W == 0`` has all of them): a weight that is exactly zero
  contributes exactly nothing.
* kinks: ``evec != 0`` and ``eds != 0`` test the carried change of slope, a product of
  exact table differences and pushed vectors, never a difference of rounded slopes
  (see Kinks above).
* ``sweep_deep``: a point equal to an edge is evaluated by the reference (``==``, not a
  neighbourhood; ``_evaluate`` sets those points aside): only there can the pattern
  differ from the piece's.
* the agreement rule (``agreement.py``) excuses a point near a breakpoint only when
  rounding can decide its side, never an exact zero (its module docstring says how
  those are recognised).
"""

import numpy as np

from ..utils.config import WALK_SEGMENT_WORK, WALK_SEGMENTS_PER_THREAD
from ..utils.memory import available_memory
from . import dense_numpy as reference
from . import threads
from .cache import Last
from .dense_numpy import unpack_layers
from .engine import choose
from .scale import scale_layers, unscale, walk_scales, walk_scales_many
from .scratch import borrow, ensure_fits, give_back

_TWINS = {"c": ".walk_c", "numba": ".walk_numba"}  # the kernels: arrays in, arrays out

__all__ = ["LinePieces", "clear_cache", "sweep_deep", "walk", "walk_many"]


def _kernels():
    """The walk's kernels: the C twin (``walk_c``) when built, else the Numba one
    (``walk_numba``), or the engine ``$FASTRELU_BACKEND`` names (``engine.choose``)."""
    return choose(_TWINS, None, "the deep walk")


# ---------------------------------------------------------------------------------
# layer tables


def _layer_tables(alpha, lo, hi):
    """Breakpoints ``bps`` (sorted, finite), per-region gain and offset ``(nb+1, h)``, and
    the index of the breakpoint 0 (regions ``r <= idx0`` are ``z <= 0``)."""
    lo, hi = float(lo), float(hi)
    finite = [b for b in (lo, 0.0, hi) if np.isfinite(b)]
    bps = np.array(sorted(set(finite)), np.float64)
    nb = bps.shape[0]
    h = alpha.shape[0]
    gain = np.empty((nb + 1, h), np.float64)
    offs = np.empty((nb + 1, h), np.float64)
    for r in range(nb + 1):
        if r == 0:
            z = bps[0] - (abs(bps[0]) + 1.0)
        elif r == nb:
            z = bps[-1] + (abs(bps[-1]) + 1.0)
        else:
            z = 0.5 * bps[r - 1] + 0.5 * bps[r]
        pos = z > 0
        v = z if pos else alpha * z
        dv = np.ones(h) if pos else alpha.copy()
        inside = (v > lo) & (v < hi)
        a = np.clip(v, lo, hi) if not pos else np.full(h, min(max(z, lo), hi))
        g = np.where(inside, dv, 0.0)
        gain[r] = g
        offs[r] = np.where(inside, 0.0, a)  # a = g*z + o: o = 0 where linear, the clamp where clamped
    idx0 = int(np.searchsorted(bps, 0.0))
    return bps, gain, offs, idx0


# ---------------------------------------------------------------------------------
# the pieces


class LinePieces:
    """The pieces of a network of a scalar ``t`` on ``[start, stop]``, from ``walk``.

    Attributes
    ----------
    edges : (P + 1,) float64
        Strictly increasing; ``edges[0] = start``, ``edges[-1] = stop``.  The interior
        edges ``edges[1:-1]`` are the boundaries: places where some hidden unit crosses a
        breakpoint (0, or its layer's clamp ``lo``/``hi``) so that its region changes.
    slope, intercept : (P, out) float64
        The output on the open piece ``edges[p] < t < edges[p+1]`` is
        ``slope[p] * t + intercept[p]``.
    negative_by_layer : (P, L) int32
        Hidden units with ``z <= 0`` in each layer on each open piece.
    cross_offsets : (P,) int64, cross_layer, cross_unit : (M,) int32
        CSR: the (layer, unit) pairs crossing at interior edge ``e`` (at ``edges[e+1]``)
        are ``cross_layer[cross_offsets[e]:cross_offsets[e+1]]`` and likewise units.
    kink : (P - 1,) bool
        Whether the output's slope changes at each interior edge: the change, carried as
        its own vector through the layers (never a difference of rounded slopes), is
        nonzero in some output.  A change that reaches only dead units or zero weights is
        exactly zero: such an edge is a boundary, not a kink.
    merged : int
        Crossings that share their edge with another crossing because float64 puts them at
        the same ``t`` (so the pieces between them, too short for float64, are counted here
        instead of dropped).  Crossings that coincide exactly count too: float64 cannot tell
        them from nearly coincident ones.  Equal to ``M - (P - 1)``.
    suppressed : int
        Pairs of crossings of one unit around an edge that only rounding made (the map on
        the left crosses just before the edge, the one on the right just after it, in the
        same direction); the region carried along is kept.  Zero in exact arithmetic.
    start, stop : float
    """

    __slots__ = (
        "cross_layer",
        "cross_offsets",
        "cross_unit",
        "edges",
        "intercept",
        "kink",
        "merged",
        "negative_by_layer",
        "slope",
        "start",
        "stop",
        "suppressed",
    )

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    @property
    def pieces(self):
        """Number of open pieces P (boundaries + 1)."""
        return self.edges.shape[0] - 1

    @property
    def boundaries(self):
        """Number of interior edges, P - 1."""
        return self.edges.shape[0] - 2

    @property
    def kinks(self):
        """Number of interior edges where the output's slope changes."""
        return int(np.count_nonzero(self.kink))

    def crossings(self, e):
        """``(layer, unit)`` arrays of the crossings at interior edge ``e`` (``edges[e+1]``)."""
        a, b = self.cross_offsets[e], self.cross_offsets[e + 1]
        return self.cross_layer[a:b], self.cross_unit[a:b]

    def __repr__(self):
        return f"LinePieces(pieces={self.pieces}, kinks={self.kinks}, start={self.start}, stop={self.stop})"


# ---------------------------------------------------------------------------------
# the walk


def _validate(widths, weights, biases, alpha, lo, hi):
    widths = np.asarray(widths, np.int64)
    if widths.ndim != 1 or widths.shape[0] < 2 or widths[0] != 1 or np.any(widths < 1):
        raise ValueError("widths must be [1, h1, ..., hL, out] with positive entries")
    L = widths.shape[0] - 2
    nw = int(np.sum(widths[1:] * widths[:-1]))
    nb = int(np.sum(widths[1:]))
    if weights.shape != (nw,) or biases.shape != (nb,):
        raise ValueError(f"weights and biases must have {nw} and {nb} entries")
    if alpha.shape != (int(np.sum(widths[1:-1])),) or lo.shape != (L,) or hi.shape != (L,):
        raise ValueError("alpha must have one entry per hidden unit, lo and hi one per hidden layer")
    return widths, L


def _anchor_spacing(fan_in):
    # an anchor costs two rows of the product, an edge one row or none: every K-th piece
    # keeps the anchors' share of the product small and the prefix sums short
    return int(max(64, fan_in // 4))


_ROWS = 64  # rows of a product per unit of parallel work: never one (a vector product sums in another order)
# Multiply-adds per BLAS call of a product split over the threads, at least.  OpenBLAS
# takes small products (under 10^6 multiply-adds on AVX-512) through "small matrix"
# kernels that sum a row in another order than its GEMM kernel: a 10-output layer's
# product cut in blocks of 64 rows changed the output's slopes in the last bit (on two
# threads, not on one).  Above this a block takes the GEMM kernel, as the whole does.
_MIN_MULS = 1 << 22


def _product(X, W, out):
    """``X @ W.T`` into ``out`` (a new array for None): every row of the layer's
    matrix-matrix product at once (BLAS), in blocks of at least ``_ROWS`` rows and
    ``_MIN_MULS`` multiply-adds (the last one taking the rest) over fastrelu's threads
    when BLAS is held to one thread (``threads.blas_pinned``).  A row's sum is BLAS's matrix-matrix kernel's either way."""
    if out is None:
        out = np.empty((X.shape[0], W.shape[0]))
    n = X.shape[0]
    least = max(_ROWS, -(-_MIN_MULS // max(1, W.size)))  # rows of a block
    blocks = n // least
    if blocks < 2 or threads.get_num_threads() < 2 or not threads.blas_is_pinned():
        return np.matmul(X, W.T, out=out)
    WT = W.T

    def rows(c0, c1):
        r0, r1 = c0 * least, (n if c1 == blocks else c1 * least)
        np.matmul(X[r0:r1], WT, out=out[r0:r1])

    threads.run(rows, blocks)
    return out


class _Crossings:
    """Event arrays of a layer's scan and their counts, sized for ``P`` pieces of ``h`` units."""

    def __init__(self, P, h, cap=None):
        cap = 2 * (P + h) + 1024 if cap is None else cap
        self.first = np.empty(h, np.int8)
        self.scratch = (np.empty(h, np.int8), np.empty(h, np.bool_), np.empty(h, np.int8))
        self.sc = np.zeros(2, np.int64)
        self.ev = (np.empty(cap, np.int64), np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int8))

    def args(self):
        return (self.first, *self.scratch, self.sc, *self.ev)


def _scan_layer(te, S, C, bps):
    """The scan of a layer's pieces, its event arrays grown until every crossing fits.
    Returns the regions on the first piece, the crossings (piece, t, unit, region after)
    and the number of suppressed pairs."""
    P, h = S.shape
    cr, cap = None, None
    while cr is None or cr.sc[0] < 0:
        if cr is not None:
            cap = 4 * cr.ev[0].shape[0]
        cr = _Crossings(P, h, cap)
        _kernels()._scan(te, S, C, bps, *cr.args())
    n = cr.sc[0]
    return cr.first, tuple(a[:n] for a in cr.ev), int(cr.sc[1])


def _transposed(W, WT):
    """``WT = W.T`` (its rows are the columns of ``W``)."""
    if W.shape[0] < 32 or W.shape[1] < 32:
        WT[...] = W.T
    else:
        _kernels()._transpose(W, WT, 0, W.shape[1])
    return WT


# ---------------------------------------------------------------------------------
# one line in segments
#
# A layer of one walk runs in segments of its pieces on the threads: ``_fill`` and
# ``_prefix`` take a range of pieces, and ``_prefix`` scans each piece for the next layer
# as it goes.  Every piece gets the very operations it gets in one piece, so the result
# is the same bits whatever the segments (tests/test_walk_segments.py):
#
# * a segment starts at an anchor piece (``_cuts``), whose maps come from its own rows
#   of the product; the prefix sums of the pieces after it never read a piece before it.
# * ``_fill`` of a segment starts from the regions of this layer's units on the piece
#   before it: the first piece's, with every crossing up to there applied in order
#   (``_regions_at``), exactly what the one-piece run holds when it gets there.
# * the scan carries each unit's region from piece to piece, but what it carries out of
#   a piece is the region at the piece's right end read from that piece's own map,
#   whatever was carried in (a flagged unit ends at its last crossing inside, and the
#   map's crossings are monotone in the breakpoint, so that is the same region; a
#   suppressed pair leaves it too).  So a segment scans its first piece with nothing
#   carried in (the regions its map gives at its start), and from its second piece on
#   it carries what the one-piece scan carries.  Its first piece is then scanned again
#   once the segment before is done (``_rescan_first``), as the one-piece scan sees it:
#   from the last piece before, with nothing carried in, that piece's crossings dropped.
#   A unit crossing exactly at the cut (its region on the first piece is not the one
#   carried out of the piece before) is found there, once.  A cut is no edge: the
#   pieces stay the walk's own.
# Why not walk the segments of the line as separate lines and join them: each would
# start with its own anchor, and the maps of pieces a rounding apart put deeper edges a
# rounding apart (measured: 698 of 1,897 edges on a 1 -> [256] x 8 -> 1 network).

_NO_SCAN = (np.zeros(1), *_Crossings(1, 1, 1).args())  # _prefix's scan arguments when it does not scan


def _cuts(arow, work):
    """The first piece of each segment and the end, ``[0, ..., P]``: about equal numbers of
    pieces, each cut moved to the next anchor piece: at most ``WALK_SEGMENTS_PER_THREAD``
    per thread, of at least ``WALK_SEGMENT_WORK`` pieces x units each (``work`` in all).
    One thread, or too little work: one segment, the walk in one piece."""
    P = arow.shape[0]
    n = min(WALK_SEGMENTS_PER_THREAD * threads.get_num_threads(), work // WALK_SEGMENT_WORK)
    if n < 2:
        return np.array([0, P])
    anchors = np.flatnonzero(arow >= 0)
    at = np.searchsorted(anchors, (np.arange(1, n) * P) // n)
    inner = np.unique(anchors[at[at < anchors.shape[0]]])
    return np.concatenate(([0], inner[inner > 0], [P]))


def _regions_at(first, cuts, e_ev, order, ev_j, ev_r):
    """The regions of a layer's units on the piece before each segment (on piece 0 for the
    first): ``first`` with every crossing before that piece's right edge applied in order."""
    cur, done, out = first.copy(), 0, [first.copy()]
    for i0 in cuts[1:-1]:
        upto = int(e_ev[i0 - 1])  # crossings at edges before edge i0 - 1 come first in ``order``
        q = order[done:upto][::-1]  # the last crossing of each unit wins
        units, last = np.unique(ev_j[q], return_index=True)
        cur[units] = ev_r[q[last]]
        done = upto
        out.append(cur.copy())
    return out


def _fill_segments(kern, cuts, curs, args):
    """``_fill`` of each segment, from its regions ``curs[c]``, on the threads; ``args``
    are ``_fill``'s from ``gain`` on, each segment's scratch its own."""

    def fill(c0, c1):
        for c in range(c0, c1):
            h = curs[c].shape[0]
            G, O = np.empty((2, h))
            kern._fill(cuts[c], cuts[c + 1], curs[c], G, O, np.empty(h), np.empty(h, np.int64), *args)

    threads.run(fill, cuts.shape[0] - 1)


def _prefix_segments(kern, cuts, before, after, te, bps):
    """``_prefix`` of each segment on the threads (each starts at an anchor: its sums start
    from its own rows of the product) with the next layer's scan (breakpoints ``bps``;
    None: none), as ``_scan_layer`` returns it (see above).  ``before`` and ``after`` are
    ``_prefix``'s arguments around its scratch ``sh, sl, ch, cl``."""
    S2, C2 = after[0], after[1]
    w2 = S2.shape[1]
    parts = [None] * (cuts.shape[0] - 1)

    def sums(i0, i1, scan):
        sh, sl, ch, cl = np.empty((4, w2))
        kern._prefix(i0, i1, *before, sh, sl, ch, cl, *after, np.empty(w2, np.int64), np.empty(w2, np.int64),
                     scan is not _NO_SCAN, te, *scan)

    def prefix(c0, c1):
        for c in range(c0, c1):
            i0, i1 = cuts[c], cuts[c + 1]
            if bps is None:
                sums(i0, i1, _NO_SCAN)
                continue
            cr = _Crossings(i1 - i0, w2)
            carried, flag, r0s = cr.scratch
            if i0 > 0:  # nothing carried in: the regions the first piece's map gives at its start
                sums(i0, i0 + 1, _NO_SCAN)
                kern._scan_pass(te, S2, C2, bps, i0, True, carried, r0s, flag)
                carried[...] = r0s
            sums(i0, i1, (bps, *cr.args()))
            if cr.sc[0] >= 0:
                n = cr.sc[0]
                parts[c] = (cr.first, tuple(a[:n] for a in cr.ev), int(cr.sc[1]))
            else:  # more crossings than room: the segment's scan again, alone, nothing carried in
                first, ev, sup = _scan_layer(te[i0 : i1 + 1], S2[i0:i1], C2[i0:i1], bps)
                parts[c] = (first, (ev[0] + i0, *ev[1:]), sup)

    threads.run(prefix, len(parts))
    if bps is None:
        return None
    for c in range(1, len(parts)):
        parts[c] = _rescan_first(te, S2, C2, bps, cuts[c], parts[c])
    ev = tuple(np.concatenate([p[1][f] for p in parts]) for f in range(4))
    return parts[0][0], ev, sum(p[2] for p in parts)


def _rescan_first(te, S, C, bps, i0, part):
    """A segment's scan ``part`` with the crossings on its first piece ``i0`` as the
    one-piece scan finds them: pieces ``i0 - 1`` and ``i0`` scanned, nothing carried
    into the first, whose crossings are dropped."""
    _, ev, sup = _scan_layer(te[i0 - 1 : i0 + 2], S[i0 - 1 : i0 + 1], C[i0 - 1 : i0 + 1], bps)
    on, rest = ev[0] == 1, part[1][0] > i0
    return part[0], tuple(np.concatenate((e[on] + (i0 - 1 if f == 0 else 0), r[rest]))
                          for f, (e, r) in enumerate(zip(ev, part[1]))), part[2] + sup


def walk(widths, weights, biases, alpha, lo, hi, start, stop, *, done=None):
    """The pieces of a network of a scalar ``t`` on ``[start, stop]``, found exactly.

    On ``threads.get_num_threads()`` threads: the products in blocks of rows, and each
    layer with enough pieces in segments of its pieces, one per thread or more (see
    "one line in segments" below); the result is the same bits on any number of threads.

    Parameters
    ----------
    widths, weights, biases, alpha, lo, hi
        As for ``fastrelu.kernels.dense_numpy.sweep_deep`` (flat arrays; float32 or
        float64, walked in float64).  A layer with a finite clamp must have ``alpha == 1``.
    start, stop : float
        ``start <= stop``; either may be infinite.
    done : callable, optional
        Called with the number of hidden layers walked so far, after each one (a
        progress bar's update).

    Returns
    -------
    LinePieces

    Examples
    --------
    >>> import numpy as np
    >>> from fastrelu.model.network import Network
    >>> from fastrelu.kernels.params import deep_params
    >>> p = deep_params(Network.random([1, 16, 16, 1], seed=0), np.dtype(np.float64))
    >>> lp = walk(*p, -10.0, 10.0)
    >>> bool(lp.edges[0] == -10.0 and lp.edges[-1] == 10.0), lp.pieces == lp.boundaries + 1
    (True, True)
    """
    given = (widths, weights, biases, alpha, lo, hi)  # the network's own arrays: the key of its facts
    widths, layers, alpha, lo, hi = _prepared(*given)
    exps, live = _facts.get(given, (), lambda: (walk_scales(layers, _forms(widths, alpha, lo, hi)), _live(layers)))
    steps = _steps(widths, layers, alpha, lo, hi, start, stop, exps, live, split=True, done=done)
    try:
        with threads.blas_pinned():
            return _drive(steps)
    finally:
        steps.close()


def _drive(steps):
    """Run one walk's generator to its end, doing its memory checks and products."""
    try:
        request = next(steps)
        while True:
            if request[0] == "fit":
                ensure_fits(request[1], *request[3])
            else:
                _product(*request[2:])
            request = steps.send(None)
    except StopIteration as done:
        return done.value


def walk_many(widths, weights, biases, alpha, lo, hi, firsts, start, stop, *, done=None):
    """The pieces of many lines of one network at once, each as ``walk`` finds it alone.

    Line ``i`` is the network with its first layer replaced by ``firsts[i]`` (the line
    folded in: ``(w, b)``, ``w`` of shape ``(h1, 1)``); the other layers are shared.

    The walks advance together, on ``threads.get_num_threads()`` threads (each walk's
    scans, splits and prefix sums are C or Numba twins that release the GIL), and wherever
    several of them reach the product of the same layer with equal weights (the lines of
    one network: only the folded first layer differs), their rows are stacked into one
    matrix-matrix product.  The products run between the walks' steps, never beside
    them, so BLAS's threads and the walks' own never compete for the cores.

    Memory: each layer of a walk says what it will allocate before it does; the walks
    that fit in the memory available go on, the others wait until those have gone
    further or finished (a batch that would not fit is split, not refused).  A walk
    that does not fit on its own is refused as ``walk`` refuses it.

    Parameters
    ----------
    widths, weights, biases, alpha, lo, hi
        The network of a scalar, as ``walk`` takes it (its first layer is not read).
    firsts : sequence of (w, b)
        Each line's first layer.
    start, stop : float
        The interval every line is walked over.
    done : callable, optional
        Called with the number of walks finished so far, each time some finish.

    Returns
    -------
    list of LinePieces
        In the order of ``firsts``; each equal to what ``walk`` gives for that line alone.

    Examples
    --------
    >>> import numpy as np
    >>> from fastrelu.model.network import Network
    >>> from fastrelu.kernels.params import deep_params
    >>> net = Network.random([1, 8, 8, 1], seed=0)
    >>> p = deep_params(net, np.dtype(np.float64))
    >>> other = Network.random([1, 8, 8, 1], seed=1).layers[0]
    >>> a, b = walk_many(*p, [net.layers[0], other], -1.0, 1.0)
    >>> bool(np.array_equal(a.edges, walk(*p, -1.0, 1.0).edges))
    True
    """
    widths, layers, alpha, lo, hi = _prepared(widths, weights, biases, alpha, lo, hi)
    forms, live = _forms(widths, alpha, lo, hi), _live(layers)

    def first(w, b):
        own = (np.asarray(w, np.float64).reshape(-1, 1), np.asarray(b, np.float64).ravel())
        if own[0].shape != layers[0][0].shape or own[1].shape != layers[0][1].shape:
            raise ValueError(f"firsts: each first layer must be ({layers[0][0].shape[0]}, 1) weights and as many biases")
        return own

    firsts = [first(w, b) for w, b in firsts]
    scales = walk_scales_many(layers, forms, firsts)  # the shared layers' bounds taken once, for every line
    one = len(firsts) == 1  # one line: its layers in segments on the threads, as ``walk`` runs it
    steps = [_steps(widths, [f, *layers[1:]], alpha, lo, hi, start, stop, e, live, split=one)
             for f, e in zip(firsts, scales)]
    out = [None] * len(steps)
    requests = {}  # walk -> its pending request
    ready = list(range(len(steps)))  # walks to advance this round
    try:
        with threads.blas_pinned():
            _run_many(steps, out, requests, ready, done)
    finally:
        for g in steps:
            g.close()
    return out


_WORKING_SET = 1 << 26  # bytes: walks are started while those under way need less at their last layer
_STACK_ROWS = 1024  # products of fewer rows are stacked, up to this many rows a product


def _run_many(steps, out, requests, ready, done):
    """``walk_many``'s rounds: the walks' steps in parallel, then their memory checks and
    their products, small ones stacked.

    Not every walk starts at once: a walk is started while fewer than the threads are
    under way or those under way need less than ``_WORKING_SET`` bytes at their current
    layer, so that many short walks share their products, while long ones (whose own
    products are large enough for BLAS) keep their memory in cache and the working set
    small."""
    finished = 0
    pending = list(reversed(ready))  # walks not started, the first last
    ready = []
    held = {}  # walk under way -> bytes its current layer needs
    while pending or ready or requests:
        while pending and (len(held) < threads.get_num_threads() or sum(held.values()) < _WORKING_SET):
            i = pending.pop()
            held[i] = 0
            ready.append(i)
        got = [None] * len(ready)

        def advance(c0, c1, ready=ready, got=got):
            for c in range(c0, c1):
                try:
                    got[c] = steps[ready[c]].send(None)
                except StopIteration as stop:
                    got[c] = ("done", stop.value)

        # the walks' own steps, in parallel (no product runs meanwhile)
        threads.run(advance, len(ready))
        for i, request in zip(ready, got):
            if request[0] == "done":
                out[i] = request[1]
                del held[i]
                finished += 1
            else:
                requests[i] = request
                if request[0] == "fit":
                    held[i] = request[1]
        if done is not None and any(g[0] == "done" for g in got):
            done(finished)
        ready = _grant([i for i in sorted(requests) if requests[i][0] == "fit"], requests)
        ready += _stacked_products([i for i in sorted(requests) if requests[i][0] == "product"], requests)
        for i in ready:
            del requests[i]


def _grant(waiting, requests):
    """The walks among ``waiting`` (at a memory check) that may allocate now: in order,
    as long as their needs, and their stacked products, fit in the memory available
    (counting each one's scratch, which it reuses).  When every walk waits and the first
    one does not fit, it is checked alone (``ensure_fits`` refuses it)."""
    if not waiting:
        return []
    available = available_memory()
    if available is None:  # memory that cannot be read refuses nothing
        return waiting
    granted, total = [], 0
    for i in waiting:
        _, need, stacked, args = requests[i]
        total += max(0, need - args[0].nbytes()) + stacked  # its scratch is reused; the stacked copy is new
        if total > available:
            break
        granted.append(i)
    if not granted and len(waiting) == len(requests):  # nothing else runs: this one alone
        i = waiting[0]
        ensure_fits(requests[i][1], *requests[i][3])
        granted = [i]
    return granted


def _stacked_products(waiting, requests):
    """Every product of ``waiting``.  Products of fewer than ``_STACK_ROWS`` rows at one
    layer of one network's weights are stacked into matrix-matrix products of up to
    ``_STACK_ROWS`` rows, each walk's rows then copied into its ``Y``; larger ones are
    large enough for BLAS alone (stacking them would only copy them)."""
    groups = []  # [key, W, [walks], rows]
    for i in waiting:
        _, key, X, W, Y = requests[i]
        if X.shape[0] >= _STACK_ROWS:
            _product(X, W, Y)
            continue
        for g in groups:
            if g[0] == key and g[3] + X.shape[0] <= _STACK_ROWS and (
                    g[1] is W or (g[1].shape == W.shape and np.array_equal(g[1], W))):
                g[2].append(i)
                g[3] += X.shape[0]
                break
        else:
            groups.append([key, W, [i], X.shape[0]])
    for _, W, members, _ in groups:
        if len(members) == 1:
            _, _, X, _, Y = requests[members[0]]
            _product(X, W, Y)
            continue
        rows = [requests[i][2].shape[0] for i in members]
        Yall = _product(np.concatenate([requests[i][2] for i in members]), W, None)
        r0 = 0
        for i, r in zip(members, rows):
            requests[i][4][...] = Yall[r0 : r0 + r]
            r0 += r
    return list(waiting)


def _prepared(widths, weights, biases, alpha, lo, hi):
    """The network's arrays validated, in float64: ``(widths, layers, alpha, lo, hi)``."""
    widths, _ = _validate(widths, np.asarray(weights).ravel(), np.asarray(biases).ravel(),
                          np.asarray(alpha).ravel(), np.asarray(lo).ravel(), np.asarray(hi).ravel())
    weights = np.asarray(weights, np.float64).ravel()
    biases = np.asarray(biases, np.float64).ravel()
    layers = unpack_layers(widths, weights, biases)
    return widths, layers, *(np.asarray(a, np.float64).ravel() for a in (alpha, lo, hi))


def _forms(widths, alpha, lo, hi):
    """``(alpha, lo, hi)`` of each hidden layer."""
    forms, u0 = [], 0
    for k in range(widths.shape[0] - 2):
        h = int(widths[k + 1])
        forms.append((alpha[u0 : u0 + h], lo[k], hi[k]))
        u0 += h
    return forms


def _live(layers):
    """Per layer after the first, ``W != 0`` as 0/1 (for counting live inputs), or None where
    no weight is zero (every input is then live through it)."""
    return [(w != 0.0).astype(np.float64) if np.any(w == 0.0) else None for w, _ in layers[1:]]


def _steps(widths, layers, alpha, lo, hi, start, stop, exps, live, split=False, done=None):
    """``walk`` as a generator that hands out its memory checks and its products.

    It yields ``("fit", need, stacked, args)`` before a layer allocates (``need`` bytes, as
    ``ensure_fits(need, *args)`` counts them; ``stacked`` more if its product is stacked
    with other walks') and ``("product", key, X, W, Y)`` where ``Y = X @ W.T`` is due
    (``key`` names the layer: walks of one network at the same key share ``W``).  The
    driver does each and sends None; the generator returns the ``LinePieces``.  ``walk``
    drives one walk, ``walk_many`` many at once, their products stacked.  The arguments
    are ``_prepared``'s, the power-of-two scales ``exps`` (``scale.walk_scales``) and
    ``_live(layers)``.
    """
    L = widths.shape[0] - 2
    start, stop = float(start), float(stop)
    if not start <= stop:
        raise ValueError(f"need start <= stop, got {start} and {stop}")
    sparse = [m is not None for m in live]
    # pre-activations beyond float64's range: walk a copy scaled by powers of two (scale.py)
    if exps is not None:
        layers, clamps = scale_layers(layers, _forms(widths, alpha, lo, hi), exps)
        lo = np.array([c[0] for c in clamps], np.float64)
        hi = np.array([c[1] for c in clamps], np.float64)

    te = np.array([start, stop])
    w0, b0 = layers[0]
    S = np.ascontiguousarray(w0[:, 0])[None, :].copy()
    C = b0[None, :].copy()
    neg = np.zeros((1, 0), np.int32)
    # the last product and how the edges' vectors sit in it (see _fill)
    Y = np.zeros((0, S.shape[1]))
    row = np.zeros(0, np.int64)
    WT = np.zeros((0, S.shape[1]))
    ecol = np.zeros(0, np.int64)
    src = np.zeros(0, np.int8)
    ekind = np.zeros(0, np.int8)
    eds = np.zeros(0)
    edc = np.zeros(0)
    all_t, all_j, all_l = [], [], []
    suppressed = 0
    scratch = borrow()  # this walk's own until it returns
    u0 = 0
    tables = []
    for k in range(L):
        h = int(widths[k + 1])
        al = alpha[u0 : u0 + h]
        u0 += h
        if (np.isfinite(lo[k]) or np.isfinite(hi[k])) and np.any(al != 1.0):
            raise ValueError(f"layer {k}: a clamp (lo, hi) needs alpha == 1 for the whole layer")
        if np.isfinite(lo[k]) and np.isfinite(hi[k]) and not lo[k] < hi[k]:
            raise ValueError(f"layer {k}: need lo < hi")
        tables.append(_layer_tables(al, lo[k], hi[k]))
    kern = _kernels()
    cr = None  # the scan of the next layer, done with the prefix sums of this one
    split = split and threads.get_num_threads() > 1
    for k in range(L):
        h = S.shape[1]
        bps, gain, offs, idx0 = tables[k]
        P = S.shape[0]
        # 1. scan
        first, (ev_p, ev_t, ev_j, ev_r), sup = cr if cr is not None else _scan_layer(te, S, C, bps)
        suppressed += sup
        n = ev_p.shape[0]
        # by piece, then t; crossings at one t by unit, then in the order the unit made them
        order = np.lexsort((ev_j, ev_t, ev_p))
        all_t.append(ev_t)
        all_j.append(ev_j)
        all_l.append(np.full(n, k, np.int32))
        # 2. split
        W, b = layers[k + 1]
        K = _anchor_spacing(h)
        cap_p = P + n
        te_new = np.empty(cap_p + 1)
        par = np.empty(cap_p, np.int64)
        src_n = np.empty(cap_p, np.int8)
        e_old = np.empty(cap_p, np.int64)
        e_ev = np.empty(cap_p, np.int64)
        e_n = np.empty(cap_p, np.int64)
        row_n = np.empty(cap_p, np.int64)
        arow = np.empty(cap_p, np.int64)
        Pn, nrow = kern._plan(te, ev_p, ev_t, order, ekind, K, te_new, par, src_n, e_old, e_ev, e_n, row_n, arow)
        w2 = layers[k + 1][0].shape[0]
        # rows of the product and the product, the maps of the new pieces (and the next
        # layer's scan), the liveness rows: counted before any of them is allocated
        anchors = int(np.count_nonzero(arow[:Pn] >= 0))
        yield ("fit", 8 * (nrow * (h + w2) + 2 * anchors * (h + w2) + 3 * Pn * w2) + 64 * Pn + 32 * (Pn + w2),
               8 * nrow * (h + w2), (scratch, k, Pn, max(h, w2), start, stop))
        te_new, par, arow = te_new[: Pn + 1], par[:Pn], arow[:Pn]
        src_n, e_old, e_ev, e_n, row_n = src_n[: Pn - 1], e_old[: Pn - 1], e_ev[: Pn - 1], e_n[: Pn - 1], row_n[: Pn - 1]
        # 3. rows of the product, the product, the prefix sums
        X = scratch.take("X", (nrow, h))
        nneg = np.empty(Pn, np.int32)
        ecol_n = np.zeros(Pn - 1, np.int64)
        eds_n = np.empty(Pn - 1)
        edc_n = np.empty(Pn - 1)
        ekind_n = np.empty(Pn - 1, np.int8)
        elive = np.empty((Pn - 1, 2), np.int8)
        aidx = np.cumsum(arow >= 0) - 1
        XL = scratch.take("XL", (2 * (int(aidx[-1]) + 1), h))
        cuts = _cuts(arow, Pn * max(h, w2)) if split else np.array([0, Pn])
        _fill_segments(kern, cuts, _regions_at(first, cuts, e_ev, order, ev_j, ev_r),
                       (gain, offs, idx0, S, C, par, src_n, e_old, e_ev, e_n, row_n, arow, order, ev_j, ev_r, Y, row,
                        WT, ecol, src, ekind, eds, edc, X, nneg, ecol_n, eds_n, edc_n, ekind_n, aidx, XL, elive))
        # (the last product, W.T and the maps of the pieces are read for the last time above)
        Y = scratch.take("Y", (nrow, w2))
        yield ("product", k, X, W, Y)
        if k < L - 1:
            S2, C2 = scratch.take("S", (Pn, w2)), scratch.take("C", (Pn, w2))
        else:  # the walk's result
            S2, C2 = np.empty((Pn, w2)), np.empty((Pn, w2))
        WT = _transposed(W, scratch.take("WT", (W.shape[1], w2)))
        # live and moving inputs of every unit at the anchors: counts of 0/1 terms, exact in float64
        YL = scratch.take("YL", (XL.shape[0], w2))
        if sparse[k]:
            yield ("product", (k, "live"), XL, live[k], YL)
        else:  # no zero weight: every unit of the next layer has all the live inputs
            YL[...] = XL.sum(axis=1)[:, None]
        cr = _prefix_segments(kern, cuts, (Y, b, WT, src_n, row_n, arow, ecol_n, eds_n, edc_n),
                              (S2, C2, aidx, YL, elive), te_new, tables[k + 1][0] if k < L - 1 else None)
        neg_n = np.empty((Pn, k + 1), np.int32)
        neg_n[:, :k] = neg[par]
        neg_n[:, k] = nneg
        te, S, C, neg = te_new, S2, C2, neg_n
        src, row, ecol, ekind, eds, edc = src_n, row_n, ecol_n, ekind_n, eds_n, edc_n
        if done is not None:
            done(k + 1)
    P = S.shape[0]
    # kinks: the carried change of the output's slope
    evec = np.empty((P - 1, S.shape[1]))
    new = src == 2
    evec[new] = WT[ecol[new]]
    evec[~new] = Y[row[~new]]
    nz = np.any(evec != 0.0, axis=1)
    kink = np.where(ekind == 0, nz & (eds != 0.0), nz)
    # crossings, as CSR over the interior edges
    if L:
        ct = np.concatenate(all_t)
        cj = np.concatenate(all_j)
        cl = np.concatenate(all_l)
    else:
        ct, cj, cl = np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int32)
    ce = np.searchsorted(te, ct) - 1
    o = np.lexsort((cj, cl, ce))
    counts = np.bincount(ce, minlength=P - 1) if P > 1 else np.zeros(0, np.int64)
    offsets = np.zeros(P, np.int64)
    np.cumsum(counts, out=offsets[1:])
    give_back(scratch)
    if exps is not None:
        S, C = unscale(S, exps[-1], "slope"), unscale(C, exps[-1], "intercept")
    return LinePieces(
        edges=te, slope=S, intercept=C, negative_by_layer=neg,
        cross_offsets=offsets, cross_layer=cl[o].astype(np.int32), cross_unit=cj[o].astype(np.int32),
        kink=kink, merged=int(ct.shape[0] - (P - 1)), suppressed=int(suppressed), start=start, stop=stop,
    )


# ---------------------------------------------------------------------------------
# the cache of the last walk, and the sweep

# The last network's pieces (so that a sweep run chunk by chunk walks once), and its
# facts (power-of-two scales, which weight matrices have zeros), which every walk of it
# needs whatever the interval.
_walks = Last()
_cache = _walks.slot  # (refs, start, stop, LinePieces)
_facts = Last()


def clear_cache():
    """Forget the cached pieces and facts (benchmarks that must time the walk call this)."""
    _walks.clear()
    _facts.clear()


def _pieces_for(params, start, stop):
    # only the walk of this very interval: a wider one may place an edge, or an anchor,
    # one rounding apart, and a point's bits must not depend on what was walked before
    return _walks.get(params, (start, stop), lambda: walk(*params, start, stop))


def sweep_deep(t, widths, weights, biases, alpha, lo, hi, y, slope, negative, span=None):
    """The exact backend's deep sweep: the contract of ``fastrelu.kernels.dense_numpy.sweep_deep``.

    The network is walked once over ``span`` (the whole request's ``[min t, max t]``, of
    which ``t`` may be a chunk; by default ``t``'s own: ``walk``; the last network's pieces
    are cached for that interval), then each point reads its piece: ``y = slope * t + intercept`` in float64,
    stored in ``t``'s dtype.  The walk reaches one float64 step beyond the span, so the
    first and last points read their pieces too.  Points exactly on an interior edge of the
    walk (where the pattern may change) are evaluated directly by the reference, so at a breakpoint
    the slope and counts follow PyTorch's convention (ReLU'(0) = 0, Hardtanh' = 0 at its ends).
    """
    n = t.shape[0]
    if n == 0:
        return
    with np.errstate(invalid="ignore"):
        t_lo, t_hi = np.nanmin(t) if not np.all(np.isnan(t)) else np.nan, np.nanmax(t) if not np.all(np.isnan(t)) else np.nan
    params = (widths, weights, biases, alpha, lo, hi)
    if span is not None and not np.isnan(t_lo):
        if not (span[0] <= t_lo and t_hi <= span[1]):
            raise ValueError(f"span {tuple(span)} does not hold the points (from {t_lo} to {t_hi})")
        t_lo, t_hi = span
    if np.isnan(t_lo):
        idx = np.arange(n)
    else:
        # one float64 step beyond the points: the ends of the walk are then no point's
        # edge, so the first and last points read their pieces like every other (the
        # reference there gave a slope a rounding apart from the piece's: a phantom slope
        # change in figures), while a unit switching exactly at an end is an interior edge
        lp = _pieces_for(params, float(np.nextafter(t_lo, -np.inf)), float(np.nextafter(t_hi, np.inf)))
        kern = _kernels()
        nchunks = (n + kern._CHUNK - 1) // kern._CHUNK
        hits = np.empty((nchunks, kern._HITS), np.int64)
        nhits = np.empty(nchunks, np.int64)
        args = (t, lp.edges, lp.slope, lp.intercept, lp.negative_by_layer, y, slope, negative, hits, nhits)
        threads.run(lambda c0, c1: kern._evaluate(c0, c1, *args), nchunks)
        parts = []
        for c in np.flatnonzero(nhits):
            if nhits[c] <= kern._HITS:
                parts.append(hits[c, : nhits[c]])
            else:
                i0 = c * kern._CHUNK
                tt = np.asarray(t[i0 : i0 + kern._CHUNK], np.float64)
                k = np.searchsorted(lp.edges, tt)
                on = (k == 0) | (k >= lp.edges.shape[0]) | np.isnan(tt)
                on |= lp.edges[np.minimum(k, lp.edges.shape[0] - 1)] == tt
                parts.append(i0 + np.flatnonzero(on))
        idx = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    if idx.shape[0]:
        f = np.float64
        net64 = (widths, np.asarray(weights, f), np.asarray(biases, f), np.asarray(alpha, f), np.asarray(lo, f), np.asarray(hi, f))
        # each distinct point once, and one at a time: BLAS sums a row of a product in an
        # order that depends on how many rows there are (a vector product for one), and a
        # point's bits must not depend on which other points fell on an edge with it
        tt, inverse = np.unique(np.asarray(t[idx], f), return_inverse=True)
        yy = np.empty((tt.shape[0], y.shape[1]))
        ss = np.empty_like(yy)
        nn = np.empty((tt.shape[0], negative.shape[1]), np.int32)
        for i in range(tt.shape[0]):
            reference.sweep_deep(tt[i : i + 1], *net64, yy[i : i + 1], ss[i : i + 1], nn[i : i + 1])
        y[idx], slope[idx], negative[idx] = yy[inverse], ss[inverse], nn[inverse]
