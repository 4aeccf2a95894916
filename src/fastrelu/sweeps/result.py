"""``SweepResult``: what a sweep returns, and its ``.npz`` form."""

from typing import NamedTuple

import numpy as np

from ..model.network import Network
from ..model.slices import Plane
from ..utils.files import open_for_writing, open_npz
from ..utils.plugins import provided
from ..utils.validation import readonly

_FORMAT = "fastrelu.SweepResult/1"


class SweptPath(NamedTuple):
    """The path a path's sweep ran along (``sweep(net, path=...)``, ``SweepResult.swept_path``).

    Examples
    --------
    >>> import fastrelu, numpy as np
    >>> p = SweptPath(np.eye(3), True, fastrelu.Network.random([3, 4, 1], seed=0))
    >>> p.points.shape, p.closed
    ((3, 3), True)
    """

    points: np.ndarray  # (k + 1, in) float64: its vertices in input space, in order
    closed: bool  # back to its first point
    network: Network  # the network swept along it (the result's ``network`` is its first segment's)


class SweepResult:
    """Output, slope and negative-unit count of a network at every grid point.

    Attributes
    ----------
    x : ndarray, shape (N,)
        Grid points: ``x`` itself for a network of a scalar, the coordinate ``t`` along
        the line ``x0 + t*(x1 - x0)`` for a sweep ``along=(x0, x1)``.
    y, slope : ndarray, shape (N,), or (N, out) for several outputs
        Output and slope dy/dx (dy/dt along a line), of ``x``'s float dtype.
    negative : ndarray of int32, shape (N,)
        Number of hidden units, over all hidden layers, with pre-activation ``<= 0``.
    negative_by_layer : ndarray of int32, shape (N, depth)
        The same count for each hidden layer.
    network : Network
        The network that was swept, as a function of ``x`` (along a line: the network
        with the line folded into its first layer, ``Network.along``).
    along : (ndarray, ndarray) or None
        The line's ends ``(x0, x1)``, or None.
    backend : str
        Name of the backend that computed the result.
    vertices : ndarray of float64, or None
        A path's sweep (``sweep(net, path=...)``): the arc length ``t`` of its vertices.
    swept_path : SweptPath or None
        A path's sweep: its points, whether it is closed, and the network swept along it.

    On a plane (``sweep(net, plane=...)`` or ``bounds=``), the grid is one of pixels:

    u, v : ndarray, shapes (nu,) and (nv,)
        The pixels' plane coordinates: column ``i`` is ``u[i]``, row ``j`` is ``v[j]``.
        ``x`` is None.
    y : ndarray, shape (nv, nu), or (nv, nu, out)
    slope : ndarray, shape (nv, nu, 2), or (nv, nu, out, 2)
        The gradient in the plane (last axis: along ``u``, along ``v``).
    negative, negative_by_layer : ndarrays of int32, shapes (nv, nu) and (nv, nu, depth)
    plane : Plane
        ``origin``, ``directions`` (2, in) and ``points`` (the three inputs' plane
        coordinates, (0, 2) for a network's own input plane) of the plane; ``plane.bounds``
        is the swept rectangle (``bounds``).  ``network`` is the network of ``(u, v)``.
    bounds : ((u0, u1), (v0, v1))
        The swept rectangle; a figure's extent (``res.u`` and ``res.v`` hold the pixels).

    Notes
    -----
    The arrays are read-only.  At a kink the slope is that of the side where the
    switching unit is off: a ReLU unit counts as active only where its
    pre-activation is ``> 0`` (ReLU's derivative at 0 is taken as 0, as PyTorch does).

    Examples
    --------
    >>> import fastrelu
    >>> res = fastrelu.sweep(fastrelu.Network([1.0], [0.0], [1.0]), -1.0, 1.0, 1.0)
    >>> res.x, res.slope, res.negative
    (array([-1.,  0.,  1.]), array([0., 0., 1.]), array([1, 1, 0], dtype=int32))
    """

    __slots__ = ("x", "y", "slope", "negative", "negative_by_layer", "network", "backend", "along", "_slope_changes",
                 "u", "v", "plane", "vertices", "swept_path")

    def __init__(self, x, y, slope, negative, *, network, backend, negative_by_layer=None, along=None, plane=None, u=None,
                 v=None):
        self.u = self.v = self.plane = None
        self.vertices = None  # a path's sweep (sweep(path=)): the t of its vertices
        self.swept_path = None  # and the path (SweptPath)
        if plane is not None:
            self._plane_init(y, slope, negative, network, backend, negative_by_layer, plane, u, v)
            return
        self.x, self.y, self.slope = (readonly(np.asarray(a)) for a in (x, y, slope))
        self.negative = readonly(np.asarray(negative, np.int32))
        n = self.x.shape[0] if self.x.ndim == 1 else -1
        value_shape = (n,) if network.out_features == 1 else (n, network.out_features)
        if self.x.ndim != 1 or self.negative.shape != (n,) or self.y.shape != value_shape or self.slope.shape != value_shape:
            raise ValueError(f"x and negative must be 1-D arrays of one length, y and slope of shape {value_shape}")
        if negative_by_layer is None:
            if network.depth != 1:
                raise ValueError("negative_by_layer is needed for a network of several hidden layers")
            negative_by_layer = self.negative[:, None]
        self.negative_by_layer = readonly(np.asarray(negative_by_layer, np.int32))
        if self.negative_by_layer.shape != (n, network.depth):
            raise ValueError(f"negative_by_layer must have shape ({n}, {network.depth})")
        self.network, self.backend = network, backend
        self.along = None if along is None else tuple(readonly(np.asarray(a, np.float64)) for a in along)
        self._slope_changes = None

    def _plane_init(self, y, slope, negative, network, backend, negative_by_layer, plane, u, v):
        """The fields of a plane's result, their shapes checked (see the class docstring)."""
        self.u, self.v = (readonly(np.asarray(a)) for a in (u, v))
        if self.u.ndim != 1 or self.v.ndim != 1:
            raise ValueError("u and v must be 1-D arrays of the pixels' coordinates")
        grid = (self.v.shape[0], self.u.shape[0])
        value_shape = grid if network.out_features == 1 else grid + (network.out_features,)
        self.x, self.y, self.slope = None, readonly(np.asarray(y)), readonly(np.asarray(slope))
        self.negative = readonly(np.asarray(negative, np.int32))
        self.negative_by_layer = readonly(np.asarray(negative_by_layer, np.int32))
        if (self.y.shape != value_shape or self.slope.shape != value_shape + (2,) or self.negative.shape != grid
                or self.negative_by_layer.shape != grid + (network.depth,)):
            raise ValueError(
                f"on a plane of {grid[0]} x {grid[1]} pixels y must have shape {value_shape}, slope {value_shape + (2,)}, "
                f"negative {grid} and negative_by_layer {grid + (network.depth,)}"
            )
        if network.in_features != 2:
            raise ValueError(f"a plane's result holds the network of its two coordinates, not of {network.in_features}")
        origin, directions, points = (readonly(np.asarray(a, np.float64)) for a in plane[:3])
        bounds = tuple(tuple(float(b) for b in pair) for pair in plane.bounds)
        self.plane = Plane(origin, directions, points, bounds)
        self.network, self.backend, self.along, self._slope_changes = network, backend, None, None

    @property
    def bounds(self):
        """The swept rectangle ``((u0, u1), (v0, v1))`` of a plane's result (None on a line)."""
        return None if self.plane is None else self.plane.bounds

    @property
    def points(self):
        """The grid's points in one array: ``x`` (N,) on a line; on a plane the pixels
        ``(N, 2)``, rows ``(u, v)`` in the order of ``y.reshape(N, ...)`` (row-major)."""
        if self.plane is None:
            return self.x
        uu, vv = np.meshgrid(self.u, self.v)
        return np.stack([uu.ravel(), vv.ravel()], axis=1)

    @property
    def dtype(self):
        """The float dtype of ``x``, ``y`` and ``slope``."""
        return self.y.dtype

    @property
    def active(self):
        """Number of hidden units with pre-activation ``> 0`` (``H - negative``), int32."""
        return (self.network.hidden - self.negative).astype(np.int32)

    @property
    def slope_changes(self):
        """Boolean mask: the slope (of any output) differs from the previous point's (False at the first)."""
        if self.plane is not None:
            raise ValueError("slope_changes is a line's: on a plane compare slope along an axis")
        if self._slope_changes is None:
            mask = np.zeros(len(self), bool)
            changed = self.slope[1:] != self.slope[:-1]
            mask[1:] = changed if changed.ndim == 1 else changed.any(axis=1)
            self._slope_changes = readonly(mask)
        return self._slope_changes

    def __len__(self):
        """Points on a line; pixels (``nu * nv``) on a plane."""
        return self.x.shape[0] if self.plane is None else self.negative.size

    def __repr__(self):
        net = self.network
        shape = f"nodes={len(net.nodes)}" if net.is_graph else (f"hidden={net.hidden}" if net.depth == 1 else f"widths={list(net.widths)}")
        line = "" if self.along is None else ", along a line"
        if self.plane is not None:
            line = f", on a plane of {self.v.shape[0]} x {self.u.shape[0]} pixels"
        return f"SweepResult(points={len(self)}, {shape}, dtype={self.dtype.name}, backend={self.backend!r}{line})"

    # The options below are sweep_figure's and html's, spelled out so that help() and
    # IDEs show them (tests/test_first_hour.py keeps names and defaults in step).
    def plot(self, *, axes=None, title=None, seed=None, kinks=True, zoom=None, reduce="auto", columns=None,
             outputs=None, decisions=None, figsize=(10, 8), dpi=150):
        """A figure of this result: ``fastrelu.plot.sweep_figure(self, ...)``.

        Three stacked panels: the output, the slope and the count of negative units.
        ``StoredResult.plot`` is this method: a sweep in a Zarr store is drawn read chunk
        by chunk, and its zoom inset read from the store.

        Parameters
        ----------
        axes : sequence of three matplotlib Axes, optional
            Draw into these (output, slope, negative) instead of a new figure.
        title : str, optional
            Figure title; by default one naming the network and the grid.
        seed : int, optional
            The seed the network was drawn with, for the default title.
        kinks : bool, default True
            Mark the kinks with thin dotted vertical lines on every panel (False: none).
        zoom : None, "auto" or (lo, hi)
            Add an inset showing x (or t) from ``lo`` to ``hi``; ``"auto"`` picks
            where the kinks crowd.
        reduce : {"auto", True, False}
            Reduce each pixel column to its extremes before drawing.
        columns : int, optional
            Number of reduction columns; by default twice the figure width in pixels.
        outputs : sequence of int, optional
            The outputs to draw, of a network of several (default the first 10).
        decisions : bool, optional
            Mark where the predicted class changes (argmax of several outputs, sign of
            one) with dashed lines on the output panel, exactly (``Regions.decisions``);
            by default for a network of several outputs.
        figsize, dpi
            Size and resolution of a new figure.

        Returns
        -------
        matplotlib.figure.Figure

        See Also
        --------
        fastrelu.plot.sweep_figure : the same figure, each option in full.

        Examples
        --------
        >>> import fastrelu
        >>> res = fastrelu.sweep(fastrelu.Network.random(20, seed=0), -5, 5, 0.01)
        >>> fig = res.plot(seed=0, kinks=True)
        >>> fig.savefig("sweep.png")  # doctest: +SKIP
        """
        return provided("figure")(self, axes=axes, title=title, seed=seed, kinks=kinks, zoom=zoom, reduce=reduce,
                                  columns=columns, outputs=outputs, decisions=decisions, figsize=figsize, dpi=dpi)

    def to_html(self, path=None, *, start=None, stop=None, twin=False, title=None, seed=None, outputs=None, width=1000,
                max_pieces=None):
        """An interactive page of this result: ``fastrelu.plot.html(self, path, ...)``.

        The result carries its own line, so ``html``'s ``along`` is not an option here.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to write the page; None returns its text instead.
        start, stop : float, optional
            A narrower range than the result's own.
        twin : bool, default False
            Show the linear twin when the page opens.
        title : str, optional
            The heading; by default one naming the network.
        seed : int, optional
            The seed the network was drawn with, for the default heading.
        outputs : sequence of int, optional
            The outputs to draw, of a network of several (default the first 10).
        width : int, default 1000
            Width of the panels in CSS pixels.
        max_pieces : int, optional
            Past this many pieces the page holds a per-pixel reduction of them.

        Returns
        -------
        str or path
            The page's text when ``path`` is None, else ``path``.

        See Also
        --------
        fastrelu.plot.html : the same page, each option in full.

        Examples
        --------
        >>> import fastrelu
        >>> res = fastrelu.sweep(fastrelu.Network.random(20, seed=0), -5, 5, num=1001)
        >>> res.to_html("sweep.html")  # doctest: +SKIP
        """
        return provided("page")(self, path, start=start, stop=stop, twin=twin, title=title, seed=seed,
                                outputs=outputs, width=width, max_pieces=max_pieces)

    def _repr_html_(self):
        return provided("repr_html")(self)

    def save(self, path):
        """Save to a ``.npz`` file with its network; ``SweepResult.load`` reads it back.

        Examples
        --------
        >>> import fastrelu, tempfile, os
        >>> res = fastrelu.sweep(fastrelu.Network.random(4, seed=0), num=5)
        >>> path = os.path.join(tempfile.mkdtemp(), "res.npz")
        >>> res.save(path)
        >>> bool((fastrelu.SweepResult.load(path).y == res.y).all())
        True
        """
        net = {"network_" + k: v for k, v in self.network._arrays().items()}
        line = {} if self.along is None else {"along_x0": self.along[0], "along_x1": self.along[1]}
        if self.plane is not None:
            line = {"plane_u": self.u, "plane_v": self.v, "plane_origin": self.plane.origin,
                    "plane_directions": self.plane.directions, "plane_points": self.plane.points,
                    "plane_bounds": np.array(self.plane.bounds, np.float64)}
        if self.vertices is not None:  # a path's sweep: its vertices, and the path with the network swept along it
            line["path_vertices"] = self.vertices
        if self.swept_path is not None:
            line.update(path_points=self.swept_path.points, path_closed=np.array(bool(self.swept_path.closed)),
                        **{"path_network_" + k: v for k, v in self.swept_path.network._arrays().items()})
        with open_for_writing(path) as f:
            np.savez(
                f, format=np.array(_FORMAT), x=np.zeros(0) if self.x is None else self.x, y=self.y, slope=self.slope,
                negative=self.negative,
                negative_by_layer=self.negative_by_layer, backend=np.array(self.backend), **line, **net,
            )

    @classmethod
    def load(cls, path):
        """Load a result saved by ``SweepResult.save``."""
        with open_npz(path, "result") as data:
            if "format" not in data or str(data["format"]) != _FORMAT:
                raise ValueError(f"{str(path)!r} is not a fastrelu result (.npz) file")
            network = Network._from_npz(data, str(path), prefix="network_")
            by_layer = data["negative_by_layer"] if "negative_by_layer" in data else None
            along = (data["along_x0"], data["along_x1"]) if "along_x0" in data else None
            if "plane_u" in data:
                plane = Plane(data["plane_origin"], data["plane_directions"], data["plane_points"],
                              tuple(map(tuple, data["plane_bounds"].tolist())))
                return cls(None, data["y"], data["slope"], data["negative"], network=network, backend=str(data["backend"]),
                           negative_by_layer=by_layer, plane=plane, u=data["plane_u"], v=data["plane_v"])
            res = cls(
                data["x"], data["y"], data["slope"], data["negative"], network=network, backend=str(data["backend"]),
                negative_by_layer=by_layer, along=along,
            )
            if "path_vertices" in data:
                res.vertices = readonly(np.asarray(data["path_vertices"], np.float64))
            if "path_points" in data:
                res.swept_path = SweptPath(readonly(np.asarray(data["path_points"], np.float64)), bool(data["path_closed"]),
                                     Network._from_npz(data, str(path), prefix="path_network_"))
            return res
