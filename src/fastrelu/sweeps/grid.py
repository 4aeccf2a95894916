"""The 1-D grid a sweep runs over: ``x_i = start + i*step``, or ``num`` points, or given points."""

import numpy as np

from ..utils.validation import (
    as_finite_scalar,
    as_float_array,
    as_interval,
    as_positive_int,
)

DEFAULT_STEP = 0.01
# Points per block when a grid is written out: the float64 scratch (512 KiB) stays
# in L2, each point is written to memory once, and a float32 grid of 10**9 points
# needs no float64 copy of itself.
_BLOCK = 1 << 16


class Grid:
    """A planned grid: its size is known before anything is allocated.

    ``start + i*step`` for ``i`` in ``range(n)`` (each point computed directly, so no
    rounding accumulates), with the last point set to ``stop`` exactly when ``pin_stop``;
    or, when ``points`` is given, those points.
    """

    __slots__ = ("n", "start", "step", "stop", "pin_stop", "points", "_spans")

    def __init__(self, n, start=0.0, step=0.0, stop=None, pin_stop=False, points=None, span=None):
        self.n, self.start, self.step, self.stop, self.pin_stop, self.points = n, start, step, stop, pin_stop, points
        self._spans = {} if span is None else {"given": tuple(span)}

    def span(self, dtype):
        """``(lo, hi)``: the smallest and largest point of the whole grid built in ``dtype``
        (NaN ignored; None when every point is NaN), worked out once.

        Kernels whose values depend on the interval they analyse (the exact backend's
        walk) take this rather than the span of the part they are given, so that a
        chunk's values never depend on how a request is cut into chunks.  A grid that
        holds only a part of a request's points (a task's slice of a store) is given
        the whole request's span (``span=``).
        """
        if "given" in self._spans:
            return self._spans["given"]
        key = np.dtype(dtype).name
        if key not in self._spans:
            if self.points is not None:
                p = np.asarray(self.points, dtype)
                p = p[~np.isnan(p)]
                self._spans[key] = (float(p.min()), float(p.max())) if p.size else None
            else:  # ascending: the first and the last point, as build() rounds them
                self._spans[key] = (float(self.build(dtype, 0, 1)[0]), float(self.build(dtype, self.n - 1, self.n)[0]))
        return self._spans[key]

    def build(self, dtype, lo=0, hi=None):
        """Points ``lo`` to ``hi`` (default: all) of the grid as a new array of ``dtype``."""
        hi = self.n if hi is None else hi
        if self.points is not None:
            # a copy: the result must not change when the caller reuses their array
            return np.array(self.points[lo:hi], dtype, order="C", copy=True)
        x = np.empty(hi - lo, dtype)
        offsets = np.arange(min(_BLOCK, hi - lo), dtype=np.float64)
        scratch = np.empty_like(offsets)
        half = self._wide()
        start, step = (self.start / 2, self.step / 2) if half else (self.start, self.step)
        for i0 in range(lo, hi, _BLOCK):
            m = min(_BLOCK, hi - i0)
            # start + i*step in float64 (i is exact), rounded once to dtype
            np.add(offsets[:m], i0, out=scratch[:m])
            np.multiply(scratch[:m], step, out=scratch[:m])
            if half:
                np.add(scratch[:m], start, out=scratch[:m])
                np.multiply(scratch[:m], 2.0, out=x[i0 - lo : i0 - lo + m])
            else:
                np.add(scratch[:m], start, out=x[i0 - lo : i0 - lo + m])
        if self.pin_stop and hi == self.n and hi > lo:
            x[-1] = self.stop
        return x

    def bound(self):
        """``max(|x|)`` over the grid (no pass over the points when it is regular)."""
        if self.points is not None:
            return max(abs(float(self.points.min())), abs(float(self.points.max())))
        if self.pin_stop:
            last = self.stop
        elif self._wide():
            last = 2 * (self.start / 2 + (self.n - 1) * (self.step / 2))
        else:
            last = self.start + (self.n - 1) * self.step
        return max(abs(self.start), abs(last))

    def _wide(self):
        """Whether ``i*step`` can overflow float64 although every point is finite (ends
        near +-1e308).  Such a grid is computed at half scale, ``2*(start/2 + i*(step/2))``:
        halving is exact at these magnitudes, so the points are those of ``start + i*step``."""
        return not np.isfinite(abs(self.start) + (self.n - 1) * abs(self.step))

    def params(self):
        """The grid as plain data (for a store's attributes), or None for given points."""
        if self.points is not None:
            return None
        return {"n": self.n, "start": self.start, "step": self.step, "stop": self.stop, "pin_stop": self.pin_stop}


def plan_grid(start, stop, step, num, x):
    """Check the grid arguments of ``sweep`` and return a ``Grid`` (nothing allocated yet
    except the validated copy of an explicit ``x``)."""
    if x is not None:
        if step is not None or num is not None:
            raise TypeError("give the grid either as x or as start/stop with step or num, not both")
        points = as_float_array(x, "x")
        if points.shape[0] == 0:
            raise ValueError("x must hold at least one point, got an empty array")
        return Grid(points.shape[0], points=points)
    if step is not None and num is not None:
        raise TypeError("give step or num, not both")
    start, stop = as_interval(start, stop)
    if num is not None:
        num = as_positive_int(num, "num")
        # numpy.linspace's points: start + i*delta, the last one exactly stop
        delta = _spacing(start, stop, num - 1) if num > 1 else 0.0
        if not np.isfinite(delta):  # two ends more than float64's range apart: just the ends
            return Grid(2, points=np.array([start, stop]))
        return Grid(num, start, delta, stop, pin_stop=num > 1)
    step = DEFAULT_STEP if step is None else as_finite_scalar(step, "step")
    if step <= 0:
        raise ValueError(f"step must be > 0, got {step}")
    q = _spacing(start, stop, step)
    if not np.isfinite(q) or q >= 2.0**62:
        raise ValueError(f"the grid from {start} to {stop} in steps of {step} has too many points")
    k = round(q)
    on_grid = abs(q - k) <= 8 * np.finfo(np.float64).eps * max(1.0, k)
    n = (k if on_grid else int(np.floor(q))) + 1
    return Grid(n, start, step, stop, pin_stop=on_grid and n > 1)


def _spacing(start, stop, parts):
    """``(stop - start) / parts`` in float64, without overflow when only the span overflows.

    Ends near +-1e308 lie more than float64's range apart; then their halves are
    subtracted and the quotient doubled, which rounds as the direct formula would
    (halving and doubling are exact at these magnitudes).  inf only when the
    quotient itself is beyond float64.
    """
    with np.errstate(over="ignore"):
        span = stop - start
        if np.isfinite(span):
            return span / parts
        return 2 * ((stop / 2 - start / 2) / parts)


class PlaneGrid:
    """A planned grid of pixels on a plane: ``u`` along the columns, ``v`` along the rows.

    Pixel ``(j, i)`` (row ``j``, column ``i``) is the point ``(u[i], v[j])``; flat, it is
    point ``j*nu + i`` (row-major, as the result's ``(nv, nu)`` arrays hold it).  Each axis
    is a ``Grid``, placed as a line's grid is (``num`` points as ``numpy.linspace`` places
    them, or ``start + i*step``), so a plane's pixels sit where a line's points would.
    """

    __slots__ = ("u", "v", "n", "shape", "_spans")
    points = None  # a regular grid: no explicit points (as a line's Grid of start and step)

    def __init__(self, u, v, span=None):
        self.u, self.v = u, v
        self.n, self.shape = u.n * v.n, (v.n, u.n)
        self._spans = {} if span is None else {"given": tuple(map(tuple, span))}

    def build(self, dtype, lo=0, hi=None):
        """Pixels ``lo`` to ``hi`` (flat, row-major; default all) as a new ``(hi - lo, 2)``
        array of ``dtype``: each row ``(u, v)``."""
        hi = self.n if hi is None else hi
        out = np.empty((hi - lo, 2), dtype)
        if hi <= lo:
            return out
        nu = self.u.n
        j0, j1 = lo // nu, (hi - 1) // nu + 1
        u = self.u.build(dtype)
        v = self.v.build(dtype, j0, j1)
        # the pixels of rows j0..j1-1, then the part lo..hi of them
        rows = np.empty((j1 - j0, nu, 2), dtype)
        rows[:, :, 0] = u[None, :]
        rows[:, :, 1] = v[:, None]
        out[:] = rows.reshape(-1, 2)[lo - j0 * nu : hi - j0 * nu]
        return out

    def span(self, dtype):
        """``((u0, u1), (v0, v1))``: the rectangle of the whole grid built in ``dtype`` (or
        the one given), which the exact backend maps whatever part of the grid it is given."""
        if "given" in self._spans:
            return self._spans["given"]
        key = np.dtype(dtype).name
        if key not in self._spans:
            self._spans[key] = (self.u.span(dtype), self.v.span(dtype))
        return self._spans[key]

    def bound(self):
        """``max(|u|, |v|)`` over the grid."""
        return max(self.u.bound(), self.v.bound())

    def params(self):
        """The grid as plain data (for a stored result's attributes)."""
        return {"u": self.u.params(), "v": self.v.params()}


def plan_plane_grid(bounds, step, num):
    """Check the grid arguments of a plane's sweep and return a ``PlaneGrid``.

    ``bounds`` is ``((u0, u1), (v0, v1))`` (checked); ``num`` is ``(nu, nv)`` pixels, or
    ``step`` one spacing for both axes or a pair ``(du, dv)``; neither: ``DEFAULT_PLANE_PIXELS``.
    """
    if step is not None and num is not None:
        raise TypeError("give step or num, not both")
    (u0, u1), (v0, v1) = bounds
    if step is None:
        num = DEFAULT_PLANE_PIXELS if num is None else num
        if isinstance(num, (str, bytes)) or not hasattr(num, "__len__") or len(num) != 2:
            raise ValueError(f"num must be a pair (nu, nv) of pixel counts on a plane, got {num!r}")
        nu, nv = (as_positive_int(n, f"num's {axis}") for n, axis in zip(num, ("nu", "nv")))
        return PlaneGrid(plan_grid(u0, u1, None, nu, None), plan_grid(v0, v1, None, nv, None))
    if isinstance(step, (str, bytes)):
        raise TypeError(f"step must be a number or a pair (du, dv), got {step!r}")
    steps = tuple(step) if hasattr(step, "__len__") else (step, step)
    if len(steps) != 2:
        raise ValueError(f"step must be a number or a pair (du, dv) on a plane, got {step!r}")
    return PlaneGrid(plan_grid(u0, u1, steps[0], None, None), plan_grid(v0, v1, steps[1], None, None))


DEFAULT_PLANE_PIXELS = (400, 400)  # as many pixels as the region map figure's panels
