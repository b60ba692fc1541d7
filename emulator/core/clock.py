"""Simulated time for the core: a clock that says what time it is and calls back later.

The core never imports simpy. In a run, :class:`SimpyClock` wraps the simpy environment
(simpy stays the clock and orders simultaneous events by when they were scheduled); unit
tests drive the core with :class:`ManualClock`, a plain heap of callbacks.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Protocol

import simpy

__all__ = ["Clock", "ManualClock", "SimpyClock"]


class Clock(Protocol):
    """Time now (s) and deferred calls."""

    @property
    def now(self) -> float:
        """Simulated seconds since the start of the run."""
        ...

    def call_in(self, delay: float, fn: Callable[[], None]) -> None:
        """Call ``fn()`` ``delay`` seconds from now (after calls already due then)."""
        ...


class SimpyClock:
    """A :class:`Clock` on a simpy environment: each call is one simpy timeout."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    @property
    def now(self) -> float:
        """The environment's time (s)."""
        return self.env.now

    def call_in(self, delay: float, fn: Callable[[], None]) -> None:
        """One simpy timeout whose callback calls ``fn``."""
        self.env.timeout(delay).callbacks.append(lambda _event: fn())


class ManualClock:
    """A :class:`Clock` for tests: callbacks run in (time, order scheduled) order."""

    def __init__(self) -> None:
        self._now = 0.0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    @property
    def now(self) -> float:
        """Time reached so far (s)."""
        return self._now

    def call_in(self, delay: float, fn: Callable[[], None]) -> None:
        """Queue ``fn`` at ``now + delay``."""
        heapq.heappush(self._heap, (self._now + delay, next(self._seq), fn))

    def run(self, until: float = float("inf")) -> None:
        """Run queued callbacks due up to ``until`` (inclusive), advancing the time."""
        while self._heap and self._heap[0][0] <= until:
            t, _seq, fn = heapq.heappop(self._heap)
            self._now = t
            fn()
        if until != float("inf"):
            self._now = max(self._now, until)
