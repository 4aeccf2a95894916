"""A line through input space, ``x(t) = x0 + t*(x1 - x0)``, folded into a network's first layer."""

import numpy as np

from .._validate import as_float_array


def check_line(along, n_in):
    """``(x0, x1)`` as float64 vectors of ``n_in`` entries, finite and distinct; else a clear error."""
    if isinstance(along, (str, bytes)) or not hasattr(along, "__len__") or len(along) != 2:
        raise TypeError("along must be a pair (x0, x1) of input vectors")
    ends = []
    for name, v in zip(("x0", "x1"), along):
        a = as_float_array(np.atleast_1d(np.asarray(v)), f"along's {name}", np.float64)
        if a.shape != (n_in,):
            raise ValueError(f"along's {name} must have {n_in} entries (the network's inputs), got shape {a.shape}")
        ends.append(a)
    x0, x1 = ends
    with np.errstate(over="ignore"):
        d = x1 - x0
    if not np.isfinite(d).all():
        raise ValueError("along: x1 - x0 overflows float64")
    if not d.any():
        raise ValueError("along: x0 and x1 are the same point, so they span no line")
    return x0, x1


def fold_line(net, x0, x1):
    """``net`` as a function of ``t``: first layer ``W @ (x1 - x0)`` and ``W @ x0 + b`` (float64, then the net's dtype)."""
    from .network import Layer, Network

    x0, x1 = check_line((x0, x1), net.in_features)
    w, b = net.layers[0]
    w64 = w.astype(np.float64)
    with np.errstate(over="ignore"):
        slope = w64 @ (x1 - x0)
        offset = w64 @ x0 + b.astype(np.float64)
    with np.errstate(over="ignore"):  # checked just below, with an error naming the line
        first = Layer(slope[:, None].astype(net.dtype), offset.astype(net.dtype))
    if not (np.isfinite(first.weight).all() and np.isfinite(first.bias).all()):
        raise ValueError(f"along: the first layer's pre-activations on this line overflow {net.dtype.name}")
    return Network._make([first, *net.layers[1:]], net.activations)
