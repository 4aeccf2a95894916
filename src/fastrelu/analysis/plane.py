"""``regions(net, plane=...)``: the exact map of the linear regions of a 2-D slice of input space.

A network of piecewise-linear layers cuts every plane of its input space into convex
polygons, one per activation pattern, on each of which the output is affine.  The map
of a rectangle of the plane is found by ``plane_walk.walk_plane`` (the algorithm is
explained there) and returned as a ``RegionMap``: its vertices, edges and faces, each
face's activation pattern and output map, and the queries on them (``locate``,
``to_input``).
"""

from typing import NamedTuple

import numpy as np

from ..model.graph import act_form
from ..model.network import Network
from ..model.slices import check_bounds, fold, input_plane, plane_through
from ..utils.config import PLANE_TILE_MIN_WIDTH
from ..utils.plugins import provided
from ..utils.validation import as_float_array
from ..kernels.threads import DEFAULT_THREADS
from .patterns import splitmix
from .plane_dask import cluster_threads, walk_tiles_on
from .plane_walk import region_tables, walk_tiles

__all__ = ["Decisions", "RegionMap", "region_map"]


def region_map(net, plane=None, bounds=None, *, threads=None, tiles=None, engine=None, client=None):
    """The region map of ``net`` on a plane: ``regions(net, plane=..., bounds=...)``.

    Parameters
    ----------
    net : Network
    plane : (x0, x1, x2), optional
        Three inputs spanning the plane, for a network of any input size.  Its
        coordinates are Regioncam's: orthonormal (Gram-Schmidt of ``x1 - x0`` and
        ``x2 - x0``) and centred on the three points, so that lengths and areas are those
        of input space.  Without it, the network must take two inputs, and its input
        plane is mapped.
    bounds : ((u0, u1), (v0, v1)), optional
        The rectangle of the plane to map.  Required without ``plane``; with it, the
        default is the square around the three points that Regioncam draws (1.5 times
        their largest coordinate).
    threads : int, optional
        Threads walking the map's tiles at once; None: all the cores this process may use.
    tiles : (int, int), optional
        The rectangle cut into ``nu x nv`` tiles, each walked alone and merged: the same
        map as whole (same faces, patterns, edges and vertices).  Default: one tile per
        thread, side by side along ``u``, for networks with a hidden layer at least
        ``PLANE_TILE_MIN_WIDTH`` (512) units wide; one tile for narrower ones, whose maps
        are too small to repay the cuts.
    engine : {"c", "numba"}, optional
        The twin that runs the walk's kernels; None: as ``$FASTRELU_BACKEND`` says, else
        the C build when there is one, else Numba.
    client : dask.distributed.Client, optional
        Walk each tile as a task of this Dask cluster (``plane_dask``) and merge them here:
        the same map as a local walk.  Default tiles: one per thread of the cluster, on the
        networks that tiles repay (as above); ``threads`` goes with a local walk.

    Returns
    -------
    RegionMap

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network.random([2, 8, 8, 1], seed=0)
    >>> m = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))
    >>> m.n_vertices - m.n_edges + len(m)        # Euler's formula for a rectangle
    1
    >>> bool(abs(m.area.sum() - 4.0) < 1e-12)
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
    if plane is None and bounds is None:
        raise TypeError("give plane=(x0, x1, x2), bounds=((u0, u1), (v0, v1)), or both")
    folded, pl, rect = plane_network(net, plane, bounds, np.float64, "maps")
    layers, forms = walk_input(folded)
    if client is not None and threads is not None:
        raise TypeError("threads goes with a local map: on Dask each tile is a task on one of its worker's threads")
    threads = _check_threads(threads) if client is None else cluster_threads(client)
    if tiles is None:  # tiles pay for their cuts and merge on wide networks only
        widest = max((n.size for n in net.graph.act_nodes), default=0) if net.is_graph else max(net.widths[1:-1], default=0)
        tiles = (threads, 1) if widest >= PLANE_TILE_MIN_WIDTH else (1, 1)
    tiles = _check_tiles(tiles)
    if client is None:
        walk = walk_tiles(layers, forms, rect, tiles, threads, engine)
    else:
        walk = walk_tiles_on(client, layers, forms, rect, tiles, engine)
    return RegionMap(walk, net, pl, rect, forms)


def plane_network(net, plane, bounds, dtype, verb="sweeps"):
    """``net`` as a function of the plane coordinates ``(u, v)``, in ``dtype``; the ``Plane``;
    and the rectangle: the plane through three inputs (``plane``) or a two-input network's own
    (``bounds`` alone), in Regioncam's coordinates and default bounds.

    The one place a plane is folded into a network: a dense chain's first layer takes it
    (``slices.fold``, in float64), a graph's input becomes an ``embed`` node
    (``Graph.on_slice``), so that every backend and the region map see the same network.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network.random([3, 4, 1], seed=0)
    >>> folded, pl, rect = plane_network(net, ([0, 0, 0], [1, 0, 0], [0, 1, 0]), None, np.float64)
    >>> folded.widths, rect
    ((2, 4, 1), ((-0.75, 0.75), (-0.75, 0.75)))
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
    if plane is None:
        if net.in_features != 2:
            raise ValueError(
                f"bounds alone {verb} the input plane of a network of two inputs; this network takes {net.in_features}: "
                "give plane=(x0, x1, x2) too"
            )
        pl, rect = input_plane(), check_bounds(bounds)
    else:
        if net.in_features < 2:
            raise ValueError(f"plane: the network takes {net.in_features} input, and a plane needs at least two")
        if net.is_graph:  # points may be given shaped as the input (an image)
            try:
                plane = [np.reshape(np.asarray(x, np.float64), -1) if np.shape(x) == net.input_shape else x for x in plane]
            except (TypeError, ValueError):
                pass  # plane_through names what is wrong
        pl = plane_through(plane, net.in_features)
        rect = pl.bounds if bounds is None else check_bounds(bounds)
    if net.is_graph:
        graph = net.graph if np.dtype(dtype) == net.dtype else net.graph.astype(dtype)
        return Network._from_graph(graph.on_slice(pl.origin, pl.directions)), pl, rect
    w, b = net.layers[0]
    first = fold(w, b, pl.origin, pl.directions, dtype, "plane", "plane")
    return Network.from_layers([first, *net.layers[1:]], net.activations, dtype=dtype), pl, rect


def graph_forms(graph):
    """One entry per layer of a graph's walk: an act node's ``(alpha, lo, hi)`` (one slope per
    unit, float64), None for a max-pool node (its pattern is the argmax)."""
    out = []
    for n in graph.nodes:
        if n.kind == "act":
            alpha, lo, hi = act_form(n, np.float64)
            out.append((alpha.reshape(-1), lo, hi))
        elif n.kind == "maxpool":
            out.append(None)
    return out


def walk_input(net):
    """What ``plane_walk.walk_plane`` takes for a network of two coordinates: ``(layers,
    forms)`` of a dense chain, float64; a graph's float64 ``Graph`` and its act nodes' forms."""
    if net.is_graph:
        graph = net.graph.astype(np.float64)
        return graph, graph_forms(graph)
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in net.layers]
    return layers, [act.kernel_form(layer.bias.shape[0]) for act, layer in zip(net.activations, net.layers)]


def _check_threads(threads):
    if threads is None:
        return DEFAULT_THREADS
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    return int(threads)


def _check_tiles(tiles):
    try:
        nu, nv = tiles
    except (TypeError, ValueError):
        raise ValueError(f"tiles must be a pair of positive ints (nu, nv), got {tiles!r}") from None
    if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in (nu, nv)):
        raise ValueError(f"tiles must be a pair of positive ints (nu, nv), got {tiles!r}")
    return int(nu), int(nv)


class Decisions(NamedTuple):
    """A decision boundary on a plane (``RegionMap.decision_boundary``): segments, each in one
    face, along which two outputs tie at the top (or the one output is 0)."""

    segments: np.ndarray
    face: np.ndarray
    classes: np.ndarray


def _decision_boundary(m):
    """``RegionMap.decision_boundary``: for each face and pair of outputs, the line where they
    are equal, clipped to the face (its polygon's sides) and to where both are the largest."""
    F = len(m)
    slope = m.slope.reshape(F, -1, 2)
    icpt = m.intercept.reshape(F, -1)
    out = slope.shape[1]
    pairs = [(0, 0)] if out == 1 else [(i, j) for i in range(out) for j in range(i + 1, out)]
    off, idx = m.face_offsets, m.face_vertices
    owner = np.repeat(np.arange(F), np.diff(off))
    nxt = np.arange(1, idx.shape[0] + 1)
    nxt[off[1:] - 1] = off[:-1]
    P, Q = m.vertices[idx], m.vertices[idx[nxt]]
    found = []
    for i, j in pairs:
        # d = y_i - y_j (or y_0) on each face, at each corner of its polygon
        g = slope[:, i] - (slope[:, j] if out > 1 else 0.0)
        h = icpt[:, i] - (icpt[:, j] if out > 1 else 0.0)
        da = (g[owner] * P).sum(axis=1) + h[owner]
        db = da[nxt]
        cut = da * db < 0
        on = da == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(cut, da / np.where(cut, da - db, 1.0), 0.0)
        pts = np.where((cut | on)[:, None], P + t[:, None] * (Q - P), np.nan)
        keep = np.flatnonzero(cut | on)
        if keep.size < 2:
            continue
        f = owner[keep]
        x = pts[keep]
        # the two ends: the extreme points along the line's direction, in each face
        direction = np.stack([-g[f, 1], g[f, 0]], axis=1)
        along = (x * direction).sum(axis=1)
        order = np.lexsort((along, f))
        f, x, along = f[order], x[order], along[order]
        first = np.flatnonzero(np.r_[True, f[1:] != f[:-1]])
        last = np.r_[first[1:], f.shape[0]] - 1
        seg = (last > first) & (along[last] > along[first]) & (np.abs(g[f[first]]).sum(axis=1) > 0)
        ff, a, b = f[first][seg], x[first][seg], x[last][seg]
        if out > 2 and ff.size:
            # where another output is larger, neither of the two is the class: clip that away
            lo, hi = np.zeros(ff.shape[0]), np.ones(ff.shape[0])
            for k in range(out):
                if k in (i, j):
                    continue
                gk = slope[ff, i] - slope[ff, k]
                hk = icpt[ff, i] - icpt[ff, k]
                qa = (gk * a).sum(axis=1) + hk
                qb = (gk * b).sum(axis=1) + hk
                with np.errstate(invalid="ignore", divide="ignore"):
                    tk = qa / (qa - qb)  # where q = y_i - y_k crosses 0 along the segment
                lo = np.where((qa < 0) & (qb > 0), np.maximum(lo, tk), lo)
                hi = np.where((qa > 0) & (qb < 0), np.minimum(hi, tk), hi)
                lo = np.where((qa < 0) & (qb <= 0), 2.0, lo)  # below all along: nothing left
            ok = lo < hi
            a, b, ff, lo, hi = a[ok], b[ok], ff[ok], lo[ok], hi[ok]
            a, b = a + lo[:, None] * (b - a), a + hi[:, None] * (b - a)
        found.append((np.stack([a, b], axis=1), ff, np.tile([i, j], (ff.shape[0], 1))))
    if not found:
        return Decisions(np.zeros((0, 2, 2)), np.zeros(0, np.int64), np.zeros((0, 2), np.int64))
    segments, face, classes = (np.concatenate(c) for c in zip(*found))
    order = np.lexsort((classes[:, 1], classes[:, 0], face))
    return Decisions(*(_readonly(a[order]) for a in (segments, face, classes.astype(np.int64))))


def _cycles(edges, edge_faces, n_faces, n_vertices):
    """Each face's vertices counter-clockwise, as CSR ``(offsets, indices)``, from the edges
    (a face is on the left of its edges in its counter-clockwise order)."""
    u, v = edges[:, 0], edges[:, 1]
    L, R = edge_faces[:, 0], edge_faces[:, 1]
    left, right = L >= 0, R >= 0
    tail = np.concatenate([u[left], v[right]])
    head = np.concatenate([v[left], u[right]])
    face = np.concatenate([L[left], R[right]])
    key = face * n_vertices + tail
    order = np.argsort(key, kind="stable")
    key, tail, head, face = key[order], tail[order], head[order], face[order]
    succ = np.searchsorted(key, face * n_vertices + head)
    if not (succ < key.shape[0]).all() or not (key[np.minimum(succ, key.shape[0] - 1)] == face * n_vertices + head).all():
        raise AssertionError("the region map's faces are not closed polygons")  # a bug, never the input
    counts = np.bincount(face, minlength=n_faces)
    offsets = np.r_[0, np.cumsum(counts)]
    out = np.empty(tail.shape[0], np.int64)
    cur = offsets[:-1].copy()  # each face starts at its smallest vertex
    faces = np.arange(n_faces)
    step = 0
    while faces.size:
        out[offsets[faces] + step] = tail[cur]
        cur = succ[cur]
        step += 1
        more = counts[faces] > step
        faces, cur = faces[more], cur[more]
    return offsets, out


def _readonly(a):
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


class RegionMap:
    """The linear regions of a network on a rectangle of a plane: a map of convex polygons.

    Every face is one activation pattern, on which the output is affine in the plane
    coordinates ``(u, v)``: ``y = slope @ (u, v) + intercept``.  Faces, edges and vertices
    form a planar partition of the rectangle (``n_vertices - n_edges + len(m) == 1``).

    Attributes
    ----------
    vertices : ndarray, shape (V, 2)
        Plane coordinates ``(u, v)`` of the vertices.
    edges : ndarray, shape (E, 2)
        The two vertices of each edge.
    edge_faces : ndarray, shape (E, 2)
        The faces on the left and on the right of each edge (going from its first vertex
        to its second); -1 outside the rectangle.
    edge_units : ndarray, shape (E, 2)
        ``(layer, unit)`` of the hidden unit on whose activation boundary each edge lies
        (the unit that cut it; ``switching(e)`` lists every unit that changes across it);
        ``(-1, -1)`` on the rectangle's sides.
    face_offsets, face_vertices : ndarray
        The faces' polygons, counter-clockwise, as CSR: face ``i`` is
        ``face_vertices[face_offsets[i]:face_offsets[i + 1]]`` (``polygon(i)``).  A
        polygon may hold vertices where a neighbour's edge meets its side (angle 180°).
    area : ndarray, shape (F,)
        Area of each face, in the plane's units (those of input space for a plane
        through three points).
    slope : ndarray, shape (F, 2) or (F, out, 2)
        The output's gradient in the plane on each face (last axis: u, v).
    intercept : ndarray, shape (F,) or (F, out)
        The output at ``(u, v) = (0, 0)`` of each face's affine map.
    negative : ndarray of int32, shape (F,)
        Hidden units with pre-activation ``<= 0`` on each face.
    negative_by_layer : ndarray of int32, shape (F, depth)
        The same per hidden layer (of a graph network: per act node).
    pattern : ndarray of int8, shape (F, hidden)
        Each unit's region on each face, units of all layers in order: 0 where its
        pre-activation is ``<= 0``, 1 where it is ``> 0``; with a clamp (Hardtanh, ReLU6),
        the number of breakpoints below it (Hardtanh(-1, 1): 0 below -1, 1 up to 0, 2 up
        to 1, 3 above).  Of a graph network, its act nodes' units and, for each max-pool
        node, the argmax of each window (``layer_widths``, ``layer_names``).
    pattern_hash : ndarray of uint64, shape (F,)
        A hash of each face's pattern that depends on the pattern alone (the same pattern
        gets the same hash in another map of the same widths): stable colours.
    n_boundaries, n_kinks : int
        Edges inside the rectangle (the activation pattern changes across each), and
        those across which the output's gradient changes: a unit switching where its
        change reaches only units that are off, or where changes cancel, changes the
        pattern but not the gradient.
    ambiguous, degenerate : int
        Vertices sharing their coordinates with another (``degenerate``: faces too small
        for float64, kept and counted), and cells that rounding left whole because their
        vertices alternate sides of a line (``ambiguous``, 0 unless lines of two layers
        all pass within rounding of one point; parts of such a cell may carry a wrong
        pattern).  See ``fastrelu.analysis.plane_walk``.
    network : Network
    origin, directions : ndarray
        The plane, ``x = origin + u * directions[0] + v * directions[1]`` (``to_input``).
    points : ndarray, shape (3, 2) or (0, 2)
        Plane coordinates of the three points the plane was drawn through.
    bounds : ((u0, u1), (v0, v1))
        The rectangle.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network.from_layers([([[1.0, 0.0], [0.0, 1.0]], None), ([[1.0, 1.0]], None)])
    >>> m = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))   # relu(u) + relu(v): four quadrants
    >>> m
    RegionMap(faces=4, vertices=9, edges=12, kinks=4, bounds=((-1, 1), (-1, 1)))
    >>> m.slope[m.locate([[0.5, 0.5], [-0.5, 0.5]])]
    array([[1., 1.],
           [0., 1.]])
    """

    __slots__ = ("vertices", "edges", "edge_faces", "edge_units", "area", "slope",
                 "intercept", "negative", "negative_by_layer", "ambiguous", "degenerate", "network", "origin",
                 "directions", "points", "bounds", "_walk", "_lazy")

    def __init__(self, walk, network, plane, bounds, forms):
        F = walk.maps.shape[0]
        self.vertices = _readonly(walk.vertices)
        self.edges = _readonly(walk.edges)
        self.edge_faces = _readonly(walk.edge_faces)
        self.edge_units = _readonly(np.stack([walk.edge_layer, walk.edge_unit], axis=1))
        # the shoelace formula over each face's edges (it is on the left of its edges taken
        # counter-clockwise, on the right of the others): the polygons are not needed for it,
        # and are formed on first use (face_offsets)
        p, q = walk.vertices[walk.edges[:, 0]], walk.vertices[walk.edges[:, 1]]
        cross = p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]
        L, R = walk.edge_faces[:, 0], walk.edge_faces[:, 1]
        left, right = L >= 0, R >= 0
        self.area = _readonly(0.5 * (np.bincount(L[left], cross[left], minlength=F)
                                     - np.bincount(R[right], cross[right], minlength=F)))
        maps = walk.maps  # (F, 3, out): slope along u, along v, intercept
        slope = np.moveaxis(maps[:, :2, :], 1, 2)  # (F, out, 2)
        intercept = maps[:, 2, :]
        if maps.shape[2] == 1:
            slope, intercept = slope[:, 0, :], intercept[:, 0]
        self.slope, self.intercept = _readonly(slope), _readonly(intercept)
        # forms: one per layer of the walk, None for a max-pool node's (its pattern is the argmax; it counts no units)
        acts = [k for k, form in enumerate(forms) if form is not None]
        idx0 = {k: int(np.searchsorted(region_tables(*forms[k])[0], 0.0)) for k in acts}
        by_layer = np.empty((F, len(acts)), np.int32)
        ancestors = self._ancestors(walk)
        for i, k in enumerate(acts):
            by_layer[:, i] = walk.regions[k].count_at_most(idx0[k])[ancestors[k]]
        self.negative_by_layer = _readonly(by_layer)
        self.negative = _readonly(by_layer.sum(axis=1, dtype=np.int32))
        self.ambiguous, self.degenerate = walk.ambiguous, walk.degenerate
        self.network = network
        self.origin, self.directions = _readonly(plane.origin), _readonly(plane.directions)
        self.points = _readonly(plane.points)
        self.bounds = bounds
        self._walk = walk
        self._lazy = {}

    @staticmethod
    def _ancestors(walk):
        """For each hidden layer, the face after that layer that each final face lies in."""
        anc = np.arange(walk.maps.shape[0])
        out = [anc]
        for parent in walk.parents[:0:-1]:
            anc = parent[anc]
            out.append(anc)
        return out[::-1]

    # -- counts -----------------------------------------------------------------------
    def __len__(self):
        return self.area.shape[0]

    @property
    def n_vertices(self):
        """Number of vertices, on the rectangle's sides included."""
        return self.vertices.shape[0]

    @property
    def n_edges(self):
        """Number of edges, the rectangle's sides (cut at their vertices) included."""
        return self.edges.shape[0]

    @property
    def n_boundaries(self):
        """Edges inside the rectangle: across each one the activation pattern changes."""
        return int(np.count_nonzero((self.edge_faces >= 0).all(axis=1)))

    @property
    def n_kinks(self):
        """Edges inside the rectangle across which the output's gradient changes."""
        if "kinks" not in self._lazy:
            inner = (self.edge_faces >= 0).all(axis=1)
            f1, f2 = self.edge_faces[inner, 0], self.edge_faces[inner, 1]
            diff = (self.slope[f1] != self.slope[f2]).any(axis=tuple(range(1, self.slope.ndim)))
            self._lazy["kinks"] = int(np.count_nonzero(diff))
        return self._lazy["kinks"]

    # -- patterns -----------------------------------------------------------------------
    @property
    def layer_widths(self):
        """Units of each hidden layer, as ``pattern`` lays them out (of a graph network: each act
        node's units and each max-pool node's windows, in ``net.nodes``' order, ``layer_names``)."""
        return tuple(r.width for r in self._walk.regions)

    @property
    def layer_names(self):
        """The hidden layers' names: ``"layer k"`` for a dense chain, the act and max-pool nodes'
        names (as ``net.nodes`` names them) for a graph network.

        Examples
        --------
        >>> import fastrelu
        >>> fastrelu.regions(fastrelu.Network.random([2, 4, 4, 1], seed=0), bounds=((-1, 1), (-1, 1))).layer_names
        ('layer 0', 'layer 1')
        """
        if self.network is not None and self.network.is_graph:
            return tuple(n.name for n in self.network.graph.piecewise_nodes)
        return tuple(f"layer {k}" for k in range(len(self._walk.regions)))

    @property
    def layer_kinds(self):
        """What each hidden layer's part of ``pattern`` holds, in ``layer_names``' order:
        ``"act"`` (each unit's region) or ``"maxpool"`` (each window's argmax).

        Examples
        --------
        >>> import fastrelu
        >>> fastrelu.regions(fastrelu.Network.random([2, 4, 4, 1], seed=0), bounds=((-1, 1), (-1, 1))).layer_kinds
        ('act', 'act')
        """
        if self.network is not None and self.network.is_graph:
            return tuple(n.kind for n in self.network.graph.piecewise_nodes)
        return ("act",) * len(self._walk.regions)

    @property
    def pattern(self):
        """Each unit's region on each face (int8, ``(F, hidden)``; see the class docstring)."""
        if "pattern" not in self._lazy:
            self._lazy["pattern"] = _readonly(self._patterns())
        return self._lazy["pattern"]

    def _patterns(self, faces=slice(None)):
        """The patterns of ``faces`` (an index of final faces), unpacked from each layer's bits."""
        walk = self._walk
        return np.concatenate([walk.regions[k].rows(anc[faces]) for k, anc in enumerate(self._ancestors(walk))], axis=1)

    @property
    def pattern_hash(self):
        """A 64-bit hash of each face's pattern, the same for the same pattern in any map.

        Examples
        --------
        >>> import fastrelu
        >>> net = fastrelu.Network.random([2, 6, 1], seed=3)
        >>> a = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))
        >>> b = fastrelu.regions(net, bounds=((0, 1), (0, 1)))
        >>> i = a.locate([[0.5, 0.5]])[0]; j = b.locate([[0.5, 0.5]])[0]
        >>> bool(a.pattern_hash[i] == b.pattern_hash[j])
        True
        """
        if "hash" not in self._lazy:
            # pattern_hashes of the pattern, each layer's share read off its packed bits (a
            # wide map's whole pattern need not fit in memory)
            walk = self._walk
            total = np.zeros(len(self), np.uint64)
            start = 0
            with np.errstate(over="ignore"):
                for r, anc in zip(walk.regions, self._ancestors(walk)):
                    total += r.hash_sums(start)[anc]
                    start += r.width
            self._lazy["hash"] = _readonly(splitmix(total ^ np.uint64(start)))
        return self._lazy["hash"]

    def switching(self, e):
        """``(layer, unit)`` arrays of the hidden units whose region differs across edge ``e``.

        For a graph network (``net.is_graph``) the layer is the act node's index in
        ``net.nodes`` and the unit its flat index in the node's output, as on a line.

        Examples
        --------
        >>> import fastrelu
        >>> net = fastrelu.Network.from_layers([([[1.0, 0.0], [1.0, 0.0]], None), ([[1.0, 1.0]], None)])
        >>> m = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))    # two units, one boundary u = 0
        >>> e = int(np.flatnonzero((m.edge_faces >= 0).all(axis=1))[0])
        >>> m.switching(e)
        (array([0, 0], dtype=int32), array([0, 1], dtype=int32))
        """
        e = int(e)
        if not 0 <= e < self.n_edges:
            raise IndexError(f"edge {e} out of range: the map has {self.n_edges} edges")
        f1, f2 = self.edge_faces[e]
        if f1 < 0 or f2 < 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        rows = self._patterns([f1, f2])
        units = np.flatnonzero(rows[0] != rows[1])
        widths = np.array(self.layer_widths)
        starts = np.r_[0, np.cumsum(widths)[:-1]]
        layer = np.searchsorted(starts, units, side="right") - 1
        unit = units - starts[layer]
        if self.network is not None and self.network.is_graph:  # a graph's layers are its act and max-pool nodes, by index
            layer = np.array([k for k, n in enumerate(self.network.nodes) if n.kind in ("act", "maxpool")], np.int64)[layer]
        return layer.astype(np.int32), unit.astype(np.int32)

    # -- classifiers --------------------------------------------------------------------
    def decision_boundary(self):
        """The decision boundary of the network as a classifier, exactly: segments of the plane.

        With several outputs the class is the argmax, and the boundary is where the top two
        outputs tie: in each face, for each pair of outputs, the part of the line where they
        are equal that lies in the face and where no other output is larger.  With one output
        the class is its sign, and the boundary is where it is 0.  Each segment comes from
        its face's affine map (never from values at rounded points), clipped to the face.
        Where two outputs are equal over a whole face (a tie, not a boundary), no segment is
        given for that face.

        Returns
        -------
        Decisions
            ``segments`` (S, 2, 2): the two ends of each segment, in plane coordinates;
            ``face`` (S,): the face it crosses; ``classes`` (S, 2): the two outputs that tie
            along it (``(0, 0)`` for one output).  Computed on first use and kept.

        Examples
        --------
        >>> import fastrelu
        >>> net = fastrelu.Network.from_layers([([[1.0, 0.0], [-1.0, 0.0]], None), ([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.25])])
        >>> d = fastrelu.regions(net, bounds=((-1, 1), (-1, 1))).decision_boundary()
        >>> len(d.segments), d.classes.tolist()   # relu(u) = relu(-u) + 0.25 at u = 0.25
        (1, [[0, 1]])
        >>> sorted(map(tuple, d.segments[0].tolist()))
        [(0.25, -1.0), (0.25, 1.0)]
        """
        if "decisions" not in self._lazy:
            self._lazy["decisions"] = _decision_boundary(self)
        return self._lazy["decisions"]

    # -- geometry -----------------------------------------------------------------------
    @property
    def face_offsets(self):
        """Where each face's polygon starts in ``face_vertices`` (CSR offsets, ``(F + 1,)``)."""
        return self._polygons()[0]

    @property
    def face_vertices(self):
        """The faces' polygons' vertices, counter-clockwise, one face after another (``polygon``)."""
        return self._polygons()[1]

    def _polygons(self):
        if "polygons" not in self._lazy:
            offsets, indices = _cycles(self.edges, self.edge_faces, len(self), self.n_vertices)
            self._lazy["polygons"] = (_readonly(offsets), _readonly(indices))
        return self._lazy["polygons"]

    def polygon(self, i):
        """The vertex indices of face ``i``, counter-clockwise."""
        return self.face_vertices[self.face_offsets[i] : self.face_offsets[i + 1]]

    def to_input(self, points):
        """Input vectors ``origin + u * directions[0] + v * directions[1]`` of plane points ``(N, 2)``.

        Examples
        --------
        >>> import fastrelu
        >>> net = fastrelu.Network.random([3, 4, 1], seed=0)
        >>> m = fastrelu.regions(net, plane=([0, 0, 0], [2, 0, 0], [0, 1, 0]))
        >>> m.to_input(m.points)          # the three points back
        array([[0., 0., 0.],
               [2., 0., 0.],
               [0., 1., 0.]])
        """
        pts = as_float_array(points, "points", np.float64, ndim=2)
        if pts.shape[1] != 2:
            raise ValueError(f"points must be (N, 2) plane coordinates, got shape {pts.shape}")
        return self.origin + pts @ self.directions

    def locate(self, points):
        """The face holding each plane point ``(N, 2)``; -1 outside the rectangle.

        A point on an edge or a vertex belongs to the lowest-numbered face among those
        around it; one within rounding of an edge to the face it is least outside of.  Faces
        too small for float64 (area 0) hold no point.

        Examples
        --------
        >>> import fastrelu
        >>> net = fastrelu.Network.from_layers([([[1.0, 0.0]], None), ([[1.0]], None)])
        >>> m = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))
        >>> m.locate([[-0.5, 0.0], [0.5, 0.0], [2.0, 0.0]]).tolist()
        [1, 0, -1]
        """
        pts = np.asarray(points, np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points must be (N, 2) plane coordinates, got shape {pts.shape}")
        grid = self._grid()
        out = np.full(pts.shape[0], -1, np.int64)
        for i0 in range(0, pts.shape[0], 1 << 16):
            out[i0 : i0 + (1 << 16)] = self._locate_block(pts[i0 : i0 + (1 << 16)], grid)
        return out

    def _grid(self):
        """A uniform grid over the rectangle, with the faces whose bounding box meets each cell (CSR)."""
        if "grid" in self._lazy:
            return self._lazy["grid"]
        (u0, u1), (v0, v1) = self.bounds
        n = int(min(1024, max(1, np.sqrt(max(len(self), 1)))))
        p = self.vertices[self.face_vertices]
        starts = self.face_offsets[:-1]
        lo = np.minimum.reduceat(p, starts, axis=0)
        hi = np.maximum.reduceat(p, starts, axis=0)
        su, sv = n / (u1 - u0), n / (v1 - v0)
        i0 = np.clip(np.floor((lo[:, 0] - u0) * su).astype(np.int64), 0, n - 1)
        i1 = np.clip(np.floor((hi[:, 0] - u0) * su).astype(np.int64), 0, n - 1)
        j0 = np.clip(np.floor((lo[:, 1] - v0) * sv).astype(np.int64), 0, n - 1)
        j1 = np.clip(np.floor((hi[:, 1] - v0) * sv).astype(np.int64), 0, n - 1)
        ni, nj = i1 - i0 + 1, j1 - j0 + 1
        cnt = ni * nj
        face = np.repeat(np.arange(len(self)), cnt)
        k = np.arange(face.shape[0]) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        cell = (i0[face] + k // nj[face]) * n + (j0[face] + k % nj[face])
        order = np.lexsort((face, cell))
        cell_faces = face[order]
        cell_ptr = np.r_[0, np.cumsum(np.bincount(cell, minlength=n * n))]
        self._lazy["grid"] = (n, su, sv, cell_ptr, cell_faces)
        return self._lazy["grid"]

    def _locate_block(self, pts, grid):
        n, su, sv, cell_ptr, cell_faces = grid
        (u0, u1), (v0, v1) = self.bounds
        out = np.full(pts.shape[0], -1, np.int64)
        inside = (pts[:, 0] >= u0) & (pts[:, 0] <= u1) & (pts[:, 1] >= v0) & (pts[:, 1] <= v1)
        idx = np.flatnonzero(inside)
        if idx.size == 0:
            return out
        x = pts[idx]
        ci = np.clip(np.floor((x[:, 0] - u0) * su).astype(np.int64), 0, n - 1)
        cj = np.clip(np.floor((x[:, 1] - v0) * sv).astype(np.int64), 0, n - 1)
        cell = ci * n + cj
        cnt = cell_ptr[cell + 1] - cell_ptr[cell]
        pt = np.repeat(np.arange(idx.shape[0]), cnt)
        face = cell_faces[np.repeat(cell_ptr[cell], cnt) + np.arange(pt.shape[0]) - np.repeat(np.cumsum(cnt) - cnt, cnt)]
        # signed distance to each side of each candidate face (>= 0 inside); its minimum scores the face
        deg = self.face_offsets[face + 1] - self.face_offsets[face]
        pair = np.repeat(np.arange(pt.shape[0]), deg)
        j = np.arange(pair.shape[0]) - np.repeat(np.cumsum(deg) - deg, deg)
        a_i = self.face_offsets[face[pair]] + j
        b_i = self.face_offsets[face[pair]] + (j + 1) % deg[pair]
        a, b = self.vertices[self.face_vertices[a_i]], self.vertices[self.face_vertices[b_i]]
        d = b - a
        q = x[pt[pair]] - a
        length = np.hypot(d[:, 0], d[:, 1])
        # a side between two vertices within rounding of one point has no direction worth testing
        # (its neighbours carry the face's shape there): sides of a few ulps are skipped
        short = length <= 64 * np.finfo(np.float64).eps * max(u1 - u0, v1 - v0, abs(u0), abs(u1), abs(v0), abs(v1))
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.where(short, np.inf, (d[:, 0] * q[:, 1] - d[:, 1] * q[:, 0]) / length)
        first = np.r_[0, np.cumsum(deg)[:-1]]
        score = np.minimum.reduceat(dist, first) if pair.size else np.zeros(0)
        score = np.minimum(score, 0.0)  # inside is inside: then the lowest face wins
        # a face too small for float64 (fewer than three sides longer than rounding) holds no point
        sides = np.add.reduceat(~short, first) if pair.size else np.zeros(0, np.int64)
        score[(sides < 3) | ~(self.area[face] > 0)] = -np.inf
        order = np.lexsort((face, -score, pt))
        first = np.r_[True, pt[order][1:] != pt[order][:-1]]
        out[idx[pt[order][first]]] = face[order][first]
        return out

    def save(self, path):
        """Save the map to a ``.npz`` file with its network and plane; ``RegionMap.load`` reads it back.

        The loaded map is the saved one bit for bit (``fastrelu.store.region_map``).

        Parameters
        ----------
        path : str or os.PathLike

        Examples
        --------
        >>> import fastrelu, os, tempfile
        >>> m = fastrelu.regions(fastrelu.Network.random([2, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)))
        >>> path = os.path.join(tempfile.mkdtemp(), "map.npz")
        >>> m.save(path)
        >>> bool((fastrelu.RegionMap.load(path).pattern_hash == m.pattern_hash).all())
        True
        """
        provided("save_region_map")(self, path)

    @classmethod
    def load(cls, path):
        """Load a map saved by ``RegionMap.save`` (or ``fastrelu map --out MAP.npz``).

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        RegionMap

        Examples
        --------
        >>> import fastrelu, os, tempfile
        >>> m = fastrelu.regions(fastrelu.Network.random([2, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)))
        >>> path = os.path.join(tempfile.mkdtemp(), "map.npz")
        >>> m.save(path)
        >>> len(fastrelu.RegionMap.load(path)) == len(m)
        True
        """
        return provided("load_region_map")(path)

    def to_html(self, path=None, *, title=None, outputs=None, width=800):
        """The interactive page of this map: ``fastrelu.plot.region_map_html(self, path, ...)``.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to write the page; None returns its text instead.
        title : str, optional
            The heading; by default one naming the network and the plane.
        outputs : sequence of int, optional
            The outputs whose maps the hover shows, of a network of several.
        width : int, default 800
            Width of the map in CSS pixels.

        Returns
        -------
        str or path

        Examples
        --------
        >>> import fastrelu
        >>> m = fastrelu.regions(fastrelu.Network.random([2, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)))
        >>> m.to_html().startswith("<!DOCTYPE html>")
        True
        """
        return provided("region_map_page")(self, path, title=title, outputs=outputs, width=width)

    def plot(self, *, edges=None, decisions=None, pixels=400, output=0, title=None, figsize=(14, 10), dpi=150):
        """A figure of this map: ``fastrelu.plot.region_map_figure(self, ...)``.

        The faces coloured by their pattern, the edges shaded by layer, a classifier's
        decision boundary, the plane's three points; beside them the output, its gradient
        and the negative count over the plane, read off the faces pixel by pixel.

        Parameters
        ----------
        edges : bool, optional
            Draw the faces' edges (by default up to 20,000 faces).
        decisions : bool, optional
            Draw the decision boundary (by default for several outputs).
        pixels : int, default 400
            Pixels along each side of the three panels on the right.
        output : int, default 0
            The output drawn on the right, for a network of several.
        title : str, optional
            The figure's title (by default the network and the number of regions).
        figsize, dpi
            Size and resolution.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import fastrelu
        >>> m = fastrelu.regions(fastrelu.Network.random([2, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)))
        >>> m.plot(pixels=32).savefig("map.png")  # doctest: +SKIP
        """
        return provided("region_map_figure")(self, edges=edges, decisions=decisions, pixels=pixels, output=output,
                                             title=title, figsize=figsize, dpi=dpi)

    def __repr__(self):
        (u0, u1), (v0, v1) = self.bounds
        return (f"RegionMap(faces={len(self)}, vertices={self.n_vertices}, edges={self.n_edges}, kinks={self.n_kinks}, "
                f"bounds=(({u0:g}, {u1:g}), ({v0:g}, {v1:g})))")
