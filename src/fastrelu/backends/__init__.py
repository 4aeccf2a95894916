"""The backends that sweep a network, and the registry that chooses one.

=============  ===============================================================
``registry``   which backends exist, which can run here, ``auto``'s choice
``reference``  the numpy reference: the truth every backend is tested against
``numba_kernel`` / ``cffi_kernel``  the brute-force twins (Numba; C via cffi)
``exact_kernel``  the exact backend: sorted switch points, then a merge walk
``agreement``  how closely two backends must agree (rounding bounds)
=============  ===============================================================
"""

from .registry import BackendInfo, backends, select

__all__ = ["BackendInfo", "backends", "select"]
