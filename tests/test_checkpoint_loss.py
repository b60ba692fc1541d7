"""The work a failure loses follows the checkpoint cadence the run time counts: a
checkpoint is written after every ``checkpoint_interval`` of compute and takes
``checkpoint_cost`` to write, so a failure loses the compute since the last completed
write plus any write under way — ``(interval + cost)/2`` on average for failures uniform
over the cadence, not ``interval/2``."""

from __future__ import annotations

import math

import numpy as np

from emulator.build import build
from emulator.core.training import checkpoint_progress
from emulator.loader import validate_scenario
from emulator.results import collect
from tests.conftest import small_scenario

INTERVAL_MIN, COST_MIN, GPUS, GPU_MTBF_H = 10.0, 2.0, 8, 16.0


def test_checkpoints_complete_every_interval_plus_write() -> None:
    assert checkpoint_progress(100.0, 100.0 + 11 * 60, 600.0, 120.0) == 100.0
    assert checkpoint_progress(100.0, 100.0 + 12 * 60, 600.0, 120.0) == 100.0 + 720.0
    assert checkpoint_progress(100.0, 100.0 + 25 * 60, 600.0, 120.0) == 100.0 + 1440.0


def test_lost_work_per_failure_averages_what_the_cadence_gives() -> None:
    data = small_scenario(duration="45d")
    data["tenants"] = {"lab": {"jobs": [{
        "name": "long", "model": "llama3-8b", "gpus": GPUS, "tp": 8, "tokens": 1e14,
        "global_batch_tokens": 1e6, "checkpoint_interval": f"{INTERVAL_MIN:g}m",
        "checkpoint_cost": f"{COST_MIN:g}m"}]}}
    data["sites"][0]["failures"] = {"defaults": False, "components": {
        "software": {"mtbf": GPU_MTBF_H * 3600.0}}}
    sim = build(validate_scenario(data))
    sim.run()
    events = collect(sim).tables["events"]
    kinds = np.asarray(events["event"])
    lost_min = np.asarray(events["lost_gpu_s"])[kinds == "interrupt"] / GPUS / 60.0
    # failures during the restore after a restart find nothing computed: left out
    lost_min = lost_min[lost_min > 0]
    assert lost_min.size > 400
    # time from the run's compute start to a failure is exponential (rate λ, the job's
    # GPUs × the per-GPU rate); the loss is that time modulo the cadence's period P
    lam = GPUS / (GPU_MTBF_H * 60.0)
    period = INTERVAL_MIN + COST_MIN
    expected = 1 / lam - period / math.expm1(lam * period)  # E[Exp(λ) mod P], min
    bound = 4 * lost_min.std() / math.sqrt(lost_min.size)
    assert abs(lost_min.mean() - expected) < bound
    assert (lost_min <= period + 1e-6).all()
    # the interval-only cadence (period = interval) would give a clearly smaller mean
    wrong = 1 / lam - INTERVAL_MIN / math.expm1(lam * INTERVAL_MIN)
    assert abs(wrong - expected) > bound


def test_a_duration_as_given_job_checkpoints_every_interval_of_its_run_time() -> None:
    """A job that runs its duration as given counts no checkpoint writes in it, so its
    checkpoints fall every interval of that time: preempted 2.5 h in with 1 h checkpoints
    it loses 30 min (it once lost 10 min with a 10 min cost, as if its run time held the
    writes, and was credited 20 minutes it had not checkpointed)."""
    from tests.conftest import run_scenario

    data = small_scenario(duration="2d")
    data["sites"][0]["halls"][0]["racks"] = 1
    data["tenants"] = {
        "lab": {"jobs": [{"name": "long", "model": "generic", "gpus": 72, "runtime": "10h",
                          "checkpoint_interval": "1h", "checkpoint_cost": "10m"}]},
        "ops": {"jobs": [{"name": "urgent", "model": "generic", "gpus": 72, "runtime": "1h",
                          "submit": "2.5h", "priority": 5}]}}
    data["scheduler"] = {"queue": "priority"}
    sim = run_scenario(data)
    long = next(w for w in sim.works if w.name == "long")
    assert long.preemptions == 1
    assert long.lost_gpu_s == 0.5 * 3600.0 * 72
    # back at 3.5 h, restores 10 min, then the 8 h after its last checkpoint (2 h)
    assert math.isclose(long.end_s, 3.5 * 3600.0 + 600.0 + 8 * 3600.0)
