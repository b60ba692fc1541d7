"""Policy comparisons: statistics, files, plots, the command line."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from rich.console import Console

from emulator.compare import (
    METRICS,
    CompareResult,
    aggregate,
    mean_ci,
    run_compare,
    t_quantile_975,
    with_policy,
)
from emulator.compare_output import (
    compare_command,
    markdown_table,
    print_tables,
    write_compare,
)
from emulator.errors import UserError
from emulator.outputs import verify
from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent


def test_t_quantiles() -> None:
    assert t_quantile_975(1) == pytest.approx(12.706)
    assert t_quantile_975(4) == pytest.approx(2.776)
    assert t_quantile_975(30) == pytest.approx(2.042)
    assert t_quantile_975(40) == pytest.approx(2.021, abs=2e-4)
    assert t_quantile_975(120) == pytest.approx(1.980, abs=2e-4)
    assert t_quantile_975(10**6) == pytest.approx(1.95997, abs=1e-4)
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_mean_ci() -> None:
    mean, half, n = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (mean, n) == (3.0, 5)
    assert half == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5))
    assert mean_ci([7.0, None, float("nan")]) == (7.0, pytest.approx(math.nan, nan_ok=True), 1)
    assert math.isnan(mean_ci([])[0])


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompareResult, Path]:
    folder = tmp_path_factory.mktemp("study")
    data = small_scenario(duration="8h")
    data["sites"][0]["halls"][0]["racks"] = 1
    data["tenants"]["lab"]["training"][0].update({"rate": "120/d", "gpus": [8, 16, 32],
                                                  "estimate_error": 0.5})
    data["scheduler"]["options"] = {"max_scan": 50}  # backfill's own option
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_compare(path, ["fifo", "backfill", "las"], 2,
                         ["tenants.eu.inference.0.rate=1/s,4/s"])
    return result, folder


def test_runs_every_point_policy_and_seed(study: tuple[CompareResult, Path]) -> None:
    result, _ = study
    assert result.seeds == [7, 8]
    assert [p.label for p in result.points] == ["tenants.eu.inference.0.rate=1/s",
                                                "tenants.eu.inference.0.rate=4/s"]
    assert len(result.runs) == 2 * 3 * 2
    assert result.scopes() == ["overall", "eu", "lab"]
    for run in result.runs:
        m = run.metrics["overall"]
        assert 0 < m["util"] <= 1
        assert m["finished"] > 0 and m["jct_mean_s"] > 0
        assert 0 <= m["slo"] <= 1
        assert run.metrics["eu"]["finished"] is None  # no training jobs
        assert run.metrics["lab"]["slo"] is None
        parts = run.metrics["eu"]["util"] + run.metrics["lab"]["util"]
        assert parts == pytest.approx(m["util"])


def test_aggregates_match_the_runs(study: tuple[CompareResult, Path]) -> None:
    result, _ = study
    rows = aggregate(result)
    point = result.points[0].label
    row = next(r for r in rows if r["point"] == point and r["policy"] == "las"
               and r["scope"] == "lab" and r["metric"] == "jct_mean_s")
    values = [r.metrics["lab"]["jct_mean_s"] for r in result.runs
              if r.point == point and r.policy == "las"]
    assert row["n"] == 2 and row["mean"] == pytest.approx(np.mean(values))
    assert row["ci95"] == pytest.approx(12.706 * np.std(values, ddof=1) / math.sqrt(2))


def test_writes_csv_json_and_plots(study: tuple[CompareResult, Path]) -> None:
    result, folder = study
    out = folder / "out"
    paths = write_compare(out, result)
    names = sorted(p.name for p in paths)
    assert names == ["compare.csv", "compare.json", "compare.md", "jct_cdf_0_rate=1-s.png",
                     "jct_cdf_1_rate=4-s.png", "manifest.json", "runs.csv",
                     "timeseries_0_rate=1-s.png", "timeseries_1_rate=4-s.png"]
    assert verify(out) == []  # one crash-safe set: every file checksummed in the manifest
    for p in paths:
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
    with (out / "compare.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 3 * 3 * len(METRICS)
    runs = json.loads((out / "compare.json").read_text())
    assert runs["seeds"] == [7, 8] and len(runs["runs"]) == 12 * 3
    assert "### lab — tenants.eu.inference.0.rate=1/s" in (out / "compare.md").read_text()
    table = markdown_table(result, "lab")
    assert table.splitlines()[0].startswith("| policy | mean JCT (")
    assert len(table.splitlines()) == 2 + 3
    console = Console(record=True, width=200)
    print_tables(result, console)
    text = console.export_text()
    assert "lab — tenants.eu.inference.0.rate=4/s" in text and "±" in text


def test_other_policies_run_without_the_scenarios_options() -> None:
    data = small_scenario()
    data["scheduler"]["options"] = {"max_scan": 50}
    fifo = with_policy(data, "fifo", 3)
    assert fifo["scheduler"] == {"queue": "fifo", "placement": "pack", "options": {}}
    assert fifo["seed"] == 3
    own = with_policy(data, "backfill", 4)
    assert own["scheduler"]["options"] == {"max_scan": 50}
    assert data["seed"] == 7, "the input is not changed"


def test_bad_arguments_are_user_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario(duration="1h")))
    with pytest.raises(UserError, match="unknown policy 'lottery'"):
        run_compare(path, ["fifo", "lottery"], 1)
    with pytest.raises(UserError, match="--seeds"):
        run_compare(path, ["fifo"], 0)
    with pytest.raises(UserError, match="twice"):
        run_compare(path, ["fifo", "fifo"], 1)


def test_cli_compare(tmp_path: Path) -> None:
    data = small_scenario(duration="4h")
    data["sites"][0]["halls"][0]["racks"] = 1
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = subprocess.run([sys.executable, "-m", "emulator", "compare", str(path),
                           "--policies", "fifo,srtf", "--seeds", "2", "--out",
                           str(tmp_path / "cmp")], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "overall" in proc.stdout and "[4/4]" in proc.stdout
    assert (tmp_path / "cmp" / "compare.csv").exists()
    bad = subprocess.run([sys.executable, "-m", "emulator", "compare", str(path),
                          "--policies", "fifo,nope", "--seeds", "1"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "nope" in bad.stderr


def test_skipped_trace_rows_name_the_scenarios_file(tmp_path: Path) -> None:
    # each run reads a copy of the trace in a temporary folder; the rows it skips were
    # reported under that copy's name (<temp folder>/gpuemu-cell-…/f0_p.csv), gone after the run
    lines = (ROOT / "workloads/traces/data/philly_pollux/"
             "philly_jobs_2017-09-25_to_10-01.csv").read_text().splitlines()[:6]
    lines.insert(2, "2017-09-25 00:05:00,abc,1,1.0,11cb48")  # line 3: a bad duration
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "p.csv").write_text("\n".join(lines) + "\n")
    data = small_scenario(duration="1h")
    data["tenants"]["lab"] = {"traces": [{"kind": "philly", "path": "traces/p.csv",
                                          "model": "llama3-8b"}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_compare(path, ["fifo"], 1)
    issues = result.runs[0].trace_issues
    assert issues == [f"{tmp_path / 'traces' / 'p.csv'}:3: duration: 'abc' is not a number"]


def test_a_bad_events_file_is_named_as_the_scenario_gives_it(tmp_path: Path) -> None:
    # each run reads a copy of the events file in a temporary folder; a bad target in it
    # was reported under that copy's name (<temp folder>/gpuemu-cell-…/f0_e.yaml), gone after it
    (tmp_path / "e.yaml").write_text(yaml.safe_dump({"events": [
        {"at": "1h", "target": "rack:bizerte-20mw/hall-a/9", "action": "drain"}]}))
    data = small_scenario(duration="2h")
    data["events"] = "e.yaml"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError) as err:
        run_compare(path, ["fifo"], 1)
    assert str(err.value).startswith(f"point base, policy fifo, seed 7: {tmp_path / 'e.yaml'}"
                                     ": events.0.target: "), str(err.value)


def test_policies_run_without_options_they_take_are_named(
        caplog: pytest.LogCaptureFixture) -> None:
    # compare gave max-min-fairness none of the scenario's Gavel options (solver, …) while
    # gpuemu run --set scheduler.queue=max-min-fairness keeps them: different figures
    # (30,088 s vs 30,911 s mean JCT on examples/gavel_heterogeneous.yaml), silently
    from emulator.compare import options_left_out
    from emulator.compare_output import _warn_options_left_out

    data = small_scenario()
    data["scheduler"] = {"queue": "max-min-fairness-het",
                         "options": {"solver": "highs", "mechanism": "gavel"}}
    policies = ["max-min-fairness-het", "max-min-fairness", "fifo"]
    assert options_left_out(data, policies) == {"max-min-fairness": ["solver", "mechanism"]}
    with caplog.at_level("WARNING"):
        _warn_options_left_out(data, policies)
    assert "max-min-fairness ran with its own defaults for solver, mechanism" in caplog.text
    assert "fifo" not in caplog.text
    data["scheduler"] = {"queue": "backfill", "options": {"max_scan": 50}}
    assert options_left_out(data, ["backfill", "fifo", "las"]) == {}


def test_trace_rows_skipped_at_any_grid_point_are_warned(tmp_path: Path) -> None:
    # only the first run's skipped rows were warned about: a grid over the trace file
    # hid the other file's bad rows
    lines = (ROOT / "workloads/traces/data/philly_pollux/"
             "philly_jobs_2017-09-25_to_10-01.csv").read_text().splitlines()[:6]
    for name, bad in (("a.csv", "abc"), ("b.csv", "xyz")):
        rows = [*lines[:2], f"2017-09-25 00:05:00,{bad},1,1.0,11cb48", *lines[2:]]
        (tmp_path / name).write_text("\n".join(rows) + "\n")
    data = small_scenario(duration="1h")
    data["tenants"]["lab"] = {"traces": [{"kind": "philly", "path": "a.csv",
                                          "model": "llama3-8b"}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    warned: list[str] = []
    compare_command(path, "fifo", 2, tmp_path / "out",
                    [f"tenants.lab.traces.0.path={tmp_path / 'a.csv'},{tmp_path / 'b.csv'}"],
                    1, Console(file=io.StringIO()), lambda issues: warned.extend(
                        str(i) for i in issues))
    assert warned == [f"{tmp_path / 'a.csv'}:3: duration: 'abc' is not a number",
                      f"{tmp_path / 'b.csv'}:3: duration: 'xyz' is not a number"]


def test_mean_wait_with_queued_jobs_counts_them_and_shows_only_where_it_differs(
        study: tuple[CompareResult, Path]) -> None:
    """On a cut run, jobs never started count at their wait so far: where some were left
    queued the mean wait with them differs from the mean over started jobs (it may be
    lower: a job queued just before the horizon has waited little so far), and the tables
    show its column then."""
    result, _ = study
    differs = False
    for run in result.runs:
        m = run.metrics["overall"]
        if m["wait_mean_s"] is not None:
            differs |= not math.isclose(m["wait_incl_queued_mean_s"], m["wait_mean_s"])
    assert differs  # one rack, 120 jobs a day of up to 32 GPUs, 8 h: some never start
    table = markdown_table(result, "overall")
    assert "mean wait incl. queued" in table and "mean wait (" in table


def test_a_wait_column_equal_to_the_mean_wait_is_left_out() -> None:
    from emulator.compare_output import _same_as

    same = {("a", "wait_mean_s"): {"n": 2, "mean": 10.0},
            ("a", "wait_incl_queued_mean_s"): {"n": 2, "mean": 10.0}}
    assert _same_as(same, ["a"], "wait_incl_queued_mean_s")
    more = {**same, ("a", "wait_incl_queued_mean_s"): {"n": 2, "mean": 12.5}}
    assert not _same_as(more, ["a"], "wait_incl_queued_mean_s")
    assert not _same_as(same, ["a"], "wait_mean_s")  # not one of the conditional columns
