"""Sweeps larger than memory: Zarr stores written chunk by chunk, resumable, runnable on Dask."""

from ..utils.plugins import provide
from .read import StoredResult, open_result
from .region_map import load_region_map, save_region_map
from .write import result_to_store, sweep_to_store

# where sweep(out="result.zarr") writes: see utils.plugins; a path's sweep, made in memory, is written whole
provide("store", sweep_to_store)
provide("store_result", result_to_store)
provide("save_region_map", save_region_map)
provide("load_region_map", load_region_map)

__all__ = ["StoredResult", "load_region_map", "open_result", "save_region_map"]
