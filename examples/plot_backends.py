"""
Comparing backends
==================

fastrelu computes a sweep with one of several backends: the ``exact`` walk over the
linear pieces, brute-force kernels in C (``cffi``) and Numba (``numba``), and the plain
``numpy`` reference that every other backend is checked against.  Here each one sweeps
the same network over the same grid; we check that it agrees with the reference (within
the rounding bound of ``fastrelu.kernels.agreement``) and time it.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

import fastrelu
from fastrelu.kernels.agreement import compare

for name, info in fastrelu.backends().items():
    print(f"{name:6} {'available' if info.available else 'missing: ' + info.reason:10}  {info.description}")

net = fastrelu.Network.random(hidden=1000, seed=0)
grid = dict(start=-100.0, stop=100.0, step=0.05)  # 4,001 points
reference = fastrelu.sweep(net, **grid, backend="numpy")

# %%
# Each backend runs once first, so that Numba's compile (on a first run only; the
# result is cached on disk) is not timed; then the best of three runs counts.  Timings
# on a shared machine are noisy: read the ratios, not the digits.

names = [n for n, info in fastrelu.backends().items() if info.available]
seconds, worst = {}, {}
for name in names:
    res = fastrelu.sweep(net, **grid, backend=name)
    agreement = compare(res, reference)
    assert agreement.ok, f"{name}: {agreement}"
    worst[name] = agreement.worst_y
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        fastrelu.sweep(net, **grid, backend=name)
        runs.append(time.perf_counter() - t0)
    seconds[name] = min(runs)
    print(f"{name:6} {seconds[name] * 1e3:8.1f} ms   {agreement}")

# %%
# The figure: the time of each backend (log scale), and the largest difference of each
# from the reference as a fraction of the tolerance that the rounding bound allows (1 is
# the limit; the reference itself is not drawn).

others = [n for n in names if n != "numpy"]
fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(10, 3.8))
ax_t.barh(names, [seconds[n] for n in names], color="tab:blue")
for i, n in enumerate(names):
    ax_t.annotate(f" {seconds[n] * 1e3:.3g} ms", (seconds[n], i), va="center", fontsize=9)
ax_t.set_xscale("log")
ax_t.set_xlim(right=max(seconds.values()) * 20)
ax_t.set_xlabel("seconds for 4,001 points × 1,000 units (best of 3)")
ax_t.invert_yaxis()
ax_e.barh(others, [worst[n] for n in others], color="tab:green")
ax_e.set_xscale("log")
ax_e.set_xlim(1e-6, 10)
ax_e.axvline(1.0, color="k", lw=1, ls="--")
ax_e.set_xlabel("largest |y − y_numpy| / rounding tolerance")
ax_e.invert_yaxis()
fig.suptitle("The same sweep on every backend")
fig.tight_layout()
