"""LAS and SRTF skip what a round cannot use: a displacement when no queued job may displace
any running work (:func:`~emulator.policies.live_displacement.live_displacement`; LAS
tells it first from the running work's top attained service), and the whole round when
then nothing fits either. A run must decide exactly what the previous algorithm decides
(every round sorted and walked with the full displacement): the same event log; and each
shortcut must be taken in these runs, the engine's top attained service being checked
against the running columns at every round."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.policies import las, srtf
from emulator.policies.base import ClusterView, Decision, RunningColumns
from emulator.policies.las import LeastAttainedServicePolicy
from emulator.policies.live_displacement import displaces_anything, live_displacement
from emulator.policies.ordered import Displacement, greedy_round, queue_order
from emulator.policies.srtf import ShortestRemainingTimeFirstPolicy
from emulator.processes.rounds import Rounds
from tests.test_arrival_skip import _deep_queue


def _las_reference(self: LeastAttainedServicePolicy, view: ClusterView) -> list[Decision]:
    """LAS as it decided before the shortcuts: every round sorted and walked."""
    t = view.queue_table()
    levels = np.searchsorted(self._bounds, t.attained_gpu_s, side="right")
    order, idx = queue_order(view, t.work_id, t.submit_s, levels, t.training)
    return greedy_round(view, order, displacement=self._displacement, sizes=t.n_gpus[idx])


def _srtf_reference(self: ShortestRemainingTimeFirstPolicy, view: ClusterView
                    ) -> list[Decision]:
    """SRTF as it decided before the shortcuts."""
    t = view.queue_table()
    order, idx = queue_order(view, t.work_id, t.submit_s, t.est_remaining_s, t.training)
    needed = t.est_remaining_s[idx] * self.min_ratio
    return greedy_round(view, order, displacement=self._displacement(view, needed)
                        if self.preempt else None, sizes=t.n_gpus[idx])


def _scenario(queue: str, options: dict[str, Any], seed: int, small: bool) -> dict[str, Any]:
    """The deep queue of the arrival-skip test; ``small``: its jobs take 1 or 2 GPUs and
    come ten times as often, so the cluster is often full to the last GPU."""
    data = _deep_queue(seed, queue, **options)
    if small:
        for tenant in data["tenants"].values():
            for workload in tenant.get("training", []):
                workload["gpus"] = [1, 2]
                workload["tp"] = 1
                workload["rate"] = f"{10 * int(workload['rate'].split('/')[0])}/d"
    return data


def _run(queue: str, options: dict[str, Any], seed: int, small: bool, reference: bool,
         monkeypatch: pytest.MonkeyPatch) -> tuple[str, Counter[str]]:
    """(event-log digest, how often each shortcut's condition held) of one run."""
    policy_class: Any = {"las": LeastAttainedServicePolicy,
                         "srtf": ShortestRemainingTimeFirstPolicy}[queue]
    counts: Counter[str] = Counter()
    if reference:
        monkeypatch.setattr(policy_class, "decide",
                            {"las": _las_reference, "srtf": _srtf_reference}[queue])
    else:
        module = {"las": las, "srtf": srtf}[queue]

        def counted(view: Any, bars: np.ndarray, displacement: Displacement | None
                    ) -> Displacement | None:
            live = live_displacement(view, bars, displacement)
            counts["displacement dropped on the columns"] += (displacement is not None
                                                              and live is None)
            return live

        if queue == "las":  # SRTF tells it from the engine's top remaining time
            monkeypatch.setattr(module, "live_displacement", counted)
        decide = policy_class.decide

        def noted(self: Any, view: ClusterView) -> list[Decision]:
            if queue == "las" and view.queue and self._displacement is not None \
                    and self.level(view.top_attained_gpu_s()) == 0:
                counts["all running work in queue 0"] += 1
                counts["full cluster, round not run"] += view.free_gpus == 0
            if queue == "srtf" and view.queue and self.preempt:
                bars = view.queue_table().est_remaining_s * self.min_ratio
                live = displaces_anything(view, bars, lambda c: c.expected_end_s - c.now)
                counts["displacement dropped on the columns"] += not live
            return decide(self, view)

        monkeypatch.setattr(policy_class, "decide", noted)
    engine_top = Rounds._top_attained

    def checked_top(self: Rounds) -> float:
        """The engine's figure, checked against the running columns'."""
        top = engine_top(self)
        c = self._running_columns()
        attained = c.attained_gpu_s[c.preemptible]
        assert top == (attained.max() if attained.size else -np.inf)
        return top

    monkeypatch.setattr(Rounds, "_top_attained", checked_top)
    engine_remaining = Rounds._top_remaining

    def checked_remaining(self: Rounds) -> float:
        """The engine's figure, checked against the running columns' (NaN as NaN)."""
        top = engine_remaining(self)
        c = self._running_columns()
        scores = (c.expected_end_s - c.now)[c.preemptible & (c.start_s < c.now)]
        expected = np.fmax.reduce(scores) if scores.size else -np.inf
        assert top == expected or (np.isnan(top) and np.isnan(expected))
        counts["top remaining checked"] += 1
        return top

    monkeypatch.setattr(Rounds, "_top_remaining", checked_remaining)
    sim = build(validate_scenario(_scenario(queue, options, seed, small)))
    sim.run()
    monkeypatch.undo()
    return sim.log.digest(), counts


COLUMNS, QUEUE_0, FULL = ("displacement dropped on the columns", "all running work in queue 0",
                          "full cluster, round not run")


@pytest.mark.parametrize(("queue", "options", "seed", "small", "taken"), [
    ("las", {}, 1, False, (COLUMNS, QUEUE_0)),
    ("las", {"thresholds": ["10m", "2h"]}, 2, False, (COLUMNS, QUEUE_0)),
    ("las", {}, 1, True, (COLUMNS, QUEUE_0)),
    ("las", {"thresholds": ["12h", "48h"]}, 2, True, (QUEUE_0, FULL)),  # long in queue 0
    ("srtf", {}, 1, False, (COLUMNS, "top remaining checked")),
    ("srtf", {"min_ratio": 2}, 2, True, (COLUMNS, "top remaining checked")),
])
def test_the_shortcuts_change_no_decision(queue: str, options: dict[str, Any], seed: int,
                                          small: bool, taken: tuple[str, ...],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    reference, _ = _run(queue, options, seed, small, True, monkeypatch)
    digest, counts = _run(queue, options, seed, small, False, monkeypatch)
    assert digest == reference
    assert all(counts[shortcut] > 0 for shortcut in taken), counts


def test_a_nan_compares_false_as_in_the_pairwise_test() -> None:
    """A NaN score or bar displaces nothing and blocks nothing: the others decide."""
    def view(ends: list[float]) -> ClusterView:
        n = len(ends)
        columns = RunningColumns(now=0.0, work_id=np.arange(n), n_gpus=np.ones(n),
                                 start_s=np.full(n, -1.0), attained_gpu_s=np.zeros(n),
                                 priority=np.zeros(n), preemptible=np.ones(n, dtype=bool),
                                 expected_ends=lambda: np.array(ends))
        return ClusterView(now=0.0, queue=[], total_gpus=n, free_gpus=0, running=list,
                           scratch=lambda: None,  # type: ignore[arg-type, return-value]
                           tenant_gpus={}, options={}, running_columns=lambda: columns)

    displacement = ShortestRemainingTimeFirstPolicy()._displacement(view([1.0]), None)
    assert live_displacement(view([np.nan, 5e4]), np.array([600.0]), displacement) \
        is displacement
    assert live_displacement(view([5e4]), np.array([np.nan, 600.0]), displacement) \
        is displacement
    assert live_displacement(view([np.nan]), np.array([600.0]), displacement) is None
    assert live_displacement(view([5e4]), np.array([np.nan]), displacement) is None
    assert live_displacement(view([500.0]), np.array([600.0]), displacement) is None


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
