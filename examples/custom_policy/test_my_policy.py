"""Tests of the tutorial policy: its decisions on a real run, and against FIFO.

Run with ``PYTHONPATH=examples/custom_policy:. pytest examples/custom_policy`` from the
repository root (``tests/test_policy_custom_example.py`` runs them in the main suite).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.build import build
from emulator.loader import load_scenario
from emulator.tables import jobs_table

HERE = Path(__file__).resolve().parent


def _run(queue: str | None = None):  # type: ignore[no-untyped-def]
    overrides = [] if queue is None else [f"scheduler.queue={queue}", "scheduler.options={}"]
    # keep_segments: each work keeps the GPU ids of its runs, for the no-sharing check
    sim = build(load_scenario(HERE / "scenario.yaml", overrides), keep_segments=True)
    sim.run()
    return sim, jobs_table(sim.log, sim.works)


def test_small_jobs_wait_less_than_under_fifo() -> None:
    sim, mine = _run()
    assert sim.engine.policy.name == "small-jobs-first"
    _, fifo = _run("fifo")
    small = mine["n_gpus"] <= 8
    assert small.any() and (~small).any()
    wait_mine = np.nanmean(mine["wait_s"][small])
    wait_fifo = np.nanmean(fifo["wait_s"][fifo["n_gpus"] <= 8])
    assert wait_mine < wait_fifo


def test_every_job_ends_and_no_gpu_is_shared() -> None:
    sim, table = _run()
    assert set(table["state"]) <= {"finished", "truncated", "rejected"}
    assert (table["state"] == "finished").sum() > 0
    holder = {}
    assert any(w.segments for w in sim.works)  # the check below has runs to look at
    for w in sim.works:
        for start, end, gpus in w.segments or []:
            for g in gpus.tolist():
                for s0, e0 in holder.get(g, []):
                    assert end <= s0 or start >= e0, f"GPU {g} held twice"
                holder.setdefault(g, []).append((start, end))
