"""The backends that sweep a network, and the registry that chooses one.

Each backend has a kernel for one hidden layer of a scalar (``sweep_kernel``) and
one for every other network (``sweep_deep``).

- ``registry``: which backends exist, which can run here, ``auto``'s choice.
- ``reference``: the numpy reference, the truth every backend is tested against
  (``sweep_deep`` there states the deep kernels' contract).
- ``numba_kernel`` / ``cffi_kernel``: the brute-force twins (Numba, and C via cffi:
  ``csrc/dense_c_sweep.inc``).
- ``exact_kernel``: the exact backend for one hidden layer (sorted switch points,
  then a merge walk). It runs the C twin (``csrc/exact_c.c``) when the build has
  it, else the Numba twin ``exact_numba``.
- ``exact_deep``: the exact backend for deep networks (the layer-by-layer walk).
- ``eft``: the double-double arithmetic both exact backends share.
- ``agreement``: how closely two backends must agree (rounding bounds)."""

from .registry import BackendInfo, backends, select

__all__ = ["BackendInfo", "backends", "select"]
