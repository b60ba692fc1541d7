"""One-line errors read as the user wrote the scenario: the value as written (``4000d``,
not the seconds it became), a limit in the same unit, pydantic's length checks in words,
the file named first for errors found after validation, and no prefix said twice."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emulator.errors import UserError
from emulator.loader import load_scenario
from tests.conftest import one_error_line, run_cli, small_scenario

ROOT = Path(__file__).resolve().parent.parent


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario(duration="1h")))
    return path


@pytest.mark.parametrize("override, expected", [
    ("duration=4000d", "duration: got 4000d; expected a value less than or equal to 3,660 d"),
    ("duration=-1d", "duration: got -1d; expected a value greater than 0 s"),
    ("duration=2 weeks", None),  # valid: no error
    ("tenants.lab.training.0.rate=2e6/s",
     "tenants.lab.training.0.rate: got 2e6/s; expected a value less than or equal to "
     "1,000,000/s"),
    ("tenants={}", "tenants: got {}; expected at least 1 entry"),
    ("tenants.lab.training.0.gpus=[]",
     "tenants.lab.training.0.gpus: got []; expected at least 1 item"),
    ("sites.0.halls.0.system=foo",
     "sites.0.halls.0.system: unknown system 'foo'; expected one of: "),
])
def test_a_value_is_shown_as_written(tmp_path: Path, override: str,
                                     expected: str | None) -> None:
    path = _file(tmp_path)
    if expected is None:
        load_scenario(path, [override])
        return
    with pytest.raises(UserError) as info:
        load_scenario(path, [override])
    assert str(info.value).startswith(f"{path}: {expected}"), str(info.value)


def test_a_duration_in_seconds_keeps_its_number(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        load_scenario(_file(tmp_path), ["duration=345600000"])
    assert str(info.value).endswith(
        "duration: got 345600000; expected a value less than or equal to 316224000")


def test_an_integer_beyond_any_float_is_one_error_line(tmp_path: Path) -> None:
    """A name given as a 401-digit integer: the message compares what the user wrote with
    what pydantic saw without turning the integer into a float (an OverflowError)."""
    data = small_scenario(duration="1h")
    data["name"] = 10 ** 400
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: name: got <an integer of about 401 digits>; "
                               "expected a valid string")


def test_errors_after_validation_name_the_file_once(tmp_path: Path) -> None:
    """The trace, tensor-parallel and policy-option checks run when the scenario is built;
    their lines start with the file like a validation error's, without ``tenants: tenants.``."""
    scenario = ROOT / "examples" / "tiresias_60.yaml"
    line = one_error_line(run_cli("validate", str(scenario), "--set",
                                  "tenants.tiresias.traces.0.path=nope.csv"))
    assert line.startswith(f"error: {scenario}: tenants.tiresias.traces.0.path: Tiresias "
                           "trace file not found: "), line
    line = one_error_line(run_cli("validate", str(scenario), "--set",
                                  "tenants.tiresias.traces.0.kind=azure_llm"))
    assert line.startswith(f"error: {scenario}: tenants.tiresias.traces.0.kind: 'azure_llm' "
                           "is a serving trace"), line
    path = _file(tmp_path)
    line = one_error_line(run_cli("validate", str(path), "--set",
                                  "tenants.eu.inference.0.model=llama3-70b", "--set",
                                  "tenants.eu.inference.0.gpus_per_replica=3"))
    assert line.startswith(f"error: {path}: tenants.eu.inference.chat: gpus_per_replica 3 "
                           "cannot split"), line
    line = one_error_line(run_cli("validate", str(path), "--set", "scheduler.queue=fairshare",
                                  "--set", "scheduler.options={weights: 3}"))
    assert line == (f"error: {path}: scheduler.options.weights: got 3; expected a mapping of "
                    "tenants to numbers, e.g. {research: 0.5}"), line
