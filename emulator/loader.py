"""Read a scenario file, apply ``--set`` overrides, validate, resolve site presets.

Every user mistake becomes a :class:`~emulator.errors.UserError` with one line naming the
file or field, the value and what was expected.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from emulator.errors import UserError, describe_validation_error, one_line, short
from emulator.scenario import Scenario
from topologies.config import SiteConfig
from topologies.presets import load_preset, resolve_site

__all__ = ["LoadedScenario", "apply_override", "load_scenario", "parse_override", "read_yaml"]


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and its fully resolved sites."""

    scenario: Scenario
    sites: tuple[SiteConfig, ...]
    source: str
    data: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """The mapping validated (file + overrides + seed), for ``scenario.resolved.yaml``."""


MAX_DEPTH = 50
"""Deepest nesting of mappings and lists accepted in a scenario file."""
MAX_SCENARIO_BYTES = 4_000_000
"""Largest scenario file read, bytes (the shipped examples are under 20 kB; long lists of
jobs or requests belong in a trace file). Parsing grows with the size: a 25 MB file kept
``validate`` busy for minutes."""

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it (about ten times faster), else the pure
Python one; both build the same values."""


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """A safe YAML loader that refuses a key given twice in one mapping.

    With the plain loader the last value silently wins, so a scenario that sets
    ``racks:`` twice runs with whichever came last.
    """


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: the constructor below reports it
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {short(key)} appears twice in one mapping (first at line "
                            f"{first.start_mark.line + 1}); expected each key once",
                key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def _depth_ok(text: str) -> bool:
    """Whether ``text``'s nesting stays within :data:`MAX_DEPTH` (checked by events, so a
    file nested thousands deep is refused before the recursive constructor sees it)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return False
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:  # libyaml stops at its own limit (1,000 levels) first
        if "nesting depth" in str(getattr(exc, "problem", "")):
            return False
        raise
    return True


def parse_yaml(text: str, where: str) -> Any:
    """The value of YAML ``text``; a one-line :class:`UserError` naming ``where`` otherwise.

    Duplicate keys, nesting deeper than :data:`MAX_DEPTH` and values YAML recognises but
    cannot build (the date ``2025-13-45``) are errors, never tracebacks.
    """
    try:
        if not _depth_ok(text):
            raise UserError(f"{where}: nested more than {MAX_DEPTH} levels deep; expected a "
                            "scenario mapping")
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a (C)SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{where}: invalid YAML{at}: {one_line(problem, 200)}") from None
    except RecursionError:
        raise UserError(f"{where}: nested too deeply; expected a scenario mapping") from None
    except (ValueError, OverflowError) as exc:  # a date YAML recognises but cannot build
        raise UserError(f"{where}: invalid value in YAML: {one_line(str(exc), 200)}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML file, or a one-line :class:`UserError`."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{one_line(str(p), 200)}: file not found; expected a scenario YAML file")
    if p.is_dir():
        raise UserError(f"{one_line(str(p), 200)}: is a directory; expected a scenario YAML file")
    try:
        size = p.stat().st_size
    except OSError:
        size = 0  # the read below says what is wrong
    if size > MAX_SCENARIO_BYTES:
        raise UserError(f"{one_line(str(p), 200)}: {size / 1e6:,.1f} MB; expected a scenario "
                        f"file of at most {MAX_SCENARIO_BYTES / 1e6:.1f} MB (long lists of "
                        "jobs or requests belong in a trace file)")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{one_line(str(p), 200)}: not a text file; expected UTF-8 YAML") from None
    except OSError as exc:
        raise UserError(f"{one_line(str(p), 200)}: cannot read ({exc.strerror or exc}); expected a "
                        "readable scenario YAML file") from None
    data = parse_yaml(text, str(p))
    if not isinstance(data, dict):
        raise UserError(f"{one_line(str(p), 200)}: top level is {type(data).__name__}; "
                        "expected a mapping with name, duration, sites, tenants")
    return data


def parse_override(text: str, option: str = "--set") -> tuple[list[str], Any]:
    """``"a.b.0.c=value"`` → (path, YAML-parsed value); errors name ``option`` (the CLI's
    ``--set``, the Python API's ``overrides``)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"{option} {text!r}: expected KEY.PATH=VALUE, e.g. seed=7")
    try:
        value = parse_yaml(raw, f"{option} {key.strip()}") if raw.strip() else ""
    except UserError:
        if not _depth_ok_safe(raw):
            raise
        value = raw  # not YAML (or a date YAML cannot build): the text itself
    return [p for p in key.strip().split(".")], value


def _depth_ok_safe(text: str) -> bool:
    try:
        return _depth_ok(text)
    except (yaml.YAMLError, RecursionError):
        return True


def _child(node: Any, part: str, path: str, option: str = "--set") -> tuple[Any, Any]:
    """The container key/index for ``part`` inside ``node`` (errors name ``option``)."""
    if isinstance(node, dict):
        return part, node.get(part)
    if isinstance(node, list):
        if part.lstrip("-").isdigit():
            i = int(part)
            if not -len(node) <= i < len(node):
                raise UserError(f"{option} {path}: index {i} out of range (list has "
                                f"{len(node)})")
            return i, node[i]
        for i, item in enumerate(node):  # lists of named items: address them by name
            if isinstance(item, dict) and part in (item.get("name"), item.get("preset")):
                return i, item
        raise UserError(f"{option} {path}: no item named {part!r} in the list")
    raise UserError(f"{option} {path}: {part!r} is inside a {type(node).__name__}, "
                    "not a mapping")


def _from_preset(site: Any, key: Any) -> Any:
    """A copy of field ``key`` of ``site``'s preset (``None`` if it has none), so that
    ``--set sites.0.halls.1.racks=8`` can change one element of a list the file leaves to
    its preset. Inline lists replace the preset's wholesale, so copying it is exact."""
    if not isinstance(site, dict) or not isinstance(site.get("preset"), str):
        return None
    try:
        value = load_preset(site["preset"]).get(key)
    except (KeyError, ValueError):
        return None  # an unknown preset: validation names it
    return copy.deepcopy(value) if isinstance(value, dict | list) else None


def apply_override(data: dict[str, Any], path: list[str], value: Any,
                   option: str = "--set") -> None:
    """Set ``value`` at ``path`` inside ``data`` (creating mappings as needed); errors name
    ``option`` (the CLI's ``--set``, the Python API's ``overrides``)."""
    dotted = ".".join(path)
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        key, child = _child(node, part, dotted, option)
        if child is None and depth == 2 and path[0] == "sites":
            child = _from_preset(node, key)
            if child is not None:
                node[key] = child
        if child is None:
            if depth == 1 and path[0] == "tenants":
                known = ", ".join(sorted(data.get("tenants") or {}))
                raise UserError(f"{option} {dotted}: no tenant named {part!r}; the scenario "
                                f"has {known or 'none'}")
            if path[depth + 1].lstrip("-").isdigit():
                example = "--set " if option == "--set" else ""
                raise UserError(f"{option} {dotted}: {'.'.join(path[:depth + 1])} is not in "
                                "the scenario file (it may come from a preset); set the whole "
                                f"list, e.g. {example}'sites.0.halls=[{{name: a, system: "
                                "gb200-nvl72, racks: 64}]'")
            child = {}
            node[key] = child
        node = child
    key, _ = _child(node, path[-1], dotted, option)
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
        raise UserError(f"{source}: "
                        f"{describe_validation_error(exc, model=Scenario, data=data)}") \
            from None
    sites: list[SiteConfig] = []
    written = data.get("sites") if isinstance(data.get("sites"), list) else []
    for i, ref in enumerate(scenario.sites):
        try:
            sites.append(resolve_site(ref.preset, ref.overrides()))
        except ValidationError as exc:
            raw = written[i] if i < len(written) else None  # what the file gives of the site
            raise UserError(f"{source}: "
                            f"{describe_validation_error(exc, f'sites.{i}', SiteConfig, raw)}") \
                from None
        except (KeyError, ValueError) as exc:
            msg = exc.args[0] if exc.args else str(exc)
            raise UserError(f"{source}: sites.{i}: {msg}") from None
    names = [s.name for s in sites]
    if len(set(names)) != len(names):
        raise UserError(f"{source}: sites: names {names} repeat; each site needs its own name")
    return LoadedScenario(scenario=scenario, sites=tuple(sites), source=source,
                          data=copy.deepcopy(data))
