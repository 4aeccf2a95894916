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
- ``side``: in the rounds of cuts, a vertex's side of its cell's line, from the bits or,
  for the vertices made in this layer, from the line's map (the few within rounding of
  the line go back to the walk's exact rationals).

Same functions, arguments, loops and names as the C twin; compiled without fastmath,
so that both round every operation as written and agree bit for bit
(tests/test_plane_tiles.py).  Numba is imported only when this module is.
"""

import numpy as np

from ..utils.config import jit

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
