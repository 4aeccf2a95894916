"""A lost Dask worker only means its work is done again (issue 17).

No timing races: a task kills its own worker process (SIGKILL) the first time it runs,
recorded through a file made with O_EXCL, so exactly one task dies, whatever the machine's
speed.  With one worker process the loss is complete: everything the worker held (the
network sent to it, results of other tasks) is gone, the nanny starts a new process, and
the scheduler must run what was lost again.  With two the other worker may take over.  In
every case the result equals the local one.
"""

import os
import signal

import numpy as np
import pytest
import torch

import fastrelu
from fastrelu.analysis import lines as lines_module
from fastrelu.analysis import plane_dask
from fastrelu.analysis.plane import region_map
from fastrelu.store import write as write_module

from test_plane_tiles import _check_same

WORKERS = (1, 2)


def _cluster(n_workers):
    import distributed  # a hard test dependency (the test extra): missing, it fails

    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, distributed.Client(cluster)


def _dies_once(real, marker, before=None):
    """``real`` wrapped to kill its worker process the first time any task runs it
    (``before(*args)`` first, e.g. a partial write); pickled by value with its closure,
    so that it runs in the worker's process."""

    def dies_once(*args):
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return real(*args)
        if before is not None:
            before(*args)
        os.kill(os.getpid(), signal.SIGKILL)

    return dies_once


def _lost(client, marker, pids):
    """That a task did kill its worker, and that process is gone."""
    assert os.path.exists(marker), "no task killed its worker: the test did not test a loss"
    assert pids - set(client.run(os.getpid).values()), "the killed worker still runs"


@pytest.mark.parametrize("n_workers", WORKERS)
def test_line_stats_lost_worker_walks_its_batch_again(tmp_path, monkeypatch, n_workers):
    net = fastrelu.Network.random([3, 16, 16, 2], seed=25)
    rng = np.random.default_rng(26)
    X0, X1 = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    local = fastrelu.line_stats(net, X0, X1, batch=3, progress=False)
    marker = str(tmp_path / "killed")
    monkeypatch.setattr(lines_module, "_batch_table", _dies_once(lines_module._batch_table, marker))
    cluster, client = _cluster(n_workers)
    with cluster, client:
        pids = set(client.run(os.getpid).values())
        remote = fastrelu.line_stats(net, X0, X1, batch=3, client=client)
        _lost(client, marker, pids)
    assert remote == local


def _half_written(path, k, request):
    """What a worker killed while writing chunk ``k`` leaves: some of its rows written
    (garbage here, so that a chunk not written again is seen), its flag not set."""
    import zarr

    root = zarr.open_group(path, mode="r+")
    chunk = root.attrs["chunk"]
    root["y"][k * chunk : k * chunk + chunk // 2] = 12345.0


@pytest.mark.parametrize("n_workers", WORKERS)
def test_a_stores_lost_worker_writes_its_chunk_again(tmp_path, monkeypatch, n_workers):
    net = fastrelu.Network.random([1, 64, 64, 2], seed=27)
    path, marker = str(tmp_path / "s.zarr"), str(tmp_path / "killed")
    monkeypatch.setattr(write_module, "_dask_task", _dies_once(write_module._dask_task, marker, _half_written))
    cluster, client = _cluster(n_workers)
    with cluster, client:
        pids = set(client.run(os.getpid).values())
        res = fastrelu.sweep(net, num=20_001, out=path, chunk=3000, backend="numpy", client=client)
        _lost(client, marker, pids)
    assert res.complete and res.computed == tuple(range(7))
    mem = fastrelu.sweep(net, num=20_001, backend="numpy")
    for field in ("x", "y", "slope", "negative", "negative_by_layer"):
        np.testing.assert_array_equal(getattr(res, field)[:], getattr(mem, field), err_msg=field)


@pytest.mark.parametrize("n_workers", WORKERS)
def test_a_maps_lost_worker_walks_its_tile_again(tmp_path, monkeypatch, n_workers):
    net = fastrelu.Network.random([2, 16, 16, 1], seed=28)
    square = ((-1.0, 1.0), (-1.0, 1.0))
    whole = region_map(net, bounds=square, threads=1, tiles=(1, 1))
    marker = str(tmp_path / "killed")
    monkeypatch.setattr(plane_dask, "_tile", _dies_once(plane_dask._tile, marker))
    cluster, client = _cluster(n_workers)
    with cluster, client:
        pids = set(client.run(os.getpid).values())
        on_dask = region_map(net, bounds=square, tiles=(2, 2), client=client)
        _lost(client, marker, pids)
    _check_same(whole, on_dask)  # same faces, patterns, polygons, maps, vertices and edges


class _Branches(torch.nn.Module):
    """A convolution, max-pooling and a residual sum: a graph network, no dense chain."""

    def __init__(self):
        super().__init__()
        self.conv, self.pool = torch.nn.Conv1d(1, 3, 3, padding=1), torch.nn.MaxPool1d(2)
        self.dense, self.out = torch.nn.Linear(12, 8), torch.nn.Linear(8, 2)

    def forward(self, x):
        h = self.dense(self.pool(self.conv(x).relu()).flatten(1))
        return self.out(h.relu() + h)


def test_line_stats_of_a_graph_network_on_dask_equals_local_through_a_lost_worker(tmp_path, monkeypatch):
    torch.manual_seed(29)
    net = fastrelu.Network.from_torch(_Branches().double(), input_shape=(1, 8))
    assert net.is_graph
    rng = np.random.default_rng(30)
    X0, X1 = rng.normal(size=(7, 8)), rng.normal(size=(7, 8))
    paths = rng.normal(size=(3, 4, 8))
    local = fastrelu.line_stats(net, X0, X1, batch=2, progress=False)
    local_paths = fastrelu.line_stats(net, path=paths, closed=True, batch=4, progress=False)
    assert local.names == [n.name for n in net.nodes if n.kind in ("act", "maxpool")]
    marker = str(tmp_path / "killed")
    cluster, client = _cluster(1)
    with cluster, client:
        assert fastrelu.line_stats(net, path=paths, closed=True, batch=4, client=client) == local_paths
        monkeypatch.setattr(lines_module, "_batch_table", _dies_once(lines_module._batch_table, marker))
        pids = set(client.run(os.getpid).values())
        remote = fastrelu.line_stats(net, X0, X1, batch=2, client=client)
        _lost(client, marker, pids)
    assert remote == local
