"""Serving saturates at the replicas' compute: prefills share one pipeline per replica.

Prefills are batched: a prompt holds its replica's pipeline only for its own work
(:func:`cupy_kernels.inference.prefill_parts`), not for a whole weight read each.
"""

from __future__ import annotations

import numpy as np

from tests.conftest import run_scenario, small_scenario


def _service(rate: float) -> dict:
    data = small_scenario(duration="1h")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": "chat", "model": "llama3-70b", "replicas": 2, "gpus_per_replica": 2,
        "precision": "fp8", "rate": f"{rate!r}/s", "origin": "local",
        "prompt_tokens": {"dist": "fixed", "value": 2000},
        "output_tokens": {"dist": "fixed", "value": 100}}]
    return data


def _prefill_capacity(sim) -> float:
    """Requests/s the replicas can prefill: replicas / batched prefill work of one prompt."""
    serving = sim.engine.serving
    svc = serving.services[0]
    statics = serving.compute.service_statics([svc.spec], [svc.system])
    work, _ = serving.compute.prefill_parts(statics, 0, np.array([2000]))
    return svc.spec.replicas / float(work[0])


def _waits(sim) -> tuple[np.ndarray, np.ndarray]:
    arrivals = np.concatenate([b.arrival_s for b in sim.log.requests])
    waits = np.concatenate([b.wait_s for b in sim.log.requests])
    return arrivals, waits


def test_waits_stay_small_below_capacity_and_grow_above_it() -> None:
    capacity = _prefill_capacity(run_scenario(_service(1.0)))
    assert 10 < capacity < 200  # 2 x 70B prefills of 2,000 tokens on GB200 pairs

    light = run_scenario(_service(0.4 * capacity))
    _, waits = _waits(light)
    assert np.percentile(waits, 99) < 1.0

    heavy = run_scenario(_service(1.5 * capacity))
    arrivals, waits = _waits(heavy)
    early = waits[arrivals < 600].mean()
    # Overloaded by 50%: the backlog grows by ~(1.5 - 1) / 1.5 of elapsed time. Arrivals of
    # the last half hour are still queued when the hour ends (their wait is only what they
    # had by then), so the growth is read on those of the middle of the run, all started.
    middle = waits[(arrivals > 1200) & (arrivals < 1800)].mean()
    assert middle > early + 500.0
    tpot = np.concatenate([b.tpot_s for b in heavy.log.requests])
    light_tpot = np.concatenate([b.tpot_s for b in light.log.requests])
    # decode slows while prefill takes the GPUs ...
    assert np.nanmax(light_tpot) * 1.2 < np.nanmax(tpot)
    # ... but it does not collapse: the typical token stays within a few times the light
    # load's, and the replicas deliver as many requests as at capacity (a plateau)
    assert np.nanmedian(tpot) < 5 * np.nanmedian(light_tpot)
    at_capacity = run_scenario(_service(capacity))
    done = [np.count_nonzero(~np.isnan(np.concatenate([b.tpot_s for b in sim.log.requests])))
            for sim in (at_capacity, heavy)]
    assert done[1] > 0.9 * done[0]
