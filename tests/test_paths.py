"""Paths in regions and kinks: one walk over a path's segments, joined at the vertices
(analysis/paths.py), positions in arc length."""

import numpy as np
import pytest

import fastrelu
from fastrelu.model.network import Network

NETWORKS = {
    "relu": lambda: Network.random([3, 16, 16, 2], seed=0),
    "mixed": lambda: Network.random([3, 12, 12, 12, 1], seed=1, activation=["leaky_relu", "hardtanh", "relu6"]),
    "float32": lambda: Network.random([3, 16, 16, 3], seed=3, dtype="float32"),
}


def points(k, seed, n_in=3):
    return np.random.default_rng(seed).normal(size=(k, n_in))


def rounding(at, size):
    """Bound of at + t*size against the exact value: two roundings of numbers up to at + size."""
    return 2 * 2.0**-53 * (at + size)


def check_segments(net, P, closed, boundaries):
    r = fastrelu.regions(net, path=P, closed=closed, boundaries=boundaries)
    ends = np.concatenate((P, P[:1])) if closed else P
    size = np.linalg.norm(np.diff(ends, axis=0), axis=1)
    at = np.concatenate(([0.0], np.cumsum(size)))
    i0, n_bound, n_kinks, merged = 0, 0, 0, 0
    for s in range(ends.shape[0] - 1):
        alone = fastrelu.regions(net, along=(ends[s], ends[s + 1]), start=0, stop=1, boundaries=boundaries)
        n = len(alone)
        part = slice(i0, i0 + n)
        np.testing.assert_array_equal(r.negative[part], alone.negative, err_msg=f"segment {s}")
        np.testing.assert_array_equal(r.negative_by_layer[part], alone.negative_by_layer)
        bound = rounding(at[s], size[s])
        np.testing.assert_allclose(r.lo[part], at[s] + alone.lo * size[s], rtol=0, atol=bound)
        np.testing.assert_allclose(r.hi[part], at[s] + alone.hi * size[s], rtol=0, atol=bound)
        assert r.lo[i0] == at[s] and r.hi[i0 + n - 1] == at[s + 1]  # every vertex ends a piece
        # the slope per unit of arc length: one division
        np.testing.assert_allclose(r.slope[part], alone.slope / size[s], rtol=2.0**-52, atol=0)
        for i in range(n - 1):
            for a, b in zip(r.switching(i0 + i), alone.switching(i)):
                np.testing.assert_array_equal(a, b)
        n_bound, n_kinks, merged = n_bound + alone.n_boundaries, n_kinks + alone.n_kinks, merged + alone.merged
        i0 += n
    assert len(r) == i0
    assert np.all(r.hi[:-1] == r.lo[1:]) and np.all(r.lo <= r.hi)
    assert r.n_kinks == n_kinks
    return r, n_bound, merged


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("closed", [False, True])
@pytest.mark.parametrize("boundaries", [False, True])
def test_each_segment_is_regions_along_it(name, closed, boundaries):
    net = NETWORKS[name]()
    P = points(5, seed=2)
    r, n_bound, merged = check_segments(net, P, closed, boundaries)
    stats = fastrelu.line_stats(net, path=P, closed=closed, progress=False)
    # the vertices' pattern changes: as line_stats counts them
    assert r.n_boundaries == stats.boundaries[0] and r.merged == stats.merged[0]
    assert r.n_boundaries >= n_bound
    if not boundaries:
        assert len(r) == stats.pieces[0]
    k = fastrelu.kinks(net, path=P, closed=closed)
    b = fastrelu.kinks(net, path=P, closed=closed, boundaries=True)
    if closed:  # the first point is one vertex, at the path's length
        assert k.shape[0] == r.n_kinks and b.shape[0] == r.n_boundaries
    else:  # and the ends of an open path, as on a line
        ends = lambda a: int(a.size > 0 and a[0] == 0.0) + int(a.size > 0 and a[-1] == r.hi[-1])
        assert k.shape[0] == r.n_kinks + ends(k) and b.shape[0] == r.n_boundaries + ends(b)
    assert np.all(np.diff(b) > 0) and np.all(np.isin(k, b))


def test_vertex_on_a_boundary_is_one_boundary():
    """A vertex where a unit switches: one boundary, listed by switching(), no kink."""
    w1 = np.array([[1.0, 0.0], [0.0, 1.0]])
    net = Network.from_layers([(w1, np.zeros(2)), (np.array([[1.0, 2.0]]), np.zeros(1))])
    P = np.array([[-1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])  # straight through x = 0 (unit 0 switches), a vertex there
    r = fastrelu.regions(net, path=P, boundaries=True)
    line = fastrelu.regions(net, along=(P[0], P[2]), start=0, stop=1, boundaries=True)
    assert r.n_boundaries == line.n_boundaries == 1
    bent = np.array([[-1.0, 1.0], [0.0, 1.0], [0.0, 2.0]])  # turns at x = 0: unit 0 is off after the turn
    r = fastrelu.regions(net, path=bent)
    assert r.n_boundaries == 0 and r.n_kinks == 0 and len(r) == 2
    bent = np.array([[-1.0, 1.0], [0.0, 1.0], [1.0, 2.0]])  # turns at x = 0 and goes on to x > 0
    r = fastrelu.regions(net, path=bent)
    assert (r.n_boundaries, r.n_kinks, len(r)) == (1, 0, 2)
    assert [a.tolist() for a in r.switching(0)] == [[0], [0]]
    np.testing.assert_array_equal(fastrelu.kinks(net, path=bent), [])
    np.testing.assert_array_equal(fastrelu.kinks(net, path=bent, boundaries=True), [1.0])


def test_one_segment_is_the_line():
    net = NETWORKS["relu"]()
    P = points(2, seed=4)
    r = fastrelu.regions(net, path=P)
    line = fastrelu.regions(net, along=(P[0], P[1]), start=0, stop=1)
    size = np.linalg.norm(P[1] - P[0])
    assert len(r) == len(line) and r.n_boundaries == line.n_boundaries
    np.testing.assert_allclose(r.lo, line.lo * size, rtol=0, atol=rounding(0.0, size))
    np.testing.assert_allclose(fastrelu.kinks(net, path=P), fastrelu.kinks(net, along=(P[0], P[1]), start=0, stop=1) * size,
                               rtol=0, atol=rounding(0.0, size))


def test_bad_path_names_path():
    net = NETWORKS["relu"]()
    bad = {
        "at least two points": points(1, seed=0),
        "zero length": np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        "3 entries": points(3, seed=0, n_in=2),
        "must be finite": np.array([[0.0, 0.0, 0.0], [np.nan, 1.0, 0.0]]),
    }
    for what, P in bad.items():
        for f in (fastrelu.regions, fastrelu.kinks):
            with pytest.raises(ValueError, match="path") as e:
                f(net, path=P)
            assert what in str(e.value)
    with pytest.raises(TypeError, match="start, stop and along"):
        fastrelu.regions(net, 0, 1, path=points(3, seed=0))
    with pytest.raises(ValueError, match="one path"):
        fastrelu.regions(net, path=np.stack([points(3, seed=0)] * 2))


@pytest.mark.parametrize("closed", [False, True])
def test_sweep_of_a_path(closed):
    """sweep(path=): t is arc length, each point swept on its segment as along= sweeps it,
    slope per unit of arc length; the figure marks the vertices."""
    import matplotlib
    matplotlib.use("Agg")
    net = NETWORKS["relu"]()
    P = points(4, seed=5)
    ends = np.concatenate((P, P[:1])) if closed else P
    size = np.linalg.norm(np.diff(ends, axis=0), axis=1)
    at = np.concatenate(([0.0], np.cumsum(size)))
    res = fastrelu.sweep(net, path=P, closed=closed, num=501, backend="numpy")
    assert res.x[0] == 0.0 and res.x[-1] == at[-1] and len(res) == 501
    np.testing.assert_array_equal(res.vertices, at[1:] if closed else at[1:-1])
    seen = 0
    for s in range(len(size)):
        on = (res.x >= at[s]) & ((res.x < at[s + 1]) | (s == len(size) - 1))
        t = np.clip((res.x[on] - at[s]) / size[s], 0.0, 1.0)
        alone = fastrelu.sweep(net, x=t, along=(ends[s], ends[s + 1]), backend="numpy")
        np.testing.assert_array_equal(res.y[on], alone.y)
        np.testing.assert_array_equal(res.negative_by_layer[on], alone.negative_by_layer)
        np.testing.assert_array_equal(res.slope[on], alone.slope / size[s])
        seen += int(on.sum())
    assert seen == len(res)
    # the pieces of regions(path=) agree with the grid strictly inside them
    r = fastrelu.regions(net, path=P, closed=closed)
    i = np.searchsorted(r.hi, res.x, side="right").clip(0, len(r) - 1)
    inside = (res.x > r.lo[i]) & (res.x < r.hi[i])
    # two float64 evaluations of one affine map in other orders: a rounding per term of each
    # layer's sums (at most sum(widths) of them) of magnitude up to the largest slope, and the division
    bound = (sum(net.widths) + 2) * 2.0**-53 * np.abs(r.slope).max()
    np.testing.assert_allclose(res.slope[inside], r.slope[i[inside]], rtol=0, atol=bound)
    fig = res.plot()
    dashed = [ln for ln in fig.axes[0].lines if ln.get_linestyle() == "--" and ln.get_color() == "0.45"]
    assert sorted(float(ln.get_xdata()[0]) for ln in dashed) == sorted(res.vertices.tolist())


def test_sweep_bad_path():
    net = NETWORKS["relu"]()
    with pytest.raises(ValueError, match="path needs at least two points"):
        fastrelu.sweep(net, path=points(1, seed=0))
    with pytest.raises(ValueError, match="path: segment 0 of path 0 has zero length"):
        fastrelu.sweep(net, path=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="path must be finite"):
        fastrelu.sweep(net, path=np.array([[0.0, 0.0, 0.0], [np.nan, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="path's points must have 3 entries"):
        fastrelu.sweep(net, path=points(3, seed=0, n_in=4))
    with pytest.raises(TypeError, match="along does not go with path"):
        fastrelu.sweep(net, path=points(3, seed=0), along=(np.zeros(3), np.ones(3)))


def test_sweep_of_a_path_too_large_is_refused_before_allocating(monkeypatch):
    from fastrelu.sweeps import sweep as sweep_module
    monkeypatch.setattr(sweep_module, "_available_memory", lambda: 10_000)
    with pytest.raises(ValueError, match="memory is available"):
        fastrelu.sweep(NETWORKS["relu"](), path=points(3, seed=0), num=10**6)


def test_patterns_and_gradients_of_a_path():
    """A path's pieces carry the patterns and input-space gradients of the segment's pieces."""
    net = NETWORKS["mixed"]()
    P = points(4, seed=6)
    r = fastrelu.regions(net, path=P, boundaries=True)
    i0 = 0
    for s in range(3):
        alone = fastrelu.regions(net, along=(P[s], P[s + 1]), start=0, stop=1, boundaries=True)
        for i in range(len(alone)):
            for a, b in zip(r.pattern(i0 + i), alone.pattern(i)):
                np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(r.gradient[i0 : i0 + len(alone)], alone.gradient)
        i0 += len(alone)
    assert len(r.pattern_hash) == len(r)


@pytest.mark.parametrize("closed", [False, True])
@pytest.mark.parametrize("out", ["p.npz", "p.zarr"])
def test_a_path_s_sweep_saved_keeps_its_path_and_its_figure_draws_the_path_s_exact_kinks(tmp_path, closed, out):
    import matplotlib
    matplotlib.use("Agg")
    net = NETWORKS["relu"]()
    P = points(4, seed=5)
    res = fastrelu.sweep(net, path=P, closed=closed, num=801, backend="numpy", out=tmp_path / out)
    back = fastrelu.open_result(tmp_path / out) if out.endswith(".zarr") else fastrelu.SweepResult.load(tmp_path / out)
    if out.endswith(".zarr"):
        assert (tmp_path / out).is_dir()  # a store, not an .npz file under the store's name
    np.testing.assert_array_equal(back.vertices, res.vertices)
    np.testing.assert_array_equal(back.swept_path.points, P)
    assert back.swept_path.closed == closed and back.swept_path.network == net
    np.testing.assert_array_equal(np.asarray(back.y[:]), res.y)
    # the exact kinks drawn are the path's own, kinks(path=...), inside the swept arc length
    at = fastrelu.kinks(net, path=P, closed=closed)
    assert at.size > 0
    for r in (res, back):
        fig = r.plot(reduce=False)
        assert fig.axes[2].get_xlabel() == "t, arc length along the path" and fig.axes[1].get_ylabel() == "slope  dy/dt"
        drawn = [c for c in fig.axes[0].collections if c.get_gid() == "kinks"]
        xs = np.sort(np.concatenate([[seg[0][0] for seg in c.get_segments()] for c in drawn]))
        # at most one marker per pixel column: every kink is within a column of a drawn one
        width = (r.x[-1] - r.x[0]) / fig.axes[0].bbox.width
        assert xs.size >= 1 and np.abs(at[:, None] - xs[None, :]).min(axis=1).max() <= width
