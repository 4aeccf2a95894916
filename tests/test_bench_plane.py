"""``fastrelu bench --plane``: the region map and the plane sweep timed, and checked."""

import pytest

import fastrelu
from fastrelu.cli.errors import EXIT_DISAGREE, EXIT_ERROR
from fastrelu.cli.main import main
from fastrelu.model.slices import random_plane

SMALL = ["bench", "--num", "100", "--hidden", "4", "--repeat", "1", "--no-progress"]


@pytest.mark.parametrize("widths, where", [
    ("2,8,8,1", lambda net: dict(bounds=((-1, 1), (-1, 1)))),
    ("6,8,8,3", lambda net: dict(plane=random_plane(6, 0))),
])
def test_bench_times_and_checks_a_plane(widths, where, capsys):
    assert main([*SMALL, "--plane-widths", widths, "--plane-pixels", "8"]) == 0
    out = capsys.readouterr().out
    net = fastrelu.Network.random([int(w) for w in widths.split(",")], seed=0)
    m = fastrelu.regions(net, **where(net))
    assert f"region map    {len(m):,} faces, {m.n_vertices:,} vertices, {m.n_edges:,} edges in" in out
    assert "; ok: V - E + F = 1, areas sum to the rectangle's" in out
    plane_table = out.split("region map", 1)[1].splitlines()[2:]
    available = [name for name, info in fastrelu.backends().items() if info.available]
    assert sorted(row.split()[0] for row in plane_table) == sorted(fastrelu.backends())
    assert all("agrees (64 points" in row for row in plane_table if row.split()[0] in available)


def test_a_map_that_disagrees_with_the_network_fails_the_bench(capsys, monkeypatch):
    real = fastrelu.Network.__call__
    monkeypatch.setattr(fastrelu.Network, "__call__", lambda self, x: real(self, x) + 1e-9)
    assert main([*SMALL, "--plane-widths", "2,8,1", "--plane-pixels", "4"]) == EXIT_DISAGREE
    assert "FAILED: V - E + F = 1" in capsys.readouterr().out


def test_without_plane_options_no_plane_is_benched(capsys):
    assert main(SMALL) == 0
    assert "region map" not in capsys.readouterr().out
    assert main([*SMALL, "--plane-pixels", "1"]) == EXIT_ERROR
    assert "--plane-pixels must be at least 2" in capsys.readouterr().err
