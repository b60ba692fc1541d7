"""``gpuemu compare`` takes its policies from ``--policies``: a ``--set`` grid over
``scheduler.queue`` would label points that all ran the same policies, so it is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.compare import run_compare
from emulator.errors import UserError
from tests.conftest import one_error_line, run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tiresias_60.yaml"


def test_queue_grid_is_refused_before_any_run() -> None:
    with pytest.raises(UserError, match=r"--set scheduler.queue: got fifo,las; expected one"):
        run_compare(EXAMPLE, ["fifo", "dlas-gpu"], 1, overrides=["scheduler.queue=las,fifo"])


def test_queue_grid_cli_one_line(tmp_path: Path) -> None:
    proc = run_cli("compare", str(EXAMPLE), "--policies", "fifo", "--seeds", "1", "--serial",
                   "--no-cache", "--set", "scheduler.queue=fifo,las",
                   "--out", str(tmp_path / "cmp"))
    line = one_error_line(proc)
    assert "--set scheduler.queue" in line and "--policies" in line


def test_one_queue_value_still_runs() -> None:
    result = run_compare(EXAMPLE, ["fifo"], 1, overrides=["scheduler.queue=las"])
    assert [r.policy for r in result.runs] == ["fifo"]
