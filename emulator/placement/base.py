"""Placement interface and the tentative free-capacity scratchpad a round works on.

A placement policy answers one question: given the free GPUs, which ``n_gpus`` GPUs should
this job get, such that each of its tensor-parallel groups (``group_size`` GPUs) lies
inside one NVLink domain? It returns GPU ids ordered group by group, or ``None`` when the
job does not fit now. Placement never mutates engine state: it works on a :class:`Scratch`
copy that a scheduling round updates as it tentatively places several jobs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from topologies.index import TopologyIndex

__all__ = ["PlacementPolicy", "PlacementRequest", "Scratch"]


@dataclass(frozen=True)
class PlacementRequest:
    """What a job needs: ``n_gpus`` in groups of ``group_size`` inside NVLink domains.

    ``eligible`` is a boolean mask over NVLink domains (``None``: all domains), used for
    GPU-system restrictions and data residency.
    """

    n_gpus: int
    group_size: int
    eligible: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        """Number of tensor-parallel groups."""
        return self.n_gpus // self.group_size


class Scratch:
    """Tentative free capacity for one scheduling round (a copy; the engine's stays intact)."""

    def __init__(self, index: TopologyIndex, free_mask: np.ndarray, domain_free: np.ndarray,
                 domain_start: np.ndarray, placement: PlacementPolicy) -> None:
        self.index = index
        self.free = free_mask  # owned copy
        self.domain_free = domain_free.copy()
        self.domain_start = domain_start
        self.placement = placement
        self.free_gpus = int(self.domain_free.sum())

    def capacity(self, request: PlacementRequest) -> np.ndarray:
        """Whole groups each domain can take now (0 where ineligible)."""
        cap = self.domain_free // request.group_size
        if request.eligible is not None:
            cap = np.where(request.eligible, cap, 0)
        return cap

    def take(self, domain_groups: dict[int, int] | list[tuple[int, int]],
             group_size: int) -> np.ndarray:
        """Mark ``groups`` groups taken in each domain; the GPU ids, group by group."""
        items = domain_groups.items() if isinstance(domain_groups, dict) else domain_groups
        chunks = []
        for d, groups in items:
            start = int(self.domain_start[d])
            size = int(self.index.domain_size[d])
            local = np.flatnonzero(self.free[start:start + size])[: groups * group_size]
            if local.size < groups * group_size:
                raise RuntimeError(f"domain {d} has fewer free GPUs than its count says")
            gpus = local + start
            self.free[gpus] = False
            self.domain_free[d] -= gpus.size
            chunks.append(gpus)
        out = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int64)
        self.free_gpus -= int(out.size)
        return out

    def release(self, gpus: np.ndarray) -> None:
        """Tentatively free ``gpus`` (of work the policy is about to preempt)."""
        gpus = np.asarray(gpus, dtype=np.int64)
        if np.any(self.free[gpus]):
            raise RuntimeError("releasing GPUs that are already free in this scratch")
        self.free[gpus] = True
        np.add.at(self.domain_free, self.index.gpu_domain[gpus], 1)
        self.free_gpus += int(gpus.size)

    def place(self, request: PlacementRequest) -> np.ndarray | None:
        """Place with the round's policy and mark the GPUs taken; ``None`` if it does not fit."""
        if request.n_gpus > self.free_gpus:
            return None
        return self.placement.place(request, self)


class PlacementPolicy(ABC):
    """Chooses GPUs for one job on a :class:`Scratch`; returns ids or ``None``."""

    name: str = "placement"

    @abstractmethod
    def place(self, request: PlacementRequest, scratch: Scratch) -> np.ndarray | None:
        """GPU ids for ``request`` taken from ``scratch`` (via ``scratch.take``), or ``None``."""
