"""Arrivals: submit each work item at its submission time (one simpy process)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import simpy

from emulator.core.core import Core
from emulator.work import Work

__all__ = ["arrivals"]


def arrivals(env: simpy.Environment, core: Core, works: Sequence[Work],
             counter: list[int]) -> Iterator[simpy.Event]:
    """Submit ``works`` in (submit time, id) order; ``counter[0]`` counts wake-ups."""
    for work in sorted(works, key=lambda w: (w.submit_s, w.work_id)):
        delay = work.submit_s - env.now
        if delay > 0:
            yield env.timeout(delay)
            counter[0] += 1
        core.submit(work)
