"""The jobs table's ``remaining`` for training jobs the horizon cuts off in the queue.

The horizon's truncation event carries no fraction for queued work, so the table takes it
from the job's last preemption (its progress up to its last checkpoint), or 1 for a job
that never ran.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emulator import api

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tiresias_60.yaml"


def test_queued_at_horizon_keeps_its_remaining_work() -> None:
    # smallest-gpu-first preempts job 35 at 1,194 s (half done, 60 s checkpoints) and
    # starts it again at 1,221 s: at a 1,200 s horizon it waits in the queue.
    res = api.run(EXAMPLE, overrides=["scheduler.queue=smallest-gpu-first",
                                      "tenants.tiresias.traces.0.checkpoint_interval=60s"],
                  until="1200s")
    jobs = res.jobs.set_index("work_id")
    events = pd.DataFrame(res.tables["events"])
    cut = jobs[(jobs.state == "truncated") & (jobs.kind == "training")]
    assert not cut.remaining.isna().any()
    queued = cut[cut["info"] == "queued"]
    never_ran = queued[queued.start_s.isna()]
    assert len(never_ran) > 0 and (never_ran.remaining == 1.0).all()
    preempted = queued[queued.start_s.notna()]
    assert 35 in preempted.index
    for wid, row in preempted.iterrows():
        stops = events[(events.work_id == wid) & (events.event == "preempt")]
        assert row.remaining == stops.remaining.iloc[-1]
    assert 0.0 < preempted.remaining[35] < 1.0
    assert np.isclose(preempted.remaining[35], 0.504132, atol=1e-6)
