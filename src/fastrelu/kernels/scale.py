"""Power-of-two scales that keep the exact walk's numbers inside float64's range.

A layer's pre-activations can be far outside float64's range even when the network's
output is not (``1e200 * 1e200`` units feeding a ``1e-300`` output weight).  The walk
then runs on a scaled copy: the pre-activations of hidden layer ``k`` divided by
``2**e[k]``, so that a bound on every map (slope plus intercept) is about 1 in every
layer.  Every activation fastrelu reads is positively homogeneous up to its clamp
(``act(c*z) = c * act_c(z)`` with the clamp divided by ``c``), so the scaled network
has the same activation patterns and breakpoints in ``t``; its output is the true one
divided by ``2**e[-1]``.  Multiplying by a power of two is exact (barring underflow to
subnormals, which only drops terms below ``2**-1022`` of a layer's scale, far inside
the rounding bound), so a walk of the scaled network gives the same bits, scaled.
"""

import numpy as np

__all__ = ["walk_scales", "walk_scales_many", "scale_layers", "unscale"]

# scale only when some layer's bound leaves [2**-LIMIT, 2**LIMIT]: elsewhere the walk's
# products and sums (fan-in times 2**LIMIT at most) stay finite, and normal
_LIMIT = 400


def walk_scales(layers, forms):
    """Exponents ``e`` (one per layer: hidden layers, then the output), or None when the
    network needs no scaling.

    ``layers``: ``(W, b)`` float64 pairs of a network of a scalar; ``forms``: ``(alpha,
    lo, hi)`` per hidden layer.  Bounds are propagated in log2, so they never overflow.
    """
    return walk_scales_many(layers, forms, [layers[0]])[0]


def walk_scales_many(layers, forms, firsts):
    """``walk_scales`` of many networks that differ only in their first layer (the lines
    of one network, each with its own folded first layer), at the cost of about one.

    ``layers`` as for ``walk_scales`` (its first layer is not read); ``firsts``: each
    network's first ``(W, b)``.  Returns one entry per first layer, each what
    ``walk_scales([first, *layers[1:]], forms)`` gives: the shared layers' ``|W|`` and
    its largest entry are taken once, and every network's bounds go through a layer in
    one matrix-matrix product instead of one product each.

    Examples
    --------
    >>> import numpy as np
    >>> b, relu = np.zeros(4), (np.zeros(4), -np.inf, np.inf)
    >>> layers = [(np.ones((4, 1)), b), (np.ones((4, 4)) * 1e300, b), (np.ones((1, 4)), np.zeros(1))]
    >>> walk_scales_many(layers, [relu, relu], [(np.ones((4, 1)), b), (np.ones((4, 1)) * 1e-300, b)])
    [[0, 999, 1001], [-996, 2, 4]]
    """
    with np.errstate(all="ignore"):  # logs of 0, underflow of tiny bounds: both mean "no size"
        exps = _exponents(layers, forms, firsts)
    return [None if np.all(np.abs(e) <= _LIMIT) else [int(v) for v in e] for e in exps.T]


def _bound_log2(aw, f, m, e_prev, b):
    """log2 of the bound of a layer's maps, columns of ``m`` (the scaled bounds of its
    inputs, one column per network) at the input scales ``2**e_prev``; ``aw = |W|`` whose
    largest entry has exponent ``f``."""
    # |W| / 2**f @ m <= fan-in: no overflow (the scaling is exact, so it may follow the
    # product where the product cannot overflow, sparing a pass over W)
    a = np.ldexp(aw @ m, -f) if f < 900 else np.ldexp(aw, -f) @ m
    return np.logaddexp2(e_prev + f + np.log2(a), np.log2(np.abs(b))[:, None])


def _exponent(top):
    return int(np.frexp(top)[1]) if top > 0 else 0


def _exponents(layers, forms, firsts):
    """(layers, networks) int64 exponents, before the test against ``_LIMIT``."""
    n = len(firsts)
    exps = np.zeros((len(layers), n), np.int64)
    lgs = []
    for w, b in firsts:  # the first layers, each its own (the input's map: slope 1, intercept 0)
        w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
        aw = np.abs(w)
        lgs.append(_bound_log2(aw, _exponent(float(aw.max()) if aw.size else 0.0), np.ones((w.shape[1], 1)), 0, b)[:, 0])
    lg = np.stack(lgs, axis=1) if lgs else np.zeros((layers[0][1].shape[0], 0))
    for k in range(len(layers)):
        if k > 0:
            w, b = layers[k]
            aw = np.abs(w)
            lg = _bound_log2(aw, _exponent(float(aw.max()) if aw.size else 0.0), m, exps[k - 1][None, :], b)
        fin = np.isfinite(lg)
        top = np.where(fin, lg, -np.inf).max(axis=0, initial=-np.inf)
        exps[k] = np.where(np.isfinite(top), np.ceil(top), 0)
        if k == len(layers) - 1:
            break
        m = np.exp2(np.where(fin, lg - exps[k][None, :], -np.inf))
        alpha, lo, hi = forms[k]
        m = m * np.maximum(1.0, np.abs(np.asarray(alpha, np.float64)))[:, None] if np.ndim(alpha) else m * max(1.0, abs(alpha))
        if np.isfinite(lo) and np.isfinite(hi):
            m = np.minimum(m, np.ldexp(max(abs(lo), abs(hi)), -exps[k])[None, :])
    return exps


def scale_layers(layers, forms, exps):
    """The scaled layers and clamps: ``W[k] * 2**(e[k-1] - e[k])``, ``b[k] * 2**-e[k]``,
    the clamps of hidden layer ``k`` times ``2**-e[k]``.  A clamp that a power of two
    cannot carry exactly (it would underflow) is a ValueError naming the layer."""
    out, clamps, e_prev = [], [], 0
    for k, (w, b) in enumerate(layers):
        e = exps[k]
        with np.errstate(under="ignore"):  # terms below 2**-1074 of the layer's scale: far inside rounding
            out.append((np.ldexp(w, e_prev - e), np.ldexp(b, -e)))
        if k < len(forms):
            _, lo, hi = forms[k]
            sl, sh = (float(np.ldexp(v, -e)) if np.isfinite(v) else v for v in (lo, hi))
            for v, s in ((lo, sl), (hi, sh)):
                if np.isfinite(v) and float(np.ldexp(s, e)) != v:
                    raise ValueError(
                        f"hidden layer {k}'s clamp {v:g} is too small beside its pre-activations "
                        f"(up to about 2**{e}) to be analysed in float64"
                    )
            clamps.append((sl, sh))
        e_prev = e
    return out, clamps


def unscale(a, e, what):
    """``a * 2**e``, or a ValueError saying that ``what`` is beyond float64's range."""
    with np.errstate(over="ignore"):
        r = np.ldexp(a, e)
    if not np.all(np.isfinite(r)):
        raise ValueError(
            f"the output's {what} on some linear piece is beyond float64's range "
            f"(up to about 2**{e + int(np.frexp(np.nanmax(np.abs(a)))[1])}): it cannot be represented"
        )
    return r
