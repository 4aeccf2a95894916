"""The graph walk in blocks (kernels/graph_walk.py): cut by a memory budget, on threads, or at
cuts given on purpose (at a breakpoint, inside a max-pool tie, inside a piece), the pieces
are the very bits of the walk in one block: edges, maps, counts and crossings; and a
784-input CNN's whole line, which one block would not hold, is walked within the memory
given and agrees with PyTorch."""

import numpy as np
import pytest
import test_graph
import test_graph_walk
import torch
from torch import nn

import fastrelu
from fastrelu import Network
from fastrelu.kernels import graph_walk
from fastrelu.kernels.params import graph_params
from fastrelu.utils import config
from fastrelu.utils import progress as uprogress


def assert_same(a, b):
    """Two walks' results, bit for bit."""
    np.testing.assert_array_equal(a.edges, b.edges)
    for name in ("slope", "intercept", "negative_by_layer", "kink", "counts"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    for x, y in zip(a.cross, b.cross):
        np.testing.assert_array_equal(x, y)
    assert a.counts.sum() == a.cross[0].size  # every crossing at one interior edge, once


def line_of(name):
    """(model, input shape, the line's graph of t in float64) of a model of test_graph or test_graph_walk."""
    if name in test_graph.MODELS:
        model, shape, _, _ = test_graph.model_of(name)
        x0, x1 = test_graph.line(name, shape)
    else:
        rng = np.random.default_rng(0)
        model = getattr(test_graph_walk, name)(rng).eval()
        shape = None
    net = Network.from_torch(model, shape)
    if name not in test_graph.MODELS:
        rng = np.random.default_rng(1)
        x0, x1 = rng.integers(-8, 9, size=(2, net.in_features)) / 4.0
        shape = (net.in_features,)
    return model, shape, x0, x1, graph_params(net.along(x0, x1), np.dtype(np.float64))


def span_of(name):
    """Past both inputs, so that there are pieces on every side; wider for the small dyadic models."""
    w = (0.5, 1.5) if name in test_graph.MODELS else (8.0, 8.0)
    return np.nextafter(-w[0], -np.inf), np.nextafter(w[1], np.inf)


SPAN = span_of("digits_cnn")
NAMES = [*test_graph.MODELS, "TieCancel", "Residual"]


@pytest.fixture
def one_block(monkeypatch):
    """The walk in one block (a budget no walk here reaches), on one thread."""

    def walk(g, lo, hi, **kw):
        with monkeypatch.context() as m:
            m.setattr(config, "GRAPH_WALK_BYTES", 1 << 40)
            m.setattr(graph_walk, "available_memory", lambda: None)
            halves = []
            m.setattr(graph_walk._Block, "halves", lambda self: halves.append(1) or pytest.fail("a block was cut"))
            return graph_walk.walk(g, lo, hi, threads=1, **kw)

    return walk


def count_halves(monkeypatch):
    """A list that grows by one each time a block is cut in two."""
    seen, halves = [], graph_walk._Block.halves
    monkeypatch.setattr(graph_walk._Block, "halves", lambda self: seen.append(1) or halves(self))
    return seen


@pytest.mark.parametrize("name", NAMES)
def test_a_tiny_budget_gives_the_same_pieces(name, one_block, monkeypatch):
    *_, g = line_of(name)
    span = span_of(name)
    whole = one_block(g, *span)
    assert whole.edges.size > 8
    # blocks of a few pieces where memory allows no more: the least budget the walk takes
    monkeypatch.setattr(config, "GRAPH_WALK_MIN_PIECES", 4)
    monkeypatch.setattr(config, "GRAPH_WALK_BYTES", 1)
    cuts = count_halves(monkeypatch)
    for threads in (1, 2):
        cuts.clear()
        blocked = graph_walk.walk(g, *span, threads=threads)
        assert len(cuts) >= whole.edges.size // 16, len(cuts)  # many blocks
        assert_same(blocked, whole)


@pytest.mark.parametrize("name", NAMES)
def test_two_threads_give_the_same_pieces(name, one_block, monkeypatch):
    *_, g = line_of(name)
    span = span_of(name)
    whole = one_block(g, *span)
    monkeypatch.setattr(config, "GRAPH_WALK_MIN_PIECES", 1)  # a waiting thread gets half a block of any size
    for _ in range(3):  # which block is cut when depends on the threads' timing: the bits do not
        assert_same(graph_walk.walk(g, *span, threads=2), whole)


@pytest.mark.parametrize("name", NAMES)
def test_cuts_at_a_breakpoint_and_inside_pieces(name, one_block):
    *_, g = line_of(name)
    span = span_of(name)
    whole = one_block(g, *span)
    e = whole.edges
    inner = e[1:-1]
    busiest = inner[np.argmax(whole.counts)]  # a breakpoint where most units cross at once
    inside = [e[i] / 2 + e[i + 1] / 2 for i in range(0, e.size - 1, max(1, (e.size - 1) // 5))]
    for cuts in ([busiest], [inner[0], inner[-1]], inside, sorted({*inside, *inner[:: max(1, inner.size // 8)]})):
        cuts = np.array(sorted(cuts))
        cuts = cuts[(cuts > e[0]) & (cuts < e[-1])]
        assert_same(one_block(g, *span, cuts=cuts), whole)
    # a cut inside a piece is no edge, and one at a breakpoint is found once
    assert one_block(g, *span, cuts=inside[1:]).edges.size == e.size


def test_a_cut_inside_a_max_pool_tie():
    # TieCancel's first window compares two equal units on the whole line; in the digits
    # CNN, a window of four units that are off on a piece is a tie of exact zeros there
    *_, g = line_of("TieCancel")
    span = span_of("TieCancel")
    whole = graph_walk.walk(g, *span, threads=1)
    for t in (0.25, whole.edges[1:-1][0], 1.0):
        assert_same(graph_walk.walk(g, *span, threads=1, cuts=[t]), whole)
    model, shape, x0, x1, g = line_of("digits_cnn")
    whole = graph_walk.walk(g, *SPAN, threads=1)
    mids = (whole.edges[1:-2] + whole.edges[2:-1]) / 2
    xs = torch.tensor(x0).reshape(shape) + torch.tensor(mids).reshape(-1, 1, 1, 1) * torch.tensor(x1 - x0).reshape(shape)
    with torch.no_grad():
        h = model[:3](xs)  # conv, batch norm, ReLU: what the max-pool reads
    win = h.unfold(2, 2, 2).unfold(3, 2, 2).reshape(*h.shape[:2], 4, 4, 4)
    top = win.max(-1).values
    ties = ((win == top[..., None]).sum(-1) >= 2).reshape(len(mids), -1).sum(1).numpy()
    assert ties.max() > 0
    at = mids[ties > 0]
    for cuts in (at[:1], at[:: max(1, at.size // 6)]):
        assert_same(graph_walk.walk(g, *SPAN, threads=1, cuts=cuts), whole)


def narrow_784_cnn():
    """The 784-input CNN's shape kinds (two 3x3 convolutions, ReLU, max-pool, two linear
    layers), narrower: 4 and 8 channels, 16 hidden units."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8 * 12 * 12, 16), nn.ReLU(), nn.Linear(16, 10),
    ).double().eval()
    x0, x1 = np.random.default_rng(0).standard_normal((2, 1, 28, 28))
    return model, Network.from_torch(model, (1, 28, 28)), x0, x1


def test_the_whole_line_of_a_784_input_cnn_fits_the_memory_given(monkeypatch):
    model, net, x0, x1 = narrow_784_cnn()
    g = graph_params(net.along(x0, x1), np.dtype(np.float64))
    lo, hi = np.nextafter(0.0, -np.inf), np.nextafter(1.0, np.inf)
    whole = graph_walk.walk(g, lo, hi, threads=1)
    plan = graph_walk._Plan(g)
    one_piece = max(plan.need(k, 1) for k in range(1, len(g.nodes)))
    held = one_piece * (whole.edges.size - 1)  # what one block would hold at its widest node
    # memory for blocks of a sixteenth of the pieces: one block is refused, the walk is not
    have = held // 16 * (2 * 2 + 2)
    monkeypatch.setattr(graph_walk, "available_memory", lambda: have)
    cuts = count_halves(monkeypatch)
    blocked = graph_walk.walk(g, lo, hi, threads=2)
    assert len(cuts) >= 15
    assert_same(blocked, whole)
    # against torch: the output at each piece's middle is its map's, within the rounding bound
    r = fastrelu.regions(net, along=(x0, x1), start=0.0, stop=1.0)
    assert len(r) > 100 and len(r) == r.n_kinks + 1
    mids = (r.lo + r.hi) / 2
    xs = torch.tensor(x0) + torch.tensor(mids).reshape(-1, 1, 1, 1) * torch.tensor(x1 - x0)
    with torch.no_grad():
        y = model(xs).numpy()
    tol = 2 * test_graph.rounding(net, float(max(np.abs(x0).max(), np.abs(x1).max())), np.dtype(np.float64))
    np.testing.assert_allclose(r.slope * mids[:, None] + r.intercept, y, rtol=0, atol=tol)


def test_bad_cuts_are_refused():
    *_, g = line_of("Residual")
    for bad in ([2.0], [0.5, 0.25], [np.nan], [-0.5], [[0.1, 0.2], [0.3, 0.4]]):
        with pytest.raises(ValueError, match="cuts must be"):
            graph_walk.walk(g, -0.5, 1.5, cuts=bad)


def test_progress_bar_over_blocks(capfd, monkeypatch):
    model, shape, x0, x1, _ = line_of("digits_cnn")
    net = Network.from_torch(model, shape)
    fastrelu.regions(net, along=(x0, x1), progress=True)
    err = capfd.readouterr().err
    assert "walk" in err and "block" in err  # a bar over the blocks, shown at once when asked
    fastrelu.regions(net, along=(x0, x1), progress=False)
    assert capfd.readouterr().err == ""
    monkeypatch.setattr(uprogress, "DELAY", 1e9)  # None: only once the walk has run DELAY seconds
    fastrelu.kinks(net, along=(x0, x1), progress=None)
    assert capfd.readouterr().err == ""


def test_regions_on_one_thread_and_two_are_the_same():
    model, shape, x0, x1, _ = line_of("convs")
    net = Network.from_torch(model, shape)
    one = fastrelu.regions(net, along=(x0, x1), start=-0.5, stop=1.5, boundaries=True, threads=1)
    two = fastrelu.regions(net, along=(x0, x1), start=-0.5, stop=1.5, boundaries=True, threads=2)
    assert len(one) == len(two) > 20
    for name in ("lo", "hi", "slope", "intercept", "negative"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    for i in range(len(one) - 1):
        assert all(np.array_equal(a, b) for a, b in zip(one.switching(i), two.switching(i)))
    np.testing.assert_array_equal(fastrelu.kinks(net, along=(x0, x1), threads=1), fastrelu.kinks(net, along=(x0, x1), threads=2))
