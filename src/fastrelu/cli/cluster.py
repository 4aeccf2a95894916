"""The Dask cluster of ``--scheduler`` and ``--workers`` (``fastrelu sweep`` into a Zarr store, ``fastrelu lines``,
``fastrelu map``'s tiles)."""

from contextlib import contextmanager

from .errors import CommandError


def _connect(scheduler, workers, out, store):
    if scheduler is None and workers is None:
        return None
    if store and (out is None or out.lower().endswith(".npz")):
        raise CommandError("--scheduler and --workers go with a Zarr store: --out result.zarr")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise CommandError("--scheduler and --workers need dask.distributed: pip install 'fastrelu[scale]'") from None
    if scheduler is not None:
        return Client(scheduler, timeout="10s")
    if workers < 1:
        raise CommandError(f"--workers must be >= 1, got {workers}")
    # single-threaded worker processes, one per core by default: no oversubscription
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)


@contextmanager
def dask_client(scheduler, workers, out=None, *, store=True):
    """A Dask client for ``--scheduler ADDRESS`` or ``--workers K``, or None when neither is
    given; closed on leaving, with the local cluster it started.  With ``store`` (a sweep:
    its workers write their chunks) ``out`` must be a Zarr store; without (``lines``, ``map``)
    the tasks' results come back to the client."""
    client = _connect(scheduler, workers, out, store)
    try:
        yield client
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
