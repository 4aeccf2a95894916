"""Exact zeros (issue: "exact means exact"): a pre-activation that is exactly zero on an
interval (a unit whose live inputs are none and whose bias is 0) must come out exactly
zero from every backend and from the analysis, and the agreement rule must check it,
never excuse it as "within rounding of a kink".

Truths: the numpy reference and PyTorch compute such a sum as exactly 0 (every term is
0), and ``fractions.Fraction`` evaluates the network exactly.  The property tests use
random bias-free and sparse deep networks along random lines, where exact zeros are the
common case, not the exception.
"""

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastrelu
from fastrelu.kernels.agreement import compare


def _issue_net(second):
    return fastrelu.Network.from_layers([([[-1.0], [-1.0], [-1.0]], [-1.0, -2.0, -3.0]),
                                         ([second], [0.0]), ([[1.0]], [0.0])])


def test_dead_inputs_give_an_exact_zero_in_regions():
    r = fastrelu.regions(_issue_net([0.1, 0.1, 0.3]), -5, 5)
    # on (-1, 5) every input of the second layer's unit is off: z = 0, negative
    assert r.lo.tolist() == [-5.0, -3.0, -2.0, -1.0]
    assert r.negative_by_layer[-1].tolist() == [3, 1]
    assert r.slope[-1] == 0.0 and r.intercept[-1] == 0.0
    layer, unit = r.switching(2)
    assert sorted(zip(layer.tolist(), unit.tolist())) == [(0, 0), (1, 0)]


def test_dead_inputs_give_no_phantom_kink():
    net = _issue_net([0.7, 0.7, 0.1])
    assert fastrelu.kinks(net, -5, 100).tolist() == [-3.0, -2.0, -1.0]
    r = fastrelu.regions(net, -5, 100)
    assert len(r) == 4 and r.slope[-1] == 0.0 and r.intercept[-1] == 0.0
    assert fastrelu.kinks(net, -5, 100, boundaries=True).tolist() == [-3.0, -2.0, -1.0]


@pytest.mark.parametrize("backend", ["auto", "exact", "cffi", "numba", "numpy"])
def test_dead_inputs_counted_negative_by_every_backend(backend):
    net = _issue_net([0.1, 0.1, 0.3])
    res = fastrelu.sweep(net, start=-5, stop=5, num=11, backend=backend)
    assert res.negative_by_layer[5:].tolist() == [[3, 1]] * 6
    assert np.all(res.slope[5:] == 0.0) and np.all(res.y[5:] == 0.0)


def test_agreement_rule_checks_exact_zeros():
    """A backend that counts a structurally zero unit as positive disagrees."""
    net = _issue_net([0.1, 0.1, 0.3])
    ref = fastrelu.sweep(net, start=-5, stop=5, num=11, backend="numpy")
    assert compare(ref, ref).ok
    by_layer = ref.negative_by_layer.copy()
    by_layer[5:, 1] = 0  # z = 0 exactly there, counted as on
    bad = fastrelu.SweepResult(ref.x, ref.y, ref.slope, by_layer.sum(axis=1, dtype=np.int32),
                               network=ref.network, backend="numpy", negative_by_layer=by_layer)
    agreement = compare(bad, ref)
    assert not agreement.ok and agreement.negative_errors == 6


# ---------------------------------------------------------------------------------
# random bias-free and sparse networks


def _random_net(seed, sparse):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(2, 5))
    widths = [int(rng.integers(2, 5))] + [int(x) for x in rng.integers(3, 9, depth)] + [int(rng.integers(1, 3))]
    layers = []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        w = rng.standard_normal((b, a))
        if sparse:
            w *= rng.random((b, a)) < 0.4
        bias = np.zeros(b) if (not sparse or k > 0) else rng.standard_normal(b)
        layers.append((w, bias))
    x0, x1 = rng.standard_normal((2, widths[0]))
    return fastrelu.Network.from_layers(layers), (x0, x1)


def _exact_z(net, t):
    """Every hidden pre-activation of the folded network at the rational ``t``, in Fractions."""
    a = [F(t)]
    zs = []
    for k, ((w, b), act) in enumerate(zip(net.layers, net.activations + (None,))):
        z = [sum((F(float(wi)) * ai for wi, ai in zip(row, a)), F(0)) + F(float(bi)) for row, bi in zip(w, b)]
        if act is None:
            return zs, z
        zs.append(z)
        a = [zj if zj > 0 else F(0) for zj in z]


def _settled(zs, tol):
    """Whether every exact pre-activation is exactly 0 or clearly away from it."""
    return all(z == 0 or abs(z) > tol for layer in zs for z in layer)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), sparse=st.booleans())
def test_counts_equal_the_reference_on_bias_free_and_sparse_networks(seed, sparse):
    net, line = _random_net(seed, sparse)
    grid = dict(along=line, start=-3.0, stop=3.0, num=301)
    ref = fastrelu.sweep(net, backend="numpy", **grid)
    zs_ref = []  # the reference's own pre-activations, to find its exact zeros
    folded = ref.network
    t = ref.x[:, None]
    a = t
    for (w, b), _ in zip(folded.layers[:-1], folded.activations):
        z = a @ w.T + b
        zs_ref.append(z)
        a = np.maximum(z, 0.0)
    # clearly away from zero: beyond a generous rounding bound of the forward pass
    scale = max(1.0, float(np.max(np.abs(ref.x))))
    clear = np.ones(len(ref), bool)
    for z in zs_ref:
        bound = 1e-12 * scale * max(1.0, float(np.max(np.abs(z))))
        clear &= np.all((z == 0.0) | (np.abs(z) > bound), axis=1)
    assert clear.sum() > len(ref) // 2
    for backend in ("exact", "cffi", "numba", "numpy"):
        res = fastrelu.sweep(net, backend=backend, **grid)
        np.testing.assert_array_equal(res.negative_by_layer[clear], ref.negative_by_layer[clear], err_msg=backend)
        agreement = compare(res, ref)
        assert agreement.ok, (backend, str(agreement))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), sparse=st.booleans())
def test_regions_against_fractions_on_bias_free_and_sparse_networks(seed, sparse):
    net, line = _random_net(seed, sparse)
    folded = net.along(*line)
    r = fastrelu.regions(net, along=line, start=-3, stop=3, boundaries=True)
    scale = 1e-9 * max(1.0, float(np.max(np.abs(np.concatenate([w.ravel() for w, _ in folded.layers])))) ** 4)
    for i in range(len(r)):
        width = r.hi[i] - r.lo[i]
        if width < 1e-6:
            continue  # too short for a midpoint clear of rounding
        mid = F(float(r.lo[i])) / 2 + F(float(r.hi[i])) / 2
        zs, out = _exact_z(folded, mid)
        if not _settled(zs, scale * 1e-3):
            continue
        # every exact zero and every sign agrees: the count per layer is exact
        assert r.negative_by_layer[i].tolist() == [sum(z <= 0 for z in layer) for layer in zs]
        # an exactly constant output (all paths dead) has an exactly zero slope
        if all(z == 0 for z in out):
            assert np.all(np.asarray(r.slope[i]) == 0.0)
    # every kink changes the exact slope: a kink between two exactly flat pieces is a phantom
    kinks = fastrelu.kinks(net, along=line, start=-3, stop=3)
    pieces = fastrelu.regions(net, along=line, start=-3, stop=3)
    assert len(pieces) == len(kinks) + 1 - int(np.sum((kinks == -3) | (kinks == 3)))
    for i in range(len(pieces) - 1):
        left, right = np.atleast_1d(pieces.slope[i]), np.atleast_1d(pieces.slope[i + 1])
        assert not (np.all(left == 0.0) and np.all(right == 0.0))
        # the units switching there are boundaries in the fine walk too
        layer, unit = pieces.switching(i)
        assert layer.size >= 1


# ---------------------------------------------------------------------------------
# sums beyond float64's range in the analysis: scaled walks, or a clear error


def _exact_product(*xs):
    p = F(1)
    for x in xs:
        p *= F(x)
    return p


def test_regions_of_a_network_whose_sums_overflow_but_output_does_not():
    deep = fastrelu.Network.from_layers([([[1e200], [-1e200]], [0.0, 0.0]), ([[1e200, 1e200]], [0.0]),
                                         ([[1e-300]], [0.0])])
    r = fastrelu.regions(deep, -1, 1)
    assert r.lo.tolist() == [-1.0, 0.0] and np.all(np.isfinite(r.slope))
    want = float(_exact_product(1e200, 1e200, 1e-300))  # ~1e100, representable
    # two roundings of the product (the scaled walk multiplies in two steps)
    assert abs(r.slope[1] - want) <= 2 * np.spacing(want) and abs(r.slope[0] + want) <= 2 * np.spacing(want)
    assert np.all(r.intercept == 0.0)
    assert fastrelu.kinks(deep, -1, 1).tolist() == [0.0]


def test_scaling_by_powers_of_two_changes_no_bit():
    """A network whose layers are scaled by 2**700 and back walks to the same bits."""
    net = fastrelu.Network.random([1, 12, 12, 2], seed=5)
    (w0, b0), (w1, b1), (w2, b2) = net.layers
    big = fastrelu.Network.from_layers([(np.ldexp(w0, 700), np.ldexp(b0, 700)), (w1, np.ldexp(b1, 700)),
                                        (np.ldexp(w2, -700), b2)])
    a, b = fastrelu.regions(net, -3, 3, boundaries=True), fastrelu.regions(big, -3, 3, boundaries=True)
    assert a.lo.tolist() == b.lo.tolist()
    np.testing.assert_array_equal(a.slope, b.slope)
    np.testing.assert_array_equal(a.intercept, b.intercept)
    np.testing.assert_array_equal(a.negative_by_layer, b.negative_by_layer)


def test_output_beyond_float64_is_a_clear_error():
    net = fastrelu.Network([1e300, 1.0], [0.0, -1.0], [1e10, 1.0])  # slope 1e310 for x > 0
    with pytest.raises(ValueError, match="slope on some linear piece is beyond float64's range"):
        fastrelu.regions(net, -2, 2)
    deep = fastrelu.Network.from_layers([([[1e200]], [0.0]), ([[1e200]], [0.0]), ([[1.0]], [0.0])])
    with pytest.raises(ValueError, match="beyond float64's range"):
        fastrelu.regions(deep, -1, 1)


def test_a_clamp_lost_beside_huge_pre_activations_is_a_clear_error():
    from fastrelu.model import Activation

    # relu6 beside 1e300: 6 / 2**997 is still a normal number, carried exactly
    ok = fastrelu.Network.from_layers([([[1e300]], [0.0]), ([[1e300], [1.0]], [0.0, 0.0]), ([[1e-300, 1.0]], [0.0])],
                                      activations=["relu6", "relu"])
    r = fastrelu.regions(ok, -1, 1, boundaries=True)
    assert r.lo.tolist() == [-1.0, 0.0, float(F(6) / F(1e300))]
    # saturated: no input of the second layer moves, so its slopes are exactly 0
    assert r.slope[0] == 0.0 and r.slope[-1] == 0.0 and r.intercept[-1] == float(F(6) * F(1e300) * F(1e-300)) + 6.0
    # a clamp of 1e-10 beside 1e300 would be a subnormal: refused, not rounded
    tiny = Activation("hardtanh", min_val=-1e-10, max_val=1e-10)
    deep = fastrelu.Network.from_layers([([[1e300]], [0.0]), ([[1e300]], [0.0]), ([[1e-300]], [0.0])],
                                        activations=[tiny, "relu"])
    with pytest.raises(ValueError, match="hidden layer 0's clamp -1e-10 is too small"):
        fastrelu.regions(deep, -1, 1)


# ---------------------------------------------------------------------------------
# memory: counted before the walk allocates


def test_a_walk_that_would_not_fit_is_refused_with_the_figure(monkeypatch):
    from fastrelu.utils import memory as _memory
    from fastrelu.kernels import scratch  # the walk's memory guard reads available_memory there

    net = fastrelu.Network.random([1, 256, 256, 256, 1], seed=0)
    full = fastrelu.regions(net, -50, 50)  # fits
    scratch._scratch.kept = None  # nothing held over from that walk
    monkeypatch.setattr(_memory, "CGROUP_FILES", ())
    monkeypatch.setattr(scratch, "available_memory", lambda: 1 << 20)  # 1 MiB
    with pytest.raises(ValueError, match=r"exact walk over \[-50, 50\] needs .* GiB at hidden layer \d"):
        fastrelu.regions(net, -50, 50)
    with pytest.raises(ValueError, match="per-point backend"):
        fastrelu.sweep(net, start=-50, stop=50, num=20001, backend="exact")
    monkeypatch.setattr(scratch, "available_memory", lambda: None)  # cannot be read: not refused
    assert len(fastrelu.regions(net, -50, 50)) == len(full)


@pytest.mark.parametrize("deep", [False, True])
def test_regions_of_one_point_on_a_kink_counts_that_point(deep):
    layers = [([[1.0], [2.0]], [-1.0, -2.0]), ([[1.0, 1.0]], [0.0])]
    if deep:
        layers = [layers[0], ([[1.0, 0.5], [0.5, 1.0]], [0.0, -0.5]), ([[1.0, -1.0]], [0.0])]
    net = fastrelu.Network.from_layers(layers)
    for x in (1.0, 0.25):  # on the kink of both first-layer units, and off it
        r = fastrelu.regions(net, x, x)
        point = fastrelu.sweep(net, x=[x], backend="numpy")
        assert len(r) == 1 and r.lo[0] == r.hi[0] == x
        assert r.negative.tolist() == point.negative.tolist()
        assert r.negative_by_layer.tolist() == point.negative_by_layer.tolist()
