"""The core's speed verbs: a running training job is slowed down or sped up again.

A mixin of :class:`emulator.core.core.Core` (kept apart so each file has one concern).
Power caps and lost spine bandwidth slow running jobs; :meth:`SpeedVerbs.slow` keeps one
factor per cause and :meth:`SpeedVerbs.rerate` applies their product: progress so far is
kept, the completion is rescheduled for the remaining work at the new speed, and the
change is logged (``rerate``, with the speed and the reason).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from emulator.eventlog import Ev

if TYPE_CHECKING:
    from emulator.processes.staging import Staging
    from emulator.work import Work

__all__ = ["SpeedVerbs"]


class SpeedVerbs:
    """:meth:`rerate`, :meth:`speed_factor` and :meth:`slow` of the core."""

    # provided by Core
    staging: Staging | None
    running_version: int
    any_slowed: bool

    if TYPE_CHECKING:
        @property
        def now(self) -> float: ...
        def _changed(self, work_id: int) -> None: ...
        def _schedule_completion(self, work: Work, delay: float) -> None: ...
        def _event(self, kind: Ev, work: Work, **fields: object) -> None: ...

    def rerate(self, work: Work, speed: float, reason: str = "") -> None:
        """Change a running training job's speed (1.0 = full; power caps slow jobs down).

        Progress so far is kept; the completion is rescheduled for the remaining work.
        """
        if work.state != "running" or work.kind != "training":
            raise ValueError(f"work {work.work_id} is not a running training job")
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        now = self.now
        if self.staging is not None and work.work_id in self.staging.active:
            work.speed = speed  # still copying data: the new speed applies later
            work.rate = speed / work.full_duration_s
            return
        if now > work.progress_start_s:
            work.remaining = max(0.0, work.remaining - (now - work.progress_start_s) * work.rate)
            work.progress_start_s = now
        work.speed = speed
        work.rate = speed / work.full_duration_s
        assert work.rate_changes is not None
        work.rate_changes.append((max(now, work.progress_start_s), work.rate))
        work.epoch += 1
        self.running_version += 1
        self._changed(work.work_id)
        self._schedule_completion(work, max(work.progress_start_s - now, 0.0)
                                  + work.remaining / work.rate)
        self._event(Ev.RERATE, work, speed=speed, reason=reason)

    def speed_factor(self, work: Work, cause: str) -> float:
        """The slow-down ``cause`` puts on running ``work`` now (1.0: none)."""
        factors = work.speed_factors
        return 1.0 if factors is None else factors.get(cause, 1.0)

    def slow(self, work: Work, cause: str, factor: float, reason: str) -> None:
        """Set the slow-down one ``cause`` puts on running training ``work`` (1.0: none).

        The one owner of a job's speed: each cause (``"power"``: a GPU or site power cap;
        ``"network"``: lost spine bandwidth) keeps its own factor, and the job runs at their
        product, so lifting one cause keeps the others. Re-rates only when the product
        changes. A start resets every factor (the causes re-apply on their start hooks).
        """
        factors = work.speed_factors
        if factors is None:
            if factor == 1.0:
                return
            factors = work.speed_factors = {}
            self.any_slowed = True
        factors[cause] = factor
        speed = math.prod(factors[c] for c in sorted(factors))
        if speed != work.speed:
            self.rerate(work, speed, reason)
