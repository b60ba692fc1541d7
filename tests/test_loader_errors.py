"""User mistakes give one line naming the field, the value and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emulator.build import build
from emulator.errors import UserError
from emulator.loader import load_scenario, validate_scenario
from tests.conftest import small_scenario


def _error(data: dict) -> str:
    with pytest.raises(UserError) as info:
        build(validate_scenario(data))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nsites: [\n  - preset: a\n")
    with pytest.raises(UserError, match=r"invalid YAML at line \d+"):
        load_scenario(p)


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match="expected a mapping"):
        load_scenario(p)


def test_unknown_preset() -> None:
    data = small_scenario()
    data["sites"] = [{"preset": "atlantis-9gw"}]
    msg = _error(data)
    assert "sites.0" in msg and "atlantis-9gw" in msg and "bizerte-20mw" in msg


def test_zero_racks_names_field_and_value() -> None:
    data = small_scenario()
    data["sites"][0]["halls"][0]["racks"] = 0
    msg = _error(data)
    assert "sites.0.halls.0.racks" in msg and "got 0" in msg and "greater than 0" in msg


def test_zero_nodes_names_nodes_not_racks() -> None:
    data = small_scenario()
    data["sites"][0]["halls"][0] = {"name": "g", "system": "generic", "gpus_per_node": 4,
                                    "nodes": 0}
    msg = _error(data)
    assert "sites.0.halls.0.nodes: got 0" in msg and "racks" not in msg, msg
    data["sites"][0]["halls"][0]["nodes"] = 2  # still read as the hall's racks
    assert validate_scenario(data).sites[0].halls[0].racks == 2


@pytest.mark.parametrize("part", ["training", "inference"])
def test_a_system_in_no_hall_names_its_field(part: str) -> None:
    data = small_scenario()
    data["tenants"]["lab" if part == "training" else "eu"][part][0]["system"] = "h100-hgx"
    where = "lab.training" if part == "training" else "eu.inference"
    msg = _error(data)
    assert msg.startswith(f"<scenario>: tenants.{where}.0.system: 'h100-hgx' is not in any "
                          "hall"), msg


def test_negative_replicas() -> None:
    data = small_scenario()
    data["tenants"]["eu"]["inference"][0]["replicas"] = -2
    msg = _error(data)
    assert "tenants.eu.inference.0.replicas" in msg and "-2" in msg


def test_bad_duration_unit() -> None:
    msg = _error(small_scenario(duration="7 fortnights"))
    assert "duration" in msg and "7 fortnights" in msg and "unit" in msg


def test_unknown_model() -> None:
    data = small_scenario()
    data["tenants"]["lab"]["training"][0]["model"] = "gpt-17"
    msg = _error(data)
    assert "gpt-17" in msg and "llama3-70b" in msg


def test_unknown_origin() -> None:
    data = small_scenario()
    data["tenants"]["eu"]["origin"] = "atlantis"
    msg = _error(data)
    assert "origin" in msg and "atlantis" in msg


def test_unknown_field_is_named() -> None:
    data = small_scenario()
    data["scheduler"]["queeu"] = "fifo"
    msg = _error(data)
    assert "scheduler.queeu" in msg and "unknown field" in msg


def test_unknown_policy() -> None:
    msg = _error(small_scenario(scheduler={"queue": "lottery"}))
    assert "scheduler.queue" in msg and "lottery" in msg and "backfill" in msg


def test_missing_plugin_class() -> None:
    msg = _error(small_scenario(scheduler={"queue": "emulator.policies.fifo:NoSuchPolicy"}))
    assert "NoSuchPolicy" in msg


def test_tp_not_dividing_gpus() -> None:
    data = small_scenario()
    data["tenants"]["lab"]["training"][0]["gpus"] = [12]
    msg = _error(data)
    assert "12" in msg and "tp" in msg


def test_set_overrides_and_named_items(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(small_scenario()))
    loaded = load_scenario(p, ["seed=99", "tenants.eu.inference.chat.replicas=6",
                               "sites.0.halls.0.racks=2"])
    assert loaded.scenario.seed == 99
    assert loaded.scenario.tenants["eu"].inference[0].replicas == 6
    assert loaded.sites[0].halls[0].racks == 2


def test_set_bad_path(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(small_scenario()))
    with pytest.raises(UserError, match="no item named 'nope'"):
        load_scenario(p, ["tenants.eu.inference.nope.replicas=6"])
    with pytest.raises(UserError, match=r"KEY\.PATH=VALUE"):
        load_scenario(p, ["seed"])


def test_precision_in_capitals_reads_as_the_catalog_key() -> None:
    data = small_scenario(duration="1h")
    data["tenants"]["eu"]["inference"][0]["precision"] = "FP8"
    data["tenants"]["lab"]["training"][0]["precision"] = "BF16"
    loaded = validate_scenario(data)
    assert loaded.scenario.tenants["eu"].inference[0].precision == "fp8"
    assert loaded.scenario.tenants["lab"].training[0].precision == "bf16"
    data["tenants"]["eu"]["inference"][0]["precision"] = "FP6"
    assert "precision: got 'FP6'; expected one of 'bf16', 'fp8' or 'fp4'" in _error(data)


def test_an_unknown_model_suggests_the_closest_name() -> None:
    data = small_scenario(duration="1h")
    data["tenants"]["eu"]["inference"][0]["model"] = "llama-3-8b"
    message = _error(data)
    assert message.startswith("<scenario>: tenants.eu.inference.0.model: got 'llama-3-8b'; "
                              "expected a catalog model (deepseek-v3, ")
    assert message.endswith("or one described inline in the scenario; did you mean "
                            "'llama3-8b'?")


def test_a_misspelt_optional_key_gets_a_did_you_mean() -> None:
    data = small_scenario(duration="1h")
    data["tenants"]["eu"]["inference"][0]["precison"] = "fp8"
    assert _error(data) == ("<scenario>: tenants.eu.inference.0.precison: unknown field "
                            "(value 'fp8'); check the spelling; did you mean 'precision'?")
    data = small_scenario(duration="1h")
    data["schedular"] = {"queue": "fifo"}
    assert "schedular: unknown field" in _error(data) and "'scheduler'?" in _error(data)


def test_a_misspelt_site_key_set_on_the_command_line_gets_a_did_you_mean(
        tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(small_scenario(duration="1h")))
    with pytest.raises(UserError) as info:
        load_scenario(p, ["sites.0.halls.0.rack=3"])
    assert str(info.value).endswith(
        "sites.0.halls.0.rack: unknown field (value 3); check the spelling; did you mean "
        "'racks'?")


def test_field_names_walk_lists_mappings_and_union_tags() -> None:
    from emulator.field_names import field_names_at
    from emulator.scenario import Scenario

    names = field_names_at(Scenario, ("tenants", "eu", "inference", 0))
    assert {"precision", "replicas", "gpus_per_replica", "prompt_tokens"} <= set(names)
    assert "median" in field_names_at(Scenario, ("tenants", "eu", "inference", 0,
                                                 "prompt_tokens", "lognormal"))
    assert field_names_at(Scenario, ()) == sorted(Scenario.model_fields)


def test_one_gpu_count_for_a_stream_is_its_one_size() -> None:
    data = small_scenario(duration="1h")
    data["tenants"]["lab"]["training"][0]["gpus"] = 16
    assert validate_scenario(data).scenario.tenants["lab"].training[0].gpus == [16]
    data["tenants"]["lab"]["training"][0]["gpus"] = 12  # not a multiple of tp 8
    assert "tenants.lab.training.0.gpus: got 12; expected a multiple of tp*pp = 8" in (
        _error(data))
