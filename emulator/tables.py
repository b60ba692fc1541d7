"""Result tables derived from the typed event log (and the immutable work specs).

Each function returns a ``dict[str, numpy.ndarray]`` of equal-length columns, ready for
Parquet export or analysis. States, times, preemptions, lost GPU-seconds, staging time and
placements come from the log only (DESIGN principle 6); static attributes (model, size,
tenant) come from the specs that were the run's input. The derivations are vectorised over
the log's columns, so a million-job log becomes tables in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emulator.eventlog import INFRA_EVENTS, WORK_EVENTS, Ev, EventLog, Infra
from emulator.request_stats import RequestStats, slo_met
from emulator.work import Work
from emulator.work_book import fixed_fields
from workloads.spec import InferenceServiceSpec

__all__ = [
    "events_table",
    "held_gpu_seconds",
    "held_seconds",
    "infra_table",
    "jobs_table",
    "placements_table",
    "rack_util_table",
    "request_stats_by_service",
    "requests_table",
    "runs",
    "timeseries_table",
]

_TERMINAL = {Ev.FINISH: "finished", Ev.REJECT: "rejected", Ev.TRUNCATE: "truncated",
             Ev.CANCEL: "cancelled", Ev.LOST: "lost"}


def _reasons(log: EventLog, codes: np.ndarray) -> np.ndarray:
    return np.array(log.reasons, dtype=object)[codes] if codes.size else np.empty(0, object)


def events_table(log: EventLog) -> dict[str, np.ndarray]:
    """The work-event stream itself, one typed column per field."""
    c = log.work_columns()
    return {
        "t_s": c["t_s"].copy(),
        "event": np.array(WORK_EVENTS, dtype=object)[c["kind"]] if c["kind"].size
        else np.empty(0, object),
        "work_id": c["work_id"].astype(np.int64),
        "tenant": np.array(log.tenants, dtype=object)[c["tenant"]] if c["tenant"].size
        else np.empty(0, object),
        "n_gpus": c["n_gpus"].astype(np.int64),
        "tier": c["tier"].astype(np.int64),
        "lost_gpu_s": c["lost_gpu_s"].copy(),
        "speed": c["speed"].copy(),
        "remaining": c["remaining"].copy(),
        "reason": _reasons(log, c["reason"]),
    }


def placements_table(log: EventLog) -> dict[str, np.ndarray]:
    """One row per (start, NVLink domain): when and where each run of each work held GPUs."""
    c = log.work_columns()
    rows = np.flatnonzero(c["place"] >= 0)
    first = c["place"][rows]
    ends = np.append(first[1:], len(log.place_domain))
    counts = ends - first
    return {
        "t_s": np.repeat(c["t_s"][rows], counts),
        "work_id": np.repeat(c["work_id"][rows], counts).astype(np.int64),
        "domain": np.asarray(log.place_domain, dtype=np.int64),
        "gpus": np.asarray(log.place_gpus, dtype=np.int64),
    }


def runs(log: EventLog, n_works: int) -> dict[str, np.ndarray]:
    """Every run of every work (a start and the stop that closed it), by work then time.

    A run opens at a start and closes at the work's next preemption, interruption (a
    failure), finish, loss (a serving replica) or truncation (a truncation closes a run
    only if one is open). Columns: ``work_id``,
    ``row`` (the start event's row in the log), ``start_s``, ``end_s``, ``n_gpus`` (the
    GPUs the run held, from its start row: a service's base work runs on fewer after a
    failure stopped some of its replicas).
    """
    c = log.work_columns()
    k, w, t = c["kind"], c["work_id"], c["t_s"]
    starts = np.flatnonzero(k == Ev.START)
    n_start = np.bincount(w[starts], minlength=n_works)
    stops = (k == Ev.PREEMPT) | (k == Ev.INTERRUPT)
    n_pre = np.bincount(w[stops], minlength=n_works)
    trunc = np.flatnonzero(k == Ev.TRUNCATE)
    trunc_open = trunc[n_start[w[trunc]] > n_pre[w[trunc]]]
    closes = np.sort(np.concatenate([np.flatnonzero(stops | (k == Ev.FINISH)
                                                    | (k == Ev.LOST)), trunc_open]))
    s_order = starts[np.argsort(w[starts], kind="stable")]
    c_order = closes[np.argsort(w[closes], kind="stable")]
    if s_order.size != c_order.size:
        raise ValueError("event log: a run was started and never closed")
    return {"work_id": w[s_order].astype(np.int64), "row": s_order,
            "start_s": t[s_order], "end_s": t[c_order],
            "n_gpus": c["n_gpus"][s_order].astype(np.int64)}


def held_gpu_seconds(log: EventLog, n_works: int) -> np.ndarray:
    """Per work: GPU-seconds held, summed over its runs (each run's span × its GPUs)."""
    r = runs(log, n_works)
    if not r["work_id"].size:
        return np.zeros(n_works)
    return np.bincount(r["work_id"], weights=(r["end_s"] - r["start_s"]) * r["n_gpus"],
                       minlength=n_works)


def held_seconds(log: EventLog, n_works: int) -> np.ndarray:
    """Per work: seconds holding GPUs, summed over its runs in time order."""
    r = runs(log, n_works)
    spans = r["end_s"] - r["start_s"]
    if not spans.size:
        return np.zeros(n_works)
    return np.bincount(r["work_id"], weights=spans, minlength=n_works)


def _gpu_seconds(log: EventLog, n_works: int, held: np.ndarray, rows: np.ndarray,
                 n_gpus: np.ndarray) -> np.ndarray:
    """GPU-seconds held by the works ``rows``: seconds held × GPUs, or, for a work with a
    run on another GPU count (a service's base work after a failure), each run's span ×
    its own GPUs."""
    out = held[rows] * n_gpus.astype(np.float64)
    r = runs(log, n_works)
    other = np.zeros(n_works, dtype=bool)
    fixed = np.zeros(n_works, dtype=np.int64)
    fixed[rows] = n_gpus
    other[r["work_id"][r["n_gpus"] != fixed[r["work_id"]]]] = True
    if other[rows].any():
        out[other[rows]] = held_gpu_seconds(log, n_works)[rows[other[rows]]]
    return out


def _staging_seconds(log: EventLog, n_works: int) -> np.ndarray:
    c = log.work_columns()
    k, w, t = c["kind"], c["work_id"], c["t_s"]
    out = np.zeros(n_works)
    opened: dict[int, float] = {}
    for i in np.flatnonzero(np.isin(k, (Ev.STAGE, Ev.STAGED, Ev.PREEMPT, Ev.TRUNCATE))):
        wid = int(w[i])
        if k[i] == Ev.STAGE:
            opened[wid] = float(t[i])
        elif wid in opened:
            out[wid] += float(t[i]) - opened.pop(wid)
    return out


def jobs_table(log: EventLog, works: Sequence[Work]) -> dict[str, np.ndarray]:
    """One row per submitted job or service, with its terminal state and timings (s).

    ``wait_s`` is first start − submit (NaN if it never started); ``jct_s`` is end − submit
    for finished work (NaN otherwise); ``gpu_s`` is GPU-seconds held over all its runs (a
    preempted job holds no GPU while it waits again); ``preemptions``, ``interruptions``
    (failures), ``lost_gpu_s`` (both) and ``staging_s`` add up the log's preemption,
    interruption and staging events; ``info`` is the reason
    logged with the terminal event; ``remaining`` the unfinished fraction of a truncated
    training job's work (:func:`_queued_remaining` for one cut off while queued).
    """
    n = len(works)
    c = log.work_columns()
    k, w, t = c["kind"], c["work_id"], c["t_s"]
    submit = np.full(n, np.nan)
    sub = k == Ev.SUBMIT
    submit[w[sub]] = t[sub]
    seen = np.zeros(n, dtype=bool)
    seen[w[sub]] = True
    start = np.full(n, np.nan)
    st = np.flatnonzero(k == Ev.START)
    ids, first = np.unique(w[st], return_index=True)
    start[ids] = t[st[first]]
    end = np.full(n, np.nan)
    state = np.full(n, "", dtype=object)
    info = np.full(n, "", dtype=object)
    remaining = np.full(n, np.nan)
    term = np.flatnonzero(np.isin(k, list(_TERMINAL)))
    end[w[term]] = t[term]
    state[w[term]] = np.array([_TERMINAL[Ev(x)] for x in k[term].tolist()], dtype=object)
    info[w[term]] = _reasons(log, c["reason"][term])
    remaining[w[term]] = c["remaining"][term]
    held = held_seconds(log, n)
    pre = k == Ev.PREEMPT
    preemptions = np.bincount(w[pre], minlength=n)
    stops = pre | (k == Ev.INTERRUPT)  # work lost since the last checkpoint, either way
    lost = np.bincount(w[stops], weights=c["lost_gpu_s"][stops], minlength=n)
    interruptions = np.bincount(w[k == Ev.INTERRUPT], minlength=n)
    staging = _staging_seconds(log, n)
    rows = np.flatnonzero(seen)
    fixed = fixed_fields(works, rows.tolist())  # from columns: no object per job

    def col(name: str, dtype: object) -> np.ndarray:
        return np.array(fixed[name], dtype=dtype)

    n_gpus = col("n_gpus", np.int64)
    kind = col("kind", object)
    finished = state[rows] == "finished"
    left = remaining[rows]
    cut_queued = (state[rows] == "truncated") & (kind == "training") & np.isnan(left)
    if cut_queued.any():
        left[cut_queued] = _queued_remaining(k, w, c["remaining"], n)[rows[cut_queued]]
    return {
        "work_id": rows.astype(np.int64),
        "kind": kind,
        "tenant": col("tenant", object),
        "name": col("name", object),
        "model": col("model", object),
        "n_gpus": n_gpus,
        "tp": col("tp", np.int64),
        "pp": col("pp", np.int64),
        "dp": col("dp", np.int64),
        "submit_s": submit[rows],
        "start_s": start[rows],
        "end_s": end[rows],
        "state": state[rows],
        "wait_s": start[rows] - submit[rows],
        "gpu_s": _gpu_seconds(log, n, held, rows, n_gpus),
        "jct_s": np.where(finished, end[rows] - submit[rows], np.nan),
        "parent_id": col("parent", np.int64),
        "preemptions": preemptions[rows].astype(np.int64),
        "interruptions": interruptions[rows].astype(np.int64),
        "lost_gpu_s": lost[rows],
        "staging_s": staging[rows],
        "remaining": left,
        "info": info[rows],
    }


def _queued_remaining(kind: np.ndarray, work_id: np.ndarray, remaining: np.ndarray,
                      n_works: int) -> np.ndarray:
    """Per work: the unfinished fraction of its training work while it waits in the queue.

    The horizon logs no fraction for work it cuts off in the queue; while queued, a job
    keeps what its last preemption or interruption left it (the work up to its last
    checkpoint, logged with that event), or all of it (1) if it never ran.
    """
    out = np.ones(n_works)
    stops = np.flatnonzero((kind == Ev.PREEMPT) | (kind == Ev.INTERRUPT))
    if stops.size:
        last = stops[::-1]  # np.unique keeps the first of each id: the latest stop here
        ids, first = np.unique(work_id[last], return_index=True)
        out[ids] = remaining[last[first]]
    return out


def request_stats_by_service(log: EventLog) -> dict[int, RequestStats]:
    """Aggregated request figures per service id, from rows or from the log's stats."""
    if not log.keep_requests:
        return log.request_stats
    out: dict[int, RequestStats] = {}
    inf = float("inf")
    for b in log.requests:
        ttft_slo, tpot_slo = log.slo.get(b.service, (inf, inf))
        out.setdefault(b.service, RequestStats()).add(
            b.wait_s, b.ttft_s, b.tpot_s, b.e2e_s, b.prompt_tokens, b.output_tokens,
            ttft_slo, tpot_slo)
    return out


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
    tenant_of = np.array(fixed_fields(works, range(len(works)))["tenant"], dtype=object)
    ttft_slo = np.full(len(works), np.nan)
    tpot_slo = np.full(len(works), np.nan)
    for i in np.unique(service).tolist():  # services are objects in any book
        spec = works[i].spec
        if isinstance(spec, InferenceServiceSpec):
            ttft_slo[i], tpot_slo[i] = spec.slo_ttft_s, spec.slo_tpot_s

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(b, attr) for b in log.requests])

    ttft, tpot, outputs = cat("ttft_s"), cat("tpot_s"), cat("output_tokens")
    return {
        "service_id": service,
        "tenant": tenant_of[service],
        "arrival_s": cat("arrival_s"),
        "wait_s": cat("wait_s"),
        "ttft_s": ttft,
        "tpot_s": tpot,
        "e2e_s": cat("e2e_s"),
        "prompt_tokens": cat("prompt_tokens"),
        "output_tokens": outputs,
        "slo_met": slo_met(ttft, tpot, outputs, ttft_slo[service], tpot_slo[service]),
    }


def timeseries_table(log: EventLog) -> dict[str, np.ndarray]:
    """One row per sample and site: the site's power (W), GPUs held by work and mean
    compute utilisation (0..1); running work and queue lengths are the whole run's (work
    waits for any site), the same on every site's row."""
    n_sites = len(log.sites)
    s = log.samples
    split = n_sites > 1 and all(x.site_busy is not None for x in s)
    busy = (np.array([x.site_busy for x in s], dtype=np.int64) if split
            else np.array([x.busy_gpus for x in s], dtype=np.int64))
    util = (np.array([x.site_util for x in s], dtype=np.float64) if split
            else np.array([x.mean_util for x in s], dtype=np.float64))
    out: dict[str, np.ndarray] = {
        "t_s": np.repeat(np.array([x.t for x in s], dtype=np.float64), n_sites),
        "site": np.array(list(log.sites) * len(s), dtype=object),
        "it_w": np.array([x.it_w for x in s], dtype=np.float64).reshape(-1),
        "facility_w": np.array([x.facility_w for x in s], dtype=np.float64).reshape(-1),
        "busy_gpus": busy.reshape(-1) if split else np.repeat(busy, n_sites),
        "mean_util": util.reshape(-1) if split else np.repeat(util, n_sites),
        "running": np.repeat(np.array([x.running for x in s], dtype=np.int64), n_sites),
    }
    queues = np.array([x.queue_by_tenant for x in s], dtype=np.int64).reshape(
        len(s), len(log.tenants))
    for i, tenant in enumerate(log.tenants):
        out[f"queued_{tenant}"] = np.repeat(queues[:, i], n_sites)
    return out


def infra_table(log: EventLog) -> dict[str, np.ndarray]:
    """Infrastructure events: time, kind, subject (service id, failure class code or -1),
    value, label, and the lowest and highest global GPU id the event concerns
    (``gpu_first``, ``gpu_last``; -1 for an event of no GPU), and ``reachable``: on an
    ``rtt`` row, whether the service's origin still has a route to its site (false: a
    cable cut left it none; the row's ``value``, an infinite RTT, is then null), null
    (masked) on rows of other kinds."""
    kinds = np.asarray(log.infra_kind, dtype=np.int64)
    values = np.asarray(log.infra_value, dtype=np.float64)
    return {
        "t_s": np.asarray(log.infra_t, dtype=np.float64),
        "event": np.array(INFRA_EVENTS, dtype=object)[kinds] if kinds.size
        else np.empty(0, object),
        "subject": np.asarray(log.infra_subject, dtype=np.int64),
        "value": np.asarray(log.infra_value, dtype=np.float64),
        "label": _reasons(log, np.asarray(log.infra_label, dtype=np.int64)),
        "gpu_first": np.asarray(log.infra_gpu_first, dtype=np.int64),
        "gpu_last": np.asarray(log.infra_gpu_last, dtype=np.int64),
        "reachable": np.ma.MaskedArray(np.isfinite(values), mask=kinds != Infra.RTT),
    }


def rack_util_table(log: EventLog) -> dict[str, np.ndarray] | None:
    """Per sample and rack: mean compute utilisation of the rack's GPUs (0..1).

    Long format (``t_s``, ``rack`` index in the topology's rack order, ``util`` as
    float32); ``None`` when the log did not keep per-rack samples (large sites without
    ``output.rack_series``).
    """
    s = log.samples
    if not s or any(x.rack_util is None for x in s):
        return None
    util = np.array([x.rack_util for x in s], dtype=np.float32)
    n_t, n_racks = util.shape
    return {"t_s": np.repeat(np.array([x.t for x in s], dtype=np.float64), n_racks),
            "rack": np.tile(np.arange(n_racks, dtype=np.int32), n_t),
            "util": util.reshape(-1)}
