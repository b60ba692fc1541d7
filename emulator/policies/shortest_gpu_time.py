"""Tiresias's shortest-remaining-GPU-time first (``shortest-gpu`` in its simulator).

Source: the Tiresias simulator (Gu et al., NSDI 2019; github.com/SymbioticLab/Tiresias,
``simulator/run_sim.py``, ``shortest_first_sim_jobs(gputime=True)``), the
duration-aware baseline Tiresias compares against. A job's rank is its remaining
GPU-time — remaining run time × GPUs — so it needs durations (here the runtime estimate:
exact for a duration-as-given trace replay, off by the workload's ``estimate_error``
otherwise). At every scheduling round all runnable training jobs — running and waiting —
are ranked (ties keep their previous order, newcomers by arrival) and GPUs are handed out
down the ranking, preempting running jobs that lose theirs (see
:mod:`emulator.policies.reallocate`).

Remaining times are compared to the microsecond, so that float noise does not break ties.

No options.
"""

from __future__ import annotations

from emulator.policies.base import ClusterView, Decision, QueuedJob, QueuePolicy, RunningJob
from emulator.policies.ordered import services_first
from emulator.policies.reallocate import StableOrder, reallocate

__all__ = ["ShortestGpuTimePolicy"]


def remaining_gpu_s(job: QueuedJob | RunningJob, now: float) -> float:
    """Estimated remaining GPU-seconds of ``job`` at ``now``, to the microsecond."""
    left = job.expected_end_s - now if isinstance(job, RunningJob) else job.est_remaining_s
    return round(max(0.0, left) * job.n_gpus, 6)


class ShortestGpuTimePolicy(QueuePolicy):
    """Rank running and waiting jobs by remaining GPU-time; reallocate down the ranking."""

    name = "shortest-gpu-time"

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._order = StableOrder()

    def decide(self, view: ClusterView) -> list[Decision]:
        """Least remaining GPU-time first (serving work ahead of training)."""
        jobs = [*view.running, *view.queue]
        now = view.now
        ranked = self._order.sort(jobs, key=lambda j: (services_first(j),
                                                       remaining_gpu_s(j, now)))
        return reallocate(view, ranked)
