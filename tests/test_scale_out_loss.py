"""A failed NIC or leaf switch cuts GPUs off the scale-out network without taking them
down: work inside one NVLink domain keeps running on them and may start on them, work
spanning domains stops and is never placed on them until the repair."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.build import build
from emulator.core.allocation import ClusterState
from emulator.eventlog import Ev
from emulator.failure_metrics import failure_rows, failure_summary
from emulator.loader import validate_scenario
from emulator.placement import PackPlacement, PlacementRequest, Scratch, SpreadPlacement
from emulator.placement.base import PlacementPolicy
from tests.conftest import run_scenario, small_scenario
from topologies.index import TopologyIndex, derive_index
from topologies.presets import resolve_site


def _index(racks: int = 4, racks_per_pod: int = 2) -> TopologyIndex:
    site = resolve_site("bizerte-20mw", {
        "halls": [{"name": "h", "system": "gb200-nvl72", "racks": racks}],
        "fabric": {"racks_per_pod": racks_per_pod}})
    return derive_index([site])


def _scratch(cluster: ClusterState, placement: PlacementPolicy) -> Scratch:
    return Scratch(cluster.index, cluster.free, cluster.domain_free, cluster.domain_start,
                   placement, cluster.by_free, isolated=cluster.isolated,
                   domain_isolated=cluster.domain_isolated,
                   domain_connected=cluster.domain_connected)


def _spans(index: TopologyIndex, gpus: np.ndarray) -> bool:
    return np.unique(index.gpu_domain[gpus]).size > 1


# -- the cluster state ---------------------------------------------------------------------
def test_isolate_and_reconnect_keep_counts_and_leave_gpus_free() -> None:
    index = _index(racks=2)
    c = ClusterState(index)
    c.allocate(np.arange(0, 8), owner=3)
    holders = c.isolate(np.array([5, 6, 100]))
    assert holders.tolist() == [3]
    assert c.n_isolated == 3 and c.domain_isolated.tolist() == [2, 1]
    assert c.free[100] and c.free_gpus == index.n_gpus - 8  # still in the free pool
    assert c.isolate(np.array([5])).size == 0  # already cut: nothing new
    assert c.reconnect(np.array([5, 6, 7])) == 2
    assert c.n_isolated == 1 and c.domain_isolated.tolist() == [0, 1]
    assert c.isolated.sum() == 1 and c.isolated[100]


# -- placement -----------------------------------------------------------------------------
@pytest.mark.parametrize("placement", [PackPlacement(), SpreadPlacement()])
def test_single_domain_work_may_use_cut_gpus(placement: PlacementPolicy) -> None:
    index = _index(racks=1)  # one domain: every placement is single-domain
    c = ClusterState(index)
    c.isolate(np.arange(0, 72))
    gpus = _scratch(c, placement).place(PlacementRequest(16, 8))
    assert gpus is not None and c.isolated[gpus].all()


@pytest.mark.parametrize("placement", [PackPlacement(), SpreadPlacement()])
def test_work_spanning_domains_avoids_cut_gpus(placement: PlacementPolicy) -> None:
    index = _index(racks=2, racks_per_pod=2)
    c = ClusterState(index)
    c.isolate(np.arange(0, 8))  # the first 8 GPUs of domain 0 lost scale-out
    gpus = _scratch(c, placement).place(PlacementRequest(128, 8))  # needs both domains
    assert gpus is not None and _spans(index, gpus)
    assert not c.isolated[gpus].any()
    # all 144 GPUs would need the cut ones: refused until they are reconnected
    assert _scratch(c, placement).place(PlacementRequest(144, 8)) is None
    c.reconnect(np.arange(0, 8))
    assert _scratch(c, placement).place(PlacementRequest(144, 8)) is not None


def test_spread_falls_back_to_one_domain_when_scale_out_is_short() -> None:
    index = _index(racks=2, racks_per_pod=2)
    c = ClusterState(index)
    c.isolate(np.arange(0, 72))  # domain 0 cut off entirely
    c.allocate(np.arange(72, 136), owner=1)  # domain 1 has 8 free
    gpus = _scratch(c, SpreadPlacement()).place(PlacementRequest(32, 8))
    assert gpus is not None and set(index.gpu_domain[gpus].tolist()) == {0}


@settings(max_examples=60, deadline=None)
@given(cut=st.sets(st.integers(0, 287), max_size=120),
       busy=st.sets(st.integers(0, 287), max_size=200),
       groups=st.integers(1, 30), group_size=st.sampled_from([1, 4, 8]),
       spread=st.booleans())
def test_placements_spanning_domains_never_use_cut_gpus(
        cut: set[int], busy: set[int], groups: int, group_size: int, spread: bool) -> None:
    """Against a brute-force count: a placement spanning domains has no cut GPU, each
    group lies inside one domain, and a refusal means neither one domain (any free GPU)
    nor one site (connected free GPUs only) holds the job."""
    index = _index(racks=4, racks_per_pod=2)
    c = ClusterState(index)
    if busy:
        c.allocate(np.array(sorted(busy)), owner=0)
    if cut:
        c.isolate(np.array(sorted(cut)))
    placement: PlacementPolicy = SpreadPlacement() if spread else PackPlacement()
    request = PlacementRequest(groups * group_size, group_size)
    gpus = _scratch(c, placement).place(request)
    dom = index.gpu_domain
    free = c.free.copy()
    connected = free & ~c.isolated
    full_groups = np.bincount(dom[free], minlength=index.n_domains) // group_size
    connected_groups = np.bincount(dom[connected], minlength=index.n_domains) // group_size
    if gpus is None:
        assert full_groups.max() < groups
        assert connected_groups.sum() < groups  # one site here
        return
    assert free[gpus].all() and np.unique(gpus).size == gpus.size == request.n_gpus
    by_group = dom[gpus].reshape(-1, group_size)
    assert np.all(by_group == by_group[:, :1])
    if _spans(index, gpus):
        assert not c.isolated[gpus].any()


# -- the core and the failure model --------------------------------------------------------
def test_nic_failure_stops_only_work_spanning_domains() -> None:
    sim = build(validate_scenario(small_scenario(duration="2d")), keep_segments=True)
    sim.engine.start()
    core = sim.engine.core
    index = sim.index
    for hour in range(1, 48):  # the first hour with training inside and across domains
        sim.env.run(until=hour * 3600.0)
        running = [w for w in core.running.values() if w.kind == "training"]
        local = [w for w in running if not _spans(index, w.gpus)]
        wide = [w for w in running if _spans(index, w.gpus)]
        if local and wide:
            break
    assert local and wide, "the scenario should run a job spanning domains at some hour"
    now = sim.env.now
    fm = sim.engine.failures
    fm.inject(local[0].gpus[:1].copy(), "nic", repair_s=3600.0)
    assert local[0].state == "running" and local[0].interruptions == 0
    cut = int(local[0].gpus[0])
    assert core.cluster.isolated[cut] and not core.cluster.down[cut]
    victim = wide[0]
    gpu = int(victim.gpus[-1])
    fm.inject(np.array([gpu]), "switch", repair_s=1800.0)
    assert victim.state == "held" and victim.interruptions == 1
    sim.env.run(until=now + 1801.0)
    assert not core.cluster.isolated[gpu] and core.cluster.isolated[cut]
    sim.env.run(until=now + 3601.0)
    assert not core.cluster.isolated.any() and fm.cut_count.sum() == 0


def test_a_scale_out_loss_run_keeps_its_invariants() -> None:
    """A day of frequent NIC and switch failures: no work spanning domains ever starts on
    a cut GPU, none goes down, single-domain work on cut GPUs is not interrupted by them,
    the cut GPUs at the end are those of unrepaired failures, and the summary labels the
    classes' effect."""
    data = small_scenario(duration="1d")
    data["sites"][0]["failures"] = {"defaults": False, "components": {
        "nic": {"afr": 150.0, "repair": "3h"}, "switch": {"afr": 400.0, "repair": "2h"}}}
    sim = build(validate_scenario(data), keep_segments=True)
    cluster = sim.engine.cluster
    index = sim.index
    bad: list[int] = []

    def on_work(row: int) -> None:
        if sim.log.work_kind[row] == Ev.START:
            work = sim.works[sim.log.work_id[row]]
            if _spans(index, work.gpus) and cluster.isolated[work.gpus].any():
                bad.append(work.work_id)

    sim.log.subscribe_work(on_work)
    sim.run()
    assert bad == []
    assert not cluster.down.any()
    assert np.array_equal(cluster.isolated, sim.engine.failures.cut_count > 0)
    summary = failure_summary(sim.log, sim.works, sim.horizon_s, index.n_gpus)
    assert summary["failures"] > 10
    assert {cls["effect"] for cls in summary["by_class"].values()} == {"scale_out"}
    assert any("with scale-out" in value for _, value in failure_rows(summary))
    c = sim.log.work_columns()
    for row in np.flatnonzero(c["kind"] == Ev.INTERRUPT).tolist():
        work = sim.works[int(c["work_id"][row])]
        assert work.n_gpus > 1  # a 1-GPU job never spans domains: never interrupted


def test_scale_out_losses_move_no_result_when_nothing_spans_domains() -> None:
    """With only single-domain jobs, NIC failures change nothing but the failure rows."""
    base = small_scenario(duration="12h")
    base["tenants"]["lab"]["training"][0]["gpus"] = [8, 16]
    plain = run_scenario(base)
    data = small_scenario(duration="12h")
    data["tenants"]["lab"]["training"][0]["gpus"] = [8, 16]
    data["sites"][0]["failures"] = {"defaults": False, "components": {
        "nic": {"afr": 300.0, "repair": "1h"}}}
    cut = run_scenario(data)
    for sim in (plain, cut):
        assert not any(_spans(sim.index, w.gpus) for w in sim.works
                       if w.kind == "training" and w.gpus is not None)
    pc, cc = plain.log.work_columns(), cut.log.work_columns()
    assert np.array_equal(pc["kind"], cc["kind"]) and np.array_equal(pc["t_s"], cc["t_s"])


def _connected_free(c: ClusterState, free: np.ndarray) -> np.ndarray:
    index = c.index
    return np.bincount(index.gpu_domain[free & ~c.isolated], minlength=index.n_domains)


@settings(max_examples=80, deadline=None)
@given(ops=st.lists(st.tuples(
    st.sampled_from(["allocate", "release", "cut", "reconnect", "down", "up", "drain",
                     "undrain", "take", "give"]),
    st.integers(0, 143), st.integers(1, 12)), max_size=40))
def test_connected_counts_follow_every_change(ops: list[tuple[str, int, int]]) -> None:
    """The core's free-and-connected count per domain, and a round's tentative copy of it,
    equal a recount from the masks after any sequence of changes."""
    index = _index(racks=2)
    c = ClusterState(index)
    held: list[np.ndarray] = []
    scratch: Scratch | None = None
    taken: list[np.ndarray] = []
    for op, first, n in ops:
        gpus = np.arange(first, min(first + n, index.n_gpus))
        if op == "allocate" and c.free[gpus].all():
            c.allocate(gpus, owner=len(held))
            held.append(gpus)
        elif op == "release" and held:
            owner = first % len(held)
            if held[owner].size:
                c.release(held[owner], owner)
                held[owner] = held[owner][:0]
        elif op == "cut":
            c.isolate(gpus)
        elif op == "reconnect":
            c.reconnect(gpus)
        elif op == "down":
            c.take_down(gpus[c.owner[gpus] < 0])  # idle ones only: holders would be stopped
        elif op == "up":
            c.bring_up(gpus)
        elif op == "drain":
            c.drain(gpus[c.owner[gpus] < 0])
        elif op == "undrain":
            c.undrain(gpus)
        elif op == "take":
            scratch = scratch or _scratch(c, PackPlacement())
            got = scratch.place(PlacementRequest(n * 8, 8))
            if got is not None:
                taken.append(got)
        elif op == "give" and taken and scratch is not None:
            scratch.release(taken.pop())
        if op not in ("take", "give"):
            scratch, taken = None, []  # a round ends when the state changes
        expected = _connected_free(c, c.free)
        if c.n_isolated:
            assert c.domain_connected is not None
            assert c.domain_connected.tolist() == expected.tolist()
        else:
            assert c.domain_connected is None
        if scratch is not None and scratch.domain_connected is not None:
            tentative = scratch.is_free(np.arange(index.n_gpus))
            assert scratch.domain_connected.tolist() == _connected_free(
                c, tentative).tolist()
