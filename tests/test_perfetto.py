"""The Perfetto / Chrome trace export, checked against the trace-event format."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emulator.outputs import verify
from emulator.report.perfetto import build_trace
from emulator.report.rundata import load_run
from tests.conftest import one_error_line
from tests.report_run import CUT_AT_S, UNTIL_S, gpuemu, make_run

_REQUIRED = {"X": {"name", "ph", "ts", "dur", "pid", "tid"},
             "C": {"name", "ph", "ts", "pid", "args"},
             "i": {"name", "ph", "ts", "pid", "tid", "s"},
             "M": {"name", "ph", "pid", "args"}}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("trace") / "run")


def check_format(trace: dict[str, Any], horizon_s: float) -> list[dict[str, Any]]:
    """Assert the trace-event format; return the events."""
    events = trace["traceEvents"]
    assert trace["displayTimeUnit"] in ("ms", "ns")
    for e in events:
        assert e["ph"] in _REQUIRED, e
        assert _REQUIRED[e["ph"]] <= set(e), e
        assert isinstance(e["pid"], int) and isinstance(e.get("tid", 0), int)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name") and e["args"]["name"]
            continue
        # microseconds since the scenario start, inside the run
        assert isinstance(e["ts"], int | float) and 0 <= e["ts"] <= horizon_s * 1e6 + 1e-3
        if e["ph"] == "X":
            assert e["dur"] >= 0 and e["ts"] + e["dur"] <= horizon_s * 1e6 + 1e-3
        if e["ph"] == "C":
            assert e["args"] and all(isinstance(v, int | float) for v in e["args"].values())
        if e["ph"] == "i":
            assert e["s"] in ("g", "p", "t")
    # slices on one track never overlap (they would have to nest)
    tracks: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            tracks[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
    for spans in tracks.values():
        spans.sort()
        assert all(a[1] <= b[0] + 1e-6 for a, b in itertools.pairwise(spans))
    named = {(e["pid"], e["tid"]) for e in events if e["name"] == "thread_name"}
    assert set(tracks) <= named  # every track is named
    return events


def test_trace_written_with_the_run_is_valid_json(run_dir: Path) -> None:
    trace = json.loads((run_dir / "trace.json").read_text(encoding="utf-8"))
    events = check_format(trace, UNTIL_S)
    phases = {e["ph"] for e in events}
    assert phases == {"M", "X", "C", "i"}
    assert trace["otherData"]["truncated"] is False
    names = {e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert {"NVLink domains", "site power", "queues", "infrastructure"} <= names
    cut = [e for e in events if e["ph"] == "i" and e["name"] == "cable_cut medusa"]
    assert len(cut) == 1 and cut[0]["ts"] == pytest.approx(CUT_AT_S * 1e6)
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert {"bizerte-20mw facility power (MW)", "queued work",
            "morocco-40mw grid and renewables (MW)"} <= counters


def test_slices_hold_exactly_the_gpu_seconds_of_the_jobs(run_dir: Path) -> None:
    data = load_run(run_dir)
    events = build_trace(data)["traceEvents"]
    held = sum(e["dur"] / 1e6 * e["args"]["gpus_in_domain"] for e in events if e["ph"] == "X")
    assert held == pytest.approx(float(np.sum(data.columns("jobs", ["gpu_s"])["gpu_s"])),
                                 rel=1e-9)


def test_window_and_event_cap_bound_the_trace_and_say_so(run_dir: Path) -> None:
    data = load_run(run_dir)
    lo, hi = 0.5 * 86400, 0.75 * 86400
    trace = build_trace(data, (lo, hi), max_events=150)
    events = check_format(trace, UNTIL_S)
    assert len(events) <= 150
    assert all(lo * 1e6 - 1e-3 <= e["ts"] < hi * 1e6 for e in events if e["ph"] != "M")
    assert all(e["ts"] + e["dur"] <= hi * 1e6 + 1e-3 for e in events if e["ph"] == "X")
    other = trace["otherData"]
    assert other["truncated"] is True and other["window_s"] == [lo, hi]
    assert "cut" in other["note"] or "thinned" in other["note"]
    full = build_trace(data, (lo, hi))
    assert full["otherData"]["truncated"] is False
    assert len(full["traceEvents"]) > len(events)


def test_export_command(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    done = gpuemu("export", str(run_dir), "--perfetto", "--from", "1d", "--to", "30h",
                  "--out", str(out))
    assert done.returncode == 0, done.stderr
    check_format(json.loads(out.read_text()), UNTIL_S)
    again = gpuemu("export", str(run_dir), "--perfetto")
    assert again.returncode == 0 and verify(run_dir) == []
    for args, says in ((["--perfetto", "--from", "2d", "--to", "1d"], "--to"),
                       (["--perfetto", "--from", "soon"], "--from"),
                       (["--perfetto", "--max-events", "3"], "--max-events"),
                       ([], "--perfetto")):
        bad = gpuemu("export", str(run_dir), *args)
        assert bad.returncode == 2 and says in bad.stderr, (args, bad.stderr)
        assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_a_window_past_the_end_of_the_run_is_refused_or_clipped(run_dir: Path,
                                                                tmp_path: Path) -> None:
    """Nothing after the horizon was simulated: a window wholly after it is one line, exit
    2; one that runs past it stops there, said on stderr and in the trace's note (no
    counter is stamped at a time the run never reached)."""
    line = one_error_line(gpuemu("export", str(run_dir), "--perfetto", "--from", "2d",
                                 "--to", "3d", "--out", str(tmp_path / "x.json")))
    assert "--from" in line and "end of the run" in line, line
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(ValueError, match="does not overlap"):
        build_trace(load_run(run_dir), (2 * 86400.0, 3 * 86400.0))
    out = tmp_path / "part.json"
    done = gpuemu("export", str(run_dir), "--perfetto", "--from", "1d", "--to", "5d",
                  "--out", str(out))
    assert done.returncode == 0 and "past the end of the run" in done.stderr, done.stderr
    trace = json.loads(out.read_text())
    check_format(trace, UNTIL_S)
    assert trace["otherData"]["window_s"] == [86400.0, pytest.approx(UNTIL_S)]
    assert "clipped" in trace["otherData"]["note"]


def test_trace_processor_loads_the_trace(run_dir: Path) -> None:
    """perfetto's own trace processor parses the file (it needs its native binary, which
    the package downloads on first use: skipped where that is not possible)."""
    tp_module = pytest.importorskip("perfetto.trace_processor",
                                    reason="the perfetto Python package is not installed")
    try:
        tp = tp_module.TraceProcessor(
            trace=str(run_dir / "trace.json"),
            config=tp_module.TraceProcessorConfig(load_timeout=60))
    except Exception as exc:  # the download or the start of the native binary failed
        pytest.skip(f"perfetto's trace processor binary is unavailable (it is downloaded on "
                    f"first use; offline here): {type(exc).__name__}")
    try:
        n = tp.query("select count(*) as n from slice where dur >= 0").as_pandas_dataframe()
        slices = sum(1 for e in json.loads((run_dir / "trace.json").read_text())["traceEvents"]
                     if e["ph"] in ("X", "i"))
        assert int(n["n"][0]) == slices
    finally:
        tp.close()
