"""Read a scenario file, apply ``--set`` overrides, validate, resolve site presets.

Every user mistake becomes a :class:`~emulator.errors.UserError` with one line naming the
file or field, the value and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from emulator.errors import UserError, describe_validation_error
from emulator.scenario import Scenario
from topologies.config import SiteConfig
from topologies.presets import resolve_site

__all__ = ["LoadedScenario", "apply_override", "load_scenario", "parse_override", "read_yaml"]


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and its fully resolved sites."""

    scenario: Scenario
    sites: tuple[SiteConfig, ...]
    source: str


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML file, or a one-line :class:`UserError`."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: file not found; expected a scenario YAML file")
    if p.is_dir():
        raise UserError(f"{p}: is a directory; expected a scenario YAML file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{p}: invalid YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise UserError(f"{p}: not a text file; expected UTF-8 YAML") from None
    except ValueError as exc:  # e.g. a date YAML recognises but cannot build: 2025-13-45
        raise UserError(f"{p}: invalid value in YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{p}: top level is {type(data).__name__}; expected a mapping "
                        "with name, duration, sites, tenants")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b.0.c=value"`` → (path, YAML-parsed value)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. seed=7")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return [p for p in key.strip().split(".")], value


def _child(node: Any, part: str, path: str) -> tuple[Any, Any]:
    """The container key/index for ``part`` inside ``node``."""
    if isinstance(node, dict):
        return part, node.get(part)
    if isinstance(node, list):
        if part.lstrip("-").isdigit():
            i = int(part)
            if not -len(node) <= i < len(node):
                raise UserError(f"--set {path}: index {i} out of range (list has {len(node)})")
            return i, node[i]
        for i, item in enumerate(node):  # lists of named items: address them by name
            if isinstance(item, dict) and part in (item.get("name"), item.get("preset")):
                return i, item
        raise UserError(f"--set {path}: no item named {part!r} in the list")
    raise UserError(f"--set {path}: {part!r} is inside a {type(node).__name__}, not a mapping")


def apply_override(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``value`` at ``path`` inside ``data`` (creating mappings as needed)."""
    dotted = ".".join(path)
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        key, child = _child(node, part, dotted)
        if child is None:
            if depth == 1 and path[0] == "tenants":
                known = ", ".join(sorted(data.get("tenants") or {}))
                raise UserError(f"--set {dotted}: no tenant named {part!r}; the scenario has "
                                f"{known or 'none'}")
            if path[depth + 1].lstrip("-").isdigit():
                raise UserError(f"--set {dotted}: {'.'.join(path[:depth + 1])} is not in the "
                                "scenario file (it may come from a preset); set the whole "
                                "list, e.g. --set 'sites.0.halls=[{name: a, system: "
                                "gb200-nvl72, racks: 64}]'")
            child = {}
            node[key] = child
        node = child
    key, _ = _child(node, path[-1], dotted)
    node[key] = value


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                  seed: int | None = None) -> LoadedScenario:
    """Load, override, validate and resolve a scenario file."""
    data = read_yaml(path)
    for text in overrides:
        keys, value = parse_override(text)
        apply_override(data, keys, value)
    if seed is not None:
        data["seed"] = seed
    return validate_scenario(data, source=str(path))


def validate_scenario(data: dict[str, Any], source: str = "<scenario>") -> LoadedScenario:
    """Validate a scenario mapping and resolve its sites; one-line errors."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{source}: {describe_validation_error(exc)}") from None
    sites: list[SiteConfig] = []
    for i, ref in enumerate(scenario.sites):
        try:
            sites.append(resolve_site(ref.preset, ref.overrides()))
        except ValidationError as exc:
            raise UserError(f"{source}: {describe_validation_error(exc, f'sites.{i}')}") from None
        except (KeyError, ValueError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            raise UserError(f"{source}: sites.{i}: {msg}") from None
    names = [s.name for s in sites]
    if len(set(names)) != len(names):
        raise UserError(f"{source}: sites: names {names} repeat; each site needs its own name")
    return LoadedScenario(scenario=scenario, sites=tuple(sites), source=source)
