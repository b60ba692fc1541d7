"""Arrivals: submit each work item at its submission time (one simpy process)."""

from __future__ import annotations

from collections.abc import Iterator

import simpy

from emulator.core.core import Core
from emulator.work_book import WorkBook

__all__ = ["arrivals"]


def arrivals(env: simpy.Environment, core: Core, works: WorkBook,
             counter: list[int]) -> Iterator[simpy.Event]:
    """Submit ``works`` in (submit time, id) order; ``counter[0]`` counts wake-ups. A
    job's object is made when it arrives (see :class:`WorkBook`)."""
    for work_id in works.arrival_order():
        work = works.arrive(work_id) if work_id < works.n_jobs else works[work_id]
        delay = work.submit_s - env.now
        if delay > 0:
            yield env.timeout(delay)
            counter[0] += 1
        core.submit(work)
