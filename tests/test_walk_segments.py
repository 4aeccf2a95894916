"""One line walked on several threads, each layer's pieces in segments (kernels/walk.py,
"one line in segments"): the same bits as the walk in one piece, on hostile networks,
with every anchor a cut; ``regions``/``kinks`` with ``threads`` and ``progress``.
"""

import numpy as np
import pytest
from test_exact_deep import make_net

import fastrelu
from fastrelu.kernels import threads as kthreads
from fastrelu.kernels import walk as ed
from fastrelu.kernels.params import deep_params
from fastrelu.kernels.scale import walk_scales
from fastrelu.model.network import Network
from fastrelu.utils import progress as uprogress

FIELDS = ("edges", "slope", "intercept", "negative_by_layer", "cross_offsets", "cross_layer", "cross_unit", "kink")


def same(a, b):
    """Every field of two ``LinePieces`` the same bits."""
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), f
    assert (a.merged, a.suppressed, a.start, a.stop) == (b.merged, b.suppressed, b.start, b.stop)


@pytest.fixture
def every_anchor(monkeypatch):
    """Segments as small as they come (every anchor piece starts one), and the ``t`` of
    every cut made, so that a test can tell the walk was cut."""
    monkeypatch.setattr(ed, "WALK_SEGMENT_WORK", 1)
    monkeypatch.setattr(ed, "WALK_SEGMENTS_PER_THREAD", 1 << 40)
    cuts = []
    run = ed._prefix_segments

    def recorded(kern, c, before, after, te, bps):
        cuts.extend(te[c[1:-1]].tolist())
        return run(kern, c, before, after, te, bps)

    monkeypatch.setattr(ed, "_prefix_segments", recorded)
    return cuts


def walked(net, start, stop, n):
    """``walk`` on ``n`` threads (one: a single segment, the walk as it was)."""
    before = kthreads.get_num_threads()
    kthreads.set_num_threads(n)
    try:
        ed.clear_cache()
        return ed.walk(*net, start, stop)
    finally:
        kthreads.set_num_threads(before)


def _nets():
    rng = np.random.default_rng(7)
    w = [1, 64, 64, 64, 64, 3]
    return {
        "random": make_net(rng, w, ["relu"] * 4, dyadic=False),
        "dyadic": make_net(rng, w, ["relu"] * 4),
        "bias_free": make_net(rng, w, ["relu"] * 4, dyadic=False, bias=False),
        "leaky": make_net(rng, w, ["leaky", "prelu", "leaky", "relu"], dyadic=False),
        "clamps": make_net(rng, w, ["hardtanh", "relu6", "hardtanh_shifted", "relu"], dyadic=False),
        "clamps_dyadic": make_net(rng, w, ["hardtanh", "relu6", "hardtanh_shifted", "linear"]),
    }


NETS = _nets()


def _zero_weights():
    """Zero weights and a layer that dies on part of the line: the exact zeros restart at anchors."""
    widths, w, b, alpha, lo, hi = make_net(np.random.default_rng(3), [1, 96, 96, 96, 96, 2], ["relu"] * 4, dyadic=False)
    w = w.copy()
    w[np.random.default_rng(4).random(w.shape[0]) < 0.3] = 0.0
    return widths, w, b, alpha, lo, hi


@pytest.mark.parametrize("engine", ["cffi", "numba"])
@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("span", [(-3.0, 3.0), (-np.inf, np.inf), (-1e300, 1e300), (-0.25, 40.0)])
def test_segments_are_the_whole_walk(every_anchor, monkeypatch, engine, name, span):
    monkeypatch.setenv("FASTRELU_BACKEND", engine)  # both twins of the kernels
    net = NETS[name]
    whole = walked(net, *span, 1)
    assert every_anchor == []  # one thread: one segment
    cut = walked(net, *span, 2)
    same(whole, cut)
    assert len(every_anchor) > 0, "the walk was not cut: the test would test nothing"


def test_unit_crossing_exactly_at_a_cut(every_anchor):
    # bias-free: every unit of every layer crosses at t = 0 exactly, an edge where several
    # units cross (the piece after it is an anchor, so a cut): the next layer's units
    # cross exactly there, at the first piece of a segment, found once each
    net = NETS["bias_free"]
    whole = walked(net, -2.0, 2.0, 1)
    cut = walked(net, -2.0, 2.0, 2)
    same(whole, cut)
    assert 0.0 in every_anchor
    e = int(np.flatnonzero(cut.edges[1:-1] == 0.0)[0])
    layer, unit = cut.crossings(e)
    assert len(set(zip(layer.tolist(), unit.tolist()))) == layer.shape[0]  # each (layer, unit) once
    assert set(layer.tolist()) == {0, 1, 2, 3}  # layers after the first cross at the cut too


def test_zero_weights_and_float32(every_anchor):
    same(walked(_zero_weights(), -5.0, 5.0, 1), walked(_zero_weights(), -5.0, 5.0, 2))
    net32 = Network.random([1, 128, 128, 128, 4], seed=5, dtype="float32")
    p = deep_params(net32, np.dtype(np.float32))
    assert p[1].dtype == np.float32
    same(walked(p, -50.0, 50.0, 1), walked(p, -50.0, 50.0, 2))
    assert len(every_anchor) > 0


def test_a_line_of_a_wide_network_on_two_threads():
    # the walk as regions runs it (the config's segments, not every anchor), on a line
    # folded into a 64-input network with 10 outputs: the output layer's product is
    # narrow, and blocks of it small enough for OpenBLAS's small-matrix kernels summed
    # its rows in another order than the whole product (the slopes differed in the last bit)
    net = Network.random([64, 256, 256, 256, 10], seed=1)
    rng = np.random.default_rng(2)
    line = net.along(*rng.standard_normal((2, 64)) * 4.0)
    p = deep_params(line, np.dtype(np.float64))
    whole = walked(p, -1.0, 2.0, 1)
    assert whole.pieces > 500  # enough rows that the products are split on two threads
    same(whole, walked(p, -1.0, 2.0, 2))


def test_regions_and_kinks_take_threads():
    net = Network.random([3, 64, 64, 64, 2], seed=0, activation="leaky_relu")
    x0, x1 = [-3.0, 1.0, 2.0], [4.0, -2.0, 0.5]
    one = fastrelu.regions(net, along=(x0, x1), start=-np.inf, stop=np.inf, boundaries=True, threads=1)
    two = fastrelu.regions(net, along=(x0, x1), start=-np.inf, stop=np.inf, boundaries=True, threads=2)
    for f in ("lo", "hi", "slope", "intercept", "negative", "negative_by_layer"):
        assert np.array_equal(getattr(one, f), getattr(two, f)), f
    assert len(one) > 100
    for i in range(len(one) - 1):
        assert all(np.array_equal(a, b) for a, b in zip(one.switching(i), two.switching(i)))
    k1 = fastrelu.kinks(net, along=(x0, x1), threads=1)
    assert np.array_equal(k1, fastrelu.kinks(net, along=(x0, x1), threads=2))
    assert kthreads.get_num_threads() == kthreads.DEFAULT_THREADS  # the setting is restored
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads"):
            fastrelu.regions(net, along=(x0, x1), threads=bad)


def test_progress_bar(capfd, monkeypatch):
    net = Network.random([1, 32, 32, 32, 1], seed=0)
    fastrelu.regions(net, progress=True)
    err = capfd.readouterr().err
    assert "walk" in err and "/3" in err  # a bar over the 3 hidden layers, shown at once when asked
    fastrelu.kinks(net, progress=False)
    assert capfd.readouterr().err == ""
    monkeypatch.setattr(uprogress, "DELAY", 1e9)  # None: only once the walk has run DELAY seconds
    fastrelu.regions(net, progress=None)
    assert capfd.readouterr().err == ""
    with pytest.raises(TypeError, match="progress"):
        fastrelu.regions(net, progress="yes")


def test_done_counts_layers():
    seen = []
    ed.walk(*NETS["random"], -1.0, 1.0, done=seen.append)
    assert seen == [1, 2, 3, 4]


def test_walk_many_of_one_line_in_segments(every_anchor):
    # line_stats of one line walks it through walk_many: in segments too, the same bits
    net = NETS["clamps"]
    before = kthreads.get_num_threads()
    kthreads.set_num_threads(2)
    try:
        (one,) = ed.walk_many(*net, [(net[1][:64].reshape(-1, 1), net[2][:64])], -3.0, 3.0)
    finally:
        kthreads.set_num_threads(before)
    assert len(every_anchor) > 0
    same(walked(net, -3.0, 3.0, 1), one)


def _huge():
    """Pre-activations beyond float64's range (1e200 * 1e200) while the output is not: the
    walk runs on a copy scaled by powers of two."""
    widths, w, b, alpha, lo, hi = make_net(np.random.default_rng(9), [1, 64, 64, 64, 2], ["relu"] * 3, dyadic=False)
    w, b = w.copy(), b.copy()
    w[:64] *= 1e200
    b[:64] *= 1e200
    w[64 : 64 + 64 * 64] *= 1e200
    b[64:128] *= 1e300
    w[-128:] *= 1e-300
    return widths, w, b, alpha, lo, hi


def test_huge_sums_and_one_point(every_anchor):
    net = _huge()
    widths, layers, alpha, lo, hi = ed._prepared(*net)
    assert walk_scales(layers, ed._forms(widths, alpha, lo, hi)) is not None  # the scaled walk
    same(walked(net, -3.0, 3.0, 1), walked(net, -3.0, 3.0, 2))
    assert len(every_anchor) > 0
    one = NETS["random"]
    same(walked(one, 0.5, 0.5, 1), walked(one, 0.5, 0.5, 2))
