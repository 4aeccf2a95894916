"""Where a classifier's decision changes along a line (``Regions.decisions``)."""

import numpy as np
import pytest

import fastrelu
from fastrelu.analysis.decisions import decision_points


def _grid_changes(net, along, start, stop, num):
    res = fastrelu.sweep(net, along=along, start=start, stop=stop, num=num, backend="numpy")
    y = res.y if res.y.ndim == 2 else res.y[:, None]
    cls = y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0).astype(int)
    return np.asarray(res.x), cls


@pytest.mark.parametrize("seed, out", [(0, 4), (1, 10), (2, 1), (3, 3)])
def test_every_change_seen_on_a_fine_grid_is_a_decision_point(seed, out):
    net = fastrelu.Network.random([3, 24, 24, out], seed=seed)
    along = ([0.0, 0.0, 0.0], [1.0, -2.0, 3.0])
    r = fastrelu.regions(net, along=along, start=-4, stop=4)
    x, cls = _grid_changes(net, along, -4, 4, 400_001)
    t = r.decisions
    assert np.all(np.diff(t) > 0) and np.all((t >= -4) & (t <= 4))
    # each class change between two grid points has a decision point between them
    for i in np.flatnonzero(cls[1:] != cls[:-1]):
        assert np.any((t >= x[i]) & (t <= x[i + 1])), (x[i], x[i + 1])
    # and the class on each side of each decision point is the grid's there (away from it)
    before, after = r.decision_classes
    for z, b, a in zip(t, before, after):
        left, right = np.searchsorted(x, z) - 2, np.searchsorted(x, z) + 1
        if left >= 0 and right < x.shape[0] and not np.any((t > x[left]) & (t < x[right]) & (t != z)):
            assert cls[left] == b and cls[right] == a


def test_a_change_inside_a_piece_and_one_at_its_end():
    # y0 = 0.5, y1 = relu(t): y1 overtakes y0 at t = 0.5, inside the piece (0, 2)
    net = fastrelu.Network.from_layers([([[1.0]], [0.0]), ([[0.0], [1.0]], [0.5, 0.0])], "relu")
    r = fastrelu.regions(net, -1, 2)
    assert r.decisions.tolist() == [0.5]
    assert [c.tolist() for c in r.decision_classes] == [[0], [1]]
    # y0 = -t, y1 = t (one output each side of 0): the change is at the kink t = 0 itself
    net = fastrelu.Network.from_layers([([[1.0], [-1.0]], None), ([[0.0, 1.0], [1.0, 0.0]], None)], "relu")
    r = fastrelu.regions(net, -1, 1)
    assert r.decisions.tolist() == [0.0]
    assert [c.tolist() for c in r.decision_classes] == [[0], [1]]


def test_one_output_decides_by_its_sign_and_ties_keep_the_first():
    r = fastrelu.regions(fastrelu.Network([1.0], [0.0], [1.0], b2=-0.5), -2, 2)
    assert r.decisions.tolist() == [0.5]
    # equal outputs everywhere: argmax keeps the first, no change
    net = fastrelu.Network.from_layers([([[1.0]], None), ([[1.0], [1.0]], None)], "relu")
    assert fastrelu.regions(net, -1, 1).decisions.size == 0


def test_unbounded_pieces_and_several_changes_in_one_piece():
    # three lines: -t (far left), 0.1 (middle), t (far right): -t -> 0.1 at -0.1, 0.1 -> t at 0.1
    lo, hi = np.array([-np.inf]), np.array([np.inf])
    slope, intercept = np.array([[-1.0, 0.0, 1.0]]), np.array([[0.0, 0.1, 0.0]])
    t, before, after = decision_points(lo, hi, slope, intercept)
    assert t.tolist() == [-0.1, 0.1] and before.tolist() == [0, 1] and after.tolist() == [1, 2]
    # the three lines meet at one point: the envelope goes straight from the first to the last
    t, before, after = decision_points(lo, hi, slope, np.zeros((1, 3)))
    assert t.tolist() == [0.0] and before.tolist() == [0] and after.tolist() == [2]


def _decision_lines(fig):
    found = [c for c in fig.axes[0].collections if c.get_gid() == "decisions"]
    if not found:
        return np.zeros(0)
    return np.sort([seg[0][0] for seg in found[0].get_segments()])


def test_the_figure_marks_a_classifier_s_decisions_where_regions_finds_them():
    net = fastrelu.Network.random([3, 24, 24, 4], seed=3)  # three changes, two of them close
    along = ([0.0, 0.0, 0.0], [1.0, -2.0, 3.0])
    res = fastrelu.sweep(net, along=along, start=-4, stop=4, num=2001, backend="numpy")
    expected = fastrelu.regions(net, along=along, start=-4, stop=4).decisions
    assert expected.size >= 2
    assert np.array_equal(_decision_lines(res.plot()), expected)
    assert _decision_lines(res.plot(decisions=False)).size == 0


def test_one_output_is_marked_only_when_asked():
    net = fastrelu.Network([1.0], [0.0], [1.0], b2=-0.5)
    res = fastrelu.sweep(net, -2, 2, num=401)
    assert _decision_lines(res.plot()).size == 0
    assert _decision_lines(res.plot(decisions=True)).tolist() == [0.5]
