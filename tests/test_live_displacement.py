"""LAS and SRTF drop their displacement from a round in which no queued job may displace
any running work, and skip a round that then has nothing that fits
(:func:`~emulator.policies.live_displacement.live_displacement`); LAS also skips a round on
a full cluster whose running work is all in its first queue, known from the running
work's top attained service: the event log must be exactly the one of rounds that always
rank the running work, and the shortcuts must be taken."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.policies import las, srtf
from emulator.policies.base import ClusterView, RunningColumns
from emulator.policies.live_displacement import live_displacement
from emulator.policies.ordered import Displacement
from emulator.processes.rounds import Rounds
from tests.test_arrival_skip import _deep_queue


def _scenario(queue: str, options: dict[str, Any], seed: int, small: bool) -> dict[str, Any]:
    """The deep queue of the arrival-skip test; ``small``: its jobs take 1 or 2 GPUs and come
    ten times as often, so the cluster is often full to the last GPU."""
    data = _deep_queue(seed, queue, **options)
    if small:
        for tenant in data["tenants"].values():
            for workload in tenant.get("training", []):
                workload["gpus"] = [1, 2]
                workload["tp"] = 1
                workload["rate"] = f"{10 * int(workload['rate'].split('/')[0])}/d"
    return data


def _run(queue: str, options: dict[str, Any], seed: int, small: bool, shortcut: bool,
         monkeypatch: pytest.MonkeyPatch) -> tuple[str, int, int]:
    """(event-log digest, rounds in which the displacement was dropped, rounds LAS answered
    from the top attained service) of one run."""
    module = {"las": las, "srtf": srtf}[queue]
    dropped, topped = [0], [0]

    def counted(view: Any, bars: np.ndarray, displacement: Displacement | None
                ) -> Displacement | None:
        live = live_displacement(view, bars, displacement)
        dropped[0] += displacement is not None and live is None
        return live if shortcut else displacement

    engine_top = Rounds._top_attained

    def checked_top(self: Rounds) -> float:
        """The engine's figure, checked against the running columns'."""
        top = engine_top(self)
        c = self._running_columns()
        attained = c.attained_gpu_s[c.preemptible]
        assert top == (attained.max() if attained.size else -np.inf)
        topped[0] += 1
        return top if shortcut else np.inf

    monkeypatch.setattr(module, "live_displacement", counted)
    monkeypatch.setattr(Rounds, "_top_attained", checked_top)
    sim = build(validate_scenario(_scenario(queue, options, seed, small)))
    sim.run()
    monkeypatch.undo()
    return sim.log.digest(), dropped[0], topped[0]


@pytest.mark.parametrize(("queue", "options", "seed", "small"), [
    ("las", {}, 1, False),
    ("las", {"thresholds": ["10m", "2h"]}, 2, False),
    ("las", {}, 1, True),
    ("las", {"thresholds": ["10m", "2h"]}, 2, True),
    ("srtf", {}, 1, False),
    ("srtf", {"min_ratio": 2}, 2, True),
])
def test_dropping_a_displacement_that_can_displace_nothing_changes_no_decision(
        queue: str, options: dict[str, Any], seed: int, small: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    plain, _, _ = _run(queue, options, seed, small, False, monkeypatch)
    digest, dropped, topped = _run(queue, options, seed, small, True, monkeypatch)
    assert digest == plain
    assert dropped > 0
    if queue == "las" and small:
        assert topped > 0  # full clusters happen, and the top attained service is read


def test_the_top_attained_service_without_the_engine_is_read_from_the_columns() -> None:
    """A view built without the engine's figure (a wrapper policy's) reads it from the
    running columns: the most attained by preemptible work, ``-inf`` without any."""

    def view(attained: list[float], preemptible: list[bool]) -> ClusterView:
        n = len(attained)
        columns = RunningColumns(now=0.0, work_id=np.arange(n), n_gpus=np.ones(n),
                                 start_s=np.zeros(n), attained_gpu_s=np.array(attained),
                                 priority=np.zeros(n),
                                 preemptible=np.array(preemptible, dtype=bool),
                                 expected_ends=lambda: np.full(n, np.inf))
        return ClusterView(now=0.0, queue=[], total_gpus=n, free_gpus=0, running=list,
                           scratch=lambda: None,  # type: ignore[arg-type, return-value]
                           tenant_gpus={}, options={}, running_columns=lambda: columns)

    assert view([5.0, 9.0, 7.0], [True, False, True]).top_attained_gpu_s() == 7.0
    assert view([9.0], [False]).top_attained_gpu_s() == -np.inf
