"""Site presets: YAML files in ``topologies/presets/``, merged with overrides, validated.

``resolve_site("bizerte-20mw", {"halls": [...]})`` deep-merges the overrides into the
preset (mappings merge key by key; lists and scalars replace wholesale) and validates the
result as a :class:`~topologies.config.SiteConfig`. Reading a preset has no side effects.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml

from topologies.config import SiteConfig

__all__ = ["UnknownPresetError", "deep_merge", "list_presets", "load_preset", "resolve_site"]

_FIRST = "bizerte-20mw"  # the product's seed site is listed first


class UnknownPresetError(KeyError, ValueError):
    """A preset name that is not in ``topologies/presets/``.

    Both a ``KeyError`` and a ``ValueError``; ``str()`` is the plain one-line message.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _preset_dir() -> Any:
    return resources.files("topologies") / "presets"


def list_presets() -> list[str]:
    """Names of the bundled presets: ``bizerte-20mw`` first, then alphabetical."""
    names = sorted(p.name[:-5] for p in _preset_dir().iterdir() if p.name.endswith(".yaml"))
    return sorted(names, key=lambda n: (n != _FIRST, n))


def load_preset(name: str) -> dict[str, Any]:
    """The raw mapping of preset ``name`` (not validated).

    Raises
    ------
    UnknownPresetError
        If no preset has that name; the message lists the known ones.
    """
    known = list_presets()
    if name not in known:
        raise UnknownPresetError(
            f"unknown site preset {name!r}; known presets: {', '.join(known)}"
        )
    return copy.deepcopy(_parsed_preset(name))


@functools.cache
def _parsed_preset(name: str) -> dict[str, Any]:
    """Preset ``name`` parsed once per process: the bundled files do not change while it
    runs, and parsing one takes about 20 ms, paid per sweep cell (its cache key and its
    run) before this cache. Callers get a deep copy."""
    text = (_preset_dir() / f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"preset {name!r} is not a mapping")
    return data


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """New dict: ``overrides`` merged into ``base``; nested mappings merge, anything else
    (lists included) replaces. Neither input is modified."""
    merged: dict[str, Any] = dict(base)
    for key, value in overrides.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged


def resolve_site(preset: str | None, overrides: Mapping[str, Any] | None = None) -> SiteConfig:
    """Validated site from ``preset`` (or from ``overrides`` alone when ``None``).

    Raises
    ------
    UnknownPresetError
        Unknown preset name.
    pydantic.ValidationError
        A merged value is invalid; the message names the field path and the value.
    """
    base = load_preset(preset) if preset is not None else {}
    return SiteConfig.model_validate(deep_merge(base, overrides or {}))
