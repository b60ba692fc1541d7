"""Fair share, priority and SJF decide deep queues with shortcuts (jobs that can do nothing
passed over with array comparisons; victims ranked once per round; rounds that only
arrivals triggered answered from the new jobs). Whole runs with the plain step-by-step
rounds of ``tests/policy_references.py`` in their place must give the same event log."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.policies.fairshare import FairSharePolicy
from emulator.policies.priority import PriorityPolicy
from tests.policy_references import fairshare_round, priority_round
from tests.test_arrival_skip import _deep_queue


def _digest(data: dict[str, Any]) -> str:
    sim = build(validate_scenario(data))
    sim.run()
    return sim.log.digest()


@pytest.mark.parametrize("options", [
    {},
    {"quotas": {"lab": 0.3}, "hard": True},
    {"quotas": {"lab": 0.2, "urgent": 0.6}},
    {"weights": {"lab": 3.0}, "reclaim": False},
])
def test_fairshare_decides_as_trying_every_job(options: dict[str, Any],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = _deep_queue(3, "fairshare", **options)
    fast = _digest(data)
    monkeypatch.setattr(FairSharePolicy, "decide", fairshare_round)
    assert _digest(data) == fast


@pytest.mark.parametrize("options", [{}, {"work_conserving": False}])
def test_priority_decides_as_scanning_victims_per_job(options: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data = _deep_queue(3, "priority", **options)
    fast = _digest(data)
    monkeypatch.setattr(PriorityPolicy, "decide", priority_round)
    assert _digest(data) == fast
