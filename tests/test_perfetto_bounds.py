"""The Perfetto trace's bounds on a small in-memory run."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from emulator.report.perfetto import build_trace
from emulator.report.rundata import RunData

_HORIZON_S = 86400.0
_SAMPLE_S = 300.0


def _run(n_jobs: int = 4) -> RunData:
    """One site sampled every 5 min for a day (facility power, queue, energy), and
    ``n_jobs`` jobs of 1,000 s on domains 0..n_jobs-1, one after another."""
    t = np.arange(0.0, _HORIZON_S, _SAMPLE_S)
    n = t.size
    starts = np.arange(n_jobs) * 1000.0
    ids = np.arange(n_jobs)
    events = {"t_s": np.r_[starts, starts + 1000.0],
              "event": np.array(["start"] * n_jobs + ["finish"] * n_jobs, dtype=object),
              "work_id": np.r_[ids, ids]}
    order = np.argsort(events["t_s"], kind="stable")
    return RunData(summary={"scenario": "thin", "seed": 1, "simulated_s": _HORIZON_S},
                   tables={
        "timeseries": {"t_s": t, "site": np.array(["s"] * n, dtype=object),
                       "facility_w": np.full(n, 2e6), "queued_a": np.arange(n) % 3},
        "energy": {"t_s": t, "site": np.array(["s"] * n, dtype=object),
                   "renewable_w": np.full(n, 1e6), "import_w": np.full(n, 1e6),
                   "export_w": np.zeros(n)},
        "events": {k: v[order] for k, v in events.items()},
        "placements": {"t_s": starts, "work_id": ids, "domain": ids,
                       "gpus": np.full(n_jobs, 8)},
        "jobs": {"work_id": ids, "tenant": np.array(["a"] * n_jobs, dtype=object),
                 "name": np.array([f"j{i}" for i in ids], dtype=object),
                 "kind": np.array(["training"] * n_jobs, dtype=object),
                 "n_gpus": np.full(n_jobs, 8)}})


def _counters(trace: dict[str, Any]) -> Counter[str]:
    return Counter(e["name"] for e in trace["traceEvents"] if e["ph"] == "C")


def test_thinned_counters_keep_every_series() -> None:
    """Three series interleave sample by sample; a stride that is a multiple of three
    used to keep only the first of them (no queue, no grid counter at all)."""
    full = _counters(build_trace(_run()))
    assert len(full) == 3 and len(set(full.values())) == 1
    for cap in (300, 1000, 2000):
        trace = build_trace(_run(), max_events=cap)
        assert "thinned" in trace["otherData"]["note"]
        kept = _counters(trace)
        assert set(kept) == set(full), (cap, kept)
        assert max(kept.values()) - min(kept.values()) <= 1
        assert len(trace["traceEvents"]) <= cap


def test_a_window_starting_on_a_sample_gives_one_counter_value_there() -> None:
    lo = 10 * _SAMPLE_S
    trace = build_trace(_run(), window=(lo, 20 * _SAMPLE_S))
    at_lo = Counter(e["name"] for e in trace["traceEvents"]
                    if e["ph"] == "C" and e["ts"] == lo * 1e6)
    assert at_lo and set(at_lo.values()) == {1}
    # between samples, the last one before the window still gives the value at its start
    mid = build_trace(_run(), window=(lo + 10.0, 20 * _SAMPLE_S))
    assert any(e["ph"] == "C" and e["ts"] == (lo + 10.0) * 1e6 for e in mid["traceEvents"])


def test_slices_cut_by_the_cap_leave_no_empty_track() -> None:
    trace = build_trace(_run(n_jobs=60), max_events=100)
    events = trace["traceEvents"]
    assert "job slices cut" in trace["otherData"]["note"]
    used = {e["tid"] for e in events if e["ph"] == "X"}
    named = {e["tid"] for e in events if e["ph"] == "M" and e["pid"] == 1
             and e["name"] == "thread_name"}
    assert used and named == used
    assert len(events) <= 100
