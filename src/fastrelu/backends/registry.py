"""The backend registry: which implementations exist, which can run here, which to use.

A backend is a module with ``get_num_threads()``, ``set_num_threads(n)`` and two
kernels: ``sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative)`` for one
hidden layer of a scalar (the classic case, which streams the hidden units), and
``sweep_deep(t, widths, weights, biases, alpha, lo, hi, y, slope, negative)`` for
every other network (see ``fastrelu.backends.reference.sweep_deep``).  It is imported the
first time it is needed, never at ``import fastrelu``; an import that fails makes
the backend unavailable (with the error as the reason), not fastrelu.
"""

import importlib
import os
from contextlib import contextmanager
from dataclasses import dataclass

from ..analysis.exact import prefer_exact

ENV_VAR = "FASTRELU_BACKEND"


@dataclass(frozen=True)
class BackendInfo:
    """What ``fastrelu.backends()`` says of one backend."""

    name: str
    available: bool
    reason: str
    description: str


class _Backend:
    def __init__(self, name, module, description, prefer):
        self.name, self.module_name, self.description, self.prefer = name, module, description, prefer
        self._module = self._reason = None

    def load(self):
        """The backend's module, or None if it cannot be imported here (see ``reason``)."""
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


# In order of preference for backend="auto": the C kernel needs no JIT compile and
# is as fast as Numba or faster (benchmarks/README.md); numpy is the last resort.
_REGISTRY = {}


def register(name, module, description, *, prefer=None):
    """Add a backend (a module importable relative to this package) to the registry.

    ``prefer(net, n)``, if given, says whether ``"auto"`` should use this backend for
    a sweep of ``net`` over ``n`` points (when it is not suitable, or not faster);
    without it the backend suits every request.
    """
    _REGISTRY[name] = _Backend(name, module, description, prefer)


# exact: sorts the H switch points once, then O(1) per grid point; auto uses it
# unless the brute-force kernels are cheaper (tiny H; see _exact.prefer_exact).
register("exact", ".exact_kernel", "switch points sorted once, O((N + H) log H), exact to rounding", prefer=prefer_exact)
register("cffi", ".cffi_kernel", "C kernel with OpenMP, built by cffi")
register("numba", ".numba_kernel", "Numba parallel kernels, twins of the C ones")
register("numpy", ".reference", "numpy reference (single-threaded, the truth for tests)")


def _forget():
    """Forget what was imported, so the next call imports again (for tests)."""
    for b in _REGISTRY.values():
        b._module = b._reason = None


def backends():
    """Every registered backend and whether it can run here.

    Returns
    -------
    dict of str to BackendInfo
        In ``backend="auto"``'s order of preference; ``reason`` says why an
        unavailable backend is missing.

    Examples
    --------
    >>> import fastrelu
    >>> fastrelu.backends()["numpy"].available
    True
    """
    return {n: BackendInfo(n, b.load() is not None, b.reason, b.description) for n, b in _REGISTRY.items()}


def select(backend="auto", net=None, n=None):
    """Return ``(name, module)`` of the backend to run for ``backend``.

    ``"auto"`` means ``$FASTRELU_BACKEND`` when that is set, otherwise the first
    available backend, in order of preference, that prefers a sweep of ``net``
    over ``n`` points (see ``register``).
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, got {type(backend).__name__}")
    source = "backend"
    if backend == "auto":
        env = os.environ.get(ENV_VAR, "").strip()
        if env and env != "auto":
            backend, source = env, f"${ENV_VAR}"
    deep = net is not None and net._scalar_form() is None
    if backend == "auto":
        for b in _REGISTRY.values():
            if (b.prefer is None or net is None or b.prefer(net, n)) and b.load() is not None and _can_run(b._module, deep):
                return b.name, b._module
        raise RuntimeError("no fastrelu backend is available: " + "; ".join(f"{n}: {b.reason}" for n, b in _REGISTRY.items()))
    if backend not in _REGISTRY:
        raise ValueError(f"{source} must be one of {['auto', *_REGISTRY]}, got {backend!r}")
    b = _REGISTRY[backend]
    if b.load() is None:
        raise RuntimeError(f"backend {backend!r} is not available: {b.reason}")
    if not _can_run(b._module, deep):
        raise RuntimeError(f"backend {backend!r} cannot sweep this network (widths {net.widths}): it has no deep kernel")
    return b.name, b._module


def _can_run(module, deep):
    """Whether a backend module has the kernel a request needs: ``sweep_kernel`` for one
    hidden layer of a scalar, ``sweep_deep`` for every other network."""
    return hasattr(module, "sweep_deep") if deep else hasattr(module, "sweep_kernel")


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
