"""The core's failure verbs: a component fails or is repaired, work on it stops.

A mixin of :class:`emulator.core.core.Core` (kept apart so each file has one concern): it
uses the core's cluster state, log, clock, queue and stop helpers, and appends typed
events like every other verb.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np

from emulator.eventlog import Ev, Infra
from emulator.placement.base import PlacementRequest
from topologies.index import TIER_NVLINK, TopologyIndex

if TYPE_CHECKING:
    from emulator.core.allocation import ClusterState
    from emulator.core.clock import Clock
    from emulator.core.queue import WorkQueue
    from emulator.core.running_table import RunningTable
    from emulator.eventlog import EventLog
    from emulator.work import Work

__all__ = ["FailureEffect", "FailureVerbs"]

FailureEffect = Literal["down", "scale_out", "restart", "bandwidth"]
"""What a failure does to its GPUs (see :meth:`FailureVerbs.fail`;
:func:`topologies.reliability.effect_of` gives a class's)."""


class FailureVerbs:
    """:meth:`fail`, :meth:`repair`, :meth:`interrupt`, :meth:`lose` and :meth:`regroup`
    of the core."""

    # provided by Core
    clock: Clock
    cluster: ClusterState
    log: EventLog
    queue: WorkQueue
    works: list[Work]
    held: dict[int, Work]
    callbacks: int
    wants_round: Callable[[], None]
    index: TopologyIndex
    running_table: RunningTable
    running_version: int
    tenant_gpus: list[int]
    keep_segments: bool

    if TYPE_CHECKING:
        @property
        def now(self) -> float: ...
        def _stop_training(self, work: Work) -> float: ...
        def _release(self, work: Work) -> None: ...
        def _event(self, kind: Ev, work: Work, **fields: object) -> None: ...
        def _ended(self) -> None: ...
        def _changed(self, work_id: int) -> None: ...
        def set_util(self, gpus: np.ndarray, util: float) -> None: ...

    def interrupt(self, work: Work, cause: str, detection_s: float, restart_s: float) -> None:
        """A failure stops running training ``work``.

        It loses the work since its last checkpoint, is ``held`` (out of the queue) for
        ``detection_s`` while the fault is found, then waits in the queue again; its next
        start pays its checkpoint restore plus ``restart_s`` of relaunch overhead.
        """
        if work.state != "running" or work.kind != "training":
            raise ValueError(f"work {work.work_id} is not a running training job")
        lost = self._stop_training(work)
        work.interruptions += 1
        work.restart_s = restart_s
        work.after_failure = True
        work.state = "held"
        self.held[work.work_id] = work
        self._event(Ev.INTERRUPT, work, lost_gpu_s=lost, remaining=work.remaining,
                    reason=cause)
        epoch = work.epoch
        self.clock.call_in(max(detection_s, 0.0), lambda: self._requeue(work, epoch))

    def _requeue(self, work: Work, epoch: int) -> None:
        self.callbacks += 1
        if work.state != "held" or work.epoch != epoch:
            return  # the run ended meanwhile (truncated)
        del self.held[work.work_id]
        work.state = "queued"
        self.queue.insert(work)
        self._event(Ev.REQUEUE, work)
        self.wants_round()

    def lose(self, work: Work, cause: str) -> None:
        """A serving replica on failed hardware is lost for good (it gives back its GPUs)."""
        if work.state != "running" or work.kind != "replica":
            raise ValueError(f"work {work.work_id} is not a running serving replica")
        now = self.now
        work.attained_gpu_s += work.n_gpus * (now - work.start_s)
        self._release(work)
        work.state = "lost"
        work.end_s = now
        work.gpus = None
        self._event(Ev.LOST, work, reason=cause)
        self._ended()
        self.wants_round()

    def regroup(self, work: Work, keep: np.ndarray, cause: str) -> None:
        """A failure stopped some replica groups of a running service's base ``work``.

        Its run ends as a training job's does on a failure (an ``interrupt`` row, nothing
        lost: serving keeps no progress; :attr:`Work.interruptions` counts it). ``keep``
        (GPU ids, group by group) are the GPUs of the groups the failure spared: a new run
        starts on them at once (a ``start`` row, ``n_gpus`` the GPUs kept), so they serve
        on without a pause. The work never lets go of them: only the stopped groups' GPUs
        are released (the failed ones staying out of service until their repair), so a
        kept GPU that is draining, out of service for maintenance or cut off from the
        scale-out network stays the work's, as it would had nothing failed. With nothing
        to keep the work holds no GPU from now on (``held`` until the horizon).
        Replacements for the groups stopped are the caller's
        (:class:`emulator.processes.replica_loss.ReplicaLoss` queues replica work).
        """
        if work.state != "running" or work.kind != "inference":
            raise ValueError(f"work {work.work_id} is not a running service's base work")
        keep = np.asarray(keep, dtype=np.int64)
        if keep.size % work.group_size or not np.isin(keep, work.gpus).all():  # type: ignore[arg-type]
            raise ValueError(f"work {work.work_id}: the GPUs kept are not whole groups of "
                             "those it holds")
        now = self.now
        work.attained_gpu_s += work.n_gpus * (now - work.start_s)
        if not keep.size:
            self._release(work)
            work.gpus = None
            work.interruptions += 1
            self._event(Ev.INTERRUPT, work, lost_gpu_s=0.0, reason=cause)
            work.view = None
            work.state = "held"
            self.held[work.work_id] = work
            self.wants_round()
            return
        assert work.gpus is not None
        if self.keep_segments:
            work.close_segment(now)
        stopped = work.gpus[~np.isin(work.gpus, keep)]
        # the stopped groups' GPUs only go back (those out of service or draining stay
        # unavailable); the kept ones stay allocated to the work throughout
        self.cluster.release(stopped, work.work_id)
        self.set_util(stopped, 0.0)
        work.span = None  # its GPUs are no longer one consecutive run of ids
        work.held_by_domain = None
        if self.running_table.active:
            self.running_table.remove(work.work_id)
        self.tenant_gpus[work.tenant_idx] -= int(stopped.size)
        work.interruptions += 1
        self._event(Ev.INTERRUPT, work, lost_gpu_s=0.0, reason=cause)
        work.view = None  # its size changes: a policy's view of it is made again
        gpus = np.array(keep, dtype=np.int64)
        gpus.setflags(write=False)
        work.gpus = gpus
        work.n_gpus = int(keep.size)
        work.request = PlacementRequest(work.n_gpus, work.group_size, work.request.eligible)
        work.start_s = now
        placement = np.unique(self.index.gpu_domain[gpus], return_counts=True)
        work.tier = (TIER_NVLINK if placement[0].size == 1
                     else self.index.slowest_tier(gpus))
        work.domains = None
        if self.running_table.active:
            self.running_table.add(work)
        self.running_version += 1
        self._changed(work.work_id)
        self._event(Ev.START, work, tier=work.tier, speed=1.0, placement=placement)
        self.wants_round()

    def fail(self, gpus: np.ndarray, cause: str, code: int, *,
             effect: FailureEffect = "down", logged: bool = True) -> list[Work]:
        """A component of failure class ``code`` failed, affecting ``gpus``.

        ``effect``: ``"down"`` — the GPUs go out of service until :meth:`repair`;
        ``"scale_out"`` — they lose only their scale-out network (a NIC or leaf switch):
        still usable inside one NVLink domain, never by a placement spanning domains;
        ``"restart"`` — a software fault, nothing is lost. Logs the failure (value: all of
        ``gpus``) unless ``logged`` is false (the caller logs it its own way: a spine
        switch). Returns the work this failure stops: holders of GPUs newly down,
        training spanning domains on GPUs newly cut off (serving replicas are groups
        inside one domain: they keep serving), or (software) any holder. The
        caller decides what each loses (:meth:`interrupt`, :meth:`lose`).
        """
        gpus = np.asarray(gpus, dtype=np.int64)
        if effect == "down":
            holders = self.cluster.take_down(gpus)
        elif effect == "scale_out":
            holders = self.cluster.isolate(gpus)
        elif effect == "restart":
            held = self.cluster.owner[gpus]
            holders = np.unique(held[held >= 0])
        else:
            raise ValueError(f"fail() takes GPUs down, cuts them off or restarts their "
                             f"work, not {effect!r}")
        if logged:
            self.log.infra_event(self.now, Infra.FAILURE, cause, subject=code,
                                 value=float(gpus.size), gpus=gpus)
        hit = [self.works[i] for i in holders.tolist()]
        if effect == "scale_out":  # serving replicas are groups inside one domain: spared
            hit = [w for w in hit if w.kind == "training" and w.tier != TIER_NVLINK]
        return hit

    def repair(self, gpus: np.ndarray, cause: str, code: int, *,
               up: np.ndarray | None = None, effect: FailureEffect = "down",
               logged: bool = True, where: np.ndarray | None = None) -> None:
        """The component of class ``code`` whose failure affected ``gpus`` is repaired;
        ``up`` of them (default all; fewer when another failure still holds some) return
        to service (``effect="scale_out"``: get their scale-out network back). The log
        records the component's GPU count and its GPUs' range (``where``, default
        ``gpus``: an operator's restore gives its whole target) unless ``logged`` is
        false."""
        back = gpus if up is None else up
        if effect == "scale_out":
            freed = self.cluster.reconnect(back)  # multi-domain work may fit again
        else:
            freed = self.cluster.bring_up(back)
        if logged:
            self.log.infra_event(self.now, Infra.REPAIR, cause, subject=code,
                                 value=float(np.size(gpus)),
                                 gpus=gpus if where is None else where)
        if freed:
            self.wants_round()
