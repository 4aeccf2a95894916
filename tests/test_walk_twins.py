"""The exact deep walk's two twins, C (csrc/walk_c.c, bound by kernels/walk_c.py) and
Numba (kernels/walk_numba.py), agree bit for bit: every kernel on the arguments real
walks hand it (recorded), on random and hostile ones, and whole walks and sweeps; and
``walk.py`` runs the C twin by default, the Numba one when ``$FASTRELU_BACKEND`` says so.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from test_exact_deep import make_net

from fastrelu.kernels import walk as ed
from fastrelu.kernels import walk_c, walk_numba
from fastrelu.kernels.engine import choose
from fastrelu.kernels.params import deep_params
from fastrelu.model.network import Network

TWINS = (walk_numba, walk_c)


def same(a, b):
    """Bit-identical: equal values, and equal bytes (NaN, -0.0, untouched scratch included)."""
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b


def both(name, *args):
    """``name`` of each twin on its own copy of ``args``: the results and the arrays after
    the call must be the same bits."""
    outs = []
    for twin in TWINS:
        copy = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        r = getattr(twin, name)(*copy)
        outs.append((r, copy))
    (r0, a0), (r1, a1) = outs
    if isinstance(r0, tuple):
        assert len(r0) == len(r1) and all(int(x) == int(y) for x, y in zip(r0, r1)), name
    else:
        assert r0 == r1 and type(r0 == r1) in (bool, np.bool_), (name, r0, r1)
    for k, (x, y) in enumerate(zip(a0, a1)):
        if isinstance(x, np.ndarray):
            assert same(x, y), f"{name}: argument {k} differs between the twins"
    return r0, a0


class _Recorder:
    """Stands for the Numba twin in ``walk.py`` and keeps a copy of every call's arguments."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        value = getattr(walk_numba, name)
        if not callable(value):
            return value

        def call(*args):
            self.calls.append((name, tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)))
            return value(*args)

        return call


def _recorded(monkeypatch, nets, start, stop, grids=()):
    rec = _Recorder()
    monkeypatch.setattr(ed, "_kernels", lambda: rec)
    for net in nets:
        ed.clear_cache()
        ed.walk(*net, start, stop)
    for net, t in grids:
        ed.clear_cache()
        _sweep(net, t)
    ed.clear_cache()
    return rec.calls


def _sweep(net, t):
    widths = net[0]
    y = np.empty((t.shape[0], int(widths[-1])), t.dtype)
    s = np.empty_like(y)
    neg = np.empty((t.shape[0], len(widths) - 2), np.int32)
    ed.sweep_deep(t, *(np.asarray(a, t.dtype) if a.dtype.kind == "f" else a for a in net), y, s, neg)
    return y, s, neg


def _hostile_nets():
    rng = np.random.default_rng(11)
    nets = []
    # every first-layer unit crosses at one t (ties of many crossings), bias-free deeper layers
    net = make_net(rng, [1, 6, 5, 4, 1], ["relu", "leaky", "prelu"], bias=False)
    w0 = net[1][:6]
    w0[w0 == 0] = 0.5
    net[2][:6] = -0.375 * w0
    nets.append(net)
    # dead units: z = 0 on the whole line, in two layers
    net = make_net(rng, [1, 4, 4, 1], ["relu", "hardtanh"])
    net[1][1], net[2][1] = 0.0, 0.0
    net[1][4 + 2 * 4 : 4 + 3 * 4], net[2][4 + 2] = 0.0, 0.0
    nets.append(net)
    # crossings exactly at the walk's ends (-1 and 2)
    net = make_net(rng, [1, 5, 3, 1], ["relu", "relu6"])
    net[1][:5] = [1.0, -1.0, 0.5, 2.0, -0.25]
    net[2][:5] = [1.0, 2.0, 0.25, -1.0, 0.5]
    nets.append(net)
    # every activation, dyadic (exact ties between layers) and random, wider layers (anchors)
    for seed, kinds in enumerate([["relu", "leaky", "prelu"], ["linear", "hardtanh", "relu6"],
                                  ["hardtanh_shifted", "relu", "leaky"]]):
        r = np.random.default_rng(seed)
        nets.append(make_net(r, [1, 7, 9, 6, 2], kinds))
        nets.append(make_net(r, [1, 40, 40, 40, 3], kinds, dyadic=False))
    return nets


HOSTILE = _hostile_nets()


def _line_net(dtype):
    """784 -> [64] x 3 -> 10 along a line through input space, in ``dtype``, walked in float64."""
    net = Network.random([784, 64, 64, 64, 10], seed=3)
    if dtype != np.float64:
        net = net.astype(dtype)
    rng = np.random.default_rng(5)
    line = net.along(rng.standard_normal(784), rng.standard_normal(784))
    return deep_params(line, np.dtype(np.float64))


def test_constants_agree():
    assert walk_c._CHUNK == walk_numba._CHUNK and walk_c._HITS == walk_numba._HITS


def test_default_is_c_and_the_variable_picks_numba(monkeypatch):
    monkeypatch.delenv("FASTRELU_BACKEND", raising=False)
    assert ed._kernels() is walk_c
    monkeypatch.setenv("FASTRELU_BACKEND", "numba")
    assert ed._kernels() is walk_numba
    monkeypatch.setenv("FASTRELU_BACKEND", "cffi")
    assert ed._kernels() is walk_c
    assert choose(ed._TWINS, "numba") is walk_numba and choose(ed._TWINS, "c") is walk_c
    with pytest.raises(ValueError, match="engine"):
        choose(ed._TWINS, "fortran")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_recorded_call_agrees(monkeypatch, dtype):
    nets = [*HOSTILE, _line_net(dtype)]
    t64 = np.concatenate([np.linspace(-1.0, 2.0, 3001), [0.375, -1.0, 2.0, 0.0, np.nan]])
    grids = [(n, t64.astype(dtype)) for n in HOSTILE[:4]]
    grids.append((HOSTILE[0], np.repeat(np.array([0.375], dtype), 200)))  # more points on an edge than _HITS
    grids.append((HOSTILE[3], np.linspace(2.0, -1.0, 70001).astype(dtype)))  # descending, two chunks
    calls = _recorded(monkeypatch, nets, -1.0, 2.0, grids)
    names = {name for name, _ in calls}
    assert {"_scan", "_plan", "_fill", "_prefix", "_evaluate"} <= names
    for name, args in calls:
        both(name, *args)
        if name == "_scan":  # its parts, piece by piece, on the same arguments
            _check_scan_parts(*args)


def _check_scan_parts(te, S, C, bps, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r):
    state = [first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r]
    for p in range(S.shape[0]):
        both("_scan_pass", te, S, C, bps, p, p == 0, carried.copy(), r0s.copy(), flag.copy())
        for j in range(S.shape[1]):
            both("_first_crossing", bps, S[p, j], C[p, j], te[p], te[p + 1])
        _, after = both("_scan_piece", te, S, C, bps, p, *state)
        state = after[5:]


def test_transpose_agrees():
    rng = np.random.default_rng(2)
    for m, n in [(1, 1), (7, 9), (64, 64), (33, 100), (128, 8)]:
        W = rng.standard_normal((m, n))
        WT = np.full((n, m), np.nan)
        both("_transpose", W, WT, 0, n)
        both("_transpose", W, WT, min(3, n), n - 1 if n > 3 else n)  # a range of rows only


def test_scan_hostile_direct():
    """Slopes of zero (flat units, positive and exactly-zero maps), crossings exactly at
    an edge, ties, several breakpoints (a clamp), NaN and inf maps, event arrays too short."""
    rng = np.random.default_rng(9)
    te = np.array([-1.0, -0.5, 0.0, 0.25, 1.0])
    P, w = 4, 12
    S = rng.integers(-2, 3, (P, w)).astype(np.float64)
    C = rng.integers(-2, 3, (P, w)) / 4.0
    S[:, 0], C[:, 0] = 0.0, 0.0  # exactly (0, 0): negative
    S[:, 1], C[:, 1] = 0.0, 0.5  # flat, positive
    S[:, 2], C[:, 2] = 1.0, 0.5  # crosses 0 at -0.5: an edge
    S[:, 3], C[:, 3] = -2.0, 0.0  # crosses at 0: an edge
    S[1, 4], C[1, 4] = np.inf, 1.0
    S[2, 5], C[2, 5] = np.nan, 0.0
    for bps in (np.zeros(1), np.array([-1.0, 1.0]), np.array([0.0, 0.25, 0.5])):
        for cap in (1, 3, 1000):
            h = S.shape[1]
            args = (np.empty(h, np.int8), np.zeros(h, np.int8), np.zeros(h, np.bool_), np.zeros(h, np.int8),
                    np.zeros(2, np.int64), np.zeros(cap, np.int64), np.zeros(cap), np.zeros(cap, np.int64),
                    np.zeros(cap, np.int8))
            both("_scan", te, S, C, bps, *args)
            _check_scan_parts(te, S, C, bps, *args)


def test_plan_ties_direct():
    """Crossings at an old edge (kind 1), many at one t (kind 3), one (kind 2), anchors every K."""
    rng = np.random.default_rng(4)
    te = np.array([0.0, 0.25, 0.5, 1.0])
    ev_p = np.array([0, 0, 0, 1, 1, 1, 2, 2, 0], np.int64)
    ev_t = np.array([0.1, 0.1, 0.2, 0.25, 0.3, 0.3, 0.5, 0.75, 0.0])
    order = np.lexsort((rng.permutation(9), ev_t, ev_p))
    for ekind_old in (np.zeros(2, np.int8), np.ones(2, np.int8)):
        for K in (1, 2, 100):
            cap = 3 + 9
            out = (np.full(cap + 1, np.nan), np.full(cap, -7, np.int64), np.full(cap, -7, np.int8),
                   *(np.full(cap, -7, np.int64) for _ in range(5)))
            both("_plan", te, ev_p, ev_t, order, ekind_old, K, *out)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_whole_walks_and_sweeps_agree(monkeypatch, dtype):
    nets = [*HOSTILE, _line_net(dtype)]
    results = []
    for engine in ("numba", "cffi"):
        monkeypatch.setenv("FASTRELU_BACKEND", engine)
        got = []
        for net in nets:
            ed.clear_cache()
            lp = ed.walk(*net, -1.0, 2.0)
            got.append([lp.edges, lp.slope, lp.intercept, lp.negative_by_layer, lp.cross_offsets, lp.cross_layer,
                        lp.cross_unit, lp.kink, np.array([lp.merged, lp.suppressed])])
            ed.clear_cache()
            got.append(list(_sweep(net, np.linspace(-1.0, 2.0, 100001).astype(dtype))))
        results.append(got)
    ed.clear_cache()
    assert ed.walk(*nets[-1], -1.0, 2.0).edges.shape[0] > 100  # the long line has many pieces
    for a, b in zip(*results):
        assert all(same(x, y) for x, y in zip(a, b))


def test_deep_default_path_does_not_import_numba(tmp_path):
    # issue 18: the first deep sweep after install waited 5-14 s for Numba to compile the walk
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import fastrelu\n"
        "net = fastrelu.Network.random([1, 64, 64, 1], seed=0)\n"
        "res = fastrelu.sweep(net, num=10001, backend='exact')\n"
        "fastrelu.kinks(net)\n"
        "fastrelu.regions(net, -1, 1)\n"
        "wide = fastrelu.Network.random([784, 64, 64, 64, 10], seed=0)\n"
        "fastrelu.regions(wide, along=(np.zeros(784), np.ones(784)))\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FASTRELU_BACKEND"}
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
