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

__all__ = ["walk_scales", "scale_layers", "unscale"]

# scale only when some layer's bound leaves [2**-LIMIT, 2**LIMIT]: elsewhere the walk's
# products and sums (fan-in times 2**LIMIT at most) stay finite, and normal
_LIMIT = 400


def walk_scales(layers, forms):
    """Exponents ``e`` (one per layer: hidden layers, then the output), or None when the
    network needs no scaling.

    ``layers``: ``(W, b)`` float64 pairs of a network of a scalar; ``forms``: ``(alpha,
    lo, hi)`` per hidden layer.  Bounds are propagated in log2, so they never overflow.
    """
    with np.errstate(all="ignore"):  # logs of 0, underflow of tiny bounds: both mean "no size"
        return _exponents(layers, forms)


def _exponents(layers, forms):
    m = np.ones(1)  # the scaled bound of the input's map (slope 1, intercept 0)
    e_prev, exps = 0, []
    for k, (w, b) in enumerate(layers):
        aw = np.abs(w)
        top = float(aw.max()) if aw.size else 0.0
        f = int(np.frexp(top)[1]) if top > 0 else 0
        # |W| / 2**f @ m <= fan-in: no overflow (the scaling is exact, so it may follow the
        # product where the product cannot overflow, sparing a pass over W)
        a = np.ldexp(aw @ m, -f) if f < 900 else np.ldexp(aw, -f) @ m
        lg = np.logaddexp2(e_prev + f + np.log2(a), np.log2(np.abs(b)))
        finite = lg[np.isfinite(lg)]
        e = int(np.ceil(finite.max())) if finite.size else 0
        exps.append(e)
        if k == len(layers) - 1:
            break
        m = np.exp2(np.where(np.isfinite(lg), lg - e, -np.inf))
        alpha, lo, hi = forms[k]
        m = m * np.maximum(1.0, np.abs(alpha))
        if np.isfinite(lo) and np.isfinite(hi):
            m = np.minimum(m, np.ldexp(max(abs(lo), abs(hi)), -e))
        e_prev = e
    if all(abs(e) <= _LIMIT for e in exps):
        return None
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
