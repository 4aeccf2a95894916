"""cffi backend: calls the OpenMP C kernel compiled from csrc/ (``fastrelu.kernels._c``).

Importing this module fails with ImportError when the extension was not built;
the dispatcher records that as the reason the backend is unavailable.
"""

import numpy as np

try:
    from ._c import ffi, lib
except ImportError:
    raise ImportError(
        "the C kernel (fastrelu.kernels._c) was not built when fastrelu was installed: no C compiler, "
        "or one that could not build it (see the install log); reinstall with a C compiler to use it"
    ) from None

from .threads import guard_openmp

# A compiler without OpenMP builds kernels that run on one thread.
OPENMP = bool(lib.FASTRELU_OPENMP)
_openmp = guard_openmp(lib)  # its thread setting, safe in a forked process

_CTYPES = {np.dtype(np.float64): ("double[]", lib.sweep_kernel_f64), np.dtype(np.float32): ("float[]", lib.sweep_kernel_f32)}
_DEEP = {np.dtype(np.float64): ("double[]", lib.sweep_deep_f64), np.dtype(np.float32): ("float[]", lib.sweep_deep_f32)}


def sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    ctype, kernel = _CTYPES[x.dtype]

    def ptr(a):
        return ffi.from_buffer(ctype, a)

    kernel(
        ptr(x), x.shape[0], ptr(w1), ptr(b1), ptr(w2), b2, ptr(c), w1.shape[0], alpha,
        ptr(y), ptr(slope), ffi.from_buffer("int32_t[]", negative),
    )


def sweep_deep(t, widths, weights, biases, alpha, lo, hi, y, slope, negative, span=None):
    """The C deep kernel: ``t`` (N,) or (N, nk) and ``slope`` (N, out) or (N, out, nk), passed
    as flat buffers (C order), with ``nk = widths[0]`` coordinates."""
    ctype, kernel = _DEEP[t.dtype]

    def ptr(a):
        return ffi.from_buffer(ctype, a)

    status = kernel(
        ptr(t), t.shape[0], ffi.from_buffer("int64_t[]", widths), widths.shape[0] - 2,
        ptr(weights), ptr(biases), ptr(alpha), ptr(lo), ptr(hi),
        ptr(y), ptr(slope), ffi.from_buffer("int32_t[]", negative),
    )
    if status == -2:
        raise ValueError(f"the deep kernel takes networks of 1 or 2 coordinates, not {int(widths[0])}")
    if status != 0:
        raise MemoryError("the C deep kernel could not allocate its scratch memory (packed weights, tiles)")


def get_num_threads():
    return _openmp.get_num_threads()


def set_num_threads(n):
    _openmp.set_num_threads(n)
