"""Shortest job first on estimated run time (non-preemptive).

The textbook result that serving the shortest job first minimises mean completion time
(Smith's rule; for clusters see the SJF baselines of Tiresias, Gu et al., NSDI 2019, and
Gavel, Narayanan et al., OSDI 2020). Here the "size" is the job's *estimated* duration
(``est_duration_s``): the composition root estimates it from the model and, when the
workload sets ``estimate_error``, multiplies it by a lognormal error, so the policy is only
as good as its estimates. Inference services, which run until the horizon, go first.

Long jobs can starve while short ones keep arriving; that is SJF's known price.

Options: ``work_conserving`` (default ``true``): a job that does not fit does not block
shorter-ranked-later jobs; ``false`` gives head-of-line blocking in SJF order.
"""

from __future__ import annotations

from typing import Any

from emulator.policies.base import ClusterView, Decision, QueuePolicy
from emulator.policies.options import switch
from emulator.policies.ordered import greedy_round, queue_order

__all__ = ["ShortestJobFirstPolicy"]


class ShortestJobFirstPolicy(QueuePolicy):
    """Start waiting work in order of estimated duration (services first)."""

    name = "sjf"

    def __init__(self, work_conserving: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.work_conserving = switch(work_conserving, "work_conserving")

    def decide(self, view: ClusterView) -> list[Decision]:
        """Shortest estimate first; ties by arrival."""
        t = view.queue_table()  # services first, then estimate, arrival, id
        order, idx = queue_order(view, t.work_id, t.submit_s, t.est_duration_s, t.training)
        return greedy_round(view, order, blocking=not self.work_conserving,
                            sizes=t.n_gpus[idx])
