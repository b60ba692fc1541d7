"""Model references are resolved per scenario: inline models belong to their scenario (a
notebook cell run again with a changed model, a ``--set`` grid over a model's dimensions),
a name may be used anywhere in the scenario that describes it, and every unknown or
conflicting reference is reported at its own field."""

from __future__ import annotations

import pickle

import pytest

from emulator.errors import UserError
from emulator.loader import validate_scenario
from tests.conftest import run_scenario, small_scenario
from workloads.models import MODELS, InlineModel, get_model

OWN = {"name": "own-34b", "layers": 48, "hidden": 7168, "heads": 56, "kv_heads": 8,
       "params": 34e9}


def _served(model: object, **more: object) -> dict:
    data = small_scenario(duration="1h")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": "own", "model": model, "replicas": 1, "gpus_per_replica": 1,
        "precision": "fp8", "rate": "2.0/s", **more}]
    return data


def _error(data: dict) -> str:
    with pytest.raises(UserError) as info:
        validate_scenario(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_two_scenarios_may_describe_one_name_differently() -> None:
    small = validate_scenario(_served(dict(OWN, layers=40)))
    large = validate_scenario(_served(dict(OWN, layers=80, params=70e9)))
    a = small.scenario.tenants["eu"].inference[0].model
    b = large.scenario.tenants["eu"].inference[0].model
    assert a == b == "own-34b"
    assert (get_model(a).layers, get_model(b).layers) == (40, 80)
    assert "own-34b" not in MODELS  # nothing registered for the process
    # each run serves its own description: the larger model decodes more slowly
    runs = [run_scenario(_served(dict(OWN, layers=n, params=p))) for n, p in ((40, 34e9),
                                                                             (80, 70e9))]
    itl = [float(sim.log.requests[0].tpot_s.mean()) for sim in runs]
    assert itl[1] > 1.5 * itl[0]


def test_an_inline_model_travels_with_its_description() -> None:
    loaded = validate_scenario(_served(dict(OWN)))
    name = loaded.scenario.tenants["eu"].inference[0].model
    copy = pickle.loads(pickle.dumps(loaded.scenario))  # to a dask worker
    again = copy.tenants["eu"].inference[0].model
    assert isinstance(again, InlineModel) and again.spec == get_model(name)


def test_a_name_described_once_may_be_used_anywhere_in_the_scenario() -> None:
    data = _served("own-34b")  # used before it is described
    data["tenants"]["lab"]["training"] = [{
        "name": "ft", "model": ["llama3-8b", dict(OWN)], "rate": "4/d", "gpus": [8],
        "tp": 8, "tokens": 1e8, "global_batch_tokens": 1e6}]
    data["tenants"]["lab"]["jobs"] = [{"name": "one", "model": "own-34b", "gpus": 8,
                                       "tp": 8, "tokens": 1e8, "global_batch_tokens": 1e6}]
    tenants = validate_scenario(data).scenario.tenants
    served = tenants["eu"].inference[0].model
    job = tenants["lab"].jobs[0].model
    assert isinstance(served, InlineModel) and isinstance(job, InlineModel)
    assert get_model(served).layers == get_model(job).layers == 48
    assert tenants["lab"].training[0].model[0] == "llama3-8b"


def test_catalog_names_match_in_any_case() -> None:
    tenants = validate_scenario(_served("Llama3-8B")).scenario.tenants
    assert tenants["eu"].inference[0].model == "llama3-8b"


def test_an_unknown_model_is_named_at_its_field() -> None:
    data = _served("own-43b")
    data["tenants"]["lab"]["jobs"] = [{"name": "one", "model": dict(OWN), "gpus": 8,
                                       "tp": 8, "tokens": 1e8, "global_batch_tokens": 1e6}]
    message = _error(data)
    assert message.startswith("<scenario>: tenants.eu.inference.0.model: got 'own-43b'; "
                              "expected a catalog model (")
    assert "own-34b" in message and message.endswith("did you mean 'own-34b'?")


def test_an_unknown_trace_model_is_named_at_its_field() -> None:
    data = _served("llama3-8b")
    data["tenants"]["lab"]["traces"] = [{"kind": "philly", "path": "sample:philly",
                                         "model": "gpt-x"}]
    assert _error(data).startswith("<scenario>: tenants.lab.traces.0.model: got 'gpt-x'; ")


def test_one_name_described_twice_differently_is_refused() -> None:
    data = _served(dict(OWN))
    data["tenants"]["lab"]["training"] = [{
        "name": "ft", "model": [dict(OWN, layers=40)], "rate": "4/d", "gpus": [8], "tp": 8,
        "tokens": 1e8, "global_batch_tokens": 1e6}]
    message = _error(data)
    assert message.startswith("<scenario>: tenants.lab.training.0.model.0: got 'own-34b'; "
                              "expected one description per model name (model 'own-34b' is "
                              "described differently at tenants.eu.inference.0.model)")


def test_an_inline_model_may_not_redefine_a_catalog_model() -> None:
    for name in ("llama3-8b", "Llama3-8B"):  # catalog names match in any case
        message = _error(_served(dict(OWN, name=name)))
        assert "tenants.eu.inference.0.model" in message
        assert f"model {name!r} is the catalog's 'llama3-8b'" in message


def test_tokens_are_checked_against_a_model_named_elsewhere() -> None:
    data = _served(dict(OWN, context=8192))
    data["tenants"]["eu"]["inference"].append({
        "name": "again", "model": "own-34b", "replicas": 1, "gpus_per_replica": 1,
        "precision": "fp8", "rate": "1/s", "prompt_tokens": 9000})
    message = _error(data)
    assert message.startswith("<scenario>: tenants.eu.inference.1.prompt_tokens: got 9,000")
    assert "own-34b" in message
    data["tenants"]["eu"]["inference"] = [{
        "name": "cased", "model": "Llama3-8B", "replicas": 1, "gpus_per_replica": 1,
        "rate": "1/s", "prompt_tokens": 200_000}]
    assert _error(data).startswith(
        "<scenario>: tenants.eu.inference.0.prompt_tokens: got 200,000")
