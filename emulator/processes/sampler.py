"""Sampling: site power, utilisation and queue lengths per tick (and energy flows).

A sample holds for the interval after it, so it is taken once everything else due at its
instant has happened: arrivals, completions, failures, planned events, the serving window
that ends there (its replica utilisation and autoscaling) and the scheduling rounds all of
these ask for, a policy's own wake-up round included. The sampler's ticks are simpy events
of a priority below the ordinary one (:data:`LATE`), so simpy runs every ordinary event of
an instant, however late it was scheduled, before the tick. Under a power model, each tick
then applies power caps and asks for a round (caps and solar hours change what may start);
when that round changes the running work, the caps are decided again, so what it started
is capped from this tick on; the sample is taken after that round too.

Compute utilisation (``mean_util``, ``site_util``, ``rack_util``: 0..1) is the work the
GPUs do: a training job slowed by a power cap (site controller or ``power-cap`` event) to
speed ``s`` counts ``s ×`` its nominal utilisation. The power model reads a different
figure for the same GPUs, the power-equivalent utilisation that the linear power model
maps to the capped draw (:func:`emulator.power_control.cap_effect`), which is far lower
(a job at 0.9 capped to its power floor runs at ~42 % speed, 0.38 of work, but draws like
0.16).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import simpy

from emulator.compute import ComputeModel
from emulator.core.core import Core
from emulator.energy.model import EnergyModel
from emulator.eventlog import EventLog, Sample
from emulator.processes.power_caps import PowerCaps
from emulator.processes.rounds import Rounds

__all__ = ["LATE", "Sampler", "late_timeout"]

LATE = simpy.events.NORMAL + 1
"""simpy priority of the sampler's ticks: after every ordinary (``NORMAL``) and urgent
event due at the same instant, whenever those were scheduled."""


def late_timeout(env: simpy.Environment, delay_s: float) -> simpy.Event:
    """An event that succeeds ``delay_s`` seconds from now, after every ordinary event due
    at that instant (those scheduled later than it included)."""
    event = simpy.Event(env)
    event._ok = True  # a succeeded event with no value, as a simpy Timeout
    event._value = None
    env.schedule(event, LATE, delay_s)
    return event


class Sampler:
    """Takes one :class:`Sample` per interval and appends it to the log."""

    def __init__(self, core: Core, compute: ComputeModel, log: EventLog, rounds: Rounds,
                 interval_s: float, site_pue: np.ndarray, fabric_w: np.ndarray,
                 energy: EnergyModel | None, caps: PowerCaps | None) -> None:
        self.core = core
        self.compute = compute
        self.log = log
        self.rounds = rounds
        self.interval_s = interval_s
        self.site_pue = site_pue
        self.fabric_w = fabric_w
        self.energy = energy
        self.caps = caps
        self.ticks = 0
        self.last: Sample | None = None
        idx = core.index
        self._n_sites = len(idx.site_names)
        # per-site splits (several sites only): GPUs per rack and per site, each rack's site
        self._rack_gpus = np.bincount(idx.gpu_rack, minlength=idx.n_racks).astype(np.float64)
        self._site_gpus = np.bincount(idx.gpu_site, minlength=self._n_sites).astype(np.float64)

    def process(self, env: simpy.Environment) -> Iterator[simpy.Event]:
        """The simpy process: sample now (after t = 0 work), then every interval, each
        time after every other event due at that instant (see :data:`LATE`)."""
        yield late_timeout(env, 0.0)
        while True:
            pue = self.controls()
            if self.rounds.due_now():  # the round the controls asked for, and its sequels
                version = self.core.running_version
                yield late_timeout(env, 0.0)
                if self.caps is not None and self.core.running_version != version:
                    # work that round started (deferred training at sunrise) runs capped
                    # from now, not uncapped until the next tick
                    self.caps.apply(self.core.now, pue)
            self.sample(pue)
            yield late_timeout(env, self.interval_s)
            self.ticks += 1

    def close(self, end_s: float) -> None:
        """The run ends at ``end_s``: the last energy interval, dispatched for a whole
        sample interval (or up to the duration), is redone to end there (a run stopped
        by ``--until``, an interrupt or ``engine.stop_when_done`` between two samples)."""
        if self.energy is None:
            return
        closed = self.energy.close(end_s)
        if closed is None:
            return
        if closed.dt_s > 0:
            self.log.energy[-1] = closed
        else:  # sampled at the very instant the run stopped: an empty interval
            self.log.energy.pop()

    def controls(self) -> np.ndarray:
        """The tick's controls: under a power model, apply the power caps and ask for a
        round. Returns the sites' PUE now."""
        core = self.core
        now = core.now
        pue = self.site_pue if self.energy is None else self.energy.pue_at(now)
        if self.caps is not None:
            self.caps.apply(now, pue)
            if core.queue:
                self.rounds.request()
        elif self.energy is not None and core.queue:
            self.rounds.request()
        return pue

    def _capped_work_gap(self) -> tuple[np.ndarray, np.ndarray] | None:
        """GPUs of running training slowed by a power cap and, per GPU, work-done minus
        power-equivalent utilisation (speed × nominal − the power model's figure);
        ``None`` when no job is power-capped."""
        core = self.core
        if not core.any_slowed:  # no work ever had a speed factor: none is capped
            return None
        staging = core.staging.active if core.staging is not None else {}
        gpus: list[np.ndarray] = []
        gaps: list[np.ndarray] = []
        for w in core.running.values():  # every sample: the cheap test first
            factors = w.speed_factors  # None for a job nothing ever slowed
            speed = 1.0 if factors is None else factors.get("power", 1.0)
            if speed < 1.0 and w.kind == "training" and w.work_id not in staging:
                g = np.asarray(w.gpus)
                gpus.append(g)
                gaps.append(w.util * speed - core.gpu_util[g])
        if not gpus:
            return None
        return np.concatenate(gpus), np.concatenate(gaps)

    def sample(self, pue: np.ndarray) -> None:
        """Take one sample now, at the sites' PUE ``pue`` (from :meth:`controls`)."""
        core = self.core
        now = core.now
        _racks, it, fac = self.compute.power(core.gpu_util, pue, self.fabric_w,
                                             core.rack_dirty, core.energised)
        idx = core.index
        rack_util = self.compute.rack_util_last
        assert rack_util is not None
        mean_util = float(core.gpu_util.mean()) if idx.n_gpus else 0.0
        work_gap = self._capped_work_gap()
        if work_gap is not None:  # power-capped jobs: utilisation as work done
            gpus, gap = work_gap
            rack_util = rack_util + np.bincount(idx.gpu_rack[gpus], weights=gap,
                                                minlength=idx.n_racks) / np.maximum(
                                                    self._rack_gpus, 1)
            mean_util += float(gap.sum()) / idx.n_gpus
        cluster = core.cluster
        busy = idx.n_gpus - cluster.free_gpus
        held: np.ndarray | None = None
        if cluster.n_down or cluster.n_draining or self._n_sites > 1:
            held = cluster.owner >= 0  # held by work: not free, not idle out of service
            busy = int(np.count_nonzero(held))
        site_busy = site_util = None
        if self._n_sites > 1 and held is not None:
            site_busy = np.bincount(idx.gpu_site[held], minlength=self._n_sites).astype(
                np.int64)
            site_util = np.bincount(idx.rack_site, weights=rack_util * self._rack_gpus,
                                    minlength=self._n_sites) / np.maximum(self._site_gpus, 1)
        sample = Sample(t=now, it_w=it, facility_w=fac, busy_gpus=busy,
                        mean_util=mean_util,
                        queue_by_tenant=tuple(core.queue.by_tenant),
                        running=len(core.running), rack_util=rack_util.astype(np.float32),
                        site_busy=site_busy, site_util=site_util)
        self.last = sample
        self.log.sample(sample)
        if self.energy is not None:
            self.log.energy_sample(self.energy.step(now, it, fac))
