"""A failure under a service's base replica counts as a replica lost (stopped until its
GPUs are repaired), beside the requests it retried: the summary never says 0 replicas lost
while it retried their requests."""

from __future__ import annotations

from pathlib import Path

import yaml

from emulator.build import build
from emulator.eventlog import Infra
from emulator.failure_metrics import failure_rows
from emulator.loader import validate_scenario
from emulator.results import collect
from tests.conftest import small_scenario


def test_a_base_replica_on_a_failed_gpu_is_counted_lost_and_back(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(yaml.safe_dump({"events": [  # the 4 one-GPU replicas hold GPUs 0-3
        {"at": "1h", "target": "gpu:bizerte-20mw/hall-a/0/0", "action": "fail",
         "duration": "2h"}]}))
    sim = build(validate_scenario(small_scenario(duration="4h")), events_file=path)
    service = next(w for w in sim.works if w.kind == "inference")
    sim.run()
    assert service.gpus is not None and 0 in service.gpus.tolist()  # what is tested
    rows = [(Infra(k), t, s, v) for k, t, s, v in zip(
        sim.log.infra_kind, sim.log.infra_t, sim.log.infra_subject, sim.log.infra_value,
        strict=True) if k in (Infra.REPLICAS_DOWN, Infra.REPLICAS_UP)]
    assert rows == [(Infra.REPLICAS_DOWN, 3600.0, service.work_id, 1.0),
                    (Infra.REPLICAS_UP, 10800.0, service.work_id, 1.0)]
    f = collect(sim).summary["failures"]
    assert f["requests_retried"] > 0
    assert (f["replicas_lost"], f["base_replicas_stopped"], f["base_replicas_restored"]) == (
        1, 1, 1)
    assert ("replicas lost", "1 (1 base, stopped until repair; 1 back)") in failure_rows(f)
