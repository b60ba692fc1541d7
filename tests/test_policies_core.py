"""FIFO and EASY backfill decisions on hand-made views (no simulation needed)."""

from __future__ import annotations

import math

import numpy as np

from emulator.core.allocation import ClusterState
from emulator.placement import PackPlacement, PlacementRequest, Scratch
from emulator.policies.backfill import EasyBackfillPolicy
from emulator.policies.base import ClusterView, QueuedJob, RunningJob, StartJob
from emulator.policies.fifo import FifoPolicy
from topologies.index import derive_index
from topologies.presets import resolve_site


def _setup(busy: int):
    site = resolve_site("bizerte-20mw", {"halls": [{"name": "h", "system": "gb200-nvl72",
                                                     "racks": 2}]})
    index = derive_index([site])
    cluster = ClusterState(index)
    if busy:
        cluster.allocate(np.arange(busy), owner=99)
    return index, cluster


def _job(work_id: int, n: int, est: float, submit: float = 0.0) -> QueuedJob:
    return QueuedJob(work_id=work_id, kind="training", tenant="t", name=f"j{work_id}",
                     n_gpus=n, group_size=8, submit_s=submit, priority=0, preemptible=True,
                     est_duration_s=est, request=PlacementRequest(n, 8))


def _view(index, cluster, queue, running, now: float = 0.0) -> ClusterView:
    return ClusterView(now=now, queue=tuple(queue), total_gpus=index.n_gpus,
                       free_gpus=cluster.free_gpus, running=lambda: running,
                       scratch=lambda: Scratch(index, cluster.free_mask(), cluster.domain_free,
                                               cluster.domain_start, PackPlacement()),
                       tenant_gpus={}, options={})


def test_fifo_blocks_behind_the_head() -> None:
    index, cluster = _setup(busy=72)  # 72 of 144 GPUs busy
    queue = [_job(1, 16, 100), _job(2, 128, 100), _job(3, 8, 10)]
    decisions = FifoPolicy().decide(_view(index, cluster, queue, []))
    assert [d.work_id for d in decisions] == [1]  # job 2 blocks job 3


def test_backfill_starts_short_job_that_ends_before_shadow() -> None:
    index, cluster = _setup(busy=72)
    running = [RunningJob(99, "training", "t", 72, 0.0, 1000.0, 0, True)]
    queue = [_job(2, 128, 500), _job(3, 16, 900), _job(4, 16, 2000)]
    decisions = EasyBackfillPolicy().decide(_view(index, cluster, queue, running, now=50.0))
    started = [d.work_id for d in decisions if isinstance(d, StartJob)]
    # Head needs 128 → shadow at t=1000 with 144-128 = 16 extra GPUs. Job 3 ends at 950
    # (< 1000): backfilled. Job 4 would end after the shadow but fits in the 16 extra GPUs.
    assert started == [3, 4]


def test_backfill_never_delays_the_head() -> None:
    index, cluster = _setup(busy=72)
    running = [RunningJob(99, "training", "t", 72, 0.0, 1000.0, 0, True)]
    queue = [_job(2, 136, 500), _job(3, 16, 5000)]  # extra GPUs at shadow: 144-136 = 8
    decisions = EasyBackfillPolicy().decide(_view(index, cluster, queue, running, now=0.0))
    assert decisions == [], "a long 16-GPU job would delay the head's reservation"


def test_backfill_reservation_arithmetic() -> None:
    index, cluster = _setup(busy=72)
    running = [RunningJob(99, "training", "t", 40, 0.0, 300.0, 0, True),
               RunningJob(98, "training", "t", 32, 0.0, math.inf, 0, False)]
    view = _view(index, cluster, [], running)
    assert EasyBackfillPolicy._reservation(view, 100, 72) == (300.0, 12)
    assert EasyBackfillPolicy._reservation(view, 140, 72) == (math.inf, 0)


def test_backfill_counts_jobs_started_in_the_same_round() -> None:
    """A (144 GPUs, ~2 h) starts; B (216) is the head; C (144, ~30 h) must not jump ahead
    for good: B's reservation is A's end, so C may not start before B."""
    from tests.conftest import run_scenario, small_scenario

    data = small_scenario(duration="20d")

    def job(name: str, gpus: int, tokens: float) -> dict:
        return {"name": name, "model": "llama3-8b", "gpus": gpus, "tp": 8, "tokens": tokens}

    data["tenants"] = {"lab": {"jobs": [job("A", 144, 2e10), job("B", 216, 2e9),
                                        job("C", 144, 3e11)]}}
    data["scheduler"] = {"queue": "backfill"}
    sim = run_scenario(data)
    a, b, c = sim.works
    assert a.start_s == 0.0
    assert b.start_s == a.end_s, "the head starts as soon as A frees its GPUs"
    assert c.start_s >= b.start_s
