"""Region maps in tiles, and the plane walk's kernels: a map computed in tiles (on threads)
equals the map computed whole; the C and Numba twins give identical maps; a map that would
not fit in memory says so before it starts; bad ``threads``, ``tiles`` and ``engine`` are
clear errors."""

import numpy as np
import pytest
import torch

import fastrelu
from fastrelu.analysis import plane_walk
from fastrelu.analysis.plane import region_map
from fastrelu.kernels import plane_c, plane_engine, plane_numba
from fastrelu.utils.config import PLANE_TILE_MIN_WIDTH

from test_plane import SQUARE, _check_neighbours, _check_topology, _torch_mlp


def _by_pattern(m):
    """Each face keyed by its activation pattern: its polygon's points, area and output map."""
    out = {}
    for f in range(len(m)):
        key = m.pattern[f].tobytes()
        assert key not in out, "two faces of one pattern"
        pts = m.vertices[m.polygon(f)]
        out[key] = (sorted(map(tuple, pts.tolist())), m.area[f], m.slope[f].tolist(), np.ravel(m.intercept[f]).tolist())
    return out


def _check_same(whole, tiled):
    """Same faces (patterns), and each face the same polygon, area and output map; same vertices and edges."""
    assert (len(tiled), tiled.n_vertices, tiled.n_edges) == (len(whole), whole.n_vertices, whole.n_edges)
    a, b = _by_pattern(whole), _by_pattern(tiled)
    assert a.keys() == b.keys()
    for key, (pts, area, slope, icpt) in a.items():
        pts2, area2, slope2, icpt2 = b[key]
        assert pts2 == pts  # the same points, exactly: a cut's crossings are matched, not rounded
        assert slope2 == slope and icpt2 == icpt  # a face's map follows from its pattern alone
        # the area sums the same cross products in another order (the polygon starts elsewhere)
        assert abs(area2 - area) <= 64 * np.finfo(float).eps * max(abs(area), 1.0)
    assert sorted(map(tuple, tiled.vertices.tolist())) == sorted(map(tuple, whole.vertices.tolist()))
    edges = lambda m: sorted(tuple(sorted(map(tuple, m.vertices[e].tolist()))) for e in m.edges)  # noqa: E731
    assert edges(tiled) == edges(whole)
    _check_topology(tiled)


NETS = {
    "relu 2x16x3": lambda: fastrelu.Network.from_torch(_torch_mlp([2, 16, 16, 16, 1], seed=3)),
    "relu 2x24x2, 3 outputs": lambda: fastrelu.Network.from_torch(_torch_mlp([2, 24, 24, 3], seed=4)),
    "hardtanh 2x12x2": lambda: fastrelu.Network.from_torch(_torch_mlp([2, 12, 12, 1], seed=5, act=torch.nn.Hardtanh)),
    "no biases": lambda: fastrelu.Network.from_layers([(np.random.default_rng(6).standard_normal((10, 2)), None),
                                                      (np.random.default_rng(7).standard_normal((10, 10)), None),
                                                      (np.random.default_rng(8).standard_normal((1, 10)), None)]),
}


@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("tiles", [(2, 1), (1, 3), (3, 2)])
@pytest.mark.parametrize("threads", [1, 2])
def test_tiles_equal_whole(name, tiles, threads):
    net = NETS[name]()
    whole = region_map(net, bounds=SQUARE, threads=1, tiles=(1, 1))
    tiled = region_map(net, bounds=SQUARE, threads=threads, tiles=tiles)
    _check_same(whole, tiled)
    _check_neighbours(tiled, net)


def test_tiles_of_a_plane_through_three_points():
    net = fastrelu.Network.from_torch(_torch_mlp([7, 20, 20, 4], seed=9))
    pts = np.random.default_rng(10).standard_normal((3, 7))
    whole = region_map(net, plane=pts, threads=1, tiles=(1, 1))
    tiled = region_map(net, plane=pts, threads=2, tiles=(2, 2))
    _check_same(whole, tiled)
    assert tiled.bounds == whole.bounds


def test_a_boundary_along_a_cut():
    # a unit switching exactly on the cut between two tiles: the two tiles' sides of the cut
    # are one edge of the map, between two faces, on that unit
    cut = plane_walk.tile_cuts(-1.0, 1.0, 2)[1]
    rng = np.random.default_rng(11)
    w1 = np.vstack([[1.0, 0.0], rng.standard_normal((6, 2))])
    b1 = np.r_[-cut, rng.standard_normal(6)]
    net = fastrelu.Network.from_layers([(w1, b1), (rng.standard_normal((1, 7)), None)])
    whole = region_map(net, bounds=SQUARE, threads=1, tiles=(1, 1))
    tiled = region_map(net, bounds=SQUARE, threads=2, tiles=(2, 1))
    _check_same(whole, tiled)
    on_cut = (tiled.vertices[tiled.edges][:, :, 0] == cut).all(axis=1) & (tiled.edge_faces >= 0).all(axis=1)
    assert on_cut.any() and (tiled.edge_units[on_cut] == [0, 0]).all()


def test_threads_share_one_tiles_products_with_the_same_bits():
    # one tile: the threads take blocks of faces of each layer's product; every array of the
    # map is the same as on one thread, bit for bit (more faces than blocks of _BLOCK)
    net = fastrelu.Network.from_torch(_torch_mlp([2, 32, 32, 32, 32, 2], seed=12))
    one = region_map(net, bounds=SQUARE, threads=1, tiles=(1, 1))
    assert len(one) > 3 * plane_walk._BLOCK
    for threads in (2, 3):
        many = region_map(net, bounds=SQUARE, threads=threads, tiles=(1, 1))
        for attr in ("vertices", "edges", "edge_faces", "edge_units", "slope", "intercept", "pattern"):
            np.testing.assert_array_equal(getattr(one, attr), getattr(many, attr), err_msg=attr)


def test_default_tiles_follow_threads_and_width():
    assert PLANE_TILE_MIN_WIDTH >= 2
    wide = fastrelu.Network.random([2, 8, 1], seed=0)
    narrow = fastrelu.Network.random([2, 7, 1], seed=0)
    seen = []
    real = plane_walk.walk_tiles

    def spy(layers, forms, bounds, tiles=(1, 1), threads=1, engine=None):
        seen.append((tiles, threads))
        return real(layers, forms, bounds, tiles, threads, engine)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("fastrelu.analysis.plane.walk_tiles", spy)
        mp.setattr("fastrelu.analysis.plane.PLANE_TILE_MIN_WIDTH", 8)  # (the real one: maps too big for a test)
        region_map(wide, bounds=SQUARE, threads=3)
        region_map(narrow, bounds=SQUARE, threads=3)
        region_map(wide, bounds=SQUARE, threads=2, tiles=(1, 4))
    assert seen == [((3, 1), 3), ((1, 1), 3), ((1, 4), 2)]


# -- the twins ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETS)
def test_twins_give_identical_maps(name):
    net = NETS[name]()
    c = region_map(net, bounds=SQUARE, threads=1, engine="c")
    nb = region_map(net, bounds=SQUARE, threads=1, engine="numba")
    for attr in ("vertices", "edges", "edge_faces", "edge_units", "face_offsets", "face_vertices", "slope", "intercept",
                 "pattern", "negative_by_layer"):
        np.testing.assert_array_equal(getattr(c, attr), getattr(nb, attr), err_msg=attr)


def test_twin_kernels_bit_for_bit():
    rng = np.random.default_rng(12)
    F, P, h, w = 37, 11, 9, 5
    maps = rng.standard_normal((3, P, h))
    maps[:, :, 3] = 0.0  # a unit constant 0: exact zeros in, exact zeros out
    parent = rng.integers(0, P, F)
    regions = rng.integers(0, 4, (F, h)).astype(np.int8)
    gain, offs = rng.standard_normal((4, h)), rng.standard_normal((4, h))
    outs = []
    for k in (plane_c, plane_numba):
        x = np.full((3, F - 4, h), np.nan)
        k.gather_maps(maps, parent, regions, gain, offs, 4, F, x)
        outs.append(x)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0][0], gain[regions[4:], np.arange(h)] * maps[0][parent[4:]])
    # sides: vertices placed exactly on some lines, and a look that catches the near ones
    V, nb = 50, 3
    owner = rng.integers(0, P, V)
    pts = rng.standard_normal((V, 2))
    pts[:5] = 0.0
    maps[2, owner[:5], 0] = 0.0  # vertices 0..4 exactly on unit 0's line at breakpoint 0
    bps = np.array([-1.0, 0.0, 1.0])
    nbytes = 8 * ((nb * h + 63) // 64)
    res = []
    for k in (plane_c, plane_numba):
        pos, neg = np.zeros((V, nbytes), np.uint8), np.zeros((V, nbytes), np.uint8)
        cand = np.zeros((8, 2), np.int64)
        n = k.sides(maps, owner, pts, bps, 0.5, 0, V, pos, neg, cand)
        res.append((pos, neg, n, cand[: min(n, 8)]))
    for a, b in zip(res[0], res[1]):
        np.testing.assert_array_equal(a, b)
    z = (maps[0][owner] * pts[:, :1] + maps[1][owner] * pts[:, 1:]) [:, None, :] + (maps[2][owner][:, None, :] - bps[None, :, None])
    z = z.reshape(V, -1)
    np.testing.assert_array_equal(res[0][0][:, : (nb * h + 7) // 8], np.packbits(z > 0, axis=1))
    np.testing.assert_array_equal(res[0][1][:, : (nb * h + 7) // 8], np.packbits(z < 0, axis=1))
    assert res[0][2] == np.count_nonzero((z != 0) & (np.abs(z) <= 0.5)) > 8  # counted past the room given
    assert (z[:5, h] == 0).all()  # breakpoint 0 is the second: line h + 0


def test_twin_side_bit_for_bit():
    # the rounds' side of a vertex on a line: bits below V1, the line's map above, 0 on the
    # lines a vertex was made on, and the values within rounding of 0 sent back as near
    rng = np.random.default_rng(5)
    V, V1, nl, npair, n = 40, 25, 19, 30, 400
    nbytes = 8 * ((nl + 63) // 64)
    pos = rng.integers(0, 256, (V, nbytes)).astype(np.uint8)
    neg = (rng.integers(0, 256, (V, nbytes)) & ~pos).astype(np.uint8)  # never both
    lines = rng.integers(0, nl, npair)
    coefs = rng.standard_normal((npair, 3))
    coefs[:3, 0] = 0.0  # exact zeros in the terms
    P = rng.standard_normal((V, 2))
    P[V1] = 0.0
    coefs[3, 2] = 0.0  # line 3 through the origin: vertex V1 exactly on it
    coefs[4, 2] = -(coefs[4, 0] * P[V1 + 1, 0] + coefs[4, 1] * P[V1 + 1, 1])  # within rounding of vertex V1 + 1
    on = rng.integers(0, nl, (V, 2))
    on[V1 + 2] = lines[5]  # vertex V1 + 2 made on line 5
    vert = np.r_[rng.integers(0, V, n - 3), V1, V1 + 1, V1 + 2]
    pair = np.r_[rng.integers(0, npair, n - 3), 3, 4, 5]
    res = []
    for k in (plane_c, plane_numba):
        s, near = np.full(n, 9, np.int8), np.full(n, -1, np.int64)
        nn = k.side(pos, neg, V1, vert, pair, lines, coefs, P, on, s, near)
        res.append((s, near[:nn]))
    for a, b in zip(res[0], res[1]):
        np.testing.assert_array_equal(a, b)
    s, near = res[0]
    old = vert < V1
    line = lines[pair]
    bit = lambda bits: (bits[vert, line >> 3] >> (7 - (line & 7))) & 1
    np.testing.assert_array_equal(s[old], (bit(pos).astype(np.int8) - bit(neg).astype(np.int8))[old])
    c, p = coefs[pair], P[vert]
    z = c[:, 0] * p[:, 0] + c[:, 1] * p[:, 1] + c[:, 2]
    size = np.abs(c[:, 0] * p[:, 0]) + np.abs(c[:, 1] * p[:, 1]) + np.abs(c[:, 2])
    made = (on[vert, 0] == line) | (on[vert, 1] == line)
    np.testing.assert_array_equal(s[~old], np.where(made, 0, np.sign(z)).astype(np.int8)[~old])
    np.testing.assert_array_equal(near, np.flatnonzero(~old & ~made & (np.abs(z) <= 2.0**-30 * size)))
    assert s[-3] == 0 and s[-1] == 0 and n - 2 in near and n - 3 in near  # on, near, made on


def test_twin_crossings_bit_for_bit():
    # the (row, line) pairs on both sides, rows in order, lines in order within a row
    rng = np.random.default_rng(6)
    V, nl, n = 30, 70, 90
    nbytes = 8 * ((nl + 63) // 64)
    pos = (rng.integers(0, 256, (V, nbytes)) & rng.integers(0, 256, (V, nbytes))).astype(np.uint8)
    neg = (rng.integers(0, 256, (V, nbytes)) & ~pos).astype(np.uint8)
    pos[:, nl // 8 + 1:] = neg[:, nl // 8 + 1:] = 0  # no lines past the last
    u, v = rng.integers(0, V, n), rng.integers(0, V, n)
    u[:3] = v[:3]  # a row with itself: its lines with bits both ways, none here
    rows = np.arange(V)
    cross = np.unpackbits((pos[u] & neg[v]) | (neg[u] & pos[v]), axis=1)
    k, line = np.nonzero(cross)
    res = []
    for kern in (plane_c, plane_numba):
        for cap in (4, k.shape[0]):  # too little room: counted all the same
            out = np.full((cap, 2), -1, np.int64)
            nc = kern.crossings(pos, neg, u, v, out)
            assert nc == k.shape[0]
            np.testing.assert_array_equal(out, np.column_stack([k, line])[:cap])
        out = np.full((V * nl, 2), -1, np.int64)
        res.append(out[: kern.crossings(pos, pos | neg, rows, rows, out)])
    np.testing.assert_array_equal(res[0], res[1])
    np.testing.assert_array_equal(res[0], np.column_stack(np.nonzero(np.unpackbits(pos, axis=1))))


def test_twin_face_sides_bit_for_bit():
    rng = np.random.default_rng(7)
    V, F, nbytes = 40, 9, 16
    pos = rng.integers(0, 256, (V, nbytes)).astype(np.uint8)
    neg = rng.integers(0, 256, (V, nbytes)).astype(np.uint8)
    fptr = np.r_[0, np.cumsum(rng.integers(1, 6, F))]
    ts = rng.integers(0, V, fptr[-1])
    res = []
    for k in (plane_c, plane_numba):
        fpos, fneg = np.zeros((F, nbytes), np.uint8), np.zeros((F, nbytes), np.uint8)
        k.face_sides(pos, neg, fptr, ts, fpos, fneg)
        res.append((fpos, fneg))
    for a, b in zip(res[0], res[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(res[0][0], np.bitwise_or.reduceat(pos[ts], fptr[:-1], axis=0))
    np.testing.assert_array_equal(res[0][1], np.bitwise_or.reduceat(neg[ts], fptr[:-1], axis=0))


def test_engine_choice(monkeypatch):
    monkeypatch.delenv("FASTRELU_BACKEND", raising=False)
    assert plane_engine.kernels() is plane_c  # the C build is part of the test environment
    assert plane_engine.kernels("numba") is plane_numba
    monkeypatch.setenv("FASTRELU_BACKEND", "numba")
    assert plane_engine.kernels() is plane_numba
    assert plane_engine.kernels("c") is plane_c  # an explicit choice wins
    monkeypatch.setenv("FASTRELU_BACKEND", "cffi")
    assert plane_engine.kernels() is plane_c
    with pytest.raises(ValueError, match="engine"):
        plane_engine.kernels("fortran")


def test_blas_is_held_to_one_thread_until_the_last_holder_leaves():
    """A walk in another thread that ends while this one's runs must not give BLAS its
    threads back under this one (the setting is the process's)."""
    import threading

    from threadpoolctl import threadpool_info

    from fastrelu.kernels import threads

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    def other():
        with threads.blas_pinned():
            pass

    before = blas_threads()
    assert before  # numpy's BLAS is seen
    with threads.blas_pinned() as pinned:
        assert pinned and threads.blas_is_pinned() and set(blas_threads()) == {1}
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert threads.blas_is_pinned() and set(blas_threads()) == {1}  # still held for this thread
        with threads.blas_pinned():  # nested in one thread too
            pass
        assert set(blas_threads()) == {1}
    assert not threads.blas_is_pinned() and blas_threads() == before


# -- memory and bad input ---------------------------------------------------------------


def test_a_map_that_would_not_fit_says_so_before_it_starts(monkeypatch):
    net = fastrelu.Network.random([2, 32, 32, 1], seed=1)
    calls = []

    def tiny():
        calls.append(1)
        return 1000  # bytes: less than the first layer's sides need

    monkeypatch.setattr(plane_walk, "available_memory", tiny)
    with pytest.raises(MemoryError, match=r"needs [0-9,]+ bytes .*hidden layer 0 .*only 1,000 bytes.*more tiles \(tiles="):
        region_map(net, bounds=SQUARE, threads=1)
    assert len(calls) == 1  # refused at the first count, before any layer was walked


def test_the_maps_of_a_later_layer_counted_before_allocating(monkeypatch):
    net = fastrelu.Network.random([2, 32, 32, 1], seed=1)
    faces = region_map(net, bounds=SQUARE, threads=1)._walk.regions[0].shape[0]  # after the first layer
    room = plane_walk._maps_bytes(faces, 32, 32) - 1  # the first layer fits; the maps of the next one do not
    assert room > plane_walk._layer_bytes(4, 4, 1, 32, 1)
    monkeypatch.setattr(plane_walk, "available_memory", lambda: room)
    allocated = []
    real = plane_walk._next_maps
    monkeypatch.setattr(plane_walk, "_next_maps", lambda *a: allocated.append(1) or real(*a))
    with pytest.raises(MemoryError, match=r"maps of layer 1 \([0-9,]+ faces, 32 units\)"):
        region_map(net, bounds=SQUARE, threads=1)
    assert allocated == []


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_bad_threads(threads):
    with pytest.raises(ValueError, match="threads"):
        region_map(fastrelu.Network.random([2, 4, 1], seed=0), bounds=SQUARE, threads=threads)


@pytest.mark.parametrize("tiles", [3, (0, 1), (1, 2, 3), (1.0, 2), None.__class__])
def test_bad_tiles(tiles):
    with pytest.raises(ValueError, match="tiles"):
        region_map(fastrelu.Network.random([2, 4, 1], seed=0), bounds=SQUARE, tiles=tiles)


def test_bad_engine():
    with pytest.raises(ValueError, match="engine"):
        region_map(fastrelu.Network.random([2, 4, 1], seed=0), bounds=SQUARE, engine="gpu")


def test_regions_passes_threads_to_the_map():
    net = fastrelu.Network.random([2, 8, 8, 1], seed=0)
    with pytest.raises(ValueError, match="threads must be a positive int"):
        fastrelu.regions(net, bounds=((-1, 1), (-1, 1)), threads=0)
    one = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)), threads=1)
    assert np.array_equal(one.pattern_hash, fastrelu.regions(net, bounds=((-1, 1), (-1, 1)), threads=2).pattern_hash)
