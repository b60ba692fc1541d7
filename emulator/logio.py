"""Save an event log to one ``.npz`` file and load it back, bit for bit.

Saved: the work-event and placement columns, the reason table, infrastructure events,
request rows or aggregated request statistics, service objectives and samples (per-rack
utilisation included when the log kept it) and energy samples. A loaded log has the
same digest as the saved one, and every table derived from it is identical: that is what
makes the log, not the engine's objects, the source of results.
"""

from __future__ import annotations

import json
from array import array
from pathlib import Path

import numpy as np

from emulator.eventlog import EventLog, RequestBatch, Sample
from emulator.request_stats import LogHistogram, RequestStats

__all__ = ["load_log", "save_log"]

_WORK = ("work_t", "work_kind", "work_id", "work_tenant", "work_gpus", "work_tier",
         "work_lost_gpu_s", "work_speed", "work_remaining", "work_reason", "work_place",
         "place_domain", "place_gpus", "infra_t", "infra_kind", "infra_subject",
         "infra_value", "infra_label", "infra_gpu_first", "infra_gpu_last")
_SINCE = {"infra_gpu_first": "infra_t", "infra_gpu_last": "infra_t"}
"""Columns a log saved by an earlier version lacks: filled with -1, one per row of the
column named (an infra event of unknown GPUs)."""
_REQ = ("arrival_s", "wait_s", "ttft_s", "tpot_s", "e2e_s", "prompt_tokens", "output_tokens")


def save_log(log: EventLog, path: Path) -> None:
    """Write ``log`` to ``path`` (an ``.npz`` file)."""
    arrays: dict[str, np.ndarray] = {}
    for name in _WORK:
        col = getattr(log, name)
        arrays[name] = np.frombuffer(col, dtype=col.typecode) if len(col) else np.empty(
            0, col.typecode)
    sizes = [b.arrival_s.size for b in log.requests]
    arrays["req_service"] = np.array([b.service for b in log.requests], dtype=np.int64)
    arrays["req_sizes"] = np.array(sizes, dtype=np.int64)
    for name in _REQ:
        parts = [getattr(b, name) for b in log.requests]
        arrays[f"req_{name}"] = np.concatenate(parts) if parts else np.empty(0)
    s = log.samples
    arrays["s_t"] = np.array([x.t for x in s], dtype=np.float64)
    arrays["s_it"] = np.array([x.it_w for x in s], dtype=np.float64).reshape(len(s), -1)
    arrays["s_fac"] = np.array([x.facility_w for x in s], dtype=np.float64).reshape(len(s), -1)
    arrays["s_ints"] = np.array([[x.busy_gpus, x.running, *x.queue_by_tenant] for x in s],
                                dtype=np.int64).reshape(len(s), -1)
    arrays["s_util"] = np.array([x.mean_util for x in s], dtype=np.float64)
    racks = [x.rack_util for x in s]
    if racks and all(r is not None for r in racks):
        arrays["s_racks"] = np.array(racks, dtype=np.float32)
    if s and all(x.site_busy is not None and x.site_util is not None for x in s):
        arrays["s_site_busy"] = np.array([x.site_busy for x in s], dtype=np.int64)
        arrays["s_site_util"] = np.array([x.site_util for x in s], dtype=np.float64)
    if log.energy:
        from dataclasses import fields

        for f in fields(log.energy[0]):
            arrays[f"e_{f.name}"] = np.array([getattr(e, f.name) for e in log.energy])
    meta = {
        "tenants": list(log.tenants), "sites": list(log.sites), "reasons": log.reasons,
        "keep_rack_util": log.keep_rack_util, "keep_requests": log.keep_requests,
        "slo": {str(k): list(v) for k, v in log.slo.items()},
        "request_stats": {str(k): _stats_to_json(v) for k, v in log.request_stats.items()},
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_log(path: Path) -> EventLog:
    """Read a log written by :func:`save_log`."""
    with np.load(path) as npz:
        data = {k: npz[k] for k in npz.files}  # each access of an NpzFile reads anew
        meta = json.loads(bytes(data["meta"]).decode())
        log = EventLog(tenants=tuple(meta["tenants"]), sites=tuple(meta["sites"]),
                       keep_rack_util=meta["keep_rack_util"],
                       keep_requests=meta["keep_requests"])
        for name in _WORK:
            col: array = getattr(log, name)
            values = data.get(name)
            if values is None and name in _SINCE:
                values = np.full(data[_SINCE[name]].size, -1)
            col.frombytes(np.ascontiguousarray(values, dtype=col.typecode).tobytes())
        log.reasons[:] = meta["reasons"]
        log._reason_code.clear()
        log._reason_code.update({r: i for i, r in enumerate(log.reasons)})
        log.slo.update({int(k): (v[0], v[1]) for k, v in meta["slo"].items()})
        log.request_stats.update({int(k): _stats_from_json(v)
                                  for k, v in meta["request_stats"].items()})
        edges = np.cumsum(np.concatenate([[0], data["req_sizes"]]))
        for i, service in enumerate(data["req_service"].tolist()):
            lo, hi = int(edges[i]), int(edges[i + 1])
            log.requests.append(RequestBatch(service, *(data[f"req_{n}"][lo:hi] for n in _REQ)))
        racks = data.get("s_racks")
        site_busy, site_util = data.get("s_site_busy"), data.get("s_site_util")
        n_t = len(log.tenants)
        for i, t in enumerate(data["s_t"].tolist()):
            ints = data["s_ints"][i].tolist()
            log.samples.append(Sample(
                t=t, it_w=data["s_it"][i].copy(), facility_w=data["s_fac"][i].copy(),
                busy_gpus=ints[0], mean_util=float(data["s_util"][i]),
                queue_by_tenant=tuple(ints[2:2 + n_t]), running=ints[1],
                rack_util=None if racks is None else racks[i].copy(),
                site_busy=None if site_busy is None else site_busy[i].copy(),
                site_util=None if site_util is None else site_util[i].copy()))
        names = [k[2:] for k in data if k.startswith("e_")]
        if names:
            from emulator.energy.model import EnergySample

            for i in range(len(data["e_t"])):
                log.energy.append(EnergySample(**{
                    n: (float(data[f"e_{n}"][i]) if data[f"e_{n}"].ndim == 1
                        else data[f"e_{n}"][i].copy()) for n in names}))
    return log


def _stats_to_json(st: RequestStats) -> dict[str, object]:
    return {"count": st.count, "unreachable": st.unreachable, "unfinished": st.unfinished,
            "slo_met": st.slo_met,
            "prompt_tokens": st.prompt_tokens, "output_tokens": st.output_tokens,
            "sums": st.sums, "counted": st.counted,
            "hists": {k: {str(b): c for b, c in h.counts.items()} for k, h in st.hists.items()}}


def _stats_from_json(d: dict) -> RequestStats:  # type: ignore[type-arg]
    st = RequestStats(count=d["count"], unreachable=d["unreachable"],
                      unfinished=d.get("unfinished", 0), slo_met=d["slo_met"],
                      prompt_tokens=d["prompt_tokens"], output_tokens=d["output_tokens"])
    st.sums.update(d["sums"])
    st.counted.update(d["counted"])
    for k, h in d["hists"].items():
        st.hists[k] = LogHistogram({int(b): c for b, c in h.items()})
    return st
