"""Region maps of a plane (``regions(net, plane=...)`` / ``bounds=``): against Regioncam and
PyTorch on the same models, the map's topology and geometry, hostile planes whose
boundaries meet or run along the rectangle, and the errors of bad planes."""

import fractions

import numpy as np
import pytest
import regioncam
import torch

import fastrelu
from fastrelu.analysis.plane import RegionMap
from fastrelu.model.slices import plane_through

SQUARE = ((-1.0, 1.0), (-1.0, 1.0))


def _torch_mlp(dims, seed=0, act=torch.nn.ReLU):
    torch.manual_seed(seed)
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


def _check_topology(m):
    """V - E + F = 1, areas fill the rectangle, faces convex and counter-clockwise, every
    edge on two faces inside or one on the rectangle's sides, the face lists agree."""
    (u0, u1), (v0, v1) = m.bounds
    F = len(m)
    assert m.n_vertices - m.n_edges + F == 1
    assert m.area.sum() == pytest.approx((u1 - u0) * (v1 - v0), rel=1e-12)
    assert (m.area > 0).all()
    P = m.vertices
    assert (P[:, 0] >= u0).all() and (P[:, 0] <= u1).all() and (P[:, 1] >= v0).all() and (P[:, 1] <= v1).all()
    off, idx = m.face_offsets, m.face_vertices
    assert off[0] == 0 and off[-1] == idx.shape[0] and (np.diff(off) >= 3).all()
    nxt = np.arange(1, idx.size + 1)
    nxt[off[1:] - 1] = off[:-1]
    a, b, c = P[idx], P[idx[nxt]], P[idx[nxt[nxt]]]
    turn = (b[:, 0] - a[:, 0]) * (c[:, 1] - b[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - b[:, 0])
    scale = np.abs(P).max() ** 2
    assert (turn >= -1e-12 * scale).all(), "a face turns clockwise: not convex, or not counter-clockwise"
    # each polygon side is an edge of the map with that face on its left
    sides = set(zip(idx.tolist(), idx[nxt].tolist(), np.repeat(np.arange(F), np.diff(off)).tolist()))
    from_edges = {(u, v, f) for (u, v), (f, _) in zip(m.edges.tolist(), m.edge_faces.tolist()) if f >= 0}
    from_edges |= {(v, u, f) for (u, v), (_, f) in zip(m.edges.tolist(), m.edge_faces.tolist()) if f >= 0}
    assert sides == from_edges
    outer = (m.edge_faces < 0).any(axis=1)
    assert ((m.edge_faces >= 0).sum(axis=1) >= 1).all()
    assert (m.edge_units[outer] == -1).all() and (m.edge_units[~outer] >= 0).all()


def _check_neighbours(m, net):
    """Faces on either side of an inside edge differ exactly in the units whose boundary it
    lies on: the unit that cut it, and any unit whose map on the face is the same line."""
    inner = np.flatnonzero((m.edge_faces >= 0).all(axis=1))
    pattern = m.pattern
    widths = [layer.bias.shape[0] for layer in net.layers[:-1]]
    starts = np.r_[0, np.cumsum(widths)[:-1]]
    for e in inner:
        f1, f2 = m.edge_faces[e]
        layer, unit = m.switching(e)
        assert len(unit) >= 1
        k, j = m.edge_units[e]
        assert ((layer == k) & (unit == j)).any(), f"edge {e}: its own unit does not switch across it"
        differ = np.flatnonzero(pattern[f1] != pattern[f2])
        assert sorted(differ.tolist()) == sorted((starts[layer] + unit).tolist())


def _torch_pattern(model, x):
    """The activation pattern torch's forward hooks see at inputs ``x`` (z > 0 per hidden unit)."""
    seen = []
    hooks = [mod.register_forward_hook(lambda mod, inp, out: seen.append(inp[0] > 0))
             for mod in model if isinstance(mod, (torch.nn.ReLU, torch.nn.LeakyReLU))]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return torch.cat(seen, dim=1).numpy()


# -- against Regioncam --------------------------------------------------------------


@pytest.mark.parametrize("dims,seed", [([2, 16, 16, 1], 0), ([2, 32, 32, 32, 1], 1), ([2, 64, 64, 64, 64, 1], 0), ([2, 24, 24, 5], 3)])
def test_counts_equal_regioncams_on_the_same_torch_model(dims, seed):
    model = _torch_mlp(dims, seed)
    m = fastrelu.regions(fastrelu.Network.from_torch(model), bounds=SQUARE)
    rc = regioncam.Regioncam(1.0)
    rc.add(model)
    assert (len(m), m.n_vertices, m.n_edges) == (rc.num_faces, rc.num_vertices, rc.num_edges)
    assert m.ambiguous == 0 and m.degenerate == 0


def test_a_plane_through_three_inputs_has_regioncams_faces():
    # Regioncam works in float32, also its plane; here no feature is below float32's resolution
    model = _torch_mlp([784, 48, 48, 10], seed=1)
    torch.manual_seed(1)
    pts = torch.randn(3, 784).numpy()
    m = fastrelu.regions(fastrelu.Network.from_torch(model), plane=pts)
    rc = regioncam.Regioncam.through_points(pts)
    rc.add(model)
    assert (len(m), m.n_vertices, m.n_edges) == (rc.num_faces, rc.num_vertices, rc.num_edges) == (3713, 3814, 7526)
    np.testing.assert_allclose(np.abs(np.asarray(rc.vertex_inputs)[:4]), m.bounds[0][1], rtol=1e-6)  # its square's corners


def test_face_maps_equal_regioncams_within_float32():
    model = _torch_mlp([2, 16, 16, 3], seed=2)
    m = fastrelu.regions(fastrelu.Network.from_torch(model), bounds=SQUARE)
    rc = regioncam.Regioncam(1.0)
    rc.add(model)
    outs = np.asarray(rc.face_outputs, np.float64)  # (F, 3, out): [u, v, 1] @ outs[f]
    corners = np.asarray(rc.vertex_inputs, np.float64)
    centres = np.array([corners[list(f.vertex_ids)].mean(axis=0) for f in rc.faces])
    ours = m.locate(centres)
    assert (ours >= 0).all()
    assert len(set(ours.tolist())) == len(m), "each of Regioncam's faces holds a different face of ours"
    np.testing.assert_allclose(m.slope[ours], np.moveaxis(outs[:, :2, :], 1, 2), atol=1e-5)
    np.testing.assert_allclose(m.intercept[ours], outs[:, 2, :], atol=1e-5)


def test_plane_coordinates_are_regioncams():
    rng = np.random.default_rng(5)
    pts = rng.standard_normal((3, 7)).astype(np.float32)
    rc = regioncam.Regioncam.through_points(pts)
    p = plane_through(pts, 7)
    np.testing.assert_allclose(p.directions, rc.plane.weight, atol=1e-6)
    np.testing.assert_allclose(p.origin, rc.plane.bias, atol=1e-5)
    np.testing.assert_allclose(p.points, rc.plane.inverse(pts), atol=1e-5)
    corners = np.asarray(rc.vertex_inputs)[:4]
    s = p.bounds[0][1]
    assert p.bounds == ((-s, s), (-s, s))
    np.testing.assert_allclose(np.abs(corners), s, rtol=1e-6)


# -- against torch -------------------------------------------------------------------


@pytest.mark.parametrize("dims,act", [([2, 32, 32, 1], torch.nn.ReLU), ([5, 24, 24, 24, 3], torch.nn.ReLU),
                                      ([4, 20, 20, 2], lambda: torch.nn.LeakyReLU(0.1))])
def test_faces_agree_with_torch_at_random_points(dims, act):
    model = _torch_mlp(dims, seed=7, act=act).double()
    net = fastrelu.Network.from_torch(model)
    rng = np.random.default_rng(0)
    if dims[0] == 2:
        m = fastrelu.regions(net, bounds=SQUARE)
    else:
        m = fastrelu.regions(net, plane=rng.standard_normal((3, dims[0])))
    _check_topology(m)
    (u0, u1), (v0, v1) = m.bounds
    uv = np.column_stack([rng.uniform(u0, u1, 4000), rng.uniform(v0, v1, 4000)])
    face = m.locate(uv)
    assert (face >= 0).all()
    x = torch.tensor(m.to_input(uv))
    with torch.no_grad():
        y = model(x).numpy().reshape(len(uv), -1)
    # the face's affine map is the model
    pred = (m.slope[face].reshape(len(uv), -1, 2) * uv[:, None, :]).sum(-1) + m.intercept[face].reshape(len(uv), -1)
    np.testing.assert_allclose(pred, y, rtol=1e-9, atol=1e-12)
    # its gradient is torch's along both plane directions
    for k in range(2):
        d = torch.tensor(np.broadcast_to(m.directions[k], x.shape).copy())
        _, jvp = torch.func.jvp(model, (x,), (d,))
        np.testing.assert_allclose(m.slope[face].reshape(len(uv), -1, 2)[:, :, k], jvp.detach().numpy().reshape(len(uv), -1),
                                   rtol=1e-9, atol=1e-12)
    # its pattern is the one torch's hooks see, away from edges (within rounding of one: exempt)
    seen = _torch_pattern(model, x)
    ours = m.pattern[face] > 0
    dist = _distance_to_edges(m, uv, face)
    far = dist > 1e-9
    assert far.mean() > 0.99
    assert (ours[far] == seen[far]).all()
    negative = (~seen).sum(axis=1)
    assert (m.negative[face][far] == negative[far]).all()


def _distance_to_edges(m, uv, face):
    """Distance of each point to the sides of its face."""
    out = np.full(len(uv), np.inf)
    for i, f in enumerate(face):
        poly = m.vertices[m.polygon(f)]
        a, b = poly, np.roll(poly, -1, axis=0)
        d = b - a
        t = np.clip(((uv[i] - a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-300), 0, 1)
        out[i] = np.hypot(*(a + t[:, None] * d - uv[i]).T).min()
    return out


@pytest.mark.parametrize("out", [1, 4])
def test_decision_boundary_against_torch(out):
    model = _torch_mlp([2, 24, 24, out], seed=3).double()
    m = fastrelu.regions(fastrelu.Network.from_torch(model), bounds=SQUARE)
    d = m.decision_boundary()
    assert d.segments.shape[1:] == (2, 2) and d.face.shape == d.classes.shape[:1] and len(d.face) > 10
    a, b = d.segments[:, 0], d.segments[:, 1]
    length = np.hypot(*(b - a).T)
    assert (length > 0).all()

    def classify(x):
        with torch.no_grad():
            y = model(torch.tensor(x)).numpy()
        return (y[:, 0] > 0).astype(int) if out == 1 else y.argmax(axis=1), y

    # on each segment the two outputs tie, at the top; across it the class is one or the other
    mid = 0.5 * (a + b)
    _, y = classify(mid)
    i, j = d.classes[:, 0], d.classes[:, 1]
    scale = np.abs(classify(m.vertices)[1]).max()  # the outputs' size over the rectangle
    if out == 1:
        np.testing.assert_allclose(y[:, 0], 0, atol=1e-12 * scale)
    else:
        rows = np.arange(len(mid))
        np.testing.assert_allclose(y[rows, i], y[rows, j], atol=1e-12 * scale)
        assert (y[rows, i] >= y.max(axis=1) - 1e-12 * scale).all()
    normal = np.stack([a[:, 1] - b[:, 1], b[:, 0] - a[:, 0]], axis=1) / length[:, None]
    ok = length > 1e-6
    left, _ = classify(mid[ok] + 1e-8 * normal[ok])
    right, _ = classify(mid[ok] - 1e-8 * normal[ok])
    assert (left != right).all()
    if out > 1:
        assert np.array_equal(np.sort(np.stack([left, right], 1), 1), np.sort(d.classes[ok], 1))
    # nothing missed: two points of one face in different classes have a segment of that face between them
    rng = np.random.default_rng(0)
    p = rng.uniform(-1, 1, (3000, 2))
    q = p + rng.normal(0, 0.01, p.shape)
    fp, fq = m.locate(p), m.locate(q)
    cp, _ = classify(p)
    cq, _ = classify(q)
    both = np.flatnonzero((fp == fq) & (fp >= 0) & (cp != cq))
    assert both.size > 5
    for k in both:
        s = d.segments[d.face == fp[k]]
        # segments crossing pq: the ends of each on either side of pq, and p, q on either side of it
        side = lambda u, v, w: (v[..., 0] - u[..., 0]) * (w[..., 1] - u[..., 1]) - (v[..., 1] - u[..., 1]) * (w[..., 0] - u[..., 0])  # noqa: E731
        cross = (side(p[k], q[k], s[:, 0]) * side(p[k], q[k], s[:, 1]) <= 0) & (side(s[:, 0], s[:, 1], p[k]) * side(s[:, 0], s[:, 1], q[k]) <= 0)
        assert cross.any(), f"points {p[k]}, {q[k]} of face {fp[k]} differ in class, but no segment separates them"


def test_locate_is_minus_one_outside_and_every_vertex_is_on_its_faces():
    net = fastrelu.Network.random([2, 12, 12, 1], seed=4)
    m = fastrelu.regions(net, bounds=((0.0, 2.0), (-1.0, 0.5)))
    assert m.locate([[2.5, 0.0], [1.0, 0.6], [np.nan, 0.0]]).tolist() == [-1, -1, -1]
    for f in range(len(m)):
        at = m.locate(m.vertices[m.polygon(f)])
        assert (at >= 0).all() and (at <= f).all()  # a vertex belongs to the lowest face around it


# -- topology and exactness -------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "hardtanh", "relu6", "linear", "prelu"])
def test_topology_and_neighbours_for_every_activation(activation):
    net = fastrelu.Network.random([2, 10, 10, 2], seed=11, activation=activation)
    if activation in ("hardtanh", "relu6"):  # make the clamps reachable in [-1, 1]^2
        net = fastrelu.Network.from_layers([(3 * w, 3 * b) for w, b in net.layers], activation)
    m = fastrelu.regions(net, bounds=SQUARE)
    _check_topology(m)
    _check_neighbours(m, net)
    assert m.n_kinks <= m.n_boundaries
    if activation == "linear":
        assert m.n_kinks == 0 and m.n_boundaries > 0  # boundaries that change no gradient
        assert np.ptp(m.slope, axis=0).max() == 0
    # the same map from the per-point forward: output at each face's centre
    centres = np.array([m.vertices[m.polygon(f)].mean(axis=0) for f in range(len(m))])
    y = net(centres).reshape(len(m), -1)
    pred = (m.slope.reshape(len(m), -1, 2) * centres[:, None, :]).sum(-1) + m.intercept.reshape(len(m), -1)
    np.testing.assert_allclose(pred, y, rtol=1e-10, atol=1e-12)


def test_dyadic_network_is_exact():
    # weights and biases are short dyadic numbers: each face's map, computed from its pattern,
    # is exact, and the pattern is the one exact arithmetic gives inside the face
    rng = np.random.default_rng(3)
    layers = [(rng.integers(-4, 5, (6, 2)) / 4, rng.integers(-4, 5, 6) / 8),
              (rng.integers(-4, 5, (6, 6)) / 4, rng.integers(-4, 5, 6) / 8),
              (rng.integers(-4, 5, (1, 6)) / 4, rng.integers(-4, 5, 1) / 8)]
    net = fastrelu.Network.from_layers(layers)
    m = fastrelu.regions(net, bounds=SQUARE)
    _check_topology(m)
    Fr = fractions.Fraction
    W = [[[Fr(x) for x in row] for row in w] for w, _ in layers]
    B = [[Fr(x) for x in b] for _, b in layers]
    for f in range(len(m)):
        pat = m.pattern[f]
        centre = [sum(Fr(c) for c in m.vertices[m.polygon(f), i]) / len(m.polygon(f)) for i in range(2)]
        A = [[W[0][i][0], W[0][i][1], B[0][i]] for i in range(6)]  # the face's maps, from its pattern
        for k in (1, 2):
            z = [a[0] * centre[0] + a[1] * centre[1] + a[2] for a in A]
            assert [int(v > 0) for v in z] == pat[(k - 1) * 6 : k * 6].tolist()
            gate = pat[(k - 1) * 6 : k * 6]
            A = [[sum(W[k][i][j] * A[j][c] * int(gate[j]) for j in range(6)) + (B[k][i] if c == 2 else 0) for c in range(3)]
                 for i in range(len(W[k]))]
        assert [float(a) for a in A[0]] == [m.slope[f][0], m.slope[f][1], m.intercept[f]]
        assert all(Fr(float(a)) == a for a in A[0]), "the map is exact, not rounded"


def test_all_boundaries_through_one_point():
    # no biases: every unit of every layer switches on lines through the origin
    rng = np.random.default_rng(0)
    layers = [(rng.standard_normal((12, 2)), None), (rng.standard_normal((12, 12)), None), (rng.standard_normal((1, 12)), None)]
    net = fastrelu.Network.from_layers(layers)
    m = fastrelu.regions(net, bounds=((-1.0, 2.0), (-0.5, 1.5)))
    _check_topology(m)
    centre = np.flatnonzero((m.vertices == 0).all(axis=1))
    assert centre.shape == (1,), "the lines meet in one vertex"
    around = np.flatnonzero([centre[0] in m.polygon(f) for f in range(len(m))])
    assert len(around) == len(m), "every face is a cone from the origin"
    assert m.degenerate == 0 and m.ambiguous == 0
    # a cone per direction in which the pattern changes: 2 per distinct line through 0
    assert len(m) == m.n_boundaries
    _check_neighbours(m, net)


def _near_concurrent(seed, depth, n=24):
    """A network whose first-layer lines (and, with depth 2, second-layer lines) all pass through
    (1/3, 1/3), a point float64 cannot hold: with rounded biases they miss it by ~1e-17."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, 2))
    c = -(a @ np.array([1 / 3, 1 / 3]))
    w2 = rng.standard_normal((n, n))
    b2 = -(w2 @ np.maximum(a @ np.array([1 / 3, 1 / 3]) + c, 0))
    out = rng.standard_normal((1, n))
    net = fastrelu.Network.from_layers([(a, c), (w2, b2), (out, None)] if depth == 2 else [(a, c), (out, None)])
    uv = rng.uniform(-1, 1, (1000, 2))
    z0 = uv @ a.T + c
    seen = np.hstack([z0 > 0, np.maximum(z0, 0) @ w2.T + b2 > 0]) if depth == 2 else z0 > 0
    return net, uv, seen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boundaries_through_a_point_float64_cannot_hold(seed):
    # cells far below float64's resolution appear and vanish around the point; the map must
    # still be a partition, and right wherever float64 can tell: sides within rounding of a
    # line are decided exactly, at the exact crossing points of the lines
    net, uv, seen = _near_concurrent(seed, depth=1)
    m = fastrelu.regions(net, bounds=SQUARE)
    assert m.n_vertices - m.n_edges + len(m) == 1
    assert m.area.sum() == pytest.approx(4.0, rel=1e-12)
    assert m.area.min() > -1e-15  # slivers below float64's resolution: areas within rounding of 0
    assert m.ambiguous == 0 and m.degenerate > 0
    face = m.locate(uv)
    far = _distance_to_edges(m, uv, face) > 1e-9
    assert far.mean() > 0.99
    assert (m.pattern[face][far] == seen[far]).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_layers_through_a_point_float64_cannot_hold_are_flagged(seed):
    # both layers' lines within rounding of one point: faces of different maps disagree there
    # by rounding, and some cells cannot be cut consistently.  The map stays a partition, and
    # where a face's pattern is wrong away from its edges, the map says it has such cells
    net, uv, seen = _near_concurrent(seed, depth=2)
    m = fastrelu.regions(net, bounds=SQUARE)
    assert m.n_vertices - m.n_edges + len(m) == 1
    assert m.area.sum() == pytest.approx(4.0, rel=1e-12)
    face = m.locate(uv)
    far = _distance_to_edges(m, uv, face) > 1e-9
    wrong = far & (m.pattern[face] != seen).any(axis=1)
    assert not wrong.any() or m.ambiguous > 0


def test_a_unit_identically_zero_on_the_plane():
    # unit 2 reads only the third input, which is 0 on the plane through these points
    w = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    net = fastrelu.Network.from_layers([(w, np.zeros(3)), (np.ones((1, 3)), None)])
    m = fastrelu.regions(net, plane=([0, 0, 0], [1, 0, 0], [0, 1, 0]), bounds=SQUARE)
    assert len(m) == 4
    assert (m.pattern[:, 2] == 0).all(), "z = 0 counts as off (PyTorch: relu'(0) = 0)"
    assert (m.negative >= 1).all()
    _check_topology(m)


def test_boundaries_along_the_rectangle_and_through_its_corners():
    # u = -1 and v = 1 lie on the rectangle's sides; u + v = 0 runs through two corners
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    b = np.array([1.0, -1.0, 0.0, 0.0])
    net = fastrelu.Network.from_layers([(w, b), (np.ones((1, 4)), None)])
    m = fastrelu.regions(net, bounds=SQUARE)
    _check_topology(m)
    assert (len(m), m.n_vertices, m.n_edges) == (4, 7, 10)  # cut by u = 0 and the diagonal only
    assert (m.pattern[:, 0] == 1).all() and (m.pattern[:, 1] == 0).all()
    _check_neighbours(m, net)


def test_repeated_unit_switches_with_its_twin():
    w = np.array([[1.0, 2.0], [1.0, 2.0], [-1.0, 1.0]])
    net = fastrelu.Network.from_layers([(w, np.array([0.5, 0.5, 0.0])), (np.array([[1.0, -1.0, 1.0]]), None)])
    m = fastrelu.regions(net, bounds=SQUARE)
    _check_topology(m)
    _check_neighbours(m, net)
    twin = [e for e in range(m.n_edges) if len(m.switching(e)[1]) == 2]
    assert twin and all(m.switching(e)[1].tolist() == [0, 1] for e in twin)
    # the twins cancel in the output: a boundary that is no kink
    assert m.n_kinks < m.n_boundaries


def test_pattern_hash_depends_on_the_pattern_alone():
    net = fastrelu.Network.random([2, 16, 16, 1], seed=2)
    a = fastrelu.regions(net, bounds=SQUARE)
    b = fastrelu.regions(net, bounds=((-0.5, 0.25), (0.0, 0.7)))
    pts = np.random.default_rng(1).uniform([-0.5, 0.0], [0.25, 0.7], (200, 2))
    fa, fb = a.locate(pts), b.locate(pts)
    same = (a.pattern[fa] == b.pattern[fb]).all(axis=1)
    assert same.mean() > 0.95
    assert (a.pattern_hash[fa][same] == b.pattern_hash[fb][same]).all()
    assert len(np.unique(a.pattern_hash)) == len(a)
    assert a.pattern_hash.dtype == np.uint64


def test_float32_network_is_walked_in_float64():
    model = _torch_mlp([2, 16, 16, 1], seed=0)
    net = fastrelu.Network.from_torch(model)
    assert net.dtype == np.float32
    m = fastrelu.regions(net, bounds=SQUARE)
    assert m.slope.dtype == np.float64 and m.vertices.dtype == np.float64
    uv = np.random.default_rng(0).uniform(-1, 1, (500, 2))
    f = m.locate(uv)
    exact = net.astype("float64")(uv)
    np.testing.assert_allclose((m.slope[f] * uv).sum(1) + m.intercept[f], exact, rtol=1e-12, atol=1e-14)


def test_shapes_and_repr():
    net = fastrelu.Network.random([3, 8, 8, 4], seed=1)
    m = fastrelu.regions(net, plane=np.eye(3))
    F = len(m)
    assert isinstance(m, RegionMap) and isinstance(m, fastrelu.RegionMap)
    assert m.slope.shape == (F, 4, 2) and m.intercept.shape == (F, 4)
    assert m.negative.shape == (F,) and m.negative.dtype == np.int32
    assert m.negative_by_layer.shape == (F, 2)
    assert m.pattern.shape == (F, 16) and m.pattern.dtype == np.int8
    assert (m.negative == m.negative_by_layer.sum(1)).all()
    assert m.edges.shape == (m.n_edges, 2) and m.edge_faces.shape == (m.n_edges, 2)
    assert m.to_input(m.points).shape == (3, 3)
    np.testing.assert_allclose(m.to_input(m.points), np.eye(3), atol=1e-15)
    assert repr(m).startswith(f"RegionMap(faces={F}, vertices={m.n_vertices}, edges={m.n_edges}, kinks=")
    with pytest.raises(ValueError):
        m.vertices[0, 0] = 1.0


def test_default_bounds_are_regioncams_square():
    net = fastrelu.Network.random([3, 4, 1], seed=0)
    pts = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    m = fastrelu.regions(net, plane=pts)
    assert m.bounds == ((-3.0, 3.0), (-3.0, 3.0))
    np.testing.assert_allclose(m.points, [[-2, -1], [2, -1], [-2, 1]])


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("plane,match", [
    (([0, 0, 0], [0, 0, 0], [1, 0, 0]), "same point"),
    (([0, 0, 0], [1, 1, 1], [2, 2, 2]), "collinear"),
    (([0, 0, 0], [1, 0, 0], [1, 0, 0]), "collinear"),
    (([0, 0, np.nan], [1, 0, 0], [0, 1, 0]), "finite"),
    (([0, 0], [1, 0, 0], [0, 1, 0]), "x0 must have 3 entries"),
    (([0, 0, 0], [1, 0, 0]), "plane must be"),
    ("abc", "plane must be"),
])
def test_bad_planes_are_clear_errors(plane, match):
    net = fastrelu.Network.random([3, 4, 1], seed=0)
    with pytest.raises((ValueError, TypeError), match=match):
        fastrelu.regions(net, plane=plane)


@pytest.mark.parametrize("bounds,error,match", [
    (((1, 1), (0, 1)), ValueError, "empty"),
    (((0, 1), (2, -2)), ValueError, "empty"),
    (((0, np.inf), (0, 1)), ValueError, "finite"),
    (((0, 1),), TypeError, "bounds must be"),
    ((0, 1), TypeError, "bounds must be"),
    (((0, "a"), (0, 1)), TypeError, "bounds"),
])
def test_bad_bounds_are_clear_errors(bounds, error, match):
    net = fastrelu.Network.random([2, 4, 1], seed=0)
    with pytest.raises(error, match=match):
        fastrelu.regions(net, bounds=bounds)


def test_wrong_combinations_are_clear_errors():
    net3 = fastrelu.Network.random([3, 4, 1], seed=0)
    with pytest.raises(ValueError, match="two inputs"):
        fastrelu.regions(net3, bounds=SQUARE)
    net2 = fastrelu.Network.random([2, 4, 1], seed=0)
    with pytest.raises(TypeError, match="start, stop and along are for a line"):
        fastrelu.regions(net2, 0, 1, bounds=SQUARE)
    with pytest.raises(TypeError, match="start, stop and along are for a line"):
        fastrelu.regions(net2, along=([0, 0], [1, 1]), bounds=SQUARE)
    with pytest.raises(TypeError, match="net must be"):
        fastrelu.regions("net", bounds=SQUARE)
    with pytest.raises(ValueError, match="points must be"):
        fastrelu.regions(net2, bounds=SQUARE).locate([1.0, 2.0])


def test_rectangles_tiny_huge_and_without_boundary():
    net = fastrelu.Network.random([2, 16, 16, 1], seed=5)
    for bounds in (((0.0, 1e-9), (0.0, 1e-9)), ((-1e6, 1e6), (-1e6, 1e6)), ((0.3, 0.30000000001), (-1.0, 1.0))):
        _check_topology(fastrelu.regions(net, bounds=bounds))
    dead = fastrelu.Network.from_layers([(np.zeros((4, 2)), -np.ones(4)), (np.ones((1, 4)), [2.0])])
    m = fastrelu.regions(dead, bounds=SQUARE)
    assert (len(m), m.n_vertices, m.n_edges, m.n_boundaries, m.n_kinks) == (1, 4, 4, 0, 0)
    assert m.slope.tolist() == [[0.0, 0.0]] and m.intercept.tolist() == [2.0] and m.negative.tolist() == [4]


def test_overflow_on_the_plane_is_refused():
    net = fastrelu.Network.from_layers([(np.full((2, 2), 1e300), None), (np.full((1, 2), 1e300), None)])
    with pytest.raises(ValueError, match="overflow"):
        fastrelu.regions(net, bounds=SQUARE)
