"""The forward pass of a network, and the bounds that keep it inside its dtype's range.

One pass, ``propagate``, shared by the numpy reference backend and ``net(x)``;
``magnitudes`` runs the same layers on ``|W|`` and ``|b|`` to bound every unit's
``|z|``, which is what the overflow checks of sweeps and ``net(x)`` read.
"""

import numpy as np

from .graph import act_form, affine, maxpool_windows

_BLOCK_ELEMENTS = 1 << 18  # rows per block keep the temporaries near this many elements


def activation_forms(net, dtype):
    """``(alpha, lo, hi)`` of every hidden layer, as the kernels take them, in ``dtype``."""
    forms = [act.kernel_form(layer.bias.shape[0]) for act, layer in zip(net.activations, net.layers)]
    alpha = np.concatenate([f[0] for f in forms]).astype(dtype)
    lo = np.array([f[1] for f in forms], dtype)
    hi = np.array([f[2] for f in forms], dtype)
    return alpha, lo, hi


def activate(z, alpha, lo, hi):
    """One activation step: ``(a, on, inside)`` for pre-activations ``z``.

    ``a = clip(v, lo, hi)`` with ``v = z`` where ``on`` (``z > 0``) and ``alpha*z`` elsewhere;
    ``inside`` is ``lo < v < hi``, where the activation's slope is that of ``v``.  This is
    PyTorch's convention at a breakpoint (ReLU'(0) = 0, Hardtanh' = 0 at both ends):
    see ``tangent``.
    """
    on = z > 0
    v = np.where(on, z, alpha * z)
    return np.clip(v, lo, hi), on, (v > lo) & (v < hi)


def tangent(dz, alpha, on, inside):
    """The tangent after an activation step: ``dz``, ``alpha*dz`` or 0 (see ``activate``).

    ``dz`` is ``(rows, h)`` for one tangent, or ``(rows, k, h)`` for ``k`` of them (a
    plane's two directions): the masks ``(rows, h)`` then hold for every tangent.
    """
    if dz.ndim == on.ndim + 1:
        on, inside = on[:, None, :], inside[:, None, :]
    return np.where(inside, np.where(on, dz, alpha * dz), 0)


def propagate(layers, alpha, lo, hi, a, da=None, negative=None):
    """Inputs ``a`` (rows, in) through every layer; with tangents ``da`` and counts when given.

    ``da`` is one tangent ``(rows, in)`` (a line) or ``k`` of them ``(rows, k, in)`` (a
    plane: ``k = 2``), carried forward together; the second result has its shape, with
    ``out`` for ``in``.

    The one forward pass: the numpy reference backend and ``net(x)`` run it; the
    agreement rule (``backends.agreement``) runs the same ``activate`` step beside its
    error bounds, and ``magnitudes`` the same recurrence on ``|W|``.
    ``layers`` are ``(W, b)`` pairs, ``alpha`` every hidden unit's slope for ``z <= 0``,
    ``lo``/``hi`` each hidden layer's clamp (see ``Activation.kernel_form``).
    """
    depth = len(layers) - 1
    u0 = 0
    for k in range(depth):
        w, b = layers[k]
        z = a @ w.T + b
        al = alpha[u0 : u0 + w.shape[0]]
        u0 += w.shape[0]
        a, on, inside = activate(z, al, lo[k], hi[k])
        if da is not None:
            da = tangent(da @ w.T, al, on, inside)
        if negative is not None:
            negative[:, k] = np.count_nonzero(~on, axis=1)
    w, b = layers[depth]
    return a @ w.T + b, (None if da is None else da @ w.T)


def forward(net, x):
    """The outputs (rows, out) of ``net`` at the inputs ``x`` (rows, in), in ``x``'s dtype."""
    dtype = x.dtype
    if net.is_graph:
        return _forward_graph(net.graph, x)
    alpha, lo, hi = activation_forms(net, dtype)
    layers = [(w.astype(dtype, copy=False), b.astype(dtype, copy=False)) for w, b in net.layers]
    rows = max(1, _BLOCK_ELEMENTS // max(net.widths))
    out = np.empty((x.shape[0], net.out_features), dtype)
    for i0 in range(0, x.shape[0], rows):
        out[i0 : i0 + rows] = propagate(layers, alpha, lo, hi, x[i0 : i0 + rows])[0]
    return out


def magnitudes(net, xmax):
    """Per layer, bounds on ``|z|`` of every unit where every input is within ``+-xmax`` (float64, may be inf)."""
    m = np.full(net.in_features, float(xmax))  # every input within +-xmax
    bounds = []
    with np.errstate(over="ignore", invalid="ignore"):
        for k, (w, b) in enumerate(net.layers):
            m = np.abs(w.astype(np.float64)) @ m + np.abs(b.astype(np.float64))
            bounds.append(m)
            if k < net.depth:
                alpha, lo, hi = net.activations[k].kernel_form(m.shape[0])
                m = np.minimum(m * np.maximum(1.0, np.abs(alpha)), max(abs(lo), abs(hi)) if np.isfinite(lo) and np.isfinite(hi) else np.inf)
    return bounds


def check_inputs(net, x):
    """Refuse inputs ``x`` (rows, in) at which ``net`` could overflow its dtype (for ``net(x)``)."""
    xmax = float(np.max(np.abs(x)))
    check_range(net, xmax, net.dtype, slopes=False, points=xmax)


def check_range(net, xmax, dtype, slopes=True, points=None):
    """Refuse a network and grid (``|t| <= xmax``) whose pre-activations, output or
    (with ``slopes``) slope could overflow ``dtype``.

    ``points`` is None for a sweep; for ``net(x)`` it is ``max |x|``, so that the
    messages speak of the points x (a grid there is none).  float64 is advised only
    to a float32 network, and only where float64's range would hold the inputs.
    """
    limit = float(np.finfo(dtype).max) / 4
    if net.is_graph:
        return _check_graph_range(net, xmax, dtype, slopes, points, limit)
    if points is None:
        subject, reach, on, narrower = "the grid", xmax, f"on this grid (|t| up to {xmax:g})", "a narrower grid"
    else:
        subject, reach, on, narrower = "x", points, f"at these x (|x| up to {points:g})", "smaller x"
    widen = dtype == np.float32 and xmax < float(np.finfo(np.float64).max) / 4
    if not np.isfinite(xmax) or xmax >= limit:
        raise ValueError(
            f"{subject} reaches |x| = {reach:g}, beyond the range of {dtype.name}; use {narrower}{' or float64' if widen else ''}"
        )
    if "slope_bounds" not in net._derived:  # the same for every grid: worked out once
        net._derived["largest"] = [max(float(np.abs(w).max()), float(np.abs(b).max())) for w, b in net.layers]
        net._derived["slope_bounds"] = magnitudes(net, 1.0)
    for k, largest in enumerate(net._derived["largest"]):
        if largest >= limit:
            raise ValueError(
                f"layers[{k}]'s weights could overflow {dtype.name} (they are beyond its range)"
                + ("; use float64" if dtype == np.float32 else "")
            )
    for k, (value, slope) in enumerate(zip(magnitudes(net, xmax), net._derived["slope_bounds"])):
        # the slope's bound is the value's bound of the network without biases at |t| = 1
        if not (np.max(value) < limit and (not slopes or np.max(slope) < limit)):
            where = "output" if k == net.depth else f"layer {k} pre-activations"
            advice = f"smaller weights, {narrower} or float64" if widen else f"smaller weights or {narrower}"
            raise ValueError(f"the network's {where} could overflow {dtype.name} {on}; use {advice}")


def propagate_graph(graph, x, dx=None, negative=None, argmax=None, visit=None):
    """Inputs ``x`` (rows, *input_shape) through a graph network's nodes, in order; the one
    forward of graph networks (``fastrelu.model.graph``), with tangents and counts as
    ``propagate``.

    ``dx`` is ``(rows, k, *input_shape)``: ``k`` tangents carried together (the second
    result has the output's shape with the ``k`` axis after the rows).  ``negative``
    (rows, activation nodes) gets each activation node's units with input ``<= 0``;
    ``argmax``, a dict, gets each max-pool node's pattern (the index of every window's
    largest input, the first of equals as in PyTorch), by node name.  ``visit``, a
    function, is called as ``visit(node, z, dz)`` with each activation and max-pool node's
    input and its tangents (None without ``dx``) before the node applies: what the
    analyses of patterns, gradients and boundary distances read, one node at a time.
    """
    values, tangents = {graph.nodes[0].name: x}, {graph.nodes[0].name: dx}
    rows = x.shape[0]
    col = 0
    for node in graph.nodes[1:]:
        xs = [values[i] for i in node.inputs]
        dxs = None if dx is None else [tangents[i].reshape((-1, *tangents[i].shape[2:])) for i in node.inputs]
        if visit is not None and node.kind in ("act", "maxpool"):
            visit(node, xs[0], None if dx is None else tangents[node.inputs[0]])
        if node.kind == "act":
            alpha, lo, hi = act_form(node, x.dtype)
            y, on, inside = activate(xs[0], alpha, lo, hi)
            dy = None if dx is None else np.where(inside[:, None], np.where(on[:, None], tangents[node.inputs[0]], alpha * tangents[node.inputs[0]]), 0)
            if negative is not None:
                negative[:, col] = np.count_nonzero(~on.reshape(rows, -1), axis=1)
            col += 1
        elif node.kind == "maxpool":
            win = maxpool_windows(node, xs[0], -np.inf)
            idx = np.argmax(win, axis=-1)[..., None]
            y = np.take_along_axis(win, idx, -1)[..., 0]
            if argmax is not None:
                argmax[node.name] = idx[..., 0]
            dy = None
            if dx is not None:
                k = tangents[node.inputs[0]].shape[1]
                dwin = maxpool_windows(node, dxs[0], 0)
                dy = np.take_along_axis(dwin, np.repeat(idx, k, axis=0), -1)[..., 0]
        else:
            y = affine(node, xs)
            dy = None if dx is None else affine(node, dxs, bias=False)
        values[node.name] = y
        if dx is not None:
            k = dx.shape[1]
            tangents[node.name] = dy.reshape((rows, k, *node.shape))
        for i in node.inputs:  # free what no later node reads
            if graph.consumers[i][-1] == node.name:
                values.pop(i, None)
                tangents.pop(i, None)
    out = graph.nodes[-1].name
    return values[out], tangents.get(out)


def pull_back_graph(graph, pattern, dy):
    """Cotangents ``dy`` (rows, k, *output_shape) of a graph network's output pulled back to
    its input, ``(rows, k, *input_shape)``, each row with its own pattern fixed: the
    transpose of ``propagate_graph``'s tangent map, node by node in reverse order (the
    vector-Jacobian product, as autograd's backward pass).

    ``pattern`` holds, by node name, what fixes each piecewise node on every row: an
    activation node's gain (its slope at the row's point, 0, ``alpha`` or 1 per unit,
    ``(rows, units)`` or shaped as the node) and a max-pool node's argmax (the index in
    each window, as ``propagate_graph`` gives it).  A node of a new kind is a case in
    ``propagate_graph`` and one in ``_transpose``.

    With ``k`` = the outputs and ``dy`` the identity this is each row's Jacobian, at the
    cost of ``k`` passes instead of the forward's one per input.

    Examples
    --------
    >>> from fastrelu.model.graph import Graph, Node
    >>> from fastrelu.model import Activation
    >>> g = Graph([Node("x", "input", (), {}, (2,)),
    ...            Node("fc", "dense", ["x"], {"weight": np.array([[1.0, 2.0], [3.0, 4.0]])}, (2,)),
    ...            Node("relu", "act", ["fc"], {"act": Activation("relu")}, (2,)),
    ...            Node("res", "add", ["relu", "x"], {"coeffs": np.ones(2)}, (2,))])
    >>> pull_back_graph(g, {"relu": np.array([[1.0, 0.0]])}, np.eye(2)[None]).tolist()
    [[[2.0, 2.0], [0.0, 1.0]]]
    """
    rows, k = dy.shape[:2]
    shapes = {n.name: n.shape for n in graph.nodes}
    cot = {graph.output.name: np.reshape(dy, (rows * k, *graph.output.shape))}
    for node in reversed(graph.nodes[1:]):
        g = cot.pop(node.name, None)
        if g is None:  # no path from this node to the output
            continue
        parts = _transpose(node, g, [shapes[i] for i in node.inputs], pattern.get(node.name), rows, k)
        for name, part in zip(node.inputs, parts):
            # a node read twice (fan-out) gets the sum; never in place, a part may be a view of another
            cot[name] = part if name not in cot else cot[name] + part
    dx = cot.pop(graph.nodes[0].name, None)
    if dx is None:  # the output does not depend on the input
        dx = np.zeros((rows * k, *graph.input_shape), dy.dtype)
    return dx.reshape((rows, k, *graph.input_shape))


def _transpose(node, g, in_shapes, fixed, rows, k):
    """The cotangents of a node's inputs from those ``g`` (rows*k, *shape) of its output: the
    transpose of its linear part (``affine`` without the constant), or of a piecewise node
    with its pattern ``fixed`` (rows, ...) on each of the ``rows`` (``k`` cotangents each)."""
    p, kind = node.params, node.kind
    if kind == "act":  # the gain of the piece's pattern, unit by unit
        gain = np.reshape(fixed, (rows, 1, *node.shape)).astype(g.dtype, copy=False)  # cotangents keep their dtype
        return [(g.reshape((rows, k, *node.shape)) * gain).reshape(g.shape)]
    if kind == "maxpool":
        return [_maxpool_transpose(node, g, np.reshape(fixed, (rows, *node.shape)), in_shapes[0], k)]
    if kind == "dense":
        return [g @ p["weight"]]
    if kind == "conv":
        return [_conv_transpose(g, p, in_shapes[0])]
    if kind == "avgpool":
        y = g @ p[f"mat{p['ndim'] - 1}"]
        return [np.matmul(p["mat0"].T, y) if p["ndim"] == 2 else y]
    if kind == "scale":  # summed over the axes the scale broadcast the input along
        return [_unbroadcast(g * p["scale"], in_shapes[0])]
    if kind == "reshape":
        return [g.reshape((g.shape[0], *in_shapes[0]))]
    if kind == "permute":
        return [np.transpose(g, (0, *(int(i) + 1 for i in np.argsort(p["perm"]))))]
    if kind == "add":
        return [g if c == 1 else c * g for c in p["coeffs"].tolist()]
    if kind == "cat":
        ends = np.cumsum([s[p["axis"]] for s in in_shapes])[:-1]
        return np.split(g, ends, axis=p["axis"] + 1)
    if kind == "embed":
        d = p["directions"]
        return [np.tensordot(g, d, axes=(list(range(1, g.ndim)), list(range(1, d.ndim))))]
    raise ValueError(f"node {node.name!r}: kind {kind!r} has no reverse rule")


def _unbroadcast(a, shape):
    """``a`` (B, *out) summed down to (B, *shape), the shape that broadcast to ``out``."""
    lead = a.ndim - 1 - len(shape)
    if lead:
        a = a.sum(axis=tuple(range(1, 1 + lead)))
    axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and a.shape[i + 1] != 1)
    return a.sum(axis=axes, keepdims=True) if axes else a


def _geometry(p):
    """A conv or max-pool node's (padding, stride, dilation) per axis of its 2-D layout."""
    if p["ndim"] == 2:
        return p["padding"], p["stride"], p["dilation"]
    return ((0, 0), p["padding"][0]), (1, p["stride"][0]), (1, p["dilation"][0])


def _conv_transpose(g, p, in_shape):
    """The transpose of ``graph._conv`` (the transposed convolution, stride, padding,
    dilation and groups as the forward's): every output's cotangent times the filter,
    added back at each input its window read."""
    nd, w, groups = p["ndim"], p["weight"], p["groups"]
    w2 = w[:, :, None, :] if nd == 1 else w
    g2 = g[:, :, None, :] if nd == 1 else g
    (ph0, ph1), (pw0, pw1) = _geometry(p)[0]
    (sh, sw), (dh, dw) = _geometry(p)[1:]
    c, h, wd = (in_shape[0], 1, in_shape[1]) if nd == 1 else in_shape
    b, o, ho, wo = g2.shape
    og, cg, kh, kw = o // groups, *w2.shape[1:]
    xp = np.zeros((b, c, h + ph0 + ph1, wd + pw0 + pw1), np.result_type(g, w))
    for grp in range(groups):  # a group's outputs reach only its channels
        gg = g2[:, grp * og : (grp + 1) * og].reshape(b, og, ho * wo)
        for i in range(kh):
            for j in range(kw):
                # the share of the inputs at kernel offset (i, j), (b, cg, Ho*Wo): one product per
                # offset with the outputs' axis inner, so that no copy moves it and the sum
                # below reads a contiguous block (twice as fast as one product for all offsets)
                part = np.matmul(w2[grp * og : (grp + 1) * og, :, i, j].T, gg).reshape(b, cg, ho, wo)
                xp[:, grp * cg : (grp + 1) * cg, i * dh : i * dh + sh * (ho - 1) + 1 : sh,
                   j * dw : j * dw + sw * (wo - 1) + 1 : sw] += part
    x = xp[:, :, ph0 : ph0 + h, pw0 : pw0 + wd]
    return x[:, :, 0, :] if nd == 1 else x


def _maxpool_transpose(node, g, idx, in_shape, k):
    """The transpose of a max-pool with each window's argmax ``idx`` (rows, C, *out) fixed:
    each window's cotangent goes to its largest input (the padding never wins)."""
    p = node.params
    nd = p["ndim"]
    (ph0, ph1), (pw0, pw1) = _geometry(p)[0]
    (sh, sw), (dh, dw) = _geometry(p)[1:]
    kw = p["kernel"][-1]
    c, h, wd = (in_shape[0], 1, in_shape[1]) if nd == 1 else in_shape
    hp, wp = h + ph0 + ph1, wd + pw0 + pw1
    idx = idx[:, :, None, :] if nd == 1 else idx
    rows, _, ho, wo = idx.shape
    i, j = np.divmod(idx, kw)
    # where each window's largest input sits in its channel's padded input, then in the
    # whole (rows, k, C, Hp, Wp) block; bincount adds up what overlapping windows send to
    # one input (3x faster than a masked sum per kernel offset; float64, so rounded once)
    at = (np.arange(ho)[:, None] * sh + i * dh) * wp + np.arange(wo) * sw + j * dw
    flat = np.arange(rows * k * c).reshape(rows, k, c, 1, 1) * (hp * wp) + at[:, None]
    xp = np.bincount(flat.reshape(-1), weights=g.reshape(-1), minlength=rows * k * c * hp * wp)
    x = xp.reshape(rows * k, c, hp, wp)[:, :, ph0 : ph0 + h, pw0 : pw0 + wd].astype(g.dtype, copy=False)
    return x[:, :, 0, :] if nd == 1 else x


def _forward_graph(graph, x):
    """``forward`` of a graph network: ``x`` (rows, in) flat, the outputs (rows, out) flat."""
    g = graph.astype(x.dtype) if graph.dtype != x.dtype else graph
    rows = max(1, _BLOCK_ELEMENTS // max(n.size for n in g.nodes))
    out = np.empty((x.shape[0], g.output.size), x.dtype)
    for i0 in range(0, x.shape[0], rows):
        block = x[i0 : i0 + rows]
        out[i0 : i0 + rows] = propagate_graph(g, block.reshape((block.shape[0], *g.input_shape)))[0].reshape(block.shape[0], -1)
    return out


def graph_magnitudes(graph, xmax):
    """Per node (by name), a bound on ``|value|`` of every unit where every input is within
    ``+-xmax``: the graph's affine nodes run on ``|parameters|`` (float64, may be inf).

    ``xmax`` may also be an array of inputs' magnitudes (rows, *input_shape): then each
    node's bound is an array, one per row (a bound at those points).
    """
    g = graph.astype(np.float64).map_arrays(np.abs)
    per_row = np.ndim(xmax) > 0
    first = np.abs(np.asarray(xmax, np.float64)) if per_row else np.full((1, *g.input_shape), float(xmax))
    values = {g.nodes[0].name: first}
    bounds = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for node in g.nodes[1:]:
            xs = [values[i] for i in node.inputs]
            if node.kind == "act":
                alpha, lo, hi = act_form(node, np.float64)
                m = xs[0] * np.maximum(1.0, np.abs(alpha))
                if np.isfinite(lo) and np.isfinite(hi):
                    m = np.minimum(m, max(abs(lo), abs(hi)))
            elif node.kind == "maxpool":
                m = maxpool_windows(node, xs[0], 0.0).max(axis=-1)
            else:
                m = affine(node, xs)
            values[node.name] = m
            bounds[node.name] = m.reshape(m.shape[0], -1).max(axis=1) if per_row else float(np.max(m))
    return bounds


def _check_graph_range(net, xmax, dtype, slopes, points, limit):
    """``check_range`` of a graph network: each node's bound, named by node."""
    subject, on, narrower = ("the grid", f"on this grid (|t| up to {xmax:g})", "a narrower grid") if points is None else (
        "x", f"at these x (|x| up to {points:g})", "smaller x")
    if not np.isfinite(xmax) or xmax >= limit:
        raise ValueError(f"{subject} reaches |x| = {xmax:g}, beyond the range of {dtype.name}; use {narrower}")
    if "slope_bounds" not in net._derived:
        net._derived["slope_bounds"] = graph_magnitudes(net.graph, 1.0)
    values = graph_magnitudes(net.graph, xmax)
    for name, value in values.items():
        if not (value < limit and (not slopes or net._derived["slope_bounds"][name] < limit)):
            raise ValueError(f"the network's node {name!r} could overflow {dtype.name} {on}; use smaller weights, {narrower} or float64")
