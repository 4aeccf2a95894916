"""The figure of a region map: a plane's linear regions, and the output over them.

Left, the map itself: each face filled with a colour drawn from its activation pattern's
hash (the same pattern keeps its colour in another map of the same widths, e.g. across
training), the edges shaded by the layer whose unit made them (earlier layers darker),
the three points the plane was drawn through. Right, the three quantities of a sweep
over the plane, read off the faces pixel by pixel (exact: each pixel's values come from
its face's affine map, as the exact backend reads a line's points off their pieces):
the output (blue), the size of its gradient in the plane (green) and the number of
negative units (orange), with the region edges over them.

matplotlib is imported when a figure is drawn, never by importing this module.
"""

import numpy as np

from ..model.describe import architecture, network_title
from .files import check_figure_path, save_figure
from .panels import new_figure
from .style import SHADES

#: Past this many faces the edges are left out by default: at 10^5 faces they would
#: cover the faces, whose colours already show every region.
MAX_EDGES_FACES = 20_000

#: Pixels along each side of the right-hand panels, by default.
PIXELS = 400


def face_colors(pattern_hash):
    """One light, saturated-enough RGB colour per face from its pattern hash (uint64).

    Hue, saturation and value come from three separate 16-bit parts of the hash, so two
    neighbouring faces (whose patterns differ in one unit) get unrelated colours.  The
    figure and the page (``region_map_html``) colour faces with this one function.

    Examples
    --------
    >>> face_colors(np.array([1, 2], np.uint64)).shape
    (2, 3)
    """
    h = np.asarray(pattern_hash, np.uint64)
    part = lambda shift: ((h >> np.uint64(shift)) & np.uint64(0xFFFF)).astype(np.float64) / 65535.0  # noqa: E731
    return _hsv_to_rgb(part(0), 0.2 + 0.3 * part(16), 0.84 + 0.14 * part(32))


def face_rgba32(pattern_hash):
    """``face_colors`` packed as ``0xRRGGBBAA`` (uint32, opaque): the page's face colours.

    Examples
    --------
    >>> hex(int(face_rgba32(np.array([0], np.uint64))[0]) & 0xFF)
    '0xff'
    """
    rgb = np.rint(face_colors(pattern_hash) * 255.0).astype(np.uint32)
    return (rgb[:, 0] << np.uint32(24)) | (rgb[:, 1] << np.uint32(16)) | (rgb[:, 2] << np.uint32(8)) | np.uint32(255)


def _hsv_to_rgb(h, s, v):
    """HSV (each in [0, 1]) to RGB ``(N, 3)``: the hexcone model, in numpy (no matplotlib for the page)."""
    h6 = h * 6.0
    sector = np.floor(h6).astype(np.int64) % 6
    f = h6 - np.floor(h6)
    p, q, t = v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f))
    table = np.stack([np.stack(c, axis=1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))])
    return table[sector, np.arange(h.shape[0])]


def pixel_values(m, pixels=PIXELS, output=0):
    """The sweep's quantities on a ``pixels`` x ``pixels`` grid of the map's rectangle.

    Each pixel centre is located in its face and read off the face's affine map.

    Returns
    -------
    extent : (u0, u1, v0, v1)
    y, gradient, negative : ndarray, shape (pixels, pixels)
        Output ``output``, the length of its gradient in the plane and the negative count;
        rows are v (bottom row first), columns u. NaN / -1 where no face holds a pixel.

    Examples
    --------
    >>> import fastrelu
    >>> m = fastrelu.regions(fastrelu.Network.random([2, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)))
    >>> [a.shape for a in pixel_values(m, pixels=16)[1:]]
    [(16, 16), (16, 16), (16, 16)]
    """
    (u0, u1), (v0, v1) = m.bounds
    du, dv = (u1 - u0) / pixels, (v1 - v0) / pixels
    u = u0 + (np.arange(pixels) + 0.5) * du
    v = v0 + (np.arange(pixels) + 0.5) * dv
    uu, vv = np.meshgrid(u, v)
    pts = np.stack([uu.ravel(), vv.ravel()], axis=1)
    face = np.asarray(m.locate(pts))
    inside = face >= 0
    f = np.where(inside, face, 0)
    slope = np.asarray(m.slope)
    intercept = np.asarray(m.intercept)
    if slope.ndim == 3:  # several outputs: the one asked for
        slope, intercept = slope[:, output, :], intercept[:, output]
    y = np.where(inside, np.einsum("ij,ij->i", slope[f], pts) + intercept[f], np.nan)
    grad = np.where(inside, np.hypot(slope[f, 0], slope[f, 1]), np.nan)
    neg = np.where(inside, np.asarray(m.negative)[f], -1)
    shape = (pixels, pixels)
    return (u0, u1, v0, v1), y.reshape(shape), grad.reshape(shape), neg.reshape(shape)


def _edge_segments(m, inner=True):
    """Segments ``(E, 2, 2)`` of the map's edges and their layers (sides of the rectangle left out)."""
    layer = np.asarray(m.edge_units)[:, 0]
    keep = layer >= 0 if inner else np.ones(layer.shape, bool)
    seg = np.asarray(m.vertices)[np.asarray(m.edges)[keep]]
    return seg, layer[keep]


def edge_greys(n_layers):
    """The grey (0 black, 1 white) of the edges that each of ``n_layers`` hidden layers
    makes: the first darkest (0.1), the last lightest (0.65), evenly between.  The layers
    are the walk's (``RegionMap.layer_widths``): a graph network's act and max-pool nodes
    in order.  The figure and the page (``region_map_html``) shade edges by this one rule.

    Examples
    --------
    >>> edge_greys(3)
    array([0.1  , 0.375, 0.65 ])
    """
    # earlier layers darker: their lines cross the whole plane
    return 0.1 + 0.55 * np.arange(max(int(n_layers), 1)) / max(int(n_layers) - 1, 1)


def _draw_edges(ax, m, linewidth, alpha=1.0, color=None):
    from matplotlib.collections import LineCollection

    seg, layer = _edge_segments(m)
    if not seg.shape[0]:
        return
    if color is None:
        grey = edge_greys(len(m.layer_widths))[layer]
        color = np.stack([grey, grey, grey, np.full_like(grey, alpha)], axis=1)
    # autolim=False: the axes' limits are the rectangle, set by the caller (and measuring
    # 10^5 paths for limits costs a second)
    ax.add_collection(LineCollection(seg, colors=color, linewidths=linewidth, alpha=alpha if color is not None else None),
                      autolim=False)


def _halo(width):
    """A white outline under a line or text, so that it reads over faces of any colour."""
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]


def _mark_points(ax, m):
    pts = np.asarray(m.points)
    if pts.shape[0]:
        ax.plot(pts[:, 0], pts[:, 1], "o", ms=7, mfc="white", mec="black", mew=1.4, zorder=6, gid="points")
        for i, (u, v) in enumerate(pts):
            ax.annotate(f"x{i}", (u, v), xytext=(6, 5), textcoords="offset points", fontsize="medium",
                        fontweight="bold", zorder=6, path_effects=_halo(2.5), gid=f"point_label_{i}")


def _draw_decisions(ax, m):
    """The classifier's decision boundary (exact segments, ``RegionMap.decision_boundary``), thick and dark."""
    from matplotlib.collections import LineCollection

    segments = np.asarray(m.decision_boundary().segments)
    if segments.shape[0]:
        # black over a white outline: apart from the edges, whose greys are as dark as black for layer 1
        ax.add_collection(LineCollection(segments, colors="black", linewidths=1.8, zorder=4, gid="decisions",
                                         label="decision boundary", path_effects=_halo(4.0)), autolim=False)
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.06), fontsize="small", frameon=False)
    return segments.shape[0]


def region_map_figure(m, *, edges=None, decisions=None, pixels=PIXELS, output=0, title=None, figsize=(14, 10), dpi=150):
    """A figure of a region map: the faces and, beside them, the output over the plane.

    Parameters
    ----------
    m : RegionMap
        From ``fastrelu.regions(net, plane=...)`` or ``regions(net, bounds=...)``.
    edges : bool, optional
        Draw the faces' edges on the map. By default they are drawn up to
        ``MAX_EDGES_FACES`` faces (20,000); past that, the faces' colours alone show the
        regions and the edges would cover them.
    decisions : bool, optional
        Draw the decision boundary (where the top two outputs tie, or the one output is
        0), exactly as ``m.decision_boundary()`` gives it; by default for a network of
        several outputs, a classifier's shape.
    pixels : int, default 400
        Pixels along each side of the three panels on the right.
    output : int, default 0
        The output drawn on the right, for a network of several.
    title : str, optional
        The figure's title; by default the network, the number of faces and the plane.
    figsize, dpi
        Size and resolution.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.plot import region_map_figure
    >>> m = fastrelu.regions(fastrelu.Network.random([2, 16, 16, 1], seed=0), bounds=((-1, 1), (-1, 1)))
    >>> fig = region_map_figure(m, pixels=64)
    >>> [ax.get_title() for ax in fig.axes][:2]
    ['linear regions', 'output y']
    """
    from matplotlib.collections import PolyCollection

    out = m.network.out_features
    if not (isinstance(output, (int, np.integer)) and 0 <= output < out):
        raise ValueError(f"output must be an int from 0 to {out - 1}, got {output!r}")
    pixels = int(pixels)
    if pixels < 2:
        raise ValueError(f"pixels must be at least 2, got {pixels}")
    show_edges = len(m) <= MAX_EDGES_FACES if edges is None else bool(edges)
    fig = _figure(figsize, dpi)
    grid = fig.add_gridspec(3, 2, width_ratios=(1.9, 1))
    ax_map = fig.add_subplot(grid[:, 0])
    right = [fig.add_subplot(grid[i, 1]) for i in range(3)]
    (u0, u1), (v0, v1) = m.bounds

    ax_map.add_collection(PolyCollection(_polygons(m), facecolors=face_colors(m.pattern_hash), edgecolors="none",
                                         antialiased=False), autolim=False)
    if show_edges:
        _draw_edges(ax_map, m, linewidth=0.8 if len(m) < 2000 else 0.4)
    if m.network.out_features > 1 if decisions is None else decisions:
        _draw_decisions(ax_map, m)
    _mark_points(ax_map, m)
    ax_map.set_xlim(u0, u1)
    ax_map.set_ylim(v0, v1)
    ax_map.set_aspect(_aspect(extent_of(m.bounds)))
    ax_map.set_title("linear regions")
    ax_map.set_xlabel("u")
    ax_map.set_ylabel("v")

    extent, y, grad, neg = pixel_values(m, pixels, output)
    draw_plane_panels(fig, right, extent, y, grad, neg, "output y" if out == 1 else f"output y[{output}]",
                      edges_of=m if show_edges else None)
    fig.suptitle(title if title is not None else _title(m))
    return fig


def draw_plane_panels(fig, axes, extent, y, grad, neg, y_name, edges_of=None):
    """The three quantities over a plane, one image each: the output (blue), the size of its
    gradient (green) and the negative count (orange), with colour bars; the region map's
    figure and a plane sweep's draw them with this one function.

    ``axes`` are three matplotlib Axes; ``extent`` ``(u0, u1, v0, v1)`` the pixels' outer
    edges; ``y``, ``grad``, ``neg`` arrays ``(nv, nu)`` (bottom row first); ``edges_of`` a
    RegionMap whose edges are drawn over the images (white, fainter as faces crowd).
    """
    panels = (
        (axes[0], y, SHADES["output"], y_name),
        (axes[1], grad, SHADES["slope"], "gradient |∇y| in the plane"),
        (axes[2], np.asarray(neg, np.float64), SHADES["negative"], "negative units"),
    )
    for ax, values, cmap, name in panels:
        image = ax.imshow(values, origin="lower", extent=extent, cmap=cmap, interpolation="nearest", aspect=_aspect(extent))
        fig.colorbar(image, ax=ax, shrink=0.9)
        if edges_of is not None:  # fainter as they crowd, so that the values under them still read
            _draw_edges(ax, edges_of, linewidth=0.2, color=(1.0, 1.0, 1.0, _right_edge_alpha(len(edges_of))))
        ax.set_title(name, fontsize="medium")
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])


def plane_sweep_figure(res, *, output=0, regions=None, title=None, figsize=(15, 5.2), dpi=150):
    """A figure of a plane's sweep (``fastrelu.sweep(net, plane=...)`` or ``bounds=``): its output,
    gradient size and negative count over the pixels, as the region map figure's right-hand
    panels draw them (``draw_plane_panels``), side by side.

    Parameters
    ----------
    res : SweepResult
        A result on a plane (``res.plane`` is set).
    output : int, default 0
        The output drawn, for a network of several.
    regions : RegionMap, optional
        A region map of the same plane (``fastrelu.regions(net, plane=...)``): its edges are
        drawn over the images.
    title : str, optional
        The figure's title; by default the network and the pixels.
    figsize, dpi
        Size and resolution.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import fastrelu
    >>> from fastrelu.plot.region_map import plane_sweep_figure
    >>> res = fastrelu.sweep(fastrelu.Network.random([2, 8, 1], seed=0), bounds=((-1, 1), (-1, 1)), num=(32, 32))
    >>> [ax.get_title() for ax in plane_sweep_figure(res).axes][:3]
    ['output y', 'gradient |∇y| in the plane', 'negative units']
    """
    if getattr(res, "plane", None) is None:
        raise TypeError("plane_sweep_figure() draws the sweep of a plane (sweep(net, plane=...) or bounds=); "
                        "a line's sweep is drawn by sweep_figure")
    out = res.network.out_features
    if not (isinstance(output, (int, np.integer)) and 0 <= output < out):
        raise ValueError(f"output must be an int from 0 to {out - 1}, got {output!r}")
    u, v = np.asarray(res.u, np.float64), np.asarray(res.v, np.float64)
    y = np.asarray(res.y)
    slope = np.asarray(res.slope)
    if y.ndim == 3:
        y, slope = y[:, :, output], slope[:, :, output, :]
    grad = np.hypot(slope[..., 0], slope[..., 1])
    fig = _figure(figsize, dpi)
    axes = [fig.add_subplot(1, 3, k + 1) for k in range(3)]
    draw_plane_panels(fig, axes, _extent(u, v, res.bounds), y, grad, res.negative,
                      "output y" if out == 1 else f"output y[{output}]", edges_of=regions)
    for ax in axes:
        ax.set_xlabel("u")
        _mark_points(ax, res.plane)  # the three points, if the plane runs through three
    axes[0].set_ylabel("v")
    if title is None:
        where = "the plane through x0, x1, x2" if np.asarray(res.plane.points).shape[0] else "its input plane"
        title = f"{_name(res.network, np.asarray(res.plane.directions).shape[1])} on {where}: {u.shape[0]:,} x {v.shape[0]:,} pixels ({res.backend})"
    fig.suptitle(title)
    return fig


def _extent(u, v, bounds):
    """The images' outer edges: each pixel a cell around its centre (the rectangle when there is one pixel)."""
    (u0, u1), (v0, v1) = bounds
    du = (u[-1] - u[0]) / (u.shape[0] - 1) if u.shape[0] > 1 else u1 - u0
    dv = (v[-1] - v[0]) / (v.shape[0] - 1) if v.shape[0] > 1 else v1 - v0
    return (u[0] - du / 2, u[-1] + du / 2, v[0] - dv / 2, v[-1] + dv / 2)


def extent_of(bounds):
    """``((u0, u1), (v0, v1))`` as matplotlib's extent ``(u0, u1, v0, v1)``."""
    (u0, u1), (v0, v1) = bounds
    return (u0, u1, v0, v1)


def _aspect(extent):
    """Equal scales (a unit of u is a unit of v) unless the rectangle is more than 4 times
    longer one way than the other, where equal scales would leave a sliver: then "auto"."""
    u0, u1, v0, v1 = extent
    return "equal" if 0.25 <= (v1 - v0) / (u1 - u0) <= 4 else "auto"


def _polygons(m):
    """The faces' polygons as one array ``(F, D, 2)``, D the most corners of a face, each
    padded with its last corner (which adds no area): matplotlib builds the paths of such
    an array five times faster than of a list of arrays (1 s instead of 5 at 10^5 faces)."""
    offsets = np.asarray(m.face_offsets)
    deg = np.diff(offsets)
    if deg.size == 0:
        return np.zeros((0, 3, 2))
    corner = np.minimum(np.arange(deg.max())[None, :], (deg - 1)[:, None])
    return np.asarray(m.vertices)[np.asarray(m.face_vertices)[offsets[:-1, None] + corner]]


def _right_edge_alpha(faces):
    """Opacity of the white edges over the right-hand panels: 0.35 up to 1,000 faces, then
    falling as 1/sqrt(faces) (the edges' length per panel grows so), to 0.1 at 12,000."""
    return float(np.clip(0.35 * np.sqrt(1000 / max(faces, 1)), 0.1, 0.35))


def _figure(figsize, dpi):
    fig, axes = new_figure(1, 1, figsize, dpi)
    fig.delaxes(axes[0, 0])
    return fig


def _title(m):
    where = "the plane through x0, x1, x2" if np.asarray(m.points).shape[0] else "its input plane"
    extra = f"; {m.n_kinks:,} of {m.n_boundaries:,} edges are kinks" if m.n_boundaries else ""
    return f"{_name(m.network, m.origin.shape[0])}: {len(m):,} linear regions on {where}{extra}"


def _name(net, n_in):
    """The network in a title: a chain by its widths (``n_in`` inputs: the plane's space), a
    graph as ``network_title`` names it (with the plane folded in, its input is the embed node's)."""
    if not net.is_graph:
        return f"{architecture((n_in, *net.widths[1:]))} network"
    folded = net.graph.nodes[1].kind == "embed"
    # network_title reads a folded graph's input shape off its embed node when given a slice
    return network_title(net, along=((0,), (0,)) if folded else None).removesuffix(", along a line")


def save_region_map(m, path, **kwargs):
    """Draw ``m`` with ``region_map_figure`` and save it to ``path`` (.png, .svg or .pdf)."""
    path = check_figure_path(path)
    save_figure(region_map_figure(m, **kwargs), path)
    return path
