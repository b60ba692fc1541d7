"""Sweep cells: one simulation each, self-contained so any worker process can run it.

A :class:`Cell` is a scenario mapping (file, ``--set`` overrides and seed applied), the
scenario's path, what to return (``task``) and an optional early stop. :func:`payload`
turns it into plain data for a worker: files the scenario names by path (traces, Gavel
throughput tables, ``compute.profile``, a solar CSV, the planned-events file) are read
here and travel with it, because a worker on another
machine cannot open this machine's files; :func:`run_payload` writes them into a
temporary folder there and runs the scenario as if it sat beside them.

:func:`cell_key` is the cache key: SHA-256 of the *resolved* scenario (the validated model
and its resolved sites, as canonical JSON), the early stop, the task, the content of the
shipped files, the version of this program's code and the source of the plug-in policy
modules the scenario names (``scheduler.queue``/``placement`` as ``module:Class``; not the
modules those import), so a cached result is reused only for exactly the same simulation.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["TASKS", "Cell", "Payload", "cell_key", "code_version", "describe", "payload",
           "run_payload"]

_FILE_KEYS = ("path", "profile", "throughputs", "csv", "events")
"""Mapping keys whose string values name files: trace ``path``, ``compute.profile``, a
Gavel trace's ``throughputs`` table, a solar ``csv`` series and the planned ``events``
file. A value that names no existing file (``sample:`` names, lists) is left alone."""

_CODE_PACKAGES = ("emulator", "topologies", "workloads", "cupy_kernels")
_PRESENTATION = ("api.py", "cli.py", "cli_*.py", "compare_output.py", "dashboard.py",
                 "executor.py", "plan.py", "plan_*.py", "plots.py", "sweep_study.py")
"""Modules that only show, schedule or search over cell results: a change to them keeps
cached cells valid (the code version leaves them out)."""


@dataclass(frozen=True)
class Cell:
    """One simulation of a sweep.

    ``data`` is the scenario mapping with overrides and seed applied; ``source`` the scenario
    file (relative paths inside resolve from its folder); ``task`` names the function in
    :data:`TASKS` that turns the finished run into a JSON-ready result; ``until_s`` stops the
    run early (simulated seconds); ``tags`` are labels the caller keeps for the cell.
    """

    data: dict[str, Any]
    source: str
    task: str = "summary"
    until_s: float | None = None
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Payload:
    """What a worker needs: the rewritten mapping and the bytes of the files it names."""

    data: dict[str, Any]
    source: str
    task: str
    until_s: float | None
    files: dict[str, bytes]


def _file_refs(node: Any, base: Path, found: dict[str, Path], rewrite: bool) -> Any:
    """``node`` with every existing file reference replaced by a bundle name (if
    ``rewrite``); the files go into ``found`` (bundle name → path)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _FILE_KEYS and isinstance(value, str) and not value.startswith("sample:"):
                path = Path(value) if Path(value).is_absolute() else base / value
                if path.is_file():
                    name = next((n for n, p in found.items() if p == path), None)
                    if name is None:
                        name = f"f{len(found)}_{path.name}"
                        found[name] = path
                    out[key] = name if rewrite else value
                    continue
            out[key] = _file_refs(value, base, found, rewrite)
        return out
    if isinstance(node, list):
        return [_file_refs(v, base, found, rewrite) for v in node]
    return node


def payload(cell: Cell) -> Payload:
    """The cell as plain data, the files it names read into memory."""
    found: dict[str, Path] = {}
    data = _file_refs(cell.data, Path(cell.source).parent, found, rewrite=True)
    files = {name: path.read_bytes() for name, path in found.items()}
    return Payload(data, cell.source, cell.task, cell.until_s, files)


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 over this program's source and bundled data files (a code change, even
    uncommitted, invalidates cached cells; presentation modules excepted)."""
    import importlib

    digest = hashlib.sha256()
    for package in _CODE_PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in sorted(root.rglob("*")):
            shown = package == "emulator" and path.parent == root and any(
                path.match(pattern) for pattern in _PRESENTATION)
            if path.is_file() and not shown and path.suffix in (
                    ".py", ".yaml", ".csv", ".jsonl", ".json", ".gz"):
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _queue_refs(loaded: Any) -> list[str]:
    """The queue policies a run may use: ``scheduler.queue`` and the value of every
    planned ``policy`` switch in the scenario's events file."""
    from emulator.build_events import events_path
    from emulator.planned_events import read_events

    refs = [loaded.scenario.scheduler.queue]
    path = events_path(loaded, None)
    if path is not None:
        refs += [str(e.value) for e in read_events(path, start=loaded.scenario.start)
                 if e.action == "policy"]
    return list(dict.fromkeys(refs))


def _plugin_digests(queues: list[str], placement: str) -> list[list[str]]:
    """``[file name, SHA-256]`` of each source file of the scenario's plug-in policies
    (``"module:Class"``) and of the user modules they use, so that editing a policy or its
    helpers invalidates its cached cells. Resolving them here also makes a plug-in that
    cannot be imported a one-line error before any cell runs."""
    from emulator.policies.registry import plugin_sources

    return [[path.name, hashlib.sha256(path.read_bytes()).hexdigest()]
            for path in plugin_sources(queues, placement)]


def describe(cell: Cell) -> str:
    """Which cell: ``point LABEL[, policy P], seed S`` from its tags (a plan's cells name
    their searched values), for error messages."""
    tags = cell.tags
    label = tags.get("point")
    if label is None:
        values = tags.get("values") or {}
        label = ", ".join(f"{k}={v}" for k, v in values.items()) or "base"
    policy = f", policy {tags['policy']}" if "policy" in tags else ""
    return f"point {label}{policy}, seed {tags.get('seed', cell.data.get('seed'))}"


def cell_key(cell: Cell) -> str:
    """The cache key of ``cell`` (hex SHA-256); validates the scenario and resolves its
    plug-in policies (one-line errors)."""
    from emulator.loader import validate_scenario

    loaded = validate_scenario(cell.data, source=cell.source)
    found: dict[str, Path] = {}
    _file_refs(cell.data, Path(cell.source).parent, found, rewrite=False)
    canonical = {
        "scenario": loaded.scenario.model_dump(mode="json"),
        "sites": [s.model_dump(mode="json") for s in loaded.sites],
        "task": cell.task,
        "until_s": cell.until_s,
        "files": {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in found.items()},
        "code": code_version(),
        "plugins": _plugin_digests(_queue_refs(loaded),
                                   loaded.scenario.scheduler.placement),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _summary_task(sim: Any) -> dict[str, Any]:
    """The run's ``summary.json`` content (no per-request rows), its wall time and its
    malformed trace rows (``file:line: why``, skipped; the study warns about them as
    ``gpuemu run`` does)."""
    from emulator.results import collect

    malformed = [str(i) for i in sim.trace_issues
                 if getattr(i, "kind", "malformed") == "malformed"]
    return {"summary": collect(sim, include_requests=False).summary, "wall_s": sim.wall_s,
            "trace_issues": malformed}


def _compare_task(sim: Any) -> dict[str, Any]:
    """The metrics ``gpuemu compare`` aggregates (:func:`emulator.run_metrics.run_metrics`)."""
    from emulator.run_metrics import run_metrics

    return run_metrics(sim).to_json()


TASKS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "summary": _summary_task,
    "compare": _compare_task,
}
"""Task name → function of a finished :class:`~emulator.build.Simulation`."""


WARM_MODULES = ("emulator.build", "emulator.loader", "emulator.results", "emulator.compare",
                "pandas", "pvlib")
"""What a cell imports on first use: the simulation modules, and pandas and pvlib for a
site with solar (together about 0.7 s on a 2-core machine)."""


WARM_UP_SCENARIO: dict[str, Any] = {
    "name": "warm-up", "seed": 1, "duration": "1h",
    "sites": [{"preset": "bizerte-20mw",
               "halls": [{"name": "warm-up", "system": "gb200-nvl72", "racks": 1}]}],
    "tenants": {
        "serving": {"origin": "marseille", "inference": [{
            "name": "chat", "model": "llama3-8b", "replicas": 2, "gpus_per_replica": 1,
            "rate": "2/s"}]},
        "training": {"training": [{
            "name": "ft", "model": "llama3-8b", "rate": "60/h", "gpus": [8, 16], "tp": 8,
            "tokens": {"dist": "fixed", "value": 1e8}}]}},
    "compute": {"backend": "numpy"},  # never a GPU context on a worker just to warm up
}
"""A one-rack site with a chat service and fine-tuning jobs, run for one simulated minute
by :func:`warm_up`: it goes through the paths a first cell would (preset, energy model,
kernels, serving, the summary) and costs about 0.1-0.15 s once the imports are done."""


def warm_up(run: bool = True) -> bool:
    """Import :data:`WARM_MODULES` now and, with ``run``, run :data:`WARM_UP_SCENARIO` for
    one simulated minute, so a worker's first cell takes no longer than its others.

    A worker process calls it once when it joins a sweep. Without the imports the first
    cell on each worker straggles by their time (about 0.7 s), and a short sweep waits for
    it; without the run, by the first-use costs of caches and kernels (20-200 ms measured
    on a 12-hour cell of the Bizerte example). A failed run is logged and skipped: it only
    warms, and a real cell reports its own errors. Returns whether the run completed.
    """
    import importlib

    for name in WARM_MODULES:
        importlib.import_module(name)
    if not run:
        return False
    try:
        run_payload(Payload(copy.deepcopy(WARM_UP_SCENARIO), "<warm-up>", "summary", 60.0,
                            {}))
    except Exception as exc:  # an optimisation: never fail a worker on it
        logging.getLogger(__name__).warning("worker warm-up run skipped: %s: %s",
                                            type(exc).__name__, exc)
        return False
    return True


def run_payload(p: Payload) -> dict[str, Any]:
    """Build and run one cell (on whichever process runs this) and return its result."""
    from emulator.build import build
    from emulator.loader import validate_scenario

    def run_at(source: str) -> dict[str, Any]:
        sim = build(validate_scenario(p.data, source=source))
        sim.run(until=p.until_s)
        return TASKS[p.task](sim)

    if not p.files:
        return run_at(p.source)
    with tempfile.TemporaryDirectory(prefix="gpuemu-cell-") as folder:
        for name, content in p.files.items():
            (Path(folder) / name).write_bytes(content)
        scenario = Path(folder) / Path(p.source).name  # some readers look for it there
        scenario.write_text(yaml.safe_dump(p.data, sort_keys=False), encoding="utf-8")
        return run_at(str(scenario))
