"""Power caps: the power-cap policy decides GPU limits for training; the core re-rates.

At each sample of a run whose sites have a power cap, the policy sees each site's
facility power as if nothing were capped and returns per-job GPU limits; a limit becomes a
slow-down (:func:`emulator.power_control.cap_effect`) applied with :meth:`Core.slow` (the
job's ``power`` factor; a spine bandwidth loss keeps its own).
"""

from __future__ import annotations

import numpy as np

from emulator.compute import ComputeModel
from emulator.core.core import Core
from emulator.energy.model import EnergyModel
from emulator.policies.base import PolicyError
from emulator.power_control import PowerCapPolicy, PowerView, cap_candidates, cap_effect

__all__ = ["PowerCaps"]


class PowerCaps:
    """Applies a :class:`PowerCapPolicy` at sampling ticks."""

    def __init__(self, core: Core, compute: ComputeModel, policy: PowerCapPolicy,
                 energy: EnergyModel, fabric_w: np.ndarray) -> None:
        self.core = core
        self.compute = compute
        self.policy = policy
        self.energy = energy
        self.fabric_w = fabric_w
        self._gpu_overhead_w = compute.gpu_overhead_w()

    def apply(self, now: float, pue: np.ndarray) -> None:
        """Ask the policy for GPU caps on running training and apply them (re-rating)."""
        core = self.core
        staging = core.staging.active if core.staging is not None else {}
        training = [w for w in core.running.values()
                    if w.kind == "training" and w.work_id not in staging]
        for w in training:  # the uncapped draw is what the policy must judge
            core.set_util(w.gpus, w.util)
        _r, _it, fac = self.compute.power(core.gpu_util, pue, self.fabric_w,
                                          core.rack_dirty, core.energised)
        gpu = self.compute.system_of_gpu
        jobs = cap_candidates(training, core.index.gpu_site,
                              lambda g: (gpu(g).gpu.idle_w, gpu(g).gpu.tdp_w),
                              self._gpu_overhead_w)
        view = PowerView(now, fac, self.energy.cap_at(now), pue, jobs)
        limits = {j.work_id: j for j in jobs}
        for decision in self.policy.decide(view):
            job, work = limits.get(decision.work_id), core.running.get(decision.work_id)
            if job is None or work is None:
                raise PolicyError(f"power policy capped work {decision.work_id}, which is "
                                  "not a running training job")
            speed, util = cap_effect(decision.cap_w, work.util, job.idle_w, job.tdp_w)
            core.set_util(work.gpus, util)
            if abs(speed - core.speed_factor(work, "power")) > 1e-3:
                core.slow(work, "power", speed, f"power cap {decision.cap_w:.0f} W/GPU"
                          if speed < 1.0 else "power cap lifted")
