"""The exact layer-by-layer walk of deep networks of a scalar (``kernels/walk.py``, its
kernels in ``kernels/walk_numba.py``).

Oracles: an exact walk in ``fractions.Fraction`` on small dyadic networks (every slope
and intercept of a piece is then a short dyadic number, exact in float64, and every edge
a rational that float64 must round correctly), and the numpy reference forward pass.

Rounding bound used against the reference.  With ``M(t)`` the network of absolute values
(``|W|``, gains ``max(1, |alpha|)``, ``|b|``, ``|t|``, clamps by their size) and
``N = sum(fan_in + 2)`` over the layers, a forward pass is within ``gamma_N * M(t)`` of
the exact output (``gamma_n = n u / (1 - n u)``).  The walk's maps are sums of one full
product (an anchor) and at most ``K`` rank-one changes, each bounded by ``2 M``, summed
exactly: within ``(2K + 1) gamma_N M``.  So the two agree within ``(2K + 2) gamma_N M(t)``
(values; the same with the absolute slope network for slopes).
"""

import threading
from fractions import Fraction as F

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels import dense_numpy as ref
from fastrelu.kernels import walk as ed

U = np.finfo(np.float64).eps / 2
INF = float("inf")

# activation kinds: (alpha per unit or None for per-unit random, lo, hi)
KINDS = {
    "relu": (0.0, -INF, INF),
    "leaky": (0.25, -INF, INF),
    "prelu": (None, -INF, INF),
    "linear": (1.0, -INF, INF),
    "hardtanh": (1.0, -1.0, 1.0),
    "relu6": (1.0, 0.0, 6.0),
    "hardtanh_shifted": (1.0, -0.5, 0.75),
}


def make_net(rng, widths, kinds, dyadic=True, bias=True):
    widths = np.array(widths, np.int64)
    nw = int(np.sum(widths[1:] * widths[:-1]))
    nb = int(np.sum(widths[1:]))
    if dyadic:
        w = rng.integers(-6, 7, nw) / 4.0
        b = rng.integers(-8, 9, nb) / 8.0
    else:
        w = rng.standard_normal(nw)
        b = rng.standard_normal(nb)
    if not bias:
        b[:] = 0.0
    alpha, lo, hi = [], [], []
    for k, kind in enumerate(kinds):
        a, l, h = KINDS[kind]
        n = int(widths[k + 1])
        alpha.append(rng.choice([0.0, 0.25, 0.5, 0.75], n) if a is None else np.full(n, a))
        lo.append(l)
        hi.append(h)
    return widths, w, b, np.concatenate(alpha) if alpha else np.zeros(0), np.array(lo), np.array(hi)


def forward(net, t):
    """Reference sweep at float64 points ``t``: y, slope, negative."""
    widths = net[0]
    t = np.asarray(t, np.float64)
    y = np.empty((t.shape[0], widths[-1]))
    s = np.empty_like(y)
    neg = np.empty((t.shape[0], len(widths) - 2), np.int32)
    ref.sweep_deep(t, *net, y, s, neg)
    return y, s, neg


# ---------------------------------------------------------------------------------
# exact oracle


def _act(z, a, lo, hi):
    """Value, gain and offset (a = g*z + o on the region of z) of one unit, in Fractions."""
    v = z if z > 0 else a * z
    dv = F(1) if z > 0 else a
    val = v
    if lo != -INF and v <= lo:
        val = F(lo)
    if hi != INF and v >= hi:
        val = F(hi)
    inside = (lo == -INF or v > lo) and (hi == INF or v < hi)
    g = dv if inside else F(0)
    return val, g, val - g * z


def _region(z, bps):
    return sum(1 for b in bps if z > b)


def exact_walk(net, start, stop):
    widths, w, b, alpha, lo, hi = net
    layers = ref.unpack_layers(widths, w, b)
    L = len(widths) - 2
    Wf = [[[F(x) for x in row] for row in Wk] for Wk, _ in layers]
    Bf = [[F(x) for x in bk] for _, bk in layers]
    # a piece: [tl, tr, S, C, regions per layer (tuples), negatives per layer]
    pieces = [[F(start), F(stop), [r[0] for r in Wf[0]], list(Bf[0]), [], []]]
    u0 = 0
    for k in range(L):
        h = int(widths[k + 1])
        al = [F(x) for x in alpha[u0 : u0 + h]]
        u0 += h
        bps = sorted({F(x) for x in (lo[k], 0.0, hi[k]) if np.isfinite(x)})
        new = []
        for tl, tr, S, C, regs, negs in pieces:
            pts = set()
            for j in range(h):
                if S[j] != 0:
                    for bp in bps:
                        t = (bp - C[j]) / S[j]
                        if tl < t < tr:
                            pts.add(t)
            cuts = [tl] + sorted(pts) + [tr]
            for a, c in zip(cuts[:-1], cuts[1:]):
                mid = (a + c) / 2
                Sa, Ca, reg, neg = [], [], [], 0
                for j in range(h):
                    z = S[j] * mid + C[j]
                    _, g, o = _act(z, al[j], lo[k], hi[k])
                    Sa.append(g * S[j])
                    Ca.append(g * C[j] + o)
                    reg.append(_region(z, bps))
                    neg += z <= 0
                W1, b1 = Wf[k + 1], Bf[k + 1]
                S2 = [sum(wi * s for wi, s in zip(row, Sa)) for row in W1]
                C2 = [sum(wi * s for wi, s in zip(row, Ca)) + bb for row, bb in zip(W1, b1)]
                new.append([a, c, S2, C2, regs + [tuple(reg)], negs + [neg]])
        pieces = new
    return pieces


def _check_exact(net, start, stop):
    lp = ed.walk(*net, start, stop)
    ex = exact_walk(net, start, stop)
    edges = [float(p[0]) for p in ex] + [float(ex[-1][1])]
    if len(set(edges)) < len(edges):
        pytest.skip("two exact edges round to the same float64")  # not for this oracle
    assert lp.edges.tolist() == edges  # every edge the exact crossing, correctly rounded
    assert lp.pieces == len(ex) == lp.boundaries + 1
    assert lp.suppressed == 0
    for p, (tl, tr, S, C, regs, negs) in enumerate(ex):
        assert lp.slope[p].tolist() == [float(x) for x in S]  # exact
        assert lp.intercept[p].tolist() == [float(x) for x in C]  # exact
        assert lp.negative_by_layer[p].tolist() == negs
    n_cross = 0
    for e in range(lp.boundaries):
        want = sorted((k, j) for k in range(len(ex[e][4])) for j in range(len(ex[e][4][k]))
                      if ex[e][4][k][j] != ex[e + 1][4][k][j])
        layer, unit = lp.crossings(e)
        assert sorted(zip(layer.tolist(), unit.tolist())) == want
        assert len(want) >= 1  # every boundary is a crossing
        n_cross += len(want)
        assert bool(lp.kink[e]) == (ex[e][2] != ex[e + 1][2])
    assert lp.merged == n_cross - lp.boundaries
    return lp


@pytest.mark.parametrize("seed", range(40))
def test_exact_against_fractions(seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(2, 5))
    widths = [1] + [int(x) for x in rng.integers(2, 6, depth)] + [int(rng.integers(1, 3))]
    kinds = [str(rng.choice(list(KINDS))) for _ in range(depth)]
    _check_exact(make_net(rng, widths, kinds), -4.0, 4.0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_exact_each_activation(kind):
    rng = np.random.default_rng(hash(kind) % 1000)
    lp = _check_exact(make_net(rng, [1, 5, 4, 3, 2], [kind] * 3), -4.0, 4.0)
    assert lp.pieces > 1


# ---------------------------------------------------------------------------------
# against the reference


def _blockwise(fn):
    """Apply ``fn(net, t)`` to blocks of points: (points x widest layer) stays small."""

    def run(net, t):
        t = np.asarray(t, np.float64)
        rows = max(16, (1 << 20) // int(np.max(net[0])))
        parts = [fn(net, t[i : i + rows]) for i in range(0, max(t.shape[0], 1), rows)]
        if isinstance(parts[0], tuple):
            return tuple(np.concatenate(p) for p in zip(*parts))
        return np.concatenate(parts)

    return run


@_blockwise
def abs_bound(net, t):
    """``M(t)``: the network of absolute values at ``t`` (values and slopes), per output."""
    widths, w, b, alpha, lo, hi = net
    layers = ref.unpack_layers(widths, w, b)
    L = len(widths) - 2
    t = np.abs(np.asarray(t, np.float64))[:, None]
    m = np.abs(layers[0][0][:, 0]) * t + np.abs(layers[0][1])
    ms = np.broadcast_to(np.abs(layers[0][0][:, 0]), m.shape)
    u0 = 0
    for k in range(L):
        n = int(widths[k + 1])
        c = max(1.0, float(np.max(np.abs(alpha[u0 : u0 + n]))))
        u0 += n
        clamp = max([abs(x) for x in (lo[k], hi[k]) if np.isfinite(x)] + [0.0])
        Wk, bk = layers[k + 1]
        m = (c * m + clamp) @ np.abs(Wk).T + np.abs(bk)
        ms = (c * ms) @ np.abs(Wk).T
    return m, ms


def tolerance(net, t):
    widths = net[0]
    n = int(np.sum(widths[:-1] + 2))
    K = max(ed._anchor_spacing(int(f)) for f in widths[1:-1]) if len(widths) > 2 else 0
    g = n * U / (1 - n * U)
    m, ms = abs_bound(net, t)
    return (2 * K + 2) * g * m, (2 * K + 2) * g * ms


@_blockwise
def ambiguous(net, t):
    """Points where some unit is within rounding of a breakpoint (the side is rounding's choice)."""
    widths, w, b, alpha, lo, hi = net
    layers = ref.unpack_layers(widths, w, b)
    L = len(widths) - 2
    t = np.asarray(t, np.float64)[:, None]
    a = t
    ma = np.abs(t)
    amb = np.zeros(t.shape[0], bool)
    u0 = 0
    n = 0
    for k in range(L):
        Wk, bk = layers[k]
        n += Wk.shape[1] + 2
        z = a @ Wk.T + bk
        mz = ma @ np.abs(Wk).T + np.abs(bk)
        tol = 64 * n * U * mz + 1e-300
        for bp in (0.0, lo[k], hi[k]):
            if np.isfinite(bp):
                amb |= np.any(np.abs(z - bp) <= tol, axis=1)
        h = Wk.shape[0]
        al = alpha[u0 : u0 + h]
        u0 += h
        v = np.where(z > 0, z, al * z)
        a = np.clip(v, lo[k], hi[k])
        ma = np.maximum(1.0, np.abs(al)).max() * mz + max([abs(x) for x in (lo[k], hi[k]) if np.isfinite(x)] + [0.0])
    return amb


def check_sweep(net, t, dtype=np.float64):
    t = np.asarray(t, dtype)
    widths = net[0]
    N, out, L = t.shape[0], int(widths[-1]), len(widths) - 2
    y = np.empty((N, out), dtype)
    s = np.empty_like(y)
    neg = np.empty((N, L), np.int32)
    cast = tuple(np.asarray(a, dtype) if a.dtype.kind == "f" else a for a in net)
    ed.sweep_deep(t, *cast, y, s, neg)
    yr, sr, nr = forward(tuple(np.asarray(a, np.float64) if a.dtype.kind == "f" else a for a in cast), t)
    tol_y, tol_s = tolerance(net, t)
    if dtype == np.float32:
        tol_y = tol_y + np.finfo(np.float32).eps * (np.abs(yr) + tol_y)
        tol_s = tol_s + np.finfo(np.float32).eps * (np.abs(sr) + tol_s)
    assert y.dtype == dtype and s.dtype == dtype
    assert np.all(np.abs(y - yr) <= tol_y)
    amb = ambiguous(net, t)
    assert np.array_equal(neg[~amb], nr[~amb])
    assert np.all(np.abs(s - sr)[~amb] <= tol_s[~amb])
    return y, s, neg


@pytest.mark.parametrize("seed", range(12))
def test_pieces_affine_and_sweep(seed):
    rng = np.random.default_rng(100 + seed)
    depth = int(rng.integers(1, 5))
    widths = [1] + [int(x) for x in rng.integers(1, 9, depth)] + [int(rng.integers(1, 4))]
    kinds = [str(rng.choice(list(KINDS))) for _ in range(depth)]
    net = make_net(rng, widths, kinds, dyadic=False, bias=seed % 3 != 0)
    lp = ed.walk(*net, -6.0, 6.0)
    assert lp.pieces == lp.boundaries + 1 and np.all(np.diff(lp.edges) > 0)
    assert np.all(np.diff(lp.cross_offsets) >= 1)
    # the reference at interior points of every piece is the piece's affine map
    f = np.array([0.25, 0.5, 0.75])
    tt = (lp.edges[:-1, None] + f * np.diff(lp.edges)[:, None]).ravel()
    pid = np.repeat(np.arange(lp.pieces), 3)
    yr, sr, nr = forward(net, tt)
    tol_y, tol_s = tolerance(net, tt)
    assert np.all(np.abs(lp.slope[pid] * tt[:, None] + lp.intercept[pid] - yr) <= tol_y)
    amb = ambiguous(net, tt)
    assert np.array_equal(lp.negative_by_layer[pid][~amb], nr[~amb])
    assert np.all(np.abs(lp.slope[pid] - sr)[~amb] <= tol_s[~amb])
    # a grid, with the edges themselves in it (evaluated directly there)
    grid = np.sort(np.concatenate([np.linspace(-6, 6, 4001), lp.edges]))
    check_sweep(net, grid)
    check_sweep(net, rng.permutation(grid))  # unsorted: binary search
    check_sweep(net, grid, np.float32)


# ---------------------------------------------------------------------------------
# hostile cases


def test_all_units_switch_at_one_t():
    # every first-layer unit crosses 0 at t = 3/8; the deeper layers are bias-free
    # relative to that point, so they all cross there too
    rng = np.random.default_rng(7)
    net = make_net(rng, [1, 6, 5, 4, 1], ["relu", "leaky", "prelu"], bias=False)
    widths, w, b, alpha, lo, hi = net
    w0 = w[:6].copy()
    w0[w0 == 0] = 0.5
    w[:6] = w0
    b[:6] = -0.375 * w0
    lp = _check_exact(net, -2.0, 2.0)
    assert lp.edges.tolist() == [-2.0, 0.375, 2.0]
    assert lp.merged == lp.cross_offsets[-1] - 1 and lp.merged >= 5
    check_sweep(net, np.linspace(-2, 2, 1001))


def test_bias_free_line_through_origin():
    rng = np.random.default_rng(3)
    net = make_net(rng, [1, 8, 8, 8, 2], ["relu", "leaky", "prelu"], dyadic=False, bias=False)
    lp = ed.walk(*net, -1.0, 1.0)
    assert lp.edges.tolist() == [-1.0, 0.0, 1.0]
    assert np.all(lp.intercept == 0.0)
    check_sweep(net, np.linspace(-1, 1, 2001))


def test_identically_zero_unit():
    rng = np.random.default_rng(4)
    net = make_net(rng, [1, 4, 4, 1], ["relu", "hardtanh"])
    widths, w, b, alpha, lo, hi = net
    w[1], b[1] = 0.0, 0.0  # z = 0 on the whole line: negative, never crossing
    w[4 + 2 * 4 : 4 + 3 * 4], b[4 + 2] = 0.0, 0.0  # a second-layer unit with z = 0 too
    lp = _check_exact(net, -4.0, 4.0)
    assert np.all(lp.negative_by_layer[:, 0] >= 1) and np.all(lp.negative_by_layer[:, 1] >= 1)
    for e in range(lp.boundaries):
        layer, unit = lp.crossings(e)
        assert (0, 1) not in zip(layer.tolist(), unit.tolist())
        assert (1, 2) not in zip(layer.tolist(), unit.tolist())
    check_sweep(net, np.linspace(-4, 4, 801))


def test_breakpoints_at_start_and_stop():
    rng = np.random.default_rng(5)
    net = make_net(rng, [1, 5, 3, 1], ["relu", "relu6"])
    widths, w, b, alpha, lo, hi = net
    w[:5] = [1.0, -1.0, 0.5, 2.0, -0.25]
    b[:5] = [1.0, 2.0, 0.25, -1.0, 0.5]  # units 0 and 1 switch at -1 and 2
    lp = _check_exact(net, -1.0, 2.0)
    assert lp.edges[0] == -1.0 and lp.edges[-1] == 2.0
    assert -1.0 not in lp.edges[1:-1] and 2.0 not in lp.edges[1:-1]
    y, s, neg = check_sweep(net, np.linspace(-1.0, 2.0, 301))
    yr, sr, nr = forward(net, np.array([-1.0, 2.0]))
    assert np.array_equal(neg[[0, -1]], nr) and np.array_equal(s[[0, -1]], sr)  # the reference's convention


def test_dead_layer_is_boundaries_without_kinks():
    rng = np.random.default_rng(6)
    net = make_net(rng, [1, 6, 4, 3, 1], ["relu", "relu", "leaky"])
    widths, w, b, alpha, lo, hi = net
    b[6:10] = -1000.0  # the second hidden layer is off on the whole line
    lp = _check_exact(net, -4.0, 4.0)
    assert lp.boundaries >= 1 and lp.kinks == 0
    assert np.all(lp.slope == 0.0) and np.all(lp.negative_by_layer[:, 1] == 4)
    check_sweep(net, np.linspace(-4, 4, 801))


def test_change_feeding_dead_units_only_is_not_a_kink():
    # unit 0 of layer 0 feeds only unit 0 of layer 1, which is dead; unit 1 feeds the rest
    widths = np.array([1, 2, 2, 1])
    W0 = np.array([1.0, -1.0])
    b0 = np.array([0.5, 0.25])  # switches at -0.5 and 0.25
    W1 = np.array([[1.0, 0.0], [0.0, 1.0]])
    b1 = np.array([-100.0, 0.125])
    W2 = np.array([1.0, 2.0])
    b2 = np.array([0.0])
    net = (widths, np.concatenate([W0, W1.ravel(), W2]), np.concatenate([b0, b1, b2]),
           np.zeros(4), np.full(2, -INF), np.full(2, INF))
    lp = _check_exact(net, -2.0, 2.0)
    assert lp.edges.tolist() == [-2.0, -0.5, 0.25, 2.0]
    assert lp.kink.tolist() == [False, True]


def test_linear_activation_is_a_boundary_not_a_kink():
    rng = np.random.default_rng(8)
    net = make_net(rng, [1, 4, 1], ["linear"])
    lp = _check_exact(net, -4.0, 4.0)
    assert lp.boundaries >= 1 and lp.kinks == 0 and lp.pieces == lp.boundaries + 1
    assert len(set(lp.slope[:, 0].tolist())) == 1


def test_infinite_ends():
    rng = np.random.default_rng(9)
    net = make_net(rng, [1, 5, 4, 1], ["relu", "leaky"])
    lp = ed.walk(*net, -INF, INF)
    fin = ed.walk(*net, -1e6, 1e6)
    assert lp.edges[0] == -INF and lp.edges[-1] == INF
    assert np.array_equal(lp.edges[1:-1], fin.edges[1:-1])
    assert np.array_equal(lp.slope, fin.slope) and np.array_equal(lp.intercept, fin.intercept)


def test_a_million_pieces():
    rng = np.random.default_rng(10)
    h = 1_000_000
    widths = np.array([1, h, 2, 1])
    w0 = rng.standard_normal(h)
    b0 = rng.standard_normal(h)
    W1 = rng.standard_normal((2, h)) / h
    net = (widths, np.concatenate([w0, W1.ravel(), rng.standard_normal(2)]),
           np.concatenate([b0, [0.0, 0.0], [0.1]]), np.zeros(h + 2), np.full(2, -INF), np.full(2, INF))
    start, stop = -1e9, 1e9  # every first-layer switch point is inside
    lp = ed.walk(*net, start, stop)
    t0 = np.unique(-b0 / w0)
    assert lp.pieces >= t0.shape[0] + 1 >= 999_000
    assert np.all(np.isin(t0, lp.edges))
    assert lp.merged == h - t0.shape[0] + (lp.cross_offsets[-1] - h - (lp.boundaries - t0.shape[0]))
    # spot checks of the maps against the reference, and a sweep
    idx = rng.choice(lp.pieces, 40, replace=False)
    tt = 0.5 * lp.edges[idx] + 0.5 * lp.edges[idx + 1]
    yr, sr, nr = forward(net, tt)
    tol_y, tol_s = tolerance(net, tt)
    assert np.all(np.abs(lp.slope[idx] * tt[:, None] + lp.intercept[idx] - yr) <= tol_y)
    check_sweep(net, np.linspace(-5, 5, 41))  # the reference costs 10^6 x points here


# ---------------------------------------------------------------------------------
# the cache


def _frozen(net):
    out = []
    for a in net:
        a = np.array(a)
        a.flags.writeable = False
        out.append(a)
    return tuple(out)


def test_cache_reuses_the_walk_and_is_thread_safe():
    rng = np.random.default_rng(11)
    net = _frozen(make_net(rng, [1, 16, 16, 2], ["relu", "leaky"], dyadic=False))
    ed.clear_cache()
    t = np.linspace(-3, 3, 5001)
    check_sweep(net, t)
    first = ed._cache[0][3]
    part = t[100:2000]
    y, s = np.empty((part.shape[0], 2)), np.empty((part.shape[0], 2))
    neg = np.empty((part.shape[0], 2), np.int32)
    ed.sweep_deep(part, *net, y, s, neg, span=(-3.0, 3.0))  # a chunk of the same request: no new walk
    assert ed._cache[0][3] is first
    check_sweep(net, part)  # a request of its own: its own interval, never a wider cached walk
    assert ed._cache[0][3] is not first and ed._cache[0][1:3] == (np.nextafter(part[0], -np.inf), np.nextafter(part[-1], np.inf))
    other = _frozen(make_net(rng, [1, 16, 16, 2], ["relu", "leaky"], dyadic=False))
    errors = []

    def run(n):
        try:
            for _ in range(4):
                check_sweep(n, t)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in (net, other, net, other)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    writeable = make_net(rng, [1, 4, 1], ["relu"])  # never cached
    ed.clear_cache()
    check_sweep(writeable, t)
    assert ed._cache[0] is None


def test_exact_backend_runs_the_walk_for_deep_networks():
    from fastrelu.kernels import registry

    assert registry.kernel_for("exact", fastrelu.Network.random([1, 4, 4, 1], seed=0)).module.sweep_deep is ed.sweep_deep
    assert registry.module_of("exact", "deep").walk is ed.walk


def test_products_split_over_threads_give_the_same_walk(monkeypatch):
    # with BLAS held to one thread (threadpoolctl), the walk splits each product into
    # blocks of rows over fastrelu's threads: every row is BLAS's matrix-matrix sum either
    # way, so the walk is the one of a single call per product, bit for bit
    from fastrelu.kernels import threads
    from fastrelu.kernels.params import deep_params

    net = fastrelu.Network.random([1, 200, 200, 200, 2], seed=3)
    params = deep_params(net, np.dtype(np.float64))
    split = []
    run = threads.run

    def spy(work, nchunks):
        split.append(getattr(work, "__name__", "") == "rows")
        return run(work, nchunks)

    monkeypatch.setattr(threads, "run", spy)
    before = threads.get_num_threads()
    threads.set_num_threads(2)
    try:
        with threads.blas_pinned() as pinned:
            assert pinned  # threadpoolctl is in the test extra
        blocks = ed.walk(*params, -100.0, 100.0)
        assert any(split)  # some product was split
        split.clear()
        monkeypatch.setattr(threads, "_BLAS", [False])  # as without threadpoolctl: one BLAS call per product
        whole = ed.walk(*params, -100.0, 100.0)
        assert not any(split)
    finally:
        threads.set_num_threads(before)
    for field in ("edges", "slope", "intercept", "negative_by_layer", "kink", "cross_offsets", "cross_layer", "cross_unit"):
        np.testing.assert_array_equal(getattr(blocks, field), getattr(whole, field), err_msg=field)
