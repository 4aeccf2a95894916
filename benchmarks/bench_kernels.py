"""Brute-force kernels: throughput in grid-point x hidden-unit pairs per second.

Sizes from the core issue: the main case (N = 200,001, H = 4,096, both dtypes, with
the numpy reference for the ratio), very wide (N = 20,001, H = 10^6) and very fine
and narrow (N = 10^8, H = 64).
"""

import pytest

import fastrelu

KERNELS = ["cffi", "numba"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", [*KERNELS, "numpy"])
def test_main(run_sweep, backend, dtype):
    net = fastrelu.Network.random(4096, seed=0, dtype=dtype)
    run_sweep(net, backend, f"N=200001 H=4096 {dtype}", rounds=1 if backend == "numpy" else 5, num=200_001)


@pytest.mark.parametrize("backend", KERNELS)
def test_very_wide(run_sweep, backend):
    net = fastrelu.Network.random(1_000_000, seed=0)
    run_sweep(net, backend, "N=20001 H=1e6 float64", rounds=2, num=20_001)


@pytest.mark.parametrize("backend", KERNELS)
def test_very_fine(run_sweep, backend):
    net = fastrelu.Network.random(64, seed=0)
    run_sweep(net, backend, "N=1e8 H=64 float64", rounds=3, num=100_000_000)
