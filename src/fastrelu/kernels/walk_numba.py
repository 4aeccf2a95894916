"""The exact deep walk's kernels in Numba: arrays in, arrays out.

The layer-by-layer walk is described in ``walk.py`` (its steps: scan, split, rank-one
updates), which runs it: the sorting of crossings, the matrix-matrix products, the
allocation and the scratch memory are numpy there; the loops over pieces and units
are these functions.  The caller has validated, converted and allocated everything.
Importing this module imports Numba.

- ``_scan_pass``, ``_first_crossing``, ``_scan_piece``, ``_scan``: step 1, a layer's
  crossings, each unit's region carried from piece to piece;
- ``_plan``: step 2, the new edges and pieces, the kind of each edge and the rows of
  the product;
- ``_fill``: step 3, the rows of the product (edge vectors, anchor maps) and the
  liveness rows;
- ``_prefix``: the maps of every piece by prefix sums in double-double, the exact
  zeros, and the next layer's scan of each piece while its maps are in cache;
- ``_transpose``: ``W.T`` in small blocks;
- ``_evaluate``: the grid, each point read off its piece (``walk.sweep_deep``).

``_fill`` and ``_prefix`` are compiled with ``jit(exact=True)``: no contraction, which
would break their error-free products and double-double sums (the only fused
multiply-adds there are the explicit ``_fma`` calls).

Comparisons with zero.  As everywhere in the walk (``walk.py``), none uses a tolerance:
a zero either is exact or is rounding's choice, and the two are told apart by
structure, never by size.  Those in these kernels:

* ``_scan_pass``/``_scan_piece``: the side of a unit on a piece is read from its map's
  signs (``s > 0``, ``s < 0``, ``s == 0 and c > b``).  A map that is exactly ``(0, 0)``
  is negative (``z <= 0``), as in PyTorch; ``_prefix`` makes every structural zero
  exactly ``(0, b)``, so this sign is never noise.
* ``_fill``/``_prefix``: *live* means ``G != 0 or O != 0`` and *moving* ``G != 0``:
  gains and offsets come from the activation's table, exact constants, so these tests
  are exact; the counts of live and moving inputs use ``W != 0`` (a weight that is
  exactly zero contributes exactly nothing).
* ``_evaluate``: a point equal to an edge (``==``, not a neighbourhood) is set aside
  for the reference (see ``walk.sweep_deep``).
"""

import numpy as np

from ..utils.config import WALK_CHUNK, WALK_HITS, jit
from .eft import dd_add, fma, two_prod
from .exact_numba import (  # the one-layer twin's sortedness check and searches
    _ascending,
    _count_below,
    _locate,
)

_fma = fma  # the double-double primitives are shared with the one-layer exact kernel (eft.py)


# ---------------------------------------------------------------------------------
# the walk of a layer


@jit()
def _scan_pass(te, S, C, bps, p, first, carried, r0s, flag):
    """One piece: each unit's region at the piece's start (``r0s``), whether it needs a
    closer look (``flag``: a crossing inside, or a region other than the one carried in;
    on the ``first`` piece nothing is carried in), and the carried region of the units
    that do not.  Branch-free, so that it vectorises."""
    w = S.shape[1]
    nb = bps.shape[0]
    tl = te[p]
    tr = te[p + 1]
    anyf = False
    if nb == 1 and bps[0] == 0.0:
        nf = 0
        for j in range(w):
            s = S[p, j]
            c = C[p, j]
            ts = -c / s
            up = s > 0.0
            down = s < 0.0
            pos = (s == 0.0) & (c > 0.0)
            r0 = np.int8((up & (ts <= tl)) | (down & (ts > tl)) | pos)
            rf = np.int8((up & (ts < tr)) | (down & (ts >= tr)) | pos)
            inside = (tl < ts) & (ts < tr)
            cj = carried[j]
            cj = r0 if first else cj
            f = inside | (r0 != cj)
            r0s[j] = r0
            flag[j] = f
            nf += np.int8(f)
            carried[j] = cj if f else rf
        return nf != 0
    for j in range(w):
        s = S[p, j]
        c = C[p, j]
        up = s > 0.0
        down = s < 0.0
        flat = s == 0.0
        r0 = 0
        rf = 0
        inside = False
        for i in range(nb):
            b = bps[i]
            ts = (b - c) / s
            r0 += (up & (ts <= tl)) | (down & (ts > tl)) | (flat & (c > b))
            rf += (up & (ts < tr)) | (down & (ts >= tr)) | (flat & (c > b))
            inside |= (tl < ts) & (ts < tr)
        cj = r0 if first else carried[j]
        f = inside | (r0 != cj)
        r0s[j] = r0
        flag[j] = f
        anyf |= f
        carried[j] = cj if f else rf
    return anyf


@jit()
def _first_crossing(bps, s, c, tl, tr):
    """The breakpoint of a unit's first crossing inside ``(tl, tr)`` in the direction of
    its slope (-1: none)."""
    nb = bps.shape[0]
    for ii in range(nb):
        i = ii if s > 0.0 else nb - 1 - ii
        ts = (bps[i] - c) / s
        if tl < ts and ts < tr:
            return i
    return -1


@jit()
def _scan_piece(te, S, C, bps, p, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r):
    """The crossings on piece ``p``, regions carried along (see ``_scan``).  ``sc`` counts:
    ``sc[0]`` the crossings in ``ev_*`` so far (-1 once they do not fit), ``sc[1]`` the
    suppressed pairs.  On piece 0 the regions are written into ``first``."""
    w = S.shape[1]
    nb = bps.shape[0]
    cap = ev_p.shape[0]
    n = sc[0]
    if n < 0:
        return
    tl = te[p]
    tr = te[p + 1]
    anyf = _scan_pass(te, S, C, bps, p, p == 0, carried, r0s, flag)
    if p == 0:
        for j in range(w):
            first[j] = r0s[j]
    if not anyf:
        return
    for j in range(w):
        if not flag[j]:
            continue
        s = S[p, j]
        c = C[p, j]
        r0 = r0s[j]
        rc = carried[j]
        cur = r0
        skip = -1
        i_first = _first_crossing(bps, s, c, tl, tr)
        if r0 != rc:
            nr_first = (i_first + 1 if s > 0.0 else i_first) if i_first >= 0 else -1
            if i_first >= 0 and nr_first == rc:
                sc[1] += 1
                cur = rc
                skip = i_first
            else:
                if n >= cap:
                    sc[0] = -1
                    return
                ev_p[n], ev_t[n], ev_j[n], ev_r[n] = p, tl, j, r0
                n += 1
        for ii in range(nb):
            i = ii if s > 0.0 else nb - 1 - ii
            ts = (bps[i] - c) / s
            if not (tl < ts and ts < tr) or i == skip:
                continue
            nr = i + 1 if s > 0.0 else i
            if nr != cur:
                if n >= cap:
                    sc[0] = -1
                    return
                ev_p[n], ev_t[n], ev_j[n], ev_r[n] = p, ts, j, nr
                n += 1
                cur = nr
        carried[j] = cur
    sc[0] = n


@jit()
def _scan(te, S, C, bps, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r):
    """Crossings of every unit on every piece, regions carried along.

    Writes the region of each unit on the first piece into ``first`` and the crossings
    (piece, t, unit, region after) into ``ev_*``; ``sc`` as for ``_scan_piece`` (start it
    at zeros).  ``carried``, ``flag``, ``r0s``: scratch of one entry per unit.
    """
    for p in range(S.shape[0]):
        _scan_piece(te, S, C, bps, p, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r)


@jit()
def _plan(te, ev_p, ev_t, order, ekind_old, K, te_new, par, src, e_old, e_ev, e_n, row, arow):
    """New edges and pieces, the kind of each new edge, and the rows of the product.

    Edge kinds: 0 an old edge unchanged, 1 an old edge where units of this layer cross
    too, 2 a new edge of one crossing, 3 a new edge of several crossings.  ``row[e]``
    is the edge's row of the product (-1: kind 2 needs none), ``arow[i]`` the first of
    the two rows (slopes, intercepts) of an anchor piece (-1: not an anchor).
    """
    P = te.shape[0] - 1
    n = order.shape[0]
    i = 0
    k = 0
    nrow = 0
    last = 0
    for p in range(P):
        k0 = k
        while k < n and ev_p[order[k]] == p and ev_t[order[k]] == te[p]:
            k += 1
        if p > 0:
            e = i - 1
            kind = 1 if k > k0 else 0
            src[e] = kind
            e_old[e] = p - 1
            e_ev[e] = k0
            e_n[e] = k - k0
            row[e] = nrow
            nrow += 1
            cx = kind == 1 or ekind_old[p - 1] == 1
            if cx or i - last >= K:
                arow[i] = nrow
                nrow += 2
                last = i
            else:
                arow[i] = -1
        else:
            arow[0] = nrow
            nrow += 2
        te_new[i] = te[p]
        par[i] = p
        i += 1
        while k < n and ev_p[order[k]] == p:
            t = ev_t[order[k]]
            k0 = k
            while k < n and ev_p[order[k]] == p and ev_t[order[k]] == t:
                k += 1
            e = i - 1
            e_old[e] = -1
            e_ev[e] = k0
            e_n[e] = k - k0
            if k - k0 == 1:
                src[e] = 2
                row[e] = -1
            else:
                src[e] = 3
                row[e] = nrow
                nrow += 1
            if src[e] == 3 or i - last >= K:
                arow[i] = nrow
                nrow += 2
                last = i
            else:
                arow[i] = -1
            te_new[i] = t
            par[i] = p
            i += 1
    te_new[i] = te[P]
    return i, nrow


@jit(exact=True)  # error-free products: no contraction
def _fill(i0, i1, cur, G, O, gl, mark, gain, offs, idx0, S, C, par, src, e_old, e_ev, e_n, row, arow,
          order, ev_j, ev_r, Yo, rowo, WTo, colo, srco, ekind_old, eds_old, edc_old,
          X, nneg, ecol, eds, edc, ekind, aidx, XL, elive):
    """Rows of the product, walking the pieces with the running regions of this layer.

    Edge rows: kind 0 ``g * v`` (``v`` the old edge's vector); kind 1
    ``g_R * dS + (g_R - g_L) * S_left`` (``dS = v * ds`` for an old rank-one edge); kind 3
    ``(g_R - g_L) * S``.  Anchor rows: ``g * S`` and ``g * C + o``.  The old edge's
    vector ``v`` is row ``rowo[eo]`` of the last product, or for an edge that was new
    there (``srco == 2``) column ``colo[eo]`` of that layer's ``W`` (row of ``WTo``).

    Liveness, for the next layer's exact zeros (see ``_prefix``): a unit is *live* on a
    piece where its activation is not identically 0 there (``G != 0`` or ``O != 0``),
    and *moving* where its activation's slope is not (``G != 0``).  Rows ``2*aidx[i]``
    and ``2*aidx[i] + 1`` of ``XL`` are 1.0 for the live and the moving units of anchor
    piece ``i``; ``elive[e]`` holds the changes (-1, 0, 1) of the crossing unit's two
    flags at a new edge of one crossing (kind 2; every other edge that changes this
    layer's pattern is followed by an anchor).

    Pieces ``i0 <= i < i1`` (and the edges on their left), from ``cur``: the regions of
    this layer's units on piece ``i0 - 1`` (on piece 0 for ``i0 = 0``), updated in place;
    ``G``, ``O``, ``gl``, ``mark``: scratch of one entry per unit."""
    w = cur.shape[0]
    neg = 0
    for j in range(w):
        G[j] = gain[cur[j], j]
        O[j] = offs[cur[j], j]
        neg += cur[j] <= idx0
        mark[j] = -1
    for i in range(i0, i1):
        p = par[i]
        if i > 0:
            e = i - 1
            kind = src[e]
            k0 = e_ev[e]
            k1 = k0 + e_n[e]
            r = row[e]
            eo = e_old[e]
            elive[e, 0] = 0
            elive[e, 1] = 0
            if kind == 0:
                v = WTo[colo[eo]] if srco[eo] == 2 else Yo[rowo[eo]]
                for j in range(w):
                    X[r, j] = G[j] * v[j]
                ekind[e] = ekind_old[eo]
                eds[e] = eds_old[eo]
                edc[e] = edc_old[eo]
            else:
                if kind != 2:  # the gains on the left of the units that cross (once per unit)
                    for kk in range(k0, k1):
                        j = ev_j[order[kk]]
                        if mark[j] != e:
                            mark[j] = e
                            gl[j] = G[j]
                if kind == 2:
                    q = order[k0]
                    j = ev_j[q]
                    rn = ev_r[q]
                    gB = gain[rn, j]
                    oB = offs[rn, j]
                    ecol[e] = j
                    ekind[e] = 0
                    eds[e] = (gB - G[j]) * S[p, j]
                    edc[e] = _fma(gB - G[j], C[p, j], oB - O[j])
                    elive[e, 0] = np.int8((gB != 0.0) | (oB != 0.0)) - np.int8((G[j] != 0.0) | (O[j] != 0.0))
                    elive[e, 1] = np.int8(gB != 0.0) - np.int8(G[j] != 0.0)
                for kk in range(k0, k1):
                    q = order[kk]
                    j = ev_j[q]
                    rn = ev_r[q]
                    neg += np.int64(rn <= idx0) - np.int64(cur[j] <= idx0)
                    cur[j] = rn
                    G[j] = gain[rn, j]
                    O[j] = offs[rn, j]
                if kind == 1:
                    f = eds_old[eo] if ekind_old[eo] == 0 else 1.0
                    pl = par[i - 1]
                    v = WTo[colo[eo]] if srco[eo] == 2 else Yo[rowo[eo]]
                    for j in range(w):
                        X[r, j] = G[j] * (v[j] * f)
                    for kk in range(k0, k1):
                        j = ev_j[order[kk]]
                        X[r, j] = G[j] * (v[j] * f) + (G[j] - gl[j]) * S[pl, j]
                elif kind == 3:
                    for j in range(w):
                        X[r, j] = 0.0
                    for kk in range(k0, k1):
                        j = ev_j[order[kk]]
                        X[r, j] = (G[j] - gl[j]) * S[p, j]
                if kind != 2:
                    ekind[e] = 1
                    eds[e] = 1.0
                    edc[e] = 0.0
        nneg[i] = neg
        a = arow[i]
        if a >= 0:
            ai = aidx[i]
            for j in range(w):
                X[a, j] = G[j] * S[p, j]
                X[a + 1, j] = _fma(G[j], C[p, j], O[j])
                XL[2 * ai, j] = 1.0 if (G[j] != 0.0) | (O[j] != 0.0) else 0.0
                XL[2 * ai + 1, j] = 1.0 if G[j] != 0.0 else 0.0


@jit(exact=True)  # double-double sums: no contraction
def _prefix(i0, i1, Y, b, WT, src, row, arow, ecol, eds, edc, sh, sl, ch, cl, S2, C2,
            aidx, YL, elive, live, moving,
            scan, te, bps, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r):
    """The maps of every piece: anchors from their rows of the product, the others by adding
    ``q * ds`` and ``q * dc`` of the edge on their left (``q`` a row of the product, or a
    column of ``W`` for a new edge), summed in double-double (products taken exactly).
    Pieces ``i0 <= i < i1``, ``i0`` an anchor; ``sh``, ``sl``, ``ch``, ``cl``: scratch.
    With ``scan``, each piece is scanned for the next layer (``_scan_piece`` with the new
    edges ``te`` and that layer's breakpoints ``bps``) as soon as its maps are written.

    Exact zeros.  ``live[j]`` counts the live units of this layer (see ``_fill``) that
    feed unit ``j`` of the next one through a nonzero weight, ``moving[j]`` the moving
    ones: rows ``2*aidx[i]`` and ``2*aidx[i] + 1`` of ``YL`` at an anchor, updated by a
    column of ``W != 0`` at a kind-2 edge that changes a flag.  Where ``live[j]`` is 0
    the unit's map is exactly ``(0, b[j])`` (no term contributes: the numpy reference
    and PyTorch compute exactly that), and where ``moving[j]`` is 0 its slope is exactly
    0; they are set so and the running sums restart from them, instead of carrying the
    anchor's rounding (about ``u`` times the terms that have since switched off or
    saturated: a slope of 1e-17 whose sign is noise)."""
    w2 = S2.shape[1]
    still = 0  # units with no moving input (a superset of those with no live one)
    for i in range(i0, i1):
        a = arow[i]
        if a >= 0:
            ai = aidx[i]
            still = 0
            for j in range(w2):
                live[j] = np.int64(YL[2 * ai, j])
                moving[j] = np.int64(YL[2 * ai + 1, j])
                still += moving[j] == 0
            for j in range(w2):
                sh[j] = Y[a, j]
                sl[j] = 0.0
                x = Y[a + 1, j]
                y = b[j]
                h = x + y
                bb = h - x
                lo = (x - (h - bb)) + (y - bb)
                hh = h + lo
                ch[j] = hh
                cl[j] = lo - (hh - h)
        else:
            e = i - 1
            q = WT[ecol[e]] if src[e] == 2 else Y[row[e]]
            ds = eds[e]
            dc = edc[e]
            if src[e] == 2 and (elive[e, 0] != 0 or elive[e, 1] != 0):
                d0 = np.int64(elive[e, 0])
                d1 = np.int64(elive[e, 1])
                still = 0
                for j in range(w2):
                    nz = np.int64(q[j] != 0.0)
                    live[j] += d0 * nz
                    moving[j] += d1 * nz
                    still += moving[j] == 0
            for j in range(w2):
                qj = q[j]
                # slopes and intercepts: (hi, lo) + q*ds and + q*dc, the products exact
                p, pe = two_prod(qj, ds)
                sh[j], sl[j] = dd_add(sh[j], sl[j], p, pe)
                p, pe = two_prod(qj, dc)
                ch[j], cl[j] = dd_add(ch[j], cl[j], p, pe)
        if still:
            for j in range(w2):
                dead = live[j] == 0
                flat = moving[j] == 0
                sh[j] = 0.0 if flat else sh[j]
                sl[j] = 0.0 if flat else sl[j]
                ch[j] = b[j] if dead else ch[j]
                cl[j] = 0.0 if dead else cl[j]
        for j in range(w2):
            S2[i, j] = sh[j]
            C2[i, j] = ch[j]
        if scan:  # the next layer's scan of this piece, while its maps are in cache
            _scan_piece(te, S2, C2, bps, i, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r)


@jit()
def _transpose(W, WT, j0, j1):
    """Rows ``j0 <= j < j1`` of ``WT = W.T``, in blocks of 8 x 8 (small, so that rows a
    power of two apart do not evict one another from L1)."""
    m = W.shape[0]
    for jb in range(j0, j1, 8):
        je = min(j1, jb + 8)
        for ib in range(0, m, 8):
            ie = min(m, ib + 8)
            for j in range(jb, je):
                for i in range(ib, ie):
                    WT[j, i] = W[i, j]


# ---------------------------------------------------------------------------------
# the sweep

_CHUNK = WALK_CHUNK  # grid points per unit of parallel work (utils/config.py, shared with the C twin)
_HITS = WALK_HITS  # points on an edge remembered per chunk (more: that chunk is searched again)


@jit()
def _evaluate(c0, c1, t, edges, slope, icpt, neg, y, sl, negative, hits, nhits):
    """Chunks c0..c1-1 of _CHUNK points, each read off its piece (run by threads.run)."""
    n = t.shape[0]
    m = edges.shape[0]
    out = slope.shape[1]
    depth = neg.shape[1]
    for c in range(c0, c1):
        i0 = c * _CHUNK
        i1 = min(n, i0 + _CHUNK)
        ascending = _ascending(t, i0, i1)
        k = _count_below(edges, np.float64(t[i0]))
        cnt = 0
        for i in range(i0, i1):
            x = np.float64(t[i])
            k = _locate(edges, k, x, ascending)
            if k == 0 or k >= m or edges[k] == x or x != x:
                # on an edge (or outside, or NaN): evaluated directly afterwards
                if cnt < _HITS:
                    hits[c, cnt] = i
                cnt += 1
                continue
            p = k - 1
            for o in range(out):
                s = slope[p, o]
                y[i, o] = s * x + icpt[p, o]
                sl[i, o] = s
            for q in range(depth):
                negative[i, q] = neg[p, q]
        nhits[c] = cnt

