"""Golden test: a fixed scenario and seed give the committed summary numbers.

If a deliberate model change moves these numbers, regenerate the file with
``python -m tests.test_golden`` and explain the change in the commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from emulator.build import Simulation
from emulator.results import collect
from tests.conftest import run_scenario, small_scenario

GOLDEN = Path(__file__).parent / "golden" / "small_summary.json"
GOLDEN_DIGEST = Path(__file__).parent / "golden" / "small_event_log.sha256"
VOLATILE = {"compute", "event_log_sha256"}  # backend name/device differ across machines


def _numbers(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in VOLATILE}


def _compare(got: Any, want: Any, path: str = "") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{path}: keys differ"
        for k in want:
            _compare(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: length differs"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _compare(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {got} != {want}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def test_summary_matches_golden(small_run: Simulation) -> None:
    summary = json.loads(json.dumps(_numbers(collect(small_run).summary)))
    want = json.loads(GOLDEN.read_text())
    _compare(summary, want)
    # The golden run is not trivial: work finished, requests were served, energy was used.
    assert want["jobs"]["finished"] > 5
    assert want["requests"]["count"] > 100_000
    assert want["energy"]["facility_mwh"] > want["energy"]["it_mwh"] > 0


def test_event_log_digest_matches_golden(small_run: Simulation) -> None:
    """The whole typed event log, byte for byte (numpy backend: same on every machine)."""
    assert small_run.log.digest() == GOLDEN_DIGEST.read_text().strip()


if __name__ == "__main__":
    sim = run_scenario(small_scenario())
    GOLDEN.write_text(json.dumps(_numbers(collect(sim).summary), indent=2, sort_keys=True) + "\n")
    GOLDEN_DIGEST.write_text(sim.log.digest() + "\n")
    print(f"wrote {GOLDEN} and {GOLDEN_DIGEST}")
