"""A rehearsal's recorded events file replays to the same event log, byte for byte.

Injections are made the way the live dashboard makes them — between simulation steps, at
the current simulated time, through :class:`~emulator.rehearsal.session.Rehearsal` — and
mixed with a scenario's own planned events at the same instants, including the run's
last instant. The recorded ``events.yaml`` is then replayed with ``events_file`` and the
two logs' digests are compared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from emulator.build import Simulation, build
from emulator.eventlog import Infra
from emulator.loader import validate_scenario
from emulator.planned_events import PlannedEvent
from emulator.rehearsal.controls import Controls
from emulator.rehearsal.keys import decode_keys
from emulator.rehearsal.recorder import EVENTS_NAME
from emulator.rehearsal.session import Rehearsal
from emulator.rehearsal.view import CUT_OFF, DRAINING, FAILED
from tests.conftest import small_scenario

RACK = "rack:bizerte-20mw/hall-a/{}"


def _live_run(tmp_path: Path, script: dict[int, list[PlannedEvent]], steps: int,
              planned: list[dict] | None = None) -> tuple[Simulation, Rehearsal]:
    """Run the small scenario in ``steps`` steps, injecting ``script[k]`` after step k."""
    data = small_scenario(duration="10h")
    if planned is not None:
        (tmp_path / "maintenance.yaml").write_text(yaml.safe_dump({"events": planned}))
        data["events"] = str(tmp_path / "maintenance.yaml")
    sim = build(validate_scenario(data))
    rehearsal = Rehearsal(sim)
    done = [0]

    def after_step(_sim: Simulation) -> None:
        done[0] += 1
        for event in script.get(done[0], []):
            assert rehearsal.inject(event)

    sim.run(on_progress=after_step, step_s=sim.horizon_s / steps)
    return sim, rehearsal


def _replay(tmp_path: Path, rehearsal: Rehearsal) -> Simulation:
    recorded = tmp_path / EVENTS_NAME
    recorded.write_text(rehearsal.files()[EVENTS_NAME])
    sim = build(validate_scenario(small_scenario(duration="10h")), events_file=recorded)
    sim.run()  # other step sizes than the live run: boundaries must not matter
    return sim


def _ev(target: str, action: str, value: str | None = None) -> PlannedEvent:
    return PlannedEvent(at=0.0, target=target, action=action, value=value)  # type: ignore[arg-type]


def test_recorded_rehearsal_replays_to_the_same_digest(tmp_path: Path) -> None:
    script = {
        7: [_ev(RACK.format(0), "fail"), _ev(RACK.format(1), "drain")],
        11: [_ev("link:medusa", "fail"), _ev("scheduler", "policy", "fifo")],
        23: [_ev("domain:bizerte-20mw/hall-a/2", "fail"), _ev(RACK.format(0), "restore")],
        31: [_ev("link:medusa", "restore"), _ev(RACK.format(1), "restore"),
             _ev("scheduler", "policy", "sjf")],
    }
    planned = [{"at": "2h", "target": RACK.format(2), "action": "drain", "duration": "1h"}]
    live, rehearsal = _live_run(tmp_path, script, steps=40, planned=planned)
    events = rehearsal.recorder.events
    assert [(e.at, e.duration) for e in events if e.target == RACK.format(2)] == [
        (7200.0, 3600.0)]  # the scenario's planned event is recorded with the live ones
    # after the last step, at the horizon itself: refused, as a file's event there is not
    # applied (so the recording replays to the same run)
    assert not rehearsal.inject(_ev(RACK.format(3), "drain"))
    assert len(events) == 10 and events[-1].at < live.horizon_s
    kinds = {Infra(k) for k in live.log.infra_kind}
    assert {Infra.FAILURE, Infra.REPAIR, Infra.DRAIN, Infra.UNDRAIN, Infra.CABLE_CUT,
            Infra.CABLE_REPAIR, Infra.POLICY} <= kinds
    replay = _replay(tmp_path, rehearsal)
    assert replay.log.digest() == live.log.digest()
    plain = build(validate_scenario(small_scenario(duration="10h")))
    plain.run()
    assert plain.log.digest() != live.log.digest()  # the injections changed the run


def test_injection_at_a_planned_events_instant_keeps_its_order(tmp_path: Path) -> None:
    """A live injection at the same instant as a planned event: planned first, both ways."""
    steps = 20
    at = 10 * 3600.0 * 5 / steps  # the boundary after step 5
    planned = [{"at": at, "target": RACK.format(1), "action": "fail"}]
    script = {5: [_ev(RACK.format(1), "restore"), _ev(RACK.format(1), "drain")]}
    live, rehearsal = _live_run(tmp_path, script, steps=steps, planned=planned)
    assert [e.action for e in rehearsal.recorder.events] == ["fail", "restore", "drain"]
    assert {e.at for e in rehearsal.recorder.events} == {at}
    assert _replay(tmp_path, rehearsal).log.digest() == live.log.digest()


def test_keys_decode_and_drive_the_cursor(tmp_path: Path) -> None:
    assert decode_keys("f\x1b[Cd\x1bOAx\x1b[1;5Hq") == ["f", "right", "d", "up", "x", "q"]
    sim = build(validate_scenario(small_scenario(duration="1h")))
    controls = Controls(sim.index, ["medusa"], "backfill", row_racks=2)
    assert controls.handle("d") == _ev(RACK.format(0), "drain")
    controls.handle("right")
    controls.handle("down")  # one strip row of 2 racks
    assert controls.target() == RACK.format(3)
    controls.handle("right")  # clamped at the last rack
    assert controls.handle("f") == _ev(RACK.format(3), "fail")
    controls.handle("t")
    assert controls.handle("r") == _ev("domain:bizerte-20mw/hall-a/3", "restore")
    assert controls.handle("c") == _ev("link:medusa", "fail")
    assert controls.handle("p") == _ev("scheduler", "policy", "priority")
    assert controls.handle("?") is None


def test_rack_marks_and_feed_follow_the_state() -> None:
    sim = build(validate_scenario(small_scenario(duration="1h")))
    rehearsal = Rehearsal(sim)
    view = rehearsal.view
    assert rehearsal.inject(_ev(RACK.format(1), "fail"))
    assert rehearsal.inject(_ev(RACK.format(2), "drain"))
    assert rehearsal.inject(_ev(RACK.format(3), "drain"))
    assert rehearsal.inject(_ev(RACK.format(3), "fail"))  # a failure wins over a drain
    assert view.cell_marks(4, 4) == {1: FAILED, 2: DRAINING, 3: FAILED}
    assert view.cell_marks(4, 2) == {0: FAILED, 1: FAILED}  # two racks per cell: the worst
    assert rehearsal.inject(_ev(RACK.format(1), "restore"))
    assert view.cell_marks(4, 4) == {2: DRAINING, 3: FAILED}
    assert rehearsal.sim.engine.failures is not None
    rehearsal.sim.engine.failures.inject(np.array([0, 150]), "nic", repair_s=60.0)
    assert view.cell_marks(4, 4) == {0: CUT_OFF, 2: DRAINING, 3: FAILED}  # a drain wins
    assert not rehearsal.inject(_ev(RACK.format(7), "drain"))
    view.panels()
    lines = [text for text, _style in rehearsal.feed.lines]
    assert lines[-4:] == ["0.0 s  failed rack:bizerte-20mw/hall-a/3 (72 GPUs)",
                          "0.0 s  repaired rack:bizerte-20mw/hall-a/1 (72 GPUs)",
                          "0.0 s  failed nic (2 GPUs lose scale-out)",
                          lines[-1]]
    assert lines[-1].startswith("cannot drain: target: 'rack:bizerte-20mw/hall-a/7'")


def test_a_live_injection_inside_a_planned_window_is_refused(tmp_path: Path) -> None:
    """Else the recording would hold overlapping rows, which an events file may not."""
    planned = [{"at": "1h", "target": RACK.format(0), "action": "drain", "duration": "4h"}]
    script = {10: [_ev(RACK.format(1), "fail")]}  # 10 of 20 steps: 5 h, after the window
    live, rehearsal = _live_run(tmp_path, script, steps=20, planned=planned)
    early = Rehearsal(build(validate_scenario(small_scenario(duration="10h")),
                            events_file=tmp_path / "maintenance.yaml"))
    answers: list[tuple[bool, str]] = []

    def at_2h(sim: Simulation) -> None:  # after the first of 5 steps: 2 h, in the window
        if sim.env.now == 2 * 3600.0:
            answers.append((early.inject(_ev(RACK.format(0), "restore")),
                            early.feed.lines[-1][0] if early.feed.lines else ""))
            answers.append((early.inject(_ev(RACK.format(2), "restore")), ""))

    early.sim.run(on_progress=at_2h, step_s=2 * 3600.0)
    assert not answers[0][0] and "inside events.0's window" in answers[0][1]
    assert answers[1][0]  # another target: fine
    assert _replay(tmp_path, rehearsal).log.digest() == live.log.digest()


def test_the_cursor_policy_follows_a_planned_switch(tmp_path: Path) -> None:
    """``p`` cycles from the policy in force: after a planned switch to sjf, the next one
    (srtf), not the one after the scenario's own (backfill → priority); the status line
    shows sjf."""
    planned = [{"at": "1h", "target": "scheduler", "action": "policy", "value": "sjf"}]
    (tmp_path / "maintenance.yaml").write_text(yaml.safe_dump({"events": planned}))
    data = small_scenario(duration="2h")
    data["events"] = str(tmp_path / "maintenance.yaml")
    sim = build(validate_scenario(data))
    rehearsal = Rehearsal(sim)
    controls = Controls(sim.index, ["medusa"], "backfill", row_racks=2)
    rehearsal.controls = controls  # as attach() does with live keys
    sim.run()
    assert controls.status().endswith("policy sjf")
    assert controls.handle("p") == _ev("scheduler", "policy", "srtf")
