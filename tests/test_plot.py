"""Figures: the right data in the right panels and colours, files in every format,
a reduction that keeps what the eye sees, and no window ever."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastrelu
from fastrelu.plot import COLORS, column_indices, compare_figure, step_indices, sweep_figure
from fastrelu.plot.style import OUTPUT_COLORS

import matplotlib  # noqa: E402  (a hard dependency: missing, the suite fails)
from matplotlib.colors import to_rgba  # noqa: E402


@pytest.fixture(scope="module")
def small():
    return fastrelu.sweep(fastrelu.Network.random(8, seed=3), -10.0, 10.0, 0.01, backend="numpy")


@pytest.fixture(scope="module")
def classic():
    """The classic grid: 20,001 points from -100 to 100."""
    return fastrelu.sweep(fastrelu.Network.random(1000, seed=0), backend="numpy")


def line(ax, gid):
    found = [ln for ln in ax.lines if ln.get_gid() == gid]
    assert len(found) == 1, f"expected one {gid!r} line, found {len(found)}"
    return found[0]


def pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(np.int16)


# -- the panels --------------------------------------------------------------------


def test_panels_hold_the_result(small):
    fig = sweep_figure(small, reduce=False)
    ax_y, ax_s, ax_n = fig.axes[:3]
    for ax, gid, data in ((ax_y, "output", small.y), (ax_s, "slope", small.slope), (ax_n, "negative", small.negative)):
        ln = line(ax, gid)
        np.testing.assert_array_equal(ln.get_xdata(), small.x)
        np.testing.assert_array_equal(ln.get_ydata(), data)
    assert ax_y.get_shared_x_axes().joined(ax_y, ax_n)
    assert ax_y.get_ylabel() and ax_s.get_ylabel() and "of 8" in ax_n.get_ylabel()
    assert ax_n.get_xlabel() == "x"


def test_colours_and_step_drawing(small):
    fig = sweep_figure(small)
    ax_y, ax_s, ax_n = fig.axes[:3]
    assert to_rgba(line(ax_y, "output").get_color()) == to_rgba("tab:blue")
    assert to_rgba(line(ax_s, "slope").get_color()) == to_rgba("tab:green")
    assert to_rgba(line(ax_n, "negative").get_color()) == to_rgba("tab:orange")
    assert line(ax_y, "output").get_drawstyle() == "default"
    assert line(ax_s, "slope").get_drawstyle() == "steps-post"
    assert line(ax_n, "negative").get_drawstyle() == "steps-post"
    assert COLORS["output"] == "tab:blue"


def test_title_names_network_seed_and_grid(small):
    title = sweep_figure(small, seed=3)._suptitle.get_text()
    assert "ReLU network" in title and "8 hidden units" in title and "seed 3" in title
    assert "x from -10 to 10, step 0.01 (2,001 points)" in title
    assert "seed" not in sweep_figure(small)._suptitle.get_text()
    assert sweep_figure(small, title="mine")._suptitle.get_text() == "mine"
    lin = fastrelu.sweep(fastrelu.Network.random(2, seed=0).linear(), 0.0, 1.0, num=3)
    assert "linear network, 2 hidden units" in sweep_figure(lin)._suptitle.get_text()


def test_kink_markers_sit_at_the_kinks(small):
    fig = sweep_figure(small, kinks=True)
    marks = [c for c in fig.axes[0].collections if c.get_gid() == "kinks"]
    assert len(marks) == 1
    positions = np.sort([seg[0, 0] for seg in marks[0].get_segments()])
    grid_kinks = small.x[small.slope_changes]
    assert len(grid_kinks) > 0 and len(positions) > 0
    # a marker is either the grid point where the slope changes or the exact kink
    # (fastrelu.kinks) just before it: each within one step of the other side's
    step = 0.01 + 1e-9
    assert all(np.min(np.abs(grid_kinks - p)) <= step for p in positions)
    assert all(np.min(np.abs(positions - g)) <= step for g in grid_kinks)
    assert all(any(c.get_gid() == "kinks" for c in ax.collections) for ax in fig.axes[:3])
    # kinks are marked by default (as the command line marks them); kinks=False draws none
    assert any(c.get_gid() == "kinks" for c in sweep_figure(small).axes[0].collections)
    assert any(c.get_gid() == "kinks" for c in small.plot().axes[0].collections)
    assert not any(c.get_gid() == "kinks" for c in sweep_figure(small, kinks=False).axes[0].collections)


def test_zoom_inset(classic):
    fig = sweep_figure(classic, zoom=(-2.0, 3.0))
    insets = fig.axes[0].child_axes
    assert len(insets) == 1
    z = line(insets[0], "zoom")
    assert z.get_xdata().min() >= -2.0 and z.get_xdata().max() <= 3.0 + 0.01
    assert len(sweep_figure(classic, zoom="auto").axes[0].child_axes) == 1
    assert not sweep_figure(classic).axes[0].child_axes
    with pytest.raises(ValueError, match="zoom"):
        sweep_figure(classic, zoom=(3.0, 1.0))


def test_result_plot_method_and_given_axes(small):
    from matplotlib.figure import Figure

    fig = small.plot(seed=3)
    assert len(fig.axes) == 3
    mine = Figure()
    axes = mine.subplots(3, 1, sharex=True)
    assert small.plot(axes=axes) is mine
    assert line(axes[2], "negative").get_ydata().max() == small.negative.max()
    with pytest.raises(ValueError, match="axes"):
        sweep_figure(small, axes=axes[:2])
    with pytest.raises(ValueError, match="reduce"):
        sweep_figure(small, reduce="sometimes")


def test_unsorted_grid_is_drawn_in_order():
    x = np.random.default_rng(0).permutation(np.linspace(-3, 3, 601))
    res = fastrelu.sweep(fastrelu.Network.random(5, seed=1), x=x)
    fig = sweep_figure(res, reduce=False)
    drawn = line(fig.axes[0], "output")
    assert np.all(np.diff(drawn.get_xdata()) > 0)
    np.testing.assert_allclose(drawn.get_ydata(), res.network(drawn.get_xdata()), rtol=1e-12, atol=1e-12)


def test_compare_figure_twin_is_straight():
    net = fastrelu.Network.random(12, seed=2)
    fig = compare_figure(net, -5.0, 5.0, num=2001, seed=2, kinks=True)
    assert len(fig.axes) == 6
    rows = np.array(fig.axes).reshape(3, 2)
    twin_slope = line(rows[1, 1], "slope").get_ydata()
    assert np.ptp(twin_slope) == 0.0
    relu_slope = line(rows[1, 0], "slope").get_ydata()
    assert np.ptp(relu_slope) > 0
    # same rows share y, so the straight line is read on the kinked one's scale
    assert rows[0, 0].get_shared_y_axes().joined(rows[0, 0], rows[0, 1])
    twin_y = line(rows[0, 1], "output")
    ref = net.linear()(twin_y.get_xdata())
    np.testing.assert_allclose(twin_y.get_ydata(), ref, rtol=1e-12, atol=1e-12)
    assert "linear twin" in fig._suptitle.get_text() and "seed 2" in fig._suptitle.get_text()


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_files_in_every_format(small, tmp_path, ext, magic):
    from fastrelu.plot import save_figure

    path = tmp_path / f"figure.{ext}"
    save_figure(sweep_figure(small, kinks=True), path)
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(magic)
    path2 = tmp_path / f"compare.{ext}"
    compare_figure(small.network, -1.0, 1.0, num=101).savefig(path2)
    assert path2.stat().st_size > 1000


def test_save_figure_refuses_unknown_formats(small, tmp_path):
    from fastrelu.plot import save_figure

    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        save_figure(sweep_figure(small), tmp_path / "figure.txt")
    with pytest.raises(ValueError, match="no such folder"):
        save_figure(sweep_figure(small), tmp_path / "missing" / "figure.png")


# -- the reduction -------------------------------------------------------------------


def _columns_of(x, columns):
    edges = np.linspace(x[0], x[-1], columns + 1)[1:-1]
    return np.searchsorted(edges, x, side="right")


sorted_grids = st.integers(2, 400).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 3), min_size=n - 1, max_size=n - 1),  # gaps, repeats allowed
        st.lists(st.integers(-5, 5), min_size=n, max_size=n),  # values with plateaus and jumps
        st.integers(1, 60),
    )
)


@settings(max_examples=200, deadline=None)
@given(sorted_grids)
def test_column_reduction_keeps_extremes_ends_and_edges(case):
    gaps, values, columns = case
    x = np.concatenate(([0.0], np.cumsum(gaps, dtype=float)))
    v = np.array(values, dtype=float)
    keep = column_indices(x, v, columns)
    assert np.all(np.diff(keep) > 0) and keep[0] == 0 and keep[-1] == len(x) - 1
    assert len(keep) <= 4 * columns
    col = _columns_of(x, columns) if x[-1] > x[0] else np.zeros(len(x), int)
    for c in np.unique(col):
        full = v[col == c]
        kept = v[keep[col[keep] == c]]
        assert kept.min() == full.min() and kept.max() == full.max()
    # every jump between neighbouring columns is kept at both ends
    crossings = np.flatnonzero(col[1:] != col[:-1])
    assert np.isin(crossings, keep).all() and np.isin(crossings + 1, keep).all()


def _step_value(xk, vk, x):
    """A steps-post function through (xk, vk), read at x (the last of equal xk wins)."""
    return vk[np.searchsorted(xk, x, side="right") - 1]


@settings(max_examples=200, deadline=None)
@given(sorted_grids)
def test_step_reduction_is_exact_or_keeps_every_column(case):
    gaps, values, columns = case
    x = np.concatenate(([0.0], np.cumsum(np.array(gaps) + 1, dtype=float)))  # strictly increasing
    v = np.array(values, dtype=np.int32)
    keep = step_indices(x, v, columns)
    changes = np.flatnonzero(v[1:] != v[:-1]) + 1
    if len(changes) <= 2 * columns:
        # exact: the same step function at every grid point, every jump where it was
        np.testing.assert_array_equal(_step_value(x[keep], v[keep], x), v)
        assert np.isin(changes, keep).all()
    else:
        np.testing.assert_array_equal(keep, column_indices(x, v, columns))
    mask = np.zeros(len(v), bool)
    mask[changes] = True
    np.testing.assert_array_equal(step_indices(x, v, columns, changes=mask), keep)


def test_reduction_of_a_real_sweep_keeps_every_slope_jump(classic):
    keep = step_indices(classic.x, classic.slope, 3000, classic.slope_changes)
    assert np.isin(np.flatnonzero(classic.slope_changes), keep).all()
    assert len(keep) == np.count_nonzero(classic.slope_changes) + 2


def test_reduced_figure_matches_the_full_one(classic):
    """20,001 points: the reduced figure has the same data extents and the same pixels."""
    full = sweep_figure(classic, reduce=False, kinks=True)
    reduced = sweep_figure(classic, reduce=True, kinks=True)
    drawn = {gid: line(ax, gid) for ax, gid in zip(reduced.axes, ("output", "slope", "negative"))}
    assert len(drawn["output"].get_xdata()) < len(classic) / 3  # the reduction really ran
    for ax_f, ax_r, gid in zip(full.axes, reduced.axes, ("output", "slope", "negative")):
        f, r = line(ax_f, gid).get_xydata(), line(ax_r, gid).get_xydata()
        np.testing.assert_array_equal(f.min(axis=0), r.min(axis=0))
        np.testing.assert_array_equal(f.max(axis=0), r.max(axis=0))
        assert ax_f.get_xlim() == ax_r.get_xlim() and ax_f.get_ylim() == ax_r.get_ylim()
    a, b = pixels(full), pixels(reduced)
    assert a.shape == b.shape
    diff = np.abs(a - b).max(axis=2)
    # anti-aliasing may shade a few edge pixels differently; nothing visible may change
    assert diff.max() <= 96, diff.max()
    assert np.count_nonzero(diff > 32) <= 1e-4 * diff.size


# -- no window, no matplotlib at import ------------------------------------------------


def test_no_matplotlib_at_import_and_no_window(tmp_path):
    script = f"""
import sys
import fastrelu
assert "matplotlib" not in sys.modules, "import fastrelu imported matplotlib"
import fastrelu.plot
assert "matplotlib" not in sys.modules, "import fastrelu.plot imported matplotlib"
res = fastrelu.sweep(fastrelu.Network.random(6, seed=0), -3, 3, num=301)
res.plot(kinks=True, zoom="auto").savefig({str(tmp_path / "a.png")!r})
fastrelu.plot.compare_figure(res.network, -3, 3, num=301).savefig({str(tmp_path / "b.png")!r})
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
import matplotlib
print(matplotlib.get_backend())
"""
    # a display that does not exist: any attempt at a window would fail loudly
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND",)}
    env["DISPLAY"] = ":987"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a.png").stat().st_size > 0 and (tmp_path / "b.png").stat().st_size > 0


def test_pyplot_figure_list_untouched(small):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    sweep_figure(small)
    compare_figure(small.network, -1.0, 1.0, num=11)
    assert plt.get_fignums() == before


# -- deep networks: several outputs, several layers, along a line ----------------------

from fastrelu.model.describe import architecture  # noqa: E402
from fastrelu.plot.reduce import stack_indices, steps_union  # noqa: E402

LINE = ([-1.0, -1.0], [1.0, 1.0])


@pytest.fixture(scope="module")
def deep():
    """Two hidden layers, three outputs, along a line of a 2-input space: 2,001 points."""
    net = fastrelu.Network.random([2, 16, 16, 3], seed=1)
    return fastrelu.sweep(net, along=LINE, num=2001, backend="numpy")


@pytest.fixture(scope="module")
def deep_full():
    """The deep demo on the default line grid: 20,001 points of t."""
    net = fastrelu.Network.random([2, 64, 64, 64, 3], seed=0)
    return fastrelu.sweep(net, along=LINE, backend="numpy")


def layer_fills(ax):
    return {c.get_gid(): c for c in ax.collections if (c.get_gid() or "").startswith("layer ")}


def legend_labels(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def test_deep_panels_hold_every_output_and_layer(deep):
    fig = sweep_figure(deep, reduce=False)
    ax_y, ax_s, ax_n = fig.axes[:3]
    for k in range(3):
        ln = line(ax_y, f"output {k}")
        np.testing.assert_array_equal(ln.get_xdata(), deep.x)
        np.testing.assert_array_equal(ln.get_ydata(), deep.y[:, k])
        sl = line(ax_s, f"slope {k}")
        np.testing.assert_array_equal(sl.get_ydata(), deep.slope[:, k])
        assert sl.get_drawstyle() == "steps-post"
    total = line(ax_n, "negative")
    np.testing.assert_array_equal(total.get_ydata(), deep.negative)
    assert to_rgba(total.get_color()) == to_rgba("tab:orange") and total.get_drawstyle() == "steps-post"
    # the split by layer is a stack: layer 1 from 0 to its count, layer 2 on top, up to the total
    fills = layer_fills(ax_n)
    assert sorted(fills) == ["layer 1", "layer 2"]
    first = np.concatenate([p.vertices for p in fills["layer 1"].get_paths()])
    second = np.concatenate([p.vertices for p in fills["layer 2"].get_paths()])
    assert first[:, 1].min() == 0 and first[:, 1].max() == deep.negative_by_layer[:, 0].max()
    assert second[:, 1].max() == deep.negative.max()
    assert second[:, 1].min() == deep.negative_by_layer[:, 0].min()
    # labels and legends: outputs by index, layers from the top of the stack down
    assert legend_labels(ax_y) == ["output 0", "output 1", "output 2"]
    assert legend_labels(ax_s) == ["output 0", "output 1", "output 2"]
    assert legend_labels(ax_n) == ["all layers", "layer 2", "layer 1"]
    assert ax_n.get_xlabel() == "t along the line" and "dy/dt" in ax_s.get_ylabel()
    assert "of 32 in 2 layers" in ax_n.get_ylabel()


def test_deep_colours_are_one_per_output_and_shades_of_orange_per_layer(deep):
    # issue 18: shades of one blue could not tell ten outputs apart; each output now has its
    # colour of a qualitative cycle, the same in the output and slope panels
    fig = sweep_figure(deep)
    ax_y, ax_s, ax_n = fig.axes[:3]
    outs = [to_rgba(line(ax_y, f"output {k}").get_color()) for k in range(3)]
    slopes = [to_rgba(line(ax_s, f"slope {k}").get_color()) for k in range(3)]
    assert len(set(outs)) == 3 and outs == slopes
    assert outs == [to_rgba(c) for c in OUTPUT_COLORS[:3]]
    oranges = [to_rgba(c.get_facecolor()[0]) for c in layer_fills(ax_n).values()]
    assert len(set(oranges)) == 2 and all(r > g > b for r, g, b, _ in oranges)


def test_deep_titles_name_widths_activations_and_line(deep):
    title = sweep_figure(deep, seed=1)._suptitle.get_text()
    first, second = title.splitlines()
    assert first == "2→16×2→3 ReLU network, seed 1, along a line"
    assert second == "t from 0 to 1, step 0.0005 (2,001 points) on the line from (-1, -1) to (1, 1)"
    assert architecture([784, *[1024] * 8, 10]) == "784→1024×8→10"
    assert architecture([3, 64, 32, 1]) == "3→64→32→1"
    mixed = fastrelu.Network.random([1, 8, 8, 1], seed=0, activation=["relu", "hardtanh"])
    res = fastrelu.sweep(mixed, -2.0, 2.0, num=101, backend="numpy")
    first, second = sweep_figure(res)._suptitle.get_text().splitlines()
    assert first == "1→8×2→1 network (ReLU, hardtanh)" and second.startswith("x from -2 to 2")
    assert sweep_figure(res).axes[2].get_xlabel() == "x"
    wide = fastrelu.Network.random([6, 8, 1], seed=0, activation="leaky_relu")
    res = fastrelu.sweep(wide, along=(np.zeros(6), np.ones(6)), num=11, backend="numpy")
    assert "6→8→1 leaky_relu network, along a line" in sweep_figure(res)._suptitle.get_text()
    assert "a line through 6 inputs" in sweep_figure(res)._suptitle.get_text()


def test_at_most_ten_outputs_unless_chosen():
    res = fastrelu.sweep(fastrelu.Network.random([1, 8, 12], seed=0), -3.0, 3.0, num=301, backend="numpy")
    fig = sweep_figure(res)
    ax_y = fig.axes[0]
    drawn = [ln.get_gid() for ln in ax_y.lines]
    assert drawn == [f"output {k}" for k in range(10)]
    assert ax_y.get_legend().get_title().get_text() == "10 of 12 outputs"
    assert not layer_fills(fig.axes[2])  # one hidden layer: no split
    fig = sweep_figure(res, outputs=[11, 0], reduce=False)
    assert [ln.get_gid() for ln in fig.axes[0].lines] == ["output 11", "output 0"]
    np.testing.assert_array_equal(line(fig.axes[1], "slope 11").get_ydata(), res.slope[:, 11])
    for bad in ([12], [0, 0], ["a"]):
        with pytest.raises(ValueError, match="outputs"):
            sweep_figure(res, outputs=bad)


def test_deep_kink_markers_are_the_exact_kinks(deep):
    fig = sweep_figure(deep, kinks=True)
    exact = fastrelu.kinks(deep.network, 0.0, 1.0)
    assert len(exact) > 0
    marks = [c for c in fig.axes[0].collections if c.get_gid() == "kinks"]
    assert len(marks) == 1
    positions = np.sort([seg[0, 0] for seg in marks[0].get_segments()])
    assert np.isin(positions, exact).all()
    column = 1.0 / 3000  # at most one marker per reduction column (10 in x 150 dpi x 2)
    assert all(np.min(np.abs(positions - k)) <= column for k in exact)
    # every slope change on the grid is just past an exact kink (leaving out changes of a
    # rounding error inside a piece, which the kernels may make)
    step = 1.0 / 2000 + 1e-12
    jump = np.zeros(len(deep), bool)
    jump[1:] = (np.abs(np.diff(deep.slope, axis=0)) > 1e-9 * np.abs(deep.slope).max()).any(axis=1)
    assert jump.sum() >= len(exact) - 2
    assert all(np.min(np.abs(exact - g)) <= step for g in deep.x[jump])
    assert "exact kinks marked" in " ".join(t.get_text() for t in fig.axes[1].texts)


def test_deep_zoom_draws_every_output(deep):
    fig = sweep_figure(deep, zoom=(0.2, 0.4))
    (inset,) = fig.axes[0].child_axes
    assert [ln.get_gid() for ln in inset.lines] == ["zoom 0", "zoom 1", "zoom 2"]
    assert "zoom: t from 0.2" in inset.get_title()
    xs = inset.lines[1].get_xdata()
    assert xs.min() >= 0.2 and xs.max() <= 0.4 + 1e-3


def test_compare_figure_of_a_deep_network_along_a_line():
    net = fastrelu.Network.random([2, 16, 16, 3], seed=1, activation="leaky_relu")
    fig = compare_figure(net, along=LINE, num=2001, backend="numpy", seed=1)
    rows = np.array(fig.axes).reshape(3, 2)
    x0, x1 = (np.asarray(p) for p in LINE)
    for k in range(3):
        twin_slope = line(rows[1, 1], f"slope {k}").get_ydata()
        # every hidden layer linear: one affine map, one slope (to rounding)
        np.testing.assert_allclose(twin_slope, twin_slope[0], rtol=1e-12, atol=1e-15)
        twin_y = line(rows[0, 1], f"output {k}")
        t = twin_y.get_xdata()
        ref = net.linear()(x0 + t[:, None] * (x1 - x0))[:, k]
        np.testing.assert_allclose(twin_y.get_ydata(), ref, rtol=1e-12, atol=1e-12)
    assert max(np.ptp(line(rows[1, 0], f"slope {k}").get_ydata()) for k in range(3)) > 0
    assert set(layer_fills(rows[2, 0])) == set(layer_fills(rows[2, 1])) == {"layer 1", "layer 2"}
    # legends once, beside the right column
    assert rows[0, 1].get_legend() is not None and rows[0, 0].get_legend() is None
    assert rows[2, 0].get_xlabel() == "t along the line"
    assert rows[0, 1].get_title() == "linear twin (same weights, no leaky_relu)"
    assert fig._suptitle.get_text().splitlines()[0] == "2→16×2→3 leaky_relu network beside its linear twin, seed 1, along a line"


def test_reduced_deep_figure_matches_the_full_one(deep_full):
    """20,001 points of a deep sweep: the same data extents and pixels, every layer too."""
    full = sweep_figure(deep_full, reduce=False, kinks=True)
    reduced = sweep_figure(deep_full, reduce=True, kinks=True, columns=300)
    gids = [("output", k) for k in range(3)] + [("slope", k) for k in range(3)]
    for name, k in gids:
        panel = 0 if name == "output" else 1
        f = line(full.axes[panel], f"{name} {k}").get_xydata()
        r = line(reduced.axes[panel], f"{name} {k}").get_xydata()
        assert len(r) < len(f) / 3  # the reduction really ran
        np.testing.assert_array_equal(f.min(axis=0), r.min(axis=0))
        np.testing.assert_array_equal(f.max(axis=0), r.max(axis=0))
    f, r = line(full.axes[2], "negative").get_xydata(), line(reduced.axes[2], "negative").get_xydata()
    np.testing.assert_array_equal(f.min(axis=0), r.min(axis=0))
    np.testing.assert_array_equal(f.max(axis=0), r.max(axis=0))
    for gid, fill in layer_fills(full.axes[2]).items():
        fv = np.concatenate([p.vertices for p in fill.get_paths()])
        rv = np.concatenate([p.vertices for p in layer_fills(reduced.axes[2])[gid].get_paths()])
        np.testing.assert_array_equal(fv.min(axis=0), rv.min(axis=0))
        np.testing.assert_array_equal(fv.max(axis=0), rv.max(axis=0))
    for ax_f, ax_r in zip(full.axes[:3], reduced.axes[:3]):
        assert ax_f.get_xlim() == ax_r.get_xlim() and ax_f.get_ylim() == ax_r.get_ylim()
    # at the default columns (twice the pixels) the picture is the same
    reduced = sweep_figure(deep_full, reduce=True, kinks=True)
    assert len(line(reduced.axes[0], "output 0").get_xdata()) < len(deep_full) / 3
    a, b = pixels(full), pixels(reduced)
    assert a.shape == b.shape
    diff = np.abs(a - b).max(axis=2)
    assert diff.max() <= 96, diff.max()
    assert np.count_nonzero(diff > 32) <= 1e-4 * diff.size


def test_stored_deep_result_draws_as_in_memory(deep_full, tmp_path):
    net = fastrelu.Network.random([2, 64, 64, 64, 3], seed=0)
    stored = fastrelu.sweep(net, along=LINE, backend="numpy", out=tmp_path / "deep.zarr", chunk=3000)
    assert isinstance(stored, fastrelu.StoredResult)
    a, b = sweep_figure(stored, kinks=True, zoom=(0.4, 0.6)), sweep_figure(deep_full, kinks=True, zoom=(0.4, 0.6))
    assert a._suptitle.get_text() == b._suptitle.get_text()
    assert a.axes[2].get_xlabel() == "t along the line"
    assert legend_labels(a.axes[2]) == ["all layers", "layer 3", "layer 2", "layer 1"]
    for ax_a, ax_b in zip(a.axes[:3], b.axes[:3]):
        assert ax_a.get_xlim() == ax_b.get_xlim() and ax_a.get_ylim() == ax_b.get_ylim()
    assert [ln.get_gid() for ln in a.axes[0].child_axes[0].lines] == ["zoom 0", "zoom 1", "zoom 2"]
    # the same slope changes counted across chunk boundaries
    assert [t.get_text() for t in a.axes[1].texts] == [t.get_text() for t in b.axes[1].texts]
    diff = np.abs(pixels(a) - pixels(b)).max(axis=2)
    assert np.count_nonzero(diff > 32) <= 1e-4 * diff.size


step_tables = st.integers(2, 300).flatmap(
    lambda n: st.tuples(
        st.lists(st.lists(st.integers(0, 3), min_size=3, max_size=3), min_size=n, max_size=n),
        st.integers(1, 40),
    )
)


@settings(max_examples=150, deadline=None)
@given(step_tables)
def test_step_reductions_of_several_columns(case):
    rows, columns = case
    v = np.array(rows, dtype=np.int32)
    x = np.arange(len(v), dtype=float)
    keep = steps_union(x, v, columns)
    stack = stack_indices(x, v, columns)
    changes = np.flatnonzero((v[1:] != v[:-1]).any(axis=1)) + 1
    for k in range(v.shape[1]):
        if len(changes) <= 2 * columns:  # exact for every column and every running sum
            np.testing.assert_array_equal(_step_value(x[keep], v[keep, k], x), v[:, k])
            running = v[:, : k + 1].sum(axis=1)
            np.testing.assert_array_equal(_step_value(x[stack], running[stack], x), running)
        else:  # else each column's own reduction is among the kept points
            own = step_indices(x, v[:, k], columns)
            assert np.isin(own, keep).all()


def test_compare_figure_marks_kinks_by_default_as_sweep_figure_and_the_command_line_do():
    import inspect

    from fastrelu.cli.parser import build_parser
    defaults = {f.__name__: inspect.signature(f).parameters["kinks"].default for f in (sweep_figure, compare_figure)}
    assert defaults == {"sweep_figure": True, "compare_figure": True}
    assert build_parser().parse_args(["compare", "--hidden", "8"]).kinks is True
    fig = compare_figure(fastrelu.Network.random(20, seed=1), -5.0, 5.0, num=1001, seed=1)
    assert all(any(c.get_gid() == "kinks" for c in ax.collections) for ax in fig.axes[0:6:2])  # the network's column
    assert not any(c.get_gid() == "kinks" for ax in fig.axes[1:6:2] for c in ax.collections)  # not the straight twin
