"""kinks(), regions() and the exact backend.

The independent check is rational arithmetic: on networks with small dyadic weights
every switch point -b1/w1 is a float64, so the true kinks, pieces and outputs are
known exactly and compared with ``==``.
"""

import os
from fractions import Fraction

import numpy as np
import pytest
from conftest import assert_agrees
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastrelu
from fastrelu.kernels.agreement import compare

# -- the rational oracle ---------------------------------------------------------------

ALPHA = {"relu": Fraction(0), "linear": Fraction(1)}


def _units(net):
    return [(Fraction(a), Fraction(b), Fraction(c)) for a, b, c in zip(net.w1.tolist(), net.b1.tolist(), net.w2.tolist())]


def exact_point(net, x):
    """(y, slope, negative) at x, exactly, with the project's convention (on iff z > 0)."""
    alpha, x = ALPHA[net.activation], Fraction(x)
    y, slope, off = Fraction(net.b2), Fraction(0), 0
    for w1, b1, w2 in _units(net):
        z = w1 * x + b1
        k = Fraction(1) if z > 0 else alpha
        off += z <= 0
        y += k * w2 * z
        slope += k * w2 * w1
    return y, slope, off


def exact_switches(net):
    """{switch point: slope change there} over every unit with w1 != 0."""
    gain = 1 - ALPHA[net.activation]
    out = {}
    for w1, b1, w2 in _units(net):
        if w1 != 0:
            t = -b1 / w1
            out[t] = out.get(t, Fraction(0)) + gain * abs(w1) * w2
    return out


def exact_kinks(net, start=-np.inf, stop=np.inf):
    return sorted(float(t) for t, d in exact_switches(net).items() if d != 0 and start <= t <= stop)


DYADIC = [-4.0, -2.0, -1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0, 3.0]
POW2 = [-4.0, -2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0]  # w1: then -b1/w1 is dyadic too


def dyadic_nets(max_hidden=8, activation=st.sampled_from(["relu", "linear"])):
    """Small networks whose weights are dyadic, so every switch point is a float64."""

    @st.composite
    def build(draw):
        h = draw(st.integers(1, max_hidden))
        pick = st.lists(st.sampled_from(DYADIC), min_size=h, max_size=h)
        w1 = st.lists(st.sampled_from(POW2), min_size=h, max_size=h)
        return fastrelu.Network(draw(w1), draw(pick), draw(pick), b2=draw(st.sampled_from(DYADIC)), activation=draw(activation))

    return build()


# FASTRELU_HYPOTHESIS_EXAMPLES=3000 for a longer hunt
SETTINGS = settings(max_examples=int(os.environ.get("FASTRELU_HYPOTHESIS_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The whole line, asked for explicitly: start and stop default to the sweep's range.
WHOLE = (-np.inf, np.inf)

# -- kinks --------------------------------------------------------------------------------


def test_kinks_of_a_known_network():
    # unit 0 at 0; units 1 and 2 both at 1 with cancelling slope changes; unit 3 has w1 == 0
    net = fastrelu.Network([1.0, -1.0, 2.0, 0.0], [0.0, 1.0, -2.0, 5.0], [1.0, 1.0, -0.5, 3.0])
    np.testing.assert_array_equal(fastrelu.kinks(net, *WHOLE), [0.0])
    np.testing.assert_array_equal(fastrelu.kinks(net, *WHOLE, boundaries=True), [0.0, 1.0])


@SETTINGS
@given(net=dyadic_nets(), lo=st.sampled_from([None, -3.0, -1.0, 0.0]), hi=st.sampled_from([None, 0.0, 0.5, 4.0]))
def test_kinks_match_rational_arithmetic(net, lo, hi):
    if lo is not None and hi is not None and hi < lo:
        lo, hi = hi, lo
    start = -np.inf if lo is None else lo
    stop = np.inf if hi is None else hi
    assert fastrelu.kinks(net, start, stop).tolist() == exact_kinks(net, start, stop)
    boundaries = sorted(float(t) for t in exact_switches(net) if start <= t <= stop)
    assert fastrelu.kinks(net, start, stop, boundaries=True).tolist() == boundaries


def test_duplicate_switch_points_make_one_kink_with_the_summed_change():
    net = fastrelu.Network([1.0, 2.0, 0.5], [-1.0, -2.0, -0.5], [1.0, 1.0, 1.0])  # all at x = 1
    np.testing.assert_array_equal(fastrelu.kinks(net, *WHOLE), [1.0])
    r = fastrelu.regions(net, *WHOLE)
    np.testing.assert_array_equal(r.slope, [0.0, 3.5])


def test_units_with_zero_input_weight_have_no_kink_but_shift_the_line():
    net = fastrelu.Network([0.0, 0.0, 1.0], [2.0, -3.0, 0.0], [1.5, 7.0, 1.0], b2=1.0)
    np.testing.assert_array_equal(fastrelu.kinks(net, *WHOLE, boundaries=True), [0.0])
    r = fastrelu.regions(net, *WHOLE)
    np.testing.assert_array_equal(r.intercept, [1.0 + 1.5 * 2.0] * 2)  # the off unit adds nothing
    np.testing.assert_array_equal(r.negative, [2, 1])


def test_zero_output_weight_and_linear_activation_give_boundaries_not_kinks():
    net = fastrelu.Network([1.0, 1.0], [0.0, -1.0], [0.0, 2.0])
    np.testing.assert_array_equal(fastrelu.kinks(net, *WHOLE), [1.0])
    np.testing.assert_array_equal(fastrelu.kinks(net, *WHOLE, boundaries=True), [0.0, 1.0])
    lin = net.linear()
    assert fastrelu.kinks(lin, *WHOLE).size == 0
    r = fastrelu.regions(lin, *WHOLE)
    assert len(r) == 1 and r.negative.tolist() == [-1]  # the count changes inside the one piece
    assert len(fastrelu.regions(lin, *WHOLE, boundaries=True)) == 3


def test_kinks_outside_the_interval_are_left_out_and_ends_are_included():
    net = fastrelu.Network([1.0, 1.0, 1.0], [5.0, 0.0, -5.0], [1.0, 1.0, 1.0])  # kinks at -5, 0, 5
    assert fastrelu.kinks(net, -1.0, 1.0).tolist() == [0.0]
    assert fastrelu.kinks(net, -5.0, 5.0).tolist() == [-5.0, 0.0, 5.0]
    assert fastrelu.kinks(net, 6.0, 7.0).tolist() == []
    r = fastrelu.regions(net, -5.0, 5.0)  # kinks at the ends do not split
    assert r.lo.tolist() == [-5.0, 0.0] and r.hi.tolist() == [0.0, 5.0]


def test_float32_networks_are_analysed_exactly():
    net = fastrelu.Network.random(50, seed=3, dtype="float32")
    w1, b1 = net.w1.astype(np.float64), net.b1.astype(np.float64)
    np.testing.assert_array_equal(fastrelu.kinks(net, *WHOLE), np.sort(-b1 / w1))


def test_kinks_of_a_large_random_network_are_its_sorted_switch_points():
    net = fastrelu.Network.random(100_000, seed=4)
    np.testing.assert_array_equal(fastrelu.kinks(net, *WHOLE), np.unique(-net.b1 / net.w1 + 0.0))


# -- regions -------------------------------------------------------------------------------


@SETTINGS
@given(net=dyadic_nets(activation=st.just("relu")))
def test_regions_match_rational_arithmetic(net):
    r = fastrelu.regions(net, *WHOLE)
    cuts = exact_kinks(net)
    assert len(r) == len(cuts) + 1
    assert r.lo.tolist() == [-np.inf, *cuts] and r.hi.tolist() == [*cuts, np.inf]
    for lo, hi, slope, intercept, negative in zip(r.lo, r.hi, r.slope, r.intercept, r.negative):
        # two exact points strictly inside the piece fix its line
        a = lo if np.isfinite(lo) else (hi if np.isfinite(hi) else 0.0) - 3
        b = hi if np.isfinite(hi) else a + 3
        # (not at a switch point: there the switching units count as off, even when
        # their slope changes cancel and the piece goes on)
        x1, x2 = [x for x in (Fraction(k * a + (7 - k) * b) / 7 for k in range(1, 7)) if x not in exact_switches(net)][:2]
        (y1, s1, n1), (y2, s2, n2) = exact_point(net, x1), exact_point(net, x2)
        assert s1 == s2 == Fraction(slope)
        assert y1 - s1 * x1 == Fraction(intercept)
        # the count is constant on the piece unless some unit switches strictly inside it
        varies = any((lo == -np.inf or t > Fraction(lo)) and (hi == np.inf or t < Fraction(hi)) for t in exact_switches(net))
        assert negative == (-1 if varies else n1)


@SETTINGS
@given(net=dyadic_nets(), data=st.data())
def test_regions_properties(net, data):
    r = fastrelu.regions(net, *WHOLE)
    kinks = fastrelu.kinks(net, *WHOLE)
    assert len(r) == len(kinks) + 1
    switches = exact_switches(net)
    # neighbouring pieces differ by the summed (1 - alpha) * |w1| * w2 of the units switching there
    for i, k in enumerate(kinks):
        assert Fraction(r.slope[i + 1]) - Fraction(r.slope[i]) == switches[Fraction(k)]
    # the sweep is affine on every piece: check grid points strictly inside
    x = np.array(data.draw(st.lists(st.sampled_from(np.arange(-8, 8.01, 0.125).tolist()), min_size=1, max_size=40)))
    res = fastrelu.sweep(net, x=x, backend="exact")
    piece = np.searchsorted(r.hi, x, side="left")
    inside = (x > r.lo[piece]) & (x < r.hi[piece])
    np.testing.assert_array_equal(res.y[inside], (r.slope[piece] * x + r.intercept[piece])[inside])
    # at a switch point inside a piece (cancelling changes) the switching units count as off
    inside &= ~np.isin(x, [float(t) for t in switches])
    np.testing.assert_array_equal(res.slope[inside], r.slope[piece][inside])
    known = inside & (r.negative[piece] >= 0)
    np.testing.assert_array_equal(res.negative[known], r.negative[piece][known])


def test_regions_agree_with_a_random_network_sweep():
    net = fastrelu.Network.random(300, seed=5)
    r = fastrelu.regions(net, -10.0, 10.0)
    assert len(r) == len(fastrelu.kinks(net, -10.0, 10.0)) + 1
    res = fastrelu.sweep(net, -10.0, 10.0, num=100_001, backend="numpy")
    piece = np.clip(np.searchsorted(r.hi, res.x, side="left"), 0, len(r) - 1)
    inside = (res.x > r.lo[piece]) & (res.x < r.hi[piece])
    np.testing.assert_array_equal(res.negative[inside], r.negative[piece][inside])
    np.testing.assert_allclose(res.slope[inside], r.slope[piece][inside], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.y[inside], (r.slope[piece] * res.x + r.intercept[piece])[inside], rtol=0, atol=1e-11)


def test_regions_result_object():
    net = fastrelu.Network.random(40, seed=6)
    r = fastrelu.regions(net, *WHOLE)
    assert len(r) == 41 and repr(r) == "Regions(pieces=41, kinks=40, boundaries=40, lo=-inf, hi=inf)"
    text = str(r)
    assert "more pieces" in text and len(text.splitlines()) == 22
    assert len(r.to_table().splitlines()) == 42
    with pytest.raises(ValueError):
        r.slope[0] = 1.0  # read-only
    one = fastrelu.regions(net, 3.0, 3.0)
    assert len(one) == 1 and one.lo[0] == one.hi[0] == 3.0


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: fastrelu.kinks("net"), TypeError, "net must be a fastrelu.Network"),
        (lambda: fastrelu.regions(None), TypeError, "net must be a fastrelu.Network"),
        (lambda: fastrelu.kinks(NET, 1.0, 0.0), ValueError, "stop must be >= start"),
        (lambda: fastrelu.kinks(NET, float("nan")), ValueError, "start must be finite"),
        (lambda: fastrelu.regions(NET, "0"), TypeError, "start must be a real number"),
        (lambda: fastrelu.regions(NET, np.inf), ValueError, "start must be < \\+inf"),
        (lambda: fastrelu.regions(NET, None, -np.inf), ValueError, "stop > -inf"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


NET = fastrelu.Network([1.0], [0.0], [1.0])

# -- the exact backend ------------------------------------------------------------------------


def test_exact_is_registered_first_and_chosen_by_auto():
    assert list(fastrelu.backends())[0] == "exact"
    assert fastrelu.sweep(fastrelu.Network.random(1000, seed=0), num=1000).backend == "exact"


@SETTINGS
@given(net=dyadic_nets(), dtype=st.sampled_from(["float64", "float32"]))
def test_exact_backend_is_exact_on_dyadic_networks_even_at_kinks(net, dtype):
    x = np.arange(-6, 6.01, 0.25)  # holds every switch point of the network in range
    res = fastrelu.sweep(net, x=x, backend="exact", dtype=dtype)
    for xi, y, s, n in zip(x.tolist(), res.y, res.slope, res.negative):
        ey, es, en = exact_point(net, xi)
        assert (y, s, n) == (np.dtype(dtype).type(ey), np.dtype(dtype).type(es), en), xi


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "case",
    ["kinks_on_grid", "duplicates", "zero_w1", "cancelling", "h1", "kinks_outside", "big_h", "wide_magnitudes"],
)
def test_exact_backend_agrees_with_reference(case, dtype, rng):
    if case == "kinks_on_grid":
        net = fastrelu.Network(rng.integers(-4, 5, 64) / 4 + 0.25, rng.integers(-40, 41, 64) / 8, rng.normal(size=64))
    elif case == "duplicates":
        w1 = rng.choice([-2.0, -1.0, 1.0, 3.0], 200)
        net = fastrelu.Network(w1, -w1 * rng.choice([-1.5, 0.0, 2.0], 200), rng.normal(size=200))
    elif case == "zero_w1":
        net = fastrelu.Network(np.where(rng.random(100) < 0.3, 0.0, rng.normal(size=100)), rng.normal(size=100), rng.normal(size=100))
    elif case == "cancelling":
        w1 = rng.normal(size=50)
        net = fastrelu.Network(np.r_[w1, -w1], np.r_[w1, -w1], np.r_[np.ones(50), -np.ones(50)])
    elif case == "h1":
        net = fastrelu.Network([0.5], [0.25], [-3.0], b2=1.0)
    elif case == "kinks_outside":
        net = fastrelu.Network(rng.normal(size=30) * 1e-3, rng.normal(size=30) + 5, rng.normal(size=30))
    elif case == "big_h":
        net = fastrelu.Network.random(20_000, seed=7)
    else:  # weights over many orders of magnitude
        net = fastrelu.Network(10.0 ** rng.uniform(-6, 6, 300) * rng.choice([-1, 1], 300), rng.normal(size=300) * 1e3, rng.normal(size=300))
    assert_agrees(net, "exact", start=-10.0, stop=10.0, num=4001, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_exact_backend_on_unsorted_and_non_uniform_grids(dtype, rng):
    net = fastrelu.Network.random(500, seed=8)
    x = np.concatenate([rng.uniform(-50, 50, 150_000), np.sort(rng.normal(0, 3, 100_000)), -net.b1[:100] / net.w1[:100]])
    rng.shuffle(x[:200_000])  # unsorted chunks and sorted ones in one grid
    assert_agrees(net, "exact", x=x, dtype=dtype)
    assert_agrees(net, "exact", x=np.sort(x)[::-1].copy(), dtype=dtype)


def test_exact_error_does_not_grow_with_h():
    # the output at 0 is b2 + sum(w2 * relu(b1)): compare with an exact rational sum
    net = fastrelu.Network.random(200_000, seed=9)
    y0 = fastrelu.sweep(net, x=[0.0], backend="exact").y[0]
    exact = Fraction(net.b2) + sum(Fraction(w) * Fraction(b) for w, b in zip(net.w2.tolist(), net.b1.tolist()) if b > 0)
    assert abs(Fraction(y0) - exact) <= abs(exact) * Fraction(2.0**-52)


def test_chunked_sweeps_reuse_the_sorted_switch_points():
    from fastrelu.kernels.registry import module_of

    cache = module_of("exact", "one_layer").kernel._last.slot  # the twin that runs here
    net = fastrelu.Network.random(1000, seed=10)
    fastrelu.sweep(net, num=10, backend="exact")
    first = cache[0][2]
    assert first is not None
    fastrelu.sweep(net, num=20, backend="exact")
    assert cache[0][2] is first
    res = fastrelu.sweep(net, num=20, backend="exact")
    assert compare(res, fastrelu.sweep(net, num=20, backend="numpy")).ok
