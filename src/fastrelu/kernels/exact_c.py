"""The exact one-layer kernel's C twin: the binding of ``csrc/exact_c.c`` (in ``fastrelu.kernels._c``).

The same functions as ``exact_numba``, in the same order and with the same arguments
(arrays in; the C ones also take the lengths, read here from the arrays).  Importing
this module fails with ImportError when the C build is missing or predates the exact
twin; the dispatcher then runs ``exact_numba``.
"""

import sys

import numpy as np

from .exact import SwitchPoints
from .threads import guard_openmp

try:
    from ._c import ffi, lib
except ImportError:
    raise ImportError("the C build (fastrelu.kernels._c) is missing: the exact backend runs its Numba twin") from None
if not hasattr(lib, "exact_evaluate_f64"):
    raise ImportError("the C build (fastrelu.kernels._c) predates the exact twin: the exact backend runs its Numba twin")

_openmp = guard_openmp(lib)  # its thread setting, safe in a forked process
_EVALUATE = {np.dtype(np.float64): ("double[]", lib.exact_evaluate_f64), np.dtype(np.float32): ("float[]", lib.exact_evaluate_f32)}


def _in(ctype, a):
    return ffi.from_buffer(ctype, a, require_writable=False)


def _out(ctype, a):
    return ffi.from_buffer(ctype, a, require_writable=True)


def _pack_keys(u, bits, keys):
    lib.exact_pack_keys(_in("uint64_t[]", u), u.shape[0], bits, _out("uint64_t[]", keys))


def _unpack_keys(keys, bits, t, pos, ts):
    return bool(lib.exact_unpack_keys(
        _in("uint64_t[]", keys), keys.shape[0], bits, _in("double[]", t), _out("int64_t[]", pos), _out("double[]", ts),
    ))


def _build(w1, b1, w2, b2, alpha, units, pos, sw1, sb1, sw2, state, neg):
    lib.exact_build(
        _in("double[]", w1), _in("double[]", b1), _in("double[]", w2), w1.shape[0], b2, alpha,
        _in("double[]", units), _in("int64_t[]", pos), pos.shape[0],
        _out("double[]", sw1), _out("double[]", sb1), _out("double[]", sw2),
        _out("double[]", state), state.shape[0], _out("int32_t[]", neg),
    )


def _evaluate(x, ts, sw1, sb1, sw2, state, neg, alpha, y, slope, negative):
    ctype, kernel = _EVALUATE[x.dtype]
    kernel(
        _in(ctype, x), x.shape[0], _in("double[]", ts), ts.shape[0], _in("double[]", sw1), _in("double[]", sb1),
        _in("double[]", sw2), _in("double[]", state), _in("int32_t[]", neg), alpha,
        _out(ctype, y), _out(ctype, slope), _out("int32_t[]", negative),
    )


def _groups(ts, sw1, sw2, alpha, starts, change):
    return lib.exact_groups(
        _in("double[]", ts), ts.shape[0], _in("double[]", sw1), _in("double[]", sw2), alpha,
        _out("int64_t[]", starts), _out("double[]", change),
    )


def _get_threads():
    return _openmp.get_num_threads()


def _set_threads(n):
    _openmp.set_num_threads(n)


# the exact backend's one-layer kernel, run by this twin (see exact.SwitchPoints)
kernel = SwitchPoints(sys.modules[__name__])
prepare, switch_groups, sweep_kernel, get_num_threads, set_num_threads, thread_state, restore_threads = kernel.exports()
