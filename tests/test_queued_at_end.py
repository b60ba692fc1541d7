"""``queued_at_end``: every training job waiting in the queue when the run ends, those that
had run and were preempted too (``still_queued`` counts only jobs that never started)."""

from __future__ import annotations

from typing import Any

import numpy as np

from emulator import api
from tests.conftest import small_scenario


def _waiting_at_end(events: dict[str, np.ndarray]) -> dict[str, int]:
    """Per tenant, the jobs whose last event before the run's end put them in the queue
    (submit, preempt, requeue) rather than on GPUs (start, restart), replayed from the
    events table alone."""
    into_queue, out_of_queue = {"submit", "preempt", "requeue"}, {"start", "restart"}
    last: dict[int, tuple[str, str]] = {}
    for kind, work, tenant in zip(events["event"].tolist(), events["work_id"].tolist(),
                                  events["tenant"].tolist(), strict=True):
        if kind in into_queue or kind in out_of_queue or kind in ("finish", "reject"):
            last[int(work)] = (str(kind), str(tenant))
    counts: dict[str, int] = {}
    for kind, tenant in last.values():
        counts[tenant] = counts.get(tenant, 0) + (kind in into_queue)
    return counts


def test_preempted_jobs_waiting_at_the_end_are_counted() -> None:
    data: dict[str, Any] = small_scenario(duration="12h")
    del data["tenants"]["eu"]
    data["sites"][0]["halls"][0]["racks"] = 1
    data["tenants"]["lab"]["training"][0].update({"rate": "200/d", "gpus": [8, 16, 32]})
    data["scheduler"]["queue"] = "las"  # preempts: jobs that ran wait again
    result = api.run(data)
    s = result.summary
    expected = _waiting_at_end(result.tables["events"])
    assert s["queued_at_end"] == sum(expected.values()) == s["tenants"]["lab"]["queued_at_end"]
    assert s["queued_at_end"] > s["still_queued"]  # the preempted ones are not "never started"
    assert s["still_queued"] <= s["queued_at_end"] <= s["jobs"]["truncated"]
