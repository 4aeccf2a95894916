"""``fastrelu lines``: region statistics of many lines between inputs, printed, saved and drawn."""

import argparse
import time

import numpy as np

from ..analysis.lines import line_stats
from ..model import NAMES
from ..plot.files import check_figure_path
from ..plot.lines import lines_figure
from .cluster import dask_client
from .errors import CommandError
from .figures import check_new_file, save
from .networks import build_network

LINES_TABLE = "fastrelu-lines.npz"
LINES_FIGURE = "fastrelu-lines.png"

EXAMPLES = """examples:
  fastrelu lines --network mlp.npz --pairs data.npy                  # rows 0-1, 2-3, ... of data.npy: one line each
  fastrelu lines --network mlp.npz --pairs data.npy --random 200     # 200 random pairs of its rows (--seed S)
  fastrelu lines --network mlp.npz --pairs pairs.npy                 # an (n, 2, IN) array: n lines
  fastrelu lines --network cnn.npz --pairs digits.npy --random 50    # a CNN (Network.from_torch(model, (1, 8, 8)).save)
  fastrelu lines --widths 784,256,256,10 --random 64 --seed 1        # 64 lines between standard normal points
  fastrelu lines --network mlp.npz --pairs data.npy --out t.npz --plot t.svg --workers 2"""


def add_options(p):
    """The options of ``fastrelu lines``."""
    g = p.add_argument_group("network")
    shape = g.add_mutually_exclusive_group()
    shape.add_argument("--network", metavar="FILE.npz", help="the network (saved by Network.save)")
    shape.add_argument("--widths", type=_widths, metavar="IN,H1,...,OUT", help="or a random network of these widths")
    g.add_argument("--activation", choices=NAMES, help="activation of every hidden layer of a random network (default relu)")
    g = p.add_argument_group("lines")
    g.add_argument("--pairs", metavar="DATA.npy",
                   help="the lines' ends: an (n, 2, IN) array of n pairs, or (m, IN) rows (images are flattened) "
                        "taken two by two, or drawn in random pairs with --random")
    g.add_argument("--random", type=int, metavar="N", help="N random pairs: of the rows of --pairs, or of standard normal points")
    g.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the random pairs and of a random network (default 0)")
    g = p.add_argument_group("computation")
    g.add_argument("--threads", type=int, metavar="T", help="threads (default all cores)")
    g.add_argument("--batch", type=int, default=64, metavar="B", help="lines walked together (default 64)")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar over the lines (default: when it takes over a second)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="walk the batches on this Dask scheduler (tcp://host:8786)")
    g.add_argument("--workers", type=int, metavar="K", help="walk the batches on a local Dask cluster of K workers")
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="TABLE.npz", default=LINES_TABLE, help=f"write the table here (default {LINES_TABLE})")
    g.add_argument("--plot", metavar="FIGURE", default=LINES_FIGURE, help=f"write the figure here (default {LINES_FIGURE})")
    g.add_argument("--dpi", type=float, default=150, help="resolution of a .png (default 150)")
    g.add_argument("--force", action="store_true", help="replace the table or figure if it exists")


def _widths(text):
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths such as 784,256,10, got {text!r}") from None
    if len(widths) < 3 or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"needs at least three positive widths IN,HIDDEN,...,OUT, got {text!r}")
    return widths


def _ends(args, n_in):
    """``(X0, X1)`` from ``--pairs`` and ``--random``."""
    rng = np.random.default_rng(args.seed)
    if args.random is not None and args.random < 1:
        raise CommandError(f"--random must be >= 1, got {args.random}")
    if args.pairs is None:
        if args.random is None:
            raise CommandError("give --pairs DATA.npy (the lines' ends) or --random N (random pairs)")
        return rng.standard_normal((args.random, n_in)), rng.standard_normal((args.random, n_in))
    try:
        data = np.load(args.pairs, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CommandError(f"--pairs: cannot read {args.pairs} as a .npy array: {exc}") from None
    if data.dtype.kind not in "iuf":
        raise CommandError(f"--pairs: {args.pairs} holds {data.dtype}, not numbers")
    data = data.astype(np.float64)
    if data.ndim == 3 and data.shape[1:] == (2, n_in):
        if args.random is not None:
            raise CommandError("--random draws pairs of rows: give --pairs an (m, IN) array, not pairs")
        return data[:, 0], data[:, 1]
    if data.ndim < 2 or int(np.prod(data.shape[1:])) != n_in:
        raise CommandError(f"--pairs: {args.pairs} has shape {data.shape}: expected (n, 2, {n_in}) pairs or (m, {n_in}) rows "
                           f"for a network of {n_in} inputs")
    rows = data.reshape(data.shape[0], n_in)
    if args.random is not None:
        if rows.shape[0] < 2:
            raise CommandError("--random needs at least two rows in --pairs")
        i = rng.integers(0, rows.shape[0], size=args.random)
        j = (i + rng.integers(1, rows.shape[0], size=args.random)) % rows.shape[0]  # another row than i
        return rows[i], rows[j]
    if rows.shape[0] % 2:
        raise CommandError(f"--pairs: {rows.shape[0]} rows do not make pairs (rows 0-1, 2-3, ...): give an even "
                           "number, or --random N")
    return rows[0::2], rows[1::2]


def cmd_lines(args):
    try:
        check_figure_path(args.plot)
    except ValueError as exc:
        raise CommandError(f"--plot: {exc}") from None
    if not str(args.out).lower().endswith(".npz"):
        raise CommandError(f"--out: the table is written as .npz, got {args.out!r}")
    check_new_file(args, "--out", args.out)
    check_new_file(args, "--plot", args.plot)
    if args.network is None and args.widths is None:
        raise CommandError("give --network FILE.npz (or --widths IN,H1,...,OUT for a random network)")
    args.hidden = None  # what build_network reads besides these options
    args.along = None
    seed = args.seed
    if args.network is not None:
        args.seed = None
    net, _ = build_network(args)
    args.seed = seed
    X0, X1 = _ends(args, net.in_features)
    with dask_client(args.scheduler, args.workers, store=False) as client:
        if client is None:  # the kernels load (or compile) on first use: not the lines' time
            line_stats(net, X0[:1], X1[:1], progress=False)
        t0 = time.perf_counter()
        stats = line_stats(net, X0, X1, batch=args.batch, threads=args.threads if client is None else None,
                           progress=args.progress, client=client)
        seconds = time.perf_counter() - t0
    print(stats.summary())
    print(f"time          {seconds:.3f} s ({seconds / max(len(stats), 1) * 1e3:.2f} ms per line)")
    stats.save(args.out)
    print(f"table         {args.out}")
    save(lines_figure(stats, dpi=args.dpi), args.plot, args.dpi)
    return 0
