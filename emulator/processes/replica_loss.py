"""What a hardware failure does to serving: replicas lost, requests retried, capacity back.

An autoscaled service's extra replica on a failed GPU ends for good (:meth:`Core.lose`);
the autoscaler sees the service one replica short after the next window and queues a
replacement. A service's *base* replicas are one allocation (the service's own work): a
failed GPU stops the replica (tensor-parallel group) it belongs to, which serves again
when all its GPUs are repaired (logged as :data:`Infra.REPLICAS_DOWN` and
:data:`Infra.REPLICAS_UP`, so the failure summary counts it among the replicas lost; its
GPUs stay held by the service meanwhile and no replacement is placed elsewhere). Either
way the replica's in-flight requests are retried on
the surviving replicas (counted, :data:`Infra.RETRIED`) or fail when none is left
(:data:`Infra.FAILED_REQUESTS`); requests arriving while no replica is left fail too. A
failure that takes several replicas of a service takes them down together, so none of its
in-flight requests is retried on a replica the same failure takes; one that takes every
replica (a site, a hall) retries nothing.
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

    def _drop(self, svc: ServiceRuntime, cause: str, retry: bool, count: int = 1,
              draining: list[float] | None = None) -> None:
        now = self.core.now
        retried, failed = self.serving.drop_servers(svc, now, count=count, retry=retry,
                                                    draining=draining or ())
        sid = svc.work.work_id
        if retried:
            self.core.log.infra_event(now, Infra.RETRIED, cause, subject=sid,
                                      value=float(retried))
        if failed:
            self.core.log.infra_event(now, Infra.FAILED_REQUESTS, cause, subject=sid,
                                      value=float(failed))

    def _takes_all(self, svc: ServiceRuntime, gpus: np.ndarray) -> bool:
        """Whether failed ``gpus`` leave no replica of ``svc`` up (base groups already
        stopped count as down). A scaled-down replica still draining that ``gpus`` miss is
        up: it admits no new request, but serves those on its slots to their end (so
        they are neither failed nor retried)."""
        now = self.core.now
        for wid, ends in svc.draining.items():
            replica = self.core.works[wid]
            if (replica.state == "running" and replica.gpus is not None
                    and max(ends, default=-np.inf) > now
                    and not np.isin(replica.gpus, gpus).any()):
                return False
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

        The first call for a service at a failure takes down every replica of it that
        ``gpus`` hit (its base groups and its extra replicas, :meth:`_take_down`) in one
        drop, so no in-flight request is retried on a replica the same failure takes (the
        calls for its other works then find theirs down already). A failure that takes
        every replica of the service first has the window's requests so far served on the
        replicas as they were (:meth:`ServingModel.serve_until`), and retries nothing."""
        svc = self.serving.by_work.get(work.parent if work.kind == "replica"
                                       else work.work_id)  # type: ignore[arg-type]
        if svc is not None:
            takes_all = self._takes_all(svc, gpus)
            if takes_all:  # (its in-flight requests then fail: no replica is left)
                self.serving.serve_until(svc, self.core.now)
            count = self._take_down(svc, gpus)
            # a scaled-down replica still draining: its requests are lost with it
            draining = (self.serving.drained(svc, work) if work.kind == "replica" else [])
            if count or draining:
                self._drop(svc, cause, retry=not takes_all, count=count, draining=draining)
        if work.kind == "replica":
            self.core.lose(work, cause)

    def _take_down(self, svc: ServiceRuntime, gpus: np.ndarray) -> int:
        """Mark the replicas of ``svc`` that failed ``gpus`` hit and that were up as down:
        its base work's groups stop, its extra replicas leave it; how many."""
        count = 0
        base = svc.work
        if base.gpus is not None:
            hit_pos = np.flatnonzero(np.isin(base.gpus, gpus))
            down = self.base_down.setdefault(base.work_id, set())
            groups = set((hit_pos // base.group_size).tolist()) - down
            down.update(groups)
            count += len(groups)
            if groups:
                self.core.log.infra_event(self.core.now, Infra.REPLICAS_DOWN,
                                          subject=base.work_id, value=float(len(groups)))
        for replica in list(svc.replica_works):
            if replica.gpus is not None and np.isin(replica.gpus, gpus).any():
                svc.replica_works.remove(replica)
                svc.opens_at.pop(replica.work_id, None)
                count += 1
        return count

    def repaired(self, gpus: np.ndarray) -> None:
        """GPUs are back: base replicas whose GPUs are all in service serve again."""
        if not gpus.size:
            return
        for sid, down in sorted(self.base_down.items()):
            work = self.core.works[sid]
            if not down or work.gpus is None or work.state != "running":
                continue
            g = work.group_size
            back = 0
            for group in sorted(down):
                members = work.gpus[group * g:(group + 1) * g]
                if not self.core.cluster.down[members].any():
                    down.discard(group)
                    self.serving.add_servers(self.serving.by_work[sid], self.core.now)
                    back += 1
            if back:
                self.core.log.infra_event(self.core.now, Infra.REPLICAS_UP, subject=sid,
                                          value=float(back))
