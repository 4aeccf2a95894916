"""Region statistics of many lines (or paths) at once, and of checkpoints over training.

``line_stats(net, X0, X1)`` walks the lines ``x0 + t*(x1 - x0)``, ``t`` in ``[0, 1]``,
between the rows of ``X0`` and ``X1`` exactly (the walk of ``kernels/walk.py``, all lines
of a call together: ``walk_many`` stacks their products and runs them on every thread),
and gives one row per line: what ``regions(net, along=(x0, x1), start=0, stop=1)`` counts
for that line alone (tested), with the line's length, per-layer counts and densities.
``path=`` walks polygonal paths, each segment a line of its own, joined at the vertices.
A graph network (convolutions, pooling, branches) is walked line by line through its
nodes (``kernels/graph_walk.py``, what ``regions`` walks), its per-layer columns one per
piecewise node (activation or max-pool), named as in ``net.nodes``.
``training_stats`` does the same for each of a list of checkpoints, with the distance of
data points to their region's boundary (``boundary_distance``).
"""

import numpy as np

from ..kernels import threads as kthreads
from ..kernels.params import deep_params, graph_params
from ..kernels.registry import module_of
from ..model.network import Network
from ..model.slices import fold
from ..utils.plugins import provided
from ..utils.progress import bar as progress_bar, check_progress
from ..utils.validation import as_float_array
from .decisions import decision_points
from .distance import boundary_distance
from .paths import by_layer, lengths, path_segments, vertex_changes
from .patterns import layout

__all__ = ["LineStats", "TrainingStats", "line_stats", "training_stats"]

_COLUMNS = ("length", "pieces", "boundaries", "kinks", "merged", "decisions", "density", "density_per_neuron")
_LO, _HI = float(np.nextafter(0.0, -np.inf)), float(np.nextafter(1.0, np.inf))  # as regions walks [0, 1]


class LineStats:
    """One row per line (or path): its exact region statistics.

    Attributes
    ----------
    length : ndarray of float64
        Length in input space (``||x1 - x0||``; a path's segments summed).
    pieces : ndarray of int64
        Linear pieces of the output along it (``len(regions(...))``: kinks + 1 on a line;
        a path's segments' pieces summed).
    boundaries : ndarray of int64
        Activation-pattern changes strictly inside (``regions(...).n_boundaries``; on a
        path also at the vertices where the pattern changes).
    kinks : ndarray of int64
        Boundaries where the output's slope changes (``n_kinks``; on a path, inside its
        segments: a vertex bends the path itself).
    merged : ndarray of int64
        Crossings sharing their position with another (``regions(...).merged``).
    crossings_by_layer : ndarray of int64, shape (n, depth)
        Hidden units of each layer crossing a breakpoint at those boundaries (of a graph
        network: units of each piecewise node, an activation's crossing a breakpoint, a
        max-pool's windows changing their argmax); a row sums to ``boundaries + merged``.
    names : list of str
        The columns of ``crossings_by_layer``: ``layer0``, ... of a dense chain, the
        piecewise nodes' names of a graph network.
    decisions : ndarray of int64
        Changes of the predicted class along it (``len(regions(...).decisions)``).
    density, density_per_neuron : ndarray of float64
        ``boundaries / length``, and that over the number of hidden units (``net.hidden``:
        of a graph network, its activation units).
    widths : tuple of int
        The network's widths (empty for a graph network).
    kind : str
        ``"line"``, ``"path"`` or ``"closed path"``.

    ``len(stats)`` is the number of rows; ``stats["density"]`` a column; ``str(stats)``
    a summary; ``to_pandas()``, ``save(path)`` and ``LineStats.load(path)``.
    """

    def __init__(self, columns, crossings_by_layer, widths, kind, names=None):
        for name in _COLUMNS:
            a = np.asarray(columns[name], np.float64 if name in ("length", "density", "density_per_neuron") else np.int64)
            a.flags.writeable = False
            setattr(self, name, a)
        self.crossings_by_layer = np.asarray(crossings_by_layer, np.int64).reshape(self.length.shape[0], -1)
        self.crossings_by_layer.flags.writeable = False
        self.widths = tuple(int(w) for w in widths)
        self.kind = str(kind)
        depth = self.crossings_by_layer.shape[1]
        self.names = [f"layer{k}" for k in range(depth)] if names is None else [str(v) for v in names]
        if len(self.names) != depth:
            raise ValueError(f"names: {len(self.names)} names for {depth} columns of crossings_by_layer")

    def __len__(self):
        return self.length.shape[0]

    def __getitem__(self, name):
        if name == "crossings_by_layer" or name in _COLUMNS:
            return getattr(self, name)
        raise KeyError(f"no column {name!r}: the columns are {', '.join(_COLUMNS)} and crossings_by_layer")

    def __eq__(self, other):
        if not isinstance(other, LineStats):
            return NotImplemented
        return (self.widths == other.widths and self.kind == other.kind and self.names == other.names
                and all(np.array_equal(self[c], other[c]) for c in (*_COLUMNS, "crossings_by_layer")))

    __hash__ = None

    def to_pandas(self):
        """The table as a ``pandas.DataFrame``, one row per line, one column per layer's crossings.

        Examples
        --------
        >>> import fastrelu, numpy as np
        >>> s = fastrelu.line_stats(fastrelu.Network.random([2, 8, 1], seed=0), np.zeros((1, 2)), np.ones((1, 2)))
        >>> list(s.to_pandas().columns)[:3]
        ['length', 'pieces', 'boundaries']
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("LineStats.to_pandas() needs pandas, which fastrelu does not install: pip install pandas") from None
        data = {c: self[c] for c in _COLUMNS}
        for k, name in enumerate(self.names):
            data[f"crossings_{name}"] = self.crossings_by_layer[:, k]
        return pd.DataFrame(data)

    def save(self, path):
        """Write the table to ``path`` (.npz); ``LineStats.load(path)`` reads it back.

        Examples
        --------
        >>> import fastrelu, numpy as np, tempfile, os
        >>> s = fastrelu.line_stats(fastrelu.Network.random([2, 8, 1], seed=0), np.zeros((1, 2)), np.ones((1, 2)))
        >>> p = os.path.join(tempfile.mkdtemp(), "lines.npz"); s.save(p)
        >>> fastrelu.LineStats.load(p) == s
        True
        """
        np.savez(path, **{c: self[c] for c in _COLUMNS}, crossings_by_layer=self.crossings_by_layer,
                 widths=np.asarray(self.widths, np.int64), kind=np.asarray(self.kind), names=np.asarray(self.names, str))

    @classmethod
    def load(cls, path):
        """The table saved by ``save``."""
        with np.load(path, allow_pickle=False) as f:
            missing = [c for c in (*_COLUMNS, "crossings_by_layer", "widths", "kind") if c not in f.files]
            if missing:
                raise ValueError(f"{path} is not a fastrelu line table: it lacks {', '.join(missing)}")
            names = f["names"].tolist() if "names" in f.files else None  # tables saved before graph networks: layer0, ...
            return cls({c: f[c] for c in _COLUMNS}, f["crossings_by_layer"], f["widths"], str(f["kind"]), names)

    def summary(self):
        """A few lines: the network, and the spread of each statistic over the rows."""
        n = len(self)
        net = f"a {'->'.join(map(str, self.widths))} network" if self.widths else f"a graph network ({len(self.names)} piecewise nodes)"
        head = f"{n:,} {self.kind}{'s' if n != 1 else ''} through {net}"
        if n == 0:
            return head
        lines = [head, f"{'':>20}  {'mean':>10}  {'min':>10}  {'median':>10}  {'max':>10}"]
        for c in ("length", "pieces", "boundaries", "kinks", "decisions", "density", "density_per_neuron"):
            v = self[c].astype(np.float64)
            lines.append(f"{c:>20}  {v.mean():>10.4g}  {v.min():>10.4g}  {np.median(v):>10.4g}  {v.max():>10.4g}")
        per = self.crossings_by_layer.mean(axis=0)
        if self.widths:
            lines.append("crossings per layer (mean): " + ", ".join(f"{v:.4g}" for v in per))
        else:
            lines.append("crossings per node (mean): " + ", ".join(f"{name} {v:.4g}" for name, v in zip(self.names, per)))
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return f"LineStats(rows={len(self)}, kind={self.kind!r}, " + (f"widths={self.widths})" if self.widths else f"nodes={self.names})")


# ---------------------------------------------------------------------------------
# the rows


def _segment_row(lp, lay):
    """A line's counts over ``[0, 1]`` from its walk over one float64 step beyond (as
    ``regions(net, along=..., start=0, stop=1)`` cuts its walk), and its pieces' maps.
    ``lay`` is the network's ``patterns.layout``.

    Returns ``(counts, lo, hi, slope, intercept)``: counts ``[pieces, boundaries, kinks,
    merged, *crossings per layer]``, and the linear pieces inside ``[0, 1]``."""
    inner = lp.edges[1:-1]
    strictly = (inner > 0.0) & (inner < 1.0)
    cuts = np.flatnonzero(strictly & lp.kink)
    if hasattr(lp, "cross_offsets"):  # the dense walk: crossings by edge, named (layer, unit)
        counts = np.diff(lp.cross_offsets)
        edge_of = np.repeat(np.arange(counts.shape[0]), counts)  # the interior edge of each crossing
        column = lp.cross_layer
    else:  # the graph walk: each crossing at its edge's t, named (node of net.nodes, unit)
        t, node, _ = lp.cross
        counts = lp.counts
        edge_of = np.searchsorted(inner, t)
        column = np.searchsorted(lay.labels, node)
    layers = np.bincount(column[strictly[edge_of]], minlength=len(lay.nodes))
    inside = counts[strictly]
    first = int(np.searchsorted(lp.edges, 0.0, side="right")) - 1
    starts = np.concatenate(([first], cuts + 1))
    lo = np.concatenate(([0.0], inner[cuts]))
    hi = np.concatenate((inner[cuts], [1.0]))
    row = [cuts.shape[0] + 1, int(strictly.sum()), cuts.shape[0], int(inside.sum() - inside.size), *layers]
    return np.asarray(row, np.int64), lo, hi, lp.slope[starts], lp.intercept[starts]


def _rows(net, segments, closed, lps):
    """The table's rows from the walks ``lps`` of every segment (``segments``: (n, k, 2, in)
    arrays of each row's segments' ends)."""
    lay = layout(net)
    n, k = segments.shape[:2]
    counts = np.zeros((n, 4 + len(lay.nodes)), np.int64)
    decisions = np.zeros(n, np.int64)
    for i in range(n):
        for s in range(k):
            lp = lps[i * k + s]
            row, lo, hi, slope, icpt = _segment_row(lp, lay)
            counts[i] += row
            t = decision_points(lo, hi, slope, icpt)[0]
            # a change at a vertex is counted once: with the segment it ends
            decisions[i] += t.shape[0] if (s == 0 and not closed) else int(np.count_nonzero(t > 0.0))
    if k > 1 or closed:  # a vertex where the pattern changes: one boundary
        owner, _, changed = vertex_changes(net, segments, closed, [lp.edges for lp in lps])
        m = changed.sum(axis=1)
        np.add.at(counts[:, 1], owner, m > 0)
        np.add.at(counts[:, 3], owner, np.maximum(m - 1, 0))
        np.add.at(counts[:, 4:], owner, by_layer(net, changed))
    length = lengths(segments).sum(axis=1)
    density = counts[:, 1] / length
    columns = {"length": length, "pieces": counts[:, 0], "boundaries": counts[:, 1], "kinks": counts[:, 2],
               "merged": counts[:, 3], "decisions": decisions, "density": density,
               "density_per_neuron": density / max(net.hidden, 1)}
    kind = "line" if k == 1 and not closed else ("closed path" if closed else "path")
    return LineStats(columns, counts[:, 4:], () if net.is_graph else net.widths, kind, lay.names(net))


def _tail(net, ends):
    """The walk's arrays of ``net`` on a line (``kernels.params.deep_params``): its first layer
    is each line's own (``firsts``), the others shared by every line of a call.  None for a
    graph network, whose lines are walked one by one."""
    return None if net.is_graph else deep_params(net.along(ends[0], ends[1]), np.dtype(np.float64))


def _walks(net, segments, tail, done=None):
    """The walks of every segment (flattened in row order), all at once: each segment's
    first layer folded as ``net.along`` folds it (so each walk is ``regions``'s), the
    other layers shared (``tail``, from ``_tail``).  A graph network's segments are walked
    one by one through its nodes, each folded as ``net.along`` folds it (so each walk is
    ``regions``'s)."""
    ends = segments.reshape(-1, 2, segments.shape[-1])
    if net.is_graph:
        graph_walk, walks = module_of("exact", "graph"), []
        for i, (x0, x1) in enumerate(ends):
            walks.append(graph_walk.walk(graph_params(net.along(x0, x1), np.dtype(np.float64)), _LO, _HI))
            if done is not None:
                done(i + 1)
        return walks
    w, b = net.layers[0]
    firsts = [fold(w, b, x0, (x1 - x0)[None, :], net.dtype) for x0, x1 in ends]
    return module_of("exact", "deep").walk_many(*tail, firsts, _LO, _HI, done=done)


def _batch_table(net, segments, closed, threads):
    """One batch's table: what a Dask task computes (module level, so that it pickles)."""
    before = kthreads.get_num_threads()
    kthreads.set_num_threads(threads)
    try:
        return _rows(net, segments, closed, _walks(net, segments, _tail(net, segments[0, 0])))
    finally:
        kthreads.set_num_threads(before)


def _concat(tables):
    t0 = tables[0]
    columns = {c: np.concatenate([t[c] for t in tables]) for c in _COLUMNS}
    return LineStats(columns, np.concatenate([t.crossings_by_layer for t in tables]), t0.widths, t0.kind, t0.names)


# ---------------------------------------------------------------------------------
# checks


def _points(a, name, n_in):
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[None, :]
    elif a.ndim > 2 and int(np.prod(a.shape[1:])) == n_in:  # inputs shaped as a graph network's (images): flat
        a = a.reshape(a.shape[0], n_in)
    a = as_float_array(a, name, np.float64, ndim=2)
    if a.shape[1] != n_in:
        raise ValueError(f"{name} must have {n_in} columns (the network's inputs), got shape {a.shape}")
    return a


def _segments(net, X0, X1, path, closed):
    """The segments of every row, (n, k, 2, in), checked."""
    n_in = net.in_features
    if path is not None:
        if X0 is not None or X1 is not None:
            raise TypeError("give either X0 and X1 (lines) or path= (paths), not both")
        return path_segments(path, closed, n_in)
    if closed:
        raise TypeError("closed= is for path=, not for lines")
    if X0 is None or X1 is None:
        raise TypeError("give X0 and X1 (the lines' ends), or path=")
    X0, X1 = _points(X0, "X0", n_in), _points(X1, "X1", n_in)
    if X0.shape != X1.shape:
        raise ValueError(f"X0 and X1 must have the same shape (one row per line), got {X0.shape} and {X1.shape}")
    if X0.shape[0] == 0:
        raise ValueError("X0 and X1 hold no line: give at least one row")
    same = ~np.any(X0 != X1, axis=1)
    if same.any():
        raise ValueError(f"X1: line {int(np.flatnonzero(same)[0])} has zero length (X0 and X1 are equal there)")
    with np.errstate(over="ignore"):
        if not np.isfinite(X1 - X0).all():
            raise ValueError("X1 - X0 overflows float64")
    return np.stack((X0, X1), axis=1)[:, None]


# ---------------------------------------------------------------------------------
# the functions


def line_stats(net, X0=None, X1=None, *, path=None, closed=False, batch=64, threads=None, progress=None, client=None):
    """Exact region statistics of many lines (or paths), one row each.

    Line ``i`` is ``x(t) = X0[i] + t*(X1[i] - X0[i])`` for ``t`` in ``[0, 1]``; its row
    holds what ``regions(net, along=(X0[i], X1[i]), start=0, stop=1)`` finds for it alone
    (pieces, boundaries, kinks, merged crossings, crossings per layer, decisions), its
    length and densities.  The lines of a batch are walked together: their products are
    stacked into one per layer and their walks run on every thread.

    Parameters
    ----------
    net : Network
    X0, X1 : array_like, shape (n, in) (or (in,) for one line)
        The lines' ends.
    path : array_like, shape (k + 1, in) or (n, k + 1, in), optional
        Instead of lines: polygonal paths through these points, each walked segment by
        segment as one row; a vertex where the activation pattern changes is one
        boundary (its crossings counted), never two.
    closed : bool, default False
        Close each path back to its first point.
    batch : int, default 64
        Lines (path segments) walked together; memory is counted before each layer of each
        walk allocates, and walks that would not fit wait for others (see
        ``kernels.walk.walk_many``).
    threads : int, optional
        Threads of this call (by default all cores).
    progress : bool, optional
        A progress bar over lines (tqdm): by default shown when the call takes longer
        than a second; False never, True from the start.
    client : dask.distributed.Client, optional
        Each batch is a Dask task (walked on one thread there); the table equals the local
        one, and a lost worker only means its batch is walked again.

    Returns
    -------
    LineStats

    Examples
    --------
    >>> import fastrelu, numpy as np
    >>> net = fastrelu.Network.random([4, 16, 16, 3], seed=0)
    >>> rng = np.random.default_rng(0)
    >>> X0, X1 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    >>> s = fastrelu.line_stats(net, X0, X1)
    >>> r = fastrelu.regions(net, along=(X0[2], X1[2]), start=0, stop=1)
    >>> int(s.pieces[2]) == len(r), int(s.boundaries[2]) == r.n_boundaries
    (True, True)
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
    seg = _segments(net, X0, X1, path, closed)
    if isinstance(batch, (bool, np.bool_)) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    n, k = seg.shape[:2]
    rows = max(1, int(batch) // k)  # rows per batch: about ``batch`` segments
    parts = [seg[i : i + rows] for i in range(0, n, rows)] or [seg]
    if client is not None:
        # the weights sent once, as a task's result rather than scattered data: the scheduler
        # can compute a result again when the workers holding it are lost (scattered data is
        # lost for good, and the batches that need it are cancelled)
        import dask

        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1 TiB"}):  # the network, on purpose
            shared = client.submit(lambda same: same, net, pure=False)
        futures = client.map(_batch_table, [shared] * len(parts), parts, [closed] * len(parts), [1] * len(parts),
                             pure=False)
        return _concat(client.gather(futures))
    before = kthreads.get_num_threads()
    if threads is not None:
        kthreads.set_num_threads(int(threads))
    bar = progress_bar(n * k, "lines", check_progress(progress), "line", scale=False, leave=False)
    try:
        tail = _tail(net, seg[0, 0])  # the layers every line shares, packed once
        tables = []
        for part in parts:
            base = sum(len(t) for t in tables) * k  # segments walked before this batch
            done = None if bar is None else (lambda m, base=base: bar.update(base + m - bar.n))
            tables.append(_rows(net, part, closed, _walks(net, part, tail, done)))
        return _concat(tables)
    finally:
        kthreads.set_num_threads(before)
        if bar is not None:
            bar.close()


class TrainingStats:
    """``training_stats``'s result: a ``LineStats`` per checkpoint, and the points' distances.

    Attributes
    ----------
    lines : list of LineStats
        One table per checkpoint, the same lines in each.
    distance : ndarray of float64, shape (checkpoints, points), or None
        Each point's distance to its region's boundary at each checkpoint.
    density : ndarray of float64, shape (checkpoints, lines)
        ``lines[c].density`` stacked.

    ``plot()`` draws density and distance against the checkpoint index
    (``fastrelu.plot.training_figure``).
    """

    def __init__(self, lines, distance):
        self.lines = list(lines)
        self.distance = distance
        self.density = np.stack([t.density for t in self.lines])

    def __len__(self):
        return len(self.lines)

    def plot(self, **kwargs):
        """The figure of density and boundary distance over the checkpoints (see
        ``fastrelu.plot.training_figure`` for the options)."""
        return provided("training_figure")(self, **kwargs)

    def __repr__(self):
        return f"TrainingStats(checkpoints={len(self)}, lines={self.density.shape[1]})"


def _as_network(checkpoint, model, i, input_shape):
    if isinstance(checkpoint, Network):
        return checkpoint
    if isinstance(checkpoint, dict):  # a state_dict: loaded into the model given
        if model is None:
            raise TypeError(f"checkpoints[{i}] is a state_dict: give model= (a torch module of that architecture) to load it into")
        import copy

        m = copy.deepcopy(model)
        m.load_state_dict(checkpoint)
        return Network.from_torch(m.eval(), input_shape, dtype="float64")
    if hasattr(checkpoint, "state_dict") and hasattr(checkpoint, "parameters"):
        return Network.from_torch(checkpoint.eval(), input_shape, dtype="float64")
    raise TypeError(f"checkpoints[{i}] must be a Network, a torch module or a state_dict, got {type(checkpoint).__name__}")


def training_stats(checkpoints, X0, X1, *, points=None, model=None, input_shape=None, **kwargs):
    """``line_stats`` (and ``boundary_distance`` of ``points``) at every checkpoint.

    Parameters
    ----------
    checkpoints : sequence of Network, torch modules or state_dicts
        The models over training (state_dicts are loaded into a copy of ``model``).
    X0, X1 : array_like, shape (n, in)
        The lines, the same at every checkpoint.
    points : array_like, shape (m, in), optional
        Points whose distance to their region's boundary is followed too.
    model : torch.nn.Module, optional
        The architecture the state_dicts are loaded into.
    input_shape : tuple of int, optional
        The input's shape without the batch axis, for torch models whose first operation
        does not fix it (a convolution): see ``Network.from_torch``.
    **kwargs
        Passed to ``line_stats`` (``batch``, ``threads``, ``progress``, ``client``, ``path``...).

    Returns
    -------
    TrainingStats

    Examples
    --------
    >>> import fastrelu, numpy as np
    >>> nets = [fastrelu.Network.random([2, 8, 8, 1], seed=s) for s in range(3)]
    >>> ts = fastrelu.training_stats(nets, np.zeros((4, 2)), np.ones((4, 2)), points=np.ones((5, 2)))
    >>> ts.density.shape, ts.distance.shape
    ((3, 4), (3, 5))
    """
    if isinstance(checkpoints, (Network, dict)) or not hasattr(checkpoints, "__len__") or len(checkpoints) == 0:
        raise TypeError("checkpoints must be a non-empty list of networks, torch modules or state_dicts")
    nets = [_as_network(c, model, i, input_shape) for i, c in enumerate(checkpoints)]
    tables = [line_stats(net, X0, X1, **kwargs) for net in nets]
    distance = None if points is None else np.stack([boundary_distance(net, points).distance for net in nets])
    return TrainingStats(tables, distance)
