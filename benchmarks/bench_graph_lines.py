"""The line analyses on a graph network (issue 16 with 17 and 18) against PyTorch.

The model: a CNN on 8x8 inputs (torch default init, ``torch.manual_seed(0)``, float64):
Conv2d(1, 16, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(16, 32, 3, padding=1), ReLU,
MaxPool2d(2), Flatten, Linear(128, 64), ReLU, Linear(64, 10); inputs uniform in [0, 1]
(numpy seed 0).

- ``boundary_distance`` of ``FASTRELU_BENCH_POINTS`` points (500 by default) against its
  floor in torch: ``torch.func.jacfwd`` (vmapped, in batches of 50 points) of every
  activation's and max-pool's input, then the same minimum (``|z| / ||grad z||`` over the
  activations' units, ``(z_a - z_c) / ||grad (z_a - z_c)||`` over each window's largest
  input ``a`` and the others ``c``);
- ``Regions.gradient`` of the pieces of one line between two inputs (``boundaries=True``),
  the reverse pass (``pull_back_graph``: 10 cotangents per piece), against
  ``torch.func.jacrev`` of the outputs at the pieces' middles (one batch); and the forward
  pass with one tangent per input (``propagate_graph``, 64 tangents per piece: what
  ``gradient`` ran before) at the same points against torch the same way;
- ``line_stats`` of 16 lines against 16 ``regions`` calls (a graph's lines are walked one
  by one, so the ratio tells the table's own cost).

Each pair is timed side by side, best of three rounds (the machine is shared).

Run:  python -m pytest benchmarks/bench_graph_lines.py --benchmark-only -s
"""

import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import fastrelu
from fastrelu.analysis.patterns import graph64
from fastrelu.model.forward import propagate_graph

N_POINTS = int(os.environ.get("FASTRELU_BENCH_POINTS", "500"))
_RESULTS = {}


def _model():
    torch.manual_seed(0)
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    ).double().eval()


def _inputs(model):
    """The inputs of the model's ReLUs and max-pools at one point ``x`` (1, 8, 8), flat."""
    c1, _, _, c2, _, _, _, fc1, _, _ = model

    def f(x):
        z1 = c1(x[None])
        a1 = F.relu(z1)
        z2 = c2(F.max_pool2d(a1, 2))
        a2 = F.relu(z2)
        z3 = fc1(F.max_pool2d(a2, 2).flatten(1))
        return z1[0], a1[0], z2[0], a2[0], z3[0]

    return f


def _windows(v):
    """(C, H, W, ...) -> (C*H/2*W/2, 4, ...): the 2x2 windows of a max-pool."""
    c, h, w = v.shape[:3]
    rest = v.shape[3:]
    v = v.reshape(c, h // 2, 2, w // 2, 2, *rest).movedim(2, 3)
    return v.reshape(c * (h // 2) * (w // 2), 4, *rest)


def torch_distance(model, X):
    f = _inputs(model)
    jac = torch.func.vmap(torch.func.jacfwd(f))
    val = torch.func.vmap(f)
    out = []
    with torch.no_grad():
        for i in range(0, X.shape[0], 50):
            xb = torch.from_numpy(X[i : i + 50])
            zs, Js = val(xb), jac(xb)
            best = torch.full((xb.shape[0],), torch.inf, dtype=torch.float64)
            for k, (z, J) in enumerate(zip(zs, Js)):
                z, J = z.reshape(z.shape[0], -1), J.reshape(z.shape[0], z.shape[1] if z.dim() == 2 else -1, 64)
                if k in (1, 3):  # a max-pool's input: each window's largest against the others
                    zz, JJ = zs[k], Js[k].reshape(*zs[k].shape, 64)
                    w = torch.stack([_windows(zz[p]) for p in range(zz.shape[0])])  # (n, W, 4)
                    dw = torch.stack([_windows(JJ[p]) for p in range(zz.shape[0])])  # (n, W, 4, 64)
                    a = w.argmax(-1, keepdim=True)
                    gap = w.gather(-1, a) - w
                    diff = dw.gather(2, a[..., None].expand(*a.shape, 64)) - dw
                    norm = torch.linalg.vector_norm(diff, dim=-1)
                    d = torch.where(norm > 0, gap / torch.where(norm > 0, norm, 1.0), torch.inf)
                else:
                    norm = torch.linalg.vector_norm(J.reshape(z.shape[0], z.shape[1], 64), dim=-1)
                    d = torch.where(norm > 0, z.abs() / torch.where(norm > 0, norm, 1.0), torch.inf)
                best = torch.minimum(best, d.reshape(d.shape[0], -1).min(dim=1).values)
            out.append(best)
    return torch.cat(out).numpy()


def _side_by_side(a, b, rounds=3):
    """Best of ``rounds`` of each, timed in turn; and their last results."""
    ta = tb = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        ra = a()
        ta = min(ta, time.perf_counter() - t0)
        t0 = time.perf_counter()
        rb = b()
        tb = min(tb, time.perf_counter() - t0)
    return ta, tb, ra, rb


def test_boundary_distance(benchmark):
    model = _model()
    net = fastrelu.Network.from_torch(model, (1, 8, 8))
    X = np.random.default_rng(0).uniform(size=(N_POINTS, 1, 8, 8))
    f, t, res, d = _side_by_side(lambda: fastrelu.boundary_distance(net, X), lambda: torch_distance(model, X))
    benchmark.pedantic(lambda: None, rounds=1)
    _RESULTS["distance"] = (f, t, float(np.max(np.abs(res.distance - d) / np.maximum(d, 1e-300))))


def test_gradient(benchmark):
    model = _model()
    net = fastrelu.Network.from_torch(model, (1, 8, 8))
    x0, x1 = np.random.default_rng(1).uniform(size=(2, 1, 8, 8))
    r0 = fastrelu.regions(net, along=(x0, x1), start=0.0, stop=1.0, boundaries=True)
    t = (r0.lo + r0.hi) / 2
    X = torch.from_numpy(x0[None] + t[:, None, None, None] * (x1 - x0)[None])

    fresh = [fastrelu.regions(net, along=(x0, x1), start=0.0, stop=1.0, boundaries=True) for _ in range(3)]

    def ours():  # a fresh Regions each round: the gradient is computed once and kept
        return fresh.pop().gradient

    def theirs():
        return torch.func.jacrev(lambda x: model(x).sum(0))(X)

    graph = graph64(net)
    eye = np.broadcast_to(np.eye(64).reshape(1, 64, 1, 8, 8), (len(r0), 64, 1, 8, 8))

    def tangents():  # the forward-mode Jacobian at the same points (no pattern pass needed)
        return propagate_graph(graph, X.numpy(), eye)[1]

    f, t, g, J = _side_by_side(ours, theirs)
    fw, t2, dy, _ = _side_by_side(tangents, theirs)
    benchmark.pedantic(lambda: None, rounds=1)
    J = J.reshape(10, len(r0), 64).transpose(0, 1).detach().numpy()
    fwd = np.swapaxes(dy.reshape(len(r0), 64, 10), 1, 2)
    _RESULTS["gradient"] = (f, t, len(r0), float(np.abs(g - J).max()), fw, t2, float(np.abs(fwd - J).max()))


def test_line_stats(benchmark):
    model = _model()
    net = fastrelu.Network.from_torch(model, (1, 8, 8))
    X0, X1 = np.random.default_rng(2).uniform(size=(2, 16, 64))

    def each():
        return [fastrelu.regions(net, along=(a, b), start=0.0, stop=1.0) for a, b in zip(X0, X1)]

    f, t, s, rs = _side_by_side(lambda: fastrelu.line_stats(net, X0, X1, progress=False), each)
    benchmark.pedantic(lambda: None, rounds=1)
    assert list(s.pieces) == [len(r) for r in rs]
    _RESULTS["lines"] = (f, t, int(s.pieces.sum()))


def _print_table(line):
    line("\ngraph line analyses (CNN 1x8x8 -> conv16, pool, conv32, pool, 64, 10; best of 3, side by side):")
    if "distance" in _RESULTS:
        f, t, rel = _RESULTS["distance"]
        line(f"boundary_distance, {N_POINTS:,} points: fastrelu {f:.3f} s, torch jacfwd + the same minimum {t:.3f} s "
             f"(fastrelu / torch {f / t:.2f}); largest relative difference {rel:.1e}")
    if "gradient" in _RESULTS:
        f, t, p, err, fw, t2, err2 = _RESULTS["gradient"]
        line(f"Regions.gradient of {p} pieces (reverse pass): fastrelu {f:.3f} s (after the walk), torch jacrev {t:.3f} s "
             f"(fastrelu / torch {f / t:.2f}); largest difference {err:.1e}")
        line(f"  the forward pass with 64 input tangents at the same points: {fw:.3f} s, torch jacrev {t2:.3f} s "
             f"(fastrelu / torch {fw / t2:.2f}); largest difference {err2:.1e}")
    if "lines" in _RESULTS:
        f, t, p = _RESULTS["lines"]
        line(f"line_stats of 16 lines ({p} pieces): {f:.3f} s, 16 regions calls {t:.3f} s (ratio {f / t:.2f})")
