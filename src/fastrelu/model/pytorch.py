"""PyTorch models in and out: ``Network.from_torch`` and ``Network.to_torch``.

torch is imported here, on first use, never by ``import fastrelu``.  A PyTorch
model is never unpickled from a file (``torch.load`` of a module can run code):
convert it in Python with ``Network.from_torch(model)`` and ``save`` the result,
a plain ``.npz`` that the command line reads.
"""

import numpy as np

from .activations import Activation

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
        if module.training:
            raise ValueError(f"layer {where} (BatchNorm1d) is in training mode: call model.eval() so it uses its running statistics")
        if module.running_mean is None:
            raise ValueError(f"layer {where} (BatchNorm1d) has no running statistics (track_running_stats=False), so it is not a fixed affine map")
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
            raise ValueError(f"layer {where} (BatchNorm1d) is not a finite affine map: {why}")
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


def from_torch(cls, module, *, dtype=None):
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
    """The network as a ``torch.nn.Sequential`` in the network's dtype (see ``Network.to_torch``).

    The ``"linear"`` activation becomes ``nn.Identity``, so ``from_torch`` reads such a
    model back with its affine layers composed: the same function, fewer layers.
    """
    torch = _torch()
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
