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

Twins.  The numerical steps run in one of two twins, ``exact_c`` (C, ``csrc/exact_c.c``)
and ``exact_numba``, which give the same bits.  Each binds a ``SwitchPoints`` to itself
and is registered with the dispatcher as the exact backend's one-layer kernel, the C
one first: the default path never imports Numba when the C build is there.

Slope convention.  A unit is on where ``w1*x + b1 > 0``.  ``t_j`` is the correctly
rounded quotient, so for a float ``x != t_j`` the comparison ``x < t_j`` already
gives the exact side; only ``x == t_j`` can be ambiguous, and there the sign of
the correctly rounded ``fma(w1, x, b1)`` decides, which is the exact sign.
"""

import numpy as np

from . import threads
from .cache import Last

__all__ = ["Events", "SwitchPoints", "clear_cache", "prepare", "switch_groups"]


def _sort_switches(twin, t):
    """The permutation that sorts ``t`` and ``t`` sorted (float64, no NaN, no -0.0)."""
    m = t.shape[0]
    bits = max(1, (m - 1).bit_length())
    keys = np.empty(m, np.uint64)
    twin._pack_keys(t.view(np.uint64), bits, keys)
    keys.sort()
    pos = np.empty(m, np.int64)
    ts = np.empty(m, np.float64)
    if not twin._unpack_keys(keys, bits, t, pos, ts):
        pos = np.argsort(t)
        ts = t[pos]
    return pos, ts


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


def prepare(twin, w1, b1, w2, b2, alpha, lines=True):
    """Sort the switch points of units ``(w1, b1, w2)`` with ``twin`` and build their ``Events``.

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
    pos, ts = _sort_switches(twin, t)
    m = ts.shape[0]
    sw1, sb1, sw2 = (np.empty(m, np.float64) for _ in range(3))
    state = np.empty((m + 1 if lines else 0, 4), np.float64)
    neg = np.empty(m + 1 if lines else 0, np.int32)
    twin._build(w1, b1, w2, float(b2), float(alpha), units, pos, sw1, sb1, sw2, state, neg)
    return Events(ts, sw1, sb1, sw2, state, neg, float(alpha))


def switch_groups(twin, ev):
    """``(starts, change)``: first event index and slope change of each distinct switch point."""
    m = ev.ts.shape[0]
    starts = np.empty(m, np.int64)
    change = np.empty(m, np.float64)
    g = twin._groups(ev.ts, ev.sw1, ev.sw2, ev.alpha, starts, change)
    return starts[:g], change[:g]


_caches = []  # every twin's cache of its last Events (clear_cache forgets them all)


class SwitchPoints:
    """The exact one-layer kernel, run by one twin: what the dispatcher loads as a kernel.

    ``twin`` is a module with the twin interface (``_pack_keys``, ``_unpack_keys``,
    ``_build``, ``_evaluate``, ``_groups``, ``_get_threads``, ``_set_threads``):
    ``exact_c`` (the C twin) or ``exact_numba``.  Each binds one at its end and exposes
    these methods as its module's functions, so the dispatcher chooses the twin (the C
    one when the build has it) and nothing here imports either.
    """

    def __init__(self, twin):
        self.twin = twin
        # the last network's Events, so that a sweep run chunk by chunk sorts once
        self._last = Last()
        _caches.append(self._last)

    def prepare(self, w1, b1, w2, b2, alpha, lines=True):
        return prepare(self.twin, w1, b1, w2, b2, alpha, lines)

    def switch_groups(self, ev):
        return switch_groups(self.twin, ev)

    def sweep_kernel(self, x, w1, b1, w2, b2, c, alpha, y, slope, negative):
        """Same interface as the per-point kernels; ``c`` is not used (products are taken exactly)."""
        ev = self._last.get((w1, b1, w2), ((float(b2), float(alpha)),), lambda: self.prepare(w1, b1, w2, b2, alpha))
        self.twin._evaluate(x, ev.ts, ev.sw1, ev.sb1, ev.sw2, ev.state, ev.neg, ev.alpha, y, slope, negative)

    def get_num_threads(self):
        """Threads of the twin: OpenMP's for the C one, fastrelu's pool for the Numba one."""
        return self.twin._get_threads()

    def set_num_threads(self, n):
        self.twin._set_threads(n)
        # the deep walk and its sweeps run on the Numba kernels' threads: they follow too,
        # so threads= holds for every exact sweep
        threads.set_num_threads(n)

    def thread_state(self):
        """Both settings, the twin's and the Numba kernels' (for ``registry.thread_limit``)."""
        return self.twin._get_threads(), threads.get_num_threads()

    def restore_threads(self, state):
        self.twin._set_threads(state[0])
        threads.set_num_threads(state[1])

    def exports(self):
        """The functions a twin module exposes as the exact backend's one-layer kernel."""
        return (self.prepare, self.switch_groups, self.sweep_kernel, self.get_num_threads, self.set_num_threads,
                self.thread_state, self.restore_threads)


def clear_cache():
    """Forget every twin's cached switch points (benchmarks that must time the sort call this)."""
    for last in _caches:
        last.clear()
