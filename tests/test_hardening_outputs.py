"""Result sets are whole: written aside, swapped in, stale files and temporaries removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.errors import UserError
from emulator.interrupts import Interrupted, deferred, install
from emulator.outputs import MANIFEST, check_replaceable, clean_stale, verify, write_result_set
from emulator.results import output_dir


def _text(content: str):  # type: ignore[no-untyped-def]
    return lambda path: path.write_text(content)


def test_rerun_replaces_the_whole_set(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_result_set(out, {"summary.json": _text("{}"), "requests.parquet": _text("old")})
    write_result_set(out, {"summary.json": _text('{"a": 1}')}, {"seed": 3})
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "summary.json"]
    assert verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failed_write_keeps_previous_set(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_result_set(out, {"summary.json": _text("first")})

    def boom(path: Path) -> None:
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match=r"cannot write the results \(No space left on "
                                        r"device\); the previous content is left as it was"):
        write_result_set(out, {"jobs.parquet": _text("new"), "summary.json": boom})
    assert (out / "summary.json").read_text() == "first" and verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_verify_notices_a_changed_or_extra_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_result_set(out, {"summary.json": _text("x")})
    (out / "summary.json").write_text("y")
    (out / "stray.parquet").write_text("z")
    problems = " ".join(verify(out))
    assert "checksum" in problems and "stray.parquet" in problems


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    out = tmp_path / "run"
    write_result_set(out, {"summary.json": _text("x")})
    stale = tmp_path / f".run.tmp-{pid}"
    stale.mkdir()
    (stale / "jobs.parquet").write_text("partial")
    live = tmp_path / f".run.tmp-{os.getppid()}"  # a running process: left alone
    live.mkdir()
    assert clean_stale(out) == [stale]
    assert not stale.exists() and live.exists()


def test_swap_cut_between_renames_is_undone(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    out = tmp_path / "run"
    write_result_set(out, {"summary.json": _text("previous")})
    os.rename(out, tmp_path / f".run.old-{int(dead.stdout)}")  # as if killed mid-swap
    clean_stale(out)
    assert (out / "summary.json").read_text() == "previous"


def test_foreign_folder_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(UserError, match="holds other files"):
        check_replaceable(tmp_path)
    with pytest.raises(UserError):
        write_result_set(tmp_path, {"summary.json": _text("x")})
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_output_dir_refuses_escaping_names() -> None:
    for name in ("../../x", "a/b", ".hidden", ""):
        with pytest.raises(UserError):
            output_dir("runs/{name}", name, 0)
    assert output_dir("runs/{name}-{seed}", "ok", 3) == Path("runs/ok-3")


def test_signal_waits_for_the_end_of_a_deferred_section() -> None:
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    install()
    reached_end = False
    try:
        with pytest.raises(Interrupted) as info, deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            reached_end = True
        assert reached_end and info.value.exit_code == 143
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def test_resolved_scenario_reproduces_the_run(tmp_path: Path) -> None:
    import json
    import shutil

    import yaml

    from tests.conftest import small_scenario
    from workloads.traces import sample_path

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(sample_path("philly"), src / "philly.csv")  # a path relative to the scenario
    data = small_scenario(duration="6h")
    data["tenants"]["lab"]["traces"] = [{"kind": "philly", "path": "philly.csv",
                                         "model": "llama3-8b", "limit": 40, "tp": 8}]
    data["output"] = {"requests": False}
    # an events file and a solar series beside the scenario, named by relative paths too
    (src / "events.yaml").write_text(yaml.safe_dump({"events": [
        {"at": 600, "target": "rack:bizerte-20mw/hall-a/0", "action": "drain"}]}))
    (src / "pv.csv").write_text("t_s,fraction\n0,0\n10800,1\n21600,0\n", encoding="utf-8")
    data["events"] = "events.yaml"
    data["sites"][0]["energy"] = {"solar": {"capacity": "1MW", "csv": "pv.csv"}}
    (src / "s.yaml").write_text(yaml.safe_dump(data))
    root = Path(__file__).resolve().parent.parent

    def run(scenario: Path, out: Path, *extra: str) -> dict:
        proc = subprocess.run([sys.executable, "-m", "emulator", "run", str(scenario),
                               "--headless", "--out", str(out), *extra], capture_output=True,
                              text=True, cwd=tmp_path, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(root)})
        assert proc.returncode == 0, proc.stderr
        return json.loads((out / "summary.json").read_text())

    first = run(src / "s.yaml", tmp_path / "a", "--set", "tenants.eu.inference.0.rate=1/s",
                "--seed", "5")
    resolved = tmp_path / "a" / "scenario.resolved.yaml"
    text = resolved.read_text()
    assert "--seed 5" in text and "preset" not in text and str(src / "philly.csv") in text
    # the planned events are the run's own record of them, beside the resolved scenario
    assert "\nevents: events.yaml\n" in text and str(src / "pv.csv") in text
    assert (tmp_path / "a" / "events.yaml").exists()
    again = run(resolved, tmp_path / "b")
    assert again["event_log_sha256"] == first["event_log_sha256"]
    assert again["seed"] == 5 and first["run"]["versions"]["gpuemu"]
    assert first["run"]["command"][:2] == ["gpuemu", "run"]
    # events given with --events (the scenario names none) are in it too
    del data["events"]
    (src / "plain.yaml").write_text(yaml.safe_dump(data))
    given = run(src / "plain.yaml", tmp_path / "c", "--events", str(src / "events.yaml"))
    assert given["event_log_sha256"] != run(src / "plain.yaml", tmp_path / "d")[
        "event_log_sha256"]  # the events changed the run
    replayed = run(tmp_path / "c" / "scenario.resolved.yaml", tmp_path / "e")
    assert replayed["event_log_sha256"] == given["event_log_sha256"]


def test_verify_takes_a_path_as_text(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_result_set(out, {"summary.json": _text("x")})
    assert verify(str(out)) == []
    assert verify(str(tmp_path / "nothing")) == [f"{tmp_path / 'nothing'}: no {MANIFEST}; "
                                                  "not a complete result set"]
