"""The paper's round mechanism of Gavel's max-min fairness (``mechanism: paper``, the
default) re-plans at every round boundary while a job waits, so jobs share GPU time as the
allocation says; without a round length it decides only at arrivals and completions."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.build import Simulation, build
from emulator.loader import validate_scenario
from tests.test_engine_invariants import check_invariants


def _run(n_jobs: int, round_length: str | None, mechanism: str = "paper") -> Simulation:
    """``n_jobs`` jobs of 1 GPU × 2 h at t=0 on 4 GPUs of one type."""
    scheduler: dict[str, Any] = {"queue": "max-min-fairness",
                                 "options": {"mechanism": mechanism}}
    if round_length is not None:
        scheduler["round_length"] = round_length
    sim = build(validate_scenario({
        "name": "g", "seed": 1, "duration": "2d",
        "sites": [{"name": "lab", "country": "US", "city": "x",
                   "location": {"lat": 0, "lon": 0}, "grid_connection": "1MW",
                   "cooling": "air",
                   "halls": [{"name": "h", "system": "generic", "gpu": "v100",
                              "gpus_per_node": 1, "nodes": 4}]}],
        "tenants": {"t": {"jobs": [{"name": f"j{i}", "model": "generic", "gpus": 1,
                                    "runtime": "2h"} for i in range(n_jobs)]}},
        "scheduler": scheduler,
        "compute": {"backend": "numpy"},
        "engine": {"stop_when_done": True},
    }), keep_segments=True)
    sim.run()
    check_invariants(sim)
    return sim


@pytest.mark.parametrize("mechanism", ["paper", "gavel"])
def test_six_jobs_on_four_gpus_share_time_in_rounds(mechanism: str) -> None:
    # The LP gives each job 2/3 of the time. The paper's mechanism used to decide only at
    # arrivals and completions: four jobs ended at 7200 s, two at 14,400 s, no preemption.
    sim = _run(6, "360s", mechanism)
    ends = sorted(w.end_s for w in sim.works)
    assert all(w.state == "finished" for w in sim.works)
    assert ends[-1] == pytest.approx(10_800.0, abs=360.0), ends
    assert ends[0] >= 10_800.0 - 2 * 360.0, ends
    assert sum(w.preemptions for w in sim.works) > 0
    contention_s = ends[0]  # six jobs on four GPUs until the first ends
    for w in sim.works:
        ran_s = sum(min(e, contention_s) - s for s, e, _g in w.segments if s < contention_s)
        assert ran_s / contention_s == pytest.approx(2 / 3, abs=0.05), (w.work_id, ran_s)


def test_without_a_round_length_the_paper_mechanism_decides_at_events_only() -> None:
    # Event-driven mode keeps its behaviour: no round between arrivals and completions.
    sim = _run(6, None)
    assert sorted(w.end_s for w in sim.works) == [7200.0] * 4 + [14_400.0] * 2
    assert sum(w.preemptions for w in sim.works) == 0


def test_no_rounds_while_every_job_runs() -> None:
    # Four jobs on four GPUs: a round would change nothing, so none is asked for between
    # the start (t=0) and the completions (7200 s), twenty boundaries later.
    sim = _run(4, "360s")
    assert sorted(w.end_s for w in sim.works) == [7200.0] * 4
    assert sum(w.preemptions for w in sim.works) == 0
    assert sim.engine.rounds.rounds <= 3
