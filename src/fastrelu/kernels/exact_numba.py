"""The exact backend's kernels in Numba: the twin of csrc/exact_c.c.

Read it line by line against the C file: same functions in the same order, same
arguments in the same order (the C ones also take the lengths), same loops and
names (``_name`` here is ``name`` in C, ``exact_name`` when the C one is exported).
The algorithm, and the numpy steps between these functions, are described in
``exact.py``; the end of this module binds them to it as the exact backend's one-layer
kernel, which the dispatcher loads when the C twin (``exact_c``) is missing: importing
this module imports Numba.

Only the explicit ``_fma`` calls fuse a multiply with an add: these functions are
compiled with ``jit(exact=True)`` (no contraction, which would break the error-free
transformations of double-double arithmetic), as the C file switches contraction
off.  The fmas are written out wherever a product feeds a sum (LLVM fused exactly
those under the project's ``fastmath={"contract"}``, so results are unchanged), and
every other product has several uses, which no compiler fuses: even a build that
contracted would give the same bits.  The two twins agree bit for bit on every CPU
(tests/test_exact_twins.py).
"""

import sys

import numpy as np

from ..utils.config import EXACT_CHUNK, jit
from . import threads
from .eft import dd_add, dd_scale, fma, two_prod, two_sum
from .exact import SwitchPoints

# the twin's threads: the pool every Numba kernel runs on
_get_threads = threads.get_num_threads
_set_threads = threads.set_num_threads


# the double-double primitives, shared with the deep walk
_fma, _two_prod, _two_sum, _dd_add, _dd_scale = fma, two_prod, two_sum, dd_add, dd_scale


@jit(exact=True)
def _unit_terms(w1, b1, w2, onoff):
    """Double-double ``onoff * (w2*w1)`` and ``onoff * (w2*b1)``: a unit's slope and intercept terms."""
    ch, cl = _two_prod(w2, w1)
    dh, dl = _two_prod(w2, b1)
    ch, cl = _dd_scale(onoff, ch, cl)
    dh, dl = _dd_scale(onoff, dh, dl)
    return ch, cl, dh, dl


@jit(exact=True)
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


@jit(exact=True)
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


@jit(exact=True)
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


@jit(exact=True)
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


@jit(exact=True)
def _locate(ts, k, x, ascending):
    """Number of switch points ``< x``, from ``k``, that of the previous point: a
    merge walk where the points ascend (k only grows), else a binary search."""
    if not ascending:
        return _count_below(ts, x)
    m = ts.shape[0]
    while k < m and ts[k] < x:
        k += 1
    return k


@jit(exact=True)
def _ascending(x, i0, i1):
    """Whether ``x[i0:i1]`` never decreases (then a merge walk replaces binary searches)."""
    for i in range(i0 + 1, i1):
        if x[i] < x[i - 1]:
            return False
    return True


@jit(exact=True)
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


@jit(exact=True)
def _evaluate_chunks(c0, c1, x, ts, sw1, sb1, sw2, state, neg, alpha, y, slope, negative):
    """Chunks c0..c1-1 of EXACT_CHUNK points (run by ``_evaluate`` on fastrelu's threads)."""
    n = x.shape[0]
    m = ts.shape[0]
    for c in range(c0, c1):
        i0 = c * EXACT_CHUNK
        i1 = min(n, i0 + EXACT_CHUNK)
        ascending = _ascending(x, i0, i1)
        k = _count_below(ts, np.float64(x[i0]))
        for i in range(i0, i1):
            xi = np.float64(x[i])
            k = _locate(ts, k, xi, ascending)
            if k < m and ts[k] == xi:  # rare: kept out of the hot path
                ah, al, bh, bl, off = _at_switch(k, xi, ts, sw1, sb1, sw2, state, neg, alpha)
            else:
                ah, al, bh, bl, off = state[k, 0], state[k, 1], state[k, 2], state[k, 3], neg[k]
            # y = A*x + B in double-double, rounded once
            p, e = _two_prod(ah, xi)
            e = _fma(al, xi, e)
            s, f = _two_sum(p, bh)
            f += e + bl
            y[i] = s + f
            slope[i] = ah + al
            negative[i] = off


def _evaluate(x, ts, sw1, sb1, sw2, state, neg, alpha, y, slope, negative):
    """Every point off the sorted switch points: ``_evaluate_chunks`` over chunks of
    EXACT_CHUNK points on fastrelu's threads, as the C twin's OpenMP loop."""
    args = (x, ts, sw1, sb1, sw2, state, neg, alpha, y, slope, negative)
    threads.run(lambda c0, c1: _evaluate_chunks(c0, c1, *args), (x.shape[0] + EXACT_CHUNK - 1) // EXACT_CHUNK)


@jit(exact=True)
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


# the exact backend's one-layer kernel, run by this twin (see exact.SwitchPoints)
kernel = SwitchPoints(sys.modules[__name__])
prepare, switch_groups, sweep_kernel, get_num_threads, set_num_threads, thread_state, restore_threads = kernel.exports()
