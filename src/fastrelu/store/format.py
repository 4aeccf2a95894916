"""The format of a fastrelu result store: its layout and attributes, the request's
fingerprint, and opening, checking, replacing or creating a store.  Writing one is
``store.write``, reading one ``store.read``.

Layout of a store (a Zarr v3 group):

* arrays ``x``, ``y``, ``slope`` (the sweep's dtype; ``y`` and ``slope`` with a
  second axis for several outputs), ``negative`` and ``negative_by_layer`` (int32,
  the second of shape (N, depth)), each of the grid's length and chunked by the
  sweep's ``chunk``;
* on a plane (``sweep(net, plane=..., out=...)``) the same arrays but ``x``, shaped as
  the in-memory result's (``(nv, nu, ...)``: rows of pixels first) and chunked in tiles
  of ``chunk`` rows of pixels, all ``nu`` of them; ``u`` and ``v`` hold the pixels'
  coordinates, and the attribute ``plane`` the plane (its origin, directions, three
  points and the swept bounds); ``n`` and ``chunk`` count rows of pixels;
* the network as swept (along a line or on a plane, with the slice folded into its
  first layer), as ``Network.save`` writes it, for a dense chain and a graph alike: its
  numbers as arrays ``network/<name>`` (``weight_k``, ``bias_k`` of a chain; each node's
  parameters of a graph), its text (the activations, a graph's nodes) as JSON in the
  attributes ``activations`` and ``network`` (which also lists the arrays), since Zarr v3
  specifies no string arrays (stores written before ``network`` are read as they were
  written); and, for a grid of given points, ``points``: everything a worker needs to
  compute any chunk is in the store itself, so nothing large travels through a Dask client;
* array ``done`` (one bool per chunk, one Zarr chunk each): a chunk counts as
  written only once all four of its arrays are written *and then* its flag is.
  A sweep started again finishes the chunks whose flag is missing;
* attributes: the format, the grid, dtype, chunk, backend, activations and line,
  and a fingerprint of all of them with the network's weights, so that a store made by
  another request is refused rather than overwritten; and a request id, new for every
  store made, that each Dask task checks before it writes, so that a task of an
  abandoned request can never write into the store that replaced it.

A store is created with ``{"format": FORMAT, "fingerprint": None}`` ("being made")
in the same write as its group, and gets its other attributes last: a store so
marked holds no result, and is replaced by the next sweep into it.  So is an empty
group with no attributes (what earlier versions left when killed right after
creating the group): it holds nothing.  Anything else that is not a fastrelu store is
never deleted, even with ``overwrite=True``.  Replacing a store first marks it "being
made", then deletes its arrays, so that a replacement killed at any moment leaves a
store that is replaced in turn.

Opening a store (to read it or to resume it) checks that every attribute and array is
there, with the shapes its attributes give, and recomputes its fingerprint from what
it holds: a damaged or edited store raises ValueError naming the store and what is
wrong, rather than a raw KeyError or values read as zeros.
"""

import hashlib
import json
import os
import shutil
import uuid

import numpy as np

from ..model.network import Network
from ..model.slices import Plane
from ..sweeps.result import SweptPath
from ..utils.validation import as_dtype, as_positive_int, readonly

FORMAT = "fastrelu.StoredResult/2"
FIELDS = ("x", "y", "slope", "negative", "negative_by_layer")
PLANE_FIELDS = FIELDS[1:]  # a plane's pixels have coordinates u and v, stored once, not per chunk
BEING_MADE = {"format": FORMAT, "fingerprint": None}
ATTRIBUTES = ("fingerprint", "grid", "n", "dtype", "chunk", "backend", "activations", "along", "request")


def _zarr():
    try:
        import zarr
    except ImportError as exc:  # pragma: no cover - the 'scale' extra is installed in CI
        raise ImportError(f"writing a Zarr store needs zarr: pip install 'fastrelu[scale]' ({exc})") from None
    return zarr


def _compressors():
    # lz4 with byte shuffle: ~3x faster than zstd at the same ratio on sweep outputs,
    # so that writing stays well behind computing
    return [_zarr().codecs.BloscCodec(cname="lz4", clevel=1, shuffle="shuffle")]


def _fingerprint(arrays, points, along, grid, n, dtype, chunk, backend, plane=None, path=None):
    """sha256 of everything a sweep's result depends on, as written in a store.

    ``arrays``: the network's ``_arrays()``; ``points``: None, or an explicit grid's
    points in consecutive blocks (a store's are read block by block, never whole);
    ``path``: None, or a path's sweep's ``(attribute, network arrays)`` (``_path_attr``);
    the rest as in the store's attributes.
    """
    h = hashlib.sha256(FORMAT.encode())
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    for block in points or ():
        h.update(np.ascontiguousarray(block).tobytes())
    # a plane or a path only when there is one: a line's fingerprint stays what it was
    extra = [plane] if plane is not None else []
    if path is not None:
        attr, path_arrays = path
        for name in sorted(path_arrays):
            h.update(b"path/" + name.encode())
            h.update(np.ascontiguousarray(path_arrays[name]).tobytes())
        extra.append({k: v for k, v in attr.items() if k != "network"})
    h.update(json.dumps([along, grid, n, dtype, chunk, backend] + extra).encode())
    return h.hexdigest()


def _path_attr(res):
    """A path's sweep's attribute ``path`` (its points, closedness and vertices' ``t``; the
    network's listing is added when it is written) and the network's arrays, or None."""
    if getattr(res, "swept_path", None) is None:
        return None
    swept = res.swept_path
    attr = {"points": np.asarray(swept.points, np.float64).tolist(), "closed": bool(swept.closed),
            "vertices": np.asarray(res.vertices, np.float64).tolist()}
    return attr, swept.network._arrays()


def _plane_attr(plane):
    """A ``Plane`` as plain data (the store's attribute ``plane``), or None."""
    if plane is None:
        return None
    return {"origin": np.asarray(plane.origin, np.float64).tolist(), "directions": np.asarray(plane.directions, np.float64).tolist(),
            "points": np.asarray(plane.points, np.float64).reshape(-1, 2).tolist(), "bounds": [list(b) for b in plane.bounds]}


def _plane_from(root):
    """The store's ``Plane``, or None for a line's store."""
    attr = root.attrs.get("plane")
    if attr is None:
        return None
    return Plane(np.array(attr["origin"], np.float64), np.array(attr["directions"], np.float64),
                 np.array(attr["points"], np.float64).reshape(-1, 2), tuple(tuple(float(x) for x in b) for b in attr["bounds"]))


def _fields(plane):
    return FIELDS if plane is None else PLANE_FIELDS


def _line_attr(along):
    return None if along is None else [np.asarray(a, np.float64).tolist() for a in along]


def _damaged(path, what):
    return ValueError(
        f"{os.fspath(path)!r} is a damaged fastrelu result store: {what}; "
        "sweep into it again with overwrite=True to replace it"
    )


def _array(root, name, path):
    try:
        return root[name]
    except Exception as exc:  # KeyError when deleted; zarr's own errors when its metadata is garbage
        raise _damaged(path, f"array {name!r} is missing or unreadable ({type(exc).__name__}: {exc})") from None


def _shapes(net, n, nu=None):
    """Each field's shape: ``n`` points of a line, or ``n`` rows of ``nu`` pixels of a plane."""
    out = () if net.out_features == 1 else (net.out_features,)
    if nu is not None:
        return {"y": (n, nu, *out), "slope": (n, nu, *out, 2), "negative": (n, nu), "negative_by_layer": (n, nu, net.depth),
                "u": (nu,), "v": (n,)}
    return {"x": (n,), "y": (n, *out), "slope": (n, *out), "negative": (n,), "negative_by_layer": (n, net.depth)}


def _columns(attrs):
    """Pixels per row of a plane's store (its grid's ``u``), or None for a line's."""
    return None if attrs.get("plane") is None else int(attrs["grid"]["u"]["n"])


def _check(root, path):
    """The store's attributes, network and line, once it is sure nothing in it is
    missing, malformed or edited since it was written; else ValueError naming the
    store and what is wrong."""
    attrs = dict(root.attrs)
    for name in ATTRIBUTES:
        if name not in attrs:
            raise _damaged(path, f"attribute {name!r} is missing")
    try:
        n, chunk = as_positive_int(attrs["n"], "attribute 'n'"), as_positive_int(attrs["chunk"], "attribute 'chunk'")
        as_dtype(attrs["dtype"], "attribute 'dtype'")
    except (TypeError, ValueError) as exc:
        raise _damaged(path, str(exc)) from None
    net = _network_from(root, path)
    points = None
    if attrs["grid"] is None:  # given points: hashed chunk by chunk, memory stays bounded
        stored = _array(root, "points", path)
        if stored.shape != (n,):
            raise _damaged(path, f"array 'points' has shape {stored.shape}, not ({n},)")
        points = (stored[lo : lo + chunk] for lo in range(0, n, chunk))
    # the attributes, network, line and points as they are now against the
    # fingerprint made when they were written: an edit of any of them (the chunk
    # size included, which would misplace the done flags) is caught here
    path_net = _path_network_from(root, path)
    fingerprint = _fingerprint(net._arrays(), points, attrs["along"], attrs["grid"], n, attrs["dtype"], chunk, attrs["backend"],
                               attrs.get("plane"), None if path_net is None else (attrs["path"], path_net._arrays()))
    if fingerprint != attrs["fingerprint"]:
        raise _damaged(path, "fingerprint mismatch: the store's network/grid was edited after it was written")
    try:
        nu = _columns(attrs)
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, f"attribute 'grid' does not describe a plane's pixels ({type(exc).__name__}: {exc})") from None
    shapes = {**_shapes(net, n, nu), "done": (-(-n // chunk),)}
    for name, shape in shapes.items():
        array = _array(root, name, path)
        if array.shape != shape or (name == "done" and np.dtype(array.dtype) != bool):
            raise _damaged(path, f"array {name!r} is {array.dtype} of shape {array.shape}, not of shape {shape}")
    return attrs, net, _along_from(root)


def _foreign(path):
    # never replace what fastrelu did not write: zarr's mode="w" deletes the folder
    return ValueError(
        f"out={os.fspath(path)!r} exists and is not a fastrelu result store; choose another path "
        "(it is not deleted, even with overwrite=True: delete it yourself if it is to be replaced)"
    )


def _open_existing(path, fingerprint, overwrite):
    """The store at ``path`` if it was made by the same request; None if there is
    nothing in ``path`` to keep (then ``_create`` replaces it)."""
    zarr = _zarr()
    if not os.path.exists(path) or (os.path.isdir(path) and not os.listdir(path)):
        return None
    try:
        root = zarr.open_group(path, mode="r+")
        attrs = dict(root.attrs)
    except Exception:
        raise _foreign(path) from None
    if attrs.get("format") != FORMAT:
        if not attrs and os.listdir(path) == ["zarr.json"]:
            return None  # an empty group: where an earlier version stopped if killed right after creating it
        raise _foreign(path)
    if attrs.get("fingerprint") is None:  # its creation was interrupted: no result in it
        return None
    if overwrite and attrs["fingerprint"] != fingerprint:
        return None  # replaced, damaged or not
    try:
        _check(root, path)  # even for the same request: resuming an edited store would mix two sweeps
    except ValueError:
        if overwrite:
            return None
        raise
    if attrs["fingerprint"] != fingerprint:
        raise ValueError(
            f"out={os.fspath(path)!r} holds a sweep of another network, grid, dtype, chunk or backend; "
            "use the same arguments to resume it, or overwrite=True to replace it"
        )
    return root


def _clear(path):
    """Empty the fastrelu store at ``path`` in an order that keeps it replaceable
    wherever it is killed: first it is marked "being made", then its members go."""
    root = _zarr().open_group(path, mode="r+")
    root.attrs.put(dict(BEING_MADE))  # a copy: zarr keeps the dict it is given, and changes it
    for entry in os.listdir(path):
        if entry != "zarr.json":
            full = os.path.join(path, entry)
            shutil.rmtree(full) if os.path.isdir(full) else os.remove(full)


def _create(path, plan, chunk, fingerprint, res=None):
    zarr = _zarr()
    n, dtype = plan.grid.n, plan.dtype
    nu = None
    if plan.plane is not None:  # rows of pixels
        n, nu = plan.grid.shape
    if os.path.isdir(path) and os.listdir(path):  # only ever a store _open_existing let go
        _clear(path)
    try:
        # "being made" in the group's own first write: there is no moment at which
        # the group exists unmarked (zarr writes each file atomically)
        root = zarr.open_group(path, mode="w", attributes=dict(BEING_MADE))  # a copy, as in _clear
    except (OSError, PermissionError) as exc:
        raise ValueError(f"cannot write out={os.fspath(path)!r}: {exc}") from None
    net = plan.net
    shapes = _shapes(net, n, nu)
    for name in _fields(plan.plane):
        root.create_array(
            name, shape=shapes[name], chunks=(min(chunk, n), *shapes[name][1:]),
            dtype=np.int32 if name.startswith("negative") else dtype, compressors=_compressors(), fill_value=0,
        )
    if plan.plane is not None:  # the pixels' coordinates, as the in-memory sweep builds them
        root.create_array("u", data=plan.grid.u.build(dtype), compressors=None)
        root.create_array("v", data=plan.grid.v.build(dtype), compressors=None)
    activations, text, names = _network_to(root, net)
    path_attr = None
    if getattr(res, "swept_path", None) is not None:  # a path's sweep: the path and the network swept along it
        path_attr = _path_attr(res)[0]
        act, txt, arr = _network_to(root, res.swept_path.network, "path/network")
        path_attr["network"] = {"activations": act, "arrays": arr, "text": txt}
    if plan.grid.points is not None:
        root.create_array("points", data=np.ascontiguousarray(plan.grid.points), chunks=(min(chunk, n),), compressors=_compressors())
    root.create_array("done", shape=(-(-n // chunk),), chunks=(1,), dtype=bool, fill_value=False, compressors=None)
    # the attributes go last: a store whose creation was interrupted has only
    # BEING_MADE, and is then replaced rather than resumed half-made
    root.attrs.update(
        {
            "format": FORMAT, "fingerprint": fingerprint, "grid": plan.grid.params(), "n": n,
            "dtype": dtype.name, "chunk": chunk, "backend": plan.backend, "activations": activations,
            "along": _line_attr(plan.along), "request": uuid.uuid4().hex, "plane": _plane_attr(plan.plane),
            "network": {"arrays": names, "text": text}, "path": path_attr,
        }
    )
    return root


def _network_to(root, net, where="network"):
    """Write ``net`` as ``Network.save`` does (its ``_arrays()``, one format for chains and
    graphs): numbers as arrays ``network/<name>``, text (the activations, a graph's nodes)
    as JSON in the attributes, since Zarr v3 specifies no string arrays.  Returns the
    activations, the other texts and the arrays' names, for the attributes."""
    arrays = net._arrays()
    activations = str(arrays.pop("activations"))
    text, names = {}, []
    for name, value in arrays.items():
        if value.dtype.kind == "U":
            text[name] = str(value)
        else:
            root.create_array(f"{where}/{name}", data=np.ascontiguousarray(value), compressors=None)
            names.append(name)
    return activations, text, names


def _network_from(root, path):
    attrs = root.attrs
    try:
        depth = len(json.loads(attrs["activations"]))
    except (KeyError, TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise _damaged(path, f"attribute 'activations' is not a list of activations ({type(exc).__name__}: {exc})") from None
    listed = attrs.get("network")
    if listed is not None:  # the arrays and texts written by _network_to
        try:
            names, text = [str(a) for a in listed["arrays"]], {str(k): np.array(str(v)) for k, v in listed["text"].items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise _damaged(path, f"attribute 'network' does not list the network's arrays ({type(exc).__name__}: {exc})") from None
    else:  # a store written before the attribute: a dense chain's layers, or a graph's arrays as written then
        text = {}
        try:
            old = sorted(root["network"].array_keys())
        except KeyError:  # no network group at all: the first array is then missing, by name
            old = []
        names = old if "graph" in old else [f"{kind}_{k}" for k in range(depth + 1) for kind in ("weight", "bias")]
    arrays = {name: _array(root, f"network/{name}", path)[...] for name in names}
    try:
        return Network._from_npz({**arrays, **text, "activations": np.array(attrs["activations"])}, "the store")
    except (TypeError, ValueError) as exc:
        raise _damaged(path, f"its network is not valid ({exc})") from None


def _path_network_from(root, path):
    """The network a path's store was swept along (attribute ``path``), or None."""
    attr = root.attrs.get("path")
    if attr is None:
        return None
    try:
        listed = attr["network"]
        names, text = [str(a) for a in listed["arrays"]], {str(k): np.array(str(v)) for k, v in listed["text"].items()}
        data = {**text, "activations": np.array(str(listed["activations"]))}
    except (KeyError, TypeError, AttributeError) as exc:
        raise _damaged(path, f"attribute 'path' does not list its network ({type(exc).__name__}: {exc})") from None
    data.update({name: _array(root, f"path/network/{name}", path)[...] for name in names})
    try:
        return Network._from_npz(data, "the store's path")
    except (TypeError, ValueError) as exc:
        raise _damaged(path, f"its path's network is not valid ({exc})") from None


def _swept_path_from(root, path):
    """The store's ``(vertices, SweptPath)`` of a path's sweep, or ``(None, None)``."""
    net = _path_network_from(root, path)
    if net is None:
        return None, None
    attr = root.attrs["path"]
    points = readonly(np.array(attr["points"], np.float64))
    return readonly(np.array(attr["vertices"], np.float64)), SweptPath(points, bool(attr["closed"]), net)


def _along_from(root):
    along = root.attrs.get("along")
    return None if along is None else tuple(np.array(a, np.float64) for a in along)
