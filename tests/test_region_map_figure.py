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
