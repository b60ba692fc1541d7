"""Scenario JSON Schema conventions: ``$schema``/``$id``, a description on every property,
the committed ``docs/scenario.schema.json`` in step with ``gpuemu schema``, and every
example YAML pointing editors at it (and valid under it)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from emulator.scenario_schema import (
    SCHEMA_DIALECT,
    SCHEMA_ID,
    scenario_schema,
    schema_text,
    undescribed_properties,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scenario.schema.json"
EXAMPLES = sorted(ROOT.glob("examples/**/*.yaml"))
FIRST_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


class Yaml12Loader(yaml.SafeLoader):
    """Scalars as YAML 1.2 editors read them: ``8e6`` is a number, dates stay text."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"),
    list("-+0123456789."))


def test_schema_names_its_dialect_and_id() -> None:
    schema = scenario_schema()
    assert schema["$schema"] == SCHEMA_DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert list(schema)[:2] == ["$schema", "$id"]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_property_has_a_description() -> None:
    schema = scenario_schema()
    assert undescribed_properties(schema) == []
    # the walk reaches the site fields and the nested energy models, not only the top
    site = schema["$defs"]["SiteRef"]["properties"]
    assert {"halls", "grid_connection", "energy", "preset"} <= set(site)
    assert "currency" in schema["$defs"]["GridConfig"]["properties"]


def test_the_walk_reports_a_property_without_description() -> None:
    schema = copy.deepcopy(scenario_schema())
    del schema["$defs"]["BatteryConfig"]["properties"]["min_soc"]["description"]
    schema["properties"]["seed"]["description"] = "  "
    assert undescribed_properties(schema) == [
        "#/properties/seed", "#/$defs/BatteryConfig/properties/min_soc"]


def test_committed_schema_matches_gpuemu_schema() -> None:
    proc = subprocess.run([sys.executable, "-m", "emulator", "schema"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == schema_text()
    assert DOC.read_text(encoding="utf-8") == proc.stdout, (
        "docs/scenario.schema.json is stale: run `gpuemu schema > docs/scenario.schema.json`")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_points_editors_at_the_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = FIRST_LINE.match(first)
    assert match, f"{path.name}: first line is {first!r}"
    assert (path.parent / match.group(1)).resolve() == DOC.resolve()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_is_valid_under_the_schema(path: Path) -> None:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=Yaml12Loader)
    validator = jsonschema.Draft202012Validator(json.loads(DOC.read_text(encoding="utf-8")))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(data)]
    assert errors == []


def test_schema_rejects_a_misspelt_site_field() -> None:
    data = yaml.load((ROOT / "examples" / "bizerte_20mw.yaml").read_text(encoding="utf-8"),
                     Loader=Yaml12Loader)
    data["sites"][0]["grid_conection"] = "20MW"
    validator = jsonschema.Draft202012Validator(scenario_schema())
    messages = [e.message for e in validator.iter_errors(data)]
    assert any("grid_conection" in m for m in messages), messages
