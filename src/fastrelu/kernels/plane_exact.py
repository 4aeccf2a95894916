"""exact backend on a plane: the region map first, then each pixel read off its face.

The network takes the two plane coordinates ``(u, v)`` (the plane is folded into its
first layer by the caller).  Its region map over the request's rectangle (the faces,
each with the affine map of its activation pattern: ``fastrelu.analysis.plane_walk``,
lent down as ``"plane_map"`` because the analysis layer sits above this one) is found
once, then every point is located in its face and reads the face's map:
``y = slope @ (u, v) + intercept`` in float64, stored in the points' dtype, and the
face's counts.  This is the plane's case of what ``walk.sweep_deep`` does on a line.

Points on an edge.  A face's polygon has rounded vertices, so "on an edge" is a band:
a point within ``_TOLERANCE`` rounding units (of the rectangle's scale) of a side of
every face that might hold it, or held by none, is evaluated directly by the reference,
so that on an activation boundary the slope and the counts follow PyTorch's convention
(a unit with ``z == 0`` is off) exactly as the dense backends do.  Only points strictly
inside a face (farther than the band from all its sides) read the face.  The map is
walked over the rectangle widened by one float64 step on each side, so that its own
sides are no point's edge, while a unit whose boundary runs along a side of the
rectangle gives an edge inside the walk (the line walk reaches one step beyond its
span for the same reason).
"""

import numpy as np

from ..utils.config import jit
from ..utils.plugins import provided
from . import dense_numpy as reference
from . import threads
from .cache import Last
from .dense_numpy import unpack_layers

__all__ = ["clear_cache", "sweep_deep", "sweep_graph"]

_CHUNK = 1 << 14  # points per unit of parallel work
_TOLERANCE = 64  # the edge band, in units of float64's eps times the rectangle's scale (as RegionMap.locate's)

_CELLS = 2  # cells along each side of the grid, per square root of the faces

_maps = Last()


def clear_cache():
    """Forget the cached region map (benchmarks that must time the walk call this)."""
    _maps.clear()


def _faces(arrays, key, rect, walk):
    """The region map ``walk()`` (of the network whose parameter arrays are ``arrays``) over
    ``rect`` as flat arrays, with what locates a point in it (cached for the last network and
    rectangle, so that the chunks of one request walk and index the map once): the polygons
    (CSR offsets), their sides as lines (``_sides``), a grid of cells listing the faces that
    meet each (``_bucket``), the edge band, and each face's maps and counts."""

    def make():
        f = np.float64
        m = walk()
        F = len(m)
        out = int(np.reshape(m.intercept, (F, -1)).shape[1]) if F else 1
        verts, offsets = np.ascontiguousarray(m.vertices, f), np.ascontiguousarray(m.face_offsets, np.int64)
        fverts = np.ascontiguousarray(m.face_vertices, np.int64)
        (u0, u1), (v0, v1) = rect
        band = _TOLERANCE * np.finfo(np.float64).eps * max(u1 - u0, v1 - v0, abs(u0), abs(u1), abs(v0), abs(v1))
        lines, holds = _sides(verts, offsets, fverts, rect, band)
        holds &= m.area > 0
        # a few cells per face: few candidates per point, a grid of O(F)
        nc = int(min(4096, max(1, np.ceil(_CELLS * np.sqrt(max(F, 1))))))
        su, sv = nc / (u1 - u0), nc / (v1 - v0)
        cell_ptr = np.empty(nc * nc + 1, np.int64)
        total = _bucket(verts, offsets, fverts, holds, u0, v0, su, sv, nc, cell_ptr, np.empty(0, np.int64))
        cell_ptr[1:] = np.cumsum(cell_ptr[1:])
        cell_faces = np.empty(total, np.int64)
        _bucket(verts, offsets, fverts, holds, u0, v0, su, sv, nc, cell_ptr, cell_faces)
        cell_ptr[1:] = cell_ptr[:-1].copy()  # the fill advanced each cell's start to its end
        cell_ptr[0] = 0
        return (offsets, lines, su, sv, nc, cell_ptr, cell_faces, band,
                np.ascontiguousarray(np.reshape(m.slope, (F, out, 2)), f), np.ascontiguousarray(np.reshape(m.intercept, (F, out)), f),
                np.ascontiguousarray(m.negative_by_layer, np.int32))

    return _maps.get(arrays, (*key, rect), make)


def _dense_map(params, rect):
    """The region map of the dense chain ``params`` (``sweep_deep``'s arguments) over ``rect``."""
    widths, weights, biases, alpha, lo, hi = params
    f = np.float64
    layers = [(w.astype(f), b.astype(f)) for w, b in unpack_layers(widths, weights, biases)]
    forms, u0 = [], 0
    for k, (w, _) in enumerate(layers[:-1]):
        forms.append((np.asarray(alpha[u0 : u0 + w.shape[0]], f), float(lo[k]), float(hi[k])))
        u0 += w.shape[0]
    return provided("plane_map")(layers, forms, rect)


def _widened(rect):
    """``rect`` one float64 step wider on every side."""
    (u0, u1), (v0, v1) = rect
    down, up = (lambda a: float(np.nextafter(a, -np.inf))), (lambda a: float(np.nextafter(a, np.inf)))
    return (down(u0), up(u1)), (down(v0), up(v1))


@jit()
def _bucket(verts, offsets, fverts, holds, u0, v0, su, sv, nc, cell_ptr, cell_faces):
    """Each face that can hold a point (``holds``) listed in every cell of an ``nc x nc`` grid that its
    bounding box meets: CSR ``cell_ptr`` (nc*nc + 1), ``cell_faces``; returns their count
    (call with an empty ``cell_faces`` to count, then again to fill)."""
    F = offsets.shape[0] - 1
    fill = cell_faces.shape[0] > 0
    if not fill:
        for c in range(nc * nc + 1):
            cell_ptr[c] = 0
    total = 0
    for f in range(F):
        if not holds[f]:
            continue
        lu, hu, lv, hv = np.inf, -np.inf, np.inf, -np.inf
        for q in range(offsets[f], offsets[f + 1]):
            p = fverts[q]
            lu, hu = min(lu, verts[p, 0]), max(hu, verts[p, 0])
            lv, hv = min(lv, verts[p, 1]), max(hv, verts[p, 1])
        i0 = min(max(int(np.floor((lu - u0) * su)), 0), nc - 1)
        i1 = min(max(int(np.floor((hu - u0) * su)), 0), nc - 1)
        j0 = min(max(int(np.floor((lv - v0) * sv)), 0), nc - 1)
        j1 = min(max(int(np.floor((hv - v0) * sv)), 0), nc - 1)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                c = i * nc + j
                if fill:
                    cell_faces[cell_ptr[c]] = f
                    cell_ptr[c] += 1
                else:
                    cell_ptr[c + 1] += 1
                total += 1
    return total


def _sides(verts, offsets, fverts, rect, short):
    """Each face's sides as lines ``n_x*u + n_y*v + c`` (the signed distance, positive inside:
    a face is on the left of its counter-clockwise sides), one row per side in the polygons'
    order, and whether each face can hold a point.

    Sides no longer than ``short`` are left out (``0, 0, inf``: their neighbours carry the
    face's shape there), and so are sides on the walked rectangle's border (no point's edge:
    the rectangle was widened past the points).  A face with fewer than three sides longer
    than ``short`` (the slivers between the widened border and the points') is too small for
    float64 and holds no point, as in ``RegionMap.locate``.
    """
    (u0, u1), (v0, v1) = rect
    deg = np.diff(offsets)
    nxt = np.arange(1, fverts.shape[0] + 1)
    nxt[offsets[1:] - 1] = offsets[:-1]
    p, q = verts[fverts], verts[fverts[nxt]]
    d = q - p
    length = np.hypot(d[:, 0], d[:, 1])
    long = length > short
    border = ((p[:, 0] == q[:, 0]) & ((p[:, 0] == u0) | (p[:, 0] == u1))) | ((p[:, 1] == q[:, 1]) & ((p[:, 1] == v0) | (p[:, 1] == v1)))
    keep = long & ~border
    with np.errstate(invalid="ignore", divide="ignore"):
        lines = np.stack([-d[:, 1] / length, d[:, 0] / length, (d[:, 1] * p[:, 0] - d[:, 0] * p[:, 1]) / length], axis=1)
    lines[~keep] = (0.0, 0.0, np.inf)
    holds = np.add.reduceat(long.astype(np.int64), offsets[:-1]) >= 3 if deg.size else np.zeros(0, bool)
    return np.ascontiguousarray(lines), holds & (deg > 0)


@jit()
def _inside(x, y, f, offsets, lines):
    """The smallest signed distance of the point ``(x, y)`` to the sides of face ``f`` (``_sides``)."""
    d = np.inf
    for s in range(offsets[f], offsets[f + 1]):
        d = min(d, lines[s, 0] * x + lines[s, 1] * y + lines[s, 2])
    return d


@jit()
def _evaluate(c0, c1, t, offsets, lines, u0, v0, su, sv, nc, cell_ptr, cell_faces, band, fslope, ficpt, fneg, y, sl,
              negative, edge):
    """Chunks c0..c1-1 of _CHUNK points, each read off the face it lies strictly inside;
    the others (on an edge, outside, NaN) are flagged in ``edge`` for the reference."""
    n = t.shape[0]
    out = fslope.shape[1]
    depth = fneg.shape[1]
    for c in range(c0, c1):
        i0 = c * _CHUNK
        i1 = min(n, i0 + _CHUNK)
        for i in range(i0, i1):
            x = np.float64(t[i, 0])
            z = np.float64(t[i, 1])
            face = -1
            if x == x and z == z:
                ci = min(max(int(np.floor((x - u0) * su)), 0), nc - 1)
                cj = min(max(int(np.floor((z - v0) * sv)), 0), nc - 1)
                cell = ci * nc + cj
                for q in range(cell_ptr[cell], cell_ptr[cell + 1]):
                    f = cell_faces[q]
                    d = _inside(x, z, f, offsets, lines)
                    if d > band:
                        face = f
                        break
                    if d >= -band:  # within rounding of this face's side: an edge
                        break
            edge[i] = face < 0
            if face < 0:
                continue
            for o in range(out):
                su_ = fslope[face, o, 0]
                sv_ = fslope[face, o, 1]
                y[i, o] = su_ * x + sv_ * z + ficpt[face, o]
                sl[i, o, 0] = su_
                sl[i, o, 1] = sv_
            for k in range(depth):
                negative[i, k] = fneg[face, k]


def sweep_deep(t, widths, weights, biases, alpha, lo, hi, y, slope, negative, span=None):
    """The exact backend on a plane: the contract of ``fastrelu.kernels.dense_numpy.sweep_deep``
    for ``t`` of shape (N, 2).

    The region map is walked once over ``span`` (the whole request's rectangle, of which
    ``t`` may be a part; by default the points' own bounding box), widened by one float64
    step, and cached for the last network and rectangle; each point then reads its face,
    and points on an edge are evaluated by the reference (see the module docstring).
    """
    if t.ndim != 2 or t.shape[1] != 2 or int(widths[0]) != 2:
        raise ValueError("the exact backend's plane kernel takes points (N, 2) of a network of two coordinates")
    params = (widths, weights, biases, alpha, lo, hi)
    f = np.float64
    net64 = (widths, np.asarray(weights, f), np.asarray(biases, f), np.asarray(alpha, f), np.asarray(lo, f), np.asarray(hi, f))
    _read(t, y, slope, negative, span, params, ("deep",), lambda rect: _dense_map(params, rect),
          lambda p, yy, ss, nn: reference.sweep_deep(p, *net64, yy, ss, nn))


def sweep_graph(t, graph, y, slope, negative, span=None):
    """The exact backend on a plane for a graph network: ``sweep_deep``'s reading of each
    point off its face, with ``fastrelu.kernels.dense_numpy.sweep_graph``'s contract (``graph``
    a ``fastrelu.model.graph.Graph`` of two coordinates, ``negative`` per act node)."""
    if t.ndim != 2 or t.shape[1] != 2 or graph.input_shape != (2,):
        raise ValueError("the exact backend's plane kernel takes points (N, 2) of a network of two coordinates")
    arrays = [a for n in graph.nodes for a in n.params.values() if isinstance(a, np.ndarray)]
    g64 = graph.astype(np.float64)
    _read(t, y, slope, negative, span, arrays, ("graph",), lambda rect: provided("plane_map")(g64, None, rect),
          lambda p, yy, ss, nn: reference.sweep_graph(p, g64, yy, ss, nn))


def _read(t, y, slope, negative, span, arrays, key, walk, direct):
    """Each point of ``t`` read off its face of the map ``walk(rect)``; the points on an edge
    evaluated by ``direct(points, y, slope, negative)`` (the reference), one at a time."""
    n = t.shape[0]
    if n == 0:
        return
    if span is None:
        finite = np.isfinite(t).all(axis=1)
        if not finite.any():
            rect = None
        else:
            p = np.asarray(t[finite], np.float64)
            lo_, hi_ = p.min(axis=0), p.max(axis=0)
            rect = tuple((float(a), float(b) if b > a else float(np.nextafter(a, np.inf))) for a, b in zip(lo_, hi_))
    else:
        rect = tuple((float(a), float(b)) for a, b in span)
        # fmin/fmax pass NaN over (a NaN point is evaluated directly, whatever the span)
        lo_, hi_ = np.fmin.reduce(t, axis=0), np.fmax.reduce(t, axis=0)
        if not all(not (a < r[0] or b > r[1]) for a, b, r in zip(lo_, hi_, rect)):
            raise ValueError(f"span {rect} does not hold the points")
    if rect is None:
        idx = np.arange(n)
    else:
        walk_rect = _widened(rect)
        offsets, lines, su, sv, nc, cell_ptr, cell_faces, band, fslope, ficpt, fneg = _faces(
            arrays, key, walk_rect, lambda: walk(walk_rect))
        (u0, _), (v0, _) = walk_rect
        nchunks = (n + _CHUNK - 1) // _CHUNK
        edge = np.empty(n, np.bool_)
        args = (t, offsets, lines, u0, v0, su, sv, nc, cell_ptr, cell_faces, band, fslope, ficpt, fneg, y, slope, negative, edge)
        threads.run(lambda c0, c1: _evaluate(c0, c1, *args), nchunks)
        idx = np.flatnonzero(edge)
    if idx.shape[0]:
        # each distinct point once, and one at a time: a point's bits must not depend on
        # which other points fell on an edge with it (BLAS sums a row in an order that
        # depends on the number of rows)
        pts, inverse = np.unique(np.asarray(t[idx], np.float64), axis=0, return_inverse=True)
        inverse = np.reshape(inverse, -1)
        yy = np.empty((pts.shape[0], y.shape[1]))
        ss = np.empty((pts.shape[0], y.shape[1], 2))
        nn = np.empty((pts.shape[0], negative.shape[1]), np.int32)
        for i in range(pts.shape[0]):
            direct(pts[i : i + 1], yy[i : i + 1], ss[i : i + 1], nn[i : i + 1])
        y[idx], slope[idx], negative[idx] = yy[inverse], ss[inverse], nn[inverse]


def get_num_threads():
    return threads.get_num_threads()


def set_num_threads(n):
    threads.set_num_threads(n)
