"""Which twin runs the plane walk's kernels (``plane_c`` or ``plane_numba``): one place.

As the exact backend chooses: the C build when it is there (no JIT compile), else the
Numba twin.  ``$FASTRELU_BACKEND`` naming the C kernels (``cffi``, ``dense_c``) or Numba
(``numba``, ``dense_numba``) picks that engine, and so does an explicit ``engine``
(``"c"`` or ``"numba"``), which wins over the variable.
"""

import ctypes
import importlib
import os
import threading
from contextlib import contextmanager

from .registry import ENV_VAR

ENGINES = {"c": ".plane_c", "numba": ".plane_numba"}
_FROM_BACKEND = {"cffi": "c", "dense_c": "c", "numba": "numba", "dense_numba": "numba"}


def kernels(engine=None):
    """The module of the plane walk's kernels: ``engine`` ``"c"`` or ``"numba"``, or None
    for ``$FASTRELU_BACKEND``'s engine, else C when built, else Numba.

    Examples
    --------
    >>> kernels("numba").__name__
    'fastrelu.kernels.plane_numba'
    """
    source = "engine"
    if engine is None:
        env = os.environ.get(ENV_VAR, "").strip()
        engine, source = _FROM_BACKEND.get(env), f"${ENV_VAR}"
    if engine is None:
        try:
            return importlib.import_module(ENGINES["c"], __package__)
        except ImportError:
            return importlib.import_module(ENGINES["numba"], __package__)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {sorted(ENGINES)} or None, got {engine!r}")
    try:
        return importlib.import_module(ENGINES[engine], __package__)
    except ImportError as e:
        raise RuntimeError(f"{source} asks for the {engine!r} engine of the plane walk, which cannot run here: {e}") from None


# OpenBLAS's thread setting, for the walk's matrix products.  Its products are many and
# small (a block of faces by one layer), and OpenBLAS's threads, woken for each, cost more
# than they bring, many times more on a busy machine (measured: a 2 -> [128] x 4 map twice
# as fast on one BLAS thread); the walk's threads are its tiles instead.  Neither numpy nor
# Numba sets BLAS threads, so OpenBLAS's own setter is called, found among the libraries
# the process has loaded (Linux); where it is not found, BLAS keeps its setting.
_BLAS_SETTERS = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
                 ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
                 ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
                 ("openblas_set_num_threads", "openblas_get_num_threads"))
_blas = {"lib": None, "searched": False, "depth": 0, "saved": None}
_blas_lock = threading.Lock()


def _openblas():
    """``(set, get)`` of the OpenBLAS numpy has loaded, or None."""
    if not _blas["searched"]:
        _blas["searched"] = True
        try:
            with open("/proc/self/maps") as f:
                paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
        except OSError:
            paths = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for set_name, get_name in _BLAS_SETTERS:
                if hasattr(lib, set_name) and hasattr(lib, get_name):
                    _blas["lib"] = (getattr(lib, set_name), getattr(lib, get_name))
                    break
            if _blas["lib"]:
                break
    return _blas["lib"]


@contextmanager
def one_blas_thread():
    """Run the block with OpenBLAS on one thread (the whole process's setting, restored
    when the last block running in any thread ends).

    Examples
    --------
    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float((np.ones((64, 64)) @ np.ones(64))[0])
    64.0
    """
    with _blas_lock:
        lib = _openblas()
        if lib is not None and _blas["depth"] == 0:
            _blas["saved"] = int(lib[1]())
            lib[0](1)
        _blas["depth"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas["depth"] -= 1
            if lib is not None and _blas["depth"] == 0:
                lib[0](_blas["saved"])
