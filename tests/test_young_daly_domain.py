"""Young/Daly checkpoint intervals count only the failures that can stop a run: a run
inside one NVLink domain is not stopped by a NIC or leaf-switch failure (scale-out network
only), so its interval leaves those classes out; a run spanning domains counts them."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from emulator.build import Simulation, build
from emulator.checkpointing import checkpoint_write_s, job_failure_rate, young_daly_s
from emulator.failure_plan import FailurePlan
from emulator.feasibility import TRAINING_STATE_BYTES_PER_PARAM
from emulator.loader import validate_scenario
from emulator.work import Work
from tests.conftest import small_scenario
from topologies.index import TIER_NVLINK
from topologies.reliability import effect_of
from workloads.models import get_model


def _touched_rate(plan: FailurePlan, site: int, gpus: np.ndarray, inside: bool) -> float:
    """Failures per second that stop a run on ``gpus``: the rates of every unit of the
    site's classes holding one of its GPUs (scale-out classes left out ``inside`` one
    NVLink domain, spine switches always)."""
    held = set(np.asarray(gpus).tolist())
    rate = 0.0
    for c in plan.classes:
        effect = effect_of(c.name)
        if c.site != site or effect == "bandwidth" or (inside and effect == "scale_out"):
            continue
        rate += sum(float(c.rate_per_s[u]) for u in range(c.n_units)
                    if held.intersection(c.unit_gpus(u).tolist()))
    return rate


def _hourly_training_runs(sim: Simulation, hours: int) -> Iterator[list[tuple[int, Work]]]:
    """Start ``sim`` and, at the end of each of its first ``hours`` hours, the training
    runs then running with the site each sits on."""
    core = sim.engine.core
    sim.engine.start()
    for hour in range(1, hours + 1):
        sim.env.run(until=hour * 3600.0)
        yield [(int(core.index.gpu_site[int(w.gpus[0])]), w)
               for w in core.running.values() if w.kind == "training"]


def _assert_interval_from_touched_units(plan: FailurePlan, w: Work, site: int = 0) -> float:
    """Check that ``w``'s checkpoint interval is Young/Daly's for the failure rate of the
    units its GPUs touch on ``site``; returns that rate (1/s)."""
    rate = _touched_rate(plan, site, w.gpus, w.tier == TIER_NVLINK)
    assert math.isclose(w.spec.checkpoint_interval_s,
                        young_daly_s(w.spec.checkpoint_cost_s, 1 / rate))
    return rate


def _sim() -> Simulation:
    data = small_scenario(duration="3d")
    data["sites"][0]["failures"] = {"checkpoint": "young_daly",
                                    "checkpoint_bandwidth": "2TB/s"}
    return build(validate_scenario(data))


def test_a_run_inside_one_domain_leaves_nic_and_leaf_switch_failures_out() -> None:
    plan = _sim().engine.failures.plan
    scale_out = sum(float(c.rate_per_s.mean()) * math.ceil(8 / (c.gpus.size / c.n_units))
                    for c in plan.classes
                    if c.n_units and c.gpus.size and effect_of(c.name) == "scale_out")
    assert scale_out > 0
    spanning = job_failure_rate(plan, 0, 8)
    inside = job_failure_rate(plan, 0, 8, in_domain=True)
    assert inside == spanning - scale_out or math.isclose(inside, spanning - scale_out)
    assert spanning / inside > 1.2  # GB200: NIC + leaf switch are a fifth of an 8-GPU job's


def test_each_run_gets_the_interval_of_where_it_starts() -> None:
    sim = _sim()
    plan = sim.engine.failures.plan
    seen = {True: 0, False: 0}
    for runs in _hourly_training_runs(sim, 72):
        for _, w in runs:
            _assert_interval_from_touched_units(plan, w)
            seen[w.tier == TIER_NVLINK] += 1
        if all(seen.values()):
            break
    assert all(seen.values()), seen  # runs of both kinds were checked


def test_the_write_cost_is_that_of_the_site_a_run_starts_on() -> None:
    """Two Young/Daly sites with storage 100× apart: a run on the second once kept the write
    cost δ of the first site's bandwidth (and so an interval 10× too short)."""
    data = small_scenario(duration="2d")
    data["sites"][0]["failures"] = {"checkpoint": "young_daly",
                                    "checkpoint_bandwidth": "2TB/s"}
    data["sites"].append({"preset": "morocco-40mw",
                          "halls": [{"name": "phase1-a", "system": "gb200-nvl72", "racks": 4}],
                          "failures": {"checkpoint": "young_daly",
                                       "checkpoint_bandwidth": "20GB/s"}})
    sim = build(validate_scenario(data))
    plan = sim.engine.failures.plan
    bandwidth = {0: 2e12, 1: 20e9}
    seen: set[int] = set()
    for runs in _hourly_training_runs(sim, 48):
        for site, w in runs:
            write = checkpoint_write_s(get_model(w.spec.model).params,
                                       TRAINING_STATE_BYTES_PER_PARAM, bandwidth[site])
            assert math.isclose(w.spec.checkpoint_cost_s, write)
            rate = _touched_rate(plan, site, w.gpus, w.tier == TIER_NVLINK)
            assert math.isclose(w.spec.checkpoint_interval_s, young_daly_s(write, 1 / rate))
            seen.add(site)
        if len(seen) == 2:
            break
    assert seen == {0, 1}  # runs on both sites were checked


def test_a_run_on_a_fixed_cadence_site_keeps_its_own_interval_and_cost() -> None:
    """A Young/Daly site and a ``checkpoint: fixed`` one: a run on the fixed site once kept
    the τ and δ the workload got from the Young/Daly site (537 s and 0.064 s instead of its
    own 30 min and 60 s)."""
    data = small_scenario(duration="2d")
    data["sites"][0]["failures"] = {"checkpoint": "young_daly",
                                    "checkpoint_bandwidth": "2TB/s"}
    data["sites"].append({"preset": "morocco-40mw",
                          "halls": [{"name": "phase1-a", "system": "gb200-nvl72", "racks": 4}],
                          "failures": {"checkpoint": "fixed"}})
    sim = build(validate_scenario(data))
    plan = sim.engine.failures.plan
    seen: set[int] = set()
    for runs in _hourly_training_runs(sim, 48):
        for site, w in runs:
            if site == 1:
                assert (w.spec.checkpoint_interval_s, w.spec.checkpoint_cost_s) == (1800.0, 60.0)
            else:
                rate = _touched_rate(plan, 0, w.gpus, w.tier == TIER_NVLINK)
                assert math.isclose(w.spec.checkpoint_interval_s,
                                    young_daly_s(w.spec.checkpoint_cost_s, 1 / rate))
            seen.add(site)
        if len(seen) == 2:
            break
    assert seen == {0, 1}  # runs on both sites were checked


def test_the_failure_rate_counts_the_units_a_run_touches() -> None:
    """Spread placement scatters a run over more trays, NVLink domains, leaves and racks
    than ``⌈N/s⌉``: its interval once came from ``⌈N/s⌉`` units per class (a 16-GPU run
    over 6 trays and 2 racks got τ 3220 s instead of 2552 s)."""
    data = small_scenario(duration="2d")
    data["scheduler"]["placement"] = "spread"
    data["sites"][0]["failures"] = {"checkpoint": "young_daly",
                                    "checkpoint_bandwidth": "2TB/s"}
    sim = build(validate_scenario(data))
    plan = sim.engine.failures.plan
    wider = 0
    for runs in _hourly_training_runs(sim, 48):
        for _, w in runs:
            inside = w.tier == TIER_NVLINK
            rate = _assert_interval_from_touched_units(plan, w)
            wider += rate > job_failure_rate(plan, 0, w.n_gpus, in_domain=inside) * 1.01
        if wider >= 3:
            break
    assert wider >= 3  # runs touching more units than ⌈N/s⌉ were checked
