"""The core's launch verbs: what a round started begins to run, and when it completes.

A mixin of :class:`emulator.core.core.Core` (kept apart so each file has one concern):
:meth:`LaunchVerbs.launch` evaluates the training kernel once for everything a round
started (the step time, utilisation and duration of each job shape), logs each start with
its placement, and begins computing (or staging the dataset first);
:meth:`LaunchVerbs.begin_compute` sets a training job's progress and schedules its
completion on the clock, superseded by any later preemption or re-rating (an epoch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from emulator.eventlog import Ev
from workloads.spec import TrainingJobSpec

if TYPE_CHECKING:
    from emulator.checkpointing import YoungDalyCadence
    from emulator.core.clock import Clock
    from emulator.core.training import ShapeCache
    from emulator.eventlog import EventLog
    from emulator.processes.staging import Staging
    from emulator.work import Work
    from topologies.index import TopologyIndex

__all__ = ["LaunchVerbs"]


class LaunchVerbs:
    """:meth:`launch` and :meth:`begin_compute` of the core, and its completions."""

    # provided by Core
    clock: Clock
    log: EventLog
    index: TopologyIndex
    shapes: ShapeCache
    cadence: YoungDalyCadence | None
    staging: Staging | None
    callbacks: int
    on_start: Callable[[Work], None]

    if TYPE_CHECKING:
        @property
        def now(self) -> float: ...
        def _event(self, kind: Ev, work: Work, **fields: object) -> None: ...
        def set_util(self, gpus: np.ndarray, util: float) -> None: ...
        def set_util_span(self, lo: int, hi: int, util: float) -> None: ...
        def finish(self, work: Work, reason: str = "") -> None: ...

    def launch(self, started: list[Work]) -> None:
        """Kernels once for everything started this round, then completions and starts logged."""
        now = self.now
        training = [w for w in started if w.kind == "training"]
        if training:
            if self.cadence is not None:
                self.cadence.apply(training)
            specs: list[TrainingJobSpec] = [w.spec for w in training]  # type: ignore[misc]
            first = [w.span[0] if w.span is not None else int(w.gpus[0])  # type: ignore[index]
                     for w in training]
            tiers = [w.tier for w in training]
            steps, utils, durations = self.shapes.estimate(specs, first, tiers)
            for work, spec, step, util, full in zip(training, specs, steps, utils, durations,
                                                    strict=True):
                work.step_s = step
                work.util = util
                work.full_duration_s = full
                work.speed = 1.0
                work.speed_factors = None
                work.rate = 1.0 / work.full_duration_s
                if spec.dataset_bytes > 0 and self.staging is not None:
                    self.staging.begin(work, now)
                else:
                    self.begin_compute(work, now)
        log = self.log
        for work in started:
            placement = work.domains
            if placement is None:
                placement = np.unique(self.index.gpu_domain[work.gpus], return_counts=True)
            work.domains = None
            log.work_event(now, Ev.START, work.work_id, work.tenant_idx, work.n_gpus,
                           tier=work.tier, speed=1.0, placement=placement)
            if work.kind == "training" and work.work_id in self._staging_ids():
                self._event(Ev.STAGE, work)  # its restart, if any, is logged once staged
            elif work.kind == "training" and work.after_failure:
                self.log_restart(work, now)
        for work in started:
            self.on_start(work)

    def _staging_ids(self) -> dict[int, object]:
        return self.staging.active if self.staging is not None else {}

    def log_restart(self, work: Work, now: float) -> None:
        """After a failure: the restore + relaunch overhead (s) ``work`` pays from ``now``,
        before computing again (logged when it begins: at its start, or once its
        dataset is staged)."""
        self._event(Ev.RESTART, work, speed=work.progress_start_s - now)
        work.after_failure = False

    def begin_compute(self, work: Work, now: float) -> None:
        """Start (or resume) a training job's computation at ``now``."""
        spec = work.spec
        assert isinstance(spec, TrainingJobSpec)
        restore = spec.checkpoint_cost_s + work.restart_s if work.preemptions else 0.0
        work.restart_s = 0.0  # the relaunch overhead of the last failure, paid now
        work.progress_start_s = now + restore
        work.run_origin_s = work.progress_start_s
        work.remaining_at_origin = work.remaining
        work.rate_changes = [(work.progress_start_s, work.rate)]
        work.duration_s = restore + work.remaining / work.rate
        if spec.runtime_s is not None:
            # Duration as given: remaining seconds without the 1/rate round trip, the end
            # snapped to the microsecond so that a job of whole-second duration ends exactly
            # when a trace event of the same second happens (as the peers' simulators batch).
            end = round(work.progress_start_s
                        + work.remaining * work.full_duration_s / work.speed, 6)
            work.duration_s = max(0.0, end - now)
        if work.span is not None:
            self.set_util_span(*work.span, work.util)
        else:
            self.set_util(work.gpus, work.util)
        self._schedule_completion(work, work.duration_s)

    def _schedule_completion(self, work: Work, delay: float) -> None:
        epoch = work.epoch
        self.clock.call_in(delay, lambda: self._complete(work, epoch))

    def _complete(self, work: Work, epoch: int) -> None:
        self.callbacks += 1
        if work.epoch != epoch or work.state != "running":
            return  # superseded (preempted or re-rated) before this call fired
        self.finish(work)
