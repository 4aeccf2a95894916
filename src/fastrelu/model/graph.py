"""A piecewise-linear network as a graph of operations in topological order.

A ``Graph`` is a tuple of ``Node``s, each computed from earlier ones, the first of
kind ``"input"`` and the last the output.  Shapes are without the batch axis.  The
kinds, in two families:

- affine (``affine`` applies them, with or without their constant part):
  ``"dense"`` (``weight`` (out, in) as ``nn.Linear``, on the last axis), ``"conv"``
  (1-D or 2-D: ``weight``, ``bias`` or None, ``stride``, explicit ``padding`` per
  spatial axis as (before, after), ``dilation``, ``groups``), ``"avgpool"`` (1-D or
  2-D, also adaptive: one (out, in) averaging matrix per spatial axis, since every
  average pool PyTorch has divides by a product of per-axis counts), ``"scale"``
  (``x * scale + shift``, arrays broadcast to the node's shape: an eval BatchNorm that
  could not be folded, a multiplication by a constant), ``"reshape"``,
  ``"permute"`` (``perm`` of the non-batch axes), ``"add"`` (``sum_i coeffs[i] *
  inputs[i] + const``), ``"cat"`` (``axis`` among the non-batch axes) and
  ``"embed"`` (a slice folded in: ``origin + u @ directions``, ``directions`` (k, *shape));
- piecewise linear: ``"act"`` (an ``Activation`` applied to every unit; a PReLU with
  one slope per channel is held with one slope per unit) and ``"maxpool"`` (1-D or
  2-D: ``kernel``, ``stride``, ``padding``, ``dilation``; its breakpoints are where the
  largest input of a window changes, its pattern is the argmax).

A convolution stays a convolution: it is applied to batches through
``numpy.lib.stride_tricks.sliding_window_view`` and ``tensordot``, never expanded to
a dense matrix.  A dense MLP is the chain input, dense, act, dense, ..., dense
(``as_chain``); ``fastrelu.Network`` keeps such a network as its layers, which the fast
dense kernels take.
"""

import json

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .activations import Activation

AFFINE = ("dense", "conv", "avgpool", "scale", "reshape", "permute", "add", "cat", "embed")
PIECEWISE = ("act", "maxpool")
KINDS = ("input", *AFFINE, *PIECEWISE)
_ARRAYS = ("weight", "bias", "scale", "shift", "coeffs", "const", "origin", "directions", "mat0", "mat1")


class Node:
    """One operation: ``name`` (the torch.fx node's), ``kind``, the names of its ``inputs``,
    its ``params`` and its output ``shape`` (without the batch axis)."""

    __slots__ = ("name", "kind", "inputs", "params", "shape")

    def __init__(self, name, kind, inputs, params, shape):
        if kind not in KINDS:
            raise ValueError(f"node {name!r}: unknown kind {kind!r} (one of {list(KINDS)})")
        self.name, self.kind, self.inputs = str(name), kind, tuple(inputs)
        self.params, self.shape = dict(params), tuple(int(s) for s in shape)

    @property
    def size(self):
        """Units in the output (the product of the shape)."""
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self):
        return f"Node({self.name!r}, {self.kind!r}, shape={self.shape})"


class NodeInfo(tuple):
    """``(name, kind, shape)`` of one node, as ``Network.nodes`` lists them."""

    __slots__ = ()

    def __new__(cls, name, kind, shape):
        return super().__new__(cls, (name, kind, shape))

    name = property(lambda self: self[0])
    kind = property(lambda self: self[1])
    shape = property(lambda self: self[2])

    def __repr__(self):
        return f"NodeInfo(name={self[0]!r}, kind={self[1]!r}, shape={self[2]})"


# -- shapes -------------------------------------------------------------------------------
def _out_len(n, k, stride, before, after, dilation):
    return (n + before + after - dilation * (k - 1) - 1) // stride + 1


def shape_of(kind, in_shapes, p, name="?"):
    """The output shape of a node of ``kind`` on inputs of ``in_shapes``; a ValueError naming
    ``name`` when they do not fit."""
    s = in_shapes[0] if in_shapes else ()
    if kind == "dense":
        if not s or s[-1] != p["weight"].shape[1]:
            raise ValueError(f"node {name!r} (Linear) takes {p['weight'].shape[1]} inputs in its last axis, gets shape {s}")
        return (*s[:-1], p["weight"].shape[0])
    if kind in ("conv", "maxpool"):
        nd = p["ndim"]
        if len(s) != nd + 1:
            raise ValueError(f"node {name!r} ({kind}, {nd}-D) takes (channels, {'length' if nd == 1 else 'height, width'}), gets shape {s}")
        if kind == "conv":
            w = p["weight"]
            if s[0] != w.shape[1] * p["groups"]:
                raise ValueError(f"node {name!r} (conv) takes {w.shape[1] * p['groups']} channels, gets {s[0]}")
            k, c = w.shape[2:], w.shape[0]
        else:
            k, c = p["kernel"], s[0]
        out = tuple(_out_len(s[1 + i], k[i], p["stride"][i], *p["padding"][i], p["dilation"][i]) for i in range(nd))
        if min(out) < 1:
            raise ValueError(f"node {name!r} ({kind}): input {s} is too small for its kernel")
        return (c, *out)
    if kind == "avgpool":
        mats = [p[f"mat{i}"] for i in range(p["ndim"])]
        if len(s) != len(mats) + 1 or any(m.shape[1] != n for m, n in zip(mats, s[1:])):
            raise ValueError(f"node {name!r} (avgpool) does not fit input shape {s}")
        return (s[0], *(m.shape[0] for m in mats))
    if kind == "scale":
        shapes = [np.shape(p["scale"])] + ([np.shape(p["shift"])] if p.get("shift") is not None else [])
        if any(len(t) > len(s) for t in shapes):  # more axes than the input: they would meet the batch axis
            raise ValueError(f"node {name!r} (scale) takes arrays of at most {len(s)} axes on input shape {s}, "
                             f"gets {', '.join(map(str, shapes))}")
        return tuple(np.broadcast_shapes(s, *shapes))
    if kind == "reshape":
        if int(np.prod(p["to"])) != int(np.prod(s)):
            raise ValueError(f"node {name!r} (reshape) cannot make {s} into {tuple(p['to'])}")
        return tuple(p["to"])
    if kind == "permute":
        return tuple(s[i] for i in p["perm"])
    if kind == "add":
        if any(t != s for t in in_shapes):
            raise ValueError(f"node {name!r} (add) adds shapes {in_shapes}; fastrelu adds branches of one shape")
        return s
    if kind == "cat":
        ax = p["axis"]
        if any(len(t) != len(s) or t[:ax] + t[ax + 1 :] != s[:ax] + s[ax + 1 :] for t in in_shapes):
            raise ValueError(f"node {name!r} (cat) cannot concatenate shapes {in_shapes} along axis {ax}")
        return (*s[:ax], sum(t[ax] for t in in_shapes), *s[ax + 1 :])
    if kind == "embed":
        return tuple(p["directions"].shape[1:])
    if kind == "act":
        return s
    raise ValueError(f"node {name!r}: kind {kind!r} has no shape rule")


# -- the operations on batches -----------------------------------------------------------------
def _as2d(x, nd):
    """A 1-D layout (B, C, L) as 2-D (B, C, 1, L); 2-D unchanged."""
    return x[:, :, None, :] if nd == 1 else x


def _windows(x, p, kernel, fill):
    """(B, C, Ho, Wo, kh, kw) views of the padded input's windows."""
    (ph0, ph1), (pw0, pw1) = p["padding"] if p["ndim"] == 2 else ((0, 0), p["padding"][0])
    sh, sw = p["stride"] if p["ndim"] == 2 else (1, p["stride"][0])
    dh, dw = p["dilation"] if p["ndim"] == 2 else (1, p["dilation"][0])
    kh, kw = kernel
    if ph0 or ph1 or pw0 or pw1:
        x = np.pad(x, ((0, 0), (0, 0), (ph0, ph1), (pw0, pw1)), constant_values=fill)
    win = sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw]


def _conv(x, p):
    nd, w, groups = p["ndim"], p["weight"], p["groups"]
    w2 = w[:, :, None, :] if nd == 1 else w
    win = _windows(_as2d(x, nd), p, w2.shape[2:], 0)
    b, ho, wo = x.shape[0], win.shape[2], win.shape[3]
    o, cg = w2.shape[:2]
    og = o // groups
    out = np.empty((b, o, ho, wo), np.result_type(x, w))
    for g in range(groups):  # a group's channels meet only its filters
        part = np.tensordot(win[:, g * cg : (g + 1) * cg], w2[g * og : (g + 1) * og], axes=([1, 4, 5], [1, 2, 3]))
        out[:, g * og : (g + 1) * og] = np.moveaxis(part, 3, 1)
    return out[:, :, 0, :] if nd == 1 else out


def affine(node, xs, bias=True):
    """An affine node applied to its inputs ``xs`` (each (B, *shape)); without its constant
    part when ``bias`` is False (what a tangent, or a slope map, goes through)."""
    p, kind, x = node.params, node.kind, xs[0]
    if kind == "dense":
        y = x @ p["weight"].T
        return y + p["bias"] if bias and p.get("bias") is not None else y
    if kind == "conv":
        y = _conv(x, p)
        if bias and p.get("bias") is not None:
            y += p["bias"].reshape((-1,) + (1,) * p["ndim"])
        return y
    if kind == "avgpool":
        y = x @ p[f"mat{p['ndim'] - 1}"].T
        return np.matmul(p["mat0"], y) if p["ndim"] == 2 else y
    if kind == "scale":
        y = x * p["scale"]
        return y + p["shift"] if bias and p.get("shift") is not None else y
    if kind == "reshape":
        return x.reshape((x.shape[0], *node.shape))
    if kind == "permute":
        return np.transpose(x, (0, *(i + 1 for i in p["perm"])))
    if kind == "add":
        y = sum(c * v for c, v in zip(p["coeffs"].tolist(), xs))
        return y + p["const"] if bias and p.get("const") is not None else y
    if kind == "cat":
        return np.concatenate(xs, axis=p["axis"] + 1)
    if kind == "embed":
        y = np.tensordot(x, p["directions"], axes=([1], [0]))
        return y + p["origin"] if bias else y
    raise ValueError(f"node {node.name!r} ({kind}) is not affine")


def act_form(node, dtype):
    """``(alpha, lo, hi)`` of an act node, alpha shaped as the node (per-unit slopes)."""
    alpha, lo, hi = node.params["act"].kernel_form(node.size)
    return alpha.astype(dtype).reshape(node.shape), lo, hi


def maxpool_windows(node, x, fill):
    """(B, C, *out, K) windows of a max-pool node's input (K inputs per window)."""
    p = node.params
    kernel = p["kernel"] if p["ndim"] == 2 else (1, p["kernel"][0])
    win = _windows(_as2d(x, p["ndim"]), p, kernel, fill)
    win = win.reshape(win.shape[:4] + (-1,))
    return win[:, :, 0] if p["ndim"] == 1 else win


# -- the graph ---------------------------------------------------------------------------------
class Graph:
    """Nodes in topological order; the first is the input, the last the output.

    Examples
    --------
    >>> import numpy as np
    >>> from fastrelu.model.graph import Graph, Node
    >>> from fastrelu.model import Activation
    >>> g = Graph([Node("x", "input", (), {}, (2,)),
    ...            Node("fc", "dense", ["x"], {"weight": np.eye(2), "bias": np.zeros(2)}, (2,)),
    ...            Node("relu", "act", ["fc"], {"act": Activation("relu")}, (2,)),
    ...            Node("res", "add", ["relu", "x"], {"coeffs": np.ones(2)}, (2,))])
    >>> [n.kind for n in g.nodes]
    ['input', 'dense', 'act', 'add']
    """

    __slots__ = ("nodes", "index", "consumers")

    def __init__(self, nodes):
        nodes = tuple(nodes)
        if not nodes or nodes[0].kind != "input" or any(n.kind == "input" for n in nodes[1:]):
            raise ValueError("a graph starts with its one input node")
        index = {}
        for k, n in enumerate(nodes):
            if n.name in index:
                raise ValueError(f"two nodes are named {n.name!r}")
            for i in n.inputs:
                if i not in index:
                    raise ValueError(f"node {n.name!r} reads {i!r}, which is not an earlier node")
            if n.kind != "input":
                shape = shape_of(n.kind, [nodes[index[i]].shape for i in n.inputs], n.params, n.name)
                if shape != n.shape:
                    raise ValueError(f"node {n.name!r} ({n.kind}) makes shape {shape}, not its stated {n.shape}")
            index[n.name] = k
        self.nodes, self.index = nodes, index
        self.consumers = {n.name: [] for n in nodes}
        for n in nodes:
            for i in n.inputs:
                self.consumers[i].append(n.name)

    @property
    def input_shape(self):
        return self.nodes[0].shape

    @property
    def output(self):
        return self.nodes[-1]

    @property
    def act_nodes(self):
        """The activation nodes, in order: one column each of ``negative_by_layer``."""
        return [n for n in self.nodes if n.kind == "act"]

    @property
    def piecewise_nodes(self):
        """The activation and max-pool nodes, in order: where the network bends, one layer
        each of a walk's patterns (a unit's region, a window's argmax)."""
        return [n for n in self.nodes if n.kind in ("act", "maxpool")]

    @property
    def dtype(self):
        for n in self.nodes:
            for k in _ARRAYS:
                if isinstance(n.params.get(k), np.ndarray):
                    return n.params[k].dtype
        return np.dtype(np.float64)

    def map_arrays(self, fn):
        """The same graph with ``fn`` applied to every parameter array."""
        nodes = []
        for n in self.nodes:
            # numpy scalars too: a traced `h - 0.125` keeps its constant as an np.float64
            p = {k: (fn(np.asarray(v)) if k in _ARRAYS and isinstance(v, (np.ndarray, np.generic)) else v)
                 for k, v in n.params.items()}
            nodes.append(Node(n.name, n.kind, n.inputs, p, n.shape))
        return Graph(nodes)

    def astype(self, dtype):
        dtype = np.dtype(dtype)
        g = self.map_arrays(lambda a: a.astype(dtype))
        for n in g.nodes:
            if n.kind == "act":
                n.params["act"] = n.params["act"].astype(dtype)
            for k in _ARRAYS:
                a = n.params.get(k)
                if isinstance(a, np.ndarray) and not np.isfinite(a).all():
                    raise ValueError(f"node {n.name!r}'s {k} overflows {dtype.name}")
        return g

    def replace(self, index, node):
        nodes = list(self.nodes)
        nodes[index] = node
        return Graph(nodes)

    def on_slice(self, origin, directions):
        """The graph as a function of ``k`` coordinates ``u``: its input becomes an ``embed`` node,
        ``origin + u @ directions`` (``origin`` shaped as the input, ``directions`` (k, *shape)),
        under the input's name; a graph already on a slice composes the two."""
        dtype = self.dtype
        nodes = list(self.nodes)
        if len(nodes) > 1 and nodes[1].kind == "embed":  # compose: u -> o' + (o + u @ d) @ d'
            old, head = nodes[1].params, nodes[0]
            origin = old["origin"].astype(np.float64) + np.tensordot(origin.reshape(-1), old["directions"], axes=([0], [0]))
            directions = np.tensordot(directions.reshape(directions.shape[0], -1), old["directions"], axes=([1], [0]))
            embedded, rest = nodes[1], nodes[2:]
        else:
            names = {n.name for n in nodes}
            head = "coords"
            while head in names:
                head += "_"
            head = Node(head, "input", (), {}, (directions.shape[0],))
            embedded, rest = nodes[0], nodes[1:]
        k, shape = directions.shape[0], embedded.shape
        params = {"origin": origin.reshape(shape).astype(dtype), "directions": directions.reshape((k, *shape)).astype(dtype)}
        head = Node(head.name, "input", (), {}, (k,))
        return Graph([head, Node(embedded.name, "embed", [head.name], params, shape), *rest])

    def with_activations(self, act):
        """Every activation node replaced by ``act`` (e.g. ``"linear"``)."""
        nodes = [Node(n.name, n.kind, n.inputs, {**n.params, "act": act}, n.shape) if n.kind == "act" else n for n in self.nodes]
        return Graph(nodes)

    def as_chain(self):
        """``(layers, activations)`` when the graph is the chain dense, act, dense, ..., dense on a
        vector input, else None: such a network is kept as its layers."""
        ns = self.nodes
        if len(ns) < 4 or len(self.input_shape) != 1 or len(ns) % 2:
            return None
        layers, acts = [], []
        for k, n in enumerate(ns[1:], start=1):
            want = "dense" if k % 2 else "act"
            if n.kind != want or n.inputs != (ns[k - 1].name,) or len(n.shape) != 1:
                return None
            if want == "dense":
                layers.append((n.params["weight"], n.params.get("bias")))
            else:
                act = n.params["act"]
                if act.name == "prelu" and np.ndim(act.params["weight"]) == 1 and len(set(act.params["weight"].tolist())) == 1:
                    act = Activation("prelu", weight=float(act.params["weight"][0]))
                acts.append(act)
        return layers, acts

    # -- persistence ------------------------------------------------------------------------
    def to_arrays(self, prefix=""):
        """The graph as ``.npz`` arrays: the nodes as JSON, each parameter array on its own."""
        specs, arrays = [], {}
        for k, n in enumerate(self.nodes):
            spec = {"name": n.name, "kind": n.kind, "inputs": list(n.inputs), "shape": list(n.shape)}
            params = {}
            for key, v in n.params.items():
                if isinstance(v, np.ndarray):
                    arrays[f"{prefix}node{k}_{key}"] = v
                    params[key] = {"array": True}
                elif isinstance(v, Activation):
                    params[key] = {"activation": v.to_json()}
                else:
                    params[key] = {"value": _jsonable(v)}
            spec["params"] = params
            specs.append(spec)
        arrays[f"{prefix}graph"] = np.array(json.dumps(specs))
        return arrays

    @classmethod
    def from_arrays(cls, data, prefix=""):
        specs = json.loads(str(data[f"{prefix}graph"]))
        nodes = []
        for k, spec in enumerate(specs):
            params = {}
            for key, v in spec["params"].items():
                if "array" in v:
                    params[key] = np.array(data[f"{prefix}node{k}_{key}"])
                elif "activation" in v:
                    params[key] = Activation.from_json(v["activation"])
                else:
                    params[key] = _from_json(v["value"])
            nodes.append(Node(spec["name"], spec["kind"], spec["inputs"], params, spec["shape"]))
        return cls(nodes)

    def equals(self, other):
        if len(self.nodes) != len(other.nodes):
            return False
        for a, b in zip(self.nodes, other.nodes):
            if (a.name, a.kind, a.inputs, a.shape) != (b.name, b.kind, b.inputs, b.shape) or set(a.params) != set(b.params):
                return False
            for k, v in a.params.items():
                w = b.params[k]
                if isinstance(v, np.ndarray) or isinstance(w, np.ndarray):
                    if not (isinstance(v, np.ndarray) and isinstance(w, np.ndarray) and v.dtype == w.dtype and np.array_equal(v, w)):
                        return False
                elif v != w:
                    return False
        return True


def _jsonable(v):
    if isinstance(v, tuple):
        return {"tuple": [_jsonable(x) for x in v]}
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def _from_json(v):
    if isinstance(v, dict) and "tuple" in v:
        return tuple(_from_json(x) for x in v["tuple"])
    if isinstance(v, list):
        return tuple(_from_json(x) for x in v)
    return v


def fold_scales(nodes):
    """Fold every ``scale`` node into the ``dense`` or ``conv`` node before it, where that node
    feeds only the scale and the scale is per output channel: an eval BatchNorm after its
    Linear or Conv becomes part of their weights (in float64)."""
    nodes = list(nodes)
    changed = True
    while changed:
        changed = False
        users = {}
        for n in nodes:
            for i in n.inputs:
                users.setdefault(i, []).append(n.name)
        by_name = {n.name: k for k, n in enumerate(nodes)}
        for k, n in enumerate(nodes):
            if n.kind != "scale" or len(n.inputs) != 1:
                continue
            j = by_name[n.inputs[0]]
            prev = nodes[j]
            if prev.kind not in ("dense", "conv") or users.get(prev.name) != [n.name] or prev.shape != n.shape:
                continue
            per = _per_channel(prev, n.params["scale"]), _per_channel(prev, n.params.get("shift"))
            if per[0] is None or (n.params.get("shift") is not None and per[1] is None):
                continue
            s, c = per[0], per[1] if per[1] is not None else 0.0
            w = prev.params["weight"]
            b = prev.params.get("bias")
            p = dict(prev.params)
            p["weight"] = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
            p["bias"] = (0.0 if b is None else b) * s + c
            p["bias"] = np.broadcast_to(p["bias"], (w.shape[0],)).astype(w.dtype)
            nodes[j] = Node(prev.name, prev.kind, prev.inputs, p, prev.shape)
            # the scale's users now read the folded node
            nodes = [m if m is not n else None for m in nodes]
            nodes = [Node(m.name, m.kind, [prev.name if i == n.name else i for i in m.inputs], m.params, m.shape)
                     for m in nodes if m is not None]
            changed = True
            break
    return nodes


def _per_channel(node, a):
    """``a`` as one number per output channel of ``node`` (its channel axis: the last for
    dense, the first for conv), or None when it varies otherwise."""
    if a is None:
        return None
    a = np.asarray(a, np.float64)
    shape = node.shape
    ch = len(shape) - 1 if node.kind == "dense" else 0
    full = np.broadcast_to(a, shape)
    per = full.reshape(-1, shape[-1])[0] if node.kind == "dense" else full.reshape(shape[0], -1)[:, 0]
    expect = per.reshape([-1 if i == ch else 1 for i in range(len(shape))])
    return per.copy() if np.array_equal(np.broadcast_to(expect, shape), full) else None
