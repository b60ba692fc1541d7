"""The queue's GPU and estimate columns, and EASY backfill's filtered scan over them.

``WorkQueue.columns`` must stay aligned with the views through appends, re-inserts and
removals; backfill looks only at the jobs those columns say could start, and must decide
exactly what a step through every job (the plain algorithm, written out below) decides.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.allocation import ClusterState
from emulator.core.queue import WorkQueue
from emulator.placement import PackPlacement, PlacementRequest, Scratch
from emulator.policies.backfill import EasyBackfillPolicy
from emulator.policies.base import ClusterView, Decision, QueuedJob, RunningJob, StartJob
from topologies.index import derive_index
from topologies.presets import resolve_site


def _queued(work_id: int, n: int, est: float, submit: float) -> QueuedJob:
    return QueuedJob(work_id=work_id, kind="training", tenant="t", name=f"j{work_id}",
                     n_gpus=n, group_size=8, submit_s=submit, priority=0, preemptible=True,
                     est_duration_s=est, request=PlacementRequest(n, 8))


class _Work(SimpleNamespace):
    """The few fields of a Work the queue reads."""

    def queued_view(self) -> QueuedJob:
        if self.view is None:
            self.view = _queued(self.work_id, self.n_gpus, self.est_duration_s, self.submit_s)
        return self.view


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["add", "remove", "back"]),
                          st.integers(0, 10**6)), min_size=1, max_size=150))
def test_columns_follow_the_views(ops: list[tuple[str, int]]) -> None:
    queue = WorkQueue(1)
    out: list[_Work] = []  # taken out, may come back to their place
    next_id = 0
    for step, (op, r) in enumerate(ops):
        if op == "add":
            queue.append(_Work(work_id=next_id, n_gpus=8 * (1 + r % 9), submit_s=float(next_id),
                               est_duration_s=float(r % 5000) if r % 7 else math.inf,
                               tenant_idx=0, view=None))
            next_id += 1
        elif op == "remove" and len(queue):
            work = queue.works[r % len(queue)]
            queue.remove(work)
            out.append(work)
        elif op == "back" and out:
            queue.insert(out.pop(r % len(out)))
        gpus, est = queue.columns()
        assert gpus.tolist() == [v.n_gpus for v in queue.views]
        assert est.tolist() == [v.est_duration_s for v in queue.views]
        assert [w.submit_s for w in queue.works] == sorted(w.submit_s for w in queue.works)
        if step < len(ops) // 2:
            continue  # the full table is first asked for half-way (filled from the views)
        table = queue.table()
        assert table.work_id.tolist() == [v.work_id for v in queue.views]
        assert table.submit_s.tolist() == [v.submit_s for v in queue.views]
        assert table.n_gpus.tolist() == gpus.tolist()
    assert not queue.columns()[0].flags.writeable



def test_columns_follow_the_views_through_growth_and_recentring() -> None:
    """Thousands of appends, removals near both ends and returns: the column store grows,
    recentres and moves whichever side is shorter, always in step with the views."""
    rng = np.random.default_rng(11)
    queue = WorkQueue(1)
    out: list[_Work] = []
    next_id = 0
    queue.table()  # every row kept from the start
    for step in range(6000):
        r = float(rng.random())
        if r < 0.5 or not len(queue):
            queue.append(_Work(work_id=next_id, n_gpus=8 * (1 + next_id % 9),
                               submit_s=float(next_id), est_duration_s=float(next_id % 977),
                               tenant_idx=0, view=None))
            next_id += 1
        elif r < 0.8:
            n = len(queue)
            k = int(rng.integers(0, min(n, 5))) if r < 0.7 else n - 1 - int(
                rng.integers(0, min(n, 5)))  # near the front, or near the back
            work = queue.works[k]
            queue.remove(work)
            out.append(work)
        elif out:
            queue.insert(out.pop(int(rng.integers(0, len(out)))))
        if step % 97 == 0 or step > 5900:
            table = queue.table()
            assert table.work_id.tolist() == [v.work_id for v in queue.views]
            assert table.n_gpus.tolist() == [v.n_gpus for v in queue.views]
            assert table.est_duration_s.tolist() == [v.est_duration_s for v in queue.views]
    assert len(queue) > 1000

def _plain_backfill(view: ClusterView, max_scan: int) -> list[Decision]:
    """EASY backfill stepping through every queued job (the unfiltered algorithm)."""
    decisions: list[Decision] = []
    if not view.queue or view.free_gpus == 0:
        return decisions
    scratch = view.scratch()
    shadow: float | None = None
    extra = 0
    started: list[tuple[float, int]] = []
    for scanned, job in enumerate(view.queue):
        if scanned >= max_scan or scratch.free_gpus == 0:
            break
        if shadow is None:
            gpus = scratch.place(job.request)
            if gpus is not None:
                decisions.append(StartJob(job.work_id, gpus))
                started.append((view.now + job.est_duration_s, job.n_gpus))
                continue
            shadow, extra = EasyBackfillPolicy._reservation(view, job.n_gpus,
                                                           scratch.free_gpus, started)
            continue
        ends_in_time = view.now + job.est_duration_s <= shadow
        if not ends_in_time and job.n_gpus > extra:
            continue
        gpus = scratch.place(job.request)
        if gpus is None:
            continue
        decisions.append(StartJob(job.work_id, gpus))
        if not ends_in_time:
            extra -= job.n_gpus
    return decisions


@settings(max_examples=120, deadline=None, derandomize=True)
@given(busy=st.lists(st.tuples(st.integers(1, 9), st.floats(1, 5e4), st.booleans()),
                     max_size=8),
       jobs=st.lists(st.tuples(st.integers(1, 18), st.floats(1, 5e4), st.booleans()),
                     min_size=1, max_size=40),
       now=st.floats(0, 1e4), max_scan=st.integers(1, 45))
def test_filtered_backfill_decides_like_the_plain_scan(
        busy: list[tuple[int, float, bool]], jobs: list[tuple[int, float, bool]],
        now: float, max_scan: int) -> None:
    site = resolve_site("bizerte-20mw", {"halls": [{"name": "h", "system": "gb200-nvl72",
                                                     "racks": 4}]})
    index = derive_index([site])
    cluster = ClusterState(index)
    running: list[RunningJob] = []
    first = 0
    for k, (groups, length, forever) in enumerate(busy):
        n = min(8 * groups, cluster.free_gpus)
        if n == 0:
            break
        cluster.allocate(np.flatnonzero(cluster.free)[:n], owner=1000 + k)
        first += n
        running.append(RunningJob(1000 + k, "training", "t", n, 0.0,
                                  math.inf if forever else now + length, 0, True))
    queue = [_queued(i, 8 * groups, math.inf if open_ended else length, float(i))
             for i, (groups, length, open_ended) in enumerate(jobs)]

    def view(columns: bool) -> ClusterView:
        return ClusterView(
            now=now, queue=tuple(queue), total_gpus=index.n_gpus,
            free_gpus=cluster.free_gpus, running=lambda: running,
            scratch=lambda: Scratch(index, cluster.free_mask(), cluster.domain_free,
                                    cluster.domain_start, PackPlacement()),
            tenant_gpus={}, options={},
            queue_columns=(lambda: (np.array([j.n_gpus for j in queue], dtype=float),
                                    np.array([j.est_duration_s for j in queue])))
            if columns else None)

    expected = _plain_backfill(view(False), max_scan)
    for with_columns in (True, False):
        got = EasyBackfillPolicy(max_scan=max_scan).decide(view(with_columns))
        assert [(d.work_id, d.gpus.tolist()) for d in got] == \
            [(d.work_id, d.gpus.tolist()) for d in expected]
