"""Exact pieces of graph networks on a line (kernels/graph_walk.py): against exact rational
arithmetic on small dyadic models (a max-pool tie, a residual branch that cancels), against
the dense walk on MLPs, against PyTorch on trained and random models, against Regioncam on
residual MLPs."""

from fractions import Fraction

import numpy as np
import pytest
import regioncam
import torch
from torch import nn

import fastrelu
from fastrelu import Network
from fastrelu.kernels import graph_walk



# -- exact arithmetic -------------------------------------------------------------------------
def exact_forward(graph, t):
    """Every node's output at the rational ``t`` (graph of one coordinate), as Fractions, and
    each piecewise-linear node's pattern: (value of the output, {node index: pattern tuple})."""
    vals = {}
    patterns = {}
    for k, n in enumerate(graph.nodes):
        p = n.params
        if n.kind == "input":
            v = [t]
        elif n.kind == "embed":
            o, d = p["origin"].reshape(-1), p["directions"].reshape(-1)
            v = [Fraction(float(a)) + t * Fraction(float(b)) for a, b in zip(o, d)]
        elif n.kind == "dense":
            x = vals[n.inputs[0]]
            w, b = p["weight"], p["bias"]
            v = [sum((Fraction(float(w[i, j])) * x[j] for j in range(w.shape[1])), Fraction(0)) + (Fraction(float(b[i])) if b is not None else 0)
                 for i in range(w.shape[0])]
        elif n.kind == "add":
            xs = [vals[i] for i in n.inputs]
            const = p.get("const")
            v = [sum(Fraction(float(c)) * x[i] for c, x in zip(p["coeffs"], xs)) + (Fraction(float(np.broadcast_to(const, n.shape).reshape(-1)[i])) if const is not None else 0)
                 for i in range(n.size)]
        elif n.kind == "reshape":
            v = vals[n.inputs[0]]
        elif n.kind == "act":
            x = vals[n.inputs[0]]
            alpha, lo, hi = p["act"].kernel_form(n.size)
            v, pat = [], []
            for i, z in enumerate(x):
                a = z if z > 0 else Fraction(float(alpha[i])) * z
                code = int(z > 0)
                if np.isfinite(lo) and a <= Fraction(lo):
                    a, code = Fraction(lo), code | 2
                if np.isfinite(hi) and a >= Fraction(hi):
                    a, code = Fraction(hi), code | 4
                v.append(a)
                pat.append(code)
            patterns[k] = tuple(pat)
        elif n.kind == "maxpool":  # 1-D, stride = kernel, no padding: what the tests build
            x = vals[n.inputs[0]]
            c, length = graph.nodes[graph.index[n.inputs[0]]].shape
            kk = p["kernel"][0]
            v, pat = [], []
            for ch in range(c):
                for o in range(n.shape[1]):
                    win = x[ch * length + o * kk : ch * length + o * kk + kk]
                    m = max(win)
                    v.append(m)
                    pat.append(win.index(m))  # the first of equals, as PyTorch
            patterns[k] = tuple(pat)
        else:
            raise AssertionError(n.kind)
        vals[n.name] = v
    return vals[graph.nodes[-1].name], patterns


def dyadic(shape, rng, bits=3):
    return torch.tensor(rng.integers(-8, 9, size=shape) / 2**bits, dtype=torch.float64)


class TieCancel(nn.Module):
    """A max-pool whose first window compares two equal units (a tie on the whole line),
    and a residual branch that cancels exactly (its units switch: boundaries, no kinks)."""

    def __init__(self, rng):
        super().__init__()
        self.a = nn.Linear(4, 6).double()
        self.b = nn.Linear(3, 2).double()
        self.c = nn.Linear(4, 3).double()
        with torch.no_grad():
            for m in (self.a, self.b, self.c):
                m.weight.copy_(dyadic(m.weight.shape, rng))
                m.bias.copy_(dyadic(m.bias.shape, rng))
            self.a.weight[1] = self.a.weight[0]
            self.a.bias[1] = self.a.bias[0]
        self.pool = nn.MaxPool1d(2)

    def forward(self, x):
        h = torch.relu(self.a(x)).view(x.size(0), 1, 6)
        h = self.pool(h).flatten(1)
        g = torch.relu(self.c(x))
        return self.b(h + g - g)


class Residual(nn.Module):
    def __init__(self, rng, width=6):
        super().__init__()
        self.inp = nn.Linear(3, width).double()
        self.f = nn.Linear(width, width).double()
        self.out = nn.Linear(width, 2).double()
        with torch.no_grad():
            for m in (self.inp, self.f, self.out):
                m.weight.copy_(dyadic(m.weight.shape, rng))
                m.bias.copy_(dyadic(m.bias.shape, rng))

    def forward(self, x):
        h = self.inp(x)
        h = h + nn.functional.leaky_relu(self.f(torch.relu(h)), 0.25)
        return self.out(torch.clamp(h, -1.0, 1.0))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("make", [TieCancel, Residual])
def test_pieces_are_exact(make, seed):
    rng = np.random.default_rng(seed)
    model = make(rng).eval()
    net = Network.from_torch(model)
    n_in = net.in_features
    x0, x1 = rng.integers(-8, 9, size=(2, n_in)) / 4.0
    r = fastrelu.regions(net, along=(x0, x1), start=-4.0, stop=4.0, boundaries=True)
    assert len(r) == r.n_boundaries + 1
    line = net.along(x0, x1).graph
    edges = np.concatenate((r.lo, r.hi[-1:]))
    for i in range(len(r)):
        lo, hi = Fraction(float(r.lo[i])), Fraction(float(r.hi[i]))
        pats = set()
        for q in (Fraction(1, 7), Fraction(1, 2), Fraction(6, 7)):  # inside the piece: the piece's map, one pattern
            t = lo + q * (hi - lo)
            y, pat = exact_forward(line, t)
            pats.add(tuple(sorted(pat.items())))
            slope = np.atleast_1d(r.slope[i])
            intercept = np.atleast_1d(r.intercept[i])
            assert [Fraction(float(s)) * t + Fraction(float(c)) for s, c in zip(slope, intercept)] == y
        assert len(pats) == 1, f"piece {i} holds more than one pattern"
    # each interior edge: the pattern changes across it, where the units named switch
    for e in range(1, len(edges) - 1):
        t = Fraction(float(edges[e]))
        gap = min(Fraction(float(edges[e])) - Fraction(float(edges[e - 1])), Fraction(float(edges[e + 1])) - t) / 1024
        _, left = exact_forward(line, t - gap)
        _, right = exact_forward(line, t + gap)
        # nodes as net.nodes lists them: the line's graph has its embed node after the input
        changed = sorted((k - 1, u) for k in left for u in range(len(left[k])) if left[k][u] != right[k][u])
        node, unit = r.switching(e - 1)
        assert sorted(zip(node.tolist(), unit.tolist())) == changed
    if make is TieCancel:  # the cancelled branch's units switch, and the tied window never changes its argmax
        names = [n.name for n in net.nodes]
        pool = [k for k, n in enumerate(net.nodes) if n.kind == "maxpool"][0]
        for e in range(len(r) - 1):
            node, unit = r.switching(e)
            assert not ((node == pool) & (unit == 0)).any()
        cancelled = names.index("relu_1")  # the units of g in g - g: they switch, the output does not bend
        only = [e for e in range(len(r) - 1) if set(r.switching(e)[0].tolist()) == {cancelled}]
        assert only
        for e in only:
            np.testing.assert_array_equal(r.slope[e], r.slope[e + 1])
        assert r.n_kinks <= r.n_boundaries - len(only)


@pytest.mark.parametrize("seed", range(4))
def test_the_mlp_is_a_case_of_the_graph_walk(seed):
    rng = np.random.default_rng(seed)
    layers = [(rng.integers(-8, 9, size=(o, i)) / 8.0, rng.integers(-8, 9, size=o) / 8.0) for i, o in ((3, 12), (12, 12), (12, 2))]
    net = Network.from_layers(layers, ["relu", "hardtanh"])
    x0, x1 = rng.integers(-8, 9, size=(2, 3)) / 4.0
    dense = fastrelu.regions(net, along=(x0, x1), start=-3.0, stop=3.0, boundaries=True)
    line = net.along(x0, x1)
    pieces = graph_walk.walk(line.graph.astype(np.float64), np.nextafter(-3.0, -np.inf), np.nextafter(3.0, np.inf))
    inner = pieces.edges[1:-1]
    keep = (inner > -3.0) & (inner < 3.0)
    np.testing.assert_array_equal(inner[keep], dense.lo[1:])
    assert int(pieces.kink[keep].sum()) == fastrelu.regions(net, along=(x0, x1), start=-3.0, stop=3.0).n_kinks
    # the same crossings, by (node, unit): the chain's graph names act nodes 2, 4 for layers 0, 1
    for e in np.flatnonzero(keep)[:20]:
        node, unit = pieces.crossings(e)
        layer, lunit = dense.switching(int(np.flatnonzero(np.flatnonzero(keep) == e)[0]))
        assert sorted(zip(((node - 2) // 2).tolist(), unit.tolist())) == sorted(zip(layer.tolist(), lunit.tolist()))


def test_pieces_of_a_trained_cnn_match_torch():
    import test_graph  # noqa: PLC0415 - its trained digits CNN

    model, shape, a, b = test_graph.model_of("digits_cnn")
    net = Network.from_torch(model, shape)
    r = fastrelu.regions(net, along=(a, b), start=0.0, stop=1.0)
    assert len(r) > 10 and len(r) == r.n_kinks + 1
    mids = (r.lo + r.hi) / 2
    x0, x1 = torch.tensor(a).reshape(shape), torch.tensor(b).reshape(shape)
    xs = x0 + torch.tensor(mids).reshape(-1, 1, 1, 1) * (x1 - x0)
    y = model(xs).detach().numpy()
    tol = 2 * test_graph.rounding(net, float(max(np.abs(a).max(), np.abs(b).max())), np.dtype(np.float64))
    np.testing.assert_allclose(r.slope * mids[:, None] + r.intercept, y, rtol=0, atol=tol)
    node, unit = r.switching(0)
    assert node.size and all(net.nodes[k].kind in ("act", "maxpool") for k in node)
    k = fastrelu.kinks(net, along=(a, b), start=0.0, stop=1.0)
    np.testing.assert_array_equal(k, r.hi[:-1])


@pytest.mark.parametrize("seed", range(3))
def test_residual_mlp_pieces_match_regioncam(seed):
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 16))
    block = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16))
    head = nn.Linear(16, 1)

    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.block, self.head = body, block, head

        def forward(self, x):
            h = self.body(x)
            return self.head(h + self.block(h))

    rc = regioncam.Regioncam1D((-3.0, 3.0))
    rc.add([regioncam.nn.convert(body), regioncam.nn.Residual(regioncam.nn.convert(block)), regioncam.nn.convert(head)])
    net = Network.from_torch(Res())
    r = fastrelu.regions(net, start=-3.0, stop=3.0, boundaries=True)
    assert len(r) == rc.num_vertices - 1


@pytest.mark.parametrize("name", ["residual", "convs", "digits_cnn"])
def test_exact_kernel_reads_points_off_the_pieces(name):
    import test_graph  # noqa: PLC0415

    from fastrelu.kernels.registry import kernel_for  # noqa: PLC0415

    model, shape, _, _ = test_graph.model_of(name)
    net = Network.from_torch(model, shape)
    x0, x1 = test_graph.line(name, shape)
    line = net.along(x0, x1)
    kernel = kernel_for("exact", line, 1001)
    assert kernel.backend == "exact" and kernel.kind == "graph"
    r = fastrelu.regions(net, along=(x0, x1), start=0.0, stop=1.0, boundaries=True)
    t = np.concatenate((np.linspace(0.0, 1.0, 1001), r.lo[1:5]))  # points exactly on edges too
    out = [np.empty((t.size, line.out_features)), np.empty((t.size, line.out_features)), np.empty((t.size, line.depth), np.int32)]
    kernel.sweep(t, line, np.dtype(np.float64), *out, span=(0.0, 1.0))
    ref = fastrelu.sweep(net, along=(x0, x1), x=t, backend="numpy")
    tol = 2 * test_graph.rounding(net, float(max(np.abs(x0).max(), np.abs(x1).max())), np.dtype(np.float64))
    np.testing.assert_allclose(out[0].reshape(ref.y.shape), ref.y, rtol=0, atol=tol)
    np.testing.assert_array_equal(out[2][:1001], ref.negative_by_layer[:1001])
    # exactly on an edge the units crossing there have z = 0 up to the forward's rounding,
    # which differs with the batch's blocking: the counts agree but for those units
    for i in range(4):
        allowed = r.switching(i)[0].size
        assert np.abs(out[2][1001 + i] - ref.negative_by_layer[1001 + i]).sum() <= allowed


def test_a_walk_that_would_not_fit_is_refused_before_allocating(monkeypatch):
    import test_graph  # noqa: PLC0415

    model, shape, a, b = test_graph.model_of("digits_cnn")
    net = Network.from_torch(model, shape)
    monkeypatch.setattr(graph_walk, "available_memory", lambda: 1 << 20)  # 1 MiB
    with pytest.raises(ValueError, match=r"the walk of this line through node '_2' \(act, 512 units\) would hold .* GiB is available: walk a shorter stretch"):
        fastrelu.regions(net, along=(a, b), start=0.0, stop=1.0)
