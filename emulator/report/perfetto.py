"""Chrome / Perfetto trace-event JSON of a run, from its output folder.

Opens in ui.perfetto.dev or chrome://tracing. Layout:

* process "NVLink domains": one track (thread) per domain and lane; each run of a job
  on a domain is a complete slice (``"ph": "X"``) named after the job, category its
  tenant. Jobs sharing a domain at the same time go on separate lanes
  (``domain 5 · lane 1``), because slices on one track must nest;
* process "site power": a counter (``"ph": "C"``) per site, facility power in MW (and
  renewable, import, export where the run has an energy model);
* process "queues": a counter of waiting work per tenant;
* process "infrastructure": instant events (``"ph": "i"``) for cable cuts and repairs,
  service RTT changes, GPUs taken down and brought back (with the lowest and highest GPU
  id each concerns, ``gpu_first``/``gpu_last``, where the run logged them).

Times are microseconds since the scenario's start (``ts``), durations non-negative
microseconds (``dur``). Bounds for big runs: ``window`` keeps what overlaps
``[from, to)`` (slices clipped to it); ``max_events`` caps the events (default
:data:`DEFAULT_MAX_EVENTS`): instants keep at most a tenth of it, counters are thinned
to an even stride within three tenths (each series over its own samples, so none is
lost), and slices keep the earliest starts in the rest.
When anything is cut, ``otherData.truncated`` is true and ``otherData.note`` says what.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emulator.report.rundata import RunData
from emulator.report.segments import job_segments, lanes

__all__ = ["DEFAULT_MAX_EVENTS", "build_trace"]

DEFAULT_MAX_EVENTS = 1_000_000
_US = 1e6
_PID_DOMAINS, _PID_POWER, _PID_QUEUES, _PID_INFRA = 1, 2, 3, 4


def _meta(pid: int, name: str, tid: int = 0, thread: str | None = None) -> dict[str, Any]:
    if thread is None:
        return {"name": "process_name", "ph": "M", "pid": pid, "tid": tid,
                "args": {"name": name}}
    return {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": thread}}


def _stride(n: int, most: int) -> int:
    return max(1, math.ceil(n / max(most, 1)))


def _thin(counters: list[dict[str, Any]], most: int) -> tuple[list[dict[str, Any]], int]:
    """(``counters`` thinned to at most ``most`` events, the stride used).

    Each counter series (one name) keeps every ``step``-th of its own samples, its first
    included, so every series stays in the trace however the series interleave in time;
    the stride is the smallest that fits them all in ``most``.
    """
    series: dict[str, list[dict[str, Any]]] = {}
    for event in counters:
        series.setdefault(event["name"], []).append(event)
    step = _stride(len(counters), most)
    longest = max((len(s) for s in series.values()), default=1)
    while 1 < step < longest and sum(math.ceil(len(s) / step)
                                     for s in series.values()) > most:
        step += 1
    if step == 1:
        return counters, 1
    kept = [e for s in series.values() for e in s[::step]]
    return sorted(kept, key=lambda e: e["ts"]), step


def build_trace(data: RunData, window: tuple[float, float] | None = None,
                max_events: int = DEFAULT_MAX_EVENTS) -> dict[str, Any]:
    """The trace of ``data`` as a JSON-ready dict (see the module notes for the bounds).

    ``window`` is clipped to the simulated ``[0, horizon]`` (said in the note); one that
    does not overlap it is a ``ValueError``, since nothing was simulated there.
    """
    horizon = max(data.horizon_s, 0.0)
    lo, hi = window if window is not None else (0.0, horizon)
    notes: list[str] = []
    clipped = ""
    if window is not None and horizon > 0:
        if lo >= horizon or hi <= 0:
            raise ValueError(f"window {lo:g} s to {hi:g} s does not overlap the run "
                             f"(0 to {horizon:g} s)")
        if lo < 0 or hi > horizon:
            clipped = f" (clipped to the simulated 0 to {horizon:g} s)"
            lo, hi = max(lo, 0.0), min(hi, horizon)
    meta: list[dict[str, Any]] = [
        _meta(_PID_DOMAINS, "NVLink domains"), _meta(_PID_POWER, "site power"),
        _meta(_PID_QUEUES, "queues"), _meta(_PID_INFRA, "infrastructure"),
        _meta(_PID_INFRA, "", 1, "events")]
    instants = _instants(data, lo, hi)
    budget = max(max_events - len(meta), 0)
    if len(instants) > budget // 10:
        notes.append(f"{len(instants) - budget // 10:,} of {len(instants):,} instant events "
                     "cut (latest dropped)")
        instants = instants[: budget // 10]
    counters, step = _thin(_counters(data, lo, hi), (3 * budget) // 10)
    if step > 1:
        notes.append(f"counters thinned to one sample in {step}")
    slices, lane_meta = _slices(data, lo, hi)
    room = budget - len(instants) - len(counters) - len(lane_meta)
    if len(slices) > room:
        room = max(room, 0)
        last = slices[room - 1]["ts"] / _US if room else lo
        notes.append(f"{len(slices) - room:,} of {len(slices):,} job slices cut (kept the "
                     f"earliest starts, up to t = {last:,.0f} s); narrow --from/--to or raise "
                     "--max-events")
        slices = slices[:room]
        used = {e["tid"] for e in slices}  # no empty track for the slices cut
        lane_meta = [m for m in lane_meta if m["tid"] in used]
    if window is not None:
        notes.insert(0, f"window {lo:g} s to {hi:g} s only{clipped}")
    events = meta + lane_meta + slices + counters + instants
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"scenario": data.name, "seed": data.summary.get("seed"),
                      "start": data.start.isoformat(), "time_origin": "scenario start",
                      "window_s": [lo, hi], "truncated": any("cut" in n or "thinned" in n
                                                             for n in notes),
                      "note": "; ".join(notes) or "complete"},
    }


def _slices(data: RunData, lo: float, hi: float
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    seg = job_segments(data)
    if seg.size == 0:
        return [], []
    start = np.maximum(seg.start_s, lo)
    end = np.minimum(seg.end_s, hi)
    keep = (end > start) | ((seg.start_s == seg.end_s) & (seg.start_s >= lo)
                            & (seg.start_s < hi))
    idx = np.flatnonzero(keep)
    jobs = data.columns("jobs", ["work_id", "tenant", "name", "kind", "n_gpus"])
    by_id = {int(w): i for i, w in enumerate(jobs.get("work_id", np.empty(0)).tolist())}
    lane = lanes(seg.domain[idx], start[idx], end[idx])
    tids: dict[tuple[int, int], int] = {}
    lane_meta = []
    for d, k in sorted(set(zip(seg.domain[idx].tolist(), lane.tolist(), strict=True))):
        tids[(d, k)] = len(tids) + 1
        name = f"domain {d}" if k == 0 else f"domain {d} · lane {k}"
        lane_meta.append(_meta(_PID_DOMAINS, "", tids[(d, k)], name))
    out = []
    order = np.argsort(start[idx], kind="stable")
    for j in order.tolist():
        i = idx[j]
        w = int(seg.work_id[i])
        row = by_id.get(w)
        tenant = str(jobs["tenant"][row]) if row is not None else "?"
        name = str(jobs["name"][row]) if row is not None else f"work {w}"
        out.append({"name": name, "cat": tenant, "ph": "X",
                    "ts": round(float(start[i]) * _US, 3),
                    "dur": round(max(float(end[i] - start[i]), 0.0) * _US, 3),
                    "pid": _PID_DOMAINS, "tid": tids[(int(seg.domain[i]), int(lane[j]))],
                    "args": {"work_id": w, "tenant": tenant, "gpus_in_domain":
                             int(seg.gpus[i]),
                             "kind": str(jobs["kind"][row]) if row is not None else "?"}})
    return out, lane_meta


def _counter_rows(t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Rows of samples inside the window, plus the last one before it (its value holds)
    unless a sample falls on ``lo`` itself (two values at one time would be ambiguous)."""
    inside = (t >= lo) & (t < hi)
    before = np.flatnonzero(t < lo)
    if before.size and not (t == lo).any():
        inside[before[-1]] = True
    return np.flatnonzero(inside)


def _counters(data: RunData, lo: float, hi: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    energy = data.columns("energy", ["t_s", "site", "renewable_w", "import_w", "export_w"])
    ts = data.columns("timeseries")
    if ts:
        for site in dict.fromkeys(ts["site"].tolist()):
            sel = np.flatnonzero(ts["site"] == site)
            for r in _counter_rows(ts["t_s"][sel], lo, hi).tolist():
                i = sel[r]
                out.append({"name": f"{site} facility power (MW)", "ph": "C",
                            "ts": round(max(float(ts["t_s"][i]), lo) * _US, 3),
                            "pid": _PID_POWER, "tid": 0,
                            "args": {"MW": round(float(ts["facility_w"][i]) / 1e6, 6)}})
        first = np.flatnonzero(ts["site"] == ts["site"][0]) if ts["site"].size else []
        tenants = [k for k in ts if k.startswith("queued_")]
        for r in _counter_rows(ts["t_s"][first], lo, hi).tolist() if len(first) else []:
            i = first[r]
            out.append({"name": "queued work", "ph": "C",
                        "ts": round(max(float(ts["t_s"][i]), lo) * _US, 3),
                        "pid": _PID_QUEUES, "tid": 0,
                        "args": {k[len("queued_"):]: int(ts[k][i]) for k in tenants}})
    if energy:
        for site in dict.fromkeys(energy["site"].tolist()):
            sel = np.flatnonzero(energy["site"] == site)
            for r in _counter_rows(energy["t_s"][sel], lo, hi).tolist():
                i = sel[r]
                out.append({"name": f"{site} grid and renewables (MW)", "ph": "C",
                            "ts": round(max(float(energy["t_s"][i]), lo) * _US, 3),
                            "pid": _PID_POWER, "tid": 0,
                            "args": {k: round(float(energy[f"{k}_w"][i]) / 1e6, 6)
                                     for k in ("renewable", "import", "export")}})
    return sorted(out, key=lambda e: e["ts"])


def _instants(data: RunData, lo: float, hi: float) -> list[dict[str, Any]]:
    infra = data.columns("infra", ["t_s", "event", "subject", "value", "label", "gpu_first",
                                   "gpu_last"])
    if not infra:
        return []
    n = infra["t_s"].size
    first = infra.get("gpu_first", np.full(n, -1))  # absent in earlier versions' folders
    last = infra.get("gpu_last", np.full(n, -1))
    out = []
    for t, kind, subject, value, label, g0, g1 in zip(
            infra["t_s"].tolist(), infra["event"].tolist(), infra["subject"].tolist(),
            infra["value"].tolist(), infra["label"].tolist(), first.tolist(), last.tolist(),
            strict=True):
        if not lo <= t < hi:
            continue
        args: dict[str, Any] = {"label": str(label or "")}
        if kind == "rtt":
            reachable = math.isfinite(value)  # no route left: an infinite RTT, read as null
            args.update(service=int(subject), reachable=reachable,
                        rtt_ms=round(value * 1e3, 4) if reachable else None)
        elif kind in ("gpus_down", "gpus_up"):
            args["gpus"] = None if not math.isfinite(value) else int(value)
        if int(g0) >= 0:  # where: the component's or the target's GPU ids
            args.update(gpu_first=int(g0), gpu_last=int(g1))
        name = f"{kind} {label}".strip() if kind != "rtt" else f"rtt service {int(subject)}"
        out.append({"name": name, "cat": "infrastructure", "ph": "i", "s": "g",
                    "ts": round(float(t) * _US, 3), "pid": _PID_INFRA, "tid": 1, "args": args})
    return out
