"""The ``fastrelu`` command (also ``python -m fastrelu``): ``main`` and one ``cmd_*`` per subcommand.

``fastrelu`` alone, or ``fastrelu sweep`` alone, runs the classic demo: a random
ReLU network swept from -100 to 100 in steps of 0.01, drawn to
``fastrelu-sweep.png``.  Every error is one line on stderr and a non-zero exit
(set ``FASTRELU_DEBUG=1`` to get the traceback instead).

The rest of the command lives by concern beside this module: ``parser`` (the
options), ``networks`` (the network, line and grid they describe), ``figures`` (the
figure options), ``report`` (what is printed), ``cluster`` (Dask) and ``bench``.
"""

import os
import sys
import time
from importlib.util import find_spec

import numpy as np

from ..analysis.plane import region_map
from ..kernels.registry import backends
from ..model.describe import architecture
from ..model.network import Network, on_line
from ..plot import compare_figure, region_map_figure
from ..plot.files import check_figure_path
from ..plot.page import html
from ..plot.plane_page import region_map_html
from ..store.read import open_result
from ..store.region_map import is_region_map_file, load_region_map, save_region_map
from ..sweeps.sweep import sweep
from ..utils.config import compile_seconds
from ..utils.validation import existing_folder
from . import bench, report
from .cluster import dask_client
from .errors import EXIT_DISAGREE, EXIT_ERROR, CommandError
from .lines import cmd_lines
from .figures import DEMO_FIGURE, check_figure_options, check_new_file, check_outputs, save, write_result, zoom
from .networks import (
    build_line,
    build_map_network,
    build_network,
    build_plane,
    grid_options,
    line_seed,
    random_along,
)
from .parser import build_parser

__all__ = ["EXIT_DISAGREE", "EXIT_ERROR", "CommandError", "main"]


def cmd_sweep(args):
    stored = args.out is not None and not args.out.lower().endswith(".npz")
    if not stored and args.chunk is not None:
        raise CommandError("--chunk goes with a Zarr store: --out result.zarr")
    plot = args.plot
    if plot is None and args.out is None:
        plot = DEMO_FIGURE  # the demo: nothing asked for, so draw the figure
    check_figure_options(args, plot)
    check_new_file(args, "--out", None if stored else args.out)
    net, seed = build_network(args)
    along = build_line(args, net)
    if plot is not None:
        check_outputs(args, net)
    with dask_client(args.scheduler, args.workers, args.out) as client:
        extra = {} if args.progress else dict(progress=False)  # in memory: a bar past a second, as fastrelu.sweep
        if stored:
            extra = dict(out=args.out, chunk=args.chunk, client=client, progress=args.progress, overwrite=args.overwrite)
        c0 = compile_seconds()
        t0 = time.perf_counter()
        res = sweep(net, **grid_options(args), along=along, backend=args.backend, dtype=args.dtype,
                    threads=args.threads, **extra)
        seconds = time.perf_counter() - t0
        compiled = compile_seconds() - c0  # a first Numba compile, reported apart from the sweep
        seconds -= compiled
    written = None if stored or args.out is None else write_result(res, args.out)  # timed apart too
    # the count the sweep ran on: --threads applied to that call only
    threads = (args.threads or report.threads_of(res.backend)) if client is None else None
    report.print_sweep(res, net, along, seconds=seconds, threads=threads, on_cluster=client is not None, stored=stored,
                       source=f"seed {seed}" if seed is not None else f"from {args.network}",
                       line_note=f"  (random, seed {line_seed(args)})" if random_along(args) else "", out=args.out,
                       compile_seconds=compiled, written=written)
    if plot is not None:
        fig = res.plot(seed=seed, kinks=args.kinks, zoom=zoom(args), title=args.title, outputs=args.outputs, dpi=args.dpi)
        save(fig, plot, args.dpi)
    if args.html:
        html(res, args.html, title=args.title, outputs=args.outputs)
        print(f"page          {args.html}")
    return 0


def cmd_compare(args):
    check_figure_options(args, args.plot)
    net, seed = build_network(args)
    along = build_line(args, net)
    check_outputs(args, net)
    grid = grid_options(args)
    fig = compare_figure(net, **grid, along=along, backend=args.backend, dtype=args.dtype, threads=args.threads,
                         seed=seed, kinks=args.kinks, zoom=zoom(args), title=args.title, outputs=args.outputs, dpi=args.dpi)
    save(fig, args.plot, args.dpi)
    if args.html:
        html(net, args.html, start=grid["start"], stop=grid["stop"], along=along, twin=True, outputs=args.outputs)
    return 0


def cmd_plot(args):
    plot = args.plot or os.path.splitext(args.result.rstrip("/"))[0] + ".png"
    check_figure_options(args, plot)
    if is_region_map_file(args.result):  # saved by 'fastrelu map --out': its figure and page
        m = load_region_map(args.result)
        save(region_map_figure(m, title=args.title, dpi=args.dpi), plot, args.dpi)
        if args.html:
            region_map_html(m, args.html, title=args.title, outputs=args.outputs)
        return 0
    res = open_result(args.result)
    fig = res.plot(kinks=args.kinks, zoom=zoom(args), title=args.title, outputs=args.outputs, dpi=args.dpi)
    save(fig, plot, args.dpi)
    if args.html:
        html(res, args.html, title=args.title, outputs=args.outputs)
    return 0


def cmd_bench(args):
    if args.repeat < 1:
        raise CommandError(f"--repeat must be >= 1, got {args.repeat}")
    available = backends()
    names = bench.backend_names(args.backends, available)
    plane = args.plane or args.plane_widths is not None or args.plane_pixels is not None  # either implies --plane
    pixels = bench.PLANE_PIXELS if args.plane_pixels is None else args.plane_pixels
    if plane and pixels < 2:
        raise CommandError(f"--plane-pixels must be at least 2, got {pixels}")
    net, _ = build_network(args, hidden_default=1000, seed_default=0, dtype=args.dtype)
    if net.dtype != np.dtype(args.dtype):
        net = net.astype(args.dtype)  # a loaded network, benched in the precision asked for
    along = build_line(args, net)
    of_t = on_line(net, along)[0]  # what the kernels run: the line folded into the first layer
    report.print_bench_headline(net, along, args.num, args.repeat)
    rows, failed = bench.run(net, along, of_t, names, available, start=args.start, stop=args.stop, num=args.num,
                             threads=args.threads, repeat=args.repeat, progress=args.progress)
    report.print_table(bench.HEAD, rows)
    if plane:
        widths = args.plane_widths or bench.PLANE_WIDTHS
        print(f"\nplane: {architecture(widths)}, random (seed {args.seed if args.seed is not None else 0}), "
              f"{'[-1, 1]^2' if widths[0] == 2 else 'the plane through three random inputs'}; sweep of "
              f"{pixels} x {pixels} pixels; float64, best of {args.repeat}")
        line, plane_rows, plane_failed = bench.run_plane(
            widths, names, available, seed=args.seed if args.seed is not None else 0, pixels=pixels,
            threads=args.threads, repeat=args.repeat, progress=args.progress)
        print(line)
        report.print_table(bench.HEAD, plane_rows)
        failed += plane_failed
    if failed:
        print(f"fastrelu bench: {failed} backend{'s' if failed != 1 else ''} disagree with the numpy reference",
              file=sys.stderr)
        return EXIT_DISAGREE
    return 0


def cmd_backends(args):
    report.print_backends(Network.random(args.hidden, seed=0), args.num)
    return 0


def cmd_map(args):
    try:
        check_figure_path(args.plot)
    except ValueError as exc:
        raise CommandError(f"--plot: {exc}") from None
    check_new_file(args, "--plot", args.plot)
    if not (np.isfinite(args.dpi) and args.dpi > 0):
        raise CommandError(f"--dpi must be a number > 0, got {args.dpi:g}")
    if args.pixels < 2:
        raise CommandError(f"--pixels must be at least 2, got {args.pixels}")
    _check_map_files(args)
    net, seed = build_map_network(args)
    plane = build_plane(args, net)
    bounds = None
    if args.bounds is not None:
        u0, u1, v0, v1 = args.bounds
        bounds = ((u0, u1), (v0, v1))
    elif plane is None:
        bounds = ((-1.0, 1.0), (-1.0, 1.0))
    with dask_client(args.scheduler, args.workers, store=False) as client:
        t0 = time.perf_counter()
        try:
            m = region_map(net, plane, bounds, tiles=None if args.tiles is None else tuple(args.tiles), client=client)
        except (TypeError, ValueError) as exc:
            message = str(exc)
            for name in ("plane", "bounds", "tiles"):  # the API names its arguments; the command, its options
                if message.startswith(name):
                    message = "--" + message
            raise CommandError(message) from None
        seconds = time.perf_counter() - t0
        report.print_map(m, net, seconds=seconds, source=f"seed {seed}" if seed is not None else f"from {args.network}")
        if args.out and args.out.lower().endswith(".npz"):
            save_region_map(m, args.out)
            print(f"map           {args.out}")
        elif args.out:  # a Zarr store of the plane's per-pixel sweep, over the map's rectangle
            t0 = time.perf_counter()
            res = sweep(net, plane=plane, bounds=m.bounds, num=(args.pixels, args.pixels), out=args.out,
                        overwrite=args.force, progress=False, client=client)
            print(f"store         {args.out}  ({args.pixels:,} x {args.pixels:,} pixels, {res.backend} backend, "
                  f"{time.perf_counter() - t0:.3f} s)")
    if args.html:
        region_map_html(m, args.html, title=args.title)
        print(f"page          {args.html}")
    fig = region_map_figure(m, edges=args.edges, pixels=args.pixels, title=args.title, dpi=args.dpi)
    save(fig, args.plot, args.dpi)
    return 0


def _check_map_files(args):
    """``fastrelu map``'s --out and --html, refused before the map is computed."""
    if args.out is not None and not args.out.lower().endswith(".npz") and find_spec("zarr") is None:
        raise CommandError("--out: a name other than MAP.npz is a Zarr store of the plane's pixels, which needs zarr: "
                           "pip install 'fastrelu[scale]'")
    for option, path in (("--out", args.out), ("--html", args.html)):
        if path:
            try:
                existing_folder(path)
            except ValueError as exc:
                raise CommandError(f"{option}: {exc}") from None
            check_new_file(args, option, path)  # replaced only with --force, as the figure is
    if args.html and find_spec("bokeh") is None:
        raise CommandError("--html needs bokeh: pip install 'fastrelu[html]'")


COMMANDS = {"map": cmd_map, "sweep": cmd_sweep, "compare": cmd_compare, "plot": cmd_plot, "bench": cmd_bench, "backends": cmd_backends}
COMMANDS["lines"] = cmd_lines


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
        return COMMANDS[args.command](args)
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
