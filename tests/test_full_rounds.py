"""Rounds with no free GPU are not asked of a policy that decides nothing then.

``fifo`` and ``backfill`` return no decision whenever no GPU is free, so the engine skips
such rounds (no view, no call). The event log must be exactly that of asking every round,
the skip must happen when the cluster is full, and a policy that overrides ``decide``
(a user's subclass) is asked every round unless it says otherwise itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.policies.base import ClusterView, Decision
from emulator.policies.fifo import FifoPolicy
from emulator.processes.rounds import Rounds
from tests.conftest import small_scenario


def _full(queue: str) -> dict[str, Any]:
    """Jobs of 72 GPUs (one NVL72 rack each) arriving faster than 4 racks serve them: the
    288 GPUs are often all taken."""
    data = small_scenario(duration="2d", seed=3)
    data["tenants"]["lab"]["training"][0].update(rate="200/d", gpus=[72, 144])
    data["tenants"].pop("eu")  # no service holding a few GPUs: training fills all 288
    data["scheduler"]["queue"] = queue
    return data


def _run(data: dict[str, Any], skip: bool, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[str, int]:
    if not skip:
        monkeypatch.setattr(Rounds, "_skips_full_rounds", lambda self, policy: False)
    sim = build(validate_scenario(data))
    sim.run()
    monkeypatch.undo()
    return sim.log.digest(), sim.engine.rounds.rounds


@pytest.mark.parametrize("queue", ["fifo", "backfill"])
def test_skipping_full_rounds_changes_no_decision(queue: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    data = _full(queue)
    asked_digest, asked_rounds = _run(data, False, monkeypatch)
    digest, rounds = _run(data, True, monkeypatch)
    assert digest == asked_digest
    assert rounds < asked_rounds  # the cluster was full at some rounds, and they went unasked


class _RejectsWhenFull(FifoPolicy):
    """A user's FIFO that also acts when the cluster is full (overrides decide)."""

    def decide(self, view: ClusterView) -> list[Decision]:
        return super().decide(view)


def test_a_subclass_that_overrides_decide_is_asked_every_round() -> None:
    sim = build(validate_scenario(_full("fifo")))
    rounds = sim.engine.rounds
    assert rounds._skips_full_rounds(FifoPolicy())
    assert not rounds._skips_full_rounds(_RejectsWhenFull())
