"""Draining GPUs: never allocated while draining, holders run on, undrain frees them.

The property test drives :class:`ClusterState` with random sequences of allocations,
releases, failures, repairs, drains and undrains, and checks after every step that no
draining or failed GPU is ever handed out and that the free mask, free count and
per-domain counts agree with the ownership array. End to end, random planned fail,
drain and restore rows never let a run start work on a failed or draining rack.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.build import build
from emulator.core.allocation import DOWN, FREE, AllocationError, ClusterState
from emulator.eventlog import Ev, Infra
from emulator.loader import validate_scenario
from emulator.policies.base import PolicyError
from tests.conftest import small_scenario
from tests.test_core_api import _core, _index, _job

INDEX = _index()  # 2 GB200 racks: 144 GPUs, 2 NVLink domains


def test_drain_lets_the_holder_finish_then_keeps_the_gpus_out() -> None:
    a, b = _job(0, 8), _job(1, 72)
    core, clock, log = _core([a, b])
    core.submit(a)
    core.submit(b)
    core.start(a, np.arange(8), "test")
    core.launch([a])
    clock.run(until=100.0)
    core.drain(np.arange(72), "firmware")
    assert a.state == "running"  # a drain never stops work
    assert core.cluster.free_gpus == core.index.n_gpus - 72
    with pytest.raises(PolicyError, match="GPU 8 is draining"):
        core.start(b, np.arange(8, 80), "test")  # an idle GPU of the drained rack first
    clock.run()
    assert a.state == "finished"
    assert core.cluster.free_gpus == core.index.n_gpus - 72  # still drained after release
    assert bool(np.all(core.cluster.owner[:72] == DOWN))
    core.undrain(np.arange(72), "firmware done")
    assert core.cluster.free_gpus == core.index.n_gpus
    core.start(b, np.arange(72), "test")
    assert [Infra(k) for k in log.infra_kind] == [Infra.DRAIN, Infra.UNDRAIN]


def test_a_failed_and_drained_gpu_needs_both_cleared() -> None:
    cluster = ClusterState(INDEX)
    gpus = np.arange(10, 14)
    cluster.drain(gpus)
    cluster.take_down(gpus)
    assert cluster.bring_up(gpus) == 0  # repaired but still draining
    assert not cluster.free[gpus].any()
    assert cluster.undrain(gpus) == 4
    assert cluster.free[gpus].all() and cluster.free_gpus == INDEX.n_gpus


def test_drains_nest_until_the_last_one_ends() -> None:
    """Two drains on one GPU (a hall's window inside a rack's, or two windows back to back
    on one rack): the end of one leaves the GPU draining until the other ends; an
    operator's restore (``every``) ends them all."""
    cluster = ClusterState(INDEX)
    rack, hall = np.arange(72), np.arange(INDEX.n_gpus)
    cluster.drain(rack)
    cluster.drain(hall)
    assert cluster.undrain(hall) == INDEX.n_gpus - 72  # only the other rack comes back
    assert cluster.draining[rack].all() and not cluster.free[rack].any()
    assert cluster.undrain(rack) == 72
    assert cluster.free_gpus == INDEX.n_gpus and cluster.n_draining == 0
    cluster.drain(rack)
    cluster.drain(rack)
    assert cluster.undrain(rack, every=True) == 72
    assert cluster.undrain(rack) == 0  # a window's end after a restore changes nothing
    assert cluster.free_gpus == INDEX.n_gpus


@pytest.mark.parametrize("rows", [
    # a second window on the same rack right after the first (the first's end used to
    # end the second: work started on the rack at 6 h)
    [{"at": "2h", "target": "rack:bizerte-20mw/hall-a/0", "action": "drain",
      "duration": "4h"},
     {"at": "6h", "target": "rack:bizerte-20mw/hall-a/0", "action": "drain",
      "duration": "4h"}],
    # a hall's short window inside a rack's long one (the hall's end used to end the
    # rack's window 6 h early)
    [{"at": "2h", "target": "rack:bizerte-20mw/hall-a/0", "action": "drain",
      "duration": "8h"},
     {"at": "3h", "target": "hall:bizerte-20mw/hall-a", "action": "drain",
      "duration": "1h"}],
])
def test_no_work_starts_on_a_rack_inside_any_of_its_drain_windows(rows: list[dict]) -> None:
    data = small_scenario(duration="14h")
    data["tenants"]["lab"]["training"][0]["rate"] = "120/d"  # busy: the rack is wanted
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.yaml"
        path.write_text(yaml.safe_dump({"events": rows}))
        sim = build(validate_scenario(data), keep_segments=True, events_file=path)
        sim.run()
    rack_of = sim.index.gpu_rack
    starts_on_rack0 = [start for w in sim.works for start, _end, gpus in w.segments or []
                       if 0 in rack_of[gpus]]
    assert not [t for t in starts_on_rack0 if 7200.0 <= t < 36000.0], starts_on_rack0
    assert [t for t in starts_on_rack0 if t >= 36000.0]  # back in service after 10 h


def _check(cluster: ClusterState) -> None:
    owner = cluster.owner
    assert np.array_equal(cluster.free, owner == FREE)
    assert cluster.free_gpus == int(np.count_nonzero(owner == FREE))
    per_domain = np.bincount(INDEX.gpu_domain[owner == FREE], minlength=INDEX.n_domains)
    assert np.array_equal(cluster.domain_free, per_domain)
    unavailable = cluster.down | cluster.draining
    assert not np.any(cluster.free & unavailable)  # never free while failed or draining
    # the counts that let a release skip the masks when nothing is out
    assert cluster.n_down == int(np.count_nonzero(cluster.down))
    assert cluster.n_draining == int(np.count_nonzero(cluster.draining))
    idle_out = unavailable & (owner < 0)
    assert np.all(owner[idle_out] == DOWN)


_ops = st.lists(st.tuples(st.sampled_from(["alloc", "release", "fail", "repair", "drain",
                                           "undrain"]),
                          st.integers(0, INDEX.n_gpus - 1), st.integers(1, 24)),
                min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(_ops)
def test_no_draining_or_failed_gpu_is_ever_allocated(ops: list[tuple[str, int, int]]) -> None:
    cluster = ClusterState(INDEX)
    holders: dict[int, np.ndarray] = {}
    next_id = 0
    for op, first, count in ops:
        gpus = np.arange(first, min(first + count, INDEX.n_gpus), dtype=np.int64)
        if op == "alloc":
            unavailable = cluster.down[gpus] | cluster.draining[gpus]
            if unavailable.any() or np.any(cluster.owner[gpus] != FREE):
                with pytest.raises(AllocationError):
                    cluster.allocate(gpus, next_id)
            else:
                cluster.allocate(gpus, next_id)
                holders[next_id] = gpus
            next_id += 1
        elif op == "release" and holders:
            owner = sorted(holders)[first % len(holders)]
            cluster.release(holders.pop(owner), owner)
        elif op == "fail":
            hit = cluster.take_down(gpus)
            for wid in hit.tolist():  # the core preempts holders of failed GPUs
                cluster.release(holders.pop(wid), wid)
        elif op == "repair":
            cluster.bring_up(gpus)
        elif op == "drain":
            cluster.drain(gpus)
        elif op == "undrain":
            cluster.undrain(gpus)
        _check(cluster)
        for wid, held in holders.items():  # holders keep what they hold, drained or not
            assert np.all(cluster.owner[held] == wid)


_plans = st.lists(st.tuples(st.integers(1, 35), st.integers(0, 3),
                            st.sampled_from(["fail", "drain", "restore"])),
                  min_size=1, max_size=8)


@settings(max_examples=6, deadline=None)
@given(_plans)
def test_runs_never_start_work_on_failed_or_draining_racks(
        plan: list[tuple[int, int, str]]) -> None:
    """End to end: random fail/drain/restore rows on the small scenario's 4 racks; no work
    segment starts on a rack while it is failed or draining (from the row's instant on)."""
    rows = [{"at": 600 * k, "target": f"rack:bizerte-20mw/hall-a/{r}", "action": a}
            for k, r, a in plan]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.yaml"
        path.write_text(yaml.safe_dump({"events": rows}))
        sim = build(validate_scenario(small_scenario(duration="6h")), keep_segments=True,
                    events_file=path)
        sim.run()
    out: dict[int, list[tuple[float, float]]] = {r: [] for r in range(4)}  # rack → [from, to)
    since: dict[int, float] = {}
    for k, r, a in sorted(plan, key=lambda p: p[0]):  # stable: file order within an instant
        if a == "restore":
            if r in since:
                out[r].append((since.pop(r), 600.0 * k))
        else:
            since.setdefault(r, 600.0 * k)
    for r, t in since.items():
        out[r].append((t, float("inf")))
    rack_of = sim.index.gpu_rack
    starts = 0
    for w in sim.works:
        for start, _end, gpus in w.segments or []:
            starts += 1
            for r in np.unique(rack_of[gpus]).tolist():
                assert not any(lo <= start < hi for lo, hi in out[r]), (w.work_id, r, start)
    assert starts > 0


@pytest.mark.parametrize("queue", ["las", "srtf", "shortest-gpu-time", "dlas-gpu"])
def test_preempting_work_on_draining_gpus_frees_nothing(queue: str) -> None:
    """Preempting policies on draining racks: a victim on draining GPUs gives them back to
    no one, so a round must not count them free for the job it preempts for (it used to,
    and the start was refused: "GPU 4 is draining"), nor preempt work whose GPUs are all
    draining (that frees nothing)."""
    data = small_scenario(duration="1d")
    data["seed"] = 5
    data["scheduler"] = {"queue": queue, "placement": "pack"}
    data["tenants"]["lab"]["training"][0]["rate"] = "120/d"  # deep enough to preempt
    rows = [{"at": 7200, "target": "rack:bizerte-20mw/hall-a/0", "action": "drain"},
            {"at": 7200, "target": "rack:bizerte-20mw/hall-a/2", "action": "drain"},
            {"at": 40000, "target": "rack:bizerte-20mw/hall-a/0", "action": "restore"}]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.yaml"
        path.write_text(yaml.safe_dump({"events": rows}))
        sim = build(validate_scenario(data), keep_segments=True, events_file=path)
        sim.run()
    out = {0: (7200.0, 40000.0), 2: (7200.0, float("inf"))}
    rack_of = sim.index.gpu_rack
    held_while_draining = 0
    preempted = {(int(i), float(t)) for k, i, t in zip(sim.log.work_kind, sim.log.work_id,
                                                       sim.log.work_t, strict=True)
                 if k == Ev.PREEMPT}
    for w in sim.works:
        for start, end, gpus in w.segments or []:
            racks = set(np.unique(rack_of[gpus]).tolist())
            for r, (lo, hi) in out.items():
                assert not (r in racks and lo <= start < hi), (w.work_id, r, start)
                held_while_draining += int(r in racks and start < lo < end)
                # preempted for nothing: every GPU on a rack draining at that instant
                assert not (racks == {r} and lo <= end < hi
                            and (w.work_id, end) in preempted), (w.work_id, r, end)
    kinds, times = np.asarray(sim.log.work_kind), np.asarray(sim.log.work_t)
    preemptions = int(((kinds == Ev.PREEMPT) & (times >= 7200) & (times < 40000)).sum())
    # The case that failed: preemptible work on draining racks, preemptions meanwhile.
    assert held_while_draining > 0 and preemptions > 0
