"""Exact analysis of piecewise-linear networks: kinks, activation boundaries, linear pieces, region maps."""

from .pieces import Regions, kinks, regions
from .plane import RegionMap

__all__ = ["RegionMap", "Regions", "kinks", "regions"]
