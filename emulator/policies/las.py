"""Discretised two-dimensional least-attained-service (2D-LAS), after Tiresias.

Tiresias (Gu et al., "Tiresias: A GPU Cluster Manager for Distributed Deep Learning",
NSDI 2019) schedules without knowing job durations: a job's priority falls as its
*attained service* grows, measured in two dimensions — GPUs × time, i.e. GPU-seconds.
Priorities are discretised into a few queues by thresholds on attained GPU-seconds
(the "discretised 2D-LAS" of the paper): a job starts in queue 0 and is demoted to
queue ``k`` once it has attained ``thresholds[k-1]`` GPU-seconds. Queues are served in
order, FIFO (by arrival) inside a queue, which avoids the endless preemption of
continuous LAS. A waiting job that does not fit may preempt running preemptible training
in a *higher-numbered* (lower-priority) queue — most-demoted first, latest started first.
Since attained service only grows, a preempted job cannot preempt its preemptor back.
Inference services go first and are never preempted.

Preempted jobs keep the work up to their last checkpoint and pay their restore time when
they restart (counted by the engine as lost GPU-seconds). Demotion is noticed at the next
scheduling round (an arrival or a completion), not at the instant a threshold is crossed.

Options: ``thresholds`` — attained GPU-time at each demotion, as GPU-seconds or durations
(``"2h"`` = 2 GPU-hours); default ``["1h", "16h"]`` (three queues); ``preempt`` (default
``true``).
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from emulator.policies.base import ClusterView, Decision, QueuePolicy
from emulator.policies.live_displacement import live_displacement
from emulator.policies.options import switch
from emulator.policies.ordered import (
    Displacement,
    as_seconds_list,
    greedy_round,
    queue_order,
)

__all__ = ["LeastAttainedServicePolicy"]


class LeastAttainedServicePolicy(QueuePolicy):
    """Tiresias-style discretised 2D-LAS on attained GPU-seconds, with preemption."""

    name = "las"

    def __init__(self, thresholds: Any = ("1h", "16h"), preempt: bool = True,
                 **options: Any) -> None:
        super().__init__(**options)
        self.thresholds = as_seconds_list(thresholds, "thresholds")
        self._bounds = np.array(self.thresholds, dtype=np.float64)
        self.preempt = switch(preempt, "preempt")
        self._displacement = self._victims() if self.preempt else None

    def level(self, attained_gpu_s: float) -> int:
        """The queue (0 = highest priority) of a job that attained ``attained_gpu_s``."""
        return bisect.bisect_right(self.thresholds, attained_gpu_s)

    def decide(self, view: ClusterView) -> list[Decision]:
        """Serve queue 0 first, FIFO inside; preempt more-demoted work for a blocked job (a
        round in which no queued job may displace anything starts what fits at a comparison
        per job, or is not run when nothing fits: :func:`live_displacement`; when all
        preemptible running work is in queue 0, which its top attained service tells
        without reading the running columns, nothing may be displaced)."""
        if not view.queue:
            return []
        displacement = self._displacement
        if displacement is not None and self.level(view.top_attained_gpu_s()) == 0:
            displacement = None  # all preemptible running work is in queue 0
        if displacement is None and view.free_gpus == 0:
            return []  # and nothing fits
        t = view.queue_table()  # services first, then level, arrival, id
        levels = self._levels(t.attained_gpu_s)
        if displacement is not None:
            displacement = live_displacement(view, levels, displacement)
        if displacement is None and view.free_gpus < t.n_gpus.min():
            return []  # nothing fits and nothing may be displaced
        order, idx = queue_order(view, t.work_id, t.submit_s, levels, t.training)
        return greedy_round(view, order, displacement=displacement, sizes=t.n_gpus[idx])

    def _victims(self) -> Displacement:
        """More-demoted running work, most demoted first, then latest started."""
        level = self.level
        return Displacement(
            rank=lambda r: (-level(r.attained_gpu_s), -r.start_s, r.work_id),
            may_displace=lambda job, r: level(r.attained_gpu_s) > level(job.attained_gpu_s),
            monotone=True,  # the queue order has non-decreasing levels
            rank_columns=lambda c: (c.work_id, -c.start_s, -self._levels(c.attained_gpu_s)),
            score_columns=lambda c: self._levels(c.attained_gpu_s),
            rank_ties=lambda c: (c.work_id, -c.start_s),  # rank_columns less -level
            bar=lambda job: level(job.attained_gpu_s))

    def _levels(self, attained_gpu_s: np.ndarray) -> np.ndarray:
        """The queue of each entry of ``attained_gpu_s`` (GPU-seconds)."""
        return self._bounds.searchsorted(attained_gpu_s, side="right")
