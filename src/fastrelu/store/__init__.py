"""Sweeps larger than memory: Zarr stores written chunk by chunk, resumable, runnable on Dask."""

from ..utils.plugins import provide
from .read import StoredResult, open_result
from .write import sweep_to_store

# where sweep(out="result.zarr") writes: see utils.plugins
provide("store", sweep_to_store)

__all__ = ["StoredResult", "open_result"]
