"""The plane walk's kernels in C: the binding of ``csrc/plane_c.c`` and ``csrc/plane_cut.c`` (in ``fastrelu.kernels._c``).

The same functions as ``plane_numba``, with the same arguments in the same order (the
C ones also take the lengths, read here from the arrays).  Importing this module fails
with ImportError when the C build is missing or predates the plane kernels; the walk
then runs ``plane_numba`` (``plane_engine.kernels``).  cffi releases the GIL around each
call, so tiles of a map run in threads at once.
"""

try:
    from ._c import ffi, lib
except ImportError:
    raise ImportError("the C build (fastrelu.kernels._c) is missing: the plane walk runs its Numba twin") from None
if not all(hasattr(lib, name) for name in ("plane_store_maps", "plane_cut", "plane_split_edges", "plane_renumber")):
    raise ImportError("the C build (fastrelu.kernels._c) predates the plane kernels: the plane walk runs its Numba twin")


def _in(ctype, a):
    return ffi.from_buffer(ctype, a, require_writable=False)


def _out(ctype, a):
    return ffi.from_buffer(ctype, a, require_writable=True)


def gather_maps(maps, parent, regions, gain, offs, f0, f1, x):
    lib.plane_gather_maps(
        _in("double[]", maps), maps.shape[1], maps.shape[2], _in("int64_t[]", parent), _in("int8_t[]", regions),
        _in("double[]", gain), _in("double[]", offs), f0, f1, _out("double[]", x), x.shape[1],
    )


def sides(maps, owner, P, bps, look, v0, v1, pos, neg, cand):
    return int(lib.plane_sides(
        _in("double[]", maps), maps.shape[1], maps.shape[2], _in("int64_t[]", owner), _in("double[]", P),
        _in("double[]", bps), bps.shape[0], look, v0, v1,
        _out("uint8_t[]", pos), _out("uint8_t[]", neg), pos.shape[1], _out("int64_t[]", cand), cand.shape[0],
    ))


def side(pos, neg, V1, vert, pair, lines, coefs, P, on, s, near):
    return int(lib.plane_side(
        _in("uint8_t[]", pos), _in("uint8_t[]", neg), pos.shape[1], V1, _in("int64_t[]", vert), _in("int64_t[]", pair),
        vert.shape[0], _in("int64_t[]", lines), _in("double[]", coefs), _in("double[]", P), _in("int64_t[]", on),
        _out("int8_t[]", s), _out("int64_t[]", near),
    ))


def crossings(pos, neg, u, v, out):
    return int(lib.plane_crossings(
        _in("uint8_t[]", pos), _in("uint8_t[]", neg), pos.shape[1], _in("int64_t[]", u), _in("int64_t[]", v),
        u.shape[0], _out("int64_t[]", out), out.shape[0],
    ))


def face_sides(pos, neg, fptr, ts, fpos, fneg):
    lib.plane_face_sides(
        _in("uint8_t[]", pos), _in("uint8_t[]", neg), pos.shape[1], _in("int64_t[]", fptr), fptr.shape[0] - 1,
        _in("int64_t[]", ts), _out("uint8_t[]", fpos), _out("uint8_t[]", fneg),
    )


def store_maps(y, n, bias, out, f0, acc):
    lib.plane_store_maps(
        _in("double[]", y), y.shape[1], y.shape[2], n, _in("double[]", bias), _out("double[]", out), out.shape[1], f0,
        _out("double[]", acc),
    )


def exact_sides(meet, line, out):
    lib.plane_exact_sides(_in("double[]", meet), _in("double[]", line), line.shape[0], _out("int64_t[]", out))


def cut(pos, neg, V1, pp, lines, coefs, h, fptr, ts, fe_ptr, fe, layer, P, on, meet, eu, ev, eL, eR, eoL, eoR, epair,
        elayer, eunit, ecoef, e0, reg, orig, vkey, ekey, fkey, le, rec, rpos, wc, pend, wd, wreg, state):
    return int(lib.plane_cut(
        _in("uint8_t[]", pos), _in("uint8_t[]", neg), pos.shape[1], V1, _in("int64_t[]", pp), pp.shape[0] - 1,
        _in("int64_t[]", lines), _in("double[]", coefs), h, _in("int64_t[]", fptr), _in("int64_t[]", ts),
        _in("int64_t[]", fe_ptr), _in("int64_t[]", fe), layer, _out("double[]", P), _out("int64_t[]", on),
        _out("double[]", meet), P.shape[0], _out("int64_t[]", eu), _out("int64_t[]", ev), _out("int64_t[]", eL),
        _out("int64_t[]", eR), _out("int64_t[]", eoL), _out("int64_t[]", eoR), _out("int64_t[]", epair),
        _out("int32_t[]", elayer), _out("int32_t[]", eunit), _out("double[]", ecoef), eu.shape[0], e0,
        _out("int8_t[]", reg), _out("int64_t[]", orig), reg.shape[0], _out("int64_t[]", vkey), _out("int64_t[]", ekey),
        _out("int64_t[]", fkey), _out("int64_t[]", le), le.shape[0], _out("int64_t[]", rec), rec.shape[0],
        _out("int64_t[]", rpos), _out("int64_t[]", wc), wc.shape[0], _out("int64_t[]", pend), pend.shape[1],
        _out("double[]", wd), _out("int8_t[]", wreg), _out("int64_t[]", state),
    ))


def incidence(u, v, L, R, owner, vptr, vface, fptr, fvert):
    lib.plane_incidence(
        _in("int64_t[]", u), _in("int64_t[]", v), _in("int64_t[]", L), _in("int64_t[]", R), u.shape[0],
        _out("int64_t[]", owner), owner.shape[0], _out("int64_t[]", vptr), _out("int64_t[]", vface), _out("int64_t[]", fptr),
        fptr.shape[0] - 1, _out("int64_t[]", fvert),
    )


def face_edges(L, R, nf, fe_ptr, fe):
    lib.plane_face_edges(
        _in("int64_t[]", L), _in("int64_t[]", R), L.shape[0], _in("int64_t[]", nf), nf.shape[0], _out("int64_t[]", fe_ptr),
        _out("int64_t[]", fe),
    )


def split_edges(pos, neg, e, line, maps, bps, owner, P, on, meet, V0, eu, ev, eL, eR, eoL, eoR, epair, elayer, eunit,
                ecoef, n, npos, nneg, xs, cls, sv, ord_, vid):
    return int(lib.plane_split_edges(
        _in("uint8_t[]", pos), _in("uint8_t[]", neg), pos.shape[1], _in("int64_t[]", e), _in("int64_t[]", line),
        e.shape[0], _in("double[]", maps), maps.shape[1], maps.shape[2], _in("double[]", bps), _in("int64_t[]", owner),
        _out("double[]", P), _out("int64_t[]", on), _out("double[]", meet), V0, _out("int64_t[]", eu),
        _out("int64_t[]", ev), _out("int64_t[]", eL), _out("int64_t[]", eR), _out("int64_t[]", eoL), _out("int64_t[]", eoR),
        _out("int64_t[]", epair), _out("int32_t[]", elayer), _out("int32_t[]", eunit), _out("double[]", ecoef), n,
        _out("uint8_t[]", npos), _out("uint8_t[]", nneg), _out("double[]", xs), _out("double[]", cls),
        _out("double[]", sv), _out("int64_t[]", ord_), _out("int64_t[]", vid),
    ))


def renumber(vkey, ekey, fkey, rounds, V1, e0, F, vmap, emap, fmap, slot, ptr, lst):
    lib.plane_renumber(
        _in("int64_t[]", vkey), vkey.shape[0], _in("int64_t[]", ekey), ekey.shape[0], _in("int64_t[]", fkey), fkey.shape[0],
        rounds, V1, e0, F, _out("int64_t[]", vmap), _out("int64_t[]", emap), _out("int64_t[]", fmap), _out("int64_t[]", slot),
        _out("int64_t[]", ptr), _out("int64_t[]", lst),
    )
