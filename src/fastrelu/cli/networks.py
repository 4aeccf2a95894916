"""The network, the line and the grid that the command's options describe."""

import os
import zipfile

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
        net = load_network(args.network)
        if args.activation is not None:
            net = net.with_activation(args.activation)
        return net, None
    seed = seed_default if args.seed is None else args.seed
    shape = args.widths if args.widths is not None else (hidden_default if args.hidden is None else args.hidden)
    return Network.random(shape, seed=seed, activation=args.activation or "relu", dtype=dtype), seed


# PyTorch's usual file names: a pickled model, which fastrelu never unpickles
TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


def _is_torch_file(path):
    """Whether ``path`` is named, or is laid out, as ``torch.save`` writes (a zip with a pickle)."""
    if path.lower().endswith(TORCH_SUFFIXES):
        return True
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("data.pkl") for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def load_network(path):
    """``Network.load(path)``; a PyTorch file gets the one line that converts it instead."""
    if _is_torch_file(path):
        raise CommandError(f"--network: {path} looks like a PyTorch file, which fastrelu does not unpickle; convert the "
                           "model once in Python: fastrelu.Network.from_torch(model).save('net.npz'), then "
                           "--network net.npz")
    return Network.load(path)


def _from_file(text, name, option):
    """A point read from a file: ``FILE.npy`` (one vector, or an array of one row) or
    ``FILE.npy:ROW`` (row ROW of a data file, counted from 0; negative from the end), each
    row flattened (a 28x28 image is 784 numbers)."""
    path, _, row = text.rpartition(":") if not text.lower().endswith(".npy") else (text, "", "")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CommandError(f"{option}: cannot read {name} from {path!r}: {exc}") from None
    if row:
        try:
            k = int(row)
            data = data[k]
        except (ValueError, IndexError, TypeError):
            rows = data.shape[0] if data.ndim else 0
            raise CommandError(f"{option}: {name}: {text!r} names row {row!r}, but {path} has rows 0 to {rows - 1}") from None
    elif data.ndim > 1 and data.shape[0] != 1:
        raise CommandError(f"{option}: {name}: {path} holds {data.shape[0]} rows; name one as {path}:ROW (from 0)")
    data = np.asarray(data, np.float64).ravel()
    return data


def _vector(text, name, option="--along"):
    if text.lower().endswith(".npy") or (".npy:" in text.lower() and not os.path.exists(text)):
        return _from_file(text, name, option)
    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise CommandError(f"{option}: {name} must be comma-separated numbers such as 0,1.5,-2, a file FILE.npy, or a "
                           f"row FILE.npy:ROW of a data file; got {text!r}") from None


def _points(words, n, option, draw):
    """The points an option names (``X0 X1`` for --along, ``X0 X1 X2`` for --plane): each
    comma-separated numbers or ``random`` (all of them from one call of ``draw()``)."""
    k = {"--along": 2, "--plane": 3}[option]
    names = ("X0", "X1", "X2")[:k]
    words = ["random"] * k if words == ["random"] else words
    if len(words) != k:
        raise CommandError(f"{option} takes {('two', 'three')[k - 2]} points {' '.join(names)} (comma-separated numbers, "
                           f"or random), got {len(words)} value{'s' if len(words) != 1 else ''}")
    drawn = draw() if "random" in words else None
    points = []
    for i, (text, name) in enumerate(zip(words, names)):
        p = drawn[i] if text == "random" else _vector(text, name, option)
        if p.shape[0] != n:
            raise CommandError(f"{option}: {name} has {p.shape[0]} number{'s' if p.shape[0] != 1 else ''} "
                               f"but the network takes {n} input{'s' if n != 1 else ''}")
        points.append(p)
    return points


def build_line(args, net):
    """``(x0, x1)`` from ``--along``, or None; a network of several inputs needs it."""
    n = net.in_features
    if args.along is None:
        if n != 1:
            raise CommandError(f"the network takes {n} inputs: give --along X0 X1 (each {n} comma-separated numbers) "
                               "or --along random, the line x0 + t*(x1 - x0) to sweep")
        return None
    return tuple(_points(args.along, n, "--along", lambda: random_line(n, line_seed(args))))


def grid_options(args):
    """The grid options, as ``sweep`` takes them."""
    return dict(start=args.start, stop=args.stop, step=args.step, num=args.num)


def build_map_network(args):
    """The network of ``fastrelu map`` and its seed (None when loaded)."""
    seed = DEMO_SEED if args.seed is None else args.seed
    if args.network is not None:
        net = load_network(args.network)
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
    return np.stack(_points(args.plane, n, "--plane", lambda: random_plane(n, DEMO_SEED if args.seed is None else args.seed)))
