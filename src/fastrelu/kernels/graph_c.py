"""The graph twins' C kernel: the binding of ``csrc/graph_c.c`` (in ``fastrelu.kernels._c``).

The same function as ``graph_numba.sweep_graph``, with the same arguments in the same
order (arrays in, arrays out; the C one also takes the lengths, read here from the
arrays).  Importing this module fails with ImportError when the C build is missing or
predates the graph twins; the dispatcher records that as the reason.
"""

import numpy as np

try:
    from ._c import ffi, lib
except ImportError:
    raise ImportError(
        "the C kernel (fastrelu.kernels._c) was not built when fastrelu was installed: no C compiler, "
        "or one that could not build it (see the install log); reinstall with a C compiler to use it"
    ) from None
if not hasattr(lib, "sweep_graph_f64"):
    raise ImportError("the C build (fastrelu.kernels._c) predates the graph kernels: reinstall fastrelu to build them")

from ..utils.config import GRAPH_FIELDS
from .threads import guard_openmp

_openmp = guard_openmp(lib)  # its thread setting, safe in a forked process
_KERNELS = {np.dtype(np.float64): ("double[]", lib.sweep_graph_f64), np.dtype(np.float32): ("float[]", lib.sweep_graph_f32)}
MAX_TANGENTS = 2


def sweep_graph(t, ops, indices, reals, units, y, slope, negative, span=None):
    """The C graph kernel: ``t`` (N,) or (N, nk), ``y`` (N, out), ``slope`` (N, out) or
    (N, out, nk), ``negative`` (N, activation nodes), passed as flat buffers (C order).
    ``span`` is ignored (a per-point kernel)."""
    ctype, kernel = _KERNELS[t.dtype]
    nk = int(ops[0, 2])
    if ops.shape[1] != GRAPH_FIELDS or ops.dtype != np.int64 or indices.dtype != np.int64 or reals.dtype != t.dtype:
        raise TypeError("the C graph kernel takes a program of int64 rows of GRAPH_FIELDS fields and reals of t's dtype")

    def ptr(a, writable=False):
        if not a.flags.c_contiguous:
            raise TypeError(f"the C graph kernel needs C-contiguous arrays, got one of shape {a.shape}")
        return ffi.from_buffer(ctype, a, require_writable=writable)

    status = kernel(
        ptr(t), t.shape[0], ffi.from_buffer("int64_t[]", ops), ops.shape[0], ffi.from_buffer("int64_t[]", indices),
        ptr(reals), units, nk, negative.shape[1], ptr(y, True), ptr(slope, True),
        ffi.from_buffer("int32_t[]", negative, require_writable=True),
    )
    if status == -2:
        raise ValueError(f"the graph kernel takes networks of 1 to {MAX_TANGENTS} coordinates, not {nk}")
    if status != 0:
        raise MemoryError("the C graph kernel could not allocate its scratch memory (one tile of every node, per thread)")


def get_num_threads():
    return _openmp.get_num_threads()


def set_num_threads(n):
    _openmp.set_num_threads(n)
