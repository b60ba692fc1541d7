"""Engine invariants on real runs: gang allocation, capacity, terminal states, TP groups."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.build import Simulation
from emulator.eventlog import WORK_EVENTS
from emulator.tables import jobs_table
from tests.conftest import run_scenario, small_scenario


def check_invariants(sim: Simulation) -> None:
    """No GPU held twice at once; capacity never exceeded; one terminal state per work."""
    log = sim.log
    kinds = np.asarray(log.work_kind)
    ids = np.asarray(log.work_id)
    submitted = set(ids[kinds == WORK_EVENTS.index("submit")].tolist())
    terminal = ids[np.isin(kinds, [WORK_EVENTS.index(k) for k in ("finish", "reject",
                                                                      "truncate", "cancel")])]
    counts = np.bincount(terminal, minlength=len(sim.works))
    assert set(np.flatnonzero(counts).tolist()) == submitted
    assert counts.max(initial=0) <= 1, "a job reached two terminal states"
    for w in sim.works:
        if w.work_id in submitted:
            assert w.state in ("finished", "rejected", "truncated", "cancelled")
    # Intervals on each GPU never overlap (gang allocation: all GPUs or none).
    events = []
    for w in sim.works:
        for k, (start, end, gpus) in enumerate(w.segments or []):
            # a service's base work runs on fewer GPUs after a failure stopped some of
            # its replicas (Core.regroup): its last run's GPUs are its n_gpus
            if k == len(w.segments) - 1 or w.kind != "inference":  # type: ignore[arg-type]
                assert gpus.size == w.n_gpus, "gang: all GPUs or none"
            assert gpus.size % w.group_size == 0
            assert np.unique(gpus).size == gpus.size
            domains = sim.index.gpu_domain[gpus].reshape(-1, w.group_size)
            assert np.all(domains == domains[:, :1]), "TP group split across NVLink domains"
            if end > start:  # a run preempted at the instant it started held nothing
                events.append((start, 1, w.work_id, gpus))
                events.append((end, 0, w.work_id, gpus))
    assert events or not any(w.state == "finished" for w in sim.works)
    holder = np.full(sim.index.n_gpus, -1)
    busy = 0
    for _t, is_start, work_id, gpus in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        if is_start:
            assert np.all(holder[gpus] == -1), "GPU allocated twice"
            holder[gpus] = work_id
            busy += gpus.size
            assert busy <= sim.index.n_gpus
        else:
            holder[gpus] = -1
            busy -= gpus.size
    for s in log.samples:
        assert 0 <= s.busy_gpus <= sim.index.n_gpus
    # GPU-seconds derived from the log equal the GPUs' recorded holding segments.
    jobs = jobs_table(log, sim.works)
    for work_id, gpu_s in zip(jobs["work_id"].tolist(), jobs["gpu_s"].tolist(), strict=True):
        w = sim.works[work_id]
        held = sum((end - start) * g.size for start, end, g in w.segments or [])
        assert np.isclose(gpu_s, held, rtol=1e-9, atol=1e-6), (work_id, gpu_s, held)
    total = float(jobs["gpu_s"].sum())
    assert total <= sim.index.n_gpus * sim.horizon_s * (1 + 1e-9), "allocation above 100%"


def test_small_run_invariants(small_run: Simulation) -> None:
    check_invariants(small_run)
    assert any(w.state == "finished" for w in small_run.works)
    assert small_run.log.requests, "the inference service served requests"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    queue=st.sampled_from(["fifo", "backfill"]),
    placement=st.sampled_from(["pack", "spread"]),
    racks=st.integers(1, 3),
    sizes=st.lists(st.sampled_from([4, 8, 16, 32, 72, 144, 288]), min_size=1, max_size=4),
    tp=st.sampled_from([1, 2, 4]),
    rate=st.sampled_from(["20/d", "60/d", "200/d"]),
)
def test_random_scenarios_keep_invariants(seed: int, queue: str, placement: str, racks: int,
                                          sizes: list[int], tp: int, rate: str) -> None:
    data = small_scenario(seed=seed, duration="1d")
    data["sites"][0]["halls"][0]["racks"] = racks
    data["scheduler"] = {"queue": queue, "placement": placement}
    data["tenants"]["lab"]["training"][0].update(
        {"gpus": sorted(set(sizes)), "tp": tp, "rate": rate, "model": "llama3-8b",
         "global_batch_tokens": max(sizes) * 8192})  # one sequence per rank at least
    sim = run_scenario(data)
    check_invariants(sim)
    too_big = [w for w in sim.works if w.n_gpus > sim.index.n_gpus]
    assert all(w.state == "rejected" for w in too_big), "impossible jobs are rejected"
