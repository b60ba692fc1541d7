"""Hardware failures during a run: sampled failures and operator injections (one process).

Every failure of the run is sampled before it starts (:func:`emulator.failure_plan.
sample_failures`, stream ``failures``); one simpy process walks the list. A failure, sampled
or injected through :meth:`FailureModel.inject`, is applied the same way:

1. the component's GPUs (its blast radius) go out of service, through :meth:`Core.fail`
   — or, for a NIC or leaf switch (:data:`~topologies.reliability.SCALE_OUT_LOSS`), only
   lose their scale-out network, or, for a ``software`` fault, nothing at all; a rack,
   feed or tray (:data:`~topologies.reliability.POWER_LOSS`) also loses its power: its
   GPUs and their share of the rack overhead draw 0 W until they are back;
2. training on any of them is interrupted (:meth:`Core.interrupt`; after a NIC or switch
   failure only training spanning NVLink domains, the rest runs on): it loses the work since
   its last checkpoint, waits ``detection`` for the fault to be found, then queues again
   and pays its checkpoint restore plus the site's ``restart`` overhead when re-placed on
   healthy GPUs (or when a spare or repair frees some);
3. serving replicas on GPUs gone down are lost (a replica is a tensor-parallel group inside
   one NVLink domain, so a NIC or switch failure spares it): an autoscaled replica ends
   (:meth:`Core.lose`) and
   the autoscaler replaces it after the next window; a service's base replica stops, its
   healthy GPUs go back to the pool and a replacement is queued at once, which serves after
   the service's cold start once placed (:class:`ReplicaLoss`); in-flight requests are
   retried on the other replicas (counted) or fail when none is left;
4. the GPUs come back after the class's ``repair`` time, or after ``spare_swap`` when the
   site has a hot-spare tray left and the failure is within one tray (the spare returns to
   the pool when the failed part is repaired).

GPUs hit by overlapping failures come back only when the last of them is repaired (a
count per GPU, one for going down and one for losing scale-out).

A component that is out cannot fail again: a sampled failure is dropped when its unit's
previous failure of the same class has not yet been repaired (or swapped for a spare),
or, for a class that takes GPUs down, when every GPU of the unit is already out of service
(whatever took it out: a rack, a feed, a planned ``fail``); a spine switch still down
does not fail again either. For exponential classes this
is exactly a unit that fails at its rate while in service and not while out (the Poisson
process is memoryless); for Weibull classes the unit's renewal clock keeps running while
it is out (its age is not reset at repair), an approximation. So each class's failures
of one unit never overlap, and its GPU-hours down stay within its GPUs × the horizon.

A spine switch (:data:`~topologies.reliability.BANDWIDTH_LOSS`) holds no GPU: every leaf
spreads its uplinks over all ``S`` spines of its site, so while ``k`` of them are down the
site keeps ``(S − k)/S`` of its cross-pod bandwidth and training spanning pods (the spine
tier) runs at the speed its step time gives at that bandwidth (:meth:`Core.slow`, the
job's ``network`` factor; work starting meanwhile is slowed as it starts). The log
records each spine failure and repair with the site's GPUs × ``1/S`` (the GPU-equivalents
of cross-pod bandwidth it costs), so its availability is the spine capacity's. Were all
``S`` down at once, the site's GPUs lose their scale-out network (as under a leaf switch
failure) until one is back: an over-estimate, since work inside one pod could still run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import cast

import numpy as np
import simpy

from emulator.core.core import Core
from emulator.core.failure_verbs import FailureEffect
from emulator.eventlog import Infra
from emulator.failure_plan import ClassPlan, FailurePlan, sample_failures
from emulator.processes.replica_loss import ReplicaLoss
from emulator.work import Work
from topologies.index import TIER_SPINE
from topologies.reliability import COMPONENTS, POWER_LOSS, effect_of

__all__ = ["FailureModel"]

_WITHIN_TRAY = frozenset({"gpu", "hbm", "nic", "tray"})
_DEFAULT_RESTART_S = 600.0


class FailureModel:
    """Applies failures to the core (sampled ones from the plan, and injected ones)."""

    def __init__(self, core: Core, plan: FailurePlan, rng: np.random.Generator,
                 horizon_s: float, replicas: ReplicaLoss) -> None:
        self.core = core
        self.plan = plan
        self.replicas = replicas
        self.times, self.rows, self.units = sample_failures(plan, horizon_s, rng)
        self.down_count = np.zeros(core.index.n_gpus, dtype=np.int32)
        self.cut_count = np.zeros(core.index.n_gpus, dtype=np.int32)  # scale-out lost
        # open failures that removed a GPU's power (a rack, feed or tray: POWER_LOSS)
        self.off_count = np.zeros(core.index.n_gpus, dtype=np.int32)
        self.spares = {site: cfg.spares for site, cfg in plan.configs.items()}
        self.out_units: set[tuple[int, int]] = set()  # (class row, unit) failed, not back
        self.applied = 0
        self.spines = {c.site: c.n_units for c in plan.classes
                       if effect_of(c.name) == "bandwidth"}  # spine switches per site
        self.spines_down = dict.fromkeys(self.spines, 0)  # switches with an open failure
        self.spine_count = {site: np.zeros(n, dtype=np.int32)  # 1 while a switch is down
                            for site, n in self.spines.items()}
        self._site_gpus = np.bincount(core.index.gpu_site, minlength=len(core.index.site_names))
        first = np.searchsorted(core.index.gpu_site, np.arange(self._site_gpus.size))
        self._site_span = [np.array([lo, lo + n - 1]) if n else np.empty(0, np.int64)
                           for lo, n in zip(first.tolist(), self._site_gpus.tolist(),
                                            strict=True)]  # a site's lowest, highest GPU

    # -- the public entry point ------------------------------------------------------------
    def inject(self, gpus: np.ndarray, cause: str, repair_s: float | None) -> None:
        """Fail ``gpus`` now as a sampled failure would (operator rehearsal, planned events).

        ``cause`` is a failure class name (:data:`topologies.reliability.COMPONENTS`; it
        sets the class code in the log and whether GPUs go down) or any other label (then
        treated as a hardware failure of unknown class, code -1). ``repair_s``: seconds
        until the GPUs come back (``None``: never within the run). Detection and restart
        figures are the site's (defaults for sites without a ``failures:`` section).
        """
        if effect_of(cause) == "bandwidth":
            raise ValueError(f"a {cause} failure takes no GPUs; it is sampled per site")
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        if gpus.size == 0:
            return
        code = COMPONENTS.index(cause) if cause in COMPONENTS else -1
        detection = max((c.detection_s for c in self.plan.classes if c.code == code),
                        default=300.0)
        self._apply(gpus, cause, code, detection, math.inf if repair_s is None else repair_s,
                    spare_ok=False)

    # -- sampled failures ------------------------------------------------------------------
    def process(self, env: simpy.Environment) -> Iterator[simpy.Event]:
        """The simpy process: apply each sampled failure at its time."""
        for t, row, unit in zip(self.times.tolist(), self.rows.tolist(),
                                self.units.tolist(), strict=True):
            if t > env.now:
                yield env.timeout(t - env.now)
            cls = self.plan.classes[row]
            effect = effect_of(cls.name)
            if effect == "bandwidth":
                if not self.spine_count[cls.site][unit]:  # a switch down cannot fail again
                    self._spine_fails(cls, unit)
                continue
            gpus = cls.unit_gpus(unit)
            if (row, unit) in self.out_units or (
                    effect == "down" and bool(self.core.cluster.down[gpus].all())):
                continue  # out of service: it cannot fail again before it is back
            self._apply(gpus, cls.name, cls.code, cls.detection_s, cls.repair_s,
                        spare_ok=cls.name in _WITHIN_TRAY, unit=(row, unit))

    # -- spine switches: bandwidth ---------------------------------------------------------
    def spine_scale(self, site: int) -> float:
        """The fraction of site ``site``'s cross-pod bandwidth its live spines carry."""
        total = self.spines.get(site, 0)
        return 1.0 if total == 0 else (total - self.spines_down[site]) / total

    def on_start(self, work: Work) -> None:
        """A start hook: spine-tier training starting on a site short of spines is slowed."""
        if work.kind == "training" and work.tier == TIER_SPINE and work.gpus is not None:
            site = int(self.core.index.gpu_site[work.gpus[0]])
            if self.spines_down.get(site, 0):
                self._slow(work, site, "spine switch down")

    def _slow(self, work: Work, site: int, reason: str) -> None:
        assert work.gpus is not None
        speed = self.core.shapes.spine_slowdown(
            work.spec, int(work.gpus[0]), work.tier, self.spine_scale(site))  # type: ignore[arg-type]
        self.core.slow(work, "network", speed, reason)

    def _slow_spine_tier(self, site: int, reason: str) -> None:
        """Re-rate every running spine-tier training job on ``site`` to its bandwidth now."""
        gpu_site = self.core.index.gpu_site
        spanning = [w for w in self.core.running.values()
                    if w.tier == TIER_SPINE and w.kind == "training" and w.gpus is not None
                    and int(gpu_site[w.gpus[0]]) == site]
        for work in sorted(spanning, key=lambda w: w.work_id):
            self._slow(work, site, reason)

    def _spine_fails(self, cls: ClassPlan, unit: int) -> None:
        core, site = self.core, cls.site
        self.applied += 1
        count, total = self.spine_count[site], self.spines[site]
        assert not count[unit], "a spine switch still down does not fail again"
        count[unit] = 1
        self.spines_down[site] += 1
        down = self.spines_down[site]
        core.log.infra_event(core.now, Infra.FAILURE, cls.name, subject=cls.code,
                             value=float(self._site_gpus[site]) / total,
                             gpus=self._site_span[site])
        if math.isfinite(cls.repair_s):
            core.clock.call_in(cls.repair_s, lambda: self._spine_repaired(cls, unit))
        if down == total:  # no path across pods is left: the site loses scale-out
            gpus = np.flatnonzero(core.index.gpu_site == site)
            self.cut_count[gpus] += 1
            hit = core.fail(gpus, cls.name, cls.code, effect="scale_out", logged=False)
            restart = self._restart_s(gpus)
            for work in sorted(hit, key=lambda w: w.work_id):
                if work.state == "running":
                    core.interrupt(work, cls.name, cls.detection_s, restart)
        else:
            self._slow_spine_tier(site, f"spine switch down ({down}/{total})")

    def _spine_repaired(self, cls: ClassPlan, unit: int) -> None:
        core, site = self.core, cls.site
        count, total = self.spine_count[site], self.spines[site]
        count[unit] = 0  # a switch fails once until its repair, so this repair is its last
        core.log.infra_event(core.now, Infra.REPAIR, cls.name, subject=cls.code,
                             value=float(self._site_gpus[site]) / total,
                             gpus=self._site_span[site])
        if self.spines_down[site] == total:  # the first one back reconnects the site
            gpus = np.flatnonzero(core.index.gpu_site == site)
            still = gpus[self.cut_count[gpus] > 0]  # an operator may have restored some
            self.cut_count[still] -= 1
            up = still[self.cut_count[still] == 0]
            core.repair(gpus, cls.name, cls.code, up=up, effect="scale_out", logged=False)
        self.spines_down[site] -= 1
        self._slow_spine_tier(site, f"spine switch repaired ({self.spines_down[site]}/"
                                    f"{total} down)")

    # -- applying one failure --------------------------------------------------------------
    def _restart_s(self, gpus: np.ndarray) -> float:
        cfg = self.plan.config_of_gpu(self.core.index, int(gpus[0]))
        return cfg.restart if cfg is not None else _DEFAULT_RESTART_S

    def _apply(self, gpus: np.ndarray, cause: str, code: int, detection_s: float,
               repair_s: float, *, spare_ok: bool, unit: tuple[int, int] | None = None
               ) -> None:
        """Fail ``gpus`` now; ``unit`` (class row, unit) marks a sampled failure's unit out
        until its GPUs are back (repair or spare swap, s from now)."""
        core = self.core
        self.applied += 1
        effect = cast(FailureEffect, effect_of(cause))
        counts = self._counts(effect)
        if counts is not None:
            counts[gpus] += 1
        if cause in POWER_LOSS:  # the unit is shut down: it draws nothing until it is back
            self.off_count[gpus] += 1
            core.set_energised(gpus, False)
        hit = core.fail(gpus, cause, code, effect=effect)
        if effect == "restart":
            hit = [w for w in hit if w.kind == "training"]  # serving restarts in place
        restart = self._restart_s(gpus)
        for work in sorted(hit, key=lambda w: w.work_id):
            if work.state != "running":
                continue
            if work.kind == "training":
                core.interrupt(work, cause, detection_s, restart)
            else:
                self.replicas.lose(work, gpus, cause)
        if effect == "restart":
            return
        if unit is not None:
            self.out_units.add(unit)
        back_in = repair_s
        site = int(core.index.gpu_site[gpus[0]])
        if spare_ok and self.spares.get(site, 0) > 0 and repair_s > 0:
            cfg = self.plan.configs[site]
            self.spares[site] -= 1
            core.log.infra_event(core.now, Infra.SPARE, cause, subject=code,
                                 value=float(self.spares[site]), gpus=gpus)
            back_in = min(cfg.spare_swap, repair_s)
            core.clock.call_in(repair_s, lambda: self._spare_back(site))
        if math.isfinite(back_in):
            core.clock.call_in(back_in, lambda: self._repair(gpus, cause, code, effect, unit))

    def _counts(self, effect: FailureEffect) -> np.ndarray | None:
        """The per-GPU count of open failures with ``effect`` (``None``: not counted)."""
        return {"down": self.down_count, "scale_out": self.cut_count}.get(effect)

    def _spare_back(self, site: int) -> None:
        self.spares[site] += 1

    def restore(self, gpus: np.ndarray, reason: str) -> None:
        """Bring failed ``gpus`` back now, whatever failures hold them (an operator's
        restore of the target ``gpus``); repairs still scheduled for them then find nothing
        left to repair. The log's repair row counts the GPUs brought back and names the
        whole target's range, so readers can tell which failures it ended."""
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        cut = gpus[self.cut_count[gpus] > 0]
        if cut.size:
            self.cut_count[cut] = 0
            self.core.repair(cut, reason, -1, up=cut, effect="scale_out", where=gpus)
        off = gpus[self.off_count[gpus] > 0]
        if off.size:
            self.off_count[off] = 0
            self.core.set_energised(off, True)
        held = gpus[self.down_count[gpus] > 0]
        if held.size == 0:
            return
        self.down_count[held] = 0
        self.core.repair(held, reason, -1, up=held, where=gpus)

    def _repair(self, gpus: np.ndarray, cause: str, code: int,
                effect: FailureEffect, unit: tuple[int, int] | None = None) -> None:
        if unit is not None:  # a sampled failure's unit is back: it may fail again
            self.out_units.discard(unit)
        counts = self._counts(effect)
        assert counts is not None
        still = gpus[counts[gpus] > 0]  # an operator may have restored some already
        counts[still] -= 1
        up = still[counts[still] == 0]
        if cause in POWER_LOSS:  # repaired (or swapped for a spare): powered again
            off = gpus[self.off_count[gpus] > 0]
            self.off_count[off] -= 1
            self.core.set_energised(off[self.off_count[off] == 0], True)
        self.core.repair(gpus, cause, code, up=up, effect=effect)
