"""Input mistakes QA found accepted, misreported or ending in a traceback: each is one
escaped line and exit status 2 (or a note, where the input is legitimate but partly unused).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emulator.errors import MAX_LINE
from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent


def _file(tmp_path: Path, data: dict | None = None) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data or small_scenario()))
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and len(lines[0]) <= MAX_LINE + 10
    return lines[0]


@pytest.mark.parametrize("command", [
    ["plan", "--vary", "sites.0.halls.0.racks", "--range", "1..2", "--target",
     "tenants.eu.slo_attainment >= 0.99"],
    ["sweep", "--set", "sites.0.halls.0.racks=1,2"],
    ["compare", "--policies", "fifo"],
])
@pytest.mark.parametrize("seeds", ["0", "-2"])
def test_seeds_below_one_are_refused(tmp_path: Path, command: list[str], seeds: str) -> None:
    path = _file(tmp_path)
    line = _one_error_line(_cli(command[0], str(path), *command[1:], "--seeds", seeds,
                                "--serial", "--out", str(tmp_path / "out")))
    assert line == f"error: --seeds: got {seeds}; expected at least 1"
