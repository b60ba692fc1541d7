"""Admission: impossible work is rejected with a reason; mixed halls honour system limits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from emulator.errors import UserError
from tests.conftest import run_scenario, small_scenario


def _jobs(**job) -> dict:
    data = small_scenario(duration="12h")
    data["tenants"]["lab"] = {"jobs": [dict({"name": "j", "model": "llama3-8b", "tp": 8,
                                             "tokens": 1e8}, **job)]}
    return data


def _reason(sim) -> str:
    (work,) = [w for w in sim.works if w.kind == "training"]
    assert work.state == "rejected"
    idx = sim.log.work_id.index(work.work_id, sim.log.work_id.index(work.work_id) + 1)
    return sim.log.reasons[sim.log.work_reason[idx]]


def test_too_many_gpus_is_rejected_not_left_waiting() -> None:
    sim = run_scenario(_jobs(gpus=4096, global_batch_tokens=4096 * 8192))
    assert "needs 4096 GPUs" in _reason(sim) and "288" in _reason(sim)


def test_tp_group_larger_than_domain_is_rejected() -> None:
    data = _jobs(gpus=16, tp=16, system="h100-hgx")
    data["sites"][0]["halls"] = [{"name": "h", "system": "h100-hgx", "racks": 4}]
    assert "NVLink domain" in _reason(run_scenario(data))


def test_model_that_does_not_fit_is_rejected() -> None:
    sim = run_scenario(_jobs(gpus=8, model="llama3-405b"))
    assert "training state" in _reason(sim)
    # the reason names the memory needed and the memory there is
    assert _reason(sim) == ("model llama3-405b needs 812 GB of training state per GPU on 8 "
                            "GPUs; a GPU here has at most 198.7 GB (B200 (GB200)); more GPUs "
                            "are needed")


def test_inference_service_that_cannot_fit_is_a_config_error() -> None:
    data = small_scenario(duration="1h")
    data["tenants"]["eu"]["inference"][0].update({"model": "llama3-405b", "precision": "bf16",
                                                  "gpus_per_replica": 2})
    with pytest.raises(UserError, match=r"tenants\.eu\.inference\.chat: model llama3-405b"):
        run_scenario(data)
    data["tenants"]["eu"]["inference"][0].update({"model": "llama3-8b", "gpus_per_replica": 144})
    with pytest.raises(UserError, match="NVLink domain"):
        run_scenario(data)


def test_mixed_halls_keep_jobs_on_their_system() -> None:
    data = small_scenario(duration="1d")
    data["sites"][0]["halls"] = [{"name": "gb", "system": "gb200-nvl72", "racks": 2},
                                 {"name": "hopper", "system": "h100-hgx", "racks": 4}]
    data["tenants"]["lab"]["training"][0].update({"system": "h100-hgx", "gpus": [8, 16],
                                                  "model": "llama3-8b"})
    sim = run_scenario(data)
    systems = sim.index.rack_system[sim.index.gpu_rack]
    names = [s.name for s in sim.index.systems]
    h100 = names.index("h100-hgx")
    started = [w for w in sim.works if w.kind == "training" and w.segments]
    assert started
    for w in started:
        for _s, _e, gpus in w.segments:
            assert np.all(systems[gpus] == h100)
    # The same jobs (same seed and streams) restricted to the GB200 hall step faster.
    data["tenants"]["lab"]["training"][0]["system"] = "gb200-nvl72"
    on_gb200 = {w.work_id: w for w in run_scenario(data).works if w.segments}
    pairs = [(w.step_s, on_gb200[w.work_id].step_s) for w in started
             if w.work_id in on_gb200 and w.spec == dataclasses.replace(
                 on_gb200[w.work_id].spec, gpu_system="h100-hgx")]
    assert pairs
    assert all(h100_step > gb200_step for h100_step, gb200_step in pairs)


def test_a_service_that_cannot_fit_names_its_weights_and_the_memory() -> None:
    data = small_scenario(duration="1h")
    data["sites"][0]["halls"] = [{"name": "h", "system": "h100-hgx", "racks": 1}]
    svc = data["tenants"]["eu"]["inference"][0]
    svc.update({"model": "llama3-70b", "precision": "bf16", "gpus_per_replica": 1})
    with pytest.raises(UserError, match=r"its weights take 141\.2 GB of the 85\.5 GB of 1 "
                                        r"H100 SXM$"):
        run_scenario(data)
    svc.update({"precision": "fp8", "prompt_tokens": 100_000, "output_tokens": 100})
    with pytest.raises(UserError, match=r"its weights take 70\.6 GB of the 85\.5 GB of 1 H100 "
                                        r"SXM, leaving too little for the KV cache of one "
                                        r"request$"):
        run_scenario(data)
