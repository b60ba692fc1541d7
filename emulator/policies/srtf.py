"""Shortest remaining time first on estimated run time, preempting longer running work.

The preemptive form of SJF (Schrage, "A proof of the optimality of the shortest remaining
processing time discipline", Operations Research 1968), as the SRTF baseline in GPU-cluster
studies (Tiresias, Gu et al., NSDI 2019). A waiting job's remaining time is its estimate
times the fraction of work left (``est_remaining_s``); a running job's is its expected end
minus now. Waiting work is started shortest-remaining first (inference services first); a
job that does not fit may preempt running preemptible training whose remaining time is
longer than ``min_ratio`` times its own, longest first. Because a running job's remaining
time only shrinks and a waiting one's does not, two jobs never preempt each other in turn.
Preempted jobs lose the work since their last checkpoint and pay a restore on restart.

Estimates carry the workload's ``estimate_error``, so mis-ranked jobs are part of the study.

Options: ``preempt`` (default ``true``) and ``min_ratio`` (default ``1.0``; e.g. ``2``
preempts only work with at least twice the remaining time, trading optimality for fewer
lost GPU-hours).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emulator.policies.base import ClusterView, Decision, QueuePolicy, RunningColumns
from emulator.policies.options import number, switch
from emulator.policies.ordered import Displacement, greedy_round, queue_order

__all__ = ["ShortestRemainingTimeFirstPolicy"]


class ShortestRemainingTimeFirstPolicy(QueuePolicy):
    """Shortest estimated remaining time first; preempt work with longer remaining time."""

    name = "srtf"

    def __init__(self, preempt: bool = True, min_ratio: float = 1.0, **options: Any) -> None:
        super().__init__(**options)
        min_ratio = number(min_ratio, "min_ratio")
        if not min_ratio >= 1.0:
            raise ValueError(f"min_ratio must be >= 1, got {min_ratio}")
        self.preempt = switch(preempt, "preempt")
        self.min_ratio = float(min_ratio)

    def decide(self, view: ClusterView) -> list[Decision]:
        """Shortest remaining first; a blocked job preempts longer remaining work (a round
        in which no queued job may displace anything starts what fits at a comparison per
        job, or is not run when nothing fits, as in :func:`live_displacement`: told from
        the longest remaining time among the running work, read without the running
        columns, against the lowest bar)."""
        if not view.queue:
            return []
        t = view.queue_table()  # services first, then remaining time, arrival, id
        remaining = t.est_remaining_s  # one product per round, for the bars and the order
        # x * 1.0 is x, bit for bit (NaN and signed zeros included): no second product
        bars = remaining if self.min_ratio == 1.0 else remaining * self.min_ratio
        # some job may displace something: the longest remaining time among the work a
        # round may preempt exceeds the lowest bar (NaN compares false, as pairwise)
        live = self.preempt and view.top_remaining_s() > np.fmin.reduce(bars)
        if not live and view.free_gpus < np.minimum.reduce(t.n_gpus):  # ndarray.min's ufunc
            return []  # nothing fits and nothing may be displaced
        order, idx = queue_order(view, t.work_id, t.submit_s, remaining, t.training)
        return greedy_round(view, order, displacement=self._displacement(view, bars[idx])
                            if live else None, sizes=t.n_gpus[idx])

    def _displacement(self, view: ClusterView, needed: np.ndarray | None) -> Displacement:
        """Victims: running work with a longer remaining time, longest first (``needed``:
        the bar of each job of the round's order, or ``None`` where only the comparison is
        asked for). :meth:`decide` builds it only in a round where some job may displace
        something (:meth:`ClusterView.top_remaining_s`, the highest of the same scores)."""
        now, ratio = view.now, self.min_ratio
        return Displacement(
            rank=lambda r: (-(r.expected_end_s - now), r.work_id),
            may_displace=lambda job, r: r.expected_end_s - now > job.est_remaining_s * ratio,
            monotone=False,  # services (infinite remaining) come first: not monotone
            rank_columns=lambda c: (c.work_id, -(c.expected_end_s - now)),
            displaces_many=None if needed is None else lambda r: r.expected_end_s - now > needed,
            score_columns=_remaining,
            rank_ties=lambda c: (c.work_id,),  # rank_columns: (work id, -remaining)
            bar=lambda job: job.est_remaining_s * ratio,
            bars=needed)


def _remaining(columns: RunningColumns) -> np.ndarray:
    """Each running job's expected remaining time at the columns' time (s): SRTF's score
    (a running job may be displaced by a job whose bar it exceeds)."""
    return columns.expected_end_s - columns.now
