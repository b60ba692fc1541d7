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
from emulator.policies.options import whole_number

__all__ = ["EasyBackfillPolicy"]


class EasyBackfillPolicy(QueuePolicy):
    """FIFO plus EASY backfilling behind a reservation for the blocked head."""

    name = "backfill"
    decides_nothing_when_full = True

    def __init__(self, max_scan: int = 1000, **options: Any) -> None:
        super().__init__(**options)
        max_scan = whole_number(max_scan, "max_scan")
        if max_scan < 1:
            raise ValueError(f"max_scan must be >= 1, got {max_scan}")
        self.max_scan = max_scan
        self._idle: object | None = None  # the state of the last round that started nothing

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
        queue = view.queue
        limit = min(len(queue), self.max_scan)
        # A round on the state of the last round that started nothing starts nothing either:
        # the head still does not fit, the shadow time and extra GPUs are the same, and
        # later jobs only fall out of the shadow as time passes. Skipped, not re-decided.
        token = view.idle_token(limit)
        if token is not None and token == self._idle:
            return decisions
        self._idle = None
        decisions = self._decide(view, limit)
        if not decisions:
            self._idle = token
        return decisions

    def _decide(self, view: ClusterView, limit: int) -> list[Decision]:
        decisions: list[Decision] = []
        scratch = view.scratch()
        queue = view.queue
        started: list[tuple[float, int]] = []
        i = 0
        while True:  # in arrival order until the head does not fit
            if i == limit or scratch.free_gpus == 0:
                return decisions
            head = queue[i]
            i += 1
            gpus = scratch.place(head.request)
            if gpus is None:
                break
            decisions.append(StartJob(head.work_id, gpus))
            started.append((view.now + head.est_duration_s, head.n_gpus))
        shadow, extra = self._reservation(view, head.n_gpus, scratch.free_gpus, started)
        # Free GPUs and the extra GPUs only shrink during a round, so a job that needs more
        # GPUs than are free now, or that would outlast the shadow time on more than the
        # extra GPUs, can never start in it: only the others are looked at (same
        # decisions as a step through every job, without the steps).
        sizes, estimates = (c[i:limit] for c in view.queue_columns())
        in_time = view.now + estimates <= shadow
        maybe = (sizes <= scratch.free_gpus) & (in_time | (sizes <= extra))
        for k in np.flatnonzero(maybe).tolist():
            if scratch.free_gpus == 0:
                break
            job = queue[i + k]
            ends_in_time = bool(in_time[k])
            if not ends_in_time and job.n_gpus > extra:
                continue
            gpus = scratch.place(job.request)
            if gpus is None:
                continue
            decisions.append(StartJob(job.work_id, gpus))
            if not ends_in_time:
                extra -= job.n_gpus
        return decisions
