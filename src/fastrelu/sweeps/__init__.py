"""Sweeps: a grid planned once, run chunk by chunk on a backend, and its result.

- ``grid``: the grid's points (``start + i*step``, ``linspace``, or given), built per chunk.
- ``sweep``: ``fastrelu.sweep`` and ``sweep_chunks``: check, plan, guard memory, dispatch.
- ``result``: ``SweepResult`` and its ``.npz`` form.
"""

from .grid import Grid
from .result import SweepResult

__all__ = ["Grid", "SweepResult"]
