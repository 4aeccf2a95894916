"""Numba backend: the twin of csrc/sweep_kernel.inc.

Read it line by line against the C file: same arguments in the same order (the C
one also takes the lengths), same loops, same names.  Arrays in, arrays out; the
caller (``fastrelu._sweep``) has validated, converted and allocated everything.
"""

import threading

import numba
import numpy as np
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._config import (
    CHUNK_TILES,
    DEEP_CHUNK_TILES,
    DEEP_KBLOCK,
    DEEP_MBLOCK,
    DEEP_ROWS,
    DEEP_TILE,
    DEEP_VECTOR,
    HBLOCK,
    TILE,
    jit,
)


# The tile's accumulators must live in registers, as the C twin's local arrays do.
# LLVM can promote a stack array of known size to registers, never a heap one
# (np.empty): with np.empty the kernel ran at 12e9 pairs/s in float32, with this
# at 20e9 (benchmarks/README.md).
@intrinsic
def _alloca(typingctx, size, dtype):
    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(dtype.dtype), size=args[0])

    return types.CPointer(dtype.dtype)(types.intp, dtype), codegen


# Points per vector register in the deep kernel's register blocks: the C twin's
# POINTS, DEEP_VECTOR / sizeof(REAL).  An intrinsic, so that it is a constant in the
# generated code and the loops over a register block unroll completely.
@intrinsic
def _vector_points(typingctx, dtype):
    points = DEEP_VECTOR // (dtype.dtype.bitwidth // 8)

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, points)

    return types.intp(dtype), codegen


if numba.config.DISABLE_JIT:  # coverage runs: plain Python, no intrinsics

    def stack_empty(n, dtype):
        return np.empty(n, dtype)

    def vector_points(dtype):
        return DEEP_VECTOR // np.dtype(dtype).itemsize

else:

    @numba.njit(inline="always")
    def vector_points(dtype):
        """Points per vector register for ``dtype`` (a constant)."""
        return _vector_points(dtype)


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


# ---- The deep kernel: a network of the scalar t through every layer -------------
#
# The twin of the second half of csrc/sweep_kernel.inc, whose comments say why each
# piece is as it is.  A tile of DEEP_TILE points goes through all the layers together.
# A layer's activations are stored as DEEP_TILE // points panels, one per group of
# `points` points (one vector register): panel c holds, for each unit i (rows padded
# to a multiple of DEEP_ROWS), the points' values then their tangents.

# The accumulators of a register block, sized for the narrowest dtype (float32).
_DEEP_ACC = DEEP_ROWS * 2 * (DEEP_VECTOR // 4)


@jit()
def deep_activate(z, dz, aj, lo, hi, o, p):
    """Writes a and da at o[p] and o[points + p]; returns 1 where z <= 0 else 0."""
    zero = o.dtype.type(0)
    one = o.dtype.type(1)
    points = vector_points(o.dtype)
    v = z if z > zero else aj * z
    dv = dz if z > zero else aj * dz
    o[p] = lo if v < lo else (hi if v > hi else v)
    o[points + p] = dv if v > lo and v < hi else zero
    return zero if z > zero else one


@jit()
def deep_first(w, b, fan_out, tt, dst, alpha, lo, hi, negt):
    points = vector_points(dst.dtype)
    fan_pad = (fan_out + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    for c0 in range(0, DEEP_TILE, points):
        pout = dst[c0 * 2 * fan_pad :]
        for j in range(fan_out):
            wj = w[j]
            bj = b[j]
            aj = alpha[j]
            for p in range(points):
                z = wj * tt[c0 + p] + bj
                negt[c0 + p] += deep_activate(z, wj, aj, lo, hi, pout[j * 2 * points :], p)


@jit()
def deep_block(wp, pin, kc, o, first):
    zero = o.dtype.type(0)
    points = vector_points(o.dtype)
    acc = stack_empty(_DEEP_ACC, o.dtype)
    for q in range(DEEP_ROWS):
        for c in range(2 * points):
            acc[q * 2 * points + c] = zero if first else o[q * 2 * points + c]
    for i in range(kc):
        for q in range(DEEP_ROWS):
            wq = wp[q * kc + i]
            for c in range(2 * points):
                acc[q * 2 * points + c] += wq * pin[i * 2 * points + c]
    for q in range(DEEP_ROWS):
        for c in range(2 * points):
            o[q * 2 * points + c] = acc[q * 2 * points + c]


@jit()
def deep_layer(wp, b, fan_in, fan_out, src, dst, alpha, lo, hi, negt, last, y, slope, m):
    points = vector_points(dst.dtype)
    in_pad = (fan_in + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    fan_pad = (fan_out + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    for i0 in range(0, fan_in, DEEP_KBLOCK):
        i1 = min(i0 + DEEP_KBLOCK, fan_in)
        for j00 in range(0, fan_out, DEEP_MBLOCK):
            j01 = min(j00 + DEEP_MBLOCK, fan_out)
            for c0 in range(0, DEEP_TILE, points):
                pin = src[c0 * 2 * in_pad :]
                pout = dst[c0 * 2 * fan_pad :]
                for j0 in range(j00, j01, DEEP_ROWS):
                    deep_block(wp[i0 * fan_pad + j0 * (i1 - i0) :], pin[i0 * 2 * points :], i1 - i0, pout[j0 * 2 * points :], i0 == 0)
                if i1 < fan_in:  # more inputs to come
                    continue
                for j in range(j00, j01):
                    o = pout[j * 2 * points :]
                    bj = b[j]
                    if not last:
                        aj = alpha[j]
                        for p in range(points):
                            negt[c0 + p] += deep_activate(o[p] + bj, o[points + p], aj, lo, hi, o, p)
                    else:
                        for p in range(min(points, m - c0)):
                            y[c0 + p, j] = o[p] + bj
                            slope[c0 + p, j] = o[points + p]


@jit()
def deep_pack(widths, depth, weights, wp):
    zero = wp.dtype.type(0)
    iw = widths[0] * widths[1]
    ip = 0
    for k in range(1, depth + 1):
        fan_in = widths[k]
        fan_out = widths[k + 1]
        fan_pad = (fan_out + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
        for i0 in range(0, fan_in, DEEP_KBLOCK):
            i1 = min(i0 + DEEP_KBLOCK, fan_in)
            for j in range(fan_pad):
                for i in range(i0, i1):
                    wp[ip + i0 * fan_pad + j * (i1 - i0) + (i - i0)] = weights[iw + j * fan_in + i] if j < fan_out else zero
        iw += fan_in * fan_out
        ip += fan_pad * fan_in
    return ip


@jit()
def deep_tile(t, m, widths, depth, weights, wp, biases, alpha, lo, hi, y, slope, negative, src, dst, tt, negt):
    zero = t.dtype.type(0)
    ip = 0
    ib = 0
    for p in range(DEEP_TILE):
        tt[p] = t[min(p, m - 1)]  # pad a short last tile with its last point
    for k in range(depth + 1):
        fan_in = widths[k]
        fan_out = widths[k + 1]
        for p in range(DEEP_TILE):
            negt[p] = zero
        if k == 0:
            deep_first(weights, biases, fan_out, tt, dst, alpha, lo[0], hi[0], negt)
        elif k < depth:
            deep_layer(wp[ip:], biases[ib:], fan_in, fan_out, src, dst, alpha[ib:], lo[k], hi[k], negt, False, y, slope, m)
        else:
            deep_layer(wp[ip:], biases[ib:], fan_in, fan_out, src, dst, alpha[ib:], zero, zero, negt, True, y, slope, m)
        if k < depth:
            for p in range(m):
                negative[p, k] = np.int32(negt[p])
        if k > 0:
            ip += (fan_out + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS * fan_in
        ib += fan_out
        src, dst = dst, src


@jit(parallel=True)
def _sweep_deep(t, widths, weights, biases, alpha, lo, hi, y, slope, negative):
    n = t.shape[0]
    depth = widths.shape[0] - 2
    wmax = 1
    for k in range(depth + 2):
        wmax = max(wmax, widths[k])
    wmax = (wmax + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    chunk = DEEP_TILE * DEEP_CHUNK_TILES
    nchunks = (n + chunk - 1) // chunk
    npacked = 0
    for k in range(1, depth + 1):
        npacked += (widths[k + 1] + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS * widths[k]
    wp = np.empty(npacked, t.dtype)
    deep_pack(widths, depth, weights, wp)
    for kc in prange(nchunks):
        i0 = kc * chunk
        m = min(n - i0, chunk)
        # scratch per chunk: prange has no per-thread setup like the C twin's parallel region
        src = np.empty(wmax * 2 * DEEP_TILE, t.dtype)
        dst = np.empty(wmax * 2 * DEEP_TILE, t.dtype)
        tt = np.empty(DEEP_TILE, t.dtype)
        negt = np.empty(DEEP_TILE, t.dtype)
        for it in range(0, m, DEEP_TILE):
            mt = min(m - it, DEEP_TILE)
            j = i0 + it
            deep_tile(t[j:], mt, widths, depth, weights, wp, biases, alpha, lo, hi, y[j:], slope[j:], negative[j:], src, dst, tt, negt)


# Numba runs LLVM's SLP vectoriser only when NUMBA_SLP_VECTORIZE=1 (it is off by
# default), and the register block needs it: without it deep_block's 12 vector
# accumulators stay 48 scalar ones and the kernel runs at 2 Gflop/s instead of 35
# (float64, one core).  So the deep kernel is compiled with it switched on, and only
# the deep kernel: the setting is read when a function is compiled, and is put back
# at once.  The lock keeps two threads from compiling it at the same time.
_SLP_LOCK = threading.Lock()
_COMPILED = set()


def sweep_deep(t, widths, weights, biases, alpha, lo, hi, y, slope, negative):
    args = (t, widths, weights, biases, alpha, lo, hi, y, slope, negative)
    if not numba.config.DISABLE_JIT:
        key = tuple(numba.typeof(a) for a in args)
        if key not in _COMPILED:
            with _SLP_LOCK:
                slp = numba.config.SLP_VECTORIZE
                numba.config.SLP_VECTORIZE = 1
                try:
                    _sweep_deep.compile(key)
                finally:
                    numba.config.SLP_VECTORIZE = slp
                _COMPILED.add(key)
    _sweep_deep(*args)


def get_num_threads():
    return numba.get_num_threads()


def set_num_threads(n):
    if n > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"threads={n} is more than the {numba.config.NUMBA_NUM_THREADS} threads Numba was "
            "started with (NUMBA_NUM_THREADS)"
        )
    numba.set_num_threads(n)
