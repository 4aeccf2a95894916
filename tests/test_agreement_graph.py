"""The agreement rule (fastrelu.kernels.agreement) on graph networks: every backend that
sweeps a graph passes it on every kind of graph (tests/test_graph.py's models and
tests/test_graph_twins.py's EveryOp), both dtypes, on a line and on a plane; it fails a
result perturbed by a few times its bound, and on a point exactly on a kink it checks the
counts (an exact zero is data); ``fastrelu bench``'s run checks every backend on a CNN."""

import numpy as np
import pytest
from test_graph_twins import ALL, _dyadic_net, model

import fastrelu
from fastrelu import Network
from fastrelu.cli import bench
from fastrelu.kernels.agreement import check, compare, tolerances
from fastrelu.kernels.registry import backends
from fastrelu.model.network import on_line

GRAPH_BACKENDS = ("numpy", "cffi", "numba", "exact")  # every backend that sweeps a graph's line and plane


class Copy:
    """What ``check`` reads of a result, as arrays of our own that a test may damage."""

    def __init__(self, res):
        self.points = np.asarray(res.points).copy()
        self.y, self.slope = res.y.copy(), res.slope.copy()
        self.negative, self.negative_by_layer = res.negative.copy(), res.negative_by_layer.copy()

    def __len__(self):
        return len(self.points)


def runs_on(name, net):
    info = backends(net)[name]
    assert info.available, f"{name}: {info.reason}"  # a backend missing here is a failure, not a skip


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ALL)
def test_every_backend_agrees_on_a_line(name, dtype):
    m, shape, x0, x1 = model(name)
    net = Network.from_torch(m, shape, dtype=dtype)
    ref = fastrelu.sweep(net, along=(x0, x1), num=301, backend="numpy")
    tol = tolerances(ref)
    if dtype == "float64":
        assert tol.near_kink.mean() < 0.1  # the check covers the line, not only its bounds
    assert (tol.y > 0).all() and (tol.slope > 0).all()
    for b in GRAPH_BACKENDS:
        runs_on(b, on_line(net, (x0, x1))[0])
        res = fastrelu.sweep(net, along=(x0, x1), num=301, backend=b)
        assert res.backend == b
        got = check(res, tol)
        assert got.ok, (b, str(got))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ALL)
def test_every_backend_agrees_on_a_plane(name, dtype):
    m, shape, x0, x1 = model(name)
    x2 = np.random.default_rng(7).normal(size=x0.shape)
    net = Network.from_torch(m, shape, dtype=dtype)
    where = {"plane": (x0, x1, x2), "num": (13, 11)}
    ref = fastrelu.sweep(net, **where, backend="numpy")
    tol = tolerances(ref)
    assert tol.slope.shape == (len(ref), net.out_features, 2)
    for b in GRAPH_BACKENDS:
        res = fastrelu.sweep(net, **where, backend=b)
        assert res.backend == b
        got = check(res, tol)
        assert got.ok, (b, str(got))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["digits_cnn", "every", "residual"])
def test_the_rule_fails_a_result_off_by_a_few_bounds(name, dtype):
    m, shape, x0, x1 = model(name)
    net = Network.from_torch(m, shape, dtype=dtype)
    ref = fastrelu.sweep(net, along=(x0, x1), num=201, backend="numpy")
    tol = tolerances(ref)
    res = fastrelu.sweep(net, along=(x0, x1), num=201, backend="cffi")
    assert check(res, tol).ok
    n = len(ref)
    sure = np.flatnonzero(~tol.near_kink)
    i = int(sure[len(sure) // 2])
    # y: 3 bounds off at one point fails, half a bound passes (on top of the twin's own error)
    for factor, ok in ((3.0, False), (0.5, None)):
        bad = Copy(ref)
        bad.y.reshape(n, -1)[i, 0] += factor * tol.y[i, 0]
        got = check(bad, tol)
        assert got.ok is True if ok is None else (not got.ok and got.y_errors == 1 and got.worst_y >= 2.9), str(got)
    # the slope, at a point no breakpoint is near
    bad = Copy(ref)
    bad.slope.reshape(n, net.out_features, -1)[i, 0, 0] += 3 * tol.slope[i, 0, 0]
    got = check(bad, tol)
    assert not got.ok and got.slope_errors == 1, str(got)
    # one unit counted on the wrong side
    bad = Copy(ref)
    bad.negative_by_layer.reshape(n, -1)[i, 0] += 1
    got = check(bad, tol)
    assert not got.ok and got.negative_errors == 1, str(got)
    bad = Copy(ref)
    bad.negative.reshape(n)[i] -= 1
    assert check(bad, tol).negative_errors == 1


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_point_exactly_on_a_kink_is_checked_not_excused(dtype):
    """The dyadic graph of tests/test_graph_twins.py: every value exact; at t = 1/2 a unit is
    exactly on its kink and max-pool windows tie; its zero channel's units are exact zeros.
    Nothing is excused, so a count or slope flipped there fails."""
    net = _dyadic_net(dtype)
    huge = 2.0**30 if dtype == "float64" else 2.0**12
    t = np.array([-huge, -1.0, 0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 1.0, 3.0, huge])
    ref = fastrelu.sweep(net, x=t, backend="numpy")
    tol = tolerances(ref)
    assert not tol.near_kink.any()
    half = int(np.flatnonzero(t == 0.5)[0])
    for b in ("cffi", "numba"):
        assert check(fastrelu.sweep(net, x=t, backend=b), tol).ok
    bad = Copy(ref)
    bad.negative_by_layer[half, 1] -= 1  # the unit on its kink counted on (z > 0): wrong
    bad.negative[half] -= 1
    got = check(bad, tol)
    assert not got.ok and got.negative_errors == 1 and got.near_kink == 0, str(got)
    bad = Copy(ref)
    bad.negative_by_layer[half, 0] -= 1  # an exact zero of the zero channel counted on
    bad.negative[half] -= 1
    assert check(bad, tol).negative_errors == 1
    # the slope the other side of the kink would have (the leaky unit's alpha against 1)
    other = fastrelu.sweep(net, x=[0.5 + 2.0**-8], backend="numpy")
    bad = Copy(ref)
    bad.slope[half] = other.slope[0]
    if not np.array_equal(other.slope[0], ref.slope[half]):
        assert not check(bad, tol).ok


def test_compare_on_a_graph_is_check_of_tolerances():
    m, shape, x0, x1 = model("convs")
    net = Network.from_torch(m, shape)
    ref = fastrelu.sweep(net, along=(x0, x1), num=101, backend="numpy")
    res = fastrelu.sweep(net, along=(x0, x1), num=101, backend="cffi")
    assert compare(res, ref) == check(res, tolerances(ref))
    with pytest.raises(ValueError, match="same grid"):
        compare(res, fastrelu.sweep(net, along=(x0, x1), num=102, backend="numpy"))


def test_bench_runs_and_checks_every_backend_on_a_cnn():
    m, shape, x0, x1 = model("digits_cnn")
    net = Network.from_torch(m, shape)
    along = (x0.reshape(-1), x1.reshape(-1))
    available = backends()
    rows, failed = bench.run(net, along, on_line(net, along)[0], list(available), available, start=0.0, stop=1.0,
                             num=2000, threads=None, repeat=1, progress=False)
    assert failed == 0, rows
    names = [r[0] for r in rows]
    assert names[: len(available)] == list(available)
    for name in available:  # every backend has a graph kernel: each ran and agrees
        row = rows[names.index(name)]
        assert row[6].startswith("agrees (2000 points"), row
    auto = rows[-1]
    assert auto[0] == f"auto ({fastrelu.sweep(net, along=along, num=16).backend})" and auto[6].startswith("agrees"), auto



@pytest.mark.parametrize("name", ALL)
def test_one_point_on_every_backend(name):
    m, shape, x0, x1 = model(name)
    net = Network.from_torch(m, shape)
    ref = fastrelu.sweep(net, along=(x0, x1), x=[0.375], backend="numpy")
    tol = tolerances(ref)
    assert len(tol) == 1
    for b in GRAPH_BACKENDS:
        res = fastrelu.sweep(net, along=(x0, x1), x=[0.375], backend=b)
        assert res.backend == b and check(res, tol).ok, b


def test_the_rule_fails_a_planes_second_tangent_off_by_a_few_bounds():
    m, shape, x0, x1 = model("every")
    x2 = np.random.default_rng(7).normal(size=x0.shape)
    net = Network.from_torch(m, shape)
    ref = fastrelu.sweep(net, plane=(x0, x1, x2), num=(9, 7), backend="numpy")
    tol = tolerances(ref)
    i = int(np.flatnonzero(~tol.near_kink)[0])
    bad = Copy(ref)
    n = len(ref)
    bad.slope.reshape(n, net.out_features, 2)[i, -1, 1] -= 3 * tol.slope[i, -1, 1]
    got = check(bad, tol)
    assert not got.ok and got.slope_errors == 1 and got.worst_slope >= 2.9, str(got)


def test_bench_command_on_a_saved_cnn(tmp_path, capsys, monkeypatch):
    from fastrelu.cli.main import main

    m, shape, _, _ = model("digits_cnn")
    Network.from_torch(m, shape).save(tmp_path / "cnn.npz")
    monkeypatch.chdir(tmp_path)
    code = main(["bench", "--network", "cnn.npz", "--along", "random", "--num", "1500", "--repeat", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = out.splitlines()
    assert "activation nodes of a graph of" in rows[0]
    for name in backends():
        assert "agrees" in next(r for r in rows if r.startswith(name + " ")), rows
    assert "agrees" in next(r for r in rows if r.startswith("auto ("))
    assert "DISAGREES" not in out and "FAILED" not in out
