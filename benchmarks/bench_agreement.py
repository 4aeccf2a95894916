"""The agreement rule (``fastrelu.kernels.agreement``) against the sweep it checks.

``tolerances`` (once per reference) and ``check`` (once per backend) are timed beside the
numpy reference's own sweep of the same grid, in the same run: the printed ratios say what
checking costs next to computing.  Run:
python -m pytest benchmarks/bench_agreement.py --benchmark-only -s
"""

import time

import pytest

import fastrelu
from fastrelu.kernels.agreement import check, tolerances

_TIMES = {}


def _best(fn, rounds=3):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.parametrize("n", [20_001, 100_000], ids=["N=20001", "N=1e5"])
@pytest.mark.parametrize("stage", ["reference sweep", "tolerances", "check"])
def test_agreement(benchmark, n, stage):
    net = fastrelu.Network.random(1000, seed=0)
    ref = fastrelu.sweep(net, num=n, backend="numpy")
    res = fastrelu.sweep(net, num=n, backend="exact")
    tol = tolerances(ref)
    fn = {"reference sweep": lambda: fastrelu.sweep(net, num=n, backend="numpy"),
          "tolerances": lambda: tolerances(ref), "check": lambda: check(res, tol)}[stage]
    benchmark.pedantic(fn, rounds=3, iterations=1)
    seconds = benchmark.stats.stats.min
    _TIMES[(n, stage)] = seconds
    benchmark.extra_info.update(points=n, hidden=1000, seconds=seconds)
    sweep_s = _TIMES.get((n, "reference sweep"))
    if sweep_s:
        print(f"\n{stage} of {n:,} points x 1,000 units: {seconds:.4f} s = {seconds / sweep_s:.2f}x the reference sweep")
