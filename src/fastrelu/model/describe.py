"""How a network is named in titles, pages and summaries: one description for every place.

``network_title`` is the first line of a figure's title and the page's heading;
``figure_title`` adds the grid (and the line) on a second line.
"""

import numpy as np


def architecture(widths):
    """The widths as an arrow chain, runs of equal hidden layers as ``width×count``.

    Examples
    --------
    >>> architecture((784, 1024, 1024, 1024, 10))
    '784→1024×3→10'
    >>> architecture((2, 64, 32, 1))
    '2→64→32→1'
    """
    widths = [int(w) for w in widths]
    parts, hidden, i = [str(widths[0])], widths[1:-1], 0
    while i < len(hidden):
        j = i
        while j < len(hidden) and hidden[j] == hidden[i]:
            j += 1
        parts.append(f"{hidden[i]}×{j - i}" if j - i > 1 else str(hidden[i]))
        i = j
    parts.append(str(widths[-1]))
    return "→".join(parts)


def activation_names(net):
    """The hidden layers' activations for a title: one name when they agree, else each in order
    (of a graph network: its activation nodes')."""
    acts = [n.params["act"] for n in net.graph.act_nodes] if net.is_graph else net.activations
    names = ["ReLU" if str(a) == "relu" else str(a) for a in acts]
    if not names:
        return "linear"
    return names[0] if len(set(names)) == 1 else ", ".join(names)


def swept_widths(net, along):
    """The swept network's widths: along a line, its inputs are the line's, not ``t``."""
    return net.widths if along is None else (len(along[0]), *net.widths[1:])


def classic(net, along=None):
    """Whether ``net`` swept over x (``along`` None) is the network fastrelu began with: one
    hidden layer of a scalar with one output, named by its hidden width rather than its widths.

    Examples
    --------
    >>> from fastrelu.model.network import Network
    >>> classic(Network.random(8, seed=0)), classic(Network.random([1, 8, 8, 1], seed=0))
    (True, False)
    """
    return along is None and not net.is_graph and net.widths[0] == 1 and net.depth == 1 and net.out_features == 1


def network_title(net, seed=None, along=None, twin=False):
    """The network in one line: what it is, the seed it was drawn with, whether along a line.

    A classic network (``classic``) is named by its activation and hidden width, any
    other by its widths and activations (each layer's, in order, when they differ).
    ``twin`` says the network is drawn beside its linear twin.

    Examples
    --------
    >>> from fastrelu.model.network import Network
    >>> network_title(Network.random(100, seed=0), seed=0)
    'ReLU network, 100 hidden units, seed 0'
    >>> network_title(Network.random([2, 16, 16, 3], seed=1), seed=1, along=([0, 0], [1, 1]), twin=True)
    '2→16×2→3 ReLU network beside its linear twin, seed 1, along a line'
    >>> network_title(Network.random([1, 8, 8, 1], seed=0, activation=["relu", "hardtanh"]))
    '1→8×2→1 network (ReLU, hardtanh)'
    """
    acts = activation_names(net)
    seeded = f", seed {seed}" if seed is not None else ""
    if classic(net, along):
        units = f"{net.hidden:,} hidden unit{'s' if net.hidden != 1 else ''}"
        return f"{acts} network, {units}{seeded}" + (" beside its linear twin" if twin else "")
    if net.is_graph:  # its input's shape, the kinds of its nodes, its outputs
        kinds = [k for k in ("conv", "avgpool", "maxpool", "add", "cat") if any(n.kind == k for n in net.graph.nodes)]
        shape = net.input_shape if along is None or len(net.input_shape) != 1 or net.input_shape[0] > 2 else (len(along[0]),)
        if along is not None and net.graph.nodes[1].kind == "embed":
            shape = net.graph.nodes[1].shape
        names = {"conv": "conv", "avgpool": "avg-pool", "maxpool": "max-pool", "add": "residual", "cat": "cat"}
        arch = "×".join(str(d) for d in shape) + "→" + str(net.out_features)
        s = f"{arch} {'/'.join(names[k] for k in kinds) or 'graph'} network ({acts})"
        return s + (" beside its linear twin" if twin else "") + seeded + (", along a line" if along is not None else "")
    arch = architecture(swept_widths(net, along))
    s = f"{arch} {acts} network" if "," not in acts else f"{arch} network ({acts})"
    if twin:
        s += " beside its linear twin"
    return s + seeded + (", along a line" if along is not None else "")


def twin_titles(net):
    """The headings of a network's column and its linear twin's, side by side.

    Examples
    --------
    >>> from fastrelu.model.network import Network
    >>> twin_titles(Network.random(8, seed=0))
    ('with ReLU', 'linear twin (same weights, no ReLU)')
    """
    acts = activation_names(net)
    return f"with {acts}", f"linear twin (same weights, no {acts})"


def grid_text(x, name="x"):
    """The grid ``x`` in words: its ends, its step when it is uniform, its number of points.

    Examples
    --------
    >>> import numpy as np
    >>> grid_text(np.linspace(-10, 10, 2001))
    'x from -10 to 10, step 0.01 (2,001 points)'
    >>> grid_text(np.array([0.0, 0.1, 1.0]), "t")
    't from 0 to 1 (3 points)'
    """
    n = x.shape[0]
    if n == 0:
        return "no points"
    if n == 1:
        return f"{name} = {float(x[0]):g} (1 point)"
    step = (float(x[-1]) - float(x[0])) / (n - 1)
    mid = n // 2
    uniform = step > 0 and abs(float(x[mid]) - (float(x[0]) + mid * step)) <= 1e-6 * abs(step) * n
    if uniform:
        return f"{name} from {float(x[0]):g} to {float(x[-1]):g}, step {float(f'{step:.6g}'):g} ({n:,} points)"
    return f"{name} from {float(x[0]):g} to {float(x[-1]):g} ({n:,} points)"


def _point(v):
    return "(" + ", ".join(f"{float(a):.3g}" for a in v) + ")"


def line_text(along):
    """Where the line ``along = (x0, x1)`` runs, its ends when they are short enough to print.

    Examples
    --------
    >>> line_text(([-1, -1], [1, 1]))
    ' on the line from (-1, -1) to (1, 1)'
    >>> line_text(([0] * 6, [1] * 6))
    ' on a line through 6 inputs, |x1 - x0| = 2.45'
    """
    x0, x1 = (np.asarray(a, np.float64) for a in along)
    if x0.shape[0] <= 4:
        return f" on the line from {_point(x0)} to {_point(x1)}"
    return f" on a line through {x0.shape[0]} inputs, |x1 - x0| = {float(np.linalg.norm(x1 - x0)):.3g}"


def path_text(points, closed):
    """Where a path runs: how many points, closed or not, and its length.

    Examples
    --------
    >>> path_text([[0, 0], [3, 4], [3, 0]], closed=True)
    ' along a closed path through 3 inputs, length 12'
    """
    pts = np.asarray(points, np.float64)
    ends = np.concatenate([pts, pts[:1]]) if closed else pts
    length = float(np.linalg.norm(np.diff(ends, axis=0), axis=1).sum())
    return f" along {'a closed' if closed else 'a'} path through {pts.shape[0]} inputs, length {length:.3g}"


def figure_title(net, x, seed=None, along=None, twin=False, path=None):
    """A figure's default title: the network (``network_title``), then its grid ``x``
    (``t`` and the line, along a line; ``t`` the arc length along a ``path``, a
    ``SweptPath``, whose network is then the one named).

    Examples
    --------
    >>> import numpy as np
    >>> from fastrelu.model.network import Network
    >>> print(figure_title(Network.random(8, seed=3), np.linspace(-10, 10, 2001), seed=3))
    ReLU network, 8 hidden units, seed 3
    x from -10 to 10, step 0.01 (2,001 points)
    """
    if path is not None:
        return f"{network_title(path.network, seed, None, twin)}\n{grid_text(x, 't')}{path_text(path.points, path.closed)}"
    first = network_title(net, seed, along, twin)
    if along is None:
        return f"{first}\n{grid_text(x)}"
    return f"{first}\n{grid_text(x, 't')}{line_text(along)}"
