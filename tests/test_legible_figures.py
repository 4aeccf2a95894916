"""Figures a person can read: distinct colours per output, labels that cover nothing, kink
marks apart from the grid, and an inset whose ticks stay inside its axes.

Checked on the drawn figure: the artists' colours, the rendered pixels, and the bounding
boxes of the drawn text.
"""

import colorsys
import itertools

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text

import fastrelu
from fastrelu.plot import sweep_figure
from fastrelu.plot.style import OUTPUT_COLORS


@pytest.fixture(scope="module")
def ten():
    """A sweep of a network of ten outputs along a line."""
    net = fastrelu.Network.random([6, 32, 32, 10], seed=0)
    x0, x1 = np.random.default_rng(0).standard_normal((2, 6)) * 2
    return fastrelu.sweep(net, along=(x0, x1), num=4001)


def _lines(ax, prefix):
    return {ln.get_gid(): ln for ln in ax.lines if str(ln.get_gid()).startswith(prefix)}


def _drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _texts(fig):
    """Every text drawn in the figure, with its box on the canvas: visible, not empty, and
    for a tick label, one whose tick lies in its axis's view (matplotlib keeps others, undrawn)."""
    renderer = _drawn(fig)
    undrawn = set()
    for ax in [*fig.axes, *(c for a in fig.axes for c in a.child_axes)]:
        for labels, k, (lo, hi) in ((ax.get_xticklabels(), 0, sorted(ax.get_xlim())),
                                    (ax.get_yticklabels(), 1, sorted(ax.get_ylim()))):
            undrawn.update(id(t) for t in labels if not lo <= t.get_position()[k] <= hi)
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and id(t) not in undrawn:
            out.append((t, t.get_window_extent(renderer)))
    return out


def _overlap(a, b, slack=0.5):
    return a.x0 < b.x1 - slack and b.x0 < a.x1 - slack and a.y0 < b.y1 - slack and b.y0 < a.y1 - slack


# -- point 9: ten outputs, ten colours ---------------------------------------------------------

def test_ten_outputs_get_ten_distinct_hues_the_same_in_both_panels(ten):
    fig = sweep_figure(ten, kinks=True)
    ax_y, ax_s = fig.axes[:2]
    outs, slopes = _lines(ax_y, "output "), _lines(ax_s, "slope ")
    assert len(outs) == len(slopes) == 10
    colours = [to_rgb(outs[f"output {k}"].get_color()) for k in range(10)]
    assert colours == [to_rgb(slopes[f"slope {k}"].get_color()) for k in range(10)]  # one colour per output
    # pairwise far apart (not shades of one colour): at least a fifth of the RGB cube's edge
    for a, b in itertools.combinations(colours, 2):
        assert np.abs(np.subtract(a, b)).max() >= 0.2, (a, b)
    hues = {round(colorsys.rgb_to_hsv(*c)[0] * 12) % 12 for c in colours if colorsys.rgb_to_hsv(*c)[1] > 0.3}
    assert len(hues) >= 6  # a qualitative cycle spans the colour wheel; shades of one blue would be one or two
    # no line style has to tell two outputs apart
    assert {outs[f"output {k}"].get_linestyle() for k in range(10)} == {"-"}


def test_every_output_is_visible_in_the_rendered_image(ten):
    fig = sweep_figure(ten, figsize=(10, 8), dpi=80)
    renderer = _drawn(fig)
    px = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    box = fig.axes[0].get_window_extent(renderer)
    h = px.shape[0]
    panel = px[int(h - box.y1) + 2:int(h - box.y0) - 2, int(box.x0) + 2:int(box.x1) - 2]
    for k, c in enumerate(OUTPUT_COLORS):
        rgb = np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])
        near = (np.abs(panel - rgb).max(axis=2) <= 30).sum()
        assert near > 100, f"output {k} ({c}) is hardly visible: {near} pixels"


@pytest.mark.parametrize("figsize", [(10, 8), (7, 6)])
def test_no_label_lies_over_a_curve_or_another_label(ten, figsize):
    fig = sweep_figure(ten, kinks=True, zoom=(0.3, 0.45), figsize=figsize)
    texts = _texts(fig)
    ticks = {}  # the tick labels of one axis: spaced by matplotlib's locator, their boxes' descents may touch
    for ax in [*fig.axes, *(c for a in fig.axes for c in a.child_axes)]:
        for axis in (ax.xaxis, ax.yaxis):
            ticks.update({id(t): id(axis) for t in axis.get_ticklabels()})
    for (t1, b1), (t2, b2) in itertools.combinations(texts, 2):
        if ticks.get(id(t1), 1) != ticks.get(id(t2), 2):
            assert not _overlap(b1, b2), (t1.get_text(), t2.get_text())
    renderer = _drawn(fig)
    for ax in fig.axes[:3]:
        frame = ax.get_window_extent(renderer)
        for t, b in texts:
            if t.axes is ax and t not in ax.get_xticklabels() + ax.get_yticklabels() and t is not ax.title:
                assert not _overlap(b, frame), f"{t.get_text()!r} lies inside the panel, over its curves"
    # the note sits between two panels, over neither, and no wider than its panel
    (note,) = [t for t in fig.axes[1].texts if t.get_gid() == "note"]
    box = note.get_window_extent(renderer)
    for ax in fig.axes[:3]:
        assert not _overlap(box, ax.get_window_extent(renderer)), ax
    assert box.width <= fig.axes[1].get_window_extent(renderer).width
    # and the panels keep most of the figure's width (the legends take the rest)
    assert fig.axes[1].get_window_extent(renderer).width > 0.6 * fig.bbox.width


def test_the_note_explains_the_two_counts_and_the_marks(ten):
    fig = sweep_figure(ten, kinks=True)
    (note,) = [t for t in fig.axes[1].texts if t.get_gid() == "note"]
    text = " ".join(note.get_text().split())  # wrapped to the panel's width
    changes = int(np.count_nonzero(ten.slope_changes))
    assert f"{changes:,} slope changes on the grid" in text and "exact kinks marked (dotted lines)" in text
    assert "kinks closer than one grid step make one change on the grid" in text


def test_kink_marks_are_told_apart_from_the_grid(ten):
    fig = sweep_figure(ten, kinks=True)
    ax = fig.axes[1]
    (marks,) = [c for c in ax.collections if c.get_gid() == "kinks"]
    grid = ax.get_xgridlines()[0]
    assert to_rgb(marks.get_color()[0]) != to_rgb(grid.get_color())
    (style,) = {tuple(np.ravel(d[1])) if d[1] is not None else () for d in marks.get_linestyle()}
    assert style and grid.get_linestyle() == "-"  # dotted marks, solid grid
    r, g, b = to_rgb(marks.get_color()[0])
    assert max(r, g, b) - min(r, g, b) > 0.2  # a colour, not a grey like the grid's


# -- point 10: the zoom inset keeps its ticks inside the panel ------------------------------------

@pytest.mark.parametrize("figsize", [(10, 8), (7, 6), (12, 5)])
@pytest.mark.parametrize("case", ["one layer, 1000 units", "a valley"])
def test_the_zoom_insets_ticks_stay_off_the_panels_axis(case, figsize):
    if case == "a valley":  # the inset goes to a left corner: an output of |x| leaves the top middle
        net = fastrelu.Network.random(200, seed=5)
        res = fastrelu.sweep(net, -100, 100, num=20001)
        zoom = (-3.0, 3.0)
    else:
        res = fastrelu.sweep(fastrelu.Network.random(1000, seed=0))
        zoom = "auto"
    fig = sweep_figure(res, kinks=True, zoom=zoom, figsize=figsize)
    renderer = _drawn(fig)
    ax = fig.axes[0]
    (inset,) = ax.child_axes
    frame = ax.get_window_extent(renderer)
    tight = inset.get_tightbbox(renderer)
    assert frame.x0 < tight.x0 and tight.x1 < frame.x1 and frame.y0 < tight.y0 and tight.y1 < frame.y1, (frame, tight)
    for t in ax.get_xticklabels() + ax.get_yticklabels():
        if t.get_visible() and t.get_text():
            assert not _overlap(t.get_window_extent(renderer), tight), t.get_text()
