"""The network, the line and the grid that the command's options describe."""

import numpy as np

from ..model.network import Network
from ..model.slices import random_line, random_plane
from .errors import CommandError

# The demo network: wide enough for the staircase of slopes and counts to be
# worth looking at, narrow enough that its kinks are told apart in the zoom.
DEMO_HIDDEN = 100
DEMO_SEED = 0
# fastrelu map's network: the shape of Regioncam's headline maps, small enough to draw at once
MAP_WIDTHS = "2,64,64,64,64,1"


def random_along(args):
    """Whether ``--along`` asks for a random end."""
    return args.along is not None and "random" in args.along


def line_seed(args):
    """The seed of ``--along random``: ``--seed``, else the demo's."""
    return DEMO_SEED if args.seed is None else args.seed


def build_network(args, hidden_default=DEMO_HIDDEN, seed_default=DEMO_SEED, dtype="float64"):
    """The network the options describe, and the seed it was drawn with (None when loaded)."""
    if args.network is not None:
        # with a loaded network, --seed only says where random points of --along come from
        if args.hidden is not None or args.widths is not None or (args.seed is not None and not random_along(args)):
            raise CommandError("--hidden, --widths and --seed describe a random network; leave them out with --network "
                               "(--seed goes with it only for --along random)")
        net = Network.load(args.network)
        if args.activation is not None:
            net = net.with_activation(args.activation)
        return net, None
    seed = seed_default if args.seed is None else args.seed
    shape = args.widths if args.widths is not None else (hidden_default if args.hidden is None else args.hidden)
    return Network.random(shape, seed=seed, activation=args.activation or "relu", dtype=dtype), seed


def _vector(text, name, option="--along"):
    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise CommandError(f"{option}: {name} must be comma-separated numbers such as 0,1.5,-2, got {text!r}") from None


def build_line(args, net):
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
    drawn = random_line(n, line_seed(args)) if "random" in words else None
    points = []
    for k, (text, name) in enumerate(zip(words, ("X0", "X1"))):
        p = drawn[k] if text == "random" else _vector(text, name)
        if p.shape[0] != n:
            raise CommandError(f"--along: {name} has {p.shape[0]} number{'s' if p.shape[0] != 1 else ''} "
                               f"but the network takes {n} input{'s' if n != 1 else ''}")
        points.append(p)
    return tuple(points)


def grid_options(args):
    """The grid options, as ``sweep`` takes them."""
    return dict(start=args.start, stop=args.stop, step=args.step, num=args.num)


def build_map_network(args):
    """The network of ``fastrelu map`` and its seed (None when loaded)."""
    seed = DEMO_SEED if args.seed is None else args.seed
    if args.network is not None:
        net = Network.load(args.network)
        return (net.with_activation(args.activation) if args.activation else net), None
    widths = args.widths if args.widths is not None else [int(w) for w in MAP_WIDTHS.split(",")]
    return Network.random(widths, seed=seed, activation=args.activation or "relu"), seed


def build_plane(args, net):
    """The three points of ``--plane`` (an array (3, IN)), or None for the network's input plane."""
    n = net.in_features
    if args.plane is None:
        if n != 2:
            raise CommandError(f"the network takes {n} inputs: give --plane X0 X1 X2 (each {n} comma-separated "
                               "numbers) or --plane random, three inputs the plane runs through")
        return None
    words = ["random"] * 3 if args.plane == ["random"] else args.plane
    if len(words) != 3:
        raise CommandError(f"--plane takes three points X0 X1 X2 (comma-separated numbers, or random), got {len(words)}")
    drawn = random_plane(n, DEMO_SEED if args.seed is None else args.seed) if "random" in words else None
    points = []
    for k, text in enumerate(words):
        p = drawn[k] if text == "random" else _vector(text, f"X{k}", "--plane")
        if p.shape[0] != n:
            raise CommandError(f"--plane: X{k} has {p.shape[0]} number{'s' if p.shape[0] != 1 else ''} "
                               f"but the network takes {n} input{'s' if n != 1 else ''}")
        points.append(p)
    return np.stack(points)
