"""Queue policies decided on hand-made views: no simulation, just decisions (principle 2)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from emulator.core.allocation import ClusterState
from emulator.errors import UserError
from emulator.loader import validate_scenario
from emulator.placement import PackPlacement, PlacementRequest, Scratch
from emulator.policies.base import ClusterView, PreemptJob, QueuedJob, RunningJob, StartJob
from emulator.policies.fairshare import FairSharePolicy
from emulator.policies.las import LeastAttainedServicePolicy
from emulator.policies.priority import PriorityPolicy
from emulator.policies.registry import QUEUE_POLICIES, make_queue_policy
from emulator.policies.sjf import ShortestJobFirstPolicy
from emulator.policies.srtf import ShortestRemainingTimeFirstPolicy
from tests.conftest import small_scenario
from topologies.index import derive_index

NOW = 1000.0


class Cluster:
    """One 72-GPU NVLink domain and the running work on it, to build views from."""

    def __init__(self, racks: int = 1) -> None:
        data = small_scenario()
        data["sites"][0]["halls"][0]["racks"] = racks
        self.index = derive_index(list(validate_scenario(data).sites))
        self.state = ClusterState(self.index)
        self.running: list[RunningJob] = []

    def run(self, work_id: int, n: int, *, tenant: str = "a", priority: int = 0,
            start: float = 0.0, end: float = math.inf, attained: float = 0.0,
            preemptible: bool = True) -> RunningJob:
        scratch = self.scratch()
        gpus = scratch.place(PlacementRequest(n, 1))
        assert gpus is not None
        self.state.allocate(gpus, work_id)
        job = RunningJob(work_id, "training", tenant, n, start, end, priority, preemptible,
                         attained, gpus)
        self.running.append(job)
        return job

    def scratch(self) -> Scratch:
        s = self.state
        return Scratch(self.index, s.free_mask(), s.domain_free, s.domain_start,
                       PackPlacement())

    def view(self, queue: list[QueuedJob], options: dict[str, Any] | None = None) -> ClusterView:
        tenant_gpus: dict[str, int] = {}
        for r in self.running:
            tenant_gpus[r.tenant] = tenant_gpus.get(r.tenant, 0) + r.n_gpus
        return ClusterView(NOW, tuple(queue), self.index.n_gpus, self.state.free_gpus,
                           lambda: self.running, self.scratch, tenant_gpus, options or {})


def queued(work_id: int, n: int, *, tenant: str = "a", priority: int = 0,
           submit: float = 0.0, est: float = 3600.0, attained: float = 0.0,
           remaining: float = 1.0, kind: str = "training") -> QueuedJob:
    return QueuedJob(work_id, kind, tenant, f"j{work_id}", n, 1, submit, priority, True, est,
                     PlacementRequest(n, 1), attained, remaining)


def started(decisions: list[Any]) -> list[int]:
    return [d.work_id for d in decisions if isinstance(d, StartJob)]


def preempted(decisions: list[Any]) -> list[int]:
    return [d.work_id for d in decisions if isinstance(d, PreemptJob)]


def test_registry_lists_every_policy() -> None:
    assert set(QUEUE_POLICIES) >= {"fifo", "backfill", "priority", "sjf", "srtf", "las",
                                   "fairshare"}
    for name, cls in QUEUE_POLICIES.items():
        assert cls.name == name
        assert cls.__module__.startswith("emulator.policies.")


def test_priority_orders_by_class_then_arrival_and_preempts_lower_classes() -> None:
    c = Cluster()
    c.run(100, 40, priority=0, start=10)
    c.run(101, 24, priority=5, start=20)
    # 8 free. A priority-9 job of 30 preempts only the priority-0 job; equal class never.
    ds = PriorityPolicy().decide(c.view([queued(1, 30, priority=9, submit=5),
                                         queued(2, 8, priority=9, submit=1)]))
    assert started(ds) == [2, 1]
    assert preempted(ds) == [100]
    assert ds.index(next(d for d in ds if isinstance(d, PreemptJob))) < \
        ds.index(next(d for d in ds if isinstance(d, StartJob) and d.work_id == 1))
    no = PriorityPolicy(preempt=False).decide(c.view([queued(1, 30, priority=9)]))
    assert no == []
    same = PriorityPolicy().decide(c.view([queued(1, 30, priority=0)]))
    assert preempted(same) == []


def test_priority_without_work_conservation_blocks_behind_the_head() -> None:
    c = Cluster()
    c.run(100, 64, priority=9, start=10)
    q = [queued(1, 16, priority=5), queued(2, 8, priority=1)]
    assert started(PriorityPolicy().decide(c.view(q))) == [2]
    assert PriorityPolicy(work_conserving=False).decide(c.view(q)) == []


def test_sjf_starts_shortest_estimate_first_with_services_ahead() -> None:
    c = Cluster()
    c.run(100, 48)
    q = [queued(1, 16, est=9000), queued(2, 16, est=60), queued(3, 8, est=math.inf,
                                                              kind="inference")]
    assert started(ShortestJobFirstPolicy().decide(c.view(q))) == [3, 2]


def test_srtf_preempts_only_longer_remaining_work() -> None:
    c = Cluster()
    c.run(100, 36, start=0, end=NOW + 50_000)     # long remaining
    c.run(101, 36, start=0, end=NOW + 100)        # about to finish
    ds = ShortestRemainingTimeFirstPolicy().decide(c.view([queued(1, 36, est=600)]))
    assert preempted(ds) == [100] and started(ds) == [1]
    # A job longer than both preempts nothing; with min_ratio, a modest gain is not enough.
    assert ShortestRemainingTimeFirstPolicy().decide(c.view([queued(1, 36, est=90_000)])) == []
    ds = ShortestRemainingTimeFirstPolicy(min_ratio=100).decide(c.view([queued(1, 36,
                                                                              est=600)]))
    assert ds == []
    # Remaining, not total: a half-done job counts half its estimate.
    q = [queued(1, 8, est=2000, remaining=0.1), queued(2, 8, est=1000)]
    c2 = Cluster()
    c2.run(100, 64, preemptible=False)
    assert started(ShortestRemainingTimeFirstPolicy().decide(c2.view(q))) == [1]


def test_srtf_leaves_work_started_this_instant_alone() -> None:
    c = Cluster()
    c.run(100, 72, start=NOW, end=NOW + 50_000)
    assert ShortestRemainingTimeFirstPolicy().decide(c.view([queued(1, 8, est=60)])) == []


def test_las_levels_and_preemption_of_demoted_work() -> None:
    las = LeastAttainedServicePolicy(thresholds=["1h", 36000])
    assert [las.level(x) for x in (0, 3599, 3600, 36000, 1e9)] == [0, 0, 1, 2, 2]
    c = Cluster()
    c.run(100, 36, start=5, attained=50_000)   # level 2
    c.run(101, 36, start=6, attained=100)      # level 0
    ds = las.decide(c.view([queued(1, 36, submit=900), queued(2, 8, submit=100,
                                                               attained=7200)]))
    # The new job (level 0) goes first and preempts the level-2 job; the level-1 one gets
    # the GPUs left over.
    assert preempted(ds) == [100]
    assert started(ds) == [1]
    # A level-1 job cannot preempt level-0 work.
    c2 = Cluster()
    c2.run(101, 72, start=6, attained=100)
    assert las.decide(c2.view([queued(2, 8, attained=7200)])) == []


def test_las_rejects_bad_thresholds() -> None:
    with pytest.raises(ValueError, match="increasing"):
        LeastAttainedServicePolicy(thresholds=[100, 10])
    with pytest.raises(UserError, match=r"^scheduler\.options\.thresholds\.0: got 'soon'"):
        make_queue_policy("las", {"thresholds": ["soon"]})


def test_fairshare_entitlements_quotas_and_weights() -> None:
    fs = FairSharePolicy(quotas={"a": 0.5})
    ent = fs.entitlements(["a", "b", "c"], 100, {"b": 3.0, "c": 1.0})
    assert ent == pytest.approx({"a": 50.0, "b": 37.5, "c": 12.5})
    with pytest.raises(ValueError, match="sum"):
        FairSharePolicy(quotas={"a": 0.7, "b": 0.6})
    with pytest.raises(ValueError, match="without a quota"):
        FairSharePolicy(quotas={"a": 0.5}, hard=["b"])


def test_fairshare_serves_the_least_served_tenant_first_and_borrows() -> None:
    c = Cluster()
    c.run(100, 32, tenant="a", start=1)
    q = [queued(1, 32, tenant="a", submit=1), queued(2, 32, tenant="b", submit=2),
         queued(3, 8, tenant="a", submit=3)]
    ds = FairSharePolicy().decide(c.view(q, {"tenant_weights": {"a": 1.0, "b": 1.0}}))
    # b (0 used) first, then a's 8-GPU job borrows what is left (40 - 32 = 8).
    assert started(ds) == [2, 3]


def test_fairshare_hard_quota_is_a_cap_and_soft_quota_borrows() -> None:
    c = Cluster()
    c.run(100, 16, tenant="a", start=1)
    q = [queued(1, 32, tenant="a")]
    hard = FairSharePolicy(quotas={"a": 0.5}, hard=True)
    assert hard.decide(c.view(q)) == []          # 16 + 32 > 36
    assert started(FairSharePolicy(quotas={"a": 0.5}).decide(c.view(q))) == [1]


def test_fairshare_reclaims_borrowed_gpus_only() -> None:
    c = Cluster()
    c.run(100, 64, tenant="a", start=1)          # a borrows beyond its 36
    c.run(101, 8, tenant="b", start=2)
    ds = FairSharePolicy().decide(c.view([queued(1, 24, tenant="b")]))
    assert preempted(ds) == [100] and started(ds) == [1]
    # b asking beyond its own share does not reclaim.
    assert FairSharePolicy().decide(c.view([queued(1, 40, tenant="b")])) == []
    assert FairSharePolicy(reclaim=False).decide(c.view([queued(1, 24, tenant="b")])) == []


def test_fairshare_reclaims_the_borrowed_job_not_the_tenants_share() -> None:
    # a is one GPU over its 36 (a 1-GPU job and, started later, a 36-GPU job); b needs one
    # GPU more than the 3 free. Preempting a's 1-GPU job leaves a at its share; preempting
    # the later 36-GPU job would drop a to 1 GPU and leave 35 GPUs idle.
    c = Cluster()
    c.run(100, 1, tenant="a", start=1)
    c.run(101, 36, tenant="a", start=2)
    c.run(102, 32, tenant="b", start=3)
    ds = FairSharePolicy().decide(c.view([queued(1, 4, tenant="b")]))
    assert preempted(ds) == [100] and started(ds) == [1]


def test_preemption_frees_only_what_is_needed() -> None:
    c = Cluster(racks=2)
    for i in range(4):
        c.run(100 + i, 36, priority=0, start=10 + i)   # two jobs per rack, racks full
    ds = PriorityPolicy().decide(c.view([queued(1, 36, priority=5)]))
    assert len(preempted(ds)) == 1 and preempted(ds) == [103]   # latest started first
    gpus = next(d for d in ds if isinstance(d, StartJob)).gpus
    victim = next(r for r in c.running if r.work_id == 103)
    assert np.array_equal(np.sort(gpus), np.sort(victim.gpus))
