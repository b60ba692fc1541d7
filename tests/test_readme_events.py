"""The README's description of ``events.parquet`` names every work event the log holds."""

from __future__ import annotations

from pathlib import Path

from emulator.eventlog import WORK_EVENTS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_work_event() -> None:
    row = next(line for line in README.read_text().splitlines()
               if line.startswith("| `events.parquet`"))
    missing = [name for name in WORK_EVENTS if f"`{name}`" not in row]
    assert not missing, f"README's events.parquet row does not name {missing}"
