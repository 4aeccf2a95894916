"""The command's arguments: the parser, its options and the examples each ``--help`` shows."""

import argparse
import re

from ..model import NAMES
from ..utils.config import VERSION
from .errors import EXIT_DISAGREE, CommandError
from .figures import COMPARE_FIGURE, DEMO_FIGURE, MAP_FIGURE
from .lines import EXAMPLES as LINES_EXAMPLES
from .lines import add_options as add_lines_options
from .networks import DEMO_HIDDEN, DEMO_SEED, MAP_WIDTHS
from .report import SPEEDS

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
    "--along -1,-1 1,1), or 'random' for two points drawn from the standard normal by "
    "fastrelu.model.slices.random_line(IN, SEED), the same line in Python (--along random; or one of them: "
    "--along 0,0 random). Needed for a network of more than one input. A point may also be read from a file: "
    "FILE.npy (one input), or FILE.npy:ROW for row ROW (from 0) of a data file of inputs, each row flattened "
    "(--along digits.npy:0 digits.npy:7)"
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
    g.add_argument("--network", metavar="FILE.npz", help="load this network (saved by Network.save; any depth) instead; "
                   "a PyTorch model: fastrelu.Network.from_torch(model).save('net.npz') in Python first")
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
        g.add_argument("--backend", default="auto", help="backend name from 'fastrelu backends', or one of its other names such as "
                            "dense_c (default auto)")
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
    g.add_argument("--force", action="store_true",
                   help="replace the figure, page or result file if it exists (without, an existing file is an error)")


# -- the parser ---------------------------------------------------------------------------

_EXAMPLES = {
    "sweep": """examples:
  fastrelu sweep                                    # the demo: writes fastrelu-sweep.png
  fastrelu sweep --hidden 1000 --seed 3 --plot big.svg
  fastrelu sweep --num 100000000 --out result.npz   # save the arrays, no figure
  fastrelu sweep --num 1000000000 --hidden 1000 --out result.zarr --chunk 10000000 --workers 2
  fastrelu plot result.zarr --plot big.png          # the figure, read chunk by chunk
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
    "map": """examples:
  fastrelu map                                      # 2,64,64,64,64,1 on [-1, 1]^2: writes fastrelu-map.png
  fastrelu map --widths 2,128,128,1 --bounds -2 2 -2 2 --plot wide.png
  fastrelu map --widths 784,256,256,10 --plane random --seed 1
  fastrelu map --network mlp.npz --plane 0,0,0 1,0,0 0,1,0 --no-edges
  fastrelu map --widths 2,128,128,128,128,1 --html map.html --out map.npz   # the page, and the map saved
  fastrelu map --widths 784,64,64,10 --plane random --out plane.zarr --pixels 1024   # the pixels in a Zarr store
  fastrelu map --widths 2,512,512,1 --tiles 4 4 --workers 2          # the tiles as tasks of a local Dask cluster""",
    "plot": """examples:
  fastrelu sweep --out result.npz && fastrelu plot result.npz   # writes result.png
  fastrelu plot result.npz --plot result.svg --no-kinks
  fastrelu map --out map.npz && fastrelu plot map.npz --html map.html   # a saved region map: its figure and page
  fastrelu sweep --widths 3,32,32,4 --along random --out deep.zarr && fastrelu plot deep.zarr --outputs 0,3 --plot deep-outputs.png""",
    "bench": """examples:
  fastrelu bench                                    # 100,000 points x 1,000 units
  fastrelu bench --num 1000000 --hidden 1000 --dtype float32 --repeat 5
  fastrelu bench --widths 2,64,64,64,3 --along -1,-1 1,1 --num 20001   # every backend that runs deep networks
  fastrelu bench --plane --plane-widths 2,128,128,128,128,1               # a region map and a plane sweep too""",
    "backends": """examples:
  fastrelu backends
  FASTRELU_BACKEND=numba fastrelu backends
  fastrelu sweep --backend dense_numba              # a backend by its two axes: the numba backend""",
}


def build_parser():
    """The parser of the ``fastrelu`` command; ``args.command`` names the subcommand.

    Examples
    --------
    >>> build_parser().parse_args(["sweep", "--widths", "2,8,1", "--along", "-1,-1", "1,1"]).along
    ['-1,-1', '1,1']
    """
    parser = _Parser(
        prog="fastrelu",
        formatter_class=_formatter,
        description="Look inside piecewise-linear networks: output, slope and negative units over a fine grid "
                    "(of x, or of t along a line through the inputs of a deep network).",
        epilog="examples:\n  fastrelu                 # the demo: a random ReLU network, drawn to fastrelu-sweep.png\n"
               "  fastrelu sweep --help    # every option of a subcommand",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)  # main() dispatches

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
                   help="progress bar while writing a Zarr store, or on stderr when a sweep in memory "
                        "runs past a second (default on)")
    g = p.add_argument_group("cluster (Zarr stores only)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run the chunks on this Dask scheduler (tcp://host:8786)")
    g.add_argument("--workers", type=int, metavar="K", help="start a local Dask cluster of K single-threaded workers")
    _add_figure_options(p, None, f" (default {DEMO_FIGURE} unless --out is given)")

    p = add("compare", "draw a ReLU network beside its linear twin",
            "Draw the network (left) beside the same weights without the ReLU (right): same grid, same rows. "
            "A deep network's twin drops the activation of every hidden layer.")
    _add_network_options(p)
    _add_grid_options(p)
    _add_figure_options(p, COMPARE_FIGURE, f" (default {COMPARE_FIGURE})")

    p = add("plot", "draw a saved result", "Draw a result saved by 'fastrelu sweep --out' or SweepResult.save; "
            "a Zarr store is read chunk by chunk, so it may be larger than memory. A region map saved by "
            "'fastrelu map --out' is drawn as 'fastrelu map' draws it.")
    p.add_argument("result", metavar="RESULT", help="the saved result: RESULT.npz or a Zarr store")
    _add_figure_options(p, None, " (default RESULT.png)")

    p = add("map", "map the linear regions of a plane, exactly, and draw them",
            "Map every linear region of a rectangle of a plane through input space (fastrelu.regions(net, "
            "plane=...)), print their counts and draw the map beside the output, its gradient and the negative "
            f"count over the plane (default {MAP_FIGURE}).")
    g = p.add_argument_group("network")
    shape = g.add_mutually_exclusive_group()
    shape.add_argument("--widths", type=_widths_arg, metavar="IN,H1,...,OUT", default=None,
                       help=f"layer widths of a random network (default {MAP_WIDTHS})")
    shape.add_argument("--network", metavar="FILE.npz", help="load this network (saved by Network.save) instead; "
                       "a PyTorch model: fastrelu.Network.from_torch(model).save('net.npz') in Python first")
    g.add_argument("--seed", type=int, metavar="S", help="seed of the random network, and of --plane random (default 0)")
    g.add_argument("--activation", choices=NAMES, help="activation of every hidden layer (default relu)")
    g = p.add_argument_group("plane")
    g.add_argument("--plane", nargs="+", metavar="X",
                   help="three inputs the plane runs through, each comma-separated numbers (one per input), or "
                        "'random' for three drawn by fastrelu.model.slices.random_plane(IN, SEED); default: the "
                        "network's own input plane, for a network of two inputs. A point may also be FILE.npy or row "
                        "FILE.npy:ROW (from 0) of a data file, as for --along")
    g.add_argument("--bounds", nargs=4, type=float, metavar=("U0", "U1", "V0", "V1"),
                   help="the rectangle of the plane (default -1 1 -1 1 on an input plane; the square around the "
                        "three points on a plane through them)")
    g = p.add_argument_group("figure")
    g.add_argument("--plot", metavar="FIGURE", default=MAP_FIGURE, help=f"write the figure here (default {MAP_FIGURE})")
    g.add_argument("--pixels", type=int, default=400, help="pixels along each side of the output panels (default 400)")
    g.add_argument("--edges", action=argparse.BooleanOptionalAction, default=None,
                   help="draw the regions' edges (default: up to 20,000 regions)")
    g.add_argument("--title", help="figure title (default names the network and the number of regions)")
    g.add_argument("--dpi", type=float, default=150, help="resolution of a .png (default 150)")
    g.add_argument("--force", action="store_true", help="replace the figure (or the --out map, --html page) if it exists (without, that is an error)")

    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="MAP",
                   help="MAP.npz: save the region map here (fastrelu.store.load_region_map reads it back); any other "
                        "name: a Zarr store of the plane's per-pixel sweep over the same rectangle, PIXELS x PIXELS "
                        "(fastrelu.sweep(net, plane=..., num=(P, P), out=MAP); resumes if interrupted, --force "
                        "replaces one made with other arguments)")
    g.add_argument("--html", metavar="PAGE",
                   help="also write the interactive page of the map here: one .html file that opens offline, every "
                        "face exact at any zoom (needs bokeh: pip install 'fastrelu[html]')")
    g = p.add_argument_group("tiles and cluster")
    g.add_argument("--tiles", nargs=2, type=int, metavar=("NU", "NV"),
                   help="walk the rectangle in NU x NV tiles, merged into the same map (default: one per thread, or "
                        "per worker thread of a cluster, on networks with a layer of 512 units or more; else one)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="walk the tiles (and a Zarr --out's rows of pixels) on this "
                   "Dask scheduler (tcp://host:8786)")
    g.add_argument("--workers", type=int, metavar="K", help="walk them on a local Dask cluster of K single-threaded workers")

    p = add("bench", "time every backend against the numpy reference",
            "Run every available backend that can sweep the network on one grid, print a table and exit with status "
            f"{EXIT_DISAGREE} if any backend disagrees with the numpy reference. Backends without a kernel for "
            f"a deep network are listed as such. Speeds: {SPEEDS}.")
    p.add_argument("--num", type=int, default=100_000, metavar="N", help="grid points (default 100000)")
    _add_network_options(p, hidden_default=1000, seed_default=0)
    p.add_argument("--start", type=float, help="first x (default -100), or first t with --along (default 0)")
    p.add_argument("--stop", type=float, help="last x (default 100), or last t with --along (default 1)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="precision (default float64)")
    p.add_argument("--threads", type=int, metavar="T", help="threads (default all cores)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per backend; the best counts (default 3)")
    p.add_argument("--backends", metavar="A,B",
                   help="only these backends (comma-separated, names as in 'fastrelu backends'; default all)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="say each stage on stderr as it starts, with its time (default on)")
    g = p.add_argument_group("a plane (with --plane)")
    g.add_argument("--plane", action="store_true",
                   help="also time the region map of a plane (checked against the network) and the per-pixel sweep "
                        "of it on every backend (checked against the numpy reference)")
    g.add_argument("--plane-widths", type=_widths_arg, metavar="IN,H1,...,OUT", default=None,
                   help="the plane's random network (seed --seed): two inputs map [-1, 1]^2, more the plane through "
                        "three random inputs (default 2,64,64,64,64,1)")
    g.add_argument("--plane-pixels", type=int, default=None, metavar="P",
                   help="the plane sweep's P x P pixels (default 128)")

    p = add("backends", "which backends can run here, and which auto chooses",
            "List the backends, each on its two axes (algorithm: dense or exact; engine: numpy, Numba or C) "
            "with its other names, whether it can run here (and why not), threads and versions.")
    p.add_argument("--num", type=int, default=20_001, metavar="N", help="grid size auto should choose for")
    p.add_argument("--hidden", type=int, default=1000, metavar="H", help="hidden units auto should choose for")

    _EXAMPLES.setdefault("lines", LINES_EXAMPLES)
    add_lines_options(add("lines", "region statistics of many lines between inputs: a table and a figure",
                          "Walk the lines between pairs of inputs exactly (fastrelu.line_stats), print a summary of "
                          "their pieces, boundaries and densities, and write the table and its figure."))
    return parser
