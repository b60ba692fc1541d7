"""Tiresias's smallest-GPU-first (``sjf`` in its simulator): fewest GPUs first, preemptive.

Source: the Tiresias simulator (Gu et al., "Tiresias: A GPU Cluster Manager for
Distributed Deep Learning", NSDI 2019; github.com/SymbioticLab/Tiresias,
``simulator/run_sim.py``, ``smallest_first_sim_jobs``), where ``sjf`` means
*smallest job first in GPUs*, not shortest duration. At every scheduling round all
runnable training jobs — running and waiting — are ranked by GPU count (ties keep their
previous order, newcomers by arrival), and GPUs are handed out down that ranking, skipping
jobs that do not fit; a running job that loses its GPUs is preempted (see
:mod:`emulator.policies.reallocate`). gpuemu's own ``sjf`` is different: shortest
*estimated duration* first, non-preemptive.

No options.
"""

from __future__ import annotations

from emulator.policies.base import ClusterView, Decision, QueuePolicy
from emulator.policies.ordered import services_first
from emulator.policies.reallocate import StableOrder, reallocate

__all__ = ["SmallestGpuFirstPolicy"]


class SmallestGpuFirstPolicy(QueuePolicy):
    """Rank running and waiting jobs by GPU count; reallocate the cluster down the ranking."""

    name = "smallest-gpu-first"

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._order = StableOrder()

    def decide(self, view: ClusterView) -> list[Decision]:
        """Fewest GPUs first (serving work ahead of training)."""
        jobs = [*view.running, *view.queue]
        ranked = self._order.sort(jobs, key=lambda j: (services_first(j), j.n_gpus))
        return reallocate(view, ranked)
