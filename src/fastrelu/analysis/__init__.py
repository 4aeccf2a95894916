"""Exact analysis of piecewise-linear networks: kinks, activation boundaries, linear pieces."""

from .pieces import Regions, kinks, regions

__all__ = ["Regions", "kinks", "regions"]
