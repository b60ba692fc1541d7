"""The command line as a user meets it: exit codes, one-line errors, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent


def gpuemu(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=300)


def _assert_user_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_missing_file_exits_2(tmp_path: Path) -> None:
    _assert_user_error(gpuemu("run", str(tmp_path / "absent.yaml")), "absent.yaml", "not found")


def test_bad_yaml_exits_2(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: [unclosed\n")
    _assert_user_error(gpuemu("validate", str(p)), "invalid YAML")


def test_negative_size_exits_2(tmp_path: Path) -> None:
    data = small_scenario()
    data["sites"][0]["halls"][0]["racks"] = -4
    _assert_user_error(gpuemu("validate", str(_write(tmp_path, data))),
                       "sites.0.halls.0.racks", "-4")


def test_unknown_preset_exits_2() -> None:
    _assert_user_error(gpuemu("topology", "nowhere-1mw"), "nowhere-1mw", "bizerte-20mw")


def test_bad_until_exits_2(tmp_path: Path) -> None:
    p = _write(tmp_path, small_scenario())
    _assert_user_error(gpuemu("run", str(p), "--until", "soon", "--headless"), "--until", "soon")


def test_cupy_without_gpu_exits_2(tmp_path: Path) -> None:
    p = _write(tmp_path, small_scenario())
    proc = gpuemu("run", str(p), "--backend", "cupy", "--headless", "--out", str(tmp_path / "o"))
    if proc.returncode == 0:  # a machine with a GPU: cupy is legitimately available
        return
    _assert_user_error(proc, "cupy")
    assert not (tmp_path / "o").exists(), "nothing is written when the run cannot start"


def test_validate_and_schema(tmp_path: Path) -> None:
    proc = gpuemu("validate", str(_write(tmp_path, small_scenario())))
    assert proc.returncode == 0 and "valid" in proc.stdout and "288 GPUs" in proc.stdout
    schema = json.loads(gpuemu("schema").stdout)
    assert {"name", "duration", "sites", "tenants"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"name", "duration", "sites", "tenants"}


def test_topology_prints_power_and_links() -> None:
    proc = gpuemu("topology", "bizerte-20mw")
    assert proc.returncode == 0
    out = proc.stdout
    assert "9,216" in out and "medusa" in out and "marseille" in out and "within" in out


def test_run_headless_writes_results(tmp_path: Path) -> None:
    data = small_scenario(duration="6h")
    out = tmp_path / "results"
    proc = gpuemu("run", str(_write(tmp_path, data)), "--headless", "--out", str(out),
                  "--seed", "3", "--set", "tenants.eu.inference.chat.replicas=2")
    assert proc.returncode == 0, proc.stderr
    assert "100% simulated" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3
    assert summary["compute"]["backend"] == "numpy"
    assert summary["simulated_s"] == 6 * 3600
    jobs = pq.read_table(out / "jobs.parquet")
    assert jobs.num_rows == summary["jobs"]["submitted"] + 1  # + the inference service
    reqs = pq.read_table(out / "requests.parquet")
    assert reqs.num_rows == summary["requests"]["count"] > 0
    assert pq.read_table(out / "timeseries.parquet").num_rows == 36  # 6 h / 10 min
    assert not list(out.glob(".*.tmp")), "no temporary files left behind"


def test_until_stops_early(tmp_path: Path) -> None:
    out = tmp_path / "r"
    proc = gpuemu("run", str(_write(tmp_path, small_scenario())), "--headless", "--until", "3h",
                  "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "summary.json").read_text())["simulated_s"] == 3 * 3600


def test_python_m_emulator_help() -> None:
    proc = gpuemu("--help")
    assert proc.returncode == 0 and "run" in proc.stdout and "topology" in proc.stdout
