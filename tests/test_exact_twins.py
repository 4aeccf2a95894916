"""The exact backend's two twins, C (csrc/exact_c.c) and Numba
(kernels/exact_numba.py), agree bit for bit; and the default one-layer path,
which runs the C twin, never imports Numba.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels import exact, exact_numba


def _c_twin():
    """The C twin's module, or None when the C build is missing or predates it."""
    try:
        from fastrelu.kernels import exact_c
    except ImportError:
        return None
    return exact_c


class _Chosen:
    """The exact one-layer kernel of the twin a test chose (``twin(name)``): its module's
    functions (``prepare``, ``switch_groups``, threads) and, as ``_twin``, the module."""

    _twin = None

    def __getattr__(self, name):
        return getattr(type(self)._twin, name)


C_TWIN = _c_twin()
ek = _Chosen()
_Chosen._twin = C_TWIN or exact_numba

try:
    import numba  # noqa: F401

    NUMBA_ERROR = None
except ImportError as exc:  # pragma: no cover
    NUMBA_ERROR = exc


def _require(c=True, numba=True):
    """Fail, never skip, when a twin is missing: CI builds both (see conftest.py)."""
    if c and C_TWIN is None:
        pytest.fail("the C build (fastrelu.kernels._c) has no exact kernel here: " + fastrelu.backends()["cffi"].reason)
    if numba and NUMBA_ERROR is not None:
        pytest.fail(f"Numba cannot be imported: {NUMBA_ERROR}")


@pytest.fixture
def twin(monkeypatch):
    """``use(name)`` makes the exact backend run twin ``name`` ("c" or "numba")."""

    _require()

    from fastrelu.kernels.registry import _REGISTRY

    (c_kernel,) = [k for k in _REGISTRY["exact"].kernels if k.module_name == ".exact_c"]

    def use(name):
        monkeypatch.setattr(_Chosen, "_twin", C_TWIN if name == "c" else exact_numba)
        # the dispatcher too: with the C twin's kernel unavailable it runs the Numba twin
        monkeypatch.setattr(c_kernel, "_module", C_TWIN if name == "c" else None)
        monkeypatch.setattr(c_kernel, "_reason", None if name == "c" else "the test runs the Numba twin")
        exact.clear_cache()

    yield use
    exact.clear_cache()


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.dtype, a.shape, a.view(np.uint8).tobytes()


def _everything(w1, b1, w2, b2, alpha, x):
    """Every array the exact kernels produce for one network and grid."""
    ev = ek.prepare(w1, b1, w2, b2, alpha)
    bare = ek.prepare(w1, b1, w2, b2, alpha, lines=False)
    starts, change = ek.switch_groups(ev)
    y, slope, neg = np.empty_like(x), np.empty_like(x), np.empty(x.shape[0], np.int32)
    ek._twin._evaluate(x, ev.ts, ev.sw1, ev.sb1, ev.sw2, ev.state, ev.neg, ev.alpha, y, slope, neg)
    out = {k: getattr(ev, k) for k in ("ts", "sw1", "sb1", "sw2", "state", "neg")}
    out.update(bare_ts=bare.ts, bare_sw1=bare.sw1, bare_state=bare.state, starts=starts, change=change, y=y, slope=slope, negative=neg)
    return out


def _assert_twins_agree(twin, w1, b1, w2, b2, alpha, x):
    results = {}
    for name in ("c", "numba"):
        twin(name)
        results[name] = _everything(w1, b1, w2, b2, alpha, x)
    for key, a in results["c"].items():
        assert _bits(a) == _bits(results["numba"][key]), key
    return results["c"]


def _grids(ev_ts, rng, n, dtype):
    """An unsorted grid that hits every switch point, and the same sorted."""
    finite = ev_ts[np.isfinite(ev_ts)]
    x = np.concatenate([rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4), finite, finite[::2]]).astype(dtype)
    rng.shuffle(x)
    return x, np.sort(x)


def _random_network(rng, h):
    scale = lambda: 10.0 ** rng.integers(-6, 7, h)  # noqa: E731
    return rng.standard_normal(h) * scale(), rng.standard_normal(h) * scale(), rng.standard_normal(h) * scale()


def test_chunk_matches_the_numba_twin():
    _require()
    from fastrelu.kernels import exact_numba

    assert C_TWIN.lib.FASTRELU_EXACT_CHUNK == exact_numba.EXACT_CHUNK == 1 << 16


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_networks(twin, seed, dtype):
    rng = np.random.default_rng(seed)
    h = int(rng.integers(1, 4000))
    w1, b1, w2 = (a.astype(dtype) for a in _random_network(rng, h))
    alpha = [0.0, 0.01, 0.2, -0.5, 1.0, 3.0][seed % 6]
    b2 = float(dtype(rng.standard_normal()))
    ts = ek.prepare(w1, b1, w2, b2, alpha).ts
    for x in _grids(ts, rng, 3000, dtype):
        _assert_twins_agree(twin, w1, b1, w2, b2, alpha, x)


def _hostile():
    """Networks built to hit every special path: ``(name, w1, b1, w2, b2, alpha)``."""
    tiny, huge = 5e-324, 1e300
    yield "one unit", [2.0], [-1.0], [3.0], 0.5, 0.0
    yield "no switching unit (all w1 == 0)", [0.0, 0.0, 0.0], [1.0, -1.0, 0.0], [2.0, 3.0, 4.0], 1.0, 0.1
    yield "w1 == 0 among others", [0.0, 1.0, 0.0, -1.0], [2.0, 0.5, -3.0, 0.25], [1.0, -2.0, 5.0, 3.0], -1.0, 0.05
    # three units switching at x = 1 whose slope changes cancel exactly, and duplicates at 0
    yield "cancelling duplicates", [1.0, -1.0, 2.0, 1.0, 1.0, 4.0], [-1.0, 1.0, -2.0, 0.0, -0.0, 0.0], [1.0, 1.0, -0.5, 1.0, -1.0, 0.25], 0.0, 0.0
    yield "leaky cancelling", [3.0, -3.0, 1.5], [-3.0, 3.0, -1.5], [1.0, 1.0, -4.0], 0.0, 0.25
    yield "huge and tiny weights", [huge, tiny, -huge, 1e-200, 1e200], [1.0, 1.0, huge, -1e200, 1e-200], [tiny, huge, 1e-300, 1e150, -1e-150], 1e300, 0.01
    yield "switches beyond float64", [1e-300, -1e-300, 1e-308], [1e300, 1e300, -1e10], [1.0, 2.0, 3.0], 0.0, 0.0
    yield "subnormal products", [1e-160, -1e-160, 3e-170], [1e-160, 2e-160, -1e-165], [1e-160, 7e-161, 1e-150], 0.0, 0.1
    rng = np.random.default_rng(7)
    # many equal and nearly equal switch points: the insertion pass runs out of budget
    w1 = rng.choice([1.0, -1.0, 2.0, -0.5], 3000)
    b1 = -w1 * (1.0 + rng.integers(0, 4, 3000) * 2.0**-52)
    yield "nearly equal switch points", w1, b1, rng.standard_normal(3000), 0.3, 0.0
    # integer weights: many exact ties and exactly cancelling sums
    w1 = rng.integers(-3, 4, 500).astype(float)
    yield "small integers", w1, rng.integers(-5, 6, 500).astype(float), rng.integers(-2, 3, 500).astype(float), 1.0, 0.5


def _in_range(a, dtype):
    """``a`` in ``dtype``, its huge and tiny values kept at the ends of that dtype's range."""
    fi = np.finfo(dtype)
    mag = np.clip(np.abs(a), fi.smallest_subnormal, fi.max)
    return np.where(a == 0, a, np.copysign(mag, a)).astype(dtype)


@pytest.mark.parametrize("case", list(_hostile()), ids=lambda c: c[0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hostile_networks(twin, case, dtype):
    _, w1, b1, w2, b2, alpha = case
    w1, b1, w2, b2 = (_in_range(np.asarray(a, np.float64), dtype) for a in (w1, b1, w2, b2))
    b2 = float(b2)
    rng = np.random.default_rng(len(w1))
    ts = ek.prepare(w1, b1, w2, b2, alpha).ts
    with np.errstate(over="ignore"):
        grids = [*_grids(ts, rng, 200, dtype), ts[np.isfinite(ts)][:1].astype(dtype), np.array([0.0], dtype)]
    for x in grids:
        if x.shape[0]:
            _assert_twins_agree(twin, w1, b1, w2, b2, alpha, x)


def test_nearly_equal_switch_points_fall_back_alike(twin):
    # keys that share their high bits force the insertion pass over its budget in both twins
    m = 5000
    t = np.sort(1.0 + np.arange(m) * 2.0**-52)[::-1].copy()
    bits = max(1, (m - 1).bit_length())
    done = {}
    for name in ("c", "numba"):
        twin(name)
        keys = np.empty(m, np.uint64)
        ek._twin._pack_keys(t.view(np.uint64), bits, keys)
        done[name] = keys.copy()
        keys.sort()
        pos, ts = np.empty(m, np.int64), np.empty(m, np.float64)
        done[name + " finished"] = ek._twin._unpack_keys(keys, bits, t, pos, ts)
    assert _bits(done["c"]) == _bits(done["numba"])
    assert done["c finished"] is False and done["numba finished"] is False


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sweeps_agree(twin, dtype):
    # a grid of several parallel chunks, one network a sweep chooses exact for
    net = fastrelu.Network.random(300, seed=3, dtype=dtype)
    results = {}
    for name in ("c", "numba"):
        twin(name)
        res = fastrelu.sweep(net, -5, 5, num=3 * (1 << 16) + 17, backend="exact", threads=2)
        pts = fastrelu.sweep(net, x=np.random.default_rng(0).uniform(-5, 5, 70_000), backend="exact")
        results[name] = [res.y, res.slope, res.negative, pts.y, pts.slope, pts.negative, fastrelu.kinks(net)]
    for a, b in zip(results["c"], results["numba"]):
        assert _bits(a) == _bits(b)


def test_the_twin_fixture_switches_what_sweeps_run(twin):
    from fastrelu.kernels.registry import kernel_for, module_of

    net = fastrelu.Network.random(30, seed=0)
    for name, module in (("numba", exact_numba), ("c", C_TWIN)):
        twin(name)
        assert kernel_for("exact", net).module is module and module_of("exact", "one_layer") is module


def test_threads_follow_openmp():
    _require(numba=False)
    assert ek.get_num_threads() == C_TWIN.lib.get_num_threads()
    before = ek.get_num_threads()
    try:
        ek.set_num_threads(1)
        assert ek.get_num_threads() == 1 == C_TWIN.lib.get_num_threads()
    finally:
        ek.set_num_threads(before)


def test_one_layer_default_path_does_not_import_numba(tmp_path):
    _require(numba=False)
    code = (
        "import sys\n"
        "import fastrelu\n"
        "net = fastrelu.Network.random(100, seed=0)\n"
        "res = fastrelu.sweep(net)\n"
        "assert res.backend == 'exact', res.backend\n"
        "fastrelu.kinks(net)\n"
        "fastrelu.regions(net, -1, 1)\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
        "from fastrelu.cli.main import main\n"
        "main([])\n"
        "assert 'numba' not in sys.modules, 'the demo imported numba'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FASTRELU_BACKEND"}
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_deep_functions_are_imported_on_first_use():
    # the exact backend's deep kernel is the walk's module, loaded by the dispatcher
    # (never by the one-layer module, which stays free of Numba when the C twin is built)
    _require(c=False)
    from fastrelu.kernels import registry
    from fastrelu.kernels import walk as exact_deep

    deep = registry.kernel_for("exact", fastrelu.Network.random([1, 4, 4, 1], seed=0))
    assert deep.module is exact_deep and deep.kind == "deep"
    assert registry.module_of("exact", "deep").walk is exact_deep.walk
    with pytest.raises(AttributeError):
        exact.sweep_deep  # noqa: B018


def test_numba_twin_runs_as_plain_python_and_still_agrees():
    # NUMBA_DISABLE_JIT=1 turns the Numba twin into Python (coverage runs): its fma is
    # then exact rational arithmetic rounded once, so the twins still agree bit for bit
    _require()
    code = (
        "import numpy as np\n"
        "from fastrelu.kernels import exact_c, exact_numba\n"
        "w1 = np.array([1.0, -1.0, 2.0, 0.0, 3e-5, -7.0]); b1 = np.array([-1.0, 1.0, -2.0, 1.0, 0.1, 0.3])\n"
        "w2 = np.array([1.0, 1.0, -0.5, 2.0, 1e5, 0.1])\n"
        "out = []\n"
        "for twin in (exact_c, exact_numba):\n"
        "    ev = twin.prepare(w1, b1, w2, 0.5, 0.1)\n"
        "    x = np.concatenate([np.linspace(-3, 3, 7), ev.ts])\n"
        "    y, s, n = np.empty_like(x), np.empty_like(x), np.empty(x.shape[0], np.int32)\n"
        "    twin._evaluate(x, ev.ts, ev.sw1, ev.sb1, ev.sw2, ev.state, ev.neg, ev.alpha, y, s, n)\n"
        "    out.append([ev.ts, ev.state, ev.neg, *twin.switch_groups(ev), y, s, n])\n"
        "print(all(np.array_equal(a.view(np.uint8), b.view(np.uint8)) for a, b in zip(*out)))\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "True", out.stderr


def test_without_the_c_build_the_numba_twin_runs():
    # the C build is optional: without fastrelu.kernels._c the exact backend falls back to Numba
    _require(c=False)
    code = (
        "import sys\n"
        "class NoC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'fastrelu.kernels._c':\n"
        "            raise ImportError('no C build')\n"
        "sys.meta_path.insert(0, NoC())\n"
        "import fastrelu\n"
        "from fastrelu.kernels import exact_numba, registry\n"
        "assert registry.module_of('exact', 'one_layer') is exact_numba\n"
        "net = fastrelu.Network.random(100, seed=0)\n"
        "assert fastrelu.sweep(net).backend == 'exact'\n"
        "print(fastrelu.kinks(net).shape[0], exact_numba.get_num_threads() >= 1)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == [str(fastrelu.kinks(fastrelu.Network.random(100, seed=0)).shape[0]), "True"], out.stderr
