"""Deep kernel (``sweep_deep``): flop rates against PyTorch and numpy's matmul, same run.

Two cases from the deep-network issue, both threads:

- ``64x4``: 1 -> [64] x 4 -> 1, N = 10^6 points.  Target: >= 5x PyTorch CPU computing
  the output and dy/dt with ``torch.func.jvp`` on the same network (float64).
- ``1024x8``: 784 -> [1024] x 8 -> 10 along a line, which the caller reduces to a
  scalar first layer, so the kernel sees 1 -> [1024] x 8 -> 10; N = 10^4 points.
  Target: >= 50% of the flop rate numpy's matmul reaches on the same shapes,
  ``(2N x 1024) @ (1024 x 1024)`` (values and tangents stacked).

Flops count 2 x (multiply-adds of the values + multiply-adds of the tangents), for
every backend alike.  The kernels are called directly with flat arrays; random
weights as PyTorch's nn.Linear draws them, U(+-1/sqrt(fan_in)); ReLU.  Each timing
is the best of its rounds after an untimed warm-up call; the table of ratios is
printed at the end of the run.  No timed assertions.

Run:  python -m pytest benchmarks/bench_deep_kernels.py --benchmark-only
"""

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels import dense_c as cffi_kernel
from fastrelu.kernels import dense_numba as numba_kernel
from fastrelu.kernels import dense_numpy as reference
from fastrelu.kernels.params import deep_params

CASES = {
    "64x4": ([1, 64, 64, 64, 64, 1], 1_000_000),
    "1024x8": ([1, *[1024] * 8, 10], 10_000),
}
KERNELS = {"numba": numba_kernel, "cffi": cffi_kernel, "numpy": reference}
DTYPES = ["float64", "float32"]

_RESULTS = {}  # (case, dtype, backend) -> (seconds, Gflop/s)


def network(widths, dtype, seed=0):
    """The kernels' flat parameters of ``Network.random(widths)`` (ReLU, nn.Linear's init)."""
    return deep_params(fastrelu.Network.random(list(widths), seed=seed, dtype=dtype), np.dtype(dtype))


def flops(widths, n):
    return 4 * n * sum(widths[k] * widths[k + 1] for k in range(len(widths) - 1))


def points(n, dtype):
    return np.linspace(-3, 3, n).astype(dtype)


@pytest.fixture
def timed(benchmark):
    """Time ``fn()`` after one untimed call; record seconds and Gflop/s for the table."""

    def run(fn, key, nflops, rounds, warmup=None):
        (warmup or fn)()
        benchmark.pedantic(fn, rounds=rounds, iterations=1)
        seconds = benchmark.stats.stats.min
        _RESULTS[key] = (seconds, nflops / seconds / 1e9)
        benchmark.extra_info.update(gflops=nflops / seconds / 1e9, case=key[0], dtype=key[1], backend=key[2])

    return run


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", list(KERNELS))
@pytest.mark.parametrize("case", list(CASES))
def test_kernel(timed, case, backend, dtype):
    widths, n = CASES[case]
    params = network(widths, dtype)
    t = points(n, dtype)
    kernel = KERNELS[backend]
    out, depth = widths[-1], len(widths) - 2
    y, slope, negative = np.empty((n, out), dtype), np.empty((n, out), dtype), np.empty((n, depth), np.int32)

    def fn():
        kernel.sweep_deep(t, *params, y, slope, negative)

    def warmup():  # JIT compilation and thread start-up; the reference needs no full run
        m = 4096
        kernel.sweep_deep(t[:m], *params, y[:m], slope[:m], negative[:m])

    slow = backend == "numpy"
    timed(fn, (case, dtype, backend), flops(widths, n), rounds=1 if slow else 3, warmup=warmup if slow else None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(CASES))
def test_torch_jvp(timed, case, dtype):
    torch = pytest.importorskip("torch")
    widths, n = CASES[case]
    _, weights, biases, *_ = network(widths, dtype)
    layers = [(torch.from_numpy(w.copy()), torch.from_numpy(b.copy())) for w, b in reference.unpack_layers(widths, weights, biases)]
    t = torch.from_numpy(points(n, dtype))

    def net(t):
        a = t[:, None]
        for w, b in layers[:-1]:
            a = torch.relu(a @ w.T + b)
        w, b = layers[-1]
        return a @ w.T + b

    def fn():
        with torch.no_grad():
            return torch.func.jvp(net, (t,), (torch.ones_like(t),))

    def warmup():
        with torch.no_grad():
            torch.func.jvp(net, (t[:4096],), (torch.ones_like(t[:4096]),))

    timed(fn, (case, dtype, "torch"), flops(widths, n), rounds=1, warmup=warmup)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(CASES))
def test_numpy_matmul(timed, case, dtype):
    # the same shapes as one hidden layer of the case: values and tangents stacked
    widths, n = CASES[case]
    h = widths[2]
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (2 * n, h)).astype(dtype)
    w = rng.uniform(-1, 1, (h, h)).astype(dtype)
    out = np.empty((2 * n, h), dtype)

    def fn():
        np.matmul(a, w, out=out)

    timed(fn, (case, dtype, "matmul"), 2 * (2 * n) * h * h, rounds=5)


class _Table:
    """Prints the table at the end of the run (a plugin, as conftest.py cannot be edited for it)."""

    def pytest_terminal_summary(self, terminalreporter):
        if not _RESULTS:
            return
        tr = terminalreporter
        tr.section("deep kernel: Gflop/s (best of rounds; ratios within this run)")
        tr.write_line(f"| {'case':<7} | {'backend':<7} | {'dtype':<7} | {'time (s)':>9} | {'Gflop/s':>8} | {'x torch':>7} | {'of matmul':>9} |")
        tr.write_line(f"| {'-' * 7} | {'-' * 7} | {'-' * 7} | {'-' * 9} | {'-' * 8} | {'-' * 7} | {'-' * 9} |")
        for (case, dtype, backend), (seconds, rate) in sorted(_RESULTS.items()):
            torch_rate = _RESULTS.get((case, dtype, "torch"), (None, None))[1]
            matmul_rate = _RESULTS.get((case, dtype, "matmul"), (None, None))[1]
            x_torch = f"{rate / torch_rate:7.1f}" if torch_rate else f"{'-':>7}"
            of_matmul = f"{rate / matmul_rate:9.0%}" if matmul_rate else f"{'-':>9}"
            tr.write_line(f"| {case:<7} | {backend:<7} | {dtype:<7} | {seconds:9.4f} | {rate:8.1f} | {x_torch} | {of_matmul} |")


_TABLE = _Table()


@pytest.fixture(scope="module", autouse=True)
def table(request):
    # output written while a test runs is captured, so the table waits for the summary
    if not request.config.pluginmanager.is_registered(_TABLE):
        request.config.pluginmanager.register(_TABLE, "fastrelu-deep-kernel-table")
