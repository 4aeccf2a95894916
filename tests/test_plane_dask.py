"""A region map's tiles as Dask tasks (``regions``/``region_map`` with ``client=``): the same
map as walked whole and on threads (same faces, patterns, polygons, vertices and edges), for
a dense chain, a plane through three points and a graph network; and the refusals."""

import numpy as np
import pytest
import torch

import fastrelu
from fastrelu.analysis.plane import region_map

from test_plane import SQUARE, _check_neighbours, _torch_mlp
from test_plane_tiles import _check_same


@pytest.fixture(scope="module")
def client():
    import distributed  # a hard test dependency (the test extra): missing, it fails

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.mark.parametrize("tiles", [(1, 1), (2, 1), (3, 2)])
def test_tiles_on_dask_equal_whole(client, tiles):
    net = fastrelu.Network.from_torch(_torch_mlp([2, 16, 16, 16, 1], seed=3))
    whole = region_map(net, bounds=SQUARE, threads=1, tiles=(1, 1))
    on_dask = region_map(net, bounds=SQUARE, tiles=tiles, client=client)
    _check_same(whole, on_dask)
    _check_neighbours(on_dask, net)
    np.testing.assert_array_equal(np.sort(on_dask.pattern_hash), np.sort(whole.pattern_hash))


def test_a_plane_through_three_points_on_dask(client):
    net = fastrelu.Network.from_torch(_torch_mlp([7, 20, 20, 4], seed=9))
    pts = np.random.default_rng(10).standard_normal((3, 7))
    whole = region_map(net, plane=pts, threads=1, tiles=(1, 1))
    on_dask = region_map(net, plane=pts, tiles=(2, 2), client=client)
    _check_same(whole, on_dask)
    assert on_dask.bounds == whole.bounds


class _Residual(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.block, self.out = torch.nn.Linear(5, 12), torch.nn.Linear(12, 12), torch.nn.Linear(12, 2)

    def forward(self, x):
        h = self.inp(x).relu()
        return self.out(torch.relu(h + self.block(h)))


def test_a_graph_networks_map_on_dask(client):
    torch.manual_seed(11)
    net = fastrelu.Network.from_torch(_Residual().double())
    assert net.is_graph
    pts = np.random.default_rng(12).standard_normal((3, 5))
    whole = region_map(net, plane=pts, threads=1, tiles=(1, 1))
    _check_same(whole, region_map(net, plane=pts, tiles=(2, 3), client=client))


def test_default_tiles_and_refusals_on_dask(client):
    net = fastrelu.Network.random([2, 8, 1], seed=0)
    assert len(region_map(net, bounds=SQUARE, client=client)) == len(region_map(net, bounds=SQUARE))
    with pytest.raises(TypeError, match="threads goes with a local map"):
        region_map(net, bounds=SQUARE, threads=2, client=client)
    with pytest.raises(ValueError, match="tiles must be a pair"):
        region_map(net, bounds=SQUARE, tiles=(0, 1), client=client)


def test_command_line_map_on_a_local_cluster(tmp_path):
    import subprocess
    import sys

    from fastrelu.store.region_map import load_region_map

    run = subprocess.run([sys.executable, "-m", "fastrelu", "map", "--widths", "2,24,24,1", "--tiles", "2", "2",
                          "--workers", "2", "--out", "map.npz", "--plot", "map.png"],
                         cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    whole = region_map(fastrelu.Network.random([2, 24, 24, 1], seed=0), bounds=SQUARE, threads=1, tiles=(1, 1))
    _check_same(whole, load_region_map(tmp_path / "map.npz"))
    bad = subprocess.run([sys.executable, "-m", "fastrelu", "map", "--tiles", "0", "2"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--tiles must be a pair of positive ints" in bad.stderr


def test_regions_takes_tiles_and_a_client_for_a_plane_and_refuses_them_on_a_line(client):
    net = fastrelu.Network.from_torch(_torch_mlp([2, 12, 12, 1], seed=4))
    whole = region_map(net, bounds=SQUARE, threads=1, tiles=(1, 1))
    _check_same(whole, fastrelu.regions(net, bounds=SQUARE, tiles=(2, 2), client=client))
    _check_same(whole, fastrelu.regions(net, bounds=SQUARE, tiles=(2, 1), threads=2))
    line = fastrelu.Network.random([3, 8, 1], seed=0)
    for kw in ({"tiles": (2, 2)}, {"client": client}):
        with pytest.raises(TypeError, match=next(iter(kw))):
            fastrelu.regions(line, along=(np.zeros(3), np.ones(3)), **kw)
