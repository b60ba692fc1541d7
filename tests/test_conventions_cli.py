"""Command-line conventions: ``--version``, shell completion, ``-v``/``-q`` with standard
logging, and a LICENSE file that matches ``pyproject.toml``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml

from emulator.verbosity import level_for
from tests.conftest import small_scenario

ROOT = Path(__file__).resolve().parent.parent


def gpuemu(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, env=env)


def test_version_prints_the_package_version() -> None:
    proc = gpuemu("--version")
    assert proc.returncode == 0, proc.stderr
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert proc.stdout == f"gpuemu {pyproject['project']['version']}\n"
    assert metadata.version("gpuemu") == pyproject["project"]["version"]


def test_show_completion_prints_a_bash_script() -> None:
    proc = gpuemu("--show-completion", "bash")
    assert proc.returncode == 0, proc.stderr
    assert "_GPUEMU_COMPLETE=complete_bash" in proc.stdout
    assert "complete " in proc.stdout and "gpuemu" in proc.stdout


def test_completion_completes_command_names() -> None:
    env = {**os.environ, "_GPUEMU_COMPLETE": "complete_bash", "COMP_WORDS": "gpuemu comp",
           "COMP_CWORD": "1"}
    proc = gpuemu(env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["compare"]


def test_help_lists_the_root_options() -> None:
    out = gpuemu("--help").stdout
    for option in ("--version", "--verbose", "--quiet", "--install-completion",
                   "--show-completion"):
        assert option in out


def test_levels_for_verbose_and_quiet() -> None:
    assert level_for(0, 0) == logging.INFO
    assert level_for(1, 0) == level_for(3, 0) == logging.DEBUG
    assert level_for(0, 1) == logging.WARNING
    assert level_for(0, 2) == level_for(0, 5) == logging.ERROR


def _scenario(tmp_path: Path, **changes: object) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario(duration="6h", **changes)))
    return str(path)


def test_default_shows_progress_and_notes(tmp_path: Path) -> None:
    proc = gpuemu("run", _scenario(tmp_path), "--headless", "--until", "1d",
                  "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "100% simulated" in proc.stdout and "wrote " in proc.stdout
    assert proc.stderr.splitlines() == [
        "note: --until 1d is past the scenario's duration; stopping at 0.25 d"]


def test_quiet_hides_progress_and_notes_but_not_results(tmp_path: Path) -> None:
    proc = gpuemu("-q", "run", _scenario(tmp_path), "--headless", "--until", "1d",
                  "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "% simulated" not in proc.stdout
    assert "wrote " in proc.stdout  # results stay on stdout
    assert proc.stderr == ""


def test_verbose_adds_debug_lines(tmp_path: Path) -> None:
    proc = gpuemu("-v", "run", _scenario(tmp_path), "--headless", "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    debug = [ln for ln in proc.stderr.splitlines() if ln.startswith("debug: ")]
    assert debug and "built 'small': seed 7" in debug[0]


def test_warnings_show_under_q_and_hide_under_qq(tmp_path: Path) -> None:
    jobs = [{"name": "huge", "model": "llama3-8b", "gpus": 4096, "tokens": 1e9,
             "global_batch_tokens": 4096 * 8192}]
    path = _scenario(tmp_path, tenants__lab={"jobs": jobs})
    quiet = gpuemu("-q", "validate", path)  # a named job that can never run: an error,
    assert quiet.returncode == 2, quiet.stderr  # which -q does not hide
    assert quiet.stderr.splitlines() == [
        "error: tenants.lab.jobs.huge: training job 'huge' can never run: too large for this "
        "cluster (needs 4096 GPUs in groups of 1; the largest site offers 288)"]
    run = gpuemu("-q", "run", path, "--headless", "--out", str(tmp_path / "o"))
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith("warning: 1 job(s) will be rejected"), run.stderr
    silent = gpuemu("-qq", "run", path, "--headless", "--out", str(tmp_path / "o2"))
    assert silent.returncode == 0 and silent.stderr == "", silent.stderr


def test_license_file_matches_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    assert lines[:3] == ["Apache License", "Version 2.0, January 2004",
                         "http://www.apache.org/licenses/"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert text.count("\n") > 190  # the full text, not a pointer to it
