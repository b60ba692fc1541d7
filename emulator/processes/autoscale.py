"""Inference autoscaling: extra replicas queued as work of their own, or withdrawn.

After each serving window the serving model says how many replicas each autoscaled
service wants more or fewer (:meth:`emulator.serving.ServingModel.scaling`). Extra
replicas are queued like any work (so policies may make training yield to them); fewer
replicas cancel queued ones first, then one still warming up, then drain the newest
running one: it admits no new request and gives its GPUs back when the requests it holds
have ended (:meth:`emulator.serving.ServingModel.remove_replica`).
"""

from __future__ import annotations

import math

import numpy as np

from emulator.core.core import Core
from emulator.placement.base import PlacementRequest
from emulator.serving import ServingModel
from emulator.serving_runtime import ServiceRuntime
from emulator.work import Work

__all__ = ["Autoscaler", "home_domains", "queue_replica"]


def home_domains(core: Core, svc: ServiceRuntime) -> np.ndarray:
    """The NVLink domains a replica of ``svc`` beyond its base allocation (an autoscaled
    extra or a failure's replacement) may use: those the service may use at its own site
    and of its own rack system. An orchestrator scales and reschedules pods inside its
    cluster, and the serving model runs every replica of a service with its site's round
    trip and its system's batch slots and step times, so a replica elsewhere would be
    served at the wrong speed."""
    index = core.index
    system = next(i for i, s in enumerate(index.systems) if s is svc.system)
    eligible = ((index.domain_site == index.site_names.index(svc.site))
                & (index.rack_system[index.domain_rack] == system))
    if svc.work.request.eligible is not None:
        eligible = eligible & svc.work.request.eligible
    return eligible


def queue_replica(core: Core, svc: ServiceRuntime) -> Work:
    """Submit one replica work of ``svc`` (one group of its GPUs, priority as the
    service's; never preempted) on the service's :func:`home_domains`: it waits in the
    queue like any work until a policy places it, and serves once warm
    (:meth:`ServingModel.add_replica`)."""
    base = svc.work
    g = base.group_size
    replica = Work(
        work_id=len(core.works), kind="replica", tenant=base.tenant,
        tenant_idx=base.tenant_idx, spec=base.spec, n_gpus=g, group_size=g,
        submit_s=core.now, priority=base.priority, preemptible=False,
        est_duration_s=math.inf,
        request=PlacementRequest(g, g, home_domains(core, svc)), parent=base.work_id)
    core.add_work(replica)
    svc.queued_replicas.append(replica)
    core.submit(replica)
    return replica


class Autoscaler:
    """Turns the serving model's scaling wishes into core verbs."""

    def __init__(self, core: Core, serving: ServingModel) -> None:
        self.core = core
        self.serving = serving

    def scale_up(self, svc: ServiceRuntime, n: int) -> None:
        """Queue ``n`` extra replicas of ``svc`` (priority as the service), on its own
        site and rack system (:func:`home_domains`)."""
        for _ in range(n):
            queue_replica(self.core, svc)

    def scale_down(self, svc: ServiceRuntime, n: int) -> None:
        """Cancel queued replicas first, then stop one still warming up, then drain the
        newest running ones (each finishes, its GPUs released, when its last request ends)."""
        now = self.core.now
        for _ in range(n):
            if svc.queued_replicas:
                self.core.cancel(svc.queued_replicas.pop(), "load fell")
                continue
            if not svc.replica_works:
                return
            replica, drained_at = self.serving.remove_replica(svc, now)
            if drained_at <= now:
                self.core.finish(replica, "scaled down")
            else:
                self.core.clock.call_in(drained_at - now,
                                        lambda s=svc, r=replica: self._drained(s, r))

    def _drained(self, svc: ServiceRuntime, replica: Work) -> None:
        """A scaled-down replica's last request ended: it stops, its GPUs go back (unless
        a failure took it meanwhile)."""
        self.serving.drained(svc, replica)
        if replica.state == "running":
            self.core.finish(replica, "scaled down")

    def apply(self) -> None:
        """Apply the serving model's scaling wishes after a window."""
        for svc, delta in self.serving.scaling(self.core.now):
            if delta > 0:
                self.scale_up(svc, delta)
            else:
                self.scale_down(svc, -delta)

    def on_start(self, work: Work) -> None:
        """A service started: serve it; an autoscaled one queues its initial extra replicas."""
        now = self.core.now
        if work.kind == "inference":
            self.serving.add(work, now)
            spec = work.spec
            if spec.autoscale is not None:  # type: ignore[union-attr]
                extra = spec.replicas - spec.base_replicas  # type: ignore[union-attr]
                if extra > 0:
                    self.scale_up(self.serving.by_work[work.work_id], extra)
        elif work.kind == "replica":
            self.serving.add_replica(work, now)
