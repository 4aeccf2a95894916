"""Graph networks (convolutions, pooling): the exact pieces along a line against the
floor, and the per-point sweep against torch's forward + jvp.

Cases (float64, CPU, in this run):

- ``digits``: the CNN of ``tests/test_graph.py`` (Conv2d 1->8 3x3 pad 1, BatchNorm2d,
  ReLU, MaxPool2d 2, Conv2d 8->16 3x3 pad 1, ReLU, AvgPool2d 2, Linear 64->32, ReLU,
  Linear 32->10), trained 6 epochs on scikit-learn's digits; the line between the first
  two digits;
- ``mnist``: 784 inputs (1x28x28): Conv2d 1->32 3x3, ReLU, Conv2d 32->64 3x3, ReLU,
  MaxPool2d 2, Flatten, Linear 9216->128, ReLU, Linear 128->10, torch's default init
  (``torch.manual_seed(0)``); the line between two random inputs (numpy seed 0).

``regions``: ``fastrelu.regions(net, along=(x0, x1), start=0, stop=STOP)`` (the graph walk,
``kernels/graph_walk.py``, in blocks on both cores; the whole line for both).  Its floor: a batched torch forward (no grad) of as many
inputs as the walk has vertices (pieces + 1), through the same model.  ``sweep``:
``fastrelu.sweep(..., num=N, backend=B)`` for B in numpy (the reference), numba and cffi
(the graph twins, kernels/graph_numba.py and csrc/graph_c.c) against ``torch.func.jvp`` of
the model on the same N points, in blocks of 2,000 points (what fits in memory for the
mnist case).  N is 10^5 for digits; for mnist 2,000, since its convolutions cost about
24 million multiply-adds a point for the value and its tangent (minutes per round for
torch and the twins at 10^5 on a shared machine, and the numpy reference's blocks would
need far more).  Best of the rounds after a warm-up call (none for numpy, which has no
JIT to warm and is run once); the ratios are printed at the end.

Run:  python -m pytest benchmarks/bench_graph.py --benchmark-only -s
(``-k "sweep or jvp"`` for the per-point sweep alone.)
"""

import numpy as np
import pytest

import fastrelu

torch = pytest.importorskip("torch")
F = torch.nn.functional

_RESULTS = {}
CASES = ["digits", "mnist"]
N_SWEEP = {"digits": 100_000, "mnist": 2_000}
SWEEP_BACKENDS = ["numpy", "numba", "cffi"]
# the stretch of the line walked: the whole line (the walk goes in blocks that fit memory)
STOP = {"digits": 1.0, "mnist": 1.0}
# rounds of regions and of its floor, and whether a warm-up call comes first: mnist's whole
# line takes minutes, one round each (run the file twice for a second ratio)
ROUNDS = {"digits": (3, 5, True), "mnist": (1, 1, False)}
BLOCK = 2_000


def _digits():
    from sklearn.datasets import load_digits  # noqa: PLC0415 - only this case

    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.images[:, None] / 16.0, dtype=torch.float64)
    y = torch.tensor(d.target)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64, 32), nn.ReLU(),
        nn.Linear(32, 10),
    ).double()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(6):
        for i in range(0, len(x), 128):
            opt.zero_grad()
            F.cross_entropy(model(x[i : i + 128]), y[i : i + 128]).backward()
            opt.step()
    return model.eval(), (1, 8, 8), x[0].numpy(), x[1].numpy()


def _mnist():
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10),
    ).double().eval()
    x0, x1 = np.random.default_rng(0).standard_normal((2, 1, 28, 28))
    return model, (1, 28, 28), x0, x1


_CACHE = {}


def _case(name):
    if name not in _CACHE:
        model, shape, x0, x1 = _digits() if name == "digits" else _mnist()
        _CACHE[name] = (model, fastrelu.Network.from_torch(model, shape), shape, x0, x1)
    return _CACHE[name]


def _best(benchmark, fn, rounds, warm=True):
    if warm:
        fn()
    out = benchmark.pedantic(fn, rounds=rounds, iterations=1)
    return benchmark.stats.stats.min, out


@pytest.mark.parametrize("case", CASES)
def test_regions(benchmark, case):
    _, net, _, x0, x1 = _case(case)
    seconds, r = _best(benchmark, lambda: fastrelu.regions(net, along=(x0, x1), start=0.0, stop=STOP[case], boundaries=True),
                       rounds=ROUNDS[case][0], warm=ROUNDS[case][2])
    _RESULTS[(case, "regions")] = seconds
    _RESULTS[(case, "pieces")] = len(r)
    benchmark.extra_info.update(pieces=len(r), kinks=r.n_kinks)


@pytest.mark.parametrize("case", CASES)
def test_floor(benchmark, case):
    model, net, shape, x0, x1 = _case(case)
    pieces = _RESULTS.get((case, "pieces"))  # test_regions ran: its count, not a second walk
    v = (pieces if pieces is not None else len(fastrelu.regions(net, along=(x0, x1), start=0.0, stop=STOP[case], boundaries=True))) + 1
    a, b = torch.tensor(x0).reshape(shape), torch.tensor(x1).reshape(shape)
    t = torch.linspace(0, STOP[case], v, dtype=torch.float64).reshape(-1, *(1,) * len(shape))
    xs = a + t * (b - a)

    def forward():
        with torch.no_grad():
            return [model(xs[i : i + BLOCK]) for i in range(0, v, BLOCK)]

    seconds, _ = _best(benchmark, forward, rounds=ROUNDS[case][1], warm=ROUNDS[case][2])
    _RESULTS[(case, "floor")] = seconds


@pytest.mark.parametrize("backend", SWEEP_BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_sweep(benchmark, case, backend):
    _, net, _, x0, x1 = _case(case)
    n = N_SWEEP[case]
    numpy = backend == "numpy"
    seconds, res = _best(benchmark, lambda: fastrelu.sweep(net, along=(x0, x1), num=n, backend=backend),
                         rounds=1 if numpy else 3, warm=not numpy)
    assert res.backend == backend
    _RESULTS[(case, f"sweep_{backend}")] = seconds


@pytest.mark.parametrize("case", CASES)
def test_torch_jvp(benchmark, case):
    model, _, shape, x0, x1 = _case(case)
    n = N_SWEEP[case]
    a, b = torch.tensor(x0).reshape(shape), torch.tensor(x1).reshape(shape)
    t = torch.linspace(0, 1, n, dtype=torch.float64).reshape(-1, *(1,) * len(shape))

    def jvp():
        out = []
        for i in range(0, n, BLOCK):
            xs = a + t[i : i + BLOCK] * (b - a)
            out.append(torch.func.jvp(model, (xs,), ((b - a).expand_as(xs),)))
        return out

    seconds, _ = _best(benchmark, jvp, rounds=3)
    _RESULTS[(case, "jvp")] = seconds


def _print_table(line):
    r = _RESULTS
    fmt = lambda x, f: format(x, f) if x is not None else "-"  # noqa: E731
    line("")
    line(f"graph networks, float64, torch threads {torch.get_num_threads()} (best of rounds; ratios within this run)")
    line("| case | t from 0 to | pieces | regions (s) | floor (s) | x floor |")
    line("| --- | --- | --- | --- | --- | --- |")
    for case in CASES:
        g = lambda k: r.get((case, k))  # noqa: E731
        reg, fl = g("regions"), g("floor")
        line(f"| {case} | {STOP[case]:g} | {fmt(g('pieces'), 'd')} | {fmt(reg, '.4f')} | {fmt(fl, '.4f')} | {fmt(reg and fl and reg / fl, '.1f')} |")
    line("")
    line("| case | sweep points | " + " | ".join(f"{b} (s)" for b in SWEEP_BACKENDS) + " | torch jvp (s) | "
         + " | ".join(f"torch / {b}" for b in SWEEP_BACKENDS) + " |")
    line("|" + " --- |" * (3 + 2 * len(SWEEP_BACKENDS)))
    for case in CASES:
        sw = [r.get((case, f"sweep_{b}")) for b in SWEEP_BACKENDS]
        jv = r.get((case, "jvp"))
        line(f"| {case} | {N_SWEEP[case]:,} | " + " | ".join(fmt(x, ".3f") for x in sw) + f" | {fmt(jv, '.3f')} | "
             + " | ".join(fmt(x and jv and jv / x, ".2f") for x in sw) + " |")
