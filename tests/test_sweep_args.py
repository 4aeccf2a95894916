"""sweep(): the grid it builds, the result it returns, and clear errors for bad input."""

import numpy as np
import pytest

import fastrelu
from fastrelu import Network, SweepResult

NET = Network.random(16, seed=0)


def test_default_grid_is_the_classic_demo():
    res = fastrelu.sweep(NET, backend="numpy")
    assert len(res) == 20001 and res.x[0] == -100.0 and res.x[10000] == 0.0 and res.x[-1] == 100.0
    # each point computed directly, no accumulated rounding
    np.testing.assert_array_equal(res.x[:-1], -100.0 + np.arange(20000) * 0.01)


@pytest.mark.parametrize(
    "start, stop, step, n, last",
    [(0.0, 1.0, 0.1, 11, 1.0), (0.0, 1.0, 0.3, 4, 0.8999999999999999), (2.0, 2.0, 0.5, 1, 2.0), (-1.0, 1.0, 3.0, 1, -1.0)],
)
def test_step_grid_includes_stop_only_on_the_grid(start, stop, step, n, last):
    res = fastrelu.sweep(NET, start, stop, step, backend="numpy")
    assert len(res) == n and res.x[-1] == last


def test_num_grid_is_linspace():
    for num in (1, 2, 7, 1001):
        res = fastrelu.sweep(NET, -3.0, 5.0, num=num, backend="numpy")
        np.testing.assert_array_equal(res.x, np.linspace(-3.0, 5.0, num))


def test_float32_grid_is_the_float64_grid_rounded():
    res = fastrelu.sweep(NET, dtype="float32", backend="numpy")
    np.testing.assert_array_equal(res.x, fastrelu.sweep(NET, backend="numpy").x.astype(np.float32))


def test_result_fields_and_round_trip(tmp_path):
    res = fastrelu.sweep(NET, -10.0, 10.0, num=2001)
    assert res.network is NET and res.dtype == np.float64
    np.testing.assert_array_equal(res.active, NET.hidden - res.negative)
    assert res.active.dtype == np.int32
    changes = res.slope_changes
    assert changes.dtype == bool and not changes[0]
    np.testing.assert_array_equal(changes[1:], np.diff(res.slope) != 0)
    with pytest.raises(ValueError, match="read-only"):
        res.y[0] = 1.0
    res.save(tmp_path / "r.npz")
    back = SweepResult.load(tmp_path / "r.npz")
    assert back.network == NET and back.backend == res.backend
    for f in ("x", "y", "slope", "negative"):
        np.testing.assert_array_equal(getattr(back, f), getattr(res, f))
    assert Network.load(tmp_path / "r.npz") == NET
    NET.save(tmp_path / "n.npz")
    with pytest.raises(ValueError, match="not a fastrelu result"):
        SweepResult.load(tmp_path / "n.npz")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"start": np.nan}, ValueError, "start must be finite"),
        ({"stop": np.inf}, ValueError, "stop must be finite"),
        ({"step": 0.0}, ValueError, "step must be > 0, got 0.0"),
        ({"step": -0.1}, ValueError, "step must be > 0"),
        ({"step": np.nan}, ValueError, "step must be finite"),
        ({"start": 1.0, "stop": 0.0}, ValueError, "stop must be >= start"),
        ({"num": 0}, ValueError, "num must be >= 1, got 0"),
        ({"num": 2.5}, TypeError, "num must be an integer"),
        ({"num": 5, "step": 0.1}, TypeError, "step or num, not both"),
        ({"x": [1.0], "num": 3}, TypeError, "either as x or as start/stop"),
        ({"x": []}, ValueError, "x must hold at least one point"),
        ({"x": [[1.0, 2.0]]}, ValueError, r"x must be 1-D, got shape \(1, 2\)"),
        ({"x": 1.0}, ValueError, r"x must be 1-D, got shape \(\)"),
        ({"x": [0.0, np.nan]}, ValueError, r"x must be finite, but x\[1\] is nan"),
        ({"x": ["a"]}, TypeError, "x must hold real numbers"),
        ({"start": "0"}, TypeError, "start must be a real number"),
        ({"dtype": "float16"}, ValueError, "dtype must be float64 or float32, got 'float16'"),
        ({"dtype": "banana"}, ValueError, "dtype must be float64 or float32"),
        ({"threads": 1.5}, TypeError, "threads must be an integer"),
        ({"start": -1e308, "stop": 1e308}, ValueError, "too many points"),
        ({"step": 1e-300}, ValueError, "too many points"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        fastrelu.sweep(NET, **kwargs)


def test_net_must_be_a_network():
    with pytest.raises(TypeError, match="net must be a fastrelu.Network, got list"):
        fastrelu.sweep([1.0, 2.0])


def test_a_grid_too_large_for_memory_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"a sweep of 100,000,000,000,000 points in float64 needs .* GiB .* only .* GiB"):
        fastrelu.sweep(NET, num=10**14)
    with pytest.raises(ValueError, match=r"float32 needs"):
        fastrelu.sweep(NET, 0.0, 1e6, 1e-9, dtype="float32")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_overflow_is_refused_not_a_silent_inf(dtype):
    big = 1e30 if dtype == "float32" else 1e300
    net = Network([big], [0.0], [big]).astype(dtype) if dtype == "float64" else Network(np.float32([big]), [0.0], [big])
    with pytest.raises(ValueError, match=f"could overflow {dtype}"):
        fastrelu.sweep(net, num=5)


def test_the_callers_grid_stays_writable():
    x = np.linspace(-1.0, 1.0, 11)
    res = fastrelu.sweep(NET, x=x)
    x[0] = 5.0  # still the caller's to change, and the result does not change with it
    assert x.flags.writeable and not res.x.flags.writeable and res.x[0] == -1.0


def test_float32_range_is_checked_for_weights_and_grid():
    # a weight or a grid end beyond float32 would turn into inf and NaN, not an answer
    with pytest.raises(ValueError, match="could overflow float32"):
        fastrelu.sweep(Network([0.0, 1.0], [0.0, 0.0], [1e39, 1.0]), num=2, dtype="float32")
    with pytest.raises(ValueError, match="beyond the range of float32; use a narrower grid or float64$"):
        fastrelu.sweep(Network([1e-30], [0.0], [1.0]), -1e39, 1e39, num=3, dtype="float32")


@pytest.mark.parametrize("grid", [{"num": 3}, {"step": 1e308}])
def test_a_grid_spanning_more_than_float64_is_refused_for_its_range_not_its_size(grid):
    # stop - start overflows, yet the grid has 3 points: what float64 cannot hold is |x|
    with pytest.raises(ValueError, match=r"^the grid reaches \|x\| = 1e\+308, beyond the range of float64; use a narrower grid$"):
        fastrelu.sweep(NET, -1e308, 1e308, **grid)


@pytest.mark.parametrize("num", [2, 3, 4, 100])
def test_a_grid_whose_span_overflows_has_linspaces_points(num):
    from fastrelu.sweeps.grid import plan_grid

    grid = plan_grid(-1e308, 1e308, None, num, None)
    # numpy.linspace's own span overflows; at half scale it does not, and halving is exact
    want = 2 * np.linspace(-1e308 / 2, 1e308 / 2, num)
    assert grid.n == num and grid.bound() == 1e308
    np.testing.assert_array_equal(grid.build(np.dtype(np.float64)), want)


def test_a_step_grid_whose_span_overflows_has_its_points():
    from fastrelu.sweeps.grid import plan_grid

    on = plan_grid(-1e308, 1e308, 1e308, None, None)
    assert on.n == 3 and on.build(np.dtype(np.float64)).tolist() == [-1e308, 0.0, 1e308]
    off = plan_grid(-1e308, 1e308, 0.9e308, None, None)  # stop is not on it; 2 * 0.9e308 overflows
    want = 2 * (-1e308 / 2 + np.arange(3) * (0.9e308 / 2))
    np.testing.assert_array_equal(off.build(np.dtype(np.float64)), want)
    assert off.n == 3 and off.bound() == max(1e308, abs(want[-1]))


def test_overflow_advises_float64_only_to_float32():
    with pytest.raises(ValueError, match=r"could overflow float64 on this grid \(\|t\| up to 100\); use smaller weights or a narrower grid$"):
        fastrelu.sweep(Network([1e200], [0.0], [1e200]), num=3)
    with pytest.raises(ValueError, match=r"could overflow float32 on this grid .*; use smaller weights, a narrower grid or float64$"):
        fastrelu.sweep(Network(np.float32([1e20]), [0.0], [1e20]), num=3)
    with pytest.raises(ValueError, match=r"^layers\[1\]'s weights could overflow float64 \(they are beyond its range\)$"):
        fastrelu.sweep(Network([1.0], [0.0], [1e308]), num=3)
    with pytest.raises(ValueError, match=r"^layers\[1\]'s weights could overflow float32 \(they are beyond its range\); use float64$"):
        fastrelu.sweep(Network(np.float32([1.0]), [0.0], [1e38]), num=3)


def test_load_a_truncated_result_names_it(tmp_path):
    fastrelu.sweep(NET, num=101).save(tmp_path / "res.npz")
    whole = (tmp_path / "res.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut\.npz' is truncated or damaged, or not a fastrelu result \(\.npz\) file"):
        SweepResult.load(tmp_path / "cut.npz")
