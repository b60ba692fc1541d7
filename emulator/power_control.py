"""Power-aware operation: GPU power caps under a site cap, solar deferral, carbon-aware placement.

Policies decide, the engine acts (DESIGN principle 2):

* :class:`PowerCapPolicy` looks at a :class:`PowerView` (each site's facility power if
  nothing were capped, its cap and PUE, the running training jobs) and returns one
  :class:`CapGpus` per job: the per-GPU power limit that keeps every site within its cap.
  Inference services are protected (never capped); training is capped lowest priority
  first, and within a priority level by water-filling (one common limit, so the hungriest
  GPUs are trimmed first). The engine turns a limit into a slow-down with
  :func:`cupy_kernels.power.cap_throughput_factor` (relative to the job's own uncapped
  draw) and re-rates the job (:meth:`emulator.engine.Engine.rerate`).
* :class:`SolarDeferral` wraps a queue policy: outside solar hours it hides preemptible
  training from the inner policy, so such jobs wait for the sun.
* :class:`CarbonAwarePlacement` wraps a placement: it tries sites in order of their
  marginal carbon intensity now (0 where renewables exceed demand), then by index.

YAML (scenario level)::

    power:
      min_gpu_power: 0.3        # lowest cap, as a fraction of TDP (never below idle nor
                                # the vendor's minimum power limit, MIN_CAP_FRACTION)
      defer_preemptible: true
      carbon_aware: true
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from cupy_kernels.power import FIXED_FACILITY_FRACTION, MIN_CAP_FRACTION
from emulator.placement.base import PlacementPolicy, PlacementRequest, Scratch
from emulator.policies.base import ClusterView, Decision, QueuePolicy
from emulator.schema_base import ScenarioModel

__all__ = [
    "CapCandidate",
    "CapGpus",
    "CarbonAwarePlacement",
    "PowerCapPolicy",
    "PowerControlConfig",
    "PowerView",
    "SolarDeferral",
]


class PowerControlConfig(ScenarioModel):
    """Scenario-level switches of the power-aware policies."""

    min_gpu_power: float = Field(default=0.3, gt=0.0, le=1.0,
                                 description="lowest GPU cap as a fraction of TDP")
    defer_preemptible: bool = Field(default=False, description="outside solar hours (no plant at "
                                                               ">= 20% of its AC capacity), hide "
                                                               "preemptible training from the "
                                                               "queue policy")
    carbon_aware: bool = Field(default=False, description="with several sites, place work at the "
                                                          "site of lowest marginal carbon first")


@dataclass(frozen=True)
class CapCandidate:
    """A running training job the controller may cap: per-GPU powers in W.

    ``overhead_w``: the rack's drawn non-GPU power (W) that goes with one of the job's GPUs
    between utilisation 0 and 1 (the rack overhead follows its GPUs' mean utilisation,
    :func:`cupy_kernels.power.rack_power`), so capping a GPU by ``x`` W takes
    ``x·(1 + overhead_w/(tdp_w − idle_w))`` W off the IT power; 0: GPU power only.
    """

    work_id: int
    site: int
    n_gpus: int
    priority: int
    power_w: float
    idle_w: float
    tdp_w: float
    overhead_w: float = 0.0


@dataclass(frozen=True)
class PowerView:
    """Per-site facility power if nothing were capped (W), caps (W, ``inf``: none), PUE,
    and the cappable jobs."""

    now: float
    facility_w: np.ndarray
    cap_w: np.ndarray
    pue: np.ndarray
    jobs: tuple[CapCandidate, ...]


@dataclass(frozen=True)
class CapGpus:
    """Limit every GPU of ``work_id`` to ``cap_w`` W (``inf``: uncapped)."""

    work_id: int
    cap_w: float


def _water_level(power: np.ndarray, n: np.ndarray, floor: np.ndarray, need: float) -> float:
    """Common limit ``c`` with ``Σ n·(power − max(c, floor))⁺ = need`` (bisection, W)."""
    lo, hi = float(floor.min()), float(power.max())
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        cut = (n * np.maximum(power - np.maximum(mid, floor), 0.0)).sum()
        if cut > need:
            lo = mid
        else:
            hi = mid
    return hi


class PowerCapPolicy:
    """Caps training GPUs so each site's facility power stays within its cap."""

    name = "power-cap"

    def __init__(self, min_gpu_power: float = 0.3) -> None:
        self.min_gpu_power = float(min_gpu_power)

    def decide(self, view: PowerView) -> list[CapGpus]:
        """One :class:`CapGpus` per candidate job (``inf`` where no cap is needed)."""
        caps = {j.work_id: np.inf for j in view.jobs}
        for site in range(view.facility_w.size):
            excess = float(view.facility_w[site] - view.cap_w[site])
            if not excess > 0:
                continue
            # IT watts to shed: facility power falls by (PUE - its load-independent part)
            # per IT watt (cupy_kernels.power.facility_power)
            need = excess / max(float(view.pue[site]) - FIXED_FACILITY_FRACTION, 1.0)
            jobs = [j for j in view.jobs if j.site == site]
            for prio in sorted({j.priority for j in jobs}):
                if need <= 0:
                    break
                tier = [j for j in jobs if j.priority == prio]
                power = np.array([j.power_w for j in tier])
                n = np.array([j.n_gpus for j in tier], dtype=float)
                # the lowest draw a cap can reach: min_gpu_power, but never below idle nor
                # the vendor's minimum power limit (cap_effect applies no lower cap)
                floor = np.array([max(j.idle_w, self.min_gpu_power * j.tdp_w,
                                      MIN_CAP_FRACTION * j.tdp_w) for j in tier])
                floor = np.minimum(floor, power)
                # IT watts per GPU watt capped: the rack overhead falls with the GPU's
                # utilisation too (cap_effect lowers it to the cap's equivalent)
                n = n * np.array([1.0 + j.overhead_w / max(j.tdp_w - j.idle_w, 1e-9)
                                  for j in tier])
                avail = float((n * (power - floor)).sum())
                level = floor.min() if need >= avail else _water_level(power, n, floor, need)
                for j, p, f in zip(tier, power.tolist(), floor.tolist(), strict=True):
                    limit = max(level, f)
                    if limit < p:
                        caps[j.work_id] = limit
                need -= min(avail, need)
        return [CapGpus(w, c) for w, c in caps.items()]


class SolarDeferral(QueuePolicy):
    """Outside solar hours, preemptible training is hidden from the inner queue policy."""

    name = "solar-deferral"

    def __init__(self, inner: QueuePolicy, in_solar_hours: Callable[[float], bool]) -> None:
        self.inner = inner
        self.in_solar_hours = in_solar_hours
        self.name = f"{inner.name}+solar-deferral"
        wakeup = getattr(inner, "next_wakeup", None)
        if wakeup is not None:  # the rounds the inner policy asks for (dlas-gpu, Gavel's)
            self.next_wakeup = wakeup

    def decide(self, view: ClusterView) -> list[Decision]:
        """The inner policy's decisions on the queue it may see now."""
        if self.in_solar_hours(view.now):
            return self.inner.decide(view)
        queue = tuple(j for j in view.queue if not (j.kind == "training" and j.preemptible))
        if len(queue) == len(view.queue):
            return self.inner.decide(view)
        # The running work is the engine's: its figures pass through (the release profile
        # leaves out GPUs that will not come back when a job ends); the queue's do not.
        return self.inner.decide(ClusterView(
            now=view.now, queue=queue, total_gpus=view.total_gpus, free_gpus=view.free_gpus,
            running=lambda: view.running, scratch=view.scratch,
            tenant_gpus=view.tenant_gpus, options=view.options,
            release_profile=view.release_profile, running_columns=view.running_columns,
            top_attained=view.top_attained_gpu_s, top_remaining=view.top_remaining_s,
            running_job=view.running_job,
            round_length_s=view.round_length_s))


class CarbonAwarePlacement(PlacementPolicy):
    """Tries sites in order of marginal carbon intensity, placing with ``inner`` in each."""

    def __init__(self, inner: PlacementPolicy, domain_site: np.ndarray,
                 site_carbon: Callable[[], np.ndarray]) -> None:
        self.inner = inner
        self.domain_site = np.asarray(domain_site)
        self.site_carbon = site_carbon
        self.name = f"{inner.name}+carbon-aware"

    def order(self) -> Sequence[int]:
        """Site indices, lowest marginal carbon first (ties by index)."""
        carbon = np.asarray(self.site_carbon(), dtype=float)
        return np.lexsort((np.arange(carbon.size), carbon)).tolist()

    def place(self, request: PlacementRequest, scratch: Scratch) -> np.ndarray | None:
        """GPU ids on the cleanest site that can take ``request``, or ``None``."""
        base = (np.ones(self.domain_site.size, dtype=bool) if request.eligible is None
                else request.eligible)
        for site in self.order():
            mask = base & (self.domain_site == site)
            if not mask.any():
                continue
            gpus = self.inner.place(PlacementRequest(request.n_gpus, request.group_size, mask),
                                    scratch)
            if gpus is not None:
                return gpus
        return None


def cap_candidates(works: Sequence, gpu_site: np.ndarray,
                   gpu_limits: Callable[[int], tuple[float, float]],
                   gpu_overhead_w: np.ndarray | None = None) -> tuple[CapCandidate, ...]:
    """Cappable view of running training ``works`` (engine :class:`~emulator.work.Work`).

    ``gpu_limits(gpu)`` gives (idle W, TDP W) of a GPU; a job's uncapped per-GPU power is
    ``idle + (tdp − idle)·util`` (the linear model of :func:`cupy_kernels.power.gpu_power`).
    ``gpu_overhead_w`` (per GPU, W) is the drawn rack overhead that follows each GPU's
    utilisation from 0 to 1 (:attr:`CapCandidate.overhead_w`, the job's mean); ``None``: 0.
    """
    out = []
    for w in works:
        first = int(w.gpus[0])
        idle, tdp = gpu_limits(first)
        overhead = (0.0 if gpu_overhead_w is None
                    else float(np.mean(gpu_overhead_w[np.asarray(w.gpus)])))
        out.append(CapCandidate(w.work_id, int(gpu_site[first]), w.n_gpus, w.priority,
                                idle + (tdp - idle) * w.util, idle, tdp, overhead))
    return tuple(out)


def cap_effect(cap_w: float, util: float, idle_w: float, tdp_w: float) -> tuple[float, float]:
    """(speed, power-equivalent utilisation) of a job at ``util`` under a per-GPU cap.

    Speed is :func:`cupy_kernels.power.cap_throughput_factor` relative to the job's own
    uncapped draw; the returned utilisation is the one the linear power model maps to
    ``cap_w``, so the engine's power kernel sees the capped draw. A cap below the vendor's
    minimum power limit (``MIN_CAP_FRACTION·tdp``) acts as that minimum.
    """
    from cupy_kernels.power import MIN_CAP_FRACTION, cap_throughput_factor

    cap_w = max(cap_w, MIN_CAP_FRACTION * tdp_w)
    uncapped = idle_w + (tdp_w - idle_w) * util
    if not cap_w < uncapped:
        return 1.0, util
    speed = float(cap_throughput_factor(np, cap_w, idle_w, uncapped))
    return max(speed, 1e-3), max((cap_w - idle_w) / (tdp_w - idle_w), 0.0)
