"""The reverse pass of a graph network (``model.forward.pull_back_graph``): each row's
Jacobian with its pattern fixed, pulled back node by node, against the forward pass with
one tangent per input (``propagate_graph``) and against ``torch.func.jacrev``, on every
kind of graph (tests/test_graph.py's models, test_graph_twins' EveryOp, a 1-D model with
padded, overlapping max-pools), both dtypes; dyadic graphs where every operation is exact
(a max-pool tie, a zero-weight channel, a point exactly on a kink) give the same bits.
``Regions.gradient`` takes it (fewer outputs than inputs) or the forward (more), and
both equal torch.

The bound: a Jacobian entry is a sum over the graph's paths of products of weights and
gains; computed in any order, it is off by at most ``gamma(n) * |J|`` where ``|J|`` is the
same Jacobian of the graph with every parameter and gain made ``|.|`` (one more pull-back)
and ``n`` counts the terms of the longest chain of sums: per node its fan-in or fan-out,
whichever is larger, plus two roundings (a folded BatchNorm, a gain), plus the node's
readers (cotangents added at a fan-out).  Two computations then differ by twice that.
"""

import copy

import numpy as np
import pytest
import torch
from test_graph import MODELS
from test_graph_twins import model as twin_model
from torch import nn

import fastrelu
from fastrelu.analysis.patterns import graph64
from fastrelu.model import Activation
from fastrelu.model.forward import activate, propagate_graph, pull_back_graph, tangent
from fastrelu.model.graph import Graph, Node, act_form, maxpool_windows

KINDS = [*MODELS, "every", "pool1d"]


class Pool1d(nn.Module):
    """1-D: a strided, padded convolution, max-pools with padding and overlapping windows, an
    average pool, and a permute back to channels last before the Linear."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv1d(2, 4, 3, stride=2, padding=2, dilation=2)
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)
        self.avg = nn.AvgPool1d(2)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        h = self.avg(self.pool(torch.relu(self.c(x))))  # (4, 3)
        return self.fc(h.permute(0, 2, 1)).flatten(1)


def model(name):
    """``(model, input_shape)``, float64, eval."""
    if name == "pool1d":
        torch.manual_seed(3)
        return Pool1d().double().eval(), (2, 11)
    m, shape, *_ = twin_model(name)
    return m, shape


def points(shape, rows=3, seed=0):
    return np.random.default_rng(seed).normal(size=(rows, *shape))


def pattern_of(graph, x):
    """Each piecewise node's pattern at ``x`` in the graph's dtype: the forward's own step
    (gains as ``tangent`` takes them, argmax as the forward's max-pool)."""
    found = {}

    def visit(node, z, dz):
        if node.kind == "act":
            alpha, lo, hi = act_form(node, z.dtype)
            _, on, inside = activate(z, alpha, lo, hi)
            found[node.name] = tangent(np.ones_like(z), alpha, on, inside)
        else:
            found[node.name] = np.argmax(maxpool_windows(node, z, -np.inf), axis=-1)

    propagate_graph(graph, x, visit=visit)
    return found


def identity(rows, shape, dtype):
    n = int(np.prod(shape))
    return np.broadcast_to(np.eye(n, dtype=dtype).reshape((1, n, *shape)), (rows, n, *shape))


def forward_jacobian(graph, x):
    rows, n_in = x.shape[0], int(np.prod(graph.input_shape))
    _, dy = propagate_graph(graph, x, identity(rows, graph.input_shape, x.dtype))
    return np.swapaxes(dy.reshape(rows, n_in, -1), 1, 2)  # (rows, out, in)


def reverse_jacobian(graph, pattern, rows):
    g = pull_back_graph(graph, pattern, identity(rows, graph.output.shape, graph.dtype))
    return g.reshape(rows, graph.output.size, -1)


def terms(graph):
    """``n`` of the module's bound: the longest chain of sums, counted generously."""
    n = 0
    for node in graph.nodes[1:]:
        p = node.params
        if node.kind == "dense":
            k = max(p["weight"].shape)
        elif node.kind == "conv":
            k = max(p["weight"].shape[:2]) * int(np.prod(p["weight"].shape[2:]))
        elif node.kind == "avgpool":
            k = sum(max(p[f"mat{i}"].shape) for i in range(p["ndim"]))
        elif node.kind == "maxpool":
            k = int(np.prod(p["kernel"]))  # overlapping windows add up at an input
        elif node.kind == "embed":
            k = max(p["directions"].shape[0], node.size)
        elif node.kind == "scale":
            k = node.size  # a scale that broadcast its input sums it back
        else:
            k = len(node.inputs)
        n += k + 2 + len(graph.consumers[node.name])
    return n


def bound(graph, pattern, rows, dtype):
    """Twice ``gamma(n) * |J|`` (float64), |J| from the graph and gains made ``|.|``."""
    absolute = graph.astype(np.float64).map_arrays(np.abs)
    nodes = [Node(nd.name, nd.kind, nd.inputs, {**nd.params, "coeffs": np.abs(nd.params["coeffs"])}, nd.shape)
             if nd.kind == "add" else nd for nd in absolute.nodes]
    absolute = Graph(nodes)
    gains = {k: (np.abs(v).astype(np.float64) if v.dtype.kind == "f" else v) for k, v in pattern.items()}
    mag = np.abs(reverse_jacobian(absolute, gains, rows))
    u = np.finfo(dtype).eps / 2
    gamma = terms(graph) * u / (1 - terms(graph) * u)
    return 2 * gamma * mag / (1 - gamma)  # |J| itself computed within gamma (every term >= 0)


def torch_jacobian(m, x):
    # point by point (some models read their batch size, which vmap hides)
    J = [torch.func.jacrev(lambda v: m(v[None])[0].flatten())(torch.from_numpy(xi)) for xi in x]
    return torch.stack(J).reshape(x.shape[0], J[0].shape[0], -1).detach().numpy()


def within(a, b, tol, what):
    a, b = a.astype(np.float64), b.astype(np.float64)
    bad = np.abs(a - b) > tol
    assert not bad.any(), f"{what}: {np.count_nonzero(bad)} entries beyond the bound, worst {np.max(np.abs(a - b) - tol):.3g} over"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", KINDS)
def test_reverse_equals_forward_and_torch(name, dtype):
    m, shape = model(name)
    net = fastrelu.Network.from_torch(m, shape)
    graph = net.graph.astype(dtype)
    x = points(shape).astype(dtype)
    pattern = pattern_of(graph, x)
    rev = reverse_jacobian(graph, pattern, x.shape[0])
    assert rev.dtype == dtype and rev.shape == (3, net.out_features, net.in_features)
    tol = bound(graph, pattern, x.shape[0], dtype)
    within(rev, forward_jacobian(graph, x), tol, "reverse against forward tangents")
    mt = copy.deepcopy(m).float() if dtype == np.float32 else m  # the cached float64 model kept as it is
    within(rev, torch_jacobian(mt, x), tol, "reverse against torch.func.jacrev")
    assert (tol > 0).any() and (rev != 0).any()  # a bound of all zeros would test nothing


def test_one_point_and_huge_inputs():
    m, shape = model("digits_cnn")
    net = fastrelu.Network.from_torch(m, shape)
    graph = graph64(net)
    for x in (points(shape, rows=1), 1e150 * points(shape, rows=2, seed=1)):
        pattern = pattern_of(graph, x)
        rev = reverse_jacobian(graph, pattern, x.shape[0])
        tol = bound(graph, pattern, x.shape[0], np.float64)
        within(rev, forward_jacobian(graph, x), tol, "forward")
        within(rev, torch_jacobian(m, x), tol, "torch")


def _dyadic_graph():
    """Every weight a small dyadic number: every product and sum below is exact.  Channel 1
    of the convolution has zero weights and bias (its units exactly 0, off, gain 0); the
    max-pool reads a constant input (a tie in every window: the first wins, as in torch)."""
    w = np.array([[[[0.5, -0.25], [0.25, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]], [[[-1.0, 0.5], [0.5, 0.25]]]])
    b = np.array([0.125, 0.0, -0.5])
    fc = np.array([[0.5, -1.0, 0.25] * 4, [-0.25, 2.0, 1.0] * 4])
    conv = {"ndim": 2, "weight": w, "bias": b, "stride": (1, 1), "padding": ((1, 0), (0, 1)), "dilation": (1, 1), "groups": 1}
    pool = {"ndim": 2, "kernel": (2, 2), "stride": (1, 1), "padding": ((0, 0), (0, 0)), "dilation": (1, 1)}
    return Graph([
        Node("x", "input", (), {}, (1, 3, 3)),
        Node("tie", "maxpool", ["x"], pool, (1, 2, 2)),
        Node("conv", "conv", ["tie"], conv, (3, 2, 2)),
        Node("relu", "act", ["conv"], {"act": Activation("relu")}, (3, 2, 2)),
        Node("flat", "reshape", ["relu"], {"to": (12,)}, (12,)),
        Node("fc", "dense", ["flat"], {"weight": fc, "bias": None}, (2,)),
    ])


def test_dyadic_ties_zero_channel_and_a_kink_give_the_same_bits():
    graph = _dyadic_graph()
    # every max-pool window a tie; no tie; ties and channel 2 at (1, 0) exactly on its kink
    # (its window reads no padding: 2 * (-1 + 0.5 + 0.5 + 0.25) - 0.5 = 0)
    x = np.array([np.full((1, 3, 3), 0.5), np.arange(9.0).reshape(1, 3, 3) / 4 - 1, np.full((1, 3, 3), 2.0)])
    pattern = pattern_of(graph, x)
    rev = reverse_jacobian(graph, pattern, 3)
    assert np.array_equal(rev, forward_jacobian(graph, x))
    # torch at the same points: the graph as a module
    conv = nn.Conv2d(1, 3, 2).double()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(graph.nodes[2].params["weight"]))
        conv.bias.copy_(torch.from_numpy(graph.nodes[2].params["bias"]))

    def f(v):
        h = torch.relu(conv(nn.functional.pad(nn.functional.max_pool2d(v, 2, stride=1), (0, 1, 1, 0))))
        return h.flatten(1) @ torch.from_numpy(graph.nodes[5].params["weight"]).T

    assert np.array_equal(rev, torch_jacobian(f, x))
    # the zero channel: no input reaches the output through it, and its units read as off
    assert (pattern["relu"][:, 1] == 0).all()
    assert pattern["relu"][2, 2, 1, 0] == 0 and pattern["relu"][2, 0].all()  # the kink reads as off, as in torch
    # the tie: everything goes through each window's first input
    assert (pattern["tie"][0] == 0).all() and np.count_nonzero(rev[0].reshape(2, 3, 3)[:, 2, :]) == 0


def test_a_unit_exactly_on_its_kink_has_gain_zero_as_in_torch():
    w = np.array([[1.0, -1.0], [0.5, 0.25]])
    graph = Graph([Node("x", "input", (), {}, (2,)),
                   Node("fc", "dense", ["x"], {"weight": w, "bias": np.zeros(2)}, (2,)),
                   Node("relu", "act", ["fc"], {"act": Activation("leaky_relu", negative_slope=0.125)}, (2,)),
                   Node("out", "dense", ["relu"], {"weight": np.array([[1.0, 1.0]]), "bias": None}, (1,))])
    x = np.array([[0.5, 0.5]])  # unit 0's input exactly 0: the side where it is off
    rev = reverse_jacobian(graph, pattern_of(graph, x), 1)
    lin = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
    f = lambda v: nn.functional.leaky_relu(lin(v), 0.125).sum(1, keepdim=True)
    assert np.array_equal(rev, torch_jacobian(f, x))
    assert rev.tolist() == [[[0.125 + 0.5, -0.125 + 0.25]]]


def test_an_embedded_slice_pulls_back_to_its_coordinates():
    m, shape = model("convs")
    net = fastrelu.Network.from_torch(m, shape)
    d = np.random.default_rng(4).normal(size=(2, *shape))
    graph = graph64(net).on_slice(np.zeros(shape), d)
    u = np.random.default_rng(5).normal(size=(4, 2))
    pattern = pattern_of(graph, u)
    rev = reverse_jacobian(graph, pattern, 4)
    within(rev, forward_jacobian(graph, u), bound(graph, pattern, 4, np.float64), "embed")


@pytest.mark.parametrize("name", ["digits_cnn", "cat", "wide_out"])
def test_regions_gradient_backward_and_forward_equal_torch(name):
    """``Regions.gradient`` pulls back when the outputs are fewer than the inputs (the CNN: 10
    against 64), else pushes the inputs' tangents (a model of 2 inputs and 7 outputs)."""
    if name == "wide_out":
        torch.manual_seed(4)
        m = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 7)).double().eval()
        shape = (2,)

        class Res(nn.Module):  # a residual, so that the traced model is a graph, not a chain
            def __init__(self):
                super().__init__()
                self.m, self.skip = m, nn.Linear(2, 7)

            def forward(self, x):
                return self.m(x) + self.skip(x)

        m = Res().double().eval()
    else:
        m, shape = model(name)
    net = fastrelu.Network.from_torch(m, shape)
    assert net.is_graph
    x0, x1 = points(shape, rows=2, seed=7)
    r = fastrelu.regions(net, along=(x0, x1), start=0.0, stop=1.0, boundaries=True, progress=False)
    g = r.gradient.reshape(len(r), net.out_features, net.in_features)
    t = (r.lo + r.hi) / 2
    X = x0[None] + t.reshape((-1,) + (1,) * len(shape)) * (x1 - x0)[None]
    graph = graph64(net)
    pattern = pattern_of(graph, X)
    within(g, torch_jacobian(m, X), bound(graph, pattern, len(r), np.float64), "Regions.gradient against torch")
    assert len(r) > 1


def test_a_scale_that_broadcasts_its_input_sums_back():
    """``x * scale`` with ``scale`` (3, 4) on an input (1, 4): the output (3, 4) reads each input
    three times, so the pull-back sums the three."""
    rng = np.random.default_rng(6)
    scale, shift = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    graph = Graph([Node("x", "input", (), {}, (1, 4)),
                   Node("s", "scale", ["x"], {"scale": scale, "shift": shift}, (3, 4)),
                   Node("relu", "act", ["s"], {"act": Activation("relu")}, (3, 4)),
                   Node("flat", "reshape", ["relu"], {"to": (12,)}, (12,)),
                   Node("fc", "dense", ["flat"], {"weight": rng.normal(size=(5, 12)), "bias": None}, (5,))])
    x = rng.normal(size=(4, 1, 4))
    pattern = pattern_of(graph, x)
    rev = reverse_jacobian(graph, pattern, 4)
    within(rev, forward_jacobian(graph, x), bound(graph, pattern, 4, np.float64), "scale")
    assert (rev != 0).any()
