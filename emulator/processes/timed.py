"""Exogenous events at given times (cable cuts and repairs): one simpy process."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import simpy

__all__ = ["timed_events"]


def timed_events(env: simpy.Environment, actions: Sequence[tuple[float, Callable[[float], None]]],
                 after: Callable[[float], None], counter: list[int]) -> Iterator[simpy.Event]:
    """Call each ``action(now)`` at its time, then ``after(now)`` (e.g. re-rate transfers)."""
    for t, action in sorted(actions, key=lambda a: a[0]):
        if t > env.now:
            yield env.timeout(t - env.now)
            counter[0] += 1
        action(env.now)
        after(env.now)
