"""Many lines at once (``fastrelu.line_stats``) against Regioncam's 1-D walk, one line at a
time, and ``boundary_distance`` against torch's Jacobians of the pre-activations.

Cases (torch default init, ``torch.manual_seed(0)``; the same torch model for both):

- ``1x256x8``: 1 -> [256] x 8 -> 1, line ``i`` over ``[-100 + s_i, 100 + s_i]`` with
  ``s_i`` uniform in [-50, 50] (numpy seed 0);
- ``784x1024x8``: 784 -> [1024] x 8 -> 10, line ``i`` between two standard normal points
  (numpy seed 0); Regioncam's ``through_points(..., size=2.0)`` spans exactly x0..x1.

Figures per line: ``line_stats`` of all lines in one call (batched: their products
stacked, their walks on both cores), ``line_stats`` of one line (what the per-line figure
is on one line), and Regioncam's ``Regioncam1D`` (float32) one line after another.  The
activation regions along every line are compared (fastrelu's boundaries + 1 against
Regioncam's vertices - 1); float32 can merge crossings float64 tells apart, so the table
counts the lines that agree exactly.

One line on both cores (``test_one_line_cores``): ``regions`` of one line, the issue's
two networks (1 -> [256] x 8 -> 1 over [-100, 100]; 784 -> [1024] x 8 -> 10 between the
first pair of points), with ``threads=2`` (each layer's pieces in segments, the products
split) and ``threads=1``, against ``Regioncam1D`` on the same line, the three timed in
turn in each round (the machine is shared: side by side, best of the rounds).

``boundary_distance`` of standard normal points of 784 -> [256] x 3 -> 10 against
``torch.func.jacfwd`` of every hidden pre-activation (vmapped over batches of points,
float64) followed by the same minimum of ``|z| / ||grad z||``.

Run:  python -m pytest benchmarks/bench_lines.py --benchmark-only -s
(``FASTRELU_BENCH_LINES`` sets the number of lines of the big case, 64 by default, and
``FASTRELU_BENCH_POINTS`` the points of ``boundary_distance``, 1,000 by default: the issue
asks for 10^4, which takes torch over 20 minutes here; both times are linear in it.)
"""

import os
import time

import numpy as np
import pytest
import regioncam
import torch

import fastrelu

_RESULTS = {}
N_LINES = 64
N_BIG = int(os.environ.get("FASTRELU_BENCH_LINES", "64"))
N_POINTS = int(os.environ.get("FASTRELU_BENCH_POINTS", "1000"))


def _model(dims):
    torch.manual_seed(0)
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _case(name):
    rng = np.random.default_rng(0)
    if name == "1x256x8":
        model = _model([1] + [256] * 8 + [1])
        s = rng.uniform(-50.0, 50.0, size=N_LINES)
        X0, X1 = (-100.0 + s)[:, None], (100.0 + s)[:, None]
        rc = lambda i: regioncam.Regioncam1D((float(X0[i, 0]), float(X1[i, 0])))
    else:
        model = _model([784] + [1024] * 8 + [10])
        X0, X1 = rng.standard_normal((N_BIG, 784)), rng.standard_normal((N_BIG, 784))
        rc = lambda i: regioncam.Regioncam1D.through_points(np.stack([X0[i], X1[i]]).astype(np.float32), size=2.0)
    return model, fastrelu.Network.from_torch(model, dtype="float64"), X0, X1, rc


CASES = ["1x256x8", "784x1024x8"]


def _best(benchmark, fn, rounds):
    fn()  # warm up: kernels loaded, memory touched
    out = benchmark.pedantic(fn, rounds=rounds, iterations=1)
    return benchmark.stats.stats.min, out


@pytest.mark.parametrize("case", CASES)
def test_lines_batched(benchmark, case):
    _, net, X0, X1, _ = _case(case)
    seconds, stats = _best(benchmark, lambda: fastrelu.line_stats(net, X0, X1, progress=False),
                           rounds=3 if case == "1x256x8" else 1)
    _RESULTS[(case, "batched")] = seconds / len(stats)
    _RESULTS[(case, "regions")] = stats.boundaries + 1
    _RESULTS[(case, "lines")] = len(stats)


@pytest.mark.parametrize("case", CASES)
def test_one_line(benchmark, case):
    _, net, X0, X1, _ = _case(case)
    seconds, _ = _best(benchmark, lambda: fastrelu.line_stats(net, X0[:1], X1[:1], progress=False), rounds=3)
    _RESULTS[(case, "one")] = seconds


def _one_line(model, net, X0, X1, case):
    """``regions`` of the case's one line on ``threads`` threads, and Regioncam1D of it
    (its vertices - 1: the regions it finds)."""
    if case == "1x256x8":
        walk = lambda threads: fastrelu.regions(net, -100.0, 100.0, boundaries=True, threads=threads, progress=False)
        make = lambda: regioncam.Regioncam1D((-100.0, 100.0))
    else:
        x0, x1 = X0[0], X1[0]
        walk = lambda threads: fastrelu.regions(net, 0.0, 1.0, along=(x0, x1), boundaries=True, threads=threads,
                                                progress=False)
        make = lambda: regioncam.Regioncam1D.through_points(np.stack([x0, x1]).astype(np.float32), size=2.0)

    def rc():
        r = make()
        r.add(model)
        return r.num_vertices - 1

    return walk, rc


@pytest.mark.parametrize("case", CASES)
def test_one_line_cores(benchmark, case):
    model, net, X0, X1, _ = _case(case)
    walk, rc = _one_line(model, net, X0, X1, case)
    runs = {"two": lambda: walk(2), "one": lambda: walk(1), "rc": rc}
    best = dict.fromkeys(runs, np.inf)
    out = {k: f() for k, f in runs.items()}  # warm up
    for _ in range(5 if case == "1x256x8" else 3):  # in turn, so that the machine's load falls on all three
        for k, f in runs.items():
            best[k] = min(best[k], _timed(f))
    benchmark.pedantic(runs["two"], rounds=1, iterations=1)
    _RESULTS[(case, "line")] = (best, len(out["two"]), out["rc"])


@pytest.mark.parametrize("case", CASES)
def test_regioncam(benchmark, case):
    model, _, X0, _, make = _case(case)
    n = X0.shape[0]

    def run():
        counts = []
        for i in range(n):
            rc = make(i)
            rc.add(model)
            counts.append(rc.num_vertices - 1)
        return np.array(counts)

    seconds, counts = _best(benchmark, run, rounds=2 if case == "1x256x8" else 1)
    _RESULTS[(case, "regioncam")] = seconds / n
    _RESULTS[(case, "rc_regions")] = counts

    def first():
        rc = make(0)
        rc.add(model)

    _RESULTS[(case, "rc_one")] = min(_timed(first) for _ in range(3))


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _pre_activations(model):
    linears = [m for m in model if isinstance(m, torch.nn.Linear)][:-1]

    def pre(x):
        outs, h = [], x
        for m in model:
            h = m(h)
            if isinstance(m, torch.nn.Linear) and len(outs) < len(linears):
                outs.append(h)
        return torch.cat(outs)

    return pre


def test_distance(benchmark):
    model = _model([784, 256, 256, 256, 10]).double()
    net = fastrelu.Network.from_torch(model, dtype="float64")
    X = np.random.default_rng(0).standard_normal((N_POINTS, 784))
    seconds, res = _best(benchmark, lambda: fastrelu.boundary_distance(net, X), rounds=1)
    _RESULTS[("distance", "fastrelu")] = seconds
    pre = _pre_activations(model)
    jac = torch.func.vmap(torch.func.jacfwd(pre))
    Xt = torch.from_numpy(X)

    def torch_distance():
        out = []
        with torch.no_grad():
            for i in range(0, Xt.shape[0], 64):  # 64 points of 768 x 784 Jacobians: 300 MB
                xb = Xt[i : i + 64]
                z, J = torch.func.vmap(pre)(xb), jac(xb)
                out.append((z.abs() / torch.linalg.vector_norm(J, dim=2)).min(dim=1).values)
        return torch.cat(out).numpy()

    t0 = time.perf_counter()
    d = torch_distance()
    _RESULTS[("distance", "torch")] = time.perf_counter() - t0
    _RESULTS[("distance", "max_rel")] = float(np.max(np.abs(d - res.distance) / res.distance))


def _print_table(line):
    r = _RESULTS
    line("")
    line("many lines (per line; best of rounds; ratios within this run)")
    line(f"| {'case':<11} | {'lines':>5} | {'batched (s)':>11} | {'one line (s)':>12} | {'Regioncam (s)':>13} "
         f"| {'x batched':>9} | {'x one':>6} | {'same regions':>12} |")
    line("| " + " | ".join("-" * n for n in (11, 5, 11, 12, 13, 9, 6, 12)) + " |")
    for case in CASES:
        if (case, "batched") not in r:
            continue
        b, one, rc, rc1 = r[(case, "batched")], r.get((case, "one")), r.get((case, "regioncam")), r.get((case, "rc_one"))
        same = "-"
        if (case, "rc_regions") in r:
            ours, theirs = r[(case, "regions")], r[(case, "rc_regions")]
            same = f"{int(np.sum(ours == theirs))}/{len(ours)} (max {int(np.max(np.abs(ours - theirs)))})"
        fmt = lambda x, f: format(x, f) if x is not None else "-"
        line(f"| {case:<11} | {r[(case, 'lines')]:5d} | {b:11.4f} | {fmt(one, '12.4f'):>12} | {fmt(rc, '13.4f'):>13} "
             f"| {fmt(rc and rc / b, '9.2f'):>9} | {fmt(rc1 and one and rc1 / one, '6.2f'):>6} | {same:>12} |")
    if any((case, "line") in r for case in CASES):
        line("")
        line("one line, regions on both cores (segments) and one, against Regioncam1D; in turn, best of the rounds")
        line(f"| {'case':<11} | {'2 threads (s)':>13} | {'1 thread (s)':>12} | {'Regioncam (s)':>13} | {'x RC (2)':>8} "
             f"| {'x RC (1)':>8} | {'1 / 2':>5} | {'regions':>7} | {'RC regions':>10} |")
        line("| " + " | ".join("-" * n for n in (11, 13, 12, 13, 8, 8, 5, 7, 10)) + " |")
        for case in CASES:
            if (case, "line") not in r:
                continue
            best, ours, theirs = r[(case, "line")]
            line(f"| {case:<11} | {best['two']:13.4f} | {best['one']:12.4f} | {best['rc']:13.4f} "
                 f"| {best['rc'] / best['two']:8.2f} | {best['rc'] / best['one']:8.2f} | {best['one'] / best['two']:5.2f} "
                 f"| {ours:7d} | {theirs:10d} |")
    if ("distance", "fastrelu") in r:
        f, t = r[("distance", "fastrelu")], r[("distance", "torch")]
        line(f"boundary_distance, {N_POINTS:,} points of 784->[256]x3->10: fastrelu {f:.3f} s, torch jacfwd {t:.3f} s "
             f"(x{t / f:.2f}); largest relative difference {r[('distance', 'max_rel')]:.1e}")
