"""The kernels that sweep a network, grouped into backends, and the dispatcher that chooses them.

A backend is an algorithm run by an engine; its modules are named ``<algorithm>_<engine>``:

- ``registry``: the dispatcher: the backends, their kernels and the networks each
  supports, ``auto``'s table; ``params``: what each kind of kernel takes from a network.
- ``dense_numpy``: the numpy reference, the truth every backend is tested against
  (``sweep_deep`` there states the deep kernels' contract).
- ``dense_numba`` / ``dense_c``: the per-point twins, Numba and C (the binding of
  ``csrc/dense_c.c``, built by cffi as ``fastrelu.kernels._c``).
- ``exact``: the exact algorithm for one hidden layer (sorted switch points, then a
  merge walk), run by its C twin (``csrc/exact_c.c``) when the build has it, else by
  its Numba twin ``exact_numba``.
- ``walk``: the exact algorithm for any depth (the layer-by-layer walk, Numba).
- ``eft``: the double-double arithmetic both exact algorithms share; ``scale``: the
  power-of-two scaling of networks whose sums leave float64; ``threads``: the pool the
  Numba kernels run on; ``cache``: the one cache of what a kernel derived last.
- ``agreement``: how closely two backends must agree (rounding bounds).
"""

from .registry import BackendInfo, backends, select

__all__ = ["BackendInfo", "backends", "select"]
