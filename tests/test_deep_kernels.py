"""The deep kernel's twins (Numba and C) against ``reference.sweep_deep`` and each other.

Agreement with the reference is checked against a rounding bound derived for each
point, not a loose constant: the pre-activations are tracked layer by layer in
float64 with, for every unit, a bound on the error of any one computation in the
kernel's dtype (the standard bound gamma_n (|W| |a| + |b|) for a dot product of n terms
and a bias, plus |W| times the error already in the inputs, through the activation's
Lipschitz constant max(1, |alpha|)).  The kernel and the reference are each within
that bound of the exact value, so they differ by at most twice the bound.  Where a
unit's z is within the bound of 0, rounding may count it on either side; where it
is near a breakpoint at which the tangent jumps (z = 0 with alpha != 1, v at a
clamp), that point's slope is exempt.  Everything else must match: counts exactly,
y and slope within the bound (y is never exempt: the activation is continuous).

The twins against each other: bit for bit.  Both accumulate every output over its
inputs in order i = 0, 1, ..., fan_in - 1 with fused multiply-adds, starting from
zero, then add the bias, and apply the same activation; blocking only changes when
a partial sum is stored and reloaded, which does not round.  So the C build (GCC,
the x86-64-v3 clone picked on an AVX2 + FMA CPU like this one, ``-ffp-contract=fast``)
and the Numba build (LLVM for the host CPU, fastmath ``contract``) give the same
bits; the test below checks that they do whenever the C build fuses as Numba does
(GCC's clones or -march=native on a CPU with FMA: ``_fused_build``).  A portable C
build (clang, musl, old GCC) has no FMA in its baseline and is held to the rounding
bound only.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from fastrelu.kernels import dense_numpy as reference


def twins():
    # a backend that does not load is an error here, never a skip
    from fastrelu.kernels import dense_c as cffi_kernel, dense_numba as numba_kernel

    return {"numba": numba_kernel, "cffi": cffi_kernel}


def random_network(rng, widths, dtype, alpha_kind, clamp):
    """Flat parameters of a random network (PyTorch's nn.Linear init: U(+-1/sqrt(fan_in)))."""
    weights, biases = [], []
    for k in range(len(widths) - 1):
        bound = 1 / np.sqrt(widths[k])
        weights.append(rng.uniform(-bound, bound, widths[k] * widths[k + 1]))
        biases.append(rng.uniform(-bound, bound, widths[k + 1]))
    depth = len(widths) - 2
    units = int(sum(widths[1:-1]))
    if alpha_kind == "prelu":
        alpha = rng.uniform(0, 0.5, units)
    else:
        alpha = np.full(units, float(alpha_kind))
    lo, hi = np.full(depth, -np.inf), np.full(depth, np.inf)
    if clamp is not None:
        lo[:], hi[:] = clamp
    return (
        np.asarray(widths, np.int64),
        np.concatenate(weights).astype(dtype),
        np.concatenate(biases).astype(dtype),
        alpha.astype(dtype),
        lo.astype(dtype),
        hi.astype(dtype),
    )


def run(kernel, t, params):
    widths = params[0]
    n, out, depth = t.shape[0], int(widths[-1]), len(widths) - 2
    # poison the outputs: the kernels must write every element
    y = np.full((n, out), np.nan, t.dtype)
    slope = np.full((n, out), np.nan, t.dtype)
    negative = np.full((n, depth), -1, np.int32)
    kernel.sweep_deep(t, *params, y, slope, negative)
    return y, slope, negative


def rounding_bounds(t, params, exact_first=False):
    """Per point: where rounding may decide a side, and bounds on the error of y and slope.

    Returns ``(near, jumps, ey, es)``.  ``near`` (N, depth): units of each layer whose z
    is within rounding of 0, so may count on either side.  ``jumps`` (N,): some unit is
    within rounding of a breakpoint where the tangent jumps (z = 0 with alpha != 1, or
    v at a clamp), so the slope is exempt.  ``ey``, ``es`` (N, out) bound the error of
    one computation of y and slope.  The activation is continuous with Lipschitz
    constant max(1, |alpha|), so a side decided by rounding moves the values by no more
    than their error bound: y is never exempt.  ``exact_first``: the first layer's
    products and sums are exact (dyadic inputs).
    """
    widths, weights, biases, alpha, lo, hi = params
    u = np.finfo(t.dtype).eps / 2

    def gamma(n):
        return n * u / (1 - n * u)

    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in reference.unpack_layers(widths, weights, biases)]
    alpha, lo, hi = alpha.astype(np.float64), lo.astype(np.float64), hi.astype(np.float64)
    depth = len(layers) - 1
    a = t.astype(np.float64)[:, None]
    da = np.ones_like(a)
    ea = np.zeros_like(a)
    eda = np.zeros_like(a)
    near = np.zeros((t.shape[0], depth), np.int64)
    jumps = np.zeros(t.shape[0], bool)
    u0 = 0
    for k in range(depth + 1):
        w, b = layers[k]
        fan_in = w.shape[1]
        aw = np.abs(w)
        z = a @ w.T + b
        dz = da @ w.T
        if k == 0 and exact_first:
            ez = np.zeros_like(z)
        else:
            ez = gamma(fan_in + 1) * (np.abs(a) @ aw.T + np.abs(b)) + ea @ aw.T
        edz = gamma(fan_in) * (np.abs(da) @ aw.T) + eda @ aw.T
        ez, edz = ez * 1.01, edz * 1.01  # room for the float64 tracking itself
        if k == depth:
            return near, jumps, ez, edz
        al = alpha[u0 : u0 + w.shape[0]]
        u0 += w.shape[0]
        on = z > 0
        v = np.where(on, z, al * z)
        dv = np.where(on, dz, al * dz)
        scale = np.maximum(1, np.abs(al))
        ev = scale * ez + u * np.abs(al * z)
        edv = scale * edz + u * np.abs(al * dz)
        # three computations (kernel, reference, this one) each within e of the exact
        # value: beyond 3e from a breakpoint, all three are on the exact value's side
        at_zero = (ez > 0) & (np.abs(z) <= 3 * ez)
        at_clamp = (ev > 0) & ((np.abs(v - lo[k]) <= 3 * ev) | (np.abs(v - hi[k]) <= 3 * ev))
        near[:, k] = at_zero.sum(axis=1)
        jumps |= (at_zero & (al != 1)).any(axis=1) | at_clamp.any(axis=1)
        inside = (v > lo[k]) & (v < hi[k])
        a = np.clip(v, lo[k], hi[k])
        da = np.where(inside, dv, 0)
        ea = ev
        eda = np.where(inside, edv, 0)


def assert_agrees_with_reference(res, ref, bounds, strict=True):
    near, jumps, ey, es = bounds
    y, slope, negative = res
    y_ref, slope_ref, negative_ref = ref
    # counts: exact, but for units that rounding may put on either side
    assert np.all(np.abs(negative - negative_ref) <= near), np.argwhere(np.abs(negative - negative_ref) > near)[:5]
    assert np.all(np.abs(y - y_ref) <= 2 * ey), np.max(np.abs(y - y_ref) - 2 * ey)
    ok = ~jumps
    assert np.all(np.abs(slope - slope_ref)[ok] <= 2 * es[ok]), np.max((np.abs(slope - slope_ref) - 2 * es)[ok])
    if strict:  # the exemptions are the exception, not what makes the test pass
        assert ok.mean() >= 0.5, f"the slope is checked at only {ok.mean():.0%} of the points"
        assert (near == 0).mean() >= 0.5


# (alpha, clamp): ReLU, leaky, PReLU-style per unit, identity; Hardtanh and ReLU6
ACTIVATIONS = [(0, None), (0.01, None), ("prelu", None), (1, None), (0.01, (-1, 1)), ("prelu", (-1, 1)), (1, (0, 6)), (0, (-1, 1))]
# N: one point, fewer than a tile, one more than a tile, several chunks plus a bit
SIZES = [1, 7, 65, 64 * 4 * 2 + 3]


def case(seed, dtype):
    rng = np.random.default_rng(seed)
    depth = 1 + seed % 8
    widths = [1, *rng.integers(1, 301, depth).tolist(), [1, 10, 3][seed % 3]]
    if seed % 5 == 0:
        widths[1 + seed % depth] = 1  # a one-unit layer
    alpha_kind, clamp = ACTIVATIONS[seed % len(ACTIVATIONS)]
    params = random_network(rng, widths, dtype, alpha_kind, clamp)
    n = SIZES[seed % len(SIZES)]
    t = np.sort(rng.uniform(-4, 4, n)).astype(dtype)
    return t, params


def _fused_build():
    from fastrelu.kernels._c import lib

    with open("/proc/cpuinfo") as f:
        has_fma = " fma " in f.read().replace("\n", " ")
    return lib.FASTRELU_BUILD_KIND in (1, 2) and has_fma


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(24))
def test_twins_match_reference_and_each_other(seed, dtype):
    t, params = case(seed, np.dtype(dtype))
    ref = run(reference, t, params)
    bounds = rounding_bounds(t, params)
    # The worst-case bound grows with each layer by |W|'s row sums (about
    # sqrt(fan_in) / 2 here), so in float32 it says little beyond three layers: there
    # the bound still holds but may exempt most points.  Float64 and shallow float32
    # networks must be decided at most points.
    strict = dtype == "float64" or len(params[0]) - 2 <= 3
    results = {}
    for name, kernel in twins().items():
        results[name] = run(kernel, t, params)
        assert_agrees_with_reference(results[name], ref, bounds, strict)
    if _fused_build():  # else each twin has agreed with the reference above; see the module docstring
        for a, b in zip(results["numba"], results["cffi"]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("alpha_kind, clamp", ACTIVATIONS)
def test_points_exactly_at_first_layer_breakpoints(alpha_kind, clamp, dtype):
    # the first layer's weights, biases and the points are short dyadic numbers, so
    # every z = w t + b of the first layer is exact in both dtypes, and the grid holds
    # each unit's breakpoint t0 = -b / w: there z is exactly 0, the unit counts as
    # negative and its slope is the z <= 0 side's.  No exemption in the first layer.
    rng = np.random.default_rng(7)
    dtype = np.dtype(dtype)
    widths = [1, 40, 30, 20, 3]
    params = list(random_network(rng, widths, dtype, alpha_kind, clamp))
    grid = np.arange(-256, 257) / 64
    w1 = rng.choice([-2, -1.5, -1, -0.75, -0.5, -0.125, 0.125, 0.5, 1, 1.25, 2], 40)
    t0 = rng.choice(grid, 40)
    params[1][:40] = w1
    params[2][:40] = -w1 * t0
    t = np.sort(np.concatenate([t0, rng.choice(grid, 60)])).astype(dtype)
    ref = run(reference, t, params)
    bounds = rounding_bounds(t, params, exact_first=True)
    assert np.all(bounds[0][:, 0] == 0)  # the first layer's sides are all decided
    for name, kernel in twins().items():
        res = run(kernel, t, params)
        assert_agrees_with_reference(res, ref, bounds)
        at_zero = (w1[None, :] * t.astype(np.float64)[:, None] - w1 * t0 == 0).sum(axis=1)
        assert np.all(res[2][:, 0] >= at_zero), name


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_unit_at_its_kink_takes_the_negative_side(dtype):
    # one unit, z = t: at t = 0 it counts as negative and the slope is alpha's
    params = (
        np.array([1, 1, 1], np.int64),
        np.array([1, 1], dtype),
        np.array([0, 0], dtype),
        np.array([0.25], dtype),
        np.array([-np.inf], dtype),
        np.array([np.inf], dtype),
    )
    t = np.array([-1, 0, 1], dtype)
    for name, kernel in twins().items():
        y, slope, negative = run(kernel, t, params)
        np.testing.assert_array_equal(y[:, 0], [-0.25, 0, 1])
        np.testing.assert_array_equal(slope[:, 0], [0.25, 0.25, 1])
        np.testing.assert_array_equal(negative[:, 0], [1, 1, 0])


def test_numba_deep_kernel_runs_as_plain_python():
    # NUMBA_DISABLE_JIT=1 turns the kernel into Python, so coverage can see it
    code = (
        "import numpy as np\n"
        "from fastrelu.kernels import dense_numba as numba_kernel, dense_numpy as reference\n"
        "rng = np.random.default_rng(0)\n"
        "widths = np.array([1, 5, 7, 2], np.int64)\n"
        "w = rng.uniform(-1, 1, 5 + 35 + 14); b = rng.uniform(-1, 1, 14)\n"
        "args = (widths, w, b, np.full(12, 0.1), np.full(2, -np.inf), np.full(2, np.inf))\n"
        "t = np.linspace(-2, 2, 70)\n"
        "outs = [(np.empty((70, 2)), np.empty((70, 2)), np.empty((70, 2), np.int32)) for _ in range(2)]\n"
        "numba_kernel.sweep_deep(t, *args, *outs[0]); reference.sweep_deep(t, *args, *outs[1])\n"
        "print(np.allclose(outs[0][0], outs[1][0], rtol=0, atol=1e-12), np.array_equal(outs[0][2], outs[1][2]))\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True True"
