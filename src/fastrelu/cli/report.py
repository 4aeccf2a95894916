"""What the command prints: the sweep's summary, the tables of ``bench`` and ``backends``."""

import os
import platform
from importlib import metadata

import numpy as np

from ..kernels.registry import ALIASES, backends, select
from ..model.describe import architecture, classic, network_title, swept_widths
from ..utils.config import VERSION


def print_table(head, rows):
    """Rows of strings in columns, the last one left unpadded (it holds free text)."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1])


def rate(pairs, seconds):
    """Pairs (or points) per second, or ``inf`` for a run too short to time."""
    return f"{pairs / seconds:.3g}" if seconds > 0 else "inf"


# What the speeds count, said once for the summary, the bench header and --help: a
# dense backend evaluates every (point, hidden unit) pair, so pairs/s is its work
# rate; the exact backend walks the linear pieces and reads each point off its
# piece, so it has no pairs to count, and points/s is what it is timed by.
SPEEDS = ("points/s for every backend; pairs/s (points x hidden units per second) for the dense backends only, "
          "which evaluate every pair: the exact backend walks the linear pieces instead")


def threads_of(backend):
    """The threads ``backend`` runs on now, or None for a backend that does not say."""
    try:
        return select(backend)[1].get_num_threads()
    except Exception:  # a backend without a thread count still ran
        return None


def _point(v):
    v = np.asarray(v)
    if v.shape[0] <= 6:
        return "(" + ", ".join(f"{float(a):.4g}" for a in v) + ")"
    return "(" + ", ".join(f"{float(a):.4g}" for a in v[:3]) + f", ..., {float(v[-1]):.4g})  [{v.shape[0]} numbers]"


def _describe_network(net, along, source, dtype):
    """Rows of the summary naming the network: today's one row for one hidden layer of a
    scalar, else its widths, depth, hidden units in all and outputs."""
    if classic(net, along):
        return [f"hidden units  {net.hidden:,}  ({net.activation}, {source}, {dtype})"]
    if net.is_graph:  # convolutions, pooling or branches: its title and its nodes
        return [
            f"network       {network_title(net, along=along)}  ({source}, {dtype})",
            f"nodes         {len(net.nodes)}: {net.hidden:,} activation units in {net.depth} nodes, "
            f"{net.out_features:,} output{'s' if net.out_features != 1 else ''}",
        ]
    widths = swept_widths(net, along)
    names = [str(a) for a in net.activations]
    acts = names[0] if len(set(names)) == 1 else ",".join(names)
    per_layer = "+".join(f"{w:,}" for w in widths[1:-1])
    return [
        f"network       widths {','.join(str(w) for w in widths)}  ({architecture(widths)}, depth {net.depth}, "
        f"{acts}, {source}, {dtype})",
        f"hidden units  {net.hidden:,} in all" + (f" ({per_layer})" if net.depth > 1 else "")
        + f", {net.out_features:,} output{'s' if net.out_features != 1 else ''}",
    ]


def _summary(res):
    """Slope changes and the range of y, read chunk by chunk from a stored result."""
    if isinstance(res.x, np.ndarray):
        return int(np.count_nonzero(res.slope_changes)), float(res.y.min()), float(res.y.max())
    changes, lo, hi, last = 0, np.inf, -np.inf, None
    for piece in res.chunks():
        changes += int(np.count_nonzero(piece.slope_changes)) + int(last is not None and bool(np.any(piece.slope[0] != last)))
        lo, hi, last = min(lo, float(piece.y.min())), max(hi, float(piece.y.max())), piece.slope[-1]
    return changes, lo, hi


def size_text(nbytes):
    """A size as people read it: ``3.2 GB``, ``850 MB``, ``12 kB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes} B"


def print_sweep(res, net, along, *, seconds, source, threads=None, line_note="", on_cluster=False, stored=False,
                out=None, compile_seconds=0.0, written=None):
    """The summary of ``fastrelu sweep``: grid, line, network, backend, time, slope changes, y range.

    ``source`` names where the network came from (``seed 3``, ``from net.npz``),
    ``line_note`` follows x1 (how a random end was drawn), ``threads`` is the count the
    sweep ran on (None: not shown), ``stored`` says the result is a Zarr store.
    ``seconds`` is the computation's time alone: a Numba compile (``compile_seconds``)
    and the writing of an ``.npz`` (``written``: its bytes and seconds) are shown apart.
    """
    n = len(res)
    changes, ymin, ymax = _summary(res)
    if along is None:
        print(f"points        {n:,}  (x from {float(res.x[0]):g} to {float(res.x[-1]):g})")
    else:
        print(f"points        {n:,}  (t from {float(res.x[0]):g} to {float(res.x[-1]):g} along the line)")
        print(f"line          x0 = {_point(along[0])}")
        print(f"              x1 = {_point(along[1])}" + line_note)
    for row in _describe_network(net, along, source, res.dtype.name):
        print(row)
    print(f"backend       {res.backend}" + (f"  ({threads} thread{'s' if threads != 1 else ''})" if threads else "")
          + ("  (on the Dask cluster)" if on_cluster else ""))
    if res.backend == "exact":  # the one backend of the exact algorithm: no pairs to count (see SPEEDS)
        print(f"time          {seconds:.3f} s  ({rate(n, seconds)} points/s; the exact backend walks the linear pieces, "
              "so no pairs/s)")
    else:
        print(f"time          {seconds:.3f} s  ({rate(n * net.hidden, seconds)} pairs/s"
              + (")" if classic(net, along) else ", pairs = points x hidden units in all)"))
    if compile_seconds > 0:
        print(f"compile       {compile_seconds:.3f} s  (Numba, once: cached for next time)")
    if stored:
        print(f"chunks        {len(res.computed):,} computed now, {-(-n // res.chunk):,} in all")
    print(f"slope changes {changes:,}")
    print(f"y range       [{ymin:.6g}, {ymax:.6g}]")
    if out is not None:
        print(f"result        {out}" + ("" if written is None else f"  ({size_text(written[0])}, written in {written[1]:.3f} s)"))


def print_bench_headline(net, along, num, repeat):
    """The first line of ``fastrelu bench``: the grid, the network, the dtype, the repeats."""
    if classic(net, along):
        what = f"{net.hidden:,} hidden units"
    elif net.is_graph:  # convolutions, pooling or branches: no widths to list
        what = (f"{net.hidden:,} units in {net.depth} activation node{'s' if net.depth != 1 else ''} of a graph of "
                f"{len(net.nodes)} nodes, {net.out_features} output{'s' if net.out_features != 1 else ''}"
                f"{', along a line' if along is not None else ''}")
    else:
        widths = net.widths if along is None else (along[0].shape[0], *net.widths[1:])
        what = (f"{net.hidden:,} hidden units in all (widths {','.join(map(str, widths))}, depth {net.depth}, "
                f"{net.out_features} output{'s' if net.out_features != 1 else ''}{', along a line' if along is not None else ''})")
    # one line (the table follows on the next): what the two speeds count, short
    print(f"bench: {num:,} points x {what} = {num * net.hidden:.3g} pairs, {net.dtype.name}, best of {repeat}; "
          "pairs/s for the dense backends only (exact walks the pieces: points/s)")


def _version_of(name):
    package = {"numba": "numba", "cffi": "cffi", "numpy": "numpy", "exact": "numba"}.get(name)
    if package is None:
        return ""
    try:
        return f"{package} {metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return ""


def print_backends(auto_net, auto_num):
    """The table of ``fastrelu backends``, each backend on its two axes, and what ``auto``
    chooses for ``auto_num`` points of ``auto_net``."""
    print(f"fastrelu {VERSION}, Python {platform.python_version()}, {os.cpu_count()} cores")
    rows = []
    for name, info in backends().items():
        threads = threads_of(name) if info.available else None
        also = ", ".join(alias for alias, target in ALIASES.items() if target == name)
        rows.append((name, info.algorithm or "-", info.engine or "-", also or "-", "yes" if info.available else "no",
                     "-" if threads is None else str(threads), _version_of(name),
                     info.description if info.available else f"missing: {info.reason}"))
    print_table(("backend", "algorithm", "engine", "also named", "available", "threads", "version", ""), rows)
    env = os.environ.get("FASTRELU_BACKEND", "").strip()
    chosen = select("auto", auto_net, auto_num)[0]
    print(f"auto chooses  {chosen} for {auto_num:,} points x {auto_net.hidden:,} hidden units"
          + (f" ($FASTRELU_BACKEND={env})" if env else ""))


def print_map(m, net, *, seconds, source):
    """The summary of ``fastrelu map``: the network, the plane and the map's counts."""
    (u0, u1), (v0, v1) = m.bounds
    plane = "through three points" if np.asarray(m.points).shape[0] else "the network's input plane"
    if net.is_graph:  # convolutions, pooling or branches: no widths to list
        about = f"{network_title(net)}, {len(net.nodes)} nodes ({source})"
    else:
        widths = (m.origin.shape[0], *net.widths[1:])
        about = f"widths {','.join(str(w) for w in widths)}  ({architecture(widths)}, {source})"
    rows = [
        f"network       {about}",
        f"plane         {plane}, u from {u0:g} to {u1:g}, v from {v0:g} to {v1:g}",
        f"regions       {len(m):,} faces, {m.n_vertices:,} vertices, {m.n_edges:,} edges "
        f"({m.n_boundaries:,} inside, {m.n_kinks:,} of them kinks)",
        f"time          {seconds:.3f} s",
    ]
    print("\n".join(rows))
