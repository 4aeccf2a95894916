"""Region maps in ``.npz`` files: ``save_region_map(m, path)`` and ``load_region_map(path)``.

A file holds what the map is made of, with its network and its plane: the vertices,
edges (their faces and units), each face's activation pattern and affine output map,
the plane (origin, directions, the three points) and the rectangle.  Loading builds
the map again through ``RegionMap``'s own constructor from those arrays, so a loaded
map is the saved one (same faces in the same order, same polygons, areas, counts and
hashes, bit for bit), and everything derived from it is computed as for a fresh map.
"""

import numpy as np

from ..analysis.plane import RegionMap, graph_forms
from ..analysis.patterns import PackedPatterns
from ..analysis.plane_walk import PlaneWalk
from ..model.network import Network
from ..model.slices import Plane
from ..utils.files import open_for_writing, open_npz

__all__ = ["is_region_map_file", "load_region_map", "save_region_map"]

_FORMAT = "fastrelu-region-map/1"
_ARRAYS = ("vertices", "edges", "edge_faces", "edge_units", "slope", "intercept", "pattern", "origin", "directions",
           "points", "bounds", "counts")


def save_region_map(m, path):
    """Save region map ``m`` to a ``.npz`` file with its network; ``load_region_map`` reads it.

    Parameters
    ----------
    m : RegionMap
    path : str or os.PathLike
        The file, written as named (``.npz`` is not appended).

    Examples
    --------
    >>> import fastrelu, os, tempfile
    >>> from fastrelu.store.region_map import load_region_map, save_region_map
    >>> m = fastrelu.regions(fastrelu.Network.random([2, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)))
    >>> path = os.path.join(tempfile.mkdtemp(), "map.npz")
    >>> save_region_map(m, path)
    >>> bool((load_region_map(path).pattern_hash == m.pattern_hash).all())
    True
    """
    if not isinstance(m, RegionMap):
        raise TypeError(f"m must be a fastrelu.RegionMap, got {type(m).__name__}")
    (u0, u1), (v0, v1) = m.bounds
    net = {"network_" + k: v for k, v in m.network._arrays().items()}
    with open_for_writing(path) as f:
        np.savez(
            f, format=np.array(_FORMAT), vertices=m.vertices, edges=m.edges, edge_faces=m.edge_faces,
            edge_units=m.edge_units, slope=m.slope, intercept=m.intercept, pattern=m.pattern, origin=m.origin,
            directions=m.directions, points=m.points, bounds=np.array([u0, u1, v0, v1], np.float64),
            counts=np.array([m.ambiguous, m.degenerate], np.int64), **net,
        )


def load_region_map(path):
    """Load a region map saved by ``save_region_map``; a clear ValueError for anything else.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    RegionMap
    """
    name = str(path)
    with open_npz(path, "region map") as data:
        if "format" not in data or str(data["format"]) != _FORMAT:
            raise ValueError(f"{name!r} is not a fastrelu region map (.npz) file")
        missing = [k for k in _ARRAYS if k not in data]
        if missing:
            raise ValueError(f"{name!r} is not a complete fastrelu region map: it lacks {', '.join(missing)}")
        network = Network._from_npz(data, name, prefix="network_")
        a = {k: data[k] for k in _ARRAYS}
    try:
        return _build(a, network)
    except (ValueError, IndexError, AssertionError, TypeError) as exc:
        raise ValueError(f"{name!r} holds an inconsistent region map: {exc}") from None


def is_region_map_file(path):
    """Whether ``path`` is a ``.npz`` file that ``save_region_map`` wrote (False for anything
    else, a missing or damaged file included: its reader says what is wrong).

    Examples
    --------
    >>> is_region_map_file("no-such-file.npz")
    False
    """
    try:
        with open_npz(path, "region map") as data:
            return "format" in data and str(data["format"]) == _FORMAT
    except (ValueError, OSError):
        return False


def _build(a, network):
    """The map from the saved arrays, through ``RegionMap``'s constructor (a walk of one step per layer)."""
    F, V, E = a["pattern"].shape[0], a["vertices"].shape[0], a["edges"].shape[0]
    if network.is_graph:  # a layer per act node (its units) and per max-pool node (its windows' argmax)
        widths = [n.size for n in network.graph.piecewise_nodes]
        forms = graph_forms(network.graph.astype(np.float64))
    else:
        widths = [int(layer.bias.shape[0]) for layer in network.layers[:-1]]
        forms = [act.kernel_form(w) for act, w in zip(network.activations, widths)]
    out = network.out_features
    slope = np.asarray(a["slope"], np.float64).reshape(F, out, 2)
    intercept = np.asarray(a["intercept"], np.float64).reshape(F, out)
    if a["pattern"].shape != (F, sum(widths)):
        raise ValueError(f"pattern is {a['pattern'].shape}, the network has {sum(widths)} hidden units")
    if a["vertices"].shape != (V, 2) or a["edges"].shape != (E, 2) or a["edge_faces"].shape != (E, 2):
        raise ValueError("vertices, edges and edge_faces must be (V, 2), (E, 2) and (E, 2)")
    if E and (a["edges"].min() < 0 or a["edges"].max() >= V or a["edge_faces"].min() < -1 or a["edge_faces"].max() >= F):
        raise ValueError("an edge names a vertex or a face that is not in the map")
    if a["directions"].shape != (2, network.in_features):
        raise ValueError(f"the plane's directions are {a['directions'].shape}, the network takes {network.in_features} inputs")
    maps = np.concatenate([np.moveaxis(slope, 2, 1), intercept[:, None, :]], axis=1)  # (F, 3, out), as the walk's
    starts = np.r_[0, np.cumsum(widths)]
    if a["pattern"].size and a["pattern"].min() < 0:
        raise ValueError("pattern holds a negative region")
    regions = [PackedPatterns.pack(a["pattern"][:, s:e]) for s, e in zip(starts[:-1], starts[1:])]
    # every layer's faces are the final faces: the first layer's parent is the rectangle, the others themselves
    parents = [np.zeros(F, np.int64)] + [np.arange(F) for _ in widths[1:]]
    walk = PlaneWalk(a["vertices"], a["edges"], a["edge_faces"], a["edge_units"][:, 0].copy(),
                     a["edge_units"][:, 1].copy(), regions, parents, maps, int(a["counts"][0]), int(a["counts"][1]))
    u0, u1, v0, v1 = (float(t) for t in a["bounds"])
    bounds = ((u0, u1), (v0, v1))
    plane = Plane(a["origin"].astype(np.float64), a["directions"].astype(np.float64), a["points"].astype(np.float64), None)
    return RegionMap(walk, network, plane, bounds, forms)

