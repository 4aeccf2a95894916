"""The region map's figure: what it draws is what the map says, pixel by pixel."""

import numpy as np
import pytest

import fastrelu
from fastrelu.model.forward import magnitudes
from fastrelu.plot import region_map_figure
from fastrelu.plot.region_map import MAX_EDGES_FACES, face_colors, pixel_values

BOUNDS = ((-1.0, 1.0), (-1.0, 1.0))


@pytest.fixture(scope="module")
def small_map():
    return fastrelu.regions(fastrelu.Network.random([2, 16, 16, 1], seed=3), bounds=BOUNDS)


def test_pixels_are_read_off_their_faces_exactly(small_map):
    # every pixel's output is the network's at that point of the plane, to rounding
    extent, y, grad, neg = pixel_values(small_map, pixels=32)
    u = np.linspace(-1, 1, 33)[:-1] + 1 / 32
    uu, vv = np.meshgrid(u, u)
    net = small_map.network
    direct = net(np.stack([uu.ravel(), vv.ravel()], axis=1)).reshape(32, 32)
    # both are sums over the layers' products: each within gamma_n * (the same sums of
    # |terms|), n the number of terms in the longest chain, bounded by magnitudes()
    u = np.finfo(float).eps / 2
    n = sum(net.widths)
    bound = magnitudes(net, 1.0)[-1].max() + np.abs(net.layers[-1].bias).max()
    assert np.abs(y - direct).max() <= 2 * n * u / (1 - n * u) * bound
    assert extent == (-1.0, 1.0, -1.0, 1.0)
    # the count is the network's at the pixel (pixels within rounding of an edge aside)
    res = fastrelu.sweep(net.along([0.0, vv[5, 0]], [1.0, vv[5, 0]]), x=uu[5], backend="numpy")
    assert np.array_equal(neg[5], res.negative)
    assert np.all(grad >= 0) and np.isfinite(grad).all()


def test_neighbouring_faces_get_different_colours(small_map):
    colours = face_colors(small_map.pattern_hash)
    left, right = np.asarray(small_map.edge_faces).T
    inner = (left >= 0) & (right >= 0)
    same = np.all(np.isclose(colours[left[inner]], colours[right[inner]], atol=1e-3), axis=1)
    assert not same.any()


def test_the_figure_has_the_map_and_three_panels(small_map):
    fig = region_map_figure(small_map, pixels=32)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:4] == ["linear regions", "output y", "gradient |∇y| in the plane", "negative units"]
    assert f"{len(small_map):,} linear regions" in fig._suptitle.get_text()
    face_collection = fig.axes[0].collections[0]
    assert len(face_collection.get_paths()) == len(small_map)


def test_edges_are_left_out_past_the_threshold_unless_asked(small_map, monkeypatch):
    with_edges = region_map_figure(small_map, pixels=8)
    assert len(with_edges.axes[0].collections) == 2  # faces, edges
    monkeypatch.setattr("fastrelu.plot.region_map.MAX_EDGES_FACES", len(small_map) - 1)
    assert len(region_map_figure(small_map, pixels=8).axes[0].collections) == 1
    assert len(region_map_figure(small_map, pixels=8, edges=True).axes[0].collections) == 2
    assert MAX_EDGES_FACES >= 10_000


def test_bad_arguments_name_themselves(small_map):
    with pytest.raises(ValueError, match="output must be an int from 0 to 0"):
        region_map_figure(small_map, output=1)
    with pytest.raises(ValueError, match="pixels must be at least 2"):
        region_map_figure(small_map, pixels=1)


def test_the_readme_draws_a_map_in_two_lines(tmp_path, monkeypatch):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Region maps of a plane", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) == 2
    monkeypatch.chdir(tmp_path)
    exec(compile("import fastrelu\n" + code, "README.md", "exec"), {})
    assert (tmp_path / "map.png").stat().st_size > 10_000


def test_a_classifier_s_decision_boundary_is_drawn_as_the_map_gives_it():
    m = fastrelu.regions(fastrelu.Network.random([2, 16, 16, 3], seed=1), bounds=((-3, 3), (-3, 3)))
    expected = np.asarray(m.decision_boundary().segments)
    assert expected.shape[0] > 0
    drawn = [c for c in region_map_figure(m, pixels=8).axes[0].collections if c.get_gid() == "decisions"]
    assert len(drawn) == 1 and np.array_equal(np.asarray(drawn[0].get_segments()), expected)
    assert not [c for c in region_map_figure(m, pixels=8, decisions=False).axes[0].collections if c.get_gid() == "decisions"]


def test_one_output_draws_its_zero_line_only_when_asked(small_map):
    gids = [c.get_gid() for c in region_map_figure(small_map, pixels=8).axes[0].collections]
    assert "decisions" not in gids
    segments = np.asarray(small_map.decision_boundary().segments)
    gids = [c.get_gid() for c in region_map_figure(small_map, pixels=8, decisions=True).axes[0].collections]
    assert ("decisions" in gids) == (segments.shape[0] > 0)


def test_the_map_s_plot_method_is_the_figure_with_the_same_options(small_map):
    import inspect

    method = list(inspect.signature(type(small_map).plot).parameters.values())[1:]
    function = list(inspect.signature(region_map_figure).parameters.values())[1:]
    assert [(p.name, p.default) for p in method] == [(p.name, p.default) for p in function]
    fig = small_map.plot(pixels=8, title="hello")
    assert fig._suptitle.get_text() == "hello" and fig.axes[0].get_title() == "linear regions"


@pytest.fixture(scope="module")
def plane_classifier():
    """A classifier's map on the plane through three inputs: points, labels, decision boundary."""
    net = fastrelu.Network.random([20, 24, 24, 3], seed=5)
    return fastrelu.regions(net, plane=np.random.default_rng(6).normal(size=(3, 20)))


def test_face_colours_are_matplotlib_s_hsv(small_map):
    from matplotlib.colors import hsv_to_rgb

    from fastrelu.plot.region_map import _hsv_to_rgb

    rng = np.random.default_rng(0)
    h, s, v = rng.random((3, 10_000))
    h[:6] = np.arange(6) / 6  # each sector's first hue exactly
    assert np.array_equal(_hsv_to_rgb(h, s, v), hsv_to_rgb(np.stack([h, s, v], axis=1)))


def test_the_decision_boundary_and_the_points_stand_apart_from_the_faces_and_edges(plane_classifier):
    from matplotlib.colors import to_rgba
    from matplotlib.patheffects import withStroke

    fig = region_map_figure(plane_classifier, pixels=16)
    ax = fig.axes[0]
    faces, edges = ax.collections[0], ax.collections[1]
    (decisions,) = [c for c in ax.collections if c.get_gid() == "decisions"]
    # black over a white outline, above faces and edges: never one of the edges' greys alone
    effects = decisions.get_path_effects()
    assert any(isinstance(e, withStroke) and to_rgba(e._gc["foreground"]) == (1, 1, 1, 1) for e in effects)
    assert decisions.zorder > max(faces.zorder, edges.zorder)
    assert decisions.get_linewidth()[0] > 2 * edges.get_linewidth()[0]
    # the three points: white with a black rim, labelled x0, x1, x2 above everything
    (points,) = [line for line in ax.lines if line.get_gid() == "points"]
    assert points.get_markerfacecolor() == "white" and points.zorder > decisions.zorder
    labels = sorted((t for t in ax.texts if (t.get_gid() or "").startswith("point_label")), key=lambda t: t.get_text())
    assert [t.get_text() for t in labels] == ["x0", "x1", "x2"]
    assert np.array_equal(points.get_xydata(), np.asarray(plane_classifier.points))


@pytest.mark.parametrize("which", ["small_map", "plane_classifier"])
def test_no_text_overlaps_another_or_leaves_the_figure(which, request):
    m = request.getfixturevalue(which)
    fig = region_map_figure(m, pixels=16)
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    boxes = [("suptitle", fig._suptitle.get_window_extent(renderer))]
    for k, ax in enumerate(fig.axes):
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        shown = lambda labels, lo, hi, k: [t for t in labels if lo <= t.get_position()[k] <= hi]  # the drawn ones
        parts = [("title", [ax.title]), ("xlabel", [ax.xaxis.label]), ("ylabel", [ax.yaxis.label]),
                 ("xticks", shown(ax.get_xticklabels(), x0, x1, 0)), ("yticks", shown(ax.get_yticklabels(), y0, y1, 1)),
                 ("points", [t for t in ax.texts if (t.get_gid() or "").startswith("point_label")])]
        if ax.get_legend() is not None:
            parts.append(("legend", [ax.get_legend()]))
        for name, artists in parts:
            for a in artists:
                if a.get_visible() and a.get_text() if hasattr(a, "get_text") else True:
                    boxes.append((f"axes {k} {name} {getattr(a, 'get_text', lambda: '')()}", a.get_window_extent(renderer)))
    W, H = fig.bbox.width, fig.bbox.height
    for name, b in boxes:
        assert b.x0 >= -1 and b.y0 >= -1 and b.x1 <= W + 1 and b.y1 <= H + 1, f"{name} leaves the figure: {b}"
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (n1, b1), (n2, b2) = boxes[i], boxes[j]
            if n1.split()[:3] == n2.split()[:3] and ("ticks" in n1):
                continue  # the tick labels of one axis are matplotlib's to space
            assert not b1.overlaps(b2), f"{n1} overlaps {n2}"


def test_a_plane_sweep_is_drawn_as_the_map_s_right_hand_panels(plane_classifier):
    from fastrelu.plot.region_map import plane_sweep_figure

    points = np.random.default_rng(6).normal(size=(3, 20))
    res = fastrelu.sweep(fastrelu.Network.random([20, 24, 24, 3], seed=5), plane=points, num=(24, 16))
    fig = plane_sweep_figure(res, output=2)
    images = [ax.get_images()[0] for ax in fig.axes[:6] if ax.get_images()]
    assert [im.axes.get_title() for im in images] == ["output y[2]", "gradient |∇y| in the plane", "negative units"]
    assert np.array_equal(images[0].get_array(), res.y[:, :, 2])
    assert np.array_equal(images[1].get_array(), np.hypot(res.slope[:, :, 2, 0], res.slope[:, :, 2, 1]))
    assert np.array_equal(images[2].get_array(), res.negative)
    # each pixel a cell around its centre: the images' edges are half a pixel beyond the first and last centres
    du, dv = res.u[1] - res.u[0], res.v[1] - res.v[0]
    assert np.allclose(images[0].get_extent(), [res.u[0] - du / 2, res.u[-1] + du / 2, res.v[0] - dv / 2, res.v[-1] + dv / 2])
    # the region map's figure draws its right-hand panels with the same titles, maps and colour bars
    map_fig = region_map_figure(plane_classifier, pixels=8, output=2)
    assert [ax.get_title() for ax in map_fig.axes[1:4]] == [im.axes.get_title() for im in images]
    assert [ax.get_images()[0].get_cmap().name for ax in map_fig.axes[1:4]] == [im.get_cmap().name for im in images]
    # the three points on every panel; the map's edges over them when asked
    assert all([line.get_gid() for line in im.axes.lines] == ["points"] for im in images)
    assert all(not im.axes.collections for im in images)
    with_edges = plane_sweep_figure(res, regions=plane_classifier)
    assert all(len(ax.get_images()) == 0 or len(ax.collections) == 1 for ax in with_edges.axes)


def test_a_line_s_sweep_is_not_a_plane_s():
    from fastrelu.plot.region_map import plane_sweep_figure

    res = fastrelu.sweep(fastrelu.Network.random(4, seed=0), num=5)
    with pytest.raises(TypeError, match="draws the sweep of a plane"):
        plane_sweep_figure(res)
    plane = fastrelu.sweep(fastrelu.Network.random([2, 4, 1], seed=0), bounds=((-1, 1), (-1, 1)), num=(4, 4))
    with pytest.raises(ValueError, match="output must be an int from 0 to 0"):
        plane_sweep_figure(plane, output=1)


def test_each_face_is_drawn_as_its_polygon(small_map):
    # the faces are handed to matplotlib padded to one length (repeating the last corner):
    # each path is still the face's polygon, corner for corner, closed
    m = small_map
    paths = region_map_figure(m, pixels=8).axes[0].collections[0].get_paths()
    verts = np.asarray(m.vertices)
    assert max(len(m.polygon(f)) for f in range(len(m))) > min(len(m.polygon(f)) for f in range(len(m)))
    for f, path in enumerate(paths):
        corners = verts[m.polygon(f)]
        drawn = path.vertices[:-1]  # the last is the closing vertex
        n = len(corners)
        assert np.array_equal(drawn[:n], corners) and (drawn[n:] == corners[-1]).all()
        assert np.array_equal(path.vertices[-1], corners[0]) and path.codes[-1] == path.CLOSEPOLY


def test_a_long_narrow_rectangle_is_not_drawn_as_a_sliver():
    m = fastrelu.regions(fastrelu.Network.random([2, 8, 8, 1], seed=0), bounds=((-50, 50), (-0.5, 0.5)))
    fig = region_map_figure(m, pixels=8)
    fig.canvas.draw()
    for ax in fig.axes[:4]:
        box = ax.get_window_extent()
        assert box.height > 0.2 * box.width, ax.get_title()
    square = region_map_figure(fastrelu.regions(m.network, bounds=((-1, 1), (-1, 1))), pixels=8)
    assert all(ax.get_aspect() == 1.0 for ax in square.axes[:4])


def test_a_plane_s_res_plot_and_stored_plot_are_its_plane_figure(tmp_path):
    """res.plot(), sweep_figure(res) and a store's plot() of a plane draw its images, not a line's panels."""
    from fastrelu.plot import sweep_figure

    net = fastrelu.Network.random([2, 12, 12, 3], seed=1)
    res = fastrelu.sweep(net, bounds=((-1, 1), (-1, 2)), num=(20, 14))
    stored = fastrelu.sweep(net, bounds=((-1, 1), (-1, 2)), num=(20, 14), out=str(tmp_path / "p.zarr"), chunk=5)
    for fig in (res.plot(outputs=[1]), sweep_figure(res, outputs=[1]), stored.plot(outputs=[1])):
        images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
        assert [im.axes.get_title() for im in images] == ["output y[1]", "gradient |∇y| in the plane", "negative units"]
        assert np.array_equal(images[0].get_array(), res.y[:, :, 1])
        assert np.array_equal(images[2].get_array(), res.negative)
    for bad in (dict(zoom="auto"), dict(columns=100), dict(outputs=[0, 1])):
        with pytest.raises(ValueError, match=next(iter(bad))):
            res.plot(**bad)
