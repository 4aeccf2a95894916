"""Slices of input space: affine maps ``u -> origin + u @ directions``, folded into a first layer.

A slice of ``k`` coordinates is an origin and ``k`` directions in input space.  A line,
``x(t) = x0 + t*(x1 - x0)``, is the slice with ``k = 1``: origin ``x0``, direction
``x1 - x0``.  Folding a slice into a network (``fold``) gives a network of ``k`` inputs
whose first layer is ``W @ directions.T`` and ``W @ origin + b``: every analysis then
works on that network, and a new kind of slice is a new way to choose the origin and
the directions, never a new path through the analyses.
"""

import numpy as np

from ..utils.validation import as_float_array

DEFAULT_LINE_POINTS = 20_001  # along a line: as many points as the classic demo's grid
DEFAULT_RANGE = (-100.0, 100.0)  # a network of a scalar: the classic demo's x
DEFAULT_LINE_RANGE = (0.0, 1.0)  # along a line: from x0 to x1


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


def fold(weight, bias, origin, directions, dtype, name="along", kind="line"):
    """The first layer ``(weight, bias)`` with a slice folded in: ``W @ directions.T`` and
    ``W @ origin + b``, computed in float64, returned in ``dtype``.

    ``origin`` is (in,), ``directions`` (k, in), both float64 and checked; the folded
    weight is (out, k).  ``Network.along`` and ``on_line`` build the network from it.
    """
    w64 = weight.astype(np.float64)
    with np.errstate(over="ignore"):  # checked just below, with an error naming the slice
        slope = (w64 @ np.asarray(directions, np.float64).T).astype(dtype)
        offset = (w64 @ origin + bias.astype(np.float64)).astype(dtype)
    if not (np.isfinite(slope).all() and np.isfinite(offset).all()):
        raise ValueError(f"{name}: the first layer's pre-activations on this {kind} overflow {np.dtype(dtype).name}")
    return slope, offset


def default_range(start, stop, along):
    """``start`` and ``stop``, None meaning the slice's default: -100 and 100 for a network
    of a scalar, t = 0 and 1 along a line."""
    lo, hi = DEFAULT_LINE_RANGE if along is not None else DEFAULT_RANGE
    return (lo if start is None else start), (hi if stop is None else stop)
