"""The plane walk's per-face and per-vertex kernels in Numba: the twin of ``csrc/plane_c.c``.

The walk of a plane (``fastrelu.analysis.plane_walk``) spends its time, besides the
products, in passes over every face, vertex, edge and cut of each layer:

- ``gather_maps``: the rows of the next layer's product on each face,
  ``g * maps[parent] + o``, with the gain ``g`` and offset ``o`` of each unit's region
  on the face, in one pass (numpy's take, a multiply and an add were three); the
  product itself is numpy's (BLAS), several times faster than any loop here.
- ``sides``: each vertex's side of every line of the layer (``z > b`` and ``z < b`` as
  bits, ``numpy.packbits``' order), ``z = (a u + b v) + (c - bp)`` from its owner
  face's map, rounded as written (no contraction, as numpy computes it), and the
  ``(vertex, line)`` pairs within ``look`` of the line that the walk looks at again.
- ``store_maps``: a block of the next layer's product stored among the maps, the bias
  added to its intercepts, and the largest magnitude of each slab's columns kept (the
  scale of the next layer's values; NaN or inf there says a map is not finite), in one
  pass (numpy's add, copy, max and min were four).
- ``face_sides``: each face's sides, the or of its vertices'.
- ``crossings``: the ``(edge, line)`` pairs of lines crossing an edge (its two ends on
  opposite sides), and the ``(face, line)`` pairs of lines crossing a face.
- ``side``: a vertex's side of a cell's line, from the bits or, for the vertices made in
  this layer, from the line's map (the few within rounding of the line sent back).
- ``incidence``: each vertex's owner (the smallest face around it), the faces around each
  vertex and each face's vertices in order; ``face_edges``: each face's edges in order
  (counting sorts: numpy's lexsort and argsorts were most of the sides' time).
- ``split_edges``: a layer's step 1, a vertex on every edge where a line crosses it,
  ordered along the edge, with its sides.
- ``renumber``: the new vertices, edges and faces of ``cut`` numbered as rounds over all
  faces at once number them (each round's rows placed by their keys).
- ``cut``: a layer's rounds of cuts, face after face, in one call (``_vside`` deciding
  each side as ``side`` does, the few within rounding of the line by ``_exact_side``).
- ``exact_sides``: the side of a line at the exact crossing of two others, the sign of a
  3x3 determinant of float64 coefficients computed exactly: each product of three split
  without error by ``two_prod`` (fma) into an expansion (Shewchuk's grow-expansion), whose
  sign is that of its largest term.

Same functions, arguments, loops and names as the C twin; compiled without fastmath,
so that both round every operation as written and agree bit for bit
(tests/test_plane_tiles.py).  Numba is imported only when this module is.
"""

import math

import numpy as np

from ..utils.config import jit
from .eft import two_prod, two_sum

_jit = jit(exact=True)  # every operation rounded as written: the C twin's bits


@_jit
def gather_maps(maps, parent, regions, gain, offs, f0, f1, x):
    """``x[:, f - f0] = gain * maps[:, parent[f]] + offs`` (the offset on the intercepts) for
    the faces ``f0:f1``, with the gain and offset of each unit's region on the face: the
    rows of the next layer's product (``x`` (3, nx, h), ``nx >= f1 - f0``)."""
    h = maps.shape[2]
    for f in range(f0, f1):
        p = parent[f]
        for i in range(h):
            r = regions[f, i]
            g = gain[r, i]
            x[0, f - f0, i] = g * maps[0, p, i]
            x[1, f - f0, i] = g * maps[1, p, i]
            z = g * maps[2, p, i]
            x[2, f - f0, i] = z + offs[r, i]


@_jit
def sides(maps, owner, P, bps, look, v0, v1, pos, neg, cand):
    """Bits of ``z > bp`` (``pos``) and ``z < bp`` (``neg``) of vertices ``v0:v1`` on every
    line (line ``k * h + j``: unit ``j``, breakpoint ``bps[k]``), from their owner's map.
    The ``(vertex, line)`` pairs with ``0 < |z| <= look`` go to ``cand`` (rows, as many
    as fit); returns their number, which the caller compares with ``cand``'s rows."""
    h = maps.shape[2]
    nb = bps.shape[0]
    ncap = cand.shape[0]
    nc = 0
    for v in range(v0, v1):
        f = owner[v]
        pu = P[v, 0]
        pv = P[v, 1]
        for k in range(nb):
            bp = bps[k]
            for j in range(h):
                t1 = maps[0, f, j] * pu
                t2 = maps[1, f, j] * pv
                t1 = t1 + t2
                t2 = maps[2, f, j] - bp
                z = t1 + t2
                line = k * h + j
                bit = np.uint8(128 >> (line & 7))
                if z > 0.0:
                    pos[v, line >> 3] |= bit
                elif z < 0.0:
                    neg[v, line >> 3] |= bit
                if z != 0.0 and abs(z) <= look:
                    if nc < ncap:
                        cand[nc, 0] = v
                        cand[nc, 1] = line
                    nc += 1
    return nc


@_jit
def side(pos, neg, V1, vert, pair, lines, coefs, P, on, s, near):
    """Side (1, -1, 0) ``s[k]`` of vertex ``vert[k]`` on line ``lines[pair[k]]`` of its
    cell's face (the rounds' ``_side``): below ``V1`` from the bits ``pos`` and ``neg``;
    above, from the line's coefficients ``coefs[pair[k]]`` at ``P[vert[k]]``, 0 on a line
    the vertex was made on (``on``), and the ``k`` whose value is within rounding of 0
    (``|z| <= 2**-30`` of its terms) go to ``near`` for the exact side.  Returns their number."""
    n = vert.shape[0]
    nn = 0
    for k in range(n):
        v = vert[k]
        q = pair[k]
        line = lines[q]
        if v < V1:
            sh = 7 - (line & 7)
            up = (pos[v, line >> 3] >> sh) & 1
            down = (neg[v, line >> 3] >> sh) & 1
            s[k] = np.int8(up) - np.int8(down)
        elif on[v, 0] == line or on[v, 1] == line:
            s[k] = 0
        else:
            t1 = coefs[q, 0] * P[v, 0]
            t2 = coefs[q, 1] * P[v, 1]
            z = t1 + t2
            z = z + coefs[q, 2]
            size = abs(t1) + abs(t2)
            size = size + abs(coefs[q, 2])
            if z > 0.0:
                s[k] = 1
            elif z < 0.0:
                s[k] = -1
            else:
                s[k] = 0
            if abs(z) <= 2.0**-30 * size:
                near[nn] = k
                nn += 1
    return nn


@_jit
def crossings(pos, neg, u, v, out):
    """The ``(k, line)`` pairs, by ``k`` then line, where vertex (or face) ``u[k]`` is on one
    side of the line and ``v[k]`` on the other (``pos[u] & neg[v] | neg[u] & pos[v]``; with
    ``u == v``, a face with vertices on both sides), as many as fit in ``out``'s rows;
    returns their number, which the caller compares with ``out``'s rows."""
    n = u.shape[0]
    nbytes = pos.shape[1]
    ncap = out.shape[0]
    nc = 0
    for k in range(n):
        a = u[k]
        b = v[k]
        for i in range(nbytes):
            x = (pos[a, i] & neg[b, i]) | (neg[a, i] & pos[b, i])
            if x == 0:
                continue
            for t in range(8):
                if (x >> (7 - t)) & 1:
                    if nc < ncap:
                        out[nc, 0] = k
                        out[nc, 1] = 8 * i + t
                    nc += 1
    return nc


@_jit
def face_sides(pos, neg, fptr, ts, fpos, fneg):
    """Each face's sides, the or of its vertices' (``ts[fptr[f]:fptr[f + 1]]``) rows of
    ``pos`` and ``neg`` into row ``f`` of ``fpos`` and ``fneg`` (zeros on entry)."""
    F = fptr.shape[0] - 1
    nbytes = pos.shape[1]
    for f in range(F):
        for t in range(fptr[f], fptr[f + 1]):
            r = ts[t]
            for i in range(nbytes):
                fpos[f, i] |= pos[r, i]
                fneg[f, i] |= neg[r, i]


@_jit
def store_maps(y, n, bias, out, f0, acc):
    """Rows ``f < n`` of the product ``y`` (3, ny, w) into rows ``f0 + f`` of ``out``, the
    bias added to the intercepts (slab 2), and ``acc[s, i]`` (3, w) raised to the largest
    ``|out[s, :, i]|`` stored (NaN once one is NaN: a comparison alone would drop it)."""
    w = y.shape[2]
    for s in range(3):
        for f in range(n):
            for i in range(w):
                z = y[s, f, i]
                if s == 2:
                    z = z + bias[i]
                out[s, f0 + f, i] = z
                a = abs(z)
                acc[s, i] = a if (a > acc[s, i] or a != a) else acc[s, i]


# ---------------------------------------------------------------------------------
# the rounds of cuts of one layer (twin: csrc/plane_cut.c)


@_jit
def _grow(e, m, b):
    """``e[0:m] + b`` into ``e`` (an expansion, smallest first, no zeros), exactly; returns its length."""
    q = b
    k = 0
    for i in range(m):
        q, lo = two_sum(q, e[i])
        if lo != 0.0:
            e[k] = lo
            k += 1
    if q != 0.0 or k == 0:
        e[k] = q
        k += 1
    return k


@_jit
def _grow3(e, m, x, y, z, sgn):
    """``x*y*z`` (times ``sgn``, +1 or -1) added into the expansion ``e[0:m]``, exactly."""
    p, pe = two_prod(x, y)
    ah, al = two_prod(z, p)
    bh, bl = two_prod(z, pe)
    m = _grow(e, m, sgn * ah)
    m = _grow(e, m, sgn * al)
    m = _grow(e, m, sgn * bh)
    m = _grow(e, m, sgn * bl)
    return m


@_jit
def _scale_row(r, out):
    """``r`` scaled by a power of two to its largest magnitude in [0.5, 1) (exactly); False when
    some nonzero entry would then be below 2**-300, where a product of three could underflow."""
    big = abs(r[0])
    big = max(big, abs(r[1]))
    big = max(big, abs(r[2]))
    ex = 0
    if big > 0.0:
        ex = math.frexp(big)[1]
    ok = True
    for i in range(3):
        out[i] = math.ldexp(r[i], -ex)
        if out[i] != 0.0 and abs(out[i]) < 2.0**-300:
            ok = False
    return ok


@_jit
def _exact_side(meet, line):
    """The side (1, -1, 0) of ``line`` (a, b, c) at the exact point where the two lines of
    ``meet`` (2, 3) cross: the sign of a 3x3 determinant of float64 coefficients, exactly
    (products by ``two_prod`` into an expansion).  2: the two lines are parallel (no point);
    3: undecided (coefficients of one line more than 2**300 apart)."""
    # the line is one of the two, or its negation: on it, where the two truly cross
    det = meet[0, 0] * meet[1, 1] - meet[1, 0] * meet[0, 1]
    size = abs(meet[0, 0] * meet[1, 1]) + abs(meet[1, 0] * meet[0, 1])
    same = False
    for r in range(2):
        if meet[r, 0] == line[0] and meet[r, 1] == line[1] and meet[r, 2] == line[2]:
            same = True
        if meet[r, 0] == -line[0] and meet[r, 1] == -line[1] and meet[r, 2] == -line[2]:
            same = True
    if same and abs(det) > 4.0 * 2.0**-52 * size:
        return 0
    m1 = np.empty(3)
    m2 = np.empty(3)
    l3 = np.empty(3)
    ok = _scale_row(meet[0], m1)
    ok = _scale_row(meet[1], m2) and ok
    ok = _scale_row(line, l3) and ok
    if not ok:
        return 3
    e = np.empty(32)
    m = 0
    m = _grow3(e, m, m1[0], m2[1], 1.0, 1.0)
    m = _grow3(e, m, m2[0], m1[1], 1.0, -1.0)
    d = e[m - 1]
    if d == 0.0:
        return 2
    m = 0
    m = _grow3(e, m, l3[0], m1[1], m2[2], 1.0)
    m = _grow3(e, m, l3[0], m2[1], m1[2], -1.0)
    m = _grow3(e, m, l3[1], m2[0], m1[2], 1.0)
    m = _grow3(e, m, l3[1], m1[0], m2[2], -1.0)
    m = _grow3(e, m, l3[2], m1[0], m2[1], 1.0)
    m = _grow3(e, m, l3[2], m2[0], m1[1], -1.0)
    num = e[m - 1]
    if num == 0.0:
        return 0
    return 1 if (num > 0.0) == (d > 0.0) else -1


@_jit
def exact_sides(meet, line, out):
    """``out[k]``: the side (1, -1, 0) of ``line[k]`` at the exact point where the two lines
    ``meet[k]`` (n, 2, 3) cross, exactly; 2 where they are parallel, 3 where undecided
    (``_exact_side``)."""
    n = line.shape[0]
    for k in range(n):
        out[k] = _exact_side(meet[k], line[k])


@_jit
def _vside(pos, neg, V1, v, q, lines, coefs, P, on, meet, state):
    """Side (1, -1, 0) of vertex ``v`` on the pair ``q``'s line: the bits below ``V1``, else 0
    on a line it was made on, else the line's map at ``P[v]``, and within rounding of 0 the
    exact side of the point where its two lines meet (``state[6]`` counts those
    ``_exact_side`` leaves undecided)."""
    line = lines[q]
    if v < V1:
        sh = 7 - (line & 7)
        up = (pos[v, line >> 3] >> sh) & 1
        down = (neg[v, line >> 3] >> sh) & 1
        return np.int64(up) - np.int64(down)
    if on[v, 0] == line or on[v, 1] == line:
        return 0
    t1 = coefs[q, 0] * P[v, 0]
    t2 = coefs[q, 1] * P[v, 1]
    z = t1 + t2
    z = z + coefs[q, 2]
    size = abs(t1) + abs(t2)
    size = size + abs(coefs[q, 2])
    s = 0
    if z > 0.0:
        s = 1
    elif z < 0.0:
        s = -1
    if abs(z) <= 2.0**-30 * size:
        x = _exact_side(meet[v], coefs[q])
        if x == 3:
            state[6] += 1
        if x < 2:
            s = x
    return s


@_jit
def _cross_point(ec, cl, pa, pb, za, zb, X):
    """The point where the line ``cl`` crosses the edge ``pa``-``pb`` (on the line ``ec``):
    their intersection (an edge on an axis keeps its coordinate exactly), or, where rounding
    puts it outside the edge's box, the zero of the line's map (``za`` at ``pa``, ``zb`` at
    ``pb``) interpolated along the edge."""
    a1, b1, c1 = ec[0], ec[1], ec[2]
    a2, b2, c2 = cl[0], cl[1], cl[2]
    det = a1 * b2 - a2 * b1
    x = (b1 * c2 - b2 * c1) / det
    y = (a2 * c1 - a1 * c2) / det
    if b1 == 0.0:
        xv = -c1 / a1
        x = xv
        y = -(a2 * xv + c2) / b2
    elif a1 == 0.0:
        yh = -c1 / b1
        x = -(b2 * yh + c2) / a2
        y = yh
    lo0 = min(pb[0], pa[0])
    hi0 = max(pb[0], pa[0])
    lo1 = min(pb[1], pa[1])
    hi1 = max(pb[1], pa[1])
    ok = math.isfinite(x) and math.isfinite(y) and x >= lo0 and y >= lo1 and x <= hi0 and y <= hi1
    if not ok:
        t = za / (za - zb)
        if math.isnan(t):
            t = 0.5
        t = 0.0 if t < 0.0 else min(t, 1.0)
        x = pa[0] + t * (pb[0] - pa[0])
        y = pa[1] + t * (pb[1] - pa[1])
    X[0] = x
    X[1] = y


# columns of the workspaces (the C twin's enums)
LE_GID, LE_U, LE_V, LE_L, LE_R, LE_PAIR = 0, 1, 2, 3, 4, 5
RC_E, RC_F, RC_A, RC_B, RC_RIGHT, RC_P, RC_SA, RC_SB = 0, 1, 2, 3, 4, 5, 6, 7
C_GID, C_CUR, C_HASP, C_HASQ, C_INCID, C_POST, C_START, C_COUNT, C_X1, C_X2, C_FOL1, C_NEW = range(12)


@_jit
def cut(pos, neg, V1, pp, lines, coefs, h, fptr, ts, fe_ptr, fe, layer, P, on, meet, eu, ev, eL, eR, eoL, eoR, epair,
        elayer, eunit, ecoef, e0, reg, orig, vkey, ekey, fkey, le, rec, rpos, wc, pend, wd, wreg, state):
    """Cut each face ``f`` from ``state[0]`` on by its lines (pairs ``pp[f]:pp[f + 1]`` of
    ``lines`` and ``coefs``), in rounds (plane_walk's "One layer of the walk", step 2): each
    cell cut by the first of its pending lines, the parts keeping those that still cross
    them.  The new vertices go to rows ``state[1]`` on of ``P``, ``on``, ``meet``, the new
    edges to rows ``state[2]`` on of the edge columns (and the face's edges' faces are
    updated), the new faces to rows ``state[3]`` on of ``reg`` and ``orig``, each with its
    key (round, what it was made from) in ``vkey``, ``ekey``, ``fkey``; ``state[4]`` counts
    the cells left whole by rounding, ``state[5]`` the rounds, ``state[6]`` the sides left
    undecided.  Each face is written when done; when one does not fit in the room given,
    its region row is restored, ``state[0]`` is that face, and the return value says what
    ran out (1 vertices, 2 edges, 3 faces, 4 the face's edges, 5 its cells, 6 its lines,
    7 its records); 0 when every face is done."""
    F = pp.shape[0] - 1
    vcap = P.shape[0]
    ecap = eu.shape[0]
    fcap = reg.shape[0]
    wcap = le.shape[0]
    rcap = rec.shape[0]
    ccap = wc.shape[0]
    pcap = pend.shape[1]
    for f in range(state[0], F):
        np0 = pp[f + 1] - pp[f]
        if np0 == 0:
            state[0] = f + 1
            continue
        nv, ne, nf, amb, need = state[1], state[2], state[3], 0, 0
        for j in range(h):
            wreg[j] = reg[f, j]
        # the face's edges, in the order of their ids; its one cell, with all its lines
        nle = 0
        for t in range(fe_ptr[f], fe_ptr[f + 1]):
            g = fe[t]
            if nle >= wcap:
                need = 4
                break
            le[nle, LE_GID] = g
            le[nle, LE_U] = eu[g]
            le[nle, LE_V] = ev[g]
            le[nle, LE_L] = 0 if eL[g] == f else -1
            le[nle, LE_R] = 0 if eR[g] == f else -1
            le[nle, LE_PAIR] = -1
            nle += 1
        ncell = 1
        cur_buf = 0
        if need == 0 and np0 > pcap:
            need = 6
        if need == 0:
            wc[0, C_GID] = f
            wc[0, C_START] = 0
            wc[0, C_COUNT] = np0
            # each line with a vertex of the face on either side (its witnesses)
            for k in range(np0):
                q = pp[f] + k
                line = lines[q]
                sh = 7 - (line & 7)
                wp, wm = -1, -1
                for t in range(fptr[f], fptr[f + 1]):
                    r = ts[t]
                    if wp < 0 and ((pos[r, line >> 3] >> sh) & 1):
                        wp = r
                    if wm < 0 and ((neg[r, line >> 3] >> sh) & 1):
                        wm = r
                pend[0, k, 0] = q
                pend[0, k, 1] = wp
                pend[0, k, 2] = wm
        rnd = 0
        while need == 0:
            pa_ = pend[cur_buf]  # this round's lines
            pb_ = pend[1 - cur_buf]  # the next round's
            nact = 0
            for c in range(ncell):
                wc[c, C_HASP] = 0
                wc[c, C_HASQ] = 0
                wc[c, C_INCID] = 0
                wc[c, C_POST] = 0
                wc[c, C_NEW] = -1
                if wc[c, C_COUNT] > 0:
                    wc[c, C_CUR] = pa_[wc[c, C_START], 0]
                    nact += 1
                else:
                    wc[c, C_CUR] = -1
            if nact == 0:
                break
            # records: each side of each edge of a cell of the round, left sides first
            nrec = 0
            for side in range(2):
                if need != 0:
                    break
                for i in range(nle):
                    c = le[i, LE_L if side == 0 else LE_R]
                    rpos[i, side] = -1
                    if c < 0 or wc[c, C_CUR] < 0:
                        continue
                    if nrec >= rcap:
                        need = 7
                        break
                    rec[nrec, RC_E] = i
                    rec[nrec, RC_F] = c
                    rec[nrec, RC_A] = le[i, LE_U if side == 0 else LE_V]
                    rec[nrec, RC_B] = le[i, LE_V if side == 0 else LE_U]
                    rec[nrec, RC_RIGHT] = side
                    rec[nrec, RC_P] = wc[c, C_CUR]
                    rec[nrec, RC_SA] = _vside(pos, neg, V1, rec[nrec, RC_A], rec[nrec, RC_P], lines, coefs, P, on, meet,
                                              state)
                    rec[nrec, RC_SB] = _vside(pos, neg, V1, rec[nrec, RC_B], rec[nrec, RC_P], lines, coefs, P, on, meet,
                                              state)
                    rpos[i, side] = nrec
                    nrec += 1
            if need != 0:
                break
            # an edge crossed by two different lines from its two cells: rounding; the higher cell waits
            anypost = 0
            for i in range(nle):
                il, ir = rpos[i, 0], rpos[i, 1]
                if il < 0 or ir < 0 or le[i, LE_PAIR] < 0:
                    continue
                if (rec[il, RC_SA] * rec[il, RC_SB] < 0 and rec[ir, RC_SA] * rec[ir, RC_SB] < 0
                        and rec[il, RC_P] != rec[ir, RC_P]):
                    w = max(rec[ir, RC_F], rec[il, RC_F])
                    wc[w, C_POST] = 1
                    anypost = 1
            if anypost:
                k = 0
                for r in range(nrec):
                    rpos[rec[r, RC_E], rec[r, RC_RIGHT]] = -1
                    if wc[rec[r, RC_F], C_POST]:
                        continue
                    for j in range(8):
                        rec[k, j] = rec[r, j]
                    rpos[rec[k, RC_E], rec[k, RC_RIGHT]] = k
                    k += 1
                nrec = k
            # each crossed edge, in order, gets a vertex where its first record's line crosses
            # it; both halves keep the edge's cells, and the edge's records are cut with it
            nle0 = nle
            ncut = 0
            for i in range(nle0):
                il, ir = rpos[i, 0], rpos[i, 1]
                first = -1
                if le[i, LE_PAIR] < 0:
                    continue
                if il >= 0 and rec[il, RC_SA] * rec[il, RC_SB] < 0:
                    first = il
                elif ir >= 0 and rec[ir, RC_SA] * rec[ir, RC_SB] < 0:
                    first = ir
                if first < 0:
                    continue
                rpos[ncut, 2] = i
                rpos[ncut, 3] = rec[first, RC_P]
                ncut += 1
            for pass_ in range(2):
                if need != 0:
                    break
                for k in range(ncut):
                    i, cp = rpos[k, 2], rpos[k, 3]
                    ni = nle0 + k  # the edge's new half, X -> old v
                    if pass_ == 0:
                        if nle >= wcap:
                            need = 4
                            break
                        if nv >= vcap:
                            need = 1
                            break
                        if ne >= ecap:
                            need = 2
                            break
                        ep = le[i, LE_PAIR]
                        u, v = le[i, LE_U], le[i, LE_V]
                        cl = coefs[cp]
                        za = cl[0] * P[u, 0] + cl[1] * P[u, 1]
                        za = za + cl[2]
                        zb = cl[0] * P[v, 0] + cl[1] * P[v, 1]
                        zb = zb + cl[2]
                        _cross_point(coefs[ep], cl, P[u], P[v], za, zb, P[nv])
                        on[nv, 0] = lines[ep]
                        on[nv, 1] = lines[cp]
                        for j in range(3):
                            meet[nv, 0, j] = coefs[ep, j]
                            meet[nv, 1, j] = coefs[cp, j]
                        vkey[nv - V1, 0] = rnd
                        vkey[nv - V1, 1] = le[i, LE_GID]
                        le[ni, LE_GID] = ne
                        le[ni, LE_U] = nv
                        le[ni, LE_V] = v
                        le[ni, LE_L] = le[i, LE_L]
                        le[ni, LE_R] = le[i, LE_R]
                        le[ni, LE_PAIR] = ep
                        ekey[ne - e0, 0] = rnd
                        ekey[ne - e0, 1] = 0
                        ekey[ne - e0, 2] = le[i, LE_GID]
                        le[i, LE_V] = nv
                        nv += 1
                        ne += 1
                        nle += 1
                    # pass 0 cuts the left records, pass 1 the right ones (their new halves
                    # follow the left ones' among the records, as in the rounds)
                    r = rpos[i, pass_]
                    if r < 0:
                        continue
                    if nrec >= rcap:
                        need = 7
                        break
                    x, olv = le[ni, LE_U], le[ni, LE_V]
                    # the new vertex is on the cut line; on the record's own line it is where
                    # the edge's ends are (a point inside a segment cannot be on the other
                    # side of a line from both its ends, whatever its map says)
                    ea, eb = rec[r, RC_SA], rec[r, RC_SB]
                    sx = ea if ea != 0 else eb
                    if ea * eb < 0:
                        sx = _vside(pos, neg, V1, x, rec[r, RC_P], lines, coefs, P, on, meet, state)
                    if rec[r, RC_P] == cp:
                        sx = 0
                    rec[nrec, RC_E] = ni
                    rec[nrec, RC_F] = rec[r, RC_F]
                    rec[nrec, RC_RIGHT] = pass_
                    rec[nrec, RC_P] = rec[r, RC_P]
                    if pass_ == 0:  # u -> v becomes u -> X, and X -> v is new
                        rec[nrec, RC_A] = x
                        rec[nrec, RC_B] = olv
                        rec[nrec, RC_SA] = sx
                        rec[nrec, RC_SB] = rec[r, RC_SB]
                        rec[r, RC_B] = x
                        rec[r, RC_SB] = sx
                    else:  # v -> u becomes X -> u, and v -> X is new
                        rec[nrec, RC_A] = olv
                        rec[nrec, RC_B] = x
                        rec[nrec, RC_SA] = rec[r, RC_SA]
                        rec[nrec, RC_SB] = sx
                        rec[r, RC_A] = x
                        rec[r, RC_SA] = sx
                    nrec += 1
            if need != 0:
                break
            # each cell of the round: vertices above, below, and on the line next to one above
            for r in range(nrec):
                c, sa, sb = rec[r, RC_F], rec[r, RC_SA], rec[r, RC_SB]
                if sa > 0 or sb > 0:
                    wc[c, C_HASP] = 1
                if sa < 0 or sb < 0:
                    wc[c, C_HASQ] = 1
                inc_a = 1 if (sa == 0 and sb > 0) else 0  # on the line at a, the part above follows
                inc_b = 1 if (sb == 0 and sa > 0) else 0  # on the line at b, the part above precedes
                if inc_a or inc_b:
                    n = wc[c, C_INCID]
                    x = rec[r, RC_A] if inc_a else rec[r, RC_B]
                    if n == 0:
                        wc[c, C_X1] = x
                        wc[c, C_FOL1] = inc_a
                    elif n == 1:
                        wc[c, C_X2] = x
                        # one vertex has the part above after it, the other before
                        if wc[c, C_FOL1] == inc_a:
                            wc[c, C_FOL1] = -1
                    wc[c, C_INCID] = n + 1
            # the split cells, in order: the part below the line is a new cell, its records
            # (no end above) and edges move to it, and a chord joins the two
            ncell0 = ncell
            for c in range(ncell0):
                if wc[c, C_CUR] < 0 or wc[c, C_POST]:
                    continue
                if not (wc[c, C_HASP] and wc[c, C_HASQ] and wc[c, C_INCID] == 2 and wc[c, C_FOL1] >= 0):
                    continue
                if ncell >= ccap:
                    need = 5
                    break
                if nf >= fcap:
                    need = 3
                    break
                if nle >= wcap:
                    need = 4
                    break
                if ne >= ecap:
                    need = 2
                    break
                k1 = wc[c, C_CUR]
                g1 = wc[c, C_GID]
                nc = ncell
                ncell += 1
                wc[c, C_NEW] = nc
                wc[nc, C_GID] = nf
                wc[nc, C_CUR] = -1
                wc[nc, C_COUNT] = 0
                wc[nc, C_POST] = 0
                fkey[nf - F, 0] = rnd
                fkey[nf - F, 1] = g1
                orig[nf] = f
                u1 = lines[k1] % h
                for j in range(h):
                    reg[nf, j] = reg[g1, j]
                reg[g1, u1] += 1
                nf += 1
                fol1 = wc[c, C_FOL1]
                x1, x2 = wc[c, C_X1], wc[c, C_X2]
                le[nle, LE_GID] = ne
                le[nle, LE_U] = x2 if fol1 else x1
                le[nle, LE_V] = x1 if fol1 else x2
                le[nle, LE_L] = c
                le[nle, LE_R] = nc
                le[nle, LE_PAIR] = k1
                ekey[ne - e0, 0] = rnd
                ekey[ne - e0, 1] = 1
                ekey[ne - e0, 2] = g1
                nle += 1
                ne += 1
            if need != 0:
                break
            for r in range(nrec):
                nc = wc[rec[r, RC_F], C_NEW]
                if nc < 0 or rec[r, RC_SA] > 0 or rec[r, RC_SB] > 0:
                    continue
                rec[r, RC_F] = nc
                le[rec[r, RC_E], LE_R if rec[r, RC_RIGHT] else LE_L] = nc
            # the cells not cut: the side of their vertices (on the line is below); rounding's
            # alternating cells: the side of their centre, from its face's map
            for c in range(ncell0):
                wd[c, 0] = 0.0
                wd[c, 1] = 0.0
                wd[c, 2] = 0.0
            for r in range(nrec):
                c = rec[r, RC_F]
                if c >= ncell0 or not (wc[c, C_HASP] and wc[c, C_HASQ]):
                    continue
                a = rec[r, RC_A]
                if wd[c, 2] == 0.0:
                    wd[c, 0] = P[a, 0]
                    wd[c, 1] = P[a, 1]
                else:
                    wd[c, 0] = wd[c, 0] + P[a, 0]
                    wd[c, 1] = wd[c, 1] + P[a, 1]
                wd[c, 2] = wd[c, 2] + 1.0
            for c in range(ncell0):
                q = wc[c, C_CUR]
                if q < 0 or wc[c, C_POST] or wc[c, C_NEW] >= 0:
                    continue
                side = 1 if (wc[c, C_HASP] and not wc[c, C_HASQ]) else 0
                if wc[c, C_HASP] and wc[c, C_HASQ]:
                    amb += 1
                    cu = wd[c, 0] / wd[c, 2]
                    cv = wd[c, 1] / wd[c, 2]
                    z = coefs[q, 0] * cu + coefs[q, 1] * cv
                    z = z + coefs[q, 2]
                    side = 1 if z > 0.0 else 0
                reg[wc[c, C_GID], lines[q] % h] += np.int8(side)
            # the next round's lines: a cut cell's two parts keep those of the lines after the
            # cut one that still cross them, with witnesses on both sides (plane_walk's
            # "children"); a cell not cut, those after its line; a waiting cell, all its own
            nnext = 0
            for c in range(ncell0):
                if need != 0:
                    break
                cnt = wc[c, C_COUNT]
                if cnt == 0:
                    continue
                st = wc[c, C_START]
                nc = wc[c, C_NEW]
                if wc[c, C_POST]:
                    if nnext + cnt > pcap:
                        need = 6
                        break
                    for k in range(cnt):
                        for j in range(3):
                            pb_[nnext + k, j] = pa_[st + k, j]
                    wc[c, C_START] = nnext
                    nnext += cnt
                    continue
                if nc < 0:
                    if nnext + cnt - 1 > pcap:
                        need = 6
                        break
                    for k in range(1, cnt):
                        for j in range(3):
                            pb_[nnext + k - 1, j] = pa_[st + k, j]
                    wc[c, C_START] = nnext
                    wc[c, C_COUNT] = cnt - 1
                    nnext += cnt - 1
                    continue
                if nnext + 2 * (cnt - 1) > pcap:
                    need = 6
                    break
                k1 = wc[c, C_CUR]
                x1, x2 = wc[c, C_X1], wc[c, C_X2]
                g1, gn = wc[c, C_GID], wc[nc, C_GID]
                # the part above's lines from nnext, the part below's after room for all
                nup, ndn = 0, 0
                for k in range(1, cnt):
                    q, wp, wm = pa_[st + k, 0], pa_[st + k, 1], pa_[st + k, 2]
                    s1 = _vside(pos, neg, V1, x1, q, lines, coefs, P, on, meet, state)
                    s2 = _vside(pos, neg, V1, x2, q, lines, coefs, P, on, meet, state)
                    both = s1 * s2 < 0
                    along = s1 == 0 and s2 == 0
                    s = s1 if s1 != 0 else s2  # the ends' side, where they do not straddle the line
                    far = wm if s > 0 else wp  # the witness on the other side: in the part crossed
                    cs = _vside(pos, neg, V1, wp if along else far, k1, lines, coefs, P, on, meet, state)
                    one = not both and not along
                    # (cs == 0 only by rounding: both keep the line, a later round decides)
                    keep_up = both or (one and cs >= 0)
                    keep_dn = both or (one and cs <= 0)
                    near = x1 if s1 == s else x2  # an end on the ends' side: in the part crossed
                    wpn = (x1 if s1 > 0 else x2) if both else (near if s > 0 else wp)
                    wmn = (x1 if s1 < 0 else x2) if both else (near if s < 0 else wm)
                    # a part the line does not cross lies on one side of it: in its regions
                    if keep_up:
                        pb_[nnext + nup, 0] = q
                        pb_[nnext + nup, 1] = wpn
                        pb_[nnext + nup, 2] = wmn
                        nup += 1
                    else:
                        reg[g1, lines[q] % h] += np.int8(1 if (cs > 0 if along else s > 0) else 0)
                    if keep_dn:
                        pb_[nnext + cnt - 1 + ndn, 0] = q
                        pb_[nnext + cnt - 1 + ndn, 1] = wpn
                        pb_[nnext + cnt - 1 + ndn, 2] = wmn
                        ndn += 1
                    else:
                        reg[gn, lines[q] % h] += np.int8(1 if (cs < 0 if along else s > 0) else 0)
                for k in range(ndn):
                    for j in range(3):
                        pb_[nnext + nup + k, j] = pb_[nnext + cnt - 1 + k, j]
                wc[c, C_START] = nnext
                wc[nc, C_START] = nnext + nup
                nnext += nup + ndn
                wc[c, C_COUNT] = nup
                wc[nc, C_COUNT] = ndn
            if need != 0:
                break
            cur_buf = 1 - cur_buf
            rnd += 1
        if need != 0:  # out of room: this face again, after the caller grows the arrays
            for j in range(h):
                reg[f, j] = wreg[j]
            state[7] = need
            return need
        # the face done: its edges into the store
        for i in range(nle):
            g = le[i, LE_GID]
            lc, rc = le[i, LE_L], le[i, LE_R]
            if g < e0:
                if lc >= 0:
                    eL[g] = wc[lc, C_GID]
                if rc >= 0:
                    eR[g] = wc[rc, C_GID]
                continue
            q = le[i, LE_PAIR]
            eu[g] = le[i, LE_U]
            ev[g] = le[i, LE_V]
            eL[g] = wc[lc, C_GID]
            eR[g] = wc[rc, C_GID]
            eoL[g] = f
            eoR[g] = f
            epair[g] = q
            elayer[g] = layer
            eunit[g] = lines[q] % h
            for j in range(3):
                ecoef[g, j] = coefs[q, j]
        state[0] = f + 1
        state[1] = nv
        state[2] = ne
        state[3] = nf
        state[4] += amb
        state[5] = max(state[5], rnd)
    state[7] = 0
    return 0


@_jit
def starts_back(ptr, n):
    """The end of a counting sort: ``ptr[1..n]`` ran from each bucket's start to its end (the
    next bucket's start) as the rows were placed; moved back, ``ptr[k]`` is bucket k's start again."""
    for k in range(n, 0, -1):
        ptr[k] = ptr[k - 1]
    ptr[0] = 0


@_jit
def incidence(u, v, L, R, owner, vptr, vface, fptr, fvert):
    """The edges ``u -> v`` with faces ``L`` (left) and ``R`` (right, -1 outside): ``owner``,
    the smallest face around each vertex; ``vface[vptr[x]:vptr[x + 1]]``, the faces around
    vertex ``x`` (in the edges' order); ``fvert[fptr[f]:fptr[f + 1]]``, face ``f``'s
    vertices in the order of their ids (counting sorts, no comparison sort)."""
    n = u.shape[0]
    V = owner.shape[0]
    F = fptr.shape[0] - 1
    for x in range(V + 1):
        vptr[x] = 0
    for f in range(F + 1):
        fptr[f] = 0
    for e in range(n):
        if L[e] >= 0:
            vptr[u[e] + 1] += 1
            fptr[L[e] + 1] += 1
        if R[e] >= 0:
            vptr[v[e] + 1] += 1
            fptr[R[e] + 1] += 1
    for x in range(V):
        vptr[x + 1] += vptr[x]
    for f in range(F):
        fptr[f + 1] += fptr[f]
    # the faces around each vertex: a face is on the left of the edges leaving the vertex
    for x in range(V):
        owner[x] = vptr[x]
    for e in range(n):
        if L[e] >= 0:
            vface[owner[u[e]]] = L[e]
            owner[u[e]] += 1
        if R[e] >= 0:
            vface[owner[v[e]]] = R[e]
            owner[v[e]] += 1
    for x in range(V):
        m = -1
        for t in range(vptr[x], vptr[x + 1]):
            if m < 0 or vface[t] < m:
                m = vface[t]
        owner[x] = m
    # each face's vertices, in order: fptr[f] runs to the end of f's, then is moved back
    for x in range(V):
        for t in range(vptr[x], vptr[x + 1]):
            f = vface[t]
            fvert[fptr[f]] = x
            fptr[f] += 1
    starts_back(fptr, F)


@_jit
def face_edges(L, R, nf, fe_ptr, fe):
    """``fe[fe_ptr[f]:fe_ptr[f + 1]]``: the edges of each face ``f`` with lines (``nf[f] > 0``),
    in the order of their ids (a counting sort)."""
    n = L.shape[0]
    F = nf.shape[0]
    for f in range(F + 1):
        fe_ptr[f] = 0
    for e in range(n):
        if L[e] >= 0 and nf[L[e]] > 0:
            fe_ptr[L[e] + 1] += 1
        if R[e] >= 0 and nf[R[e]] > 0:
            fe_ptr[R[e] + 1] += 1
    for f in range(F):
        fe_ptr[f + 1] += fe_ptr[f]
    for e in range(n):
        if L[e] >= 0 and nf[L[e]] > 0:
            fe[fe_ptr[L[e]]] = e
            fe_ptr[L[e]] += 1
        if R[e] >= 0 and nf[R[e]] > 0:
            fe[fe_ptr[R[e]]] = e
            fe_ptr[R[e]] += 1
    starts_back(fe_ptr, F)


@_jit
def _line_coef(maps, h, bps, f, line, c):
    """The coefficients (a, b, c) of line ``line`` (unit ``line % h``, breakpoint
    ``bps[line // h]``) on face ``f``'s map."""
    j = line % h
    c[0] = maps[0, f, j]
    c[1] = maps[1, f, j]
    c[2] = maps[2, f, j] - bps[line // h]


@_jit
def split_edges(pos, neg, e, line, maps, bps, owner, P, on, meet, V0, eu, ev, eL, eR, eoL, eoR, epair, elayer, eunit,
                ecoef, n, npos, nneg, xs, cls, sv, ord_, vid):
    """Step 1 of a layer: a vertex on every edge where a line crosses it (the pairs ``e``,
    ``line``, by edge then line), ordered along the edge (by ``(X - pa) . (pb - pa)``, then
    the point), those at one point shared, each exactly on the first line crossing there;
    new vertices from row ``V0`` of ``P``, ``on``, ``meet``, new edges from row ``n`` of the
    edge columns (the edge keeps its first piece), their sides into rows of ``npos`` and
    ``nneg`` (zeros on entry): the ends' where they agree or one is on the line, and for the
    lines crossing the edge by their order along it.  ``xs``, ``cls``, ``sv``, ``ord_``,
    ``vid``: workspaces of one row per pair.  Returns the number of new vertices (and edges)."""
    nc = e.shape[0]
    h = maps.shape[2]
    nbytes = pos.shape[1]
    ca = np.empty(3)
    cb = np.empty(3)
    nx = 0
    i = 0
    while i < nc:
        ed = e[i]
        j = i
        while j < nc and e[j] == ed:
            j += 1
        u, v = eu[ed], ev[ed]
        pa, pb = P[u], P[v]
        for k in range(i, j):
            _line_coef(maps, h, bps, eL[ed], line[k], cls[k])
            _line_coef(maps, h, bps, owner[u], line[k], ca)
            _line_coef(maps, h, bps, owner[v], line[k], cb)
            za = ca[0] * pa[0] + ca[1] * pa[1]
            za = za + ca[2]
            zb = cb[0] * pb[0] + cb[1] * pb[1]
            zb = zb + cb[2]
            _cross_point(ecoef[ed], cls[k], pa, pb, za, zb, xs[k])
            s0 = (xs[k, 0] - pa[0]) * (pb[0] - pa[0])
            s1 = (xs[k, 1] - pa[1]) * (pb[1] - pa[1])
            sv[k] = s0 + s1
            # in order along the edge (then by the point), stably: an insertion
            t = k
            while t > i:
                q = ord_[t - 1]
                before = sv[k] < sv[q] or (sv[k] == sv[q] and (xs[k, 0] < xs[q, 0] or
                                                                (xs[k, 0] == xs[q, 0] and xs[k, 1] < xs[q, 1])))
                if not before:
                    break
                ord_[t] = q
                t -= 1
            ord_[t] = k
        # the new vertices, one per point: each exactly on the (first) line crossing there
        first = nx
        for t in range(i, j):
            k = ord_[t]
            if t > i:
                q = ord_[t - 1]
                if xs[k, 0] == xs[q, 0] and xs[k, 1] == xs[q, 1]:
                    vid[k] = nx - 1
                    continue
            x = V0 + nx
            P[x, 0] = xs[k, 0]
            P[x, 1] = xs[k, 1]
            on[x, 0] = -1
            on[x, 1] = line[k]
            for c in range(3):
                meet[x, 0, c] = ecoef[ed, c]
                meet[x, 1, c] = cls[k, c]
            vid[k] = nx
            nx += 1
        # their sides: those of the edge's ends where they agree or one is on the line, and
        # for the lines crossing the edge, by their order along it
        for q in range(first, nx):
            for b in range(nbytes):
                pu, pv = pos[u, b], pos[v, b]
                qu, qv = neg[u, b], neg[v, b]
                npos[q, b] = (pu | pv) & ~(qu | qv)
                nneg[q, b] = (qu | qv) & ~(pu | pv)
        for k in range(i, j):
            ln = line[k]
            sh = 7 - (ln & 7)
            mask = np.uint8(128 >> (ln & 7))
            for q in range(first, nx):
                src = u if q < vid[k] else v
                if q == vid[k]:
                    continue
                if (pos[src, ln >> 3] >> sh) & 1:
                    npos[q, ln >> 3] |= mask
                if (neg[src, ln >> 3] >> sh) & 1:
                    nneg[q, ln >> 3] |= mask
        # the edges: ed keeps (u, its first new vertex); the others follow along it
        for q in range(first, nx):
            g = n + q
            eu[g] = V0 + q
            ev[g] = V0 + q + 1 if q + 1 < nx else v
            eL[g] = eL[ed]
            eR[g] = eR[ed]
            eoL[g] = eoL[ed]
            eoR[g] = eoR[ed]
            epair[g] = epair[ed]
            elayer[g] = elayer[ed]
            eunit[g] = eunit[ed]
            for c in range(3):
                ecoef[g, c] = ecoef[ed, c]
        ev[ed] = V0 + first
        i = j
    return nx


@_jit
def _by_round(key, rounds, ptr, lst):
    """The rows of ``key`` (column 0 the round) by round, stably: ``lst[ptr[r]:ptr[r + 1]]``."""
    m = key.shape[0]
    for r in range(rounds + 1):
        ptr[r] = 0
    for i in range(m):
        ptr[key[i, 0] + 1] += 1
    for r in range(rounds):
        ptr[r + 1] += ptr[r]
    for i in range(m):
        r = key[i, 0]
        lst[ptr[r]] = i
        ptr[r] += 1
    starts_back(ptr, rounds)


@_jit
def _in_order(key, col, type_, lst, a, b, remap, slot, out, base, next_):
    """Numbers from ``next_`` on to the rows ``lst[a:b]`` (their keys distinct) in the order of
    ``remap[key[i, col]]``, through ``slot`` (-1 on entry and on return); returns the next."""
    lo, hi = -1, -1
    for t in range(a, b):
        i = lst[t]
        if type_ >= 0 and key[i, 1] != type_:
            continue
        k = remap[key[i, col]]
        slot[k] = i
        lo = k if (lo < 0 or k < lo) else lo
        hi = max(k, hi)
    k = lo
    while lo >= 0 and k <= hi:
        if slot[k] >= 0:
            out[base + slot[k]] = next_
            next_ += 1
            slot[k] = -1
        k += 1
    return next_


@_jit
def renumber(vkey, ekey, fkey, rounds, V1, e0, F, vmap, emap, fmap, slot, ptr, lst):
    """The new vertices, edges and faces of a layer's cuts (keys (round, what it was made
    from): ``vkey`` (nv, 2), ``ekey`` (ne, 3), ``fkey`` (nf, 2)) numbered as rounds over all
    faces at once number them: in each round the vertices by the edge they cut, then the
    edges' new halves likewise, then the chords and new faces by the cell they cut.
    ``vmap`` (V1 + nv), ``emap`` (e0 + ne), ``fmap`` (F + nf): each row's number (identity
    below ``V1``, ``e0``, ``F``); ``slot`` (-1 on entry), ``ptr`` (3, rounds + 1), ``lst``
    (nv + ne + nf): workspaces."""
    nv, ne = vkey.shape[0], ekey.shape[0]
    for x in range(vmap.shape[0]):
        vmap[x] = x
    for x in range(emap.shape[0]):
        emap[x] = x
    for x in range(fmap.shape[0]):
        fmap[x] = x
    vp, ep, fp = ptr[0], ptr[1], ptr[2]
    vl, el, fl = lst[:nv], lst[nv : nv + ne], lst[nv + ne :]
    _by_round(vkey, rounds, vp, vl)
    _by_round(ekey, rounds, ep, el)
    _by_round(fkey, rounds, fp, fl)
    vnext, enext, fnext = V1, e0, F
    for r in range(rounds):
        vnext = _in_order(vkey, 1, -1, vl, vp[r], vp[r + 1], emap, slot, vmap, V1, vnext)
        enext = _in_order(ekey, 2, 0, el, ep[r], ep[r + 1], emap, slot, emap, e0, enext)
        enext = _in_order(ekey, 2, 1, el, ep[r], ep[r + 1], fmap, slot, emap, e0, enext)
        fnext = _in_order(fkey, 1, -1, fl, fp[r], fp[r + 1], fmap, slot, fmap, F, fnext)
