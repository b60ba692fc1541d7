"""A result set is replaced only by the kind of command that wrote it (run, compare, sweep,
plan): a mistyped ``--out`` never deletes another command's results."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emulator.errors import UserError
from emulator.outputs import (
    KINDS,
    Writer,
    check_replaceable,
    result_kind,
    verify,
    write_result_set,
)
from tests.conftest import one_error_line, run_cli, small_scenario


def _write(text: str) -> Writer:
    def write(path: Path) -> None:
        path.write_text(text)
    return write


def _result_set(folder: Path, kind: str) -> None:
    """A result set as ``kind`` writes it: a run's holds ``summary.json``; the others name
    themselves in the manifest's ``command``."""
    if kind == "run":
        write_result_set(folder, {"summary.json": _write('{"scenario": "biz"}')},
                         {"command": ["gpuemu", "run", "biz.yaml"]})
    else:
        write_result_set(folder, {f"{kind}.csv": _write("x\n")},
                         {"command": kind, "scenario": "s.yaml"})


@pytest.mark.parametrize("found", KINDS)
@pytest.mark.parametrize("kind", KINDS)
def test_only_the_same_kind_replaces_a_result_set(tmp_path: Path, found: str,
                                                  kind: str) -> None:
    out = tmp_path / "out"
    _result_set(out, found)
    assert result_kind(out) == (found, "biz" if found == "run" else "s.yaml")
    if kind == found:
        check_replaceable(out, kind)
        _result_set(out, kind)  # replaced whole
        assert verify(out) == []
        return
    with pytest.raises(UserError, match=f"holds the results of `gpuemu {found}`.*"
                                        f"earlier `gpuemu {kind}`"):
        check_replaceable(out, kind)
    with pytest.raises(UserError, match=f"`gpuemu {found}`"):  # the final write checks too
        _result_set(out, kind)
    assert verify(out) == [] and result_kind(out) is not None
    assert result_kind(out)[0] == found  # left as it was


def test_a_set_of_no_known_kind_stays_replaceable(tmp_path: Path) -> None:
    write_result_set(tmp_path / "out", {"notes.txt": _write("x")})  # no command, no summary
    assert result_kind(tmp_path / "out") is None
    check_replaceable(tmp_path / "out", "compare")


def test_compare_refuses_a_runs_folder_and_run_a_comparisons(tmp_path: Path) -> None:
    data = small_scenario(duration="1h")
    data["sites"][0]["halls"][0]["racks"] = 1
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    run_dir, cmp_dir = tmp_path / "run", tmp_path / "cmp"
    assert run_cli("run", str(path), "--headless", "--until", "10m", "--out",
                   str(run_dir)).returncode == 0
    line = one_error_line(run_cli("compare", str(path), "--policies", "fifo", "--seeds", "2",
                                  "--serial", "--until", "10m", "--out", str(run_dir)))
    assert "holds the results of `gpuemu run` of 'small'" in line
    assert "earlier `gpuemu compare`" in line
    assert verify(run_dir) == [] and (run_dir / "summary.json").is_file()
    assert not (run_dir / "compare.csv").exists() and not (tmp_path / "run.cells").exists()
    assert run_cli("compare", str(path), "--policies", "fifo", "--seeds", "2", "--serial",
                   "--until", "10m", "--out", str(cmp_dir)).returncode == 0
    line = one_error_line(run_cli("run", str(path), "--headless", "--until", "10m", "--out",
                                  str(cmp_dir)))
    assert "holds the results of `gpuemu compare`" in line
    assert verify(cmp_dir) == [] and (cmp_dir / "compare.csv").is_file()
