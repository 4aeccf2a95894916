"""The C and Numba kernels are twins: same tiling constants, bit-identical results."""

import numpy as np
import pytest

import fastrelu
from fastrelu.utils import config as _config


def test_tiling_constants_match():
    from fastrelu.kernels._c import lib

    assert (lib.FASTRELU_HBLOCK, lib.FASTRELU_CHUNK) == (_config.HBLOCK, _config.CHUNK)


def test_the_c_build_used_every_constant_of_the_config():
    # csrc/build_c.py passes config.C_CONSTANTS to the compiler; the build exports each
    # again as FASTRELU_<name>
    from fastrelu.kernels._c import lib

    assert {"HBLOCK", "CHUNK", "EXACT_CHUNK"} <= set(_config.C_CONSTANTS)
    for name in _config.C_CONSTANTS:
        assert getattr(lib, "FASTRELU_" + name) == getattr(_config, name), name


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_twins_choose_the_same_register_block(dtype):
    # Each twin sizes its register block from the CPU (two vector registers): the C
    # one from the running CPU, the Numba one from its compile target.  On a CPU the
    # C clones cover (AVX2 + FMA, or AVX-512) they must agree, and the block must fit
    # the stack arrays sized for the largest one.
    from fastrelu.kernels._c import lib
    from fastrelu.kernels import dense_numba as numba_kernel

    itemsize = np.dtype(dtype).itemsize
    c_points = lib.register_points(itemsize)
    numba_points = numba_kernel.register_points(np.dtype(dtype))
    assert c_points * itemsize in (32, 64, 128) and c_points <= _config.MAX_RBLOCK
    if lib.FASTRELU_BUILD_KIND in (1, 2) and _cpu_has_fma():
        assert numba_points == c_points


@pytest.mark.parametrize("vector_bytes", [16, 32, 64])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_register_block_width_gives_the_same_bits(vector_bytes, dtype):
    # The C twin has one instantiation per vector width and runs the CPU's; forcing
    # each in turn runs them all here (64 bytes is AVX-512's, lowered to narrower
    # vectors on other CPUs): every width must give the Numba twin's bits.
    from fastrelu.kernels._c import lib

    # more units than a block (HBLOCK): the running sums wait in y and slope between blocks
    net = fastrelu.Network.random(_config.HBLOCK + 5, seed=11, dtype=dtype)
    a = fastrelu.sweep(net, num=5 * 1024 + 37, backend="numba")
    lib.set_vector_bytes(vector_bytes)
    try:
        b = fastrelu.sweep(net, num=5 * 1024 + 37, backend="cffi")
    finally:
        lib.set_vector_bytes(0)
    if not (lib.FASTRELU_BUILD_KIND in (1, 2) and _cpu_has_fma()):
        from fastrelu.kernels.agreement import compare

        assert compare(b, a).ok
        return
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.slope, b.slope)
    np.testing.assert_array_equal(a.negative, b.negative)


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
    from fastrelu.kernels import dense_numba as numba_kernel

    assert numba_kernel.target_vector_bytes(features) == expected


def test_deep_tiling_constants_match():
    from fastrelu.kernels._c import lib

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
    from fastrelu.kernels._c import lib

    fused = lib.FASTRELU_BUILD_KIND in (1, 2) and _cpu_has_fma()
    net = fastrelu.Network.random(hidden, seed=hidden, dtype=dtype)
    a = fastrelu.sweep(net, num=num, backend="numba")
    b = fastrelu.sweep(net, num=num, backend="cffi")
    if not fused:
        from fastrelu.kernels.agreement import compare

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

    code = "import fastrelu.utils.config as c; print(c.NUMBA_CACHE)"
    for value, expected in (("0", "False"), ("1", "True"), ("off", "False")):
        env = {**__import__("os").environ, "FASTRELU_NUMBA_CACHE": value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


def test_exact_numba_kernels_are_compiled_without_fastmath():
    # double-double sums are error-free only when nothing is contracted or reassociated
    from fastrelu.kernels import exact_numba

    jitted = [f for f in vars(exact_numba).values() if hasattr(f, "targetoptions")]
    assert jitted and all(not f.targetoptions.get("fastmath") for f in jitted)


# An AVX-512 target's features, for compiling (never running) the Numba twin for CPUs
# this machine may not be.
_AVX512 = "+avx512f,+avx512vl,+avx512dq,+avx512bw,+avx512cd,+avx2,+fma,+avx,+bmi,+bmi2,+f16c,+popcnt,+sse4.2,+sse4.1,+ssse3,+sse3,+sse2"

_HOT_LOOP = r"""
import re, sys
import numpy as np
from fastrelu.kernels import dense_numba as nk

for dtype in ("float64", "float32"):
    a = np.zeros(10, dtype)
    args = (0, 0, a, a, a, a, a.dtype.type(0), a, a.dtype.type(0), a.copy(), a.copy(), np.zeros(10, np.int32))
    nk._compile_vectorised(nk._sweep_kernel, args)  # as sweep_kernel compiles it, sweep_vec within
    asm = nk._sweep_kernel.inspect_asm(nk._sweep_kernel.signatures[-1]).splitlines()
    loops = []  # the instructions of each loop that compares
    for k, line in enumerate(asm):
        label = re.match(r"^(\.LBB\d+_\d+):", line)
        if label:
            for e in range(k + 1, min(k + 300, len(asm))):
                if re.search(r"\bj\w+\s+" + re.escape(label.group(1)) + "$", asm[e]):
                    body = [x for x in asm[k:e + 1] if x.startswith("\t") and not x.startswith("\t.")]
                    if any("vcmp" in x for x in body):
                        loops.append(body)
                    break
    hot = min(loops, key=len)  # the innermost: the loop over units
    print(dtype, len(hot), sum("zmm" in x for x in hot), sum("rsp" in x for x in hot))
"""


@pytest.mark.parametrize("cpu", ["sapphirerapids", "skylake-avx512", "znver4"])
def test_numba_twin_uses_512_bit_vectors_without_spills_on_avx512(cpu):
    # LLVM tunes Intel server CPUs to prefer 256-bit vectors, which halved the Numba
    # twin's speed against GCC's x86-64-v4 clone (512-bit).  Compiled for AVX-512 CPUs
    # (compiled only: this machine need not have AVX-512), the loop over units must use
    # zmm registers and keep every accumulator in a register (no stack access).
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": _AVX512, "FASTRELU_NUMBA_CACHE": "0"}
    out = subprocess.run([sys.executable, "-c", _HOT_LOOP], env=env, capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        dtype, size, zmm, stack = line.split()
        assert int(zmm) > 0 and int(stack) == 0, (cpu, line)


@pytest.mark.parametrize("nchunks", [0, 1, 2, 7, 1000])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_run_covers_every_chunk_once(nchunks, threads):
    import threading

    from fastrelu.kernels import threads as pool

    seen, names = [], set()

    def work(c0, c1):
        assert 0 <= c0 < c1 <= nchunks
        seen.extend(range(c0, c1))
        names.add(threading.current_thread().name)

    pool.set_num_threads(threads)
    try:
        pool.run(work, nchunks)
    finally:
        pool.set_num_threads(pool.DEFAULT_THREADS)
    assert sorted(seen) == list(range(nchunks))
    assert len(names) <= threads


def test_threads_run_raises_a_workers_error_after_all_stopped():
    # The first range fails once a second one is being worked on; run must not return
    # (raise) while that second one still runs, and must hand out nothing more.
    import threading

    from fastrelu.kernels import threads as pool

    lock, calls, active = threading.Lock(), [], [0]
    entered, release = threading.Event(), threading.Event()

    def work(c0, c1):
        with lock:
            calls.append(c0)
            first = len(calls) == 1
            active[0] += 1
        try:
            if first:
                entered.wait(5)
                raise ValueError("the first range failed")
            entered.set()
            release.wait(1)  # still writing when the first range fails
        finally:
            with lock:
                active[0] -= 1

    pool.set_num_threads(3)
    try:
        with pytest.raises(ValueError, match="the first range failed"):
            pool.run(work, 1000)
    finally:
        pool.set_num_threads(pool.DEFAULT_THREADS)
    assert active[0] == 0
    assert len(calls) < 10  # the others stopped after their current range
