"""The dispatcher: which backends exist, which can run here, which kernel runs a request.

A backend is named by what it is known as (``exact``, ``cffi``, ``numba``, ``numpy``,
the names ``backend=`` takes and results and stores record) and described on two
axes: its **algorithm** (``dense``: every point on its own; ``exact``: the linear
pieces first, then each point read off its piece) and its **engine** (numpy, Numba,
C).  ``backend="dense_c"``, ``"dense_numba"`` and ``"dense_numpy"`` (``<algorithm>_<engine>``)
name the dense backends too; the exact backend chooses its engine by network.

Each backend is a list of kernels, one module each, with the networks it
``supports``; ``select`` takes the first kernel of the backend that supports the
network.  ``backend="auto"`` takes the first row of ``AUTO`` whose condition holds and
whose backend is available here.  No caller branches on a network's shape: a
``Kernel`` packs the network for its module (``params``) and runs it.

A module is imported the first time it is needed, never at ``import fastrelu``
(Numba and the C build are optional and slow to load); an import that fails makes
that kernel unavailable, with the error as the reason.
"""

import importlib
import os
from contextlib import contextmanager
from dataclasses import dataclass

from .params import (
    check_graph_scratch,
    deep_params,
    graph_params,
    graph_program,
    one_layer,
    one_layer_params,
)

ENV_VAR = "FASTRELU_BACKEND"


@dataclass(frozen=True)
class BackendInfo:
    """What ``fastrelu.backends()`` says of one backend."""

    name: str
    available: bool
    reason: str
    description: str
    algorithm: str = ""
    engine: str = ""


def _any(net):
    return True


def _dense(net):
    """A dense chain (Linear layers and activations): what the deep kernels take."""
    return not net.is_graph


def _graph(net):
    """A graph network (convolutions, pooling, branches): what the graph kernels take."""
    return net.is_graph


def _dense_line(net):
    return _dense(net) and _line(net)


def _dense_plane(net):
    return _dense(net) and _plane(net)


def _graph_line(net):
    return _graph(net) and _line(net)


def _graph_plane(net):
    return _graph(net) and _plane(net)


def describe(net):
    """A network's shape for a message: its widths, or its graph's size."""
    return f"a graph of {len(net.nodes)} nodes" if net.is_graph else f"widths {net.widths}"


def _line(net):
    """A network of one coordinate (a scalar input, or a line folded in)."""
    return net.in_features == 1


def _plane(net):
    """A network of two coordinates (a plane folded in, or a network of two inputs on its own plane)."""
    return net.in_features == 2


class Kernel:
    """One module that sweeps the networks ``supports`` accepts, as one backend.

    ``kind`` says what the module's kernel takes: ``"one_layer"`` (``sweep_kernel``, one
    hidden layer of a scalar) or ``"deep"`` (``sweep_deep``, any network of one coordinate,
    or of two: a plane), or ``"graph"`` (``sweep_graph``, a graph network of one or two
    coordinates, ``fastrelu.model.graph``: the numpy reference takes the graph itself) or
    ``"graph_program"`` (``sweep_graph`` of the C and Numba twins, which take the same
    network as flat arrays, ``params.graph_program``).
    """

    def __init__(self, owner, module, kind, supports):
        self.owner, self.module_name, self.kind, self.supports = owner, module, kind, supports
        self.backend = owner.name
        self._module = self._reason = None

    def load(self):
        """The module, or None if it cannot be imported here (see ``reason``)."""
        if self._module is None and self._reason is None:
            try:
                self._module = importlib.import_module(self.module_name, __package__)
            except Exception as exc:  # ImportError, or a broken build raising anything else
                self._reason = f"{type(exc).__name__}: {exc}"
        return self._module

    @property
    def reason(self):
        self.load()
        return self._reason or ""

    @property
    def module(self):
        return self.load()

    @property
    def threads(self):
        """The module whose thread setting this kernel follows (the backend's first)."""
        return self.owner.load()

    def sweep(self, t, net, dtype, y, slope, negative, span=None):
        """Sweep ``net`` at the points ``t``: ``y`` (N, out), ``slope`` and ``negative``
        (N, depth) written.

        ``t`` is ``(N,)`` and ``slope`` ``(N, out)`` for a network of one coordinate;
        ``t`` is ``(N, 2)`` and ``slope`` ``(N, out, 2)`` for a network of two (a plane).
        """
        if self.kind == "one_layer":  # these kernels take one column each
            self._module.sweep_kernel(t, *one_layer_params(net, dtype), y[:, 0], slope[:, 0], negative[:, 0])
        elif self.kind == "graph":
            self._module.sweep_graph(t, graph_params(net, dtype), y, slope, negative, span=span)
        elif self.kind == "graph_program":
            program = graph_program(net, dtype)
            # one tile of every node per thread, counted before the kernel allocates it
            check_graph_scratch(program, dtype, self.threads.get_num_threads())
            self._module.sweep_graph(t, *program, y, slope, negative, span=span)
        else:
            self._module.sweep_deep(t, *deep_params(net, dtype), y, slope, negative, span=span)

    def __repr__(self):
        return f"Kernel({self.backend!r}, {self.module_name!r}, {self.kind!r})"


class _Backend:
    def __init__(self, name, algorithm, engine, description, kernels):
        self.name, self.algorithm, self.engine, self.description = name, algorithm, engine, description
        self.kernels = [Kernel(self, module, kind, supports) for module, kind, supports in kernels]

    def load(self):
        """The backend's first kernel module that can be imported here (its threads are
        set through it), or None."""
        for k in self.kernels:
            if k.load() is not None:
                return k.module
        return None

    @property
    def reason(self):
        return "" if self.load() is not None else "; ".join(dict.fromkeys(k.reason for k in self.kernels))

    def kernel_for(self, net):
        """The first kernel that supports ``net`` and can be imported; else None and why."""
        reasons = []
        for k in self.kernels:
            if net is None or k.supports(net):
                if k.load() is not None:
                    return k, ""
                reasons.append(k.reason)
        return None, "; ".join(reasons) or f"it has no kernel for this network ({describe(net)})"


_REGISTRY = {}


def register(name, algorithm, engine, description, kernels):
    """Add a backend: ``kernels`` is a list of ``(module, kind, supports)``, in order of preference."""
    _REGISTRY[name] = _Backend(name, algorithm, engine, description, kernels)


register("exact", "exact", "C, Numba", "pieces first: switch points sorted once, the layer-by-layer walk, or a plane's region map; exact to rounding", [
    (".exact_c", "one_layer", one_layer),  # sorted switch points (exact.py), by the C twin when built
    (".exact_numba", "one_layer", one_layer),  # else by the Numba twin
    (".walk", "deep", _dense_line),  # the layer-by-layer walk of a line (Numba)
    (".plane_exact", "deep", _dense_plane),  # the region map of a plane, each pixel read off its face
    (".graph_walk", "graph", _graph_line),  # a graph network's walk along a line (numpy)
    (".plane_exact", "graph", _graph_plane),  # a graph network's region map, each pixel read off its face
])
register("cffi", "dense", "C", "C kernels with OpenMP, built by cffi", [
    (".dense_c", "one_layer", one_layer), (".dense_c", "deep", _dense), (".graph_c", "graph_program", _graph),
])
register("numba", "dense", "Numba", "Numba kernels, twins of the C ones", [
    (".dense_numba", "one_layer", one_layer), (".dense_numba", "deep", _dense), (".graph_numba", "graph_program", _graph),
])
register("numpy", "dense", "numpy", "numpy reference (single-threaded, the truth for tests)", [
    (".dense_numpy", "one_layer", one_layer), (".dense_numpy", "deep", _dense), (".dense_numpy", "graph", _graph),
])

# the dense backends by their two axes, <algorithm>_<engine>.  The exact backend has no
# such name: its engine follows the network (the C twin for one hidden layer when the
# build has it, else the Numba twin; the walk, Numba, for any other), so "exact_c" or
# "exact_numba" would promise an engine it may not run.
ALIASES = {"dense_c": "cffi", "dense_numba": "numba", "dense_numpy": "numpy"}


def _prefer_exact(net, n):
    """Whether ``backend="auto"`` should run the exact backend for ``net`` over ``n`` points.

    Deep networks: when there are more points than hidden units.  The walk costs about
    one row of each layer's matrix product per piece, and a line through a network
    crosses in the order of one piece per hidden unit (Hanin and Rolnick, 2019), while
    the per-point kernels pay a full row per point.

    One hidden layer of a scalar, measured against the cffi kernel, float64, 2 threads,
    best of 40, switch points sorted afresh every call (benchmarks/README.md):
    H=1..16: cffi 0.07-0.13 ms vs exact 0.10-0.16 ms at N <= 1e4 (exact pays ~30 us of
    set-up in Python), a tie at N = 1e6; H=64: N=1e4 exact 0.16 vs cffi 0.19 ms, N=1e6
    9.5 vs 24 ms; H=256: N=1e4 0.17 vs 0.37 ms, N=1e6 12 vs 48 ms, and the gap grows as
    N*H.  Below ~100 points both take < 0.1 ms, so n does not change the choice.
    """
    if _graph(net):
        # the graph walk is numpy, node by node (85x its floor on the digits CNN, see
        # benchmarks/README.md): graph networks sweep per point unless exact is asked for
        return False
    if _plane(net):
        return n is None or n > _PLANE_PIXELS_PER_UNIT2 * net.hidden**2
    if not one_layer(net):
        return n is None or n > net.hidden
    return net.hidden >= 8


# A plane's region map costs in the order of its faces, which grow about as the square of
# the hidden units (Hanin and Rolnick, 2019), times a layer's product per face; a dense
# kernel pays a layer's product per pixel.  The exact backend wins past about this many
# pixels per squared unit: on 2->[256]x4->1 (1,024 units) the map took 7.3 s and the C
# kernel 82 s for 1024 x 1024 pixels, a tie near 0.09 x 1024**2 pixels
# (benchmarks/README.md, "Per-pixel maps of a plane").
_PLANE_PIXELS_PER_UNIT2 = 0.1


# backend="auto": the first row whose condition holds for (net, n) and whose backend
# can run the network here.  Without a network (``fastrelu.backend``) every condition holds.
AUTO = (
    ("exact", _prefer_exact),
    ("cffi", None),  # no JIT compile, and as fast as Numba or faster (benchmarks/README.md)
    ("numba", None),
    ("numpy", None),  # the last resort
)


def _forget():
    """Forget what was imported, so the next call imports again (for tests)."""
    for b in _REGISTRY.values():
        for k in b.kernels:
            k._module = k._reason = None


def backends(net=None):
    """Every registered backend and whether it can run here (and run ``net``, when given).

    Parameters
    ----------
    net : Network, optional
        With a network, ``available`` says whether the backend has a kernel for it here
        (a graph network, with convolutions or branches, runs on the backends that have
        graph kernels), and ``reason`` why not.

    Returns
    -------
    dict of str to BackendInfo
        In ``backend="auto"``'s order of preference; ``reason`` says why an
        unavailable backend is missing; ``algorithm`` and ``engine`` are its two axes.

    Examples
    --------
    >>> import fastrelu
    >>> info = fastrelu.backends()["numpy"]
    >>> info.available, info.algorithm, info.engine
    (True, 'dense', 'numpy')
    """
    order = [name for name, _ in AUTO] + [n for n in _REGISTRY if n not in dict(AUTO)]
    if net is not None:
        found = {n: _REGISTRY[n].kernel_for(net) for n in order}
        return {
            n: BackendInfo(n, found[n][0] is not None, found[n][1], b.description, b.algorithm, b.engine)
            for n, b in ((n, _REGISTRY[n]) for n in order)
        }
    return {
        n: BackendInfo(n, b.load() is not None, b.reason, b.description, b.algorithm, b.engine)
        for n, b in ((n, _REGISTRY[n]) for n in order)
    }


def _requested(backend):
    """The backend asked for, after ``$FASTRELU_BACKEND`` and the aliases; and what named it."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, got {type(backend).__name__}")
    source = "backend"
    if backend == "auto":
        env = os.environ.get(ENV_VAR, "").strip()
        if env and env != "auto":
            backend, source = env, f"${ENV_VAR}"
    backend = ALIASES.get(backend, backend)
    if backend != "auto" and backend not in _REGISTRY:
        raise ValueError(f"{source} must be one of {['auto', *_REGISTRY, *ALIASES]}, got {backend!r}")
    return backend


def kernel_for(backend="auto", net=None, n=None):
    """The ``Kernel`` that runs a sweep of ``net`` over ``n`` points with ``backend``.

    ``"auto"`` means ``$FASTRELU_BACKEND`` when that is set, otherwise the first row of
    ``AUTO`` that holds and can run here.  Without ``net``, the backend's first kernel.
    """
    backend = _requested(backend)
    if backend == "auto":
        for name, condition in AUTO:
            if condition is None or net is None or condition(net, n):
                kernel, _ = _REGISTRY[name].kernel_for(net)
                if kernel is not None:
                    return kernel
        raise RuntimeError("no fastrelu backend is available: " + "; ".join(f"{n}: {b.reason}" for n, b in _REGISTRY.items()))
    b = _REGISTRY[backend]
    if b.load() is None:
        raise RuntimeError(f"backend {backend!r} is not available: {b.reason}")
    kernel, why = b.kernel_for(net)
    if kernel is None:
        raise RuntimeError(f"backend {backend!r} cannot sweep this network ({describe(net)}): {why}")
    return kernel


def module_of(backend, kind):
    """The module of ``backend``'s kernel of ``kind`` (``"one_layer"`` or ``"deep"``), imported
    on first use; the exact analysis reads its functions (``prepare``, ``walk``) from it."""
    kernels = [k for k in _REGISTRY[backend].kernels if k.kind == kind]
    if not kernels:
        raise ValueError(f"backend {backend!r} has no {kind} kernel")
    for k in kernels:
        if k.load() is not None:
            return k.module
    raise RuntimeError(f"backend {backend!r} has no {kind} kernel here: " + "; ".join(k.reason for k in kernels))


def select(backend="auto", net=None, n=None):
    """``(name, module)`` of the backend ``kernel_for`` chooses; the module sets its threads."""
    kernel = kernel_for(backend, net, n)
    return kernel.backend, _REGISTRY[kernel.backend].load()


@contextmanager
def thread_limit(module, threads):
    """Run the body with ``threads`` threads in ``module``, then restore the previous setting.

    A module whose setting is more than one number (the exact backend: its C twin's
    OpenMP threads and the deep walk's) saves and restores it whole with
    ``thread_state`` and ``restore_threads``.
    """
    if threads is None:
        yield
        return
    save = getattr(module, "thread_state", module.get_num_threads)
    restore = getattr(module, "restore_threads", module.set_num_threads)
    previous = save()
    module.set_num_threads(threads)
    try:
        yield
    finally:
        restore(previous)
