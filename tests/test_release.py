"""The smaller promises of a release: each of these once went wrong."""

import numpy as np
import pytest

import fastrelu
from fastrelu.sweeps import sweep as _sweep
from fastrelu.utils import memory as _memory

NET = fastrelu.Network.random(50, seed=0)


def test_threads_beyond_any_machine_is_a_value_error_before_the_sweep():
    for backend in ("cffi", "numba", "numpy", "exact"):
        with pytest.raises(ValueError, match="threads must be at most 1024"):
            fastrelu.sweep(NET, num=10, backend=backend, threads=2**31)


def test_npz_is_recognised_in_any_case(tmp_path):
    res = fastrelu.sweep(NET, num=10, out=tmp_path / "R.NPZ")
    assert isinstance(res, fastrelu.SweepResult)
    assert isinstance(fastrelu.open_result(tmp_path / "R.NPZ"), fastrelu.SweepResult)


def test_start_and_stop_are_not_ignored_beside_explicit_points():
    with pytest.raises(TypeError, match="either as x or as start/stop"):
        fastrelu.sweep(NET, -5, 5, x=[0.0, 1.0])


def test_calling_a_network_checks_the_range():
    net = fastrelu.Network([1e300], [0.0], [1e300])
    with pytest.raises(ValueError, match="could overflow"):
        net(1e10)
    assert float(net(1e-300)) == pytest.approx(1e300)


def test_kinks_never_infinite():
    net = fastrelu.Network([1e-300, 1.0], [1e300, 0.5], [1.0, 2.0])  # the first switches beyond float64
    with np.errstate(all="raise"):
        assert fastrelu.kinks(net).tolist() == [-0.5]
        assert fastrelu.kinks(net, boundaries=True).tolist() == [-0.5]
    assert np.isfinite(fastrelu.regions(net).lo[1:]).all()


@pytest.mark.parametrize(
    "limit, usage, expected",
    [("1073741824\n", "73741824\n", 1_000_000_000), ("max\n", "5\n", None), (str(1 << 62), "5", None)],
)
def test_memory_guard_honours_cgroup_limits(tmp_path, monkeypatch, limit, usage, expected):
    (tmp_path / "max").write_text(limit)
    (tmp_path / "cur").write_text(usage)
    monkeypatch.setattr(_memory, "CGROUP_FILES", ((str(tmp_path / "max"), str(tmp_path / "cur")),))
    assert _memory._cgroup_room() == expected
    if expected is not None:
        # a container with 1 GB left refuses 10^9 points, before allocating anything
        with pytest.raises(ValueError, match="of memory is available"):
            fastrelu.sweep(NET, num=10**9)


def test_memory_guard_says_so_when_memory_cannot_be_read(monkeypatch):
    monkeypatch.setattr(_sweep, "_available_memory", lambda: None)

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(_sweep, "run", no_memory)
    with pytest.raises(MemoryError, match="could not be read"):
        fastrelu.sweep(NET, num=10)


@pytest.mark.parametrize("backend", ["exact", "cffi", "numba", "numpy"])
def test_sweeps_from_several_threads_at_once(backend):
    # two networks swept from four threads at once: each result is its own network's
    # (the exact backend's cache once published its key before its events)
    from concurrent.futures import ThreadPoolExecutor

    nets = [fastrelu.Network.random(300, seed=s) for s in (1, 2)]
    deep = fastrelu.Network.random([1, 24, 24, 1], seed=3)
    jobs = [nets[0], nets[1], deep, nets[0], nets[1], deep] * 3
    expected = {id(n): fastrelu.sweep(n, num=20_001, backend=backend) for n in (*nets, deep)}

    def run(net):
        return net, fastrelu.sweep(net, num=20_001, backend=backend)

    with ThreadPoolExecutor(4) as pool:
        for net, res in pool.map(run, jobs):
            np.testing.assert_array_equal(res.y, expected[id(net)].y)
            np.testing.assert_array_equal(res.negative, expected[id(net)].negative)


def test_deep_analysis_stays_in_its_interval_after_a_wider_walk():
    # the deep walk is cached; an earlier, wider walk once leaked its pieces into a narrower request
    net = fastrelu.Network.random([1, 8, 8, 1], seed=0)
    first = fastrelu.kinks(net, start=0, stop=1)
    fastrelu.kinks(net)
    np.testing.assert_array_equal(fastrelu.kinks(net, start=0, stop=1), first)
    r = fastrelu.regions(net, 0, 1)
    assert r.lo[0] == 0 and r.hi[-1] == 1 and len(r) == first.size + 1


@pytest.mark.parametrize("start, stop", [(0.5, 1.0), (0.0, 0.5), (0.5, 0.5), (-3.0, 3.0)])
def test_deep_and_one_layer_analysis_agree_at_the_ends(start, stop):
    # the same function as one hidden layer and as two: kinks in the closed interval, the same pieces
    one = fastrelu.Network([2.0], [-1.0], [1.0])
    deep = fastrelu.Network.from_layers([([[2.0]], [-1.0]), ([[1.0]], [0.0]), ([[1.0]], [0.0])])
    np.testing.assert_array_equal(fastrelu.kinks(deep, start, stop), fastrelu.kinks(one, start, stop))
    a, b = fastrelu.regions(one, start, stop), fastrelu.regions(deep, start, stop)
    for name in ("lo", "hi", "slope", "intercept"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_threads_hold_for_deep_exact_sweeps(monkeypatch):
    from fastrelu.kernels import threads
    from fastrelu.kernels import walk as exact_deep

    seen = []
    real = exact_deep.walk

    def spy(*args):
        seen.append(threads.get_num_threads())
        return real(*args)

    monkeypatch.setattr(exact_deep, "walk", spy)
    exact_deep.clear_cache()
    fastrelu.sweep(fastrelu.Network.random([1, 16, 16, 1], seed=7), num=1000, backend="exact", threads=1)
    assert seen == [1]


def test_threads_argument_restores_every_thread_setting_of_the_exact_backend():
    # the exact backend sets two thread counts (its C twin's OpenMP and the deep walk's
    # Numba kernels); threads= must put both back as they were, not one from the other
    from fastrelu.kernels.registry import select

    exact_kernel = select("exact")[1]  # the module its threads are set through
    before = exact_kernel.thread_state()
    exact_kernel.restore_threads((2, 3))
    try:
        fastrelu.sweep(fastrelu.Network.random(50, seed=1), num=100, backend="exact", threads=1)
        assert exact_kernel.thread_state() == (2, 3)
    finally:
        exact_kernel.restore_threads(before)


def test_stored_arrays_refuse_unwritten_chunks(tmp_path):
    import zarr

    path = tmp_path / "r.zarr"
    fastrelu.sweep(NET, num=1000, out=path, chunk=300)
    zarr.open_group(path, mode="r+")["done"][1] = False
    res = fastrelu.open_result(path)
    assert res.y[:300].shape == (300,) and res.negative[-100:].shape == (100,)
    for key in (slice(290, 310), 450, [1, 301], slice(None, None, 400), Ellipsis):
        with pytest.raises(ValueError, match="points 300 to 599 were never written"):
            res.y[key]
    with pytest.raises(ValueError, match="never written"):
        np.asarray(res.slope)


@pytest.mark.parametrize("widths", [100, [1, 64, 64, 1]], ids=["one-layer", "deep"])
@pytest.mark.parametrize("backend", ["numba", "cffi", "exact"])
def test_sweeps_in_a_process_forked_after_a_parallel_sweep(backend, widths):
    # Python's multiprocessing forks by default on Linux.  A child forked after a
    # parallel sweep inherits thread pools without their threads: GNU OpenMP's (the C
    # kernels), and fastrelu's own (the Numba kernels).  The child must get the same
    # results, not hang: the Numba kernels start a new pool; the C kernels run on one
    # thread and say so.  progress=False: each sweep one kernel call over every point (a
    # sweep under a progress bar runs in parts, too small for the C kernels' threads).
    import subprocess
    import sys

    code = (
        "import multiprocessing as mp, warnings, fastrelu\n"
        f"net = fastrelu.Network.random({widths!r}, seed=0)\n"
        f"ref = fastrelu.sweep(net, num=200_001, backend={backend!r}, threads=2, progress=False)\n"
        "def child(q):\n"
        "    with warnings.catch_warnings(record=True) as caught:\n"
        "        warnings.simplefilter('always')\n"
        f"        res = fastrelu.sweep(net, num=200_001, backend={backend!r}, threads=2, progress=False)\n"
        "    q.put((res.y.tobytes() == ref.y.tobytes(), [str(w.message)[:33] for w in caught]))\n"
        "ctx = mp.get_context('fork')\n"
        "q = ctx.Queue()\n"
        "p = ctx.Process(target=child, args=(q,), daemon=True)\n"  # ended with us if it hangs
        "p.start()\n"
        "print(q.get(timeout=60))\n"
        "p.join()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    same, warned = eval(out.stdout.strip() or "(None, None)")
    assert same is True, out.stderr
    uses_openmp = backend == "cffi" or (backend == "exact" and widths == 100)
    assert warned == (["fastrelu: this process was forked"] if uses_openmp else [])
