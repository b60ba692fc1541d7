"""Goodput and its GPU-hours per training job (:func:`emulator.failure_metrics.job_figures`)
where jobs run at more than one speed: on a heterogeneous cluster (Gavel's GPU types),
after preemptions (each later start pays a checkpoint restore) and while datasets stage.

Goodput is productive ÷ held GPU-seconds, so it can never exceed 1; before it counted a
job's work at the speed of its last run, and a job that finished on a slow GPU type after
computing most of its work on a fast one counted more productive time than it held."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emulator.build import build
from emulator.eventlog import Ev
from emulator.failure_metrics import goodput_ettr, job_figures
from emulator.loader import load_scenario, validate_scenario
from tests.test_running_columns import _staged

ROOT = Path(__file__).resolve().parent.parent


def done_at_speed(sim: Any, ids: list[int]) -> np.ndarray:
    """Per job of ``ids``: the fraction of its work done by the end, as the log's last
    remaining fraction gives it (a finish: all of it), × its full duration × its GPUs (s)."""
    c = sim.log.work_columns()
    k, w, left = c["kind"], c["work_id"], c["remaining"]
    remaining = dict.fromkeys(ids, 1.0)
    marks = np.flatnonzero(np.isin(k, (Ev.INTERRUPT, Ev.PREEMPT, Ev.TRUNCATE, Ev.FINISH)))
    for i in marks.tolist():
        wid = int(w[i])
        if wid in remaining:
            value = 0.0 if k[i] == Ev.FINISH else float(left[i])
            if value == value:  # a queued job's truncation logs none (NaN)
                remaining[wid] = value
    return np.array([(1.0 - remaining[i]) * sim.works[i].full_duration_s * sim.works[i].n_gpus
                     for i in ids])


def test_goodput_at_most_one_on_gpus_of_different_speeds() -> None:
    """Gavel's trace under max-min fairness with its default options moves jobs between
    V100, P100 and K80 every round: 1.08 before, at most 1 now (and exactly 1 here, as its
    replayed jobs lose nothing when moved and pay no restore)."""
    sim = build(load_scenario(ROOT / "examples" / "gavel_heterogeneous.yaml",
                              ["scheduler.queue=max-min-fairness", "scheduler.options={}"]),
                backend="numpy")
    sim.run()
    jf = job_figures(sim.log, sim.works, sim.horizon_s)
    assert (jf["productive_gpu_s"] <= jf["held_gpu_s"] * (1 + 1e-12)).all()
    goodput, _ettr = goodput_ettr(jf)
    assert goodput is not None and goodput <= 1.0 + 1e-12, goodput
    assert jf["lost_gpu_s"].sum() == 0 and jf["resume_gpu_s"].sum() == 0
    np.testing.assert_allclose(jf["productive_gpu_s"], jf["held_gpu_s"], rtol=1e-12)


def test_restores_after_preemption_and_staging_are_not_productive() -> None:
    """LAS preempting jobs whose datasets stage over a slow link: the restore a job pays
    at each start after a preemption and the time its GPUs wait for its data are counted
    apart, and what is left is its work at its speed (the fraction done × full duration),
    for every job whose runs all had one network tier and one speed."""
    sim = build(validate_scenario(_staged("las")), backend="numpy")
    sim.run()
    jf = job_figures(sim.log, sim.works, sim.horizon_s)
    assert jf["resume_gpu_s"].sum() > 0 and jf["staging_gpu_s"].sum() > 0
    c = sim.log.work_columns()
    k, w = c["kind"], c["work_id"]
    ids = jf["work_id"].tolist()
    same = np.array([np.unique(c["tier"][(k == Ev.START) & (w == i)]).size == 1
                     and not ((k == Ev.RERATE) & (w == i)).any() for i in ids])
    assert same.sum() >= 10
    done = done_at_speed(sim, ids)
    kept = jf["productive_gpu_s"] + jf["checkpoint_gpu_s"]
    np.testing.assert_allclose(kept[same], done[same], rtol=1e-9, atol=1e-3)
    # every job's time held is accounted for by one of the parts, none negative
    parts = ("productive_gpu_s", "checkpoint_gpu_s", "lost_gpu_s", "restart_gpu_s",
             "resume_gpu_s", "staging_gpu_s")
    assert all((jf[p] >= -1e-6).all() for p in parts)
    np.testing.assert_allclose(sum(jf[p] for p in parts), jf["held_gpu_s"], rtol=1e-9,
                               atol=1e-3)
