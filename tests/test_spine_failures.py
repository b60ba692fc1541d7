"""A failed spine switch costs its site cross-pod bandwidth: training spanning pods slows
down by what its step time gives at the bandwidth left, nothing stops while one spine is
left, and speeds come back with the repair. Power caps and spine losses each keep their
own factor of a job's speed."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from emulator.build import Simulation, build
from emulator.checkpointing import job_failure_rate
from emulator.eventlog import Ev
from emulator.failure_metrics import failure_rows, failure_summary
from emulator.loader import validate_scenario
from emulator.work import Work
from tests.conftest import small_scenario
from topologies.index import TIER_LEAF, TIER_NVLINK, TIER_SPINE
from topologies.reliability import COMPONENTS, LLAMA3_COUNTS, LLAMA3_DAYS, LLAMA3_GPUS
from topologies.sizing import size_site

SPINE = COMPONENTS.index("spine")


def _scenario(duration: str = "2d", **spine: Any) -> dict[str, Any]:
    """The small 4-rack site with one rack per pod, so that 144-GPU jobs cross the spine."""
    data = small_scenario(duration=duration)
    data["sites"][0]["fabric"] = {"racks_per_pod": 1}
    data["sites"][0]["failures"] = {"defaults": False,
                                    "components": {"spine": spine} if spine else {}}
    return data


def _build(data: dict[str, Any]) -> Simulation:
    return build(validate_scenario(data), keep_segments=True)


def _running_at(sim: Simulation, tier: int) -> Work:
    """Run ``sim`` hour by hour until training at ``tier`` runs; return that job."""
    for hour in range(1, 49):
        sim.env.run(until=hour * 3600.0)
        found = [w for w in sim.engine.core.running.values()
                 if w.kind == "training" and w.tier == tier]
        if found:
            return found[0]
    raise AssertionError(f"no training job ran at tier {tier} within 2 days")


# -- the plan ------------------------------------------------------------------------------
def test_a_site_has_one_spine_unit_per_spine_switch_with_the_leaf_switch_rate() -> None:
    data = _scenario()
    data["sites"][0]["failures"] = {}  # the catalog defaults
    sim = _build(data)
    spine = [c for c in sim.engine.failures.plan.classes if c.name == "spine"]
    assert len(spine) == 1
    site = validate_scenario(data).sites[0]
    assert spine[0].n_units == size_site(site).spines > 1
    assert spine[0].gpus.size == 0  # a spine takes no GPU down
    leaf_per_gpu_year = LLAMA3_COUNTS["switch"] / (LLAMA3_GPUS * LLAMA3_DAYS / 365.25)
    assert spine[0].rate_per_s * (365.25 * 86400) == pytest.approx(32 * leaf_per_gpu_year)
    # a spine failure restarts nothing: the Young/Daly job MTBF leaves it out
    plan = sim.engine.failures.plan
    without = type(plan)(tuple(c for c in plan.classes if c.name != "spine"), plan.configs)
    assert job_failure_rate(plan, 0, 144) == job_failure_rate(without, 0, 144)


# -- the slow-down -------------------------------------------------------------------------
def test_spine_slowdown_follows_the_bandwidth_left_and_spares_other_tiers() -> None:
    sim = _build(_scenario())
    sim.engine.start()
    job = _running_at(sim, TIER_SPINE)
    shapes = sim.engine.core.shapes
    g = int(job.gpus[0])  # type: ignore[index]
    speeds = [shapes.spine_slowdown(job.spec, g, TIER_SPINE, s)  # type: ignore[arg-type]
              for s in (1.0, 7 / 8, 1 / 2, 1 / 8)]
    assert speeds[0] == 1.0
    assert all(a > b for a, b in itertools.pairwise(speeds))  # less is slower
    assert speeds[-1] > 0
    for tier in (TIER_NVLINK, TIER_LEAF):  # traffic that never crosses the spine
        assert shapes.spine_slowdown(job.spec, g, tier, 0.5) == 1.0  # type: ignore[arg-type]


def test_a_spine_failure_slows_spine_tier_training_until_the_repair() -> None:
    sim = _build(_scenario())
    sim.engine.start()
    job = _running_at(sim, TIER_SPINE)
    core, fm = sim.engine.core, sim.engine.failures
    others = {w.work_id: w.speed for w in core.running.values()
              if w.kind == "training" and w.tier != TIER_SPINE}
    total = size_site(validate_scenario(_scenario()).sites[0]).spines
    fm.spines = {0: total}
    fm.spines_down = {0: 0}
    fm.spine_count = {0: np.zeros(total, dtype=np.int32)}
    cls = _spine_class(total, repair_s=1800.0)
    fm._spine_fails(cls, 3)
    expected = core.shapes.spine_slowdown(job.spec, int(job.gpus[0]),  # type: ignore[arg-type, index]
                                          TIER_SPINE, (total - 1) / total)
    assert expected < 1.0
    assert job.speed == expected and job.state == "running" and job.interruptions == 0
    assert {w: core.works[w].speed for w in others} == others  # other tiers untouched
    now = sim.env.now
    sim.env.run(until=now + 1801.0)
    if job.state == "running":
        assert job.speed == 1.0
    assert fm.spines_down[0] == 0 and not fm.spine_count[0].any()


def _spine_class(units: int, repair_s: float) -> Any:
    from emulator.failure_plan import ClassPlan
    return ClassPlan(site=0, code=SPINE, unit_start=np.zeros(units + 1, dtype=np.int64),
                     gpus=np.empty(0, dtype=np.int64), rate_per_s=np.full(units, 1e-6),
                     detection_s=300.0, repair_s=repair_s, weibull_shape=None)


def test_every_spine_down_cuts_the_site_off_until_the_first_is_back() -> None:
    sim = _build(_scenario())
    sim.engine.start()
    job = _running_at(sim, TIER_SPINE)
    core, fm = sim.engine.core, sim.engine.failures
    fm.spines, fm.spines_down = {0: 2}, {0: 0}
    fm.spine_count = {0: np.zeros(2, dtype=np.int32)}
    cls = _spine_class(2, repair_s=3600.0)
    fm._spine_fails(cls, 0)
    assert job.state == "running" and job.speed < 1.0
    fm._spine_fails(cls, 1)
    assert job.state == "held" and job.interruptions == 1
    assert core.cluster.isolated.all() and not core.cluster.down.any()
    sim.env.run(until=sim.env.now + 3601.0)  # both back (same repair time)
    assert not core.cluster.isolated.any() and fm.cut_count.sum() == 0


# -- one owner of a job's speed ------------------------------------------------------------
def test_power_and_network_factors_multiply_and_lift_independently() -> None:
    sim = _build(_scenario())
    sim.engine.start()
    job = _running_at(sim, TIER_SPINE)
    core = sim.engine.core
    before = core.log.n_work_events
    core.slow(job, "power", 0.8, "power cap")
    core.slow(job, "network", 0.9, "spine switch down")
    assert job.speed == pytest.approx(0.72)
    core.slow(job, "power", 1.0, "power cap lifted")
    assert job.speed == 0.9 and core.speed_factor(job, "network") == 0.9
    core.slow(job, "network", 0.9, "again")  # no change: no re-rate
    c = core.log.work_columns()
    rerates = c["speed"][before:][c["kind"][before:] == Ev.RERATE]
    assert rerates.tolist() == pytest.approx([0.8, 0.72, 0.9])


# -- a whole run ---------------------------------------------------------------------------
def test_a_run_with_spine_failures_keeps_its_figures() -> None:
    """Frequent spine failures: no job is interrupted while a spine is left, only
    spine-tier training is re-rated, every running job's speed is its network factor at the
    end, and the summary's availability is the spine capacity's, computed here from the
    sampled failures: a switch still down does not fail again (as every other unit), so a
    failure drawn inside an earlier one's repair neither counts nor extends the outage."""
    data = _scenario(duration="2d", afr=400.0, repair="8h")
    sim = _build(data)
    fm = sim.engine.failures
    sim.run()
    c = sim.log.work_columns()
    assert not (c["kind"] == Ev.INTERRUPT).any()
    rerated = {int(w) for w in c["work_id"][c["kind"] == Ev.RERATE]}
    assert rerated and all(sim.works[w].tier == TIER_SPINE for w in rerated)
    scale = fm.spine_scale(0)  # every job still running runs at the bandwidth left now
    ran = [w for w in sim.works if w.state == "running" and w.tier == TIER_SPINE]
    for work in ran:
        assert work.speed == sim.engine.core.shapes.spine_slowdown(
            work.spec, int(work.gpus[0]), TIER_SPINE, scale)  # type: ignore[arg-type, index]
    # availability: each switch down [t, t + repair] from each failure drawn while it was
    # up, over S × horizon
    horizon, total = sim.horizon_s, fm.spines[0]
    down, applied, dropped = 0.0, 0, 0
    for unit in range(total):
        end = -math.inf
        for t in sorted(fm.times[fm.units == unit].tolist()):
            if t < end:  # still down: it cannot fail again
                dropped += 1
                continue
            applied += 1
            end = t + 8 * 3600.0
            down += min(end, horizon) - t
    assert applied > 3 and dropped > 0  # the rates make some draws fall inside a repair
    summary = failure_summary(sim.log, sim.works, horizon, sim.index.n_gpus)
    spine = summary["by_class"]["spine"]
    assert spine["effect"] == "bandwidth" and spine["failures"] == applied
    assert spine["availability"] == pytest.approx(1 - down / (total * horizon), rel=1e-9)
    assert any("of spine capacity" in v for _, v in failure_rows(summary))
    assert summary["job_interruptions"] == 0


def test_bad_spine_rate_is_one_clear_line() -> None:
    from emulator.errors import UserError
    with pytest.raises((UserError, ValueError), match="spine"):
        validate_scenario(_scenario(afr=-1.0))
