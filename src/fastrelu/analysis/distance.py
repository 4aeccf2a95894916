"""``boundary_distance``: how far each point is from the boundary of its linear region.

Why the minimum over units is the exact distance
------------------------------------------------
Let ``x`` be a point and ``R`` its linear region: the inputs with the same activation
pattern (for every hidden unit, the same interval between its activation's breakpoints;
for ReLU, the same side of 0).  On ``R`` every pre-activation is affine: unit ``j`` of
hidden layer ``k`` computes ``z_j(y) = a_j . y + c_j``, where ``a_j = grad z_j(x)`` and
``c_j`` follow from the weights and the pattern of the layers below ``k`` (fixed on ``R``).
Call ``A_j(y) = a_j . y + c_j`` the unit's *local map*: it is defined on all of input
space, and equals ``z_j`` on ``R`` but not, in general, outside.

1. ``cl(R) = P``, where ``P`` is the intersection of the half-spaces ``H_{j,b} = {y :
   A_j(y) >= b}`` or ``{A_j(y) <= b}`` (the side ``x`` is on) over every unit ``j`` and
   breakpoint ``b`` of its activation.  ``R`` is in ``P`` by definition.  Conversely, for
   ``y`` in the interior of ``P``: the first layer's local maps are its true
   pre-activations, so ``y`` has ``x``'s pattern there; then the second layer's true
   pre-activations at ``y`` are its local maps (they depend only on the first layer's
   pattern), so ``y`` has ``x``'s pattern there too; and so on, layer by layer.  So the
   interior of ``P`` is in ``R``, and ``P`` is convex.
2. The distance from ``x`` to the hyperplane ``A_j = b`` is
   ``d_{j,b} = |A_j(x) - b| / ||a_j|| = |z_j(x) - b| / ||grad z_j(x)||`` (infinite when
   ``a_j = 0``: the unit is constant on ``R``, so no boundary of ``R`` is one of its
   breakpoints).  Let ``d`` be the smallest of them.  The open ball of radius ``d`` about
   ``x`` lies on ``x``'s side of every hyperplane, so inside every half-space, so inside
   ``P`` and, being open, inside its interior, so inside ``R``: no boundary point is
   closer than ``d``.  The foot ``y*`` of the perpendicular from ``x`` to the nearest
   hyperplane is at distance ``d``, in ``P`` (the closed ball), and every point beyond it
   along the normal leaves that half-space, so leaves ``P`` and ``R``: ``y*`` is on the
   boundary.  The distance is ``d``, exactly.
3. A unit whose local map differs from ``z_j`` outside ``R`` (any unit past the first
   layer) cannot hide a nearer boundary: its true zero set outside ``R`` is outside
   ``R``, so at least ``d`` away (any segment from ``x`` to it crosses ``R``'s boundary
   first); and its local hyperplane, even where it lies beyond the true boundary, only
   enters the minimum as one candidate ``>= d``.  Nothing else bounds ``R``: by (1) the
   local half-spaces are all of its constraints.

Graph networks
--------------
A graph network (convolutions, pooling, branches: ``fastrelu.model.graph``) has two kinds
of piecewise nodes, and its region is the set of inputs with the same pattern of both:
every activation unit's interval between breakpoints, and every max-pool window's argmax.
On the region every node's output is affine (each node is affine in its inputs there), so
an activation unit contributes ``|z_j(x) - b| / ||grad z_j(x)||`` as above, and a window
whose largest input is ``z_a`` contributes, for each other input ``z_c`` of it,
``(z_a(x) - z_c(x)) / ||grad (z_a - z_c)(x)||``: the distance to the hyperplane where
``c`` would overtake ``a`` (infinite when the two are the same affine function on the
region: a tie that holds on the whole region is no boundary; an input from padding never
wins).  The argument above holds node by node in topological order instead of layer by
layer: the region's closure is the intersection of these half-spaces, convex, so the
smallest of these distances is the exact distance to the region's boundary, where some
unit switches or some window's argmax changes.  ``layer`` then names the node by its
index in ``net.nodes``, and ``unit`` the unit (window) by its flat index in the node's
output.  The gradients are the graph's forward pass with one tangent per input
(``propagate_graph``), the Jacobian of every node's input in the point's region.

With the convention that a unit is negative where ``z <= 0`` (ReLU'(0) = 0), a point
with some ``z_j(x)`` exactly on a breakpoint has distance 0 to that unit's hyperplane
(unless the unit is constant on its region): it is on a boundary.

The arithmetic is float64: ``z`` and the gradients are the forward pass and its
Jacobian rounded as usual (the gradient of a unit with no live input is exactly 0).
"""

from typing import NamedTuple

import numpy as np

from ..model.forward import activate, activation_forms, propagate_graph
from ..model.graph import maxpool_windows
from ..model.network import Network
from ..utils.memory import available_memory
from ..utils.validation import as_float_array
from .patterns import graph64

__all__ = ["BoundaryDistance", "boundary_distance"]

_BUDGET = 1 << 28  # bytes of Jacobians held at once at most (the batch of points shrinks to fit)


class BoundaryDistance(NamedTuple):
    """``boundary_distance``'s result, one entry per point.

    Attributes
    ----------
    distance : ndarray of float64, shape (n,)
        Distance in input space to the nearest activation boundary (inf: the point's
        region has none, every unit being constant on it).
    layer, unit : ndarray of int32, shape (n,)
        The hidden unit whose breakpoint is nearest (the first one in layer-then-unit
        order on ties; -1 where the distance is inf).  Of a graph network: the node by its
        index in ``net.nodes`` (an activation, or a max-pool whose window's argmax would
        change) and the unit (window) by its flat index in the node's output.
    """

    distance: np.ndarray
    layer: np.ndarray
    unit: np.ndarray


def _breakpoints(lo, hi):
    """A hidden layer's breakpoints in ``z``: 0 and its finite clamps (the walk's tables)."""
    return sorted({b for b in (float(lo), 0.0, float(hi)) if np.isfinite(b)})


def local_maps(net, X):
    """For each hidden layer, ``(z, J)``: pre-activations ``(h, n)`` at the points ``X`` (n, in)
    and their gradients ``J`` (h, n, in) in the points' regions (layer 0's ``J`` is
    ``(h, 1, in)``, the same for every point).  float64.  A generator, layer by layer."""
    alpha, lo, hi = activation_forms(net, np.dtype(np.float64))
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in net.layers]
    a = X
    J = None
    u0 = 0
    for k in range(net.depth):
        w, b = layers[k]
        h = w.shape[0]
        z = a @ w.T + b
        if J is None:
            J = w[:, None, :]
        else:  # J_k = W_k diag(g) J_{k-1}, every point's in one product: (h, h') @ (h', n * in)
            n_in = J.shape[2]
            J = (w @ J.reshape(J.shape[0], -1)).reshape(h, -1, n_in)
        yield z.T, J
        al = alpha[u0 : u0 + h]
        u0 += h
        a, on, inside = activate(z, al, lo[k], hi[k])
        gain = np.where(inside, np.where(on, 1.0, al), 0.0)  # the activation's slope (PyTorch's at a breakpoint)
        J = gain.T[:, :, None] * J


def _bytes(n):
    """``n`` bytes for a message, in GiB or, below one, MiB."""
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def _chain_nearest(net, X):
    """Per hidden layer of a dense chain, ``(label, d)``: every unit's distance ``(h, n)``."""
    _, lo, hi = activation_forms(net, np.dtype(np.float64))
    for k, (z, J) in enumerate(local_maps(net, X)):
        norm = np.sqrt(np.einsum("hni,hni->hn", J, J))  # (h, n) or (h, 1)
        gap = np.full(z.shape, np.inf)
        for bp in _breakpoints(lo[k], hi[k]):
            gap = np.minimum(gap, np.abs(z - bp))
        yield k, _ratio(gap, norm)


def _ratio(gap, norm):
    """``gap / norm``, infinite where the norm is 0 (a unit, or a difference of a window's
    inputs, that is constant on the region bounds nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm > 0.0, gap / np.where(norm > 0.0, norm, 1.0), np.inf)


def _graph_nearest(net, X):
    """Per piecewise node of a graph network, ``(label, d)``: every unit's (window's)
    distance ``(units, n)``, from the graph's forward with one tangent per input."""
    graph, n_in, rows = graph64(net), net.in_features, X.shape[0]
    # forward, not the reverse pass (pull_back_graph): every piecewise node's input needs its
    # Jacobian, which backwards would take one pass per unit of every node, forwards one per input
    eye = np.eye(n_in).reshape((1, n_in, *graph.input_shape))
    found = []

    def visit(node, z, dz):
        if node.kind == "act":
            bps = np.asarray(node.params["act"].breakpoints, np.float64)
            z, dz = z.reshape(rows, -1), dz.reshape(rows, n_in, -1)
            gap = np.abs(z[..., None] - bps).min(axis=-1)
            d = _ratio(gap, np.sqrt(np.einsum("riu,riu->ru", dz, dz)))
        else:  # each window: its largest input against every other
            win = maxpool_windows(node, z, -np.inf)
            win = win.reshape(rows, -1, win.shape[-1])
            dwin = maxpool_windows(node, dz.reshape((rows * n_in, *dz.shape[2:])), 0.0)
            dwin = dwin.reshape(rows, n_in, -1, dwin.shape[-1])
            a = np.argmax(win, axis=-1)[..., None]
            with np.errstate(invalid="ignore"):  # padding (-inf) against padding: never a candidate
                gap = np.take_along_axis(win, a, -1) - win
            gap = np.where(np.isnan(gap), np.inf, gap)
            diff = np.take_along_axis(dwin, a[:, None], -1) - dwin
            d = _ratio(gap, np.sqrt(np.einsum("riwk,riwk->rwk", diff, diff))).min(axis=-1)
        found.append((int(net.graph.index[node.name]), d.T))

    propagate_graph(graph, X.reshape((rows, *graph.input_shape)), np.broadcast_to(eye, (rows, *eye.shape[1:])), visit=visit)
    return found


def boundary_distance(net, X, *, batch=None):
    """The exact distance from each point to the nearest activation boundary, and whose it is.

    For a point ``x`` the distance is ``min_j min_b |z_j(x) - b| / ||grad z_j(x)||`` over
    every hidden unit ``j`` and breakpoint ``b`` of its activation (0 for ReLU), with the
    gradient of the pre-activation taken within ``x``'s linear region.  A graph network's
    max-pool windows add ``(z_a - z_c) / ||grad (z_a - z_c)||`` for the largest input
    ``z_a`` of each window and every other ``z_c``: the distance to where the argmax
    changes (the module's docstring says why this stays exact: the region is still
    convex, the intersection of the half-spaces of its pattern).  That minimum is
    the exact distance to the region's boundary because the region is convex, the
    intersection of the half-spaces of the units' local affine maps: the ball of that
    radius lies inside every half-space, and the nearest hyperplane's foot lies on the
    boundary (the module's docstring writes the argument out, including why the local
    hyperplanes of deeper units, whose maps change outside the region, never give a
    shorter distance).

    Parameters
    ----------
    net : Network
    X : array_like, shape (n, in) or (in,)
        The points (of a graph network also shaped as its input, ``(n, *input_shape)``).
    batch : int, optional
        Points whose Jacobians are held at once (by default as many as fit in 256 MiB
        and in the memory available).

    Returns
    -------
    BoundaryDistance
        ``distance`` (n,), and the ``layer`` and ``unit`` of the nearest boundary.

    Raises
    ------
    ValueError
        ``X`` of the wrong width, not finite, or a network whose one point's Jacobian
        does not fit in memory.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network.from_layers([([[1.0, 0.0], [0.0, 2.0]], [0.0, -1.0]), ([[1.0, 1.0]], None)], "relu")
    >>> d = fastrelu.boundary_distance(net, [[3.0, 0.0]])   # |3| / 1 for unit 0, |-1| / 2 for unit 1
    >>> float(d.distance[0]), int(d.layer[0]), int(d.unit[0])
    (0.5, 0, 1)
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
    X = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if X.ndim == 1:
        X = X[None, :]
    elif net.is_graph and X.ndim > 2 and X.shape[1:] == net.input_shape:  # images: flat
        X = X.reshape(X.shape[0], -1)
    X = as_float_array(X, "X", np.float64, ndim=2)
    if X.shape[1] != net.in_features:
        raise ValueError(f"X must have {net.in_features} columns (the network's inputs), got shape {X.shape}")
    n = X.shape[0]
    if net.is_graph:  # every live node's tangents, and a max-pool's windows of them and their differences
        sizes = [n.size * (2 * int(np.prod(n.params["kernel"])) if n.kind == "maxpool" else 1) for n in net.graph.nodes]
        per_point = 8 * (3 * max(sizes) + sum(n.size for n in net.graph.nodes)) * net.in_features
    else:
        per_point = 8 * 3 * max(net.widths[1:-1], default=1) * net.in_features  # J, its scaled copy and the next product
    available = available_memory()
    budget = _BUDGET if available is None else min(_BUDGET, available // 2)
    if batch is None:
        if per_point > (available if available is not None else per_point):
            raise ValueError(
                f"boundary_distance needs {_bytes(per_point)} per point for the Jacobians of "
                f"{'this graph network' if net.is_graph else net.widths}, but only {_bytes(available)} of memory is available"
            )
        batch = max(1, budget // per_point)
    elif isinstance(batch, (bool, np.bool_)) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    distance = np.full(n, np.inf)
    layer = np.full(n, -1, np.int32)
    unit = np.full(n, -1, np.int32)
    for i0 in range(0, n, int(batch)):
        Xb = X[i0 : i0 + int(batch)]
        best = np.full(Xb.shape[0], np.inf)
        for k, d in (_graph_nearest if net.is_graph else _chain_nearest)(net, Xb):
            d = np.broadcast_to(d, (d.shape[0], Xb.shape[0]))
            j = np.argmin(d, axis=0)
            dj = d[j, np.arange(d.shape[1])]
            closer = dj < best  # strictly: ties keep the earlier layer
            best = np.where(closer, dj, best)
            sl = slice(i0, i0 + Xb.shape[0])
            layer[sl] = np.where(closer, k, layer[sl])
            unit[sl] = np.where(closer, j, unit[sl])
        distance[i0 : i0 + Xb.shape[0]] = best
    for a in (distance, layer, unit):
        a.flags.writeable = False
    return BoundaryDistance(distance, layer, unit)
