"""The ``fastrelu`` command (also ``python -m fastrelu``).

``fastrelu`` alone, or ``fastrelu sweep`` alone, runs the classic demo: a random
ReLU network swept from -100 to 100 in steps of 0.01, drawn to
``fastrelu-sweep.png``.  Every error is one line on stderr and a non-zero exit
(set ``FASTRELU_DEBUG=1`` to get the traceback instead).
"""

import argparse
import os
import re
import sys
import time

import numpy as np

from ..backends.agreement import compare
from ..backends.registry import backends, select
from ..model import NAMES
from ..model.describe import architecture, swept_widths
from ..model.network import Network, on_line
from ..plot import check_figure_path, compare_figure
from ..plot.figures import _shown_outputs
from ..plot.page import html
from ..store.zarr_store import open_result
from ..sweeps.sweep import sweep
from ..utils.config import VERSION
from ..utils.validation import existing_folder

# The demo network: wide enough for the staircase of slopes and counts to be
# worth looking at, narrow enough that its kinks are told apart in the zoom.
DEMO_HIDDEN = 100
DEMO_SEED = 0
DEMO_FIGURE = "fastrelu-sweep.png"
COMPARE_FIGURE = "fastrelu-compare.png"

EXIT_ERROR = 2  # bad arguments, bad files, anything that stopped the command
EXIT_DISAGREE = 1  # bench: a backend disagrees with the numpy reference


class CommandError(Exception):
    """A one-line error for the user; ``main`` prints it and exits non-zero."""


# A point given on the command line: comma-separated numbers, possibly negative.
_NUMBERS = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(,[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)*")


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage and exits; one line naming --help is clearer, and
    # main() decides the exit code.
    def error(self, message):
        raise CommandError(f"{self.prog}: error: {message} (see '{self.prog} --help')")

    def _parse_optional(self, arg_string):
        # '--along -1,-1 1,1': a list of numbers starting with a minus is a value, not an option
        # (argparse itself only lets a single negative number through).
        if arg_string.startswith("-") and _NUMBERS.fullmatch(arg_string):
            return None
        return super()._parse_optional(arg_string)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def _format_args(self, action, default_metavar):
        # --along takes one or two values ('random', or X0 X1): show what is meant, not '+'
        if action.dest == "along":
            return "X0 X1"
        return super()._format_args(action, default_metavar)


def _formatter(prog):
    return _Formatter(prog, max_help_position=32)


# -- shared options ------------------------------------------------------------------


def _widths_arg(text):
    """``--widths IN,H1,...,OUT``: at least three positive integers."""
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths such as 1,64,64,1, got {text!r}") from None
    if len(widths) < 3:
        raise argparse.ArgumentTypeError(f"needs at least three widths IN,HIDDEN,...,OUT such as 1,64,1, got {text!r}")
    if min(widths) < 1:
        raise argparse.ArgumentTypeError(f"every width must be >= 1, got {text!r}")
    return widths


def _outputs_arg(text):
    try:
        return [int(k) for k in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated output indices such as 0,3,7, got {text!r}") from None


_ALONG_HELP = (
    "sweep the line x0 + t*(x1 - x0) through input space, t from 0 to 1 (20,001 points unless told): "
    "two points, each comma-separated numbers, one per input of the network (--along 0,0,0 1,2,3; "
    "--along -1,-1 1,1), or 'random' for two points drawn from the standard normal with "
    "numpy.random.default_rng([SEED, 1]) (--along random; or one of them: --along 0,0 random). "
    "Needed for a network of more than one input"
)


def _add_network_options(p, *, hidden_default=DEMO_HIDDEN, seed_default=DEMO_SEED):
    g = p.add_argument_group("network")
    shape = g.add_mutually_exclusive_group()
    shape.add_argument("--hidden", type=int, metavar="H",
                       help=f"hidden units of a random one-layer network of a scalar, widths 1,H,1 (default {hidden_default})")
    shape.add_argument("--widths", type=_widths_arg, metavar="IN,H1,...,OUT",
                       help="layer widths of a random network of any depth, e.g. 1,64,64,1 or 784,256,256,10")
    g.add_argument("--seed", type=int, metavar="S", help=f"seed of the random network (default {seed_default})")
    g.add_argument("--activation", choices=NAMES,
                   help="activation of every hidden layer (default relu, or the loaded network's)")
    g.add_argument("--network", metavar="FILE.npz", help="load this network (saved by Network.save; any depth) instead")
    g.add_argument("--along", nargs="+", metavar="X0 X1", help=_ALONG_HELP)


def _add_grid_options(p, *, backend=True):
    g = p.add_argument_group("grid")
    g.add_argument("--start", type=float, help="first x (default -100), or first t with --along (default 0)")
    g.add_argument("--stop", type=float, help="last x (default 100), or last t with --along (default 1)")
    steps = g.add_mutually_exclusive_group()
    steps.add_argument("--step", type=float, help="spacing of x (default 0.01)")
    steps.add_argument("--num", type=int, metavar="N", help="instead of --step: N evenly spaced points")
    if backend:
        g = p.add_argument_group("computation")
        g.add_argument("--backend", default="auto", help="backend name from 'fastrelu backends' (default auto)")
        g.add_argument("--dtype", choices=["float64", "float32"], help="precision (default the network's)")
        g.add_argument("--threads", type=int, metavar="T", help="threads (default all cores)")


def _add_figure_options(p, default, help_extra=""):
    g = p.add_argument_group("figure")
    g.add_argument("--plot", metavar="FIGURE", default=default,
                   help=f"write the figure here; .png, .svg or .pdf{help_extra}")
    g.add_argument("--kinks", action=argparse.BooleanOptionalAction, default=True,
                   help="mark the kinks with thin lines (default on)")
    g.add_argument("--zoom", nargs=2, type=float, metavar=("LO", "HI"),
                   help="inset of the output from LO to HI (default: where the kinks crowd)")
    g.add_argument("--no-zoom", action="store_true", help="no inset")
    g.add_argument("--title", help="figure title (default names the network and grid)")
    g.add_argument("--dpi", type=float, default=150, help="resolution of a .png (default 150)")
    g.add_argument("--outputs", type=_outputs_arg, metavar="I,J,...",
                   help="which outputs of a network of several to draw (default the first 10)")
    g.add_argument("--html", metavar="PAGE",
                   help="also write the interactive page here: one .html file that opens offline, drawn from the "
                        "exact pieces, zoom into any kink (needs bokeh: pip install 'fastrelu[html]')")


def _random_along(args):
    return args.along is not None and "random" in args.along


def _network(args, hidden_default=DEMO_HIDDEN, seed_default=DEMO_SEED, dtype="float64"):
    """The network the options describe, and the seed it was drawn with (None when loaded)."""
    if args.network is not None:
        # with a loaded network, --seed only says where random points of --along come from
        if args.hidden is not None or args.widths is not None or (args.seed is not None and not _random_along(args)):
            raise CommandError("--hidden, --widths and --seed describe a random network; leave them out with --network "
                               "(--seed goes with it only for --along random)")
        net = Network.load(args.network)
        if args.activation is not None:
            net = net.with_activation(args.activation)
        return net, None
    seed = seed_default if args.seed is None else args.seed
    shape = args.widths if args.widths is not None else (hidden_default if args.hidden is None else args.hidden)
    return Network.random(shape, seed=seed, activation=args.activation or "relu", dtype=dtype), seed


def _vector(text, name):
    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise CommandError(f"--along: {name} must be comma-separated numbers such as 0,1.5,-2, got {text!r}") from None


def _along(args, net, seed=None):
    """``(x0, x1)`` from ``--along``, or None; a network of several inputs needs it."""
    n = net.in_features
    if args.along is None:
        if n != 1:
            raise CommandError(f"the network takes {n} inputs: give --along X0 X1 (each {n} comma-separated numbers) "
                               "or --along random, the line x0 + t*(x1 - x0) to sweep")
        return None
    words = ["random", "random"] if args.along == ["random"] else args.along
    if len(words) != 2:
        raise CommandError(f"--along takes two points X0 X1 (comma-separated numbers, or random), "
                           f"got {len(words)} value{'s' if len(words) != 1 else ''}")
    drawn = None
    if "random" in words:
        seed = DEMO_SEED if args.seed is None else args.seed
        drawn = np.random.default_rng([seed, 1]).standard_normal((2, n))
    points = []
    for k, (text, name) in enumerate(zip(words, ("X0", "X1"))):
        p = drawn[k] if text == "random" else _vector(text, name)
        if p.shape[0] != n:
            raise CommandError(f"--along: {name} has {p.shape[0]} number{'s' if p.shape[0] != 1 else ''} "
                               f"but the network takes {n} input{'s' if n != 1 else ''}")
        points.append(p)
    return tuple(points)


def _classic(net, along):
    """A one-hidden-layer network of a scalar swept over x: printed as before deep networks came."""
    return along is None and net.widths[0] == 1 and net.depth == 1 and net.out_features == 1


def _point(v):
    v = np.asarray(v)
    if v.shape[0] <= 6:
        return "(" + ", ".join(f"{float(a):.4g}" for a in v) + ")"
    return "(" + ", ".join(f"{float(a):.4g}" for a in v[:3]) + f", ..., {float(v[-1]):.4g})  [{v.shape[0]} numbers]"


def _grid(args):
    return dict(start=args.start, stop=args.stop, step=args.step, num=args.num)


def _describe_network(net, along, source, dtype):
    """Rows of the summary naming the network: today's one row for one hidden layer of a
    scalar, else its widths, depth, hidden units in all and outputs."""
    if _classic(net, along):
        return [f"hidden units  {net.hidden:,}  ({net.activation}, {source}, {dtype})"]
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


def _check_outputs(args, net):
    """A bad --outputs fails before the sweep, not after it."""
    if args.outputs is not None:
        _shown_outputs(net, args.outputs)


def _zoom(args):
    if args.no_zoom:
        return None
    return tuple(args.zoom) if args.zoom is not None else "auto"


def _check_figure_options(args, plot):
    """Refuse a bad figure option before any computation, in one line naming the option:
    the figure is drawn after the sweep, which may have taken minutes (or written a store)."""
    from importlib.util import find_spec


    if args.zoom is not None:
        lo, hi = args.zoom
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise CommandError(f"--zoom LO HI needs finite numbers with LO < HI, got {lo:g} {hi:g}")
    if not (np.isfinite(args.dpi) and args.dpi > 0):
        raise CommandError(f"--dpi must be a number > 0, got {args.dpi:g}")
    for option, path, check in (("--plot", plot, check_figure_path), ("--html", args.html, existing_folder)):
        if path:
            try:
                check(path)
            except ValueError as exc:
                raise CommandError(f"{option}: {exc}") from None
    if args.html and find_spec("bokeh") is None:
        raise CommandError("--html needs bokeh: pip install 'fastrelu[html]'")


def _save(fig, path, dpi):
    # PNG at zlib level 1: a third of the encoding time of matplotlib's default level
    # (6), for a file about 30% larger, still lossless (the demo's 0.1 s budget)
    extra = {"pil_kwargs": {"compress_level": 1}} if str(path).lower().endswith(".png") else {}
    fig.savefig(path, dpi=dpi, **extra)
    print(f"figure        {path}")


def _threads_of(backend):
    try:
        return select(backend)[1].get_num_threads()
    except Exception:  # a backend without a thread count still ran
        return None


def _rate(pairs, seconds):
    return f"{pairs / seconds:.3g}" if seconds > 0 else "inf"


# -- subcommands -----------------------------------------------------------------------


def _summary(res):
    """Slope changes and the range of y, read chunk by chunk from a stored result."""
    if isinstance(res.x, np.ndarray):
        return int(np.count_nonzero(res.slope_changes)), float(res.y.min()), float(res.y.max())
    changes, lo, hi, last = 0, np.inf, -np.inf, None
    for piece in res.chunks():
        changes += int(np.count_nonzero(piece.slope_changes)) + int(last is not None and bool(np.any(piece.slope[0] != last)))
        lo, hi, last = min(lo, float(piece.y.min())), max(hi, float(piece.y.max())), piece.slope[-1]
    return changes, lo, hi


def _cluster(args):
    """A Dask client for --scheduler or --workers, or None; closed by the caller."""
    if args.scheduler is None and args.workers is None:
        return None
    if args.out is None or args.out.lower().endswith(".npz"):
        raise CommandError("--scheduler and --workers go with a Zarr store: --out result.zarr")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise CommandError("--scheduler and --workers need dask.distributed: pip install 'fastrelu[scale]'") from None
    if args.scheduler is not None:
        return Client(args.scheduler, timeout="10s")
    if args.workers < 1:
        raise CommandError(f"--workers must be >= 1, got {args.workers}")
    # single-threaded worker processes, one per core by default: no oversubscription
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)


def cmd_sweep(args):
    stored = args.out is not None and not args.out.lower().endswith(".npz")
    if not stored and args.chunk is not None:
        raise CommandError("--chunk goes with a Zarr store: --out result.zarr")
    plot = args.plot
    if plot is None and args.out is None:
        plot = DEMO_FIGURE  # the demo: nothing asked for, so draw the figure
    _check_figure_options(args, plot)
    net, seed = _network(args)
    along = _along(args, net)
    if plot is not None:
        _check_outputs(args, net)
    extra = {}
    client = _cluster(args)
    if stored:
        extra = dict(out=args.out, chunk=args.chunk, client=client, progress=args.progress, overwrite=args.overwrite)
    elif args.out is not None:
        extra = dict(out=args.out)
    try:
        t0 = time.perf_counter()
        res = sweep(net, **_grid(args), along=along, backend=args.backend, dtype=args.dtype, threads=args.threads,
                    **extra)
        seconds = time.perf_counter() - t0
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    n, h = len(res), net.hidden
    changes, ymin, ymax = _summary(res)
    # the count the sweep ran on: --threads applied to that call only
    threads = (args.threads or _threads_of(res.backend)) if client is None else None
    source = f"seed {seed}" if seed is not None else f"from {args.network}"
    if along is None:
        print(f"points        {n:,}  (x from {float(res.x[0]):g} to {float(res.x[-1]):g})")
    else:
        print(f"points        {n:,}  (t from {float(res.x[0]):g} to {float(res.x[-1]):g} along the line)")
        print(f"line          x0 = {_point(along[0])}")
        print(f"              x1 = {_point(along[1])}" + (f"  (random, seed {DEMO_SEED if args.seed is None else args.seed})"
                                                         if _random_along(args) else ""))
    for row in _describe_network(net, along, source, res.dtype.name):
        print(row)
    print(f"backend       {res.backend}" + (f"  ({threads} thread{'s' if threads != 1 else ''})" if threads else "")
          + ("  (on the Dask cluster)" if client is not None else ""))
    print(f"time          {seconds:.3f} s  ({_rate(n * h, seconds)} pairs/s"
          + (")" if _classic(net, along) else ", pairs = points x hidden units in all)"))
    if stored:
        print(f"chunks        {len(res.computed):,} computed now, {-(-n // res.chunk):,} in all")
    print(f"slope changes {changes:,}")
    print(f"y range       [{ymin:.6g}, {ymax:.6g}]")
    if args.out is not None:
        print(f"result        {args.out}")
    if plot is not None:
        fig = res.plot(seed=seed, kinks=args.kinks, zoom=_zoom(args), title=args.title, outputs=args.outputs, dpi=args.dpi)
        _save(fig, plot, args.dpi)
    if args.html:
        html(res, args.html, title=args.title, outputs=args.outputs)
        print(f"page          {args.html}")
    return 0


def cmd_compare(args):
    _check_figure_options(args, args.plot)
    net, seed = _network(args)
    along = _along(args, net)
    _check_outputs(args, net)
    fig = compare_figure(net, **_grid(args), along=along, backend=args.backend, dtype=args.dtype, threads=args.threads,
                         seed=seed, kinks=args.kinks, zoom=_zoom(args), title=args.title, outputs=args.outputs, dpi=args.dpi)
    _save(fig, args.plot, args.dpi)
    if args.html:
        grid = _grid(args)
        html(net, args.html, start=grid.get("start"), stop=grid.get("stop"), along=along, twin=True, outputs=args.outputs)
    return 0


def cmd_plot(args):
    plot = args.plot or os.path.splitext(args.result.rstrip("/"))[0] + ".png"
    _check_figure_options(args, plot)
    res = open_result(args.result)
    fig = res.plot(kinks=args.kinks, zoom=_zoom(args), title=args.title, outputs=args.outputs, dpi=args.dpi)
    _save(fig, plot, args.dpi)
    if args.html:
        html(res, args.html, title=args.title, outputs=args.outputs)
    return 0


def cmd_bench(args):
    if args.repeat < 1:
        raise CommandError(f"--repeat must be >= 1, got {args.repeat}")
    available = backends()
    names = args.backends.split(",") if args.backends else list(available)
    unknown = [b for b in names if b not in available]
    if unknown:
        raise CommandError(f"--backends: unknown backend {unknown[0]!r}; known: {', '.join(available)}")
    net, _ = _network(args, hidden_default=1000, seed_default=0, dtype=args.dtype)
    if net.dtype != np.dtype(args.dtype):
        net = net.astype(args.dtype)  # a loaded network, benched in the precision asked for
    along = _along(args, net)
    of_t = on_line(net, along)[0]  # what the kernels run: the line folded into the first layer
    grid = dict(start=args.start, stop=args.stop, num=args.num, along=along)

    def timed(name):
        # A tiny sweep first so that a JIT compile is not timed.
        sweep(net, args.start, args.stop, num=16, along=along, backend=name, threads=args.threads)
        best, res = float("inf"), None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = sweep(net, **grid, backend=name, threads=args.threads)
            best = min(best, time.perf_counter() - t0)
        return res, best

    pairs = args.num * net.hidden
    if _classic(net, along):
        what = f"{net.hidden:,} hidden units"
    else:
        widths = net.widths if along is None else (along[0].shape[0], *net.widths[1:])
        what = (f"{net.hidden:,} hidden units in all (widths {','.join(map(str, widths))}, depth {net.depth}, "
                f"{net.out_features} output{'s' if net.out_features != 1 else ''}{', along a line' if along is not None else ''})")
    print(f"bench: {args.num:,} points x {what} = {pairs:.3g} pairs, {net.dtype.name}, best of {args.repeat}")
    ref, ref_time = timed("numpy")
    rows, failed = [], 0
    for name in names:
        info = available[name]
        if not info.available:
            rows.append((name, "-", "-", "-", "-", f"unavailable: {info.reason}"))
            continue
        try:
            select(name, of_t, args.num)
        except RuntimeError as exc:  # available, but without a kernel for this network: not a disagreement
            rows.append((name, "-", "-", "-", "-", f"cannot run this network: {exc}"))
            continue
        if name == "numpy":
            res, seconds = ref, ref_time
        else:
            try:
                res, seconds = timed(name)
            except Exception as exc:  # a broken backend is a row of the table, not the end of it
                failed += 1
                rows.append((name, net.dtype.name, "-", "-", "-", f"FAILED: {type(exc).__name__}: {exc}"))
                continue
        agreement = compare(res, ref)
        failed += not agreement.ok
        rows.append((name, res.dtype.name, f"{seconds:.4f}", _rate(pairs, seconds),
                     f"{ref_time / seconds:.1f}x" if seconds > 0 else "-", str(agreement)))
    head = ("backend", "dtype", "time [s]", "pairs/s", "vs numpy", "agreement with the numpy reference")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5])
    if failed:
        print(f"fastrelu bench: {failed} backend{'s' if failed != 1 else ''} disagree with the numpy reference",
              file=sys.stderr)
        return EXIT_DISAGREE
    return 0


def _version_of(name):
    from importlib import metadata

    package = {"numba": "numba", "cffi": "cffi", "numpy": "numpy", "exact": "numba"}.get(name)
    if package is None:
        return ""
    try:
        return f"{package} {metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return ""


def cmd_backends(args):
    import platform



    print(f"fastrelu {VERSION}, Python {platform.python_version()}, {os.cpu_count()} cores")
    rows = []
    for name, info in backends().items():
        threads = _threads_of(name) if info.available else None
        rows.append((name, "yes" if info.available else "no", "-" if threads is None else str(threads),
                     _version_of(name), info.description if info.available else f"missing: {info.reason}"))
    head = ("backend", "available", "threads", "version", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
    env = os.environ.get("FASTRELU_BACKEND", "").strip()
    net = Network.random(args.hidden, seed=0)
    chosen = select("auto", net, args.num)[0]
    print(f"auto chooses  {chosen} for {args.num:,} points x {args.hidden:,} hidden units"
          + (f" ($FASTRELU_BACKEND={env})" if env else ""))
    return 0


# -- the parser ---------------------------------------------------------------------------

_EXAMPLES = {
    "sweep": """examples:
  fastrelu sweep                                    # the demo: writes fastrelu-sweep.png
  fastrelu sweep --hidden 1000 --seed 3 --plot big.svg
  fastrelu sweep --num 100000000 --out result.npz   # save the arrays, no figure
  fastrelu sweep --num 1000000000 --hidden 1000 --out result.zarr --chunk 10000000 --workers 2
  fastrelu plot result.zarr                         # the figure, read chunk by chunk
  fastrelu sweep --network net.npz --start -5 --stop 5 --step 0.001 --backend numba

deep networks, swept along the line x0 + t*(x1 - x0), t from 0 to 1:
  fastrelu sweep --widths 2,64,64,64,3 --along -1,-1 1,1 --plot deep.png
  fastrelu sweep --widths 1,64,64,1 --activation leaky_relu            # one input: no --along needed
  fastrelu sweep --widths 784,256,256,10 --along random --seed 3 --outputs 0,1,2
  fastrelu sweep --network mlp.npz --along 0,0,0 1,2,3 --num 100001   # a saved network of 3 inputs""",
    "compare": """examples:
  fastrelu compare                                  # writes fastrelu-compare.png
  fastrelu compare --hidden 20 --seed 1 --start -5 --stop 5 --plot twin.pdf
  fastrelu compare --widths 2,64,64,64,3 --along -1,-1 1,1 --plot deep-twin.png""",
    "plot": """examples:
  fastrelu sweep --out result.npz && fastrelu plot result.npz   # writes result.png
  fastrelu plot result.npz --plot result.svg --no-kinks
  fastrelu sweep --widths 3,32,32,4 --along random --out deep.zarr && fastrelu plot deep.zarr --outputs 0,3""",
    "bench": """examples:
  fastrelu bench                                    # 100,000 points x 1,000 units
  fastrelu bench --num 1000000 --hidden 1000 --dtype float32 --repeat 5
  fastrelu bench --widths 2,64,64,64,3 --along -1,-1 1,1 --num 20001   # every backend that runs deep networks""",
    "backends": """examples:
  fastrelu backends
  FASTRELU_BACKEND=numba fastrelu backends""",
}


def build_parser():
    parser = _Parser(
        prog="fastrelu",
        formatter_class=_formatter,
        description="Look inside piecewise-linear networks: output, slope and negative units over a fine grid "
                    "(of x, or of t along a line through the inputs of a deep network).",
        epilog="examples:\n  fastrelu                 # the demo: a random ReLU network, drawn to fastrelu-sweep.png\n"
               "  fastrelu sweep --help    # every option of a subcommand",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name, help_, description):
        return sub.add_parser(name, help=help_, description=description, epilog=_EXAMPLES[name],
                              formatter_class=_formatter)

    p = add("sweep", "sweep a network over a grid; print a summary, save the result and/or the figure",
            "Sweep a random (or loaded) network over a grid and print a summary. With no --out and no --plot, "
            f"draws the figure to {DEMO_FIGURE}.")
    _add_network_options(p)
    _add_grid_options(p)
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="RESULT",
                   help="save x, y, slope, negative and the network here: RESULT.npz in memory, any other name "
                        "a Zarr store written chunk by chunk (resumes if interrupted)")
    g.add_argument("--chunk", type=int, metavar="N", help="points per chunk of a Zarr store (default 4194304)")
    g.add_argument("--overwrite", action="store_true", help="replace a Zarr store made with other arguments")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bar while writing a Zarr store (default on)")
    g = p.add_argument_group("cluster (Zarr stores only)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run the chunks on this Dask scheduler (tcp://host:8786)")
    g.add_argument("--workers", type=int, metavar="K", help="start a local Dask cluster of K single-threaded workers")
    _add_figure_options(p, None, f" (default {DEMO_FIGURE} unless --out is given)")
    p.set_defaults(func=cmd_sweep)

    p = add("compare", "draw a ReLU network beside its linear twin",
            "Draw the network (left) beside the same weights without the ReLU (right): same grid, same rows. "
            "A deep network's twin drops the activation of every hidden layer.")
    _add_network_options(p)
    _add_grid_options(p)
    _add_figure_options(p, COMPARE_FIGURE, f" (default {COMPARE_FIGURE})")
    p.set_defaults(func=cmd_compare)

    p = add("plot", "draw a saved result", "Draw a result saved by 'fastrelu sweep --out' or SweepResult.save; "
            "a Zarr store is read chunk by chunk, so it may be larger than memory.")
    p.add_argument("result", metavar="RESULT", help="the saved result: RESULT.npz or a Zarr store")
    _add_figure_options(p, None, " (default RESULT.png)")
    p.set_defaults(func=cmd_plot)

    p = add("bench", "time every backend against the numpy reference",
            "Run every available backend that can sweep the network on one grid, print a table and exit with status "
            f"{EXIT_DISAGREE} if any backend disagrees with the numpy reference. Backends without a kernel for "
            "a deep network are listed as such.")
    p.add_argument("--num", type=int, default=100_000, metavar="N", help="grid points (default 100000)")
    _add_network_options(p, hidden_default=1000, seed_default=0)
    p.add_argument("--start", type=float, help="first x (default -100), or first t with --along (default 0)")
    p.add_argument("--stop", type=float, help="last x (default 100), or last t with --along (default 1)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="precision (default float64)")
    p.add_argument("--threads", type=int, metavar="T", help="threads (default all cores)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per backend; the best counts (default 3)")
    p.add_argument("--backends", metavar="A,B", help="only these backends (comma-separated; default all)")
    p.set_defaults(func=cmd_bench)

    p = add("backends", "which backends can run here, and which auto chooses",
            "List the backends, whether each can run here (and why not), threads and versions.")
    p.add_argument("--num", type=int, default=20_001, metavar="N", help="grid size auto should choose for")
    p.add_argument("--hidden", type=int, default=1000, metavar="H", help="hidden units auto should choose for")
    p.set_defaults(func=cmd_backends)
    return parser


def _package_version():
    return VERSION


def main(argv=None):
    """Run the ``fastrelu`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Examples
    --------
    >>> from fastrelu.cli.main import main
    >>> main(["sweep", "--hidden", "8", "--num", "101", "--out", "res.npz"])  # doctest: +SKIP
    0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        if not argv or (argv[0].startswith("-") and argv[0] not in {"-h", "--help", "--version"}):
            # bare options (or nothing) belong to the demo: 'fastrelu --hidden 8' is 'fastrelu sweep --hidden 8'
            argv = ["sweep", *argv]
        args = parser.parse_args(argv)
        return args.func(args)
    except CommandError as exc:
        message = str(exc)
        print(message if message.startswith("fastrelu") else f"fastrelu: error: {message}", file=sys.stderr)
    except KeyboardInterrupt:
        print("fastrelu: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except Exception as exc:
        if os.environ.get("FASTRELU_DEBUG"):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not isinstance(exc, (ValueError, TypeError, RuntimeError, OSError, MemoryError)):
            message = f"{type(exc).__name__}: {message}"
        print(f"fastrelu: error: {message}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
