"""Sweeps larger than memory: Zarr stores written chunk by chunk, resumable, runnable on Dask."""

from .zarr_store import StoredResult, open_result

__all__ = ["StoredResult", "open_result"]
