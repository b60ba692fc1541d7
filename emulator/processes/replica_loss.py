"""What a hardware failure does to serving: replicas lost, requests retried, capacity back.

An autoscaled service's extra replica on a failed GPU ends for good (:meth:`Core.lose`);
the autoscaler sees the service one replica short after the next window and queues a
replacement. A service's *base* replicas are one allocation (the service's own work): a
failed GPU stops the replica (tensor-parallel group) it belongs to, which serves again
when all its GPUs are repaired. Either way the replica's in-flight requests are retried on
the surviving replicas (counted, :data:`Infra.RETRIED`) or fail when none is left
(:data:`Infra.FAILED_REQUESTS`); requests arriving while no replica is left fail too. A
failure that takes every replica of a service at once (a site, a hall) retries nothing: the
replicas it takes one after another at that instant are no place to retry on.
"""

from __future__ import annotations

import numpy as np

from emulator.core.core import Core
from emulator.eventlog import Infra
from emulator.serving import ServiceRuntime, ServingModel
from emulator.work import Work

__all__ = ["ReplicaLoss"]


class ReplicaLoss:
    """Applies failures to serving replicas and restores base replicas on repair."""

    def __init__(self, core: Core, serving: ServingModel) -> None:
        self.core = core
        self.serving = serving
        self.base_down: dict[int, set[int]] = {}  # service work id → its stopped groups

    def _drop(self, svc: ServiceRuntime, cause: str, retry: bool, count: int = 1) -> None:
        now = self.core.now
        retried, failed = self.serving.drop_servers(svc, now, count=count, retry=retry)
        sid = svc.work.work_id
        if retried:
            self.core.log.infra_event(now, Infra.RETRIED, cause, subject=sid,
                                      value=float(retried))
        if failed:
            self.core.log.infra_event(now, Infra.FAILED_REQUESTS, cause, subject=sid,
                                      value=float(failed))

    def _takes_all(self, svc: ServiceRuntime, gpus: np.ndarray) -> bool:
        """Whether failed ``gpus`` leave no replica of ``svc`` up (base groups already
        stopped count as down)."""
        for alloc in svc.allocations():
            if alloc.gpus is None:
                continue
            g = alloc.group_size
            down = self.base_down.get(alloc.work_id, set()) if alloc is svc.work else set()
            for k in range(len(alloc.gpus) // g):
                if k not in down and not np.isin(alloc.gpus[k * g:(k + 1) * g], gpus).any():
                    return False
        return True

    def lose(self, work: Work, gpus: np.ndarray, cause: str) -> None:
        """Failed ``gpus`` hit serving ``work`` (a service's base work or an extra replica).

        A failure that takes every replica of the service first has the window's requests
        so far served on the replicas as they were (:meth:`ServingModel.serve_until`)."""
        svc_of = self.serving.by_work.get(work.parent if work.kind == "replica"
                                          else work.work_id)  # type: ignore[arg-type]
        takes_all = svc_of is not None and self._takes_all(svc_of, gpus)
        if svc_of is not None and takes_all:  # (its in-flight requests then fail: no
            self.serving.serve_until(svc_of, self.core.now)  # replica is left to retry on)
        if work.kind == "replica":
            svc = self.serving.by_work[work.parent]  # type: ignore[index]
            if work in svc.replica_works:
                svc.replica_works.remove(work)
                self._drop(svc, cause, retry=not takes_all)
            self.core.lose(work, cause)
            return
        svc = self.serving.by_work.get(work.work_id)
        if svc is None or work.gpus is None:
            return
        hit_pos = np.flatnonzero(np.isin(work.gpus, gpus))
        down = self.base_down.setdefault(work.work_id, set())
        groups = set((hit_pos // work.group_size).tolist()) - down
        if groups:  # dropped together: none of them is a place to retry on
            down.update(groups)
            self._drop(svc, cause, retry=not takes_all, count=len(groups))

    def repaired(self, gpus: np.ndarray) -> None:
        """GPUs are back: base replicas whose GPUs are all in service serve again."""
        if not gpus.size:
            return
        for sid, down in sorted(self.base_down.items()):
            work = self.core.works[sid]
            if not down or work.gpus is None or work.state != "running":
                continue
            g = work.group_size
            for group in sorted(down):
                members = work.gpus[group * g:(group + 1) * g]
                if not self.core.cluster.down[members].any():
                    down.discard(group)
                    self.serving.add_servers(self.serving.by_work[sid], self.core.now)
