"""Engine speed: simulated events per wall second, against a bare simpy loop.

For each scenario this runs the emulator once, counts the events it simulated (every
entry of the event log: job submissions, starts, finishes, inference requests, power
samples), then runs a bare simpy loop doing the same number of timeouts, and prints the
ratio ``emulator events/s ÷ bare simpy timeouts/s`` (target ≥ 0.3) plus the wall time.

Two scenarios: the 7-day Bizerte example as shipped (mostly inference requests), and a
training-only variant with ~20,000 small jobs, where every event goes through the simpy
heap and a scheduling round (the harder case for the ratio).

    python bench/engine.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.build import build  # noqa: E402
from emulator.loader import load_scenario  # noqa: E402


def bare_simpy(n: int) -> float:
    """Seconds for a bare simpy process doing ``n`` timeouts."""
    env = simpy.Environment()

    def proc(env: simpy.Environment):  # type: ignore[no-untyped-def]
        for _ in range(n):
            yield env.timeout(1.0)

    env.process(proc(env))
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def measure(label: str, overrides: list[str]) -> None:
    loaded = load_scenario(ROOT / "examples" / "bizerte_20mw.yaml", overrides)
    t0 = time.perf_counter()
    sim = build(loaded, backend="numpy")
    built = time.perf_counter() - t0
    sim.run()
    wall = sim.wall_s
    log = sim.log
    requests = sum(b.arrival_s.size for b in log.requests)
    events = len(log.work_t) + requests + len(log.samples)
    bare = bare_simpy(events)
    emu_rate = events / wall
    bare_rate = events / bare
    print(f"{label}")
    print(f"  simulated {sim.horizon_s / 86400:.1f} d in {wall:.2f} s wall (+{built:.2f} s build); "
          f"{sim.horizon_s / wall:,.0f}x real time")
    print(f"  events: {events:,} ({len(log.work_t):,} job events, {requests:,} requests, "
          f"{len(log.samples):,} samples); scheduling rounds {sim.engine.rounds:,}; "
          f"simpy callbacks {sim.engine.sim_events:,}")
    print(f"  emulator {emu_rate:,.0f} events/s; bare simpy {bare_rate:,.0f} timeouts/s; "
          f"ratio {emu_rate / bare_rate:.3f} (target >= 0.3)")


if __name__ == "__main__":
    measure("bizerte_20mw.yaml as shipped (7 d)", [])
    measure("bizerte_20mw.yaml, training only, ~20k small jobs (7 d)", [
        "tenants.eu-inference.inference=[]",
        "tenants.sovereign-tn.training.finetune.rate=2500/d",
        "tenants.sovereign-tn.training.finetune.tokens={dist: lognormal, median: 2e8, p90: 1e9}",
        "tenants.research.training.pretrain.rate=200/d",
    ])
