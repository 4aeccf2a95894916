"""``kinks`` and ``regions``: a network's exact breakpoints and linear pieces.

Two notions that are easy to confuse:

* an *activation boundary* is an x where some unit's pre-activation ``w1*x + b1``
  changes sign (``x = -b1/w1``; units with ``w1 == 0`` have none);
* a *kink* is an activation boundary where the slope actually changes.  A unit with
  ``w2 == 0``, the linear activation, or several units switching at one x whose
  slope changes cancel give boundaries that are not kinks.

``kinks(net)`` gives the kinks, ``kinks(net, boundaries=True)`` the boundaries.
The numerical work (sorting, exact sums) lives in ``fastrelu.backends.exact_kernel``,
imported on first use so that ``import fastrelu`` does not load Numba.
"""

import numpy as np

from ..model.network import Network
from .._validate import as_finite_scalar

__all__ = ["Regions", "kinks", "regions"]


def _bound(v, name, default):
    """``None`` -> ``default``; otherwise a real number, infinities allowed (an open end)."""
    if v is None:
        return default
    if isinstance(v, (float, np.floating)) and np.isinf(v):
        return float(v)
    return as_finite_scalar(v, name)


def _check(net, start, stop):
    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
    start = _bound(start, "start", -np.inf)
    stop = _bound(stop, "stop", np.inf)
    if start == np.inf or stop == -np.inf:
        raise ValueError(f"start must be < +inf and stop > -inf, got start={start} and stop={stop}")
    if stop < start:
        raise ValueError(f"stop must be >= start, got start={start} and stop={stop}")
    return start, stop


def _analyse(net, lines=True):
    """The network's sorted ``Events`` and their ``(positions, slope change)`` per distinct switch point."""
    from ..backends.exact_kernel import prepare, switch_groups

    ev = prepare(net.w1, net.b1, net.w2, net.b2, net.alpha, lines=lines)
    starts, change = switch_groups(ev)
    return ev, ev.ts[starts], change


def kinks(net, start=None, stop=None, *, boundaries=False):
    """The sorted x positions in ``[start, stop]`` where the network's slope changes.

    Parameters
    ----------
    net : Network
    start, stop : float, optional
        Closed interval to look in; None (the default) means no limit on that side.
    boundaries : bool, default False
        If True, return every activation boundary instead: each distinct x where some
        unit switches, including those where the slope does not change (``w2 == 0``,
        cancelling switches, the linear activation).

    Returns
    -------
    ndarray of float64
        Sorted, without repeats.  Each position is the correctly rounded ``-b1/w1``
        of the unit(s) switching there; units whose exact switch points round to the
        same float64 count as one position.

    Notes
    -----
    Several units switching at the same x make one kink whose slope change is the
    sum of theirs, ``(1 - alpha) * |w1[j]| * w2[j]`` each (alpha is the activation's
    slope for negative inputs), summed exactly: if they cancel there is no kink.
    float32 networks are analysed exactly in float64.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network([1.0, -1.0, 2.0], [0.0, 1.0, -2.0], [1.0, 1.0, -0.5])
    >>> fastrelu.kinks(net)                   # at x = 1 two slope changes cancel
    array([0.])
    >>> fastrelu.kinks(net, boundaries=True)
    array([0., 1.])
    >>> fastrelu.kinks(net, start=0.5)
    array([], dtype=float64)
    """
    start, stop = _check(net, start, stop)
    _, pos, change = _analyse(net, lines=False)
    if not boundaries:
        pos = pos[change != 0]
    return pos[(pos >= start) & (pos <= stop)].copy()


class Regions:
    """The linear pieces of a network over an interval: ``y = slope * x + intercept`` on each.

    Attributes
    ----------
    lo, hi : ndarray of float64
        Ends of each piece; ``hi[i] == lo[i + 1]``, ``lo[0]`` and ``hi[-1]`` are the
        interval asked for (possibly infinite).
    slope, intercept : ndarray of float64
        The line on the open piece ``(lo, hi)``, each rounded once from an exact sum.
    negative : ndarray of int32
        Number of units with pre-activation ``<= 0`` on the open piece, or -1 where
        that count is not constant on it (an activation boundary that is not a kink
        lies inside; ``regions(..., boundaries=True)`` splits there too).

    ``len(regions)`` is the number of pieces; ``str()`` / ``to_table()`` print them.
    """

    __slots__ = ("lo", "hi", "slope", "intercept", "negative")

    def __init__(self, lo, hi, slope, intercept, negative):
        self.lo, self.hi, self.slope, self.intercept = (np.asarray(a, np.float64) for a in (lo, hi, slope, intercept))
        self.negative = np.asarray(negative, np.int32)
        for a in (self.lo, self.hi, self.slope, self.intercept, self.negative):
            a.flags.writeable = False

    def __len__(self):
        return self.lo.shape[0]

    def to_table(self, max_rows=None):
        """The pieces as a text table, one row each (the middle elided beyond ``max_rows``).

        Examples
        --------
        >>> import fastrelu
        >>> print(fastrelu.regions(fastrelu.Network([1.0], [-1.0], [2.0])).to_table())
                lo          hi       slope   intercept  negative
              -inf           1           0           0         1
                 1         inf           2          -2         0
        """
        head = f"{'lo':>10}  {'hi':>10}  {'slope':>10}  {'intercept':>10}  {'negative':>8}"
        rows = range(len(self))
        if max_rows is not None and len(self) > max_rows:
            keep = max(max_rows // 2, 1)
            rows = [*range(keep), None, *range(len(self) - keep, len(self))]
        lines = [head]
        for i in rows:
            if i is None:
                lines.append(f"{'...':>10}  ({len(self) - 2 * keep} more pieces)")
                continue
            n = int(self.negative[i])
            lines.append(
                f"{self.lo[i]:>10.6g}  {self.hi[i]:>10.6g}  {self.slope[i]:>10.6g}  {self.intercept[i]:>10.6g}  "
                f"{'varies' if n < 0 else n:>8}"
            )
        return "\n".join(lines)

    def __str__(self):
        return self.to_table(max_rows=20)

    def __repr__(self):
        if not len(self):
            return "Regions(pieces=0)"
        return f"Regions(pieces={len(self)}, lo={self.lo[0]:g}, hi={self.hi[-1]:g})"


def regions(net, start=None, stop=None, *, boundaries=False):
    """The linear pieces of ``net`` covering ``[start, stop]``.

    Parameters
    ----------
    net : Network
    start, stop : float, optional
        The interval to cover; None (the default) means no limit on that side.
    boundaries : bool, default False
        If True, split at every activation boundary (so that each piece has a single
        activation pattern) rather than only at kinks; neighbouring pieces may then
        share a line.

    Returns
    -------
    Regions
        ``len(kinks(net, start, stop)) + 1`` pieces, minus one for each kink at
        ``start`` or ``stop`` themselves (a piece ends there anyway).  A sweep agrees
        with the pieces at every grid point strictly inside one, with one exception:
        exactly at an activation boundary that is not a kink, the sweep's slope counts
        the units switching there as off (the project's convention), which can differ
        from the piece's slope when their changes cancel; ``y`` agrees there too.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0], b2=0.5)
    >>> r = fastrelu.regions(net, start=-5.0, stop=5.0)
    >>> len(r), r.lo, r.slope, r.negative
    (3, array([-5.,  0.,  1.]), array([-3., -1.,  2.]), array([1, 0, 1], dtype=int32))
    >>> print(r)
            lo          hi       slope   intercept  negative
            -5           0          -3         3.5         1
             0           1          -1         3.5         0
             1           5           2         0.5         1
    """
    start, stop = _check(net, start, stop)
    ev, pos, change = _analyse(net)
    cuts = pos if boundaries else pos[change != 0]
    cuts = cuts[(cuts > start) & (cuts < stop)]
    lo = np.concatenate(([start], cuts))
    hi = np.concatenate((cuts, [stop]))
    # the open piece (lo, hi) has every switch at or left of lo applied, none of the rest
    k = np.searchsorted(ev.ts, lo, side="right")
    inside = np.searchsorted(ev.ts, hi, side="left") - k  # switches strictly inside the piece
    negative = np.where(inside == 0, ev.neg[k], -1)
    return Regions(lo, hi, ev.state[k, 0], ev.state[k, 2], negative)


def prefer_exact(net, n):
    """Whether ``backend="auto"`` should run the exact backend for ``net`` over ``n`` points.

    It applies to every ``Network`` (one hidden layer, piecewise-linear activation).
    """
    # Measured against the cffi kernel, float64, 2 threads, best of 40, switch points
    # sorted afresh every call (benchmarks/README.md):
    #   H=1..16:  cffi 0.07-0.13 ms vs exact 0.10-0.16 ms at N <= 1e4 (exact pays ~30 us
    #             of set-up in Python), about equal (11-12 ms, both just writing outputs)
    #             at N = 1e6: a tie, except that the set-up is pure loss for a few units;
    #   H=64:     N=1e4 exact 0.16 vs cffi 0.19 ms; N=1e6 9.5 vs 24 ms;
    #   H=256:    N=1e4 0.17 vs 0.37 ms; N=1e6 12 vs 48 ms, and the gap grows as N*H.
    # Below ~100 points both take < 0.1 ms, so n does not change the choice.
    return net.hidden >= 8
