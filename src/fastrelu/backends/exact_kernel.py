"""exact backend: sort the H switch points once, then read every grid point off prefix sums.

Unit j switches at ``t_j = -b1[j] / w1[j]``.  Going left to right, a unit with
``w1 > 0`` turns on there and one with ``w1 < 0`` turns off, so the output on each
stretch between neighbouring switch points is a line ``A_k * x + B_k``.  We sort
the switch points, accumulate ``A_k``, ``B_k`` and the count of off units across
them (``prepare``), and evaluate each grid point with the state of the stretch it
falls in: O(H log H + N) for a sorted grid, O(H log H + N log H) otherwise.

Precision.  Every product ``w2*w1`` and ``w2*b1`` is taken exactly (a rounded
product plus its error from a fused multiply-add) and the prefix sums are kept in
double-double, so ``A_k`` and ``B_k`` are exact to about ``u**2 * S`` whatever H
is, and ``y`` is rounded once at the end: its error does not grow with H.  All of
it runs in float64; float32 sweeps (whose products are exact in float64) round
their outputs to float32 at the end.

Slope convention.  A unit is on where ``w1*x + b1 > 0``.  ``t_j`` is the correctly
rounded quotient, so for a float ``x != t_j`` the comparison ``x < t_j`` already
gives the exact side; only ``x == t_j`` can be ambiguous, and there the sign of
the correctly rounded ``fma(w1, x, b1)`` decides, which is the exact sign.
"""

import threading
import weakref
from fractions import Fraction

import numba
import numpy as np
from numba import prange, types
from numba.extending import intrinsic

from .._config import jit
from .numba_kernel import get_num_threads, set_num_threads  # one Numba thread pool for both

__all__ = ["Events", "prepare", "switch_groups", "sweep_kernel", "get_num_threads", "set_num_threads"]

# Grid points per unit of parallel work: big enough that a chunk's binary search for
# its first point is negligible, small enough (512 KiB of float64) to stay in L2
# while the chunk is checked for sortedness and then evaluated.
_CHUNK = 1 << 16


@intrinsic
def _fma_llvm(typingctx, a, b, c):
    """``a*b + c`` with one rounding (LLVM's fma; a single instruction on any CPU with FMA)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


def _fma_python(a, b, c):
    """The same in plain Python, for NUMBA_DISABLE_JIT=1 (coverage runs): exact, then rounded once."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


_fma = _fma_python if numba.config.DISABLE_JIT else _fma_llvm


@jit()
def _two_prod(a, b):
    """``a*b == p + e`` exactly."""
    p = a * b
    return p, _fma(a, b, -p)


@jit()
def _two_sum(a, b):
    """``a + b == s + e`` exactly (Knuth; no ordering needed)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@jit()
def _dd_add(ah, al, bh, bl):
    """Double-double sum, renormalised so that ``hi == hi + lo`` in float64."""
    s, e = _two_sum(ah, bh)
    e += al + bl
    h = s + e
    return h, e - (h - s)


@jit()
def _dd_scale(a, h, lo):
    """``a * (h + lo)`` in double-double."""
    p, e = _two_prod(a, h)
    e += a * lo
    s = p + e
    return s, e - (s - p)


@jit()
def _unit_terms(w1, b1, w2, onoff):
    """Double-double ``onoff * (w2*w1)`` and ``onoff * (w2*b1)``: a unit's slope and intercept terms."""
    ch, cl = _two_prod(w2, w1)
    dh, dl = _two_prod(w2, b1)
    ch, cl = _dd_scale(onoff, ch, cl)
    dh, dl = _dd_scale(onoff, dh, dl)
    return ch, cl, dh, dl


@jit()
def _pack_keys(u, bits, keys):
    """Sort keys for the switch points whose float64 bit patterns are ``u``.

    The bits are mapped so that unsigned order is numeric order (negatives flipped,
    positives with the sign bit set), the low ``bits`` bits are replaced by the
    point's position: a plain integer sort (much faster than an argsort) then gives
    the permutation, sorted up to the dropped low bits of each point.
    """
    top = np.uint64(1) << np.uint64(63)
    sh = np.uint64(bits)
    for i in range(u.shape[0]):
        v = u[i]
        v = ~v if v & top else v | top
        keys[i] = ((v >> sh) << sh) | np.uint64(i)


@jit()
def _unpack_keys(keys, bits, t, pos, ts):
    """Positions and switch points in sorted order; False if finishing the sort was too costly.

    Points that shared their kept high bits may be out of order; they are adjacent,
    so an insertion pass finishes the sort.  Its cost is bounded: a degenerate
    network with very many nearly equal switch points falls back to an argsort.
    """
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    m = keys.shape[0]
    budget = 8 * m + 64
    for k in range(m):
        i = np.int64(keys[k] & mask)
        v = t[i]
        q = k
        while q > 0 and ts[q - 1] > v:
            ts[q] = ts[q - 1]
            pos[q] = pos[q - 1]
            q -= 1
            budget -= 1
        if budget < 0:
            return False
        ts[q] = v
        pos[q] = i
    return True


def _sort_switches(t):
    """The permutation that sorts ``t`` and ``t`` sorted (float64, no NaN, no -0.0)."""
    m = t.shape[0]
    bits = max(1, (m - 1).bit_length())
    keys = np.empty(m, np.uint64)
    _pack_keys(t.view(np.uint64), bits, keys)
    keys.sort()
    pos = np.empty(m, np.int64)
    ts = np.empty(m, np.float64)
    if not _unpack_keys(keys, bits, t, pos, ts):
        pos = np.argsort(t)
        ts = t[pos]
    return pos, ts


@jit()
def _build(w1, b1, w2, b2, alpha, units, pos, sw1, sb1, sw2, state, neg):
    """Gather the switching units' weights in sorted order and fill the prefix states.

    ``units`` (m, 3) holds the switching units' ``w1, b1, w2`` side by side, so the
    random-order gather below touches one cache line per unit, not three.
    """
    h = w1.shape[0]
    m = pos.shape[0]
    gain = 1.0 - alpha  # what turning on adds, as a multiple of the unit's line
    for k in range(m):
        j = pos[k]
        sw1[k], sb1[k], sw2[k] = units[j, 0], units[j, 1], units[j, 2]
    if state.shape[0] == 0:  # kinks() needs no lines
        return
    # state at x = -inf: b2, units with w1 > 0 off, w1 < 0 on, w1 == 0 on iff b1 > 0
    ah, al, bh, bl = 0.0, 0.0, b2, 0.0
    off = 0
    for j in range(h):
        on = b1[j] > 0.0 if w1[j] == 0.0 else w1[j] < 0.0
        if not on:
            off += 1
        ch, cl, dh, dl = _unit_terms(w1[j], b1[j], w2[j], 1.0 if on else alpha)
        ah, al = _dd_add(ah, al, ch, cl)
        bh, bl = _dd_add(bh, bl, dh, dl)
    state[0, 0], state[0, 1], state[0, 2], state[0, 3] = ah, al, bh, bl
    neg[0] = off
    for k in range(m):
        turns_on = sw1[k] > 0.0
        ch, cl, dh, dl = _unit_terms(sw1[k], sb1[k], sw2[k], gain if turns_on else -gain)
        ah, al = _dd_add(ah, al, ch, cl)
        bh, bl = _dd_add(bh, bl, dh, dl)
        off += -1 if turns_on else 1
        state[k + 1, 0], state[k + 1, 1], state[k + 1, 2], state[k + 1, 3] = ah, al, bh, bl
        neg[k + 1] = off


class Events:
    """The sorted switch points of a network and the line on each stretch between them.

    ``ts`` (m,) sorted switch points (units with ``w1 == 0`` have none);
    ``sw1, sb1, sw2`` the switching units' weights in that order (float64);
    ``state`` (m+1, 4): ``A_hi, A_lo, B_hi, B_lo`` of the line ``y = A*x + B`` after
    the first k switches; ``neg`` (m+1,) int32: off units after the first k switches.
    """

    __slots__ = ("ts", "sw1", "sb1", "sw2", "state", "neg", "alpha")

    def __init__(self, ts, sw1, sb1, sw2, state, neg, alpha):
        self.ts, self.sw1, self.sb1, self.sw2, self.state, self.neg, self.alpha = ts, sw1, sb1, sw2, state, neg, alpha


def prepare(w1, b1, w2, b2, alpha, lines=True):
    """Sort the switch points of units ``(w1, b1, w2)`` and build their ``Events``.

    ``w1, b1, w2`` may be float32 or float64; everything is computed in float64.
    ``lines=False`` skips the prefix states (``state`` and ``neg`` are then empty).
    """
    w1, b1, w2 = (np.ascontiguousarray(a, np.float64) for a in (w1, b1, w2))
    idx = np.flatnonzero(w1 != 0)
    # the correctly rounded quotient (float32 operands are exact in float64);
    # + 0.0 turns -0.0 into 0.0: the same point, and users should not see "-0."
    units = np.empty((idx.shape[0], 3), np.float64)
    for col, a in enumerate((w1, b1, w2)):
        units[:, col] = a[idx]
    with np.errstate(over="ignore", under="ignore"):  # a switch beyond float64 is +-inf: never at a finite x
        t = -units[:, 1] / units[:, 0] + 0.0
    pos, ts = _sort_switches(t)
    m = ts.shape[0]
    sw1, sb1, sw2 = (np.empty(m, np.float64) for _ in range(3))
    state = np.empty((m + 1 if lines else 0, 4), np.float64)
    neg = np.empty(m + 1 if lines else 0, np.int32)
    _build(w1, b1, w2, float(b2), float(alpha), units, pos, sw1, sb1, sw2, state, neg)
    return Events(ts, sw1, sb1, sw2, state, neg, float(alpha))


@jit()
def _count_below(ts, x):
    """Number of switch points ``< x`` (binary search)."""
    lo, hi = 0, ts.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if ts[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit()
def _at_switch(k, xi, ts, sw1, sb1, sw2, state, neg, alpha):
    """The state at ``xi == ts[k]``: the units switching exactly there are not yet
    applied in ``state[k]``; apply those that the exact sign of ``w1*xi + b1`` says
    have switched (``w1 > 0``: on iff > 0; ``w1 < 0``: off iff <= 0)."""
    ah, al, bh, bl = state[k, 0], state[k, 1], state[k, 2], state[k, 3]
    off = neg[k]
    gain = 1.0 - alpha
    j = k
    while j < ts.shape[0] and ts[j] == xi:
        u1 = sw1[j]
        if (u1 > 0.0) == (_fma(u1, xi, sb1[j]) > 0.0):
            ch, cl, dh, dl = _unit_terms(u1, sb1[j], sw2[j], gain if u1 > 0.0 else -gain)
            ah, al = _dd_add(ah, al, ch, cl)
            bh, bl = _dd_add(bh, bl, dh, dl)
            off += -1 if u1 > 0.0 else 1
        j += 1
    return ah, al, bh, bl, off


@jit(parallel=True)
def _evaluate(x, ts, sw1, sb1, sw2, state, neg, alpha, y, slope, negative):
    n = x.shape[0]
    m = ts.shape[0]
    nchunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        i0 = c * _CHUNK
        i1 = min(n, i0 + _CHUNK)
        ascending = True
        for i in range(i0 + 1, i1):
            if x[i] < x[i - 1]:
                ascending = False
                break
        k = _count_below(ts, np.float64(x[i0]))
        for i in range(i0, i1):
            xi = np.float64(x[i])
            if ascending:
                # merge walk: the grid only moves right, so k only grows
                while k < m and ts[k] < xi:
                    k += 1
            else:
                k = _count_below(ts, xi)
            if k < m and ts[k] == xi:  # rare: kept out of the hot path
                ah, al, bh, bl, off = _at_switch(k, xi, ts, sw1, sb1, sw2, state, neg, alpha)
            else:
                ah, al, bh, bl, off = state[k, 0], state[k, 1], state[k, 2], state[k, 3], neg[k]
            # y = A*x + B in double-double, rounded once
            p, e = _two_prod(ah, xi)
            e += al * xi
            s, f = _two_sum(p, bh)
            f += e + bl
            y[i] = s + f
            slope[i] = ah + al
            negative[i] = off


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


# The last network's Events, so that a sweep run chunk by chunk sorts once.  Keyed
# on the read-only arrays a Network owns (weakly: the entry dies with the network),
# never on writeable arrays, whose contents could change under the same object.
# Key and events are one tuple, read and replaced whole under a lock, so a thread
# can never see one network's key with another's events.
_cache = [None]  # (weakrefs to the arrays, (b2, alpha), Events) or None
_cache_lock = threading.RLock()  # re-entrant: a weakref callback may fire while it is held


def _events_for(w1, b1, w2, b2, alpha):
    roots = [_root(a) for a in (w1, b1, w2)]
    if any(r.flags.writeable for r in roots):
        return prepare(w1, b1, w2, b2, alpha)
    scalars = (float(b2), float(alpha))
    with _cache_lock:
        entry = _cache[0]
    if entry is not None and all(ref() is r for ref, r in zip(entry[0], roots)) and entry[1] == scalars:
        return entry[2]
    ev = prepare(w1, b1, w2, b2, alpha)
    entry = ([weakref.ref(r, _drop) for r in roots], scalars, ev)
    with _cache_lock:
        _cache[0] = entry
    return ev


def _drop(_ref):
    with _cache_lock:
        _cache[0] = None


def clear_cache():
    """Forget the cached switch points (benchmarks that must time the sort call this)."""
    _drop(None)


def sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    """Same interface as the brute-force kernels; ``c`` is not used (products are taken exactly)."""
    ev = _events_for(w1, b1, w2, b2, alpha)
    _evaluate(x, ev.ts, ev.sw1, ev.sb1, ev.sw2, ev.state, ev.neg, ev.alpha, y, slope, negative)


@jit()
def _groups(ts, sw1, sw2, alpha, starts, change):
    """Group equal switch points; return the number of groups.

    ``starts[g]`` is the first event of group g and ``change[g]`` the slope change
    there, summed in double-double so that exactly cancelling switches give 0.
    """
    m = ts.shape[0]
    gain = 1.0 - alpha
    g = 0
    k = 0
    while k < m:
        starts[g] = k
        h, lo = 0.0, 0.0
        j = k
        while j < m and ts[j] == ts[k]:
            # w1 > 0 turns on (+gain*c), w1 < 0 turns off (-gain*c): gain*|w1|*w2 either way
            ch, cl = _two_prod(sw2[j], sw1[j])
            ch, cl = _dd_scale(gain if sw1[j] > 0.0 else -gain, ch, cl)
            h, lo = _dd_add(h, lo, ch, cl)
            j += 1
        change[g] = h  # renormalised: h == 0 only if the exact sum is 0
        g += 1
        k = j
    return g


def switch_groups(ev):
    """``(starts, change)``: first event index and slope change of each distinct switch point."""
    m = ev.ts.shape[0]
    starts = np.empty(m, np.int64)
    change = np.empty(m, np.float64)
    g = _groups(ev.ts, ev.sw1, ev.sw2, ev.alpha, starts, change)
    return starts[:g], change[:g]


from .exact_deep import sweep_deep, walk  # noqa: E402  (deep networks of a scalar: the layer-by-layer walk)
