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
from simpy.events import NORMAL

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


class _Due:
    """A deferred call on simpy's event queue: the two attributes
    :meth:`simpy.Environment.step` reads of a processed event (``callbacks``, ``_ok``),
    without a :class:`simpy.Timeout`'s construction (a campus schedules a few hundred
    thousand of them a simulated day)."""

    __slots__ = ("_ok", "callbacks", "fn")

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self._ok = True
        self.callbacks: list[Callable[[_Due], None]] | None = [_Due._fire]

    @staticmethod
    def _fire(due: _Due) -> None:
        due.fn()


class SimpyClock:
    """A :class:`Clock` on a simpy environment: each call is one entry of its event queue,
    scheduled as a :class:`simpy.Timeout` of the same delay would be (normal priority,
    the environment's next event id), so simultaneous calls keep their order."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._schedule = env.schedule

    @property
    def now(self) -> float:
        """The environment's time (s): its ``_now``, which its ``now`` property returns
        (read directly: the core asks the time several times per event)."""
        return self.env._now  # type: ignore[no-any-return]

    def call_in(self, delay: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` ``delay`` s from now (after calls already due then)."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        self._schedule(_Due(fn), NORMAL, delay)  # type: ignore[arg-type]


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
