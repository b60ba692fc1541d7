"""Trace replay in scenarios, and the published policy directions on the Philly sample.

Acceptance (fixed seed): replaying the shipped Philly sample, LAS and SRTF give a lower
mean JCT than FIFO (Tiresias, NSDI 2019), and EASY backfill a lower mean queue wait than
FIFO (Lifka 1995; Mu'alem & Feitelson 2001).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emulator.build import Simulation, build
from emulator.errors import UserError
from emulator.loader import load_scenario, validate_scenario
from emulator.results import collect
from tests.conftest import small_scenario
from tests.test_engine_invariants import check_invariants
from workloads.traces import sample_path
from workloads.traces.philly import read_philly

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "philly_replay.yaml"


def replay(queue: str) -> Simulation:
    sim = build(load_scenario(EXAMPLE, [f"scheduler.queue={queue}"], seed=1), keep_segments=True)
    sim.run()
    return sim


@pytest.fixture(scope="module")
def summaries() -> dict[str, dict]:
    out = {}
    for queue in ("fifo", "backfill", "las", "srtf"):
        sim = replay(queue)
        check_invariants(sim)
        out[queue] = collect(sim, include_requests=False).summary
    return out


def test_the_example_replays_the_sample(summaries: dict[str, dict]) -> None:
    jobs = summaries["fifo"]["tenants"]["philly"]["jobs"]
    assert jobs["submitted"] == 2000
    assert jobs["finished"] >= 1990  # the queue drains before the horizon


def test_las_and_srtf_beat_fifo_on_mean_jct(summaries: dict[str, dict]) -> None:
    fifo = summaries["fifo"]["tenants"]["philly"]["jct_s"]["mean"]
    for queue in ("las", "srtf"):
        assert summaries[queue]["tenants"]["philly"]["jct_s"]["mean"] < 0.5 * fifo, queue


def test_backfill_beats_fifo_on_mean_queue_wait(summaries: dict[str, dict]) -> None:
    fifo = summaries["fifo"]["tenants"]["philly"]["wait_s"]["mean"]
    assert summaries["backfill"]["tenants"]["philly"]["wait_s"]["mean"] < fifo


PHILLY_BAD = """timestamp,duration,num_gpus,gpu_time,cluster
2017-09-25 00:01:57,81.0,1,81.0,11cb48
2017-09-25 00:11:57,sixty,1,68.0,11cb48
2017-09-25 00:21:24,63.0,4,252.0,6c71a0
not a date,76.0,1,76.0,11cb48
2017-09-25 00:31:24,63.0,4
2017-09-25 00:41:24,6300.0,8,50400.0,6c71a0
"""


def trace_scenario(tmp_path: Path, **trace: object) -> Path:
    (tmp_path / "traces").mkdir(exist_ok=True)
    (tmp_path / "traces" / "philly.csv").write_text(PHILLY_BAD)
    data = small_scenario(duration="1d")
    data["tenants"] = {"philly": {"priority": 2, "traces": [
        {"kind": "philly", "path": "traces/philly.csv", "model": "llama3-8b", **trace}]}}
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_malformed_rows_are_reported_with_file_and_line_and_never_crash(
        tmp_path: Path) -> None:
    sim = build(load_scenario(trace_scenario(tmp_path, priority=1)), keep_segments=True)
    sim.run()
    check_invariants(sim)
    assert [i.line for i in sim.trace_issues] == [3, 5, 6]
    assert all(i.file.endswith("philly.csv") for i in sim.trace_issues)
    assert "duration" in sim.trace_issues[0].message
    jobs = [w for w in sim.works if w.kind == "training"]
    assert len(jobs) == 3 and all(w.state == "finished" for w in jobs)
    assert {w.priority for w in jobs} == {3}  # tenant priority + trace priority


def test_cli_warns_once_per_bad_row_and_counts_them(tmp_path: Path) -> None:
    path = trace_scenario(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "emulator", "run", str(path), "--headless",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "skipped trace row" in ln]
    assert len(warnings) == 3
    assert "philly.csv:3:" in warnings[0] and "philly.csv:6:" in warnings[2]
    run = json.loads((tmp_path / "out" / "summary.json").read_text())["run"]
    assert run["trace_issues"] == 3


@pytest.mark.parametrize(("trace", "needle"), [
    ({"kind": "azure_llm", "path": "sample:azure_llm_code"}, "serving trace"),
    ({"path": "traces/absent.csv"}, "absent.csv"),
    ({"tenant": "someone-else"}, "replay as that tenant"),
    ({"tenant_per_cluster": True}, "tenant_per_cluster"),
])
def test_bad_traces_are_one_line_user_errors(tmp_path: Path, trace: dict,
                                             needle: str) -> None:
    with pytest.raises(UserError, match=r"tenants\.philly\.traces\.0") as err:
        build(load_scenario(trace_scenario(tmp_path, **trace)))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_replayed_jobs_stop_at_the_horizon() -> None:
    data = small_scenario(duration="2h")
    data["tenants"]["lab"] = {"traces": [{"kind": "philly", "path": "sample:philly",
                                          "model": "llama3-8b"}]}
    sim = build(validate_scenario(data))
    jobs = [w for w in sim.works if w.kind == "training"]
    rows = read_philly(sample_path("philly")).jobs
    assert len(jobs) == sum(r.submit_s < 7200 for r in rows) < len(rows)
    assert all(w.submit_s < 7200 for w in jobs)


def test_estimate_error_is_seeded_and_off_by_default() -> None:
    def estimates(error: float, seed: int) -> list[float]:
        data = small_scenario(seed=seed)
        data["tenants"]["lab"]["training"][0]["estimate_error"] = error
        sim = build(validate_scenario(data))
        return [w.est_duration_s for w in sim.works if w.kind == "training"]

    exact = estimates(0.0, 7)
    noisy = estimates(0.8, 7)
    assert len(exact) == len(noisy) > 10
    assert noisy == estimates(0.8, 7)
    ratios = [n / e for n, e in zip(noisy, exact, strict=True)]
    assert min(ratios) < 0.8 and max(ratios) > 1.25
    assert exact == estimates(0.0, 7)


@pytest.mark.parametrize("study", ["sweep", "plan"])
def test_sweep_and_plan_warn_once_per_bad_row_with_the_users_path(tmp_path: Path,
                                                                   study: str) -> None:
    """A study's runs skip the trace's malformed rows as a run does: each is warned about
    once (not once per run), under the path the scenario gave, and the sweep counts them
    per run in sweep.csv."""
    path = trace_scenario(tmp_path)
    args = (["sweep", str(path), "--set", "sites.0.halls.0.racks=1,2"] if study == "sweep"
            else ["plan", str(path), "--vary", "sites.0.halls.0.racks", "--range", "1..2",
                  "--target", "tenants.philly.jobs.finished >= 1"])
    proc = subprocess.run([sys.executable, "-m", "emulator", *args, "--serial", "--no-cache",
                           "--until", "2h", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "skipped trace row" in ln]
    assert len(warnings) == 3, proc.stderr
    assert all(str(tmp_path / "traces" / "philly.csv") in w for w in warnings)
    if study == "sweep":
        rows = list(csv.DictReader((tmp_path / "out" / "sweep.csv").open()))
        assert [r["trace_issues"] for r in rows] == ["3", "3"]


def test_absolute_time_and_offset_count_from_midnight_of_the_first_day() -> None:
    """Philly timestamps, like Azure's, have the first row's midnight as their own zero:
    ``absolute_time`` keeps it (the first job, submitted at 00:01:57, at 117 s), and
    ``offset`` counts from it (600 s: the 00:01:57 row is dropped, 00:11:57 is at 117 s)."""
    from workloads.traces import sample_path
    from workloads.traces.mapping import TraceReplayConfig, philly_to_jobs
    from workloads.traces.philly import read_philly

    trace = read_philly(sample_path("philly"))
    first = trace.jobs[0].submit_s
    assert trace.start is not None and trace.start.strftime("%H:%M:%S") == "00:01:57"
    since_midnight = 117.0

    def submits(**cfg: object) -> list[float]:
        conf = TraceReplayConfig(kind="philly", path="sample:philly", name="p", tenant="t",
                                 model="llama3-8b", limit=3, **cfg)
        return [j.submit_s for j in philly_to_jobs(trace, conf)]

    rebased = submits()
    assert rebased[0] == 0.0
    assert submits(absolute_time=True) == [t + since_midnight - first for t in rebased]
    second = trace.jobs[1].submit_s
    assert submits(offset=600.0)[0] == pytest.approx(second + since_midnight - 600.0)
