"""The composition root's part for planned and live events: wires the injector.

:func:`wire_events` gives the engine an :class:`~emulator.processes.planned_events.Injector`
(always: the live rehearsal injects through it) and the resolved events of the run's
events file (the scenario's ``events:``, or ``gpuemu run --events``, which replaces it).
A cable cut or repair goes through the WAN machinery of :mod:`emulator.multisite` (its
state is created on the first cut when the scenario has no ``wan_events``); a policy
switch builds the named queue policy from the registry, wrapped as the scenario's is; GPU
power caps (:class:`~emulator.processes.gpu_caps.GpuCaps`) and the failure model's spine
slow-down see every start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import networkx as nx

from emulator.engine import Engine
from emulator.errors import UserError, one_line
from emulator.eventlog import EventLog
from emulator.loader import LoadedScenario
from emulator.multisite import SiteOps
from emulator.planned_events import read_events
from emulator.policies.registry import make_queue_policy
from emulator.processes.gpu_caps import GpuCaps
from emulator.processes.planned_events import Injector, resolve_events
from emulator.serving import ServingModel
from emulator.units import format_adaptive_duration
from emulator.wan_events import WanState, cable_names
from emulator.work import Work

_log = logging.getLogger(__name__)

__all__ = ["drop_events_from", "events_path", "wire_events"]


def events_path(loaded: LoadedScenario, override: str | Path | None) -> Path | None:
    """The run's events file: ``override`` (as given, from the working folder) or the
    scenario's ``events`` (relative to the scenario file's folder), or ``None``."""
    if override is not None:
        return Path(override)
    name = loaded.scenario.events
    if name is None:
        return None
    path = Path(name)
    return path if path.is_absolute() else Path(loaded.source).parent / path


def wire_events(loaded: LoadedScenario, engine: Engine, ops: SiteOps, serving: ServingModel,
                log: EventLog, rtt: Callable[..., float], graph: nx.Graph,
                events_file: str | Path | None = None) -> None:
    """Give ``engine`` its injector and the run's planned events (checked now: a bad
    target or policy name fails before the run, one line)."""
    sc = loaded.scenario
    sites = list(loaded.sites)
    core = engine.core

    def cable_action(kind: str, cable: str) -> None:
        if ops.wan is None:
            ops.wan = WanState(sites, graph)
        ops.wan_action(kind, cable, serving, log, rtt)(core.now)
        if core.staging is not None:  # transfers in flight re-rate on the new paths
            core.staging.set_request_load(None, core.now)

    def switch_policy(name: str) -> None:
        options = dict(sc.scheduler.options) if name == sc.scheduler.queue else {}
        engine.rounds.set_policy(ops.wrap_queue(make_queue_policy(name, options)))

    cables = cable_names(sites)
    caps = GpuCaps(core)
    starts = core.on_start

    failures = engine.failures

    def on_start(work: Work) -> None:  # serving and autoscaling first, then the slow-downs
        starts(work)
        caps.on_start(work)
        if failures is not None:
            failures.on_start(work)

    core.on_start = on_start
    engine.injector = Injector(core, engine.cluster.index, cables, cable_action, switch_policy,
                               caps, engine.failures)
    path = events_path(loaded, events_file)
    if path is None:
        return
    where = str(path)
    events = read_events(path, start=sc.start)
    late = [e for e in events if e.at >= sc.duration]
    if late:  # legitimate (a plan longer than this run), but not applied: say so
        _log.info("events %s: %d planned event(s) at or after the end of the run (%s) are "
                  "not applied (the first at %s)", one_line(where, 200), len(late),
                  format_adaptive_duration(sc.duration),
                  format_adaptive_duration(min(e.at for e in late)))
    for i, e in enumerate(events):
        if e.action == "power-cap" and ops.energy is not None and ops.energy.has_caps:
            raise UserError(f"{where}: events.{i}.action: power-cap on a scenario with a site "
                            "power cap (its controller sets GPU caps at each sample); expected "
                            "no power-cap events, or no site power cap")
        if e.action == "policy" and isinstance(e.value, str):
            try:
                options = dict(sc.scheduler.options) if e.value == sc.scheduler.queue else {}
                make_queue_policy(e.value, options)
            except UserError as exc:
                raise UserError(f"{where}: events.{i}.value: {exc}") from None
    engine.planned = resolve_events(events, engine.cluster.index, cables,
                                    where=f"{where}: events")
    engine.planned_source = where


def drop_events_from(engine: Engine, end_s: float, duration_s: float) -> None:
    """Take the planned events at or after ``end_s`` (s: where this run stops, ``until``
    or the duration) out of ``engine``'s plan before it starts: they are not applied, not
    even one exactly at the stop (it would otherwise fire at the horizon, before the
    stop). Those before ``duration_s`` (cut off by ``until``) get a note here; the rest
    got theirs when the events were wired."""
    late = [r for r in engine.planned if r.event.at >= end_s]
    if not late:
        return
    engine.planned = [r for r in engine.planned if r.event.at < end_s]
    cut = [r.event.at for r in late if r.event.at < duration_s]
    if cut:
        _log.info("events %s: %d planned event(s) at or after the end of the run (%s, "
                  "--until) are not applied (the first at %s)",
                  one_line(engine.planned_source, 200), len(cut),
                  format_adaptive_duration(end_s), format_adaptive_duration(min(cut)))
