"""``kinks`` and ``regions``: a network's exact breakpoints and linear pieces.

Two notions that are easy to confuse:

* an *activation boundary* is an x where some unit's pre-activation ``w1*x + b1``
  changes sign (``x = -b1/w1``; units with ``w1 == 0`` have none);
* a *kink* is an activation boundary where the slope actually changes.  A unit with
  ``w2 == 0``, the linear activation, or several units switching at one x whose
  slope changes cancel give boundaries that are not kinks.

``kinks(net)`` gives the kinks, ``kinks(net, boundaries=True)`` the boundaries.
The numerical work lives in the exact backend's kernels (``fastrelu.kernels.exact``:
sorting, exact sums; ``fastrelu.kernels.walk``: the layer-by-layer walk), loaded by
the dispatcher on first use so that ``import fastrelu`` does not load Numba.
"""

from typing import NamedTuple

import numpy as np

from ..kernels import threads as kthreads
from ..kernels.dense_numpy import sweep_deep, sweep_graph
from ..kernels.params import deep_params, graph_params, one_layer
from ..kernels.registry import module_of
from ..kernels.scale import walk_scales
from ..model.forward import pull_back_graph
from ..model.graph import affine
from ..model.network import on_line
from ..model.slices import default_range
from ..utils.files import open_for_writing
from ..utils.memory import available_memory
from ..utils.progress import check_progress, walk_bar
from ..utils.validation import as_interval
from .decisions import decision_points
from .paths import lengths, path_segments, vertex_changes
from .patterns import graph64, layout, node_states, pattern_hashes
from .plane import region_map

__all__ = ["Regions", "kinks", "regions"]


def _check(net, start, stop, along):
    """The network of one coordinate (a line folded in), and the interval, checked.

    None takes the sweep's default (``fastrelu.model.slices.default_range``: x from -100
    to 100, or t from 0 to 1 along a line), so that ``kinks``, ``regions`` and ``sweep``
    cover the same range unless told otherwise; ``-np.inf`` / ``np.inf`` ask for the whole
    line.
    """
    net, _ = on_line(net, along)
    start, stop = as_interval(*default_range(start, stop, along), open_ends=True)
    return net, start, stop


class _Pieces(NamedTuple):
    """The fine pieces that ``kinks`` and ``regions`` read, whichever exact kernel found them.

    ``edges`` (P + 1,) increasing, the interior ones finite: the activation boundaries;
    ``slope``, ``intercept`` (P, out) the output's line on each open piece;
    ``negative_by_layer`` (P, depth); ``kink`` (P - 1,) whether the slope changes at each
    interior edge; ``counts`` (P - 1,) how many units cross there; ``crossings(e)`` their
    ``(layer, unit)`` arrays.
    """

    edges: np.ndarray
    slope: np.ndarray
    intercept: np.ndarray
    negative_by_layer: np.ndarray
    kink: np.ndarray
    counts: np.ndarray
    crossings: object


def _pieces(net, start, stop, threads=None, progress=False):
    """The fine pieces of ``net`` (a network of one coordinate) covering ``[start, stop]``.

    One hidden layer of a scalar whose sums stay inside float64 (``_one_layer``): the
    sorted switch points, over the whole line.  Any other network: the layer-by-layer
    walk of ``[start, stop]`` and one float64 step beyond each end, so that a unit
    switching exactly at ``start`` or ``stop`` is an interior edge there, as the sorted
    switch points find it.  Callers keep only what lies in ``[start, stop]``.  The walk is
    not taken from the sweeps' cache: a walk of a wider interval may place an edge one
    rounding apart, and the same question must always get the same answer.  A deep dense
    network is walked on ``threads`` threads (None: as set; the same bits on any number),
    under a bar over its layers (``progress``, as ``regions`` takes it).
    """
    if _one_layer(net):
        return _one_layer_pieces(net)
    lo = np.nextafter(start, -np.inf) if np.isfinite(start) else start
    hi = np.nextafter(stop, np.inf) if np.isfinite(stop) else stop
    if net.is_graph:  # the walk through the graph's nodes (kernels/graph_walk.py); crossings name (node, unit)
        gp = module_of("exact", "graph").walk(graph_params(net, np.dtype(np.float64)), lo, hi, threads=threads, progress=progress)
        return _Pieces(gp.edges, gp.slope, gp.intercept, gp.negative_by_layer, gp.kink, gp.counts, gp.crossings)
    before = kthreads.get_num_threads()
    bar = walk_bar(net.depth, progress)
    try:
        if threads is not None:
            kthreads.set_num_threads(threads)
        lp = module_of("exact", "deep").walk(*deep_params(net, net.dtype), lo, hi,
                                             done=None if bar is None else lambda k: bar.update(k - bar.n))
    finally:
        kthreads.set_num_threads(before)
        if bar is not None:
            bar.close()
    return _Pieces(lp.edges, lp.slope, lp.intercept, lp.negative_by_layer, lp.kink, np.diff(lp.cross_offsets), lp.crossings)


def _one_layer(net):
    """Whether the sorted switch points serve ``net``: a network of one hidden layer of a
    scalar whose sums stay inside float64's range; anything else takes the walk, which
    scales a network whose sums do not (``kernels.scale``)."""
    if not one_layer(net):
        return False
    if "one_layer_analysis" not in net._derived:  # asked on every call: worked out once
        layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in net.layers]
        net._derived["one_layer_analysis"] = walk_scales(layers, [net.activations[0].kernel_form(net.hidden)]) is None
    return net._derived["one_layer_analysis"]


def _one_layer_pieces(net):
    """The fine pieces of one hidden layer of a scalar, from its sorted switch points.

    Unit j switches at the correctly rounded ``-b1[j] / w1[j]``; the distinct finite
    positions are the interior edges.  The open piece after an edge has every switch at
    or left of it applied (a switch beyond float64's range is at no finite x: at -inf it
    is applied everywhere, at +inf nowhere).
    """
    exact = module_of("exact", "one_layer")
    ev = exact.prepare(net.w1, net.b1, net.w2, net.b2, net.alpha)
    starts, change = exact.switch_groups(ev)
    pos = ev.ts[starts]
    finite = np.isfinite(pos)
    pos, change = pos[finite], change[finite]
    edges = np.concatenate(([-np.inf], pos, [np.inf]))
    k = np.searchsorted(ev.ts, edges[:-1], side="right")
    counts = np.searchsorted(ev.ts, pos, side="right") - np.searchsorted(ev.ts, pos, side="left")
    with np.errstate(over="ignore", under="ignore"):  # as prepare() rounds them
        switch_at = -net.b1.astype(np.float64) / np.where(net.w1 == 0, np.inf, net.w1).astype(np.float64) + 0.0

    def crossings(e):
        units = np.flatnonzero((switch_at == pos[e]) & (net.w1 != 0))
        return np.zeros(units.shape[0], np.int32), units

    return _Pieces(edges, ev.state[k, 0][:, None], ev.state[k, 2][:, None], ev.neg[k][:, None], change != 0, counts, crossings)


def kinks(net, start=None, stop=None, *, along=None, boundaries=False, path=None, closed=False, threads=None,
          progress=None):
    """The sorted x positions in ``[start, stop]`` where the network's slope changes.

    Parameters
    ----------
    net : Network
    start, stop : float, optional
        Closed interval to look in.  None (the default) is the sweep's default on that
        side: x from -100 to 100 for a network of a scalar, t from 0 to 1 along a line.
        ``start=-np.inf, stop=np.inf`` looks along the whole line.
    along : (x0, x1), optional
        For a network of several inputs: the line ``x0 + t*(x1 - x0)``; positions are
        then values of ``t``.
    path : array_like, shape (k + 1, in), optional
        Instead of a line: the polygonal path through these points (``closed=True``
        back to the first), walked segment by segment; positions are arc length in input
        space, from 0 to the path's length.  Kinks inside segments (a vertex bends the
        path itself), and with ``boundaries=True`` also each vertex where the activation
        pattern changes.  ``kinks(net, path=[x0, x1])`` is ``kinks(net, along=(x0, x1),
        start=0, stop=1)`` times ``||x1 - x0||``.
    closed : bool, default False
        Close the path back to its first point.
    boundaries : bool, default False
        If True, return every activation boundary instead: each distinct x where some
        unit of some layer crosses a breakpoint of its activation, including those where
        the slope does not change (``w2 == 0``, cancelling switches, the linear
        activation, a switch that feeds only units that are off).
    threads : int, optional
        Threads walking a deep line (each layer's pieces in segments, on all of them);
        None: all the cores this process may use.  The result is the same on any number.
    progress : bool, optional
        A progress bar (tqdm) over a deep line's layers: by default shown once the walk
        has taken a second; True shows it at once, False never.

    Returns
    -------
    ndarray of float64
        Sorted, without repeats.  Each position is the correctly rounded ``-b1/w1``
        of the unit(s) switching there; units whose exact switch points round to the
        same float64 count as one position.

    Notes
    -----
    Several units switching at the same x make one kink whose slope change is the
    sum of theirs, ``(1 - alpha) * |w1[j]| * w2[j]`` each (alpha is the activation's
    slope for negative inputs), summed exactly: if they cancel there is no kink.
    float32 networks are analysed exactly in float64.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network([1.0, -1.0, 2.0], [0.0, 1.0, -2.0], [1.0, 1.0, -0.5])
    >>> fastrelu.kinks(net)                   # at x = 1 two slope changes cancel
    array([0.])
    >>> fastrelu.kinks(net, boundaries=True)
    array([0., 1.])
    >>> fastrelu.kinks(net, start=0.5)
    array([], dtype=float64)
    >>> deep = fastrelu.Network.random([2, 8, 8, 1], seed=0)
    >>> t = fastrelu.kinks(deep, along=([0, 0], [1, 1]), start=0, stop=1)
    >>> bool(((t > 0) & (t < 1)).all())
    True
    """
    if path is not None:
        r, kink, boundary, at_ends = _path_regions(net, start, stop, along, path, closed, True)
        inner = r.hi[:-1][boundary if boundaries else kink]
        if closed:  # the first point is a vertex like the others: a boundary there is at the path's length
            return np.concatenate((inner, [r.hi[-1]] if boundaries and at_ends[1][1] else []))
        first, last = at_ends[1] if boundaries else at_ends[0]
        return np.concatenate(([r.lo[0]] if first else [], inner, [r.hi[-1]] if last else []))
    net, start, stop = _check(net, start, stop, along)
    p = _pieces(net, start, stop, _check_threads(threads), check_progress(progress))
    inner = p.edges[1:-1]
    closed = (inner >= start) & (inner <= stop)
    return inner[closed if boundaries else closed & p.kink].copy()


class Regions:
    """The linear pieces of a network over an interval: ``y = slope * x + intercept`` on each.

    Attributes
    ----------
    lo, hi : ndarray of float64
        Ends of each piece; ``hi[i] == lo[i + 1]``, ``lo[0]`` and ``hi[-1]`` are the
        interval asked for (possibly infinite).
    slope, intercept : ndarray of float64, shape (P,) or (P, out)
        The line on the open piece ``(lo, hi)`` (one column per output when there are
        several).
    negative : ndarray of int32
        Number of hidden units, over all layers, with pre-activation ``<= 0`` on the
        open piece, or -1 where that count is not constant on it (an activation
        boundary that is not a kink lies inside; ``regions(..., boundaries=True)``
        splits there too).
    negative_by_layer : ndarray of int32, shape (P, depth)
        The same per hidden layer (-1 where not constant).
    n_boundaries, n_kinks : int
        Activation-pattern changes strictly inside the interval, and how many of them
        are kinks of the output: the two differ, since a unit can switch where its
        change feeds only units that are off, or where changes cancel.
    merged : int
        Switches that share their position with another because float64 cannot tell
        their positions apart: pieces too short for float64, counted, not dropped.

    ``len(regions)`` is the number of pieces; ``str()`` / ``to_table()`` print them;
    ``switching(i)`` lists the units that switch where piece ``i`` ends; ``pattern(i)``
    gives piece ``i``'s activation pattern and ``pattern_hash`` a hash of every piece's;
    ``gradient`` is each piece's gradient in input space; ``to_pandas()`` and
    ``to_csv(path)`` export the pieces as a table.
    """

    __slots__ = ("lo", "hi", "slope", "intercept", "negative", "negative_by_layer", "n_boundaries", "n_kinks", "merged",
                 "_switching", "_decisions", "_nets", "_lazy", "_path")

    def __init__(self, lo, hi, slope, intercept, negative, *, negative_by_layer=None, n_boundaries=0, n_kinks=0, merged=0,
                 switching=None, network=None, along=None):
        self.lo, self.hi, self.slope, self.intercept = (np.asarray(a, np.float64) for a in (lo, hi, slope, intercept))
        self.negative = np.asarray(negative, np.int32)
        self.negative_by_layer = self.negative[:, None] if negative_by_layer is None else np.asarray(negative_by_layer, np.int32)
        for a in (self.lo, self.hi, self.slope, self.intercept, self.negative, self.negative_by_layer):
            a.flags.writeable = False
        self.n_boundaries, self.n_kinks, self.merged = int(n_boundaries), int(n_kinks), int(merged)
        self._switching = switching
        self._decisions = None
        # (network of the swept coordinate, network of the inputs, line or None): what the
        # patterns and gradients are evaluated on
        self._nets = None if network is None else (on_line(network, along)[0], network, along)
        self._lazy = {}
        self._path = None  # a path's pieces: rows -> a point in input space inside each (``_path_regions``)

    @property
    def decisions(self):
        """Where the predicted class changes: sorted ``t`` (or x) of every change in ``[lo[0], hi[-1]]``.

        The class is the largest output's index (``argmax``) for several outputs, and
        ``y > 0`` for one.  Computed from the pieces' affine maps, exactly as the pieces are
        (never by sampling), inside pieces as well as at their ends; ``decision_classes``
        gives the class on either side of each change.

        Examples
        --------
        >>> import fastrelu
        >>> r = fastrelu.regions(fastrelu.Network([1.0], [0.0], [1.0], b2=-0.5), -2, 2)   # relu(x) - 0.5
        >>> r.decisions
        array([0.5])
        """
        return self._decided()[0]

    @property
    def decision_classes(self):
        """``(before, after)``: the class on each side of every point of ``decisions``."""
        return self._decided()[1:]

    def _decided(self):
        if self._decisions is None:
            t, before, after = decision_points(self.lo, self.hi, self.slope, self.intercept)
            for a in (t, before, after):
                a.flags.writeable = False
            self._decisions = (t, before, after)
        return self._decisions

    def switching(self, i):
        """``(layer, unit)`` arrays of the hidden units that switch at ``hi[i]``, the end of piece ``i``.

        Layers count hidden layers from 0; units are rows of that layer's weight.  Of a
        graph network: ``(node, unit)``, the node by its index in ``net.nodes`` (an
        activation, or a max-pool whose window changes its argmax there) and the unit
        (window) by its flat index in the node's output.

        Examples
        --------
        >>> import fastrelu
        >>> r = fastrelu.regions(fastrelu.Network([1.0, 2.0], [-1.0, -2.0], [1.0, 1.0]), 0, 3)
        >>> r.switching(0)   # both units switch at x = 1
        (array([0, 0], dtype=int32), array([0, 1], dtype=int32))
        """
        if not 0 <= i < len(self) - 1:
            raise IndexError(f"piece {i} has no boundary at its end: pieces 0 to {len(self) - 2} end at one")
        layer, unit = self._switching(i)
        return np.asarray(layer, np.int32), np.asarray(unit, np.int32)

    def __len__(self):
        return self.lo.shape[0]

    # -- patterns and gradients ---------------------------------------------------------
    def _need_network(self):
        if self._nets is None:
            raise ValueError("these pieces carry no network: patterns and gradients need regions(net, ...)'s pieces")
        return self._nets

    def _inside(self, rows):
        """One point strictly inside each piece of ``rows``: its middle, or a unit (of its
        size) beyond its finite end when the piece reaches an infinity."""
        lo, hi = self.lo[rows], self.hi[rows]
        a, b = np.isfinite(lo), np.isfinite(hi)
        flo, fhi = np.where(a, lo, 0.0), np.where(b, hi, 0.0)
        with np.errstate(over="ignore"):
            mid = flo / 2 + fhi / 2  # halves first: no overflow near float64's largest
            mid = np.where(a & ~b, flo + np.maximum(1.0, np.abs(flo)), mid)
            return np.where(~a & b, fhi - np.maximum(1.0, np.abs(fhi)), mid)

    def _states(self, rows, gradient=False):
        """The piecewise nodes' ``State``s at a point inside each piece of ``rows`` (the one
        forward, ``patterns.node_states``), checked against the pieces' exact counts; the
        rows whose pattern is one (count not -1); and with ``gradient`` each row's gradient
        in input space, (rows, out, in).

        A graph network folded on a line reads its points through the line's ``embed``
        node, as the walk does, then the network's own nodes with one tangent per input
        (forward mode); a dense chain reads the folded chain and takes the chain rule
        backwards through the layers (cheaper: as many products as outputs, not inputs).
        """
        of_t, net, _ = self._need_network()
        rows = np.asarray(rows, np.int64)
        x = self._inside(rows)[:, None] if self._path is None else self._path(rows)
        graph = graph64(of_t)
        if net.is_graph and of_t is not net and graph.nodes[1].kind == "embed":  # a line: its points in input space
            x, graph = affine(graph.nodes[1], [x]), graph64(net)
        dx = None
        if gradient and net.is_graph:
            eye = np.eye(net.in_features).reshape((1, net.in_features, *net.input_shape))
            dx = np.broadcast_to(eye, (rows.shape[0], *eye.shape[1:]))
        states, dy = node_states(graph, x, dx)
        acts = [st for st in states if st.on is not None]
        one = self.negative[rows] >= 0
        counts = np.stack([np.count_nonzero(~st.on, axis=1) for st in acts], axis=1) if acts else self.negative_by_layer[rows]
        wrong = one & (counts != self.negative_by_layer[rows]).any(axis=1)
        if wrong.any():
            i = int(rows[np.flatnonzero(wrong)[0]])
            raise ValueError(f"piece {i} ([{self.lo[i]:.17g}, {self.hi[i]:.17g}]) is too short for float64 to evaluate "
                             "its activation pattern at a point inside it")
        if not gradient:
            return states, one, None
        if net.is_graph:
            g = np.swapaxes(dy.reshape(rows.shape[0], net.in_features, -1), 1, 2)
        else:
            weights = [w.astype(np.float64) for w, _ in net.layers]
            g = np.broadcast_to(weights[-1], (rows.shape[0], *weights[-1].shape))
            for k in range(net.depth - 1, -1, -1):  # back through the layers: the chain rule on each piece
                g = (g * acts[k].slope[:, None, :]) @ weights[k]
        return states, one, g

    def pattern(self, i):
        """The activation pattern of piece ``i``: one array per piecewise node, in the order of
        ``net.nodes`` (a dense chain's hidden layers; a graph's nodes of kind ``"act"`` and
        ``"maxpool"``), shaped as the node's output.

        An activation node's array is boolean, True where the unit is on (pre-activation
        ``> 0``), as ``negative_by_layer`` counts them; a max-pool node's holds each
        window's argmax (the index in the window of its largest input, the first of
        equals, as PyTorch's ``return_indices`` counts within the window).

        A piece holding an activation boundary strictly inside (``negative[i] == -1``) has
        no one pattern: ``regions(..., boundaries=True)`` splits there.  The pattern is the
        network's forward at the piece's middle; a piece too short for float64 to hold a
        point with its pattern raises a ValueError where its counts show it (a piece a few
        roundings long, where crossings meet, may still be read otherwise than the walk's
        own maps read it, by a max-pool's argmax: both are within rounding of the truth).

        Examples
        --------
        >>> import fastrelu
        >>> r = fastrelu.regions(fastrelu.Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0]), -5, 5)
        >>> r.pattern(1)          # 0 < x < 1: both units on
        [array([ True,  True])]
        >>> [p.tolist() for p in r.pattern(0)], int(r.negative[0])
        ([[False, True]], 1)
        """
        if not 0 <= i < len(self):
            raise IndexError(f"piece {i} out of range: there are {len(self)} pieces")
        if self.negative[i] < 0:
            raise ValueError(f"piece {i} has an activation boundary inside (negative is -1): no one pattern; "
                             "regions(..., boundaries=True) splits there")
        states = self._states([i])[0]
        return [(st.region if st.on is None else st.on)[0].reshape(st.node.shape).copy() for st in states]

    @property
    def pattern_hash(self):
        """A 64-bit hash of each piece's activation pattern (uint64, ``(P,)``), 0 where a
        piece has no one pattern (``negative == -1``).

        It depends on the pattern alone (each unit's region, with clamps the breakpoints
        below it, and each max-pool window's argmax), hashed as ``RegionMap.pattern_hash``
        hashes a face's: the same pattern gets the same hash on another line or on a plane
        of the same network.

        Examples
        --------
        >>> import fastrelu
        >>> r = fastrelu.regions(fastrelu.Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0]), -5, 5)
        >>> bool(r.pattern_hash[0] != r.pattern_hash[1]), r.pattern_hash.dtype
        (True, dtype('uint64'))
        """
        if "hash" not in self._lazy:
            out = np.zeros(len(self), np.uint64)
            for rows in self._blocks(sum(n.size for n in graph64(self._need_network()[1]).nodes)):  # the forward's values
                states, one, _ = self._states(rows)
                region = np.concatenate([st.region for st in states], axis=1)
                out[rows] = np.where(one, pattern_hashes(region), 0)
            out.flags.writeable = False
            self._lazy["hash"] = out
        return self._lazy["hash"]

    @property
    def gradient(self):
        """Each piece's gradient in input space: ``(P, in)`` for one output, ``(P, out, in)``
        for several; NaN on a piece that has no one pattern (``negative == -1``).

        The derivative of the network's output by its inputs ``x`` at the points of the
        piece (along a line ``x0 + t*(x1 - x0)``, ``x``, not ``t``: ``slope`` is the
        derivative by ``t``, the gradient's product with ``x1 - x0``), from the piece's
        activation pattern, as PyTorch's autograd gives it there (a graph network's input
        flattened: ``in`` is ``net.in_features``; through a max-pool, its window's argmax).
        A graph network's is its reverse pass (``fastrelu.model.forward.pull_back_graph``: the
        outputs' cotangents pulled back node by node with the piece's pattern fixed) when it
        has no more outputs than inputs, else one forward tangent per input.
        A request that would not fit in memory is refused before allocating.

        Examples
        --------
        >>> import fastrelu
        >>> net = fastrelu.Network.random([3, 8, 8, 1], seed=0)
        >>> r = fastrelu.regions(net, along=([0, 0, 0], [1, 2, 3]), boundaries=True)
        >>> g = r.gradient
        >>> g.shape == (len(r), 3), bool(np.allclose(g @ [1, 2, 3], r.slope))
        (True, True)
        """
        if "gradient" not in self._lazy:
            _, net, _ = self._need_network()
            out = net.out_features
            shape = (len(self), net.in_features) if out == 1 else (len(self), out, net.in_features)
            need = 8 * int(np.prod(shape))
            room = available_memory()
            if room is not None and need > room:
                raise MemoryError(f"the gradient of {len(self):,} pieces is {need / 2**30:.3g} GiB, "
                                  f"more than the {room / 2**30:.3g} GiB available")
            grad = np.full((len(self), out, net.in_features), np.nan)
            graph = graph64(net)
            # A graph's Jacobian costs one pass of its affine nodes per tangent: forward, one per
            # input; backward (the transposes, a transposed convolution as dear as the
            # convolution), one per output after a plain forward for the pattern.  So backward
            # when there are no more outputs than inputs (a classifier: 10 against 64 or 784).
            backward = net.is_graph and out <= net.in_features
            # per row: a chain's backward products, or a graph's tangents (or cotangents) of its widest node
            widest = max(n.size * (int(np.prod(n.params["kernel"])) if n.kind == "maxpool" else 1) for n in graph.nodes)
            for rows in self._blocks(4 * widest * (min(out, net.in_features) if net.is_graph else out)):
                if backward:
                    states, one, _ = self._states(rows)
                    pattern = {st.node.name: st.region if st.on is None else st.slope for st in states}
                    eye = np.eye(out).reshape((1, out, *graph.output.shape))
                    g = pull_back_graph(graph, pattern, np.broadcast_to(eye, (rows.shape[0], *eye.shape[1:])))
                    g = g.reshape(rows.shape[0], out, net.in_features)
                else:
                    _, one, g = self._states(rows, gradient=True)
                grad[rows[one]] = g[one]
            grad = grad.reshape(shape)
            grad.flags.writeable = False
            self._lazy["gradient"] = grad
        return self._lazy["gradient"]

    def _blocks(self, per_row):
        """Pieces in blocks whose temporaries stay near a few million numbers each."""
        rows = max(1, (1 << 22) // max(per_row, 1))
        return [np.arange(i0, min(i0 + rows, len(self))) for i0 in range(0, len(self), rows)]

    # -- tables ------------------------------------------------------------------------
    def _columns(self):
        """The table's columns by name: ends, line(s), counts and the pattern's hash."""
        cols = {"lo": self.lo, "hi": self.hi}
        if self.slope.ndim == 1:
            cols.update(slope=self.slope, intercept=self.intercept)
        else:
            cols.update({f"slope_{k}": self.slope[:, k] for k in range(self.slope.shape[1])})
            cols.update({f"intercept_{k}": self.intercept[:, k] for k in range(self.slope.shape[1])})
        cols["negative"] = self.negative
        if self._nets is not None and self._nets[1].is_graph:  # one column per activation node, by its name
            names = [n.name for n in layout(self._nets[1]).nodes if n.kind == "act"]
            cols.update({f"negative_{name}": self.negative_by_layer[:, k] for k, name in enumerate(names)})
        elif self.negative_by_layer.shape[1] > 1:
            cols.update({f"negative_{k}": self.negative_by_layer[:, k] for k in range(self.negative_by_layer.shape[1])})
        if self._nets is not None:
            cols["pattern_hash"] = self.pattern_hash
        return cols

    def to_pandas(self):
        """The pieces as a ``pandas.DataFrame``, one row each (needs pandas).

        Columns: ``lo``, ``hi``, ``slope`` and ``intercept`` (``slope_0``, ``intercept_0``,
        ... for several outputs), ``negative`` (and ``negative_0``, ... per hidden layer of a
        deep network; ``negative_<node>`` per activation node of a graph network, by its name
        in ``net.nodes``) and ``pattern_hash``.  The gradient is ``gradient``, an array.

        Examples
        --------
        >>> import fastrelu
        >>> df = fastrelu.regions(fastrelu.Network([1.0], [-1.0], [2.0]), -5, 5).to_pandas()  # doctest: +SKIP
        >>> list(df.columns)                                                                 # doctest: +SKIP
        ['lo', 'hi', 'slope', 'intercept', 'negative', 'pattern_hash']
        """
        try:
            import pandas as pd  # optional: only this call needs it
        except ImportError:
            raise ImportError("Regions.to_pandas needs pandas: pip install pandas (Regions.to_csv needs nothing)") from None
        return pd.DataFrame(self._columns())

    def to_csv(self, path):
        """Write the pieces to ``path`` as CSV, one row each, with the columns of ``to_pandas``
        (no pandas needed).  Numbers are written so that they read back exactly
        (``inf`` for an open end).

        Examples
        --------
        >>> import fastrelu
        >>> fastrelu.regions(fastrelu.Network([1.0], [-1.0], [2.0]), -5, 5).to_csv("pieces.csv")  # doctest: +SKIP
        >>> print(open("pieces.csv").read())                                                      # doctest: +SKIP
        lo,hi,slope,intercept,negative,pattern_hash
        -5.0,1.0,0.0,0.0,1,11385487063155714807
        1.0,5.0,2.0,-2.0,0,2291812983794007278
        """
        cols = self._columns()
        lists = [np.asarray(v).tolist() for v in cols.values()]  # Python numbers: repr reads back exactly
        lines = [",".join(cols), *(",".join(map(repr, row)) for row in zip(*lists))]
        with open_for_writing(path) as f:
            f.write(("\n".join(lines) + "\n").encode())

    def to_table(self, max_rows=None):
        """The pieces as a text table, one row each (the middle elided beyond ``max_rows``).

        Examples
        --------
        >>> import fastrelu, numpy as np
        >>> print(fastrelu.regions(fastrelu.Network([1.0], [-1.0], [2.0]), -np.inf, np.inf).to_table())
                lo          hi       slope   intercept  negative
              -inf           1           0           0         1
                 1         inf           2          -2         0
        """
        if self.slope.ndim == 2:  # several outputs: the first one's line
            head = f"{'lo':>10}  {'hi':>10}  {'slope[0]':>10}  {'icpt[0]':>10}  {'negative':>8}"
        else:
            head = f"{'lo':>10}  {'hi':>10}  {'slope':>10}  {'intercept':>10}  {'negative':>8}"
        rows = range(len(self))
        if max_rows is not None and len(self) > max_rows:
            keep = max(max_rows // 2, 1)
            rows = [*range(keep), None, *range(len(self) - keep, len(self))]
        lines = [head]
        for i in rows:
            if i is None:
                lines.append(f"{'...':>10}  ({len(self) - 2 * keep} more pieces)")
                continue
            n = int(self.negative[i])
            lines.append(
                f"{self.lo[i]:>10.6g}  {self.hi[i]:>10.6g}  {self.slope.reshape(len(self), -1)[i, 0]:>10.6g}  "
                f"{self.intercept.reshape(len(self), -1)[i, 0]:>10.6g}  "
                f"{'varies' if n < 0 else n:>8}"
            )
        return "\n".join(lines)

    def __str__(self):
        return self.to_table(max_rows=20)

    def __repr__(self):
        if not len(self):
            return "Regions(pieces=0)"
        return f"Regions(pieces={len(self)}, kinks={self.n_kinks}, boundaries={self.n_boundaries}, lo={self.lo[0]:g}, hi={self.hi[-1]:g})"


def regions(net, start=None, stop=None, *, along=None, boundaries=False, plane=None, bounds=None, threads=None,
            path=None, closed=False, progress=None, tiles=None, client=None):
    """The linear pieces of ``net`` covering ``[start, stop]``, or its region map on a plane.

    Parameters
    ----------
    net : Network
    start, stop : float, optional
        The interval to cover.  None (the default) is the sweep's default on that side:
        x from -100 to 100 for a network of a scalar, t from 0 to 1 along a line.
        ``start=-np.inf, stop=np.inf`` covers the whole line.
    along : (x0, x1), optional
        For a network of several inputs: the line ``x0 + t*(x1 - x0)``; the pieces are
        then intervals of ``t``.
    boundaries : bool, default False
        If True, split at every activation boundary (so that each piece has a single
        activation pattern) rather than only at kinks; neighbouring pieces may then
        share a line.  (A region map always has one face per activation pattern.)
    plane : (x0, x1, x2), optional
        Map the plane through these three inputs instead of a line: returns a
        ``RegionMap`` (see ``fastrelu.analysis.plane.region_map``).
    bounds : ((u0, u1), (v0, v1)), optional
        The rectangle of the plane to map; alone, the input plane of a network of two
        inputs.
    threads : int, optional
        Threads walking a plane's map in tiles (``fastrelu.analysis.plane.region_map``),
        or a deep line (each layer's pieces in segments); None: all the cores this
        process may use.  A line's pieces are the same on any number.
    path : array_like, shape (k + 1, in), optional
        Instead of a line: the polygonal path through these points, walked segment by
        segment, each as ``along=(x_s, x_s+1), start=0, stop=1`` walks it.  Positions
        (``lo``, ``hi``) are arc length in input space, from 0 to the path's length, and
        ``slope`` is per unit of arc length.  Every vertex ends a piece; a vertex where the
        activation pattern changes counts as one boundary (``switching`` gives its units),
        never two, and no kink (the path bends there itself).  Patterns and gradients
        are evaluated at each piece's middle, in input space.
    closed : bool, default False
        Close the path back to its first point.
    progress : bool, optional
        A progress bar (tqdm) over a deep line's layers: by default shown once the walk
        has taken a second; True shows it at once, False never.
    tiles : (int, int), optional
        A plane's rectangle cut into ``nu x nv`` tiles, each walked alone and merged into
        the same map (``fastrelu.analysis.plane.region_map``); planes only.
    client : dask.distributed.Client, optional
        A plane's tiles walked as Dask tasks on this cluster, merged into the same map;
        planes only.

    Returns
    -------
    Regions, or RegionMap with ``plane`` or ``bounds``
        ``len(kinks(net, start, stop)) + 1`` pieces, minus one for each kink at
        ``start`` or ``stop`` themselves (a piece ends there anyway).  A sweep agrees
        with the pieces at every grid point strictly inside one, with one exception:
        exactly at an activation boundary that is not a kink, the sweep's slope counts
        the units switching there as off (the project's convention), which can differ
        from the piece's slope when their changes cancel; ``y`` agrees there too.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0], b2=0.5)
    >>> r = fastrelu.regions(net, start=-5.0, stop=5.0)
    >>> len(r), r.lo, r.slope, r.negative
    (3, array([-5.,  0.,  1.]), array([-3., -1.,  2.]), array([1, 0, 1], dtype=int32))
    >>> print(r)
            lo          hi       slope   intercept  negative
            -5           0          -3         3.5         1
             0           1          -1         3.5         0
             1           5           2         0.5         1
    >>> m = fastrelu.regions(fastrelu.Network.random([3, 8, 8, 1], seed=0), plane=[[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    >>> m.slope.shape == (len(m), 2), m.bounds
    (True, ((-0.75, 0.75), (-0.75, 0.75)))
    """
    if plane is not None or bounds is not None:
        if start is not None or stop is not None or along is not None:
            raise TypeError("a plane is mapped over bounds=((u0, u1), (v0, v1)): start, stop and along are for a line")
        return region_map(net, plane, bounds, threads=threads, tiles=tiles, client=client)
    for name, value in (("tiles", tiles), ("client", client)):
        if value is not None:
            raise TypeError(f"{name} goes with a plane's region map (plane= or bounds=), not with a line")
    if path is not None:
        return _path_regions(net, start, stop, along, path, closed, boundaries)[0]
    given = net
    net, start, stop = _check(net, start, stop, along)
    if start == stop:  # one point: its counts are those of the point, as a sweep gives them
        r = _point_region(net, start, boundaries)
    else:
        r = _regions(_pieces(net, start, stop, _check_threads(threads), check_progress(progress)), start, stop,
                     boundaries)
    r._nets = (net, given, along)  # what patterns and gradients are evaluated on
    return r


def _check_threads(threads):
    """``threads`` as given: None or a positive integer."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    return threads


def _point_region(net, x, boundaries):
    """``regions`` of the interval ``[x, x]``: the piece holding ``x`` (its line), with the
    counts at ``x`` itself (``z <= 0`` is negative, so a unit switching exactly there counts
    as negative), never "varies": a point has one pattern."""
    r = _regions(_pieces(net, x, x), x, x, boundaries)
    y = np.empty((1, net.out_features))
    by_layer = np.empty((1, net.depth), np.int32)
    if net.is_graph:
        sweep_graph(np.array([x]), graph_params(net, np.dtype(np.float64)), y, np.empty_like(y), by_layer)
    else:
        sweep_deep(np.array([x]), *deep_params(net, np.dtype(np.float64)), y, np.empty_like(y), by_layer)
    return Regions(r.lo, r.hi, r.slope, r.intercept, by_layer.sum(axis=1, dtype=np.int32), negative_by_layer=by_layer,
                   n_boundaries=r.n_boundaries, n_kinks=r.n_kinks, merged=r.merged, switching=r._switching)


def _regions(lp, start, stop, boundaries):
    """``regions`` from the fine pieces ``lp`` (``_Pieces``), cut to ``[start, stop]``."""
    inner = lp.edges[1:-1]
    strictly = (inner > start) & (inner < stop)  # boundaries inside: where pieces may end
    # the fine pieces of the walk that meet the interval (the one holding start when it is a point)
    first = int(np.searchsorted(lp.edges, start, side="right")) - 1
    last = max(first, int(np.searchsorted(lp.edges, stop, side="left")) - 1)
    cuts = np.flatnonzero(strictly if boundaries else strictly & lp.kink)  # interior edge e ends fine piece e
    starts = np.concatenate(([first], cuts + 1))  # first fine piece of each piece
    by_layer = lp.negative_by_layer
    total = by_layer.sum(axis=1, dtype=np.int32)

    # a piece holding a boundary strictly inside has no one count: at the boundary itself
    # the crossing units have z = 0 and count as negative, whatever the counts beside it
    whole = np.diff(np.concatenate((starts, [last + 1]))) == 1

    def constant(v):  # the value on each piece, -1 where a boundary lies inside
        v = v[starts]
        return np.where(whole if v.ndim == 1 else whole[:, None], v, -1)

    slope, intercept = lp.slope[starts], lp.intercept[starts]
    if slope.shape[1] == 1:
        slope, intercept = slope[:, 0], intercept[:, 0]
    lo = np.concatenate(([start], inner[cuts]))
    hi = np.concatenate((inner[cuts], [stop]))
    counts = lp.counts[strictly]
    return Regions(
        lo, hi, slope, intercept, constant(total), negative_by_layer=constant(by_layer),
        n_boundaries=int(strictly.sum()), n_kinks=int((strictly & lp.kink).sum()), merged=int(counts.sum() - counts.size),
        switching=lambda i: lp.crossings(cuts[i]),
    )


def _path_regions(net, start, stop, along, path, closed, boundaries):
    """``regions`` of one polygonal path: each segment's pieces (as ``regions`` finds them
    along that segment over ``[0, 1]``) placed at its arc length, joined at the vertices
    (``analysis.paths``).  Returns ``(Regions, kink, boundary, at_ends)``: whether each
    interior end of a piece is a kink, a boundary (with ``boundaries=True``), and whether
    the path's first and last points are kinks and boundaries (``((k0, k1), (b0, b1))``;
    a closed path: ``(None, (False, whether its first point is a boundary))``)."""
    if start is not None or stop is not None or along is not None:
        raise TypeError("a path is walked over its whole length: start, stop and along are for a line")
    seg = path_segments(path, closed, net.in_features)
    if seg.shape[0] != 1:
        raise ValueError(f"path must be one path, (k + 1, in) points, got shape {np.shape(path)} (line_stats takes many)")
    seg = seg[0]
    size = lengths(seg)
    at = np.concatenate(([0.0], np.cumsum(size)))
    fine, parts = [], []
    for a, b in seg:
        line, lo, hi = _check(net, 0.0, 1.0, (a, b))
        fine.append(_pieces(line, lo, hi))
        parts.append(_regions(fine[-1], lo, hi, boundaries))
    _, vertex, changed = vertex_changes(net, seg[None], closed, [p.edges for p in fine])
    units = {int(v): ch for v, ch in zip(vertex, changed)}
    lo, hi, slope, icpt, neg, neg_layer, kink, switch, vertex_ends = [], [], [], [], [], [], [], [], []
    inside = []  # each piece's middle in input space, from its segment's own t
    for s, r in enumerate(parts):
        pos = lambda t, s=s: np.minimum(at[s] + t * size[s], at[s + 1])  # arc length; rounding never passes the vertex
        lo.append(np.concatenate(([at[s]], pos(r.lo[1:]))))
        hi.append(np.concatenate((pos(r.hi[:-1]), [at[s + 1]])))
        sl = r.slope / size[s]
        slope.append(sl), icpt.append(r.intercept - sl * at[s])
        neg.append(r.negative), neg_layer.append(r.negative_by_layer)
        inside.append(seg[s, 0] + r._inside(np.arange(len(r)))[:, None] * (seg[s, 1] - seg[s, 0]))
        e = fine[s].edges[1:-1]
        kink.append(np.isin(r.hi[:-1], e[(e > 0.0) & (e < 1.0) & fine[s].kink]))
        switch += [(r, i) for i in range(len(r) - 1)]
        if s < len(parts) - 1:
            kink.append(np.zeros(1, bool))
            vertex_ends.append(len(switch))
            switch.append((None, s))
    changes = [units[s] for s in range(len(parts) - 1) if s in units]
    m = np.array([int(c.sum()) for c in changes], np.int64)

    def switching(i):
        r, j = switch[i]
        if r is not None:
            return r._switching(j)
        return layout(net).split(np.flatnonzero(units[j]) if j in units else np.zeros(0, np.int64))  # (layer or node, unit)

    out = Regions(np.concatenate(lo), np.concatenate(hi), np.concatenate(slope), np.concatenate(icpt), np.concatenate(neg),
                  negative_by_layer=np.concatenate(neg_layer),
                  n_boundaries=sum(r.n_boundaries for r in parts) + int(np.count_nonzero(m)),
                  n_kinks=sum(r.n_kinks for r in parts), merged=sum(r.merged for r in parts) + int(np.maximum(m - 1, 0).sum()),
                  switching=switching)
    points = np.concatenate(inside)
    out._nets, out._path = (net, net, None), (lambda rows: points[rows])  # patterns, gradients: the input network's
    # for kinks(path=): which interior ends are kinks, and whether the path's two ends are
    e0, e1 = fine[0].edges[1:-1], fine[-1].edges[1:-1]
    boundary = np.ones(len(out) - 1, bool)  # with boundaries=True, every interior end but a vertex of no change
    boundary[vertex_ends] = [s in units and bool(units[s].any()) for s in range(len(vertex_ends))]
    if closed:  # (no kink, but whether the pattern changes at the first point)
        last = len(parts) - 1
        return out, np.concatenate(kink), boundary, (None, (False, last in units and bool(units[last].any())))
    ends = ((bool(np.any((e0 == 0.0) & fine[0].kink)), bool(np.any((e1 == 1.0) & fine[-1].kink))),
            (bool(np.any(e0 == 0.0)), bool(np.any(e1 == 1.0))))
    return out, np.concatenate(kink), boundary, ends
