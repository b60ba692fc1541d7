"""Result tables derived from the event log (and the immutable work specs).

Each function returns a ``dict[str, numpy.ndarray]`` of equal-length columns, ready for
Parquet export or analysis. States and times come from the log only (DESIGN principle 6);
static attributes (model, size, tenant) come from the specs that were the run's input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emulator.eventlog import WORK_EVENTS, EventLog
from emulator.work import Work
from workloads.spec import InferenceServiceSpec, TrainingJobSpec

__all__ = ["events_table", "jobs_table", "requests_table", "timeseries_table"]

(_SUBMIT, _START, _FINISH, _REJECT, _TRUNCATE, _PREEMPT, _RERATE,
 _CANCEL, _STAGED) = range(len(WORK_EVENTS))
_STATE = {_FINISH: "finished", _REJECT: "rejected", _TRUNCATE: "truncated",
          _CANCEL: "cancelled"}


def events_table(log: EventLog) -> dict[str, np.ndarray]:
    """The work-event stream itself: time, event kind, work id, detail."""
    return {
        "t_s": np.asarray(log.work_t, dtype=np.float64),
        "event": np.array([WORK_EVENTS[k] for k in log.work_kind], dtype=object),
        "work_id": np.asarray(log.work_id, dtype=np.int64),
        "info": np.array(log.work_info, dtype=object),
    }


def jobs_table(log: EventLog, works: Sequence[Work]) -> dict[str, np.ndarray]:
    """One row per submitted job or service, with its terminal state and timings (s).

    ``wait_s`` is first start − submit (NaN if it never started); ``jct_s`` is end − submit
    for finished work (NaN otherwise); ``gpu_s`` is GPU-seconds held over all its runs (a
    preempted job holds no GPU while it waits again).
    """
    n = len(works)
    submit = np.full(n, np.nan)
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    state = np.full(n, "", dtype=object)
    info = np.full(n, "", dtype=object)
    seen = np.zeros(n, dtype=bool)
    held_s = np.zeros(n)  # seconds holding GPUs, summed over runs (preemptions split runs)
    run_start = np.full(n, np.nan)
    for t, k, w, text in zip(log.work_t, log.work_kind, log.work_id, log.work_info, strict=True):
        if k == _SUBMIT:
            submit[w] = t
            seen[w] = True
        elif k == _START:
            if np.isnan(start[w]):
                start[w] = t
            run_start[w] = t
        elif k in (_RERATE, _STAGED):
            continue
        elif k == _PREEMPT:
            held_s[w] += t - run_start[w]
            run_start[w] = np.nan
        else:
            if not np.isnan(run_start[w]):
                held_s[w] += t - run_start[w]
                run_start[w] = np.nan
            end[w] = t
            state[w] = _STATE[k]
            if text:
                info[w] = text
    rows = np.flatnonzero(seen)
    sub = [works[i] for i in rows]

    def spec_col(attr: str, default: object, dtype: object) -> np.ndarray:
        return np.array([getattr(w.spec, attr, default) for w in sub], dtype=dtype)

    finished = state[rows] == "finished"
    return {
        "work_id": rows.astype(np.int64),
        "kind": np.array([w.kind for w in sub], dtype=object),
        "tenant": np.array([w.tenant for w in sub], dtype=object),
        "name": np.array([w.name for w in sub], dtype=object),
        "model": spec_col("model", "", object),
        "n_gpus": np.array([w.n_gpus for w in sub], dtype=np.int64),
        "tp": np.array([w.spec.tp if isinstance(w.spec, TrainingJobSpec)
                        else w.spec.gpus_per_replica for w in sub], dtype=np.int64),
        "pp": spec_col("pp", 1, np.int64),
        "dp": np.array([w.spec.dp if isinstance(w.spec, TrainingJobSpec)
                        else w.spec.replicas for w in sub], dtype=np.int64),
        "submit_s": submit[rows],
        "start_s": start[rows],
        "end_s": end[rows],
        "state": state[rows],
        "wait_s": start[rows] - submit[rows],
        "gpu_s": held_s[rows] * np.array([w.n_gpus for w in sub], dtype=np.float64),
        "jct_s": np.where(finished, end[rows] - submit[rows], np.nan),
        "parent_id": np.array([-1 if w.parent is None else w.parent for w in sub],
                              dtype=np.int64),
        "preemptions": np.array([w.preemptions for w in sub], dtype=np.int64),
        "lost_gpu_s": np.array([w.lost_gpu_s for w in sub], dtype=np.float64),
        "staging_s": np.array([w.staging_s for w in sub], dtype=np.float64),
        "info": info[rows],
    }


def requests_table(log: EventLog, works: Sequence[Work]) -> dict[str, np.ndarray]:
    """One row per inference request (times in s, tokens as counts, ``slo_met`` bool)."""
    if not log.requests:
        empty_f = np.empty(0)
        return {"service_id": np.empty(0, np.int64), "tenant": np.empty(0, object),
                "arrival_s": empty_f, "wait_s": empty_f, "ttft_s": empty_f, "tpot_s": empty_f,
                "e2e_s": empty_f, "prompt_tokens": np.empty(0, np.int64),
                "output_tokens": np.empty(0, np.int64), "slo_met": np.empty(0, bool)}
    sizes = [b.arrival_s.size for b in log.requests]
    service = np.repeat([b.service for b in log.requests], sizes).astype(np.int64)
    tenant_of = np.array([w.tenant for w in works], dtype=object)
    ttft_slo = np.array([w.spec.slo_ttft_s if isinstance(w.spec, InferenceServiceSpec)
                         else np.nan for w in works])
    tpot_slo = np.array([w.spec.slo_tpot_s if isinstance(w.spec, InferenceServiceSpec)
                         else np.nan for w in works])

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(b, attr) for b in log.requests])

    ttft, tpot = cat("ttft_s"), cat("tpot_s")
    return {
        "service_id": service,
        "tenant": tenant_of[service],
        "arrival_s": cat("arrival_s"),
        "wait_s": cat("wait_s"),
        "ttft_s": ttft,
        "tpot_s": tpot,
        "e2e_s": cat("e2e_s"),
        "prompt_tokens": cat("prompt_tokens"),
        "output_tokens": cat("output_tokens"),
        "slo_met": (ttft <= ttft_slo[service]) & (tpot <= tpot_slo[service]),
    }


def timeseries_table(log: EventLog) -> dict[str, np.ndarray]:
    """One row per sample and site: power (W), busy GPUs, utilisation, queue lengths."""
    rows: dict[str, list] = {"t_s": [], "site": [], "it_w": [], "facility_w": [],
                             "busy_gpus": [], "mean_util": [], "running": []}
    queues: dict[str, list] = {f"queued_{t}": [] for t in log.tenants}
    for s in log.samples:
        for i, site in enumerate(log.sites):
            rows["t_s"].append(s.t)
            rows["site"].append(site)
            rows["it_w"].append(float(s.it_w[i]))
            rows["facility_w"].append(float(s.facility_w[i]))
            rows["busy_gpus"].append(s.busy_gpus)
            rows["mean_util"].append(s.mean_util)
            rows["running"].append(s.running)
            for t, q in zip(log.tenants, s.queue_by_tenant, strict=True):
                queues[f"queued_{t}"].append(q)
    out: dict[str, np.ndarray] = {}
    for k, v in {**rows, **queues}.items():
        out[k] = np.array(v, dtype=object if k == "site" else None)
    return out
