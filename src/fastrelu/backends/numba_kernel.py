"""Numba backend: the twin of csrc/sweep_kernel.inc.

Read it line by line against the C file: same arguments in the same order (the C
one also takes the lengths), same loops, same names.  Arrays in, arrays out; the
caller (``fastrelu._sweep``) has validated, converted and allocated everything.
"""

import numba
import numpy as np
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._config import CHUNK_TILES, HBLOCK, TILE, jit


# The tile's accumulators must live in registers, as the C twin's local arrays do.
# LLVM can promote a stack array of known size to registers, never a heap one
# (np.empty): with np.empty the kernel ran at 12e9 pairs/s in float32, with this
# at 20e9 (benchmarks/README.md).
@intrinsic
def _alloca(typingctx, size, dtype):
    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(dtype.dtype), size=args[0])

    return types.CPointer(dtype.dtype)(types.intp, dtype), codegen


if numba.config.DISABLE_JIT:  # coverage runs: plain Python, no intrinsics

    def stack_empty(n, dtype):
        return np.empty(n, dtype)

else:

    @numba.njit(inline="always")
    def stack_empty(n, dtype):
        """An uninitialised 1-D array of ``n`` ``dtype`` on the stack (``n`` a constant)."""
        return numba.carray(_alloca(n, dtype), n)


@jit()
def sweep_chunk(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    n = x.shape[0]
    h = w1.shape[0]
    # typed constants: an untyped 0 or 1 would promote float32 work to float64
    zero = x.dtype.type(0)
    one = x.dtype.type(1)
    xt = stack_empty(TILE, x.dtype)
    yt = stack_empty(TILE, x.dtype)
    st = stack_empty(TILE, x.dtype)
    nt = stack_empty(TILE, x.dtype)
    for j0 in range(0, h, HBLOCK):
        j1 = min(j0 + HBLOCK, h)
        for i0 in range(0, n, TILE):
            m = min(n - i0, TILE)
            for t in range(TILE):
                xt[t] = x[i0 + min(t, m - 1)]
                yt[t] = zero
                st[t] = zero
                nt[t] = zero
            for j in range(j0, j1):
                w1j = w1[j]
                b1j = b1[j]
                w2j = w2[j]
                cj = c[j]
                aw2j = alpha * w2j
                acj = alpha * cj
                for t in range(TILE):
                    z = w1j * xt[t] + b1j
                    ws = w2j if z > zero else aw2j
                    cs = cj if z > zero else acj
                    ns = zero if z > zero else one
                    yt[t] += ws * z
                    st[t] += cs
                    nt[t] += ns
            for t in range(m):
                if j0 == 0:
                    y[i0 + t] = b2 + yt[t]
                    slope[i0 + t] = st[t]
                    negative[i0 + t] = np.int32(nt[t])
                else:
                    y[i0 + t] += yt[t]
                    slope[i0 + t] += st[t]
                    negative[i0 + t] += np.int32(nt[t])


@jit(parallel=True)
def sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    n = x.shape[0]
    chunk = TILE * CHUNK_TILES
    nchunks = (n + chunk - 1) // chunk
    for k in prange(nchunks):
        i0 = k * chunk
        m = min(n - i0, chunk)
        # prange schedules statically; the C twin's OpenMP loop takes chunks dynamically
        sweep_chunk(x[i0 : i0 + m], w1, b1, w2, b2, c, alpha, y[i0 : i0 + m], slope[i0 : i0 + m], negative[i0 : i0 + m])


def get_num_threads():
    return numba.get_num_threads()


def set_num_threads(n):
    if n > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"threads={n} is more than the {numba.config.NUMBA_NUM_THREADS} threads Numba was "
            "started with (NUMBA_NUM_THREADS)"
        )
    numba.set_num_threads(n)
