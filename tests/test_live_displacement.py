"""LAS and SRTF drop their displacement from a round in which no queued job may displace
any running work, and skip a round that then has nothing that fits
(:func:`~emulator.policies.live_displacement.live_displacement`): the event log must be
exactly the one of rounds that always rank the running work, and the shortcut must be
taken."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.policies import las, srtf
from emulator.policies.live_displacement import live_displacement
from emulator.policies.ordered import Displacement
from tests.test_arrival_skip import _deep_queue


def _run(queue: str, options: dict[str, Any], seed: int, shortcut: bool,
         monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """(event-log digest, rounds in which the displacement was dropped) of one run."""
    module = {"las": las, "srtf": srtf}[queue]
    dropped = [0]

    def counted(view: Any, bars: np.ndarray, displacement: Displacement | None
                ) -> Displacement | None:
        live = live_displacement(view, bars, displacement)
        dropped[0] += displacement is not None and live is None
        return live if shortcut else displacement

    monkeypatch.setattr(module, "live_displacement", counted)
    sim = build(validate_scenario(_deep_queue(seed, queue, **options)))
    sim.run()
    monkeypatch.undo()
    return sim.log.digest(), dropped[0]


@pytest.mark.parametrize(("queue", "options", "seed"), [
    ("las", {}, 1),
    ("las", {"thresholds": ["10m", "2h"]}, 2),
    ("srtf", {}, 1),
    ("srtf", {"min_ratio": 2}, 2),
])
def test_dropping_a_displacement_that_can_displace_nothing_changes_no_decision(
        queue: str, options: dict[str, Any], seed: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    plain, _ = _run(queue, options, seed, False, monkeypatch)
    digest, dropped = _run(queue, options, seed, True, monkeypatch)
    assert digest == plain
    assert dropped > 0
