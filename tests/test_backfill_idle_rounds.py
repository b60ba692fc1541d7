"""EASY backfill skips a round whose state is that of the last round that started nothing
(:meth:`ClusterView.idle_token`): the event log must be exactly the one of deciding every
round, and the skip must actually happen on a deep queue."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.policies.backfill import EasyBackfillPolicy
from emulator.processes.rounds import Rounds
from tests.conftest import small_scenario


def _deep_queue(seed: int) -> dict[str, Any]:
    """Two days of far more training than the 288 GPUs hold, with frequent failures and
    repairs (GPUs cut off and back), so a queue builds behind a blocked head."""
    data = small_scenario(duration="2d", seed=seed)
    data["tenants"]["lab"]["training"][0]["rate"] = "400/d"
    data["sites"][0]["failures"] = {"defaults": False, "components": {
        "gpu": {"afr": 40.0, "repair": "2h"}, "nic": {"afr": 40.0, "repair": "1h"},
        "rack": {"afr": 5.0, "repair": "3h"}}}
    return data


def _run(data: dict[str, Any], skip: bool, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[str, int, int]:
    """(event-log digest, rounds asked, rounds decided) of one run."""
    if not skip:
        monkeypatch.setattr(Rounds, "_idle_token", lambda self, scanned: None)
    decided = 0
    inner = EasyBackfillPolicy._decide

    def counting(self: EasyBackfillPolicy, view: Any, limit: int) -> Any:
        nonlocal decided
        decided += 1
        return inner(self, view, limit)

    monkeypatch.setattr(EasyBackfillPolicy, "_decide", counting)
    sim = build(validate_scenario(data))
    sim.run()
    monkeypatch.undo()
    return sim.log.digest(), sim.engine.rounds.rounds, decided


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_skipping_idle_rounds_changes_no_decision(seed: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    data = _deep_queue(seed)
    plain_digest, plain_rounds, plain_decided = _run(data, False, monkeypatch)
    digest, rounds, decided = _run(data, True, monkeypatch)
    assert digest == plain_digest
    assert rounds == plain_rounds == plain_decided  # without the skip every round decides
    assert decided < rounds  # and with it some are skipped


def test_a_placement_that_reads_more_than_the_free_state_is_never_skipped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.placement.pack import PackPlacement
    monkeypatch.setattr(PackPlacement, "stateless", False)
    data = _deep_queue(1)
    sim = build(validate_scenario(data))
    view = sim.engine.rounds.view()
    assert view.idle_token(10) is None
