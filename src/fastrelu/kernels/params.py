"""What each kind of kernel takes from a network, derived here (in the kernels layer), not in the model.

Two kinds of kernel, two packings of one ``Network``:

- ``one_layer``: one hidden layer of a scalar with one slope for ``z <= 0`` and no
  clamp, ``sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative)``; these
  kernels stream the hidden units, so H may be 10^6 and more;
- ``deep``: every network of one or two coordinates, ``sweep_deep(t, widths, weights,
  biases, alpha, lo, hi, y, slope, negative, span=None)`` (the contract is written out in
  ``dense_numpy.sweep_deep``): ``t`` is ``(N,)`` for one, ``(N, 2)`` for two, and the
  kernels carry one tangent per coordinate.

A network of several inputs reaches them as a network of one coordinate (a line) or two
(a plane), its slice folded into the first layer (``fastrelu.model.slices``).  Packed arrays are read-only
and kept with the network (it is immutable), so chunk after chunk reuses them.
"""

import numpy as np

from ..model.forward import activation_forms
from ..model.graph import act_form
from ..utils.config import GRAPH_FIELDS, GRAPH_TILE
from ..utils.memory import available_memory
from ..utils.validation import frozen_copy

MAX_COORDINATES = 2  # the deep kernels carry one tangent per coordinate: a line's one, a plane's two


def scalar_form(net):
    """alpha when ``net`` is ``(1, H, 1)`` with one slope for ``z <= 0`` and no clamp (what
    the one-layer kernels take), else None."""
    if "scalar_form" not in net._derived:  # asked on every sweep: worked out once
        try:
            net._derived["scalar_form"] = net.alpha
        except ValueError:
            net._derived["scalar_form"] = None
    return net._derived["scalar_form"]


def one_layer(net):
    """Whether the one-layer kernels can take ``net`` (see ``scalar_form``)."""
    return scalar_form(net) is not None


def one_layer_params(net, dtype):
    """The one-layer kernels' parameters ``(w1, b1, w2, b2, c, alpha)`` in ``dtype``.

    ``c = w2 * w1`` is each unit's contribution to the slope when active.
    """
    key = ("one_layer", dtype)
    if key not in net._derived:
        alpha = scalar_form(net)
        if alpha is None:
            raise ValueError(f"the one-layer kernels take networks of widths (1, H, 1) without a clamp, not {net.widths}")
        (w, b), (v, b2) = net.layers
        w1, b1, w2 = (frozen_copy(a, dtype) for a in (w[:, 0], b, v[0]))
        net._derived[key] = (w1, b1, w2, dtype.type(b2[0]), frozen_copy(w2 * w1), dtype.type(alpha))
    return net._derived[key]


def deep_params(net, dtype):
    """The deep kernels' parameters ``(widths, weights, biases, alpha, lo, hi)`` in ``dtype``
    (see ``fastrelu.kernels.dense_numpy.sweep_deep``); the network must take one or two
    coordinates (a line or a plane folded in)."""
    if net.in_features > MAX_COORDINATES:
        raise ValueError(
            f"a network of {net.in_features} inputs is swept along a line or on a plane: give along=(x0, x1) or plane=(x0, x1, x2)"
        )
    key = ("deep", dtype)
    if key not in net._derived:
        params = (
            np.asarray(net.widths, np.int64),
            np.concatenate([layer.weight.ravel() for layer in net.layers]).astype(dtype),
            np.concatenate([layer.bias for layer in net.layers]).astype(dtype),
            *activation_forms(net, dtype),
        )
        net._derived[key] = tuple(frozen_copy(p) for p in params)
    return net._derived[key]


def graph_params(net, dtype):
    """The graph kernels' parameter: the network's graph with its arrays in ``dtype``
    (``fastrelu.model.graph.Graph``; see ``fastrelu.kernels.dense_numpy.sweep_graph``)."""
    if net.in_features > MAX_COORDINATES:
        raise ValueError(
            f"a network of {net.in_features} inputs is swept along a line: give along=(x0, x1)"
        )
    key = ("graph", dtype)
    if key not in net._derived:
        net._derived[key] = net.graph.astype(dtype).map_arrays(frozen_copy)
    return net._derived[key]


# -- the graph twins' program ------------------------------------------------------------------
# A graph network as flat arrays for the C and Numba graph twins (csrc/graph_c.c and
# kernels/graph_numba.py): one row of GRAPH_FIELDS int64 per node, every real parameter in
# one array of the dtype, every index in one int64 array.  A node's row:
#   [op, out, size, pr, pi, src, a0, a1, ...]
# ``out`` is the node's first unit in the tile's scratch (each node its own units), ``size``
# its units, ``pr``/``pi`` where its reals/indices start, ``src`` its first input's first
# unit, and a0... what the op needs.  Kinds that only move numbers (reshape, permute, cat)
# are one op, GATHER (each output unit reads one scratch unit, ``indices[pi + u]``); an
# embed is a DENSE of the k coordinates (its directions transposed, its origin the bias).
GRAPH_OPS = ("input", "dense", "conv", "avgpool", "scale", "gather", "add", "act", "maxpool")
_GATHER = ("reshape", "permute", "cat")


def _spatial(p, nd):
    """(kh, kw)-style pairs of a 1-D or 2-D op's stride, padding before, dilation: a 1-D op
    is a 2-D one of height 1."""
    stride, pad, dil = p["stride"], [a for a, _ in p["padding"]], p["dilation"]
    return (1, stride[0], 0, pad[0], 1, dil[0]) if nd == 1 else (stride[0], stride[1], pad[0], pad[1], dil[0], dil[1])


def _as_hw(shape, nd):
    """(C, H, W) of a 1-D (C, L) or 2-D (C, H, W) shape."""
    return (shape[0], 1, shape[1]) if nd == 1 else tuple(shape)


def graph_program(net, dtype):
    """The graph twins' parameters ``(ops, indices, reals, units)``: ``ops`` (nodes,
    GRAPH_FIELDS) int64, ``indices`` int64, ``reals`` in ``dtype``, ``units`` the scratch
    units of one tile (see the comment above); read-only and kept with the network.

    Examples
    --------
    >>> import numpy as np, fastrelu
    >>> from fastrelu.model.graph import Graph, Node
    >>> g = Graph([Node("x", "input", (), {}, (1,)),
    ...            Node("fc", "dense", ["x"], {"weight": np.ones((2, 1)), "bias": np.zeros(2)}, (2,)),
    ...            Node("relu", "act", ["fc"], {"act": fastrelu.model.Activation("relu")}, (2,)),
    ...            Node("sum", "add", ["relu", "fc"], {"coeffs": np.ones(2), "const": None}, (2,))])
    >>> ops, indices, reals, units = graph_program(fastrelu.Network._from_graph(g), np.dtype(np.float64))
    >>> [GRAPH_OPS[o] for o in ops[:, 0]], units
    (['input', 'dense', 'act', 'add'], 7)
    """
    graph = graph_params(net, dtype)
    key = ("graph_program", dtype)
    if key in net._derived:
        return net._derived[key]
    start, units = {}, 0
    for n in graph.nodes:
        start[n.name], units = units, units + n.size
    rows, ints, reals = [], [], []
    nr = ni = 0
    column = 0
    for n in graph.nodes:
        p, kind = n.params, n.kind
        ins = [graph.nodes[graph.index[i]] for i in n.inputs]
        src = start[ins[0].name] if ins else 0
        op = "dense" if kind == "embed" else ("gather" if kind in _GATHER else kind)
        args, r, i = [], [], []
        if kind == "dense":
            w = p["weight"]
            args = [ins[0].size // w.shape[1], w.shape[1], w.shape[0], p.get("bias") is not None]
            r = [w.ravel(), *([p["bias"]] if p.get("bias") is not None else [])]
        elif kind == "embed":  # origin + u @ directions: a dense node of the k coordinates
            d = p["directions"].reshape(p["directions"].shape[0], -1)
            args = [1, d.shape[0], d.shape[1], True]
            r = [d.T.ravel(), p["origin"].ravel()]
        elif kind == "conv":
            nd, w = p["ndim"], p["weight"]
            w4 = w[:, :, None, :] if nd == 1 else w
            args = [*_as_hw(ins[0].shape, nd), w4.shape[0], *_as_hw(n.shape, nd)[1:], *w4.shape[2:], *_spatial(p, nd),
                    p["groups"], p.get("bias") is not None]
            r = [w4.ravel(), *([p["bias"]] if p.get("bias") is not None else [])]
        elif kind == "maxpool":
            nd = p["ndim"]
            kernel = (1, p["kernel"][0]) if nd == 1 else p["kernel"]
            args = [*_as_hw(ins[0].shape, nd), ins[0].shape[0], *_as_hw(n.shape, nd)[1:], *kernel, *_spatial(p, nd)]
        elif kind == "avgpool":
            nd = p["ndim"]
            mat0 = p["mat0"] if nd == 2 else np.ones((1, 1))  # a 1-D pool averages along its one axis
            args = [*_as_hw(ins[0].shape, nd), *_as_hw(n.shape, nd)[1:]]
            r = [mat0.ravel(), p[f"mat{nd - 1}"].ravel()]
        elif kind == "scale":
            args = [p.get("shift") is not None]
            r = [np.broadcast_to(np.asarray(p["scale"]), n.shape).ravel()]
            if p.get("shift") is not None:
                r.append(np.broadcast_to(np.asarray(p["shift"]), n.shape).ravel())
        elif kind == "add":
            args = [len(ins), p.get("const") is not None]
            i = [np.array([start[m.name] for m in ins])]
            r = [p["coeffs"].ravel(), *([np.broadcast_to(np.asarray(p["const"]), n.shape).ravel()] if p.get("const") is not None else [])]
        elif kind in _GATHER:
            parts = [start[m.name] + np.arange(m.size).reshape(m.shape) for m in ins]
            if kind == "reshape":
                i = [parts[0].ravel()]
            elif kind == "permute":
                i = [np.transpose(parts[0], p["perm"]).ravel()]
            else:
                i = [np.concatenate(parts, axis=p["axis"]).ravel()]
        elif kind == "act":
            alpha, lo, hi = act_form(n, dtype)
            args = [column]
            column += 1
            r = [alpha.ravel(), np.array([lo, hi])]
        row = [GRAPH_OPS.index(op), start[n.name], n.size, nr, ni, src, *(int(a) for a in args)]
        rows.append(row + [0] * (GRAPH_FIELDS - len(row)))
        reals += r
        ints += i
        nr += sum(a.size for a in r)
        ni += sum(a.size for a in i)
    program = (
        np.array(rows, np.int64),
        np.concatenate([np.asarray(a, np.int64).ravel() for a in ints] or [np.zeros(1, np.int64)]),
        np.concatenate([np.asarray(a, np.float64).ravel() for a in reals] or [np.zeros(1)]).astype(dtype),
        units,
    )
    net._derived[key] = (*(frozen_copy(a) for a in program[:3]), units)
    return net._derived[key]


def check_graph_scratch(program, dtype, threads):
    """Refuse, before the graph twins allocate it, scratch that would not fit in memory:
    each thread holds one tile of every node (``units`` of ``program``, each with its value
    and ``nk`` tangents for GRAPH_TILE points).

    Examples
    --------
    >>> import numpy as np
    >>> program = (np.zeros((1, GRAPH_FIELDS), np.int64) + 1, None, None, 10)
    >>> check_graph_scratch(program, np.dtype(np.float64), 2)
    """
    ops, units = program[0], program[3]
    nk = int(ops[0, 2])
    need = int(units) * (1 + nk) * GRAPH_TILE * np.dtype(dtype).itemsize * max(int(threads), 1)
    available = available_memory()
    if available is not None and need > available:
        raise ValueError(
            f"the graph kernels' scratch (one tile of {GRAPH_TILE} points through every node, per thread) needs "
            f"{need / 2**30:,.1f} GiB for {threads} threads, but only {available / 2**30:,.1f} GiB of memory is "
            "available; use fewer threads, or backend='numpy'"
        )
