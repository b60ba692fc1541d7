"""The HTML report in a real headless browser: the page loads and every figure decodes.

Needs a Chromium binary (``.ci/run`` installs the system package); skipped with the
reason where none is found.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from emulator.report.assemble import BUILDERS
from tests.report_run import make_run

_BROWSER = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                        "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(_BROWSER is None, reason="no chromium binary on PATH "
                                "(apt-get install chromium; .ci/run does)")


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert _BROWSER is not None
    return subprocess.run([_BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", f"--user-data-dir={cwd / 'profile'}", *args],
                          capture_output=True, text=True, timeout=180, cwd=cwd)


def test_report_loads_with_every_figure_decoded(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    url = (run / "report.html").resolve().as_uri()
    done = _chromium("--virtual-time-budget=10000", "--dump-dom", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "gpuemu report — med-federation" in dom
    check = re.search(r'<pre id="image-check">([^<]*)</pre>', dom)
    assert check is not None, "the page's load script did not run"
    widths = dict(item.split("=") for item in check.group(1).split())
    assert len(widths) == len(BUILDERS) == len(re.findall(r"<img ", dom))
    assert all(int(w) > 0 for w in widths.values()), widths  # every image decoded
    shot = tmp_path / "shot.png"
    done = _chromium("--window-size=1000,1400", f"--screenshot={shot}", url, cwd=tmp_path)
    assert done.returncode == 0 and shot.stat().st_size > 10_000
