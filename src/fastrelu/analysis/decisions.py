"""Where a classifier's decision changes along a line, from the pieces' affine maps.

A network of several outputs predicts the class of its largest output (argmax); a
network of one output, the sign of its output (class 1 where ``y > 0``). On each linear
piece every output is a line ``s_i * t + c_i``, so the largest one is their upper
envelope, whose top line changes only where a line of larger slope overtakes it: within a
piece the decision changes at most ``out - 1`` times, never back to a class it left (the
envelope is convex). The points are computed from the maps (``t = (c_a - c_b) / (s_b -
s_a)``, rounded once), never by sampling a grid.

Ties: at a point where two outputs are equal the decision is the one of the side being
entered (going right, the larger slope; at a piece's end, the smaller slope), and a tie
that holds over a whole piece (equal maps) keeps the lower index, as ``numpy.argmax`` does.
"""

import numpy as np

__all__ = ["decision_points"]


def _entering(values, slopes, right):
    """The class of each row just right (``right``) or just left of where ``values`` are taken."""
    top = values.max(axis=1, keepdims=True)
    tied = values == top
    # among the tied outputs, the one growing fastest going right (slowest, going left)
    key = np.where(tied, slopes if right else -slopes, -np.inf)
    best = key.max(axis=1, keepdims=True)
    return np.argmax(tied & (key == best), axis=1)  # argmax of a boolean: the first True


def _classes(slope, intercept, t, right):
    """The decision at ``t`` of each piece (maps ``slope``, ``intercept`` of shape (P, out))."""
    values = slope * t[:, None] + intercept
    if slope.shape[1] == 1:  # one output: the sign, class 1 where y > 0
        v, s = values[:, 0], slope[:, 0]
        return ((v > 0) | ((v == 0) & ((s > 0) if right else (s < 0)))).astype(np.int64)
    return _entering(values, slope, right)


def _at_infinity(slope, intercept, direction):
    """The class of each piece far out in ``direction`` (+1 or -1): the steepest output that way."""
    s = slope * direction
    if slope.shape[1] == 1:
        return ((s[:, 0] > 0) | ((s[:, 0] == 0) & (intercept[:, 0] > 0))).astype(np.int64)
    return _entering(s, intercept, right=True)  # largest s * direction, ties by the larger intercept


def _inside(s, c, lo, hi, start):
    """The envelope's changes of class strictly inside one piece ``(lo, hi)``, entered with class ``start``."""
    points, classes = [], []
    cur, t = start, lo
    if s.shape[0] == 1:  # the sign: one crossing at most
        if s[0] != 0:
            z = -c[0] / s[0]
            if lo < z < hi:
                points.append(z)
                classes.append(1 - cur)
        return points, classes
    while True:
        faster = np.flatnonzero(s > s[cur])
        if not faster.size:
            return points, classes
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = (c[cur] - c[faster]) / (s[faster] - s[cur])
        ok = (cross >= t) & (cross < hi)
        if not ok.any():
            return points, classes
        first = cross[ok].min()
        # the line that leads right after the crossing: among those crossing there, the steepest
        at = faster[ok][cross[ok] == first]
        nxt = int(at[np.argmax(s[at])])
        if first > lo:
            points.append(first)
            classes.append(nxt)
        cur, t = nxt, first


def decision_points(lo, hi, slope, intercept):
    """The points where the predicted class changes, over pieces ``[lo[i], hi[i]]`` with maps
    ``slope``, ``intercept`` of shape (P,) or (P, out).

    Returns
    -------
    t : ndarray of float64
        Sorted positions of the changes (at a piece's end, or inside it).
    before, after : ndarray of int64
        The class on either side of each change.

    Examples
    --------
    >>> lo, hi = np.array([-1.0, 0.0]), np.array([0.0, 2.0])
    >>> slope = np.array([[0.0, 1.0], [0.0, 1.0]]); intercept = np.array([[0.5, 0.0], [0.5, 0.0]])
    >>> decision_points(lo, hi, slope, intercept)   # y1 = t overtakes y0 = 0.5 at t = 0.5
    (array([0.5]), array([0]), array([1]))
    """
    slope = np.asarray(slope, np.float64)
    intercept = np.asarray(intercept, np.float64)
    if slope.ndim == 1:
        slope, intercept = slope[:, None], intercept[:, None]
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    p = lo.shape[0]
    if p == 0:
        return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    start = _classes(slope, intercept, np.where(np.isfinite(lo), lo, 0.0), right=True)
    end = _classes(slope, intercept, np.where(np.isfinite(hi), hi, 0.0), right=False)
    # an unbounded piece: its class at an infinite end is the one its maps tend to
    start = np.where(np.isneginf(lo), _at_infinity(slope, intercept, -1.0), start)
    end = np.where(np.isposinf(hi), _at_infinity(slope, intercept, 1.0), end)
    t, before, after = [], [], []
    for i in range(p):
        if i and start[i] != end[i - 1]:  # at the boundary between two pieces
            t.append(lo[i]), before.append(end[i - 1]), after.append(start[i])
        # a piece's envelope never returns to a class it left, so equal ends mean no change inside
        if start[i] != end[i]:
            pts, cls = _inside(slope[i], intercept[i], lo[i], hi[i], int(start[i]))
            prev = int(start[i])
            for z, k in zip(pts, cls):
                t.append(z), before.append(prev), after.append(k)
                prev = k
    return np.asarray(t, np.float64), np.asarray(before, np.int64), np.asarray(after, np.int64)
