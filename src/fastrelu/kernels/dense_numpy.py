"""numpy backend: the reference every other backend is tested against.

Plain and obviously correct: the pre-activations of a block of points against all
hidden units as one 2-D array, then masks and sums.  Blocks of points keep the
temporaries near ``_BLOCK_ELEMENTS`` elements whatever the grid size.
Same arguments as the kernels (``fastrelu.kernels.dense_numba.sweep_kernel``).
"""

import numpy as np

from ..model.forward import propagate, propagate_graph

_BLOCK_ELEMENTS = 1 << 18


def sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    rows = max(1, _BLOCK_ELEMENTS // w1.shape[0])
    for i0 in range(0, x.shape[0], rows):
        z = np.multiply.outer(x[i0 : i0 + rows], w1) + b1
        on = z > 0
        # ReLU counts as active only where z > 0: at a kink the slope is the off side's
        y[i0 : i0 + rows] = b2 + (w2 * np.where(on, z, alpha * z)).sum(axis=1)
        slope[i0 : i0 + rows] = np.where(on, c, alpha * c).sum(axis=1)
        negative[i0 : i0 + rows] = np.count_nonzero(~on, axis=1)


def get_num_threads():
    return 1


def set_num_threads(n):
    """The reference is single-threaded; a thread count is accepted and ignored."""


def unpack_layers(widths, weights, biases):
    """The flat parameter arrays of ``sweep_deep`` as per-layer ``(W, b)``, W shaped (out, in)."""
    layers, iw, ib = [], 0, 0
    for k in range(len(widths) - 1):
        fan_in, fan_out = int(widths[k]), int(widths[k + 1])
        layers.append((weights[iw : iw + fan_out * fan_in].reshape(fan_out, fan_in), biases[ib : ib + fan_out]))
        iw += fan_out * fan_in
        ib += fan_out
    return layers


def sweep_deep(t, widths, weights, biases, alpha, lo, hi, y, slope, negative, span=None):
    """The deep kernel's contract, in plain numpy: a network of ``k`` coordinates through every layer.

    Parameters (arrays in, arrays out, as the twins take them)
    ----------
    t : (N,) or (N, k) float64 or float32
        The points: ``(N,)`` a network of the scalar ``t`` (a line folded in, ``k = 1``);
        ``(N, k)`` a network of ``k`` coordinates (a plane folded in: ``k = 2``, rows ``(u, v)``).
    widths : (L + 2,) int64
        ``[k, h1, ..., hL, out]``: the first layer takes the ``k`` coordinates.
    weights, biases : flat arrays of the dtype
        Every layer's ``W`` (``widths[k+1] x widths[k]``, row-major) and ``b``, one after the other.
    alpha : (h1 + ... + hL,)
        Each hidden unit's slope for pre-activations ``z <= 0`` (1 for ``z > 0``).
    lo, hi : (L,)
        Each hidden layer's clamp (``-inf``/``inf`` for none): ``a = clip(v, lo, hi)`` where
        ``v = z if z > 0 else alpha*z``; ``da/dz`` is that of ``v`` where ``lo < v < hi``
        and 0 elsewhere (PyTorch's Hardtanh gradient is 0 at both ends).
    y : (N, out)
        Output, written.
    slope : (N, out) for ``t`` of shape (N,), (N, out, k) for ``t`` of shape (N, k)
        ``dy/dt``, or the gradient along each of the ``k`` coordinates (last axis), written.
    negative : (N, L) int32
        Hidden units with ``z <= 0`` in each layer, written.
    span : optional
        The part of the slice the whole request covers, of which ``t`` may be a part (a
        chunk): ``(lo, hi)`` on a line, ``((u0, u1), (v0, v1))`` on a plane.  A kernel whose
        values depend on the region it analyses (the exact backend's walks) analyses this
        one, so that a point's bits never depend on how the request was cut into chunks or
        what ran before; per-point kernels ignore it.
    """
    layers = unpack_layers(widths, weights, biases)
    rows = max(1, _BLOCK_ELEMENTS // max(int(np.max(widths)), 1))
    k = int(widths[0])
    for i0 in range(0, t.shape[0], rows):
        a = t[i0 : i0 + rows].reshape(-1, k)
        # one tangent per coordinate: d(coordinate i)/d(coordinate c) is the identity
        da = np.ones_like(a) if t.ndim == 1 else np.broadcast_to(np.eye(k, dtype=t.dtype), (a.shape[0], k, k))
        yy, dy = propagate(layers, alpha, lo, hi, a, da, negative[i0 : i0 + rows])
        y[i0 : i0 + rows] = yy
        slope[i0 : i0 + rows] = dy if t.ndim == 1 else np.moveaxis(dy, 1, 2)


def sweep_graph(t, graph, y, slope, negative, span=None):
    """``sweep_deep``'s contract for a graph network (``fastrelu.model.graph.Graph``, its
    input ``k`` coordinates): the nodes run in order on blocks of points, with one tangent
    per coordinate; ``negative`` (N, activation nodes) counts each activation node's
    units with input ``<= 0``.  ``span`` is ignored (a per-point kernel)."""
    k = graph.input_shape[0]
    rows = max(1, _BLOCK_ELEMENTS // (max(n.size for n in graph.nodes) * (k + 1)))
    for i0 in range(0, t.shape[0], rows):
        a = t[i0 : i0 + rows].reshape(-1, k)
        da = np.broadcast_to(np.eye(k, dtype=t.dtype), (a.shape[0], k, k))
        yy, dy = propagate_graph(graph, a, da, negative[i0 : i0 + rows])
        y[i0 : i0 + rows] = yy.reshape(a.shape[0], -1)
        dy = dy.reshape(a.shape[0], k, -1)
        slope[i0 : i0 + rows] = dy[:, 0] if t.ndim == 1 else np.moveaxis(dy, 1, 2)
