"""Placement policies: which GPUs a job gets (see :mod:`emulator.placement.base`)."""

from emulator.placement.base import PlacementPolicy, PlacementRequest, Scratch
from emulator.placement.pack import PackPlacement
from emulator.placement.spread import SpreadPlacement

__all__ = ["PackPlacement", "PlacementPolicy", "PlacementRequest", "Scratch", "SpreadPlacement"]
