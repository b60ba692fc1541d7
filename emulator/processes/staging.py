"""Dataset staging over the WAN: a started training job copies its data, then computes.

The job holds its GPUs (idle) while its transfer runs; transfers on one path share its
capacity (:mod:`emulator.transfers`). Rates change when transfers start or end, after
each serving window (request traffic) and after WAN events, so every change re-schedules
the affected transfers' ends; an end that a later change superseded is ignored (epochs).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from emulator.eventlog import Ev
from emulator.transfers import Transfer, TransferModel
from emulator.work import Work
from workloads.spec import TrainingJobSpec

if TYPE_CHECKING:
    from emulator.core.core import Core

__all__ = ["Staging"]


class Staging:
    """Transfers of the jobs now staging, driven through the core's clock."""

    def __init__(self, core: Core, transfers: TransferModel) -> None:
        self.core = core
        self.transfers = transfers
        self.active: dict[int, Transfer] = {}

    def begin(self, work: Work, now: float) -> None:
        """Copy ``work``'s dataset to its site first (GPUs held, idle)."""
        spec = work.spec
        assert isinstance(spec, TrainingJobSpec) and work.gpus is not None
        idx = self.core.index
        site = idx.site_names[int(idx.gpu_site[work.gpus[0]])]
        work.progress_start_s = math.inf
        # nothing computed in this run yet: stopped while staging, it loses nothing and
        # keeps the progress it had when it started
        work.run_origin_s = math.inf
        work.remaining_at_origin = work.remaining
        work.staging_since_s = now
        self.core.set_util(work.gpus, 0.0)
        changed = self.transfers.start(work.work_id, site, spec.dataset_source or "local",
                                       spec.dataset_bytes, now)
        self.active[work.work_id] = changed[-1]
        self.reschedule(changed)

    def reschedule(self, changed: list[Transfer]) -> None:
        """New expected ends for transfers whose rate changed."""
        for transfer in changed:
            work = self.core.works[transfer.work_id]
            work.epoch += 1
            eta = self.transfers.eta_s(transfer)
            if math.isfinite(eta):
                epoch = work.epoch
                self.core.clock.call_in(eta, lambda w=work, ep=epoch: self._staged(w, ep))

    def set_request_load(self, loads: dict[tuple[str, str], float] | None, now: float) -> None:
        """Request traffic per path changed (or the WAN did): re-rate the transfers."""
        if loads is None:
            loads = self.transfers.request_bps
        self.reschedule(self.transfers.set_request_load(loads, now))

    def _staged(self, work: Work, epoch: int) -> None:
        self.core.callbacks += 1
        if work.epoch != epoch or work.work_id not in self.active:
            return
        now = self.core.now
        transfer = self.active.pop(work.work_id)
        self.reschedule(self.transfers.finish(transfer, now))
        work.staging_s += now - work.staging_since_s
        self.core.log.work_event(now, Ev.STAGED, work.work_id, work.tenant_idx, work.n_gpus)
        work.epoch += 1
        self.core.begin_compute(work, now)
        if work.after_failure:
            self.core.log_restart(work, now)

    def abandon(self, work: Work, now: float) -> None:
        """``work`` stops while staging (preempted or truncated): its transfer ends."""
        transfer = self.active.pop(work.work_id, None)
        if transfer is not None:
            work.staging_s += now - work.staging_since_s
            self.reschedule(self.transfers.finish(transfer, now))
