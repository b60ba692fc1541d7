"""A sample holds for the interval after it, so it shows the GPUs held once its instant's
scheduling round has run: a completion and the start it makes room for at a sample tick
(Tiresias's whole-second trace on 60 s samples), or a Gavel round boundary on a tick, must
not read as idle GPUs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emulator import api
from emulator.processes.sampler import Sampler
from emulator.serving import ServingModel
from tests.conftest import run_scenario, small_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _held_after(events: pd.DataFrame, t: np.ndarray) -> np.ndarray:
    """GPUs held once every event at or before each time in ``t`` is applied."""
    sign = events.event.map({"start": 1, "finish": -1, "preempt": -1, "interrupt": -1,
                             "lost": -1}).fillna(0)
    step = (sign * events.n_gpus).to_numpy()
    times = events.t_s.to_numpy()
    held = np.cumsum(step)
    idx = np.searchsorted(times, t, side="right") - 1
    return np.where(idx >= 0, held[np.maximum(idx, 0)], 0)


@pytest.mark.parametrize("example, until", [("tiresias_60.yaml", None),
                                            ("gavel_heterogeneous.yaml", "10h")])
def test_samples_show_the_gpus_held_after_the_round(example: str, until: str | None) -> None:
    res = api.run(EXAMPLES / example, until=until)
    events = pd.DataFrame(res.tables["events"])
    ts = res.timeseries.groupby("t_s").busy_gpus.sum()
    want = _held_after(events, ts.index.to_numpy())
    wrong = ts.index[ts.to_numpy() != want].tolist()
    assert not wrong, f"samples at {wrong[:5]} s miss the GPUs their round started"


def _counts_after(events: pd.DataFrame, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(running, queued) work once every event at or before each time in ``t`` is applied."""
    running = events.event.map({"start": 1, "finish": -1, "preempt": -1, "interrupt": -1,
                                "lost": -1}).fillna(0).to_numpy()
    queued = events.event.map({"submit": 1, "start": -1, "preempt": 1, "reject": -1,
                               "cancel": -1, "requeue": 1}).fillna(0).to_numpy()
    idx = np.searchsorted(events.t_s.to_numpy(), t, side="right") - 1
    pick = np.maximum(idx, 0)
    return (np.where(idx >= 0, np.cumsum(running)[pick], 0),
            np.where(idx >= 0, np.cumsum(queued)[pick], 0))


@pytest.mark.parametrize("overrides", [(), ("scheduler.queue=dlas-gpu",)])
def test_an_arrival_at_a_sample_instant_is_in_that_sample(overrides: tuple[str, ...]) -> None:
    """Philly's trace (times × 0.4 on 10 min samples) has jobs arriving at 1,200, 2,400
    and 3,600 s, each started at once: their events are scheduled after the sampler's tick
    of that instant, and the sample must still show them."""
    res = api.run(EXAMPLES / "philly_replay.yaml", overrides, until="2h")
    events = pd.DataFrame(res.tables["events"])
    ts = res.timeseries.groupby("t_s").first()
    t = ts.index.to_numpy()
    assert {1200.0, 2400.0, 3600.0} <= set(events.t_s[events.event == "submit"]) & set(t)
    running, queued = _counts_after(events, t)
    busy = _held_after(events, t)
    queue = ts[[c for c in ts.columns if c.startswith("queued_")]].sum(axis=1).to_numpy()
    assert t[ts.busy_gpus.to_numpy() != busy].tolist() == []
    assert t[ts.running.to_numpy() != running].tolist() == []
    assert t[queue != queued].tolist() == []


def test_a_wakeup_round_at_a_sample_instant_is_in_that_sample(tmp_path: Path) -> None:
    """dlas-gpu demotes a job the moment its service crosses a threshold (a round it asks
    for with ``next_wakeup``): a 4-GPU job crossing 1,000 GPU-s at 250 s, a sample tick,
    is preempted there for a 2-GPU job queued at 210 s. The round at 210 s asks for that
    wake-up after the sampler's tick at 250 s was scheduled (at 200 s), and the sample at
    250 s must still show the preemption and the start."""
    trace = tmp_path / "trace.csv"
    trace.write_text("job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n"
                     "1,4,0,1,a,10000,1\n"
                     "2,2,210,1,b,100,1\n")
    scenario = {
        "name": "wakeup-tick", "seed": 1, "duration": "1h",
        "sites": [{"name": "lab", "country": "US", "city": "Ann Arbor",
                   "location": {"lat": 42.28, "lon": -83.74}, "grid_connection": "1MW",
                   "cooling": "air",
                   "halls": [{"name": "gpus", "system": "generic", "gpus_per_node": 4,
                              "nodes": 1}]}],
        "tenants": {"lab": {"traces": [{"kind": "tiresias", "path": str(trace),
                                         "model": "generic", "runtime": "as_given"}]}},
        "scheduler": {"queue": "dlas-gpu", "placement": "pack",
                      "options": {"thresholds": [1000]}},
        "compute": {"backend": "numpy"},
        "engine": {"sample_interval": "50s"},
    }
    res = api.run(scenario)
    events = pd.DataFrame(res.tables["events"])
    at = events[events.t_s == 250.0]
    assert at.event.tolist() == ["preempt", "start"], at  # no arrival or finish at 250 s
    ts = res.timeseries.set_index("t_s")
    assert ts.busy_gpus[250.0] == 2
    assert ts.queued_lab[250.0] == 1
    t = ts.index.to_numpy()
    assert t[ts.busy_gpus.to_numpy() != _held_after(events, t)].tolist() == []


def test_a_sample_sees_the_serving_window_ending_at_its_instant(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sample at t holds for the interval after t: it is taken with the replica
    utilisation (and autoscaling) of the serving window that ends at t, not the one
    before it."""
    served: list[float] = []
    seen: list[tuple[float, float]] = []
    advance, sample = ServingModel.advance, Sampler.sample

    def advance_and_note(self: ServingModel, t0: float, t1: float) -> None:
        advance(self, t0, t1)
        served.append(t1)

    def sample_and_note(self: Sampler, pue: np.ndarray) -> None:
        seen.append((self.core.now, served[-1] if served else 0.0))
        sample(self, pue)

    monkeypatch.setattr(ServingModel, "advance", advance_and_note)
    monkeypatch.setattr(Sampler, "sample", sample_and_note)
    data = small_scenario(duration="2h")
    del data["tenants"]["lab"]
    run_scenario(data)  # 10 min samples, 2 min serving windows
    assert len(seen) == 12
    assert [t for t, last in seen if last != t] == []
