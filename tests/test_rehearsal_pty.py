"""The live rehearsal as an operator meets it: ``gpuemu run`` on a pseudo-terminal.

Keys fail and drain racks, cut and repair the cable, switch the policy; the dashboard
shows the legend, the failed rack's mark and the event feed; the run writes
``events.yaml``; ``gpuemu run --events`` on that file replays the same event log (digests
in ``summary.json``). The paced run lasts about five seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import termios
import time
from pathlib import Path

import pexpect
import yaml

from emulator.planned_events import read_events
from emulator.rehearsal.keys import KeyReader
from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent
RIGHT, LEFT = "\x1b[C", "\x1b[D"


def _digest(folder: Path) -> str:
    return json.loads((folder / "summary.json").read_text())["event_log_sha256"]


def test_keys_on_a_terminal_inject_and_the_recording_replays(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(small_scenario(duration="12h")))
    live_out, replay_out = tmp_path / "live", tmp_path / "replay"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = pexpect.spawn(sys.executable, ["-m", "emulator", "run", str(scenario), "--speed",
                                           "8000", "--out", str(live_out)],
                          env=env, cwd=str(ROOT), dimensions=(60, 150), encoding="utf-8",
                          timeout=90)
    try:
        child.expect("f fail")  # the key legend: keys are live
        for key in ("f", RIGHT, "d", "c", "p"):
            child.send(key)
            time.sleep(0.15)
        child.expect("failed rack:bizerte-20mw/hall-a/0")  # the event feed
        child.expect("✖")  # the failed rack's mark on the strip
        for key in ("u", LEFT, "r"):
            child.send(key)
            time.sleep(0.15)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    events = read_events(live_out / "events.yaml")
    done = [(e.target, e.action, e.value) for e in events]
    assert done == [("rack:bizerte-20mw/hall-a/0", "fail", None),
                    ("rack:bizerte-20mw/hall-a/1", "drain", None),
                    ("link:medusa", "fail", None),
                    ("scheduler", "policy", "priority"),
                    ("link:medusa", "restore", None),
                    ("rack:bizerte-20mw/hall-a/0", "restore", None)]
    assert all(0 < e.at <= 12 * 3600.0 for e in events)
    replay = subprocess.run([sys.executable, "-m", "emulator", "run", str(scenario),
                             "--headless", "--events", str(live_out / "events.yaml"),
                             "--out", str(replay_out)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert _digest(replay_out) == _digest(live_out)
    assert (replay_out / "events.yaml").read_text() == (live_out / "events.yaml").read_text()


def test_key_reader_uses_cbreak_and_restores_the_terminal() -> None:
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "r", closefd=False) as stream:
            before = termios.tcgetattr(slave)
            assert before[3] & termios.ICANON
            with KeyReader(stream) as keys:
                assert keys.active
                assert not termios.tcgetattr(slave)[3] & termios.ICANON  # key by key
                os.write(master, b"f\x1b[Ad")
                deadline = time.monotonic() + 5.0
                got: list[str] = []
                while len(got) < 3 and time.monotonic() < deadline:
                    got += keys.pending()
                    time.sleep(0.02)
                assert got == ["f", "up", "d"]
            assert termios.tcgetattr(slave) == before  # restored on exit
    finally:
        os.close(master)
        os.close(slave)


def test_no_terminal_no_keys(tmp_path: Path) -> None:
    with (tmp_path / "stdin").open("w+") as stream, KeyReader(stream) as keys:
        assert not keys.active and keys.pending() == []
