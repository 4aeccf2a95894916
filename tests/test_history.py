"""A point's values never depend on what ran before (issue: "exact means exact", point 4).

The exact backend walks a deep network over an interval and reads every point off the
walk's pieces; a walk over another interval may place an anchor or an edge one rounding
apart.  So each chunk of a request walks the whole request's span, never its own nor a
cached wider one: in-memory, chunk by chunk in any order, after other sweeps, and in a
fresh process, every point gets the same bits.
"""

import subprocess
import sys

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels import walk as exact_deep
from fastrelu.kernels.params import deep_params


@pytest.fixture(scope="module")
def case():
    net = fastrelu.Network.random([6, 48, 48, 48, 3], seed=11)
    rng = np.random.default_rng(3)
    x0, x1 = rng.standard_normal((2, 6))
    x = rng.uniform(-2.0, 3.0, 3000)  # explicit points, in no order
    return net, (x0, x1), x


def _fields(res):
    return [np.asarray(getattr(res, f)) for f in ("y", "slope", "negative_by_layer")]


def _assert_same(a, b):
    for u, v in zip(_fields(a), _fields(b)):
        np.testing.assert_array_equal(u, v)


def test_chunks_in_any_order_after_other_sweeps_give_the_same_bits(case):
    net, line, x = case
    whole = fastrelu.sweep(net, x=x, along=line, backend="exact")
    chunks = list(fastrelu.sweep_chunks(net, x=x, along=line, backend="exact", chunk=700))
    for c in reversed(chunks):  # each chunk again, after a wider walk was cached
        fastrelu.sweep(net, x=np.linspace(-50, 50, 101), along=line, backend="exact")
        again = fastrelu.sweep(net, x=np.asarray(c.x), along=line, backend="exact")
        assert again.backend == "exact"
    parts = np.concatenate([np.asarray(c.y) for c in chunks])
    np.testing.assert_array_equal(parts, whole.y)
    for c, lo in zip(chunks, range(0, len(x), 700)):
        sl = slice(lo, lo + len(c))
        np.testing.assert_array_equal(c.slope, whole.slope[sl])
        np.testing.assert_array_equal(c.negative_by_layer, whole.negative_by_layer[sl])
    exact_deep.clear_cache()
    _assert_same(fastrelu.sweep(net, x=x, along=line, backend="exact"), whole)


def test_a_fresh_process_gives_the_same_bits(case, tmp_path):
    net, line, x = case
    whole = fastrelu.sweep(net, x=x, along=line, backend="exact")
    net.save(tmp_path / "net.npz")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "line.npy", np.stack(line))
    code = (
        "import numpy as np, fastrelu\n"
        f"d = {str(tmp_path)!r}\n"
        "net = fastrelu.Network.load(d + '/net.npz'); x = np.load(d + '/x.npy'); line = np.load(d + '/line.npy')\n"
        "fastrelu.sweep(net, num=999, start=-7, stop=9, along=tuple(line), backend='exact')\n"
        "r = fastrelu.sweep(net, x=x[::-1], along=tuple(line), backend='exact')\n"
        "np.save(d + '/y.npy', r.y[::-1])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), whole.y)


def test_a_span_that_does_not_hold_the_points_is_refused():
    net = fastrelu.Network.random([1, 8, 8, 1], seed=0)
    params = deep_params(net, np.dtype(np.float64))
    t = np.linspace(0, 1, 5)
    y, s = np.empty((5, 1)), np.empty((5, 1))
    neg = np.empty((5, 2), np.int32)
    with pytest.raises(ValueError, match="does not hold the points"):
        exact_deep.sweep_deep(t, *params, y, s, neg, span=(0.5, 1.0))


def test_first_and_last_points_read_their_pieces():
    """No phantom slope change at the ends of an exact sweep (issue 14): the ends of the
    grid are not edges of the walk, so their points take their pieces' slopes."""
    net = fastrelu.Network.random([64, 128, 128, 128, 10], seed=0)
    x0, x1 = np.random.default_rng(0).standard_normal((2, 64))
    res = fastrelu.sweep(net, along=(x0, x1), num=100_001, backend="exact")
    pieces = fastrelu.regions(net, along=(x0, x1), start=0, stop=1, boundaries=True)
    for i, j in ((0, 1), (-1, -2)):
        between = (pieces.lo[1:] >= min(res.x[i], res.x[j])) & (pieces.lo[1:] <= max(res.x[i], res.x[j]))
        assert not between.any()  # no boundary between the end point and its neighbour
        np.testing.assert_array_equal(res.slope[i], res.slope[j])
    assert not res.slope_changes[1] and not res.slope_changes[-1]


def test_a_switch_exactly_at_the_first_point_follows_pytorch():
    # bias-free, along a line through the origin from t = 0: every unit has z = 0 there
    net = fastrelu.Network.random([3, 16, 16, 1], seed=1)
    net = fastrelu.Network.from_layers([(w, np.zeros_like(b)) for w, b in net.layers])
    line = (np.zeros(3), np.array([1.0, -2.0, 0.5]))
    res = fastrelu.sweep(net, along=line, start=0.0, stop=1.0, num=11, backend="exact")
    ref = fastrelu.sweep(net, along=line, start=0.0, stop=1.0, num=11, backend="numpy")
    assert res.negative_by_layer[0].tolist() == ref.negative_by_layer[0].tolist() == [16, 16]
    assert res.slope[0] == ref.slope[0] == 0.0
