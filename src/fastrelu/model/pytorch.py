"""PyTorch models in and out: ``Network.from_torch`` and ``Network.to_torch``.

An ``nn.Sequential`` of ``Linear`` layers and activations is read layer by layer, as
it always was.  Any other module (convolutions, pooling, residual connections,
``torch.cat``, functional calls) is traced with ``torch.fx.symbolic_trace``, not
``torch.export``: fx keeps the ``torch.nn`` modules as nodes (a ``Conv2d`` node is the
module itself, its stride, padding and groups read off it as PyTorch names them),
sees functional calls (``F.relu``, ``torch.add``, ``torch.cat``, ``x.view``), needs
no example input, and fails with a clear error on data-dependent control flow, which
is turned into a ValueError naming where.  ``torch.export`` lowers to ATen
operators (a convolution with transposed flags and output paddings), needs example
inputs and is heavier to import.  The trace becomes a ``fastrelu.model.graph.Graph``,
its node names the fx node names.

torch is imported here, on first use, never by ``import fastrelu``.  A PyTorch
model is never unpickled from a file (``torch.load`` of a module can run code):
convert it in Python with ``Network.from_torch(model)`` and ``save`` the result,
a plain ``.npz`` that the command line reads.
"""

import operator
import traceback

import numpy as np

from .activations import Activation
from .graph import Graph, Node, fold_scales, shape_of

# Modules that are the identity on a batch of vectors, in evaluation.
_IDENTITY = ("Identity", "Dropout", "Flatten")
# Smooth (or otherwise not piecewise-linear) activations, refused with that reason.
_SMOOTH = (
    "GELU", "Tanh", "Sigmoid", "SiLU", "Mish", "ELU", "CELU", "SELU", "Softplus", "Softsign", "Softmax",
    "LogSoftmax", "LogSigmoid", "Tanhshrink", "Hardswish", "Hardsigmoid", "GLU", "Softmin", "RReLU",
)


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - exercised only where torch is missing
        raise ImportError("Network.from_torch and to_torch need PyTorch: pip install 'fastrelu[torch]'") from None
    return torch


def _kind(module):
    """The ``torch.nn`` class name of ``module``, or None for any other class.

    Exact classes only: a subclass (or a class of another library that happens to be
    called ``Linear``) may compute something else in its ``forward``.
    """
    torch = _torch()
    name = type(module).__name__
    return name if type(module) is getattr(torch.nn, name, None) else None


def _leaves(module, path):
    """The modules of a (nested) ``nn.Sequential`` in call order, with their paths."""
    torch = _torch()
    where = path or "the model"
    if module._forward_hooks or module._forward_pre_hooks:
        raise ValueError(f"layer {where} ({type(module).__name__}) has forward hooks, which may change what it computes")
    if type(module) is torch.nn.Sequential:
        for name, child in module.named_children():
            yield from _leaves(child, f"{path}[{name}]" if path else f"[{name}]")
    else:
        yield path or type(module).__name__, module


def _activation_of(module, where):
    """The ``Activation`` a torch activation module is, or None when it is not one."""
    kind = _kind(module)
    if kind == "ReLU":
        return Activation("relu")
    if kind == "LeakyReLU":
        return Activation("leaky_relu", negative_slope=float(module.negative_slope))
    if kind == "PReLU":
        w = module.weight.detach().cpu().double().numpy().copy()
        return Activation("prelu", weight=float(w[0]) if w.shape == (1,) else w)
    if kind == "ReLU6":
        return Activation("relu6")
    if kind == "Hardtanh":
        return Activation("hardtanh", min_val=float(module.min_val), max_val=float(module.max_val))
    if kind in _SMOOTH:
        raise ValueError(
            f"layer {where} ({kind}) is not piecewise linear: fastrelu's analysis is exact only for "
            "networks of Linear layers and piecewise-linear activations (ReLU, LeakyReLU, PReLU, ReLU6, Hardtanh)"
        )
    return None


def _affine_of(module, where, width):
    """``(A, c)`` (float64) of an affine module acting on ``width`` inputs, or None when it is not one."""
    kind = _kind(module)
    if kind == "Linear":
        w = module.weight.detach().cpu().double().numpy()
        b = np.zeros(w.shape[0]) if module.bias is None else module.bias.detach().cpu().double().numpy()
        return w.copy(), b.copy()
    if kind == "BatchNorm1d":
        scale, shift = _batchnorm(module, f"layer {where} (BatchNorm1d)")
        return np.diag(scale), shift
    return None


def _input_width(leaves):
    """The model's input width, from the first module that says it."""
    for _, m in leaves:
        kind = _kind(m)
        if kind == "Linear":
            return int(m.in_features)
        if kind == "BatchNorm1d":
            return int(m.num_features)
        if kind == "PReLU" and m.num_parameters > 1:
            return int(m.num_parameters)
    raise ValueError("the model has no Linear layer, so its input width is unknown")


def _from_sequential(cls, module, *, dtype=None):
    """A ``Network`` from a PyTorch ``nn.Sequential`` of piecewise-linear layers.

    Accepted, in any (nested) ``nn.Sequential``: ``nn.Linear`` (with or without
    bias), ``nn.ReLU``, ``nn.LeakyReLU``, ``nn.PReLU`` (one or per-unit slopes),
    ``nn.ReLU6``, ``nn.Hardtanh``, ``nn.Identity``, ``nn.Dropout`` (the identity,
    as in evaluation), ``nn.Flatten`` (the identity on a batch of vectors) and
    ``nn.BatchNorm1d`` in evaluation mode.  Affine layers in a row (a Linear
    followed by a BatchNorm1d, two Linears) are composed into one, in float64.  A
    model that starts or ends with an activation, or has two in a row, gets identity
    layers where needed.

    Parameters
    ----------
    module : torch.nn.Sequential
    dtype : {None, "float64", "float32"}
        None: float64 if the model's parameters are float64, else float32.

    Raises
    ------
    ValueError
        For any other layer (naming it by its position, e.g. ``[2]`` or ``[1][0]``),
        a smooth activation (GELU, Tanh, Sigmoid, SiLU...: the analysis is exact only
        for piecewise-linear networks), a BatchNorm1d in training mode, or one that is
        no finite affine map (``running_var + eps`` zero, negative or NaN, e.g. ``eps=0``
        with a feature of zero running variance).
    TypeError
        When ``module`` is not an ``nn.Sequential``.

    Examples
    --------
    >>> import torch, fastrelu  # doctest: +SKIP
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8).eval(),
    ...                             torch.nn.LeakyReLU(0.1), torch.nn.Linear(8, 2))  # doctest: +SKIP
    >>> fastrelu.Network.from_torch(model).widths  # doctest: +SKIP
    (4, 8, 2)
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Sequential) or _kind(module) is None:
        raise TypeError(
            f"Network.from_torch takes a torch.nn.Sequential, got {type(module).__name__}: "
            "fastrelu reads the layers in order, which only a Sequential fixes"
        )
    leaves = list(_leaves(module, ""))
    if dtype is None:
        params = [p for p in module.parameters()]
        dtype = "float64" if params and all(p.dtype == torch.float64 for p in params) else "float32"
    width = _input_width(leaves)
    layers, activations = [], []
    pending = None  # the affine map (A, c) since the last activation; None is the identity
    for where, m in leaves:
        kind = _kind(m)
        if kind in _IDENTITY:
            continue
        affine = _affine_of(m, where, width)
        if affine is not None:
            a, c = affine
            if a.shape[1] != width:
                raise ValueError(f"layer {where} ({kind}) takes {a.shape[1]} inputs but receives {width}")
            pending = (a, c) if pending is None else (a @ pending[0], a @ pending[1] + c)
            width = a.shape[0]
            continue
        act = _activation_of(m, where)
        if act is None:
            kind = kind or f"{type(m).__module__}.{type(m).__name__}, not a torch.nn class"
            raise ValueError(
                f"layer {where} ({kind}) is not supported: fastrelu reads Linear, BatchNorm1d, ReLU, LeakyReLU, "
                "PReLU, ReLU6, Hardtanh, Identity, Dropout and Flatten"
            )
        if act.name == "prelu" and np.ndim(act.params["weight"]) == 1 and len(act.params["weight"]) != width:
            raise ValueError(f"layer {where} (PReLU) has {len(act.params['weight'])} slopes for {width} units")
        layers.append(pending if pending is not None else (np.eye(width), np.zeros(width)))
        activations.append(act)
        pending = None
    if not activations:  # an affine model: one identity-activated hidden layer
        activations.append(Activation("linear"))
        layers.append(pending)
        pending = None
    layers.append(pending if pending is not None else (np.eye(width), np.zeros(width)))
    return cls.from_layers(layers, activations, dtype=dtype)


def to_torch(net):
    """The network as a ``torch.nn.Sequential`` in the network's dtype (see ``Network.to_torch``),
    or for a graph network a module that runs its nodes in order.

    The ``"linear"`` activation becomes ``nn.Identity``, so ``from_torch`` reads such a
    model back with its affine layers composed: the same function, fewer layers.
    """
    torch = _torch()
    if net.is_graph:
        return _graph_module(torch)(net.graph)
    tdtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules = []
    for k, (w, b) in enumerate(net.layers):
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=tdtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.array(w)))
            lin.bias.copy_(torch.from_numpy(np.array(b)))
        modules.append(lin)
        if k < net.depth:
            modules.append(_torch_activation(net.activations[k], w.shape[0], tdtype))
    return torch.nn.Sequential(*modules)


def _torch_activation(act, width, tdtype):
    torch = _torch()
    p = act.params
    if act.name == "relu":
        return torch.nn.ReLU()
    if act.name == "linear":
        return torch.nn.Identity()
    if act.name == "leaky_relu":
        return torch.nn.LeakyReLU(p["negative_slope"])
    if act.name == "relu6":
        return torch.nn.ReLU6()
    if act.name == "hardtanh":
        return torch.nn.Hardtanh(p["min_val"], p["max_val"])
    slopes = np.array(np.atleast_1d(p["weight"]), np.float64)
    prelu = torch.nn.PReLU(num_parameters=slopes.shape[0], dtype=tdtype)
    with torch.no_grad():
        prelu.weight.copy_(torch.from_numpy(slopes))
    return prelu


# -- any module, traced with torch.fx ---------------------------------------------------------
# Modules that are kept as a graph, which the layer-by-layer reading of a Sequential does not take.
_GRAPH_MODULES = (
    "Conv1d", "Conv2d", "BatchNorm2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "MaxPool1d", "MaxPool2d", "Unflatten",
)
_DROPOUTS = ("Identity", "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout")


def from_torch(cls, module, *, input_shape=None, dtype=None):
    """A ``Network`` from a PyTorch module built of piecewise-linear parts.

    An ``nn.Sequential`` of ``Linear``, ``BatchNorm1d``, activations, ``Identity``,
    ``Dropout`` and ``Flatten`` is read layer by layer (``_from_sequential``); any other
    module is traced with ``torch.fx.symbolic_trace`` (see the module's docstring for why
    fx) into a graph of these operations:

    - affine: ``Linear``, ``Conv1d``/``Conv2d`` (stride, padding as a number, a tuple,
      ``"same"`` or ``"valid"``, dilation, groups, bias or not; ``padding_mode="zeros"``
      only), ``BatchNorm1d``/``BatchNorm2d`` in eval mode (folded into the Linear or
      Conv before it where that one feeds only it), ``AvgPool1d/2d``,
      ``AdaptiveAvgPool1d/2d``, ``Flatten``/``Unflatten``, ``view``/``reshape``/
      ``flatten``/``permute``/``transpose``, ``+``/``-``/``torch.add``/``torch.sub`` of
      branches or constants, ``torch.cat``, multiplication or division by a constant,
      ``Identity`` and ``Dropout`` (dropped, as in eval);
    - piecewise linear: ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ReLU6``, ``Hardtanh`` as
      modules and as functions (``F.relu``, ``torch.relu``, ``F.leaky_relu``,
      ``F.hardtanh``, ``F.relu6``, ``torch.clamp`` with constant bounds), and
      ``MaxPool1d/2d`` (``F.max_pool1d/2d``).

    Parameters
    ----------
    module : torch.nn.Module
    input_shape : tuple of int, optional
        The input's shape without the batch axis; needed where the first operation does
        not fix it (a convolution: ``(channels, height, width)``).
    dtype : {None, "float64", "float32"}
        None: float64 if the model's parameters are float64, else float32.

    Raises
    ------
    ValueError
        Naming the node (its fx name) and why: an operation that is not piecewise
        linear (GELU, softmax, a product of two branches as in attention), one fastrelu
        does not read, a module in training mode, a trace that fails (data-dependent
        control flow), a missing ``input_shape``.
    TypeError
        When ``module`` is not a ``torch.nn.Module``.

    Examples
    --------
    >>> import torch, fastrelu  # doctest: +SKIP
    >>> class Res(torch.nn.Module):  # doctest: +SKIP
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = torch.nn.Linear(4, 4)
    ...     def forward(self, x):
    ...         return x + torch.relu(self.fc(x))
    >>> [n.kind for n in fastrelu.Network.from_torch(Res()).nodes]  # doctest: +SKIP
    ['input', 'dense', 'act', 'add']
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module) or type(module).forward is torch.nn.Module.forward:
        raise TypeError(
            f"Network.from_torch takes a torch.nn.Sequential, or any torch.nn.Module whose forward torch.fx can trace; "
            f"got {type(module).__name__}{', which has no forward' if isinstance(module, torch.nn.Module) else ''}"
        )
    if input_shape is not None:
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (input_shape,)
        if not hasattr(input_shape, "__len__") or not input_shape or any(
                isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in input_shape):
            raise ValueError(f"input_shape must be a tuple of positive ints (without the batch axis), got {input_shape!r}")
        input_shape = tuple(int(d) for d in input_shape)
    if dtype is None:  # the parameters' (or, without any, the floating buffers')
        params = list(module.parameters()) or [b for b in module.buffers() if b.is_floating_point()]
        dtype = "float64" if params and all(p.dtype == torch.float64 for p in params) else "float32"
    if type(module) is torch.nn.Sequential and (input_shape is None or len(input_shape) == 1):
        leaves = list(_leaves(module, ""))
        if not any(_kind(m) in _GRAPH_MODULES for _, m in leaves):
            net = _from_sequential(cls, module, dtype=dtype)
            if input_shape is not None and input_shape != (net.in_features,):
                raise ValueError(f"input_shape {input_shape} does not fit the model, which takes {net.in_features} inputs")
            return net
    if _GRAPH_MODULE and type(module) is _GRAPH_MODULE[0]:  # what to_torch gave: its nodes, with its buffers' values
        graph = module.to_graph()
    else:
        graph = _Tracer(torch, module, input_shape).graph()
    return cls._from_graph(graph.astype(dtype))


def _where(exc):
    """The user's line where a trace failed: the deepest frame outside torch."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/torch/" not in f.filename.replace("\\", "/")]
    if not frames:
        return ""
    f = frames[-1]
    return f" in {f.name} ({f.filename.rsplit('/', 1)[-1]}, line {f.lineno}: {f.line})"


_BATCH = object()  # x.size(0), x.shape[0]: the batch axis, as view/reshape take it


class _Tracer:
    """One fx trace turned into graph nodes (``graph``)."""

    def __init__(self, torch, module, input_shape):
        self.torch, self.module, self.input_shape = torch, module, input_shape
        self.F = torch.nn.functional
        self.nodes, self.shapes, self.env = [], {}, {}

    def graph(self):
        torch = self.torch
        try:
            gm = torch.fx.symbolic_trace(self.module)
        except Exception as exc:  # TraceError, or a Proxy used as a bool, an int, an iterator
            raise ValueError(
                f"the model could not be traced by torch.fx{_where(exc)}: {type(exc).__name__}: {exc}. fastrelu reads "
                "models whose forward does the same for every input (no if or loop on the values of tensors)"
            ) from None
        self.modules = dict(gm.named_modules())
        fx_nodes = list(gm.graph.nodes)
        placeholders = [n for n in fx_nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise ValueError(f"the model's forward takes {len(placeholders)} inputs ({[n.name for n in placeholders]}); fastrelu reads models of one input")
        for n in fx_nodes:
            if n.op == "placeholder":
                self._add(n.name, "input", [], {}, self._input_shape(n))
                self.env[n] = n.name
            elif n.op == "output":
                out = n.args[0]
                if not isinstance(out, torch.fx.Node) or not isinstance(self.env.get(out), str):
                    raise ValueError("the model's forward returns something other than one tensor; fastrelu reads models of one output")
                last = self.env[out]
            elif n.op == "get_attr":
                self.env[n] = self._attr(n.target)
            elif n.op == "call_module":
                self.env[n] = self._module(n)
            elif n.op == "call_function":
                self.env[n] = self._function(n)
            elif n.op == "call_method":
                self.env[n] = self._method(n)
        nodes = self._needed(last)
        return Graph(fold_scales(nodes))

    def _needed(self, last):
        """The nodes the output depends on, in order, the output last."""
        by = {n.name: n for n in self.nodes}
        keep, todo = set(), [last]
        while todo:
            name = todo.pop()
            if name not in keep:
                keep.add(name)
                todo.extend(by[name].inputs)
        keep.add(self.nodes[0].name)
        nodes = [n for n in self.nodes if n.name in keep]
        if nodes[-1].name != last:  # the output is an earlier node: nothing after it is needed
            nodes = [n for n in nodes if n.name != last] + [by[last]]
        if len(nodes) == 1:
            raise ValueError("the model returns its input unchanged: there is nothing to analyse")
        return nodes

    # -- helpers --------------------------------------------------------------------------
    def _add(self, name, kind, inputs, params, shape=None):
        if shape is None:
            try:
                shape = shape_of(kind, [self.shapes[i] for i in inputs], params, name)
            except ValueError as exc:
                if getattr(self, "layer", None) is None:
                    raise
                raise ValueError(f"node {name!r}, {self.layer} is not supported here: {exc}") from None
        self.nodes.append(Node(name, kind, inputs, params, shape))
        self.shapes[name] = tuple(shape)
        return name

    def _np(self, t):
        return t.detach().cpu().double().numpy().copy()

    def _attr(self, target):
        obj = self.module
        for part in target.split("."):
            obj = getattr(obj, part)
        return self._np(obj) if isinstance(obj, self.torch.Tensor) else obj

    def _input_shape(self, placeholder):
        if self.input_shape is not None:
            return self.input_shape
        for user in placeholder.users:
            if user.op == "call_module":
                m = self.modules[user.target]
                kind = _kind(m)
                if kind == "Linear":
                    return (int(m.in_features),)
                if kind == "BatchNorm1d":
                    return (int(m.num_features),)
                if kind in _DROPOUTS or kind == "Flatten":
                    continue
                raise ValueError(f"input_shape is needed: the model's first operation (node {user.name!r}, {type(m).__name__}) "
                                 "does not fix the input's shape; give input_shape=(channels, height, width) without the batch axis")
            if user.op == "call_function" and user.target is self.F.linear:
                w = user.args[1] if len(user.args) > 1 else user.kwargs.get("weight")
                if isinstance(w, self.torch.fx.Node) and w.op == "get_attr":
                    return (int(self._attr(w.target).shape[1]),)
        raise ValueError("input_shape is needed: the model's first operation does not fix the input's shape; "
                         "give input_shape without the batch axis")

    def _tensor(self, a, where):
        v = self.env.get(a) if isinstance(a, self.torch.fx.Node) else None
        if not isinstance(v, str):
            raise ValueError(f"node {where!r}: expects a tensor computed from the input")
        return v

    def _value(self, a):
        """An argument: a graph node's name (a tensor), the batch marker, or a Python/numpy constant."""
        if isinstance(a, self.torch.fx.Node):
            return self.env[a]
        if isinstance(a, (list, tuple)):
            return type(a)(self._value(x) for x in a)
        if isinstance(a, self.torch.Tensor):
            return self._np(a)
        return a

    def _unsupported(self, name, what, why=None):
        if why is None:
            why = ("fastrelu reads Linear, Conv1d/2d, BatchNorm1d/2d, AvgPool, AdaptiveAvgPool, MaxPool1d/2d, "
                   "Flatten, view/reshape/permute, +, -, torch.cat, constant products, and the activations "
                   "ReLU, LeakyReLU, PReLU, ReLU6, Hardtanh (and their functions)")
        raise ValueError(f"node {name!r} ({what}) is not supported: {why}")

    # -- modules --------------------------------------------------------------------------
    def _module(self, n):
        m = self.modules[n.target]
        # a shape that does not fit names the layer as a Sequential's position reads (see _add)
        self.layer = f"layer {''.join(f'[{p}]' for p in n.target.split('.'))} ({type(m).__name__})"
        try:
            return self._module_node(n)
        finally:
            self.layer = None

    def _module_node(self, n):
        m = self.modules[n.target]
        kind = _kind(m)
        where = f"{n.target}, {type(m).__name__}"
        if m._forward_hooks or m._forward_pre_hooks:
            raise ValueError(f"node {n.name!r} ({where}) has forward hooks, which may change what it computes")
        x = self._tensor(n.args[0], n.name) if n.args else None
        if kind in _DROPOUTS:
            return x
        if kind == "Linear":
            return self._add(n.name, "dense", [x], {"weight": self._np(m.weight), "bias": None if m.bias is None else self._np(m.bias)})
        if kind in ("Conv1d", "Conv2d"):
            return self._conv(n.name, where, x, self._np(m.weight), None if m.bias is None else self._np(m.bias), m.stride,
                              m.padding, m.dilation, m.groups, m.padding_mode)
        if kind in ("BatchNorm1d", "BatchNorm2d"):
            scale, shift = _batchnorm(m, f"node {n.name!r} ({n.target}) ({kind})")
            s = self.shapes[x]
            extra = (1,) * (len(s) - 1)
            return self._add(n.name, "scale", [x], {"scale": scale.reshape((-1, *extra)), "shift": shift.reshape((-1, *extra))})
        if kind in ("AvgPool1d", "AvgPool2d"):
            if m.ceil_mode or getattr(m, "divisor_override", None):
                self._unsupported(n.name, where, "ceil_mode=True and divisor_override are not read")
            return self._avgpool(n.name, x, m.kernel_size, m.stride, m.padding, m.count_include_pad, int(kind[-2]))
        if kind in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d"):
            return self._adaptive(n.name, x, m.output_size, int(kind[-2]))
        if kind in ("MaxPool1d", "MaxPool2d"):
            if m.ceil_mode or m.return_indices:
                self._unsupported(n.name, where, "ceil_mode=True and return_indices=True are not read")
            return self._maxpool(n.name, x, m.kernel_size, m.stride, m.padding, m.dilation, int(kind[-2]))
        if kind == "Flatten":
            return self._flatten(n.name, x, m.start_dim, m.end_dim)
        if kind == "Unflatten":
            s = list(self.shapes[x])
            d = m.dim - 1 if m.dim > 0 else len(s) + m.dim
            if m.dim == 0 or not 0 <= d < len(s):
                self._unsupported(n.name, where, "it unflattens the batch axis")
            return self._reshape(n.name, x, [*s[:d], *m.unflattened_size, *s[d + 1 :]])
        if kind is not None and kind in ("ReLU", "LeakyReLU", "PReLU", "ReLU6", "Hardtanh") or kind in _SMOOTH:
            try:
                act = _activation_of(m, n.name)
            except ValueError as exc:
                why = str(exc).split("is not piecewise linear: ", 1)[1]
                raise ValueError(f"node {n.name!r} ({n.target}, {kind}) is not piecewise linear: {why}") from None
            return self._act(n.name, x, act)
        self._unsupported(n.name, where if kind else f"{n.target}, {type(m).__module__}.{type(m).__name__}, not a torch.nn class")

    def _act(self, name, x, act):
        shape = self.shapes[x]
        if act.name == "prelu" and np.ndim(act.params["weight"]) == 1:
            w = np.asarray(act.params["weight"])
            ch = shape[0] if len(shape) > 1 else shape[-1]
            if len(w) != ch:
                raise ValueError(f"node {name!r} (PReLU) has {len(w)} slopes for {ch} channels")
            per = np.broadcast_to(w.reshape((-1,) + (1,) * (len(shape) - 1)), shape) if len(shape) > 1 else w
            act = Activation("prelu", weight=np.ascontiguousarray(per).reshape(-1))
        return self._add(name, "act", [x], {"act": act})

    def _conv(self, name, where, x, w, b, stride, padding, dilation, groups, padding_mode="zeros"):
        nd = w.ndim - 2
        if padding_mode != "zeros":
            self._unsupported(name, where, f"padding_mode={padding_mode!r}: its padding copies the input's edges; fastrelu's "
                                           "convolutions pad with zeros only (padding_mode='zeros')")
        stride, dilation = _tuple(stride, nd), _tuple(dilation, nd)
        k = w.shape[2:]
        if isinstance(padding, str):
            if padding == "valid":
                pads = ((0, 0),) * nd
            elif padding == "same":
                if any(s != 1 for s in stride):
                    self._unsupported(name, where, "padding='same' with a stride (PyTorch refuses it too)")
                # PyTorch's split of the total padding: the smaller half before
                pads = tuple((d * (kk - 1) // 2, d * (kk - 1) - d * (kk - 1) // 2) for d, kk in zip(dilation, k))
            else:
                self._unsupported(name, where, f"padding={padding!r}")
        else:
            pads = tuple((p, p) for p in _tuple(padding, nd))
        params = {"weight": w, "bias": b, "stride": stride, "padding": pads, "dilation": dilation, "groups": int(groups), "ndim": nd}
        return self._add(name, "conv", [x], params)

    def _avgpool(self, name, x, kernel, stride, padding, count_include_pad, nd):
        s = self.shapes[x]
        kernel = _tuple(kernel, nd)
        stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, nd)
        padding = _tuple(padding, nd)
        mats = {}
        for i in range(nd):
            n, k, st, p = s[1 + i], kernel[i], stride[i], padding[i]
            out = (n + 2 * p - k) // st + 1
            m = np.zeros((out, n))
            for o in range(out):
                a, e = o * st - p, o * st - p + k
                lo, hi = max(a, 0), min(e, n)
                m[o, lo:hi] = 1.0 / (k if count_include_pad else hi - lo)
            mats[f"mat{i}"] = m
        if len(s) != nd + 1:
            raise ValueError(f"node {name!r} (avgpool {nd}-D) takes (channels, ...) of {nd + 1} axes, gets shape {s}")
        return self._add(name, "avgpool", [x], {**mats, "ndim": nd})

    def _adaptive(self, name, x, output_size, nd):
        s = self.shapes[x]
        outs = _tuple(output_size, nd)
        mats = {}
        for i in range(nd):
            n = s[1 + i]
            o_n = n if outs[i] is None else int(outs[i])
            m = np.zeros((o_n, n))
            for o in range(o_n):
                a, e = (o * n) // o_n, -((-(o + 1) * n) // o_n)  # PyTorch's windows: floor and ceil
                m[o, a:e] = 1.0 / (e - a)
            mats[f"mat{i}"] = m
        return self._add(name, "avgpool", [x], {**mats, "ndim": nd})

    def _maxpool(self, name, x, kernel, stride, padding, dilation, nd):
        kernel = _tuple(kernel, nd)
        stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, nd)
        params = {"kernel": kernel, "stride": stride, "padding": tuple((p, p) for p in _tuple(padding, nd)),
                  "dilation": _tuple(dilation, nd), "ndim": nd}
        return self._add(name, "maxpool", [x], params)

    def _reshape(self, name, x, shape):
        shape = [int(d) for d in shape]
        size = int(np.prod(self.shapes[x]))
        if shape.count(-1) > 1:
            raise ValueError(f"node {name!r}: a reshape with more than one -1")
        if -1 in shape:
            rest = int(np.prod([d for d in shape if d != -1]))
            shape[shape.index(-1)] = size // rest if rest else 0
        if tuple(shape) == self.shapes[x]:
            return x
        return self._add(name, "reshape", [x], {"to": tuple(shape)})

    def _flatten(self, name, x, start, end):
        s = self.shapes[x]
        nd = len(s) + 1  # with the batch axis
        start, end = start % nd, end % nd
        if start == 0:
            self._unsupported(name, "flatten", "it flattens the batch axis into the features (start_dim=0)")
        start, end = start - 1, end - 1
        return self._reshape(name, x, [*s[:start], int(np.prod(s[start : end + 1])), *s[end + 1 :]])

    def _view(self, name, x, dims):
        if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
            dims = dims[0]
        dims = list(dims)
        if not dims or not (dims[0] is _BATCH or dims[0] == -1):
            self._unsupported(name, "view/reshape", "its first axis is not the batch's (write x.view(x.size(0), ...) or x.view(-1, ...))")
        rest = dims[1:]
        if dims[0] == -1 and -1 in rest:
            self._unsupported(name, "view/reshape", "the batch axis is -1 and so is another")
        if any(d is _BATCH or not isinstance(d, (int, np.integer)) for d in rest):
            self._unsupported(name, "view/reshape", "its shape depends on the input's values or batch")
        return self._reshape(name, x, rest)

    # -- functions and methods ------------------------------------------------------------
    def _arith(self, name, op, a, b, alpha=1.0):
        """``a op b`` for op in +, -, *, /: branches, constants."""
        ta, tb = isinstance(a, str), isinstance(b, str)
        if op in ("add", "sub"):
            sign = alpha if op == "add" else -alpha
            if ta and tb:
                return self._add(name, "add", [a, b], {"coeffs": np.array([1.0, sign]), "const": None})
            t, c, first = (a, b, True) if ta else (b, a, False)
            if not (ta or tb):
                raise ValueError(f"node {name!r}: adds two constants")
            c = np.asarray(c, np.float64)
            if first:
                return self._add(name, "add", [t], {"coeffs": np.array([1.0]), "const": sign * c})
            return self._add(name, "add", [t], {"coeffs": np.array([sign]), "const": c})
        if ta and tb:
            self._unsupported(name, f"{'product' if op == 'mul' else 'quotient'} of two tensors",
                              "a product of two branches (as in attention or gating) is not piecewise linear")
        t, c = (a, b) if ta else (b, a)
        if op == "div" and not ta:
            self._unsupported(name, "division by a tensor", "1/x is not piecewise linear")
        c = np.asarray(c, np.float64)
        if op == "div":
            c = 1.0 / c
        return self._add(name, "scale", [t], {"scale": c, "shift": None})

    def _clamp(self, name, x, lo, hi):
        if isinstance(lo, str) or isinstance(hi, str) or np.ndim(lo) or np.ndim(hi):
            self._unsupported(name, "clamp", "only constant scalar bounds are read")
        if lo is not None and hi is None and lo == 0:
            return self._act(name, x, Activation("relu"))
        if lo == 0 and hi == 6:
            return self._act(name, x, Activation("relu6"))
        if lo is not None and hi is not None and lo < hi:
            return self._act(name, x, Activation("hardtanh", min_val=float(lo), max_val=float(hi)))
        self._unsupported(name, "clamp", "clamp is read with min=0 (ReLU) or with both bounds (Hardtanh); "
                                         f"got min={lo}, max={hi}")

    def _function(self, n):
        torch, F = self.torch, self.F
        f = n.target
        args = [self._value(a) for a in n.args]
        kw = {k: self._value(v) for k, v in n.kwargs.items()}
        fname = getattr(f, "__name__", str(f))

        def arg(i, key, default):
            return args[i] if len(args) > i else kw.get(key, default)

        if f is F.linear:
            w, b = arg(1, "weight", None), arg(2, "bias", None)
            if not isinstance(w, np.ndarray) or not (b is None or isinstance(b, np.ndarray)):
                self._unsupported(n.name, "F.linear", "its weight and bias must be the model's constants, not computed from the input")
            return self._add(n.name, "dense", [self._tensor(n.args[0], n.name)], {"weight": w, "bias": b})
        if f in (F.relu, torch.relu):
            return self._act(n.name, self._tensor(n.args[0], n.name), Activation("relu"))
        if f is F.relu6:
            return self._act(n.name, self._tensor(n.args[0], n.name), Activation("relu6"))
        if f is F.leaky_relu:
            return self._act(n.name, self._tensor(n.args[0], n.name), Activation("leaky_relu", negative_slope=float(arg(1, "negative_slope", 0.01))))
        if f is F.hardtanh:
            return self._act(n.name, self._tensor(n.args[0], n.name),
                             Activation("hardtanh", min_val=float(arg(1, "min_val", -1.0)), max_val=float(arg(2, "max_val", 1.0))))
        if f in (torch.clamp, torch.clip):
            return self._clamp(n.name, self._tensor(n.args[0], n.name), arg(1, "min", None), arg(2, "max", None))
        if f in (F.dropout, F.dropout1d, F.dropout2d):
            return self._tensor(n.args[0], n.name)
        if f in (operator.add, torch.add, operator.sub, torch.sub, operator.mul, torch.mul, operator.truediv, torch.div):
            op = {operator.add: "add", torch.add: "add", operator.sub: "sub", torch.sub: "sub", operator.mul: "mul",
                  torch.mul: "mul", operator.truediv: "div", torch.div: "div"}[f]
            if f is torch.div and kw.get("rounding_mode") is not None:
                self._unsupported(n.name, "div with rounding", "rounding is not piecewise linear")
            return self._arith(n.name, op, args[0], args[1], float(kw.get("alpha", 1.0)))
        if f is operator.neg:
            return self._arith(n.name, "mul", args[0], -1.0)
        if f in (torch.cat, torch.concat):
            tensors = [self._tensor(a, n.name) for a in n.args[0]]
            dim = arg(1, "dim", 0)
            nd = len(self.shapes[tensors[0]]) + 1
            dim = dim % nd
            if dim == 0:
                self._unsupported(n.name, "torch.cat", "it concatenates along the batch axis")
            return self._add(n.name, "cat", tensors, {"axis": dim - 1})
        if f is torch.flatten:
            return self._flatten(n.name, self._tensor(n.args[0], n.name), arg(1, "start_dim", 0), arg(2, "end_dim", -1))
        if f in (F.max_pool1d, F.max_pool2d):
            if arg(5, "ceil_mode", False) or arg(6, "return_indices", False):
                self._unsupported(n.name, fname, "ceil_mode=True and return_indices=True are not read")
            nd = 1 if f is F.max_pool1d else 2
            return self._maxpool(n.name, self._tensor(n.args[0], n.name), arg(1, "kernel_size", None), arg(2, "stride", None),
                                 arg(3, "padding", 0), arg(4, "dilation", 1), nd)
        if f in (F.avg_pool1d, F.avg_pool2d):
            if arg(4, "ceil_mode", False) or arg(6, "divisor_override", None):
                self._unsupported(n.name, fname, "ceil_mode=True and divisor_override are not read")
            nd = 1 if f is F.avg_pool1d else 2
            return self._avgpool(n.name, self._tensor(n.args[0], n.name), arg(1, "kernel_size", None), arg(2, "stride", None),
                                 arg(3, "padding", 0), arg(5, "count_include_pad", True), nd)
        if f in (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d):
            nd = 1 if f is F.adaptive_avg_pool1d else 2
            return self._adaptive(n.name, self._tensor(n.args[0], n.name), arg(1, "output_size", None), nd)
        if f is operator.getitem:
            base, key = args
            if isinstance(base, tuple) and all(isinstance(d, (int, np.integer)) or d is _BATCH for d in base):
                return base[key]
            self._unsupported(n.name, "indexing", "indexing or slicing a tensor is not read")
        if f is getattr and args[1] == "shape":
            return (_BATCH, *self.shapes[self._tensor(n.args[0], n.name)])
        if fname in ("gelu", "tanh", "sigmoid", "softmax", "log_softmax", "silu", "elu", "softplus", "mish", "selu", "exp", "log"):
            self._unsupported(n.name, fname, f"{fname} is not piecewise linear: fastrelu's analysis is exact only for piecewise-linear networks")
        if fname in ("matmul", "bmm", "scaled_dot_product_attention", "einsum", "multi_head_attention_forward"):
            self._unsupported(n.name, fname, "a product of two tensors computed from the input (as attention) is not piecewise linear")
        self._unsupported(n.name, f"function {fname}")

    def _method(self, n):
        name, m = n.name, n.target
        args = [self._value(a) for a in n.args]
        kw = {k: self._value(v) for k, v in n.kwargs.items()}
        if m == "size":
            shape = (_BATCH, *self.shapes[self._tensor(n.args[0], name)])
            dim = args[1] if len(args) > 1 else kw.get("dim")
            return shape if dim is None else shape[dim]
        x = self._tensor(n.args[0], name)
        if m in ("view", "reshape"):
            return self._view(name, x, args[1:] or [kw.get("shape")])
        if m == "flatten":
            return self._flatten(name, x, args[1] if len(args) > 1 else kw.get("start_dim", 0), args[2] if len(args) > 2 else kw.get("end_dim", -1))
        if m == "permute":
            dims = args[1:] if len(args) > 2 or not isinstance(args[1], (list, tuple)) else args[1]
            nd = len(self.shapes[x]) + 1
            dims = [d % nd for d in dims]
            if dims[0] != 0:
                self._unsupported(name, "permute", "it moves the batch axis")
            perm = tuple(d - 1 for d in dims[1:])
            return self._add(name, "permute", [x], {"perm": perm})
        if m == "transpose":
            nd = len(self.shapes[x]) + 1
            a, b = args[1] % nd, args[2] % nd
            if 0 in (a, b):
                self._unsupported(name, "transpose", "it moves the batch axis")
            perm = list(range(nd - 1))
            perm[a - 1], perm[b - 1] = perm[b - 1], perm[a - 1]
            return self._add(name, "permute", [x], {"perm": tuple(perm)})
        if m in ("contiguous", "clone", "detach"):
            return x
        if m in ("relu", "relu_"):
            return self._act(name, x, Activation("relu"))
        if m in ("clamp", "clip", "clamp_min"):
            lo = args[1] if len(args) > 1 else kw.get("min")
            hi = None if m == "clamp_min" else (args[2] if len(args) > 2 else kw.get("max"))
            return self._clamp(name, x, lo, hi)
        if m in ("add", "sub", "mul", "div"):
            return self._arith(name, m, x, args[1], float(kw.get("alpha", 1.0)))
        if m == "neg":
            return self._arith(name, "mul", x, -1.0)
        if m in ("tanh", "sigmoid", "softmax", "exp", "log"):
            self._unsupported(name, f"method {m}", f"{m} is not piecewise linear")
        self._unsupported(name, f"method {m}")


def _tuple(v, nd):
    if isinstance(v, (list, tuple)):
        if len(v) == 1 and nd > 1:
            return tuple(int(v[0]) for _ in range(nd))
        return tuple(None if x is None else int(x) for x in v)
    return (None,) * nd if v is None else (int(v),) * nd


def _batchnorm(module, label):
    """``(scale, shift)`` (float64, per channel) of an eval BatchNorm; refused, ``label``
    (the layer or node and its kind) named, in training mode or where it is no finite
    affine map."""
    if module.training:
        raise ValueError(f"{label} is in training mode: call model.eval() so it uses its running statistics")
    if module.running_mean is None:
        raise ValueError(f"{label} has no running statistics (track_running_stats=False), so it is not a fixed affine map")
    mean = module.running_mean.detach().cpu().double().numpy()
    var = module.running_var.detach().cpu().double().numpy() + float(module.eps)
    # a zero (eps=0 and a constant feature), negative or NaN variance, or a scale that
    # overflows, is no finite affine map: refused below, naming the layer, not warned about
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        scale = 1.0 / np.sqrt(var)
        if module.affine:
            scale = scale * module.weight.detach().cpu().double().numpy()
            shift = module.bias.detach().cpu().double().numpy() - mean * scale
        else:
            shift = -mean * scale
    bad = np.flatnonzero(~(np.isfinite(scale) & np.isfinite(shift)))
    if bad.size:
        i = int(bad[0])
        why = (f"running_var + eps = {var[i]:g} for feature {i}, and 1/sqrt of it is not a finite number"
               if not var[i] > 0 else f"its scale or shift for feature {i} is not finite in float64")
        raise ValueError(f"{label} is not a finite affine map: {why}")
    return scale, shift


_GRAPH_MODULE = []


def _graph_module(torch):
    """The ``nn.Module`` class that runs a graph's nodes in order (made once, torch being optional)."""
    if _GRAPH_MODULE:
        return _GRAPH_MODULE[0]
    F = torch.nn.functional

    class FastreluGraph(torch.nn.Module):
        """A fastrelu graph network as a PyTorch module: its nodes, run in order."""

        def __init__(self, graph):
            super().__init__()
            self.graph_nodes = graph.nodes
            tdtype = torch.float64 if graph.dtype == np.float64 else torch.float32
            for k, n in enumerate(graph.nodes):
                for key, v in n.params.items():
                    if isinstance(v, np.ndarray):
                        self.register_buffer(f"n{k}_{key}", torch.tensor(v, dtype=tdtype))
                    elif key == "act":
                        alpha = v.kernel_form(n.size)[0]
                        self.register_buffer(f"n{k}_alpha", torch.tensor(alpha.reshape(n.shape), dtype=tdtype))

        def to_graph(self):
            """The graph, its arrays read from the buffers (as they are now), in float64."""
            nodes = []
            for k, n in enumerate(self.graph_nodes):
                p = {key: getattr(self, f"n{k}_{key}").detach().cpu().double().numpy().copy() if isinstance(v, np.ndarray) else v
                     for key, v in n.params.items()}
                nodes.append(Node(n.name, n.kind, n.inputs, p, n.shape))
            return Graph(nodes)

        def forward(self, x):
            nodes = self.graph_nodes
            vals = {nodes[0].name: x.reshape(x.shape[0], *nodes[0].shape)}
            for k, n in enumerate(nodes[1:], start=1):
                xs = [vals[i] for i in n.inputs]
                p = {key: getattr(self, f"n{k}_{key}") if isinstance(v, np.ndarray) else v for key, v in n.params.items()}
                vals[n.name] = self._run(k, n, p, xs)
            return vals[nodes[-1].name]

        def _run(self, k, n, p, xs):
            x = xs[0]
            if n.kind == "dense":
                return F.linear(x, p["weight"], p.get("bias"))
            if n.kind == "conv":
                pads = [q for pair in reversed(p["padding"]) for q in pair]
                conv = F.conv1d if p["ndim"] == 1 else F.conv2d
                return conv(F.pad(x, pads), p["weight"], p.get("bias"), p["stride"], 0, p["dilation"], p["groups"])
            if n.kind == "avgpool":
                y = torch.matmul(x, p[f"mat{p['ndim'] - 1}"].T)
                return torch.matmul(p["mat0"], y) if p["ndim"] == 2 else y
            if n.kind == "scale":
                y = x * p["scale"]
                return y if p.get("shift") is None else y + p["shift"]
            if n.kind == "reshape":
                return x.reshape(x.shape[0], *n.shape)
            if n.kind == "permute":
                return x.permute(0, *(i + 1 for i in p["perm"]))
            if n.kind == "add":
                y = sum(float(c) * v for c, v in zip(p["coeffs"].tolist(), xs))
                return y if p.get("const") is None else y + p["const"]
            if n.kind == "cat":
                return torch.cat(xs, dim=p["axis"] + 1)
            if n.kind == "embed":
                return torch.tensordot(x, p["directions"], dims=([1], [0])) + p["origin"]
            if n.kind == "maxpool":
                pool = F.max_pool1d if p["ndim"] == 1 else F.max_pool2d
                return pool(x, p["kernel"], p["stride"], tuple(a for a, _ in p["padding"]), p["dilation"])
            act = p["act"]
            if act.name == "relu":
                return F.relu(x)
            if act.name == "linear":
                return x
            if act.name == "leaky_relu":
                return F.leaky_relu(x, act.params["negative_slope"])
            if act.name == "relu6":
                return F.relu6(x)
            if act.name == "hardtanh":
                return F.hardtanh(x, act.params["min_val"], act.params["max_val"])
            return torch.where(x > 0, x, getattr(self, f"n{k}_alpha") * x)  # prelu, one slope per unit

    _GRAPH_MODULE.append(FastreluGraph)
    return FastreluGraph
