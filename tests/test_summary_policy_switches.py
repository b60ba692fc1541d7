"""The summary names the queue policy a run started with and every switch after it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_scenario, small_scenario


def test_the_summary_names_policy_switches(tmp_path: Path) -> None:
    from emulator.results import collect

    events = tmp_path / "events.csv"
    events.write_text("at,target,action,duration,value\n2h,scheduler,policy,,las\n"
                      "4h,scheduler,policy,,fifo\n")
    data = small_scenario(duration="6h")
    data["events"] = str(events)
    sched = collect(run_scenario(data)).summary["scheduler"]
    assert sched["queue"] == "backfill"  # the policy the run started with
    assert sched["switches"] == [{"t_s": 7200.0, "queue": "las"},
                                 {"t_s": 14400.0, "queue": "fifo"}]
    assert sched["final_queue"] == "fifo"
    assert "switches" not in collect(run_scenario(small_scenario(duration="1h"))).summary[
        "scheduler"]
