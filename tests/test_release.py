"""The smaller promises of a release: each of these once went wrong."""

import numpy as np
import pytest

import fastrelu
from fastrelu import _sweep

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
    monkeypatch.setattr(_sweep, "CGROUP_FILES", ((str(tmp_path / "max"), str(tmp_path / "cur")),))
    assert _sweep._cgroup_room() == expected
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
