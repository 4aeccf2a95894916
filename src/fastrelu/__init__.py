"""fastrelu: look inside scalar ReLU networks.

Evaluate a one-input, one-output network over a 1-D grid and get, at every point,
the output, the slope dy/dx and the number of hidden units that are off.

>>> import fastrelu
>>> net = fastrelu.Network.random(hidden=1000, seed=0)
>>> res = fastrelu.sweep(net)                      # x from -100 to 100, step 0.01
>>> res.y.shape, res.negative.dtype
((20001,), dtype('int32'))
"""

from .backends.registry import BackendInfo, backends
from .analysis.exact import Regions, kinks, regions
from .model.network import Network
from ._result import SweepResult
from .store.zarr_store import StoredResult, open_result
from ._sweep import sweep, sweep_chunks

__version__ = "0.1.0"
__all__ = ["BackendInfo", "Network", "Regions", "SweepResult", "backends", "kinks", "regions", "sweep", "sweep_chunks", "StoredResult", "open_result"]


def __getattr__(name):
    # fastrelu.backend: the first available backend in auto's order of preference
    # (for a given request auto may pass over it: exact leaves tiny layers to cffi),
    # found on first use so that importing fastrelu stays cheap.
    if name == "backend":
        from .backends.registry import select

        return select("auto")[0]
    raise AttributeError(f"module 'fastrelu' has no attribute {name!r}")
