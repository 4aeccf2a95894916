"""The C and Numba kernels are twins: same tiling constants, bit-identical results."""

import numpy as np
import pytest

import fastrelu
from fastrelu import _config


def test_tiling_constants_match():
    from fastrelu._ckernel import lib

    assert (lib.FASTRELU_HBLOCK, lib.FASTRELU_CHUNK) == (_config.HBLOCK, _config.CHUNK)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_twins_choose_the_same_register_block(dtype):
    # Each twin sizes its register block from the CPU (two vector registers): the C
    # one from the running CPU, the Numba one from its compile target.  On a CPU the
    # C clones cover (AVX2 + FMA, or AVX-512) they must agree, and the block must fit
    # the stack arrays sized for the largest one.
    from fastrelu._ckernel import lib
    from fastrelu.backends import numba_kernel

    itemsize = np.dtype(dtype).itemsize
    c_points = lib.register_points(itemsize)
    numba_points = numba_kernel.register_points(np.dtype(dtype))
    assert c_points * itemsize in (32, 64, 128) and c_points <= _config.MAX_RBLOCK
    if lib.FASTRELU_BUILD_KIND in (1, 2) and _cpu_has_fma():
        assert numba_points == c_points


@pytest.mark.parametrize(
    "features, expected",
    [
        ("+avx2,+fma,-avx512f,+avx", 32),
        ("+avx512f,+avx512vl,+avx512bw,+avx512dq,+avx2,+fma,-prefer-256-bit", 64),
        ("+avx512f,-avx512vl,+avx2,+fma", 32),  # Knights Landing: no VL, so no x86-64-v4 clone in C
        ("+sse2,+avx,-avx2", 16),
        ("", 16),  # Numba's portable "generic" target
    ],
)
def test_register_block_rule(features, expected):
    from fastrelu.backends import numba_kernel

    assert numba_kernel.target_vector_bytes(features) == expected


def test_deep_tiling_constants_match():
    from fastrelu._ckernel import lib

    names = ["DEEP_TILE", "DEEP_VECTOR", "DEEP_ROWS", "DEEP_KBLOCK", "DEEP_MBLOCK", "DEEP_CHUNK_TILES"]
    assert [getattr(lib, "FASTRELU_" + n) for n in names] == [getattr(_config, n) for n in names]
    # a tile is a whole number of register blocks in both dtypes
    for itemsize in (4, 8):
        assert _config.DEEP_TILE % (_config.DEEP_VECTOR // itemsize) == 0


def test_fastmath_never_assumes_away_nan_or_inf():
    assert not {"fast", "nnan", "ninf", "reassoc"} & _config.FASTMATH


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hidden, num", [(1, 1), (5000, 1000), (100, 2 * 64 * 16 + 3)])
def test_twins_agree_bit_for_bit(dtype, hidden, num):
    # Which builds must give the same bits: both twins sum each point's units in order
    # j = 0..H-1, and Numba fuses multiply-adds wherever the CPU has FMA.  The C build
    # does too when it is GCC's run-time clones (x86-64-v3/v4) or -march=native on
    # such a CPU: then the bits must match.  A portable build (clang, musl, old GCC,
    # other CPUs) has no FMA in its baseline: there it must agree by the rounding
    # rule instead, as every backend does.
    from fastrelu._ckernel import lib

    fused = lib.FASTRELU_BUILD_KIND in (1, 2) and _cpu_has_fma()
    net = fastrelu.Network.random(hidden, seed=hidden, dtype=dtype)
    a = fastrelu.sweep(net, num=num, backend="numba")
    b = fastrelu.sweep(net, num=num, backend="cffi")
    if not fused:
        from fastrelu.backends.agreement import compare

        assert compare(b, a).ok
        return
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.slope, b.slope)
    np.testing.assert_array_equal(a.negative, b.negative)


def _cpu_has_fma():
    with open("/proc/cpuinfo") as f:
        return " fma " in f.read().replace("\n", " ")


def test_numba_cache_can_be_switched_off(monkeypatch):
    import subprocess
    import sys

    code = "import fastrelu._config as c; print(c.NUMBA_CACHE)"
    for value, expected in (("0", "False"), ("1", "True"), ("off", "False")):
        env = {**__import__("os").environ, "FASTRELU_NUMBA_CACHE": value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


def test_exact_numba_kernels_are_compiled_without_fastmath():
    # double-double sums are error-free only when nothing is contracted or reassociated
    from fastrelu.backends import exact_numba

    jitted = [f for f in vars(exact_numba).values() if hasattr(f, "targetoptions")]
    assert jitted and all(not f.targetoptions.get("fastmath") for f in jitted)
