"""A custom queue policy for gpuemu: small jobs first, then arrival order.

The idea is the "small-job express lane" of batch schedulers (e.g. Slurm partitions with a
``MaxNodes`` limit for short debug jobs): jobs needing at most ``small_gpus`` GPUs start
before larger ones, so interactive and debugging work is not stuck behind big runs.

Use it from a scenario as ``scheduler.queue: my_policy:SmallJobsFirst`` with this folder on
``PYTHONPATH`` (see README.md). A policy only reads the view and returns decisions; the
engine validates and applies them.
"""

from __future__ import annotations

from typing import Any

from emulator.policies.base import ClusterView, Decision, QueuePolicy, StartJob

__all__ = ["SmallJobsFirst"]


class SmallJobsFirst(QueuePolicy):
    """Start jobs of at most ``small_gpus`` GPUs first (FIFO inside each lane)."""

    name = "small-jobs-first"

    def __init__(self, small_gpus: int = 8, **options: Any) -> None:
        super().__init__(**options)  # rejects unknown options with a clear error
        if small_gpus < 1:
            raise ValueError(f"small_gpus must be >= 1, got {small_gpus}")
        self.small_gpus = int(small_gpus)

    def decide(self, view: ClusterView) -> list[Decision]:
        """Small jobs first, then the rest; skip what does not fit (work-conserving)."""
        decisions: list[Decision] = []
        scratch = view.scratch()  # a tentative copy of free capacity for this round
        lanes = sorted(view.queue, key=lambda j: (j.n_gpus > self.small_gpus, j.submit_s,
                                                   j.work_id))
        for job in lanes:
            gpus = scratch.place(job.request)  # finds and reserves GPUs, or None
            if gpus is not None:
                decisions.append(StartJob(job.work_id, gpus))
        return decisions
