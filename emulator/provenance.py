"""How an output folder was produced: the resolved scenario, command line, versions.

``scenario.resolved.yaml`` is the scenario exactly as run: the file with every ``--set``
override and ``--seed`` applied, site presets expanded into their full fields (SI units),
and relative trace and profile paths made absolute, so ``gpuemu run
OUT/scenario.resolved.yaml`` from any folder reproduces the run (same event-log digest).
When the run applied planned or live events, its ``events:`` is the run's own record of
them (``events.yaml`` beside it, which also holds those given with ``--events``).
"""

from __future__ import annotations

import copy
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from emulator.loader import LoadedScenario
from topologies.config import SiteConfig
from topologies.presets import resolve_site

__all__ = ["RESOLVED_NAME", "resolved_scenario", "resolved_yaml", "versions"]

RESOLVED_NAME = "scenario.resolved.yaml"
_PACKAGES = ("gpuemu", "numpy", "simpy", "networkx", "pydantic", "pyarrow", "pvlib", "cupy")


def versions() -> dict[str, str]:
    """Python and the versions of gpuemu and the packages results depend on."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _absolute(path: object, base: Path) -> object:
    if not isinstance(path, str) or path.startswith("sample:") or Path(path).is_absolute():
        return path
    return str((base / path).resolve())


def _expanded_site(site: SiteConfig) -> dict[str, Any] | None:
    """``site`` as inline fields that resolve to an equal config, or ``None``."""
    fields = site.model_dump(mode="json", by_alias=False)
    try:
        if resolve_site(None, fields) == site:
            return fields
    except (ValidationError, ValueError, KeyError):
        return None
    return None


def resolved_scenario(loaded: LoadedScenario, events: str | None = None) -> dict[str, Any]:
    """The mapping of ``scenario.resolved.yaml`` (see the module docstring); ``events``
    replaces the scenario's planned events file (the run's own record of every event it
    applied, written beside it, or a file given with ``--events``)."""
    data = copy.deepcopy(loaded.data) if loaded.data is not None else {}
    base = Path(loaded.source).parent
    sites = [_expanded_site(s) for s in loaded.sites]
    if all(s is not None for s in sites):
        data["sites"] = sites
    for tenant in (data.get("tenants") or {}).values():
        if not isinstance(tenant, dict):
            continue
        for trace in tenant.get("traces") or []:
            if isinstance(trace, dict):
                trace["path"] = _absolute(trace.get("path"), base)
                if trace.get("throughputs") is not None:  # a Gavel throughput table
                    trace["throughputs"] = _absolute(trace["throughputs"], base)
        for svc in tenant.get("inference") or []:
            if isinstance(svc, dict) and isinstance(svc.get("trace"), dict):
                svc["trace"]["path"] = _absolute(svc["trace"].get("path"), base)
    compute = data.get("compute")
    if isinstance(compute, dict) and compute.get("profile"):
        compute["profile"] = _absolute(compute["profile"], base)
    if events is not None:
        data["events"] = events
    elif data.get("events"):
        data["events"] = _absolute(data["events"], base)
    for site in data.get("sites") or []:
        energy = site.get("energy") if isinstance(site, dict) else None
        solar = energy.get("solar") if isinstance(energy, dict) else None
        if isinstance(solar, dict) and solar.get("csv"):
            solar["csv"] = _absolute(solar["csv"], base)
    data["seed"] = loaded.scenario.seed
    return data


def resolved_yaml(loaded: LoadedScenario, command: list[str], events: str | None = None) -> str:
    """``scenario.resolved.yaml``: a header naming the source and command, then the mapping
    (``events``: see :func:`resolved_scenario`)."""
    head = (f"# resolved from {loaded.source}\n"
            f"# command: {' '.join(command)}\n"
            f"# {', '.join(f'{k} {v}' for k, v in versions().items())}\n")
    body = yaml.safe_dump(resolved_scenario(loaded, events), sort_keys=False, allow_unicode=True,
                          width=100)
    return head + body


def command_line() -> list[str]:
    """This process's command line, program name shortened to ``gpuemu``."""
    return ["gpuemu", *sys.argv[1:]]
