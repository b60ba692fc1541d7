"""Per-GPU power caps set by planned events (``action: power-cap``), applied as slow-downs.

A cap of ``W`` watts on a GPU limits the board power of whatever trains on it. A running
training job whose GPUs carry caps runs at the speed of its most capped GPU: the speed
and the power-equivalent utilisation come from :func:`emulator.power_control.cap_effect`
(the same model as the site power-cap controller), applied with :meth:`Core.slow` as the
job's ``power`` factor.
A job that starts on capped GPUs is slowed when it starts; a ``restore`` lifts every cap
of its target and returns the jobs there to full speed. The end of a timed cap (the
event's ``duration``) closes that cap only: a GPU still under another open cap (a longer
window on a larger target, or a cap set after it) keeps that one. Inference replicas are
not slowed: their latency model has no power input.

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
    """Power caps per GPU (W; ``inf`` = none) and the re-rating of the work they touch.

    Each ``set`` opens a cap window on its GPUs; a GPU's cap is that of the latest window
    still open on it. A timed window's end (:meth:`end`) closes that window only, so a
    cap set on the same GPUs later, or a longer window on a larger target, stays in force;
    an operator's restore (:meth:`lift`) closes every window on its GPUs.
    """

    def __init__(self, core: Core) -> None:
        self.core = core
        index = core.index
        self.cap_w = np.full(index.n_gpus, math.inf)
        system_of_rack = index.rack_system
        self._idle_w = np.array([s.gpu.idle_w for s in index.systems])[system_of_rack]
        self._tdp_w = np.array([s.gpu.tdp_w for s in index.systems])[system_of_rack]
        self.active = False  # True once a cap was ever set: starts are checked from then
        self._windows: dict[int, tuple[np.ndarray, float]] = {}  # id → (GPUs, W), set order
        self._next_id = 0

    def set(self, gpus: np.ndarray, cap_w: float, reason: str) -> int:
        """Cap ``gpus`` at ``cap_w`` W each; re-rate the training running on them. Returns
        the window's id, for :meth:`end`."""
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        window = self._next_id
        self._next_id += 1
        self._windows[window] = (gpus, float(cap_w))
        self.cap_w[gpus] = cap_w
        self.active = True
        self._rerate_holders(gpus, reason)
        return window

    def end(self, window: int, reason: str) -> None:
        """Close the cap window ``window`` (a timed cap's end): its GPUs take the cap of
        the latest window still open on them, or none; re-rate the training on them."""
        closed = self._windows.pop(window, None)
        if closed is None:  # already closed by a restore of its GPUs
            return
        gpus = closed[0]
        self._recompute(gpus)
        self._rerate_holders(gpus, reason)

    def lift(self, gpus: np.ndarray, reason: str) -> None:
        """Remove every cap of ``gpus`` (an operator's restore); re-rate the training
        running on them."""
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        for window, (held, cap) in list(self._windows.items()):
            kept = held[~np.isin(held, gpus)]
            if kept.size:
                self._windows[window] = (kept, cap)
            else:
                del self._windows[window]
        self.cap_w[gpus] = math.inf
        self._rerate_holders(gpus, reason)

    def _recompute(self, gpus: np.ndarray) -> None:
        """Set the caps of ``gpus`` from the windows open on them (the latest wins)."""
        self.cap_w[gpus] = math.inf
        for held, cap in self._windows.values():  # in the order they were set
            self.cap_w[held[np.isin(held, gpus)]] = cap

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
