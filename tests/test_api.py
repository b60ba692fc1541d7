"""The Python API: DataFrames from the event log, datetimes, fresh runs, the example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from emulator import api
from emulator.errors import UserError
from emulator.loader import load_scenario, validate_scenario
from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent


def _data() -> dict:
    data = small_scenario(duration="3h", start="2026-06-01T12:00:00")
    data["sites"][0]["halls"][0]["racks"] = 1
    data["output"] = {"requests": True}
    return data


@pytest.fixture(scope="module")
def result() -> api.Result:
    return api.run(_data(), until="2h")


def test_frames_come_from_the_log_with_datetimes(result: api.Result) -> None:
    start = pd.Timestamp("2026-06-01T12:00:00Z")
    jobs = result.jobs
    assert isinstance(jobs, pd.DataFrame) and len(jobs) > 0
    assert list(jobs.columns[:3]) == ["work_id", "kind", "tenant"]
    assert str(jobs["submit_time"].dt.tz) == "UTC"
    started = jobs["start_s"].notna()
    assert (jobs.loc[started, "start_time"] - start).dt.total_seconds().to_numpy() == \
        pytest.approx(jobs.loc[started, "start_s"].to_numpy(), abs=1e-6)
    assert jobs.loc[~started, "start_time"].isna().all()
    ts = result.timeseries
    assert ts["time"].iloc[0] == start and ts["t_s"].iloc[0] == 0.0
    assert ts["t_s"].max() <= 2 * 3600
    assert len(result.requests) == result.summary["requests"]["count"]
    assert (result.requests["arrival_time"] >= start).all()
    assert result.summary["simulated_s"] == 2 * 3600


def test_failures_frame_is_empty_with_its_columns(result: api.Result) -> None:
    assert list(result.failures.columns) == list(api.FAILURE_COLUMNS)
    assert len(result.failures) == 0
    assert list(result.energy.columns[:2]) == ["t_s", "time"]
    assert len(result.energy) == len(result.timeseries)  # one site: a row per sample


def test_each_call_is_a_fresh_simulation(result: api.Result) -> None:
    again = api.run(_data(), until="2h")
    assert again.summary["event_log_sha256"] == result.summary["event_log_sha256"]
    other = api.run(_data(), until="2h", seed=99)
    assert other.summary["event_log_sha256"] != result.summary["event_log_sha256"]


def test_paths_models_and_overrides(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_data()))
    from_file = api.run(path, overrides=["sites.0.halls.0.racks=2"], until=1800.0)
    assert from_file.summary["total_gpus"] == 144
    model = validate_scenario(_data()).scenario
    from_model = api.run(model, until="30m")
    from_dict = api.run(_data(), until="30m")
    assert from_model.summary["event_log_sha256"] == from_dict.summary["event_log_sha256"]
    loaded = load_scenario(path)  # what load_scenario returns runs as it is
    from_loaded = api.run(loaded, until=1800.0)
    assert from_loaded.summary["event_log_sha256"] == from_dict.summary["event_log_sha256"]
    seeded = api.run(loaded, until=1800.0, seed=9)
    assert seeded.summary["seed"] == 9
    import yaml as _yaml  # the resolved scenario keeps the whole mapping, seed replaced
    resolved = _yaml.safe_load(seeded.resolved_yaml)
    assert {"tenants", "duration", "sites"} <= set(resolved) and resolved["seed"] == 9
    assert "# command: emulator.api.run\n" in seeded.resolved_yaml
    with pytest.raises(UserError, match="overrides"):
        api.run(loaded, overrides=["seed=3"])
    with pytest.raises(UserError, match="overrides"):
        api.run(model, overrides=["seed=3"])
    with pytest.raises(UserError, match="until"):
        api.run(_data(), until="-1h")
    with pytest.raises(UserError, match="racks"):
        api.run(_data(), overrides=["sites.0.halls.0.racks=0"])


def test_an_unknown_backend_is_a_user_error_naming_the_argument() -> None:
    with pytest.raises(UserError, match=r"^backend: got 'tpu'; expected one of auto, numpy, "
                                        r"cupy"):
        api.run(_data(), until="30m", backend="tpu")


def test_failures_from_gpu_down_and_up_events() -> None:
    tables = {"infra": {"t_s": np.array([10.0, 20.0, 30.0]),
                        "event": np.array(["cable_cut", "gpus_down", "gpus_up"], object),
                        "subject": np.array([-1, -1, -1]), "value": np.array([0.0, 8.0, 8.0]),
                        "label": np.array(["medusa", "rack 3", "rack 3"], object)}}
    start = pd.Timestamp("2025-01-01T00:00:00Z").to_pydatetime()
    frame = api._failures(tables, start)
    assert frame["event"].tolist() == ["gpus_down", "gpus_up"]
    assert frame["gpus"].tolist() == [8.0, 8.0]
    assert frame["time"].iloc[0] == pd.Timestamp("2025-01-01T00:00:20Z")


def _report_available() -> bool:
    import importlib

    try:
        importlib.import_module("emulator.report.assemble")
    except ImportError:
        return False
    return hasattr(importlib.import_module("emulator.outputs"), "add_to_result_set")


@pytest.mark.skipif(not _report_available(),
                    reason="the HTML report (emulator.report.assemble, "
                           "emulator.outputs.add_to_result_set) is not in this checkout")
def test_report_writes_the_run_folder_and_html(result: api.Result, tmp_path: Path) -> None:
    page = result.report(tmp_path / "run")
    assert page == tmp_path / "run" / "report.html"
    assert "<html" in page.read_text(encoding="utf-8").lower()
    assert (tmp_path / "run" / "summary.json").exists()


def test_write_makes_a_run_folder(result: api.Result, tmp_path: Path) -> None:
    folder = result.write(tmp_path / "run")
    names = sorted(p.name for p in folder.iterdir())
    assert "summary.json" in names and "jobs.parquet" in names
    assert "scenario.resolved.yaml" in names


def test_notebook_example_runs() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "notebook_api.py")],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "576 GPUs" in proc.stdout and "failure events" in proc.stdout


def test_sweep_takes_what_run_takes(tmp_path: Path) -> None:
    """One override string is one override (not its characters); a mapping and what
    load_scenario returns are scenarios too; a model is a one-line UserError."""
    data = _data()
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    from_path = api.sweep(path, "sites.0.halls.0.racks=1,2", until="10m")
    assert list(from_path["sites.0.halls.0.racks"]) == ["1", "2"]
    from_mapping = api.sweep(data, "sites.0.halls.0.racks=1,2", until="10m")
    assert list(from_mapping["event_log_sha256"]) == list(from_path["event_log_sha256"])
    loaded = api.sweep(load_scenario(path), ["sites.0.halls.0.racks=1"], until="10m")
    assert list(loaded["event_log_sha256"]) == list(from_path["event_log_sha256"][:1])
    with pytest.raises(UserError, match=r"^scenario: a Scenario model takes no override grid"):
        api.sweep(validate_scenario(data).scenario, until="10m")
    with pytest.raises(UserError, match=r"^scenario: got int; expected a path"):
        api.sweep(3, until="10m")  # type: ignore[arg-type]


def test_an_uncapped_sites_cap_is_missing_as_in_the_parquet_file(tmp_path: Path) -> None:
    """No infinity in a frame: ``energy.cap_w`` of a site without a cap is NaN, as it is
    null in the ``energy.parquet`` the same run writes."""
    res = api.run(ROOT / "examples/bizerte_20mw.yaml", ["sites.0.halls.0.racks=1",
                                                        "sites.0.halls.1.racks=1"], until="1h")
    assert len(res.energy) and res.energy["cap_w"].isna().all()
    written = pd.read_parquet(res.write(tmp_path / "run") / "energy.parquet")
    assert written["cap_w"].isna().all()
    for frame in (res.jobs, res.timeseries, res.energy):
        floats = frame.select_dtypes("float")
        assert not np.isinf(floats.to_numpy()).any()


def test_malformed_trace_rows_are_warned_and_counted(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    lines = (ROOT / "workloads/traces/data/philly_pollux/"
             "philly_jobs_2017-09-25_to_10-01.csv").read_text().splitlines()[:6]
    lines.insert(2, "2017-09-25 00:05:00,abc,1,1.0,11cb48")  # line 3: a bad duration
    trace = tmp_path / "p.csv"
    trace.write_text("\n".join(lines) + "\n")
    data = _data()
    data["tenants"]["lab"] = {"traces": [{"kind": "philly", "path": str(trace),
                                          "model": "llama3-8b"}]}
    with caplog.at_level("WARNING"):
        res = api.run(data, until="1h")
    assert f"{trace}:3: duration" in caplog.text
    assert res.run_info["trace_issues"] == 1
    assert res.run_info["trace_rows"]["malformed"] == 1
    written = json.loads((res.write(tmp_path / "run") / "summary.json").read_text())
    assert written["run"]["trace_rows"]["malformed"] == 1
