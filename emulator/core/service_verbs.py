"""The core's out-of-service verbs: GPUs taken out of service and back, drained and undrained.

A mixin of :class:`emulator.core.core.Core` (kept apart so each file has one concern):
:meth:`disrupt` takes GPUs out of service (training on them is preempted and keeps its
last checkpoint), :meth:`restore` brings them back, :meth:`drain` sets GPUs aside for
maintenance (never allocated, holders run to their end) and :meth:`undrain` ends that
(drains nest: a GPU drained by two windows stays draining until both ended).
Each appends a typed infrastructure event. Failures with detection, repair and restart
are :mod:`emulator.core.failure_verbs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from emulator.eventlog import Infra

if TYPE_CHECKING:
    from emulator.core.allocation import ClusterState
    from emulator.core.clock import Clock
    from emulator.eventlog import EventLog
    from emulator.work import Work

__all__ = ["ServiceVerbs"]


class ServiceVerbs:
    """:meth:`disrupt`, :meth:`restore`, :meth:`drain` and :meth:`undrain` of the core."""

    # provided by Core
    clock: Clock
    cluster: ClusterState
    log: EventLog
    works: list[Work]
    wants_round: Callable[[], None]

    running_version: int

    if TYPE_CHECKING:
        @property
        def now(self) -> float: ...
        def preempt(self, work: Work, reason: str = "", *, who: str = "") -> None: ...
        def _changed(self, work_id: int) -> None: ...

    def disrupt(self, gpus: np.ndarray, reason: str, until: float = math.inf) -> list[int]:
        """Take ``gpus`` out of service until ``until`` (s; ``inf``: until :meth:`restore`).

        Training on any of them is preempted (it keeps its last checkpoint); serving work
        keeps what it holds, but GPUs out of service are never allocated again until
        restored. Returns the ids of the preempted work.
        """
        gpus = np.asarray(gpus, dtype=np.int64)
        holders = self.cluster.take_down(gpus)
        self.log.infra_event(self.now, Infra.GPUS_DOWN, reason, value=float(gpus.size),
                             gpus=gpus)
        hit = []
        for work_id in holders.tolist():
            work = self.works[work_id]
            if work.kind == "training":
                self.preempt(work, reason, who="disruption")
                hit.append(work_id)
        if math.isfinite(until):
            self.clock.call_in(max(until - self.now, 0.0), lambda: self.restore(gpus, reason))
        return hit

    def restore(self, gpus: np.ndarray, reason: str = "") -> None:
        """Return out-of-service ``gpus`` to service."""
        freed = self.cluster.bring_up(gpus)
        self.log.infra_event(self.now, Infra.GPUS_UP, reason, value=float(np.size(gpus)),
                             gpus=gpus)
        if freed:
            self.wants_round()

    def drain(self, gpus: np.ndarray, reason: str = "") -> None:
        """Set ``gpus`` draining (maintenance): no new work is placed on them, work holding
        them keeps running until it ends; they stay unavailable until :meth:`undrain`."""
        gpus = np.asarray(gpus, dtype=np.int64)
        self.cluster.drain(gpus)
        self._holders_changed(gpus)  # their GPUs there no longer come back when they end
        self.log.infra_event(self.now, Infra.DRAIN, reason, value=float(gpus.size),
                             gpus=gpus)

    def undrain(self, gpus: np.ndarray, reason: str = "", *, every: bool = False) -> None:
        """End one drain of ``gpus`` (a timed window's end; ``every``: all drains open on
        them, an operator's restore); those with no drain left and not out of service
        become free."""
        gpus = np.asarray(gpus, dtype=np.int64)
        freed = self.cluster.undrain(gpus, every=every)
        self._holders_changed(gpus)  # their GPUs there come back when they end again
        self.log.infra_event(self.now, Infra.UNDRAIN, reason, value=float(np.size(gpus)),
                             gpus=gpus)
        if freed:
            self.wants_round()

    def _holders_changed(self, gpus: np.ndarray) -> None:
        """Note that the work holding any of ``gpus`` changed (what it gives back at its
        end, for backfill's release profile)."""
        held = self.cluster.owner[gpus]
        holders = np.unique(held[held >= 0])
        for work_id in holders.tolist():
            self._changed(work_id)
        if holders.size:
            self.running_version += 1
