"""The graph twins, C (csrc/graph_c.c, bound by kernels/graph_c.py) and Numba
(kernels/graph_numba.py): a graph network's per-point sweep, on every kind of graph
(tests/test_graph.py's models, and one with every activation), both dtypes, on a line and
on a plane.  The twins agree bit for bit (Numba contracts each multiply-add into an FMA on
a CPU that has it, and the C twin writes the same fma()), and each agrees with the numpy
reference and with PyTorch (``model(x)``, ``torch.func.jvp``, forward hooks' counts) within
the rounding bounds of tests/test_graph.py.  Hostile cases on dyadic graphs, where every
operation is exact, must give the reference's bits: max-pool ties, points exactly on a
kink, zero weights (exact zeros, counted negative), one point, huge |t|.
"""

import numpy as np
import pytest
import torch
from test_graph import ACTS, MODELS, line, model_of, rounding, torch_margins
from torch import nn

import fastrelu
from fastrelu import Network
from fastrelu.kernels import graph_c, graph_numba, params, registry
from fastrelu.kernels.agreement import compare
from fastrelu.model import Activation
from fastrelu.model.forward import propagate_graph
from fastrelu.model.graph import Graph, Node

TWINS = ("cffi", "numba")


def _cpu_has_fma():
    with open("/proc/cpuinfo") as f:
        return " fma " in f.read().replace("\n", " ")


# Numba fuses multiply-adds only where the CPU has FMA; the C twin's fma() is exact everywhere.
FUSED = _cpu_has_fma()


class EveryOp(nn.Module):
    """Every activation fastrelu reads (modules, so that hooks see them), an eval BatchNorm
    that cannot be folded (a scale node), a multiplication by a constant, a residual add
    around a grouped convolution, a max-pool and a 2-D adaptive average pool."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1, groups=2)
        self.bn = nn.BatchNorm2d(4)
        self.c3 = nn.Conv2d(4, 4, 2)
        self.acts = nn.ModuleList([nn.ReLU(), nn.LeakyReLU(0.2), nn.PReLU(4), nn.ReLU6(), nn.Hardtanh(-0.5, 0.75)])
        self.pool = nn.MaxPool2d(2, stride=1)
        self.avg = nn.AdaptiveAvgPool2d((2, 3))
        self.fc = nn.Linear(24, 3)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 2.0)
            self.acts[2].weight.copy_(torch.tensor([0.1, -0.3, 0.5, 0.25]))

    def forward(self, x):
        h = self.acts[0](self.c1(x))
        h = self.acts[1](self.bn(self.c2(h) + h))
        h = self.pool(self.acts[2](h))
        h = self.acts[3](self.c3(h) * 2.0)
        # shifted, so that ReLU6's exact zeros do not sit on Hardtanh's breakpoint
        return self.fc(self.avg(self.acts[4](h - 0.125)).flatten(1))


ALL = [*MODELS, "every"]


def model(name):
    """``(model, shape, x0, x1)``: tests/test_graph.py's models, and EveryOp."""
    if name == "every":
        if "every" not in _EVERY:
            torch.manual_seed(2)
            m = EveryOp().double().eval()
            rng = np.random.default_rng(5)
            _EVERY["every"] = (m, (1, 6, 6), *rng.normal(size=(2, 1, 6, 6)))
        return _EVERY["every"]
    m, shape, _, _ = model_of(name)
    return (m, shape, *line(name, shape))


_EVERY = {}


def inputs(res):
    """The inputs (float64) at every point of ``res``: the slice's origin plus its
    coordinates times its directions (the embed node the slice was folded into)."""
    embed = res.network.graph.nodes[1]
    assert embed.kind == "embed"
    d = embed.params["directions"].astype(np.float64)
    pts = res.points.reshape(len(res), d.shape[0]).astype(np.float64)
    x = embed.params["origin"].astype(np.float64) + np.tensordot(pts, d, axes=([1], [0]))
    return x, float(np.abs(d).max())


def check_within_rounding(res, want_y, want_slope, want_counts, m, net, dtype):
    """``res`` against the wanted values (a reference's or PyTorch's, per point): y within
    twice the rounding bound everywhere; slope and counts where no breakpoint is within
    rounding (the margins of ``m``, the float64 model, as tests/test_graph.py reads them).
    ``want_counts="hooks"`` takes the counts forward hooks see, when they see every
    activation node."""
    n = len(res)
    xs, dmax = inputs(res)
    xabs = np.abs(xs)
    tol = 2 * rounding(net, xabs, np.dtype(dtype))
    dy = np.abs(res.y.reshape(n, -1).astype(np.float64) - want_y.reshape(n, -1).astype(np.float64))
    assert (dy <= tol[:, None]).all(), f"y off by {np.max(dy / tol[:, None]):.3g} x the bound"
    margin, hooked = torch_margins(m.double(), torch.from_numpy(xs))
    sure = margin > 2 * rounding(net, xabs, np.dtype(dtype), pl_inputs=True)
    if dtype == "float64":
        assert sure.mean() > 0.9  # the comparison covers the slice
    slope_tol = 2 * rounding(net, dmax, np.dtype(dtype))
    ds = np.abs(res.slope.reshape(n, -1).astype(np.float64) - want_slope.reshape(n, -1).astype(np.float64))
    assert (ds[sure] <= slope_tol).all(), f"slope off by {np.max(ds[sure] / slope_tol):.3g} x the bound"
    if isinstance(want_counts, str):
        want_counts = hooked if hooked is not None and hooked.shape[1] == res.negative_by_layer.reshape(n, -1).shape[1] else None
    if want_counts is not None:
        np.testing.assert_array_equal(res.negative_by_layer.reshape(n, -1)[sure], want_counts.reshape(n, -1)[sure])
        np.testing.assert_array_equal(res.negative.reshape(n)[sure], want_counts.reshape(n, -1)[sure].sum(1))
    return want_counts


def same_bits(a, b):
    for f in ("y", "slope", "negative", "negative_by_layer"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), f


# -- the dispatcher ----------------------------------------------------------------------------
def test_backends_list_the_twins_and_auto_takes_c(monkeypatch):
    m, shape, x0, x1 = model("residual")
    net = Network.from_torch(m, shape)
    info = fastrelu.backends(net)
    assert info["cffi"].available and info["numba"].available and info["numpy"].available
    assert registry.kernel_for("cffi", net).kind == "graph_program"
    assert fastrelu.sweep(net, along=(x0, x1), num=5).backend == "cffi"  # auto: C, no JIT compile
    monkeypatch.setenv("FASTRELU_BACKEND", "numba")
    assert fastrelu.sweep(net, along=(x0, x1), num=5).backend == "numba"
    # a dense chain still takes the deep kernels
    chain = Network.random([3, 4, 2], seed=0)
    assert registry.kernel_for("cffi", chain).kind == "deep"


def test_scratch_that_does_not_fit_is_refused_before_allocating(monkeypatch):
    m, shape, x0, x1 = model("digits_cnn")
    net = Network.from_torch(m, shape)
    monkeypatch.setattr(params, "available_memory", lambda: 1000)
    for backend in TWINS:
        with pytest.raises(ValueError, match=r"scratch \(one tile of \d+ points through every node, per thread\) needs"):
            fastrelu.sweep(net, along=(x0, x1), num=5, backend=backend)


def test_bad_programs_are_refused():
    m, shape, x0, x1 = model("residual")
    net = Network.from_torch(m, shape).along(x0, x1)
    ops, indices, reals, units = params.graph_program(net, np.dtype(np.float64))
    t = np.zeros(3)
    y, s, neg = np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, net.depth), np.int32)
    with pytest.raises(TypeError, match="reals of t's dtype"):
        graph_c.sweep_graph(t, ops, indices, reals.astype(np.float32), units, y, s, neg)
    for twin in (graph_c, graph_numba):
        with pytest.raises((ValueError, TypeError), match="GRAPH_FIELDS|fields"):
            twin.sweep_graph(t, ops[:, :-1].copy(), indices, reals, units, y, s, neg)


# -- every graph, both dtypes, a line and a plane -----------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ALL)
def test_twins_match_each_other_the_reference_and_torch_on_a_line(name, dtype):
    m, shape, x0, x1 = model(name)
    net = Network.from_torch(m, shape, dtype=dtype)
    ref = fastrelu.sweep(net, along=(x0, x1), num=301, backend="numpy")
    got = {b: fastrelu.sweep(net, along=(x0, x1), num=301, backend=b) for b in TWINS}
    assert [r.backend for r in got.values()] == list(TWINS)
    if FUSED:
        same_bits(got["cffi"], got["numba"])
    # PyTorch on the same points: model(x(t)) and torch.func.jvp along x1 - x0
    tdt = torch.float64 if dtype == "float64" else torch.float32
    xs = torch.tensor(inputs(ref)[0].reshape(len(ref), *shape), dtype=tdt)
    tm = m.to(tdt)
    d = torch.tensor((x1 - x0).reshape(shape), dtype=tdt)
    y, dy = torch.func.jvp(tm, (xs,), (d.expand_as(xs),))
    m.double()
    y, dy = y.detach().numpy(), dy.detach().numpy()
    for res in got.values():
        check_within_rounding(res, ref.y, ref.slope, ref.negative_by_layer, m, net, dtype)
        assert compare(res, ref).ok, str(compare(res, ref))  # the rule bench and the tests share
        hooked = check_within_rounding(res, y, dy, "hooks", m, net, dtype)
    if name in ("digits_cnn", "every"):  # every activation a module: the hooks' counts were checked
        assert hooked is not None
    if name == "every":
        assert {n.kind for n in net.graph.nodes} >= {"conv", "add", "scale", "act", "maxpool", "avgpool", "reshape", "dense"}
        assert {type(a) for a in m.acts} == set(ACTS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ALL)
def test_twins_on_a_plane(name, dtype):
    m, shape, x0, x1 = model(name)
    x2 = np.random.default_rng(7).normal(size=x0.shape)
    net = Network.from_torch(m, shape, dtype=dtype)
    ref = fastrelu.sweep(net, plane=(x0, x1, x2), num=(13, 11), backend="numpy")
    assert ref.slope.shape[-1] == 2
    got = [fastrelu.sweep(net, plane=(x0, x1, x2), num=(13, 11), backend=b) for b in TWINS]
    assert [r.backend for r in got] == list(TWINS)
    if FUSED:
        same_bits(*got)
    for res in got:
        check_within_rounding(res, ref.y, ref.slope, ref.negative_by_layer, m, net, dtype)
        assert compare(res, ref).ok, str(compare(res, ref))  # the rule bench and the tests share


@pytest.mark.parametrize("name", ALL)
def test_one_point_and_the_linear_twin(name):
    m, shape, x0, x1 = model(name)
    net = Network.from_torch(m, shape)
    lin = net.linear()
    for n, mod in ((net, m), (lin, lin.to_torch())):
        ref = fastrelu.sweep(n, along=(x0, x1), x=[0.375], backend="numpy")
        for b in TWINS:
            res = fastrelu.sweep(n, along=(x0, x1), x=[0.375], backend=b)
            assert len(res) == 1 and res.backend == b
            check_within_rounding(res, ref.y, ref.slope, ref.negative_by_layer, mod, n, "float64")
            assert compare(res, ref).ok, str(compare(res, ref))  # the rule bench and the tests share
    # the linear twin is one straight line where no max-pool bends it: the same slope at every
    # point, to rounding
    for b in TWINS if all(node.kind != "maxpool" for node in lin.graph.nodes) else ():
        res = fastrelu.sweep(lin, along=(x0, x1), num=7, backend=b)
        bound = 2 * rounding(lin, float(np.abs(x1 - x0).max()), np.dtype("float64"))
        assert (np.ptp(res.slope.reshape(7, -1), axis=0) <= bound).all()


# -- hostile cases on dyadic graphs: every operation exact, so every backend gives the same bits --
def _dyadic_net(dtype):
    """Input t (1,) -> embed into (1, 4, 4) -> ... with weights of few bits: every value along
    t = k/8 is exact, so the reference's bits are the truth.  It holds max-pool windows that
    tie at t = 1/2 (and, of zeros, everywhere), a unit exactly on its kink at t = 1/2, a
    convolution of zero weights (exact zeros: counted negative), padding and dilation."""
    x = Node("t", "input", (), {}, (1,))
    origin = np.array([[0.0, 1.0, 0.5, 0.25], [0.0, 0.0, -1.0, 2.0], [0.5, 0.5, 0.5, 0.5], [1.0, -2.0, 0.75, 0.0]])
    direc = np.array([[1.0, -1.0, 0.0, 0.5], [0.0, 0.0, 2.0, -4.0], [0.0, 0.0, 0.0, 0.0], [-1.0, 4.0, -0.5, 1.0]])
    e = Node("e", "embed", ["t"], {"origin": origin.reshape(1, 4, 4), "directions": direc.reshape(1, 1, 4, 4)}, (1, 4, 4))
    w = np.zeros((3, 1, 2, 2))
    w[0] = [[1.0, -0.5], [0.25, 0.0]]
    w[2] = [[0.0, 0.0], [2.0, 1.0]]  # w[1] = 0: an exact zero channel (bias 0)
    conv = Node("conv", "conv", ["e"], {"weight": w, "bias": np.array([-0.5, 0.0, 0.125]), "stride": (1, 1),
                                        "padding": ((1, 0), (0, 1)), "dilation": (1, 2), "groups": 1, "ndim": 2}, (3, 4, 3))
    relu = Node("relu", "act", ["conv"], {"act": Activation("relu")}, (3, 4, 3))
    pool = Node("pool", "maxpool", ["relu"], {"kernel": (2, 2), "stride": (2, 1), "padding": ((1, 1), (0, 1)),
                                              "dilation": (1, 2), "ndim": 2}, (3, 3, 2))
    raw = Node("raw", "maxpool", ["e"], {"kernel": (1, 2), "stride": (1, 2), "padding": ((0, 0), (0, 0)),
                                         "dilation": (1, 1), "ndim": 2}, (1, 4, 2))
    flat_p, flat_r = Node("fp", "reshape", ["pool"], {"to": (18,)}, (18,)), Node("fr", "reshape", ["raw"], {"to": (8,)}, (8,))
    cat = Node("cat", "cat", ["fp", "fr"], {"axis": 0}, (26,))
    wd = np.zeros((3, 26))
    wd[0, ::2], wd[1, 1::3], wd[2, 18:] = 0.5, -1.0, [1.0, 2.0, 0.25, 4.0, -1.0, 0.5, 1.0, 1.0]
    nodes = [x, e, conv, relu, pool, raw, flat_p, flat_r, cat]
    # the first unit's bias puts its kink exactly at t = 1/2 (every value there is exact)
    at_half = propagate_graph(Graph([*nodes, Node("fc", "dense", ["cat"], {"weight": wd, "bias": None}, (3,))]),
                              np.array([[0.5]]))[0][0]
    dense = Node("fc", "dense", ["cat"], {"weight": wd, "bias": np.array([-at_half[0], -0.5, 0.25])}, (3,))
    kink = Node("kink", "act", ["fc"], {"act": Activation("leaky_relu", negative_slope=0.25)}, (3,))
    out = Node("out", "add", ["kink", "fc"], {"coeffs": np.array([1.0, -0.5]), "const": np.array([0.0, 1.0, 0.0])}, (3,))
    return Network._from_graph(Graph([*nodes, dense, kink, out]).astype(dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hostile_dyadic_graph_gives_the_references_bits(dtype):
    net = _dyadic_net(dtype)
    huge = 2.0**30 if dtype == "float64" else 2.0**12  # every value still exact in the dtype
    t = np.array([-huge, -1.0, 0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 1.0, 3.0, huge])
    ref = fastrelu.sweep(net, x=t, backend="numpy")
    # the hostile cases are there: the zero channel's 4 x 3 units are exactly 0 everywhere
    # (counted negative), and at t = 1/2 the first output unit is exactly on its kink
    assert ref.negative_by_layer[:, 0].min() >= 12
    near = fastrelu.sweep(net, x=[0.5 - 2.0**-8, 0.5, 0.5 + 2.0**-8], backend="numpy").negative_by_layer[:, 1]
    assert near[1] == near[0] == near[2] + 1 or near[1] == near[2] == near[0] + 1
    for b in TWINS:
        same_bits(fastrelu.sweep(net, x=t, backend=b), ref)
        for one in (0.5, -huge):  # one point
            same_bits(fastrelu.sweep(net, x=[one], backend=b), fastrelu.sweep(net, x=[one], backend="numpy"))


def test_a_tie_takes_the_first_window_input_as_torch_does():
    """A 1-D max-pool over (t, 1 - t): at t = 1/2 the two tie; the first wins (numpy's argmax,
    PyTorch's max-pool), so the slope there is +1, the side after it (-1 before)."""
    x = Node("t", "input", (), {}, (1,))
    e = Node("e", "embed", ["t"], {"origin": np.array([[0.0, 1.0]]), "directions": np.array([[[1.0, -1.0]]])}, (1, 2))
    p = Node("p", "maxpool", ["e"], {"kernel": (2,), "stride": (2,), "padding": ((0, 0),), "dilation": (1,), "ndim": 1}, (1, 1))
    r = Node("r", "reshape", ["p"], {"to": (1,)}, (1,))
    net = Network._from_graph(Graph([x, e, p, r]))
    xt = torch.tensor([[[0.5, 0.5]]], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.max_pool1d(xt, 2).sum().backward()
    assert xt.grad.tolist() == [[[1.0, 0.0]]]  # PyTorch's tangent follows the first of equals
    for b in ("numpy", *TWINS):
        res = fastrelu.sweep(net, x=[0.25, 0.5, 0.75], backend=b)
        assert res.y.tolist() == [0.75, 0.5, 0.75] and res.slope.tolist() == [-1.0, 1.0, 1.0], b
