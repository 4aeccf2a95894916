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
