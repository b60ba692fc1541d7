"""Several sites in one run: data residency, request routing, WAN events, site results.

* **Residency**: a tenant with ``residency: MA`` may only use NVLink domains of sites whose
  ``country`` is ``MA``; its placement requests carry that mask, so the engine (which
  checks every start against the mask) cannot start it elsewhere. Results count the
  placements and prove zero violations from the GPU segments each work held.
* **Routing**: with more than one site, each inference service is pinned to one site:
  among the sites it may use (whose racks of its system, in its residency country, hold
  all its GPUs in whole tensor-parallel groups), those whose round trip from the service's
  origin is within half its TTFT objective (the rest is left for queueing and prefill),
  the cheapest (mean import price × mean PUE, in US dollars, when the energy model knows
  prices), then the nearest; if none is within budget, the nearest. Its TTFT then carries
  the RTT from its origin to that site.
* **WAN events**: cable cuts and repairs (:mod:`emulator.wan_events`) change the WAN graph
  at their times; every running service's RTT is recomputed (``inf``: unreachable, its
  requests fail and count as SLO misses).

:class:`SiteOps` bundles what the composition root wires into the engine and the results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from emulator.energy.accounting import energy_hourly_table, energy_summary, energy_table
from emulator.energy.model import EnergyModel, build_energy_model
from emulator.eventlog import EventLog, Infra
from emulator.placement.base import PlacementPolicy, PlacementRequest
from emulator.policies.base import QueuePolicy
from emulator.power_control import (
    CarbonAwarePlacement,
    PowerCapPolicy,
    PowerControlConfig,
    SolarDeferral,
)
from emulator.rng import RngStreams
from emulator.serving import ServingModel
from emulator.serving_runtime import ServiceRuntime
from emulator.tables import infra_table, runs
from emulator.wan_events import WanEvent, WanState, wan_schedule
from emulator.work import Work
from emulator.work_book import fixed_fields
from topologies.config import SiteConfig
from topologies.index import TopologyIndex
from topologies.sizing import size_site
from workloads.config import TenantConfig
from workloads.spec import InferenceServiceSpec

if TYPE_CHECKING:
    from emulator.scenario import Scenario

__all__ = ["ROUTE_RTT_BUDGET", "SiteOps", "add_site_results", "build_site_ops", "domain_sites",
           "restrict_works"]

ROUTE_RTT_BUDGET = 0.5
"""Fraction of a service's TTFT objective its network round trip may use when routing."""

RttFn = Callable[[InferenceServiceSpec, int], float]


def domain_sites(index: TopologyIndex) -> np.ndarray:
    """Site of every NVLink domain."""
    first = np.searchsorted(index.gpu_domain, np.arange(index.n_domains))
    return index.gpu_site[first]


def _site_cost(energy: EnergyModel | None, n_sites: int) -> np.ndarray:
    """Mean import price × mean PUE per site, US$/kWh of IT energy (0 without prices)."""
    if energy is None:
        return np.zeros(n_sites)
    return energy.price.mean(0) * energy.pue.mean(0) * energy.usd_per_unit


def restrict_works(works: Sequence[Work], tenants: Mapping[str, TenantConfig],
                   sites: Sequence[SiteConfig], index: TopologyIndex, rtt: RttFn,
                   energy: EnergyModel | None, fitting: Mapping[int, np.ndarray] | None = None
                   ) -> tuple[dict[int, str], list[dict[str, Any]]]:
    """Narrow each work's eligible domains by residency and (several sites) routing.

    ``fitting``: work id → the NVLink domains one replica of that service fits, for
    services whose model fits only some rack systems; routing counts only those domains
    (where none of them is left after residency, all the service's domains).

    Returns ``(reasons, routes)``: why a work can never run (no site in its residency
    country), and one route record per routed inference service.
    """
    dsite = domain_sites(index)
    country = np.array([s.country for s in sites])
    cost = _site_cost(energy, len(sites))
    reasons: dict[int, str] = {}
    routes: list[dict[str, Any]] = []
    # Narrowed masks and requests are shared by every work with the same inputs (a million
    # jobs of a few kinds need a few masks of n_domains bools, not one each), keyed by the
    # input mask's identity; ``held`` keeps those inputs alive so no id is reused.
    masks: dict[tuple[int, str | None, int], np.ndarray] = {}
    requests: dict[tuple[int, int, int], PlacementRequest] = {}
    held: list[np.ndarray | None] = []
    home = country[dsite]

    def narrowed(base: np.ndarray | None, code: str | None, site: int) -> np.ndarray:
        key = (id(base), code, site)
        mask = masks.get(key)
        if mask is None:
            mask = np.ones(index.n_domains, dtype=bool) if base is None else base.copy()
            if code is not None:
                mask &= home == code.upper()
            if site >= 0:
                mask &= dsite == site
            masks[key] = mask
            held.append(base)
        return mask

    for w in works:
        base = w.request.eligible
        code = tenants[w.tenant].residency
        mask = narrowed(base, code, -1)
        if code is not None and not mask.any():
            inside = sorted({sites[i].name for i in range(len(sites))
                             if country[i] == code.upper()})
            system = getattr(w.spec, "gpu_system", None)
            reasons[w.work_id] = (
                f"residency {code}: no site of this scenario is in {code} (sites are in "
                f"{sorted(set(country.tolist()))})" if not inside else
                f"residency {code}: no {system or 'allowed'} racks at its site(s) in {code} "
                f"({', '.join(inside)})")
        spec = w.spec
        if len(sites) > 1 and isinstance(spec, InferenceServiceSpec) and mask.any():
            fits = fitting.get(w.work_id) if fitting is not None else None
            counted = mask if fits is None or not (mask & fits).any() else mask & fits
            usable = _usable_gpus(index, dsite, counted, w.group_size, len(sites))
            allowed = [s for s in range(len(sites)) if usable[s] >= w.n_gpus]
            if allowed:
                rtts = {s: rtt(spec, s) for s in allowed}
                budget = ROUTE_RTT_BUDGET * spec.slo_ttft_s
                ok = [s for s in allowed if rtts[s] <= budget]
                best = (min(ok, key=lambda s: (cost[s], rtts[s], s)) if ok
                        else min(allowed, key=lambda s: (rtts[s], cost[s], s)))
                mask = narrowed(base, code, best)
                routes.append({"service": w.work_id, "tenant": w.tenant, "name": w.name,
                               "origin": spec.origin, "site": sites[best].name,
                               "rtt_ms": _ms(rtts[best]), "within_budget": bool(ok),
                               "candidates": {sites[s].name: _ms(rtts[s]) for s in allowed}})
        if code is not None or len(sites) > 1:
            n, g = w.request.n_gpus, w.request.group_size
            request = requests.get((n, g, id(mask)))
            if request is None:
                request = requests[(n, g, id(mask))] = PlacementRequest(n, g, mask)
            w.request = request
            w.view = None
    return reasons, routes


def _usable_gpus(index: TopologyIndex, dsite: np.ndarray, mask: np.ndarray, group: int,
                 n_sites: int) -> np.ndarray:
    """GPUs per site a work of tensor-parallel groups of ``group`` GPUs may hold: those of
    the NVLink domains in ``mask`` (its system, residency), each in whole groups."""
    whole = (index.domain_size // group) * group
    return np.bincount(dsite[mask], weights=whole[mask], minlength=n_sites)


def _ms(seconds: float) -> float | None:
    return None if not math.isfinite(seconds) else round(seconds * 1e3, 4)


@dataclass
class SiteOps:
    """Energy model, power policies, WAN state and routing of one run (all optional)."""

    sites: list[SiteConfig]
    index: TopologyIndex
    energy: EnergyModel | None = None
    power: PowerControlConfig = field(default_factory=PowerControlConfig)
    wan: WanState | None = None
    wan_events: list[WanEvent] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    residency: dict[str, str] = field(default_factory=dict)

    def cap_policy(self) -> PowerCapPolicy | None:
        """The power-cap controller when some site has a power cap."""
        if self.energy is None or not self.energy.has_caps:
            return None
        return PowerCapPolicy(self.power.min_gpu_power)

    def wrap_queue(self, policy: QueuePolicy) -> QueuePolicy:
        """``policy``, deferred to solar hours for preemptible training when configured."""
        if self.power.defer_preemptible and self.energy is not None:
            return SolarDeferral(policy, self.energy.in_solar_hours)
        return policy

    def wrap_placement(self, placement: PlacementPolicy) -> PlacementPolicy:
        """``placement``, carbon-aware across sites when configured."""
        if self.power.carbon_aware and self.energy is not None and len(self.sites) > 1:
            energy = self.energy
            # Read the clock at each placement, not when wrapping: the composition root may
            # set it after this call (it once stayed at t = 0 for the whole run).
            return CarbonAwarePlacement(placement, domain_sites(self.index),
                                        lambda: energy.marginal_carbon(self.clock()))
        return placement

    clock: Callable[[], float] = field(default=lambda: 0.0, repr=False)
    """Simulated time now (s); the composition root sets it to the environment's clock."""

    serving: ServingModel | None = field(default=None, repr=False)
    """The run's serving model (set by :meth:`timed_actions`), read for cut-off counts."""
    cut_off_since: dict[int, int] = field(default_factory=dict, repr=False)
    """Per service now cut off from its origin: its requests served (counted) until then."""
    cut_off_requests: int = 0
    """Requests that arrived while their service's origin was cut off, in closed spells."""

    def timed_actions(self, serving: ServingModel, log: EventLog,
                      rtt: RttFn) -> list[tuple[float, Callable[[float], None]]]:
        """Engine callbacks at each WAN event time: change the graph, re-route services."""
        self.serving = serving
        if self.wan is None:
            return []
        return [(t, self.wan_action(kind, cable, serving, log, rtt))
                for t, kind, cable in self.wan_events]

    def wan_action(self, kind: str, cable: str, serving: ServingModel, log: EventLog,
                   rtt: RttFn) -> Callable[[float], None]:
        """A callback that cuts (``kind="cut"``) or repairs ``cable`` at its ``now`` (s):
        logs it, changes the graph and re-routes running services whose RTT changed. A
        repair of a cable that is not cut changes nothing and is not logged."""
        assert self.wan is not None
        wan = self.wan
        site_of = {name: i for i, name in enumerate(self.index.site_names)}

        def act(now: float) -> None:
            if kind == "repair" and not wan.is_down(cable):
                return  # nothing to repair (a restore of a cable that is up): no event
            log.infra_event(now, Infra.CABLE_CUT if kind == "cut" else Infra.CABLE_REPAIR,
                            cable)
            if not wan.apply(kind, cable):
                return
            for svc in serving.services:
                # its site (where it was placed, and where replacements of its base replicas
                # go): also while a failure left its base work without GPUs
                new = rtt(svc.spec, site_of[svc.site])
                if new != svc.rtt_s:
                    # the window's requests so far cross the WAN as it was
                    serving.serve_until(svc, now)
                    self._count_cut_off(svc, new)
                    svc.rtt_s = new
                    log.infra_event(now, Infra.RTT, subject=svc.work.work_id, value=new)
        return act


    def _count_cut_off(self, svc: ServiceRuntime, new_rtt_s: float) -> None:
        """``svc``'s RTT becomes ``new_rtt_s`` (s) now, its requests so far served: open a
        cut-off spell (``inf``) or close one (its requests since then were refused)."""
        wid = svc.work.work_id
        if not math.isfinite(new_rtt_s):
            self.cut_off_since[wid] = svc.served
        elif not math.isfinite(svc.rtt_s):  # cut off since the cut, or since its start
            self.cut_off_requests += svc.served - self.cut_off_since.pop(wid, 0)

    def unreachable_by_wan(self) -> int:
        """Requests that arrived while their service's origin was cut off from its site
        (the spells still open at the end included); not those refused for want of a
        replica."""
        total = self.cut_off_requests
        for svc in self.serving.services if self.serving is not None else ():
            if not math.isfinite(svc.rtt_s):
                total += svc.served - self.cut_off_since.get(svc.work.work_id, 0)
        return total


def _residency_report(log: EventLog, works: Sequence[Work], residency: Mapping[str, str],
                      sites: Sequence[SiteConfig], index: TopologyIndex) -> dict[str, Any]:
    """Placements, GPU-hours and violations of each residency tenant, from the log's runs
    and the NVLink domains each run was placed on.

    A service's base work whose run a failure cut short goes on at once on the groups the
    failure spared (:meth:`Core.regroup`: a run starting at the instant the last one
    ended, on GPUs it already held): its GPU-hours count, but it is no new placement, and
    its GPUs were checked at the placement it continues."""
    country = np.array([s.country for s in sites])
    dom_country = country[domain_sites(index)]
    r = runs(log, len(works))
    wids = r["work_id"]
    follows = np.zeros(wids.size, dtype=bool)  # same work, starting as the last run ended
    follows[1:] = (wids[1:] == wids[:-1]) & (r["start_s"][1:] == r["end_s"][:-1])
    out: dict[str, Any] = {}
    for tenant, code in sorted(residency.items()):
        placements = violations = 0
        gpu_hours = 0.0
        for wid, row, start, end, n, cont in zip(
                wids.tolist(), r["row"].tolist(), r["start_s"].tolist(),
                r["end_s"].tolist(), r["n_gpus"].tolist(), follows.tolist(), strict=True):
            w = works[wid]
            if w.tenant != tenant:
                continue
            gpu_hours += (end - start) * n / 3600.0
            if cont and w.kind == "inference":
                continue
            placements += 1
            domains, _gpus = log.placement(row)
            if np.any(dom_country[domains] != code.upper()):
                violations += 1
        out[tenant] = {"country": code.upper(), "placements": placements,
                       "gpu_hours": gpu_hours, "violations": violations}
    return out


def tenant_site_gpu_hours(log: EventLog, works: Sequence[Work], index: TopologyIndex,
                          site_names: Sequence[str]) -> dict[str, dict[str, float]]:
    """GPU-hours each tenant held at each site (every site listed, 0 where it held none):
    each run's GPUs on each NVLink domain times the run's length, from the log."""
    r = runs(log, len(works))
    place = np.frombuffer(log.work_place, dtype=np.int64) if len(log.work_place) else \
        np.empty(0, np.int64)
    domain = np.asarray(log.place_domain, dtype=np.int64)
    gpus = np.asarray(log.place_gpus, dtype=np.int64)
    first = place[r["row"]] if place.size else np.empty(0, np.int64)
    starts = np.sort(place[place >= 0])  # each start's placement rows run to the next one's
    nxt = np.searchsorted(starts, first, side="right")
    last = np.where(nxt < starts.size, starts[np.minimum(nxt, starts.size - 1)], domain.size)
    count = np.where(first >= 0, last - first, 0)
    run = np.repeat(np.arange(first.size), count)
    row = np.repeat(first - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
    tenant_of = np.asarray(fixed_fields(works, range(len(works)))["tenant"], dtype=object)
    tenants = sorted({str(t) for t in tenant_of.tolist()})
    t_idx = {t: i for i, t in enumerate(tenants)}
    run_tenant = np.array([t_idx[str(t)] for t in tenant_of[r["work_id"]].tolist()],
                          dtype=np.int64)
    held = np.zeros((len(tenants), len(site_names)))
    seconds = (r["end_s"] - r["start_s"])[run] * gpus[row]
    np.add.at(held, (run_tenant[run], domain_sites(index)[domain[row]]), seconds)
    return {t: {name: float(held[i, j] / 3600.0) for j, name in enumerate(site_names)}
            for i, t in enumerate(tenants)}


def add_site_results(summary: dict[str, Any], tables: dict[str, dict[str, np.ndarray]],
                     ops: SiteOps | None, log: EventLog, works: Sequence[Work]) -> None:
    """Add energy, routing, residency and WAN results (only what the run configured)."""
    if ops is None:
        return
    names = [s.name for s in ops.sites]
    if ops.energy is not None and log.energy:
        e = ops.energy
        res = energy_summary(log.energy, [s.grid_connection for s in ops.sites],
                             e.usd_per_unit.tolist(), e.currency,
                             export_limit_w=e.export_limit.tolist(),
                             renewable_peak_w=e.renewable_peak_w.tolist(),
                             it_full_w=[size_site(s).it_full_w for s in ops.sites],
                             initial_soc_j=e.initial_soc_j.tolist(),
                             batt_eff=e.batt_eff.tolist(),
                             configured=e.configured.tolist(), site_names=names)
        summary["energy"] = {**summary.get("energy", {}), **res["total"]}
        for site_row, extra in zip(summary.get("sites", []), res["sites"], strict=False):
            site_row["energy"] = extra
        tables["energy"] = energy_table(log.energy, names, e.configured)
        tables["energy_hourly"] = energy_hourly_table(log.energy, names, e.initial_soc_j,
                                                      e.batt_eff, e.start, e.configured)
    if ops.routes:
        summary["routing"] = ops.routes
    if len(names) > 1:  # where each tenant's GPU-hours were held (per-site cost shares)
        by_site = tenant_site_gpu_hours(log, works, ops.index, names)
        for tenant, row in summary.get("tenants", {}).items():
            row["gpu_hours_by_site"] = by_site.get(tenant, dict.fromkeys(names, 0.0))
    if ops.residency:
        summary["residency"] = _residency_report(log, works, ops.residency, ops.sites,
                                                 ops.index)
    if ops.wan is not None:
        infra = infra_table(log)
        cables = np.isin(infra["event"], ("cable_cut", "cable_repair"))
        failed = ops.unreachable_by_wan()
        summary["wan"] = {
            "events": [{"t_s": t, "event": kind, "cable": label} for t, kind, label in zip(
                infra["t_s"][cables].tolist(), infra["event"][cables].tolist(),
                infra["label"][cables].tolist(), strict=True)],
            "rtt_changes": int(np.count_nonzero(infra["event"] == "rtt")),
            "unreachable_requests": failed,
        }


def build_site_ops(scenario: Scenario, sites: Sequence[SiteConfig], index: TopologyIndex,
                   streams: RngStreams, graph: nx.Graph) -> SiteOps:
    """Energy model (series precomputed once), WAN event schedule and residency of a run.

    Raises
    ------
    ValueError
        A bad energy input (e.g. a missing solar CSV) or an unknown cable name.
    """
    energy = build_energy_model(sites, scenario.start, scenario.duration,
                                scenario.engine.sample_interval, streams)
    events: list[WanEvent] = []
    if scenario.wan_events is not None:
        events = wan_schedule(scenario.wan_events, sites, scenario.duration, streams)
    residency = {t: c.residency.upper() for t, c in scenario.tenants.items() if c.residency}
    return SiteOps(sites=list(sites), index=index, energy=energy, power=scenario.power,
                   wan=WanState(sites, graph) if scenario.wan_events is not None else None,
                   wan_events=events, residency=residency)
