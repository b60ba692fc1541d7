"""Terminal summary rows (adaptive units, SLO targets, unreachable, WAN, residency,
failures) and the live dashboard's additions."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from emulator.build import build
from emulator.dashboard import Dashboard, summary_table
from emulator.eventlog import EventLog, RequestBatch
from emulator.loader import load_scenario
from emulator.summary import build_summary
from emulator.units import format_adaptive_duration, time_unit
from tests.report_run import EXAMPLE, make_run


def _text(renderable: Any, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = make_run(tmp_path_factory.mktemp("rows") / "run")
    return json.loads((run / "summary.json").read_text())


@pytest.mark.parametrize("seconds, unit, text", [
    (0.0123, "ms", "12.3 ms"), (42.0, "s", "42 s"), (90.0, "min", "1.5 min"),
    (5400.0, "h", "1.5 h"), (3 * 86400.0, "d", "3 d"), (2e-5, "µs", "20 µs")])
def test_adaptive_time_units(seconds: float, unit: str, text: str) -> None:
    assert time_unit(seconds)[0] == unit
    assert format_adaptive_duration(seconds) == text


def test_summary_rows_for_wan_residency_and_slo_targets(summary: dict[str, Any]) -> None:
    text = _text(summary_table(summary))
    assert "WAN: cut medusa at 1.25 d; 1 service reroute(s) (RTT changes); 0 unreachable" \
        in text
    assert "residency: ma-gov in MA:" in text and "0 violation(s)" in text
    assert "SLO met counts unreachable and unfinished requests as misses" in text
    row = next(line for line in text.splitlines() if "eu-inference" in line and "ms" in line)
    assert "30ms/30ms" in row  # the target beside the attainment
    assert "failures:" not in text  # this run took no GPUs down


def test_jct_and_wait_columns_pick_their_unit(summary: dict[str, Any]) -> None:
    s = copy.deepcopy(summary)
    for tenant in s["tenants"].values():
        tenant["jct_s"] = {"mean": 90.0, "p50": 80.0, "p99": 150.0, "n": 3}
        tenant["wait_s"] = {"mean": 2.0, "p50": 1.0, "p99": 4.0, "n": 3}
    text = _text(summary_table(s))
    assert "JCT mean min" in text and "JCT p99 min" in text and "wait mean s" in text
    assert "JCT mean h" not in text
    row = next(line for line in text.splitlines() if "research" in line and "/" in line)
    assert " 1.5 " in row and " 2.5 " in row  # 90 s and 150 s read in minutes


def test_failures_line_when_gpus_went_down(summary: dict[str, Any]) -> None:
    s = copy.deepcopy(summary)
    s["outages"] = {"gpus_down_events": 3, "gpus_up_events": 2, "gpus_taken_down": 144}
    assert ("outages: 3 GPUs-down event(s) (144 GPUs taken down), 2 back in service"
            in _text(summary_table(s)))


def test_unreachable_requests_are_slo_misses_and_out_of_the_percentiles() -> None:
    log = EventLog(tenants=("web",), sites=("s",), keep_requests=False)
    log.set_slo(0, 0.5, 0.03)
    ttft = np.array([0.1, 0.2, 0.3, 0.9, 0.1, np.nan, np.nan, np.nan, 0.2, 0.2])
    tpot = np.where(np.isnan(ttft), np.nan, 0.01)
    n = ttft.size
    wait = np.where(np.isnan(ttft), np.nan, 0.0)  # cut off: the serving model's NaN wait
    wait[-1] = 5.0  # ... and one request still queued at the end: a wait but no first token
    ttft[-1] = tpot[-1] = np.nan
    log.request_batch(RequestBatch(0, np.arange(n, dtype=float), wait, ttft, tpot,
                                   ttft + 1.0, np.full(n, 100), np.full(n, 10)))
    works = [SimpleNamespace(tenant="web")]
    s = build_summary(log, works, 100.0, 8, [1e6], [8])  # type: ignore[arg-type]
    req = s["tenants"]["web"]["requests"]
    assert req["count"] == 10 and req["unreachable"] == 3 and req["unfinished"] == 1
    assert req["slo_attainment"] == pytest.approx(5 / 10)  # 5 met out of all 10 requests
    assert req["ttft_s"]["n"] == 6  # percentiles over the 6 that got a first token
    assert req["slo_targets"] == [{"ttft_s": 0.5, "tpot_s": 0.03}]
    assert s["requests"]["unreachable"] == 3


def test_dashboard_legend_date_energy_latency_and_until() -> None:
    sim = build(load_scenario(Path(EXAMPLE), []))
    until = 0.5 * 86400
    dash = Dashboard(sim, until_s=until)
    mismatches = []
    frames: list[str] = []

    def check(s: object) -> None:
        running = sim.engine.core.running
        services = sum(1 for w in running.values() if w.kind == "inference")
        if (dash.counts.running_jobs, dash.counts.running_services) != (
                len(running) - services, services):
            mismatches.append(sim.env.now)
        if not frames and sim.env.now >= until / 2:
            frames.append(_text(dash.frame(), width=160))

    last: list[tuple[int, int, int]] = []

    def check_and_keep(s: object) -> None:
        check(s)
        last[:] = [(dash.counts.running_jobs, dash.counts.running_services,
                    dash.counts.busy_gpus)]

    sim.run(until=until, on_progress=check_and_keep, step_s=600.0)
    assert mismatches == []
    # Closing the run truncates what was still running: the final frame keeps showing it.
    assert dash.counts.cut_off > 0 and last[0][0] > 0
    assert (dash.counts.running_jobs, dash.counts.running_services,
            dash.counts.busy_gpus) == last[0]
    text = frames[0]
    assert "idle <2%" in text and "≥85%" in text  # the rack strip's legend
    assert "2025-09-22 06:" in text  # calendar time from the scenario's start
    assert "/ 12:00:00 (--until; scenario 2d 00:00:00)" in text
    assert "solar+wind" in text and "TND/MWh" in text and "g/kWh" in text
    assert "TTFT p99" in text and " ms " in text
    assert "training job(s)," in text and "inference service(s)" in text


def test_live_ttft_p99_follows_the_last_hour() -> None:
    """During the Medusa cut (from 1.25 d) traffic reroutes over a longer cable: the
    dashboard's last-hour TTFT p99 shows the rise, the whole-run p99 dilutes it."""
    sim = build(load_scenario(Path(EXAMPLE), []))
    dash = Dashboard(sim)
    seen: dict[float, tuple[float, float]] = {}

    def look(s: object) -> None:
        for day in (1.2, 1.45):
            if day not in seen and sim.env.now >= day * 86400:
                recent = dash.counts.recent_ttft_p99()[0]
                assert recent is not None
                seen[day] = (recent, dash.counts.requests[0].stats("ttft_s")["p99"])

    sim.run(until=1.46 * 86400, on_progress=look, step_s=600.0)
    (recent_before, whole_before), (recent_cut, whole_cut) = seen[1.2], seen[1.45]
    assert recent_cut - recent_before > 0.005  # the reroute adds ~6 ms of round trip
    assert recent_cut - recent_before > 2 * (whole_cut - whole_before)


def test_the_summary_says_which_jobs_jct_covers(summary: dict[str, Any]) -> None:
    assert summary["jct_covers"].startswith("finished training jobs only")
    s = copy.deepcopy(summary)
    s["jobs"] = {"submitted": 60, "finished": 55, "rejected": 3, "truncated": 2}
    text = " ".join(_text(summary_table(s)).split())  # the caption wraps at the table's width
    assert ("JCT covers the 55 finished of 60 training jobs; 5 left out (3 rejected, 2 cut "
            "off at the horizon)") in text
    s["jobs"] = {"submitted": 60, "finished": 60, "rejected": 0, "truncated": 0}
    assert "JCT covers" not in _text(summary_table(s), width=400)
