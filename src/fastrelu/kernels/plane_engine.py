"""Which twin runs the plane walk's kernels (``plane_c`` or ``plane_numba``): one place.

As the exact backend chooses: the C build when it is there (no JIT compile), else the
Numba twin.  ``$FASTRELU_BACKEND`` naming the C kernels (``cffi``, ``dense_c``) or Numba
(``numba``, ``dense_numba``) picks that engine, and so does an explicit ``engine``
(``"c"`` or ``"numba"``), which wins over the variable.
"""

import importlib
import os

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
