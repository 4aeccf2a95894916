"""fastrelu: look inside piecewise-linear (ReLU) networks.

Sweep a network over a fine grid (of its input, or of ``t`` along a line through
input space) and get, at every point, the output, the slope and the number of hidden
units that are off; or list every kink and linear piece exactly.

>>> import fastrelu
>>> net = fastrelu.Network.random(hidden=1000, seed=0)
>>> res = fastrelu.sweep(net)                      # x from -100 to 100, step 0.01
>>> res.y.shape, res.negative.dtype
((20001,), dtype('int32'))

The package is built in layers, each importing only those below it (checked in CI by
import-linter; the order is in pyproject.toml and the README): ``utils`` <- ``model``
<- ``kernels`` <- ``analysis`` <- ``sweeps`` <- ``store`` <- ``plot`` <- ``cli``.
"""

from . import plot  # noqa: F401 - fastrelu.plot after import fastrelu; it also lends res.plot() its figure
from .analysis.distance import BoundaryDistance, boundary_distance
from .analysis.lines import LineStats, TrainingStats, line_stats, training_stats
from .analysis.pieces import Regions, kinks, regions
from .analysis.plane import RegionMap
from .kernels.registry import BackendInfo, backends
from .kernels.registry import select as _select
from .model.network import Network
from .store import StoredResult, open_result
from .sweeps.result import SweepResult
from .sweeps.sweep import sweep, sweep_chunks
from .utils.config import VERSION

__version__ = VERSION
__all__ = ["BackendInfo", "Network", "RegionMap", "Regions", "SweepResult", "backends", "kinks", "regions", "sweep", "sweep_chunks", "StoredResult", "open_result",
           "BoundaryDistance", "LineStats", "TrainingStats", "boundary_distance", "line_stats", "training_stats"]


def __getattr__(name):
    # fastrelu.backend: the first available backend in auto's order of preference
    # (for a given request auto may pass over it: exact leaves tiny layers to cffi),
    # found on first use so that importing fastrelu stays cheap.
    if name == "backend":
        return _select("auto")[0]
    raise AttributeError(f"module 'fastrelu' has no attribute {name!r}")
