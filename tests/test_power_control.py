"""Power-aware operation: the cap controller, solar deferral, carbon-aware placement."""

from __future__ import annotations

import numpy as np
import pytest

from cupy_kernels.power import FIXED_FACILITY_FRACTION
from emulator.eventlog import Ev
from emulator.placement.base import PlacementRequest, Scratch
from emulator.placement.pack import PackPlacement
from emulator.power_control import (
    CapCandidate,
    CarbonAwarePlacement,
    PowerCapPolicy,
    PowerView,
    SolarDeferral,
    cap_effect,
)
from emulator.results import collect
from tests.conftest import SMALL_SITE, run_scenario, small_scenario
from topologies.index import derive_index
from topologies.presets import resolve_site


def _job(work_id: int, site: int, prio: int, n: int = 8, power: float = 1100.0) -> CapCandidate:
    return CapCandidate(work_id, site, n, prio, power, 150.0, 1200.0)


def test_policy_sheds_lowest_priority_first_and_enough() -> None:
    jobs = (_job(0, 0, prio=0), _job(1, 0, prio=5), _job(2, 1, prio=0))
    view = PowerView(now=0.0, facility_w=np.array([10_000.0, 1e6]),
                     cap_w=np.array([9_000.0, np.inf]), pue=np.array([1.25, 1.1]), jobs=jobs)
    caps = {c.work_id: c.cap_w for c in PowerCapPolicy(0.3).decide(view)}
    need_it = 1_000.0 / (1.25 - FIXED_FACILITY_FRACTION)  # marginal facility W per IT W
    assert caps[1] == np.inf and caps[2] == np.inf  # higher priority and other site untouched
    assert 8 * (1100.0 - caps[0]) == pytest.approx(need_it, rel=1e-6)


def test_policy_water_fills_then_next_priority() -> None:
    jobs = (_job(0, 0, 0, power=1200.0), _job(1, 0, 0, power=600.0), _job(2, 0, 3))
    view = PowerView(0.0, np.array([1e5]), np.array([1e5 - 8 * 1500.0]), np.array([1.0]), jobs)
    caps = {c.work_id: c.cap_w for c in PowerCapPolicy(0.3).decide(view)}
    floor = 0.3 * 1200.0
    assert caps[0] == pytest.approx(floor) and caps[1] == pytest.approx(floor)
    shed = 8 * (1200 - floor) + 8 * (600 - floor) + 8 * (1100 - caps[2])
    assert shed == pytest.approx(8 * 1500.0, rel=1e-6)  # the rest from priority 3


def test_cap_effect_uses_the_kernel_curve() -> None:
    speed, util = cap_effect(cap_w=675.0, util=1.0, idle_w=150.0, tdp_w=1200.0)
    assert speed == pytest.approx(0.5 ** 0.5) and util == pytest.approx(0.5)
    assert cap_effect(np.inf, 0.7, 150.0, 1200.0) == (1.0, 0.7)


def _capped_run(cap: str) -> object:
    data = small_scenario(duration="12h")
    data["sites"] = [{**SMALL_SITE, "energy": {"power_cap": {"mode": "constant", "value": cap}}}]
    data["start"] = "2025-09-22"
    return run_scenario(data)


def test_engine_caps_training_to_stay_within_site_cap() -> None:
    free = run_scenario({**small_scenario(duration="12h"), "start": "2025-09-22"})
    peak = max(float(s.facility_w[0]) for s in free.log.samples)
    cap = 0.8 * peak
    sim = _capped_run(f"{cap}W")
    over = [float(s.demand_w[0]) for s in sim.log.energy if s.demand_w[0] > cap * 1.0001]
    assert not over, f"{len(over)} ticks above the cap"
    rerates = [(sim.log.work_speed[i], sim.log.reasons[sim.log.work_reason[i]])
               for i, k in enumerate(sim.log.work_kind) if k == Ev.RERATE]
    assert any(speed < 1.0 and "power cap" in why for speed, why in rerates)
    capped = {w for w, k in zip(sim.log.work_id, sim.log.work_kind, strict=True) if k == 6}
    assert all(sim.works[w].kind == "training" for w in capped)  # inference protected
    site = collect(sim).summary["sites"][0]
    assert site["energy"]["over_cap_s"] == 0.0 and site["over_cap_s"] == 0.0
    assert site["power_cap_mw"] == pytest.approx(cap / 1e6)
    assert site["peak_import_mw"] == pytest.approx(site["energy"]["peak_import_mw"])


def _render(summary: dict, width: int = 140) -> str:
    from rich.console import Console

    from emulator.dashboard import summary_table

    console = Console(width=width, record=True, color_system=None)
    console.print(summary_table(summary))
    return console.export_text()


def test_summary_separates_grid_connection_from_power_cap() -> None:
    """A cap the site cannot meet (inference alone is above it) is reported as such, while
    the peak stays within the 20 MW grid connection."""
    data = small_scenario(duration="6h")
    data["sites"] = [{**SMALL_SITE,
                      "energy": {"power_cap": {"mode": "constant", "value": "10kW"}}}]
    data["start"] = "2025-09-22"
    summary = collect(run_scenario(data)).summary
    site = summary["sites"][0]
    assert site["grid_connection_mw"] == 20.0 and site["peak_within_grid_connection"]
    assert site["power_cap_mw"] == pytest.approx(0.01)
    assert site["over_cap_s"] == pytest.approx(6 * 3600.0)  # above it the whole run
    assert site["over_cap_s"] == site["energy"]["over_cap_s"]
    assert site["peak_import_mw"] == pytest.approx(site["energy"]["peak_import_mw"])
    assert "cap_mw" not in site and "peak_within_cap" not in site
    text = _render(summary)
    for col in ("site", "GPUs", "IT MWh", "facility MWh", "peak MW", "grid MW", "cap MW",
                "over cap h"):
        assert col in text, col
    row = next(line for line in text.splitlines() if "bizerte-20mw" in line)  # sites table
    assert [c.strip() for c in row.split("│")[6:9]] == ["20.00", "0.01", "6.00"], row
    assert max(len(line) for line in _render(summary, 80).splitlines()) <= 80


def test_summary_without_energy_has_no_cap() -> None:
    data = small_scenario(duration="2h")
    data["sites"] = [{**SMALL_SITE, "energy": None}]
    sim = run_scenario(data)
    assert sim.ops is None or sim.ops.energy is None
    summary = collect(sim).summary
    site = summary["sites"][0]
    assert "energy" not in site
    assert site["power_cap_mw"] is None and site["over_cap_s"] == 0.0
    assert site["peak_import_mw"] == site["peak_facility_mw"] > 0
    assert site["grid_connection_mw"] == 20.0 and site["peak_within_grid_connection"]
    text = _render(summary)
    assert "grid MW" in text and "—" in text


def test_solar_deferral_starts_preemptible_training_in_sun_only() -> None:
    data = small_scenario(duration="1d")
    data["start"] = "2025-09-22"
    data["power"] = {"defer_preemptible": True}
    sim = run_scenario(data)
    energy = sim.ops.energy
    starts = [(t, w) for t, k, w in zip(sim.log.work_t, sim.log.work_kind, sim.log.work_id,
                                         strict=True) if k == 1]
    training = [t for t, w in starts if sim.works[w].kind == "training"]
    assert training, "some training must start"
    assert all(energy.in_solar_hours(t) for t in training)
    assert any(not energy.in_solar_hours(t) for t in np.arange(0, 86400, 600))


def test_carbon_aware_placement_prefers_clean_site() -> None:
    sites = [resolve_site("bizerte-20mw", {"halls": SMALL_SITE["halls"]}),
             resolve_site("morocco-40mw", {"halls": [
                 {"name": "a", "system": "gb200-nvl72", "racks": 2}]})]
    index = derive_index(sites)
    dsite = index.gpu_site[np.searchsorted(index.gpu_domain, np.arange(index.n_domains))]
    carbon = {"now": np.array([475.0, 0.0])}
    place = CarbonAwarePlacement(PackPlacement(), dsite, lambda: carbon["now"])
    scratch = Scratch(index, np.ones(index.n_gpus, bool),
                      np.bincount(index.gpu_domain), np.searchsorted(index.gpu_domain,
                                                                      np.arange(index.n_domains)),
                      place)
    gpus = place.place(PlacementRequest(8, 8), scratch)
    assert gpus is not None and set(index.gpu_site[gpus].tolist()) == {1}
    carbon["now"] = np.array([0.0, 605.0])
    gpus = place.place(PlacementRequest(8, 8), scratch)
    assert gpus is not None and set(index.gpu_site[gpus].tolist()) == {0}


def test_solar_deferral_keeps_the_rounds_its_inner_policy_asks_for() -> None:
    from emulator.policies.registry import make_queue_policy

    gavel = make_queue_policy("max-min-fairness-het", {"mechanism": "gavel"})
    wrapped = SolarDeferral(gavel, lambda now: True)
    assert wrapped.next_wakeup == gavel.next_wakeup  # type: ignore[attr-defined]
    plain = SolarDeferral(make_queue_policy("fifo", {}), lambda now: True)
    assert getattr(plain, "next_wakeup", None) is None  # the engine then runs no extra rounds


def test_policy_floor_is_the_vendor_minimum_power_limit() -> None:
    """With ``min_gpu_power`` below the vendor's minimum limit, a cap under that limit is not
    applied (``cap_effect``), so the policy must count only what the limit lets the low tier
    shed and take the rest from the next priority."""
    from cupy_kernels.power import MIN_CAP_FRACTION

    jobs = (_job(0, 0, prio=0), _job(1, 0, prio=5))
    need = 8 * (1100.0 - 150.0)  # down to idle: more than the minimum limit allows
    view = PowerView(0.0, np.array([1e5]), np.array([1e5 - need]),
                     np.array([1.0 + FIXED_FACILITY_FRACTION]), jobs)
    caps = {c.work_id: c.cap_w for c in PowerCapPolicy(0.1).decide(view)}
    limit = MIN_CAP_FRACTION * 1200.0
    assert caps[0] == pytest.approx(limit)
    shed = 0.0
    for job in jobs:
        _speed, util = cap_effect(caps[job.work_id], (job.power_w - job.idle_w)
                                  / (job.tdp_w - job.idle_w), job.idle_w, job.tdp_w)
        shed += job.n_gpus * (job.power_w - (job.idle_w + util * (job.tdp_w - job.idle_w)))
    assert shed == pytest.approx(need, rel=1e-6)  # the priority-5 job covers the rest


def test_capped_site_lands_on_its_cap_not_below() -> None:
    """The rack overhead follows its GPUs' utilisation, so capping a GPU takes more than its
    own watts off the IT power: the policy counts that, and a site capped above its floor
    ends at the cap (before, about 10 % of the shed was too much on GB200 racks: training
    ran slower than the cap required)."""
    from types import SimpleNamespace

    from cupy_kernels.backend import select_backend
    from emulator.compute import ComputeModel
    from emulator.power_control import cap_candidates

    index = derive_index([resolve_site("bizerte-20mw", {"halls": SMALL_SITE["halls"]})])
    compute = ComputeModel(select_backend("numpy"), index)
    idle, tdp = 200.0, 1200.0
    assert compute.system_of_gpu(0).gpu.tdp_w == tdp
    assert compute.system_of_gpu(0).gpu.idle_w == idle
    util = np.zeros(index.n_gpus)
    works = [SimpleNamespace(work_id=i, gpus=np.arange(72 * i, 72 * (i + 1)), n_gpus=72,
                             priority=0, util=0.9) for i in range(3)]
    for w in works:
        util[w.gpus] = w.util
    pue = np.array([1.1])
    fabric = np.zeros(1)
    _r, _it, fac = compute.power(util, pue, fabric)
    cap = fac - 50_000.0  # well above the floor of the three jobs
    jobs = cap_candidates(works, index.gpu_site, lambda g: (idle, tdp),
                          compute.gpu_overhead_w())
    view = PowerView(0.0, fac, cap, pue, jobs)
    for decision in PowerCapPolicy(0.3).decide(view):
        w = works[decision.work_id]
        _speed, util[w.gpus] = cap_effect(decision.cap_w, w.util, idle, tdp)
    _r, _it, capped = compute.power(util, pue, fabric)
    assert capped[0] == pytest.approx(cap[0], rel=1e-9)


def test_work_started_by_a_ticks_round_is_capped_at_that_tick() -> None:
    """Deferred training starts in the round a tick asks for at sunrise, after that tick's
    caps were decided: it must be capped at once. It once ran uncapped until the next tick,
    so every sunrise sample stood above a constant cap the controller could meet (0.36 MW
    against 0.3 MW here, a whole sample interval counted in over_cap_s)."""
    data = small_scenario(duration="1d", seed=3)
    data["start"] = "2025-03-20"
    data["sites"] = [{**SMALL_SITE, "energy": {
        "solar": {"capacity": "1.9MW", "ac_capacity": "1.6MW"},
        "power_cap": {"mode": "constant", "value": "0.3MW"}}}]
    data["tenants"] = {"lab": {"training": [{
        "name": "pt", "model": "llama3-8b", "rate": "8/d", "gpus": [72, 144], "tp": 8,
        "tokens": {"dist": "lognormal", "median": 2e10, "p90": 5e10},
        "checkpoint_interval": "1h", "preemptible": True}]}}
    data["power"] = {"defer_preemptible": True}
    sim = run_scenario(data)
    energy = sim.ops.energy
    starts = [t for t, k in zip(sim.log.work_t, sim.log.work_kind, strict=True) if k == 1]
    assert any(t % 600 == 0 and not energy.in_solar_hours(t - 600) for t in starts), \
        "some deferred training must start at the sunrise tick"
    over = [(s.t, float(s.demand_w[0])) for s in sim.log.energy if s.demand_w[0] > 0.3e6 * 1.0001]
    assert not over, f"samples above the cap: {over[:3]}"
    assert collect(sim).summary["sites"][0]["over_cap_s"] == 0.0


def test_solar_deferral_keeps_the_engines_release_profile() -> None:
    """Outside solar hours the inner policy sees the queue without preemptible training,
    but the running work's figures are the engine's: its release profile leaves out GPUs
    that do not come back (draining hardware). The deferred view once rebuilt the profile
    from every running GPU, so backfill reserved for the head on GPUs that never return
    and refused a job it starts when nothing is deferred."""
    from emulator.policies.backfill import EasyBackfillPolicy
    from emulator.policies.base import ClusterView, QueuedJob, RunningJob, StartJob
    from tests.test_policy_units import Cluster

    c = Cluster()
    c.run(100, 64, start=0.0, end=2000.0, preemptible=False)

    def job(work_id: int, n: int, preemptible: bool, est: float) -> QueuedJob:
        return QueuedJob(work_id, "training", "a", f"j{work_id}", n, 1, 0.0, 0, preemptible,
                         est, PlacementRequest(n, 1), 0.0, 1.0)

    queue = (job(1, 72, False, 3600.0), job(2, 8, False, 5000.0), job(3, 8, True, 60.0))

    def view(q: tuple[QueuedJob, ...]) -> ClusterView:
        running: list[RunningJob] = c.running
        plain = c.view(list(q))
        return ClusterView(plain.now, q, plain.total_gpus, plain.free_gpus,
                           lambda: running, c.scratch, plain.tenant_gpus, {},
                           release_profile=lambda: (np.array([2000.0]), np.array([8])))

    without = EasyBackfillPolicy().decide(view(queue[:2]))
    assert [d.work_id for d in without if isinstance(d, StartJob)] == [2]
    deferred = SolarDeferral(EasyBackfillPolicy(), lambda now: False).decide(view(queue))
    assert [d.work_id for d in deferred if isinstance(d, StartJob)] == [2]
