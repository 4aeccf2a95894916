"""Figure of a 10^8-point sweep, drawn and saved as PNG (target: under 3 s).

Run:  python -m pytest benchmarks/bench_plot.py --benchmark-only

Each round draws a fresh ``SweepResult`` over the same arrays, so the slope-change
mask (cached on a result) is found again inside the timing: the time is what a
user waits for ``res.plot().savefig("figure.png")`` on a result just computed.
"""

import time

import pytest

import fastrelu

N = 100_000_000


@pytest.fixture(scope="module")
def big():
    # Few hidden units: the sweep is setup here, not what is measured; the
    # figure's cost depends on the points (and the kinks), not on H.
    t0 = time.perf_counter()
    res = fastrelu.sweep(fastrelu.Network.random(64, seed=0), num=N)
    print(f"\nsetup: sweep of {N:,} points in {time.perf_counter() - t0:.1f} s ({res.backend})")
    return res


def _fresh(res):
    return fastrelu.SweepResult(res.x, res.y, res.slope, res.negative, network=res.network, backend=res.backend)


@pytest.mark.parametrize("options", [{}, {"kinks": True, "zoom": "auto"}], ids=["plain", "kinks+zoom"])
def test_plot_1e8_points_png(benchmark, big, tmp_path, options):
    path = tmp_path / "big.png"

    def draw(res):
        res.plot(seed=0, **options).savefig(path)

    benchmark.pedantic(draw, setup=lambda: ((_fresh(big),), {}), rounds=3, iterations=1)
    seconds = benchmark.stats.stats.max
    benchmark.extra_info.update(points=N, worst_seconds=seconds, png_bytes=path.stat().st_size)
    assert path.stat().st_size > 10_000
    assert seconds < 3.0, f"a 10^8-point figure took {seconds:.2f} s (target < 3 s)"
