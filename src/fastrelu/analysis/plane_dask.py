"""A region map's tiles as Dask tasks: ``region_map(..., client=client)``.

The tiles are ``plane_walk.walk_tiles``'s (``tile_rects``), each walked by
``plane_walk.walk_plane`` in a task, and the walks merged by ``plane_walk._merge`` on the
client, as the threads' are: the map equals the one walked whole or on threads (same
faces, patterns, vertices and edges).

The network goes to the cluster once, as a task's result rather than scattered data, so
that a worker lost with it only means its tiles are walked again (the scheduler computes
a result again when every worker holding it is gone; scattered data is lost for good and
the tasks that need it are cancelled).
"""

import numpy as np

from ..kernels import plane_engine
from ..kernels.threads import blas_pinned
from .plane_walk import _merge, tile_rects, walk_plane

__all__ = ["cluster_threads", "walk_tiles_on"]


def _same(value):
    """The network's task: what it is given (its result is the value, on the cluster)."""
    return value


def _tile(walked, rect, engine):
    """One tile's walk on a Dask worker: BLAS on one thread, as the walk's own threads are
    the worker's (see ``kernels.threads.blas_pinned``)."""
    layers, forms = walked
    with blas_pinned():
        return walk_plane(layers, forms, rect, engine)


def cluster_threads(client):
    """The threads of ``client``'s workers, all together (at least one).

    Examples
    --------
    >>> class Client:  # what the function reads of a dask.distributed.Client
    ...     def nthreads(self):
    ...         return {"tcp://a": 1, "tcp://b": 2}
    >>> cluster_threads(Client())
    3
    """
    return max(1, int(sum(client.nthreads().values())))


def walk_tiles_on(client, layers, forms, bounds, tiles, engine=None):
    """``plane_walk.walk_tiles`` with each tile a task of the Dask ``client``.

    Parameters
    ----------
    client : dask.distributed.Client
    layers, forms, bounds, tiles, engine
        As ``plane_walk.walk_tiles`` takes them.

    Returns
    -------
    PlaneWalk
        The merged map, as ``walk_tiles`` gives it.

    Examples
    --------
    >>> import numpy as np, distributed
    >>> layers = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    >>> with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
    ...     w = walk_tiles_on(client, layers, [(np.zeros(2), -np.inf, np.inf)], ((-1, 1), (-1, 1)), (2, 2))
    >>> len(w.regions[-1]), len(w.vertices), len(w.edges)      # the four quadrants, as whole
    (4, 9, 12)
    """
    import dask

    plane_engine.kernels(engine)  # any error of the engine once, here, not in every task
    rects, us, vs = tile_rects(bounds, tiles)
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1 TiB"}):  # the network, on purpose
        walked = client.submit(_same, (layers, forms), pure=False)
    futures = client.map(_tile, [walked] * len(rects), rects, [engine] * len(rects), pure=False)
    try:
        walks = client.gather(futures)
    except BaseException:
        client.cancel(futures)  # an error or Ctrl-C: no tile goes on walking for nothing
        raise
    if len(walks) == 1:
        return walks[0]
    return _merge(walks, np.asarray(us[1:-1]), np.asarray(vs[1:-1]))
