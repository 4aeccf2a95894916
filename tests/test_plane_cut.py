"""The plane walk's rounds of cuts in one kernel call per layer (``kern.cut``, C and Numba
twins) and the exact side predicate they decide near-ties with (``kern.exact_sides``):
the predicate against rational arithmetic, the two twins bit for bit on hostile maps, and
the kernel called again and again from no room at all giving the same map."""

from fractions import Fraction

import numpy as np
import pytest
import torch

import fastrelu
from fastrelu.analysis import plane_walk
from fastrelu.analysis.plane import region_map
from fastrelu.kernels import plane_c, plane_numba

from test_plane import _torch_mlp

SQUARE = ((-1.0, 1.0), (-1.0, 1.0))


def _fraction_sides(meet, line):
    """The side of ``line`` at the exact crossing of the two lines ``meet``, in rationals:
    the sign of the 3x3 determinant over the sign of the 2x2 one; 2 for parallel lines."""
    out = []
    for (r1, r2), r3 in zip(meet.tolist(), line.tolist()):
        (a1, b1, c1), (a2, b2, c2), (a, b, c) = ([Fraction(x) for x in r] for r in (r1, r2, r3))
        d = a1 * b2 - a2 * b1
        num = a * (b1 * c2 - b2 * c1) + b * (a2 * c1 - a1 * c2) + c * d
        out.append(2 if d == 0 else ((num > 0) - (num < 0)) * (1 if d > 0 else -1))
    return np.array(out)


def _exact(kern, meet, line):
    out = np.full(line.shape[0], 9, np.int64)
    kern.exact_sides(np.ascontiguousarray(meet), np.ascontiguousarray(line), out)
    return out


def _hostile_predicates(rng, n=3000):
    """Pairs of lines and a third one: through their rounded crossing (within rounding of
    it: the cases that need exact arithmetic), exactly through it (dyadic lines meeting at a
    dyadic point), equal to one of the two or its negation, parallel pairs, zero
    coefficients, and every row scaled by powers of two from 2**-200 to 2**200."""
    meet = rng.standard_normal((n, 2, 3))
    x = np.linalg.solve(meet[:, :, :2], -meet[:, :, 2:])[..., 0]
    line = rng.standard_normal((n, 3))
    line[:, 2] = -(line[:, 0] * x[:, 0] + line[:, 1] * x[:, 1])  # within rounding of the crossing
    k = n // 6
    # dyadic lines through a dyadic point: exactly on it
    pt = rng.integers(-64, 64, (k, 2)) / 16.0
    for rows in (meet[:k, 0], meet[:k, 1], line[:k]):
        rows[:, :2] = rng.integers(-8, 9, (k, 2)) / 4.0
        rows[:, 2] = -(rows[:, 0] * pt[:, 0] + rows[:, 1] * pt[:, 1])
    line[k : 2 * k] = meet[k : 2 * k, 0] * rng.choice([-1.0, 1.0], (k, 1))  # one of the two, or its negation
    meet[2 * k : 3 * k, 1] = meet[2 * k : 3 * k, 0] * 0.5  # parallel: no crossing
    line[3 * k : 3 * k + k // 2, :2] = 0.0  # a constant "line"
    meet[3 * k + k // 2 : 4 * k, 0, 0] = 0.0  # an axis-parallel line
    scale = 2.0 ** rng.integers(-200, 201, (n, 3))
    meet = meet * scale[:, :2, None]
    line = line * scale[:, 2:]
    return meet, line


@pytest.mark.parametrize("kern", [plane_c, plane_numba], ids=["c", "numba"])
def test_exact_sides_equal_rational_arithmetic(kern):
    rng = np.random.default_rng(0)
    meet, line = _hostile_predicates(rng)
    got = _exact(kern, meet, line)
    want = _fraction_sides(meet, line)
    np.testing.assert_array_equal(got, want)
    n = line.shape[0] // 6
    assert (got[:n][want[:n] != 2] == 0).all(), "a point exactly on the line is on it, never on a side"
    assert set(np.unique(want).tolist()) == {-1, 0, 1, 2}
    # the float64 value at the rounded crossing is wrong often enough to need all this
    ok = want < 2
    x = np.linalg.solve(meet[ok][:, :, :2], -meet[ok][:, :, 2:])[..., 0]
    z = line[ok, 0] * x[:, 0] + line[ok, 1] * x[:, 1] + line[ok, 2]
    assert (np.sign(z) != want[ok]).sum() > 100


def test_exact_sides_twins_agree_and_refuse_what_could_underflow():
    rng = np.random.default_rng(1)
    meet, line = _hostile_predicates(rng, 600)
    np.testing.assert_array_equal(_exact(plane_c, meet, line), _exact(plane_numba, meet, line))
    # coefficients of one line 2**400 apart: products of three could underflow, so the
    # predicate says 3 (undecided) instead of a sign it could not vouch for
    far = np.array([[[1.0, 2.0**-400, 0.5], [0.25, 1.0, -1.0]]])
    on = np.array([[0.5, 1.0, 3.0]])
    for kern in (plane_c, plane_numba):
        assert _exact(kern, far, on).tolist() == [3]
        near = far.copy()
        near[0, 0, 1] = 2.0**-290  # within the range: decided, and right
        assert _exact(kern, near, on).tolist() == _fraction_sides(near, on).tolist()


def _mlp(dims, seed, act=torch.nn.ReLU):
    return fastrelu.Network.from_torch(_torch_mlp(dims, seed, act))


def _near_concurrent(seed, n=16):
    """Both layers' lines within rounding of (1/3, 1/3): cells that rounding makes
    inconsistent (ambiguous) and slivers below float64's resolution (degenerate)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, 2))
    c = -(a @ np.array([1 / 3, 1 / 3]))
    w2 = rng.standard_normal((n, n))
    b2 = -(w2 @ np.maximum(a @ np.array([1 / 3, 1 / 3]) + c, 0))
    return fastrelu.Network.from_layers([(a, c), (w2, b2), (rng.standard_normal((1, n)), None)])


def _nets():
    rng = np.random.default_rng(2)
    no_bias = fastrelu.Network.from_layers([(rng.standard_normal((10, 2)), None), (rng.standard_normal((10, 10)), None),
                                            (rng.standard_normal((1, 10)), None)])
    dyadic = fastrelu.Network.from_layers([(rng.integers(-3, 4, (8, 2)) / 2.0, rng.integers(-2, 3, 8) / 4.0),
                                           (rng.integers(-3, 4, (8, 8)) / 2.0, rng.integers(-2, 3, 8) / 4.0),
                                           (rng.integers(-3, 4, (1, 8)) / 2.0, None)])
    return {
        "relu": (_mlp([2, 24, 24, 24, 1], 0), SQUARE),
        "hardtanh": (_mlp([2, 16, 16, 2], 1, torch.nn.Hardtanh), ((-3.0, 3.0), (-2.0, 2.0))),
        "no_bias": (no_bias, ((-1.0, 2.0), (-0.5, 1.5))),
        "dyadic": (dyadic, SQUARE),
        "near_concurrent": (_near_concurrent(0), SQUARE),
    }


def _assert_same_walk(a, b):
    for name in ("vertices", "edges", "edge_faces", "edge_layer", "edge_unit", "maps"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert len(a.regions) == len(b.regions)
    for x, y, p, q in zip(a.regions, b.regions, a.parents, b.parents):
        np.testing.assert_array_equal(x.data, y.data)
        np.testing.assert_array_equal(p, q)
    assert (a.ambiguous, a.degenerate) == (b.ambiguous, b.degenerate)


def _walks(monkeypatch, net, bounds, engine):
    """The walks ``region_map`` makes (one per tile), by the kernels of ``engine``."""
    walks = []
    inner = plane_walk.walk_plane

    def keep(*args, **kwargs):
        walks.append(inner(*args, **kwargs))
        return walks[-1]

    monkeypatch.setattr(plane_walk, "walk_plane", keep)
    m = region_map(net, bounds=bounds, engine=engine, threads=1)
    monkeypatch.setattr(plane_walk, "walk_plane", inner)
    assert len(walks) == 1
    return walks[0], m


@pytest.mark.parametrize("name", list(_nets()))
def test_cut_twins_bit_for_bit(monkeypatch, name):
    net, bounds = _nets()[name]
    a, ma = _walks(monkeypatch, net, bounds, "c")
    b, _ = _walks(monkeypatch, net, bounds, "numba")
    _assert_same_walk(a, b)
    assert ma.n_vertices - ma.n_edges + len(ma) == 1
    if name == "near_concurrent":  # the hostile map has what it should: cells flagged, slivers counted
        assert a.ambiguous > 0 and a.degenerate > 0
    else:
        assert a.ambiguous == 0


@pytest.mark.parametrize("engine", ["c", "numba"])
def test_cut_from_no_room_grows_into_the_same_map(monkeypatch, engine):
    # the kernel stops before a face that does not fit and is called again with more room:
    # from no room at all, every kind of room runs out, and the map is the same bit for bit
    for name in ("relu", "near_concurrent"):
        net, bounds = _nets()[name]
        whole, _ = _walks(monkeypatch, net, bounds, engine)
        seen = set()
        grow = plane_walk._CutRoom.grow

        def counted(self, need, state, grow=grow, seen=seen):
            seen.add(need)
            return grow(self, need, state)

        monkeypatch.setattr(plane_walk._CutRoom, "ROOM", 0)
        monkeypatch.setattr(plane_walk._CutRoom, "grow", counted)
        grown, _ = _walks(monkeypatch, net, bounds, engine)
        monkeypatch.undo()
        _assert_same_walk(whole, grown)
        # (vertices, edges and faces are grown together, whichever of them ran out)
        assert {4, 5, 6} <= seen and seen & {1, 2, 3}, seen


@pytest.mark.parametrize("kern", [plane_c, plane_numba], ids=["c", "numba"])
def test_incidence_and_face_edges_are_the_sorted_lists(monkeypatch, kern):
    # the owners, the faces around each vertex and each face's vertices and edges, by
    # counting sorts in the kernels, against numpy's sorts, on a real map's edges
    net, bounds = _nets()["relu"]
    w, _ = _walks(monkeypatch, net, bounds, "c")
    (u, v), (L, R) = w.edges.T, w.edge_faces.T
    u, v, L, R = (np.ascontiguousarray(a, np.int64) for a in (u, v, L, R))
    V, F = w.vertices.shape[0], w.regions[-1].shape[0]
    tails = np.concatenate([u[L >= 0], v[R >= 0]])
    faces = np.concatenate([L[L >= 0], R[R >= 0]])
    owner, vptr, fptr = np.full(V, -7), np.full(V + 1, -7), np.full(F + 1, -7)
    vface, fvert = np.full(tails.shape[0], -7), np.full(tails.shape[0], -7)
    kern.incidence(u, v, L, R, owner, vptr, vface, fptr, fvert)
    np.testing.assert_array_equal(owner, [faces[tails == x].min() for x in range(V)])
    np.testing.assert_array_equal(np.diff(vptr), np.bincount(tails, minlength=V))
    for x in range(0, V, 7):
        assert sorted(vface[vptr[x] : vptr[x + 1]].tolist()) == sorted(faces[tails == x].tolist())
    order = np.lexsort((tails, faces))  # by face, then vertex
    np.testing.assert_array_equal(fvert, tails[order])
    np.testing.assert_array_equal(fptr, np.searchsorted(faces[order], np.arange(F + 1)))
    # the edges of the faces with lines (here every third face), by face then id
    nf = (np.arange(F) % 3 == 0).astype(np.int64)
    side_f = np.stack([L, R], axis=1).ravel()
    side_e = np.repeat(np.arange(L.shape[0]), 2)
    keep = (side_f >= 0) & (nf[np.maximum(side_f, 0)] > 0)
    order = np.lexsort((side_e[keep], side_f[keep]))
    fe_ptr, fe = np.full(F + 1, -7), np.full(int(keep.sum()), -7)
    kern.face_edges(L, R, nf, fe_ptr, fe)
    np.testing.assert_array_equal(fe, side_e[keep][order])
    np.testing.assert_array_equal(fe_ptr, np.searchsorted(side_f[keep][order], np.arange(F + 1)))
