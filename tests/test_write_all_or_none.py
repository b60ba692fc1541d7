"""Report files added to a folder are written all or none: a write that fails midway
(disk full) leaves the folder, and a run's manifest, as they were."""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

import emulator.export as export
from emulator.cli_report import _write
from emulator.errors import UserError
from emulator.outputs import add_to_result_set, verify

_OLD = {"report-a.png": b"old a", "report-b.png": b"old b", "report.html": b"old page"}
_NEW = {"report-a.png": b"new a", "report-b.png": b"new b", "report.html": b"new page"}


def _disk_full_at(monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    """Make the ``nth`` temporary file made from now on fail as a full disk would."""
    real = tempfile.mkstemp
    calls = [0]

    def failing(*args: Any, **kwargs: Any) -> tuple[int, str]:
        calls[0] += 1
        if calls[0] == nth:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(export.tempfile, "mkstemp", failing)


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_failed_add_leaves_the_result_set_as_it_was(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"files": {}}))
    add_to_result_set(run, _OLD)
    assert verify(run) == []
    before = _contents(run)
    _disk_full_at(monkeypatch, 3)
    with pytest.raises(UserError, match="No space left on device"):
        add_to_result_set(run, _NEW)
    assert _contents(run) == before  # no new figure beside the old page, no temp file
    assert verify(run) == []


def test_a_failed_report_out_leaves_the_folder_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, out = tmp_path / "run", tmp_path / "report"
    run.mkdir()
    _write(run, out, _OLD)
    before = _contents(out)
    _disk_full_at(monkeypatch, 2)
    with pytest.raises(UserError, match="No space left on device"):
        _write(run, out, _NEW)
    assert _contents(out) == before
