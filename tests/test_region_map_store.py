"""Region maps saved and loaded (``fastrelu.store.region_map``): the loaded map is the saved one."""

import numpy as np
import pytest

import fastrelu
from fastrelu.model.activations import Activation
from fastrelu.store.region_map import load_region_map, save_region_map

ATTRS = ("vertices", "edges", "edge_faces", "edge_units", "face_offsets", "face_vertices", "area", "slope", "intercept",
         "negative", "negative_by_layer", "pattern", "pattern_hash", "origin", "directions", "points")


def maps():
    rng = np.random.default_rng(0)
    clamp = fastrelu.Network.random([2, 12, 12, 2], seed=4)
    clamp = fastrelu.Network.from_layers(clamp.layers, [Activation("hardtanh"), Activation("leaky_relu", negative_slope=0.1)])
    return {
        "classifier": fastrelu.regions(fastrelu.Network.random([2, 16, 16, 3], seed=1), bounds=((-3, 3), (-3, 3))),
        "plane": fastrelu.regions(fastrelu.Network.random([5, 16, 16, 1], seed=2), plane=rng.normal(size=(3, 5))),
        "clamps": fastrelu.regions(clamp, bounds=((-2, 1), (-1, 3))),
    }


def graph_map(name):
    """The map of a graph network (convolutions, a max-pool, a residual branch) on a plane."""
    from test_plane_graph import _model, _plane

    _, shape, net = _model(name, seed=1)
    return fastrelu.regions(net, plane=_plane(shape, 2))


@pytest.mark.parametrize("name", ["classifier", "plane", "clamps", "graph cnn", "graph maxpool", "graph residual"])
def test_a_loaded_map_is_the_saved_one(name, tmp_path):
    m = graph_map(name.split()[1]) if name.startswith("graph") else maps()[name]
    path = tmp_path / "map.npz"
    save_region_map(m, path)
    back = load_region_map(path)
    for attr in ATTRS:
        a, b = np.asarray(getattr(m, attr)), np.asarray(getattr(back, attr))
        assert a.dtype == b.dtype and np.array_equal(a, b), attr
    assert back.bounds == m.bounds and repr(back) == repr(m)
    assert (len(back), back.n_kinks, back.n_boundaries, back.ambiguous, back.degenerate) == (
        len(m), m.n_kinks, m.n_boundaries, m.ambiguous, m.degenerate)
    assert all(np.array_equal(a, b) for a, b in zip(back.decision_boundary(), m.decision_boundary()))
    pts = np.random.default_rng(1).uniform(-1, 1, size=(500, 2))
    assert np.array_equal(back.locate(pts), m.locate(pts))
    assert np.array_equal(back.to_input(pts), m.to_input(pts))
    inner = np.flatnonzero((np.asarray(m.edge_faces) >= 0).all(axis=1))
    assert all(np.array_equal(np.r_[back.switching(e)], np.r_[m.switching(e)]) for e in inner[:50])
    assert np.array_equal(back.network(m.to_input(pts)), m.network(m.to_input(pts)))
    if name == "clamps":  # a clamp's regions (0 to 3 for Hardtanh) are kept, not just on/off
        assert np.asarray(m.pattern).max() > 1


def test_bad_files_say_what_is_wrong(tmp_path):
    m = maps()["classifier"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_region_map(tmp_path / "missing.npz")
    res = tmp_path / "res.npz"
    fastrelu.sweep(fastrelu.Network.random(4, seed=0), num=5).save(res)
    with pytest.raises(ValueError, match="not a fastrelu region map"):
        load_region_map(res)
    good = tmp_path / "map.npz"
    save_region_map(m, good)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="cut.npz"):
        load_region_map(cut)
    with np.load(good) as data:
        arrays = dict(data)
    arrays["edges"] = arrays["edges"] + m.n_vertices
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="bad.npz.*inconsistent region map.*vertex or a face"):
        load_region_map(bad)
    del arrays["pattern"]
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="lacks pattern"):
        load_region_map(bad)
    with pytest.raises(TypeError, match="must be a fastrelu.RegionMap"):
        save_region_map(fastrelu.Network.random(4, seed=0), good)


def test_the_command_maps_a_graph_network_and_saves_it(tmp_path, capsys, monkeypatch):
    from test_plane_graph import _model

    from fastrelu.cli.main import main

    monkeypatch.chdir(tmp_path)
    _model("maxpool", seed=1)[2].save("cnn.npz")
    assert main(["map", "--network", "cnn.npz", "--plane", "random", "--pixels", "8", "--out", "m.npz",
                 "--plot", "m.png"]) == 0
    out = capsys.readouterr().out
    assert "max-pool" in out and "nodes" in out and "map           m.npz" in out
    m = load_region_map(tmp_path / "m.npz")
    assert m.network.is_graph and len(m) > 1 and (tmp_path / "m.png").stat().st_size > 10_000


def test_the_command_saves_the_map_it_prints(tmp_path, capsys, monkeypatch):
    from fastrelu.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["map", "--widths", "2,12,12,2", "--pixels", "8", "--out", "m.npz", "--plot", "m.png"]) == 0
    assert "map           m.npz" in capsys.readouterr().out
    m = fastrelu.regions(fastrelu.Network.random([2, 12, 12, 2], seed=0), bounds=((-1, 1), (-1, 1)))
    back = load_region_map(tmp_path / "m.npz")
    assert all(np.array_equal(getattr(back, a), getattr(m, a)) for a in ATTRS)


@pytest.mark.parametrize("out, words", [("missing/m.npz", "--out: 'missing/m.npz': no such folder"),
                                        ("missing/m.zarr", "--out: 'missing/m.zarr': no such folder")])
def test_the_command_refuses_a_bad_out_before_mapping(out, words, tmp_path, capsys, monkeypatch):
    from fastrelu.cli.errors import EXIT_ERROR
    from fastrelu.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["map", "--widths", "2,8,1", "--out", out]) == EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_the_command_replaces_a_saved_map_only_with_force(tmp_path, capsys, monkeypatch):
    from fastrelu.cli.errors import EXIT_ERROR
    from fastrelu.cli.main import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.npz").write_bytes(b"mine")
    assert main(["map", "--widths", "2,8,1", "--pixels", "8", "--out", "m.npz"]) == EXIT_ERROR
    assert "--out: m.npz exists; --force replaces it" in capsys.readouterr().err
    assert (tmp_path / "m.npz").read_bytes() == b"mine" and not (tmp_path / "fastrelu-map.png").exists()
    assert main(["map", "--widths", "2,8,1", "--pixels", "8", "--out", "m.npz", "--force"]) == 0
    assert len(load_region_map(tmp_path / "m.npz")) > 1


def test_fastrelu_plot_draws_a_saved_map_and_its_page(tmp_path, capsys, monkeypatch):
    from fastrelu.cli.main import main
    from fastrelu.store.region_map import is_region_map_file

    monkeypatch.chdir(tmp_path)
    m = maps()["classifier"]
    save_region_map(m, tmp_path / "m.npz")
    assert is_region_map_file(tmp_path / "m.npz")
    fastrelu.sweep(fastrelu.Network.random(4, seed=0), num=5).save(tmp_path / "res.npz")
    assert not is_region_map_file(tmp_path / "res.npz") and not is_region_map_file(tmp_path / "none.npz")
    assert main(["plot", "m.npz", "--html", "m.html", "--title", "saved"]) == 0
    assert "figure        m.png" in capsys.readouterr().out
    assert (tmp_path / "m.png").stat().st_size > 10_000
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert f"Exact: {len(m):,} linear regions" in page and ">saved<" in page


def test_the_command_stores_the_plane_s_pixels_in_zarr(tmp_path, capsys, monkeypatch):
    from fastrelu.cli.main import main
    from fastrelu.model.slices import random_plane

    monkeypatch.chdir(tmp_path)
    args = ["map", "--widths", "5,12,12,3", "--plane", "random", "--seed", "2", "--pixels", "16", "--out", "p.zarr"]
    assert main(args) == 0
    assert "store         p.zarr  (16 x 16 pixels" in capsys.readouterr().out
    net = fastrelu.Network.random([5, 12, 12, 3], seed=2)
    m = fastrelu.regions(net, plane=random_plane(5, seed=2))
    stored = fastrelu.open_result(tmp_path / "p.zarr")
    res = fastrelu.sweep(net, plane=random_plane(5, seed=2), bounds=m.bounds, num=(16, 16), backend=stored.backend)
    assert stored.bounds == m.bounds and np.array_equal(stored.u[:], res.u) and np.array_equal(stored.v[:], res.v)
    for name in ("y", "slope", "negative", "negative_by_layer"):
        assert np.array_equal(getattr(stored, name)[:], getattr(res, name)), name
    # again with the same arguments: the store is complete, nothing to redo; other pixels need --force
    assert main([*args, "--plot", "again.png"]) == 0
    capsys.readouterr()
    assert main([*args[:-3], "8", "--out", "p.zarr", "--plot", "third.png"]) != 0
    assert "overwrite" in capsys.readouterr().err
    assert main([*args[:-3], "8", "--out", "p.zarr", "--plot", "fourth.png", "--force"]) == 0
    assert fastrelu.open_result(tmp_path / "p.zarr").y[:].shape == (8, 8, 3)
