"""Preemption through the engine: lost work since the last checkpoint is counted, restarts
pay their restore time, and the results show both."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from emulator.eventlog import WORK_EVENTS
from emulator.tables import jobs_table
from tests.conftest import run_scenario, small_scenario
from tests.test_engine_invariants import check_invariants

HOUR = 3600.0


def scenario(queue: str, with_urgent: bool = True) -> dict[str, Any]:
    data = small_scenario(duration="3d")
    data["sites"][0]["halls"][0]["racks"] = 1
    long_job = {"name": "long", "model": "llama3-8b", "gpus": 72, "tp": 8, "tokens": 3e11,
                "checkpoint_interval": "1h", "checkpoint_cost": "2m"}
    urgent = {"name": "urgent", "model": "llama3-8b", "gpus": 72, "tp": 8, "tokens": 2e9,
              "submit": "2.5h", "priority": 5}
    data["tenants"] = {"lab": {"jobs": [long_job]}}
    if with_urgent:
        data["tenants"]["ops"] = {"jobs": [urgent]}
    data["scheduler"] = {"queue": queue}
    return data


def by_name(sim: Any, name: str) -> Any:
    return next(w for w in sim.works if w.name == name)


@pytest.fixture(scope="module")
def alone() -> float:
    """How long the long job runs undisturbed (s)."""
    sim = run_scenario(scenario("fifo", with_urgent=False))
    w = by_name(sim, "long")
    assert w.state == "finished"
    return float(w.end_s - w.start_s)


def test_priority_preemption_counts_lost_work_and_pays_restore(alone: float) -> None:
    sim = run_scenario(scenario("priority"))
    check_invariants(sim)
    long, urgent = by_name(sim, "long"), by_name(sim, "urgent")
    assert long.preemptions == 1 and urgent.preemptions == 0
    # Preempted at 2.5 h; checkpoints complete every 1 h of compute + 2 min of writing, the
    # last at 2 h 4 min: 26 minutes on 72 GPUs are lost.
    last = 2 * (HOUR + 120.0)
    assert long.lost_gpu_s == pytest.approx((2.5 * HOUR - last) * 72, rel=1e-9)
    assert urgent.segments[0][0] == pytest.approx(2.5 * HOUR)
    restart = urgent.end_s
    # Restarts when the urgent job ends, restores (2 min), redoes the lost 26 minutes.
    assert long.end_s == pytest.approx(restart + 120.0 + alone - last, rel=1e-9)
    assert long.end_s - alone == pytest.approx(
        (urgent.end_s - urgent.start_s) + (2.5 * HOUR - last) + 120.0, rel=1e-9)
    kinds = [WORK_EVENTS[k] for k in sim.log.work_kind]
    i = kinds.index("preempt")
    assert sim.log.work_id[i] == long.work_id
    assert sim.log.work_lost_gpu_s[i] == pytest.approx(112320.0)
    table = jobs_table(sim.log, sim.works)
    row = int(np.flatnonzero(table["work_id"] == long.work_id)[0])
    assert table["preemptions"][row] == 1
    assert table["lost_gpu_s"][row] == pytest.approx(112320.0)


def test_fifo_never_preempts() -> None:
    sim = run_scenario(scenario("fifo"))
    assert all(w.preemptions == 0 and w.lost_gpu_s == 0 for w in sim.works)
    assert by_name(sim, "urgent").start_s == pytest.approx(by_name(sim, "long").end_s)


@pytest.mark.parametrize("queue", ["srtf", "las"])
def test_preempting_policies_count_lost_work(queue: str) -> None:
    sim = run_scenario(scenario(queue))
    check_invariants(sim)
    long = by_name(sim, "long")
    assert long.preemptions == 1
    # preempted at 2.5 h, last checkpoint complete at 2 x (1 h + 2 min)
    assert long.lost_gpu_s == pytest.approx((2.5 * HOUR - 2 * (HOUR + 120.0)) * 72, rel=1e-9)
    assert by_name(sim, "urgent").state == "finished" and long.state == "finished"


def _rerate_then_preempt(rerate: bool):
    from emulator.build import build
    from emulator.loader import validate_scenario
    from tests.conftest import small_scenario

    data = small_scenario(duration="3d")
    data["tenants"] = {"lab": {"jobs": [{
        "name": "A", "model": "llama3-8b", "gpus": 72, "tp": 8, "tokens": 3e11,
        "checkpoint_interval": "1h", "checkpoint_cost": "0s"}]}}
    data["scheduler"] = {"queue": "fifo"}
    sim = build(validate_scenario(data), keep_segments=True)
    sim.engine.start()
    sim.env.run(until=5.5 * 3600)
    work = sim.works[0]
    if rerate:
        sim.engine.rerate(work, 0.5, "power cap")
    sim.env.run(until=6.2 * 3600)
    sim.engine.core.preempt(work, "test")
    return work


def test_a_rerate_is_not_a_checkpoint() -> None:
    plain = _rerate_then_preempt(False)
    capped = _rerate_then_preempt(True)
    # Checkpoints every hour from t=0: the last is at 6 h either way; 0.2 h x 72 GPUs lost.
    assert plain.lost_gpu_s == pytest.approx(0.2 * 3600 * 72)
    assert capped.lost_gpu_s == pytest.approx(0.2 * 3600 * 72)
    hours = plain.full_duration_s / 3600
    assert (1 - plain.remaining) * hours == pytest.approx(6.0)
    # At half speed from 5.5 h: 5.5 h + 0.5 x 0.5 h of work by the 6 h checkpoint.
    assert (1 - capped.remaining) * hours == pytest.approx(5.75)
