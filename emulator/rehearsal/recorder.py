"""Every applied event of a run, written as a planned events file (``events.yaml``).

The recorder listens to the injector, so planned events and live injections are kept in
the order they were applied, each at the exact simulated time it was applied
(:func:`emulator.planned_events.format_events` writes ``repr`` of the float).
``gpuemu run SCENARIO --events OUT/events.yaml`` then replays the run: the same event log.
"""

from __future__ import annotations

from emulator.planned_events import PlannedEvent, format_events
from emulator.processes.planned_events import Injector

__all__ = ["EVENTS_NAME", "Recorder"]

EVENTS_NAME = "events.yaml"
"""The recorded file's name in the run's output folder."""


class Recorder:
    """Collects the events the injector applies."""

    def __init__(self, injector: Injector) -> None:
        self.events: list[PlannedEvent] = []
        injector.listeners.append(self.events.append)

    def text(self, scenario: str, seed: int) -> str:
        """The events file: a YAML list with a header saying how to replay it."""
        header = (f"events applied in a run of {scenario} (seed {seed}), at their simulated "
                  "times (s);\nreplay: gpuemu run SCENARIO --events events.yaml (same seed "
                  "and --until)")
        return format_events(self.events, header=header)
