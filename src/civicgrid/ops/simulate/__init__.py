"""`civicgrid simulate`: a realistic case history written fast (COPY on PostgreSQL), for figures at scale."""

from civicgrid.ops.simulate.run import Options, Outcome, check, simulate
from civicgrid.ops.simulate.world import SimulationError

__all__ = ["Options", "Outcome", "SimulationError", "check", "simulate"]
