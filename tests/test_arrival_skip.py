"""Priority answers a round that only arrivals triggered after an empty round from
the new jobs alone (:class:`~emulator.policies.arrival_skip.ArrivalSkip`): the event log
must be exactly the one of deciding every round in full, and the skip must happen."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from emulator.build import build
from emulator.eventlog import Ev
from emulator.loader import validate_scenario
from emulator.policies.arrival_skip import ArrivalSkip
from emulator.policies.base import ClusterView, RunningColumns
from emulator.processes.rounds import Rounds
from tests.conftest import small_scenario


def _deep_queue(seed: int, queue: str, **options: Any) -> dict[str, Any]:
    """A day of far more training than the 288 GPUs hold, in two priority classes
    (the higher one may preempt the lower under ``priority``), with failures and repairs
    (GPUs cut off and back, work stopped and requeued)."""
    data = small_scenario(duration="1d", seed=seed)
    lab = data["tenants"]["lab"]
    lab["training"][0]["rate"] = "300/d"
    data["tenants"]["urgent"] = {"priority": 5, "training": [
        {**copy.deepcopy(lab["training"][0]), "name": "hot", "rate": "60/d",
         "gpus": [8, 16]}]}
    data["scheduler"] = {"queue": queue, "placement": "pack", "options": options}
    data["sites"][0]["failures"] = {"defaults": False, "components": {
        "gpu": {"afr": 40.0, "repair": "2h"}, "rack": {"afr": 5.0, "repair": "3h"}}}
    return data


def _run(data: dict[str, Any], skip: bool, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[str, int, int]:
    """(event-log digest, rounds asked, rounds answered from new jobs) of one run."""
    if not skip:
        monkeypatch.setattr(Rounds, "_arrival_token", lambda self: None)
    sim = build(validate_scenario(data))
    sim.run()
    monkeypatch.undo()
    skipper = sim.engine.rounds.policy._skip
    assert isinstance(skipper, ArrivalSkip)
    return sim.log.digest(), sim.engine.rounds.rounds, skipper.skipped


@pytest.mark.parametrize(("queue", "options", "seed"), [
    ("priority", {}, 1),
    ("priority", {}, 2),
    ("priority", {"work_conserving": False}, 1),
    ("priority", {"preempt": False}, 2),
])
def test_answering_from_new_jobs_changes_no_decision(
        queue: str, options: dict[str, Any], seed: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = _deep_queue(seed, queue, **options)
    plain_digest, plain_rounds, plain_skipped = _run(data, False, monkeypatch)
    digest, rounds, skipped = _run(data, True, monkeypatch)
    assert digest == plain_digest
    assert rounds == plain_rounds
    assert plain_skipped == 0  # without the token every round is decided in full
    assert skipped > 0  # and with it some are answered from their new jobs


def test_the_preempting_case_preempts() -> None:
    """The preempting case above is not vacuous: higher-class jobs do displace others."""
    sim = build(validate_scenario(_deep_queue(1, "priority")))
    sim.run()
    kinds = np.asarray(sim.log.work_kind)
    assert int((kinds == Ev.PREEMPT).sum()) > 0


def _view(now: float, queue: list[Any], token: tuple[object, ...],
          running_starts: list[float]) -> ClusterView:
    """A bare view: no GPU free, running work started at ``running_starts``."""
    n = len(running_starts)

    def columns() -> RunningColumns:
        return RunningColumns(now=now, work_id=np.arange(n), n_gpus=np.full(n, 8.0),
                              start_s=np.array(running_starts, dtype=np.float64),
                              attained_gpu_s=np.zeros(n), priority=np.zeros(n),
                              preemptible=np.ones(n, dtype=bool),
                              expected_ends=lambda: np.full(n, np.inf))

    def no_scratch() -> Any:
        raise AssertionError("not needed")

    return ClusterView(now=now, queue=queue, total_gpus=8, free_gpus=0, running=list,
                       scratch=no_scratch, tenant_gpus={}, options={},
                       running_columns=columns, arrival_token=lambda: token)


def test_a_round_at_the_instant_of_a_start_is_not_remembered_by_a_preempting_policy() -> None:
    """Work started at the empty round's own instant is no victim then but would be later,
    so that round cannot vouch for later arrival-only rounds of a preempting policy."""
    queue = object()
    full_rounds: list[float] = []

    def full_round(view: ClusterView) -> list[Any]:
        full_rounds.append(view.now)
        return []

    def alone(view: ClusterView, job: Any) -> list[Any]:
        return []

    for preempts, started_at, expected_full in [(True, 10.0, [10.0, 20.0]),
                                                (True, 5.0, [10.0]),
                                                (False, 10.0, [10.0])]:
        full_rounds.clear()
        skip = ArrivalSkip(preempts=preempts)
        skip.decide(_view(10.0, ["a"], (queue, 1, 1, 0, 1), [started_at]), full_round, alone)
        skip.decide(_view(20.0, ["a", "b"], (queue, 1, 1, 0, 2), [started_at]), full_round,
                    alone)
        assert full_rounds == expected_full
        assert skip.skipped == (2 - len(expected_full))


def test_any_change_but_arrivals_forces_a_full_round() -> None:
    queue = object()
    calls: list[str] = []

    def full_round(view: ClusterView) -> list[Any]:
        calls.append("full")
        return []

    def alone(view: ClusterView, job: Any) -> list[Any]:
        calls.append(f"alone {job}")
        return []

    first = (queue, 1, 1, 0, 1)
    for later in [(queue, 2, 1, 0, 2), (queue, 1, 2, 0, 2), (queue, 1, 1, 1, 1),
                  (object(), 1, 1, 0, 2)]:
        calls.clear()
        skip = ArrivalSkip(preempts=False)
        skip.decide(_view(1.0, ["a"], first, []), full_round, alone)
        skip.decide(_view(2.0, ["a", "b"], later, []), full_round, alone)
        assert calls == ["full", "full"], later
    calls.clear()
    skip = ArrivalSkip(preempts=False)
    skip.decide(_view(1.0, ["a"], first, []), full_round, alone)
    skip.decide(_view(2.0, ["a", "b"], (queue, 1, 1, 0, 2), []), full_round, alone)
    assert calls == ["full", "alone 1"]  # the new job's queue position
