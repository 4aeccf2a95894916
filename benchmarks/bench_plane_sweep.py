"""Per-pixel maps of a plane (``sweep(net, bounds=..., num=(1024, 1024))``) against their peers,
measured in the same run.

Case (issue 15): 2 -> [256] x 4 -> 1, torch default init after ``torch.manual_seed(0)``,
float64, the square [-1, 1]^2 of its input plane, 1024 x 1024 pixels (``FASTRELU_BENCH_PIXELS=256``
for a quicker run of 256 x 256: every figure but the exact walk's is linear in the pixels).

- ``write``: allocating the outputs (``y``, ``slope`` (.., 2), ``negative``,
  ``negative_by_layer``) and filling each once: the least any backend must do.
- ``exact``: the exact backend, walking the region map and reading every pixel off its
  face; ``exact (read)``: the same plan run again, so the map comes from the cache and
  only the reading is timed.
- ``cffi``, ``numba``: the dense kernels (forward pass with two tangents per pixel).
- ``matmul``: numpy's matmul on the dense kernels' products, three rows a pixel (value and two
  tangents) through each 256 x 256 layer, in batches: the floor of the dense algorithm at the
  rate BLAS reaches on those shapes.
- ``torch``: the same pixels through the torch model, ``torch.func.jvp`` along ``u`` and
  along ``v`` (each also gives the output), in batches of 2**16 pixels, on torch's threads
  (both cores).

Each figure is the best of its rounds after a warm-up call (a smaller grid for the slow
ones: JIT compile, first touch); the table of ratios is printed at the end of the run.
The machine may be shared: compare ratios within one run, and repeat.

Run:  python -m pytest benchmarks/bench_plane_sweep.py --benchmark-only -s
"""

import os

import numpy as np
import pytest

import fastrelu
from fastrelu.sweeps.sweep import plan_sweep, run

torch = pytest.importorskip("torch")

DIMS = [2, 256, 256, 256, 256, 1]
SQUARE = ((-1.0, 1.0), (-1.0, 1.0))
NUM = (int(os.environ.get("FASTRELU_BENCH_PIXELS", "1024")),) * 2
_RESULTS = {}


def _model():
    torch.manual_seed(0)
    layers = []
    for i in range(len(DIMS) - 1):
        layers.append(torch.nn.Linear(DIMS[i], DIMS[i + 1]))
        if i < len(DIMS) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).double()


@pytest.fixture(scope="module")
def net():
    return fastrelu.Network.from_torch(_model())


def _best(benchmark, fn, rounds, warm=None):
    (warm or fn)()
    out = benchmark.pedantic(fn, rounds=rounds, iterations=1)
    return benchmark.stats.stats.min, out


def test_write(benchmark, net):
    nv, nu = NUM[1], NUM[0]

    def write():
        arrays = (np.empty((nv, nu)), np.empty((nv, nu, 2)), np.empty((nv, nu), np.int32),
                  np.empty((nv, nu, net.depth), np.int32))
        for a in arrays:
            a.fill(1)
        return arrays

    _RESULTS["write"], _ = _best(benchmark, write, rounds=5)


def test_exact(benchmark, net):
    _RESULTS["exact"], res = _best(benchmark, lambda: fastrelu.sweep(net, bounds=SQUARE, num=NUM, backend="exact"), rounds=2)
    _RESULTS["pixels"] = len(res)


def test_exact_read(benchmark, net):
    plan = plan_sweep(net, None, None, None, NUM, None, "exact", None, None, None, None, SQUARE)
    _RESULTS["exact (read)"], _ = _best(benchmark, lambda: run(plan), rounds=3)


@pytest.mark.parametrize("backend", ["cffi", "numba"])
def test_dense(benchmark, net, backend):
    warm = lambda: fastrelu.sweep(net, bounds=SQUARE, num=(64, 64), backend=backend)
    _RESULTS[backend], _ = _best(benchmark, lambda: fastrelu.sweep(net, bounds=SQUARE, num=NUM, backend=backend),
                                 rounds=1, warm=warm)


def test_matmul(benchmark):
    # the three 256 x 256 layers' products, (3 batch) x 256 @ 256 x 256, over every pixel
    rng = np.random.default_rng(0)
    pixels, batch = NUM[0] * NUM[1], min(NUM[0] * NUM[1], 1 << 14)
    a = rng.uniform(-1, 1, (3 * batch, DIMS[2]))
    w = rng.uniform(-1, 1, (DIMS[2], DIMS[3]))
    out = np.empty_like(a)
    layers = len(DIMS) - 3  # the hidden-to-hidden ones

    def products():
        for _ in range(layers * (pixels // batch)):
            np.matmul(a, w, out=out)

    _RESULTS["matmul"], _ = _best(benchmark, products, rounds=3)


def test_torch(benchmark, net):
    model = _model()
    torch.set_num_threads(2)
    res = fastrelu.sweep(net, bounds=SQUARE, num=(4, 4), backend="numpy")
    u = np.linspace(*SQUARE[0], NUM[0])
    v = np.linspace(*SQUARE[1], NUM[1])
    uu, vv = np.meshgrid(u, v)
    x = torch.tensor(np.stack([uu.ravel(), vv.ravel()], axis=1))
    du, dv = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    batch = 1 << 16

    def forward_jvp(x=x):
        y = torch.empty(x.shape[0], 1, dtype=torch.float64)
        slope = torch.empty(x.shape[0], 1, 2, dtype=torch.float64)
        with torch.no_grad():
            for i0 in range(0, x.shape[0], batch):
                xb = x[i0 : i0 + batch]
                y[i0 : i0 + batch], slope[i0 : i0 + batch, :, 0] = torch.func.jvp(model, (xb,), (du.expand_as(xb),))
                _, slope[i0 : i0 + batch, :, 1] = torch.func.jvp(model, (xb,), (dv.expand_as(xb),))
        return y, slope

    _RESULTS["torch"], (y, _) = _best(benchmark, forward_jvp, rounds=1, warm=lambda: forward_jvp(x[:4096]))
    # the same pixels: torch's answer is fastrelu's at a few of them
    assert res.y.shape == (4, 4)
    np.testing.assert_allclose(y.numpy().reshape(NUM[1], NUM[0])[0, 0], net([u[0], v[0]]), rtol=1e-12)


def _print_table(out):
    r = _RESULTS
    out(f"\n| what ({NUM[0]} x {NUM[1]} pixels, 2->[256]x4->1, float64) | time (s) | ratio |")
    out("| --- | ---: | ---: |")
    rows = [("write the outputs", "write", None), ("exact: walk the map + read the pixels", "exact", "write"),
            ("exact: read the pixels off a cached map", "exact (read)", "write"),
            ("torch forward + jvp (u, v)", "torch", None), ("cffi (dense C kernel)", "cffi", "torch"),
            ("numba (dense Numba kernel)", "numba", "torch"),
            ("numpy matmul on the dense products (the floor)", "matmul", "torch")]
    for label, key, base in rows:
        if key not in r:
            continue
        if base is None or base not in r:
            ratio = ""
        elif base == "write":
            ratio = f"{r[key] / r[base]:.1f}x write"
        else:
            ratio = f"{r[base] / r[key]:.2f}x torch's speed"
        out(f"| {label} | {r[key]:.3f} | {ratio} |")
