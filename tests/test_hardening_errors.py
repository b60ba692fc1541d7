"""Every user mistake in a scenario or ``--set`` override is one escaped line, exit 2.

One test per class of input that once produced a traceback, a misleading message or a
silently wrong scenario.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emulator.errors import MAX_LINE, UserError, one_line, short
from emulator.loader import load_scenario
from emulator.units import UnitError, parse_bandwidth_bps, parse_rate
from tests.conftest import one_error_line, run_cli, small_scenario

ROOT = Path(__file__).resolve().parent.parent


def _file(tmp_path: Path, data: dict | None = None, text: str | None = None) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(data or small_scenario()))
    return path


def _error(tmp_path: Path, *overrides: str, text: str | None = None) -> str:
    with pytest.raises(UserError) as info:
        load_scenario(_file(tmp_path, text=text), list(overrides))
    message = str(info.value)
    assert "\n" not in message
    return message


_cli = run_cli
_one_error_line = one_error_line


def test_markup_in_user_text_is_printed_verbatim(tmp_path: Path) -> None:
    path = _file(tmp_path)
    for value in ("[/bold]x", "[red]x[/red]"):
        line = _one_error_line(_cli("validate", str(path), "--set", f"scheduler.queue={value}"))
        assert value in line


def test_newline_and_huge_value_stay_on_one_short_line(tmp_path: Path) -> None:
    path = _file(tmp_path)
    line = _one_error_line(_cli("validate", str(path), "--set", "name=" + "x" * 100_000))
    assert "name" in line and len(line) < 600
    data = small_scenario()
    data["tenants"]["a\nb"] = data["tenants"].pop("eu")
    line = _one_error_line(_cli("validate", str(_file(tmp_path, data))))
    assert "a\\nb" in line


def test_one_line_escapes_and_caps() -> None:
    assert one_line("a\nb\tc\x1b[31m") == "a\\nb\\tc\\x1b[31m"
    assert len(one_line("y" * 10_000)) == MAX_LINE
    assert len(short("z" * 1_000_000)) <= 60
    assert "5,001 digits" in short(10 ** 5000)  # no repr of a huge int is built


def test_deep_yaml_is_refused(tmp_path: Path) -> None:
    msg = _error(tmp_path, text="name: " + "[" * 3000 + "]" * 3000 + "\n")
    assert "nested" in msg
    with pytest.raises(UserError, match="nested"):
        load_scenario(_file(tmp_path), ["name=" + "[" * 3000 + "]" * 3000])


def test_duplicate_yaml_keys(tmp_path: Path) -> None:
    text = yaml.safe_dump(small_scenario()) + "seed: 8\n"
    msg = _error(tmp_path, text=text)
    assert "'seed' appears twice" in msg and "line" in msg


def test_huge_integers_and_racks(tmp_path: Path) -> None:
    msg = _error(tmp_path, "sites.0.halls.0.racks=1000000000000000000000000000000")
    assert "sites.0.halls.0.racks" in msg and "less than or equal to 100000" in msg


def test_trays_per_rack_must_fill_nvlink_domains(tmp_path: Path) -> None:
    msg = _error(tmp_path, "sites.0.halls.0.trays_per_rack=27")
    assert "trays_per_rack 27" in msg and "18 or 36" in msg


@pytest.mark.parametrize("section,item", [("training", 0), ("inference", 0)])
def test_duplicate_names_in_a_tenant(tmp_path: Path, section: str, item: int) -> None:
    data = small_scenario()
    tenant = "lab" if section == "training" else "eu"
    items = data["tenants"][tenant][section]
    items.append(dict(items[item]))
    msg = _error(tmp_path, text=yaml.safe_dump(data))
    assert f"tenants.{tenant}.{section}.1.name: got {items[item]['name']!r}; expected each " in msg
    assert f"own name (also {section}.0.name)" in msg


def test_date_looking_seed(tmp_path: Path) -> None:
    msg = _error(tmp_path, "seed=2025-13-45")
    assert "seed" in msg and "2025-13-45" in msg and "integer" in msg


@pytest.mark.parametrize("body", ["def broken(:\n", "raise RuntimeError('boom')\n"])
def test_plugin_import_failures(tmp_path: Path, body: str) -> None:
    (tmp_path / "badplug_mod.py").write_text(body)
    path = _file(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "emulator", "validate", str(path), "--set",
                           "scheduler.queue=badplug_mod:Policy"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300,
                          env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"})
    line = _one_error_line(proc)
    assert "badplug_mod" in line and ("SyntaxError" in line or "RuntimeError" in line)


@pytest.mark.parametrize("override,needle", [
    ("duration=1e12d", "duration"),
    ("tenants.lab.training.0.rate=1e30/s", "rate"),
    ("tenants.eu.inference.0.rate=1e30/s", "rate"),
    ("engine.sample_interval=0.001m", "sample_interval"),
    ("tenants.lab.training.0.tokens.median=true", "true/false"),
    ("tenants.lab.training.0.tokens.median=.inf", "finite"),
    ("tenants.lab.training.0.tokens.median=1e400", "finite"),
    ("sites.0.fabric.nic_bandwidth=1e400Tb/s", "finite"),
    ("sites.0.halls.0.racks=true", "true/false"),
    ("tenants.lab.training.0.model=[]", "non-empty"),
])
def test_limits_and_finiteness(tmp_path: Path, override: str, needle: str) -> None:
    msg = _error(tmp_path, override)
    assert needle in msg


def test_rate_needs_a_unit(tmp_path: Path) -> None:
    msg = _error(tmp_path, "tenants.lab.training.0.rate=7")
    assert "'7/s' or '7/d'" in msg
    with pytest.raises(UnitError):
        parse_rate(7)


def test_messages_do_not_repeat_the_value(tmp_path: Path) -> None:
    msg = _error(tmp_path, "tenants.eu.inference.0.rate=3 per s")
    assert msg.count("3 per s") == 1 and "6/d" in msg
    with pytest.raises(UnitError) as info:
        parse_bandwidth_bps("4xbps")
    assert "'4xbps'" in str(info.value) and "gbps" in str(info.value)


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    data = small_scenario()
    svc = data["tenants"]["eu"]["inference"][0]
    svc["replicass"] = svc.pop("replicas")
    msg = _error(tmp_path, text=yaml.safe_dump(data))
    assert "replicass: unknown field" in msg and "did you mean 'replicas'" in msg
    assert "missing" not in msg


def test_missing_trace_file_message(tmp_path: Path) -> None:
    data = small_scenario()
    data["tenants"]["lab"]["traces"] = [{"kind": "philly", "path": "absent.csv",
                                         "model": "llama3-8b"}]
    line = _one_error_line(_cli("validate", str(_file(tmp_path, data))))
    assert "absent.csv" in line and "not found" in line and "Errno" not in line


def test_name_cannot_escape_the_output_folder(tmp_path: Path) -> None:
    msg = _error(tmp_path, "name=../../x")
    assert msg.startswith(str(tmp_path)) and "name" in msg


def test_size_budget_refuses_and_force_passes(tmp_path: Path) -> None:
    data = small_scenario()
    data["tenants"]["eu"]["inference"][0]["rate"] = "5e5/s"
    path = _file(tmp_path, data)
    proc = _cli("run", str(path), "--out", str(tmp_path / "o"), "--max-memory", "1GB")
    line = _one_error_line(proc)
    assert "size estimate" in line and "budget" in line and "--force" in line
    assert not (tmp_path / "o").exists()
    proc = _cli("validate", str(_file(tmp_path)), "--max-memory", "100MB", "--force")
    assert proc.returncode == 0 and "size estimate" in proc.stdout, proc.stderr


def test_size_estimate_covers_the_run_to_until_only(tmp_path: Path) -> None:
    """``--until`` sizes the estimate to the time the run will simulate: a scenario over
    the budget for its whole duration runs when stopped early enough."""
    from emulator.estimate import estimate_size
    from emulator.loader import validate_scenario

    data = small_scenario(duration="1d")
    data["tenants"]["eu"]["inference"][0]["rate"] = "2e4/s"  # ~1.7e9 requests a day
    whole = estimate_size(validate_scenario(data))
    early = estimate_size(validate_scenario(data), until_s=60.0)
    assert early.requests == pytest.approx(whole.requests * 60.0 / 86400.0, rel=0.05)
    assert early.memory_bytes < whole.memory_bytes / 100
    path = _file(tmp_path, data)
    refused = _cli("run", str(path), "--out", str(tmp_path / "a"), "--max-memory", "1GB")
    assert "size estimate" in _one_error_line(refused)
    ran = _cli("run", str(path), "--out", str(tmp_path / "b"), "--max-memory", "1GB",
               "--until", "1s", "--headless")
    assert ran.returncode == 0, ran.stderr


def test_malformed_command_line_is_one_line(tmp_path: Path) -> None:
    path = _file(tmp_path)
    line = _one_error_line(_cli("run", str(path), "--seed", "abc"))
    assert "--seed" in line and "gpuemu run --help" in line
    line = _one_error_line(_cli("validate", str(path), "--bogus"))
    assert "--bogus" in line


def test_names_shown_in_tables_cannot_hold_markup(tmp_path: Path) -> None:
    msg = _error(tmp_path, "sites.0.halls.0.name=[bold]h")
    assert "square brackets" in msg
    data = small_scenario()
    data["tenants"]["[red]x[/red]"] = data["tenants"].pop("eu")
    msg = _error(tmp_path, text=yaml.safe_dump(data))
    assert "tenant name" in msg and "[red]x[/red]" in msg


def test_size_estimate_counts_request_rows_only_when_kept() -> None:
    """Without request rows (output.requests: false) requests are reduced as they are
    served, so the memory estimate leaves their rows out; the request count stays."""
    from emulator.estimate import estimate_size
    from emulator.loader import validate_scenario

    data = small_scenario()
    data["tenants"]["eu"]["inference"][0]["rate"] = "5e5/s"
    kept = estimate_size(validate_scenario(data))
    data["output"] = {**data.get("output", {}), "requests": False}
    reduced = estimate_size(validate_scenario(data))
    assert reduced.requests == kept.requests > 1e9
    assert reduced.memory_bytes < kept.memory_bytes / 100
