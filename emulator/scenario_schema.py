"""The JSON Schema of scenario files, as ``gpuemu schema`` prints it and
``docs/scenario.schema.json`` holds it (for editors: a ``# yaml-language-server: $schema=…``
first line in a scenario file points at it).

It is pydantic's schema of :class:`emulator.scenario.Scenario` with three additions:

- ``$schema`` (the JSON Schema dialect pydantic writes, draft 2020-12) and a stable ``$id``;
- a site entry (:class:`emulator.scenario.SiteRef`: a preset name plus inline fields that
  override the preset's) lists every field of :class:`topologies.config.SiteConfig`, none
  of them required (a preset supplies them), so editors complete and check site fields too;
- every property carries a description (the models say what each field is, with units);
  :func:`undescribed_properties` finds any that does not, for the test that keeps it so.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SCHEMA_DIALECT", "SCHEMA_ID", "scenario_schema", "schema_text",
           "undescribed_properties"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema version pydantic v2 generates."""

SCHEMA_ID = "urn:gpuemu:schema:scenario"
"""A stable identifier of the scenario schema (a URN: the project publishes no URL)."""


def scenario_schema() -> dict[str, Any]:
    """The scenario file's JSON Schema as a mapping (see the module docstring)."""
    from emulator.scenario import Scenario
    from topologies.config import SiteConfig

    schema = Scenario.model_json_schema()
    site = SiteConfig.model_json_schema()
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    for name, node in site.pop("$defs", {}).items():
        if name in defs and defs[name] != node:  # two models of one name would collide
            raise RuntimeError(f"scenario and site schemas both define {name!r} differently")
        defs[name] = node
    ref = defs["SiteRef"]
    ref["properties"] = {**ref.get("properties", {}), **site["properties"]}
    ref.pop("required", None)
    ref["additionalProperties"] = False  # the loader rejects any key a site does not have
    return {"$schema": SCHEMA_DIALECT, "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    """:func:`scenario_schema` as the JSON text ``gpuemu schema`` prints (two-space indent,
    a final newline): ``docs/scenario.schema.json`` is this text."""
    return json.dumps(scenario_schema(), indent=2) + "\n"  # ASCII: any locale prints it


def undescribed_properties(schema: dict[str, Any]) -> list[str]:
    """JSON-pointer-like paths of every property (at any depth, in ``$defs`` too) that has
    no non-empty ``description``."""
    missing: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                for key, sub in props.items():
                    if not (isinstance(sub, dict) and str(sub.get("description", "")).strip()):
                        missing.append(f"{path}/properties/{key}")
            for key, sub in node.items():
                walk(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}/{i}")

    walk(schema, "#")
    return missing
