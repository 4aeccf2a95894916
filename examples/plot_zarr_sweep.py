"""
A sweep larger than memory, into a Zarr store
=============================================

Give ``sweep`` a Zarr store as ``out`` and the sweep is computed and written chunk by
chunk: memory stays bounded by the chunk, whatever the number of points (10^9 points is
8 GB for ``y`` alone).  The result reads lazily from the store, and its figure is drawn
chunk by chunk through the per-pixel reduction.  A sweep that is interrupted and
started again computes only the missing chunks.  Zarr comes with
``pip install ".[scale]"``; with ``client=`` (a ``dask.distributed.Client``) each chunk
is a Dask task.

Here a small store (4 million points, in chunks of 2^19) keeps the example quick; the
code is the same for 10^9 points.
"""

import os
import tempfile

import fastrelu

net = fastrelu.Network.random(hidden=1000, seed=0)
store = os.path.join(tempfile.mkdtemp(), "result.zarr")
res = fastrelu.sweep(net, num=4_000_000, out=store, chunk=2**19)
print(type(res).__name__, res.y.shape, "read lazily;", res.y[:3])

# %%
# Reading it back later, from the store alone:

stored = fastrelu.open_result(store)
print(f"{len(stored.x):,} points from {stored.x[0]} to {stored.x[-1]}, backend {stored.backend}")

# %%
# The figure, read chunk by chunk: each pixel column keeps its first, last, lowest and
# highest point, so the figure of a store of any size takes the same memory.

fig = stored.plot(seed=0, kinks=True)

# %%
# Or reduce on the fly, storing nothing: ``sweep_chunks`` yields one in-memory chunk
# at a time.

largest = max(float(piece.y.max()) for piece in fastrelu.sweep_chunks(net, num=4_000_000, chunk=2**19))
print(f"largest y over the grid: {largest:.4f}")
