"""Sweeps into Zarr stores and on a Dask cluster (issue: sweeps larger than memory).

* N points x H = 1000 units, float64, brute force (cffi), written to a local Zarr
  store, against the same chunks computed in memory without writing; the peak
  resident memory of the writing process is measured in a child process.  N is
  10^8 by default; FASTRELU_BENCH_BIG=1 runs the issue's N = 10^9 (28 GB of
  outputs before compression, a few minutes).
* A Dask LocalCluster of 2 single-threaded worker processes against 1, brute
  force, N = 10^8, H = 4096.

    python -m pytest benchmarks/bench_store.py --benchmark-only -s
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import fastrelu

BIG = os.environ.get("FASTRELU_BENCH_BIG", "0") not in ("", "0")
N_STORE = 10**9 if BIG else 10**8
CHUNK = 1 << 23

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, fastrelu
    n, h, chunk, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    net = fastrelu.Network.random(h, seed=0)
    fastrelu.sweep(net, num=1000, backend="cffi")
    t0 = time.perf_counter()
    if out == "-":
        for piece in fastrelu.sweep_chunks(net, num=n, chunk=chunk, backend="cffi"):
            pass
    else:
        fastrelu.sweep(net, num=n, chunk=chunk, backend="cffi", out=out, overwrite=True)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
    """
)


def _child(n, h, chunk, out):
    done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(h), str(chunk), out], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_store_vs_in_memory(benchmark, tmp_path):
    h = 1000
    memory = _child(N_STORE, h, CHUNK, "-")
    stored = benchmark.pedantic(_child, args=(N_STORE, h, CHUNK, str(tmp_path / "r.zarr")), rounds=1, iterations=1)
    benchmark.extra_info.update(
        points=N_STORE, hidden=h, in_memory_s=memory["seconds"], store_s=stored["seconds"],
        ratio=stored["seconds"] / memory["seconds"], peak_rss_gb=stored["peak_rss_gb"],
        pairs_per_s=N_STORE * h / stored["seconds"],
    )
    print(f"\nN={N_STORE:.0e} H={h}: in memory {memory['seconds']:.1f} s, to Zarr {stored['seconds']:.1f} s "
          f"({stored['seconds'] / memory['seconds']:.2f}x), peak RSS {stored['peak_rss_gb']:.2f} GB")


def _dask_run(n_workers, path, n, h, chunk):
    from distributed import Client, LocalCluster

    net = fastrelu.Network.random(h, seed=0)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            # warm every worker (imports, kernel load) before the clock starts
            client.run(lambda: fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=100, backend="cffi"))
            import time

            t0 = time.perf_counter()
            fastrelu.sweep(net, num=n, chunk=chunk, backend="cffi", out=path, client=client, overwrite=True)
            return time.perf_counter() - t0


def test_dask_two_workers_vs_one(benchmark, tmp_path):
    pytest.importorskip("distributed")
    n, h, chunk = 10**8, 4096, 1 << 22
    one = _dask_run(1, str(tmp_path / "one.zarr"), n, h, chunk)
    two = benchmark.pedantic(_dask_run, args=(2, str(tmp_path / "two.zarr"), n, h, chunk), rounds=1, iterations=1)
    benchmark.extra_info.update(points=n, hidden=h, one_worker_s=one, two_workers_s=two, speedup=one / two)
    print(f"\nDask N={n:.0e} H={h}: 1 worker {one:.1f} s, 2 workers {two:.1f} s, speed-up {one / two:.2f}x")
