"""The agreement rule itself: tight enough to catch real errors, loose only near kinks."""

import numpy as np
import pytest

import fastrelu
from fastrelu import SweepResult
from fastrelu.kernels.agreement import compare


def _altered(res, **fields):
    arrays = {f: np.array(getattr(res, f)) for f in ("x", "y", "slope", "negative")}
    for name, change in fields.items():
        change(arrays[name])
    return SweepResult(**arrays, network=res.network, backend="altered")


@pytest.fixture(scope="module")
def ref():
    return fastrelu.sweep(fastrelu.Network.random(4096, seed=0), num=2001, backend="numpy")


def test_identical_results_agree(ref):
    agreement = compare(ref, ref)
    assert agreement.ok and agreement.worst_y == 0 and "agrees" in str(agreement)


def test_one_unit_missing_is_caught(ref):
    # dropping the smallest single term anywhere is far outside the rounding bound
    net = ref.network
    z = net.w1 * ref.x[1000] + net.b1
    smallest = np.min(np.abs(net.w2 * z)[z > 0])

    def drop(y):
        y[1000] -= smallest

    agreement = compare(_altered(ref, y=drop), ref)
    assert not agreement.ok and agreement.y_errors == 1 and "DISAGREES" in str(agreement)


def test_an_error_of_a_few_thousand_ulps_of_the_sum_is_caught(ref):
    scale = np.abs(ref.network.w2).sum()  # ~ the size of the terms at x ~ 1

    def nudge(y):
        y[1000] += 1e-9 * scale

    assert not compare(_altered(ref, y=nudge), ref).ok


def test_count_and_slope_errors_are_caught_away_from_kinks(ref):
    def off_by_one(n):
        n[5] += 1

    def slope_off(s):
        s[7] += 1e-9

    assert compare(_altered(ref, negative=off_by_one), ref).negative_errors == 1
    assert compare(_altered(ref, slope=slope_off), ref).slope_errors == 1


def test_count_may_differ_only_within_rounding_of_a_kink():
    # x = 3 is within rounding of both switch points (0.1*3 - 0.3 = 5.6e-17, 0.3/0.1 - 3 = -4.4e-16)
    net = fastrelu.Network([0.1, 0.1], [-0.3, -0.30000000000000004], [1.0, 2.0])
    ref = fastrelu.sweep(net, x=[-1.0, 3.0, 3.0 + 2**-51, 10.0], backend="numpy")

    def flip(n):
        n[1] += 1 - 2 * (n[1] > 0)  # rounding's choice at both points
        n[2] += 1 - 2 * (n[2] > 0)

    agreement = compare(_altered(ref, negative=flip), ref)
    assert agreement.ok and agreement.near_kink == 2
    agreement = compare(_altered(ref, negative=lambda n: n.__setitem__(3, 0)), ref)
    assert agreement.ok  # unchanged: x=1 already has no negative unit
    agreement = compare(_altered(ref, negative=lambda n: n.__setitem__(3, 1)), ref)
    assert not agreement.ok


@pytest.mark.parametrize("x", [0.0, 0.5])
def test_an_exact_zero_is_never_exempt(x):
    # z = 1*0 + 0 (no nonzero term) and z = 1*0.5 - 0.5 (exact product, exact cancellation)
    # are exactly 0: every backend must count the unit negative there, as PyTorch does
    net = fastrelu.Network([1.0, 1.0], [0.0, -0.5], [1.0, 2.0])
    ref = fastrelu.sweep(net, x=[-1.0, x, 1.0], backend="numpy")
    agreement = compare(_altered(ref, negative=lambda n: n.__setitem__(1, n[1] - 1)), ref)
    assert not agreement.ok and agreement.negative_errors == 1 and agreement.near_kink == 0


def test_different_grids_are_refused(ref):
    other = fastrelu.sweep(ref.network, num=2000, backend="numpy")
    with pytest.raises(ValueError, match="same grid"):
        compare(other, ref)


@pytest.fixture(scope="module")
def deep_ref():
    net = fastrelu.Network.random([3, 64, 64, 64, 2], seed=1, activation="leaky_relu")
    return fastrelu.sweep(net, along=([-1, 0, 1], [2, 1, -1]), num=3001, backend="numpy")


def _altered_deep(res, **fields):
    arrays = {f: np.array(getattr(res, f)) for f in ("x", "y", "slope", "negative", "negative_by_layer")}
    for name, change in fields.items():
        change(arrays[name])
    return SweepResult(**arrays, network=res.network, backend="altered", along=res.along)


def test_deep_rule_catches_a_layer_count_a_slope_and_a_value(deep_ref):
    assert compare(deep_ref, deep_ref).ok
    # one count off in the middle layer at a point away from every breakpoint (were it
    # near one, the rule would exempt it and the first assertion below would fail)
    far = 1500

    def count_off(n):
        n[far, 1] += 1

    def slope_off(s):
        s[far, 1] += 1e-8 * max(1.0, abs(s[far, 1]))

    def value_off(y):
        y[far, 0] += 1e-8 * max(1.0, abs(y[far, 0]))

    assert compare(_altered_deep(deep_ref, negative_by_layer=count_off), deep_ref).negative_errors == 1
    assert compare(_altered_deep(deep_ref, slope=slope_off), deep_ref).slope_errors == 1
    assert compare(_altered_deep(deep_ref, y=value_off), deep_ref).y_errors == 1


def test_deep_rule_tolerance_is_a_rounding_bound(deep_ref):
    # float32 against float64 differs by far more than float64's rounding: caught
    f32 = fastrelu.sweep(deep_ref.network, x=deep_ref.x, dtype="float32", backend="numpy")
    as64 = SweepResult(
        deep_ref.x, f32.y.astype(np.float64), f32.slope.astype(np.float64), f32.negative, network=deep_ref.network,
        backend="f32", negative_by_layer=f32.negative_by_layer,
    )
    assert not compare(as64, deep_ref).ok


def test_a_product_that_underflows_to_zero_is_rounding_not_an_exact_zero():
    # w*t = -5.7e-274 * -3.8e-164 is 2.2e-437 > 0, which float64 rounds to 0: the exact
    # backend counts the unit active (its true sign), the reference negative; rounding
    # decides there, so both agree (Dekker's split reads an underflowed error as 0)
    net = fastrelu.Network([0.0, -5.74552152e-274], [0.0, 0.0], [0.0, 0.0])
    x = [-3.80583416e-164]
    ref = fastrelu.sweep(net, x=x, backend="numpy")
    exact = fastrelu.sweep(net, x=x, backend="exact")
    assert exact.negative[0] != ref.negative[0]
    agreement = compare(exact, ref)
    assert agreement.ok and agreement.near_kink == 1
