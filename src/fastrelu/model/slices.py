"""Slices of input space: affine maps ``u -> origin + u @ directions``, folded into a first layer.

A slice of ``k`` coordinates is an origin and ``k`` directions in input space.  A line,
``x(t) = x0 + t*(x1 - x0)``, is the slice with ``k = 1``: origin ``x0``, direction
``x1 - x0``.  A plane is the slice with ``k = 2``: through three inputs
(``plane_through``, in Regioncam's orthonormal, centred coordinates) or a network's own
input plane (``input_plane``).  Folding a slice into a network (``fold``) gives a network of ``k`` inputs
whose first layer is ``W @ directions.T`` and ``W @ origin + b``: every analysis then
works on that network, and a new kind of slice is a new way to choose the origin and
the directions, never a new path through the analyses.
"""

from typing import NamedTuple

import numpy as np

from ..utils.validation import as_finite_scalar, as_float_array, as_positive_int

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


DEFAULT_PLANE_SCALE = 1.5  # the default square around three points: Regioncam's, 1.5 times the points' reach


def _point_vectors(points, n_in, name, names):
    """``points`` as float64 vectors of ``n_in`` entries, checked one by one (errors name ``name``)."""
    if isinstance(points, (str, bytes)) or not hasattr(points, "__len__") or len(points) != len(names):
        raise TypeError(f"{name} must be {'(' + ', '.join(names) + ')'}: {len(names)} input vectors")
    out = []
    for label, v in zip(names, points):
        a = as_float_array(np.atleast_1d(np.asarray(v)), f"{name}'s {label}", np.float64)
        if a.shape != (n_in,):
            raise ValueError(f"{name}'s {label} must have {n_in} entries (the network's inputs), got shape {a.shape}")
        out.append(a)
    return out


class Plane(NamedTuple):
    """A plane of input space in orthonormal coordinates ``(u, v)``: ``x = origin + u*d1 + v*d2``.

    ``directions`` is ``(2, in)`` (rows ``d1``, ``d2``, orthonormal), ``points`` the plane
    coordinates ``(3, 2)`` of the three points the plane was drawn through (empty for an
    input plane), ``bounds`` the default rectangle ``((u0, u1), (v0, v1))``.
    """

    origin: np.ndarray
    directions: np.ndarray
    points: np.ndarray
    bounds: tuple


def plane_through(points, n_in):
    """The plane through three inputs, in Regioncam's coordinates; else a clear error.

    Gram-Schmidt of ``x1 - x0`` and ``x2 - x0`` gives the orthonormal directions
    ``d1``, ``d2``; the origin is moved to the centre of the bounding box of the three
    points' plane coordinates, so that the points sit symmetrically around ``(0, 0)``;
    the default bounds are the square ``[-s, s]^2`` with ``s`` 1.5 times the largest
    coordinate of the points (``Regioncam.through_points``).  Distances and areas in
    ``(u, v)`` are those of input space.

    Parameters
    ----------
    points : (x0, x1, x2)
        Three input vectors of ``n_in`` entries each, not collinear.
    n_in : int
        The network's inputs.

    Returns
    -------
    Plane

    Examples
    --------
    >>> p = plane_through(([0, 0, 0], [2, 0, 0], [0, 1, 0]), 3)
    >>> p.directions
    array([[1., 0., 0.],
           [0., 1., 0.]])
    >>> p.origin, p.points[0], p.bounds
    (array([1. , 0.5, 0. ]), array([-1. , -0.5]), ((-1.5, 1.5), (-1.5, 1.5)))
    """
    x0, x1, x2 = _point_vectors(points, n_in, "plane", ("x0", "x1", "x2"))
    with np.errstate(over="ignore", invalid="ignore"):
        e1, e2 = x1 - x0, x2 - x0
        n1 = float(np.linalg.norm(e1))
        if not (np.isfinite(e1).all() and np.isfinite(e2).all() and np.isfinite(n1)):
            raise ValueError("plane: the points are too far apart for float64 (x1 - x0 or x2 - x0 overflows)")
        if n1 == 0.0:
            raise ValueError("plane: x0 and x1 are the same point, so the three points span no plane")
        d1 = e1 / n1
        w = e2 - (e2 @ d1) * d1
        nw = float(np.linalg.norm(w))
    # below a few roundings of |x2 - x0| the second direction is rounding, not geometry
    if not nw > 8 * np.finfo(np.float64).eps * float(np.linalg.norm(e2)):
        raise ValueError("plane: x0, x1 and x2 are collinear (or equal), so they span no plane")
    d2 = w / nw
    directions = np.stack([d1, d2])
    rel = np.stack([np.zeros(2), directions @ e1, directions @ e2])
    centre = 0.5 * (rel.min(axis=0) + rel.max(axis=0))
    coords = rel - centre
    origin = x0 + centre @ directions
    s = DEFAULT_PLANE_SCALE * float(np.abs(coords).max())
    return Plane(origin, directions, coords, ((-s, s), (-s, s)))


def input_plane():
    """The input plane of a network of two inputs: origin 0, directions the two inputs.

    Examples
    --------
    >>> input_plane().directions
    array([[1., 0.],
           [0., 1.]])
    """
    return Plane(np.zeros(2), np.eye(2), np.zeros((0, 2)), None)


def check_bounds(bounds):
    """``((u0, u1), (v0, v1))`` as floats, finite with ``u0 < u1`` and ``v0 < v1``; else a clear error.

    Examples
    --------
    >>> check_bounds([(-1, 1), (0, 2)])
    ((-1.0, 1.0), (0.0, 2.0))
    """
    pairs = []
    if isinstance(bounds, (str, bytes)) or not hasattr(bounds, "__len__") or len(bounds) != 2:
        raise TypeError("bounds must be ((u0, u1), (v0, v1)): a range for each plane coordinate")
    for axis, pair in zip("uv", bounds):
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise TypeError(f"bounds must be ((u0, u1), (v0, v1)): its {axis} range must be a pair of numbers")
        lo, hi = (as_finite_scalar(x, f"bounds' {axis}{i}") for i, x in enumerate(pair))
        if not lo < hi:
            raise ValueError(f"bounds: the {axis} range ({lo:g}, {hi:g}) is empty; need {axis}0 < {axis}1")
        pairs.append((lo, hi))
    return tuple(pairs)


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


def random_line(n_in, seed=0):
    """The ends ``(x0, x1)`` of a random line through the input space of ``n_in`` inputs.

    Both ends are drawn from the standard normal with ``numpy.random.default_rng([seed, 1])``.
    The ``1`` keeps this stream apart from ``Network.random(..., seed=seed)``'s, so one
    seed can name a network and a line through it without the line repeating the
    network's first weights.

    The command line's ``--along random`` (with ``--seed``) calls this function: a
    random line belongs to the Python API, so that a line drawn in the shell can be
    drawn again in Python, point for point.

    Parameters
    ----------
    n_in : int
        The network's inputs (``net.in_features``), >= 1.
    seed : int, optional
        A seed >= 0 (default 0, the command line's default).

    Returns
    -------
    tuple of two numpy.ndarray
        ``x0`` and ``x1``, float64, ``n_in`` entries each; give them to
        ``sweep(net, along=...)`` or ``regions(net, along=...)``.

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.model.slices import random_line
    >>> net = fastrelu.Network.random([3, 8, 2], seed=4)
    >>> x0, x1 = random_line(net.in_features, seed=4)   # fastrelu sweep --widths 3,8,2 --seed 4 --along random
    >>> x0.shape, x1.dtype
    ((3,), dtype('float64'))
    >>> res = fastrelu.sweep(net, along=(x0, x1), num=11)
    >>> bool((res.along[1] == x1).all())
    True
    """
    n_in = as_positive_int(n_in, "n_in")
    # bool is an int to Python, but no seed anyone means
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    x0, x1 = np.random.default_rng([int(seed), 1]).standard_normal((2, n_in))
    return x0, x1


def random_plane(n_in, seed=0):
    """Three random inputs ``(x0, x1, x2)`` spanning a plane through the input space of ``n_in`` inputs.

    Drawn from the standard normal with ``numpy.random.default_rng([seed, 2])`` (a stream
    apart from ``Network.random``'s and ``random_line``'s for the same seed).  The command
    line's ``fastrelu map --plane random`` calls this function, so a plane drawn in the
    shell can be drawn again in Python.

    Parameters
    ----------
    n_in : int
        The network's inputs, >= 2.
    seed : int, optional
        A seed >= 0 (default 0).

    Returns
    -------
    numpy.ndarray, shape (3, n_in)
        Give it to ``regions(net, plane=...)``.

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.model.slices import random_plane
    >>> net = fastrelu.Network.random([5, 16, 1], seed=0)
    >>> m = fastrelu.regions(net, plane=random_plane(5, seed=0))   # fastrelu map --widths 5,16,1 --plane random
    >>> m.n_vertices - m.n_edges + len(m)
    1
    """
    n_in = as_positive_int(n_in, "n_in")
    if n_in < 2:
        raise ValueError(f"a plane needs at least two inputs, got n_in={n_in}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng([int(seed), 2]).standard_normal((3, n_in))
