"""The exact backend, kinks() and regions() at the sizes of the exact-analysis issue.

Every timed round of a sweep sorts the switch points afresh (the backend's cache of
the last network is cleared in the untimed setup), so the times include the sort.
The brute-force cffi kernel cannot do these sizes in reasonable time (10^14 pairs);
``test_cffi_throughput`` measures its pairs/s on a wide network so that benchmarks/README.md
can extrapolate.  Run:  python -m pytest benchmarks/bench_exact.py --benchmark-only
"""

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels import exact as _kernel_exact


def _time(benchmark, fn, *, points, hidden, rounds, clear=True):
    fn()  # warm up: JIT compile or load from cache, first touch of memory
    setup = _kernel_exact.clear_cache if clear else None
    out = benchmark.pedantic(fn, setup=setup, rounds=rounds, iterations=1)
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(points=points, hidden=hidden, seconds=seconds, pairs_per_s=points * hidden / seconds)
    return out


@pytest.mark.parametrize(
    "n, h, target",
    [(100_000_000, 1_000_000, 3.0), (20_000_000, 10_000_000, 5.0), (200_001, 4_096, None)],
    ids=["N=1e8-H=1e6", "N=2e7-H=1e7", "N=200001-H=4096"],
)
def test_exact_sweep(benchmark, n, h, target):
    net = fastrelu.Network.random(h, seed=0)
    res = _time(benchmark, lambda: fastrelu.sweep(net, num=n, backend="exact"), points=n, hidden=h, rounds=3)
    benchmark.extra_info["target_s"] = target
    assert res.backend == "exact"


def test_write_floor(benchmark):
    # what a sweep of 10^8 points cannot avoid: allocating and writing y, slope and negative
    n = 100_000_000

    def write():
        y, slope, negative = np.empty(n), np.empty(n), np.empty(n, np.int32)
        y.fill(1.0), slope.fill(1.0), negative.fill(1)
        return y

    _time(benchmark, write, points=n, hidden=1, rounds=3, clear=False)


@pytest.mark.parametrize("h", [10_000, 10_000_000], ids=["H=1e4", "H=1e7"])
def test_kinks(benchmark, h):
    net = fastrelu.Network.random(h, seed=0)
    _time(benchmark, lambda: fastrelu.kinks(net), points=1, hidden=h, rounds=20 if h < 10**6 else 3, clear=False)


def test_regions(benchmark):
    net = fastrelu.Network.random(1_000_000, seed=0)
    _time(benchmark, lambda: fastrelu.regions(net), points=1, hidden=net.hidden, rounds=3, clear=False)


def test_cffi_throughput(benchmark):
    # brute force at H = 10^6 on a short grid: its pairs/s extrapolates to the sizes above
    net = fastrelu.Network.random(1_000_000, seed=0)
    _time(benchmark, lambda: fastrelu.sweep(net, num=2_001, backend="cffi"), points=2_001, hidden=net.hidden, rounds=3, clear=False)
