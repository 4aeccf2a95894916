"""The Numba deep kernel's register block is compiled as its C twin's: vectors of the
target's width (``deep_vector_bytes``), multiply-adds fused, accumulators in registers.

Read off the optimised LLVM IR of ``dense_numba.deep_block`` (not the machine code:
it is the same on every CPU LLVM targets).  Written as scalar loops for LLVM's SLP
pass, the block came out in the loop vectoriser's form on Numba 0.68 (a run-time column
count, accumulators in memory: a fifth of the C twin's speed on AVX-512), or, with a
constant count, in vectors of 40 lanes shuffled between registers.
"""

import re

import numba
import numpy as np
import pytest

import fastrelu
from fastrelu.kernels import dense_numba
from fastrelu.kernels.params import deep_params
from fastrelu.utils.config import DEEP_ROWS, DEEP_VECTOR

LLVM_TYPES = {np.dtype(np.float64): ("double", "f64"), np.dtype(np.float32): ("float", "f32")}


def _vector_bytes():
    """The deep kernel's vector width on the target Numba compiles for here."""
    return dense_numba.deep_vector_bytes(dense_numba._target_features())


def _body(dtype):
    """The optimised LLVM IR of deep_block's own function for arrays of ``dtype``.

    Compiled afresh with the kernel's own options, but no disk cache (a function loaded
    from the cache has no IR to show), on a line (nk = 1) and a plane: both branches.
    """
    options = {**dense_numba.deep_block.targetoptions, "cache": False}
    options.pop("nopython", None)  # implied by njit
    block = numba.njit(**options)(dense_numba.deep_block.py_func)
    points = _vector_bytes() // np.dtype(dtype).itemsize
    kc = 5
    for nk in (1, 2):
        wp = np.linspace(-1, 1, DEEP_ROWS * kc).astype(dtype)
        pin = np.linspace(-1, 1, kc * (1 + nk) * points).astype(dtype)
        o = np.zeros(DEEP_ROWS * (1 + nk) * points, dtype)
        block(wp, pin, kc, o, True, nk)
        # the block's sums (the IR is only worth reading if it runs), within the rounding
        # bound of a dot product of kc terms, gamma_kc |W| |a| with gamma_kc <= kc eps
        w, a = wp.reshape(DEEP_ROWS, kc).astype(np.float64), pin.reshape(kc, -1).astype(np.float64)
        bound = kc * np.finfo(dtype).eps * (np.abs(w) @ np.abs(a))
        assert np.all(np.abs(o.reshape(DEEP_ROWS, -1) - w @ a) <= bound)
    (ir,) = block.inspect_llvm().values()
    # the function itself, not its Python or C-callable wrappers
    start = re.search(r"^define [^\n]*@_ZN[^\n]*deep_block", ir, re.MULTILINE).start()
    return ir[start : ir.index("\n}\n", start)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_register_block_is_vectors_of_deep_vector_bytes(dtype):
    body = _body(dtype)
    name, suffix = LLVM_TYPES[np.dtype(dtype)]
    points = _vector_bytes() // np.dtype(dtype).itemsize
    # every floating-point vector is one register of the kernel's width, as C's dvec
    assert set(re.findall(rf"<(\d+) x {name}>", body)) == {str(points)}
    # the multiply-adds fused, on whole vectors: a line's 2 and a plane's 3 vectors a unit
    fmas = re.findall(rf"call [^\n]*@llvm\.fma\.v(\d+){suffix}\(", body)
    assert fmas and set(fmas) == {str(points)}
    assert len(fmas) >= DEEP_ROWS * (2 + 3)
    assert not re.search(rf"call [^\n]*@llvm\.fma\.{suffix}\(", body)  # no scalar one left over
    assert not re.search(rf"fmul [^\n]*{name}", body)  # nor a product rounded on its own
    # the accumulators live in registers: no stack array survives optimisation
    assert "alloca" not in body


@pytest.mark.parametrize(
    "features, expected",
    [
        ("+avx512f,+avx512vl,+avx512bw,+avx512dq,+avx2,+fma", 64),
        ("+avx2,+fma,-avx512f,+avx", DEEP_VECTOR),
        ("+avx512f,-avx512vl,+avx2,+fma", DEEP_VECTOR),  # no x86-64-v4 clone in C either
        ("", DEEP_VECTOR),  # Numba's portable "generic" target
    ],
)
def test_deep_vector_rule(features, expected):
    # the C twin's deep_vector_bytes, applied to a compile target's features
    assert dense_numba.deep_vector_bytes(features) == expected


def _sweep(kernel, t, params, out, depth):
    n, nk = t.shape[0], int(params[0][0])
    # poisoned: the kernel must write every element
    y = np.full((n, out), np.nan, t.dtype)
    slope = np.full((n, out, nk) if nk == 2 else (n, out), np.nan, t.dtype)
    negative = np.full((n, depth), -1, np.int32)
    kernel.sweep_deep(t, *params, y, slope, negative)
    return y, slope, negative


@pytest.mark.parametrize("vector_bytes", [16, 32, 64])
@pytest.mark.parametrize("nk", [1, 2])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_deep_vector_width_gives_the_same_bits(vector_bytes, nk, dtype):
    # The C twin has the deep kernel once per vector width (AVX2's, AVX-512's) and runs
    # the CPU's; forcing each in turn runs both here (16 bytes means AVX2's, as on a CPU
    # with SSE only).  The panels' layout changes with the width, the order of every sum
    # does not: each must give the Numba twin's bits, where the build fuses as Numba does.
    from fastrelu.kernels._c import lib

    from fastrelu.kernels import dense_c

    widths = [nk, 37, 70, 3] if nk == 2 else [nk, 70, 37, 1]
    net = fastrelu.Network.random(widths, seed=5, dtype=dtype)
    params = deep_params(net, np.dtype(dtype))
    n = 3 * 64 + 5  # whole tiles and a short last one
    rng = np.random.default_rng(1)
    t = rng.uniform(-2, 2, (n, nk) if nk == 2 else n).astype(dtype)
    # a portable C build has no FMA in its baseline (tests/test_deep_kernels.py): its widths
    # are held to each other's bits, here the default width's
    fused = lib.FASTRELU_BUILD_KIND in (1, 2) and "+fma" in dense_numba._target_features().split(",")
    want = _sweep(dense_numba if fused else dense_c, t, params, widths[-1], len(widths) - 2)
    lib.set_vector_bytes(vector_bytes)
    try:
        got = _sweep(dense_c, t, params, widths[-1], len(widths) - 2)
    finally:
        lib.set_vector_bytes(0)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


# a plain ReLU (alpha 0: -0.0 for every negative input) under clamps at signed zeros
# too, where a min or max that ignored the sign of zero would differ from C's ?:
@pytest.mark.parametrize("slope, lo, hi", [(0.1, -0.5, 0.75), (0.0, 0.0, 0.75), (0.1, -0.5, -0.0), (0.0, -0.0, 0.0)])
@pytest.mark.parametrize("nk", [1, 2])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hostile_points_give_the_same_bits_in_both_twins(nk, dtype, slope, lo, hi):
    # NaN, infinities, huge values and exact zeros through a clamped leaky layer (a NaN
    # must stay NaN through the clamp, as C's comparisons keep it; min/max would not)
    from fastrelu.kernels._c import lib

    from fastrelu.kernels import dense_c

    rng = np.random.default_rng(3)
    widths = np.array([nk, 19, 23, 2], np.int64)
    weights = rng.uniform(-1, 1, int(np.sum(widths[:-1] * widths[1:]))).astype(dtype)
    weights[5] = 0  # a zero weight
    biases = rng.uniform(-1, 1, int(np.sum(widths[1:]))).astype(dtype)
    biases[:3] = 0
    alpha = np.full(int(np.sum(widths[1:-1])), slope, dtype)
    lo, hi = np.array([lo, lo], dtype), np.array([hi, hi], dtype)
    big = np.finfo(dtype).max / 4
    special = np.array([np.nan, np.inf, -np.inf, big, -big, 0.0, -0.0, 1e-30], dtype)
    n = 2 * 64 + 11
    t = rng.uniform(-2, 2, (n, nk)).astype(dtype)
    t[: len(special), 0] = special
    t = t if nk == 2 else t[:, 0].copy()
    params = (widths, weights, biases, alpha, lo, hi)
    got = _sweep(dense_c, t, params, 2, 2)
    want = _sweep(dense_numba, t, params, 2, 2)
    assert np.isnan(got[0][0]).all()
    if lib.FASTRELU_BUILD_KIND in (1, 2) and "+fma" in dense_numba._target_features().split(","):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
            # bit for bit: assert_array_equal takes -0.0 for 0.0
            np.testing.assert_array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"))


def test_a_tile_is_whole_panels_at_every_width():
    # the panels of a tile are one vector register of points each, at either width
    from fastrelu.utils.config import DEEP_TILE

    for vector_bytes in (DEEP_VECTOR, 64):
        for itemsize in (4, 8):
            assert DEEP_TILE % (vector_bytes // itemsize) == 0


def _fresh(name):
    """``dense_numba.<name>`` compiled afresh with its own options but no disk cache (a
    function loaded from the cache has no IR to show)."""
    kernel = getattr(dense_numba, name)
    options = {**kernel.targetoptions, "cache": False}
    options.pop("nopython", None)  # implied by njit
    return numba.njit(**options)(kernel.py_func)


def _own_body(fresh, name):
    (ir,) = fresh.inspect_llvm().values()
    start = re.search(rf"^define [^\n]*@_ZN[^\n]*{name}", ir, re.MULTILINE).start()
    return ir[start : ir.index("\n}\n", start)]


def _activation_args(name, dtype, nk):
    """Arguments of deep_first or deep_layer (not the last layer) on one tile: 4 register
    blocks of units (no padding rows, so the kernel writes all of dst), 17 inputs, a
    leaky slope and a clamp that some points reach."""
    from fastrelu.utils.config import DEEP_TILE

    dt = np.dtype(dtype)
    rng = np.random.default_rng(nk)
    fan_out = 4 * DEEP_ROWS
    fan_in = nk if name == "deep_first" else 17
    in_pad = (fan_in + DEEP_ROWS - 1) // DEEP_ROWS * DEEP_ROWS
    w = rng.uniform(-1, 1, (fan_out, fan_in)).astype(dt)
    b = rng.uniform(-1, 1, fan_out).astype(dt)
    alpha = np.full(fan_out, 0.1, dt)
    lo, hi = dt.type(-0.5), dt.type(0.75)
    dst = np.full(fan_out * (1 + nk) * DEEP_TILE, np.nan, dt)
    negt = np.zeros(DEEP_TILE, dt)
    if name == "deep_first":
        tt = rng.uniform(-2, 2, DEEP_TILE * nk).astype(dt)
        return (w.reshape(-1), b, fan_out, nk, tt, dst, alpha, lo, hi, negt)
    src = rng.uniform(-1, 1, in_pad * (1 + nk) * DEEP_TILE).astype(dt)
    y = np.zeros((1, 1), dt)
    slope = np.zeros((1, nk), dt)
    # packed as deep_pack packs a layer of at most DEEP_KBLOCK inputs: unit after unit
    return (w.reshape(-1), b, fan_in, fan_out, nk, src, dst, alpha, lo, hi, negt, False, y, slope, 1)


@pytest.mark.parametrize("name", ["deep_first", "deep_layer"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activations_are_vectors_of_deep_vector_bytes(name, dtype):
    # The activation step (and the first layer's products) written on the panel's vectors,
    # as GCC vectorises the C twin's: left to LLVM, its clamp's comparisons stayed scalar.
    fresh = _fresh(name)
    for nk in (1, 2):
        # the IR is only worth reading if it runs: the same bits as the kernel the sweeps
        # call (which the tests above hold to the C twin's bits), every unit written
        got, want = _activation_args(name, dtype, nk), _activation_args(name, dtype, nk)
        fresh(*got)
        getattr(dense_numba, name)(*want)
        for a, b in zip(got, want):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
        i_dst, i_negt = (5, 9) if name == "deep_first" else (6, 10)
        assert not np.isnan(got[i_dst]).any() and 0 < got[i_negt].sum() < 4 * DEEP_ROWS * len(got[i_negt])
        assert (got[i_dst] == got[8 if name == "deep_first" else 9]).any()  # some clamped at hi
    body = _own_body(fresh, name)
    kind, _ = LLVM_TYPES[np.dtype(dtype)]
    points = _vector_bytes() // np.dtype(dtype).itemsize
    # every comparison and product on whole vectors of the kernel's width: none scalar
    compares = re.findall(r"= fcmp [^\n]*", body)
    assert len(compares) >= 2 * 4  # z > 0, v < lo, v > hi, lo < v < hi on a line and a plane
    assert all(f"<{points} x {kind}>" in c for c in compares)
    assert not re.search(rf"= f(?:mul|cmp)\b[^<\n]*\b{kind}\b", body)
    if name == "deep_first":  # z = w t + b fused, on vectors, as C's contracted products
        assert re.search(rf"call [^\n]*@llvm\.fma\.v{points}", body)
        assert not re.search(rf"= f(?:add|mul)\b[^<\n]*\b{kind}\b", body)
