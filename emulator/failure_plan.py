"""Failure classes resolved on a cluster, and their failure times sampled up front.

:func:`resolve_plan` turns each site's ``failures:`` section and the catalog defaults
(:mod:`topologies.reliability`) into :class:`ClassPlan` rows: for one (site, class), the
units (GPUs, trays, NVLink domains, leaves, spines, racks or feeds of that site), each
unit's GPUs (its blast radius) and its rate. A spine switch holds no GPU: its failure
costs the site cross-pod bandwidth (:mod:`emulator.processes.failures`).
:func:`sample_failures` then draws every failure of the run at once from the named
stream ``failures``:

* exponential classes as one superposed Poisson process per (site, class): a Poisson count
  for ``Σ rates × horizon``, uniform times, units drawn in proportion to their rates — cost
  O(failures), independent of the number of units;
* Weibull classes as one renewal process per unit (times between failures Weibull with
  shape k and scale ``MTBF / Γ(1 + 1/k)``), vectorised over the units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emulator.errors import UserError
from topologies.config import SiteConfig
from topologies.failure_config import FailuresConfig
from topologies.index import TopologyIndex
from topologies.reliability import COMPONENTS, SECONDS_PER_YEAR, UNITS, defaults_for
from topologies.sizing import size_site

__all__ = ["MAX_FAILURES", "ClassPlan", "FailurePlan", "resolve_plan", "sample_failures"]

MAX_FAILURES = 10_000_000
"""Most failures one class may draw over a run: every failure is a simulated event (and a
log row), so more than this is a rate mistyped (an ``afr`` meant per fleet, an ``mtbf`` in
seconds) or a Weibull shape so small that its renewals pile up near zero."""


@dataclass(frozen=True, eq=False)
class ClassPlan:
    """One failure class on one site (rates per unit per second, times in s)."""

    site: int
    code: int  # index into :data:`topologies.reliability.COMPONENTS`
    unit_start: np.ndarray  # CSR offsets: unit u's GPUs are gpus[unit_start[u]:unit_start[u+1]]
    gpus: np.ndarray
    rate_per_s: np.ndarray  # per unit
    detection_s: float
    repair_s: float
    weibull_shape: float | None

    @property
    def name(self) -> str:
        """The class's name."""
        return COMPONENTS[self.code]

    @property
    def n_units(self) -> int:
        """Units of this class on the site."""
        return int(self.unit_start.size - 1)

    def unit_gpus(self, unit: int) -> np.ndarray:
        """The GPUs unit ``unit`` takes down (ids sorted)."""
        return self.gpus[self.unit_start[unit]:self.unit_start[unit + 1]]


@dataclass(frozen=True, eq=False)
class FailurePlan:
    """Every site's failure classes and each site's policy figures."""

    classes: tuple[ClassPlan, ...]
    configs: dict[int, FailuresConfig]  # site id → its section

    def config_of_gpu(self, index: TopologyIndex, gpu: int) -> FailuresConfig | None:
        """The failures section of the site GPU ``gpu`` is in."""
        return self.configs.get(int(index.gpu_site[gpu]))


def _unit_of_gpu(kind: str, index: TopologyIndex, racks_per_feed: int) -> np.ndarray:
    if kind == "gpu":
        return np.arange(index.n_gpus, dtype=np.int64)
    if kind == "tray":
        return index.gpu_tray.astype(np.int64)
    if kind == "domain":
        return index.gpu_domain.astype(np.int64)
    if kind == "leaf":
        return index.gpu_leaf.astype(np.int64)
    rack = index.gpu_rack.astype(np.int64)
    if kind == "rack":
        return rack
    # feed: consecutive racks of one hall, racks_per_feed at a time
    hall = index.rack_hall.astype(np.int64)
    first = np.searchsorted(hall, hall)  # racks of a hall are numbered contiguously
    feed = hall * (1 << 32) + (np.arange(hall.size) - first) // racks_per_feed
    return feed[rack]


def _csr(unit: np.ndarray, gpus: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted unique unit keys, CSR offsets, GPUs grouped by unit) for ``gpus``."""
    order = np.argsort(unit[gpus], kind="stable")
    grouped = gpus[order]
    keys, starts = np.unique(unit[grouped], return_index=True)
    return keys, np.append(starts, grouped.size).astype(np.int64), grouped


def resolve_plan(sites: Sequence[SiteConfig], index: TopologyIndex) -> FailurePlan | None:
    """The failure plan of the sites with a ``failures:`` section (``None``: none has one)."""
    configs = {i: s.failures for i, s in enumerate(sites) if s.failures is not None}
    if not configs:
        return None
    gpu_system = index.rack_system[index.gpu_rack]
    classes: list[ClassPlan] = []
    for site_id, cfg in sorted(configs.items()):
        site_gpus = np.flatnonzero(index.gpu_site == site_id)
        for code, name in enumerate(COMPONENTS):
            if UNITS[name] == "spine":  # switches of the site's fabric: no GPU of their own
                n_spines = size_site(sites[site_id]).spines
                starts = np.zeros(n_spines + 1, dtype=np.int64)
                grouped = np.empty(0, dtype=np.int64)
                systems = np.full(n_spines, gpu_system[site_gpus[0]] if site_gpus.size else 0)
                sizes = np.zeros(n_spines)
            else:
                unit = _unit_of_gpu(UNITS[name], index, cfg.racks_per_feed)
                _keys, starts, grouped = _csr(unit, site_gpus)
                first = grouped[starts[:-1]]
                sizes = np.diff(starts).astype(np.float64)
                systems = gpu_system[first]
            afr = np.zeros(sizes.size)
            detection = repair = 0.0
            over = cfg.components.get(name)
            for sys_id in np.unique(systems).tolist():
                d = defaults_for(index.systems[sys_id].name)[name] if cfg.defaults else None
                sel = systems == sys_id
                if d is not None:
                    afr[sel] = d.afr + d.afr_per_gpu * sizes[sel]
                    detection, repair = max(detection, d.detection_s), max(repair, d.repair_s)
            if over is not None:
                if over.afr is not None:
                    afr[:] = over.afr
                elif over.mtbf is not None:
                    afr[:] = SECONDS_PER_YEAR / over.mtbf
                detection = over.detection if over.detection is not None else detection
                repair = over.repair if over.repair is not None else repair
            rate = afr / SECONDS_PER_YEAR
            if not rate.any():  # no rate, or one so small it is 0 per second: never fails
                continue
            shape = over.shape if over is not None and over.distribution == "weibull" else None
            classes.append(ClassPlan(site=site_id, code=code, unit_start=starts, gpus=grouped,
                                     rate_per_s=rate, detection_s=detection,
                                     repair_s=repair, weibull_shape=shape))
    return FailurePlan(classes=tuple(classes), configs=configs)


def _too_many(plan: ClassPlan, what: str) -> UserError:
    """The error for a class that would draw more than :data:`MAX_FAILURES` failures."""
    afr = float(plan.rate_per_s.max()) * SECONDS_PER_YEAR
    return UserError(f"sites.{plan.site}.failures.components.{plan.name}: {what} over the "
                     f"run ({plan.n_units:,} units, up to {afr:.4g} failures per unit-year); "
                     f"expected at most {MAX_FAILURES:,} (a lower afr, a longer mtbf or a "
                     "larger Weibull shape)")


def _poisson(plan: ClassPlan, horizon_s: float, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    total = float(plan.rate_per_s.sum())
    if total * horizon_s > MAX_FAILURES:
        raise _too_many(plan, f"{total * horizon_s:.4g} failures expected")
    n = int(rng.poisson(total * horizon_s))
    times = rng.uniform(0.0, horizon_s, n)
    units = rng.choice(plan.n_units, size=n, p=plan.rate_per_s / total)
    return times, units


def _weibull(plan: ClassPlan, horizon_s: float, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    k = float(plan.weibull_shape or 1.0)
    live = np.flatnonzero(plan.rate_per_s > 0)
    scale = (1.0 / plan.rate_per_s[live]) / math.gamma(1.0 + 1.0 / k)
    t = np.zeros(live.size)
    times, units = [], []
    drawn = 0
    while live.size:
        t = t + scale * rng.weibull(k, live.size)
        inside = t < horizon_s
        drawn += int(inside.sum())
        if drawn > MAX_FAILURES:
            raise _too_many(plan, f"{drawn:,} failures drawn before the end (Weibull shape "
                                  f"{k:g})")
        times.append(t[inside])
        units.append(live[inside])
        live, t, scale = live[inside], t[inside], scale[inside]
    return np.concatenate(times), np.concatenate(units)


def sample_failures(plan: FailurePlan, horizon_s: float, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every failure of the run: ``(times s, class row in plan.classes, unit)``, by time.

    Ties are broken by class row, then unit, so the order never depends on the sort.
    """
    all_t, all_c, all_u = [], [], []
    for row, cls in enumerate(plan.classes):
        sampler = _weibull if cls.weibull_shape is not None else _poisson
        t, u = sampler(cls, horizon_s, rng)
        all_t.append(t)
        all_u.append(u.astype(np.int64))
        all_c.append(np.full(t.size, row, dtype=np.int64))
    if not all_t:
        return np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)
    t, c, u = np.concatenate(all_t), np.concatenate(all_c), np.concatenate(all_u)
    order = np.lexsort((u, c, t))
    return t[order], c[order], u[order]
