"""Every backend against the numpy reference, on ordinary and hostile networks and grids."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastrelu
from conftest import assert_agrees


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "hidden, num",
    [(1, 1), (1, 7), (3, 65), (64, 1000), (1000, 20001), (4097, 3000), (100_000, 300), (17, 1_000_000)],
)
def test_random_networks(backend, dtype, hidden, num):
    net = fastrelu.Network.random(hidden, seed=hidden + num, dtype=dtype)
    assert_agrees(net, backend, start=-100.0, stop=100.0, num=num)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_classic_demo(backend, seed, activation):
    net = fastrelu.Network.random(1000, seed=seed, activation=activation)
    res, ref = assert_agrees(net, backend)
    assert len(res) == 20001 and res.x[10000] == 0.0
    if activation == "linear":
        # the straight-line twin: one slope everywhere, while the count still moves
        assert np.ptp(res.slope) <= 1e-12 * np.abs(net.w1 * net.w2).sum()
        assert np.ptp(res.negative) > 0


def test_points_exactly_on_kinks(backend, dtype="float64"):
    # b1 = 0 puts every kink at x = 0; b1 = -k*w1 puts kinks on grid points x = k
    w1 = np.array([1.0, -2.0, 0.5, 4.0, -1.0, 3.0])
    b1 = np.array([0.0, 0.0, -1.0, -8.0, 3.0, 0.0])
    w2 = np.array([1.0, 0.25, -2.0, 1.5, 1.0, -0.75])
    net = fastrelu.Network(w1, b1, w2, b2=0.5)
    res, ref = assert_agrees(net, backend, start=-5.0, stop=5.0, step=0.5)
    # exact arithmetic here (dyadic numbers): the count and slope agree even on the kinks,
    # and at a kink the slope is that of the side where the switching unit is off
    np.testing.assert_array_equal(res.negative, ref.negative)
    np.testing.assert_array_equal(res.slope, ref.slope)
    at0 = np.flatnonzero(res.x == 0.0)[0]
    z = w1 * 0.0 + b1
    assert res.slope[at0] == np.sum(np.where(z > 0, w1 * w2, 0.0))
    assert res.negative[at0] == np.sum(z <= 0)


def test_zero_weight_units(backend):
    # w1 == 0: always on (b1 > 0) or always off (b1 <= 0, including exactly 0)
    net = fastrelu.Network([0.0, 0.0, 0.0, 1.0], [1.0, -1.0, 0.0, 0.0], [2.0, 3.0, 5.0, 1.0])
    res, _ = assert_agrees(net, backend, start=-3.0, stop=3.0, num=61)
    assert res.negative.min() == 2 and res.negative.max() == 3
    np.testing.assert_array_equal(res.y, np.where(res.x > 0, 2.0 + res.x, 2.0))


def test_duplicate_kinks(backend):
    # many units switching at the same x, some of them cancelling each other's slope change
    w1 = np.array([1.0, 1.0, 2.0, -1.0, 1.0] * 40)
    b1 = np.array([-1.0, -1.0, -2.0, 1.0, -1.0] * 40)
    w2 = np.array([1.0, -1.0, 0.5, 2.0, 0.125] * 40)
    assert_agrees(fastrelu.Network(w1, b1, w2), backend, start=-3.0, stop=3.0, num=6001)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_huge_and_tiny_weights_and_far_x(backend, dtype, rng):
    h = 257
    scale = 10.0 ** rng.integers(-12, 12, h) if dtype == "float64" else 10.0 ** rng.integers(-6, 6, h)
    net = fastrelu.Network(rng.normal(size=h) * scale, rng.normal(size=h) * scale[::-1], rng.normal(size=h), b2=1.0)
    net = net.astype(dtype)
    assert_agrees(net, backend, start=-1e6, stop=1e6, num=4001)


def test_single_point_single_unit(backend):
    net = fastrelu.Network([2.0], [1.0], [3.0], b2=-1.0)
    res, _ = assert_agrees(net, backend, x=[0.25])
    assert res.y.tolist() == [-1.0 + 3.0 * 1.5] and res.slope.tolist() == [6.0] and res.negative.tolist() == [0]


def test_explicit_unsorted_grid(backend, rng):
    net = fastrelu.Network.random(300, seed=3)
    res, _ = assert_agrees(net, backend, x=rng.uniform(-50, 50, 5001))
    assert res.x.dtype == np.float64


def test_dtype_argument_converts_network(backend):
    net = fastrelu.Network.random(50, seed=4)
    res, _ = assert_agrees(net, backend, num=999, dtype="float32")
    assert res.y.dtype == res.slope.dtype == res.x.dtype == np.float32 and res.negative.dtype == np.int32


def test_threads_do_not_change_results(backend):
    net = fastrelu.Network.random(2000, seed=5)
    one = fastrelu.sweep(net, num=10_001, backend=backend, threads=1)
    two = fastrelu.sweep(net, num=10_001, backend=backend, threads=2)
    # each point sums its units in the same order whatever the threads: bit-identical
    np.testing.assert_array_equal(one.y, two.y)
    np.testing.assert_array_equal(one.negative, two.negative)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def networks_and_grids(draw):
    h = draw(st.integers(1, 40))
    dtype = draw(st.sampled_from(["float64", "float32"]))
    # small integers and dyadic fractions make exact kinks and exact zero weights likely
    weight = st.one_of(finite, st.integers(-4, 4).map(float), st.sampled_from([0.0, 0.5, -0.25]))
    arrays = [draw(st.lists(weight, min_size=h, max_size=h)) for _ in range(3)]
    net = fastrelu.Network(*arrays, b2=draw(finite), activation=draw(st.sampled_from(["relu", "linear"]))).astype(dtype)
    if draw(st.booleans()):
        grid = {"x": np.array(draw(st.lists(finite, min_size=1, max_size=200)))}
    else:
        lo = draw(finite)
        grid = {"start": lo, "stop": lo + draw(st.floats(0, 100)), "num": draw(st.integers(1, 300))}
    return net, grid


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=networks_and_grids())
def test_hypothesis_networks_and_grids(backend, case):
    net, grid = case
    assert_agrees(net, backend, **grid)


def test_byte_order_and_strides(backend, rng):
    # big-endian weights and a strided, big-endian grid are converted, not misread
    w1, b1, w2 = (rng.normal(size=33).astype(">f8") for _ in range(3))
    net = fastrelu.Network(w1, b1, w2)
    x = np.linspace(-5, 5, 2001).astype(">f8")[::3]
    res, _ = assert_agrees(net, backend, x=x)
    np.testing.assert_array_equal(res.x, x)
    native = fastrelu.Network(w1.astype("<f8"), b1.astype("<f8"), w2.astype("<f8"))
    same = fastrelu.sweep(native, x=np.ascontiguousarray(x, "<f8"), backend=backend)
    np.testing.assert_array_equal(res.y, same.y)
