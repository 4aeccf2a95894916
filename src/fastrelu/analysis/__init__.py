"""Exact analysis of piecewise-linear networks: kinks, activation boundaries, linear pieces, region maps."""

from .distance import BoundaryDistance, boundary_distance
from .lines import LineStats, TrainingStats, line_stats, training_stats
from .pieces import Regions, kinks, regions
from .plane import RegionMap

__all__ = ["RegionMap", "Regions", "kinks", "regions",
           "BoundaryDistance", "LineStats", "TrainingStats", "boundary_distance", "line_stats", "training_stats"]
