"""Who holds which GPU: the engine's only mutable allocation state.

GPU ownership is one int array (``-1`` = free, else the work id holding it) plus free
counts per NVLink domain, kept in step. Every change goes through :meth:`allocate` and
:meth:`release`, which check the invariants (no GPU allocated twice, only owned GPUs
released), so a bad policy decision can never corrupt the state.
"""

from __future__ import annotations

import numpy as np

from topologies.index import TopologyIndex

__all__ = ["AllocationError", "ClusterState"]


class AllocationError(RuntimeError):
    """An allocation that would break an invariant (double allocation, bad GPU id …)."""


class ClusterState:
    """GPU ownership and free capacity per NVLink domain."""

    def __init__(self, index: TopologyIndex) -> None:
        self.index = index
        self.owner = np.full(index.n_gpus, -1, dtype=np.int64)
        self.domain_free = index.domain_size.astype(np.int64).copy()
        if index.n_gpus and np.any(np.diff(index.gpu_domain) < 0):
            raise ValueError("GPU ids must be contiguous per NVLink domain")
        self.domain_start = np.searchsorted(index.gpu_domain, np.arange(index.n_domains))
        self.free_gpus = int(index.n_gpus)

    def free_mask(self) -> np.ndarray:
        """A new boolean array, True where the GPU is free."""
        return self.owner < 0

    def allocate(self, gpus: np.ndarray, owner: int) -> None:
        """Give ``gpus`` to ``owner``; raises :class:`AllocationError` if any is taken."""
        if gpus.size == 0:
            raise AllocationError(f"work {owner}: empty allocation")
        if gpus.min() < 0 or gpus.max() >= self.index.n_gpus:
            raise AllocationError(f"work {owner}: GPU id out of range")
        if np.unique(gpus).size != gpus.size:
            raise AllocationError(f"work {owner}: the same GPU is listed twice")
        held = self.owner[gpus]
        if np.any(held >= 0):
            taken = int(gpus[np.argmax(held >= 0)])
            raise AllocationError(
                f"work {owner}: GPU {taken} is already held by work {int(held.max())}")
        self.owner[gpus] = owner
        np.subtract.at(self.domain_free, self.index.gpu_domain[gpus], 1)
        self.free_gpus -= int(gpus.size)

    def release(self, gpus: np.ndarray, owner: int) -> None:
        """Return ``gpus`` held by ``owner`` to the free pool."""
        if np.any(self.owner[gpus] != owner):
            raise AllocationError(f"work {owner}: releasing GPUs it does not hold")
        self.owner[gpus] = -1
        np.add.at(self.domain_free, self.index.gpu_domain[gpus], 1)
        self.free_gpus += int(gpus.size)
