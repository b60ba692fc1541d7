"""The ordering policies sort the queue with one ``np.lexsort`` over the queue's table;
the order must be the one ``sorted`` gives on the policies' key tuples (as written out
below), job for job, for queues kept by the engine's :class:`WorkQueue` and for the
view's own fallback table."""

from __future__ import annotations

import bisect
import math
import sys
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.queue import WorkQueue
from emulator.placement import PlacementRequest
from emulator.policies.base import ClusterView, QueuedJob
from emulator.policies.las import LeastAttainedServicePolicy
from emulator.policies.ordered import services_first
from emulator.policies.priority import PriorityPolicy
from emulator.policies.sjf import ShortestJobFirstPolicy
from emulator.policies.srtf import ShortestRemainingTimeFirstPolicy

_THRESHOLDS = [3600.0, 57600.0]

jobs = st.lists(st.tuples(
    st.sampled_from(["training", "training", "inference", "replica"]),
    st.integers(1, 64),  # GPUs
    st.sampled_from([60.0, 3600.0, 86400.0, math.inf]),  # estimate
    st.floats(1e-3, 1.0),  # remaining fraction (a queued training job has work left)
    st.sampled_from([0.0, 1800.0, 3600.0, 7200.0, 1e5]),  # attained GPU-s
    st.integers(0, 50),  # submit (s): ties are common
    st.integers(-2, 2),  # priority
), max_size=60)


class _Work(SimpleNamespace):
    def queued_view(self) -> QueuedJob:
        if self.view is None:
            self.view = self.job
        return self.view


def _queue(rows: list[tuple]) -> tuple[WorkQueue, list[QueuedJob]]:
    views = []
    for work_id, (kind, n, est, rem, att, submit, prio) in enumerate(rows):
        if kind != "training":  # serving: no estimate, nothing consumed
            est, rem = math.inf, 1.0
        views.append(QueuedJob(work_id=work_id, kind=kind, tenant="t", name=str(work_id),
                               n_gpus=n, group_size=1, submit_s=float(submit), priority=prio,
                               preemptible=True, est_duration_s=est,
                               request=PlacementRequest(n, 1), attained_gpu_s=att,
                               remaining=rem))
    queue = WorkQueue(1)
    for v in sorted(views, key=lambda v: (v.submit_s, v.work_id)):
        queue.append(_Work(work_id=v.work_id, submit_s=v.submit_s, tenant_idx=0, view=None,
                           job=v))
    return queue, views


def _view(queue: WorkQueue, engine_table: bool) -> ClusterView:
    # GPUs free for the largest job: a round with nothing that fits is answered unsorted
    return ClusterView(now=0.0, queue=queue.views, total_gpus=64, free_gpus=64,
                       running=list, scratch=lambda: None,  # type: ignore[arg-type, return-value]
                       tenant_gpus={}, options={},
                       queue_table=queue.table if engine_table else None)


_POLICIES = {
    "las": (LeastAttainedServicePolicy, lambda j: (
        services_first(j), bisect.bisect_right(_THRESHOLDS, j.attained_gpu_s), j.submit_s,
        j.work_id)),
    "srtf": (ShortestRemainingTimeFirstPolicy, lambda j: (
        services_first(j), j.est_remaining_s, j.submit_s, j.work_id)),
    "sjf": (ShortestJobFirstPolicy, lambda j: (
        services_first(j), j.est_duration_s, j.submit_s, j.work_id)),
    "priority": (PriorityPolicy, lambda j: (-j.priority, j.submit_s, j.work_id)),
}


@settings(max_examples=150, deadline=None)
@given(rows=jobs, engine_table=st.booleans(), name=st.sampled_from(sorted(_POLICIES)))
def test_policies_order_the_queue_as_their_key_tuples(
        rows: list[tuple], engine_table: bool, name: str) -> None:
    """What each policy hands to ``greedy_round`` is ``sorted`` by its key tuple."""
    cls, key = _POLICIES[name]
    queue, _ = _queue(rows)
    seen: list[list[int]] = []

    def capture(view: ClusterView, order: list[QueuedJob], *a: object, **k: object) -> list:
        seen.append([j.work_id for j in order])
        return []

    module = sys.modules[cls.__module__]
    original = module.greedy_round
    module.greedy_round = capture
    try:
        policy = cls(thresholds=[f"{t:g}s" for t in _THRESHOLDS]) if name == "las" else cls()
        policy.decide(_view(queue, engine_table))
    finally:
        module.greedy_round = original
    expected = [j.work_id for j in sorted(queue.views, key=key)]
    assert seen == [expected] or (not rows and seen == [])  # an empty queue: no round
