"""The plane walk's ``store_maps`` kernel (a block of the next layer's product stored, its bias
added, each column's largest magnitude kept): the C and Numba twins agree bit for bit with
numpy's add, copy and ``max(max, -min)`` on hostile blocks, and a map that turns NaN (with
no inf beside it) is refused, as one that overflows."""

import numpy as np
import pytest

import fastrelu
from fastrelu.analysis.plane import region_map
from fastrelu.kernels import plane_c, plane_numba

from test_plane import SQUARE


def _reference(y, n, bias, out, f0, acc):
    """What the walk computed with numpy before the kernel: ``y[2] += bias``, the rows copied,
    the largest magnitude of each slab (here per column, then the caller's max)."""
    y = y.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        y[2] += bias
        out[:, f0 : f0 + n] = y[:, :n]
        return np.maximum(acc, np.maximum(y[:, :n].max(axis=1), -y[:, :n].min(axis=1)))


@pytest.mark.parametrize("kern", [plane_c, plane_numba], ids=["c", "numba"])
def test_store_maps_equals_numpy(kern):
    rng = np.random.default_rng(7)
    ny, w, n, nout, f0 = 8, 13, 6, 20, 9
    y = rng.standard_normal((3, ny, w))
    y[:, :, 2] = 0.0  # exact zeros stay exact
    y[0, 1, 3] = y[1, 2, 4] = -0.0  # a slope's -0.0 is stored as -0.0 (no bias added to the slopes)
    y[2, 0, 5], y[2, 3, 6] = 1.5e308, -1e300  # huge intercepts
    y[:, n:] = np.inf  # rows past n are the block's padding: never read
    bias = rng.standard_normal(w)
    bias[2] = 0.0
    bias[5] = 1.5e308  # overflows to inf once added
    out = np.full((3, nout, w), 7.0)
    want_out = out.copy()
    acc = np.zeros((3, w))
    acc[1, 0] = 50.0  # a magnitude from an earlier block stays when larger
    want = _reference(y, n, bias, want_out, f0, acc)
    kern.store_maps(y, n, bias, out, f0, acc)
    np.testing.assert_array_equal(out.view(np.uint64), want_out.view(np.uint64))  # bit for bit, -0.0 included
    np.testing.assert_array_equal(acc, want)
    assert np.isposinf(acc[2, 5]) and acc[1, 0] == 50.0


@pytest.mark.parametrize("kern", [plane_c, plane_numba], ids=["c", "numba"])
def test_store_maps_keeps_a_nan_whatever_follows(kern):
    # a NaN in an early row, then larger finite values: the column's magnitude stays NaN
    # (a comparison alone, a > acc, would drop it), and so does one NaN from an earlier block
    y = np.array([[[np.nan, 1.0], [5.0, 2.0]], [[1.0, 1.0], [2.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]]])
    acc = np.zeros((3, 2))
    acc[1, 1] = np.nan
    out = np.zeros((3, 2, 2))
    kern.store_maps(y, 2, np.zeros(2), out, 0, acc)
    assert np.isnan(acc[0, 0]) and acc[0, 1] == 2.0 and np.isnan(acc[1, 1]) and acc[1, 0] == 2.0
    assert np.isnan(acc.max(axis=1)[:2]).all() and acc.max(axis=1)[2] == 0.0


@pytest.mark.parametrize("engine", ["c", "numba"])
def test_a_map_that_is_nan_without_inf_is_refused(engine):
    # on u > 0 both hidden units have slope 1e308 along u; the output's slope there is
    # 10 * 1e308 - 10 * 1e308 = inf - inf = NaN, its intercept 10 - 20 finite: the only sign
    # of the overflow is a NaN among the output's maps
    net = fastrelu.Network.from_layers([(np.array([[1e308, 0.0], [1e308, 0.0]]), np.array([1.0, 2.0])),
                                        (np.array([[10.0, -10.0]]), None)])
    with pytest.raises(ValueError, match="overflow"):
        region_map(net, bounds=SQUARE, threads=1, engine=engine)
