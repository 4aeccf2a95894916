"""line_stats: every row is what regions gives for that line alone, batched or not, on
threads or not, on Dask or not; paths; the table; bad input; checkpoints over training."""

import os

import numpy as np
import pytest

import fastrelu
from fastrelu.analysis import lines as lines_module
from fastrelu.kernels import scratch as scratch_module
from fastrelu.kernels import walk as walk_module
from fastrelu.model.network import Network


def expected(net, x0, x1):
    """One line's row, from regions alone."""
    r = fastrelu.regions(net, along=(x0, x1), start=0, stop=1)
    rb = fastrelu.regions(net, along=(x0, x1), start=0, stop=1, boundaries=True)
    by_layer = np.zeros(net.depth, np.int64)
    for i in range(len(rb) - 1):  # every boundary strictly inside, and the units crossing there
        by_layer += np.bincount(rb.switching(i)[0], minlength=net.depth)
    return {"pieces": len(r), "boundaries": r.n_boundaries, "kinks": r.n_kinks, "merged": r.merged,
            "decisions": len(r.decisions), "crossings_by_layer": by_layer}


def check_rows(net, X0, X1, stats):
    assert len(stats) == X0.shape[0]
    for i in range(X0.shape[0]):
        want = expected(net, X0[i], X1[i])
        for name, value in want.items():
            np.testing.assert_array_equal(stats[name][i], value, err_msg=f"line {i}: {name}")
        # a sum of n squares and a square root, in another order: (n + 2) roundings at most
        np.testing.assert_allclose(stats.length[i], np.linalg.norm(X1[i] - X0[i]), rtol=(X0.shape[1] + 2) * 2.0**-53)
        assert stats.density[i] == want["boundaries"] / stats.length[i]
        assert stats.density_per_neuron[i] == stats.density[i] / net.hidden
        assert stats.crossings_by_layer[i].sum() == want["boundaries"] + want["merged"]


def ends(n, n_in, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)) * scale, rng.normal(size=(n, n_in)) * scale


NETWORKS = {
    "relu": lambda: Network.random([3, 16, 16, 16, 4], seed=0),
    "leaky_hardtanh_relu6": lambda: Network.random([3, 12, 12, 12, 2], seed=1,
                                                   activation=["leaky_relu", "hardtanh", "relu6"]),
    "one_layer_scalar_output": lambda: Network.random([5, 32, 1], seed=2),
    "float32": lambda: Network.random([4, 16, 16, 3], seed=3, dtype="float32"),
    "one_output_deep": lambda: Network.random([2, 24, 24, 1], seed=4),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_rows_equal_regions(name):
    net = NETWORKS[name]()
    X0, X1 = ends(12, net.in_features, seed=5, scale=3.0)
    stats = fastrelu.line_stats(net, X0, X1, progress=False)
    check_rows(net, X0, X1, stats)
    assert stats.boundaries.sum() > 0  # the lines do cross boundaries: the comparison is not vacuous


def test_batched_threads_and_alone_agree():
    net = Network.random([6, 32, 32, 32, 5], seed=7)
    X0, X1 = ends(20, 6, seed=8, scale=2.0)
    batched = fastrelu.line_stats(net, X0, X1, batch=64, threads=2, progress=False)
    alone = fastrelu.line_stats(net, X0, X1, batch=1, threads=1, progress=False)
    some = fastrelu.line_stats(net, X0, X1, batch=7, threads=2, progress=False)
    assert batched == alone == some
    check_rows(net, X0, X1, batched)


def test_walk_many_is_walk_per_line():
    # the stacked products give each line the walk it gets alone, edge for edge
    net = Network.random([5, 24, 24, 24, 3], seed=9)
    X0, X1 = ends(9, 5, seed=10)
    lines = [net.along(a, b) for a, b in zip(X0, X1)]
    params = lines[0]._derived.get(("deep", np.dtype(np.float64))) or fastrelu.kernels.params.deep_params(lines[0], np.dtype(np.float64))
    many = walk_module.walk_many(*params, [line.layers[0] for line in lines], -0.5, 1.5)
    for line, lp in zip(lines, many):
        alone = walk_module.walk(*fastrelu.kernels.params.deep_params(line, np.dtype(np.float64)), -0.5, 1.5)
        for field in ("edges", "slope", "intercept", "negative_by_layer", "kink", "cross_offsets", "cross_layer", "cross_unit"):
            np.testing.assert_array_equal(getattr(lp, field), getattr(alone, field), err_msg=field)


def bias_free(widths, seed):
    net = Network.random(widths, seed=seed)
    return Network.from_layers([(w, np.zeros_like(b)) for w, b in net.layers], [a for a in net.activations])


def test_hostile_lines():
    net = bias_free([4, 10, 10, 2], seed=11)
    rng = np.random.default_rng(12)
    v = rng.normal(size=(3, 4))
    # through the origin at t = 0.5 (every unit of every layer is 0 there), from it, and to it
    X0 = np.concatenate([-v, np.zeros((3, 4)), v])
    X1 = np.concatenate([v, v, np.zeros((3, 4))])
    stats = fastrelu.line_stats(net, X0, X1, progress=False)
    check_rows(net, X0, X1, stats)
    assert stats.merged[:3].min() > 0  # many units cross at once at the origin
    assert stats.boundaries[3:].max() == 0  # from or to the origin: nothing strictly inside


def test_dead_layer_and_zero_weights():
    w0 = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 0.0]])
    w1 = np.array([[1.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    net = Network.from_layers([(w0, [0.0, -1.0, 0.0]), (w1, [-100.0, -100.0]), ([[1.0, 1.0]], [0.5])], "relu")
    X0, X1 = ends(6, 2, seed=13, scale=4.0)
    stats = fastrelu.line_stats(net, X0, X1, progress=False)
    check_rows(net, X0, X1, stats)
    assert stats.crossings_by_layer[:, 1].max() == 0  # the second layer is dead along these lines
    assert stats.kinks.max() == 0 and stats.pieces.max() == 1  # so the output is flat: boundaries, no kinks


def test_path_of_collinear_segments_is_the_line():
    net = Network.random([3, 16, 16, 2], seed=14)
    a, b = np.array([-2.0, 1.0, 0.5]), np.array([2.0, -1.0, 1.5])
    line = fastrelu.line_stats(net, a, b, progress=False)
    path = fastrelu.line_stats(net, path=[a, a + 0.3 * (b - a), a + 0.7 * (b - a), b], progress=False)
    assert path.kind == "path"
    for c in ("boundaries", "merged", "crossings_by_layer"):
        np.testing.assert_array_equal(path[c], line[c], err_msg=c)
    np.testing.assert_allclose(path.length, line.length, rtol=1e-15)


def test_path_vertex_on_a_boundary_counts_once():
    # a bias-free network: every unit of every layer is 0 at the origin, a vertex of the path
    net = bias_free([3, 8, 8, 1], seed=15)
    v = np.array([1.0, 2.0, -0.5])
    line = fastrelu.line_stats(net, -v, v, progress=False)
    path = fastrelu.line_stats(net, path=[-v, np.zeros(3), v], progress=False)
    for c in ("boundaries", "merged", "crossings_by_layer"):
        np.testing.assert_array_equal(path[c], line[c], err_msg=c)
    assert line.merged[0] > 0


def test_path_segments_sum_and_closed():
    net = Network.random([2, 16, 16, 3], seed=16)
    pts = np.array([[0.0, 0.0], [1.5, 0.2], [0.3, 1.7]])
    path = fastrelu.line_stats(net, path=pts, progress=False)
    closed = fastrelu.line_stats(net, path=pts, closed=True, progress=False)
    segs = fastrelu.line_stats(net, pts[[0, 1, 2]], pts[[1, 2, 0]], progress=False)
    assert closed.kind == "closed path"
    # inside each segment the counts are the segments'; the vertices add a boundary only
    # where the pattern changes there (not here: no unit is 0 at these vertices)
    for c in ("pieces", "kinks", "boundaries", "merged"):
        assert path[c][0] == segs[c][:2].sum(), c
        assert closed[c][0] == segs[c].sum(), c
    np.testing.assert_allclose(closed.length[0], segs.length.sum(), rtol=1e-15)
    # there and back: twice the line
    a, b = pts[0], pts[1]
    back = fastrelu.line_stats(net, path=[a, b], closed=True, progress=False)
    one = fastrelu.line_stats(net, a, b, progress=False)
    assert back.boundaries[0] == 2 * one.boundaries[0] and back.pieces[0] == 2 * one.pieces[0]


def test_several_paths_at_once():
    net = Network.random([2, 16, 16, 1], seed=17)
    rng = np.random.default_rng(18)
    paths = rng.normal(size=(4, 5, 2))
    together = fastrelu.line_stats(net, path=paths, closed=True, progress=False)
    for i in range(4):
        assert fastrelu.line_stats(net, path=paths[i], closed=True, progress=False) == lines_module._concat(
            [lines_module.LineStats({c: together[c][i : i + 1] for c in lines_module._COLUMNS},
                                    together.crossings_by_layer[i : i + 1], together.widths, together.kind)])


def test_table_save_load_pandas_and_summary(tmp_path):
    net = Network.random([3, 8, 8, 2], seed=19)
    X0, X1 = ends(5, 3, seed=20)
    stats = fastrelu.line_stats(net, X0, X1, progress=False)
    path = tmp_path / "lines.npz"
    stats.save(path)
    again = fastrelu.LineStats.load(path)
    assert again == stats and again.kind == "line" and again.widths == (3, 8, 8, 2)
    df = stats.to_pandas()
    assert list(df.columns[:8]) == list(lines_module._COLUMNS)
    np.testing.assert_array_equal(df["crossings_layer1"].to_numpy(), stats.crossings_by_layer[:, 1])
    np.testing.assert_array_equal(df["boundaries"].to_numpy(), stats.boundaries)
    text = str(stats)
    assert "5 lines through a 3->8->8->2 network" in text and "density_per_neuron" in text
    with pytest.raises(KeyError, match="no column"):
        stats["nope"]
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a fastrelu line table"):
        fastrelu.LineStats.load(tmp_path / "other.npz")


def test_to_pandas_without_pandas(monkeypatch):
    import sys

    stats = fastrelu.line_stats(Network.random([2, 4, 1], seed=0), np.zeros(2), np.ones(2), progress=False)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas then fails
    with pytest.raises(ImportError, match="pip install pandas"):
        stats.to_pandas()


def test_bad_input():
    net = Network.random([3, 8, 1], seed=0)
    X0 = np.zeros((4, 3))
    with pytest.raises(ValueError, match="X0 and X1 must have the same shape"):
        fastrelu.line_stats(net, X0, np.ones((3, 3)))
    with pytest.raises(ValueError, match="X1 must have 3 columns"):
        fastrelu.line_stats(net, X0, np.ones((4, 2)))
    bad = np.ones((4, 3))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="X1 must be finite"):
        fastrelu.line_stats(net, X0, bad)
    same = np.ones((4, 3))
    same[1] = 0.0
    with pytest.raises(ValueError, match="X1: line 1 has zero length"):
        fastrelu.line_stats(net, X0, same)
    with pytest.raises(ValueError, match="path: segment 1 of path 0 has zero length"):
        fastrelu.line_stats(net, path=[[0, 0, 0], [1, 1, 1], [1, 1, 1]])
    with pytest.raises(ValueError, match="X0 and X1 hold no line"):
        fastrelu.line_stats(net, np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="path holds no path"):
        fastrelu.line_stats(net, path=np.zeros((0, 2, 3)))
    with pytest.raises(ValueError, match="path needs at least two points"):
        fastrelu.line_stats(net, path=[[0, 0, 0]])
    with pytest.raises(TypeError, match="either X0 and X1"):
        fastrelu.line_stats(net, X0, X0 + 1, path=[[0, 0, 0], [1, 1, 1]])
    with pytest.raises(TypeError, match="closed= is for path="):
        fastrelu.line_stats(net, X0, X0 + 1, closed=True)
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        fastrelu.line_stats(net, X0, X0 + 1, batch=0)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        fastrelu.line_stats(net, X0, X0 + 1, threads=0)
    with pytest.raises(TypeError, match="net must be a fastrelu.Network"):
        fastrelu.line_stats("net", X0, X0 + 1)


def test_progress_bar(capsys, monkeypatch):
    net = Network.random([2, 8, 1], seed=0)
    X0, X1 = ends(3, 2, seed=1)
    bars = []
    make = lines_module.progress_bar
    monkeypatch.setattr(lines_module, "progress_bar", lambda *a, **k: bars.append(make(*a, **k)) or bars[-1])
    fastrelu.line_stats(net, X0, X1, progress=True, batch=2)
    assert "line/s" in capsys.readouterr().err
    assert bars[0].n == 3 and bars[0].total == 3  # every line counted, across batches
    fastrelu.line_stats(net, X0, X1, progress=False)
    assert bars[1] is None
    fastrelu.line_stats(net, X0, X1)  # well under a second: no bar shown
    assert capsys.readouterr().err == ""


def test_memory_splits_a_batch(monkeypatch):
    net = Network.random([4, 32, 32, 32, 2], seed=21)
    X0, X1 = ends(8, 4, seed=22, scale=2.0)
    want = fastrelu.line_stats(net, X0, X1, progress=False)
    granted = []
    grant = walk_module._grant

    def spy(waiting, requests):  # how many walks each round lets allocate
        out = grant(waiting, requests)
        granted.append(len(out))
        return out

    monkeypatch.setattr(walk_module, "_grant", spy)
    assert fastrelu.line_stats(net, X0, X1, progress=False) == want
    assert max(granted) > 1  # with the machine's memory, the lines go on together
    granted.clear()
    # memory for one walk at a time: the batch is walked one line after another, not refused
    monkeypatch.setattr(walk_module, "available_memory", lambda: 1)
    assert fastrelu.line_stats(net, X0, X1, progress=False) == want
    assert max(granted) == 1
    # memory for none: the walk alone is refused, naming memory
    monkeypatch.setattr(scratch_module, "available_memory", lambda: 1)
    with pytest.raises(ValueError, match="memory is available"):
        fastrelu.line_stats(net, X0, X1, progress=False)


def test_dask_table_equals_local():
    import distributed
    net = Network.random([3, 16, 16, 2], seed=23)
    X0, X1 = ends(10, 3, seed=24)
    local = fastrelu.line_stats(net, X0, X1, batch=3, progress=False)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        remote = fastrelu.line_stats(net, X0, X1, batch=3, client=client)
    assert remote == local


def test_training_on_digits(tmp_path):
    import copy

    import torch
    from sklearn import datasets
    digits = datasets.load_digits()
    X = (digits.data / 16.0).astype(np.float64)
    y = digits.target
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 10)).double()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    checkpoints = [{k: v.clone() for k, v in model.state_dict().items()}]
    losses = []
    for epoch in range(3):
        for i in range(0, X.shape[0], 128):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[i : i + 128]), yt[i : i + 128])
            loss.backward()
            opt.step()
        with torch.no_grad():
            losses.append(torch.nn.functional.cross_entropy(model(xt), yt).item())
        checkpoints.append({k: v.clone() for k, v in model.state_dict().items()})
    assert losses[-1] < 0.5  # it did train
    rng = np.random.default_rng(25)
    pairs = rng.choice(X.shape[0], size=(6, 2), replace=False)
    X0, X1 = X[pairs[:, 0]], X[pairs[:, 1]]
    points = X[:40]
    ts = fastrelu.training_stats(checkpoints, X0, X1, points=points, model=model, progress=False)
    assert len(ts) == 4 and ts.density.shape == (4, 6) and ts.distance.shape == (4, 40)
    for c, sd in enumerate(checkpoints):
        m = copy.deepcopy(model)
        m.load_state_dict(sd)
        net = Network.from_torch(m, dtype="float64")
        check_rows(net, X0, X1, ts.lines[c])
        np.testing.assert_array_equal(ts.distance[c], fastrelu.boundary_distance(net, points).distance)
        assert ts.lines[c].decisions.sum() > 0 or c == 0  # a trained classifier changes its mind between digits
    # modules and networks are checkpoints too
    nets = [Network.from_torch(model, dtype="float64")]
    assert fastrelu.training_stats([model], X0, X1, progress=False).lines[0] == fastrelu.training_stats(nets, X0, X1, progress=False).lines[0]
    fig = ts.plot(labels=["init", "1", "2", "3"])
    out = tmp_path / "training.png"
    fig.savefig(out)
    assert os.path.getsize(out) > 10_000
    with pytest.raises(TypeError, match="give model="):
        fastrelu.training_stats(checkpoints, X0, X1)
    with pytest.raises(TypeError, match="non-empty list"):
        fastrelu.training_stats([], X0, X1)


def test_readme_many_lines(tmp_path, monkeypatch):
    # the README's lines run as written and draw the figure
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Many lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 16
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own lines
    ts = scope["ts"]
    assert len(ts) == 8 and ts.density.shape == (8, 100) and ts.distance.shape == (8, 1000)
    assert (tmp_path / "training.png").stat().st_size > 10_000


def huge_network():
    """A network whose pre-activations leave float64's range unless the walk scales them."""
    net = Network.random([3, 12, 12, 12, 2], seed=40)
    layers = [(w.copy(), b.copy()) for w, b in net.layers]
    layers[1] = (layers[1][0] * 1e200, layers[1][1] * 1e200)
    layers[2] = (layers[2][0] * 1e150, layers[2][1] * 1e150)
    layers[3] = (layers[3][0] * 1e-300, layers[3][1] * 1e-300)
    return Network.from_layers(layers)


@pytest.mark.parametrize("make", [huge_network, NETWORKS["relu"], NETWORKS["leaky_hardtanh_relu6"]])
def test_walk_scales_shared_by_the_lines_of_a_call(make):
    """walk_many takes the scales of all its lines in one pass (scale.walk_scales_many):
    each line's exponents are those of its network alone, scaled lines included."""
    from fastrelu.kernels import scale
    from fastrelu.kernels.params import deep_params
    from fastrelu.kernels.walk import _forms, _prepared
    net = make()
    X0, X1 = ends(6, 3, seed=41)
    firsts, alone = [], []
    for x0, x1 in zip(X0, X1):
        widths, layers, alpha, lo, hi = _prepared(*deep_params(net.along(x0, x1), np.dtype(np.float64)))
        forms = _forms(widths, alpha, lo, hi)
        firsts.append(layers[0])
        alone.append(scale.walk_scales(layers, forms))
    assert scale.walk_scales_many(layers, forms, firsts) == alone
    if make is huge_network:
        assert all(e is not None for e in alone)  # the case that scales is exercised
        check_rows(net, X0, X1, fastrelu.line_stats(net, X0, X1, progress=False))
    calls = []
    real = walk_module.walk_scales_many
    monkey = lambda *a: calls.append(len(a[2])) or real(*a)
    walk_module.walk_scales_many = monkey
    try:
        fastrelu.line_stats(net, X0, X1, batch=64, progress=False)
    finally:
        walk_module.walk_scales_many = real
    assert calls == [6]  # once for the six lines, not once a line
