"""Many runs in one process (sweep cells) do not keep the earlier runs alive.

A finished simulation is cyclic garbage. Each run freezes the heap while it runs (so the
cyclic collector does not walk a million job objects again and again), and what is frozen
is never collected: the collection before the freeze has to be a full one, or every
earlier run of a sweep worker would be frozen again and kept for the life of the process.
"""

from __future__ import annotations

import gc

from emulator.cells import Payload, run_payload
from emulator.engine import Engine
from tests.conftest import small_scenario


def test_earlier_runs_are_freed() -> None:
    # Engines other tests keep (fixtures) are held here so that their ids stay unique.
    others = [o for o in gc.get_objects() if isinstance(o, Engine)]
    known = {id(o) for o in others}
    alive = []
    for seed in range(4):
        run_payload(Payload(small_scenario(duration="2h", seed=seed), "scenario.yaml",
                            "summary", None, {}))
        alive.append(sum(isinstance(o, Engine) and id(o) not in known
                         for o in gc.get_objects()))
    # The run just finished may still wait for the collector; none of the earlier ones.
    assert max(alive) <= 2, f"engines alive after each run: {alive}"
