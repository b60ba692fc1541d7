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
