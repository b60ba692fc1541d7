"""Property test: under every built-in queue policy, runs keep the engine's invariants.

No GPU is held by two jobs at once, capacity is never exceeded, every job reaches exactly
one terminal state, and hard quotas hold at every instant.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.build import Simulation
from emulator.policies.registry import QUEUE_POLICIES
from tests.conftest import run_scenario, small_scenario
from tests.test_engine_invariants import check_invariants


def peak_gpus(sim: Simulation, tenant: str) -> int:
    """Most GPUs ``tenant`` held at any instant (from the runs' GPU segments)."""
    events: list[tuple[float, int]] = []
    for w in sim.works:
        if w.tenant == tenant:
            for start, end, gpus in w.segments or []:
                events += [(start, gpus.size), (end, -gpus.size)]
    level, peak = 0, 0
    for _t, delta in sorted(events, key=lambda e: (e[0], e[1])):  # ends before starts
        level += delta
        peak = max(peak, level)
    return peak


def two_tenant_scenario(seed: int, queue: str, racks: int, sizes: list[int],
                        rate: str) -> dict[str, Any]:
    data = small_scenario(seed=seed, duration="1d")
    data["sites"][0]["halls"][0]["racks"] = racks
    lab = data["tenants"]["lab"]["training"][0]
    lab.update({"gpus": sorted(set(sizes)), "rate": rate, "model": "llama3-8b",
                "estimate_error": 0.5})
    data["tenants"]["uni"] = {"share": 2.0, "priority": 5, "training": [
        {**lab, "name": "sweep", "rate": "30/d", "checkpoint_interval": "10m"}]}
    options: dict[str, Any] = {}
    if queue == "fairshare":
        options = {"quotas": {"lab": 0.25, "uni": 0.5}, "hard": ["lab"]}
    data["scheduler"] = {"queue": queue, "placement": "pack", "options": options}
    return data


@settings(max_examples=14, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    queue=st.sampled_from(sorted(QUEUE_POLICIES)),
    racks=st.integers(1, 2),
    sizes=st.lists(st.sampled_from([8, 16, 32, 72, 144]), min_size=1, max_size=3),
    rate=st.sampled_from(["40/d", "150/d"]),
)
def test_every_builtin_policy_keeps_invariants(seed: int, queue: str, racks: int,
                                               sizes: list[int], rate: str) -> None:
    sim = run_scenario(two_tenant_scenario(seed, queue, racks, sizes, rate))
    check_invariants(sim)
    assert all(w.state in ("finished", "rejected", "truncated") for w in sim.works)
    if queue == "fairshare":
        assert peak_gpus(sim, "lab") <= 0.25 * sim.index.n_gpus, "hard quota exceeded"
    lost = np.array([w.lost_gpu_s for w in sim.works])
    assert np.all(lost >= 0)
    assert np.all(lost[[w.preemptions == 0 for w in sim.works]] == 0)


def test_each_policy_once_on_the_same_jobs() -> None:
    """Deterministic sweep over all policies (hypothesis may not draw every one)."""
    for queue in sorted(QUEUE_POLICIES):
        sim = run_scenario(two_tenant_scenario(3, queue, 1, [16, 72], "150/d"))
        check_invariants(sim)
        assert any(w.state == "finished" for w in sim.works), queue
        if queue == "fairshare":
            assert peak_gpus(sim, "lab") <= 0.25 * sim.index.n_gpus
