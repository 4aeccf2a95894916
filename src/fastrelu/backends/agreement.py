"""How closely a sweep must agree with the numpy reference: one rule for the tests and
for ``fastrelu bench``.

Two backends computing the same sweep may differ only by rounding:

* ``y``: every backend sums at most H + 2 rounded terms in some order, so each is
  within ``gamma(H + 4) * S`` of the exact value, where ``gamma(n) = n*u/(1 - n*u)``,
  ``u`` is the unit roundoff of the dtype and ``S = |b2| + sum_j |w2_j| * (|w1_j*x| +
  |b1_j|)`` bounds every term and every partial sum.  Two backends therefore agree
  within ``2 * gamma(H + 4) * S`` at every point.
* ``slope`` likewise within ``2 * gamma(H + 2) * sum_j |w2_j * w1_j|``, and
  ``negative`` exactly,
* except at points within ``ulps`` roundings of a kink (some unit has
  ``|w1_j*x + b1_j| <= ulps * u * (|w1_j*x| + |b1_j|)``), where rounding decides
  which side of the kink the point is on and slope and count may legitimately differ.
"""

from dataclasses import dataclass

import numpy as np

_BLOCK_ELEMENTS = 1 << 18


def _gamma(n, u):
    return n * u / (1.0 - n * u)


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


def compare(result, reference, ulps=4):
    """Check ``result`` against ``reference`` (both ``SweepResult``s of one network and grid).

    Returns an ``Agreement``; see the module docstring for the rule.
    """
    if len(result) != len(reference) or not np.array_equal(result.x, reference.x):
        raise ValueError("result and reference are not on the same grid")
    dtype = reference.dtype
    u = float(np.finfo(dtype).eps) / 2
    w1, b1, w2, b2, c, _ = (np.asarray(p, np.float64) for p in reference.network._kernel_params(dtype))
    h = w1.shape[0]
    tol_scale_y = 2 * _gamma(h + 4, u)
    tol_slope = 2 * _gamma(h + 2, u) * float(np.sum(np.abs(c)))
    near = y_err = s_err = n_err = 0
    worst_y = worst_s = 0.0
    rows = max(1, _BLOCK_ELEMENTS // h)
    for i0 in range(0, len(reference), rows):
        sl = slice(i0, i0 + rows)
        x = reference.x[sl].astype(np.float64)
        wx = np.multiply.outer(x, w1)
        mag = np.abs(wx) + np.abs(b1)
        z = wx + b1
        ambiguous = (np.abs(z) <= ulps * u * mag).any(axis=1)
        tol_y = tol_scale_y * (abs(float(b2)) + mag @ np.abs(w2))
        dy = np.abs(result.y[sl].astype(np.float64) - reference.y[sl].astype(np.float64))
        ds = np.abs(result.slope[sl].astype(np.float64) - reference.slope[sl].astype(np.float64))
        dy_ratio = dy / np.maximum(tol_y, np.finfo(np.float64).tiny)
        ds_ratio = np.where(ambiguous, 0.0, ds / max(tol_slope, np.finfo(np.float64).tiny))
        near += int(ambiguous.sum())
        y_err += int((dy > tol_y).sum())
        s_err += int(((ds > tol_slope) & ~ambiguous).sum())
        n_err += int(((result.negative[sl] != reference.negative[sl]) & ~ambiguous).sum())
        worst_y = max(worst_y, float(dy_ratio.max()))
        worst_s = max(worst_s, float(ds_ratio.max()))
    ok = y_err == s_err == n_err == 0
    return Agreement(ok, len(reference), near, y_err, s_err, n_err, worst_y, worst_s)
