"""The exact deep walk's C twin: the binding of ``csrc/walk_c.c`` (in ``fastrelu.kernels._c``).

The same functions as ``walk_numba``, with the same arguments in the same order (arrays
in, arrays out; the C ones also take the lengths and each 2-D array's number of
columns, read here from the arrays).  Every array's dtype is checked here, since C reads
the bytes as it is told.  Importing this module fails with ImportError when the C build
is missing or predates the deep walk's twin; ``walk.py`` then runs ``walk_numba``.
"""

import numpy as np

try:
    from ._c import ffi, lib
except ImportError:
    raise ImportError("the C build (fastrelu.kernels._c) is missing: the deep walk runs its Numba twin") from None
if not hasattr(lib, "walk_evaluate_f64"):
    raise ImportError("the C build (fastrelu.kernels._c) predates the deep walk's twin: the deep walk runs its Numba twin")

_CHUNK = int(lib.FASTRELU_WALK_CHUNK)  # grid points per unit of parallel work
_HITS = int(lib.FASTRELU_WALK_HITS)  # points on an edge remembered per chunk

_DTYPES = {
    "double[]": (np.float64,),
    "float[]": (np.float32,),
    "int64_t[]": (np.int64,),
    "int32_t[]": (np.int32,),
    "int8_t[]": (np.int8,),
    "uint8_t[]": (np.bool_, np.uint8),
}


def _buf(ctype, a, writable):
    if a.dtype.type not in _DTYPES[ctype]:
        raise TypeError(f"the C deep walk needs {ctype[:-2]} arrays, got {a.dtype} of shape {a.shape}")
    if not a.flags.c_contiguous:
        raise TypeError(f"the C deep walk needs C-contiguous arrays, got one of shape {a.shape}")
    return ffi.from_buffer(ctype, a, require_writable=writable)


def _in(ctype, a):
    return _buf(ctype, a, False)


def _out(ctype, a):
    return _buf(ctype, a, True)


def _ld(a):
    """A 2-D array's number of columns (its rows' stride in C)."""
    return a.shape[1]


# ---------------------------------------------------------------------------------
# the walk of a layer


def _scan_pass(te, S, C, bps, p, first, carried, r0s, flag):
    return bool(lib.walk_scan_pass(
        _in("double[]", te), _in("double[]", S), _in("double[]", C), _ld(S), _in("double[]", bps), bps.shape[0],
        p, bool(first), _out("int8_t[]", carried), _out("int8_t[]", r0s), _out("uint8_t[]", flag),
    ))


def _first_crossing(bps, s, c, tl, tr):
    return int(lib.walk_first_crossing(_in("double[]", bps), bps.shape[0], s, c, tl, tr))


def _scan_piece(te, S, C, bps, p, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r):
    lib.walk_scan_piece(
        _in("double[]", te), _in("double[]", S), _in("double[]", C), _ld(S), _in("double[]", bps), bps.shape[0], p,
        _out("int8_t[]", first), _out("int8_t[]", carried), _out("uint8_t[]", flag), _out("int8_t[]", r0s),
        _out("int64_t[]", sc), *_events(ev_p, ev_t, ev_j, ev_r),
    )


def _events(ev_p, ev_t, ev_j, ev_r):
    return (_out("int64_t[]", ev_p), _out("double[]", ev_t), _out("int64_t[]", ev_j), _out("int8_t[]", ev_r),
            ev_p.shape[0])


def _scan(te, S, C, bps, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r):
    lib.walk_scan(
        _in("double[]", te), _in("double[]", S), _in("double[]", C), S.shape[0], _ld(S), _in("double[]", bps),
        bps.shape[0], _out("int8_t[]", first), _out("int8_t[]", carried), _out("uint8_t[]", flag),
        _out("int8_t[]", r0s), _out("int64_t[]", sc), *_events(ev_p, ev_t, ev_j, ev_r),
    )


def _plan(te, ev_p, ev_t, order, ekind_old, K, te_new, par, src, e_old, e_ev, e_n, row, arow):
    nrow = ffi.new("int64_t *")
    i = lib.walk_plan(
        _in("double[]", te), te.shape[0] - 1, _in("int64_t[]", ev_p), _in("double[]", ev_t), _in("int64_t[]", order),
        order.shape[0], _in("int8_t[]", ekind_old), K, _out("double[]", te_new), _out("int64_t[]", par),
        _out("int8_t[]", src), _out("int64_t[]", e_old), _out("int64_t[]", e_ev), _out("int64_t[]", e_n),
        _out("int64_t[]", row), _out("int64_t[]", arow), nrow,
    )
    return int(i), int(nrow[0])


def _fill(i0, i1, cur, G, O, gl, mark, gain, offs, idx0, S, C, par, src, e_old, e_ev, e_n, row, arow,
          order, ev_j, ev_r, Yo, rowo, WTo, colo, srco, ekind_old, eds_old, edc_old,
          X, nneg, ecol, eds, edc, ekind, aidx, XL, elive):
    lib.walk_fill(
        i0, i1, _out("int8_t[]", cur), cur.shape[0], _out("double[]", G), _out("double[]", O), _out("double[]", gl),
        _out("int64_t[]", mark), _in("double[]", gain), _in("double[]", offs), _ld(gain), idx0,
        _in("double[]", S), _in("double[]", C), _ld(S), _in("int64_t[]", par), _in("int8_t[]", src),
        _in("int64_t[]", e_old), _in("int64_t[]", e_ev), _in("int64_t[]", e_n), _in("int64_t[]", row),
        _in("int64_t[]", arow), _in("int64_t[]", order), _in("int64_t[]", ev_j), _in("int8_t[]", ev_r),
        _in("double[]", Yo), _ld(Yo), _in("int64_t[]", rowo), _in("double[]", WTo), _ld(WTo),
        _in("int64_t[]", colo), _in("int8_t[]", srco), _in("int8_t[]", ekind_old), _in("double[]", eds_old),
        _in("double[]", edc_old), _out("double[]", X), _ld(X), _out("int32_t[]", nneg), _out("int64_t[]", ecol),
        _out("double[]", eds), _out("double[]", edc), _out("int8_t[]", ekind), _in("int64_t[]", aidx),
        _out("double[]", XL), _ld(XL), _out("int8_t[]", elive),
    )


def _prefix(i0, i1, Y, b, WT, src, row, arow, ecol, eds, edc, sh, sl, ch, cl, S2, C2,
            aidx, YL, elive, live, moving,
            scan, te, bps, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r):
    lib.walk_prefix(
        i0, i1, _in("double[]", Y), _ld(Y), _in("double[]", b), _in("double[]", WT), _ld(WT), _in("int8_t[]", src),
        _in("int64_t[]", row), _in("int64_t[]", arow), _in("int64_t[]", ecol), _in("double[]", eds),
        _in("double[]", edc), _out("double[]", sh), _out("double[]", sl), _out("double[]", ch), _out("double[]", cl),
        _out("double[]", S2), _out("double[]", C2), _ld(S2), _in("int64_t[]", aidx), _in("double[]", YL), _ld(YL),
        _in("int8_t[]", elive), _out("int64_t[]", live), _out("int64_t[]", moving), bool(scan),
        _in("double[]", te), _in("double[]", bps), bps.shape[0], _out("int8_t[]", first), _out("int8_t[]", carried),
        _out("uint8_t[]", flag), _out("int8_t[]", r0s), _out("int64_t[]", sc), *_events(ev_p, ev_t, ev_j, ev_r),
    )


def _transpose(W, WT, j0, j1):
    lib.walk_transpose(_in("double[]", W), W.shape[0], _ld(W), _out("double[]", WT), _ld(WT), j0, j1)


# ---------------------------------------------------------------------------------
# the sweep

_EVALUATE = {np.dtype(np.float64): ("double[]", lib.walk_evaluate_f64), np.dtype(np.float32): ("float[]", lib.walk_evaluate_f32)}


def _evaluate(c0, c1, t, edges, slope, icpt, neg, y, sl, negative, hits, nhits):
    if t.dtype not in _EVALUATE:
        raise TypeError(f"the C deep walk sweeps float64 or float32 grids, got {t.dtype}")
    ctype, kernel = _EVALUATE[t.dtype]
    if hits.shape[1] != _HITS or slope.shape != icpt.shape or y.shape != sl.shape or y.shape[1] != slope.shape[1]:
        raise ValueError("the C deep walk's _evaluate got arrays of mismatched shapes")
    kernel(
        c0, c1, _in(ctype, t), t.shape[0], _in("double[]", edges), edges.shape[0], _in("double[]", slope),
        _in("double[]", icpt), slope.shape[1], _in("int32_t[]", neg), neg.shape[1], _out(ctype, y), _out(ctype, sl),
        _out("int32_t[]", negative), _out("int64_t[]", hits), _out("int64_t[]", nhits),
    )
