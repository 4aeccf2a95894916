"""Which twin runs a walk's kernels, C or Numba: one rule for every kernel with twins.

The C build when it is there (no JIT compile), else the Numba twin, as the exact backend
chooses.  ``$FASTRELU_BACKEND`` naming the C kernels (``cffi``, ``dense_c``) or Numba
(``numba``, ``dense_numba``) picks that engine, and so does an explicit ``engine``
(``"c"`` or ``"numba"``), which wins over the variable.  The deep walk (``walk.py``) uses
it, and so does the plane walk (``plane_engine.py``) with its own pair of modules.
"""

import importlib
import os

from .registry import ENV_VAR

_FROM_BACKEND = {"cffi": "c", "dense_c": "c", "numba": "numba", "dense_numba": "numba"}


def choose(twins, engine=None, what="the kernels"):
    """The module of a pair of twins: ``twins`` maps ``"c"`` and ``"numba"`` to module
    names relative to ``fastrelu.kernels``; ``engine`` ``"c"`` or ``"numba"``, or None
    for ``$FASTRELU_BACKEND``'s engine, else C when built, else Numba.  ``what`` names
    the kernels in errors.

    Examples
    --------
    >>> choose({"c": ".walk_c", "numba": ".walk_numba"}, "numba").__name__
    'fastrelu.kernels.walk_numba'
    """
    source = "engine"
    if engine is None:
        env = os.environ.get(ENV_VAR, "").strip()
        engine, source = _FROM_BACKEND.get(env), f"${ENV_VAR}"
    if engine is None:
        try:
            return importlib.import_module(twins["c"], __package__)
        except ImportError:
            return importlib.import_module(twins["numba"], __package__)
    if engine not in twins:
        raise ValueError(f"engine must be one of {sorted(twins)} or None, got {engine!r}")
    try:
        return importlib.import_module(twins[engine], __package__)
    except ImportError as e:
        raise RuntimeError(f"{source} asks for the {engine!r} engine of {what}, which cannot run here: {e}") from None
