"""``Network``: a piecewise-linear network, a graph of operations in topological order.

Every network is a graph (``fastrelu.model.graph``): convolutions, pooling, residual
additions, concatenations, activations.  A dense MLP, the chain dense, act, dense, ...,
dense, is kept as its layers, as PyTorch keeps ``nn.Linear`` (``weight`` shaped (out,
in)), one activation after every layer but the last: ``net.layers``,
``net.activations`` and ``net.widths`` are that chain's views, which the fast dense
kernels take, and ``net.graph`` its graph.  Any other network is kept as its graph and
says (ValueError) that it has no layers.  The classic case, one hidden layer of a
scalar, keeps its short constructor ``Network(w1, b1, w2, b2)``.
"""

import json
from typing import NamedTuple

import numpy as np

from ..utils.files import open_for_writing, open_npz
from ..utils.plugins import provided
from ..utils.validation import (
    as_dtype,
    as_finite_scalar,
    as_float_array,
    as_positive_int,
    frozen_copy,
)
from . import pytorch
from .activations import Activation, as_activation
from .forward import check_inputs, forward
from .graph import Graph, Node, NodeInfo
from .slices import check_line, fold

_FORMAT = "fastrelu.Network/2"  # /1 (one hidden layer: w1, b1, w2, b2, activation) is still read
_GRAPH_FORMAT = "fastrelu.Network/3"  # a graph network's nodes; chain networks keep writing /2


class Layer(NamedTuple):
    """One dense layer, stored as PyTorch stores ``nn.Linear``: ``weight`` is (out, in)."""

    weight: np.ndarray
    bias: np.ndarray


class Network:
    """A piecewise-linear network: dense layers with an activation after each hidden one.

    ``Network(w1, b1, w2, b2)`` is the classic one-hidden-layer network of a scalar,
    ``y = b2 + sum_j w2[j] * act(w1[j] * x + b1[j])``; ``Network.from_layers``,
    ``Network.random(widths)`` and ``Network.from_torch`` build deep ones.

    Parameters
    ----------
    w1, b1, w2 : array_like, shape (H,)
        Input weights, hidden biases and output weights of the H hidden units.
        Copied; float32 stays float32, anything else becomes float64.
    b2 : float, default 0.0
        Output bias.
    activation : str or Activation, default "relu"
        ``"relu"``, ``"linear"`` (the identity: the network is a straight line),
        ``"leaky_relu"``, ``"prelu"``, ``"hardtanh"``, ``"relu6"``, or an
        ``Activation`` with parameters (see ``fastrelu.model.Activation``).

    Notes
    -----
    A network is immutable: its arrays are read-only copies.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0], b2=0.5)
    >>> net.hidden, net.widths
    (2, (1, 2, 1))
    >>> float(net(2.0))  # 0.5 + 2*relu(2) + 3*relu(-1)
    4.5
    >>> deep = fastrelu.Network.random([3, 16, 16, 2], seed=0)
    >>> deep.depth, deep.hidden, deep([1.0, 0.0, -1.0]).shape
    (2, 32, (2,))
    """

    __slots__ = ("_layers", "_activations", "_derived", "_graph")

    def __init__(self, w1, b1, w2, b2=0.0, activation="relu"):
        act = as_activation(activation)
        w1 = as_float_array(w1, "w1")
        dtype = w1.dtype
        b1 = as_float_array(b1, "b1", dtype)
        w2 = as_float_array(w2, "w2", dtype)
        if not (w1.shape == b1.shape == w2.shape):
            raise ValueError(f"w1, b1 and w2 must have the same length, got {w1.shape[0]}, {b1.shape[0]} and {w2.shape[0]}")
        if w1.shape[0] == 0:
            raise ValueError("a network needs at least one hidden unit; w1, b1 and w2 are empty")
        b2 = as_finite_scalar(b2.item() if isinstance(b2, np.ndarray) and b2.size == 1 else b2, "b2")
        b2 = np.asarray([b2], dtype)
        if not np.isfinite(b2).all():
            raise ValueError(f"b2 = {b2!r} overflows {dtype}")
        self._setup([Layer(w1[:, None], b1), Layer(w2[None, :], b2)], [act])

    def _setup(self, layers, activations):
        self._graph = None
        self._layers = tuple(Layer(frozen_copy(w), frozen_copy(b)) for w, b in layers)
        self._activations = tuple(act.astype(self.dtype) for act in activations)
        for k, act in enumerate(self._activations):
            act.kernel_form(self._layers[k].bias.shape[0])  # a PReLU with the wrong number of slopes fails here
        # what other layers derive from this (immutable) network and keep with it:
        # packed kernel parameters, overflow bounds (see backends.params, model.forward)
        self._derived = {}

    @classmethod
    def _make(cls, layers, activations):
        net = cls.__new__(cls)
        net._setup(layers, activations)
        return net

    @classmethod
    def _from_graph(cls, graph):
        """A network from its graph: kept as its layers when the graph is a dense chain."""
        chain = graph.as_chain()
        if chain is not None:
            return cls.from_layers(chain[0], chain[1], dtype=graph.dtype)
        net = cls.__new__(cls)
        net._layers = net._activations = None
        net._graph, net._derived = graph, {}
        return net

    @classmethod
    def from_layers(cls, layers, activations="relu", *, dtype=None):
        """A network from its dense layers and the activations between them.

        Parameters
        ----------
        layers : sequence of (weight, bias)
            At least two layers; ``weight`` shaped (out, in) as in ``nn.Linear``,
            ``bias`` shaped (out,) or None (zeros).  Each layer's ``in`` is the
            previous layer's ``out``.
        activations : str, Activation or sequence of them, default "relu"
            One for every layer but the last (or one for all of them).
        dtype : {None, "float64", "float32"}
            None: float32 if every array is float32, float64 otherwise.

        Examples
        --------
        >>> import numpy as np, fastrelu
        >>> net = fastrelu.Network.from_layers(
        ...     [(np.eye(2), np.zeros(2)), (np.ones((2, 2)), None), (np.ones((1, 2)), [1.0])],
        ...     activations=["relu", "leaky_relu"])
        >>> net.widths, [str(a) for a in net.activations]
        ((2, 2, 2, 1), ['relu', 'leaky_relu'])
        >>> float(net([1.0, -1.0]))   # relu -> (1, 0); both units get 1 -> (1, 1); 1 + 1 + 1
        3.0
        """
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
            raise TypeError(f"layers must be a sequence of (weight, bias) pairs, got {type(layers).__name__}")
        if len(layers) < 2:
            raise ValueError(f"a network needs at least two layers (one hidden layer), got {len(layers)}")
        arrays = []
        for k, layer in enumerate(layers):
            if isinstance(layer, (str, bytes)) or not hasattr(layer, "__len__") or len(layer) != 2:
                raise TypeError(f"layers[{k}] must be a (weight, bias) pair")
            arrays.append(layer)
        if dtype is None:
            all32 = all(np.asarray(a).dtype == np.float32 for w, b in arrays for a in ((w,) if b is None else (w, b)))
            dtype = np.dtype(np.float32) if all32 else np.dtype(np.float64)
        else:
            dtype = as_dtype(dtype)
        built = []
        for k, (w, b) in enumerate(arrays):
            w = as_float_array(w, f"layers[{k}].weight", dtype, ndim=2)
            if 0 in w.shape:
                raise ValueError(f"layers[{k}].weight is empty (shape {w.shape})")
            b = np.zeros(w.shape[0], dtype) if b is None else as_float_array(b, f"layers[{k}].bias", dtype)
            if b.shape != (w.shape[0],):
                raise ValueError(f"layers[{k}].bias must have shape ({w.shape[0]},) to match its weight {w.shape}, got {b.shape}")
            if k and w.shape[1] != built[-1].weight.shape[0]:
                raise ValueError(
                    f"layers[{k}].weight takes {w.shape[1]} inputs but layers[{k - 1}] has {built[-1].weight.shape[0]} outputs"
                )
            built.append(Layer(w, b))
        return cls._make(built, _activation_list(activations, len(built) - 1))

    @classmethod
    def random(cls, widths=None, *, hidden=None, seed=None, activation="relu", dtype="float64"):
        """A network initialised as PyTorch initialises ``nn.Linear`` layers.

        Each layer's weight and bias are uniform in ``+-1/sqrt(fan_in)``, drawn in
        float64 from ``numpy.random.default_rng(seed)``, layer by layer, weight (row by
        row) then bias.  ``Network.random(hidden=H)`` (or ``Network.random(H)``) is
        ``[1, H, 1]``, the classic demo, drawn exactly as before deep networks came.

        Parameters
        ----------
        widths : int or sequence of int
            ``[in, h1, ..., hL, out]`` (at least three entries), or the number of
            hidden units H of a ``[1, H, 1]`` network.
        hidden : int, optional
            The same as ``widths=[1, hidden, 1]``.
        seed : None, int or numpy.random.Generator
            Seed for ``numpy.random.default_rng``.
        activation : str or Activation, or one per hidden layer
        dtype : {"float64", "float32"}

        Examples
        --------
        >>> net = Network.random(1000, seed=0)
        >>> net.hidden, net.dtype
        (1000, dtype('float64'))
        >>> Network.random([784, 256, 256, 10], seed=0, activation="leaky_relu").widths
        (784, 256, 256, 10)
        """
        if (widths is None) == (hidden is None):
            raise TypeError("give widths=[in, h1, ..., out] or hidden=H, one of them")
        if widths is None or not hasattr(widths, "__len__"):  # a number: the hidden units of [1, H, 1]
            widths = [1, as_positive_int(hidden if widths is None else widths, "hidden"), 1]
        if isinstance(widths, (str, bytes)):
            raise TypeError(f"widths must be a list of layer widths [in, h1, ..., out], got {type(widths).__name__}")
        widths = [as_positive_int(w, f"widths[{k}]") for k, w in enumerate(widths)]
        if len(widths) < 3:
            raise ValueError(f"widths must have at least three entries [in, hidden, out], got {widths}")
        dtype = as_dtype(dtype)
        rng = np.random.default_rng(seed)
        layers = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            w = rng.uniform(-bound, bound, (fan_out, fan_in))
            b = rng.uniform(-bound, bound, fan_out)
            layers.append(Layer(w.astype(dtype), b.astype(dtype)))
        return cls._make(layers, _activation_list(activation, len(layers) - 1))

    @classmethod
    def from_torch(cls, module, input_shape=None, *, dtype=None):
        """A network from any PyTorch module built of piecewise-linear parts.

        An ``nn.Sequential`` of ``Linear`` layers and activations is read layer by layer;
        any other module (convolutions, pooling, residual connections, ``torch.cat``,
        functional calls) is traced with ``torch.fx``.  See
        ``fastrelu.model.pytorch.from_torch`` for what is accepted and why torch.fx.

        Parameters
        ----------
        module : torch.nn.Module
        input_shape : tuple of int, optional
            The input's shape without the batch axis, e.g. ``(1, 8, 8)``; needed where the
            first operation does not fix it (a convolution).
        dtype : {None, "float64", "float32"}

        Examples
        --------
        >>> import torch  # doctest: +SKIP
        >>> model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))  # doctest: +SKIP
        >>> fastrelu.Network.from_torch(model).widths  # doctest: +SKIP
        (2, 8, 1)
        >>> cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        ...                           torch.nn.Flatten(), torch.nn.Linear(36, 10))  # doctest: +SKIP
        >>> [n.kind for n in fastrelu.Network.from_torch(cnn, (1, 8, 8)).nodes]  # doctest: +SKIP
        ['input', 'conv', 'act', 'maxpool', 'reshape', 'dense']
        """
        return pytorch.from_torch(cls, module, input_shape=input_shape, dtype=dtype)  # torch is imported there, never by import fastrelu

    def to_torch(self):
        """The network as a ``torch.nn.Module`` in its dtype: an ``nn.Sequential`` (``Linear`` and
        activation modules) for a dense chain, else a module that runs the graph's nodes in order.

        Examples
        --------
        >>> Network.random([2, 4, 1], seed=0).to_torch()  # doctest: +SKIP
        Sequential(
          (0): Linear(in_features=2, out_features=4, bias=True)
          (1): ReLU()
          (2): Linear(in_features=4, out_features=1, bias=True)
        )
        """
        return pytorch.to_torch(self)

    # -- shape ----------------------------------------------------------------------
    @property
    def is_graph(self):
        """Whether the network is kept as a graph (it is no dense chain: see ``nodes``)."""
        return self._graph is not None

    def _chain(self, name):
        if self._graph is not None:
            raise ValueError(
                f"{name} is defined for dense chains (Linear layers and activations); this network is a graph "
                f"of {len(self._graph.nodes)} nodes (convolutions, pooling or branches): use net.nodes"
            )

    @property
    def graph(self):
        """The network as a ``fastrelu.model.graph.Graph``; a dense chain's is built from its layers."""
        if self._graph is not None:
            return self._graph
        if "graph" not in self._derived:
            nodes = [Node("input", "input", (), {}, (self.in_features,))]
            for k, (w, b) in enumerate(self._layers):
                nodes.append(Node(f"linear{k}", "dense", [nodes[-1].name], {"weight": w, "bias": b}, (w.shape[0],)))
                if k < self.depth:
                    nodes.append(Node(f"act{k}", "act", [nodes[-1].name], {"act": self._activations[k]}, (w.shape[0],)))
            self._derived["graph"] = Graph(nodes)
        return self._derived["graph"]

    @property
    def nodes(self):
        """``(name, kind, shape)`` of every node, in order (shapes without the batch axis).

        Examples
        --------
        >>> [tuple(n) for n in Network.random([2, 3, 1], seed=0).nodes]
        [('input', 'input', (2,)), ('linear0', 'dense', (3,)), ('act0', 'act', (3,)), ('linear1', 'dense', (1,))]
        """
        return [NodeInfo(n.name, n.kind, n.shape) for n in self.graph.nodes]

    @property
    def input_shape(self):
        """The input's shape, without the batch axis (``(in_features,)`` for a dense chain)."""
        return self.graph.input_shape

    @property
    def layers(self):
        """The layers as a tuple of ``Layer(weight, bias)``, weight shaped (out, in)."""
        self._chain("layers")
        return self._layers

    @property
    def activations(self):
        """One ``Activation`` per hidden layer."""
        self._chain("activations")
        return self._activations

    @property
    def widths(self):
        """``(in, h1, ..., hL, out)``."""
        self._chain("widths")
        return (self._layers[0].weight.shape[1], *(layer.bias.shape[0] for layer in self._layers))

    @property
    def in_features(self):
        """Number of inputs (all the input's entries, for an input of several axes)."""
        if self._graph is not None:
            return self._graph.nodes[0].size
        return self._layers[0].weight.shape[1]

    @property
    def out_features(self):
        """Number of outputs."""
        if self._graph is not None:
            return self._graph.output.size
        return self._layers[-1].bias.shape[0]

    @property
    def depth(self):
        """Number of hidden layers (of a graph: its activation nodes)."""
        if self._graph is not None:
            return len(self._graph.act_nodes)
        return len(self._layers) - 1

    @property
    def hidden(self):
        """Number of hidden units in all hidden layers (of a graph: its activation nodes' units,
        those ``negative`` counts)."""
        if self._graph is not None:
            return sum(n.size for n in self._graph.act_nodes)
        return sum(layer.bias.shape[0] for layer in self._layers[:-1])

    @property
    def dtype(self):
        """The dtype of the weights (float64 or float32)."""
        if self._graph is not None:
            return self._graph.dtype
        return self._layers[0].bias.dtype

    # -- the one-hidden-layer scalar network's names -----------------------------------
    def _classic(self, name):
        self._chain(name)
        if self.widths[0] != 1 or self.depth != 1 or self.out_features != 1:
            raise ValueError(
                f"{name} is defined for one-hidden-layer networks of a scalar, widths (1, H, 1); "
                f"this network has widths {self.widths}: use net.layers"
            )

    @property
    def w1(self):
        """Input weights, shape (H,), of a ``(1, H, 1)`` network."""
        self._classic("w1")
        return self._layers[0].weight[:, 0]

    @property
    def b1(self):
        """Hidden biases, shape (H,), of a ``(1, H, 1)`` network."""
        self._classic("b1")
        return self._layers[0].bias

    @property
    def w2(self):
        """Output weights, shape (H,), of a ``(1, H, 1)`` network."""
        self._classic("w2")
        return self._layers[1].weight[0]

    @property
    def b2(self):
        """Output bias, a float, of a ``(1, H, 1)`` network."""
        self._classic("b2")
        return float(self._layers[1].bias[0])

    @property
    def activation(self):
        """The activation's name (``str(Activation)``) when every hidden layer has the same one."""
        self._chain("activation")
        first = self._activations[0]
        if any(a != first for a in self._activations[1:]):
            raise ValueError("the hidden layers have different activations: use net.activations")
        return str(first)

    @property
    def alpha(self):
        """The activation's slope for pre-activations <= 0 (0 for ReLU, 1 for linear), when it is one number.

        Defined for one hidden layer of a scalar, ``(1, H, 1)``, whose activation has one
        slope for every unit and no clamp (what the one-layer kernels take).
        """
        self._chain("alpha")
        if self.widths[0] == 1 and self.depth == 1 and self.out_features == 1:
            alpha, lo, hi = self._activations[0].kernel_form(self.hidden)
            if not np.isfinite(lo) and not np.isfinite(hi) and (alpha == alpha[0]).all():
                return float(alpha[0])
        raise ValueError("this network's activations have no single slope for z <= 0: use net.activations")

    # -- derived networks -----------------------------------------------------------
    def along(self, x0, x1):
        """The network as a function of ``t`` on the line ``x(t) = x0 + t*(x1 - x0)``.

        The first layer is folded with the line (``W @ (x1 - x0)`` and ``W @ x0 + b``,
        in float64), so the result takes a scalar and every scalar tool (``sweep``,
        ``kinks``, ``regions``, figures) works on it; ``t = 0`` is ``x0`` and ``t = 1``
        is ``x1``.

        Examples
        --------
        >>> import numpy as np
        >>> net = Network.random([3, 8, 2], seed=0)
        >>> x0, x1 = np.zeros(3), np.ones(3)
        >>> line = net.along(x0, x1)
        >>> line.widths
        (1, 8, 2)
        >>> bool(np.allclose(line(0.25), net(x0 + 0.25 * (x1 - x0))))
        True
        """
        if self._graph is not None:
            x0, x1 = check_line(_flat_ends((x0, x1), self.input_shape), self.in_features)
            return Network._from_graph(self._graph.on_slice(x0, (x1 - x0)[None, :]))
        x0, x1 = check_line((x0, x1), self.in_features)
        w, b = self._layers[0]
        first = Layer(*fold(w, b, x0, (x1 - x0)[None, :], self.dtype, "along"))
        return Network._make([first, *self._layers[1:]], self._activations)

    def linear(self):
        """The same weights with every activation the identity: the network's straight-line twin.

        Examples
        --------
        >>> net = Network([1.0], [0.0], [1.0])
        >>> float(net(-2.0)), float(net.linear()(-2.0))
        (0.0, -2.0)
        """
        return self.with_activation("linear")

    def with_activation(self, activation):
        """The same weights with ``activation`` (one for all hidden layers, or one each)."""
        if self._graph is not None:
            acts = _activation_list(activation, self.depth)
            nodes, it = [], iter(acts)
            for n in self._graph.nodes:
                nodes.append(Node(n.name, n.kind, n.inputs, {**n.params, "act": next(it)}, n.shape) if n.kind == "act" else n)
            return Network._from_graph(Graph(nodes))
        return Network._make(self._layers, _activation_list(activation, self.depth))

    def astype(self, dtype):
        """The same network with weights converted to ``dtype`` (float64 or float32)."""
        dtype = as_dtype(dtype)
        if dtype == self.dtype:
            return self
        if self._graph is not None:
            return Network._from_graph(self._graph.astype(dtype))
        layers = [Layer(w.astype(dtype), b.astype(dtype)) for w, b in self._layers]
        for k, (w, b) in enumerate(layers):
            for name, a in (("weight", w), ("bias", b)):
                if not np.isfinite(a).all():
                    raise ValueError(f"layers[{k}].{name} overflows {dtype.name}")
        return Network._make(layers, self._activations)

    def __call__(self, x):
        """The output at ``x``, computed by the numpy reference.

        ``x`` is one input (a number when the network takes one, else a vector of
        ``in_features``) or a batch of them (leading axes).  The output has the
        batch's shape, with a trailing axis of ``out_features`` when there is more
        than one output.

        Examples
        --------
        >>> Network([1.0], [0.0], [1.0])([-1.0, 3.0])
        array([0., 3.])
        """
        x = np.asarray(x)
        n_in = self.in_features
        shape = self.input_shape
        if len(shape) > 1 and x.shape[x.ndim - len(shape) :] == shape:  # inputs shaped as the model takes them
            x = x.reshape((*x.shape[: x.ndim - len(shape)], n_in))
        if n_in == 1:
            batch = x.shape
        else:
            if x.ndim == 0 or x.shape[-1] != n_in:
                raise ValueError(f"x must have {n_in} features in its last axis, got shape {x.shape}")
            batch = x.shape[:-1]
        flat = as_float_array(x.reshape(-1, n_in), "x", self.dtype, ndim=2)
        if flat.size:
            check_inputs(self, flat)
        y = forward(self, flat)
        return y.reshape(batch if self.out_features == 1 else (*batch, self.out_features))

    def _repr_html_(self):
        # Jupyter shows a network as its interactive page (fastrelu.plot.html)
        return provided("repr_html")(self)

    # -- persistence ---------------------------------------------------------------
    def _arrays(self):
        if self._graph is not None:
            return {"activations": np.array(json.dumps([n.params["act"].to_json() for n in self._graph.act_nodes])),
                    **self._graph.to_arrays()}
        arrays = {"activations": np.array(json.dumps([a.to_json() for a in self._activations]))}
        for k, (w, b) in enumerate(self._layers):
            arrays[f"weight_{k}"], arrays[f"bias_{k}"] = w, b
        return arrays

    def save(self, path):
        """Save to a ``.npz`` file (no pickles); ``Network.load`` reads it back.

        Examples
        --------
        >>> import tempfile, os
        >>> net = Network.random([2, 5, 5, 1], seed=1, activation="leaky_relu")
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> net.save(path)
        >>> Network.load(path) == net
        True
        """
        with open_for_writing(path) as f:
            np.savez(f, format=np.array(_GRAPH_FORMAT if self._graph is not None else _FORMAT), **self._arrays())

    @classmethod
    def load(cls, path):
        """Load a network saved by ``Network.save`` (or a result's network from ``SweepResult.save``)."""
        with open_npz(path, "network") as data:
            prefix = "network_" if "network_activations" in data or "network_w1" in data else ""
            return cls._from_npz(data, str(path), prefix)

    @classmethod
    def _from_npz(cls, data, where, prefix=""):
        if prefix + "graph" in data:  # format /3: a graph network
            try:
                return cls._from_graph(Graph.from_arrays(data, prefix))
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(f"{where} is not a readable fastrelu network: {exc}") from None
        if prefix + "w1" in data:  # format /1: one hidden layer of a scalar
            try:
                fields = {k: data[prefix + k] for k in ("w1", "b1", "w2", "b2", "activation")}
            except KeyError as exc:
                raise ValueError(f"{where} is not a fastrelu network: no {exc.args[0]!r} array") from None
            b2 = fields["b2"]
            if b2.size != 1:  # the output bias: one number, however it was shaped
                raise ValueError(f"{where} is not a readable fastrelu network: its 'b2' array must hold one number, got shape {b2.shape}")
            return cls(fields["w1"], fields["b1"], fields["w2"], b2.reshape(-1)[0].item(), str(fields["activation"]))
        if prefix + "activations" not in data:
            raise ValueError(f"{where} is not a fastrelu network: no 'activations' array")
        try:
            acts = [Activation.from_json(s) for s in json.loads(str(data[prefix + "activations"]))]
            layers = [(data[f"{prefix}weight_{k}"], data[f"{prefix}bias_{k}"]) for k in range(len(acts) + 1)]
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{where} is not a readable fastrelu network: {exc}") from None
        return cls.from_layers(layers, acts)

    # -- comparison and display ----------------------------------------------------
    def __eq__(self, other):
        if not isinstance(other, Network):
            return NotImplemented
        if self._graph is not None or other._graph is not None:
            return self._graph is not None and other._graph is not None and self._graph.equals(other._graph)
        return (
            self._activations == other._activations
            and len(self._layers) == len(other._layers)
            and all(a.dtype == b.dtype and np.array_equal(a, b) for la, lb in zip(self._layers, other._layers) for a, b in zip(la, lb))
        )

    __hash__ = None

    def __repr__(self):
        if self._graph is not None:
            kinds = [n.kind for n in self._graph.nodes[1:]]
            return (f"Network(graph of {len(kinds)} nodes: {', '.join(dict.fromkeys(kinds))}; input {self.input_shape}, "
                    f"output {self._graph.output.shape}, dtype={self.dtype.name})")
        try:
            act = repr(self.activation)
        except ValueError:
            act = "[" + ", ".join(str(a) for a in self._activations) + "]"
        if self.widths[0] == 1 and self.depth == 1 and self.out_features == 1:
            return f"Network(hidden={self.hidden}, activation={act}, dtype={self.dtype.name})"
        return f"Network(widths={list(self.widths)}, activation={act}, dtype={self.dtype.name})"


def on_line(net, along):
    """``net`` as a function of one coordinate: itself for a network of a scalar, else
    ``net.along(x0, x1)`` for ``along = (x0, x1)``; with the line as checked (or None)."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a fastrelu.Network, got {type(net).__name__}")
    if along is None:
        if net.in_features != 1:
            raise ValueError(
                f"the network takes {net.in_features} inputs: give along=(x0, x1), the line x0 + t*(x1 - x0) to sweep"
            )
        return net, None
    if net.is_graph:
        along = _flat_ends(along, net.input_shape)
    x0, x1 = check_line(along, net.in_features)
    return net.along(x0, x1), (x0, x1)


def _activation_list(activations, depth):
    """One ``Activation`` per hidden layer from one spec or a sequence of ``depth`` of them."""
    if isinstance(activations, (str, Activation)):
        return [as_activation(activations)] * depth
    if not hasattr(activations, "__len__"):
        raise TypeError(f"activation must be a name, an Activation or a list of them, got {type(activations).__name__}")
    if len(activations) != depth:
        raise ValueError(f"{len(activations)} activations given for {depth} hidden layers")
    return [as_activation(a, f"activations[{k}]") for k, a in enumerate(activations)]


def _flat_ends(along, shape):
    """A line's ends given shaped as the model's input (e.g. images, with or without the
    channel axis), as flat vectors."""
    if isinstance(along, (str, bytes)) or not hasattr(along, "__len__") or len(along) != 2:
        return along
    ends = [np.asarray(v) for v in along]
    size = int(np.prod(shape))
    if len(shape) > 1 and all(e.ndim > 1 and e.size == size for e in ends):  # (1, 8, 8), or an (8, 8) image
        return tuple(e.reshape(-1) for e in ends)
    return along
