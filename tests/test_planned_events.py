"""Planned events files: parsing (YAML and CSV), strict validation with one-line errors,
exact round trips of recorded times, and their effect on a run through the core's verbs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml

from emulator.build import build
from emulator.errors import UserError
from emulator.eventlog import Ev, Infra
from emulator.loader import validate_scenario
from emulator.planned_events import PlannedEvent, format_events, read_events
from emulator.targets import resolve_target
from tests.conftest import small_scenario
from tests.test_cli import _assert_user_error, _write, gpuemu

RACK0 = "rack:bizerte-20mw/hall-a/0"
DOM1 = "domain:bizerte-20mw/hall-a/1"


def _events_file(tmp_path: Path, rows: list[dict], name: str = "events.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"events": rows}))
    return path


def test_yaml_and_csv_read_the_same_events(tmp_path: Path) -> None:
    rows = [{"at": "2h", "target": RACK0, "action": "drain", "duration": "6h"},
            {"at": 3600, "target": "link:medusa", "action": "fail"},
            {"at": "1d", "target": "scheduler", "action": "policy", "value": "fifo"}]
    from_yaml = read_events(_events_file(tmp_path, rows))
    csv_path = tmp_path / "events.csv"
    csv_path.write_text("at,target,action,duration,value\n"
                        f"2h,{RACK0},drain,6h,\n3600,link:medusa,fail,,\n"
                        "1d,scheduler,policy,,fifo\n")
    assert read_events(csv_path) == from_yaml
    assert [e.at for e in from_yaml] == [7200.0, 3600.0, 86400.0]
    assert from_yaml[0].duration == 6 * 3600.0


def test_recorded_times_read_back_exactly(tmp_path: Path) -> None:
    times = [0.1 + 0.2, 1 / 3, 12345.678901234567, 1e-05, 86399.99999999999]
    events = [PlannedEvent(at=t, target=RACK0, action="drain") for t in times]
    path = tmp_path / "rec.yaml"
    path.write_text(format_events(events, header="recorded"))
    back = read_events(path)
    assert [e.at for e in back] == times  # exact floats, not approximations


@pytest.mark.parametrize(("row", "needles"), [
    ({"at": "2h", "target": RACK0, "action": "reboot"}, ["events.0.action", "'drain'"]),
    ({"at": -5, "target": RACK0, "action": "fail"}, ["events.0.at", "greater than or equal"]),
    ({"at": "2x", "target": RACK0, "action": "fail"}, ["events.0.at", "unit 'x'"]),
    ({"at": 1, "target": "scheduler", "action": "policy"}, ["events.0", "value: missing"]),
    ({"at": 1, "target": RACK0, "action": "drain", "value": "3"}, ["only policy and power-cap"]),
    ({"at": 1, "target": RACK0, "action": "restore", "duration": "1h"}, ["restore expected"]),
    ({"at": 1, "target": RACK0, "action": "fail", "duraton": "1h"}, ["events.0.duraton",
                                                                     "unknown field"]),
])
def test_bad_rows_are_one_line_naming_the_field(tmp_path: Path, row: dict,
                                                needles: list[str]) -> None:
    with pytest.raises(UserError) as err:
        read_events(_events_file(tmp_path, [row]))
    for needle in needles:
        assert needle in str(err.value), str(err.value)


def test_overlapping_windows_on_one_target_are_refused(tmp_path: Path) -> None:
    rows = [{"at": "1h", "target": RACK0, "action": "drain", "duration": "4h"},
            {"at": "2h", "target": RACK0, "action": "fail"}]
    with pytest.raises(UserError, match=r"events\.1: .* inside events\.0's window"):
        read_events(_events_file(tmp_path, rows))
    rows[1]["at"] = "5h"  # at the end of the window: no overlap
    assert len(read_events(_events_file(tmp_path, rows))) == 2


def _cli_scenario(tmp_path: Path, events: list[dict]) -> Path:
    _events_file(tmp_path, events, "maintenance.yaml")
    return _write(tmp_path, small_scenario(duration="6h", events="maintenance.yaml"))


@pytest.mark.parametrize(("rows", "needles"), [
    ([{"at": "1h", "target": "rack:bizerte-20mw/hall-a/9", "action": "drain"}],
     ["events.0.target", "rack '9' does not exist", "0..3"]),
    ([{"at": "1h", "target": "rack:bizerte-20mw/hall-z/0", "action": "drain",
       "duration": "2h"},
      {"at": "2h", "target": "rack:bizerte-20mw/hall-z/0", "action": "fail"}],
     ["events.1", "inside events.0's window"]),
    ([{"at": "1h", "target": "link:medusa", "action": "drain"}],
     ["events.0.action", "cannot be given a drain"]),
    ([{"at": "1h", "target": "scheduler", "action": "policy", "value": "fastest"}],
     ["events.0.value", "unknown policy 'fastest'"]),
])
def test_cli_bad_events_exit_2(tmp_path: Path, rows: list[dict], needles: list[str]) -> None:
    scenario = _cli_scenario(tmp_path, rows)
    _assert_user_error(gpuemu("validate", str(scenario)), "maintenance.yaml", *needles)


def test_cli_missing_events_file_exits_2(tmp_path: Path) -> None:
    scenario = _write(tmp_path, small_scenario(duration="1h"))
    _assert_user_error(gpuemu("run", str(scenario), "--headless", "--events",
                              str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")),
                       "nope.yaml", "events file not found")


def _run(tmp_path: Path, rows: list[dict], **changes: object):  # type: ignore[no-untyped-def]
    sim = build(validate_scenario(small_scenario(**changes)), keep_segments=True,
                events_file=_events_file(tmp_path, rows))
    sim.run()
    return sim


def test_a_drained_rack_takes_no_new_work_and_failures_stop_holders(tmp_path: Path) -> None:
    rows = [{"at": "2h", "target": RACK0, "action": "drain", "duration": "20h"},
            {"at": "3h", "target": DOM1, "action": "fail"},
            {"at": "9h", "target": DOM1, "action": "restore"}]
    sim = _run(tmp_path, rows)
    index, log = sim.index, sim.log
    rack0 = resolve_target(RACK0, index, ()).gpus
    dom1 = resolve_target(DOM1, index, ()).gpus
    starts_in_drain = ran_on_rack0 = 0
    for w in sim.works:
        for start, end, gpus in w.segments or []:
            on_rack0 = bool(np.isin(gpus, rack0).any())
            if on_rack0 and 7200.0 < start < 22 * 3600.0:
                starts_in_drain += 1
            if np.isin(gpus, dom1).any():
                assert not (3 * 3600.0 < start < 9 * 3600.0)
                assert end <= 3 * 3600.0 or start >= 9 * 3600.0  # stopped by the failure
            if on_rack0 and start <= 7200.0 < end:
                ran_on_rack0 += 1  # work already there when the drain began
    assert starts_in_drain == 0
    kinds = [Infra(k) for k in log.infra_kind]
    # a planned fail goes through the failure model: FAILURE/REPAIR, held jobs interrupted
    assert kinds == [Infra.DRAIN, Infra.FAILURE, Infra.REPAIR, Infra.UNDRAIN]
    assert list(log.infra_t) == [7200.0, 10800.0, 32400.0, 79200.0]
    interrupted = [Ev(k) for k in log.work_kind].count(Ev.INTERRUPT)
    assert interrupted >= 1  # the failed domain held work at 3h (the small run is busy)
    assert ran_on_rack0 >= 1  # a drain lets running work finish where it is


def test_same_events_same_log(tmp_path: Path) -> None:
    rows = [{"at": "90m", "target": "link:medusa", "action": "fail", "duration": "2h"},
            {"at": "4h", "target": "scheduler", "action": "policy", "value": "sjf"},
            {"at": "5h", "target": DOM1, "action": "fail", "duration": "3h"}]
    a = _run(tmp_path, rows, duration="12h")
    b = _run(tmp_path, rows, duration="12h")
    assert a.log.digest() == b.log.digest()
    assert a.engine.policy.name == "sjf"
    plain = build(validate_scenario(small_scenario(duration="12h")))
    plain.run()
    assert plain.log.digest() != a.log.digest()  # the events did change the run


def test_dates_count_from_the_scenario_start(tmp_path: Path) -> None:
    start = dt.datetime(2025, 3, 20, tzinfo=dt.UTC)
    rows = [{"at": "2025-03-21T06:00:00Z", "target": RACK0, "action": "drain"},
            {"at": "2025-03-22", "target": RACK0, "action": "restore"}]
    path = tmp_path / "dated.yaml"
    path.write_text(f"events:\n  - {{at: 2025-03-20T01:30:00, target: '{DOM1}', action: "
                    "fail}\n")  # a YAML timestamp, naive: UTC
    assert [e.at for e in read_events(path, start)] == [5400.0]
    events = read_events(_events_file(tmp_path, rows), start)
    assert [e.at for e in events] == [30 * 3600.0, 2 * 86400.0]
    rows[0]["at"] = "2025-03-19T23:00:00Z"
    with pytest.raises(UserError, match=r"events\.0\.at: .* before the scenario's start"):
        read_events(_events_file(tmp_path, rows), start)
    rows[0]["at"] = "2025-13-45"
    with pytest.raises(UserError, match=r"events\.0\.at: got '2025-13-45'; expected a dur"):
        read_events(_events_file(tmp_path, rows), start)
    with pytest.raises(UserError, match="dates need the scenario's start"):
        read_events(path)


def test_power_caps_slow_training_on_the_capped_gpus_until_lifted(tmp_path: Path) -> None:
    rows = [{"at": "1h", "target": "site:bizerte-20mw", "action": "power-cap",
             "value": "700W", "duration": "5h"}]
    sim = _run(tmp_path, rows, duration="8h")
    log = sim.log
    kinds = [Ev(k) for k in log.work_kind]
    rerates = [i for i, k in enumerate(kinds) if k == Ev.RERATE]
    capped = [i for i in rerates if log.work_speed[i] < 1.0]
    lifted = [i for i in rerates if log.work_speed[i] == 1.0]
    assert capped and lifted  # jobs slowed by the cap, then back to full speed at 6 h
    assert all(3600.0 <= log.work_t[i] < 6 * 3600.0 for i in capped)
    assert all(log.work_t[i] == 6 * 3600.0 for i in lifted)
    assert {log.reasons[log.work_reason[i]] for i in capped} <= {
        "power-cap site:bizerte-20mw", "power cap"}  # at the cap, or at a later start
    started_capped = [i for i in capped if log.work_t[i] > 3600.0]
    for i in started_capped:  # a job starting on capped GPUs is slowed at once
        wid = log.work_id[i]
        start = max(j for j in range(i) if kinds[j] == Ev.START and log.work_id[j] == wid)
        assert log.work_t[start] == log.work_t[i]
    plain = build(validate_scenario(small_scenario(duration="8h")))
    plain.run()
    assert sum(1 for k in plain.log.work_kind if k == Ev.RERATE) == 0


@pytest.mark.parametrize("rows", [
    # a second cap window on the site right after the first (the first's end used to
    # lift the second: jobs back at full speed at 3 h)
    [{"at": "1h", "target": "site:bizerte-20mw", "action": "power-cap", "value": "700W",
      "duration": "2h"},
     {"at": "3h", "target": "site:bizerte-20mw", "action": "power-cap", "value": "700W",
      "duration": "3h"}],
    # a hall's short cap inside the site's long one (its end used to lift the site's)
    [{"at": "1h", "target": "site:bizerte-20mw", "action": "power-cap", "value": "700W",
      "duration": "5h"},
     {"at": "2h", "target": "hall:bizerte-20mw/hall-a", "action": "power-cap",
      "value": "700W", "duration": "1h"}],
])
def test_a_cap_window_ending_leaves_other_open_caps_in_force(tmp_path: Path,
                                                             rows: list[dict]) -> None:
    sim = _run(tmp_path, rows, duration="8h")
    log = sim.log
    rerates = [i for i, k in enumerate(log.work_kind) if Ev(k) == Ev.RERATE]
    lifted = [log.work_t[i] for i in rerates if log.work_speed[i] == 1.0]
    assert lifted and all(t == 6 * 3600.0 for t in lifted), lifted
    caps = sim.engine.injector.caps
    assert np.isinf(caps.cap_w).all()  # every window ended at 6 h


def test_a_later_cap_on_the_same_gpus_replaces_the_earlier_until_it_ends(
        tmp_path: Path) -> None:
    rows = [{"at": "1h", "target": "site:bizerte-20mw", "action": "power-cap",
             "value": "600W"},
            {"at": "2h", "target": RACK0, "action": "power-cap", "value": "900W",
             "duration": "1h"}]
    sim = _run(tmp_path, rows, duration="4h")
    # the rack's 900 W ended at 3 h: the site's 600 W again, not no cap
    assert set(sim.engine.injector.caps.cap_w.tolist()) == {600.0}


@pytest.mark.parametrize(("row", "needles"), [
    ({"at": 1, "target": RACK0, "action": "power-cap"}, ["value: missing", "700W"]),
    ({"at": 1, "target": RACK0, "action": "power-cap", "value": "7 bananas"},
     ["events.0", "value: got '7 bananas'"]),
    ({"at": 1, "target": RACK0, "action": "power-cap", "value": 0}, ["above 0 W"]),
])
def test_bad_power_caps_are_one_line(tmp_path: Path, row: dict, needles: list[str]) -> None:
    with pytest.raises(UserError) as err:
        read_events(_events_file(tmp_path, [row]))
    for needle in needles:
        assert needle in str(err.value), str(err.value)


def test_power_cap_values_round_trip(tmp_path: Path) -> None:
    events = [PlannedEvent(at=1.0, target=RACK0, action="power-cap", value=612.5),
              PlannedEvent(at=2.0, target=RACK0, action="power-cap", value="0.7kW")]
    path = tmp_path / "caps.yaml"
    path.write_text(format_events(events))
    assert read_events(path) == events


def test_power_cap_events_are_refused_beside_a_site_power_cap(tmp_path: Path) -> None:
    events = _events_file(tmp_path, [{"at": "1h", "target": "site:morocco-40mw",
                                      "action": "power-cap", "value": "700W"}])
    example = Path(__file__).resolve().parent.parent / "examples" / "morocco_40mw.yaml"
    _assert_user_error(gpuemu("run", str(example), "--events", str(events), "--headless",
                              "--out", str(tmp_path / "out")),
                       "events.0.action", "site power cap")


@pytest.mark.parametrize("name", ["x" * 5000, "a\x00b"])
def test_unusable_file_names_are_one_line(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError, match="expected a YAML or CSV file of planned events"):
        read_events(tmp_path / name)
