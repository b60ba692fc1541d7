"""One small real run for the report, trace and summary tests (built once per module).

The Mediterranean federation example stopped at 1.4 d: two sites with energy models,
residency, routed inference with per-request rows, and the Medusa cable cut at 1.25 d
(still open at the stop, so it is shaded to the end of the run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "med_federation.yaml"
UNTIL = "1.4d"
UNTIL_S = 1.4 * 86400
CUT_AT_S = 1.25 * 86400


def gpuemu(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command line in a fresh interpreter (this checkout first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True,
                          text=True, env=env, cwd=cwd or ROOT, timeout=600)


def make_run(folder: Path) -> Path:
    """Run the example to :data:`UNTIL` with ``--report`` and the trace into ``folder``."""
    done = gpuemu("run", str(EXAMPLE), "--headless", "--until", UNTIL, "--out", str(folder),
                  "--report", "--set", "output.trace=true")
    assert done.returncode == 0, done.stderr
    return folder
