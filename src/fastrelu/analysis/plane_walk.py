"""The exact walk of a plane: every linear region of a network of two coordinates ``(u, v)``.

The network takes the two plane coordinates (the plane is folded into its first layer by
the caller).  Every pre-activation is then piecewise affine in ``(u, v)``, and the
rectangle of the plane is cut into convex polygons (*faces*), one per activation pattern.
``walk_plane`` finds them layer by layer, as the line walk (``kernels/walk.py``) finds the
pieces of a line.

Representation
--------------
The partition is a list of *edges* ``(u, v, left face, right face)`` between vertices
(float64 points of the plane); a face is on the left of each of its edges taken in its
counter-clockwise order, ``-1`` is outside the rectangle.  Each face ``f`` carries the
affine maps of the layer being walked, ``z = A[f] @ (u, v) + C[f]`` for all its units
(``maps[:, f]`` is ``(3, h)``: the two slopes and the intercept), computed from the face's
activation pattern alone: the maps of the next layer are ``W @ (g * maps + o) + b``,
with the gain ``g`` and offset ``o`` of each unit's activation on the face
(``_next_maps``, one matrix product per layer for all faces), never from values at
rounded vertices.

One layer of the walk
---------------------
Each unit has a *line* per breakpoint ``b`` of its activation (0, and the clamps of
Hardtanh and ReLU6): ``z = b``.  A line that crosses a face splits it.

0. *Sides.*  Every vertex takes its side of every line (``z > b``, ``z < b`` or exactly
   on it) from the map of one face that holds it (its *owner*), so that all faces around
   a vertex agree; the sides are kept as bits.  A value within rounding of 0 is looked at
   again: the vertex is on the line when the map of some face around it says so exactly
   (a unit constant 0 on a face whose inputs are all off).  A face is crossed by the lines
   that have vertices on both sides; on every other line it lies on the side of its
   vertices.
1. *Edges.*  Every edge whose ends are on strictly opposite sides of a line gets a new
   vertex there: the intersection of the edge's line and the unit's line (each from a
   face's map), or, where rounding puts that outside the edge, the zero of the unit's map
   interpolated along the edge.  The new vertices' sides follow from their order along
   the edge, not from their rounded position.  An edge is shared by its two faces, so both
   see the same vertices.
2. *Faces.*  Each face is then cut by its lines, in rounds.  A *cell* (a part of a face)
   keeps its *pending* lines, those with vertices of the cell on both sides, in the order
   of the units; in each round every cell cuts itself along the first of them, with a new
   edge (a *chord*) between its two vertices on that line, after its edges crossing the
   line got a vertex each (where two chords of a face cross, at the intersection of their
   two lines).  A line crossing an edge between two cells crosses both, so both take it
   in the same round: each edge is cut once per round, and the parts stay a partition
   (where rounding has the two cells of a chord cut it by different lines in one round,
   the later cell waits a round).  Vertices inside the face take their side from the
   face's own map, and are exactly on the two lines they were made on; those on its
   boundary keep the sides of steps 0 and 1, which its neighbours see too.  The units'
   order is random, so a cell is cut O(log n) times on average.

   After steps 0 and 1 the faces no longer interact: a face's boundary already has a
   vertex wherever a line crosses it, with its sides as bits, and only chords, which are
   inside it, are cut.  So one kernel call per layer (``_layer``, ``kern.cut``) takes
   the faces one after another, each through its own rounds, its cells and their
   half-edges in small arrays of its own (a face has tens of cells, not thousands).  We
   kept the rounds rather than cutting each cell to the end at once (a stack of cells):
   a cell's cuts are the same either way where float64 is consistent, but where
   rounding is not (lines within rounding of one point), the order in which chords are
   cut decides vertices and sides, and the rounds' order is the one the map has always
   had; with the new vertices, edges and faces numbered afterwards as rounds over all
   faces at once number them (``_renumber``: the next layer's owner of a vertex is the
   smallest face around it), the map is the one the numpy rounds made, bit for bit,
   but for the side of an ambiguous cell's centre (below), whose coordinates are now
   summed in the order of its vertices (numpy summed them in an order of its own).
   The kernel writes each face when it is done; when the room given runs out it stops
   before the face and is called again with more.
3. *Patterns.*  Each part records on which side of each line of its face it lies when a
   cut or a line left behind decides it (never re-evaluated at a point), and the next
   layer's maps follow.

Exactness.  The arithmetic is float64.  The maps are products of the weights and the
pattern, so on networks whose weights are short dyadic numbers they are exact, and an
intersection of two lines through a common point (every line of a network without
biases meets at the origin) comes out exactly there: such vertices are on the line
exactly, and the faces around them are exactly those of exact arithmetic.  A vertex is
stored rounded, but it is where its two lines cross; when a line passes within rounding
of it, its side is the sign of a 3x3 determinant of the three lines' float64
coefficients, computed exactly (``kern.exact_sides``: the products split exactly by
``two_prod`` into an expansion, whose sign is that of its largest term), so that lines nearly meeting in one
point still cut the faces consistently, leaving cells too small for float64 (counted,
not dropped: ``degenerate``).  One case remains: lines of *two* layers all within
rounding of one point, where neighbouring faces' maps of the same unit differ by
rounding, can give a cell whose vertices alternate sides of a line; such a cell is left
whole, takes the side of its centre, and is counted (``ambiguous``): parts of it may
carry the wrong pattern, never silently.  So is a side the exact predicate cannot decide
in float64's range (coefficients of one line more than 2**300 apart, where a product of
three could underflow): it keeps the sign of its computed value.  No tolerance decides a side: a side is
``z > b``, ``z < b`` or ``z == b`` of one computed value, or of an exact one (a bound of
2**-30 of the terms only picks the values worth computing exactly).

Work.  The matrix products of the maps are ``3 x faces x fan_in x fan_out`` multiply-adds
per layer (numpy's BLAS, held to one thread: ``kernels.threads.blas_pinned``); the passes
over every vertex (its owner and sides), every edge (its new vertices) and every face (the
rows of its product, its rounds of cuts) are kernels, twins in C and Numba
(``kernels/plane_c.py``, ``kernels/plane_numba.py``), and so are the lists of faces around
a vertex, vertices and edges of a face (counting sorts) and the numbering of the cuts; what
is left in numpy is a few calls a layer, linear in the vertices, edges and faces met.  The memory is
``O(faces x widest layer)`` (a face's maps, a vertex's sides), counted before each
layer's sides and maps are allocated.

Graph networks.  The walk visits a network's nodes in order (``fastrelu.model.graph``; a
dense chain is the chain input, dense, act, ..., dense), each kind a case in one place of
``walk_plane``: an affine node maps the maps of its inputs through the op, all faces as one
batch (a convolution stays a convolution, applied to the maps as to images); an act node
is a layer of the walk as above; a max-pool node is a layer whose pattern is each window's
argmax (``_maxpool``: rounds of cuts against the running maximum, then the parts with one
argmax merged).  The maps of every node that a later one still reads (a residual branch,
the other input of a cat) are carried to the new faces through their parents.

Tiles.  ``walk_tiles`` cuts the rectangle into tiles, walks them on threads (the kernels
and BLAS release the GIL) and merges the parts of each face, which carry its pattern:
the same map as whole (see ``walk_tiles``).
"""

import itertools
from typing import NamedTuple

import numpy as np

from ..kernels import plane_engine
from ..kernels.threads import blas_pinned
from ..kernels.threads import run as run_chunks
from ..model.graph import AFFINE, Graph, Node, act_form, affine, maxpool_windows
from ..utils.memory import available_memory
from .patterns import PackedPatterns

__all__ = ["PlaneWalk", "region_tables", "tile_cuts", "tile_rects", "walk_plane", "walk_tiles"]

_BLOCK = 256  # faces per block of the per-layer products: each block in the L2 cache


def region_tables(alpha, lo, hi):
    """Breakpoints, and the gain and offset of each region between them, for one hidden layer.

    ``bps`` are the sorted finite breakpoints among ``lo``, 0, ``hi``; a unit is in region
    ``r`` where ``bps[r-1] < z <= bps[r]`` (``r`` counts the breakpoints strictly below
    ``z``), and there its activation is ``gain[r] * z + offs[r]`` (arrays ``(nb + 1, h)``).
    Region ``r <= idx0`` is ``z <= 0``: the unit is negative (PyTorch's convention).

    Examples
    --------
    >>> bps, gain, offs, idx0 = region_tables(np.zeros(2), -np.inf, np.inf)   # ReLU
    >>> bps, gain[:, 0], idx0
    (array([0.]), array([0., 1.]), 0)
    >>> bps, gain, offs, idx0 = region_tables(np.ones(1), -1.0, 1.0)         # Hardtanh
    >>> bps, gain[:, 0], offs[:, 0], idx0
    (array([-1.,  0.,  1.]), array([0., 1., 1., 0.]), array([-1.,  0.,  0.,  1.]), 1)
    """
    alpha = np.asarray(alpha, np.float64)
    bps = np.array(sorted({b for b in (float(lo), 0.0, float(hi)) if np.isfinite(b)}))
    # one point strictly inside each region tells its affine piece
    reps = [bps[0] - abs(bps[0]) - 1.0, *(0.5 * (a + b) for a, b in itertools.pairwise(bps)), bps[-1] + abs(bps[-1]) + 1.0]
    gain = np.empty((len(reps), alpha.shape[0]))
    offs = np.empty_like(gain)
    for r, z in enumerate(reps):
        v = np.full(alpha.shape, z) if z > 0 else alpha * z
        dv = np.ones_like(alpha) if z > 0 else alpha
        inside = (v > lo) & (v < hi)
        gain[r] = np.where(inside, dv, 0.0)
        offs[r] = np.where(inside, 0.0, np.clip(v, lo, hi))  # clamped: the constant; else the piece goes through 0
    return bps, gain, offs, int(np.searchsorted(bps, 0.0))


class PlaneWalk(NamedTuple):
    """What ``walk_plane`` finds.

    ``vertices`` (V, 2); ``edges`` (E, 2) vertex pairs with ``edge_faces`` (E, 2) the faces
    on their left and right (-1 outside the rectangle) and ``edge_layer``, ``edge_unit``
    (E,) the hidden unit whose line the edge lies on (-1, -1 on the rectangle's sides);
    ``regions`` and ``parents``: per hidden layer ``k``, the region of each unit (see
    ``region_tables``) on each face ``F_k`` after layer ``k``, packed in bits
    (``patterns.PackedPatterns``, ``(F_k, h_k)`` unpacked: a wide map's patterns are most
    of its memory, 1,024 ReLU units 128 bytes a face), and the
    face after layer ``k - 1`` it was cut from (``parents[0]`` all 0: the rectangle);
    ``maps`` (F, 3, out): the output's slopes along u and v and its intercept on each face
    of the last layer; ``ambiguous`` and ``degenerate``: see the module's docstring.
    """

    vertices: np.ndarray
    edges: np.ndarray
    edge_faces: np.ndarray
    edge_layer: np.ndarray
    edge_unit: np.ndarray
    regions: list
    parents: list
    maps: np.ndarray
    ambiguous: int
    degenerate: int


# ---------------------------------------------------------------------------------
# growable arrays


class _Store:
    """Columns of equal length that grow by doubling (``n`` rows in use)."""

    def __init__(self, cap, **cols):
        self.n = 0
        self.cols = {}
        for name, (shape, dtype) in cols.items():
            self.cols[name] = np.empty((cap, *shape), dtype)

    def __getattr__(self, name):
        try:
            return self.__dict__["cols"][name]
        except KeyError:
            raise AttributeError(name) from None

    def add(self, k, **values):
        """Append ``k`` rows; returns their indices.  Columns not given are left unset."""
        need = self.n + k
        cap = next(iter(self.cols.values())).shape[0]
        if need > cap:
            cap = max(need, 2 * cap)
            for name, a in self.cols.items():
                b = np.empty((cap, *a.shape[1:]), a.dtype)
                b[: self.n] = a[: self.n]
                self.cols[name] = b
        idx = np.arange(self.n, need)
        for name, v in values.items():
            self.cols[name][idx] = v
        self.n = need
        return idx


# ---------------------------------------------------------------------------------
# geometry


def _crossings(kern, pos, neg, u, v):
    """The ``(k, line)`` pairs, by ``k`` then line, where row ``u[k]`` of the packed sides is
    on one side of the line and row ``v[k]`` on the other (``u == v``: a face with vertices
    on both sides), by the kernel (``kern.crossings``)."""
    u = np.ascontiguousarray(u, np.int64)
    v = np.ascontiguousarray(v, np.int64)
    out = np.empty((2 * u.shape[0] + 1024, 2), np.int64)
    nc = kern.crossings(pos, neg, u, v, out)
    if nc > out.shape[0]:  # more than fit: again, with room for them all
        out = np.empty((nc, 2), np.int64)
        kern.crossings(pos, neg, u, v, out)
    return out[:nc, 0].copy(), out[:nc, 1].copy()


# ---------------------------------------------------------------------------------
# the walk


def _check_memory(need, what):
    """Refuse, before allocating it, ``need`` bytes that the process cannot get."""
    available = available_memory()
    if available is not None and need > available:
        raise MemoryError(
            f"the region map needs {need:,} bytes ({need / 2**30:,.2f} GiB) for {what}, but only {available:,} bytes "
            f"({available / 2**30:,.2f} GiB) of memory are available; cut the map into more tiles (tiles=(8, 8): each "
            "tile is walked alone, and the tiles merged are the same map), walk fewer tiles at once (threads), or map a "
            "smaller rectangle (bounds)"
        )


def _maps_bytes(faces, h, w):
    """Bytes of the next layer's maps on ``faces`` faces (``_next_maps``), with its buffers."""
    return int(8 * (3 * faces * w + 3 * _BLOCK * (h + w)))


def _layer_bytes(V, E, F, h, nb):
    """Bytes of one layer's sides and cuts (``_layer``) on V vertices, E edges and F faces:
    the sides' bits of every vertex and face, each cell's regions and the edges' records."""
    nbytes = 8 * ((nb * h + 63) // 64)
    return int(2 * nbytes * (V + F) + (2 * F + 16) * (h + 64) + 2 * 8 * 16 * E)


def _next_maps(kern, maps, parent, regions, gain, offs, weight, bias, threads=1):
    """The maps of the next layer on each face: ``W @ (g * maps[parent] + o) + b``, with the
    gain ``g`` and offset ``o`` of each unit's region on the face: the rows gathered by the
    kernel (``kern.gather_maps``), one matrix product per block of faces, the blocks shared
    out among ``threads`` threads (``kernels.threads.run``; the kernels and BLAS release the
    GIL).

    Maps are kept as three slabs ``(3, F, h)`` (slopes along u and v, intercepts), each
    contiguous, so that per-vertex arithmetic reads whole rows.  Also returns the largest
    magnitude in each slab (the scale of the next layer's values; NaN or inf when a map
    is not finite, which the caller refuses).
    """
    F = parent.shape[0]
    h = regions.shape[1]
    w = weight.shape[0]
    out = np.empty((3, F, w))
    wt = np.ascontiguousarray(weight.T)
    regions, gain, offs = np.ascontiguousarray(regions), np.ascontiguousarray(gain), np.ascontiguousarray(offs)
    bias = np.ascontiguousarray(bias, np.float64)
    # every product is of one shape, (3 _BLOCK, h) @ (h, w), the last block padded with
    # zeros: BLAS then computes each row alike wherever it sits (the same kernel, never the
    # one for a smaller matrix or a block's ragged edge), so a face's maps follow from its
    # pattern alone, bit for bit, in whichever tile, block and thread it is
    B = _BLOCK
    nblocks = -(-F // B)
    accs = []  # the largest magnitude of each slab's columns, one array per range of blocks

    def work(c0, c1):
        xb, yb = np.empty((3, B, h)), np.empty((3, B, w))
        acc = np.zeros((3, w))
        with np.errstate(over="ignore", invalid="ignore"):  # the caller refuses maps that are not finite
            for i0 in range(c0 * B, min(F, c1 * B), B):
                i1 = min(F, i0 + B)
                n = i1 - i0
                if n < B:
                    xb[:, n:] = 0.0
                kern.gather_maps(maps, parent, regions, gain, offs, i0, i1, xb)
                np.matmul(xb.reshape(3 * B, h), wt, out=yb.reshape(3 * B, w))
                kern.store_maps(yb, n, bias, out, i0, acc)  # + bias, stored, the magnitudes kept: one pass
        accs.append(acc)  # (list.append is atomic; a maximum does not depend on the order)

    run_chunks(work, nblocks, threads)
    return out, (np.maximum.reduce(accs) if accs else np.zeros((3, w))).max(axis=1)


def walk_plane(layers, forms, bounds, engine=None, threads=1):
    """The faces of a network of two coordinates on the rectangle ``bounds``, exactly.

    Parameters
    ----------
    layers : list of (W, b), or Graph
        float64 dense layers, ``W`` (out, in), the first taking the two plane coordinates;
        or a graph network (``fastrelu.model.graph.Graph``, float64) whose input is the two
        coordinates (a plane folded in by ``Graph.on_slice``).
    forms : list of (alpha, lo, hi), or None
        Each hidden layer's activation (``Activation.kernel_form``); None for a graph (its
        act nodes carry theirs).
    bounds : ((u0, u1), (v0, v1))
        The rectangle, ``u0 < u1`` and ``v0 < v1``.
    engine : {"c", "numba"}, optional
        The kernels' twin (``kernels.plane_engine``).
    threads : int
        Threads sharing each dense layer's products (blocks of faces; the same bits on
        any number).  The caller holds BLAS to one thread (``walk_tiles``).

    Returns
    -------
    PlaneWalk

    Notes
    -----
    The walk visits the network's nodes in order (a dense chain is the graph input,
    dense, act, ..., dense), keeping each live node's maps on the current faces,
    ``(3, F, size)`` float64 (slopes along u and v, intercepts; ``size`` the node's units,
    flattened).  Each kind of node is one case of ``_node_maps`` or of the cut below:

    - affine nodes (dense, conv, avgpool, scale, reshape, permute, embed, add, cat) map the
      maps of their inputs through the op, the slopes without its constant part, all
      faces as one batch (``model.graph.affine``: a convolution applied to the maps as to
      a batch of images);
    - an act node cuts the faces along its units' breakpoints (``_layer``); the node's
      output on each new face is ``gain * maps + offs`` of its units' regions, formed where
      it is read (a dense node reading it takes the rows and the product in one pass,
      ``_next_maps``, as in a dense chain);
    - every map an later node still reads is carried to the new faces through their parent.

    Examples
    --------
    >>> import numpy as np
    >>> layers = [(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    >>> w = walk_plane(layers, [(np.zeros(2), -np.inf, np.inf)], ((-1, 1), (-1, 1)))
    >>> len(w.regions[-1]), len(w.vertices), len(w.edges)      # the four quadrants
    (4, 9, 12)
    """
    kern = plane_engine.kernels(engine)
    (u0, u1), (v0, v1) = bounds
    nodes, forms, consumers = _program(layers, forms)
    reach = max(abs(u0), abs(u1), abs(v0), abs(v1))
    if not (np.isfinite(reach) and all(_finite(n) for n in nodes)):
        raise ValueError("the network's weights or the rectangle overflow float64")
    V = _Store(1024, p=((2,), np.float64), on=((2,), np.int64), meet=((2, 3), np.float64))
    sides = np.array([[0.0, 1.0, -v0], [1.0, 0.0, -u1], [0.0, 1.0, -v1], [1.0, 0.0, -u0]])
    V.add(4, p=np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], np.float64), on=-1,
          meet=np.stack([sides[[3, 1, 1, 3]], sides[[0, 0, 2, 2]]], axis=1))
    E = _Store(1024, u=((), np.int64), v=((), np.int64), L=((), np.int64), R=((), np.int64), oL=((), np.int64),
               oR=((), np.int64), pair=((), np.int64), layer=((), np.int32), unit=((), np.int32), coef=((3,), np.float64))
    E.add(4, u=np.arange(4), v=np.array([1, 2, 3, 0]), L=0, R=-1, pair=-1, layer=-1, unit=-1,
          coef=np.array([[0.0, 1.0, -v0], [1.0, 0.0, -u1], [0.0, 1.0, -v1], [1.0, 0.0, -u0]]))
    maps = {}  # each live node's maps on the current faces: an array (3, F, size), or an act's _Lazy output
    regions, parents = [], []
    ambiguous = 0
    shapes = {n.name: n.shape for n in nodes}
    bigs = {}  # the largest magnitude in each slab of an affine node's maps (the scale of its values)
    for node in nodes:
        if node.kind == "input":  # the coordinates themselves: u, v on the rectangle, its one face
            maps[node.name] = np.concatenate([np.eye(2), np.zeros((1, 2))])[:, None, :]
        elif node.kind == "act":
            k = len(regions)
            x = _materialize(kern, maps[node.inputs[0]])
            _free(maps, consumers, node)
            big = bigs[node.inputs[0]] if node.inputs[0] in bigs else _largest(x)
            alpha, lo, hi = forms[node.name]
            bps, gain, offs, _ = region_tables(alpha, lo, hi)
            F, h = x.shape[1], x.shape[2]
            for name, m in maps.items():  # what the faces' parents carry must be plain maps
                maps[name] = _materialize(kern, m)
            _check_memory(_layer_bytes(V.n, E.n, F, h, bps.shape[0]),
                          f"the sides and cuts of {_label(node)} ({F:,} faces, {V.n:,} vertices, {h:,} units)")
            reg, parent, amb = _layer(kern, V, E, x, big, bps, F, k)
            ambiguous += amb
            regions.append(PackedPatterns.pack(reg, bps.shape[0].bit_length()))  # (0 to nb: nb + 1 regions)
            parents.append(parent)
            if maps:
                carried = sum(m.shape[0] * m.shape[2] for m in maps.values())
                _check_memory(8 * parent.shape[0] * carried,
                              f"the maps carried past {_label(node)} ({parent.shape[0]:,} faces, {carried // 3:,} units)")
            for name, m in maps.items():
                maps[name] = m[:, parent]
            maps[node.name] = _Lazy(x, parent, reg, gain, offs)
        elif node.kind == "maxpool":
            k = len(regions)
            x = _materialize(kern, maps[node.inputs[0]])
            _free(maps, consumers, node)
            for name, m in maps.items():
                maps[name] = _materialize(kern, m)
            arg, parent, out, amb = _maxpool(kern, V, E, node, x, shapes[node.inputs[0]], k)
            ambiguous += amb
            kk = int(np.prod(node.params["kernel"]))  # each window's argmax: 0 to kk - 1
            regions.append(PackedPatterns.pack(arg, max(1, (kk - 1).bit_length())))
            parents.append(parent)
            for name, m in maps.items():
                maps[name] = m[:, parent]
            maps[node.name] = out
        else:
            out, bigs[node.name] = _node_maps(kern, node, [maps[i] for i in node.inputs], [shapes[i] for i in node.inputs],
                                              not regions, threads)
            # the largest magnitudes are NaN or inf exactly when some map is (numpy's max and
            # np.maximum pass NaN on): three values checked, not a pass over every map
            if not np.isfinite(bigs[node.name]).all():
                where = "output" if node is nodes[-1] else f"{_label(node)} pre-activations"
                raise ValueError(f"the network's {where} on this plane overflow float64 (its affine maps are not finite)")
            maps[node.name] = out
            _free(maps, consumers, node)
    out = _materialize(kern, maps[nodes[-1].name])
    n = E.n
    edges = np.stack([E.u[:n], E.v[:n]], axis=1)
    pts = V.p[: V.n] + 0.0  # (+ 0.0: no -0.0 among the coordinates)
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    degenerate = int(np.count_nonzero((pts[order][1:] == pts[order][:-1]).all(axis=1)))  # vertices sharing a point
    return PlaneWalk(pts, edges, np.stack([E.L[:n], E.R[:n]], axis=1), E.layer[:n].copy(), E.unit[:n].copy(),
                     regions, parents, np.ascontiguousarray(out.transpose(1, 0, 2)), int(ambiguous), int(degenerate))


class _Lazy(NamedTuple):
    """An act node's output on the faces cut by it, not yet formed: ``gain * maps[:, parent] +
    offs`` of each unit's region ``reg`` on each face (``_next_maps``' arguments)."""

    maps: np.ndarray
    parent: np.ndarray
    reg: np.ndarray
    gain: np.ndarray
    offs: np.ndarray


def _program(layers, forms):
    """The nodes to walk (``model.graph.Node``, in order), each act node's ``(alpha, lo, hi)``
    with one slope per unit, and each node's consumers: a graph's own, or a dense chain's
    (input, dense, act, ..., dense)."""
    if isinstance(layers, Graph):
        nodes = layers.nodes
        if len(layers.input_shape) != 1 or layers.input_shape[0] != 2:
            raise ValueError(f"the plane walk takes a graph of two coordinates, not of input shape {layers.input_shape}")
        forms = {}
        for n in nodes:
            if n.kind == "act":
                alpha, lo, hi = act_form(n, np.float64)
                forms[n.name] = (alpha.reshape(-1), lo, hi)
            elif n.kind not in (*AFFINE, "input", "maxpool"):
                raise ValueError(f"node {n.name!r} ({n.kind}): the plane walk has no case for this kind")
        return nodes, forms, layers.consumers
    nodes = [Node("x", "input", (), {}, (2,))]
    named = {}
    for k, (w, b) in enumerate(layers):
        nodes.append(Node(f"dense{k}", "dense", [nodes[-1].name], {"weight": w, "bias": b, "label": f"layer {k}"},
                          (w.shape[0],)))
        if k < len(layers) - 1:
            named[f"act{k}"] = forms[k]
            nodes.append(Node(f"act{k}", "act", [nodes[-1].name], {"label": f"hidden layer {k}"}, (w.shape[0],)))
    consumers = {n.name: [] for n in nodes}
    for n in nodes:
        for i in n.inputs:
            consumers[i].append(n.name)
    return nodes, named, consumers


def _maxpool(kern, V, E, node, x, in_shape, k):
    """A max-pool node (piecewise layer ``k``): cut the faces where a window's argmax changes.

    Each window's maximum is found as a tournament, in ``K - 1`` rounds of cuts (``_layer``,
    one line per window): round ``r`` cuts every face along ``z_r = m``, where ``m`` is the
    map of the largest of the window's inputs ``0..r-1`` on the face, and the part above
    takes ``z_r`` as its ``m`` (a tie keeps the earlier input: the argmax is the first
    largest, as ``numpy.argmax`` on the line).  Padding never wins (PyTorch pads with
    -inf): its round cuts nothing.  The rounds may also cut between two inputs that are
    both below the winner (``z_1 = z_0`` where ``z_2`` wins); so, as the line walk drops
    the points across which no argmax changes, the parts of one face before this node
    with the same argmax in every window are merged again (``_merge_faces``): a face is one
    argmax pattern, convex, since the region where input ``a`` of every window is the
    largest is an intersection of half-planes.

    Overlapping windows (stride below the kernel) share inputs, so one line ``z_i = z_j`` may
    be cut for two windows in different rounds; where it also meets a third line in one
    point, float64 may leave a face of no area between the two copies (its corners within
    rounding of one line; it holds no point, ``RegionMap.locate``; tests/test_plane_graph.py
    bounds how many).  Windows
    that do not overlap (PyTorch's default stride) cut each line once.

    Returns the argmax of every window on each face (int8, ``(F, windows)``), the face
    before this node that each face lies in, the node's output maps and the cells that
    rounding left whole.
    """
    F0, W = x.shape[1], node.size
    kk = int(np.prod(node.params["kernel"]))
    _check_memory(8 * 3 * F0 * W * kk * 2, f"the windows of {_label(node)} ({F0:,} faces, {W:,} windows of {kk})")
    win = np.ascontiguousarray(maxpool_windows(node, x.reshape(3 * F0, *in_shape), 0.0).reshape(3, F0, W, kk))
    real = maxpool_windows(node, np.ones((1, *in_shape)), 0.0).reshape(W, kk) != 0  # the padding's places are 0
    bps, _, _, _ = region_tables(np.zeros(W), -np.inf, np.inf)
    anc = np.arange(F0)  # the face before this node of each current face
    arg = np.repeat(np.where(real[:, 0], 0, -1)[None, :].astype(np.int8), F0, axis=0)  # each window's winner so far (-1: none yet)
    m = win[:, :, :, 0].copy()
    ambiguous = 0
    for r in range(1, kk):
        F = anc.shape[0]
        _check_memory(8 * 3 * F * W * 4, f"round {r} of {_label(node)}'s windows ({F:,} faces, {W:,} windows)")
        win_r = np.ascontiguousarray(win[:, :, :, r])  # input r of every window, on the faces before this node
        d = np.ascontiguousarray(win_r[:, anc] - m)  # (a gather along axis 1 may come back in another order)
        had = arg >= 0
        if not had.all():  # a window with no input yet (padding so far) takes this one whole
            d[:, ~had] = np.array([0.0, 0.0, 1.0])[:, None]
        if not real[:, r].all():  # padding: below everywhere, never a cut
            d[:, :, ~real[:, r]] = np.array([0.0, 0.0, -1.0])[:, None, None]
        _check_memory(_layer_bytes(V.n, E.n, F, W, 1),
                      f"the sides and cuts of {_label(node)} ({F:,} faces, {V.n:,} vertices, {W:,} windows)")
        reg, parent, amb = _layer(kern, V, E, d, _largest(d), bps, F, k)
        ambiguous += amb
        up = reg > 0
        anc, arg, m = anc[parent], arg[parent], m[:, parent]
        arg[up] = r
        np.copyto(m, win_r[:, anc], where=up[None])
    first, parent = _merge_faces(V, E, anc, arg)
    return np.ascontiguousarray(arg[first]), anc[first], np.ascontiguousarray(m[:, first]), ambiguous


def _merge_faces(V, E, anc, arg):
    """Merge the faces with the same ancestor ``anc`` and the same ``arg`` (rows): the edges
    between them are dropped, the vertices left on a straight side joined away, and the
    vertex and edge stores compacted.  Returns a face of each merged face (its first) and
    each old face's merged index."""
    rows = np.concatenate([anc.astype(np.int64)[:, None].view(np.uint8), np.ascontiguousarray(arg).view(np.uint8)], axis=1)
    first, new = _unique_rows(rows)
    n = E.n
    L, R = E.L[:n], E.R[:n]
    L[L >= 0] = new[L[L >= 0]]
    R[R >= 0] = new[R[R >= 0]]
    keep = L != R
    edges = np.stack([E.u[:n], E.v[:n]], axis=1)
    faces = np.stack([L, R], axis=1)
    deg = np.bincount(edges[keep].ravel(), minlength=V.n)
    deg[:4] = 0  # the rectangle's corners stay
    joint = np.flatnonzero(deg == 2)
    alive = keep.copy()
    if joint.size:
        # around a vertex of degree 2 lie two faces, each convex: its two edges are one straight side
        idx = np.flatnonzero(keep)
        sub_edges, sub_faces = edges[idx], faces[idx]
        alive[idx] = _join(sub_edges, sub_faces, joint, "a max-pool face's parts disagree")
        edges[idx], faces[idx] = sub_edges, sub_faces
    # compact: the edges alive, the vertices they use
    ei = np.flatnonzero(alive)
    used = np.zeros(V.n, bool)
    used[edges[ei].ravel()] = True
    vnew = np.cumsum(used) - 1
    for name, a in V.cols.items():
        a[: int(used.sum())] = a[: V.n][used]
    V.n = int(used.sum())
    cols = {name: a[:n][ei].copy() for name, a in E.cols.items()}
    cols["u"], cols["v"] = vnew[edges[ei, 0]], vnew[edges[ei, 1]]
    cols["L"], cols["R"] = faces[ei, 0], faces[ei, 1]
    for name, a in E.cols.items():
        a[: ei.shape[0]] = cols[name]
    E.n = ei.shape[0]
    return first, new


def _largest(x):
    """The largest magnitude in each of the three slabs of maps ``x`` (no temporary copy)."""
    with np.errstate(invalid="ignore"):
        return np.maximum(x.max(axis=(1, 2)), -x.min(axis=(1, 2))) if x.shape[1] else np.zeros(3)


def _free(maps, consumers, node):
    """Forget the maps that no node after ``node`` reads."""
    for i in node.inputs:
        if consumers[i][-1] == node.name:
            maps.pop(i, None)


def _label(node):
    """How messages name a node: a dense chain's layers by number, a graph's nodes by name."""
    return node.params.get("label", f"node {node.name!r}")


def _finite(node):
    return all(np.isfinite(a).all() for a in node.params.values() if isinstance(a, np.ndarray))


def _materialize(kern, m):
    """An act node's output maps formed (``_Lazy``), in blocks of faces; plain maps as they are."""
    if not isinstance(m, _Lazy):
        return m
    F, h = m.parent.shape[0], m.reg.shape[1]
    out = np.empty((3, F, h))
    reg, gain, offs = np.ascontiguousarray(m.reg), np.ascontiguousarray(m.gain), np.ascontiguousarray(m.offs)
    buf = np.empty((3, _BLOCK, h))
    for i0 in range(0, F, _BLOCK):
        i1 = min(F, i0 + _BLOCK)
        kern.gather_maps(m.maps, m.parent, reg, gain, offs, i0, i1, buf)
        out[:, i0:i1] = buf[:, : i1 - i0]
    return out


# ops whose value at a row depends on that row alone, bit for bit, whatever the batch; the
# others (sums: dense, conv, avgpool, embed) run in padded blocks of one shape (see _next_maps)
_ROWWISE = ("scale", "reshape", "permute", "add", "cat")


def _node_maps(kern, node, ins, in_shapes, whole, threads=1):
    """The maps of an affine node on every face from those of its inputs (``(3, F, size)`` each,
    or an act's ``_Lazy``; ``in_shapes`` the inputs' shapes): the op applied to the three
    slabs as one batch, the slopes without its constant part and the intercepts with it;
    and the largest magnitude in each slab.
    ``whole``: no node has cut the rectangle yet (its one face, in every tile alike);
    ``threads`` share a dense layer's products (``_next_maps``)."""
    if node.kind == "dense" and len(node.shape) == 1 and isinstance(ins[0], _Lazy):
        # a dense layer after an activation: the rows gathered and multiplied in one pass
        m = ins[0]
        w, b = node.params["weight"], node.params.get("bias")
        _check_memory(_maps_bytes(m.parent.shape[0], m.reg.shape[1], w.shape[0]),
                      f"the maps of {_label(node)} ({m.parent.shape[0]:,} faces, {w.shape[0]:,} units)")
        return _next_maps(kern, m.maps, m.parent, m.reg, m.gain, m.offs, w, np.zeros(w.shape[0]) if b is None else b,
                          threads)
    xs = [_materialize(kern, x) for x in ins]
    F = xs[0].shape[1]
    if not whole:  # (before the first cut: three rows per node, as small as one input's activations)
        _check_memory(8 * 3 * (F + _BLOCK) * (node.size + sum(x.shape[2] for x in xs)),
                      f"the maps of {_label(node)} ({F:,} faces, {node.size:,} units)")
    const = affine(node, [np.zeros((1, *s)) for s in in_shapes]).reshape(-1)
    out = np.empty((3, F, node.size))
    with np.errstate(over="ignore", invalid="ignore"):  # the caller refuses maps that are not finite
        if node.kind in _ROWWISE or whole:
            y = affine(node, [x.reshape(3 * F, *s) for x, s in zip(xs, in_shapes)], bias=False)
            out[...] = y.reshape(3, F, -1)
        else:
            B = _BLOCK
            for i0 in range(0, F, B):
                i1 = min(F, i0 + B)
                blocks = []
                for x, s in zip(xs, in_shapes):
                    xb = np.zeros((3, B, x.shape[2]))
                    xb[:, : i1 - i0] = x[:, i0:i1]
                    blocks.append(xb.reshape(3 * B, *s))
                out[:, i0:i1] = affine(node, blocks, bias=False).reshape(3, B, -1)[:, : i1 - i0]
        out[2] += const
    return out, _largest(out)


def _sides(kern, V, E, maps, big, bps, F):
    """Step 0: each vertex's owner, its packed sides (``pos``: ``z > b``, ``neg``: ``z < b``)
    of every line (line ``i * h + j`` is unit ``j``'s breakpoint ``bps[i]``), and each face's
    sides (any vertex above, any below)."""
    n = E.n
    # the smallest face around each vertex (its owner), the faces around each vertex
    # (faces[around[v]:around[v + 1]]) and each face's vertices in order (ts[fptr[f]:fptr[f + 1]]),
    # by counting sorts in the kernel (each vertex is the tail of one edge of each face around it)
    owner, around, fptr = np.empty(V.n, np.int64), np.empty(V.n + 1, np.int64), np.empty(F + 1, np.int64)
    sides_n = int(np.count_nonzero(E.L[:n] >= 0) + np.count_nonzero(E.R[:n] >= 0))
    faces, ts = np.empty(sides_n, np.int64), np.empty(sides_n, np.int64)
    kern.incidence(E.u[:n], E.v[:n], E.L[:n], E.R[:n], owner, around, faces, fptr, ts)
    h = maps.shape[2]
    nl = bps.shape[0] * h
    nbytes = 8 * ((nl + 63) // 64)  # whole 64-bit words, so that set operations run on words
    pos = np.zeros((V.n, nbytes), np.uint8)
    neg = np.zeros((V.n, nbytes), np.uint8)
    P = V.p[: V.n]
    # a vertex within rounding of a line may be exactly on it: it is when the map of a face
    # around it puts it there exactly (a unit constant 0 on a face, the origin of a network
    # without biases).  2**-30 of the largest terms picks the values worth that second look.
    with np.errstate(over="ignore", invalid="ignore"):
        reach = np.abs(P).max(axis=0) if V.n else np.zeros(2)
        look = 2.0**-30 * (big[0] * reach[0] + big[1] * reach[1] + big[2] + np.abs(bps).max())
    # the sides of every vertex from its owner's map, by the kernel; the values within
    # ``look`` of a line come back as (vertex, line) pairs, as many as fit in cand
    cand = np.empty((min(V.n * nl, 1 << 12), 2), np.int64)
    undecided = 0  # sides the exact predicate cannot decide (see kern.exact_sides)
    nc = kern.sides(maps, owner, P, bps, float(look), 0, V.n, pos, neg, cand)
    if nc > cand.shape[0]:  # more than fit: again, with room for them all
        pos[...] = 0
        neg[...] = 0
        cand = np.empty((nc, 2), np.int64)
        kern.sides(maps, owner, P, bps, float(look), 0, V.n, pos, neg, cand)
    if nc:
        vi, li = cand[:nc, 0], cand[:nc, 1]
        c = _line_coef(maps, owner[vi], li, bps, h)
        p = P[vi]
        with np.errstate(over="ignore", invalid="ignore"):
            zc = c[:, 0] * p[:, 0] + c[:, 1] * p[:, 1] + c[:, 2]  # the kernel's value, rounded as it rounds
            size = np.abs(c[:, 0] * p[:, 0]) + np.abs(c[:, 1] * p[:, 1]) + np.abs(c[:, 2])
        near = np.abs(zc) <= 2.0**-30 * size
        vi, li = vi[near], li[near]
        if vi.size:
            # on the line if some face's map says so exactly, else the exact side of the
            # exact point on the owner's map (see _exact_sides)
            exact = np.empty(vi.shape[0], np.int64)
            kern.exact_sides(np.ascontiguousarray(V.meet[vi]), np.ascontiguousarray(c[near]), exact)
            undecided = int(np.count_nonzero(exact == 3))
            side = np.where(exact >= 2, np.sign(zc[near]), exact)
            side = np.where(_exact_zero(maps, P, faces, around, vi, li, bps, h), 0.0, side)
            byte, bit = li >> 3, (np.uint8(128) >> (li & 7).astype(np.uint8)).astype(np.uint8)
            np.bitwise_and.at(pos, (vi, byte), ~bit)
            np.bitwise_and.at(neg, (vi, byte), ~bit)
            np.bitwise_or.at(pos, (vi[side > 0], byte[side > 0]), bit[side > 0])
            np.bitwise_or.at(neg, (vi[side < 0], byte[side < 0]), bit[side < 0])
    # each face's sides, the or of its vertices', by the kernel
    fpos = np.zeros((F, nbytes), np.uint8)
    fneg = np.zeros((F, nbytes), np.uint8)
    kern.face_sides(pos, neg, fptr, ts, fpos, fneg)
    return owner, pos, neg, fpos, fneg, (fptr, ts), undecided


def _exact_zero(maps, P, faces, around, v, line, bps, h):
    """Whether the map of some face around vertex ``v`` is exactly 0 there on ``line``."""
    n = around[v + 1] - around[v]
    k = np.repeat(np.arange(v.shape[0]), n)
    f = faces[np.repeat(around[v], n) + np.arange(k.shape[0]) - np.repeat(np.cumsum(n) - n, n)]
    c = _line_coef(maps, f, line[k], bps, h)
    p = P[v[k]]
    with np.errstate(over="ignore", invalid="ignore"):
        zero = c[:, 0] * p[:, 0] + c[:, 1] * p[:, 1] + c[:, 2] == 0
    return np.logical_or.reduceat(zero, _offsets(n)[:-1])


def _line_coef(maps, f, line, bps, h):
    """``(a, b, c)`` of line ``line`` (unit ``line % h``, breakpoint ``bps[line // h]``) on face ``f``'s map."""
    j = line % h
    m = np.ascontiguousarray(maps[:, f, j].T)  # (n, 3)
    m[:, 2] -= bps[line // h]
    return m


def _split_edges(kern, V, E, maps, bps, owner, pos, neg):
    """Step 1: a vertex on every edge where a line crosses it; returns the new sides.

    The kernel (``kern.split_edges``) takes the crossed edges one by one: each crossing is
    where the edge's line and the unit's line (on the edge's left face) meet, or, where
    rounding puts that outside the edge, the zero of the unit's map (on the ends' owners)
    interpolated along it; the crossings are ordered along the edge, those at one point
    share a vertex, and the new vertices' sides follow from that order.  Every crossing
    may need a vertex and an edge: the room for them is made first."""
    n = E.n
    e, line = _crossings(kern, pos, neg, E.u[:n], E.v[:n])
    if e.size == 0:
        return pos, neg
    nc = e.shape[0]
    _reserve(V, V.n, V.n + nc)
    _reserve(E, n, n + nc)
    npos = np.zeros((nc, pos.shape[1]), np.uint8)
    nneg = np.zeros((nc, pos.shape[1]), np.uint8)
    xs, cls, sv = np.empty((nc, 2)), np.empty((nc, 3)), np.empty(nc)
    order, vid = np.empty(nc, np.int64), np.empty(nc, np.int64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        nx = kern.split_edges(pos, neg, e, line, np.ascontiguousarray(maps), bps, owner, V.p, V.on, V.meet, V.n, E.u, E.v,
                              E.L, E.R, E.oL, E.oR, E.pair, E.layer, E.unit, E.coef, n, npos, nneg, xs, cls, sv, order,
                              vid)
    V.n += nx
    E.n += nx
    return np.concatenate([pos, npos[:nx]]), np.concatenate([neg, nneg[:nx]])


def _offsets(n):
    """``[0, n[0], n[0] + n[1], ...]``: where each of the runs of lengths ``n`` starts, and the end."""
    return np.concatenate(([0], np.cumsum(n)))


def _layer(kern, V, E, maps, big, bps, F, layer):
    """One hidden layer: cut the F faces by its lines.  Returns each new face's regions, the
    face it was cut from, and the number of cells left whole by rounding.

    Steps 0 and 1 (``_sides``, ``_split_edges``) leave every face's boundary with a vertex
    wherever a line crosses it, its sides of every line as bits; the faces then no longer
    interact, and the kernel (``kern.cut``) cuts each face alone by its lines, in rounds
    (step 2 of the module's docstring), in one call for the layer.  It writes the new
    vertices, edges and faces into the stores, each face's as it finishes it; when a face
    does not fit in the room given, it stops before that face and says what ran out, and is
    called again from there with more (``_CutRoom``).  The new vertices, edges and faces
    are then numbered as the rounds over all faces at once would number them
    (``_renumber``): the next layer's owners and witnesses, and so the map, stay the same.
    """
    h = maps.shape[2]
    nl = bps.shape[0] * h
    n0 = E.n
    E.oL[:n0], E.oR[:n0], E.pair[:n0] = E.L[:n0], E.R[:n0], -1
    V.on[: V.n] = -1  # the lines a vertex was made on, of this layer only
    owner, pos, neg, fpos, fneg, (fptr, ts), undecided = _sides(kern, V, E, maps, big, bps, F)
    pos, neg = _split_edges(kern, V, E, maps, bps, owner, pos, neg)
    V1, e0 = V.n, E.n  # vertices below V1 take their sides from the bits, the others from their face's map
    f_of, lines = _crossings(kern, fpos, fneg, np.arange(F), np.arange(F))  # (face, line) pairs, lines in order
    coefs = _line_coef(maps, f_of, lines, bps, h)  # each line on its face's map
    nf = np.bincount(f_of, minlength=F)
    pp = _offsets(nf)
    # each face with lines: its edges, in the order of their ids (a counting sort in the kernel)
    L, R = E.L[:e0], E.R[:e0]
    fe_ptr = np.empty(F + 1, np.int64)
    fe = np.empty(int(np.count_nonzero(nf[L[L >= 0]]) + np.count_nonzero(nf[R[R >= 0]])), np.int64)
    kern.face_edges(L, R, nf, fe_ptr, fe)
    room = _CutRoom(V, E, F, nf, int(np.diff(fe_ptr).max(initial=0)), h)
    # +1 above each line a face lies above
    room.reg[:F] = np.unpackbits(fpos & ~fneg, axis=1)[:, :nl].reshape(F, -1, h).sum(axis=1, dtype=np.int8)
    room.orig[:F] = np.arange(F)
    state = np.zeros(8, np.int64)
    state[1:4] = V1, e0, F
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while True:
            vc, ec = room.vcap, room.ecap  # (the stores' rows the kernel may write: views of them)
            need = kern.cut(pos, neg, V1, pp, lines, coefs, h, fptr, ts, fe_ptr, fe, layer, V.p[:vc], V.on[:vc],
                            V.meet[:vc], E.u[:ec], E.v[:ec], E.L[:ec], E.R[:ec], E.oL[:ec], E.oR[:ec], E.pair[:ec],
                            E.layer[:ec], E.unit[:ec], E.coef[:ec], e0, room.reg, room.orig, room.vkey, room.ekey,
                            room.fkey, room.le, room.rec, room.rpos, room.wc, room.pend, room.wd, room.wreg, state)
            if need == 0:
                break
            room.grow(need, state)
    V.n, E.n, S = int(state[1]), int(state[2]), int(state[3])
    _renumber(kern, V, E, room, V1, e0, F, S, int(state[5]))
    return room.reg[:S], room.orig[:S].copy(), int(state[4]) + undecided + int(state[6])


class _CutRoom:
    """The room ``kern.cut`` writes in: the stores' rows, the new faces' regions and parents,
    the keys that number the new rows (``_renumber``), and the workspaces of one face (its
    edges, the records of their sides, its cells and their lines), each grown by ``grow``
    when the kernel says it ran out."""

    ROOM = 1  # the first room's multiple of its estimate (tests/test_plane_cut.py sets 0: growth from nothing)

    def __init__(self, V, E, F, nf, most, h):
        self.V, self.E, self.V1, self.e0, self.F = V, E, V.n, E.n, F
        # a face cut by p lines has at most p (p + 1) / 2 parts more, and mostly one or two
        # per line; room for the largest face whole (the first layer's one face has about
        # that many), the rest grown by doubling as it comes (the regions' rows are a face
        # times the layer's width: no more than that counted ahead, see _layer_bytes)
        bound = nf * (nf + 1) // 2
        new = self.ROOM * int(max(np.minimum(bound, 2 * nf).sum(), bound.max(initial=0))) + 16
        self.vcap, self.ecap = V.n + new, E.n + 2 * new
        _check_growth((F + new) * (h + 24))
        _reserve(V, V.n, self.vcap)
        _reserve(E, E.n, self.ecap)
        self.reg = np.zeros((F + new, h), np.int8)
        self.orig = np.empty(F + new, np.int64)
        self.vkey = np.empty((self.vcap - self.V1, 2), np.int64)
        self.ekey = np.empty((self.ecap - self.e0, 3), np.int64)
        self.fkey = np.empty((self.reg.shape[0] - F, 2), np.int64)
        p = int(nf.max(initial=0))
        cells = self.ROOM * min(p * (p + 1) // 2, 1 << 16) + 2
        self._work(self.ROOM * (4 * most + 4 * cells) + 2, cells, self.ROOM * (2 * cells + 4 * p) + 2)
        self.wreg = np.empty(h, np.int8)

    def _work(self, wcap, ccap, pcap):
        _check_growth(8 * (6 + 4 * 8 + 4) * wcap + 8 * 15 * ccap + 8 * 6 * pcap)
        self.le = np.empty((wcap, 6), np.int64)
        self.rec = np.empty((4 * wcap, 8), np.int64)
        self.rpos = np.empty((wcap, 4), np.int64)
        self.wc = np.empty((ccap, 12), np.int64)
        self.wd = np.empty((ccap, 3), np.float64)
        self.pend = np.empty((2, pcap, 3), np.int64)

    def grow(self, need, state):
        V, E = self.V, self.E
        if need in (1, 2, 3):  # new vertices, edges and faces go together: all three grown
            self.vcap *= 2
            _reserve(V, int(state[1]), self.vcap)
            self.vkey = _grown(self.vkey, self.vcap - self.V1)
            self.ecap *= 2
            _reserve(E, int(state[2]), self.ecap)
            self.ekey = _grown(self.ekey, self.ecap - self.e0)
            cap = 2 * self.reg.shape[0]
            _check_growth(cap * (self.reg.shape[1] + 24))
            self.reg, self.orig = _grown(self.reg, cap), _grown(self.orig, cap)
            self.fkey = _grown(self.fkey, cap - self.F)
        elif need in (4, 7):
            self._work(2 * self.le.shape[0], self.wc.shape[0], self.pend.shape[1])
        elif need == 5:
            self._work(self.le.shape[0], 2 * self.wc.shape[0], self.pend.shape[1])
        else:
            self._work(self.le.shape[0], self.wc.shape[0], 2 * self.pend.shape[1])


def _check_growth(need):
    """Refuse a growth of the cuts' room that the process cannot get.  The layer's memory was
    counted before it started (``_layer_bytes``); only a growth past it of 64 MiB or more is
    worth asking the system about again."""
    if need >= 2**26:
        _check_memory(need, "the cuts of a layer (more vertices, edges or faces than counted)")


def _grown(a, cap):
    """``a`` with room for ``cap`` rows, its rows kept."""
    b = np.empty((cap, *a.shape[1:]), a.dtype)
    b[: a.shape[0]] = a
    return b


def _reserve(store, n, cap):
    """Room for ``cap`` rows in ``store``, its first ``n`` rows kept (a kernel may have written
    past ``store.n``)."""
    if next(iter(store.cols.values())).shape[0] >= cap:
        return
    _check_growth(cap * sum(a[:1].nbytes for a in store.cols.values()))
    for name, a in store.cols.items():
        b = np.empty((cap, *a.shape[1:]), a.dtype)
        b[:n] = a[:n]
        store.cols[name] = b


def _renumber(kern, V, E, room, V1, e0, F, S, rounds):
    """Number the vertices, edges and faces the kernel made, face after face, as the rounds
    over all faces at once would: in each round the vertices by the edge they cut, then the
    halves of those edges likewise, then the chords and the new faces by the cell they cut
    (the numbers by ``kern.renumber``), and move the rows to their numbers."""
    nv, ne, nf = V.n - V1, E.n - e0, S - F
    if nv + ne + nf == 0:
        return
    vmap, emap, fmap = np.empty(V.n, np.int64), np.empty(E.n, np.int64), np.empty(S, np.int64)
    slot = np.full(max(E.n, S), -1, np.int64)
    kern.renumber(room.vkey[:nv], room.ekey[:ne], room.fkey[:nf], rounds, V1, e0, F, vmap, emap, fmap, slot,
                  np.empty((3, rounds + 1), np.int64), np.empty(nv + ne + nf, np.int64))
    for a in V.cols.values():
        b = a[V1 : V.n].copy()
        a[vmap[V1:]] = b
    n = E.n
    E.u[:n], E.v[:n] = vmap[E.u[:n]], vmap[E.v[:n]]
    for col in (E.L, E.R):
        x = col[:n]
        inside = x >= 0
        x[inside] = fmap[x[inside]]
    for a in E.cols.values():
        b = a[e0:n].copy()
        a[emap[e0:]] = b
    for a in (room.reg, room.orig):
        b = a[F:S].copy()
        a[fmap[F:]] = b


# ---------------------------------------------------------------------------------
# tiles


def tile_cuts(lo, hi, n):
    """``n + 1`` increasing coordinates from ``lo`` to ``hi``: the sides of ``n`` tiles.

    The inner cuts sit 1/97 of a tile past the even split, so that the round fractions at
    which the boundaries of simple networks (and their crossings) lie are not on a cut.

    Examples
    --------
    >>> tile_cuts(-1.0, 1.0, 2)
    array([-1.        ,  0.01030928,  1.        ])
    """
    t = (np.arange(n + 1) + 1.0 / 97) / n
    t[0], t[-1] = 0.0, 1.0
    cuts = lo + (hi - lo) * t
    cuts[0], cuts[-1] = lo, hi
    return cuts


def walk_tiles(layers, forms, bounds, tiles=(1, 1), threads=1, engine=None):
    """``walk_plane`` of the rectangle cut into ``tiles = (nu, nv)`` tiles, walked on
    ``threads`` threads and merged into the map of the whole.

    Faces are convex, one per activation pattern, so the parts of a face in several tiles
    are those with its pattern: merged, they are the face of the whole map.  A tile's
    faces compute their maps from their patterns alone (each face's rows gathered by the
    kernel, one matrix product whose rows do not depend on each other), so the points
    where a line crosses a cut come out the same in the tiles on both sides and are
    matched exactly; the cut's edges between parts of one face are dropped, and the
    vertices left on a straight edge are joined away.  The result has the same faces,
    patterns, edges and vertices as ``walk_plane`` of the whole (tests/test_plane_tiles.py).

    Examples
    --------
    >>> import numpy as np
    >>> layers = [(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    >>> w = walk_tiles(layers, [(np.zeros(2), -np.inf, np.inf)], ((-1, 1), (-1, 1)), tiles=(2, 2))
    >>> len(w.regions[-1]), len(w.vertices), len(w.edges)      # the four quadrants, as whole
    (4, 9, 12)
    """
    with blas_pinned():  # the threads are the tiles' (see kernels.threads)
        return _walk_tiles(layers, forms, bounds, tiles, threads, engine)


def _walk_tiles(layers, forms, bounds, tiles, threads, engine):
    nu, nv = tiles
    if nu * nv == 1:  # one tile: the threads share its products
        return walk_plane(layers, forms, bounds, engine, threads)
    rects, us, vs = tile_rects(bounds, tiles)
    plane_engine.kernels(engine)  # any error of the engine once, here
    if threads <= 1:
        walks = [walk_plane(layers, forms, r, engine) for r in rects]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(threads, len(rects)), thread_name_prefix="fastrelu-plane") as pool:
            walks = list(pool.map(lambda r: walk_plane(layers, forms, r, engine), rects))
    return _merge(walks, us[1:-1], vs[1:-1])


def tile_rects(bounds, tiles):
    """The rectangles of ``tiles = (nu, nv)`` tiles of ``bounds``, row by row (the order
    ``_merge`` takes their walks in), and the cuts along ``u`` and ``v`` (``tile_cuts``).
    Threads (``walk_tiles``) and Dask tasks (``plane_dask``) walk the same tiles.

    Examples
    --------
    >>> rects, us, vs = tile_rects(((0.0, 1.0), (0.0, 1.0)), (2, 1))
    >>> len(rects), [float(v) for v in rects[0][1]]
    (2, [0.0, 1.0])
    """
    (u0, u1), (v0, v1) = bounds
    nu, nv = tiles
    us, vs = tile_cuts(u0, u1, nu), tile_cuts(v0, v1, nv)
    rects = [((us[i], us[i + 1]), (vs[j], vs[j + 1])) for j in range(nv) for i in range(nu)]
    return rects, us, vs


def _unique_rows(rows):
    """``numpy.unique`` of the byte rows of a 2-D C-contiguous array: (first index, inverse)."""
    rows = np.ascontiguousarray(rows)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _merge(walks, cu, cv):
    """The map of the whole rectangle from the maps of its tiles (``walk_tiles``)."""
    depth = len(walks[0].regions)
    # faces: layer by layer, a face is its parent's merged id and its regions on the layer
    ids = [np.zeros(1, np.int64) for _ in walks]  # before the first layer: the rectangle, face 0 in every tile
    regions, parents = [], []
    for k in range(depth):
        rows = np.concatenate([np.concatenate([ids[t][w.parents[k]].view(np.uint8).reshape(-1, 8), w.regions[k].data], axis=1)
                               for t, w in enumerate(walks)])  # (parent, packed regions): equal rows, equal bytes
        first, inverse = _unique_rows(rows)
        regions.append(PackedPatterns(rows[first, 8:], walks[0].regions[k].width, walks[0].regions[k].bits))
        parents.append(np.ascontiguousarray(rows[first, :8]).view(np.int64).ravel())
        counts = np.cumsum([0, *(w.regions[k].shape[0] for w in walks)])
        ids = [inverse[counts[t] : counts[t + 1]] for t in range(len(walks))]
    maps = np.concatenate([w.maps for w in walks])[first]
    # vertices: those on a cut are the same point in the tiles on both sides
    P = np.concatenate([w.vertices for w in walks])
    voff = np.cumsum([0, *(w.vertices.shape[0] for w in walks)])
    onu, onv = np.isin(P[:, 0], cu), np.isin(P[:, 1], cv)
    cut = np.flatnonzero(onu | onv)
    vid = np.arange(P.shape[0])
    if cut.size:
        f, inv = _unique_rows(P[cut])
        vid[cut] = cut[f][inv]
    # edges, with the merged faces and vertices
    edges = np.concatenate([w.edges + voff[t] for t, w in enumerate(walks)])
    edges = vid[edges]
    faces = np.concatenate([np.where(w.edge_faces >= 0, ids[t][np.maximum(w.edge_faces, 0)], -1) for t, w in enumerate(walks)])
    layer = np.concatenate([w.edge_layer for w in walks])
    unit = np.concatenate([w.edge_unit for w in walks])
    a, b = edges[:, 0], edges[:, 1]
    on_cut = (layer == -1) & ((onu[a] & onu[b] & (P[a, 0] == P[b, 0])) | (onv[a] & onv[b] & (P[a, 1] == P[b, 1])))
    keep = ~on_cut
    ci = np.flatnonzero(on_cut)
    if ci.size:
        lo, hi = np.minimum(a[ci], b[ci]), np.maximum(a[ci], b[ci])
        order = np.lexsort((hi, lo))
        ci = ci[order]
        if ci.size % 2 or not ((lo[order][0::2] == lo[order][1::2]) & (hi[order][0::2] == hi[order][1::2])).all():
            raise RuntimeError("the tiles of the region map disagree along a cut (a bug: please report it)")
        e1, e2 = ci[0::2], ci[1::2]
        apart = faces[e1, 0] != faces[e2, 0]  # a boundary of the map on the cut itself: one edge of two faces
        e1, e2 = e1[apart], e2[apart]
        faces[e1, 1] = faces[e2, 0]
        keep[e1] = True
        for e in e1:
            layer[e], unit[e] = _first_switch(regions, parents, faces[e, 0], faces[e, 1])
    edges, faces, layer, unit = edges[keep], faces[keep], layer[keep], unit[keep]
    # the vertices left on a straight edge where it crossed a cut: joined away
    degree = np.bincount(edges.ravel(), minlength=P.shape[0])
    alive = np.ones(edges.shape[0], bool)
    joint = cut[degree[cut] == 2] if cut.size else cut
    if joint.size:
        alive = _join(edges, faces, joint, "the tiles of the region map disagree along a cut")
    edges, faces, layer, unit = edges[alive], faces[alive], layer[alive], unit[alive]
    used = np.zeros(P.shape[0], bool)
    used[edges.ravel()] = True
    new = np.cumsum(used) - 1
    pts = P[used]
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    degenerate = int(np.count_nonzero((pts[order][1:] == pts[order][:-1]).all(axis=1)))
    return PlaneWalk(pts, new[edges], faces, layer.astype(np.int32), unit.astype(np.int32), regions, parents, maps,
                     int(sum(w.ambiguous for w in walks)), degenerate)


def _join(edges, faces, joint, what):
    """Join away the vertices ``joint``, each of degree 2 on a straight boundary between the same
    two faces: the edge into it is extended to the far end of the edge out of it (``edges``
    and their ``faces`` (left, right) changed in place).  Returns the edges left alive."""
    alive = np.ones(edges.shape[0], bool)
    incident = {}
    for e in np.flatnonzero(np.isin(edges, joint).any(axis=1)):
        for x in edges[e]:
            incident.setdefault(int(x), []).append(int(e))
    for x in joint.tolist():
        e1, e2 = incident[x]
        if edges[e1, 0] == x and edges[e2, 1] == x:  # already a path e2 -> x -> e1: kept as it runs
            e1, e2 = e2, e1
        if edges[e1, 0] == x:  # orient e1 into x and e2 out of it
            edges[e1] = edges[e1, ::-1]
            faces[e1] = faces[e1, ::-1]
        if edges[e2, 1] == x:
            edges[e2] = edges[e2, ::-1]
            faces[e2] = faces[e2, ::-1]
        if (faces[e1] != faces[e2]).any():
            raise RuntimeError(f"{what} (a bug: please report it)")
        y = int(edges[e2, 1])
        edges[e1, 1] = y
        alive[e2] = False
        if y in incident:
            incident[y] = [e1 if e == e2 else e for e in incident[y]]
    return alive


def _first_switch(regions, parents, f, g):
    """``(layer, unit)`` of the first unit whose region differs between final faces ``f``, ``g``."""
    chain = []
    for k in range(len(regions) - 1, -1, -1):
        chain.append((f, g))
        f, g = parents[k][f], parents[k][g]
    for k, (f, g) in enumerate(chain[::-1]):
        rf, rg = regions[k].rows([f, g])
        diff = np.flatnonzero(rf != rg)
        if diff.size:
            return k, int(diff[0])
    return -1, -1
