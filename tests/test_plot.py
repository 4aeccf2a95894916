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

matplotlib = pytest.importorskip("matplotlib")
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
    assert not any(c.get_gid() == "kinks" for c in sweep_figure(small).axes[0].collections)


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
