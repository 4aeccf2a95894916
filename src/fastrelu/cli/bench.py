"""``fastrelu bench``: time each backend on one grid and check it against the numpy reference."""

import sys
import time
from contextlib import contextmanager

import numpy as np

from ..analysis.pieces import regions
from ..kernels.agreement import Agreement, check as check_part, tolerances
from ..kernels.registry import ALIASES, select
from ..model.forward import magnitudes
from ..model.network import Network
from ..model.slices import random_plane
from ..sweeps.sweep import sweep
from .errors import CommandError
from .report import rate

# pairs/s is "-" for the exact backend, which evaluates no (point, unit) pairs (report.SPEEDS)
HEAD = ("backend", "dtype", "time [s]", "points/s", "pairs/s", "vs numpy", "agreement with the numpy reference")


def backend_names(text, available):
    """The backends ``--backends A,B`` names (default all of ``available``), each once.

    A backend may be named by its two axes (``dense_c`` for ``cffi``), as ``backend=``
    takes it; its row carries the name results record.
    """
    if not text:
        return list(available)
    names = []
    for word in text.split(","):
        name = ALIASES.get(word, word)
        if name not in available:
            raise CommandError(f"--backends: unknown backend {word!r}; known: {', '.join([*available, *ALIASES])}")
        if name not in names:  # an alias and its name are one backend
            names.append(name)
    return names


class Stages:
    """What ``bench`` is doing, one line per stage on stderr (with its time when it ends), so
    that nothing runs silently for long; off with ``--no-progress``.

    A new kind of case (a plane, say) announces its stages with the same ``stage``.
    """

    def __init__(self, on=True, stream=None):
        self.on = on
        self.stream = sys.stderr if stream is None else stream

    @contextmanager
    def stage(self, text):
        if not self.on:
            yield
            return
        print(f"bench: {text} ...", end="", file=self.stream, flush=True)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            print(f" {time.perf_counter() - t0:.1f} s", file=self.stream, flush=True)


class _Rows:
    """Points ``i0`` to ``i1`` of a sweep's result (a plane's pixels in row-major order):
    what ``compare`` reads of a result, for a check in parts."""

    def __init__(self, res, i0, i1):
        n, depth = len(res), res.network.depth
        self.network, self.dtype, self._n = res.network, res.dtype, i1 - i0
        self.points = np.asarray(res.points).reshape(n, -1)[i0:i1]
        self.y = res.y.reshape(n, -1)[i0:i1]
        self.slope = res.slope.reshape(n, -1)[i0:i1]
        self.negative = res.negative.reshape(n)[i0:i1]
        self.negative_by_layer = res.negative_by_layer.reshape(n, depth)[i0:i1]

    def __len__(self):
        return self._n


CHECK_PARTS = 20  # a check against the reference shows its progress this often (parts of >= CHECK_MIN points)
CHECK_MIN = 5_000


def reference(ref, label, progress=True):
    """The tolerances of the numpy reference ``ref`` (``agreement.tolerances``), in parts
    with a progress bar (tqdm, when installed; else one line, ``Stages``): computed once,
    every backend is then checked against them (``check``), which is quick."""
    n = len(ref)
    step = max(CHECK_MIN, -(-n // CHECK_PARTS))
    bounds = [(i0, min(i0 + step, n)) for i0 in range(0, n, step)] or [(0, 0)]
    try:
        from tqdm import tqdm  # optional: without it, one line per stage
    except ImportError:
        tqdm = None
    if tqdm is None or not progress:
        with Stages(progress).stage(label):
            return [(a, b, tolerances(_Rows(ref, a, b))) for a, b in bounds]
    parts = []
    with tqdm(total=n, desc=f"bench: {label}", unit=" points", file=sys.stderr, leave=True) as bar:
        for a, b in bounds:
            parts.append((a, b, tolerances(_Rows(ref, a, b))))
            bar.update(b - a)
    return parts


def check(res, tols):
    """``res`` checked against the reference's tolerances in parts (``reference``): one ``Agreement``."""
    parts = [check_part(_Rows(res, a, b), tol) for a, b, tol in tols]
    if len(parts) == 1:
        return parts[0]
    return Agreement(all(p.ok for p in parts), sum(p.points for p in parts), sum(p.near_kink for p in parts),
                     sum(p.y_errors for p in parts), sum(p.slope_errors for p in parts),
                     sum(p.negative_errors for p in parts), max(p.worst_y for p in parts),
                     max(p.worst_slope for p in parts))


def run(net, along, of_t, names, available, *, start, stop, num, threads, repeat, progress=True):
    """Time ``names`` (best of ``repeat``) sweeping ``net`` over ``num`` points and compare each
    with the numpy reference, by the rule of ``fastrelu.kernels.agreement``.

    With ``progress``, each stage (a backend's runs, its check against the reference) is
    a line on stderr as it starts, with its time when it ends (``Stages``).

    ``of_t`` is what the kernels run, ``on_line(net, along)[0]``: it says which backends
    have a kernel for the network.

    Returns the table's rows (strings, columns as ``HEAD``) and how many backends failed
    or disagree.  A backend that cannot run here, or has no kernel for this network, is
    a row saying so and no failure.
    """
    grid = dict(start=start, stop=stop, num=num, along=along)
    stages = Stages(progress)

    def timed(name, what=""):
        with stages.stage(f"{name}{what}: {repeat} timed run{'s' if repeat != 1 else ''} of {num:,} points"):
            # A tiny sweep first so that a JIT compile is not timed.
            sweep(net, start, stop, num=16, along=along, backend=name, threads=threads)
            best, res = float("inf"), None
            for _ in range(repeat):
                t0 = time.perf_counter()
                res = sweep(net, **grid, backend=name, threads=threads)
                best = min(best, time.perf_counter() - t0)
        return res, best

    pairs = num * net.hidden
    ref, ref_time = timed("numpy", " (the reference)")
    rows, failed = [], 0
    tols = reference(ref, "the numpy reference's tolerances at every point", progress)
    for name in names:
        info = available[name]
        if not info.available:
            rows.append((name, "-", "-", "-", "-", "-", f"unavailable: {info.reason}"))
            continue
        try:
            select(name, of_t, num)
        except RuntimeError as exc:  # available, but without a kernel for this network: not a disagreement
            rows.append((name, "-", "-", "-", "-", "-", f"cannot run this network: {exc}"))
            continue
        if name == "numpy":
            res, seconds = ref, ref_time
        else:
            try:
                res, seconds = timed(name)
            except Exception as exc:  # a broken backend is a row of the table, not the end of it
                failed += 1
                rows.append((name, net.dtype.name, "-", "-", "-", "-", f"FAILED: {type(exc).__name__}: {exc}"))
                continue
        with stages.stage(f"{name}: checking every point against the numpy reference"):
            agreement = check(res, tols)
        failed += not agreement.ok
        rows.append((name, res.dtype.name, f"{seconds:.4f}", rate(num, seconds),
                     "-" if info.algorithm == "exact" else rate(pairs, seconds),
                     f"{ref_time / seconds:.1f}x" if seconds > 0 else "-", str(agreement)))
    if set(names) == set(available):  # every backend benched: then what backend="auto" picks, checked as they are
        try:
            res, seconds = timed("auto")
        except Exception as exc:
            failed += 1
            rows.append(("auto", net.dtype.name, "-", "-", "-", "-", f"FAILED: {type(exc).__name__}: {exc}"))
            return rows, failed
        with stages.stage("auto: checking every point against the numpy reference"):
            agreement = check(res, tols)
        failed += not agreement.ok
        exact = available[res.backend].algorithm == "exact" if res.backend in available else False
        rows.append((f"auto ({res.backend})", res.dtype.name, f"{seconds:.4f}", rate(num, seconds),
                     "-" if exact else rate(pairs, seconds),
                     f"{ref_time / seconds:.1f}x" if seconds > 0 else "-", str(agreement)))
    return rows, failed


# -- a plane: the region map, and the per-pixel sweep on every backend -----------------------

#: The plane's case (``fastrelu bench --plane``) by default: a map of about 7,000 faces and a
#: sweep of 128 x 128 pixels.
PLANE_WIDTHS = (2, 64, 64, 64, 64, 1)
PLANE_PIXELS = 128


def run_plane(widths, names, available, *, seed, pixels, threads, repeat, progress=True):
    """Time the region map of a plane and the per-pixel sweep of it on ``names`` (best of ``repeat``).

    The plane is a two-input network's own over [-1, 1]², or the plane through three inputs
    ``random_plane(IN, seed)`` over its default square.  The map is checked as the tests
    check it: Euler's formula, the faces' areas summing to the rectangle's, and at 10,000
    random points of the plane the located face's affine map against the network's output
    (within the rounding bound of the two computations).  Each sweep is compared with the
    numpy reference's by the rule of ``fastrelu.kernels.agreement``.

    Returns the map's summary line, the sweep table's rows (columns as ``HEAD``) and how
    many checks failed.
    """
    stages = Stages(progress)
    net = Network.random(list(widths), seed=seed)
    where = dict(bounds=((-1.0, 1.0), (-1.0, 1.0))) if widths[0] == 2 else dict(plane=random_plane(widths[0], seed))
    with stages.stage(f"region map: {repeat} timed run{'s' if repeat != 1 else ''}"):
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            m = regions(net, **where)
            best = min(best, time.perf_counter() - t0)
    with stages.stage("region map: checking its topology and 10,000 points against the network"):
        (u0, u1), (v0, v1) = m.bounds
        rng = np.random.default_rng(0)
        pts = np.stack([rng.uniform(u0, u1, 10_000), rng.uniform(v0, v1, 10_000)], axis=1)
        face = m.locate(pts)
        x = m.to_input(pts)
        slope = np.asarray(m.slope).reshape(len(m), -1, 2)[face]
        y = np.einsum("nok,nk->no", slope, pts) + np.asarray(m.intercept).reshape(len(m), -1)[face]
        err = float(np.abs(y - np.asarray(net(x)).reshape(y.shape)).max())
        n, u = sum(net.widths) + 2, np.finfo(np.float64).eps / 2
        bound = 2 * n * u / (1 - n * u) * (magnitudes(net, float(np.abs(x).max()))[-1].max()
                                           + float(np.abs(net.layers[-1][1]).max()))
        area = abs(float(np.sum(m.area)) - (u1 - u0) * (v1 - v0)) <= 64 * u * len(m) * (u1 - u0) * (v1 - v0)
        ok = m.n_vertices - m.n_edges + len(m) == 1 and area and (face >= 0).all() and err <= bound
    line = (f"region map    {len(m):,} faces, {m.n_vertices:,} vertices, {m.n_edges:,} edges in {best:.3f} s "
            f"({rate(len(m), best)} faces/s); {'ok' if ok else 'FAILED'}: V - E + F = {m.n_vertices - m.n_edges + len(m)}, "
            f"areas {'sum' if area else 'do NOT sum'} to the rectangle's, max |map - network| at 10,000 points "
            f"{err:.2g} (bound {bound:.2g})")
    failed = int(not ok)

    grid = dict(where, num=(pixels, pixels))
    count = pixels * pixels

    def timed(name):
        with stages.stage(f"plane sweep, {name}: {repeat} timed run{'s' if repeat != 1 else ''} of {count:,} pixels"):
            sweep(net, **dict(where, num=(4, 4)), backend=name, threads=threads)  # no JIT compile timed
            best, res = float("inf"), None
            for _ in range(repeat):
                t0 = time.perf_counter()
                res = sweep(net, **grid, backend=name, threads=threads)
                best = min(best, time.perf_counter() - t0)
        return res, best

    ref, ref_time = timed("numpy")
    rows = []
    tols = reference(ref, "plane sweep: the numpy reference's tolerances at every pixel", progress)
    for name in names:
        info = available[name]
        if not info.available:
            rows.append((name, "-", "-", "-", "-", "-", f"unavailable: {info.reason}"))
            continue
        if name == "numpy":
            res, seconds = ref, ref_time
        else:
            try:
                res, seconds = timed(name)
            except RuntimeError as exc:  # no kernel for this network here: a row, not a failure
                rows.append((name, "-", "-", "-", "-", "-", f"cannot run this network: {exc}"))
                continue
            except Exception as exc:
                failed += 1
                rows.append((name, "float64", "-", "-", "-", "-", f"FAILED: {type(exc).__name__}: {exc}"))
                continue
        with stages.stage(f"plane sweep, {name}: checking every pixel against the numpy reference"):
            agreement = check(res, tols)
        failed += not agreement.ok
        rows.append((name, res.dtype.name, f"{seconds:.4f}", rate(count, seconds),
                     "-" if info.algorithm == "exact" else rate(count * net.hidden, seconds),
                     f"{ref_time / seconds:.1f}x" if seconds > 0 else "-", str(agreement)))
    return line, rows, failed
