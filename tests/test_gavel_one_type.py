"""Gavel's policies run a job on one GPU type at a time: a job larger than every type it
can run on is refused, not left waiting to the horizon."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from tests.test_engine_invariants import check_invariants


def _scenario(queue: str) -> dict[str, Any]:
    halls = [{"name": n, "system": "generic", "gpu": n, "gpus_per_node": 4, "nodes": 1}
             for n in ("v100", "p100")]
    jobs = [{"name": "big", "model": "generic", "gpus": 8, "runtime": "1h"},
            {"name": "small", "model": "generic", "gpus": 2, "runtime": "1h"}]
    return {
        "name": "g", "seed": 1, "duration": "2d",
        "sites": [{"name": "lab", "country": "US", "city": "x",
                   "location": {"lat": 0, "lon": 0}, "grid_connection": "1MW",
                   "cooling": "air", "halls": halls}],
        "tenants": {"t": {"jobs": jobs}},
        "scheduler": {"queue": queue, "round_length": "360s"},
        "compute": {"backend": "numpy"},
        "engine": {"stop_when_done": True},
    }


@pytest.mark.parametrize("queue", ["max-min-fairness", "max-min-fairness-het"])
def test_a_job_larger_than_every_gpu_type_is_rejected(queue: str) -> None:
    # 8 GPUs on 4 V100 + 4 P100: the cluster holds 8, so it passes the submission check,
    # but no single type does. It used to stay queued, allocated nothing, for two days.
    sim = build(validate_scenario(_scenario(queue)), keep_segments=True)
    sim.run()
    check_invariants(sim)
    big, small = sorted(sim.works, key=lambda w: w.n_gpus, reverse=True)
    assert big.state == "rejected" and big.end_s == 0.0
    assert small.state == "finished" and small.end_s == 3600.0
    assert sim.horizon_s == 3600.0  # stop_when_done: nothing left waiting
    assert any(r.startswith("needs 8 GPUs of one type; the most of a type it runs on is 4")
               for r in sim.log.reasons)
