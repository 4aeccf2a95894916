"""Graph networks (convolutions, pooling, residual connections, torch.cat, functional calls),
read from PyTorch through torch.fx, against PyTorch: outputs, slopes (torch.func.jvp) and
counts (forward hooks), in float64 and float32; save/load, to_torch, and the refusals."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import fastrelu
from fastrelu import Network
from fastrelu.kernels import registry
from fastrelu.kernels.agreement import compare
from fastrelu.model.forward import graph_magnitudes


ACTS = (nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.Hardtanh, nn.PReLU)


# -- models ------------------------------------------------------------------------------------
def digits_cnn():
    """A CNN trained for a few epochs on scikit-learn's digits (8x8, one channel)."""
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.images[:, None] / 16.0, dtype=torch.float64)
    y = torch.tensor(d.target)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64, 32), nn.ReLU(),
        nn.Linear(32, 10),
    ).double()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same weights on every machine (and the OpenMP setting restored after)
    try:
        for _ in range(6):
            for i in range(0, len(x), 128):
                opt.zero_grad()
                F.cross_entropy(model(x[i : i + 128]), y[i : i + 128]).backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    accuracy = float((model(x).argmax(1) == y).double().mean())
    assert accuracy > 0.8, accuracy  # it learnt something: the weights are a trained network's
    return model, (1, 8, 8), x[0, 0].numpy(), x[1, 0].numpy()


class ResidualMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(5, 16)
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16)) for _ in range(2)])
        self.out = nn.Linear(16, 3)

    def forward(self, x):
        h = self.inp(x)
        for block in self.blocks:  # a loop over modules: unrolled by the trace
            h = torch.relu(h + block(h))
        return self.out(h)


class Cat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(6, 5)
        self.act = nn.LeakyReLU(0.1)
        self.out = nn.Linear(13, 2)

    def forward(self, x):
        return self.out(torch.cat([self.act(self.a(x)), F.hardtanh(self.b(x), -0.5, 0.5)], dim=1) - 0.25)


class Convs(nn.Module):
    """Grouped, strided, dilated and padded convolutions (padding="same" too), 1-D and 2-D."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 6, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(6, 6, 3, padding="same", dilation=2, groups=3, bias=False)
        self.c3 = nn.Conv2d(6, 4, (2, 3), padding=(1, 0), groups=2)
        self.prelu = nn.PReLU(6)
        self.c4 = nn.Conv1d(4, 3, 3, stride=2, padding="valid")
        self.pool = nn.AdaptiveAvgPool1d(2)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        h = self.prelu(self.c1(x))
        h = F.relu6(self.c2(h)) + h  # a residual branch around a convolution
        h = self.c3(h)
        h = F.max_pool2d(h, 2, stride=1)
        h = h.flatten(2)  # (4, H*W): a 1-D signal of 4 channels
        return self.fc(self.pool(torch.clamp(self.c4(h), min=0)).view(h.size(0), -1))


class Functional(nn.Module):
    """Written with functional calls and methods."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(8, 4))
        self.w2 = nn.Parameter(torch.randn(3, 8))

    def forward(self, x):
        h = F.linear(x, self.w1)
        h = F.leaky_relu(h, 0.2) * 0.5 + torch.relu(-h)
        h = h.reshape(-1, 2, 4).permute(0, 2, 1).reshape(x.shape[0], 8)
        return F.linear(h.clamp(-1.0, 2.0), self.w2)


def _model(name):
    torch.manual_seed(1)
    if name == "digits_cnn":
        return digits_cnn()
    if name == "residual":
        return ResidualMLP().double().eval(), (5,), None, None
    if name == "cat":
        return Cat().double().eval(), (6,), None, None
    if name == "convs":
        return Convs().double().eval(), (2, 9, 9), None, None
    return Functional().double().eval(), (4,), None, None


MODELS = ["digits_cnn", "residual", "cat", "convs", "functional"]
_CACHE = {}


def model_of(name):
    if name not in _CACHE:
        _CACHE[name] = _model(name)
    return _CACHE[name]


def line(name, shape):
    model, shape, a, b = model_of(name)
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=shape) if a is None else a.reshape(shape)
    x1 = rng.normal(size=shape) if b is None else b.reshape(shape)
    return x0, x1


# -- rounding bounds ---------------------------------------------------------------------------
def rounding(net, x_abs, dtype, pl_inputs=False):
    """A bound on the rounding error of the output: the unit roundoff times the sum of every
    affine node's fan-in (the terms each output accumulates) times the magnitude bound.
    ``x_abs`` a number (every input within it) or the inputs (one bound per point); with
    ``pl_inputs``, of the inputs of the activation and max-pool nodes (the largest)."""
    g = net.graph
    terms = sum(int(np.prod(n.params["weight"].shape[1:])) if "weight" in n.params else len(n.inputs) + 1 for n in g.nodes[1:])
    m = graph_magnitudes(g, x_abs)
    if pl_inputs:
        mag = np.max([m[n.inputs[0]] for n in g.nodes if n.kind in ("act", "maxpool")], axis=0)
    else:
        mag = m[g.output.name]
    return 2 * terms * np.finfo(dtype).eps * mag


def torch_margins(model, xs):
    """Per point, the smallest distance of an activation's input to one of its breakpoints and of a
    max-pool window's largest input to its second; and per point the units with input <= 0
    (what forward hooks see)."""
    margins, counts = [], []

    def act_hook(m, inp, out):
        z = inp[0].detach().reshape(inp[0].shape[0], -1)
        bps = [0.0] + ([m.min_val, m.max_val] if isinstance(m, nn.Hardtanh) else [])
        margins.append(torch.stack([(z - b).abs().min(1).values for b in bps]).min(0).values)
        counts.append((z <= 0).sum(1))

    hooks = [m.register_forward_hook(act_hook) for m in model.modules() if isinstance(m, ACTS)]
    for m in model.modules():
        if isinstance(m, nn.MaxPool2d):
            def pool_hook(m, inp, out):
                w = inp[0].unfold(2, m.kernel_size, m.stride).unfold(3, m.kernel_size, m.stride).reshape(*out.shape, -1)
                top = w.topk(2, dim=-1).values
                # a window of zeros (ReLU's off units, exact whatever the rounding of their inputs,
                # which the activations' margins cover) is a tie both sides break alike: the first
                gap = torch.where((top[..., 0] == 0) & (top[..., 1] == 0), torch.inf, top[..., 0] - top[..., 1])
                margins.append(gap.reshape(w.shape[0], -1).min(1).values)
            hooks.append(m.register_forward_hook(pool_hook))
    with torch.no_grad():
        model(xs)
    for h in hooks:
        h.remove()
    margin = torch.stack(margins).min(0).values.numpy() if margins else np.full(len(xs), np.inf)
    return margin, (torch.stack(counts).T.numpy() if counts else None)


# -- against PyTorch ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", MODELS)
def test_sweep_matches_torch(name, dtype):
    model, shape, _, _ = model_of(name)
    net = Network.from_torch(model, shape, dtype=dtype)
    assert net.is_graph and net.dtype == dtype
    x0, x1 = line(name, shape)
    res = fastrelu.sweep(net, along=(x0, x1), num=401, backend="numpy")
    assert res.backend == "numpy"
    tdt = torch.float64 if dtype == "float64" else torch.float32
    m = model.to(tdt)
    t = torch.tensor(res.x, dtype=tdt)
    a, b = torch.tensor(x0, dtype=tdt), torch.tensor(x1, dtype=tdt)
    xs = a + t.reshape(-1, *(1,) * len(shape)) * (b - a)
    y, dy = torch.func.jvp(m, (xs,), ((b - a).expand_as(xs),))
    y, dy = y.detach().numpy().reshape(len(t), -1), dy.detach().numpy().reshape(len(t), -1)
    ry, rs = res.y.reshape(len(t), -1), res.slope.reshape(len(t), -1)
    xabs = float(max(np.abs(x0).max(), np.abs(x1).max()))
    tol = 2 * rounding(net, xabs, np.dtype(dtype))  # ours and torch's
    np.testing.assert_allclose(ry, y, rtol=0, atol=tol)
    # the slope and the counts where no unit is within rounding of a breakpoint (float64's
    # margins, through the same model in float64)
    margin, counts = torch_margins(model.double(), xs.double())
    z_tol = 2 * rounding(net, xs.double().numpy(), np.dtype(dtype), pl_inputs=True)
    sure = margin > z_tol
    if dtype == "float64":
        assert sure.mean() > 0.9  # the comparison covers the line (in float32 the bound is loose: few points)
    slope_tol = 2 * rounding(net, float(np.abs(x1 - x0).max()), np.dtype(dtype))
    np.testing.assert_allclose(rs[sure], dy[sure], rtol=0, atol=slope_tol)
    if counts is not None and counts.shape[1] != net.depth:  # functional activations: no hook sees them
        assert name in ("residual", "cat", "convs")
        counts = None
    if counts is not None:
        np.testing.assert_array_equal(res.negative_by_layer[sure], counts[sure])
        np.testing.assert_array_equal(res.negative[sure], counts[sure].sum(1))
        # everywhere: the counts differ by at most the units within rounding of zero
        unsure = np.zeros(len(t), np.int64)

        def near_zero(m, inp, out):
            unsure[:] += (inp[0].detach().abs().reshape(len(t), -1) <= torch.from_numpy(z_tol)[:, None]).sum(1).numpy()

        hooks = [m.register_forward_hook(near_zero) for m in model.modules() if isinstance(m, ACTS)]
        with torch.no_grad():
            model(xs.double())
        for h in hooks:
            h.remove()
        assert (np.abs(res.negative - counts.sum(1)) <= unsure).all()
    model.double()


@pytest.mark.parametrize("name", MODELS)
def test_call_to_torch_save_load(name, tmp_path):
    model, shape, _, _ = model_of(name)
    net = Network.from_torch(model, shape)
    x = np.random.default_rng(0).normal(size=(6, *shape))
    want = model(torch.from_numpy(x)).detach().numpy().reshape(6, -1)
    tol = 2 * rounding(net, float(np.abs(x).max()), np.dtype(np.float64))
    np.testing.assert_allclose(net(x).reshape(6, -1), want, rtol=0, atol=tol)
    back = net.to_torch()
    np.testing.assert_allclose(back(torch.from_numpy(x)).detach().numpy().reshape(6, -1), want, rtol=0, atol=tol)
    assert Network.from_torch(back, shape) == net  # the module it gives is read back as the same graph
    path = tmp_path / "net.npz"
    net.save(path)
    with np.load(path) as data:
        assert str(data["format"]) == "fastrelu.Network/3"
    loaded = Network.load(path)
    assert loaded == net and loaded.nodes == net.nodes
    np.testing.assert_array_equal(loaded(x), net(x))
    assert net.astype("float32").astype("float64").nodes == net.nodes


def test_nodes_and_folding():
    model, shape, _, _ = model_of("digits_cnn")
    net = Network.from_torch(model, shape)
    kinds = [n.kind for n in net.nodes]
    # the BatchNorm2d is folded into the convolution before it
    assert kinds == ["input", "conv", "act", "maxpool", "conv", "act", "avgpool", "reshape", "dense", "act", "dense"]
    assert net.nodes[1].shape == (8, 8, 8) and net.nodes[3].shape == (8, 4, 4)
    assert net.depth == 3 and net.in_features == 64 and net.out_features == 10
    for name in ("layers", "widths", "activations", "w1"):
        with pytest.raises(ValueError, match=f"{name} is defined for dense chains.*use net.nodes"):
            getattr(net, name)
    # a BatchNorm that cannot be folded (after an addition) stays a per-channel scale
    class Unfoldable(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 2, 3)
            self.bn = nn.BatchNorm2d(2)

        def forward(self, x):
            return self.bn(self.c(x) + 1.0)

    m = Unfoldable().double().eval()
    with torch.no_grad():
        m.bn.running_var.fill_(4.0)
    g = Network.from_torch(m, (1, 5, 5))
    assert [n.kind for n in g.nodes] == ["input", "conv", "add", "scale"]
    x = np.random.default_rng(0).normal(size=(3, 1, 5, 5))
    np.testing.assert_allclose(g(x).reshape(3, -1), m(torch.from_numpy(x)).detach().numpy().reshape(3, -1), rtol=0, atol=1e-14)


def test_a_traced_mlp_is_a_dense_chain():
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 7), nn.Linear(7, 2)

        def forward(self, x):
            return self.b(F.relu(self.a(x)))

    m = MLP().double()
    net = Network.from_torch(m)
    assert not net.is_graph and net.widths == (3, 7, 2)
    assert fastrelu.backends(net)["cffi"].available and registry.kernel_for("cffi", net).kind == "deep"
    assert registry.kernel_for("cffi", Network.from_torch(ResidualMLP())).kind == "graph_program"


def test_auto_picks_a_backend_that_runs_the_graph():
    model, shape, _, _ = model_of("residual")
    net = Network.from_torch(model, shape)
    info = fastrelu.backends(net)
    assert info["numpy"].available and info["numba"].available and info["cffi"].available
    assert not info["exact"].available and "no kernel" in info["exact"].reason  # of the unfolded network
    res = fastrelu.sweep(net, along=line("residual", shape), num=11)
    assert info[res.backend].available and res.backend == "cffi"
    # on a plane the exact backend reads each pixel off the graph's region map
    x0, x1 = line("residual", shape)
    plane = (x0, x1, x0 + 1.0)
    exact = fastrelu.sweep(net, plane=plane, num=(9, 7), backend="exact")
    ref = fastrelu.sweep(net, plane=plane, num=(9, 7), backend="numpy")
    assert exact.backend == "exact" and np.array_equal(exact.negative, ref.negative)
    pts = exact.plane.origin + exact.u[None, :, None] * exact.plane.directions[0] + exact.v[:, None, None] * exact.plane.directions[1]
    bound = rounding(net, np.abs(pts).max(), np.float64)
    assert np.abs(exact.y - ref.y).max() <= 2 * bound
    assert compare(exact, ref).ok, str(compare(exact, ref))


# -- refusals ----------------------------------------------------------------------------------
class _Wrap(nn.Module):
    def __init__(self, fn, mod=None):
        super().__init__()
        self.fn, self.mod, self.fc = fn, mod, nn.Linear(4, 4)

    def forward(self, x):
        return self.fn(self, self.fc(x))


@pytest.mark.parametrize(
    "fn, mod, match",
    [
        (lambda s, h: s.mod(h), nn.GELU(), r"node 'mod' \(mod, GELU\) is not piecewise linear"),
        (lambda s, h: F.softmax(h, dim=1), None, r"node 'softmax' \(softmax\) is not supported: softmax is not piecewise linear"),
        (lambda s, h: torch.tanh(h), None, r"node 'tanh' \(tanh\) is not supported: tanh is not piecewise linear"),
        (lambda s, h: h * h, None, r"node 'mul' \(product of two tensors\) is not supported: a product of two branches"),
        (lambda s, h: (h.unsqueeze(2) @ h.unsqueeze(1)).flatten(1), None, r"node 'unsqueeze' \(method unsqueeze\) is not supported"),
        (lambda s, h: s.mod(h, h, h)[0], nn.MultiheadAttention(4, 1, batch_first=True), r"\(mod, MultiheadAttention\) is not supported"),
        (lambda s, h: h if h.sum() > 0 else -h, None, r"could not be traced by torch.fx in <lambda> \(test_graph.py.*h if h.sum\(\) > 0"),
    ],
)
def test_unsupported_ops_are_named(fn, mod, match):
    with pytest.raises(ValueError, match=match):
        Network.from_torch(_Wrap(fn, mod).eval())


def test_reflect_padding_is_refused_with_why():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.ReLU())
    with pytest.raises(ValueError, match=r"node '_0' \(0, Conv2d\) is not supported: padding_mode='reflect': its padding copies"):
        Network.from_torch(model, (1, 5, 5))


def test_input_shape_is_asked_for():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 1))
    with pytest.raises(ValueError, match=r"input_shape is needed: the model's first operation \(node '_0', Conv2d\)"):
        Network.from_torch(model)
    with pytest.raises(ValueError, match="input_shape must be a tuple of positive ints"):
        Network.from_torch(model, (1, 0, 5))
    with pytest.raises(ValueError, match=r"layer \[3\] \(Linear\) is not supported here.*takes 18 inputs"):
        Network.from_torch(model, (1, 6, 6))
    assert Network.from_torch(model, (1, 5, 5)).nodes[-1].shape == (1,)


def test_command_line_sweeps_a_saved_graph_network(tmp_path):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    model, shape, a, b = model_of("digits_cnn")
    net = Network.from_torch(model, shape)
    net.save(tmp_path / "cnn.npz")
    np.save(tmp_path / "ends.npy", np.stack([a.reshape(-1), b.reshape(-1)]))
    out = subprocess.run(
        [sys.executable, "-m", "fastrelu", "sweep", "--network", "cnn.npz", "--along", "ends.npy:0", "ends.npy:1", "--num", "101",
         "--backend", "numpy"], cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout
    assert "1×8×8→10 conv/avg-pool/max-pool network (ReLU)" in out and f"{net.hidden:,} activation units in 3 nodes" in out


def test_the_exact_backend_sweeps_a_graph_network_as_its_pieces_say():
    """sweep(backend="exact") on a graph network (its memory estimate read a dense chain's
    widths) agrees with the numpy reference by the agreement rule, and its result prints."""
    model, shape, _, _ = model_of(MODELS[0])
    net = Network.from_torch(model, shape)
    x0, x1 = line(MODELS[0], shape)
    exact = fastrelu.sweep(net, along=(x0, x1), num=301, backend="exact")
    ref = fastrelu.sweep(net, along=(x0, x1), num=301, backend="numpy")
    assert exact.backend == "exact" and "nodes=" in repr(exact)  # the line is folded in as a node
    xabs = float(max(np.abs(x0).max(), np.abs(x1).max()))
    tol = 2 * rounding(net, xabs, np.dtype("float64"))  # the walk's maps and the reference's forward
    np.testing.assert_allclose(exact.y, ref.y, rtol=0, atol=tol)
    agreement = compare(exact, ref)  # y, slope and counts by the rule bench uses
    assert agreement.ok and agreement.near_kink < len(ref) // 10, str(agreement)
