"""Tenant settings as a capacity planner writes them: residency codes, fair-share
entitlements of tenants without work, plan targets on figures a tenant can never have."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emulator.errors import UserError
from emulator.loader import validate_scenario
from tests.conftest import one_error_line, run_cli, small_scenario


@pytest.mark.parametrize("code", ["Tunisia", "", "T1", "MAR"])
def test_residency_that_is_no_country_code_is_refused(code: str) -> None:
    data = small_scenario()
    data["tenants"]["lab"]["residency"] = code
    with pytest.raises(UserError) as err:
        validate_scenario(data)
    assert str(err.value).endswith(f"tenants.lab.residency: got {code!r}; expected a two-letter "
                              "ISO 3166-1 country code such as MA or TN")


@pytest.mark.parametrize("code", ["TN", "tn", "FR"])
def test_residency_country_codes_are_accepted(code: str) -> None:
    data = small_scenario()
    data["tenants"]["lab"]["residency"] = code
    loaded = validate_scenario(data)
    assert loaded.scenario.tenants["lab"].residency == code


def test_residency_name_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario()))
    line = one_error_line(run_cli("validate", str(path), "--set",
                                  "tenants.lab.residency=Tunisia"))
    assert line.endswith("tenants.lab.residency: got 'Tunisia'; expected a two-letter "
                         "ISO 3166-1 country code such as MA or TN")
