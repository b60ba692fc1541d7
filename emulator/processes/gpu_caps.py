"""Per-GPU power caps set by planned events (``action: power-cap``), applied as slow-downs.

A cap of ``W`` watts on a GPU limits the board power of whatever trains on it. A running
training job whose GPUs carry caps runs at the speed of its most capped GPU: the speed
and the power-equivalent utilisation come from :func:`emulator.power_control.cap_effect`
(the same model as the site power-cap controller), applied with :meth:`Core.slow` as the
job's ``power`` factor.
A job that starts on capped GPUs is slowed when it starts; lifting the caps (``restore``
or the event's ``duration``) returns the jobs on those GPUs to full speed. Inference
replicas are not slowed: their latency model has no power input.

The site power-cap controller (:mod:`emulator.processes.power_caps`) re-decides GPU caps
of every running job at each sample, so the build refuses ``power-cap`` events in a
scenario with a site power cap rather than let the two fight over the same jobs.

Known limit: a job that copies its dataset before computing (``dataset:``) runs at the
capped speed, but its power is drawn at the uncapped utilisation once the copy ends.
"""

from __future__ import annotations

import math

import numpy as np

from emulator.core.core import Core
from emulator.power_control import cap_effect
from emulator.work import Work

__all__ = ["GpuCaps"]


class GpuCaps:
    """Power caps per GPU (W; ``inf`` = none) and the re-rating of the work they touch."""

    def __init__(self, core: Core) -> None:
        self.core = core
        index = core.index
        self.cap_w = np.full(index.n_gpus, math.inf)
        system_of_rack = index.rack_system
        self._idle_w = np.array([s.gpu.idle_w for s in index.systems])[system_of_rack]
        self._tdp_w = np.array([s.gpu.tdp_w for s in index.systems])[system_of_rack]
        self.active = False  # True once a cap was ever set: starts are checked from then

    def set(self, gpus: np.ndarray, cap_w: float, reason: str) -> None:
        """Cap ``gpus`` at ``cap_w`` W each; re-rate the training running on them."""
        self.cap_w[gpus] = cap_w
        self.active = True
        self._rerate_holders(gpus, reason)

    def lift(self, gpus: np.ndarray, reason: str) -> None:
        """Remove the caps of ``gpus``; re-rate the training running on them."""
        self.cap_w[gpus] = math.inf
        self._rerate_holders(gpus, reason)

    def on_start(self, work: Work) -> None:
        """A start hook: work starting on capped GPUs is slowed at once."""
        if self.active and work.kind == "training":
            self._apply(work, "power cap")

    def _rerate_holders(self, gpus: np.ndarray, reason: str) -> None:
        owners = self.core.cluster.owner[gpus]
        for work_id in np.unique(owners[owners >= 0]).tolist():
            work = self.core.works[work_id]
            if work.kind == "training" and work.state == "running":
                self._apply(work, reason)

    def _apply(self, work: Work, reason: str) -> None:
        core = self.core
        assert work.gpus is not None
        cap = float(self.cap_w[work.gpus].min())
        rack = int(core.index.gpu_rack[work.gpus[0]])
        if math.isfinite(cap):
            speed, util = cap_effect(cap, work.util, float(self._idle_w[rack]),
                                     float(self._tdp_w[rack]))
        else:
            speed, util = 1.0, work.util
        core.slow(work, "power", speed, reason)
        staging = core.staging.active if core.staging is not None else {}
        if work.work_id not in staging:  # copying data: its GPUs draw idle power meanwhile
            core.set_util(work.gpus, util)
