"""Which twin runs the plane walk's kernels (``plane_c`` or ``plane_numba``).

The rule is ``engine.choose``'s, the one every kernel with twins follows: the C build
when it is there (no JIT compile), else the Numba twin; ``$FASTRELU_BACKEND`` naming the
C kernels (``cffi``, ``dense_c``) or Numba (``numba``, ``dense_numba``) picks that engine,
and so does an explicit ``engine`` (``"c"`` or ``"numba"``), which wins over the variable.
"""

from .engine import choose

ENGINES = {"c": ".plane_c", "numba": ".plane_numba"}


def kernels(engine=None):
    """The module of the plane walk's kernels: ``engine`` ``"c"`` or ``"numba"``, or None
    for ``$FASTRELU_BACKEND``'s engine, else C when built, else Numba.

    Examples
    --------
    >>> kernels("numba").__name__
    'fastrelu.kernels.plane_numba'
    """
    return choose(ENGINES, engine, "the plane walk")
