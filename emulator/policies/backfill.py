"""EASY backfill (Lifka, "The ANL/IBM SP scheduling system", JSSPP 1995).

Work starts in arrival order. When the head of the queue does not fit, it gets a
reservation: the *shadow time* at which enough running work will have ended (by the
runtime estimates) for it to start, and the *extra* GPUs that will still be free then.
A later job may jump ahead only if it fits now and either ends (by its estimate) before
the shadow time or uses no more than the extra GPUs — so the head is never delayed,
as long as estimates hold. Reservations count GPUs, not topology; placement is checked
for real when a job starts.

Options: ``max_scan`` (default 1000) bounds how far down the queue a round looks, like
Slurm's ``bf_max_job_test``, so a very long queue costs a bounded time per round.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from emulator.policies.base import ClusterView, Decision, QueuePolicy, StartJob

__all__ = ["EasyBackfillPolicy"]


class EasyBackfillPolicy(QueuePolicy):
    """FIFO plus EASY backfilling behind a reservation for the blocked head."""

    name = "backfill"

    def __init__(self, max_scan: int = 1000, **options: Any) -> None:
        super().__init__(**options)
        if max_scan < 1:
            raise ValueError(f"max_scan must be >= 1, got {max_scan}")
        self.max_scan = int(max_scan)

    @staticmethod
    def _reservation(view: ClusterView, need: int, free_now: int,
                     started: Sequence[tuple[float, int]] = ()) -> tuple[float, int]:
        """(shadow time, extra GPUs) for a head job needing ``need`` GPUs.

        ``started`` lists (expected end, GPUs) of jobs this round already started ahead of
        the head: their GPUs are gone from ``free_now`` and come back when they end.
        """
        ends, gpus = view.release_profile()
        if started:
            ends = np.concatenate([ends, [e for e, _g in started]])
            gpus = np.concatenate([gpus, [g for _e, g in started]])
            order = np.argsort(ends, kind="stable")
            ends, gpus = ends[order], gpus[order]
        available = free_now + np.cumsum(gpus)
        finite = np.isfinite(ends)
        reached = np.flatnonzero(finite & (available >= need))
        if reached.size == 0:
            return math.inf, 0
        i = int(reached[0])
        return float(ends[i]), int(available[i] - need)

    def decide(self, view: ClusterView) -> list[Decision]:
        """Start in order; once the head blocks, backfill behind its reservation."""
        decisions: list[Decision] = []
        if not view.queue or view.free_gpus == 0:
            return decisions
        scratch = view.scratch()
        shadow: float | None = None
        extra = 0
        started: list[tuple[float, int]] = []
        for scanned, job in enumerate(view.queue):
            if scanned >= self.max_scan or scratch.free_gpus == 0:
                break
            if shadow is None:
                gpus = scratch.place(job.request)
                if gpus is not None:
                    decisions.append(StartJob(job.work_id, gpus))
                    started.append((view.now + job.est_duration_s, job.n_gpus))
                    continue
                shadow, extra = self._reservation(view, job.n_gpus, scratch.free_gpus, started)
                continue
            ends_in_time = view.now + job.est_duration_s <= shadow
            if not ends_in_time and job.n_gpus > extra:
                continue
            gpus = scratch.place(job.request)
            if gpus is None:
                continue
            decisions.append(StartJob(job.work_id, gpus))
            if not ends_in_time:
                extra -= job.n_gpus
        return decisions
