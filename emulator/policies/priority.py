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

from collections.abc import Sequence
from typing import Any

from emulator.policies.base import ClusterView, Decision, QueuedJob, QueuePolicy, RunningJob
from emulator.policies.ordered import greedy_round, queue_order

__all__ = ["PriorityPolicy"]


class PriorityPolicy(QueuePolicy):
    """Highest priority first, FIFO within a class, preempting strictly lower classes."""

    name = "priority"

    def __init__(self, preempt: bool = True, work_conserving: bool = True,
                 **options: Any) -> None:
        super().__init__(**options)
        self.preempt = bool(preempt)
        self.work_conserving = bool(work_conserving)

    @staticmethod
    def _victims(job: QueuedJob, running: Sequence[RunningJob]) -> list[RunningJob]:
        lower = [r for r in running if r.priority < job.priority]
        return sorted(lower, key=lambda r: (r.priority, -r.start_s, r.work_id))

    def decide(self, view: ClusterView) -> list[Decision]:
        """Start by class then arrival; preempt lower classes for a blocked job."""
        t = view.queue_table()  # highest class first, then arrival, id
        order, idx = queue_order(view, t.work_id, t.submit_s, -t.priority)
        return greedy_round(view, order, self._victims if self.preempt else None,
                            blocking=not self.work_conserving,
                            sizes=t.n_gpus[idx])
