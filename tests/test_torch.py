"""PyTorch is the second truth: fastrelu's sweep along a line against torch's own forward
pass, forward-mode derivative and (hooked) pre-activations, for every backend and dtype.

How close is close enough is derived from rounding, per point and per unit, not taken as a
constant.  Both fastrelu and torch approximate the same exact function (the network with
the model's weights, evaluated in exact arithmetic); for each of them we bound the error
of every pre-activation, of the output and of the slope, by the standard forward error
analysis of a chain of dot products:

* an affine step ``z = W a + b`` of fan-in ``n`` adds a local error of at most
  ``gamma(n + k) * (|W| |a| + |b|)`` (any summation order, FMA or not), and passes the
  incoming error ``e`` on as ``W e``, bounded both elementwise (``|W| |e|``) and, so that
  the bound does not grow like the product of the ``|W|`` over many layers, through norms
  (``|(W e)_i| <= ||W_i||_2 ||e||_2`` and ``||W e||_2 <= ||W||_2 ||e||_2``);
* an activation of Lipschitz constant ``L`` multiplies the error by ``L`` and may add one
  rounding of its result;
* torch first rounds ``x(t) = x0 + t*(x1 - x0)`` (three roundings of ``|x0| + |t||x1 - x0|``),
  while fastrelu folds the line into its first layer (``W @ (x1 - x0)``, ``W @ x0 + b`` in
  float64, rounded to the dtype) so its first layer's local error is relative to
  ``|W| (|x0| + |t||x1 - x0|) + |b|``; composed affine maps (a BatchNorm1d folded into a
  Linear) and the rounding of fastrelu's stored weights to the dtype are a few more unit
  roundoffs, hence ``k``.

Then ``|y_fastrelu - y_torch| <= e_torch + e_fastrelu`` at every point (the activations are
continuous); a unit whose torch pre-activation is farther than ``e_torch + e_fastrelu`` from
a breakpoint of its activation is on the same side in both, so the per-layer counts may
differ by at most the units within that distance of 0, and the slopes must agree (within
the tangent's bound) at every point where no unit is within it of any breakpoint.
"""

import copy
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwAD
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import fastrelu
from fastrelu import Network
from fastrelu.model import Activation
from fastrelu.model.forward import graph_magnitudes

BACKENDS = ["numpy", "numba", "cffi", "exact"]
DTYPES = ["float64", "float32"]
POINTS = 301  # t = 0, 1/300, ..., 1


# ---------------------------------------------------------------------------------------
# models


def _bn(n, affine=True):
    """A BatchNorm1d in evaluation mode with random running statistics (and affine part)."""
    m = nn.BatchNorm1d(n, affine=affine)
    with torch.no_grad():
        m.running_mean.copy_(torch.randn(n) * 0.5)
        m.running_var.copy_(torch.rand(n) * 1.5 + 0.5)
        if affine:
            sign = torch.where(torch.rand(n) < 0.2, -1.0, 1.0)
            m.weight.copy_(sign * (torch.rand(n) + 0.5))
            m.bias.copy_(torch.randn(n) * 0.1)
    return m


def _prelu(n):
    """A PReLU with ``n`` random slopes in (-0.5, 0.5) (n = 1: one for the layer)."""
    m = nn.PReLU(n)
    with torch.no_grad():
        m.weight.uniform_(-0.5, 0.5)
    return m


def _tiny():
    return nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 1))


def _mnist():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), _bn(512), nn.LeakyReLU(0.1), nn.Dropout(0.5), nn.Linear(512, 10))


def _deep_prelu_bias_free():
    mods = [nn.Linear(3, 16, bias=False), _prelu(16)]
    for _ in range(7):
        mods += [nn.Linear(16, 16, bias=False), _prelu(16)]
    return nn.Sequential(*mods, nn.Linear(16, 1, bias=False))


def _wide_relu6_nested():
    return nn.Sequential(
        nn.Sequential(nn.Linear(20, 512), nn.ReLU6()),
        nn.Identity(),
        nn.Sequential(nn.Linear(512, 256), nn.Sequential(nn.ReLU6(), nn.Flatten())),
        nn.Linear(256, 128),
        nn.ReLU6(),
        nn.Dropout(0.2),
        nn.Linear(128, 64),
        nn.ReLU6(),
        nn.Linear(64, 5),
    )


def _hardtanh_bn():
    h = lambda: nn.Hardtanh(-0.5, 2.0)  # noqa: E731
    return nn.Sequential(
        nn.Linear(5, 64), _bn(64, affine=False), h(),
        nn.Linear(64, 64), h(), _bn(64),  # a BatchNorm1d after the activation: folded into the next Linear
        nn.Linear(64, 64), h(),
        nn.Linear(64, 2),
    )


def _prelu_single_nested():
    return nn.Sequential(nn.Sequential(nn.Linear(2, 32), _prelu(1)), nn.Sequential(nn.Sequential(nn.Linear(32, 32), _prelu(1))), nn.Linear(32, 3))


def _deep_relu_bn():
    mods = [nn.Linear(10, 128), nn.ReLU()]
    for k in range(7):
        mods += [nn.Linear(128, 128, bias=k % 2 == 0)] + ([_bn(128)] if k % 3 == 0 else []) + [nn.ReLU()]
    return nn.Sequential(*mods, nn.Linear(128, 4))


def _mixed():
    # starts with an activation, has two activations in a row and a bottleneck of one unit
    return nn.Sequential(
        nn.LeakyReLU(0.1), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1), nn.Hardtanh(-0.5, 2.0), _prelu(1),
        nn.Linear(1, 8), nn.ReLU6(), nn.Linear(8, 2),
    )


# name -> (builder, input width, how the two ends of the line are drawn)
CASES = {
    "1-1-1-relu": (_tiny, 1, "normal"),
    "784-512-10-bn-leaky-dropout": (_mnist, 784, "unit"),
    "3-16x8-1-prelu-per-unit-bias-free": (_deep_prelu_bias_free, 3, "normal"),
    "20-512-256-128-64-5-relu6-nested": (_wide_relu6_nested, 20, "wide"),
    "5-64x3-2-hardtanh-bn": (_hardtanh_bn, 5, "wide"),
    "2-32-32-3-prelu-one-slope-nested": (_prelu_single_nested, 2, "normal"),
    "10-128x8-4-relu-bn": (_deep_relu_bn, 10, "normal"),
    "4-(4)-8-1-(1)-8-2-mixed": (_mixed, 4, "normal"),
}


def build(builder, seed):
    """The float32 model ``builder`` makes from torch seed ``seed``, in evaluation mode."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = builder()
    return model.eval()


def line_ends(n_in, kind, seed):
    """Two random inputs, float32 values (exact in float64 too)."""
    rng = np.random.default_rng(seed)
    if kind == "unit":  # images: pixels in [0, 1)
        ends = rng.uniform(0.0, 1.0, (2, n_in))
    else:  # "wide" reaches ReLU6's and Hardtanh's upper ends
        ends = rng.normal(0.0, 10.0 if kind == "wide" else 1.0, (2, n_in))
    ends = ends.astype(np.float32).astype(np.float64)
    return ends[0], ends[1]


def in_dtype(model, dtype):
    return copy.deepcopy(model).double() if dtype == "float64" else model


# ---------------------------------------------------------------------------------------
# torch's side: values, tangents and every leaf's inputs and outputs


def leaves(module):
    if isinstance(module, nn.Sequential):
        for child in module.children():
            yield from leaves(child)
    else:
        yield module


def trace(model, x0, x1, t):
    """torch along the line: ``y``, ``dy/dt`` (forward-mode AD) and, for every leaf module in
    call order, ``(module, input, input tangent, output, output tangent)`` (float64 numpy)."""
    tdtype = next(model.parameters()).dtype
    records = []

    def hook(module, inputs, output):
        (pi, ti), (po, to) = fwAD.unpack_dual(inputs[0]), fwAD.unpack_dual(output)
        records.append((module, *(v.detach().double().numpy().copy() for v in (pi, ti, po, to))))

    handles = [m.register_forward_hook(hook) for m in leaves(model)]
    try:
        with torch.no_grad(), fwAD.dual_level():
            tt = torch.tensor(t, dtype=tdtype)[:, None]
            x0t, x1t = torch.tensor(x0, dtype=tdtype), torch.tensor(x1, dtype=tdtype)
            x = x0t + fwAD.make_dual(tt, torch.ones_like(tt)) * (x1t - x0t)
            y, slope = fwAD.unpack_dual(model(x))
            y, slope = y.double().numpy().copy(), slope.double().numpy().copy()
    finally:
        for h in handles:
            h.remove()
    return y, slope, records


# ---------------------------------------------------------------------------------------
# rounding bounds


_SPECTRAL = {}


def _spectral_norm(w):
    key = (w.shape, hash(w.tobytes()))
    if key not in _SPECTRAL:
        _SPECTRAL[key] = float(np.linalg.norm(w, 2))
    return _SPECTRAL[key]


def _gamma(n, u):
    return n * u / (1.0 - n * u)


def _norm(e):
    return np.sqrt((e * e).sum(axis=1))


class _Bound:
    """Elementwise (N, w) and norm (N,) bounds on the error of a vector at every point."""

    def __init__(self, elementwise):
        self.e = elementwise
        self.norm = _norm(elementwise)

    def affine(self, w, local):
        """Through ``W`` (weights float64), adding the local rounding error ``local`` (N, out)."""
        aw = np.abs(w)
        through = np.minimum(self.e @ aw.T, self.norm[:, None] * np.sqrt((w * w).sum(axis=1)))
        e = through + local
        out = _Bound(e)
        out.norm = np.minimum(out.norm, np.minimum(_norm(self.e @ aw.T), _spectral_norm(w) * self.norm) + _norm(local))
        return out

    def scaled(self, lipschitz, local):
        """Through an elementwise map of Lipschitz constant ``lipschitz``, adding ``local``."""
        out = _Bound(lipschitz * self.e + local)
        out.norm = np.minimum(out.norm, lipschitz * self.norm + _norm(local))
        return out


K = 4  # roundings beyond the fan-in, per affine step (bias, folding, storing the weights)
BN_ROUNDINGS = 8  # torch's eval BatchNorm1d: invstd, scale, shift, then x*scale + shift


def _lipschitz(module):
    kind = type(module).__name__
    if kind == "LeakyReLU":
        return max(1.0, abs(module.negative_slope))
    if kind == "PReLU":
        return max(1.0, float(module.weight.detach().abs().max()))
    return 1.0


def _breakpoints(module):
    kind = type(module).__name__
    if kind == "ReLU6":
        return (0.0, 6.0)
    if kind == "Hardtanh":
        return (float(module.min_val), 0.0, float(module.max_val))
    return (0.0,)


ACTIVATIONS = ("ReLU", "LeakyReLU", "PReLU", "ReLU6", "Hardtanh")


def torch_bounds(records, x0, x1, t, u, activations=ACTIVATIONS):
    """torch's error bounds: per activation module ``(module, z, dz_bound)``, and the output's
    value and tangent bounds (N, out)."""
    n = t.shape[0]
    d = x1 - x0
    mag = np.abs(x0) + np.abs(t)[:, None] * np.abs(d)
    val = _Bound(3 * u * mag)  # x0 + t*(x1 - x0), rounded three times
    tan = _Bound(np.broadcast_to(u * np.abs(d), (n, d.shape[0])).copy())  # x1 - x0, rounded once
    acts = []
    for m, zin, tin, zout, tout in records:
        kind = type(m).__name__
        if kind == "Linear":
            w = m.weight.detach().double().numpy()
            b = np.zeros(w.shape[0]) if m.bias is None else m.bias.detach().double().numpy()
            g = _gamma(w.shape[1] + 1, u)
            val = val.affine(w, g * (np.abs(zin) @ np.abs(w).T + np.abs(b)))
            tan = tan.affine(w, g * (np.abs(tin) @ np.abs(w).T))
        elif kind == "BatchNorm1d":
            mean, var = m.running_mean.double().numpy(), m.running_var.double().numpy()
            scale = 1.0 / np.sqrt(var + m.eps)
            shift = np.zeros_like(mean)
            if m.affine:
                scale = scale * m.weight.detach().double().numpy()
                shift = m.bias.detach().double().numpy()
            s = np.abs(scale)
            val = val.affine(np.diag(scale), BN_ROUNDINGS * u * (s * (np.abs(zin) + np.abs(mean)) + np.abs(shift)))
            tan = tan.affine(np.diag(scale), BN_ROUNDINGS * u * s * np.abs(tin))
        elif kind in activations:
            acts.append((m, zin, val.e))
            lip = _lipschitz(m)
            val = val.scaled(lip, u * np.abs(zout))
            tan = tan.scaled(lip, u * np.abs(tout))
        else:
            assert kind in ("Identity", "Dropout", "Flatten"), kind
    return acts, val.e, tan.e


def fastrelu_bounds(net, torch_acts, x0, x1, t, u):
    """fastrelu's error bounds for ``net`` swept along the line: per hidden layer the
    pre-activations' (N, width), and the output's value and tangent (N, out).

    ``torch_acts``: per activation module ``(module, z, z's bound, (output, output tangent))``;
    the magnitudes of fastrelu's activations are torch's plus both error bounds."""
    d = x1 - x0
    mag = np.abs(x0) + np.abs(t)[:, None] * np.abs(d)
    tmag = np.broadcast_to(np.abs(d), mag.shape)
    n_pts = t.shape[0]
    val = tan = None
    pre = []
    for k, (w, b) in enumerate(net.layers):
        w, b = w.astype(np.float64), b.astype(np.float64)
        g = _gamma(w.shape[1] + K, u)
        if k == 0:  # the line folded in: local error relative to |W|(|x0| + |t||d|) + |b|
            val = _Bound(g * (mag @ np.abs(w).T + np.abs(b)))
            tan = _Bound(g * (tmag @ np.abs(w).T))
        else:
            val = val.affine(w, g * (mag @ np.abs(w).T + np.abs(b)))
            tan = tan.affine(w, g * (tmag @ np.abs(w).T))
        if k == net.depth:
            break
        pre.append(val.e)
        m, _, e_torch, (zout, tout) = torch_acts[k]
        lip = _lipschitz(m)
        val = val.scaled(lip, u * np.abs(zout))
        tan = tan.scaled(lip, u * np.abs(tout))
        mag = np.abs(zout) + lip * (e_torch + val.e)
        tmag = np.abs(tout) + lip * tan.e  # the tangents agree where the pattern does (else the point is exempt)
        assert mag.shape[0] == n_pts
    return pre, val.e, tan.e


# ---------------------------------------------------------------------------------------
# the comparison


class Truth:
    """torch's answer along one line, with the bounds that do not depend on fastrelu."""

    def __init__(self, model, x0, x1, t, u, activations=ACTIVATIONS):
        # activations: the torch modules that are fastrelu's hidden layers' activations
        # (nn.Identity too, for a model that to_torch made of a "linear" network)
        self.y, self.slope, records = trace(model, x0, x1, t)
        acts, self.e_y, self.e_slope = torch_bounds(records, x0, x1, t, u, activations)
        outs = [(r[3], r[4]) for r in records if type(r[0]).__name__ in activations]
        # (module, z, dz bound, (output, output tangent)) per activation module
        self.acts = [(m, z, e, out) for (m, z, e), out in zip(acts, outs)]


_TRUTH = {}


def truth_for(case, dtype):
    key = (case, dtype)
    if key not in _TRUTH:
        builder, n_in, kind = CASES[case]
        seed = sorted(CASES).index(case)
        model = build(builder, seed)
        x0, x1 = line_ends(n_in, kind, seed + 100)
        t = np.linspace(0.0, 1.0, POINTS).astype(dtype)
        u = float(np.finfo(dtype).eps) / 2
        model = in_dtype(model, dtype)
        _TRUTH[key] = (model, x0, x1, t, u, Truth(model, x0, x1, t.astype(np.float64), u))
    return _TRUTH[key]


def check_sweep_against_torch(model, x0, x1, t, u, truth, backend, dtype, net=None):
    """Sweep ``net`` (default ``Network.from_torch(model)``) along (x0, x1) at ``t`` with
    ``backend`` and check it against torch; return the fraction of points exempt from the
    slope check."""
    if net is None:
        net = Network.from_torch(model)
    assert net.dtype == np.dtype(dtype)
    assert net.depth == len(truth.acts)
    res = fastrelu.sweep(net, x=t, along=(x0, x1), backend=backend)
    assert res.backend == backend and res.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(res.x, t)
    t64 = t.astype(np.float64)
    pre, e_y, e_slope = fastrelu_bounds(net, truth.acts, x0, x1, t64, u)

    n, out = t.shape[0], net.out_features
    y = res.y.reshape(n, out).astype(np.float64)
    slope = res.slope.reshape(n, out).astype(np.float64)
    assert res.y.shape == ((n,) if out == 1 else (n, out)) and res.slope.shape == res.y.shape

    # values: everywhere
    dy = np.abs(y - truth.y)
    tol_y = truth.e_y + e_y
    bad = dy > tol_y
    assert not bad.any(), (
        f"y differs from torch beyond rounding at {int(bad.any(axis=1).sum())} of {n} points; "
        f"worst {float((dy / tol_y).max()):.3g}x the bound, e.g. t={t64[bad.any(axis=1)][0]!r}: "
        f"{y[bad.any(axis=1)][0]} vs {truth.y[bad.any(axis=1)][0]}"
    )

    # counts per layer: off at most by the units within rounding of 0
    assert res.negative_by_layer.shape == (n, net.depth) and res.negative_by_layer.dtype == np.int32
    exempt = np.zeros(n, bool)
    for k, ((m, z, e_torch, _), e_fr) in enumerate(zip(truth.acts, pre)):
        tol = e_torch + e_fr
        count = np.count_nonzero(z <= 0, axis=1)
        unsure = np.count_nonzero(np.abs(z) <= tol, axis=1)
        diff = np.abs(res.negative_by_layer[:, k].astype(np.int64) - count)
        wrong = diff > unsure
        assert not wrong.any(), (
            f"layer {k} ({type(m).__name__}): count of units <= 0 differs from torch's hooked pre-activations "
            f"at {int(wrong.sum())} of {n} points, e.g. t={t64[wrong][0]!r}: "
            f"{res.negative_by_layer[wrong][0, k]} vs {count[wrong][0]} ({unsure[wrong][0]} within rounding of 0)"
        )
        for bp in _breakpoints(m):
            exempt |= (np.abs(z - bp) <= tol).any(axis=1)
    np.testing.assert_array_equal(res.negative, res.negative_by_layer.sum(axis=1))

    # slopes: where no unit is within rounding of a breakpoint
    ds = np.abs(slope - truth.slope)
    tol_s = truth.e_slope + e_slope
    bad = (ds > tol_s).any(axis=1) & ~exempt
    assert not bad.any(), (
        f"slope differs from torch's forward-mode derivative at {int(bad.sum())} of {n} points "
        f"({int(exempt.sum())} exempt near a breakpoint), e.g. t={t64[bad][0]!r}: {slope[bad][0]} vs {truth.slope[bad][0]}"
    )
    return float(exempt.mean())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_sweep_matches_torch(case, backend, dtype):
    model, x0, x1, t, u, truth = truth_for(case, dtype)
    exempt = check_sweep_against_torch(model, x0, x1, t, u, truth, backend, dtype)
    if dtype == "float64":
        # the slope check is not vacuous.  (In float32 the worst-case bound, gamma(fan-in) times
        # |W||a|, is 1e3 to 1e5 times the actual rounding of the wide and deep cases, so there
        # nearly every point has some unit within it of a breakpoint: those cases check y and
        # the counts, the narrow ones the slope too.)
        assert exempt <= 0.01, f"{exempt:.0%} of the points are within rounding of a breakpoint"


def test_cases_cover_the_brief():
    """The spread of the cases above: widths 1 to 512, depth 1 to 8, inputs 1 to 784, outputs 1 to 10,
    every activation and layer kind."""
    nets = {case: Network.from_torch(build(b, 0)) for case, (b, _, _) in CASES.items()}
    widths = [w for net in nets.values() for w in net.widths[1:-1]]
    assert min(widths) == 1 and max(widths) == 512
    assert {net.depth for net in nets.values()} >= {1, 8}
    assert {net.in_features for net in nets.values()} >= {1, 784}
    assert {net.out_features for net in nets.values()} >= {1, 10}
    kinds = {type(m).__name__ for b, _, _ in CASES.values() for m in build(b, 0).modules()}
    assert kinds >= {"Linear", "ReLU", "LeakyReLU", "PReLU", "ReLU6", "Hardtanh", "BatchNorm1d", "Dropout", "Identity", "Flatten", "Sequential"}


def test_exact_breakpoints_are_torchs_side():
    """A model whose line crosses breakpoints exactly at grid points (dyadic weights): the counts
    and slopes there follow PyTorch's convention (z = 0 counts as off; Hardtanh's slope is 0 at
    its ends), which the generic check above exempts."""
    model = nn.Sequential(nn.Linear(1, 4), nn.Hardtanh(-0.5, 2.0), nn.Linear(4, 4), nn.LeakyReLU(0.25), nn.Linear(4, 1)).double().eval()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0], [-1.0], [2.0], [0.5]]))
        model[0].bias.copy_(torch.tensor([0.0, 0.5, -1.0, 0.25]))
        model[2].weight.copy_(torch.tensor([[1.0, 0.5, -0.25, 1.0], [0.5, -1.0, 1.0, 0.25], [-1.0, 1.0, 0.5, 0.5], [0.25, 0.25, -1.0, 1.0]]))
        model[2].bias.zero_()
        model[4].weight.copy_(torch.tensor([[1.0, -0.5, 2.0, 0.75]]))
        model[4].bias.fill_(0.125)
    t = np.arange(-16, 17) / 8.0  # -2 .. 2 in steps of 1/8: every breakpoint of layer 1 is a grid point
    net = Network.from_torch(model)
    y, slope, records = trace(model, np.array([0.0]), np.array([1.0]), t)
    acts = [r for r in records if type(r[0]).__name__ in ACTIVATIONS]
    res = fastrelu.sweep(net, x=t, along=([0.0], [1.0]), backend="numpy")
    np.testing.assert_array_equal(res.y, y[:, 0])  # dyadic: every operation is exact
    np.testing.assert_array_equal(res.slope, slope[:, 0])
    for k, (_, z, *_rest) in enumerate(acts):
        np.testing.assert_array_equal(res.negative_by_layer[:, k], np.count_nonzero(z <= 0, axis=1))
    assert (acts[0][1] == 0).any() and (acts[0][1] == -0.5).any() and (acts[0][1] == 2.0).any()


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    widths=st.lists(st.integers(1, 24), min_size=2, max_size=5),
    kinds=st.lists(st.sampled_from(["relu", "leaky", "prelu1", "prelu", "relu6", "hardtanh"]), min_size=4, max_size=4),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(DTYPES),
)
def test_random_small_models_match_torch(widths, kinds, bias, seed, dtype):
    """Small random architectures (numpy backend; the table above covers every backend)."""

    def act(kind, n):
        return {
            "relu": nn.ReLU, "leaky": lambda: nn.LeakyReLU(0.1), "prelu1": lambda: _prelu(1), "prelu": lambda: _prelu(n),
            "relu6": nn.ReLU6, "hardtanh": lambda: nn.Hardtanh(-0.5, 2.0),
        }[kind]()

    def builder():
        mods = []
        for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            mods += [nn.Linear(a, b, bias=bias), act(kinds[k], b)]
        return nn.Sequential(*mods, nn.Linear(widths[-1], 2))

    model = in_dtype(build(builder, seed), dtype)
    x0, x1 = line_ends(widths[0], "wide", seed)
    t = np.linspace(0.0, 1.0, 101).astype(dtype)
    u = float(np.finfo(dtype).eps) / 2
    truth = Truth(model, x0, x1, t.astype(np.float64), u)
    check_sweep_against_torch(model, x0, x1, t, u, truth, "numpy", dtype)


# ---------------------------------------------------------------------------------------
# to_torch and back

ROUND_TRIP_ACTIVATIONS = {
    "relu": "relu",
    "linear": "linear",
    "leaky_relu": Activation("leaky_relu", negative_slope=0.1),
    "prelu-one": Activation("prelu", weight=0.1),
    "prelu-per-unit": Activation("prelu", weight=np.random.default_rng(7).uniform(-0.5, 0.5, 6)),
    "hardtanh": Activation("hardtanh", min_val=-0.5, max_val=2.0),
    "relu6": "relu6",
}
TORCH_CLASS = {"relu": nn.ReLU, "linear": nn.Identity, "leaky_relu": nn.LeakyReLU, "prelu-one": nn.PReLU,
               "prelu-per-unit": nn.PReLU, "hardtanh": nn.Hardtanh, "relu6": nn.ReLU6}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(ROUND_TRIP_ACTIVATIONS))
def test_to_torch_round_trip(kind, dtype):
    net = Network.random([3, 6, 6, 2], seed=11, activation=ROUND_TRIP_ACTIVATIONS[kind], dtype=dtype)
    model = net.to_torch()
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    assert isinstance(model, nn.Sequential)
    assert [type(m) for m in model] == [nn.Linear, TORCH_CLASS[kind], nn.Linear, TORCH_CLASS[kind], nn.Linear]
    assert all(p.dtype == tdtype for p in model.parameters())
    for k, (w, b) in enumerate(net.layers):
        np.testing.assert_array_equal(model[2 * k].weight.detach().numpy(), w)
        np.testing.assert_array_equal(model[2 * k].bias.detach().numpy(), b)

    # outputs equal: along a line, within the rounding bounds of both
    x0, x1 = line_ends(3, "wide", 5)
    t = np.linspace(0.0, 1.0, 101).astype(dtype)
    u = float(np.finfo(dtype).eps) / 2
    truth = Truth(model, x0, x1, t.astype(np.float64), u, (*ACTIVATIONS, "Identity"))
    check_sweep_against_torch(model, x0, x1, t, u, truth, "numpy", dtype, net=net)

    back = Network.from_torch(model)
    if kind == "linear":
        # nn.Identity is no layer boundary for from_torch: the affine layers compose
        # (documented in to_torch); the function is the same
        assert back.widths == (3, 2) or back.widths == (3, 2, 2)
        np.testing.assert_allclose(back(np.eye(3)), net(np.eye(3)), rtol=1e-5 if dtype == "float32" else 1e-12)
        return
    assert back.widths == net.widths, f"from_torch(to_torch(net)) has widths {back.widths}, net {net.widths}"
    assert back.activations == net.activations, f"{back.activations} != {net.activations}"
    assert back == net


# ---------------------------------------------------------------------------------------
# refusals


def _model(middle):
    return nn.Sequential(nn.Linear(2, 3), middle, nn.Linear(3, 1)).eval()


@pytest.mark.parametrize("layer", [nn.GELU, nn.Tanh, nn.Sigmoid, nn.SiLU])
def test_smooth_activations_are_refused(layer):
    with pytest.raises(ValueError, match=rf"\[1\] \({layer.__name__}\) is not piecewise linear"):
        Network.from_torch(_model(layer()))
    nested = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 3), layer()), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=rf"\[1\]\[2\] \({layer.__name__}\) is not piecewise linear"):
        Network.from_torch(nested)


def test_other_layers_are_refused():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Conv1d(1, 1, 1), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"\[2\] \(Conv1d\) is not supported"):
        Network.from_torch(model)


@pytest.mark.parametrize("module", [nn.ModuleList([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]), "not a module"])
def test_non_sequential_is_refused(module):
    # a module without a forward, or no module: any other module is traced (tests/test_graph.py)
    with pytest.raises(TypeError, match="torch.nn.Sequential"):
        Network.from_torch(module)


def test_a_module_around_a_sequential_is_read():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))

        def forward(self, x):
            return self.body(x)

    for m in (nn.Linear(2, 1).double(), Custom().double()):
        net = Network.from_torch(m)
        x = np.random.default_rng(0).normal(size=(7, 2))
        # rounding: each output is a sum of at most 3 + 1 products per layer, two layers
        bound = graph_magnitudes(net.graph, float(np.abs(x).max()))[net.graph.output.name]
        tol = 2 * 8 * np.finfo(np.float64).eps * bound
        np.testing.assert_allclose(net(x).reshape(7, -1), m(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=tol)


def test_batchnorm_in_training_mode_is_refused():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1))  # training mode by default
    with pytest.raises(ValueError, match=r"\[1\] \(BatchNorm1d\) is in training mode"):
        Network.from_torch(model)
    Network.from_torch(model.eval())
    no_stats = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, track_running_stats=False), nn.ReLU(), nn.Linear(3, 1)).eval()
    with pytest.raises(ValueError, match=r"\[1\] \(BatchNorm1d\) has no running statistics"):
        Network.from_torch(no_stats)


@pytest.mark.parametrize("var, shown", [(0.0, "0"), (-1.0, "-1"), (np.nan, "nan")])
def test_batchnorm_without_a_finite_scale_is_refused(var, shown):
    # eps=0 and a feature of zero running variance: 1/sqrt(0); pytest makes numpy's RuntimeWarnings errors
    bn = nn.BatchNorm1d(3, eps=0.0).eval()
    with torch.no_grad():
        bn.running_var[1] = var
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3), bn), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=rf"^layer \[2\]\[1\] \(BatchNorm1d\) is not a finite affine map: running_var \+ eps = {shown} for feature 1, and 1/sqrt of it is not a finite number$"):
        Network.from_torch(model)


@pytest.mark.parametrize(
    "model, match",
    [
        (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 1)), r"\[2\] \(Linear\) takes 5 inputs but receives 4"),
        (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(4, 1)), r"\[1\] \(BatchNorm1d\) takes 6 inputs but receives 4"),
        (nn.Sequential(nn.Linear(3, 4), nn.PReLU(5), nn.Linear(4, 1)), r"\[1\] \(PReLU\) has 5 slopes for 4 units"),
        (nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), nn.Sequential(nn.Linear(2, 1))), r"\[1\]\[0\] \(Linear\) takes 2 inputs but receives 4"),
    ],
)
def test_mismatched_widths_are_refused(model, match):
    with pytest.raises(ValueError, match=match):
        Network.from_torch(model.eval())


def test_import_fastrelu_does_not_import_torch():
    code = (
        "import sys, fastrelu\n"
        "assert 'torch' not in sys.modules, 'import fastrelu imported torch'\n"
        "net = fastrelu.Network.random([3, 8, 8, 2], seed=0, activation='leaky_relu')\n"
        "fastrelu.sweep(net, along=([0, 0, 0], [1, 2, 3]), num=11, backend='numpy')\n"
        "net.save(sys.argv[1]); fastrelu.Network.load(sys.argv[1])\n"
        "assert 'torch' not in sys.modules, 'a deep sweep imported torch'\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-c", code, os.path.join(tmp, "net.npz")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_hooks_and_look_alike_classes_are_refused():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    handle = model[1].register_forward_hook(lambda m, i, o: o * 0)
    with pytest.raises(ValueError, match=r"layer \[1\] \(ReLU\) has forward hooks"):
        Network.from_torch(model)
    handle.remove()

    class Linear(nn.Linear):  # a subclass may compute anything in its forward
        def forward(self, x):
            return super().forward(x) * 2

    with pytest.raises(ValueError, match=r"layer \[0\] .*not a torch.nn class"):
        Network.from_torch(nn.Sequential(Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
