"""The ``fastrelu`` command (also ``python -m fastrelu``).

``fastrelu`` alone, or ``fastrelu sweep`` alone, runs the classic demo: a random
ReLU network swept from -100 to 100 in steps of 0.01, drawn to
``fastrelu-sweep.png``.  Every error is one line on stderr and a non-zero exit
(set ``FASTRELU_DEBUG=1`` to get the traceback instead).
"""

import argparse
import os
import sys
import time

import numpy as np

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


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage and exits; one line naming --help is clearer, and
    # main() decides the exit code.
    def error(self, message):
        raise CommandError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


# -- shared options ------------------------------------------------------------------


def _add_network_options(p):
    g = p.add_argument_group("network")
    g.add_argument("--hidden", type=int, metavar="H", help=f"hidden units of a random network (default {DEMO_HIDDEN})")
    g.add_argument("--seed", type=int, metavar="S", help=f"seed of the random network (default {DEMO_SEED})")
    g.add_argument("--activation", choices=["relu", "linear"], help="activation (default relu, or the loaded network's)")
    g.add_argument("--network", metavar="FILE.npz", help="load this network (saved by Network.save) instead")


def _add_grid_options(p, *, backend=True):
    g = p.add_argument_group("grid")
    g.add_argument("--start", type=float, default=-100.0, help="first x (default -100)")
    g.add_argument("--stop", type=float, default=100.0, help="last x (default 100)")
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


def _network(args):
    from ..model.network import Network

    if args.network is not None:
        if args.hidden is not None or args.seed is not None:
            raise CommandError("--hidden and --seed describe a random network; leave them out with --network")
        net = Network.load(args.network)
        if args.activation is not None:
            net = net.with_activation(args.activation)
        return net, None
    hidden = DEMO_HIDDEN if args.hidden is None else args.hidden
    seed = DEMO_SEED if args.seed is None else args.seed
    return Network.random(hidden, seed=seed, activation=args.activation or "relu"), seed


def _grid(args):
    return dict(start=args.start, stop=args.stop, step=args.step, num=args.num)


def _zoom(args):
    if args.no_zoom:
        return None
    return tuple(args.zoom) if args.zoom is not None else "auto"


def _check_figure(path):
    if path is not None:
        from ..plot import check_figure_path

        check_figure_path(path)


def _save(fig, path, dpi):
    fig.savefig(path, dpi=dpi)
    print(f"figure        {path}")


def _threads_of(backend):
    from ..backends.registry import select

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
        changes += int(np.count_nonzero(piece.slope_changes)) + int(last is not None and piece.slope[0] != last)
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
    from .._sweep import sweep

    stored = args.out is not None and not args.out.lower().endswith(".npz")
    if not stored and args.chunk is not None:
        raise CommandError("--chunk goes with a Zarr store: --out result.zarr")
    plot = args.plot
    if plot is None and args.out is None:
        plot = DEMO_FIGURE  # the demo: nothing asked for, so draw the figure
    _check_figure(plot)
    net, seed = _network(args)
    extra = {}
    client = _cluster(args)
    if stored:
        extra = dict(out=args.out, chunk=args.chunk, client=client, progress=args.progress, overwrite=args.overwrite)
    elif args.out is not None:
        extra = dict(out=args.out)
    try:
        t0 = time.perf_counter()
        res = sweep(net, **_grid(args), backend=args.backend, dtype=args.dtype, threads=args.threads, **extra)
        seconds = time.perf_counter() - t0
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    n, h = len(res), net.hidden
    changes, ymin, ymax = _summary(res)
    threads = _threads_of(res.backend) if client is None else None
    what = f"{net.activation}" + (f", seed {seed}" if seed is not None else f", from {args.network}")
    print(f"points        {n:,}  (x from {float(res.x[0]):g} to {float(res.x[-1]):g})")
    print(f"hidden units  {h:,}  ({what}, {res.dtype.name})")
    print(f"backend       {res.backend}" + (f"  ({threads} thread{'s' if threads != 1 else ''})" if threads else "")
          + ("  (on the Dask cluster)" if client is not None else ""))
    print(f"time          {seconds:.3f} s  ({_rate(n * h, seconds)} pairs/s)")
    if stored:
        print(f"chunks        {len(res.computed):,} computed now, {-(-n // res.chunk):,} in all")
    print(f"slope changes {changes:,}")
    print(f"y range       [{ymin:.6g}, {ymax:.6g}]")
    if args.out is not None:
        print(f"result        {args.out}")
    if plot is not None:
        fig = res.plot(seed=seed, kinks=args.kinks, zoom=_zoom(args), title=args.title)
        _save(fig, plot, args.dpi)
    return 0


def cmd_compare(args):
    from ..plot import compare_figure

    _check_figure(args.plot)
    net, seed = _network(args)
    fig = compare_figure(net, **_grid(args), backend=args.backend, dtype=args.dtype, threads=args.threads,
                         seed=seed, kinks=args.kinks, zoom=_zoom(args), title=args.title)
    _save(fig, args.plot, args.dpi)
    return 0


def cmd_plot(args):
    from ..store.zarr_store import open_result

    plot = args.plot or os.path.splitext(args.result.rstrip("/"))[0] + ".png"
    _check_figure(plot)
    res = open_result(args.result)
    fig = res.plot(kinks=args.kinks, zoom=_zoom(args), title=args.title)
    _save(fig, plot, args.dpi)
    return 0


def cmd_bench(args):
    from ..backends.agreement import compare
    from ..backends.registry import backends
    from ..model.network import Network
    from .._sweep import sweep

    if args.repeat < 1:
        raise CommandError(f"--repeat must be >= 1, got {args.repeat}")
    net = Network.random(args.hidden, seed=args.seed, dtype=args.dtype)
    grid = dict(start=args.start, stop=args.stop, num=args.num)
    available = backends()
    names = args.backends.split(",") if args.backends else list(available)
    unknown = [b for b in names if b not in available]
    if unknown:
        raise CommandError(f"--backends: unknown backend {unknown[0]!r}; known: {', '.join(available)}")

    def timed(name):
        # A tiny sweep first so that a JIT compile is not timed.
        sweep(net, -1.0, 1.0, num=16, backend=name, threads=args.threads)
        best, res = float("inf"), None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = sweep(net, **grid, backend=name, threads=args.threads)
            best = min(best, time.perf_counter() - t0)
        return res, best

    pairs = args.num * args.hidden
    print(f"bench: {args.num:,} points x {args.hidden:,} hidden units = {pairs:.3g} pairs, {net.dtype.name}, "
          f"best of {args.repeat}")
    ref, ref_time = timed("numpy")
    rows, failed = [], 0
    for name in names:
        info = available[name]
        if not info.available:
            rows.append((name, "-", "-", "-", "-", f"unavailable: {info.reason}"))
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

    import fastrelu

    from ..backends.registry import backends, select
    from ..model.network import Network

    print(f"fastrelu {fastrelu.__version__}, Python {platform.python_version()}, {os.cpu_count()} cores")
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
  fastrelu sweep --network net.npz --start -5 --stop 5 --step 0.001 --backend numba""",
    "compare": """examples:
  fastrelu compare                                  # writes fastrelu-compare.png
  fastrelu compare --hidden 20 --seed 1 --start -5 --stop 5 --plot twin.pdf""",
    "plot": """examples:
  fastrelu sweep --out result.npz && fastrelu plot result.npz   # writes result.png
  fastrelu plot result.npz --plot result.svg --no-kinks""",
    "bench": """examples:
  fastrelu bench                                    # 100,000 points x 1,000 units
  fastrelu bench --num 1000000 --hidden 1000 --dtype float32 --repeat 5""",
    "backends": """examples:
  fastrelu backends
  FASTRELU_BACKEND=numba fastrelu backends""",
}


def build_parser():
    parser = _Parser(
        prog="fastrelu",
        formatter_class=_formatter,
        description="Look inside scalar ReLU networks: output, slope and negative units over a fine grid.",
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
            "Draw the network (left) beside the same weights without the ReLU (right): same grid, same rows.")
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
            "Run every available backend on one random network and grid, print a table and exit with status "
            f"{EXIT_DISAGREE} if any backend disagrees with the numpy reference.")
    p.add_argument("--num", type=int, default=100_000, metavar="N", help="grid points (default 100000)")
    p.add_argument("--hidden", type=int, default=1000, metavar="H", help="hidden units (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the network (default 0)")
    p.add_argument("--start", type=float, default=-100.0, help="first x (default -100)")
    p.add_argument("--stop", type=float, default=100.0, help="last x (default 100)")
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
    from .. import __version__

    return __version__


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
