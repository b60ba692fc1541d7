"""Planned events applied through the core's verbs, at their times, before other work.

:class:`Injector` applies one event *now*: ``drain`` → :meth:`Core.drain`, ``fail`` →
:func:`apply_fail` (the failure model's ``inject``), ``restore`` → the failure model's
``restore``, :meth:`Core.restore` and
:meth:`Core.undrain` (and lifts power caps), ``power-cap`` → per-GPU caps
(:class:`~emulator.processes.gpu_caps.GpuCaps`, re-rating training through
:meth:`Core.rerate`), a cable's ``fail``/``restore`` → the WAN cut/repair machinery
(:mod:`emulator.wan_events`), ``policy`` → the rounds' queue policy. The live rehearsal
(:mod:`emulator.rehearsal`) uses the same injector, and every applied event is handed to
the injector's listeners (the recorder writes them as an events file).

:func:`schedule_planned` puts a file's events on the simpy clock. Each instant's events
fire from an *urgent* simpy event: before every ordinary event of that instant, which is
exactly where a live injection lands (the run loop stops at a step boundary before that
instant's ordinary events, injects, then resumes). So replaying a recorded rehearsal
gives the same event log, byte for byte.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.core import URGENT

from emulator.core.core import Core
from emulator.errors import UserError
from emulator.eventlog import Infra
from emulator.planned_events import PlannedEvent
from emulator.processes.failures import FailureModel
from emulator.processes.gpu_caps import GpuCaps
from emulator.targets import Target, event_label, resolve_target
from topologies.index import TopologyIndex

__all__ = ["Injector", "Resolved", "apply_fail", "resolve_events", "schedule_planned"]

CableAction = Callable[[str, str], None]
"""``(kind, cable)`` with kind ``"cut"`` or ``"repair"``: changes the WAN now."""
PolicySwitch = Callable[[str], None]
"""Switch the queue policy to the named one (a :class:`UserError` if it cannot be built)."""


@dataclass(frozen=True)
class Resolved:
    """A planned event and its resolved target (``None`` for a policy switch)."""

    event: PlannedEvent
    target: Target | None


def resolve_events(events: Sequence[PlannedEvent], index: TopologyIndex,
                   cables: Sequence[str], where: str = "events") -> list[Resolved]:
    """Resolve every target now, so a bad one fails before the run (one line, exit 2)."""
    out = []
    for i, e in enumerate(events):
        if e.action == "policy":
            out.append(Resolved(e, None))
            continue
        target = resolve_target(e.target, index, cables, field=f"{where}.{i}.target")
        if target.cable is not None and e.action in ("drain", "power-cap"):
            raise UserError(f"{where}.{i}.action: a cable cannot be given a {e.action}; "
                            "expected fail (cut) or restore (repair) for a link: target")
        out.append(Resolved(e, target))
    return out


def apply_fail(core: Core, gpus: np.ndarray, reason: str, until: float = math.inf,
               failures: FailureModel | None = None) -> None:
    """Take ``gpus`` out of service until ``until`` (s; ``inf``: until restored).

    The one place planned and live failures enter the core: through the failure model when
    the run has one (every built run does: detection, lost work since the checkpoint,
    restart, replicas lost and replaced, as for a sampled failure), else as a plain
    disruption (:meth:`Core.disrupt`).
    """
    if failures is None:
        core.disrupt(gpus, reason, until)
        return
    failures.inject(gpus, reason, None if math.isinf(until) else until - core.now)


class Injector:
    """Applies planned or live events now, through the core's verbs; tells listeners."""

    def __init__(self, core: Core, index: TopologyIndex, cables: Sequence[str],
                 cable_action: CableAction, switch_policy: PolicySwitch,
                 caps: GpuCaps | None = None, failures: FailureModel | None = None) -> None:
        self.core = core
        self.failures = failures
        self.caps = caps if caps is not None else GpuCaps(core)
        self.index = index
        self.cables = tuple(cables)
        self.cable_action = cable_action
        self.switch_policy = switch_policy
        self.listeners: list[Callable[[PlannedEvent], None]] = []

    def apply(self, item: Resolved) -> None:
        """Apply one event at the current simulated time (its ``at`` is not read)."""
        e, target = item.event, item.target
        core = self.core
        now = core.now
        if e.action == "policy":
            self.switch_policy(str(e.value))
            core.log.infra_event(now, Infra.POLICY, str(e.value))
        elif target is not None and target.cable is not None:
            cable = target.cable
            self.cable_action("cut" if e.action == "fail" else "repair", cable)
            if e.action == "fail" and e.duration is not None:
                core.clock.call_in(e.duration, lambda: self.cable_action("repair", cable))
        else:
            assert target is not None
            self._apply_gpus(e, target, now)
        for listener in self.listeners:
            listener(e.model_copy(update={"at": now}))

    def _apply_gpus(self, e: PlannedEvent, target: Target, now: float) -> None:
        core, gpus = self.core, target.gpus
        reason = event_label(e.action, target.text)
        restored = event_label("restore", target.text)  # a timed cap's end
        # a timed drain's end is logged under the drain's own label (as a timed failure's
        # repair is under its "fail" label): it ends that window, not every drain of the
        # target, so readers must not take it for a restore
        if e.action == "fail":
            until = now + e.duration if e.duration is not None else math.inf
            apply_fail(core, gpus, reason, until, self.failures)
        elif e.action == "drain":
            core.drain(gpus, reason)
            if e.duration is not None:
                core.clock.call_in(e.duration, lambda: core.undrain(gpus, reason))
        elif e.action == "power-cap":
            window = self.caps.set(gpus, e.cap_w(), reason)
            if e.duration is not None:
                core.clock.call_in(e.duration, lambda: self.caps.end(window, restored))
        else:  # restore: whatever keeps the target's GPUs out or slowed
            if np.isfinite(self.caps.cap_w[gpus]).any():
                self.caps.lift(gpus, reason)
            if self.failures is not None:
                self.failures.restore(gpus, reason)
            down = gpus[core.cluster.down[gpus]]
            if down.size:
                core.restore(down, reason)
            draining = gpus[core.cluster.draining[gpus]]
            if draining.size:
                core.undrain(draining, reason, every=True)


class _Urgent(simpy.Event):
    """An event that fires ``delay`` s from now before that instant's ordinary events
    (simpy orders by time, then priority, then scheduling order)."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


def schedule_planned(env: simpy.Environment, injector: Injector,
                     events: Sequence[Resolved]) -> int:
    """Schedule ``events`` at their times (one instant's events in the given order); the
    number of instants scheduled.

    Every instant is scheduled now, at the start, so each fires before anything else
    scheduled later for that instant — in particular before the run loop's stop at a step
    boundary. A live injection at a boundary therefore always comes after the planned
    events of that instant, in the live run and in its replay alike.
    """
    ordered = sorted(events, key=lambda r: r.event.at)  # stable: file order within an instant
    instants = 0
    for at, group in itertools.groupby(ordered, key=lambda r: r.event.at):
        items = list(group)
        event = _Urgent(env, max(at - env.now, 0.0))
        event.callbacks.append(lambda _e, items=items: [injector.apply(i) for i in items])
        instants += 1
    return instants
