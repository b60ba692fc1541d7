"""First-in, first-out with head-of-line blocking.

The baseline of every cluster-scheduling study: work starts strictly in arrival order;
when the head of the queue does not fit, nothing behind it starts (which is what EASY
backfill, :mod:`emulator.policies.backfill`, improves on).
"""

from __future__ import annotations

from emulator.policies.base import ClusterView, Decision, QueuePolicy, StartJob

__all__ = ["FifoPolicy"]


class FifoPolicy(QueuePolicy):
    """Start queued work in arrival order until the first that does not fit."""

    name = "fifo"
    decides_nothing_when_full = True

    def decide(self, view: ClusterView) -> list[Decision]:
        """Start the longest prefix of the queue that fits, in order."""
        decisions: list[Decision] = []
        if not view.queue or view.free_gpus == 0:
            return decisions
        scratch = view.scratch()
        for job in view.queue:
            gpus = scratch.place(job.request)
            if gpus is None:
                break
            decisions.append(StartJob(job.work_id, gpus))
        return decisions
