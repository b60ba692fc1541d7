"""What a hardware failure does to serving: replicas lost, requests retried, replacements queued.

An autoscaled service's extra replica on a failed GPU ends for good (:meth:`Core.lose`);
the autoscaler sees the service one replica short after the next window and queues a
replacement. A service's *base* replicas are one allocation (the service's own work): a
failed GPU stops the replica (tensor-parallel group) it belongs to, as an orchestrator
kills the pod of a replica whose GPU turned unhealthy. The base work's run ends
(:meth:`Core.regroup`: the stopped groups' GPUs are released, the failed ones staying out
of service until their repair) and a new run starts at once on the groups the failure
spared, which keep their GPUs and serve on without a pause. Each stopped replica is
logged (:data:`Infra.REPLICAS_DOWN`, so the failure summary counts it among the replicas
lost) and replaced at once by a replica work queued like any work
(:func:`~emulator.processes.autoscale.queue_replica`) on the service's own site: it waits
in the queue until a policy places it on healthy GPUs (logged :data:`Infra.REPLICAS_UP`),
then serves after the service's cold start
(:attr:`workloads.spec.InferenceServiceSpec.replacement_delay_s`). A replacement lost to a
later failure is replaced the same way. A repair gives nothing back to the service: its
replicas are already replaced (the repaired GPUs return to the pool). Either way the
replica's in-flight requests are retried on
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
from emulator.processes.autoscale import queue_replica
from emulator.serving import ServingModel
from emulator.serving_runtime import ServiceRuntime
from emulator.work import Work

__all__ = ["ReplicaLoss"]


class ReplicaLoss:
    """Applies failures to serving replicas and queues replacements of base replicas."""

    def __init__(self, core: Core, serving: ServingModel) -> None:
        self.core = core
        self.serving = serving

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
        """Whether failed ``gpus`` leave no replica of ``svc`` up. A scaled-down replica
        still draining that ``gpus`` miss is up: it admits no new request, but serves those
        on its slots to their end (so they are neither failed nor retried)."""
        now = self.core.now
        for wid, ends in svc.draining.items():
            replica = self.core.works[wid]
            if (replica.state == "running" and replica.gpus is not None
                    and max(ends, default=-np.inf) > now
                    and not np.isin(replica.gpus, gpus).any()):
                return False
        for alloc in svc.allocations():
            if alloc.gpus is None or alloc.state != "running":
                continue
            g = alloc.group_size
            for k in range(len(alloc.gpus) // g):
                if not np.isin(alloc.gpus[k * g:(k + 1) * g], gpus).any():
                    return False
        return True

    def lose(self, work: Work, gpus: np.ndarray, cause: str) -> None:
        """Failed ``gpus`` hit serving ``work`` (a service's base work or a replica work).

        The first call for a service at a failure takes down every replica of it that
        ``gpus`` hit (its base groups and its replica works, :meth:`_take_down`) in one
        drop, so no in-flight request is retried on a replica the same failure takes (the
        calls for its other works then find theirs down already). A failure that takes
        every replica of the service first has the window's requests so far served on the
        replicas as they were (:meth:`ServingModel.serve_until`), and retries nothing.
        The base work then runs on its spared groups only (:meth:`Core.regroup`) and a
        replacement is queued for each group stopped, as for a replacement replica lost
        (an autoscaled extra replica is the autoscaler's to replace)."""
        svc = self.serving.by_work.get(work.parent if work.kind == "replica"
                                       else work.work_id)  # type: ignore[arg-type]
        if svc is not None:
            takes_all = self._takes_all(svc, gpus)
            if takes_all:  # (its in-flight requests then fail: no replica is left)
                self.serving.serve_until(svc, self.core.now)
            groups, replicas = self._take_down(svc, gpus)
            # a scaled-down replica still draining: its requests are lost with it
            draining = (self.serving.drained(svc, work) if work.kind == "replica" else [])
            count = len(groups) + replicas
            if count or draining:
                self._drop(svc, cause, retry=not takes_all, count=count, draining=draining)
            if groups:
                self._stop_base_groups(svc, groups, cause)
        if work.kind == "replica":
            self.core.lose(work, cause)
            if svc is not None and work.work_id in svc.replacing:
                svc.replacing.discard(work.work_id)
                self._replace(svc, 1)

    def _take_down(self, svc: ServiceRuntime, gpus: np.ndarray) -> tuple[list[int], int]:
        """The replicas of ``svc`` that failed ``gpus`` hit: the groups of its base work
        (their positions in its GPU list, by ``group_size``), and how many of its replica
        works (these leave it here)."""
        base = svc.work
        groups: list[int] = []
        if base.gpus is not None and base.state == "running":
            hit_pos = np.flatnonzero(np.isin(base.gpus, gpus))
            groups = sorted(set((hit_pos // base.group_size).tolist()))
        count = 0
        for replica in list(svc.replica_works):
            if replica.gpus is not None and np.isin(replica.gpus, gpus).any():
                svc.replica_works.remove(replica)
                svc.opens_at.pop(replica.work_id, None)
                count += 1
        return groups, count

    def _stop_base_groups(self, svc: ServiceRuntime, groups: list[int], cause: str) -> None:
        """Base groups ``groups`` of ``svc`` (positions in its GPU list) stopped: the base
        work runs on the others from now, and each stopped one is replaced."""
        base = svc.work
        assert base.gpus is not None
        g = base.group_size
        keep = np.ones(len(base.gpus) // g, dtype=bool)
        keep[groups] = False
        kept = base.gpus.reshape(-1, g)[keep].ravel()
        self.core.log.infra_event(self.core.now, Infra.REPLICAS_DOWN, cause,
                                  subject=base.work_id, value=float(len(groups)))
        self.core.regroup(base, kept, cause)
        self._replace(svc, len(groups))

    def _replace(self, svc: ServiceRuntime, n: int) -> None:
        """Queue ``n`` replica works replacing base replicas of ``svc`` a failure stopped,
        each on the service's own site and rack system
        (:func:`~emulator.processes.autoscale.home_domains`)."""
        for _ in range(n):
            replica = queue_replica(self.core, svc)
            if replica.state == "queued":
                svc.replacing.add(replica.work_id)
