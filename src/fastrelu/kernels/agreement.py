"""How closely a sweep must agree with the numpy reference: one rule for the tests and
for ``fastrelu bench``.

Two backends computing the same sweep may differ only by rounding.  The rule
propagates, layer by layer, a bound on the size of every sum (``M``) and on its
rounding error (``E``), at each grid point:

* a pre-activation ``z = W a + b`` of fan-in ``n`` is a sum of ``n + 1`` terms,
  each a rounded product of (possibly rounded) numbers: its error is at most
  ``gamma(n + 2) * M_z + |W| E_a``, where ``gamma(n) = n*u/(1 - n*u)``, ``u`` is
  the unit roundoff of the dtype and ``M_z = |W| M_a + |b|``;
* an activation multiplies value errors by at most ``max(1, |alpha|)``; the tangent
  (the slope) is propagated the same way.  Sizes and errors are bounded over every
  unit, on or off at the point, because a backend may carry the terms of units that
  are off and their rounding (the exact backends' prefix sums and anchors do): for
  one hidden layer the slope bound is ``2*gamma(H + 2)*sum_j |w2_j*w1_j|``;
* ``y`` of two backends then agree within ``2 * E_y`` at every point (for one hidden
  layer this is ``2*gamma(H + 5)*S`` with ``S = |b2| + sum_j |w2_j|*(|w1_j*x| + |b1_j|)``),
  ``slope`` within ``2 * E_slope``, and the counts of negative units exactly,
* except at points where some pre-activation lies within ``ulps/2`` error bounds
  of one of its activation's breakpoints (0, or a clamp's ends): there rounding
  decides which side the point is on, and slope and counts may legitimately differ.

An exact zero is never exempt.  Two kinds are recognised, and every backend must
count such a unit negative (``z <= 0``), as PyTorch does: they are checked, not excused.

* A pre-activation with ``b == 0`` whose every term ``W[j, i] * a[i]`` is exactly zero
  in the reference (each input off, or its weight 0) is exactly 0 in exact arithmetic
  too, whatever the bound says, provided the inputs' own sides were not decided by
  rounding (a point where they were is exempt through those inputs already).
* In the first layer of a network of ``k`` coordinates (every network compared here: a
  line, ``k = 1``, or a plane, ``k = 2``, is folded in first), ``z = sum_c w_c*t_c + b``
  where every product ``w_c*t_c`` is exact (its Dekker error is 0), so is their sum, and
  it equals ``-b``: the point lies exactly on the unit's boundary.

On a plane every point carries two tangents (along ``u`` and ``v``), each bounded as the
line's one; ``slope`` agrees within the bound of its own tangent.

**Graph networks** (``fastrelu.model.graph``: convolutions, pooling, residual adds, cat,
activation and max-pool nodes; a slice is its ``embed`` node) follow the same rule, node by
node in the graph's order, at each point.  Every unit carries its value ``a``, a bound ``M``
on the size of the terms it sums, a bound ``E`` on its rounding error, and whether it is
exact (``X``: the same bits in every backend, whatever the order of its sums):

* an affine node (dense, conv, avgpool, scale, add, embed) is a sum of ``T`` terms per
  output (its fan-in, ``prod(weight.shape[1:])`` for a convolution, plus its constant):
  ``M = |node|(M_in) + |constant|`` and ``E = gamma(T + 1) * M + |node|(E_in)``, where
  ``|node|`` is the node applied to its parameters' absolute values; reshape, permute and
  cat move values and round nothing;
* an activation node multiplies ``M`` and ``E`` by ``max(1, |alpha|)``; a max-pool node
  takes the largest ``M`` and ``E`` of each window (the window's value is within that of
  the true maximum, whichever input wins);
* the tangents (the slope) go through the same propagation on their magnitudes, bounded
  over every unit and every pattern (so the same at every point);
* y agrees within ``2 E`` of the output, the slope within ``2 E`` of its tangent;
* a point is within rounding of a breakpoint when an activation input lies within
  ``ulps/2 * E`` of 0 or of a clamp's end, or a max-pool window's other input within
  ``ulps/2`` of the two inputs' ``E`` of its largest; unless the values are exact.

A value is exact when every input it reads is exact and every partial sum is representable:
all are multiples of ``2**q`` (``q`` the lowest set bit of the weights plus that of the
inputs, or the constant's) and at most ``M``, so ``M < 2**(q + digits)`` of the dtype suffices
(then fused or not, in any order, no sum rounds); also exact is an output with no constant
whose every term reads an exact zero (a zero weight, or an input exactly 0: a ReLU's unit
off, with its side decided).  The coordinates are exact; an activation keeps exactness
(``alpha * z`` when that product is exact in the dtype; a clamp's end or ``0 * z``
whatever ``z``); a max-pool its winner's.  An exact value on a breakpoint (a unit exactly on
its kink, an exact tie in a window, where the first input wins as in PyTorch) is checked,
never excused.
"""

from dataclasses import dataclass

import numpy as np

from ..model.forward import activate
from ..model.graph import act_form, affine, maxpool_windows

_BLOCK_ELEMENTS = 1 << 18


@dataclass(frozen=True)
class Agreement:
    """The outcome of ``compare``: ``ok`` and the figures behind it."""

    ok: bool
    points: int
    near_kink: int  # points exempt from the slope and count checks
    y_errors: int  # points whose y is outside the tolerance
    slope_errors: int
    negative_errors: int
    worst_y: float  # max |y - y_ref| / tolerance; <= 1 when ok
    worst_slope: float

    def __str__(self):
        if self.ok:
            return f"agrees ({self.points} points, {self.near_kink} within rounding of a kink, worst y error {self.worst_y:.2g} of tolerance)"
        return (
            f"DISAGREES: {self.y_errors} y, {self.slope_errors} slope and {self.negative_errors} negative-count "
            f"mismatches out of {self.points} points (worst y error {self.worst_y:.3g}x tolerance)"
        )


def _exact_product(w, t):
    """``(w * t, exact)``: the rounded product and whether it has no rounding error (Dekker's
    split, valid while ``|w|``, ``|t|`` stay below 2**996 and the product is 0 by a zero
    factor or at least 2**-969, so that its error cannot underflow; anything else says False)."""
    with np.errstate(over="ignore", invalid="ignore"):
        p = w * t
        ca, cb = 134217729.0 * w, 134217729.0 * t  # 2**27 + 1
        wh, th = ca - (ca - w), cb - (cb - t)
        wl, tl = w - wh, t - th
        err = ((wh * th - p) + wh * tl + wl * th) + wl * tl
    # below 2**-969 the error term may round into the subnormals (or the product to 0)
    # and read as 0: such a product is not known to be exact
    representable = (np.abs(p) >= 2.0**-969) | (w == 0.0) | (t == 0.0)
    return p, (err == 0.0) & np.isfinite(p) & representable


def _exactly_minus(w, t, b):
    """Whether ``sum_c w[:, c] * t[:, c] == -b`` exactly, for pairs (unit, point) of the first
    layer of a network of ``k`` coordinates (``w`` and ``t`` (m, k), ``b`` (m,), row ``i`` one
    pair): every product exact (``_exact_product``) and their sum too (Knuth's two-sum leaves
    no error), so that ``z`` is exactly 0."""
    ok = np.ones(t.shape[0], bool)
    total = np.zeros(t.shape[0], np.float64)
    for c in range(w.shape[1]):
        p, exact = _exact_product(w[:, c], t[:, c])
        with np.errstate(over="ignore", invalid="ignore"):
            s = total + p
            bp = s - total
            err = (total - (s - bp)) + (p - bp)
        ok &= exact & (err == 0.0) & np.isfinite(s)
        total = s
    return ok & (total == -b)


def _structural(layer, a, w, b, rows, units):
    """Whether pre-activation ``units[i]`` is an exact zero at point ``rows[i]`` (the module
    docstring's two kinds); ``a`` holds the layer's inputs (the coordinates in layer 0).

    Asked only where ``|z|`` is within its rounding bound of 0, which is rare: the work is
    per such pair, in blocks, not per (point, unit)."""
    if layer == 0:
        return _exactly_minus(w[units], a[rows], b[units])
    out = b[units] == 0.0
    step = max(1, _BLOCK_ELEMENTS // w.shape[1])
    for i0 in range(0, len(rows), step):
        sl = slice(i0, i0 + step)
        some = out[sl]
        live = (a[rows[sl]] != 0.0) & (w[units[sl]] != 0.0)
        some &= ~live.any(axis=1)
    return out


def _gamma(n, u):
    return n * u / (1.0 - n * u)


@dataclass(frozen=True)
class Tolerances:
    """What a result is checked against (``tolerances``): the reference and, at each of
    its points, ``y``'s and ``slope``'s tolerances and whether the point is within rounding
    of a kink.  They depend on the reference alone: compute them once, check many results."""

    reference: object
    y: np.ndarray  # (points, out)
    slope: np.ndarray  # (points, out, k), as the slope
    near_kink: np.ndarray  # (points,) bool

    def __len__(self):
        return len(self.near_kink)


def tolerances(reference, ulps=4):
    """The tolerances of ``reference`` (a ``SweepResult``), for ``check``; see the module docstring.

    Parameters
    ----------
    reference : SweepResult
        The numpy reference's sweep.
    ulps : float, optional
        A point is within rounding of a kink when a pre-activation lies within ``ulps/2``
        error bounds of a breakpoint.

    Returns
    -------
    Tolerances

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.kernels.agreement import check, tolerances
    >>> net = fastrelu.Network.random([1, 16, 16, 2], seed=0)
    >>> ref = fastrelu.sweep(net, num=500, backend="numpy")
    >>> tol = tolerances(ref)
    >>> check(fastrelu.sweep(net, num=500, backend="numpy"), tol).ok
    True
    """
    net = reference.network
    k = net.in_features  # the slice's coordinates, one tangent each
    n = len(reference)
    points = reference.points.reshape(n, k)
    if net.is_graph:
        return _graph_tolerances(reference, net.graph, points, ulps)
    u = float(np.finfo(reference.dtype).eps) / 2
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in net.layers]
    forms = [act.kernel_form(w.shape[0]) for act, (w, _) in zip(net.activations, layers)]
    # The slope's bounds do not depend on the point (sizes and errors are bounded over every
    # unit, on or off): one (k, units) row per layer, the identity's at the input.
    dmag, derr = np.eye(k), np.zeros((k, k))
    for layer, (w, _) in enumerate(layers):
        aw = np.abs(w)
        dzmag = dmag @ aw.T
        dzerr = _gamma(w.shape[1] + 1, u) * dzmag + derr @ aw.T
        if layer < net.depth:
            gain = np.maximum(1.0, np.abs(forms[layer][0]))
            dmag, derr = gain * dzmag, gain * dzerr
    tol_s = np.broadcast_to(2 * dzerr.T, (n, net.out_features, k))  # (points, out, k), as slope
    tol_y = np.empty((n, net.out_features))
    near = np.zeros(n, bool)
    rows = max(1, _BLOCK_ELEMENTS // max(net.widths))
    for i0 in range(0, n, rows):
        sl = slice(i0, i0 + rows)
        t = points[sl].astype(np.float64)
        a, mag, err = t, np.abs(t), None  # err None: exactly 0 (the coordinates)
        ambiguous = near[sl]
        for layer, (w, b) in enumerate(layers):
            aw = np.abs(w)
            z = a @ w.T + b
            zmag = mag @ aw.T
            zmag += np.abs(b)
            zerr = _gamma(w.shape[1] + 2, u) * zmag
            if err is not None:
                zerr += err @ aw.T
            if layer == net.depth:
                break
            alpha, lo, hi = forms[layer]
            threshold = ulps / 2 * zerr
            # exact zeros (see the module docstring): rounding cannot decide their side
            amb = np.abs(z) <= threshold
            if amb.any():  # rare: most blocks have no pre-activation this close to 0
                r, j = np.nonzero(amb)
                amb[r, j] = ~_structural(layer, a, w, b, r, j)
            for edge in (lo, hi):  # clamps come with alpha = 1, so v = z
                if np.isfinite(edge):
                    amb |= np.abs(z - edge) <= threshold
            ambiguous |= amb.any(axis=1)
            a = activate(z, alpha, lo, hi)[0]
            # magnitudes and errors are bounded over every unit, on or off: a backend may
            # carry terms of units that are off at this point (the exact backends' prefix
            # sums and anchors run over all units), and those round too
            gain = np.maximum(1.0, np.abs(alpha))
            mag, err = (zmag, zerr) if (gain == 1.0).all() else (zmag * gain, zerr * gain)
        tol_y[sl] = 2 * zerr
    return Tolerances(reference, tol_y, tol_s, near)


def check(result, tol):
    """Check ``result`` against the reference of ``tol`` (``tolerances(reference)``): an
    ``Agreement``, the same as ``compare(result, reference)``.

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.kernels.agreement import check, tolerances
    >>> net = fastrelu.Network.random(64, seed=0)
    >>> ref = fastrelu.sweep(net, num=500, backend="numpy")
    >>> check(ref, tolerances(ref)).near_kink
    0
    """
    reference = tol.reference
    if len(result) != len(reference) or not np.array_equal(result.points, reference.points):
        raise ValueError("result and reference are not on the same grid")
    net = reference.network
    n, out, k = len(reference), net.out_features, net.in_features
    flat = [(r.y.reshape(n, out), r.slope.reshape(n, out, k), r.negative.reshape(n),
             r.negative_by_layer.reshape(n, net.depth)) for r in (result, reference)]
    (r_y, r_s, r_n, r_by), (f_y, f_s, f_n, f_by) = flat
    tiny = np.finfo(np.float64).tiny
    near = y_err = s_err = n_err = 0
    worst_y = worst_s = 0.0
    rows = max(1, _BLOCK_ELEMENTS // (out * k))
    for i0 in range(0, n, rows):
        sl = slice(i0, i0 + rows)
        ambiguous = tol.near_kink[sl]
        dy = np.abs(r_y[sl].astype(np.float64) - f_y[sl].astype(np.float64))
        ds = np.abs(r_s[sl].astype(np.float64) - f_s[sl].astype(np.float64))
        dy_ratio = (dy / np.maximum(tol.y[sl], tiny)).max(axis=1)
        ds_ratio = np.where(ambiguous, 0.0, (ds / np.maximum(tol.slope[sl], tiny)).max(axis=(1, 2)))
        counts_differ = (r_by[sl] != f_by[sl]).any(axis=1)
        counts_differ |= r_n[sl] != f_n[sl]
        near += int(ambiguous.sum())
        y_err += int((dy_ratio > 1).sum())
        s_err += int((ds_ratio > 1).sum())
        n_err += int((counts_differ & ~ambiguous).sum())
        worst_y = max(worst_y, float(dy_ratio.max()))
        worst_s = max(worst_s, float(ds_ratio.max()))
    ok = y_err == s_err == n_err == 0
    return Agreement(ok, n, near, y_err, s_err, n_err, worst_y, worst_s)


def compare(result, reference, ulps=4):
    """Check ``result`` against ``reference`` (both ``SweepResult``s of one network and grid).

    Returns an ``Agreement``; see the module docstring for the rule.  To check several
    results against one reference, compute its ``tolerances`` once and ``check`` each.

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.kernels.agreement import compare
    >>> net = fastrelu.Network.random([1, 16, 16, 2], seed=0)
    >>> a = fastrelu.sweep(net, num=500, backend="numpy")
    >>> compare(a, a).ok
    True
    """
    if len(result) != len(reference) or not np.array_equal(result.points, reference.points):
        raise ValueError("result and reference are not on the same grid")
    return check(result, tolerances(reference, ulps))


# -- graph networks: the same rule, node by node ---------------------------------------------
def _quantum(x):
    """log2 of the lowest set bit of every ``x`` (float64): ``x`` is a multiple of
    ``2**_quantum(x)``; +inf for 0 (it adds no bits), -inf for inf and NaN (never exact)."""
    m, e = np.frexp(np.where(np.isfinite(x), x, 0.0))
    i = np.ldexp(np.abs(m), 53).astype(np.int64)
    with np.errstate(divide="ignore"):
        q = np.log2((i & -i).astype(np.float64)) + (e - 53)
    return np.where(~np.isfinite(x), -np.inf, np.where(i == 0, np.inf, q))


def _node_terms(node, k):
    """``(terms, arrays)``: how many terms each output of an affine node sums (its products
    and its constant) and its arrays (weights first, the constant last, None when absent)."""
    p, kind = node.params, node.kind
    if kind in ("dense", "conv"):
        return int(np.prod(p["weight"].shape[1:])) + 1, [p["weight"], p.get("bias")]
    if kind == "avgpool":
        return sum(p[f"mat{i}"].shape[1] for i in range(p["ndim"])) + 1, [p[f"mat{i}"] for i in range(p["ndim"])] + [None]
    if kind == "scale":
        return 2, [p["scale"], p.get("shift")]
    if kind == "add":
        return len(node.inputs) + 1, [p["coeffs"], p.get("const")]
    if kind == "embed":
        return k + 1, [p["directions"], p["origin"]]
    return 0, []  # reshape, permute, cat: they move values, round nothing


def _low_bits(arrays):
    """The node's weights' quantum (the sum over a chain of matrices: avgpool's axes) and its
    constant's (``_quantum``), as the exactness test of ``_graph_tolerances`` takes them."""
    *weights, const = arrays
    qw = sum(float(_quantum(np.asarray(w, np.float64)).min()) for w in weights)
    qb = np.inf if const is None else float(_quantum(np.asarray(const, np.float64)).min())
    return qw, qb


def _graph_tolerances(reference, graph, points, ulps):
    """``tolerances`` of a graph network (the module docstring's graph case): per point, each
    node's values ``a``, a bound ``M`` on the size of the terms they sum, a bound ``E`` on
    their rounding, and whether they are exact (``X``) in every backend; then y's bound is
    the output's ``2 E``, the slope's the same propagation on the tangents' magnitudes."""
    dtype = np.dtype(reference.dtype)
    n, k = points.shape
    u = float(np.finfo(dtype).eps) / 2
    digits = np.finfo(dtype).nmant + 1
    g = graph.astype(np.float64)
    mag = g.map_arrays(np.abs)  # the same nodes on |parameters|: sizes and bounds
    terms = {node.name: _node_terms(node, k) for node in g.nodes[1:]}
    bits = {node.name: _low_bits(arr) for node in g.nodes[1:] if (arr := terms[node.name][1])}
    shapes = {node.name: node.shape for node in g.nodes}
    facts = {}  # per affine node that sums: (has a constant, reads an input), by unit
    for node in g.nodes[1:]:
        if node.name in bits:
            absn = mag.nodes[mag.index[node.name]]
            ones = [np.ones((1, *shapes[i])) for i in node.inputs]
            facts[node.name] = (affine(absn, [0.0 * o for o in ones])[0] != 0, affine(absn, ones, bias=False)[0] > 0)

    # The slope: sizes and errors of the tangents, bounded over every unit and every
    # pattern (gain max(1, |alpha|), a window's largest), so the same at every point.
    dm = {g.nodes[0].name: np.eye(k).reshape(k, *g.input_shape)}
    de = {g.nodes[0].name: np.zeros_like(dm[g.nodes[0].name])}
    for node in g.nodes[1:]:
        absn = mag.nodes[mag.index[node.name]]
        ms, es = [dm[i] for i in node.inputs], [de[i] for i in node.inputs]
        if node.kind == "act":
            gain = np.maximum(1.0, np.abs(act_form(node, np.float64)[0]))
            dm[node.name], de[node.name] = ms[0] * gain, es[0] * gain
        elif node.kind == "maxpool":
            dm[node.name] = maxpool_windows(node, ms[0], 0.0).max(axis=-1)
            de[node.name] = maxpool_windows(node, es[0], 0.0).max(axis=-1)
        else:
            m = affine(absn, ms, bias=False)
            dm[node.name] = m
            de[node.name] = _gamma(terms[node.name][0] + 1, u) * m + affine(absn, es, bias=False)
    out = g.output
    tol_s = np.broadcast_to(2 * de[out.name].reshape(k, -1).T, (n, out.size, k))

    tol_y = np.empty((n, out.size))
    near = np.zeros(n, bool)
    rows = max(1, _BLOCK_ELEMENTS // max(node.size for node in g.nodes))
    first = g.nodes[0].name
    for i0 in range(0, n, rows):
        t = points[i0 : i0 + rows].astype(np.float64)
        b = len(t)
        ambiguous = near[i0 : i0 + b]
        t = t.reshape(b, *g.input_shape)
        # a: values; M: sizes; E: rounding bounds; X: exact in every backend (bool)
        a, M, E, X = {first: t}, {first: np.abs(t)}, {first: np.zeros_like(t)}, {first: np.ones(t.shape, bool)}
        for node in g.nodes[1:]:
            name = node.name
            xs = [a[i] for i in node.inputs]
            if node.kind == "act":
                a[name], M[name], E[name], X[name], amb = _act_step(node, xs[0], M[node.inputs[0]], E[node.inputs[0]],
                                                                    X[node.inputs[0]], ulps, dtype)
            elif node.kind == "maxpool":
                a[name], M[name], E[name], X[name], amb = _maxpool_step(node, xs[0], M[node.inputs[0]], E[node.inputs[0]],
                                                                        X[node.inputs[0]], ulps)
            else:
                absn = mag.nodes[mag.index[name]]
                count, _ = terms[name]
                a[name] = affine(node, xs)
                M[name] = affine(absn, [M[i] for i in node.inputs])
                E[name] = affine(absn, [E[i] for i in node.inputs], bias=False)
                if count:
                    E[name] = E[name] + _gamma(count + 1, u) * M[name]
                X[name] = _affine_exact(node, absn, [a[i] for i in node.inputs], [X[i] for i in node.inputs],
                                        M[name], bits.get(name), facts.get(name), digits, b)
                amb = None
            if amb is not None:
                ambiguous |= amb.reshape(b, -1).any(axis=1)
            for i in node.inputs:  # free what no later node reads
                if g.consumers[i][-1] == name:
                    for d in (a, M, E, X):
                        d.pop(i, None)
        tol_y[i0 : i0 + b] = 2 * E[out.name].reshape(b, -1)
    return Tolerances(reference, tol_y, tol_s, near)


def _affine_exact(node, absn, xs, exact, m, bits, facts, digits, b):
    """Which outputs of an affine node are exact in every backend, whatever the order of its
    sums and whether they fuse: those fed by exact inputs only whose every partial sum is a
    multiple of ``2**q`` (the lowest bit of the weights times that of the inputs, or the
    constant's) below ``2**(q + digits)`` (so it is representable: the sum of sizes ``m``
    bounds them); and the exact zeros, with no constant, whose every term is an exact 0.
    ``facts``: per unit, whether it has a constant and whether it reads any input."""
    if bits is None:  # it moves values: exact where they are
        return affine(node, exact) if node.kind != "cat" else np.concatenate(exact, axis=node.params["axis"] + 1)
    const, reads = facts
    qw, qb = bits
    qx = np.min([_quantum(v).reshape(b, -1).min(axis=1) for v in xs], axis=0)
    q = np.minimum(qw + qx, qb).reshape((b,) + (1,) * len(node.shape))
    size = m
    if node.kind == "avgpool" and node.params["ndim"] == 2:  # the first axis's sums are bounded too
        inner = np.abs(xs[0]) @ np.abs(node.params["mat1"]).T
        size = np.maximum(m, inner.reshape(b, -1).max(axis=1).reshape((b,) + (1,) * len(node.shape)))
    with np.errstate(over="ignore"):
        fits = size < np.exp2(q + digits)
    # the sums over the inputs below only where they can change the answer (trained
    # weights have low bits far below any sum's: nothing fits, and most inputs are not 0)
    if fits.any() and not all(x.all() for x in exact):
        fits &= ~(affine(absn, [1.0 - np.asarray(x, np.float64) for x in exact], bias=False) > 0)
    zero = ~const & ~reads  # reads no input: its value is 0 at every point
    zeros = [x & (v == 0) for x, v in zip(exact, xs)]
    if any(z.any() for z in zeros):
        zero = ~const & ~(affine(absn, [1.0 - z.astype(np.float64) for z in zeros], bias=False) > 0)
    return fits | zero


def _act_step(node, z, m, e, exact, ulps, dtype):
    """An activation node at a block of points: its values, sizes, bounds and exactness, and
    the units whose side rounding may decide (``z`` within ``ulps/2`` bounds of a breakpoint
    and not exact: an exact zero is checked, never excused)."""
    alpha, lo, hi = act_form(node, np.float64)
    thr = ulps / 2 * e
    amb = (np.abs(z) <= thr) & ~exact
    a, on, inside = activate(z, alpha, lo, hi)
    v = np.where(on, z, alpha * z)
    for edge in (lo, hi):
        if np.isfinite(edge):
            amb |= (np.abs(v - edge) <= np.maximum(1.0, np.abs(alpha)) * thr) & ~exact
    x = np.where(~inside, True, np.where(on, exact, alpha == 0))
    need = inside & ~on & exact & (alpha != 0)  # alpha * z: exact when the product is, in the dtype
    if need.any():
        p, product_exact = _exact_product(np.broadcast_to(alpha, z.shape)[need], z[need])
        x[need] = product_exact & (p.astype(dtype) == p)
    gain = np.maximum(1.0, np.abs(alpha))
    return a, m * gain, e * gain, x & ~amb, amb


def _maxpool_step(node, z, m, e, exact, ulps):
    """A max-pool node at a block of points: its values, sizes, bounds and exactness, and the
    windows whose argmax rounding may decide (another input within ``ulps/2`` of the two
    bounds of the largest, unless both are exact: an exact tie is checked, the first wins)."""
    win = maxpool_windows(node, z, -np.inf)
    idx = np.argmax(win, axis=-1)[..., None]
    top = np.take_along_axis(win, idx, -1)
    ew = maxpool_windows(node, e, 0.0)
    xw = maxpool_windows(node, exact, True)
    e_top, x_top = np.take_along_axis(ew, idx, -1), np.take_along_axis(xw, idx, -1)
    with np.errstate(invalid="ignore"):
        close = (top - win) <= ulps / 2 * (e_top + ew)
    close &= ~(x_top & xw)
    close &= np.arange(win.shape[-1]) != idx
    amb = close.any(axis=-1)
    return (top[..., 0], maxpool_windows(node, m, 0.0).max(axis=-1), ew.max(axis=-1), x_top[..., 0] & ~amb, amb)
