"""Sweeps on the executors: dask LocalCluster equals serial, the cell cache, resuming,
files shipped with cells."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator.cell_runner import run_cells
from emulator.cells import Cell, cell_key, payload, run_payload
from emulator.errors import UserError
from emulator.executor import DaskExecutor, SerialExecutor, make_executor
from emulator.sweep_study import run_sweep
from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent


def _scenario(folder: Path, **changes: Any) -> Path:
    data = small_scenario(duration="2h", **changes)
    data["sites"][0]["halls"][0]["racks"] = 1
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


GRID = ["sites.0.halls.0.racks=1,2"]


def test_local_cluster_with_two_workers_gives_the_serial_results(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    serial = run_sweep(path, GRID, 2, SerialExecutor())
    with DaskExecutor(2) as ex:
        parallel = run_sweep(path, GRID, 2, ex)
        assert ex.ran == 4
        assert len(ex._client.scheduler_info()["workers"]) == 2
    assert len(serial.rows) == 4
    for a, b in zip(serial.rows, parallel.rows, strict=True):
        wall = {"wall_s"}
        assert {k: v for k, v in a.items() if k not in wall} == \
            {k: v for k, v in b.items() if k not in wall}
    digests = [r["event_log_sha256"] for r in serial.rows]
    assert len(set(digests)) == 4, "every point and seed is a different simulation"
    assert [r["total_gpus"] for r in serial.rows] == [72, 72, 144, 144]


def test_cache_reuses_cells_and_reruns_damaged_ones(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    cache = tmp_path / "cells"
    first = SerialExecutor()
    a = run_sweep(path, GRID, 1, first, cache)
    assert first.ran == 2 and len(list(cache.glob("*.json"))) == 2
    again = SerialExecutor()
    b = run_sweep(path, GRID, 1, again, cache)
    assert again.ran == 0 and a.rows == b.rows
    victim = sorted(cache.glob("*.json"))[0]
    victim.write_text('{"summary": ')  # cut short, as by a crash
    third = SerialExecutor()
    c = run_sweep(path, GRID, 1, third, cache)
    assert third.ran == 1
    assert [r["event_log_sha256"] for r in c.rows] == [r["event_log_sha256"] for r in a.rows]


def test_interrupted_sweep_resumes_with_nothing_lost(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    cache = tmp_path / "cells"

    def stop_after_two(done: int, total: int, cell: Cell, result: dict[str, Any]) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(path, GRID, 2, SerialExecutor(), cache, progress=stop_after_two)
    assert len(list(cache.glob("*.json"))) == 2
    resumed = SerialExecutor()
    done = run_sweep(path, GRID, 2, resumed, cache)
    assert resumed.ran == 2
    full = run_sweep(path, GRID, 2, SerialExecutor())
    assert [r["event_log_sha256"] for r in done.rows] == \
        [r["event_log_sha256"] for r in full.rows]


def test_cache_key_is_the_resolved_scenario(tmp_path: Path) -> None:
    data = small_scenario(duration="2h")
    source = str(tmp_path / "s.yaml")
    same = {**data, "duration": 7200}  # another spelling of the same scenario
    other = {**data, "duration": "3h"}
    assert cell_key(Cell(data, source)) == cell_key(Cell(same, source))
    assert cell_key(Cell(data, source)) != cell_key(Cell(other, source))
    assert cell_key(Cell(data, source)) != cell_key(Cell({**data, "seed": 8}, source))
    assert cell_key(Cell(data, source)) != cell_key(Cell(data, source, until_s=60.0))
    assert cell_key(Cell(data, source)) != cell_key(Cell(data, source, task="compare"))
    with pytest.raises(UserError, match="duration"):
        cell_key(Cell({**data, "duration": "-1h"}, source))


def test_files_named_by_the_scenario_travel_with_the_cell(tmp_path: Path) -> None:
    from tests.test_profile import B200

    folder = tmp_path / "study"
    (folder / "hw").mkdir(parents=True)
    profile = folder / "hw" / "profile.yaml"
    profile.write_text(yaml.safe_dump({"gpu": B200, "idle_w": 100.0, "tdp_w": 1000.0}))
    data = small_scenario(duration="1h")
    data["compute"]["profile"] = "hw/profile.yaml"
    cell = Cell(data, str(folder / "s.yaml"))
    p = payload(cell)
    assert list(p.files) == ["f0_profile.yaml"]
    assert p.data["compute"]["profile"] == "f0_profile.yaml"
    assert p.files["f0_profile.yaml"] == profile.read_bytes()
    here = run_payload(p)
    profile.unlink()  # a worker elsewhere never sees this machine's file
    there = run_payload(p)
    assert here["summary"]["event_log_sha256"] == there["summary"]["event_log_sha256"]
    plain = run_payload(payload(Cell(small_scenario(duration="1h"), cell.source)))
    assert here["summary"]["energy"] != plain["summary"]["energy"], "the profile was used"


def test_events_file_and_solar_series_travel_and_key_the_cache(tmp_path: Path) -> None:
    # The planned-events file and a solar CSV are files too: shipped with the cell, and
    # their content in the cache key, so an edited file is never answered from the cache.
    folder = tmp_path / "study"
    folder.mkdir()
    events = folder / "events.yaml"
    drain = {"target": "rack:bizerte-20mw/hall-a/0", "action": "drain"}
    events.write_text(yaml.safe_dump({"events": [{"at": 600, **drain}]}))
    solar = folder / "pv.csv"
    solar.write_text("t_s,fraction\n0,0\n1800,1\n3600,0\n", encoding="utf-8")
    data = small_scenario(duration="1h")
    data["events"] = "events.yaml"
    data["sites"][0]["energy"] = {"solar": {"capacity": "1MW", "csv": "pv.csv"}}
    cell = Cell(data, str(folder / "s.yaml"))
    p = payload(cell)
    assert sorted(p.files) == ["f0_pv.csv", "f1_events.yaml"]
    assert p.data["events"] == "f1_events.yaml"
    assert p.data["sites"][0]["energy"]["solar"]["csv"] == "f0_pv.csv"
    key = cell_key(cell)
    here = run_payload(p)
    events.unlink()
    solar.unlink()  # a worker elsewhere never sees this machine's files
    there = run_payload(p)
    assert here["summary"]["event_log_sha256"] == there["summary"]["event_log_sha256"]
    events.write_text(yaml.safe_dump({"events": [{"at": 1200, **drain}]}))
    solar.write_text("t_s,fraction\n0,0\n1800,1\n3600,0\n", encoding="utf-8")
    assert cell_key(cell) != key, "an edited events file must not hit the cache"
    moved = run_payload(payload(cell))
    assert moved["summary"]["event_log_sha256"] != here["summary"]["event_log_sha256"]


def test_executor_options() -> None:
    assert isinstance(make_executor(1), SerialExecutor)
    assert isinstance(make_executor(1, serial=True), SerialExecutor)
    assert isinstance(make_executor(None, serial=True), SerialExecutor)
    assert isinstance(make_executor(2), DaskExecutor)
    assert isinstance(make_executor(None, "tcp://localhost:8786"), DaskExecutor)
    with pytest.raises(UserError, match="--workers"):
        make_executor(0)
    with pytest.raises(UserError, match=r"^--workers: got 1025; expected at most 1024"):
        make_executor(1025)
    # contradictory options: one line naming both, never one of them silently ignored
    with pytest.raises(UserError, match=r"^--workers 4: cannot be used with --serial"):
        make_executor(4, serial=True)
    with pytest.raises(UserError, match=r"^--workers 4: cannot be used with --scheduler "
                                        r"tcp://localhost:8786"):
        make_executor(4, "tcp://localhost:8786")
    with pytest.raises(UserError, match="--scheduler"):
        make_executor(None, "localhost:8786")
    with pytest.raises(UserError, match="--serial"):
        make_executor(None, "tcp://localhost:8786", serial=True)


def test_run_cells_keeps_the_order_given(tmp_path: Path) -> None:
    data = small_scenario(duration="1h")
    cells = [Cell({**data, "seed": s}, str(tmp_path / "s.yaml")) for s in (3, 1, 2)]
    with DaskExecutor(2) as ex:
        results = run_cells(cells, ex)
    assert [r["summary"]["seed"] for r in results] == [3, 1, 2]


def _cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env=env, **kw)


def test_cli_sweep_resumes_after_ctrl_c(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["duration"] = "2d"  # long enough cells that Ctrl-C lands mid-sweep
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "sw"
    cache = tmp_path / "sw.cells"
    args = [sys.executable, "-m", "emulator", "sweep", str(path), "--set",
            "sites.0.halls.0.racks=1,2,3", "--seeds", "2", "--out", str(out), "--serial"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 240
    while not list(cache.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    kept = len(list(cache.glob("*.json")))
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the signal arrived")
    assert proc.returncode == 130
    assert "run the same command again to resume" in err and len(err.strip().splitlines()) == 1
    assert kept >= 1, "the first finished cell was cached before the signal"
    assert kept < 6, "the sweep was interrupted before its last cell"
    assert not out.exists()
    done = _cli(*args[3:])
    assert done.returncode == 0, done.stderr
    assert f"{6 - kept} run on serial, {kept} from the cache" in done.stdout
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert len(rows) == 6 and [r["seed"] for r in rows] == [7, 8] * 3


def test_cli_sweep_errors_are_one_line(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    for args, word in ((["--set", "seed=1,2"], "--seeds"),
                       (["--set", "sites.0.halls.0.racks=0,1"], "racks"),
                       (["--until", "soon"], "--until"),
                       (["--workers", "0"], "--workers"),
                       (["--serial", "--workers", "4"], "--serial"),
                       (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
                       (["--seeds", "1000000000"], "--seeds")):
        proc = _cli("sweep", str(path), "--out", str(tmp_path / "x"), *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and word in proc.stderr


def test_a_cell_failing_on_a_local_worker_is_one_line(tmp_path: Path) -> None:
    """The worker's own "Compute Failed" report (with its traceback) stays off stderr,
    and with dask's usual port 8787 taken no "already in use" warning shows either."""
    import socket

    (tmp_path / "failing_policy.py").write_text(
        "from emulator.policies.base import QueuePolicy\n"
        "class Raises(QueuePolicy):\n"
        "    def decide(self, view):\n"
        "        if view.queue:\n"
        "            raise RuntimeError('boom in decide')\n"
        "        return []\n")
    path = _scenario(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass  # already taken by someone else: the same situation
        proc = subprocess.run(
            [sys.executable, "-m", "emulator", "compare", str(path), "--policies",
             "fifo,failing_policy:Raises", "--seeds", "2", "--workers", "2", "--no-cache",
             "--out", str(tmp_path / "cmp")],
            capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "policy 'failing_policy:Raises' raised RuntimeError: boom in decide" in lines[0]


def test_cells_run_on_an_existing_scheduler(tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    path = _scenario(tmp_path)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        ex = make_executor(scheduler=cluster.scheduler_address)
        assert isinstance(ex, DaskExecutor)
        with ex:
            remote = run_sweep(path, GRID, 1, ex)
        assert ex.ran == 2
    local = run_sweep(path, GRID, 1, SerialExecutor())
    assert [r["event_log_sha256"] for r in remote.rows] == \
        [r["event_log_sha256"] for r in local.rows]


def test_a_trace_file_travels_to_dask_workers(tmp_path: Path) -> None:
    from workloads.traces.mapping import resolve_trace_path

    folder = tmp_path / "study"
    (folder / "traces").mkdir(parents=True)
    trace = folder / "traces" / "conv.csv"
    lines = resolve_trace_path("sample:azure_llm_conv").read_text().splitlines()[:400]
    trace.write_text("\n".join(lines) + "\n")
    data = small_scenario(duration="10m")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": "conv", "model": "llama3-8b", "replicas": 2, "gpus_per_replica": 1,
        "trace": {"kind": "azure_llm", "path": "traces/conv.csv"},
        "slo": {"ttft": "2s", "tpot": "100ms"}}]
    cells = [Cell({**data, "seed": s}, str(folder / "s.yaml")) for s in (1, 2)]
    local = run_cells(cells, SerialExecutor())
    payloads = [payload(c) for c in cells]  # read here, when the sweep is submitted
    trace.rename(folder / "moved.csv")  # the workers cannot read it from its path
    with DaskExecutor(2) as ex:
        remote = [r for _, r in sorted(ex.run(payloads), key=lambda x: x[0])]
    assert ex.ran == 2
    assert [r["summary"]["requests"]["count"] for r in remote] == [399, 399]
    assert [r["summary"]["event_log_sha256"] for r in remote] == \
        [r["summary"]["event_log_sha256"] for r in local]


def _imported(names: tuple[str, ...]) -> bool:
    return all(name in sys.modules for name in names)


def test_workers_import_what_a_cell_imports_before_the_first_cell() -> None:
    from emulator.cells import WARM_MODULES

    with DaskExecutor(2) as ex:
        client = ex._connect()
        answers = client.run(_imported, WARM_MODULES)
    assert len(answers) == 2 and all(answers.values()), answers


def test_a_worker_that_cannot_warm_up_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from dask.distributed import Client

    def refuse(self: Client, plugin: Any, name: str | None = None) -> None:
        raise ModuleNotFoundError("No module named 'emulator'")

    monkeypatch.setattr(Client, "register_plugin", refuse)
    ex = DaskExecutor(2)
    with pytest.raises(UserError, match=r"^--workers: a worker cannot load gpuemu "
                       r"\(ModuleNotFoundError: .*\); expected gpuemu installed"):
        ex._connect()
    assert ex._client is None and ex._cluster is None, "the cluster is closed again"


def test_the_warm_up_run_completes(caplog: pytest.LogCaptureFixture) -> None:
    """The warm-up scenario stays valid: a worker's warm-up runs it without a warning."""
    from emulator.cells import warm_up

    with caplog.at_level(logging.WARNING, logger="emulator.cells"):
        assert warm_up() is True
    assert not caplog.records


def test_a_failed_warm_up_run_is_a_warning_not_an_error(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import emulator.cells as cells_module

    bad = {**cells_module.WARM_UP_SCENARIO, "duration": "forever"}
    monkeypatch.setattr(cells_module, "WARM_UP_SCENARIO", bad)
    with caplog.at_level(logging.WARNING, logger="emulator.cells"):
        assert cells_module.warm_up() is False
    assert len(caplog.records) == 1
    assert "warm-up run skipped: UserError" in caplog.records[0].getMessage()


_PLUGIN = ("from emulator.policies.base import QueuePolicy\n"
           "class Picky(QueuePolicy):\n"
           "    def __init__(self, x=1, **options):\n"
           "        super().__init__(**options)\n"
           "        self.x = x\n"
           "    def decide(self, view):\n"
           "        if self.x == 2 and view.queue:\n"
           "            raise RuntimeError('boom at x=2')\n"
           "        return []\n")


def _plugin(folder: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A plug-in queue policy module ``name`` in ``folder``, importable; its reference."""
    (folder / f"{name}.py").write_text(_PLUGIN)
    monkeypatch.syspath_prepend(str(folder))
    return f"{name}:Picky"


def test_editing_a_plugin_policy_changes_the_cache_key(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached cell of a plug-in policy is not reused once the policy's source changed."""
    ref = _plugin(tmp_path, "edited_policy_for_key", monkeypatch)
    path = _scenario(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["scheduler"] = {"queue": ref, "placement": "pack"}
    cell = Cell(data, str(path))
    before = cell_key(cell)
    assert cell_key(cell) == before
    (tmp_path / "edited_policy_for_key.py").write_text(_PLUGIN.replace("return []", "return ()"))
    assert cell_key(cell) != before


def test_editing_a_helper_module_of_a_plugin_changes_the_cache_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user modules a plug-in uses are keyed too (a function taken from one, and the
    module it imports in turn), not the plug-in's own file alone."""
    (tmp_path / "picky_rules_inner.py").write_text("LIMIT = 1\n")
    (tmp_path / "picky_rules.py").write_text(
        "import picky_rules_inner\n"
        "def limit():\n    return picky_rules_inner.LIMIT\n")
    (tmp_path / "policy_with_helper.py").write_text(
        "from picky_rules import limit\n" + _PLUGIN.replace("self.x = x", "self.x = limit()"))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _scenario(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["scheduler"] = {"queue": "policy_with_helper:Picky", "placement": "pack"}
    cell = Cell(data, str(path))
    before = cell_key(cell)
    (tmp_path / "picky_rules.py").write_text(
        "import picky_rules_inner\n"
        "def limit():\n    return picky_rules_inner.LIMIT + 1\n")
    after_helper = cell_key(cell)
    assert after_helper != before
    (tmp_path / "picky_rules_inner.py").write_text("LIMIT = 2\n")
    assert cell_key(cell) != after_helper


def test_editing_a_plugin_named_by_a_planned_policy_switch_changes_the_cache_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _plugin(tmp_path, "switched_policy_for_key", monkeypatch)
    (tmp_path / "events.csv").write_text(f"at,target,action,value\n1h,scheduler,policy,{ref}\n")
    path = _scenario(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["events"] = "events.csv"
    cell = Cell(data, str(path))
    before = cell_key(cell)
    (tmp_path / "switched_policy_for_key.py").write_text(
        _PLUGIN.replace("return []", "return ()"))
    assert cell_key(cell) != before


def test_a_failing_cell_names_its_point_and_seed(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.policies.base import PolicyError

    ref = _plugin(tmp_path, "failing_policy_for_point", monkeypatch)
    path = _scenario(tmp_path)
    with pytest.raises(PolicyError) as info:
        run_sweep(path, [f"scheduler.queue={ref}", "scheduler.options.x=1,2"], 1,
                  SerialExecutor(), until_s=600.0)
    assert str(info.value).startswith("point scheduler.options.x=2, seed 7: policy ")
    assert "boom at x=2" in str(info.value)


def test_a_plugin_that_cannot_be_imported_fails_before_any_cell_runs(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    ex = SerialExecutor()
    with pytest.raises(UserError, match=r"scheduler\.queue: cannot import module 'no_such_mod'"):
        run_sweep(path, ["scheduler.queue=fifo,no_such_mod:Policy"], 1, ex, until_s=600.0)
    assert ex.ran == 0


def test_the_resume_note_counts_only_this_commands_cells(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A shared cache holds other commands' cells: the note after Ctrl-C counts its own."""
    from emulator.cli_executor import resume_note
    from emulator.interrupts import Interrupted

    cache = tmp_path / "shared.cells"
    cache.mkdir()
    for i in range(5):  # cells of earlier sweeps
        (cache / f"{i:064x}.json").write_text("{}")
    path = _scenario(tmp_path)
    ex = SerialExecutor()
    run_sweep(path, ["sites.0.halls.0.racks=1"], 1, ex, cache, until_s=600.0)
    ex.keys.add("f" * 64)  # a cell of this command that had not finished
    with pytest.raises(SystemExit) as info:
        resume_note(Interrupted(signal.SIGINT), cache, ex.keys)
    assert info.value.code == 130
    assert f"kept in {cache}/ (1 of this command's there)" in capsys.readouterr().err


@pytest.mark.parametrize(("address", "why"), [
    ("tcp://", "it has no host"),
    ("tcp://:8786", "it has no host"),
    ("http://host:8786", "its protocol 'http' is not one of tcp, tls, ucx, ws, wss, inproc"),
    ("tcp://host:abc", "its port 'abc' is not a number from 1 to 65535"),
    ("tcp://host:0", "its port '0' is not a number from 1 to 65535"),
    ("tcp://::1:8786", "an IPv6 host goes in brackets"),
])
def test_a_malformed_scheduler_address_is_refused(address: str, why: str) -> None:
    with pytest.raises(UserError, match=rf"^--scheduler: got '{address}'; expected an address "
                                        rf"such as tcp://host:8786 \(.*{why}"):
        make_executor(None, address)


@pytest.mark.parametrize("address", ["tcp://host:8786", "tcp://10.0.0.1", "tls://[::1]:8786"])
def test_a_well_formed_scheduler_address_is_taken(address: str) -> None:
    assert isinstance(make_executor(None, address), DaskExecutor)


def test_an_unreachable_scheduler_is_refused_for_a_single_cell(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One cell (which a local cluster would run in this process) still needs the
    scheduler named: entering the executor reaches it, before anything runs."""
    import socket

    import emulator.executor as executor_module

    monkeypatch.setattr(executor_module, "CONNECT_TIMEOUT", "1s")
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cells = [Cell(small_scenario(duration="10m"), str(tmp_path / "s.yaml"))]
    ex = make_executor(None, f"tcp://127.0.0.1:{port}")
    with pytest.raises(UserError, match=rf"^--scheduler: cannot reach 'tcp://127\.0\.0\.1:"
                                        rf"{port}'.*expected a running dask scheduler"), ex:
        run_cells(cells, ex)
    assert ex.ran == 0


def test_a_single_cell_runs_on_the_scheduler_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dask.distributed import LocalCluster

    def not_here(self: SerialExecutor, payloads: Any) -> Any:
        raise AssertionError("the cell ran in this process, not on the scheduler named")

    monkeypatch.setattr(SerialExecutor, "run", not_here)
    cells = [Cell(small_scenario(duration="10m"), str(tmp_path / "s.yaml"))]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, \
            make_executor(scheduler=cluster.scheduler_address) as ex:
        results = run_cells(cells, ex)
    assert ex.ran == 1 and len(results) == 1


def test_an_in_process_scheduler_address_is_accepted(tmp_path: Path) -> None:
    """``inproc://`` (a ``LocalCluster(processes=False)`` of this process, handed to the
    API) was refused by the address check, which knew only HOST:PORT protocols."""
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    from emulator import api_args
    from emulator.executor import address_problem

    assert address_problem("inproc://192.0.2.2/17022/1") is None
    assert address_problem("inproc://") is not None
    data = small_scenario(duration="2h")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    cluster = LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                           dashboard_address=None)
    try:
        address = cluster.scheduler_address
        assert api_args.scheduler(address) == address
        with make_executor(scheduler=address) as executor:
            result = run_sweep(path, [], 1, executor)
        assert len(result.rows) == 1
    finally:
        cluster.close()


@pytest.mark.parametrize("address", ["tls://127.0.0.1:8786", "ucx://127.0.0.1:8786"])
def test_a_scheduler_protocol_without_its_setup_is_one_error(address: str) -> None:
    """tls:// without a TLS configuration and ucx:// without UCX make dask raise a
    TypeError before connecting, which once left the command as a traceback."""
    pytest.importorskip("dask.distributed")
    with pytest.raises(UserError, match="cannot reach"), make_executor(scheduler=address):
        pass
