"""Results are functions of the event log: a saved and reloaded log gives the same tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.build import Simulation, build
from emulator.loader import validate_scenario
from emulator.logio import load_log, save_log
from emulator.summary import build_summary
from emulator.tables import (
    events_table,
    jobs_table,
    placements_table,
    requests_table,
    timeseries_table,
)
from tests.conftest import small_scenario


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), k
        else:
            assert np.array_equal(x, y), k


def test_tables_rebuild_from_a_saved_log(small_run: Simulation, tmp_path: Path) -> None:
    path = tmp_path / "log.npz"
    save_log(small_run.log, path)
    log = load_log(path)
    assert log.digest() == small_run.log.digest()
    # Static attributes come from the scenario (a fresh, never-run build): nothing is read
    # from the objects the run mutated.
    fresh = build(validate_scenario(small_scenario())).works
    for fn in (events_table, placements_table, timeseries_table):
        _equal(fn(small_run.log), fn(log))
    _equal(jobs_table(small_run.log, small_run.works), jobs_table(log, fresh))
    _equal(requests_table(small_run.log, small_run.works), requests_table(log, fresh))
    args = (small_run.horizon_s, small_run.index.n_gpus, [20e6], [small_run.index.n_gpus])
    assert build_summary(small_run.log, small_run.works, *args) == build_summary(
        log, fresh, *args)


def test_jobs_table_matches_the_engine_bookkeeping(small_run: Simulation) -> None:
    jobs = jobs_table(small_run.log, small_run.works)
    for row, wid in enumerate(jobs["work_id"].tolist()):
        w = small_run.works[wid]
        assert jobs["state"][row] == w.state
        assert jobs["preemptions"][row] == w.preemptions
        assert jobs["lost_gpu_s"][row] == w.lost_gpu_s
        held = sum((e - s) * w.n_gpus for s, e, _g in w.segments or [])
        assert np.isclose(jobs["gpu_s"][row], held, rtol=1e-12)


def test_a_batch_of_work_events_is_the_same_log_as_one_call_each() -> None:
    from emulator.eventlog import Ev, EventLog

    one, batch = EventLog(("a", "b"), ("s",)), EventLog(("a", "b"), ("s",))
    seen: list[int] = []
    batch.subscribe_work(seen.append)
    for log in (one, batch):  # an event before, so the batch does not start at row 0
        log.work_event(5.0, Ev.START, 9, 1, 8, tier=2, speed=0.5,
                       placement=(np.array([3]), np.array([8])))
    ids, tenants, gpus = [4, 7, 2], [0, 1, 0], [1, 16, 4]
    for i, t, g in zip(ids, tenants, gpus, strict=True):
        one.work_event(60.0, Ev.TRUNCATE, i, t, g, reason="queued")
    batch.work_events(60.0, Ev.TRUNCATE, ids, tenants, gpus, reason="queued")
    batch.work_events(61.0, Ev.TRUNCATE, [], [], [])  # nothing to add: nothing added
    assert batch.digest() == one.digest()
    assert seen == [0, 1, 2, 3]  # each new row handed to the subscribers once
