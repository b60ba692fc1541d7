"""Compute utilisation under a power cap is the work done (speed × nominal utilisation),
not the power-equivalent utilisation the power model reads."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from tests.conftest import SMALL_SITE, small_scenario


def test_capped_job_counts_its_work_not_its_power() -> None:
    data = small_scenario(duration="12h")
    data["tenants"].pop("eu")  # training only: every busy GPU can be capped
    data["sites"] = [{**SMALL_SITE, "energy": {"power_cap": {"mode": "constant",
                                                             "value": "10kW"}}}]
    data["start"] = "2025-09-22"
    sim = build(validate_scenario(data))
    core = sim.engine.core
    sim.engine.start()
    capped: list = []
    for k in range(1, 72):  # step sample by sample until a job runs power-capped
        sim.env.run(until=k * 600.0 + 1.0)
        capped = [w for w in core.running.values() if core.speed_factor(w, "power") < 1]
        if capped:
            break
    assert capped, "no job was ever power-capped"
    sample = sim.log.samples[-1]
    n = core.index.n_gpus
    work = 0.0
    for w in core.running.values():
        speed = core.speed_factor(w, "power")
        gpus = np.asarray(w.gpus)
        work += (w.util * speed * gpus.size if speed < 1 else core.gpu_util[gpus].sum())
    assert sample.mean_util == pytest.approx(work / n, rel=1e-9)
    # the power model still reads the (lower) power-equivalent utilisation
    assert core.gpu_util.mean() < 0.7 * sample.mean_util
    job = capped[0]
    rack = core.index.gpu_rack[np.asarray(job.gpus)]
    if np.unique(rack).size == 1 and sum(  # alone on its rack: the rack shows its work
            int(np.isin(core.index.gpu_rack[np.asarray(w.gpus)], rack).any())
            for w in core.running.values()) == 1:
        rack_gpus = int(np.count_nonzero(core.index.gpu_rack == rack[0]))
        assert sample.rack_util[rack[0]] == pytest.approx(
            job.util * core.speed_factor(job, "power") * len(job.gpus) / rack_gpus, rel=1e-5)
