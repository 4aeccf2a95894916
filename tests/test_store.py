"""Sweeps into Zarr stores: equal to the in-memory sweep, resumable, refused when they
belong to another request, and the same on a Dask cluster."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import fastrelu
from fastrelu import StoredResult

NET = fastrelu.Network.random(300, seed=7)


def assert_same(stored, mem):
    assert len(stored) == len(mem) and stored.backend == mem.backend and stored.network == mem.network
    for field in ("x", "y", "slope", "negative"):
        a = getattr(stored, field)[:]
        assert a.dtype == getattr(mem, field).dtype
        np.testing.assert_array_equal(a, getattr(mem, field), err_msg=field)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("chunk", [1, 777, 10_000, 20_001, 10**6])
def test_store_equals_in_memory_sweep(tmp_path, backend, dtype, chunk):
    num = 20_001 if chunk > 1 else 50
    res = fastrelu.sweep(NET, num=num, backend=backend, dtype=dtype, out=tmp_path / "r.zarr", chunk=chunk)
    assert isinstance(res, StoredResult) and res.complete
    assert res.computed == tuple(range(-(-num // min(chunk, num))))
    assert_same(res, fastrelu.sweep(NET, num=num, backend=backend, dtype=dtype))
    assert_same(fastrelu.open_result(tmp_path / "r.zarr"), res.load())


def test_explicit_points_in_a_store(tmp_path, rng):
    x = rng.uniform(-10, 10, 1001)
    res = fastrelu.sweep(NET, x=x, out=tmp_path / "p.zarr", chunk=100, backend="cffi")
    assert_same(res, fastrelu.sweep(NET, x=x, backend="cffi"))


def test_chunks_iterators_equal_the_whole(tmp_path):
    whole = fastrelu.sweep(NET, num=5003, backend="numba")
    pieces = list(fastrelu.sweep_chunks(NET, num=5003, chunk=1000, backend="numba"))
    assert [len(p) for p in pieces] == [1000] * 5 + [3]
    for field in ("x", "y", "slope", "negative"):
        np.testing.assert_array_equal(np.concatenate([getattr(p, field) for p in pieces]), getattr(whole, field))
    stored = fastrelu.sweep(NET, num=5003, out=tmp_path / "c.zarr", chunk=1000, backend="numba")
    np.testing.assert_array_equal(np.concatenate([c.y for c in stored.chunks()]), whole.y)


def test_npz_out_saves_the_in_memory_result(tmp_path):
    res = fastrelu.sweep(NET, num=101, out=tmp_path / "r.npz")
    assert isinstance(res, fastrelu.SweepResult)
    np.testing.assert_array_equal(fastrelu.open_result(tmp_path / "r.npz").y, res.y)


def test_a_finished_store_is_not_recomputed_and_another_request_is_refused(tmp_path):
    path = tmp_path / "r.zarr"
    fastrelu.sweep(NET, num=3000, out=path, chunk=1000, backend="cffi")
    again = fastrelu.sweep(NET, num=3000, out=path, chunk=1000, backend="cffi")
    assert again.computed == ()
    for change in ({"num": 3001}, {"chunk": 999}, {"backend": "numba"}, {"dtype": "float32"}):
        args = {"num": 3000, "chunk": 1000, "backend": "cffi", **change}
        with pytest.raises(ValueError, match="holds a sweep of another network, grid"):
            fastrelu.sweep(NET, out=path, **args)
    with pytest.raises(ValueError, match="another network"):
        fastrelu.sweep(fastrelu.Network.random(300, seed=8), num=3000, out=path, chunk=1000, backend="cffi")
    replaced = fastrelu.sweep(NET, num=3001, out=path, chunk=1000, backend="cffi", overwrite=True)
    assert len(replaced) == 3001 and replaced.computed == (0, 1, 2, 3)


def test_bad_store_arguments(tmp_path):
    with pytest.raises(ValueError, match="chunk must be >= 1, got 0"):
        fastrelu.sweep(NET, num=10, out=tmp_path / "a.zarr", chunk=0)
    with pytest.raises(TypeError, match="chunk must be an integer"):
        fastrelu.sweep(NET, num=10, out=tmp_path / "a.zarr", chunk=2.5)
    with pytest.raises(TypeError, match="chunk goes with a Zarr store"):
        fastrelu.sweep(NET, num=10, chunk=5)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="cannot write out="):
        fastrelu.sweep(NET, num=10, out=tmp_path / "file" / "r.zarr")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data.txt").write_text("not zarr")
    with pytest.raises(ValueError, match="not a fastrelu result store"):
        fastrelu.sweep(NET, num=10, out=tmp_path / "junk")
    with pytest.raises(ValueError, match="not a fastrelu result store"):
        fastrelu.sweep(NET, num=10, out=tmp_path / "junk", overwrite=True)  # never deleted
    assert (tmp_path / "junk" / "data.txt").exists()
    with pytest.raises(ValueError, match="not a fastrelu result store"):
        fastrelu.open_result(tmp_path / "junk")
    with pytest.raises(FileNotFoundError, match="no such file or store"):
        fastrelu.open_result(tmp_path / "missing.zarr")
    with pytest.raises(TypeError, match="out must be a path"):
        fastrelu.sweep(NET, num=10, out=3)


def test_incomplete_store_cannot_be_loaded_whole(tmp_path):
    fastrelu.sweep(NET, num=3000, out=tmp_path / "r.zarr", chunk=1000, backend="cffi")
    import zarr

    # as if the sweep had been killed before chunk 1 was flagged done
    zarr.open_group(tmp_path / "r.zarr", mode="r+")["done"][1] = False
    stored = fastrelu.open_result(tmp_path / "r.zarr")
    with pytest.raises(ValueError, match="incomplete"):
        stored.load()
    # every reader refuses the unwritten chunk rather than hand out zeros
    chunks = stored.chunks()
    assert len(next(chunks)) == 1000
    with pytest.raises(ValueError, match="points 1,000 to 1,999 were never written"):
        next(chunks)
    with pytest.raises(ValueError, match="incomplete"):
        stored.plot()


def test_progress_bar(tmp_path, capsys):
    fastrelu.sweep(NET, num=3000, out=tmp_path / "r.zarr", chunk=1000, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "chunk" in err and "pairs/s" in err


# The child kills itself (SIGKILL: no clean-up) in the middle of its fourth chunk,
# after that chunk's arrays are written and before its flag is: whatever the
# machine's speed, the store is left with exactly three chunks done.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, fastrelu
    from fastrelu.store import write
    from fastrelu.store.format import FIELDS

    calls = []
    real = write.write_chunk

    def dying(root, plan, chunk, k, **kw):
        calls.append(k)
        if len(calls) == 4:
            done = root["done"]

            class Killer:  # the arrays are written; die as the flag is set
                def __setitem__(self, key, value):
                    os.kill(os.getpid(), signal.SIGKILL)

            root = {**{name: root[name] for name in FIELDS}, "done": Killer()}
        return real(root, plan, chunk, k, **kw)

    write.write_chunk = dying
    net = fastrelu.Network.random(4000, seed=1)
    fastrelu.sweep(net, num=100_000, out=sys.argv[1], chunk=5_000, backend="numpy")
    """
)


def test_resume_after_kill_finishes_only_missing_chunks(tmp_path):
    import zarr

    path = str(tmp_path / "r.zarr")
    child = subprocess.run([sys.executable, "-c", CHILD, path], timeout=300)
    assert child.returncode == -signal.SIGKILL
    flags = zarr.open_group(path, mode="r")["done"][:]
    assert flags.sum() == 3 and flags.size == 20
    before = set(np.flatnonzero(flags).tolist())
    net = fastrelu.Network.random(4000, seed=1)
    res = fastrelu.sweep(net, num=100_000, out=path, chunk=5_000, backend="numpy")
    # nothing lost, nothing repeated
    assert set(res.computed) == set(range(flags.size)) - before
    assert res.complete
    assert_same(res, fastrelu.sweep(net, num=100_000, backend="numpy"))


@pytest.fixture(scope="module")
def dask_client():
    import distributed  # a hard test dependency (the test extra): missing, it fails

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_dask_equals_local(tmp_path, dask_client):
    res = fastrelu.sweep(NET, num=200_001, out=tmp_path / "d.zarr", chunk=30_000, backend="cffi", client=dask_client)
    assert res.complete and len(res.computed) == 7
    assert_same(res, fastrelu.sweep(NET, num=200_001, backend="cffi"))
    # each task runs its kernel on one thread, so a worker's T threads run T kernels
    from fastrelu.store import write

    plans = dask_client.run(lambda: [p.threads for p in write._plans.values()])
    assert all(threads == [1] for threads in plans.values()), plans


def test_dask_explicit_points_relative_path_and_threads(tmp_path, dask_client, monkeypatch, rng):
    pts = rng.uniform(-50, 50, 70_001)
    monkeypatch.chdir(tmp_path)  # a relative path: the workers get it made absolute
    res = fastrelu.sweep(NET, x=pts, out="rel.zarr", chunk=10_000, backend="cffi", client=dask_client)
    assert os.path.isabs(res.path) and res.complete
    assert_same(res, fastrelu.sweep(NET, x=pts, backend="cffi"))
    with pytest.raises(TypeError, match="threads goes with a local sweep"):
        fastrelu.sweep(NET, x=pts, out="t.zarr", chunk=10_000, client=dask_client, threads=2)


def test_a_task_of_an_old_request_never_writes(tmp_path, dask_client):
    from fastrelu.store.write import _dask_task

    path = str(tmp_path / "o.zarr")
    fastrelu.sweep(NET, num=20_000, out=path, chunk=5_000, backend="cffi")
    with pytest.raises(RuntimeError, match="now holds another sweep"):
        dask_client.submit(_dask_task, path, 0, "an-old-request-id", pure=False).result()


def test_interrupted_creation_is_replaced(tmp_path):
    import zarr

    path = tmp_path / "half.zarr"
    root = zarr.open_group(path, mode="w")
    root.attrs.update({"format": fastrelu.store.format.FORMAT, "fingerprint": None})
    res = fastrelu.sweep(NET, num=1000, out=path, chunk=300)
    assert res.complete and len(res.computed) == 4


def test_dask_worker_killed_mid_sweep(tmp_path, dask_client):
    import threading

    import zarr

    path = str(tmp_path / "k.zarr")
    net = fastrelu.Network.random(2000, seed=2)
    result = {}

    def run():
        result["res"] = fastrelu.sweep(net, num=150_000, out=path, chunk=10_000, backend="numpy", client=dask_client)

    # one worker kills itself (SIGKILL) as it starts its second chunk, whatever the
    # machine's speed: that task is lost and must be rerun elsewhere
    def arm():
        from fastrelu.store import write

        real, calls = write.write_chunk, []

        def dying(*args, **kw):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kw)

        write.write_chunk = dying

    victim = sorted(dask_client.scheduler_info()["workers"])[0]
    before = dask_client.run(os.getpid)
    dask_client.run(arm, workers=[victim])
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(300)
    assert not thread.is_alive()
    res = result["res"]
    assert res.complete
    after = dask_client.run(os.getpid)
    assert set(after.values()) != set(before.values()), "no worker died: the test did not test a loss"
    assert_same(res, fastrelu.sweep(net, num=150_000, backend="numpy"))


def _pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


def test_a_stored_sweep_draws_like_the_full_one(tmp_path):
    # read chunk by chunk through the pixel-column reduction, inset included
    from fastrelu.plot import sweep_figure

    net = fastrelu.Network.random(100, seed=0)
    stored = fastrelu.sweep(net, out=tmp_path / "p.zarr", chunk=3000)
    full = stored.load()
    for kw in ({}, {"kinks": True, "zoom": "auto"}):
        a, b = sweep_figure(stored, **kw), sweep_figure(full, reduce=False, **kw)
        for ax_a, ax_b in zip(a.axes, b.axes):
            np.testing.assert_allclose(ax_a.get_ylim(), ax_b.get_ylim(), rtol=1e-12)
            np.testing.assert_allclose(ax_a.get_xlim(), ax_b.get_xlim(), rtol=1e-12)
        diff = np.abs(_pixels(a) - _pixels(b)).max(axis=2)
        assert diff.max() <= 96 and (diff > 32).mean() <= 1e-4
        assert a._suptitle.get_text() == b._suptitle.get_text()
    assert stored.plot().axes[0].get_lines()[0].get_color() == "tab:blue"


def test_command_line_with_a_store(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "fastrelu", *args], cwd=tmp_path, capture_output=True, text=True)

    first = run("sweep", "--hidden", "32", "--num", "100001", "--out", "r.zarr", "--chunk", "30000", "--no-progress")
    assert first.returncode == 0, first.stderr
    assert "4 computed now, 4 in all" in first.stdout
    again = run("sweep", "--hidden", "32", "--num", "100001", "--out", "r.zarr", "--chunk", "30000", "--no-progress")
    assert "0 computed now, 4 in all" in again.stdout
    assert [ln for ln in first.stdout.splitlines() if ln.startswith(("slope", "y range"))] == [
        ln for ln in again.stdout.splitlines() if ln.startswith(("slope", "y range"))
    ]
    other = run("sweep", "--hidden", "33", "--num", "100001", "--out", "r.zarr", "--chunk", "30000")
    assert other.returncode == 2 and other.stderr.count("\n") == 1 and "another network" in other.stderr
    drawn = run("plot", "r.zarr")
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "r.png").stat().st_size > 10_000
    bad = run("sweep", "--num", "10", "--chunk", "5")
    assert bad.returncode == 2 and "--chunk goes with a Zarr store" in bad.stderr
    bad = run("sweep", "--num", "10", "--workers", "2", "--out", "r.npz")
    assert bad.returncode == 2 and "--scheduler and --workers go with a Zarr store" in bad.stderr


def test_command_line_on_a_local_dask_cluster(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "fastrelu", "sweep", "--hidden", "16", "--num", "50001", "--out", "d.zarr",
         "--chunk", "10000", "--workers", "2", "--backend", "cffi", "--no-progress"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "on the Dask cluster" in out.stdout and "6 computed now, 6 in all" in out.stdout
    net = fastrelu.Network.random(16, seed=0)
    assert_same(fastrelu.open_result(tmp_path / "d.zarr"), fastrelu.sweep(net, num=50001, backend="cffi"))


def test_deep_network_along_a_line_in_a_store_and_on_dask(tmp_path, dask_client):
    # the whole (folded) network and the line go into the store and its fingerprint
    net = fastrelu.Network.random([3, 16, 16, 2], seed=4, activation="leaky_relu")
    line = ([0.0, 1.0, -1.0], [2.0, -1.0, 0.5])
    local = fastrelu.sweep(net, along=line, num=20_001, backend="cffi")
    stored = fastrelu.sweep(net, along=line, num=20_001, backend="cffi", out=tmp_path / "deep.zarr", chunk=3000,
                            client=dask_client)
    assert stored.complete and stored.y.shape == (20_001, 2) and stored.negative_by_layer.shape == (20_001, 2)
    loaded = stored.load()
    for name in ("x", "y", "slope", "negative", "negative_by_layer"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(local, name))
    np.testing.assert_array_equal(loaded.along[1], line[1])
    assert loaded.network == local.network
    # another line is another request: refused, not mixed into this store
    with pytest.raises(ValueError, match="another network, grid"):
        fastrelu.sweep(net, along=(line[0], [2.0, -1.0, 0.25]), num=20_001, backend="cffi", out=tmp_path / "deep.zarr",
                       chunk=3000)


def test_exact_deep_explicit_points_same_bits_in_memory_resumed_and_on_dask(tmp_path, dask_client, monkeypatch):
    # the exact walk covers the whole request's span in every chunk, wherever it runs
    net = fastrelu.Network.random([3, 24, 24, 2], seed=9)
    line = ([0.0, 1.0, -1.0], [2.0, -1.0, 0.5])
    x = np.random.default_rng(2).uniform(-1.5, 2.5, 9000)
    local = fastrelu.sweep(net, along=line, x=x, backend="exact")
    on_dask = fastrelu.sweep(net, along=line, x=x, backend="exact", out=tmp_path / "d.zarr", chunk=1000,
                             client=dask_client).load()
    from fastrelu.store import write

    real, calls = write.write_chunk, []

    def dies_after_three(*args, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(write, "write_chunk", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        fastrelu.sweep(net, along=line, x=x, backend="exact", out=tmp_path / "r.zarr", chunk=1000)
    monkeypatch.setattr(write, "write_chunk", real)
    fastrelu.sweep(net, along=line, x=x[::-1], backend="exact", num=None)  # another walk in between
    resumed = fastrelu.sweep(net, along=line, x=x, backend="exact", out=tmp_path / "r.zarr", chunk=1000).load()
    for res in (on_dask, resumed):
        for name in ("y", "slope", "negative_by_layer"):
            np.testing.assert_array_equal(getattr(res, name), getattr(local, name))


# -- reading an interrupted store: every indexing form, checked by the rows it reads


def _keys(n):
    mask = np.zeros(n, bool)
    mask[[3, 2500]] = True
    mask2d = mask[:, None]
    return [
        (), None, Ellipsis, (Ellipsis,), (None, Ellipsis), (Ellipsis, None), True, np.True_, (None, slice(10, 20)),
        5, -1, -1500, np.int64(2999), np.array(7), slice(None), slice(0, 1000), slice(None, None, -1),
        slice(2999, 1999, -1), slice(None, None, 700), slice(None, None, 2000), slice(5, 5), slice(-10, None),
        slice(1000, 2000), [], [0, 2999, 0, -1], [1500], np.array([[3, 2500], [1999, 2000]]), np.uint8(7), mask,
        (mask,), mask.tolist(), (slice(None), 0), (Ellipsis, 0), (5, 0), (5, Ellipsis), ([0, 2999], [0, 0]), (mask, 0),
        mask2d, (None, Ellipsis, 0), (slice(None, None, -1), slice(None)), (slice(0, 3), None, 0),
        # refused by numpy, and so here: out of bounds, not an index, two ellipses, a mask of another length
        3000, -3001, 1.5, [0, 3000], [1.5], "a", (Ellipsis, Ellipsis), (0, 0), np.zeros(5, bool),
    ]


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A store of 3000 points in chunks of 1000 whose chunk 1 was never written, and the in-memory sweep."""
    import zarr

    path = tmp_path_factory.mktemp("store") / "r.zarr"
    fastrelu.sweep(NET, num=3000, out=path, chunk=1000, backend="cffi")
    complete = fastrelu.open_result(path).load()
    zarr.open_group(path, mode="r+")["done"][1] = False
    return fastrelu.open_result(path), complete, fastrelu.sweep(NET, num=3000, backend="cffi")


@pytest.mark.parametrize("name", ["y", "negative_by_layer"])
def test_every_key_of_an_interrupted_store_reads_written_points_or_raises(interrupted, name):
    stored, complete, mem = interrupted
    full = getattr(mem, name)
    np.testing.assert_array_equal(getattr(complete, name), full)
    # the oracle is numpy itself: the row numbers a key reads are those it picks out of
    # an array holding each element's row number
    row_of = np.broadcast_to(np.arange(len(full)).reshape(-1, *[1] * (full.ndim - 1)), full.shape)
    for key in _keys(len(full)):
        try:
            expected, rows = full[key], row_of[key]
        except (IndexError, TypeError) as exc:
            with pytest.raises(type(exc)):
                getattr(stored, name)[key]
            continue
        if np.any(np.asarray(rows) // 1000 == 1):
            with pytest.raises(ValueError, match="points 1,000 to 1,999 were never written"):
                getattr(stored, name)[key]
        else:
            got = getattr(stored, name)[key]
            assert np.shape(got) == np.shape(expected) and np.asarray(got).dtype == expected.dtype, repr(key)
            np.testing.assert_array_equal(got, expected, err_msg=repr(key))


# -- replacing a store whose creation or replacement was interrupted


def test_a_store_killed_right_after_its_group_was_created_is_replaced(tmp_path):
    import zarr

    for overwrite in (False, True):
        path = tmp_path / f"empty-{overwrite}.zarr"
        zarr.open_group(path, mode="w")  # an empty group: where earlier versions stopped if killed there
        res = fastrelu.sweep(NET, num=1000, out=path, chunk=300, overwrite=overwrite)
        assert res.complete and len(res.computed) == 4
    # a group that holds anything, without being a fastrelu store, is never deleted
    with_array = zarr.open_group(tmp_path / "a.zarr", mode="w")
    with_array.create_array("data", data=np.arange(3))
    zarr.open_group(tmp_path / "b.zarr", mode="w", attributes={"owner": "someone"})
    for name in ("a.zarr", "b.zarr"):
        for overwrite in (False, True):
            with pytest.raises(ValueError, match="not a fastrelu result store; choose another path .*delete it yourself"):
                fastrelu.sweep(NET, num=1000, out=tmp_path / name, overwrite=overwrite)
    np.testing.assert_array_equal(zarr.open_group(tmp_path / "a.zarr")["data"][:], np.arange(3))
    assert dict(zarr.open_group(tmp_path / "b.zarr").attrs) == {"owner": "someone"}


def test_a_replacement_killed_while_deleting_the_old_store_is_replaced(tmp_path, monkeypatch):
    import shutil

    import zarr

    class Killed(BaseException):
        pass

    path = tmp_path / "r.zarr"
    fastrelu.sweep(NET, num=1000, out=path, chunk=300)
    real, calls = shutil.rmtree, []

    def dying(p, *args, **kw):  # the old store is half deleted when the process dies
        calls.append(p)
        if len(calls) == 3:
            raise Killed
        return real(p, *args, **kw)

    monkeypatch.setattr(shutil, "rmtree", dying)
    with pytest.raises(Killed):
        fastrelu.sweep(NET, num=1001, out=path, chunk=300, overwrite=True)
    monkeypatch.undo()
    assert dict(zarr.open_group(path).attrs) == {"format": fastrelu.store.format.FORMAT, "fingerprint": None}
    res = fastrelu.sweep(NET, num=1001, out=path, chunk=300)  # no overwrite needed: it holds nothing
    assert res.complete
    assert_same(res, fastrelu.sweep(NET, num=1001))


# -- damaged and edited stores


def _edit(root, **attrs):
    root.attrs.put({**{k: v for k, v in root.attrs.items() if k not in attrs}, **{k: v for k, v in attrs.items() if v is not None}})


LEAKY = str(fastrelu.Network.random(300, seed=7, activation="leaky_relu")._arrays()["activations"])
DAMAGES = {
    "chunk attribute deleted": (lambda root, path: _edit(root, chunk=None), "attribute 'chunk' is missing"),
    "done deleted": (lambda root, path: root.__delitem__("done"), "array 'done' is missing"),
    "weights deleted": (lambda root, path: root.__delitem__("network/weight_1"), "array 'network/weight_1' is missing"),
    "activations garbage": (lambda root, path: _edit(root, activations="[relu"), "attribute 'activations' is not a list"),
    "chunk edited": (lambda root, path: _edit(root, chunk=500), "fingerprint mismatch: the store's network/grid was edited"),
    "grid edited": (lambda root, path: _edit(root, grid={**root.attrs["grid"], "start": 0.5}), "fingerprint mismatch"),
    "weights edited": (lambda root, path: root["network/weight_0"].__setitem__(0, 1.5), "fingerprint mismatch"),
    "activations edited": (lambda root, path: _edit(root, activations=LEAKY), "fingerprint mismatch"),
    "n edited": (lambda root, path: _edit(root, n="3000"), "attribute 'n' must be an integer"),
    "y resized": (lambda root, path: root["y"].resize((2000,)), r"array 'y' is float64 of shape \(2000,\), not of shape \(3000,\)"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_or_edited_store_is_refused_by_name_and_replaced_only_on_request(tmp_path, damage):
    import re

    import zarr

    path = tmp_path / "r.zarr"
    fastrelu.sweep(NET, num=3000, out=path, chunk=1000, backend="cffi")
    root = zarr.open_group(path, mode="r+")
    root["done"][1] = False  # interrupted, so that a misplaced flag would read zeros
    edit, what = DAMAGES[damage]
    edit(root, path)
    for attempt in (lambda: fastrelu.open_result(path), lambda: fastrelu.sweep(NET, num=3000, out=path, chunk=1000, backend="cffi")):
        with pytest.raises(ValueError, match=f"{re.escape(repr(str(path)))} is a damaged fastrelu result store: {what}") as exc:
            attempt()
        assert type(exc.value) is ValueError and "overwrite=True" in str(exc.value)  # not a JSONDecodeError
    res = fastrelu.sweep(NET, num=3000, out=path, chunk=1000, backend="cffi", overwrite=True)
    assert res.complete and res.computed == (0, 1, 2)
    assert_same(res, fastrelu.sweep(NET, num=3000, backend="cffi"))


# ---------------------------------------------------------------------------------------
# a plane's pixels in a store: tiles of rows

PLANE_NET = fastrelu.Network.random([4, 24, 24, 2], seed=5)
PLANE = np.random.default_rng([5, 2]).standard_normal((3, 4))
PLANE_FIELDS = ("y", "slope", "negative", "negative_by_layer")


def assert_same_plane(stored, mem):
    assert len(stored) == len(mem) and stored.backend == mem.backend and stored.network == mem.network
    assert stored.x is None and stored.bounds == mem.bounds
    np.testing.assert_array_equal(stored.u, mem.u)
    np.testing.assert_array_equal(stored.v, mem.v)
    for field in PLANE_FIELDS:
        a = getattr(stored, field)[:]
        assert a.dtype == getattr(mem, field).dtype and a.shape == getattr(mem, field).shape, field
        np.testing.assert_array_equal(a, getattr(mem, field), err_msg=field)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", ["cffi", "exact"])
@pytest.mark.parametrize("chunk", [1, 7, 40])
def test_a_planes_store_equals_the_in_memory_sweep(tmp_path, backend, dtype, chunk):
    kw = {"plane": PLANE, "num": (33, 29), "backend": backend, "dtype": dtype}
    res = fastrelu.sweep(PLANE_NET, out=tmp_path / "p.zarr", chunk=chunk, **kw)
    assert isinstance(res, StoredResult) and res.complete
    assert res.computed == tuple(range(-(-29 // min(chunk, 29))))  # tiles of `chunk` rows of pixels
    mem = fastrelu.sweep(PLANE_NET, **kw)
    assert_same_plane(res, mem)
    assert_same_plane(fastrelu.open_result(tmp_path / "p.zarr"), res.load())
    # a tile read alone, and the tiles one by one
    np.testing.assert_array_equal(res.slope[3:11, 5], mem.slope[3:11, 5])
    np.testing.assert_array_equal(np.concatenate([c.y for c in res.chunks()]), mem.y)
    # a finished store is not recomputed; another plane is refused
    assert fastrelu.sweep(PLANE_NET, out=tmp_path / "p.zarr", chunk=chunk, **kw).computed == ()
    with pytest.raises(ValueError, match="another network, grid"):
        fastrelu.sweep(PLANE_NET, out=tmp_path / "p.zarr", chunk=chunk, **{**kw, "plane": PLANE[::-1]})


PLANE_CHILD = textwrap.dedent(
    """
    import os, signal, sys, numpy as np, fastrelu
    from fastrelu.store import write
    from fastrelu.store.format import PLANE_FIELDS

    calls = []
    real = write.write_chunk

    def dying(root, plan, chunk, k, **kw):
        calls.append(k)
        if len(calls) == 4:
            class Killer:  # the tile's arrays are written; die as its flag is set
                def __setitem__(self, key, value):
                    os.kill(os.getpid(), signal.SIGKILL)

            root = {**{name: root[name] for name in PLANE_FIELDS}, "done": Killer()}
        return real(root, plan, chunk, k, **kw)

    write.write_chunk = dying
    net = fastrelu.Network.random([4, 24, 24, 2], seed=5)
    plane = np.random.default_rng([5, 2]).standard_normal((3, 4))
    fastrelu.sweep(net, plane=plane, num=(41, 50), out=sys.argv[1], chunk=5, backend=sys.argv[2])
    """
)


@pytest.mark.parametrize("backend", ["numba", "exact"])
def test_a_planes_store_killed_and_resumed_equals_the_whole(tmp_path, backend):
    import zarr

    path = str(tmp_path / "p.zarr")
    child = subprocess.run([sys.executable, "-c", PLANE_CHILD, path, backend], timeout=300)
    assert child.returncode == -signal.SIGKILL
    flags = zarr.open_group(path, mode="r")["done"][:]
    assert flags.sum() == 3 and flags.size == 10
    with pytest.raises(ValueError, match="rows of pixels .* were never written"):
        list(fastrelu.open_result(path).chunks())
    before = set(np.flatnonzero(flags).tolist())
    kw = {"plane": PLANE, "num": (41, 50), "backend": backend}
    res = fastrelu.sweep(PLANE_NET, out=path, chunk=5, **kw)
    assert set(res.computed) == set(range(flags.size)) - before and res.complete
    assert_same_plane(res, fastrelu.sweep(PLANE_NET, **kw))


@pytest.mark.parametrize("backend", ["cffi", "exact"])
def test_a_planes_store_on_dask_equals_local(tmp_path, dask_client, backend):
    kw = {"plane": PLANE, "num": (37, 31), "backend": backend}
    res = fastrelu.sweep(PLANE_NET, out=str(tmp_path / "d.zarr"), chunk=4, client=dask_client, **kw)
    assert res.complete
    assert_same_plane(res, fastrelu.sweep(PLANE_NET, **kw))


# ---------------------------------------------------------------------------------------
# any network: a graph's store (its nodes as Network.save writes them), and stores written
# before graphs were kept


class _Branches(torch.nn.Module):
    """A convolution, max-pooling and a residual sum: a graph network, no dense chain."""

    def __init__(self):
        nn = torch.nn
        super().__init__()
        self.conv, self.pool = nn.Conv1d(1, 3, 3, padding=1), nn.MaxPool1d(2)
        self.dense, self.out = nn.Linear(12, 8), nn.Linear(8, 2)

    def forward(self, x):
        h = self.dense(self.pool(self.conv(x).relu()).flatten(1))
        return self.out(h.relu() + h)


def graph_net():
    torch.manual_seed(3)
    net = fastrelu.Network.from_torch(_Branches().double(), input_shape=(1, 8))
    assert net.is_graph
    return net


GRAPH_LINE = tuple(np.random.default_rng([3, 1]).standard_normal((2, 8)))


def test_a_graph_networks_store_reopens_equal_with_no_warning(tmp_path):
    import warnings

    import zarr

    net = graph_net()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zarr's UnstableSpecificationWarning for a string array among them
        res = fastrelu.sweep(net, along=GRAPH_LINE, num=1001, out=tmp_path / "g.zarr", chunk=300)
    mem = fastrelu.sweep(net, along=GRAPH_LINE, num=1001)
    for stored in (res, fastrelu.open_result(tmp_path / "g.zarr")):
        assert stored.network.is_graph and stored.complete
        assert_same(stored, mem)
        np.testing.assert_array_equal(stored.negative_by_layer[:], mem.negative_by_layer)
        assert all(np.array_equal(a, b) for a, b in zip(stored.along, mem.along))
    root = zarr.open_group(tmp_path / "g.zarr", mode="r")
    # numbers as arrays, text (the nodes, the activations) in the attributes: no string array
    assert all(np.dtype(root["network"][name].dtype).kind in "fiub" for name in root["network"].array_keys())
    assert "graph" in root.attrs["network"]["text"]


def _written_the_old_way(path):
    """Make ``path`` as stores were written before graph networks were kept: no attribute
    'network', and every array of the network's ``_arrays()`` in ``network/``, a graph's
    nodes as a string array."""
    import warnings

    import zarr

    root = zarr.open_group(path, mode="r+")
    listed = root.attrs["network"]
    root.attrs.put({k: v for k, v in root.attrs.items() if k != "network"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr's warning about a string array: what old stores hold
        for name, text in listed["text"].items():
            root.create_array(f"network/{name}", data=np.array(text))


@pytest.mark.parametrize("kind", ["chain", "graph"])
def test_a_store_written_the_old_way_still_opens_and_resumes(tmp_path, kind):
    import zarr

    net, kw = (NET, {"num": 1001}) if kind == "chain" else (graph_net(), {"along": GRAPH_LINE, "num": 1001})
    path = tmp_path / "old.zarr"
    fastrelu.sweep(net, **kw, out=path, chunk=300, backend="numpy")
    _written_the_old_way(path)
    root = zarr.open_group(path, mode="r+")
    assert "network" not in root.attrs
    root["done"][2] = False  # interrupted: resumed, not replaced
    res = fastrelu.sweep(net, **kw, out=path, chunk=300, backend="numpy")
    assert res.computed == (2,) and res.complete
    assert_same(fastrelu.open_result(path), fastrelu.sweep(net, **kw, backend="numpy"))


GRAPH_DAMAGES = {
    "node array deleted": (lambda root: root.__delitem__("network/node2_weight"), "array 'network/node2_weight' is missing"),
    "node array edited": (lambda root: root["network/node2_weight"].__setitem__((0, 0), 1.5), "fingerprint mismatch"),
    "nodes edited": (lambda root: _edit(root, network={**root.attrs["network"], "text": {"graph": "[]"}}),
                     "its network is not valid"),
    "listing garbage": (lambda root: _edit(root, network={"arrays": 3}), "attribute 'network' does not list"),
}


@pytest.mark.parametrize("damage", list(GRAPH_DAMAGES))
def test_a_damaged_graph_store_is_refused_by_name(tmp_path, damage):
    import zarr

    net, path = graph_net(), tmp_path / "g.zarr"
    fastrelu.sweep(net, along=GRAPH_LINE, num=1000, out=path, chunk=300)
    edit, what = GRAPH_DAMAGES[damage]
    edit(zarr.open_group(path, mode="r+"))
    with pytest.raises(ValueError, match=f"is a damaged fastrelu result store: {what}"):
        fastrelu.open_result(path)
    res = fastrelu.sweep(net, along=GRAPH_LINE, num=1000, out=path, chunk=300, overwrite=True)
    assert res.complete and res.computed == (0, 1, 2, 3)


def test_a_graph_networks_store_on_dask_equals_local(tmp_path, dask_client):
    net = graph_net()
    res = fastrelu.sweep(net, along=GRAPH_LINE, num=5001, out=str(tmp_path / "d.zarr"), chunk=700, client=dask_client)
    assert res.complete and len(res.computed) == 8
    mem = fastrelu.sweep(net, along=GRAPH_LINE, num=5001)
    assert_same(res, mem)
    np.testing.assert_array_equal(res.negative_by_layer[:], mem.negative_by_layer)


# ---------------------------------------------------------------------------------------
# a path's sweep: saved (.npz) and stored (Zarr) with its vertices and its path


def _path_sweep(closed):
    from fastrelu.sweeps.result import SweptPath

    net = fastrelu.Network.random([3, 16, 16, 2], seed=31)
    points = np.random.default_rng(32).standard_normal((4, 3))
    res = fastrelu.sweep(net, path=points, closed=closed, num=2001)
    if res.swept_path is None:  # what sweep(path=) is to set (sweeps/sweep.py): the path and the network along it
        res.swept_path = SweptPath(points, closed, net)
    return res, net, points


def _assert_same_path(reopened, res, net, points, closed):
    np.testing.assert_array_equal(reopened.vertices, res.vertices)
    np.testing.assert_array_equal(reopened.swept_path.points, points)
    assert reopened.swept_path.closed is closed and reopened.swept_path.network == net
    for field in ("x", "y", "slope", "negative", "negative_by_layer"):
        np.testing.assert_array_equal(getattr(reopened, field)[:], getattr(res, field), err_msg=field)


@pytest.mark.parametrize("closed", [False, True])
def test_a_paths_sweep_saved_keeps_its_path(tmp_path, closed):
    res, net, points = _path_sweep(closed)
    assert len(res.vertices) == (4 if closed else 2)
    res.save(tmp_path / "p.npz")
    _assert_same_path(fastrelu.open_result(tmp_path / "p.npz"), res, net, points, closed)


@pytest.mark.parametrize("closed", [False, True])
def test_a_paths_sweep_stored_keeps_its_path_and_resumes(tmp_path, closed):
    import zarr

    from fastrelu.store.write import result_to_store

    res, net, points = _path_sweep(closed)
    path = tmp_path / "p.zarr"
    stored = result_to_store(res, path, chunk=300)
    assert stored.computed == tuple(range(7)) and stored.complete
    _assert_same_path(fastrelu.open_result(path), res, net, points, closed)
    zarr.open_group(path, mode="r+")["done"][3] = False  # interrupted: only that chunk is written again
    assert result_to_store(res, path, chunk=300).computed == (3,)
    other, _, _ = _path_sweep(not closed)  # another path into the same store: refused, replaced on request
    with pytest.raises(ValueError, match="holds a sweep of another network"):
        result_to_store(other, path, chunk=300)
    _assert_same_path(result_to_store(other, path, chunk=300, overwrite=True), other, net, points, not closed)
    root = zarr.open_group(path, mode="r+")
    root["path/network/weight_1"][0, 0] = 9.0  # the path's network is in the fingerprint
    with pytest.raises(ValueError, match="fingerprint mismatch"):
        fastrelu.open_result(path)
    with pytest.raises(TypeError, match="writes a path's sweep"):
        result_to_store(fastrelu.sweep(net, along=tuple(points[:2]), num=10), tmp_path / "l.zarr")


def test_a_graph_networks_plane_in_a_store_and_on_dask(tmp_path, dask_client):
    net = graph_net()
    kw = {"plane": np.random.default_rng([3, 2]).standard_normal((3, 8)), "num": (23, 19), "backend": "numpy"}
    mem = fastrelu.sweep(net, **kw)
    local = fastrelu.sweep(net, out=str(tmp_path / "l.zarr"), chunk=5, **kw)
    on_dask = fastrelu.sweep(net, out=str(tmp_path / "d.zarr"), chunk=5, client=dask_client, **kw)
    for res in (local, on_dask, fastrelu.open_result(tmp_path / "d.zarr")):
        assert res.complete and res.network.is_graph
        assert_same_plane(res, mem)
