"""Strict priority classes with preemption (the classic multi-level priority scheduler).

Work is considered class by class, highest ``priority`` first (a job's priority is its
tenant's plus its workload's; an inference service has its tenant's), and in arrival order
inside a class — the discipline of Borg's production vs. batch bands and of Kubernetes'
``PriorityClass`` with preemption (Verma et al., "Large-scale cluster management at Google
with Borg", EuroSys 2015). A waiting job that does not fit may preempt running preemptible
training of *strictly lower* priority, lowest class first and latest started first within
a class (so the least progress since a restart is put at risk); this is how training
yields to inference services whose tenant has a higher priority. Preempted training loses
the work since its last checkpoint and pays its restore time when it restarts.

Options:

- ``preempt`` (default ``true``): allow preemption of lower classes.
- ``work_conserving`` (default ``true``): when a job cannot start, later (lower or equal
  priority) jobs that fit may start; ``false`` blocks everything behind it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emulator.policies.arrival_skip import ArrivalSkip
from emulator.policies.base import ClusterView, Decision, QueuePolicy
from emulator.policies.options import switch
from emulator.policies.ordered import Displacement, greedy_round, queue_order

__all__ = ["PriorityPolicy"]

LOWER_CLASSES = Displacement(
    rank=lambda r: (r.priority, -r.start_s, r.work_id),
    may_displace=lambda job, r: r.priority < job.priority,
    monotone=True,
    rank_columns=lambda c: (c.work_id, -c.start_s, c.priority),
    score_columns=lambda c: -c.priority.astype(np.float64),
    bar=lambda job: -float(job.priority))
"""Victims of a blocked job: running work of strictly lower priority, lowest class first,
then latest started. Ranked once per round on the running columns, and monotone along the
queue order (a later job never has a higher priority), so a round stops looking for
victims at the first job that has none instead of scanning the running work again for
every blocked job of a deep queue."""


class PriorityPolicy(QueuePolicy):
    """Highest priority first, FIFO within a class, preempting strictly lower classes."""

    name = "priority"

    def __init__(self, preempt: bool = True, work_conserving: bool = True,
                 **options: Any) -> None:
        super().__init__(**options)
        self.preempt = switch(preempt, "preempt")
        self.work_conserving = switch(work_conserving, "work_conserving")
        self._skip = ArrivalSkip(preempts=self.preempt)
        self._displacement = LOWER_CLASSES if self.preempt else None

    def decide(self, view: ClusterView) -> list[Decision]:
        """Start by class then arrival; preempt lower classes for a blocked job (a round
        that only arrivals triggered after an empty one is answered from the new jobs:
        :class:`ArrivalSkip`)."""
        return self._skip.decide(view, self._round, self._alone)

    def _round(self, view: ClusterView) -> list[Decision]:
        t = view.queue_table()  # highest class first, then arrival, id
        order, idx = queue_order(view, t.work_id, t.submit_s, -t.priority)
        return greedy_round(view, order,
                            displacement=self._displacement,
                            blocking=not self.work_conserving,
                            sizes=t.n_gpus[idx])

    def _alone(self, view: ClusterView, position: int) -> list[Decision]:
        job = view.queue[position]
        return greedy_round(view, [job],
                            displacement=self._displacement,
                            sizes=np.array([job.n_gpus]))
