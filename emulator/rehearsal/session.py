"""The rehearsal of one ``gpuemu run``: recorder and feed always, keys when live.

The CLI creates a :class:`Rehearsal` after the build. With a live dashboard on a
terminal it :meth:`~Rehearsal.attach` es a :class:`~emulator.rehearsal.keys.KeyReader`;
after every simulation step (in the simulation's thread, between ``env.run`` calls) it
calls :meth:`~Rehearsal.pump`, which turns the keys typed meanwhile into cursor moves and
injections applied at the current simulated time. The keys thread never touches the
simulation.
"""

from __future__ import annotations

from emulator.build import Simulation
from emulator.dashboard import _CELLS_PER_LINE, _MAX_CELLS
from emulator.errors import UserError
from emulator.planned_events import PlannedEvent, check_overlaps
from emulator.processes.planned_events import Injector, Resolved
from emulator.rehearsal.controls import Controls
from emulator.rehearsal.feed import EventFeed
from emulator.rehearsal.keys import KeyReader
from emulator.rehearsal.recorder import EVENTS_NAME, Recorder
from emulator.rehearsal.view import RehearsalView
from emulator.targets import Target, resolve_target

__all__ = ["Rehearsal"]


class Rehearsal:
    """Recorder, feed and view of a run; keys and controls once attached."""

    def __init__(self, sim: Simulation) -> None:
        injector = sim.engine.injector
        assert injector is not None, "the build wires an injector into every engine"
        self.sim = sim
        self.injector: Injector = injector
        self.recorder = Recorder(injector)
        self.feed = EventFeed(sim.log)
        self.view = RehearsalView(sim.engine.cluster, self.feed, None)
        self.controls: Controls | None = None
        self.keys: KeyReader | None = None
        self._targets: dict[str, Target] = {}
        # the queue policy in force: the scenario's, then each applied switch's
        self.policy = sim.loaded.scenario.scheduler.queue
        injector.listeners.append(self._follow_policy)

    def _follow_policy(self, event: PlannedEvent) -> None:
        """Keep :attr:`policy` (and the cursor's, which ``p`` cycles from) on the policy
        in force after every applied switch, planned in a file or typed live."""
        if event.action == "policy" and event.value:
            self.policy = str(event.value)
            if self.controls is not None:
                self.controls.policy = self.policy

    def attach(self, keys: KeyReader) -> None:
        """Take keys from ``keys`` (only if it reads a terminal) and show the cursor."""
        if not keys.active:
            return
        index = self.sim.index
        per_cell = index.n_racks / min(max(index.n_racks, 1), _MAX_CELLS)
        self.keys = keys
        self.controls = Controls(index, self.injector.cables, self.policy,
                                 row_racks=round(_CELLS_PER_LINE * per_cell))
        self.view.controls = self.controls

    def pump(self) -> None:
        """Handle the keys typed since the last step; injections apply now."""
        if self.keys is None or self.controls is None:
            return
        for key in self.keys.pending():
            event = self.controls.handle(key)
            if event is not None:
                self.inject(event)

    def inject(self, event: PlannedEvent) -> bool:
        """Apply ``event`` at the current simulated time; ``False`` (and a feed line) if it
        could not be applied.

        An injection that would fall inside a timed window on the same target (a planned
        drain with a ``duration``) is refused, as it would be in a file, and so is one at
        the end of the run (a file's events there are not applied): so the recording is
        always a valid events file that replays to the same run.
        """
        try:
            now = self.sim.env.now
            if now >= self.sim.horizon_s:  # as in an events file: not applied at the end
                raise UserError(f"the run has reached its end ({now:g} s); an event at "
                                "or after the end of the run is not applied")
            check_overlaps([*self.recorder.events, event.model_copy(update={"at": now})],
                           "this run's events")
            target = None
            if event.action != "policy":
                target = self._targets.get(event.target)
                if target is None:
                    target = resolve_target(event.target, self.sim.index, self.injector.cables)
                    self._targets[event.target] = target
            self.injector.apply(Resolved(event, target))
        except UserError as exc:
            self.feed.update()  # what the log holds so far comes before this line
            self.feed.lines.append((f"cannot {event.action}: {exc}", "yellow"))
            return False
        return True

    def files(self) -> dict[str, str]:
        """``{"events.yaml": text}`` when keys were live or events were applied, else ``{}``."""
        if self.keys is None and not self.recorder.events:
            return {}
        sc = self.sim.loaded.scenario
        return {EVENTS_NAME: self.recorder.text(sc.name, sc.seed)}
