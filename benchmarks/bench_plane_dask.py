"""A region map's tiles as Dask tasks against the same tiles on local threads (issue 15:
"a map is computed in tiles: threads locally, Dask tasks on a cluster").

2 -> [256] x 4 -> 1 (``Network.random``, seed 0) over [-1, 1]^2, float64: the whole map on
one thread, the map in 2 tiles on 2 local threads, and in 2 and 4 tiles as tasks of a
``LocalCluster`` of 2 single-threaded worker processes (started before timing; the tiles'
walks come back to the client and are merged there).  The four are timed in turn, round
after round, so that the machine's load falls on each alike; the best round of each
counts, and the ratios are to the local two-thread map.

    python -m pytest benchmarks/bench_plane_dask.py --benchmark-only -s
"""

import time

import pytest

import fastrelu
from fastrelu.analysis.plane import region_map

ROUNDS = 5
SQUARE = ((-1.0, 1.0), (-1.0, 1.0))


@pytest.fixture(scope="module")
def client():
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_tiles_on_dask_against_threads(benchmark, client, print_uncaptured):
    net = fastrelu.Network.random([2, 256, 256, 256, 256, 1], seed=0)
    runs = {
        "whole, 1 thread": lambda: region_map(net, bounds=SQUARE, threads=1, tiles=(1, 1)),
        "2 tiles, 2 threads": lambda: region_map(net, bounds=SQUARE, threads=2, tiles=(2, 1)),
        "2 tiles, Dask 2 workers": lambda: region_map(net, bounds=SQUARE, tiles=(2, 1), client=client),
        "4 tiles, Dask 2 workers": lambda: region_map(net, bounds=SQUARE, tiles=(2, 2), client=client),
    }
    faces = {name: len(run()) for name, run in runs.items()}  # warm-up: every worker imports and compiles once
    assert len(set(faces.values())) == 1, faces  # the same map every way
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(ROUNDS):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    benchmark.pedantic(runs["2 tiles, Dask 2 workers"], rounds=1, iterations=1)
    benchmark.extra_info.update(faces=next(iter(faces.values())), **{k: v for k, v in best.items()})

    def table(out):
        base = best["2 tiles, 2 threads"]
        out(f"\nregion map of 2->[256]x4->1 on [-1, 1]^2, {next(iter(faces.values())):,} faces, best of {ROUNDS} rounds")
        for name, seconds in best.items():
            out(f"{name:>26}  {seconds:8.3f} s  {seconds / base:6.2f}x the 2-thread map")

    print_uncaptured(table)
