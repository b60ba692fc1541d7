"""Running work as arrays: the core's running table and the rankings built on it.

LAS and SRTF rank the running work through :meth:`ClusterView.running_columns` in every
round that may displace anything, build views only for the victims they offer, skip the
queued jobs that can no longer do anything in a round, and test whether a blocked job
would fit on free counts rather than by placing it. Every column must equal the per-job
views' figures at every round (read live, through starts, preemptions, failures and
re-rated jobs), and a run must decide exactly what the plain algorithm (every view
ranked, every queued job stepped through, every fit tested by placing) decides: the same
event log, job for job.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import emulator.policies.ordered as ordered
from emulator.build import build
from emulator.eventlog import Ev
from emulator.loader import validate_scenario
from emulator.placement import PackPlacement
from emulator.policies.base import ClusterView
from emulator.processes.rounds import Rounds
from emulator.tables import jobs_table
from tests.conftest import small_scenario


def _scenario(queue: str) -> dict[str, Any]:
    data = small_scenario(duration="2d")
    data["scheduler"] = {"queue": queue, "placement": "pack"}
    data["tenants"]["lab"]["training"][0]["rate"] = "120/d"  # a queue deep enough to preempt
    data["sites"][0]["failures"] = {"defaults": False, "components": {
        "gpu": {"afr": 30.0, "repair": "2h"}, "nic": {"afr": 60.0, "repair": "1h"}}}
    return data


def _staged(queue: str) -> dict[str, Any]:
    """:func:`_scenario` with every training job's dataset copied over a slow link first,
    so work sits in the running set for a while before its progress starts."""
    data = _scenario(queue)
    data["tenants"]["lab"]["training"][0]["dataset"] = {"size": "200GB",
                                                        "source": "marseille"}
    data["sites"][0]["wan"] = [{"name": "medusa", "to": "marseille", "length": "1050km",
                                "fibre_pairs": 1, "rate_per_pair": "10Gbps", "share": 1.0}]
    return data


def _run(queue: str, *, by_views: bool = False, check: bool = False,
         staged: bool = False) -> Any:
    data = _staged(queue) if staged else _scenario(queue)
    sim = build(validate_scenario(data), keep_segments=True)
    checked = _check_every_round(sim.engine.rounds) if check else [0]
    original = ordered.greedy_round
    if by_views:  # the plain algorithm: every view ranked by the scalar key, every job
        # of the queue stepped through, every fit tested by placing

        def without_columns(*args: Any, **kwargs: Any) -> Any:
            d = kwargs.get("displacement")
            if d is not None:
                kwargs["displacement"] = dataclasses.replace(d, rank_columns=None)
            kwargs["sizes"] = None
            return original(*args, **kwargs)

        for module in _policy_modules():
            module.greedy_round = without_columns
        PackPlacement.fits_anywhere = False  # victims found by placing on trial copies
    try:
        sim.run()
    finally:
        for module in _policy_modules():
            module.greedy_round = original
        PackPlacement.fits_anywhere = True
    return sim, checked[0]


def _check_every_round(rounds: Rounds) -> list[int]:
    """Check the columns against the views at every round from now on; a one-item list
    counting the rounds checked."""
    make_view = rounds.view
    checked = [0]

    def checking_view() -> ClusterView:
        view = make_view()
        _assert_columns_match_views(view)
        checked[0] += 1
        return view

    rounds.view = checking_view  # type: ignore[method-assign]
    return checked


def _policy_modules() -> list[Any]:
    import emulator.policies.las as las
    import emulator.policies.srtf as srtf
    return [las, srtf]


def _assert_columns_match_views(view: ClusterView) -> None:
    cols = view.running_columns()
    by_id = {r.work_id: r for r in view.running}
    assert sorted(cols.work_id.tolist()) == sorted(by_id)
    for i, wid in enumerate(cols.work_id.tolist()):
        r = by_id[wid]
        assert cols.n_gpus[i] == r.n_gpus and cols.start_s[i] == r.start_s
        assert cols.attained_gpu_s[i] == r.attained_gpu_s  # exact: the same arithmetic
        assert cols.priority[i] == r.priority and bool(cols.preemptible[i]) == r.preemptible
        assert cols.expected_end_s[i] == r.expected_end_s
        assert view.running_job(wid) == r


@pytest.mark.parametrize("queue", ["las", "srtf"])
def test_columns_equal_the_views_at_every_round(queue: str) -> None:
    sim, checked = _run(queue, check=True)
    assert checked > 100
    kinds = np.asarray(sim.log.work_kind)
    assert (kinds == Ev.PREEMPT).sum() > 0 and (kinds == Ev.INTERRUPT).sum() > 0


@pytest.mark.parametrize("queue", ["las", "srtf"])
def test_columns_equal_the_views_while_datasets_stage(queue: str) -> None:
    """Expected ends are re-read for staging work (its progress has not started, and its
    speed may change without the core noting it) until its progress starts."""
    sim, checked = _run(queue, check=True, staged=True)
    jobs = jobs_table(sim.log, sim.works)
    assert checked > 100 and (jobs["staging_s"] > 60).sum() > 10
    assert (np.asarray(sim.log.work_kind) == Ev.PREEMPT).sum() > 0


@pytest.mark.parametrize("queue", ["las", "srtf"])
def test_ranking_by_columns_decides_as_ranking_by_views(queue: str) -> None:
    fast, _ = _run(queue)
    slow, _ = _run(queue, by_views=True)
    assert (np.asarray(fast.log.work_kind) == Ev.PREEMPT).sum() > 5
    assert fast.log.digest() == slow.log.digest()


def test_table_kept_from_the_first_round_that_asks() -> None:
    """A run that starts under FIFO never fills the table; switched to LAS mid-run, the
    table is filled from the running set and matches the views at every later round."""
    from emulator.policies.las import LeastAttainedServicePolicy

    sim = build(validate_scenario(_scenario("fifo")), keep_segments=True)
    sim.engine.start()
    sim.env.run(until=12 * 3600.0)
    table = sim.engine.core.running_table
    assert not table.active and table.n == 0
    rounds: Rounds = sim.engine.rounds
    checked = _check_every_round(rounds)
    rounds.set_policy(LeastAttainedServicePolicy())
    sim.env.run(until=24 * 3600.0)
    assert table.active and checked[0] > 20
    assert table.n == len(sim.engine.core.running)
