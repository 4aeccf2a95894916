"""Planes through graph networks (convolutions, pooling, residual and cat branches): the exact
region map (``regions(net, plane=...)``) against PyTorch's forward, hooks and jvp, against the
line walk on lines through the plane, against the dense walk, in tiles; and the per-pixel
sweep (``sweep(net, plane=...)``) against PyTorch within rounding bounds."""

import numpy as np
import pytest
import torch
from test_html import open_page, tooltip_rows
from test_plane_page import drawn, inner_face, to_screen
from torch import nn

import fastrelu
from fastrelu.analysis import plane_walk
from fastrelu.analysis.plane import plane_network, region_map
from fastrelu.kernels import plane_exact
from fastrelu.model.graph import Graph, Node, affine, maxpool_windows
from fastrelu.model.network import Network

# -- the models --------------------------------------------------------------------------


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(3, 8), nn.Linear(8, 3), nn.Linear(3, 2)
        self.r1, self.r2 = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        return self.c(self.r2(x + self.b(self.r1(self.a(x)))))


class Cat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(3, 4), nn.Linear(3, 5), nn.Linear(9, 2)
        self.r1, self.r2 = nn.ReLU(), nn.LeakyReLU(0.1)

    def forward(self, x):
        return self.c(torch.cat([self.r1(self.a(x)), self.r2(self.b(x))], dim=1))


class MaxPool(nn.Module):
    """Max-pooling with padding (windows of one, two and four real inputs) after a convolution,
    and a residual branch around a dense layer; ``stride=1``: overlapping windows."""

    def __init__(self, stride=2):
        super().__init__()
        self.conv, self.r1, self.pool = nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2, stride=stride, padding=1)
        self.fc, self.r2, self.out = nn.Linear(18, 18), nn.ReLU(), nn.Linear(18, 2)  # 2 x 3 x 3 pooled

    def forward(self, x):
        h = torch.flatten(self.pool(self.r1(self.conv(x))), 1)
        return self.out(self.r2(h + self.fc(h)))


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12, 6),
                         nn.ReLU(), nn.Linear(6, 2))


MODELS = {
    "cnn": (_cnn, (1, 4, 4)),
    "residual": (Residual, (3,)),
    "cat": (Cat, (3,)),
    "maxpool": (MaxPool, (1, 5, 5)),
}


def _model(name, seed=0, dtype=torch.float64):
    make, shape = MODELS[name]
    torch.manual_seed(seed)
    model = make().to(dtype).eval()
    return model, shape, Network.from_torch(model, input_shape=shape)


def _plane(shape, seed):
    return np.random.default_rng(seed).standard_normal((3, *shape))


# -- rounding bounds ---------------------------------------------------------------------------

K = 4  # roundings beyond the fan-in per affine step: torch's x, the folding, the storing


def _fan_in(node):
    p = node.params
    if node.kind == "dense":
        return p["weight"].shape[1]
    if node.kind == "conv":
        return int(np.prod(p["weight"].shape[1:]))
    if node.kind == "avgpool":
        return int(np.prod([(p[f"mat{i}"] != 0).sum(axis=1).max() for i in range(p["ndim"])]))
    if node.kind in ("add", "embed"):
        return len(node.inputs) + 1 if node.kind == "add" else p["directions"].shape[0] + 1
    return 1


def _magnitudes(net, x):
    """Each node's magnitude at the inputs ``x`` (N, in), from the network with every array in
    absolute value and every activation the identity (an upper bound of |value| along any
    computation), and the number of roundings on the longest path to it: a rounding bound
    ``gamma(n) * magnitude`` for each node's value (``Higham, Accuracy and Stability``, 3.5)."""
    g = net.graph.astype(np.float64).map_arrays(np.abs)
    mags, depth = {}, {}
    for node in g.nodes:
        if node.kind == "input":
            mags[node.name] = np.abs(x).reshape((x.shape[0], *node.shape))
            depth[node.name] = K
            continue
        ins = [mags[i] for i in node.inputs]
        if node.kind == "act":
            alpha = node.params["act"].kernel_form(node.size)[0]
            mags[node.name] = ins[0] * max(1.0, float(np.abs(alpha).max()))
        elif node.kind == "maxpool":
            mags[node.name] = maxpool_windows(node, ins[0], 0.0).max(axis=-1)
        else:
            mags[node.name] = affine(node, ins)
        depth[node.name] = max(depth[i] for i in node.inputs) + _fan_in(node) + K
    return mags, depth


def _gamma(n, u):
    return n * u / (1.0 - n * u)


def _torch_truth(model, x, d):
    """torch's output at ``x`` (N, *shape), its jvp along each direction ``d[c]`` and the hooked
    inputs of its activation and max-pool modules, in order, as ``(kind, input)``."""
    pre = []

    def hook(kind):
        return lambda m, i, o: pre.append((kind, i[0].detach().double().numpy()))

    hooks = [m.register_forward_hook(hook("maxpool" if isinstance(m, nn.MaxPool2d) else "act"))
             for m in model.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.MaxPool2d))]
    dtype = next(model.parameters()).dtype
    xt = torch.tensor(x, dtype=dtype)
    with torch.no_grad():
        y = model(xt).double().numpy().reshape(len(x), -1)
    for h in hooks:
        h.remove()
    tangents = []
    for c in range(2):
        dt = torch.tensor(np.broadcast_to(d[c].reshape(x.shape[1:]), x.shape).copy(), dtype=dtype)
        _, jv = torch.func.jvp(model, (xt,), (dt,))
        tangents.append(jv.detach().double().numpy().reshape(len(x), -1))
    return y, np.stack(tangents, axis=2), pre


def _hooked(net, pre):
    """The hooked inputs as the map's layers: ``(node, input (N, size))`` for each act node, and
    for each max-pool node ``(node, windows (N, windows, K))`` of its input, padding -inf."""
    pieces = [n for n in net.graph.nodes if n.kind in ("act", "maxpool")]
    assert [n.kind for n in pieces] == [kind for kind, _ in pre]
    out = []
    for node, (_, z) in zip(pieces, pre):
        if node.kind == "act":
            out.append((node, z.reshape(len(z), -1)))
        else:
            w = maxpool_windows(node, z, -np.inf)
            out.append((node, w.reshape(len(z), -1, w.shape[-1])))
    return out


def _distance_to_edges(m, uv, face):
    """Distance of each point to the sides of its face (0 outside the map)."""
    out = np.zeros(len(uv))
    for i, f in enumerate(face):
        if f < 0:
            continue
        poly = m.vertices[m.polygon(f)]
        a, b = poly, np.roll(poly, -1, axis=0)
        d = b - a
        t = np.clip(((uv[i] - a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-300), 0, 1)
        out[i] = np.hypot(*(a + t[:, None] * d - uv[i]).T).min()
    return out


def _check_topology(m, slivers_ok=False):
    """V - E + F = 1, areas fill the rectangle, faces convex and counter-clockwise."""
    (u0, u1), (v0, v1) = m.bounds
    assert m.n_vertices - m.n_edges + len(m) == 1
    assert m.area.sum() == pytest.approx((u1 - u0) * (v1 - v0), rel=1e-12)
    P = m.vertices
    off, idx = m.face_offsets, m.face_vertices
    slivers = np.flatnonzero(~(m.area > 0))
    if slivers_ok:
        # overlapping max-pool windows cut the same line z_i = z_j in different rounds, where
        # float64 may leave a face of no area: it holds no point, and they are few
        assert len(slivers) <= 0.01 * len(m)
        assert not np.isin(m.locate(P[idx].reshape(-1, 2)), slivers).any()
    else:
        assert len(slivers) == 0
    nxt = np.arange(1, idx.size + 1)
    nxt[off[1:] - 1] = off[:-1]
    a, b, c = P[idx], P[idx[nxt]], P[idx[nxt[nxt]]]
    turn = (b[:, 0] - a[:, 0]) * (c[:, 1] - b[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - b[:, 0])
    assert (turn >= -1e-12 * np.abs(P).max() ** 2).all(), "a face turns clockwise: not convex, or not counter-clockwise"
    outer = (m.edge_faces < 0).any(axis=1)
    assert (m.edge_units[outer] == -1).all() and (m.edge_units[~outer] >= 0).all()


# -- the region map against torch ---------------------------------------------------------------


def _hostile(name):
    """Models and planes beyond the plain ones: overlapping max-pool windows, a plane of huge
    inputs (1e150), a convolution whose first channel is exactly zero over the whole plane
    (zero filter and bias: its units are off everywhere, an exact zero, never an edge)."""
    scale = 1.0
    if name == "overlapping":
        torch.manual_seed(1)
        model, shape = MaxPool(stride=1).double().eval(), (1, 3, 3)
    elif name == "huge":
        model, shape, _ = _model("residual", seed=1)
        scale = 1e150
    elif name == "zero channel":
        model, shape, _ = _model("cnn", seed=1)
        with torch.no_grad():
            model[0].weight[0] = 0.0
            model[0].bias[0] = 0.0
    else:
        model, shape, _ = _model(name, seed=1)
    return model, shape, Network.from_torch(model, input_shape=shape), _plane(shape, 2) * scale


@pytest.mark.parametrize("name", [*MODELS, "overlapping", "huge", "zero channel"])
def test_faces_agree_with_torch_at_random_points(name):
    model, shape, net, plane = _hostile(name)
    m = fastrelu.regions(net, plane=plane)
    assert net.is_graph and len(m) > 20
    _check_topology(m, slivers_ok=name == "overlapping")
    rng = np.random.default_rng(3)
    (u0, u1), (v0, v1) = m.bounds
    uv = np.column_stack([rng.uniform(u0, u1, 3000), rng.uniform(v0, v1, 3000)])
    face = m.locate(uv)
    assert (face >= 0).all()
    x = m.to_input(uv)
    y, jvp, pre = _torch_truth(model, x.reshape(len(uv), *shape), m.directions)
    mags, depth = _magnitudes(net, np.abs(m.origin) + np.abs(uv) @ np.abs(m.directions))  # bounds torch's x and our map's
    out = net.nodes[-1].name
    u = np.finfo(np.float64).eps / 2
    tol = 2 * _gamma(depth[out], u) * mags[out].reshape(len(uv), -1)
    slope = m.slope[face].reshape(len(uv), -1, 2)
    pred = (slope * uv[:, None, :]).sum(-1) + m.intercept[face].reshape(len(uv), -1)
    # the affine map of the face is the model; its gradient torch's jvp along both plane directions
    scale = np.abs(m.intercept[face]).reshape(len(uv), -1) + (np.abs(slope) * np.abs(uv)[:, None, :]).sum(-1)
    assert (np.abs(pred - y) <= tol + 2 * _gamma(2, u) * scale).all()
    tmag = _magnitudes(net, np.abs(m.directions).max(axis=0)[None])[0][out]
    assert (np.abs(slope - jvp) <= 2 * _gamma(depth[out], u) * tmag.reshape(1, -1, 1)).all()
    # the pattern is the one torch's hooks see (an act's sign, a max-pool window's argmax), away
    # from edges (within rounding of one: exempt)
    far = _distance_to_edges(m, uv, face) > 1e-9 * (u1 - u0)
    assert far.mean() > 0.99
    layers = _hooked(net, pre)
    assert m.layer_names == tuple(node.name for node, _ in layers)
    starts = np.r_[0, np.cumsum(m.layer_widths)]
    for (node, z), a, b in zip(layers, starts[:-1], starts[1:]):
        ours = m.pattern[face][:, a:b]
        seen = (z > 0) if node.kind == "act" else np.argmax(z, axis=-1)
        assert ours.shape == seen.shape
        assert (ours[far] == seen[far]).all(), node.name
    counts = np.stack([(z <= 0).sum(axis=1) for node, z in layers if node.kind == "act"], axis=1)
    assert (m.negative_by_layer[face][far] == counts[far]).all()
    # the layers are the act and max-pool nodes, named by their index in net.nodes
    acts = [k for k, n in enumerate(net.nodes) if n.kind in ("act", "maxpool")]
    inner = np.flatnonzero((m.edge_faces >= 0).all(axis=1))
    for e in inner[:: max(1, len(inner) // 50)]:
        node, unit = m.switching(e)
        assert len(node) and set(node.tolist()) <= set(acts)
        assert (unit < np.array([net.nodes[k].shape for k in node]).prod(axis=1)).all()
    if name == "zero channel":  # its units are off on every face and cut nothing
        relu = [n.name for n in net.nodes].index("_1")
        channel = net.nodes[relu].shape[1] * net.nodes[relu].shape[2]
        assert (m.pattern[:, :channel] == 0).all()
        assert not any(((node == relu) & (unit < channel)).any() for node, unit in map(m.switching, inner))


@pytest.mark.parametrize("name", list(MODELS))
def test_lines_through_the_plane_cross_the_line_walks_boundaries(name):
    """The line walk (``regions(net, along=...)``) is the independent truth: on every line of
    the plane, the map's edges are crossed where the line's pattern changes, and only there."""
    _, shape, net = _model(name, seed=4)
    m = fastrelu.regions(net, plane=_plane(shape, 5))
    (u0, u1), (v0, v1) = m.bounds
    inner = (m.edge_faces >= 0).all(axis=1)
    a, b = m.vertices[m.edges[inner, 0]], m.vertices[m.edges[inner, 1]]
    rng = np.random.default_rng(6)
    for _ in range(6):
        p, q = (np.array([rng.uniform(u0, u1), rng.uniform(v0, v1)]) for _ in range(2))
        r = fastrelu.regions(net, along=(m.to_input(p[None])[0], m.to_input(q[None])[0]), start=0.0, stop=1.0,
                             boundaries=True)  # pieces between pattern changes, not only kinks
        truth = np.asarray(r.lo[1:], np.float64)
        # where the segment p-q crosses each inner edge of the map, in t
        d, e = q - p, b - a
        den = d[0] * e[:, 1] - d[1] * e[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((a[:, 0] - p[0]) * e[:, 1] - (a[:, 1] - p[1]) * e[:, 0]) / den
            s = ((a[:, 0] - p[0]) * d[1] - (a[:, 1] - p[1]) * d[0]) / den
        hit = (den != 0) & (t > 0) & (t < 1) & (s >= 0) & (s <= 1)
        crossed = np.sort(t[hit])
        # a line through a vertex crosses its edges there once: one crossing per point
        crossed = crossed[np.r_[True, np.diff(crossed) > 1e-9]]
        assert len(crossed) == len(truth) > 0
        np.testing.assert_allclose(crossed, truth, atol=1e-9)


def test_a_dense_network_as_a_graph_has_the_dense_walks_map():
    dense = Network.random([3, 12, 12, 2], seed=7)
    g = dense.graph
    last = g.nodes[-1]
    # the same network kept as a graph: an identity reshape after its output
    graph_net = Network._from_graph(Graph([*g.nodes, Node("same", "reshape", [last.name], {"to": last.shape}, last.shape)]))
    assert graph_net.is_graph and not dense.is_graph
    plane = _plane((3,), 8)
    a, b = fastrelu.regions(dense, plane=plane), fastrelu.regions(graph_net, plane=plane)
    assert (len(a), a.n_vertices, a.n_edges, a.n_kinks) == (len(b), b.n_vertices, b.n_edges, b.n_kinks)
    assert sorted(map(bytes, a.pattern)) == sorted(map(bytes, b.pattern))
    np.testing.assert_allclose(np.sort(a.vertices, axis=0), np.sort(b.vertices, axis=0), atol=1e-12)
    (ia,), (ib,) = np.argsort(a.pattern_hash)[None], np.argsort(b.pattern_hash)[None]
    np.testing.assert_allclose(a.slope[ia], b.slope[ib], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", list(MODELS))
def test_tiles_equal_whole(name):
    _, shape, net = _model(name, seed=9)
    plane = _plane(shape, 10)
    whole = region_map(net, plane=plane, tiles=(1, 1), threads=1)
    tiled = region_map(net, plane=plane, tiles=(3, 2), threads=2)
    assert (len(whole), whole.n_vertices, whole.n_edges) == (len(tiled), tiled.n_vertices, tiled.n_edges)
    order_w, order_t = np.lexsort(whole.pattern.T), np.lexsort(tiled.pattern.T)
    np.testing.assert_array_equal(whole.pattern[order_w], tiled.pattern[order_t])
    np.testing.assert_array_equal(whole.slope[order_w], tiled.slope[order_t])
    assert {tuple(v) for v in whole.vertices.tolist()} == {tuple(v) for v in tiled.vertices.tolist()}


def test_the_figure_of_a_graph_map(tmp_path):
    _, shape, net = _model("cnn", seed=1)
    m = fastrelu.regions(net, plane=_plane(shape, 2))
    fig = m.plot(pixels=48)
    assert "conv/avg-pool network" in fig._suptitle.get_text()
    fig.savefig(tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 10_000


def test_the_page_of_a_graph_map_in_the_browser(browser, tmp_path):
    _, shape, net = _model("residual", seed=1)
    m = fastrelu.regions(net, plane=_plane(shape, 2))
    path = m.to_html(tmp_path / "map.html")
    page, errors = open_page(browser, path)
    try:
        faces, n_edges = drawn(page)[:2]
        assert faces == len(m) and n_edges == int(np.count_nonzero(m.edge_units[:, 0] >= 0))
        f, (u, v) = inner_face(m)
        page.mouse.move(*to_screen(page, u, v))
        rows, text = tooltip_rows(page, "negative units")
        assert rows["face"].startswith(f"#{f} of {len(m)}"), text
        assert [int(c) for c in rows["by node (r1, r2)"].split(",")] == list(m.negative_by_layer[f]), text
        assert errors == []
    finally:
        page.close()


# -- the per-pixel sweep against torch ------------------------------------------------------------


# every backend with a graph kernel that takes two tangents (the exact one: its kernel, below)
GRAPH_BACKENDS = ["numpy", "cffi", "numba"]


@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(MODELS))
def test_sweep_on_a_plane_matches_torch(name, dtype, backend):
    model, shape, net = _model(name, seed=11, dtype=torch.float64 if dtype == "float64" else torch.float32)
    res = fastrelu.sweep(net, plane=tuple(_plane(shape, 12)), num=(20, 17), backend=backend)
    assert res.backend == backend
    assert res.dtype == np.dtype(dtype) and res.y.shape == (17, 20, 2) and res.slope.shape == (17, 20, 2, 2)
    pl = res.plane
    pts = res.points.astype(np.float64)
    n = pts.shape[0]
    x = pl.origin + pts @ pl.directions
    y, jvp, pre = _torch_truth(model, x.reshape(n, *shape), pl.directions)
    mags, depth = _magnitudes(net, np.abs(pl.origin) + np.abs(pts) @ np.abs(pl.directions))
    u = float(np.finfo(dtype).eps) / 2
    out = net.nodes[-1].name
    # two computations (torch's and ours), each within its bound
    assert (np.abs(res.y.reshape(n, -1) - y) <= 2 * _gamma(depth[out], u) * mags[out].reshape(n, -1)).all()
    exempt = np.zeros(n, bool)
    k = 0
    for node, z in _hooked(net, pre):
        tol = 2 * _gamma(depth[node.inputs[0]], u) * mags[node.inputs[0]].reshape(n, -1)
        if node.kind == "maxpool":  # the top two of a window within rounding: its argmax is unsure
            top = np.sort(z, axis=-1)
            big = maxpool_windows(node, mags[node.inputs[0]], 0.0).reshape(n, -1, z.shape[-1]).max(axis=-1)
            # (a tie of exact zeros, off units of the ReLU before, is no doubt: all their slopes are 0)
            close = top[..., -1] - top[..., -2] <= 4 * _gamma(depth[node.inputs[0]], u) * big
            exempt |= (close & (top[..., -1] != 0)).any(axis=1)
            continue
        unsure = np.count_nonzero((np.abs(z) <= tol) & (z != 0), axis=1)  # an exact zero is data: never exempt
        diff = np.abs(res.negative_by_layer.reshape(n, -1)[:, k] - (z <= 0).sum(axis=1))
        assert (diff <= unsure).all(), f"{node.name}: counts differ from torch's hooked inputs"
        exempt |= unsure > 0
        k += 1
    tmag = _magnitudes(net, np.abs(pl.directions).max(axis=0)[None])[0][out].reshape(1, -1, 1)
    bad = (np.abs(res.slope.reshape(n, -1, 2) - jvp) > 2 * _gamma(depth[out], u) * tmag).any(axis=(1, 2)) & ~exempt
    assert not bad.any(), f"slope differs from torch's jvp at {int(bad.sum())} of {n} pixels"
    if dtype == "float64":
        assert exempt.mean() <= 0.02  # the slope check is not vacuous


def test_the_sweep_reads_the_region_maps_faces():
    _, shape, net = _model("cnn", seed=13)
    plane = _plane(shape, 14)
    m = fastrelu.regions(net, plane=plane)
    (u0, u1), (v0, v1) = m.bounds  # pixels inside the map's rectangle, off its sides
    inside = ((0.9 * u0, 0.9 * u1), (0.9 * v0, 0.9 * v1))
    res = fastrelu.sweep(net, plane=plane, bounds=inside, num=(31, 29), backend="numpy")
    pts = res.points.astype(np.float64)
    face = m.locate(pts)
    far = _distance_to_edges(m, pts, face) > 1e-9
    assert far.mean() > 0.95
    np.testing.assert_array_equal(res.negative_by_layer.reshape(len(pts), -1)[far], m.negative_by_layer[face][far])
    np.testing.assert_allclose(res.slope.reshape(len(pts), 2, 2)[far], m.slope[face][far], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(MODELS))
def test_the_exact_kernel_reads_each_pixel_off_its_face(name, dtype):
    """The exact backend's plane kernel for graphs (``plane_exact.sweep_graph``): pixels inside a
    face read its map (the region map's own, walked once), pixels on an edge are evaluated by
    the reference; both within rounding of the reference everywhere."""
    _, shape, net = _model(name, seed=17, dtype=torch.float64 if dtype == "float64" else torch.float32)
    plane = _plane(shape, 18)
    ref = fastrelu.sweep(net, plane=plane, num=(37, 23), backend="numpy")
    folded, pl, rect = plane_network(net, plane, None, np.dtype(dtype))
    pts = np.ascontiguousarray(ref.points)
    n, out, depth = len(pts), net.out_features, net.depth
    y, slope, neg = np.empty((n, out), dtype), np.empty((n, out, 2), dtype), np.empty((n, depth), np.int32)
    plane_exact.sweep_graph(pts, folded.graph, y, slope, neg, span=rect)
    m = fastrelu.regions(net, plane=plane)  # the same map: a float64 network's, or the float32 one's in float64
    face = m.locate(pts.astype(np.float64))
    inside = _distance_to_edges(m, pts.astype(np.float64), face) > 1e-9
    assert inside.mean() > 0.8  # (the rectangle's own sides hold 14% of the pixels)
    if dtype == "float64":
        np.testing.assert_array_equal(neg[inside], m.negative_by_layer[face][inside])
        np.testing.assert_array_equal(slope[inside], m.slope[face][inside].reshape(-1, out, 2))
    # y within two computations' rounding of the reference's, the counts equal away from edges
    mags, deep = _magnitudes(net, np.abs(pl.origin) + np.abs(pts.astype(np.float64)) @ np.abs(pl.directions))
    u = float(np.finfo(dtype).eps) / 2
    last = net.nodes[-1].name
    assert (np.abs(y - ref.y.reshape(n, out)) <= 2 * _gamma(deep[last], u) * mags[last].reshape(n, -1)).all()
    np.testing.assert_array_equal(neg[inside], ref.negative_by_layer.reshape(n, -1)[inside])


# -- memory and bad input -------------------------------------------------------------------------


def test_a_graph_map_that_would_not_fit_says_so_before_it_starts(monkeypatch):
    _, shape, net = _model("cnn", seed=1)
    calls = []

    def tiny():
        calls.append(1)
        return 1000  # bytes: less than the first act node's sides need

    monkeypatch.setattr(plane_walk, "available_memory", tiny)
    with pytest.raises(MemoryError, match=r"needs [0-9,]+ bytes .*node '_1' .*only 1,000 bytes"):
        region_map(net, plane=_plane(shape, 2), threads=1)
    assert len(calls) == 1  # refused at the first count, before any node cut a face


def test_a_graph_map_refuses_what_would_not_fit_at_a_later_node(monkeypatch):
    _, shape, net = _model("maxpool", seed=1)
    whole = region_map(net, plane=_plane(shape, 2), threads=1)
    asked = []

    def counted():
        asked.append(1)
        return None if len(asked) < 4 else 1000  # (None: the memory cannot be read, nothing refused)

    monkeypatch.setattr(plane_walk, "available_memory", counted)
    with pytest.raises(MemoryError, match=r"node '(pool|fc|r1|add|r2)'"):
        region_map(net, plane=_plane(shape, 2), threads=1)
    assert len(whole) > 0


def test_bad_planes_of_a_graph_name_the_argument():
    _, shape, net = _model("cnn", seed=1)
    with pytest.raises(ValueError, match="plane"):
        fastrelu.regions(net, plane=np.zeros((3, 5)))  # not the input's size
    with pytest.raises(ValueError, match="collinear"):
        fastrelu.regions(net, plane=np.stack([np.zeros(shape), np.ones(shape), 2 * np.ones(shape)]))
    with pytest.raises(ValueError, match="plane"):
        fastrelu.sweep(net, plane=np.zeros((3, 5)), num=(4, 4))
    # points shaped as the input or flat: the same plane
    p = _plane(shape, 3)
    a, b = fastrelu.regions(net, plane=p), fastrelu.regions(net, plane=p.reshape(3, -1))
    assert len(a) == len(b) and np.array_equal(a.vertices, b.vertices)
