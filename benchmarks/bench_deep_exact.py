"""The exact layer-by-layer walk of deep networks (``kernels/walk.py``, its kernels in
``kernels/walk_c.py`` or ``walk_numba.py``) against Regioncam and against the matrix-product floor, and
the deep sweep against writing its outputs.

Cases (torch default init, ``torch.manual_seed(0)``):

- ``1x256x8``: 1 -> [256] x 8 -> 1 over t in [-100, 100];
- ``784x1024x8``: 784 -> [1024] x 8 -> 10 along the line through two random points
  (``numpy`` seed 0), t in [0, 1]; the line is folded into the first layer
  (``W0' = W0 @ (x1 - x0)``, ``b0' = W0 @ x0 + b0``, in float64).

Regioncam (``regioncam.Regioncam1D``, float32) is given the same torch model: the first
case on the interval [-100, 100], the second through the two points
(``through_points(..., size=2.0)`` spans exactly x0..x1).  The floor is what the walk
cannot avoid: every layer's pre-activations at every vertex, i.e. the sum over layers of
vertices x fan_in x fan_out multiply-adds, timed as numpy float64 matrix products of those
shapes in this run.  Each figure is the best of its rounds after a warm-up call; the
table of ratios is printed at the end of the run.

Run:  python -m pytest benchmarks/bench_deep_exact.py --benchmark-only
"""

import time

import numpy as np
import pytest

from fastrelu.kernels import walk as exact_deep

torch = pytest.importorskip("torch")
regioncam = pytest.importorskip("regioncam")

_RESULTS = {}  # (case, what) -> seconds or count


def _model(dims):
    torch.manual_seed(0)
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _flat(model, x0=None, x1=None):
    """``(widths, weights, biases, alpha, lo, hi)`` of a Linear/ReLU torch model, in float64,
    the line ``x0 + t (x1 - x0)`` folded into the first layer when given."""
    lins = [m for m in model if isinstance(m, torch.nn.Linear)]
    ws = [m.weight.detach().double().numpy() for m in lins]
    bs = [m.bias.detach().double().numpy() for m in lins]
    if x0 is not None:
        x0, x1 = np.asarray(x0, np.float64), np.asarray(x1, np.float64)
        bs[0] = ws[0] @ x0 + bs[0]
        ws[0] = (ws[0] @ (x1 - x0))[:, None]
    widths = np.array([1] + [w.shape[0] for w in ws], np.int64)
    hidden = int(widths[1:-1].sum())
    depth = len(ws) - 1
    params = (widths, np.concatenate([w.ravel() for w in ws]), np.concatenate(bs), np.zeros(hidden),
              np.full(depth, -np.inf), np.full(depth, np.inf))
    for a in params:
        a.flags.writeable = False  # read-only, as a Network's: the sweep's cache may key on them
    return params


def _case(name):
    if name == "1x256x8":
        model = _model([1] + [256] * 8 + [1])
        return model, _flat(model), (-100.0, 100.0), lambda: regioncam.Regioncam1D((-100.0, 100.0))
    model = _model([784] + [1024] * 8 + [10])
    x0, x1 = np.random.default_rng(0).standard_normal((2, 784)).astype(np.float32)
    pts = np.stack([x0, x1])
    return model, _flat(model, x0, x1), (0.0, 1.0), lambda: regioncam.Regioncam1D.through_points(pts, size=2.0)


CASES = ["1x256x8", "784x1024x8"]


def _best(benchmark, fn, rounds):
    fn()  # warm up: JIT compile or load from cache, first touch of memory
    out = benchmark.pedantic(fn, rounds=rounds, iterations=1)
    return benchmark.stats.stats.min, out


@pytest.mark.parametrize("case", CASES)
def test_walk(benchmark, case):
    _, params, (a, b), _ = _case(case)
    seconds, lp = _best(benchmark, lambda: exact_deep.walk(*params, a, b), rounds=5)
    _RESULTS[(case, "walk")] = seconds
    _RESULTS[(case, "pieces")] = lp.pieces
    _RESULTS[(case, "short32")] = int(np.count_nonzero(np.diff(lp.edges.astype(np.float32)) == 0))
    _RESULTS[(case, "merged")] = lp.merged
    benchmark.extra_info.update(pieces=lp.pieces, kinks=lp.kinks, merged=lp.merged, suppressed=lp.suppressed)


@pytest.mark.parametrize("case", CASES)
def test_regioncam(benchmark, case):
    model, _, _, make = _case(case)

    def run():
        rc = make()
        rc.add(model)
        return rc

    seconds, rc = _best(benchmark, run, rounds=3)
    _RESULTS[(case, "regioncam")] = seconds
    _RESULTS[(case, "rc_pieces")] = rc.num_vertices - 1
    benchmark.extra_info.update(pieces=rc.num_vertices - 1)


def _vertices_per_layer(lp, depth):
    """Vertices after each hidden layer's split: 2 + the edges whose lowest crossing layer is <= k."""
    low = np.minimum.reduceat(lp.cross_layer, lp.cross_offsets[:-1]) if lp.boundaries else np.zeros(0, np.int32)
    return [2 + int(np.count_nonzero(low <= k)) for k in range(depth)]


@pytest.mark.parametrize("case", CASES)
def test_floor(benchmark, case):
    _, params, (a, b), _ = _case(case)
    widths = params[0]
    lp = exact_deep.walk(*params, a, b)
    verts = [2] + _vertices_per_layer(lp, len(widths) - 2)  # entering layer 0, 1, ..., L
    rng = np.random.default_rng(1)
    shapes = [(v, int(widths[k]), int(widths[k + 1])) for k, v in enumerate(verts)]
    mats = [(rng.standard_normal((v, i)), rng.standard_normal((o, i))) for v, i, o in shapes]

    def products():
        for x, w in mats:
            x @ w.T

    seconds, _ = _best(benchmark, products, rounds=5)
    _RESULTS[(case, "floor")] = seconds
    _RESULTS[(case, "madds")] = sum(v * i * o for v, i, o in shapes)
    benchmark.extra_info.update(madds=_RESULTS[(case, "madds")], shapes=str(shapes))


def test_sweep_1e7(benchmark):
    _, params, (a, b), _ = _case("1x256x8")
    n = 10_000_000
    t = np.linspace(a, b, n)
    out = params[0][-1]
    depth = len(params[0]) - 2

    def sweep():
        y, slope, negative = np.empty((n, out)), np.empty((n, out)), np.empty((n, depth), np.int32)
        exact_deep.sweep_deep(t, *params, y, slope, negative)
        return y

    t0 = time.perf_counter()
    exact_deep.clear_cache()
    sweep()  # walks once; the cache serves the timed rounds
    _RESULTS[("sweep", "first")] = time.perf_counter() - t0
    seconds, _ = _best(benchmark, sweep, rounds=3)
    _RESULTS[("sweep", "sweep")] = seconds


def test_sweep_write_floor(benchmark):
    n = 10_000_000

    def write():
        y, slope, negative = np.empty((n, 1)), np.empty((n, 1)), np.empty((n, 8), np.int32)
        y.fill(1.0), slope.fill(1.0), negative.fill(1)
        return y

    seconds, _ = _best(benchmark, write, rounds=3)
    _RESULTS[("sweep", "write")] = seconds


def _print_table(line):
    r = _RESULTS
    line("")
    line("exact deep walk (best of rounds; ratios within this run)")
    line(f"| {'case':<11} | {'walk (s)':>9} | {'Regioncam (s)':>13} | {'x faster':>8} | {'floor (s)':>9} | {'x floor':>7} "
         f"| {'pieces':>7} | {'Regioncam':>9} | {'< f32 ulp':>9} |")
    line("| " + " | ".join("-" * n for n in (11, 9, 13, 8, 9, 7, 7, 9, 9)) + " |")
    for case in CASES:
        if (case, "walk") not in r:
            continue
        w, rc, fl = r[(case, "walk")], r.get((case, "regioncam")), r.get((case, "floor"))
        fmt = lambda x, f: format(x, f) if x is not None else "-"  # noqa: E731
        line(f"| {case:<11} | {w:9.4f} | {fmt(rc, '13.4f'):>13} | {fmt(rc and rc / w, '8.2f'):>8} | {fmt(fl, '9.4f'):>9} "
             f"| {fmt(fl and w / fl, '7.2f'):>7} | {r[(case, 'pieces')]:7d} | {fmt(r.get((case, 'rc_pieces')), 'd'):>9} "
             f"| {r[(case, 'short32')]:9d} |")
    if ("sweep", "sweep") in r and ("sweep", "write") in r:
        s, wr = r[("sweep", "sweep")], r[("sweep", "write")]
        line(f"sweep_deep 1x256x8, N=1e7: {s:.4f} s (first call, with the walk: {r[('sweep', 'first')]:.4f} s); "
             f"writing the outputs: {wr:.4f} s; ratio {s / wr:.2f}")
