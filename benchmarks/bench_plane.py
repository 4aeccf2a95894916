"""Region maps of a plane (``regions(net, bounds=...)``, ``analysis/plane_walk.py``) against
Regioncam and against the matrix-product floor, on the same torch models in the same run.

Cases (torch default init, ``torch.manual_seed(0)``):

- ``2x64x4``, ``2x128x4``, ``2x256x4``: 2 -> [w] x 4 -> 1 on the square [-1, 1]^2 of its
  input plane;
- ``784x256x4``: 784 -> [256] x 4 -> 10 on the plane through three inputs drawn by
  ``torch.randn(3, 784)`` after ``torch.manual_seed(1)``, Regioncam's default square.

The last two are slow (Regioncam takes 10 to 50 s): one round each; deselect them with
``-k "not 256"``.

fastrelu reads the float32 model with ``Network.from_torch`` and walks it in float64 with
its defaults (one tile below 512 units wide; ``whole`` and ``2 tiles`` time it whole on one
thread and in two tiles on two threads); Regioncam 0.5 (Rust,
float32, one thread) is given the model itself (``Regioncam(1.0).add(model)``, or
``Regioncam.through_points(points).add(model)``).  Both must find the same faces, vertices and edges (``< f32 ulp`` counts the edges shorter
than float32's resolution at 1, which Regioncam cannot tell apart: a difference must be
of those).
The floor is what the walk cannot avoid: the affine maps of every face at every layer,
``3 x faces x fan_in x fan_out`` multiply-adds, timed as numpy float64 matrix products of
those shapes in this run.  Each figure is the best of its rounds after a warm-up call; the
table of ratios is printed at the end of the run.

Run:  python -m pytest benchmarks/bench_plane.py --benchmark-only -s
"""

import numpy as np
import pytest

import fastrelu
from fastrelu.analysis.plane import region_map

torch = pytest.importorskip("torch")
regioncam = pytest.importorskip("regioncam")

_RESULTS = {}  # (case, what) -> seconds or count
CASES = {
    "2x64x4": [2, 64, 64, 64, 64, 1],
    "2x128x4": [2, 128, 128, 128, 128, 1],
    "2x256x4": [2, 256, 256, 256, 256, 1],
    "784x256x4": [784, 256, 256, 256, 256, 10],
}
SLOW = ("2x256x4", "784x256x4")  # one round each
SQUARE = ((-1.0, 1.0), (-1.0, 1.0))


def _points(case):
    """The three inputs the plane of a case runs through, or None for the input plane of two."""
    if CASES[case][0] == 2:
        return None
    torch.manual_seed(1)
    return torch.randn(3, CASES[case][0])


def _regions(net, case):
    pts = _points(case)
    if pts is None:
        return fastrelu.regions(net, bounds=SQUARE)
    return fastrelu.regions(net, plane=pts.numpy().astype(np.float64))


def _model(dims):
    torch.manual_seed(0)
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _best(benchmark, fn, rounds):
    fn()  # warm up: first touch of memory, BLAS threads, the JIT compile of a Numba twin
    out = benchmark.pedantic(fn, rounds=rounds, iterations=1)
    return benchmark.stats.stats.min, out


@pytest.mark.parametrize("case", CASES)
def test_fastrelu(benchmark, case):
    net = fastrelu.Network.from_torch(_model(CASES[case]))
    seconds, m = _best(benchmark, lambda: _regions(net, case), rounds=1 if case in SLOW else 5)
    _RESULTS[(case, "fastrelu")] = seconds
    _RESULTS[(case, "counts")] = (len(m), m.n_vertices, m.n_edges)
    # faces after each hidden layer: the rows of that layer's map product
    _RESULTS[(case, "faces_by_layer")] = [1] + [r.shape[0] for r in m._walk.regions]
    # features float32 cannot resolve (Regioncam computes in float32): edges shorter than its
    # resolution at the rectangle's largest coordinate
    length = np.hypot(*(m.vertices[m.edges[:, 0]] - m.vertices[m.edges[:, 1]]).T)
    reach = max(abs(float(x)) for side in m.bounds for x in side)
    _RESULTS[(case, "short32")] = int(np.count_nonzero(length < 2.0**-24 * max(reach, 1.0)))
    benchmark.extra_info.update(faces=len(m), vertices=m.n_vertices, edges=m.n_edges, ambiguous=m.ambiguous,
                                degenerate=m.degenerate)


@pytest.mark.parametrize("case", CASES)
def test_fastrelu_tiles(benchmark, case):
    # the same map in two tiles on two threads (the default from 512 units wide)
    net = fastrelu.Network.from_torch(_model(CASES[case]))
    pts = _points(case)
    where = {"bounds": SQUARE} if pts is None else {"plane": pts.numpy().astype(np.float64)}
    seconds, m = _best(benchmark, lambda: region_map(net, threads=2, tiles=(2, 1), **where),
                       rounds=1 if case in SLOW else 5)
    _RESULTS[(case, "tiles")] = seconds
    assert (case, "counts") not in _RESULTS or _RESULTS[(case, "counts")] == (len(m), m.n_vertices, m.n_edges)


@pytest.mark.parametrize("case", CASES)
def test_regioncam(benchmark, case):
    model = _model(CASES[case])

    pts = _points(case)

    def run():
        rc = regioncam.Regioncam(1.0) if pts is None else regioncam.Regioncam.through_points(pts)
        rc.add(model)
        return rc

    seconds, rc = _best(benchmark, run, rounds=1 if case in SLOW else 3)
    _RESULTS[(case, "regioncam")] = seconds
    _RESULTS[(case, "rc_counts")] = (rc.num_faces, rc.num_vertices, rc.num_edges)
    benchmark.extra_info.update(faces=rc.num_faces, vertices=rc.num_vertices, edges=rc.num_edges)


@pytest.mark.parametrize("case", CASES)
def test_floor(benchmark, case):
    widths = CASES[case]
    if (case, "faces_by_layer") not in _RESULTS:
        net = fastrelu.Network.from_torch(_model(widths))
        _RESULTS[(case, "faces_by_layer")] = [1] + [r.shape[0] for r in _regions(net, case)._walk.regions]
    faces = _RESULTS[(case, "faces_by_layer")]
    # layer k's maps on the faces after layer k - 1: (3 F, fan_in) @ (fan_in, fan_out); the first layer is folded
    shapes = [(3 * faces[k], widths[k], widths[k + 1]) for k in range(1, len(widths) - 1)]
    rng = np.random.default_rng(1)
    mats = [(rng.standard_normal((r, i)), rng.standard_normal((i, o))) for r, i, o in shapes]

    def products():
        for x, w in mats:
            x @ w

    seconds, _ = _best(benchmark, products, rounds=5)
    _RESULTS[(case, "floor")] = seconds
    benchmark.extra_info.update(madds=sum(r * i * o for r, i, o in shapes), shapes=str(shapes))


def test_same_faces_as_regioncam():
    # the same faces, or fewer differences than features Regioncam's float32 cannot resolve
    for case in CASES:
        if (case, "counts") in _RESULTS and (case, "rc_counts") in _RESULTS:
            faces, rc_faces = _RESULTS[(case, "counts")][0], _RESULTS[(case, "rc_counts")][0]
            assert abs(faces - rc_faces) <= _RESULTS[(case, "short32")], case


def _print_table(line):
    r = _RESULTS
    fmt = lambda x, f: format(x, f) if x is not None else "-"  # noqa: E731
    line("")
    line("region maps (best of rounds; ratios within this run)")
    line(f"| {'case':<9} | {'fastrelu (s)':>12} | {'2 tiles (s)':>11} | {'Regioncam (s)':>13} | {'x faster':>8} | {'floor (s)':>9} | {'x floor':>7} "
         f"| {'faces':>7} | {'vertices':>8} | {'edges':>7} | {'Regioncam F/V/E':>22} | {'< f32 ulp':>9} |")
    line("| " + " | ".join("-" * n for n in (9, 12, 11, 13, 8, 9, 7, 7, 8, 7, 22, 9)) + " |")
    for case in CASES:
        if (case, "fastrelu") not in r:
            continue
        t, rc, fl = r[(case, "fastrelu")], r.get((case, "regioncam")), r.get((case, "floor"))
        faces, verts, edges = r[(case, "counts")]
        same = "-" if (case, "rc_counts") not in r else ("yes" if r[(case, "rc_counts")] == r[(case, "counts")] else "/".join(map(str, r[(case, "rc_counts")])))
        line(f"| {case:<9} | {t:12.4f} | {fmt(r.get((case, 'tiles')), '11.4f'):>11} | {fmt(rc, '13.4f'):>13} | {fmt(rc and rc / t, '8.2f'):>8} | {fmt(fl, '9.4f'):>9} "
             f"| {fmt(fl and t / fl, '7.2f'):>7} | {faces:7d} | {verts:8d} | {edges:7d} | {same:>22} | {r[(case, 'short32')]:9d} |")
