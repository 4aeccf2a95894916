"""The graph twins' Numba kernel: a graph network's per-point sweep (twin of csrc/graph_c.c).

Read it line by line against the C file: same functions (``name`` here is ``name_<SFX>``
there, with the dtype's suffix), same arguments in the same order, same loops, same
names.  Arrays in, arrays out: the graph comes as its program (``ops``, ``indices``,
``reals``, ``units``: ``fastrelu.kernels.params.graph_program`` says what each row holds),
and the caller has validated, converted and allocated everything.

A tile of GRAPH_TILE points goes through every node together, as the deep kernel's tile
goes through every layer.  Each node has its own units in the tile's scratch ``s``; unit
``u`` holds ``lanes = (1 + nk) * GRAPH_TILE`` numbers: the tile's values, then its ``nk``
tangents (one per coordinate: a line's one, a plane's two), GRAPH_TILE each.  An affine
operation is then the same multiply-add on every lane (values and tangents alike) and
adds its constant to the value lanes alone; its innermost loop runs over the lanes.
"""

import numpy as np

from ..utils.config import GRAPH_CHUNK_TILES, GRAPH_FIELDS, GRAPH_TILE, jit
from . import threads
from .dense_numba import prefer_wide_vectors, stack_empty

# the fields of a node's row (params.graph_program), as csrc/graph_c.c names them
OP, OUT, SIZE, PR, PI, SRC, A = 0, 1, 2, 3, 4, 5, 6
INPUT, DENSE, CONV, AVGPOOL, SCALE, GATHER, ADD, ACT, MAXPOOL = range(9)
MAX_TANGENTS = 2
# an operation's sums, on the stack (its registers, once its loops are unrolled: a heap array
# may alias the scratch, and LLVM then keeps every sum in memory)
_LANES = (1 + MAX_TANGENTS) * GRAPH_TILE


@jit()
def graph_input(s, out, size, tt, nk, lanes):
    """The coordinates' values, and the identity as their tangents."""
    zero = s.dtype.type(0)
    one = s.dtype.type(1)
    for u in range(size):
        o = (out + u) * lanes
        for p in range(GRAPH_TILE):
            s[o + p] = tt[p * nk + u]
            for c in range(nk):
                s[o + (1 + c) * GRAPH_TILE + p] = one if c == u else zero


@jit()
def graph_store(s, o, acc, b, bias, lanes):
    """A unit's sums written at o, with its constant b added to the value lanes."""
    for q in range(GRAPH_TILE):
        s[o + q] = acc[q] + b if bias else acc[q]
    for q in range(GRAPH_TILE, lanes):
        s[o + q] = acc[q]


@jit()
def graph_dense(s, out, src, w, b, lead, fan_in, fan_out, bias, lanes):
    """W (fan_out x fan_in) on the last axis of the input, for each of its lead rows."""
    zero = s.dtype.type(0)
    acc = stack_empty(_LANES, s.dtype)
    for r in range(lead):
        x0 = (src + r * fan_in) * lanes
        for j in range(fan_out):
            for q in range(lanes):
                acc[q] = zero
            for i in range(fan_in):
                wji = w[j * fan_in + i]
                xi = x0 + i * lanes
                for q in range(lanes):
                    acc[q] += wji * s[xi + q]
            graph_store(s, (out + r * fan_out + j) * lanes, acc, b[j] if bias else zero, bias, lanes)


@jit()
def graph_conv(s, out, src, w, b, C, H, W, O, Ho, Wo, KH, KW, SH, SW, PH, PW, DH, DW, G, bias, lanes):
    """A grouped, strided, dilated, zero-padded convolution (1-D: H = KH = 1); the padding's
    terms are zeros, so they are left out rather than added."""
    zero = s.dtype.type(0)
    acc = stack_empty(_LANES, s.dtype)
    cg = C // G
    og = O // G
    for o in range(O):
        g = o // og
        for ho in range(Ho):
            for wo in range(Wo):
                for q in range(lanes):
                    acc[q] = zero
                for ci in range(cg):
                    c = g * cg + ci
                    for kh in range(KH):
                        hi = ho * SH - PH + kh * DH
                        if hi < 0 or hi >= H:
                            continue
                        for kw in range(KW):
                            wi = wo * SW - PW + kw * DW
                            if wi < 0 or wi >= W:
                                continue
                            wk = w[((o * cg + ci) * KH + kh) * KW + kw]
                            xi = (src + (c * H + hi) * W + wi) * lanes
                            for q in range(lanes):
                                acc[q] += wk * s[xi + q]
                graph_store(s, (out + (o * Ho + ho) * Wo + wo) * lanes, acc, b[o] if bias else zero, bias, lanes)


@jit()
def graph_avgpool(s, out, src, m0, m1, C, H, W, Ho, Wo, lanes):
    """mat0 (Ho x H) along the height, mat1 (Wo x W) along the width, as the reference
    applies them: the width's sums first."""
    zero = s.dtype.type(0)
    acc = stack_empty(_LANES, s.dtype)
    inner = stack_empty(_LANES, s.dtype)
    for c in range(C):
        for ho in range(Ho):
            for wo in range(Wo):
                for q in range(lanes):
                    acc[q] = zero
                for h in range(H):
                    for q in range(lanes):
                        inner[q] = zero
                    for wi in range(W):
                        mw = m1[wo * W + wi]
                        xi = (src + (c * H + h) * W + wi) * lanes
                        for q in range(lanes):
                            inner[q] += mw * s[xi + q]
                    mh = m0[ho * H + h]
                    for q in range(lanes):
                        acc[q] += mh * inner[q]
                graph_store(s, (out + (c * Ho + ho) * Wo + wo) * lanes, acc, zero, False, lanes)


@jit()
def graph_scale(s, out, src, size, sc, sh, shift, lanes):
    """x * scale (+ shift on the values), per unit."""
    for u in range(size):
        xi = (src + u) * lanes
        o = (out + u) * lanes
        su = sc[u]
        for q in range(GRAPH_TILE):
            s[o + q] = s[xi + q] * su + sh[u] if shift else s[xi + q] * su
        for q in range(GRAPH_TILE, lanes):
            s[o + q] = s[xi + q] * su


@jit()
def graph_add(s, out, size, first, coeffs, const, nin, has_const, lanes):
    """sum_i coeffs[i] * input_i (+ const on the values); first[i] is input i's first unit."""
    zero = s.dtype.type(0)
    acc = stack_empty(_LANES, s.dtype)
    for u in range(size):
        for q in range(lanes):
            acc[q] = zero
        for i in range(nin):
            ci = coeffs[i]
            xi = (first[i] + u) * lanes
            for q in range(lanes):
                acc[q] += ci * s[xi + q]
        graph_store(s, (out + u) * lanes, acc, const[u] if has_const else zero, has_const, lanes)


@jit()
def graph_gather(s, out, size, index, lanes):
    """Unit u is a copy of scratch unit index[u] (reshape, permute, cat)."""
    for u in range(size):
        xi = index[u] * lanes
        o = (out + u) * lanes
        for q in range(lanes):
            s[o + q] = s[xi + q]


@jit()
def graph_act(s, out, src, size, alpha, lo, hi, lanes, negt):
    """The deep kernel's activation step (dense_numba.deep_activate) on every unit; negt[p]
    counts point p's units with input <= 0."""
    zero = s.dtype.type(0)
    for u in range(size):
        aj = alpha[u]
        xi = (src + u) * lanes
        o = (out + u) * lanes
        for p in range(GRAPH_TILE):
            z = s[xi + p]
            v = z if z > zero else aj * z
            s[o + p] = lo if v < lo else (hi if v > hi else v)
            for q in range(p + GRAPH_TILE, lanes, GRAPH_TILE):
                dz = s[xi + q]
                dv = dz if z > zero else aj * dz
                s[o + q] = dv if v > lo and v < hi else zero
            negt[p] += 0 if z > zero else 1


@jit()
def graph_maxpool(s, out, src, C, H, W, Ho, Wo, KH, KW, SH, SW, PH, PW, DH, DW, lanes):
    """Each window's largest input, the first of equals (numpy's argmax, PyTorch's choice),
    and its tangents; the padding (-inf) is never taken, as in the reference."""
    zero = s.dtype.type(0)
    low = s.dtype.type(-np.inf)
    acc = stack_empty(_LANES, s.dtype)
    for c in range(C):
        for ho in range(Ho):
            for wo in range(Wo):
                for q in range(GRAPH_TILE):
                    acc[q] = low
                for q in range(GRAPH_TILE, lanes):
                    acc[q] = zero
                for kh in range(KH):
                    hi = ho * SH - PH + kh * DH
                    if hi < 0 or hi >= H:
                        continue
                    for kw in range(KW):
                        wi = wo * SW - PW + kw * DW
                        if wi < 0 or wi >= W:
                            continue
                        xi = (src + (c * H + hi) * W + wi) * lanes
                        for p in range(GRAPH_TILE):
                            take = s[xi + p] > acc[p]
                            for q in range(p, lanes, GRAPH_TILE):
                                acc[q] = s[xi + q] if take else acc[q]
                graph_store(s, (out + (c * Ho + ho) * Wo + wo) * lanes, acc, zero, False, lanes)


@jit()
def graph_node(s, row, ops, indices, reals, tt, nk, lanes, negt):
    """One node of the program on the tile: the op of row ``row``."""
    op = ops[row, OP]
    out = ops[row, OUT]
    size = ops[row, SIZE]
    pr = ops[row, PR]
    pi = ops[row, PI]
    src = ops[row, SRC]
    a = ops[row, A:]
    if op == INPUT:
        graph_input(s, out, size, tt, nk, lanes)
    elif op == DENSE:
        graph_dense(s, out, src, reals[pr:], reals[pr + a[1] * a[2]:], a[0], a[1], a[2], a[3] != 0, lanes)
    elif op == CONV:
        nw = a[3] * (a[0] // a[14]) * a[6] * a[7]
        graph_conv(s, out, src, reals[pr:], reals[pr + nw:], a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                   a[9], a[10], a[11], a[12], a[13], a[14], a[15] != 0, lanes)
    elif op == AVGPOOL:
        graph_avgpool(s, out, src, reals[pr:], reals[pr + a[3] * a[1]:], a[0], a[1], a[2], a[3], a[4], lanes)
    elif op == SCALE:
        graph_scale(s, out, src, size, reals[pr:], reals[pr + size:], a[0] != 0, lanes)
    elif op == GATHER:
        graph_gather(s, out, size, indices[pi:], lanes)
    elif op == ADD:
        graph_add(s, out, size, indices[pi:], reals[pr:], reals[pr + a[0]:], a[0], a[1] != 0, lanes)
    elif op == ACT:
        for p in range(GRAPH_TILE):
            negt[p] = 0
        graph_act(s, out, src, size, reals[pr:], reals[pr + size], reals[pr + size + 1], lanes, negt)
    elif op == MAXPOOL:
        graph_maxpool(s, out, src, a[0], a[1], a[2], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
                      lanes)


@jit()
def graph_tile(t, m, ops, indices, reals, nk, nact, y, slope, negative, s, tt, negt):
    """One tile of m <= GRAPH_TILE points through every node; t, y, slope and negative
    point at the tile's first row (t flat, nk numbers per point; slope out * nk per point).
    The lanes are a constant in each branch, so that every operation's innermost loop is
    compiled for its length (where LLVM inlines graph_node, as GCC always does the C twin's)."""
    prefer_wide_vectors()
    lanes = (1 + nk) * GRAPH_TILE
    for p in range(GRAPH_TILE):
        for c in range(nk):
            tt[p * nk + c] = t[min(p, m - 1) * nk + c]  # pad a short last tile with its last point
    nodes = ops.shape[0]
    for row in range(nodes):
        if nk == 1:
            graph_node(s, row, ops, indices, reals, tt, nk, 2 * GRAPH_TILE, negt)
        else:
            graph_node(s, row, ops, indices, reals, tt, nk, 3 * GRAPH_TILE, negt)
        if ops[row, OP] == ACT:
            col = ops[row, A]
            for p in range(m):
                negative[p * nact + col] = np.int32(negt[p])
    last = ops[nodes - 1, OUT]
    nout = ops[nodes - 1, SIZE]
    for p in range(m):
        for j in range(nout):
            o = (last + j) * lanes
            y[p * nout + j] = s[o + p]
            for c in range(nk):
                slope[(p * nout + j) * nk + c] = s[o + (1 + c) * GRAPH_TILE + p]


@jit()
def _sweep_graph(c0, c1, t, n, ops, indices, reals, units, nk, nact, y, slope, negative):
    """Chunks c0..c1-1 of GRAPH_CHUNK_TILES tiles, with one scratch for the range, as the
    C twin allocates one per thread."""
    lanes = (1 + nk) * GRAPH_TILE
    s = np.empty(units * lanes, t.dtype)
    tt = np.empty(GRAPH_TILE * MAX_TANGENTS, t.dtype)
    negt = np.empty(GRAPH_TILE, np.int64)
    nout = ops[ops.shape[0] - 1, SIZE]
    chunk = GRAPH_TILE * GRAPH_CHUNK_TILES
    for kc in range(c0, c1):
        i0 = kc * chunk
        m = min(n - i0, chunk)
        for it in range(0, m, GRAPH_TILE):
            mt = min(m - it, GRAPH_TILE)
            j = i0 + it
            graph_tile(t[j * nk:], mt, ops, indices, reals, nk, nact, y[j * nout:], slope[j * nout * nk:],
                       negative[j * nact:], s, tt, negt)


def scratch_bytes(units, nk, dtype):
    """Bytes of scratch one thread holds: every node's units for one tile."""
    return units * (1 + nk) * GRAPH_TILE * np.dtype(dtype).itemsize


def sweep_graph(t, ops, indices, reals, units, y, slope, negative, span=None):
    """``_sweep_graph`` over chunks of GRAPH_CHUNK_TILES tiles on fastrelu's threads: the C
    twin's sweep_graph.  ``t`` (N,) or (N, nk), ``y`` (N, out), ``slope`` (N, out) or
    (N, out, nk), ``negative`` (N, activation nodes), handed to the kernel flat.  ``span``
    is ignored (a per-point kernel)."""
    nk = int(ops[0, SIZE])
    if ops.shape[1] != GRAPH_FIELDS or not 1 <= nk <= MAX_TANGENTS:
        raise ValueError(f"the graph kernel takes programs of {GRAPH_FIELDS} fields and 1 to {MAX_TANGENTS} coordinates")
    n = t.shape[0]
    nact = negative.shape[1]
    args = (t.reshape(-1), n, ops, indices, reals, units, nk, nact, y.reshape(-1), slope.reshape(-1), negative.reshape(-1))
    chunk = GRAPH_TILE * GRAPH_CHUNK_TILES
    threads.run(lambda c0, c1: _sweep_graph(c0, c1, *args), (n + chunk - 1) // chunk)


get_num_threads = threads.get_num_threads
set_num_threads = threads.set_num_threads
