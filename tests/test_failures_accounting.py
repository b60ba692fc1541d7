"""Failure accounting that the reports and the summary rely on: run segments (Gantt,
Perfetto) end where a failure stops a run, and the failures section counts failures only."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emulator.build import Simulation, build
from emulator.eventlog import Ev
from emulator.loader import validate_scenario
from emulator.report.rundata import RunData
from emulator.report.segments import job_segments
from emulator.results import collect
from tests.conftest import run_with_events, small_scenario

SITE = "site:bizerte-20mw"


_run = run_with_events


def _run_data(sim: Simulation) -> RunData:
    results = collect(sim)
    return RunData(summary=results.summary, tables=results.tables)


def test_segments_end_where_failures_stop_runs(tmp_path: Path) -> None:
    """A site failure (planned) and GPU failures (sampled) interrupt training: every run's
    segment ends at its interrupt, so the GPUs the segments hold never exceed the cluster's
    and no work holds two overlapping segments."""
    data = small_scenario(duration="1d", seed=3)
    data["sites"][0]["failures"] = {"components": {"gpu": {"mtbf": "30d", "repair": "3h"}},
                                    "defaults": False}
    sim = _run(data, tmp_path, [{"at": "6h", "target": SITE, "action": "fail",
                                 "duration": "6h"}])
    assert int((np.asarray(sim.log.work_kind) == Ev.INTERRUPT).sum()) >= 3  # what is tested
    seg = job_segments(_run_data(sim))
    assert seg.size > 0 and np.all(seg.end_s >= seg.start_s)
    # GPUs held at every instant: +gpus at a start, -gpus at an end (ends first on ties)
    t = np.r_[seg.start_s, seg.end_s]
    delta = np.r_[seg.gpus, -seg.gpus]
    order = np.lexsort((delta, t))
    assert int(np.cumsum(delta[order]).max()) <= sim.index.n_gpus
    for wid in np.unique(seg.work_id).tolist():
        spans = sorted(set(zip(seg.start_s[seg.work_id == wid].tolist(),
                               seg.end_s[seg.work_id == wid].tolist(), strict=True)))
        for (_, end), (begin, _) in itertools.pairwise(spans):
            assert begin >= end, f"work {wid}: overlapping runs {spans}"
    # and each work's segments hold exactly the GPU-seconds the jobs table gives it
    jobs = _run_data(sim).tables["jobs"]
    held = np.bincount(seg.work_id, weights=(seg.end_s - seg.start_s) * seg.gpus,
                       minlength=len(sim.works))
    np.testing.assert_allclose(held[jobs["work_id"]], jobs["gpu_s"], rtol=1e-9, atol=1e-6)


def test_failures_lost_gpu_hours_leave_preemptions_out(tmp_path: Path) -> None:
    """Under LAS (which preempts) with GPU failures, the failures section's lost GPU-hours
    are the failures' (the sum by cause), not the preemptions' too."""
    data = small_scenario(duration="1d", seed=3)
    data["scheduler"] = {"queue": "las", "placement": "pack"}
    data["sites"][0]["failures"] = {"components": {"gpu": {"mtbf": "30d", "repair": "3h"}},
                                    "defaults": False}
    sim = _run(data, tmp_path)
    c = sim.log.work_columns()
    pre, inter = c["kind"] == Ev.PREEMPT, c["kind"] == Ev.INTERRUPT
    assert c["lost_gpu_s"][pre].sum() > 0 and inter.any()  # both kinds of loss happened
    f = collect(sim).summary["failures"]
    assert f["lost_gpu_h"] * 3600.0 == pytest.approx(c["lost_gpu_s"][inter].sum(), rel=1e-12)
    assert f["lost_gpu_h"] == pytest.approx(sum(f["lost_gpu_h_by_cause"].values()), rel=1e-12)


def test_a_component_out_of_service_does_not_fail_again(tmp_path: Path) -> None:
    """GPUs failing every 2 h and down 3 h each time, racks failing daily: no sampled
    failure strikes a component whose GPUs are all out already, and each class's
    availability stays within [0, 1] (it went negative when down GPUs kept failing)."""
    data = small_scenario(duration="1d", seed=5)
    data["sites"][0]["failures"] = {"components": {"gpu": {"mtbf": "2h", "repair": "3h"},
                                                   "rack": {"mtbf": "1d", "repair": "2h"}}}
    sim = build(validate_scenario(data))
    core = sim.engine.core
    struck_out: list[tuple[float, str]] = []
    fail = core.fail

    def checked_fail(gpus: np.ndarray, cause: str, code: int, **kw: Any) -> Any:
        if kw.get("effect", "down") == "down" and core.cluster.down[gpus].all():
            struck_out.append((core.now, cause))
        return fail(gpus, cause, code, **kw)

    core.fail = checked_fail  # type: ignore[method-assign]
    sim.run()
    assert struck_out == []
    f = collect(sim).summary["failures"]
    n_gpus, horizon_h = sim.index.n_gpus, sim.horizon_s / 3600.0
    gpu = f["by_class"]["gpu"]
    # each GPU is up (Exp, mean 2 h) then down 3 h: at most 24 h / 3 h + 1 failures each
    assert gpu["failures"] <= n_gpus * (horizon_h // 3 + 1)
    for name, cls in f["by_class"].items():
        assert 0.0 <= cls["availability"] <= 1.0, name
        assert 0.0 <= cls["gpu_h_down"] <= n_gpus * horizon_h, name


def test_requests_to_a_service_never_placed_count_as_misses(tmp_path: Path) -> None:
    """A site failed at t = 0 (before the service is placed) or at 1 s (after): the same
    requests are offered, and every one arriving once no replica is up is a miss with no
    latency (at 1 s, those of the first second were served by the replicas then up, and
    those still in flight then failed with them: misses too, counted as failed)."""
    counts = []
    for at in (0.0, 1.0):
        data = small_scenario(duration="2h", seed=3)
        sim = _run(data, tmp_path, [{"at": at, "target": SITE, "action": "fail"}])
        results = collect(sim)
        req = results.summary["requests"]
        failed = results.summary["failures"]["requests_failed"]
        arrival = results.tables["requests"]["arrival_s"]
        assert req["count"] > 0 and req["unreachable"] == int((arrival >= at).sum()) + failed
        assert failed <= int((arrival < at).sum()), at
        counts.append(req["count"])
    assert counts[0] == counts[1]
