"""Per-pixel maps of a plane: ``sweep(net, plane=..., num=(nu, nv))`` on every backend.

Three truths, as on a line:

* the numpy reference (two forward-mode tangents), against which every backend must
  agree by the rule of ``fastrelu.kernels.agreement`` (a rounding bound per point and
  unit; exact zeros never exempt);
* PyTorch: ``model(x)`` and ``torch.func.jvp`` along both plane directions at the input
  ``x = origin + u*d1 + v*d2`` of each pixel, within bounds derived from rounding (below);
* the region map: the exact backend reads each pixel off its face, so its counts are the
  located face's and its values the face's affine map's.

The torch bound.  Both fastrelu and torch approximate the exact network at the exact point
of the plane.  For each, an affine step ``z = W a + b`` of fan-in ``n`` adds at most
``gamma(n + K) * (|W| |a| + |b|)`` (any order, FMA or not; ``K`` roundings more for
torch's rounding of ``x`` and fastrelu's folding of the plane into its first layer and
storing it in the dtype) and passes the incoming error on as ``|W| e``; an activation of
Lipschitz constant ``L`` multiplies the error by ``L`` and adds one rounding of its result.
Tangents follow the same recurrence (their first layer from ``|W| |d|``).  The two answers
then differ by at most twice the bound, a unit whose ``|z|`` exceeds twice the bound is on
the same side in both (so counts differ at most by the units within it), and slopes agree
wherever no unit is within it of a breakpoint.
"""

import numpy as np
import pytest
import torch
from torch import nn

import fastrelu
from fastrelu import Network
from fastrelu.kernels.agreement import compare
from fastrelu.model.slices import plane_through

BACKENDS = ["numpy", "numba", "cffi", "exact"]
DTYPES = ["float64", "float32"]


def _points(n_in, seed):
    return np.random.default_rng([seed, 7]).standard_normal((3, n_in))


def _cases():
    """(name, network, sweep arguments): a plane through three inputs and a two-input network's own plane."""
    deep = Network.random([5, 24, 24, 3], seed=1)
    leaky = Network.from_layers(
        [(w, b) for w, b in Network.random([2, 16, 16, 16, 1], seed=2).layers], ["relu", "leaky_relu", "relu"]
    )
    return {
        "plane through three inputs": (deep, {"plane": _points(5, 1), "num": (37, 29)}),
        "input plane": (leaky, {"bounds": ((-1.5, 1.0), (-0.75, 2.0)), "num": (41, 33)}),
    }


CASES = _cases()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_every_backend_agrees_with_the_reference(case, backend, dtype):
    net, kw = CASES[case]
    ref = fastrelu.sweep(net, backend="numpy", dtype=dtype, **kw)
    res = fastrelu.sweep(net, backend=backend, dtype=dtype, **kw)
    assert res.backend == backend and res.dtype == np.dtype(dtype)
    nu, nv = kw["num"]
    out = net.out_features
    assert res.y.shape == ((nv, nu) if out == 1 else (nv, nu, out))
    assert res.slope.shape == res.y.shape + (2,)
    assert res.negative.shape == (nv, nu) and res.negative.dtype == np.int32
    assert res.negative_by_layer.shape == (nv, nu, net.depth)
    np.testing.assert_array_equal(res.negative, res.negative_by_layer.sum(axis=2))
    np.testing.assert_array_equal(res.u, ref.u)
    np.testing.assert_array_equal(res.v, ref.v)
    agreement = compare(res, ref)
    assert agreement.ok, str(agreement)
    # the rule decides nearly every pixel: the check is not vacuous
    assert agreement.near_kink <= 0.02 * len(ref), str(agreement)


def test_the_twins_give_the_same_bits_on_a_plane():
    from fastrelu.kernels._c import lib

    with open("/proc/cpuinfo") as f:
        fused = lib.FASTRELU_BUILD_KIND in (1, 2) and " fma " in f.read().replace("\n", " ")
    net, kw = CASES["plane through three inputs"]
    for dtype in DTYPES:
        a = fastrelu.sweep(net, backend="numba", dtype=dtype, **kw)
        b = fastrelu.sweep(net, backend="cffi", dtype=dtype, **kw)
        if fused:  # as on a line (tests/test_deep_kernels.py): same sums in the same order, fused alike
            for name in ("y", "slope", "negative_by_layer"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=f"{name} {dtype}")
        else:
            assert compare(a, b).ok


def test_the_grid_is_the_region_maps_plane():
    net, kw = CASES["plane through three inputs"]
    m = fastrelu.regions(net, plane=kw["plane"])
    res = fastrelu.sweep(net, plane=kw["plane"], num=(5, 4), backend="numpy")
    # default bounds: regions' own (Regioncam's square around the three points)
    assert res.bounds == m.bounds
    (u0, u1), (v0, v1) = m.bounds
    np.testing.assert_array_equal(res.u, np.linspace(u0, u1, 5))
    np.testing.assert_array_equal(res.v, np.linspace(v0, v1, 4))
    pl = plane_through(kw["plane"], net.in_features)
    np.testing.assert_array_equal(res.plane.origin, m.origin)
    np.testing.assert_array_equal(res.plane.directions, m.directions)
    np.testing.assert_array_equal(res.plane.points, pl.points)
    # row j is v[j], column i is u[i]; the flat points in the order of y.reshape(-1)
    pts = res.points
    assert pts.shape == (20, 2)
    np.testing.assert_array_equal(pts[7], [res.u[2], res.v[1]])
    # and each pixel is the network at m.to_input of its coordinates
    x = m.to_input(pts)
    np.testing.assert_allclose(res.y.reshape(20, -1), net(x), rtol=0, atol=1e-12)


def test_step_places_pixels_as_a_lines_grid_does():
    net = Network.random([2, 8, 1], seed=0)
    res = fastrelu.sweep(net, bounds=((0, 1), (-1, 0)), step=0.25, backend="numpy")
    np.testing.assert_array_equal(res.u, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(res.v, [-1, -0.75, -0.5, -0.25, 0])
    res = fastrelu.sweep(net, bounds=((0, 1), (-1, 0)), step=(0.5, 0.25), backend="numpy")
    assert res.y.shape == (5, 3)


# ---------------------------------------------------------------------------------------
# pixels exactly on boundaries


def _dyadic_network():
    """A two-input network whose first-layer boundaries pass exactly through pixels of a
    dyadic grid: u = 0.25, v = -0.5, u + v = 0, u = v (and, bias-free, through the origin)."""
    w1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0], [0.5, 0.0], [0.0, -2.0]])
    b1 = np.array([-0.25, 0.5, 0.0, 0.0, 0.0, -1.0])
    rng = np.random.default_rng(3)
    w2 = rng.choice([-1.0, -0.5, 0.5, 1.0, 2.0], (4, 6))
    w3 = rng.choice([-1.0, 0.5, 1.0], (2, 4))
    return Network.from_layers([(w1, b1), (w2, np.zeros(4)), (w3, np.array([0.25, -0.5]))])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_pixels_exactly_on_boundaries_take_the_off_side(backend, dtype):
    net = _dyadic_network()
    kw = {"bounds": ((-1, 1), (-1, 1)), "num": (17, 17)}  # steps of 1/8: every line above holds pixels
    res = fastrelu.sweep(net, backend=backend, dtype=dtype, **kw)
    ref = fastrelu.sweep(net, backend="numpy", dtype=dtype, **kw)
    # the first layer's z is exact at every pixel: its counts and its off side are exact
    uu, vv = np.meshgrid(res.u.astype(np.float64), res.v.astype(np.float64))
    w1, b1 = net.layers[0]
    z = uu[..., None] * w1[:, 0] + vv[..., None] * w1[:, 1] + b1
    on_line = (z == 0).any(axis=2)
    assert on_line.sum() >= 60  # many pixels lie exactly on a first-layer boundary
    np.testing.assert_array_equal(res.negative_by_layer[..., 0], (z <= 0).sum(axis=2))
    agreement = compare(res, ref)
    assert agreement.ok, str(agreement)
    # exact zeros are not exempt: only pixels where a second-layer unit is within rounding of 0 may be
    assert agreement.near_kink < on_line.sum(), str(agreement)
    # the slope at such a pixel is the one where every unit with z == 0 is off: the
    # reference's, derived here once more from the pattern (ReLU'(0) = 0)
    (w2, b2), (w3, b3) = net.layers[1], net.layers[2]
    g1 = (z > 0).astype(np.float64)
    z2 = (np.maximum(z, 0) @ w2.T) + b2
    g2 = (z2 > 0).astype(np.float64)
    jac1 = g1[..., :, None] * w1  # (.., 6, 2)
    jac2 = g2[..., :, None] * np.einsum("ij,...jk->...ik", w2, jac1)
    slope = np.einsum("oi,...ik->...ok", w3, jac2)
    decided = ~(np.abs(z2) < 1e-9).any(axis=2)  # second-layer units exactly at 0 are the rule's business
    np.testing.assert_allclose(res.slope[decided], slope[decided], rtol=0, atol=1e-6 if dtype == "float32" else 1e-14)


# ---------------------------------------------------------------------------------------
# the exact backend reads the region map


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(CASES))
def test_exact_backend_reads_the_region_map(case, dtype):
    net, kw = CASES[case]
    res = fastrelu.sweep(net, backend="exact", dtype=dtype, **kw)
    if dtype == "float64":  # the map regions draws of this very plane: the sweep folds the plane as it does
        m = fastrelu.regions(net, **{k: v for k, v in kw.items() if k != "num"})
    else:  # in float32 the folded network (res.network) is rounded, and the pixels are
        pix = ((float(res.u[0]), float(res.u[-1])), (float(res.v[0]), float(res.v[-1])))
        m = fastrelu.regions(res.network, bounds=pix)
    pts = res.points.astype(np.float64)
    face = m.locate(pts)
    assert (face >= 0).all()
    # the pixels well inside their face (not within rounding of an edge, where the
    # region map's locate picks the lowest face and the sweep follows PyTorch's side)
    inside = _well_inside(m, pts, face)
    assert inside.mean() > 0.95
    n, out = pts.shape[0], net.out_features
    np.testing.assert_array_equal(res.negative_by_layer.reshape(n, -1)[inside], m.negative_by_layer[face[inside]])
    slope = m.slope.reshape(len(m), out, 2)[face]
    y = (slope * pts[:, None, :]).sum(axis=2) + m.intercept.reshape(len(m), out)[face]
    # the same face's map, of the same pattern: equal up to the rounding of the two walks'
    # products, which the agreement rule bounds (as it bounds two backends)
    shape = res.negative.shape
    read = fastrelu.SweepResult(
        None, y.reshape(res.y.shape).astype(dtype), slope.reshape(res.slope.shape).astype(dtype),
        m.negative[face].reshape(shape), network=res.network, backend="map",
        negative_by_layer=m.negative_by_layer[face].reshape(shape + (net.depth,)), plane=res.plane, u=res.u, v=res.v,
    )
    agreement = compare(res, read)
    assert agreement.ok, str(agreement)


def test_exact_backend_evaluates_only_pixels_on_edges_directly(monkeypatch):
    # the pixels strictly inside a face read it; only those within rounding of an edge
    # go to the reference (none here but the ones on the dyadic network's lines)
    from fastrelu.kernels import plane_exact

    evaluated = []
    real = plane_exact.reference.sweep_deep
    monkeypatch.setattr(plane_exact, "reference", type("R", (), {"sweep_deep": staticmethod(
        lambda t, *a, **k: (evaluated.append(t.shape[0]), real(t, *a, **k)))}))
    plane_exact.clear_cache()
    net, kw = CASES["plane through three inputs"]
    fastrelu.sweep(net, backend="exact", **kw)
    assert sum(evaluated) == 0
    net = _dyadic_network()
    res = fastrelu.sweep(net, backend="exact", bounds=((-1, 1), (-1, 1)), num=(17, 17))
    # the pixels where some unit's pre-activation is exactly 0 (dyadic numbers: float64 is exact here)
    a = res.points
    on_line = np.zeros(a.shape[0], bool)
    for w, b in net.layers[:-1]:
        z = a @ w.T + b
        on_line |= (z == 0).any(axis=1)
        a = np.maximum(z, 0)
    assert 0 < sum(evaluated) <= on_line.sum()


def _well_inside(m, pts, face):
    """Pixels farther than 1e-9 of the rectangle's size from every side of their face but
    the rectangle's own (pixels on the rectangle's sides read their face too)."""
    (u0, u1), (v0, v1) = m.bounds
    band = 1e-9 * max(u1 - u0, v1 - v0)
    ok = np.ones(pts.shape[0], bool)
    for i in range(pts.shape[0]):
        poly = m.vertices[m.polygon(face[i])]
        a, b = poly, np.roll(poly, -1, axis=0)
        d = b - a
        q = pts[i] - a
        length = np.hypot(d[:, 0], d[:, 1])
        border = np.zeros(length.shape, bool)
        for axis, ends in ((0, (u0, u1)), (1, (v0, v1))):
            for end in ends:
                border |= (a[:, axis] == end) & (b[:, axis] == end)
        keep = (length > 0) & ~border
        dist = (d[keep, 0] * q[keep, 1] - d[keep, 1] * q[keep, 0]) / length[keep]
        ok[i] = dist.min() > band
    return ok


def test_exact_backend_on_a_boundary_along_the_rectangles_side():
    # a unit whose boundary is the rectangle's left side u = -1: on it the unit is off
    w1 = np.array([[1.0, 0.0], [0.5, 1.0]])
    b1 = np.array([1.0, 0.0])
    net = Network.from_layers([(w1, b1), (np.array([[1.0, -1.0]]), None)])
    kw = {"bounds": ((-1, 1), (-1, 1)), "num": (9, 9)}
    res = fastrelu.sweep(net, backend="exact", **kw)
    ref = fastrelu.sweep(net, backend="numpy", **kw)
    np.testing.assert_array_equal(res.negative_by_layer, ref.negative_by_layer)
    np.testing.assert_array_equal(res.slope, ref.slope)
    # at u = -1 the first unit is exactly 0, so off; the second, 0.5u + v, is on where v > 0.5
    np.testing.assert_array_equal(res.negative_by_layer[:, 0, 0], 1 + (res.v <= 0.5))
    np.testing.assert_array_equal(res.slope[:, 0, 0], -0.5 * (res.v > 0.5))


# ---------------------------------------------------------------------------------------
# PyTorch


def _torch_model(dtype):
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 20), nn.ReLU(), nn.Linear(20, 20), nn.LeakyReLU(0.1), nn.Linear(20, 3))
    return model.double() if dtype == "float64" else model


def _gamma(n, u):
    return n * u / (1.0 - n * u)


K = 4  # roundings beyond the fan-in per affine step: torch's x, fastrelu's folding and storing


def _torch_truth(model, x, d):
    """torch's output at the inputs ``x`` (N, in) and its jvp along each direction ``d[c]``, and
    the hooked pre-activations of each hidden layer."""
    pre = []
    hooks = [m.register_forward_hook(lambda m, i, o: pre.append(i[0].detach().double().numpy()))
             for m in model if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    dtype = next(model.parameters()).dtype
    xt = torch.tensor(x, dtype=dtype)
    with torch.no_grad():
        y = model(xt).double().numpy()
    for h in hooks:
        h.remove()
    tangents = []
    for c in range(2):
        dt = torch.tensor(np.broadcast_to(d[c], x.shape).copy(), dtype=dtype)
        _, jv = torch.func.jvp(model, (xt,), (dt,))
        tangents.append(jv.detach().double().numpy())
    return y, np.stack(tangents, axis=2), pre


def _bounds(layers, alphas, pts, origin, d, u):
    """One computation's error bounds at every pixel: per hidden layer the pre-activations',
    then the output's value (N, out) and tangents (N, out, 2); magnitudes from the float64
    computation at the exact point."""
    x = origin + pts @ d
    mag = np.abs(origin) + np.abs(pts) @ np.abs(d)
    a, amag, e = x, mag, np.zeros_like(x)
    tmag = [np.broadcast_to(np.abs(d[c]), x.shape) for c in range(2)]
    te = [np.zeros_like(x), np.zeros_like(x)]
    pre = []
    for k, (w, b) in enumerate(layers):
        aw = np.abs(w)
        g = _gamma(w.shape[1] + K, u)
        z = a @ w.T + b
        e = g * (amag @ aw.T + np.abs(b)) + e @ aw.T
        te = [g * (tmag[c] @ aw.T) + te[c] @ aw.T for c in range(2)]
        if k == len(layers) - 1:
            return pre, e, np.stack(te, axis=2)
        pre.append((z, e))
        lip = max(1.0, abs(alphas[k]))
        act = np.where(z > 0, z, alphas[k] * z)
        amag = np.abs(act) + lip * e
        e = lip * e + u * np.abs(act)
        tmag = [lip * (tmag[c] @ aw.T) for c in range(2)]
        te = [lip * te[c] + u * tmag[c] for c in range(2)]
        a = act


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_matches_torch_on_a_plane(backend, dtype):
    model = _torch_model(dtype)
    net = Network.from_torch(model)
    P = _points(6, 4)
    res = fastrelu.sweep(net, plane=P, num=(23, 19), backend=backend)
    assert res.dtype == np.dtype(dtype)
    pl = res.plane
    pts = res.points.astype(np.float64)
    x = pl.origin + pts @ pl.directions
    y_t, slope_t, pre_t = _torch_truth(model, x, pl.directions)
    u = float(np.finfo(dtype).eps) / 2
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in Network.from_torch(model).layers]
    pre, e_y, e_s = _bounds(layers, [0.0, 0.1], pts, pl.origin, pl.directions, u)
    n, out = pts.shape[0], net.out_features
    tol_y = 2 * e_y
    dy = np.abs(res.y.reshape(n, out).astype(np.float64) - y_t)
    assert (dy <= tol_y).all(), f"y: worst {float((dy / tol_y).max()):.3g}x the bound"
    exempt = np.zeros(n, bool)
    for k, ((z, e), z_t) in enumerate(zip(pre, pre_t)):
        tol = 2 * e
        unsure = np.count_nonzero(np.abs(z_t) <= tol, axis=1)
        count = np.count_nonzero(z_t <= 0, axis=1)
        diff = np.abs(res.negative_by_layer.reshape(n, -1)[:, k] - count)
        assert (diff <= unsure).all(), f"layer {k}: counts differ from torch's hooked pre-activations"
        exempt |= unsure > 0
    ds = np.abs(res.slope.reshape(n, out, 2).astype(np.float64) - slope_t)
    bad = (ds > 2 * e_s).any(axis=(1, 2)) & ~exempt
    assert not bad.any(), f"slope differs from torch's jvp at {int(bad.sum())} of {n} pixels"
    if dtype == "float64":
        assert exempt.mean() <= 0.01  # the slope check is not vacuous


# ---------------------------------------------------------------------------------------
# results and bad input


def test_a_planes_result_saves_and_loads(tmp_path):
    net, kw = CASES["plane through three inputs"]
    res = fastrelu.sweep(net, backend="numpy", **kw)
    path = tmp_path / "plane.npz"
    res.save(path)
    back = fastrelu.SweepResult.load(path)
    for name in ("y", "slope", "negative", "negative_by_layer", "u", "v"):
        np.testing.assert_array_equal(getattr(back, name), getattr(res, name))
        assert getattr(back, name).dtype == getattr(res, name).dtype
    for name in ("origin", "directions", "points"):
        np.testing.assert_array_equal(getattr(back.plane, name), getattr(res.plane, name))
    assert back.bounds == res.bounds and back.network.widths == res.network.widths and back.x is None
    np.testing.assert_array_equal(back.points, res.points)
    # and out="....npz" writes the same
    fastrelu.sweep(net, backend="numpy", out=tmp_path / "out.npz", **kw)
    np.testing.assert_array_equal(fastrelu.SweepResult.load(tmp_path / "out.npz").y, res.y)


def test_memory_is_counted_before_allocating(monkeypatch):
    from fastrelu.sweeps import sweep as sweep_module

    net, kw = CASES["plane through three inputs"]
    monkeypatch.setattr(sweep_module, "_available_memory", lambda: 10**6)
    with pytest.raises(ValueError, match="needs .* GiB"):
        fastrelu.sweep(net, plane=kw["plane"], num=(1000, 1000), backend="numpy")
    # a grid that fits runs
    fastrelu.sweep(net, plane=kw["plane"], num=(10, 10), backend="numpy")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num": 100}, ValueError, "num must be a pair"),
        ({"num": (10, 10, 10)}, ValueError, "num must be a pair"),
        ({"num": (10, 0)}, ValueError, "num's nv"),
        ({"num": (10, 10), "step": 0.1}, TypeError, "step or num"),
        ({"step": (0.1, 0.1, 0.1)}, ValueError, "step must be"),
        ({"along": ([0] * 5, [1] * 5)}, ValueError, "along"),
        ({"start": 0.0}, TypeError, "start"),
        ({"x": [0.0, 1.0]}, TypeError, "x goes with a line"),
        ({"bounds": ((1, 0), (0, 1))}, ValueError, "bounds"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    net, kw = CASES["plane through three inputs"]
    with pytest.raises(error, match=match):
        fastrelu.sweep(net, plane=kw["plane"], **kwargs)


def test_bad_planes_name_the_argument():
    net = Network.random([3, 8, 1], seed=0)
    with pytest.raises(ValueError, match="plane: x0, x1 and x2 are collinear"):
        fastrelu.sweep(net, plane=([0, 0, 0], [1, 1, 1], [2, 2, 2]))
    with pytest.raises(ValueError, match="plane's x1 must have 3 entries"):
        fastrelu.sweep(net, plane=([0, 0, 0], [1, 1], [2, 2, 2]))
    with pytest.raises(ValueError, match="plane: the network takes 1 input"):
        fastrelu.sweep(Network.random(8, seed=0), plane=([0], [1], [2]))
    with pytest.raises(ValueError, match="bounds alone sweeps the input plane of a network of two inputs"):
        fastrelu.sweep(net, bounds=((0, 1), (0, 1)))


def test_the_guide_s_lines_on_per_pixel_maps_run():
    import pathlib
    import re

    guide = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "guide" / "planes.md").read_text()
    section = guide.split("**Per-pixel maps.**", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    net = Network.random([5, 16, 16, 3], seed=0)
    x0, x1, x2 = _points(5, 0)
    scope = {"fastrelu": fastrelu, "net": net, "x0": x0, "x1": x1, "x2": x2}
    exec(compile(code, "README.md", "exec"), scope)
    res = scope["res"]
    assert res.y.shape == (384, 512, 3) and res.slope.shape == (384, 512, 3, 2) and res.negative.shape == (384, 512)
