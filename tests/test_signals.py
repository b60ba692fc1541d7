"""SIGINT and SIGTERM during a run and while results are written (through a subprocess).

Each case first writes a complete result set, then reruns into the same folder with a
different seed and interrupts it: the command must print one line, exit 130 (SIGINT) or
143 (SIGTERM), and leave the first result set exactly as it was, with no temporaries.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from emulator.outputs import verify
from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent

# Runs the CLI with results.write_parquet slowed down (a marker file says writing began),
# so a signal can be delivered while the result set is being written.
_SLOW_WRITE = """
import sys, time
from pathlib import Path
import emulator.results as r
marker = Path(sys.argv.pop(1))
inner = r.write_parquet
def slow(path, columns):
    marker.write_text("writing")
    time.sleep(3.0)
    inner(path, columns)
r.write_parquet = slow
from emulator.cli import main
sys.argv[0] = "gpuemu"
main()
"""


def _scenario(tmp_path: Path) -> Path:
    data = small_scenario(duration="6h")
    data["sites"][0]["halls"][0]["racks"] = 2
    data["tenants"]["lab"]["training"][0]["gpus"] = [8, 16]
    data["output"] = {"requests": False}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _first_result(tmp_path: Path, scenario: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "emulator", "run", str(scenario), "--out",
                           str(out), "--headless"], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert verify(out) == []
    return json.loads((out / "summary.json").read_text())


def _wait_for(predicate, proc: subprocess.Popen, seconds: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, "the run ended before the signal could be sent"
        assert time.monotonic() < deadline, "timed out waiting for the moment to signal"
        time.sleep(0.01)


def _signal_when_printed(cmd: list[str], text: str, sig: signal.Signals
                         ) -> subprocess.Popen:
    """Start ``cmd``, send ``sig`` once its stdout prints ``text``; the finished process."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        def printed() -> bool:
            line = proc.stdout.readline() if proc.stdout else ""
            return text in line
        _wait_for(printed, proc)
        os.kill(proc.pid, sig)
        _, proc.stderr_text = proc.communicate(timeout=60)  # type: ignore[attr-defined]
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("moment", ["mid-run", "mid-write"])
def test_interrupt_keeps_previous_result(tmp_path: Path, sig: signal.Signals,
                                         moment: str) -> None:
    scenario = _scenario(tmp_path)
    out = tmp_path / "out"
    before = _first_result(tmp_path, scenario, out)
    files_before = {p.name: p.read_bytes() for p in out.iterdir()}
    args = ["run", str(scenario), "--out", str(out), "--headless", "--seed", "99"]
    marker = tmp_path / "writing"
    if moment == "mid-write":
        cmd = [sys.executable, "-c", _SLOW_WRITE, str(marker), *args]
    else:
        cmd = [sys.executable, "-m", "emulator", *args, "--speed", "3600"]  # 6 s of wall time
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        if moment == "mid-write":
            _wait_for(marker.exists, proc)
        else:
            stdout_lines: list[str] = []

            def started() -> bool:
                line = proc.stdout.readline() if proc.stdout else ""
                stdout_lines.append(line)
                return "% simulated" in line
            _wait_for(started, proc)
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and sig.name in lines[0], stderr
    assert "Traceback" not in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files_before
    assert json.loads((out / "summary.json").read_text())["seed"] == before["seed"] == 7
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_keep_partial_writes_results_so_far_beside_the_output(tmp_path: Path,
                                                              sig: signal.Signals) -> None:
    scenario = _scenario(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "emulator", "run", str(scenario), "--out", str(out),
           "--headless", "--speed", "3600", "--keep-partial"]  # 6 s of wall time
    proc = _signal_when_printed(cmd, "20% simulated", sig)
    stderr = proc.stderr_text  # type: ignore[attr-defined]
    assert proc.returncode == 128 + sig, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "partial results in" in lines[0] and sig.name in lines[0]
    assert not out.exists(), "an interrupted run never writes the output folder itself"
    partial = tmp_path / "out.partial"
    assert verify(partial) == []
    summary = json.loads((partial / "summary.json").read_text())
    assert summary["run"]["partial"] is True and summary["run"]["interrupted_by"] == sig.name
    reached = summary["run"]["reached_s"]
    assert 6 * 3600 // 5 <= reached < 6 * 3600  # at least the 20% printed (exact: 4,320 s)
    assert summary["simulated_s"] == reached
