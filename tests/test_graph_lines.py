"""The line analyses on graph networks (convolutions, max-pooling, residual branches):
``Regions.pattern`` / ``pattern_hash`` / ``gradient`` / tables, ``line_stats`` (lines, paths,
checkpoints, the command line) and ``boundary_distance``.

Checked against PyTorch on the same inputs: patterns against forward hooks (an activation's
input ``> 0``, a max-pool window's argmax), gradients against ``torch.func.jacrev``, boundary
distances against the same formula on torch's Jacobians of every node's input, against the
exact line walk along many directions (none meets a boundary sooner) and along the nearest
boundary's normal (met at that distance, by that node and unit); every row of
``line_stats`` against ``regions`` on that line alone.  Hostile cases: a max-pool window
comparing two equal units (a tie on every line), a residual branch that cancels, a unit
of zero weights (an exact zero on every line), points exactly on a boundary, float32, one
point, huge inputs."""

import copy
import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import fastrelu
from fastrelu import Network
from fastrelu.cli.main import main
from fastrelu.model.forward import graph_magnitudes

EPS = np.finfo(np.float64).eps


# -- models ------------------------------------------------------------------------------------
def dyadic(shape, rng, bits=3):
    return torch.tensor(rng.integers(-8, 9, size=shape) / 2**bits, dtype=torch.float64)


@functools.lru_cache(maxsize=None)
def digits_cnn(epochs):
    """A small CNN on scikit-learn's digits (8x8): convolution, ReLU, max-pool, convolution,
    LeakyReLU, Linear, Hardtanh, Linear; trained ``epochs`` epochs (0: as initialised)."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.LeakyReLU(0.1),
        nn.Flatten(), nn.Linear(24, 12), nn.Hardtanh(-1.0, 1.0), nn.Linear(12, 10),
    ).double()
    d = load_digits()
    x = torch.tensor(d.images[:, None] / 16.0, dtype=torch.float64)
    y = torch.tensor(d.target)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same weights on every machine
    try:
        for _ in range(epochs):
            for i in range(0, len(x), 128):
                opt.zero_grad()
                F.cross_entropy(model(x[i : i + 128]), y[i : i + 128]).backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval(), d.images.reshape(-1, 1, 8, 8) / 16.0


class Residual(nn.Module):
    """A residual MLP of activation modules (what forward hooks see)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.inp = nn.Linear(5, 12)
        self.block = nn.Sequential(nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 12))
        self.act = nn.ReLU()
        self.out = nn.Linear(12, 3)

    def forward(self, x):
        h = self.inp(x)
        return self.out(self.act(h + self.block(h)))


class Hostile(nn.Module):
    """Dyadic weights: a max-pool whose first window compares two equal units (a tie on
    every line), a unit of zero weights and bias (its input exactly 0 everywhere), and a
    residual branch that cancels (its units switch: boundaries that are no kinks)."""

    def __init__(self, seed):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.a, self.c, self.b = nn.Linear(4, 6).double(), nn.Linear(4, 3).double(), nn.Linear(3, 2).double()
        with torch.no_grad():
            for m in (self.a, self.c, self.b):
                m.weight.copy_(dyadic(m.weight.shape, rng))
                m.bias.copy_(dyadic(m.bias.shape, rng))
            self.a.weight[1], self.a.bias[1] = self.a.weight[0], self.a.bias[0]
            self.a.weight[5], self.a.bias[5] = 0.0, 0.0
        self.relu_a, self.relu_c = nn.ReLU(), nn.ReLU()
        self.pool = nn.MaxPool1d(2)

    def forward(self, x):
        h = self.pool(self.relu_a(self.a(x)).view(x.size(0), 1, 6)).flatten(1)
        g = self.relu_c(self.c(x))
        return self.b(h + g - g)


_CACHE = {}


def case(name):
    """(torch model in float64, the Network, input shape, a line's ends)."""
    if name not in _CACHE:
        rng = np.random.default_rng(5)
        if name in ("digits", "digits32"):
            model, images = digits_cnn(3)
            shape, ends = (1, 8, 8), (images[0], images[1])
        elif name == "residual":
            model, shape = Residual().double().eval(), (5,)
            a = 3 * rng.normal(size=5)
            ends = (a, -a)  # through the origin, where the units' biases put their breakpoints
        else:
            model, shape = Hostile(int(name[-1])).eval(), (4,)
            ends = tuple(rng.integers(-8, 9, size=(2, 4)) / 2.0)
        net = Network.from_torch(model, shape, dtype="float32" if name == "digits32" else None)
        if name == "digits32":  # the reference: the float32 network's weights, in float64
            model = copy.deepcopy(model)
            with torch.no_grad():
                for q in model.parameters():
                    q.copy_(q.float().double())
            for m in model.modules():  # the float32 network's slopes too
                if isinstance(m, nn.LeakyReLU):
                    m.negative_slope = float(np.float32(m.negative_slope))
        _CACHE[name] = (model, net, shape, ends)
    return _CACHE[name]


NAMES = ["digits", "digits32", "residual", "hostile0", "hostile1"]


# -- torch's view --------------------------------------------------------------------------
PIECEWISE = (nn.ReLU, nn.LeakyReLU, nn.Hardtanh, nn.MaxPool1d, nn.MaxPool2d)


def hooked_inputs(model, x):
    """The inputs of every piecewise module of ``model`` at ``x`` (a tensor), in the order they
    run (forward hooks), with the modules."""
    caught = []
    hooks = [m.register_forward_hook(lambda m, i, o: caught.append((m, i[0]))) for m in model.modules()
             if isinstance(m, PIECEWISE)]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return caught


def _windows(m, z):
    """A max-pool's windows of ``z`` (rows, C, ...): (rows, windows, K)."""
    k, s = m.kernel_size, m.stride
    if isinstance(m, nn.MaxPool2d):
        return z.unfold(2, k, s).unfold(3, k, s).reshape(z.shape[0], -1, k * k)
    return z.unfold(2, k, s).reshape(z.shape[0], -1, k)


def torch_states(model, X, D):
    """Per piecewise module, in the order they run: (kind, values, tangents) at the inputs X
    along the direction D (``torch.func.jvp``): an activation's inputs (rows, units), a
    max-pool's windows (rows, windows, K)."""
    mods = [m for m, _ in hooked_inputs(model, torch.tensor(X[:1]))]
    xt, dt = torch.tensor(X), torch.tensor(np.broadcast_to(D.reshape((1, *X.shape[1:])), X.shape).copy())
    vals, tans = torch.func.jvp(lambda v: tuple(z for _, z in hooked_inputs(model, v)), (xt,), (dt,))
    out = []
    for m, z, dz in zip(mods, vals, tans):
        if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
            out.append(("maxpool", _windows(m, z).detach().numpy(), _windows(m, dz).detach().numpy()))
        else:
            out.append(("act", z.detach().reshape(z.shape[0], -1).numpy(), dz.detach().reshape(z.shape[0], -1).numpy()))
    return out


def rounding(net, X):
    """A bound on the rounding of any node's value at the points X (one per point): the unit
    roundoff times the sum of every affine node's fan-in times the magnitude bound of the
    largest node there (``graph_magnitudes``)."""
    g = net.graph
    terms = sum(int(np.prod(n.params["weight"].shape[1:])) if "weight" in n.params else len(n.inputs) + 1 for n in g.nodes[1:])
    m = graph_magnitudes(g, np.abs(X).reshape((X.shape[0], *g.input_shape)))
    return 2 * terms * EPS * np.max(np.stack(list(m.values())), axis=0)


def jacobian(model, X):
    """torch's Jacobian of the outputs by the inputs at each row of X: (rows, out, in)."""
    xt = torch.tensor(X)
    J = torch.func.jacrev(lambda x: model(x).sum(0))(xt)  # each output reads only its own row
    return J.reshape(J.shape[0], X.shape[0], -1).transpose(0, 1).detach().numpy()


def middles(r):
    return np.where(np.isfinite(r.lo) & np.isfinite(r.hi), r.lo / 2 + r.hi / 2, np.nan)


def points_on(ends, t, shape):
    x0, x1 = (np.asarray(e, np.float64).reshape(-1) for e in ends)
    return ((x1 - x0)[None, :] * t[:, None] + x0[None, :]).reshape((-1, *shape))  # as the line's embed node computes them


# -- patterns and gradients ------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_patterns_and_gradients_match_torch(name):
    model, net, shape, ends = case(name)
    r = fastrelu.regions(net, along=ends, start=0.0, stop=1.0, boundaries=True)
    assert len(r) > 3 and (r.negative >= 0).all()
    t = middles(r)
    X = points_on(ends, t, shape)
    d = (np.asarray(ends[1], np.float64) - np.asarray(ends[0], np.float64)).reshape(-1)
    seen = torch_states(model, X, d)
    margin = rounding(net, X)
    kinds = [n.kind for n in net.nodes if n.kind in ("act", "maxpool")]
    assert [k for k, _, _ in seen] == kinds
    hashes = {}
    clear = np.ones(len(r), bool)  # pieces whose middle no unit's rounding can move across a breakpoint
    for i in range(len(r)):
        pat = r.pattern(i)
        assert len(pat) == len(kinds)
        for p, node, (kind, z, dz) in zip(pat, [n for n in net.nodes if n.kind in ("act", "maxpool")], seen):
            assert p.shape == node.shape
            if kind == "act":
                z, dz = z[i], dz[i]
                want = z > 0
                # only a unit within rounding of its breakpoint may differ; an exact zero never
                close = (np.abs(z) <= margin[i]) & (z != 0)
                # (and the walk's maps may read it otherwise, unless it is 0 all along: data)
                clear[i] &= not ((np.abs(z) <= margin[i]) & ~((z == 0) & (dz == 0))).any()
                assert p.dtype == bool and np.array_equal(p.reshape(-1)[~close], want[~close]), (i, node.name)
            else:
                w, dw = z[i], dz[i]
                top = np.sort(w, axis=1)
                close = (top[:, -1] - top[:, -2] <= margin[i]) & (top[:, -1] != top[:, -2])
                # an input that ties with the largest all along the line (the same map) is data
                a = np.argmax(w, axis=1)[:, None]
                near = (np.take_along_axis(w, a, 1) - w <= margin[i]) & ~(
                    (np.take_along_axis(w, a, 1) == w) & (np.take_along_axis(dw, a, 1) == dw))
                clear[i] &= not near.any()
                assert np.array_equal(p.reshape(-1)[~close], np.argmax(w, axis=1)[~close]), (i, node.name)  # first of equals
        hashes.setdefault(r.pattern_hash[i], []).append(i)
    # one hash per pattern: pieces with the same hash have the same pattern
    for rows in hashes.values():
        for i in rows[1:]:
            assert all(np.array_equal(a, b) for a, b in zip(r.pattern(rows[0]), r.pattern(i)))
    # boundaries=True: neighbouring pieces differ in their pattern
    assert (r.pattern_hash[1:] != r.pattern_hash[:-1]).all()

    g = r.gradient.reshape(len(r), net.out_features, net.in_features)
    J = jacobian(model, X)
    bound = rounding(net, np.ones((1, net.in_features)))[0]
    assert np.abs(g - J).max() <= bound, (np.abs(g - J).max(), bound)
    slope = r.slope.reshape(len(r), -1)
    # the gradient along the line is the piece's slope, where its middle has one pattern in
    # float64 (a piece of a few roundings' length, where crossings meet, may be read
    # otherwise by the forward at its middle than by the walk's maps: both within rounding)
    assert clear.sum() >= len(r) / 2
    assert np.abs(g @ d - slope)[clear].max() <= bound * np.abs(d).sum()


@pytest.mark.parametrize("name", ["digits", "hostile0"])
def test_tables_name_the_activation_nodes(name, tmp_path):
    _, net, _, ends = case(name)
    r = fastrelu.regions(net, along=ends, start=0.0, stop=1.0)
    acts = [n.name for n in net.nodes if n.kind == "act"]
    df = r.to_pandas()
    assert [c for c in df.columns if c.startswith("negative_")] == [f"negative_{a}" for a in acts]
    for k, a in enumerate(acts):
        assert np.array_equal(df[f"negative_{a}"].to_numpy(), r.negative_by_layer[:, k])
    assert np.array_equal(df["pattern_hash"].to_numpy(), r.pattern_hash)
    r.to_csv(tmp_path / "p.csv")
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0].split(",") == list(df.columns) and len(lines) == len(r) + 1
    assert "negative" in r.to_table()


def test_one_point_and_the_whole_line():
    model, net, shape, ends = case("digits")
    r = fastrelu.regions(net, along=ends, start=0.375, stop=0.375)
    X = points_on(ends, np.array([0.375]), shape)
    assert np.abs(r.gradient.reshape(1, 10, -1) - jacobian(model, X)).max() <= rounding(net, np.ones((1, 64)))[0]
    on = [(p, z) for p, (k, z, _) in zip(r.pattern(0), torch_states(model, X, np.ones(64))) if k == "act"]
    assert all(np.array_equal(p.reshape(-1), z[0] > 0) for p, z in on)
    whole = fastrelu.regions(net, along=ends, start=-np.inf, stop=np.inf, boundaries=True)
    assert np.isfinite(whole.gradient).all() and whole.pattern_hash.shape == (len(whole),)


def test_a_piece_with_a_boundary_inside_has_no_pattern():
    _, net, _, ends = case("hostile0")
    r = fastrelu.regions(net, along=ends, start=-4.0, stop=4.0)  # kinks only: the cancelled branch's switches inside
    varies = np.flatnonzero(r.negative < 0)
    assert varies.size
    with pytest.raises(ValueError, match=f"piece {varies[0]} has an activation boundary inside"):
        r.pattern(int(varies[0]))
    assert r.pattern_hash[varies[0]] == 0 and np.isnan(r.gradient[varies[0]]).all()


def test_the_tie_and_the_zero_unit():
    model, net, shape, ends = case("hostile0")
    r = fastrelu.regions(net, along=ends, start=-4.0, stop=4.0, boundaries=True)
    pool = [n.kind for n in net.nodes if n.kind in ("act", "maxpool")].index("maxpool")
    act0 = 0
    for i in range(len(r)):
        pat = r.pattern(i)
        assert pat[pool].reshape(-1)[0] == 0  # two equal units: the first, as PyTorch
        assert not pat[act0].reshape(-1)[5]  # zero weights: z == 0 exactly, off
    # the tied unit switches with its twin: never a max-pool crossing in window 0
    for i in range(len(r) - 1):
        nodes, units = r.switching(i)
        labels = {int(n): net.nodes[int(n)].kind for n in nodes}
        assert not any(labels[int(n)] == "maxpool" and int(u) == 0 for n, u in zip(nodes, units))


# -- line_stats --------------------------------------------------------------------------
def crossings_by_node(net, r):
    """Per piecewise node, its units crossing at the boundaries of ``r`` (boundaries=True)."""
    labels = [k for k, n in enumerate(net.nodes) if n.kind in ("act", "maxpool")]
    out = np.zeros(len(labels), np.int64)
    for i in range(len(r) - 1):
        nodes, _ = r.switching(i)
        for n in nodes:
            out[labels.index(int(n))] += 1
    return out


@pytest.mark.parametrize("name", ["digits", "residual", "hostile1"])
def test_every_row_equals_regions_on_that_line(name):
    _, net, shape, _ = case(name)
    rng = np.random.default_rng(7)
    X0, X1 = rng.normal(size=(2, 5, net.in_features)) * (0.5 if name == "digits" else 2.0)
    if name == "digits":
        X0, X1 = X0 + 0.5, X1 + 0.5
    s = fastrelu.line_stats(net, X0.reshape((5, *shape)), X1, batch=2, progress=False)  # inputs shaped or flat
    assert s.names == [n.name for n in net.nodes if n.kind in ("act", "maxpool")] and s.widths == ()
    for i in range(5):
        r = fastrelu.regions(net, along=(X0[i], X1[i]), start=0.0, stop=1.0)
        rb = fastrelu.regions(net, along=(X0[i], X1[i]), start=0.0, stop=1.0, boundaries=True)
        assert (s.pieces[i], s.boundaries[i], s.kinks[i], s.merged[i]) == (len(r), r.n_boundaries, r.n_kinks, r.merged)
        assert s.decisions[i] == len(r.decisions)
        assert np.array_equal(s.crossings_by_layer[i], crossings_by_node(net, rb))
        assert s.crossings_by_layer[i].sum() == s.boundaries[i] + s.merged[i]
        norm = np.linalg.norm(X1[i] - X0[i])
        assert abs(s.length[i] - norm) <= net.in_features * EPS * norm  # a sum of squares, in another order
    assert s == fastrelu.line_stats(net, X0, X1, batch=64, threads=1, progress=False)
    assert "crossings per node" in s.summary() and "graph network" in s.summary()


def test_paths_save_load_and_pandas(tmp_path):
    _, net, _, _ = case("hostile1")
    rng = np.random.default_rng(8)
    path = rng.integers(-8, 9, size=(4, net.in_features)) / 4.0
    for closed in (False, True):
        s = fastrelu.line_stats(net, path=path, closed=closed, progress=False)
        r = fastrelu.regions(net, path=path, closed=closed)
        assert (s.pieces[0], s.boundaries[0], s.kinks[0], s.merged[0]) == (len(r), r.n_boundaries, r.n_kinks, r.merged)
        rb = fastrelu.regions(net, path=path, closed=closed, boundaries=True)
        assert s.crossings_by_layer[0].sum() == s.boundaries[0] + s.merged[0] == crossings_by_node(net, rb).sum() + (
            s.merged[0] - rb.merged)
    # along the path, each piece's gradient times its segment's direction is its slope per unit length
    rb = fastrelu.regions(net, path=path, closed=True, boundaries=True)
    ends = np.concatenate((path, path[:1]))
    step = np.diff(ends, axis=0)
    length = np.linalg.norm(step, axis=1)
    seg = np.searchsorted(np.cumsum(length), (rb.lo + rb.hi) / 2)
    along = np.einsum("poi,pi->po", rb.gradient, step[seg] / length[seg][:, None])
    assert np.abs(along - rb.slope).max() <= 4 * rounding(net, np.abs(ends).max(axis=0, keepdims=True))[0]
    s.save(tmp_path / "s.npz")
    back = fastrelu.LineStats.load(tmp_path / "s.npz")
    assert back == s and back.names == s.names
    assert [c for c in s.to_pandas().columns if c.startswith("crossings_")] == [f"crossings_{n}" for n in s.names]


def test_training_stats_of_a_cnn_equal_separate_calls(tmp_path):
    before, images = digits_cnn(0)
    after, _ = digits_cnn(2)
    X0, X1, P = images[:3], images[3:6], images[6:9]
    ts = fastrelu.training_stats([before, after], X0, X1, points=P, input_shape=(1, 8, 8), progress=False)
    for c, model in enumerate((before, after)):
        net = Network.from_torch(model, (1, 8, 8))
        assert ts.lines[c] == fastrelu.line_stats(net, X0, X1, progress=False)
        assert np.array_equal(ts.distance[c], fastrelu.boundary_distance(net, P).distance)
    assert ts.density.shape == (2, 3)
    fig = ts.plot()
    fig.savefig(tmp_path / "training.png")


def test_command_line_on_a_saved_graph_network(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _, net, _, _ = case("digits")
    net.save("cnn.npz")
    _, images = digits_cnn(0)
    np.save("rows.npy", images[:8])  # (8, 1, 8, 8): four lines between images
    assert main(["lines", "--network", "cnn.npz", "--pairs", "rows.npy"]) == 0
    out = capsys.readouterr().out
    assert "4 lines through a graph network" in out
    rows = images[:8].reshape(8, 64)
    assert fastrelu.LineStats.load("fastrelu-lines.npz") == fastrelu.line_stats(net, rows[0::2], rows[1::2], progress=False)
    with open("fastrelu-lines.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# -- boundary_distance -----------------------------------------------------------------
def torch_candidates(model, x):
    """Every candidate boundary of the region of ``x``, from torch alone: per piecewise module
    (in order) and unit (window), ``(gap, gradient of the gap)`` of the nearest breakpoint
    (act) or of the window's largest input against each other one (maxpool)."""
    xt = torch.tensor(x[None])
    seen = []
    caught = hooked_inputs(model, xt)
    jac = torch.func.jacrev(lambda v: tuple(z for _, z in hooked_inputs(model, v)))(xt)
    for (m, z), J in zip(caught, jac):
        z, J = z.detach().numpy()[0], J.detach().numpy()[0].reshape(z.numel(), -1)
        if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
            k = m.kernel_size
            idx = np.arange(z.size).reshape(z.shape)
            if isinstance(m, nn.MaxPool2d):
                win = idx.reshape(z.shape[0], z.shape[1] // k, k, z.shape[2] // k, k).transpose(0, 1, 3, 2, 4)
            else:
                win = idx.reshape(z.shape[0], z.shape[1] // k, k)
            win = win.reshape(-1, k * k if isinstance(m, nn.MaxPool2d) else k)
            flat = z.reshape(-1)
            cands = []
            for w in win:
                a = w[np.argmax(flat[w])]
                cands.append([(flat[a] - flat[c], J[a] - J[c]) for c in w if c != a])
            seen.append(("maxpool", cands))
        else:
            bps = [0.0] + ([m.min_val, m.max_val] if isinstance(m, nn.Hardtanh) else [])
            flat = z.reshape(-1)
            cands = [[(abs(flat[u] - b), J[u] * np.sign(flat[u] - b)) for b in bps] for u in range(flat.size)]
            seen.append(("act", cands))
    return seen


def nearest(seen):
    """The smallest |gap| / ||grad|| of ``torch_candidates`` (the first on ties):
    (distance, module, unit, normal, ||grad||)."""
    best = (np.inf, -1, -1, None, 0.0)
    for k, (_, cands) in enumerate(seen):
        for u, cs in enumerate(cands):
            for gap, g in cs:
                norm = np.linalg.norm(g)
                if norm > 0 and gap / norm < best[0]:
                    best = (gap / norm, k, u, -g / norm, norm)  # the normal: the way the gap closes
    return best


def distance_tolerance(net, x, d, norm):
    """Rounding of d = gap / ||g||: the gap is off by at most the values' rounding bound at x,
    each entry of g by the gradients' (the bound at |x| = 1 of the network without its
    constant parts being below the one with them), so ||g|| by sqrt(in) times that; twice
    for torch's side.  The walk's crossing is as far off again (callers double it)."""
    gap_err = rounding(net, x[None])[0]
    grad_err = rounding(net, np.ones((1, net.in_features)))[0] * np.sqrt(net.in_features)
    return 2 * (gap_err + d * grad_err) / norm


@pytest.mark.parametrize("name", ["digits", "residual", "hostile0", "hostile1"])
def test_boundary_distance_against_torch_and_the_walk(name):
    model, net, shape, _ = case(name)
    labels = [k for k, n in enumerate(net.nodes) if n.kind in ("act", "maxpool")]
    rng = np.random.default_rng(9)
    if name == "digits":
        _, images = digits_cnn(0)
        X = images[10:14].reshape(4, -1)
    else:
        X = rng.normal(size=(4, net.in_features))
    res = fastrelu.boundary_distance(net, X.reshape((4, *shape)))
    alone = fastrelu.boundary_distance(net, X, batch=1)  # one point a batch: BLAS may round otherwise
    for i, x in enumerate(X):
        d, k, u, normal, norm = nearest(torch_candidates(model, x.reshape(shape)))
        tol = distance_tolerance(net, x, d, norm)
        # the same distance and boundary as torch's Jacobians of every node's input give
        assert abs(res.distance[i] - d) <= tol, (i, res.distance[i], d, tol)
        assert abs(alone.distance[i] - d) <= tol, (i, alone.distance[i], d, tol)
        assert (int(res.layer[i]), int(res.unit[i])) == (labels[k], u)
        # no direction meets a boundary sooner; along the normal, that unit's boundary is met at d
        reach = 3 * d if d > 0 else 1.0
        U = rng.normal(size=(24, net.in_features))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        for v in U:
            t = fastrelu.kinks(net, along=(x, x + v), start=0.0, stop=reach, boundaries=True)
            t = t[t > 0]
            assert not t.size or t[0] >= d - 2 * tol, (i, t[0], d)
        # (a digit lies exactly on boundaries: blank patches tie in a max-pool window, d = 0)
        t = fastrelu.kinks(net, along=(x, x + normal), start=0.0, stop=reach, boundaries=True)
        assert t.size and abs(t[0] - d) <= 2 * tol, (i, t[:1], d)
        r = fastrelu.regions(net, along=(x, x + normal), start=-reach, stop=reach, boundaries=True)
        nodes, units = r.switching(int(np.flatnonzero(r.hi == t[0])[0]))
        assert (labels[k], u) in set(zip(nodes.tolist(), units.tolist()))


def test_boundary_distance_on_a_boundary_and_on_a_tie():
    model, net, shape, _ = case("hostile0")
    a = model.a
    w, b = a.weight.detach().numpy(), a.bias.detach().numpy()
    # a unit of the first layer exactly at 0: x[j] = -b/w[j] with w[j] a power of two (exact)
    pow2 = (w != 0) & (np.log2(np.abs(np.where(w == 0, 1, w))) % 1 == 0)
    u, j = np.argwhere(pow2[2:5])[0]
    u += 2
    x = np.zeros(4)
    x[j] = -b[u] / w[u, j]
    assert (w @ x + b)[u] == 0.0
    res = fastrelu.boundary_distance(net, x)
    assert res.distance[0] == 0.0 and net.nodes[int(res.layer[0])].kind == "act"
    # the twin units of the tied window are one affine map: no boundary between them, and the
    # zero-weight unit bounds nothing, at any point
    X = np.random.default_rng(1).normal(size=(50, 4))
    res = fastrelu.boundary_distance(net, X)
    pool = [k for k, n in enumerate(net.nodes) if n.kind == "maxpool"][0]
    assert not ((res.layer == pool) & (res.unit == 0)).any()
    act0 = [k for k, n in enumerate(net.nodes) if n.kind == "act"][0]
    assert not ((res.layer == act0) & (res.unit == 5)).any()


class Window(nn.Module):
    """relu(x0), relu(x1) in one max-pool window: they tie where x0 == x1."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 1).double()
        with torch.no_grad():
            self.fc.weight.fill_(1.0)
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(F.max_pool1d(torch.relu(x).view(x.size(0), 1, 2), 2).flatten(1))


def test_boundary_distance_to_an_argmax_change():
    net = Network.from_torch(Window().eval(), (2,))
    pool = [k for k, n in enumerate(net.nodes) if n.kind == "maxpool"][0]
    res = fastrelu.boundary_distance(net, [[1.0, 1.0], [2.0, 1.0], [4.0, -0.5], [-1.0, -2.0]])
    # a tie of two different maps: on the boundary; 1 / sqrt(2) to x0 == x1 (nearer than the
    # units' own breakpoints at 2 and 1); a unit at -0.5 nearer than the tie; no boundary left
    # in the quadrant where both are off (the window compares two zeros)
    assert res.distance[0] == 0.0 and (int(res.layer[0]), int(res.unit[0])) == (pool, 0)
    assert res.distance[1] == 1.0 / np.sqrt(2.0) and (int(res.layer[1]), int(res.unit[1])) == (pool, 0)
    assert res.distance[2] == 0.5 and net.nodes[int(res.layer[2])].kind == "act" and int(res.unit[2]) == 1
    assert res.distance[3] == 1.0 and net.nodes[int(res.layer[3])].kind == "act" and int(res.unit[3]) == 0
    r = fastrelu.regions(net, along=([2.0, 1.0], [1.5, 1.5]), start=0.0, stop=2.0, boundaries=True)
    assert r.hi[0] == 1.0 and [a.tolist() for a in r.switching(0)] == [[pool], [0]]
    assert [p.tolist() for p in r.pattern(0)] == [[True, True], [[0]]] and [p.tolist() for p in r.pattern(1)][1] == [[1]]


def test_boundary_distance_huge_points_float32_and_bad_input():
    model, net, shape, _ = case("digits32")
    _, images = digits_cnn(0)
    X = (images[:3] + 0.01 * np.random.default_rng(3).normal(size=images[:3].shape)).reshape(3, -1) * 1e6
    res = fastrelu.boundary_distance(net, X)
    for i, x in enumerate(X):
        d, _, _, _, norm = nearest(torch_candidates(model, x.reshape(shape)))
        assert 0 < d < np.inf and abs(res.distance[i] - d) <= distance_tolerance(net, x, d, norm), (i, res.distance[i], d)
    with pytest.raises(ValueError, match="X must have 64 columns"):
        fastrelu.boundary_distance(net, np.zeros((2, 63)))
    with pytest.raises(ValueError, match="X"):
        fastrelu.boundary_distance(net, np.full((1, 64), np.nan))
    with pytest.raises(ValueError, match="X0 must have 64 columns"):
        fastrelu.line_stats(net, np.zeros((2, 63)), np.zeros((2, 63)))
    with pytest.raises(ValueError, match="X1: line 0 has zero length"):
        fastrelu.line_stats(net, np.zeros((1, 64)), np.zeros((1, 64)))


def test_dask_table_of_a_graph_network_equals_local():
    import distributed

    _, net, _, _ = case("residual")
    X0, X1 = np.random.default_rng(11).normal(size=(2, 6, net.in_features)) * 3
    local = fastrelu.line_stats(net, X0, X1, batch=2, progress=False)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        remote = fastrelu.line_stats(net, X0, X1, batch=2, client=client)
    assert remote == local and remote.names == local.names


def test_boundary_distance_refuses_what_would_not_fit(monkeypatch):
    from fastrelu.analysis import distance

    _, net, _, _ = case("digits")
    monkeypatch.setattr(distance, "available_memory", lambda: 1 << 20)  # 1 MiB: not one point's tangents
    with pytest.raises(ValueError, match=r"needs [0-9.]+ MiB per point for the Jacobians of this graph network, but only 1.0 MiB"):
        fastrelu.boundary_distance(net, np.zeros((2, 64)))
