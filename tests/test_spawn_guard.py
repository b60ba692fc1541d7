"""A script that starts a local Dask cluster (``api.sweep(..., workers=2)``) at its top level,
without ``if __name__ == "__main__":``: one clear error naming the script and the fix, not
a traceback from every worker; the same script with the guard runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent

_CALL = """from emulator import api
table = api.sweep({scenario!r}, ["seed=1"], seeds=2, until="1h", workers=2)
print("rows", len(table))
"""


def _script(tmp_path: Path, guarded: bool) -> subprocess.CompletedProcess[str]:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(small_scenario(duration="1h")))
    body = _CALL.format(scenario=str(scenario)).replace('["seed=1"], ', "")
    if guarded:
        body = 'if __name__ == "__main__":\n' + textwrap.indent(body, "    ")
    script = tmp_path / "study.py"
    script.write_text(body)
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, text=True,
                          capture_output=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_an_unguarded_script_gets_one_line(tmp_path: Path) -> None:
    done = _script(tmp_path, guarded=False)
    assert done.returncode != 0
    assert done.stderr.count("Traceback") <= 1, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert "UserError" in last and "study.py" in last and '__name__ == "__main__"' in last


def test_a_guarded_script_runs(tmp_path: Path) -> None:
    done = _script(tmp_path, guarded=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rows 2" in done.stdout
