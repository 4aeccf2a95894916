"""boundary_distance: the exact distance to the boundary of a point's linear region.

Checked against the exact line walk (``kinks(..., boundaries=True)``) along many
directions (no direction reaches a boundary sooner, and evenly spaced directions in the
plane come as close as their spacing allows), along the normal of the nearest unit (the
boundary is reached at exactly that distance, by that unit), and against torch's
Jacobians of the pre-activations."""

import numpy as np
import pytest
import torch

import fastrelu
from fastrelu.model.network import Network

EPS = 2.0**-53


def first_boundary(net, x, u, reach):
    """The first t > 0 where the line x + t*u (u a unit vector) meets an activation boundary."""
    t = fastrelu.kinks(net, along=(x, x + u), start=0.0, stop=reach, boundaries=True)
    t = t[t > 0]
    return t[0] if t.size else np.inf


def tolerance(net, x):
    """Rounding of d = |z| / ||g||: z and g are sums of at most (fan-in x depth) products,
    each of a size bounded by ``magnitudes``; twice that many roundings over ||g||, with
    the walk's own crossing as far off again."""
    from fastrelu.model.forward import magnitudes

    bound = max(float(np.max(m)) for m in magnitudes(net, float(np.max(np.abs(x))) + 1.0))
    return 4 * max(net.widths) * net.depth * EPS * bound


PLANE_NETS = {
    "relu": lambda: Network.random([2, 12, 12, 12, 3], seed=0),
    "hardtanh_leaky": lambda: Network.random([2, 10, 10, 1], seed=1, activation=["hardtanh", "leaky_relu"]),
}


@pytest.mark.parametrize("name", sorted(PLANE_NETS))
def test_against_directions_in_the_plane(name):
    net = PLANE_NETS[name]()
    rng = np.random.default_rng(2)
    X = rng.normal(size=(4, 2))
    res = fastrelu.boundary_distance(net, X)
    n_dir = 360
    angles = (np.arange(n_dir) + 0.5) * (2 * np.pi / n_dir)
    U = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    for i, x in enumerate(X):
        d = res.distance[i]
        assert 0 < d < np.inf
        reach = 4 * d
        along = np.array([first_boundary(net, x, u, reach) for u in U])
        tol = tolerance(net, x) / np.linalg.norm(net.layers[0][0], axis=1).min()
        # no direction reaches a boundary sooner ...
        assert along.min() >= d - tol, (i, along.min(), d)
        # ... and the nearest of evenly spaced directions is within their spacing: a
        # direction at most pi/n_dir off the normal meets that hyperplane at d / cos(pi/n_dir)
        # (it may meet another boundary first, which is only nearer)
        assert along.min() <= d / np.cos(np.pi / n_dir) + tol, (i, along.min(), d)


@pytest.mark.parametrize("widths,activation", [([5, 16, 16, 16, 4], "relu"), ([3, 8, 8, 1], "relu6"), ([4, 20, 2], "leaky_relu")])
def test_walk_along_the_normal_meets_that_unit(widths, activation):
    net = Network.random(widths, seed=3, activation=activation)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(8, widths[0]))
    res = fastrelu.boundary_distance(net, X)
    for i, x in enumerate(X):
        k, j, d = int(res.layer[i]), int(res.unit[i]), res.distance[i]
        # the unit's local map at x: its pre-activation and gradient (torch, independently)
        xt = torch.tensor(x, requires_grad=True)
        model = net.to_torch().double()
        h = xt
        seen = -1
        for m in model:
            h = m(h)
            if isinstance(m, torch.nn.Linear):
                seen += 1
                if seen == k:
                    break
        z = h[j]
        (g,) = torch.autograd.grad(z, xt)
        g = g.numpy()
        zj = z.item()
        breaks = [b for b in {0.0, *net.activations[k].kernel_form(1)[1:]} if np.isfinite(b)]
        b = min(breaks, key=lambda v: abs(zj - v))
        normal = -np.sign(zj - b) * g / np.linalg.norm(g)
        tol = tolerance(net, x) / np.linalg.norm(g)
        t = first_boundary(net, x, normal, 2 * d)
        assert abs(t - d) <= tol, (i, t, d)
        r = fastrelu.regions(net, along=(x, x + normal), start=0.0, stop=2 * d, boundaries=True)
        layers, units = r.switching(0)
        assert (k, j) in set(zip(layers.tolist(), units.tolist()))


def test_against_torch_jacobians():
    net = Network.random([6, 16, 16, 16, 3], seed=5)
    model = net.to_torch().double()
    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 6))
    res = fastrelu.boundary_distance(net, X)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)][:-1]

    def pre(x):  # every hidden pre-activation, concatenated
        outs, h = [], x
        for m in model:
            h = m(h)
            if isinstance(m, torch.nn.Linear) and len(outs) < len(linears):
                outs.append(h)
        return torch.cat(outs)

    for i, x in enumerate(X):
        xt = torch.from_numpy(x)
        z = pre(xt).detach().numpy()
        J = torch.func.jacfwd(pre)(xt).detach().numpy()
        d = np.abs(z) / np.linalg.norm(J, axis=1)
        j = int(np.argmin(d))
        tol = tolerance(net, x) / np.linalg.norm(J, axis=1).min()
        assert abs(res.distance[i] - d[j]) <= tol
        sizes = np.cumsum([0, *net.widths[1:-1]])
        if np.partition(d, 1)[1] - d[j] > 2 * tol:  # a clear winner: the same unit
            k = int(np.searchsorted(sizes, j, side="right") - 1)
            assert (res.layer[i], res.unit[i]) == (k, j - sizes[k])


def bias_free(widths, seed):
    net = Network.random(widths, seed=seed)
    return Network.from_layers([(w, np.zeros_like(b)) for w, b in net.layers], list(net.activations))


def test_on_a_boundary_and_bias_free_at_the_origin():
    net = bias_free([3, 8, 8, 2], seed=7)
    res = fastrelu.boundary_distance(net, np.zeros((2, 3)))
    np.testing.assert_array_equal(res.distance, [0.0, 0.0])
    np.testing.assert_array_equal(res.layer, [0, 0])
    np.testing.assert_array_equal(res.unit, [0, 0])
    # positively homogeneous: doubling a point doubles z and keeps the gradients, exactly
    x = np.random.default_rng(8).normal(size=(5, 3))
    np.testing.assert_array_equal(fastrelu.boundary_distance(net, 2 * x).distance, 2 * fastrelu.boundary_distance(net, x).distance)
    # a point exactly on a unit of the second layer (dyadic weights: z is exactly 0)
    w0 = np.array([[1.0, 0.0], [0.0, 1.0]])
    w1 = np.array([[1.0, -1.0], [0.5, 0.5]])
    net = Network.from_layers([(w0, [0.0, 0.0]), (w1, [0.0, -4.0]), ([[1.0, 1.0]], None)], "relu")
    res = fastrelu.boundary_distance(net, [[3.0, 3.0], [3.0, 2.0]])
    assert res.distance[0] == 0.0 and (res.layer[0], res.unit[0]) == (1, 0)
    # (3, 2): unit (0, 1) at 2, unit (1, 0) at |1| / sqrt(2), unit (1, 1) at |-1.5| / sqrt(0.5)
    assert res.distance[1] == 1.0 / np.sqrt(2.0) and (res.layer[1], res.unit[1]) == (1, 0)


def test_dead_layer():
    # the second layer is off everywhere near these points: the third has no live input,
    # so its units are constant on the region and bound nothing
    w0 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    net = Network.from_layers([(w0, [0.5, 0.25, 0.0]), (np.ones((2, 3)), [-100.0, -100.0]),
                               (np.ones((2, 2)), [1.0, -1.0]), ([[1.0, 1.0]], None)], "relu")
    x = np.array([[1.0, 2.0], [-0.25, 3.0]])
    res = fastrelu.boundary_distance(net, x)
    # brute force: the second layer's units are at (100 - sum) / ||grad||, the first layer's at |z| / ||w||
    assert set(res.layer.tolist()) <= {0, 1}
    np.testing.assert_allclose(res.distance, [min(1.5, 2.25, 3.0 / np.sqrt(2)), 0.25], rtol=4 * EPS)
    assert res.unit[1] == 0 and res.layer[1] == 0
    # a whole region where every unit is constant: no boundary at all
    flat = Network.from_layers([(np.zeros((2, 2)), [1.0, -1.0]), ([[1.0, 1.0]], None)], "relu")
    r = fastrelu.boundary_distance(flat, [[0.0, 0.0]])
    assert r.distance[0] == np.inf and r.layer[0] == -1 and r.unit[0] == -1


def test_batches_and_huge_points_agree():
    from fastrelu.analysis.distance import local_maps

    net = Network.random([7, 24, 24, 3], seed=9)
    X = np.random.default_rng(10).normal(size=(50, 7)) * np.logspace(-3, 12, 50)[:, None]
    whole = fastrelu.boundary_distance(net, X)
    one = fastrelu.boundary_distance(net, X, batch=1)
    assert np.isfinite(whole.distance).all()
    # BLAS sums a product of one row (a vector product) in another order than one of many:
    # the two agree within the rounding of z, over the nearest unit's gradient, and of ||g||
    norms = [np.sqrt(np.einsum("hni,hni->hn", J, J)) for _, J in local_maps(net, X)]
    for i, x in enumerate(X):
        g = norms[whole.layer[i]][whole.unit[i], min(i, norms[whole.layer[i]].shape[1] - 1)]
        bound = 2 * tolerance(net, x) / g + 4 * max(net.widths) * EPS * whole.distance[i]
        assert abs(one.distance[i] - whole.distance[i]) <= bound, i
    single = fastrelu.boundary_distance(net, X[3])
    assert single.distance.shape == (1,) and single.distance[0] == one.distance[3]


def test_bad_input():
    net = Network.random([3, 8, 1], seed=0)
    with pytest.raises(ValueError, match="X must have 3 columns"):
        fastrelu.boundary_distance(net, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="X must be finite"):
        fastrelu.boundary_distance(net, [[0.0, np.nan, 1.0]])
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        fastrelu.boundary_distance(net, np.zeros((2, 3)), batch=0)
    with pytest.raises(TypeError, match="net must be a fastrelu.Network"):
        fastrelu.boundary_distance(None, np.zeros((2, 3)))
    with pytest.raises(TypeError, match="X must hold real numbers"):
        fastrelu.boundary_distance(net, [["a", "b", "c"]])
