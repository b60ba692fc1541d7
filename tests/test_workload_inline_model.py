"""Models not in the catalog can be described inline in a scenario (issue 10, term 13)."""

from __future__ import annotations

import pytest

from emulator.errors import UserError
from emulator.loader import validate_scenario
from tests.conftest import run_scenario, small_scenario

MY_MODEL = {"name": "planner-34b", "layers": 48, "hidden": 7168, "heads": 56, "kv_heads": 8,
            "params": 34e9}


def _scenario(model: object) -> dict:
    data = small_scenario(duration="1h")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": "own", "model": model, "replicas": 1, "gpus_per_replica": 1,
        "precision": "fp8", "rate": "2.0/s", "origin": "local"}]
    return data


def test_inline_model_is_served() -> None:
    sim = run_scenario(_scenario(dict(MY_MODEL)))
    n = sum(b.arrival_s.size for b in sim.log.requests)
    assert n > 1000
    assert sim.engine.serving.services[0].spec.model == "planner-34b"


def test_inline_model_missing_field_is_one_clear_error() -> None:
    bad = {k: v for k, v in MY_MODEL.items() if k != "kv_heads"} | {"name": "planner-bad"}
    with pytest.raises(UserError) as err:
        validate_scenario(_scenario(bad))
    msg = str(err.value)
    assert "kv_heads" in msg and "\n" not in msg.strip()


def test_parameter_counts_may_be_written_with_a_suffix() -> None:
    loaded = validate_scenario(_scenario(dict(MY_MODEL, name="planner-34b-text",
                                              params="34B", active_params="34e9")))
    from workloads.models import get_model

    name = loaded.scenario.tenants["eu"].inference[0].model
    assert name == "planner-34b-text"
    m = get_model(name)
    assert m.params == 34e9 and m.active_params == 34e9


@pytest.mark.parametrize("field, value, expected", [
    ("params", "34x", "params: got '34x'; expected a number (parameter counts may end in K, "
                      "M, B or T, e.g. 32B)"),
    ("heads", True, "heads: got True; expected a number"),
    ("heads", 56.5, "heads: got 56.5; expected a whole number"),
    ("layers", "48B", "layers: got '48B'; expected a number")])
def test_a_bad_inline_field_is_named_with_its_value(field: str, value: object,
                                                    expected: str) -> None:
    bad = dict(MY_MODEL, name=f"planner-bad-{field}", **{field: value})
    with pytest.raises(UserError) as err:
        validate_scenario(_scenario(bad))
    assert expected in str(err.value)
