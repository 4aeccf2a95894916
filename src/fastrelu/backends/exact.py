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

import numpy as np

from . import threads
from .cache import Last

__all__ = ["Events", "prepare", "switch_groups", "sweep_kernel", "get_num_threads", "set_num_threads"]


class _CTwin:
    """The C twin (csrc/exact_c.c, in ``fastrelu.backends._c``) behind the Numba
    twin's signatures: the same functions, arrays in, lengths taken from them."""

    def __init__(self, ffi, lib):
        from .threads import guard_openmp

        self.ffi, self.lib = ffi, lib
        self.openmp = guard_openmp(lib)  # its thread setting, safe in a forked process
        self._evaluate_for = {np.dtype(np.float64): ("double[]", lib.exact_evaluate_f64), np.dtype(np.float32): ("float[]", lib.exact_evaluate_f32)}

    def _buf(self, ctype, a):
        return self.ffi.from_buffer(ctype, a, require_writable=False)

    def _out(self, ctype, a):
        return self.ffi.from_buffer(ctype, a, require_writable=True)

    def _pack_keys(self, u, bits, keys):
        self.lib.exact_pack_keys(self._buf("uint64_t[]", u), u.shape[0], bits, self._out("uint64_t[]", keys))

    def _unpack_keys(self, keys, bits, t, pos, ts):
        return bool(self.lib.exact_unpack_keys(
            self._buf("uint64_t[]", keys), keys.shape[0], bits, self._buf("double[]", t),
            self._out("int64_t[]", pos), self._out("double[]", ts),
        ))

    def _build(self, w1, b1, w2, b2, alpha, units, pos, sw1, sb1, sw2, state, neg):
        d = self._buf
        self.lib.exact_build(
            d("double[]", w1), d("double[]", b1), d("double[]", w2), w1.shape[0], b2, alpha,
            d("double[]", units), d("int64_t[]", pos), pos.shape[0],
            self._out("double[]", sw1), self._out("double[]", sb1), self._out("double[]", sw2),
            self._out("double[]", state), state.shape[0], self._out("int32_t[]", neg),
        )

    def _evaluate(self, x, ts, sw1, sb1, sw2, state, neg, alpha, y, slope, negative):
        ctype, kernel = self._evaluate_for[x.dtype]
        d = self._buf
        kernel(
            d(ctype, x), x.shape[0], d("double[]", ts), ts.shape[0], d("double[]", sw1), d("double[]", sb1),
            d("double[]", sw2), d("double[]", state), d("int32_t[]", neg), alpha,
            self._out(ctype, y), self._out(ctype, slope), self._out("int32_t[]", negative),
        )

    def _groups(self, ts, sw1, sw2, alpha, starts, change):
        d = self._buf
        return self.lib.exact_groups(
            d("double[]", ts), ts.shape[0], d("double[]", sw1), d("double[]", sw2), alpha,
            self._out("int64_t[]", starts), self._out("double[]", change),
        )

    def get_num_threads(self):
        return self.openmp.get_num_threads()

    def set_num_threads(self, n):
        self.openmp.set_num_threads(n)


def _c_twin():
    """The C twin, or None when the C build is missing or predates it."""
    try:
        from ._c import ffi, lib
    except ImportError:  # the C build is optional (no compiler, or it failed)
        return None
    return _CTwin(ffi, lib) if hasattr(lib, "exact_evaluate_f64") else None


def _numba_twin():
    """The Numba twin (imports Numba: ~0.5 s, and ~3 s of compile on a fresh install)."""
    from . import exact_numba

    return exact_numba


# The one place where the twin is chosen, for every function of this module: the C
# one whenever the build has it, because the default path (the ``fastrelu`` demo,
# a one-hidden-layer sweep with backend="auto", kinks) must not pay for importing
# Numba or compiling, for work that takes a millisecond; the Numba one where the C
# build is missing.  The two give bit-identical results (tests/test_exact_twins.py).
_twin = _c_twin() or _numba_twin()


def get_num_threads():
    """Threads of the twin in use: OpenMP's for the C one, fastrelu's pool for the Numba one."""
    return _twin.get_num_threads()


def set_num_threads(n):
    _twin.set_num_threads(n)
    # the deep walk and its sweeps run on the Numba kernels' threads: they follow too,
    # so threads= holds for every exact sweep
    threads.set_num_threads(n)


def thread_state():
    """Both settings, the twin's and the Numba kernels' (for ``registry.thread_limit``)."""
    return _twin.get_num_threads(), threads.get_num_threads()


def restore_threads(state):
    _twin.set_num_threads(state[0])
    threads.set_num_threads(state[1])


def _sort_switches(t):
    """The permutation that sorts ``t`` and ``t`` sorted (float64, no NaN, no -0.0)."""
    m = t.shape[0]
    bits = max(1, (m - 1).bit_length())
    keys = np.empty(m, np.uint64)
    _twin._pack_keys(t.view(np.uint64), bits, keys)
    keys.sort()
    pos = np.empty(m, np.int64)
    ts = np.empty(m, np.float64)
    if not _twin._unpack_keys(keys, bits, t, pos, ts):
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
    _twin._build(w1, b1, w2, float(b2), float(alpha), units, pos, sw1, sb1, sw2, state, neg)
    return Events(ts, sw1, sb1, sw2, state, neg, float(alpha))


# the last network's Events, so that a sweep run chunk by chunk sorts once
_last = Last()
_cache = _last.slot  # (weakrefs to the arrays, (b2, alpha), Events) or None


def _events_for(w1, b1, w2, b2, alpha):
    return _last.get((w1, b1, w2), ((float(b2), float(alpha)),), lambda: prepare(w1, b1, w2, b2, alpha))


def clear_cache():
    """Forget the cached switch points (benchmarks that must time the sort call this)."""
    _last.clear()


def sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    """Same interface as the brute-force kernels; ``c`` is not used (products are taken exactly)."""
    ev = _events_for(w1, b1, w2, b2, alpha)
    _twin._evaluate(x, ev.ts, ev.sw1, ev.sb1, ev.sw2, ev.state, ev.neg, ev.alpha, y, slope, negative)


def switch_groups(ev):
    """``(starts, change)``: first event index and slope change of each distinct switch point."""
    m = ev.ts.shape[0]
    starts = np.empty(m, np.int64)
    change = np.empty(m, np.float64)
    g = _twin._groups(ev.ts, ev.sw1, ev.sw2, ev.alpha, starts, change)
    return starts[:g], change[:g]
