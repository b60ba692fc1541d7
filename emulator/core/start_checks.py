"""The core's checks of a start: is this placement one the core may apply?

A mixin of :class:`emulator.core.core.Core` (kept apart so each file has one concern).
Every start a policy decides is validated before the core applies it: GPU ids in range,
exactly the work's count, tensor-parallel groups inside NVLink domains, no GPU cut off
from scale-out for work spanning domains, only domains the work may use (system,
residency), and no GPU already held (:class:`emulator.core.allocation.ClusterState`).
Most starts take consecutive GPU ids (of one domain, or of adjacent domains for a job
larger than one); those are checked and applied on slices (``span``), domain by domain,
the rest through the general path with the same checks and messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emulator.core.allocation import AllocationError
from emulator.policies.base import PolicyError
from topologies.index import TIER_NVLINK

if TYPE_CHECKING:
    from emulator.core.allocation import ClusterState
    from emulator.work import Work
    from topologies.index import TopologyIndex

__all__ = ["StartChecks"]


class StartChecks:
    """:meth:`_domain_span`, :meth:`_start_span` and :meth:`_start_gpus` of the core."""

    # provided by Core
    cluster: ClusterState
    index: TopologyIndex
    _gpu_ids: np.ndarray  # 0 .. n_gpus-1

    def _domain_span(self, gpus: np.ndarray, n: int) -> tuple[int, int] | None:
        """``(first, end)`` if ``gpus`` are the ids ``first .. end-1`` in order, ``n`` of
        them (in one NVLink domain or several consecutive ones); else ``None``."""
        if gpus.ndim != 1 or gpus.size != n or n == 0:
            return None
        lo, hi = int(gpus[0]), int(gpus[-1]) + 1
        if hi - lo != n or lo < 0 or hi > self.index.n_gpus:
            return None
        if n > 1 and not bool((gpus == self._gpu_ids[lo:hi]).all()):
            return None
        return lo, hi

    def _start_span(self, work: Work, gpus: np.ndarray, span: tuple[int, int],
                    who: str) -> bool:
        """Check and allocate a start on the consecutive GPUs ``span`` (ids first ..
        end-1). ``False`` (nothing done) when it spans domains in a way the general path
        must judge: a tensor-parallel group across a domain boundary, a domain without
        GPUs, a GPU cut off from scale-out or a domain the work may not use."""
        lo, hi = span
        index = self.index
        dom = self.cluster.gpu_domain_at
        first, last = dom[lo], dom[hi - 1]
        eligible = work.request.eligible
        if first == last:
            if eligible is not None and not eligible[first]:
                raise PolicyError(f"{who} placed work {work.work_id} on GPUs it may not use "
                                  "(system or residency restriction)")
            domains = (np.array([first]), np.array([hi - lo]))
            tier = TIER_NVLINK
        else:
            # whole groups in each domain, every domain with GPUs here, all usable: the
            # same checks, allocation and record as the general path, on slices
            cluster = self.cluster
            cuts = cluster.domain_start[first + 1:last + 1]
            counts = np.diff(np.concatenate(([lo], cuts, [hi])))
            if (bool(np.any((cuts - lo) % work.group_size)) or not bool(np.all(counts > 0))
                    or (eligible is not None and not bool(eligible[first:last + 1].all()))
                    or (cluster.n_isolated and bool(cluster.isolated[lo:hi].any()))):
                return False
            domains = (np.arange(first, last + 1), counts)
            tier = index.slowest_tier(gpus)
        try:
            self.cluster.allocate_span(lo, hi, work.work_id)
        except AllocationError as exc:
            raise PolicyError(f"{who}: {exc}") from None
        work.span = span
        work.tier = tier
        work.domains = domains
        return True

    def _start_gpus(self, work: Work, gpus: np.ndarray, who: str) -> None:
        """Check and allocate a start on any ``gpus`` (several domains, or out of order)."""
        idx = self.index
        if gpus.size and (gpus.min() < 0 or gpus.max() >= idx.n_gpus):
            raise PolicyError(f"{who} gave work {work.work_id} GPU ids outside "
                              f"0..{idx.n_gpus - 1}")
        if gpus.ndim != 1 or gpus.size != work.n_gpus:
            raise PolicyError(f"{who} gave work {work.work_id} {gpus.size} GPUs; it needs "
                              f"exactly {work.n_gpus}")
        doms = idx.gpu_domain[gpus]
        one_domain = bool(doms.size) and doms[0] == doms[-1] and bool(np.all(doms == doms[0]))
        groups = doms.reshape(-1, work.group_size)
        if not one_domain and np.any(groups != groups[:, :1]):
            raise PolicyError(f"{who} split a tensor-parallel group of work {work.work_id} "
                              "across NVLink domains")
        cluster = self.cluster
        if not one_domain and cluster.n_isolated and cluster.isolated[gpus].any():
            cut = int(gpus[np.argmax(cluster.isolated[gpus])])
            raise PolicyError(f"{who} placed work {work.work_id} across NVLink domains on "
                              f"GPU {cut}, which has lost its scale-out network")
        eligible = work.request.eligible
        if eligible is not None and not np.all(eligible[groups[:, 0]]):
            raise PolicyError(f"{who} placed work {work.work_id} on GPUs it may not use "
                              "(system or residency restriction)")
        by_domain = ((doms[:1], np.array([doms.size])) if one_domain
                     else np.unique(doms, return_counts=True))
        try:
            self.cluster.allocate(gpus, work.work_id, by_domain)
        except AllocationError as exc:
            raise PolicyError(f"{who}: {exc}") from None
        work.span = None
        work.tier = TIER_NVLINK if one_domain else idx.slowest_tier(gpus)
        work.domains = work.held_by_domain = by_domain
