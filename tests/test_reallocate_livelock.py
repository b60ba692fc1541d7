"""Reallocating policies settle within an instant.

Two cases hypothesis found where the whole-cluster reallocation of Tiresias's policies
never advanced the clock: a restarted job's remaining GPU-time includes its restore, so a
waiting twin outranks it, preempts it, and is outranked in turn (two 72-GPU jobs swapping
for ever); and a running job preempted for one whose tensor-parallel groups do not place.
Each round's own decisions ask for another round at the same instant, so the guard below
turns an endless exchange into a failure instead of a hang.
"""

from __future__ import annotations

import pytest

from emulator.processes import rounds
from tests.conftest import run_scenario
from tests.test_policy_invariants import check_invariants, two_tenant_scenario

MAX_ROUNDS_PER_INSTANT = 200


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = rounds.Rounds.run
    seen = {"t": -1.0, "n": 0}

    def run(self: rounds.Rounds) -> None:
        now = self.core.now
        seen["n"] = seen["n"] + 1 if now == seen["t"] else 0
        seen["t"] = now
        if seen["n"] > MAX_ROUNDS_PER_INSTANT:
            raise AssertionError(f"{seen['n']} rounds at t = {now} s without the clock moving")
        plain(self)

    monkeypatch.setattr(rounds.Rounds, "run", run)


@pytest.mark.parametrize("policy", ["shortest-gpu-time", "smallest-gpu-first", "dlas-gpu"])
@pytest.mark.parametrize("racks, sizes", [(2, [72]), (1, [8, 144])])
def test_reallocation_settles(guarded: None, policy: str, racks: int,
                              sizes: list[int]) -> None:
    sim = run_scenario(two_tenant_scenario(0, policy, racks, sizes, "150/d"))
    check_invariants(sim)
    assert all(w.state in ("finished", "rejected", "truncated") for w in sim.works)
