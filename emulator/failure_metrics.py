"""Failure and goodput figures of a run, computed from its event log.

Per training job (:func:`job_figures`), with ``n`` its GPUs, all in GPU-seconds and all
from the log's runs (a start to the stop that closed it):

* ``held_gpu_s``: GPUs held over all its runs;
* ``staging_gpu_s``: held while its dataset was copied to the site (stage to staged);
* ``restart_gpu_s``: restore + relaunch overhead paid after failures (the log's restart
  events), and ``resume_gpu_s``: the checkpoint restore paid on every other start after
  the first (after a preemption), each cut short where its run ended sooner;
* ``lost_gpu_s``: work computed since the last checkpoint when a failure (or a
  preemption) stopped it (the log's interrupt and preempt events);
* ``productive_gpu_s`` and ``checkpoint_gpu_s``: the rest, the time spent computing work
  that was kept, split into training steps and checkpoint writes in the proportion of the
  job's last run (``steps · step_s`` against its full duration; a job replayed with its
  duration as given has no separate checkpoint writes);
* ``ettr = productive / n / (end − submit)``: effective training time ratio,
  productive time over wall time in the system (ended, or the horizon);
* ``interruptions``, and ``lost_by_cause`` (GPU-s per failure class).

So ``held = productive + checkpoint + lost + restart + resume + staging`` for every job,
and goodput (productive ÷ held) is at most 1 wherever the job ran: a job that ran on GPUs
of different speeds (a heterogeneous cluster, or another network tier after a failure)
counts the time it computed on each, not its work at the speed of its last run. Where
every run had the same speed, productive + checkpoint equals the work done at that speed
(the fraction done × the full duration; checked in the tests).

For the run (:func:`failure_summary`): failures, repairs and GPU-hours down per class,
availability per class (``1 − GPU-s down / (GPUs × horizon)``, over all the run's GPUs in
``by_class`` and, with several sites, over each site's GPUs in ``by_site``; a GPU down for two
overlapping causes counts for both; a failure is down until its repair, or until an
operator's earlier restore of a target holding its GPUs; for a NIC or leaf switch, whose
GPUs stay in service, "down" means without scale-out network, for a spine switch the
GPUs × the share of the site's cross-pod bandwidth lost, and the class's ``effect`` says
which), spares used,
mean time to failure by job size bucket (exposure = time holding GPUs), serving replicas
lost and in-flight requests retried or failed. ``replicas_lost`` counts every replica a
failure took out of service: replica works ended (the log's ``lost`` events: autoscaled
extra replicas, and replacements of base replicas) plus base replicas stopped
(``base_replicas_stopped``, the log's ``REPLICAS_DOWN`` rows: a group of the service's own
allocation, whose healthy GPUs go back to the pool while a replacement is queued at once);
``base_replicas_restored`` counts the replacements placed on healthy GPUs (the log's
``REPLICAS_UP`` rows; each serves after the service's cold start). A service's base work
stopped by a failure is no job interruption: ``job_interruptions`` and the lost GPU-hours
by cause count training only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emulator.eventlog import Ev, EventLog, Infra
from emulator.failure_pairs import FAILURE, OTHER, REPAIR, RESTORE, ended_by
from emulator.tables import runs
from emulator.targets import is_restore
from emulator.work import Work
from topologies.reliability import COMPONENTS, effect_of
from workloads.spec import TrainingJobSpec

__all__ = ["SIZE_BUCKETS", "failure_rows", "failure_summary", "failures_table", "job_figures"]

SIZE_BUCKETS = ((1, 8), (9, 64), (65, 512), (513, 4096), (4097, 1 << 40))
"""GPU-count buckets for mean time to failure by job size (inclusive bounds)."""

_TERMINAL = (Ev.FINISH, Ev.TRUNCATE, Ev.REJECT, Ev.CANCEL, Ev.LOST)


def job_figures(log: EventLog, works: Sequence[Work], horizon_s: float
                ) -> dict[str, np.ndarray]:
    """Per training job that started: the figures of the module docstring (columns)."""
    c = log.work_columns()
    k, w, t = c["kind"], c["work_id"], c["t_s"]
    n_works = len(works)
    r = runs(log, n_works)
    spans = r["end_s"] - r["start_s"]
    held = np.bincount(r["work_id"], weights=spans, minlength=n_works)
    staging = _staging_by_run(c, r)
    computing = spans - staging  # per run: restoring, computing, writing checkpoints
    restarted = _restart_by_run(c, r)
    first_run = np.ones(spans.size, bool)
    first_run[1:] = r["work_id"][1:] != r["work_id"][:-1]
    stops = (k == Ev.INTERRUPT) | (k == Ev.PREEMPT)
    lost = np.bincount(w[stops], weights=c["lost_gpu_s"][stops], minlength=n_works)
    inter = np.bincount(w[k == Ev.INTERRUPT], minlength=n_works)
    end = np.full(n_works, horizon_s)
    term = np.flatnonzero(np.isin(k, _TERMINAL))
    end[w[term]] = t[term]
    submit = np.full(n_works, np.nan)
    sub = k == Ev.SUBMIT
    submit[w[sub]] = t[sub]
    started = np.zeros(n_works, bool)
    started[r["work_id"]] = True
    objs = [works[i] for i in np.flatnonzero(started).tolist()]  # each made once
    objs = [o for o in objs if o.kind == "training"]
    ids = [o.work_id for o in objs]
    ids_a = np.array(ids, dtype=np.int64)
    n = np.array([o.n_gpus for o in objs], dtype=np.float64)
    compute = np.array([o.spec.steps * o.step_s  # type: ignore[union-attr]
                        if isinstance(o.spec, TrainingJobSpec)
                        and o.spec.runtime_s is None else o.full_duration_s
                        for o in objs], dtype=np.float64)
    full = np.array([o.full_duration_s for o in objs], dtype=np.float64)
    restore_of = np.zeros(n_works)  # the checkpoint restore a start after the first pays
    restore_of[ids_a] = [o.spec.checkpoint_cost_s  # type: ignore[union-attr]
                         if isinstance(o.spec, TrainingJobSpec) else 0.0 for o in objs]
    failed = ~np.isnan(restarted)
    restart_run = np.where(failed, np.minimum(np.nan_to_num(restarted), computing), 0.0)
    resume_run = np.where(failed | first_run, 0.0,
                          np.minimum(restore_of[r["work_id"]], computing))
    restart = np.bincount(r["work_id"], weights=restart_run, minlength=n_works)
    resume = np.bincount(r["work_id"], weights=resume_run, minlength=n_works)
    staged = np.bincount(r["work_id"], weights=staging, minlength=n_works)
    # GPU-seconds computing work that was kept, split as the last run's step time does
    kept = (held[ids_a] - staged[ids_a] - restart[ids_a] - resume[ids_a]) * n - lost[ids_a]
    share = np.divide(compute, full, out=np.ones_like(full), where=full > 0)
    productive = kept * share
    in_system = end[ids_a] - submit[ids_a] if ids else np.empty(0)
    return {
        "work_id": ids_a,
        "n_gpus": n.astype(np.int64),
        "held_gpu_s": held[ids_a] * n,
        "productive_gpu_s": productive,
        "checkpoint_gpu_s": kept - productive,
        "lost_gpu_s": lost[ids_a],
        "restart_gpu_s": restart[ids_a] * n,
        "resume_gpu_s": resume[ids_a] * n,
        "staging_gpu_s": staged[ids_a] * n,
        "interruptions": inter[ids_a].astype(np.int64),
        "held_s": held[ids_a],
        "in_system_s": in_system,
        "ettr": np.divide(productive / np.maximum(n, 1), in_system,
                          out=np.full(len(ids), np.nan), where=in_system > 0),
    }


def _run_of(c: dict[str, np.ndarray], r: dict[str, np.ndarray], rows: np.ndarray
            ) -> np.ndarray:
    """Index (into :func:`~emulator.tables.runs`) of the run each event row of ``rows``
    falls in: its work's last start at or before it."""
    span = len(c["kind"]) + 1
    keys = r["work_id"] * span + r["row"]  # sorted: runs are by work, then time
    return np.searchsorted(keys, c["work_id"][rows] * span + rows, side="right") - 1


def _restart_by_run(c: dict[str, np.ndarray], r: dict[str, np.ndarray]) -> np.ndarray:
    """Restore + relaunch overhead (s) each run paid after a failure (its restart event:
    logged at its start, or once its dataset was staged); NaN for a run without one."""
    out = np.full(r["row"].size, np.nan)
    rows = np.flatnonzero(c["kind"] == Ev.RESTART)
    out[_run_of(c, r, rows)] = c["speed"][rows]
    return out


def _staging_by_run(c: dict[str, np.ndarray], r: dict[str, np.ndarray]) -> np.ndarray:
    """Seconds each run (of :func:`~emulator.tables.runs`) spent staging its dataset: from
    its stage event to the job's next staged, preempt, interrupt or truncate event."""
    k, w, t = c["kind"], c["work_id"], c["t_s"]
    out = np.zeros(r["row"].size)
    stage_rows = np.flatnonzero(k == Ev.STAGE)
    if not stage_rows.size:
        return out
    run_of = dict(zip(stage_rows.tolist(), _run_of(c, r, stage_rows).tolist(), strict=True))
    opened: dict[int, tuple[int, float]] = {}  # work id → (its run, stage time)
    closing = (Ev.STAGED, Ev.PREEMPT, Ev.INTERRUPT, Ev.TRUNCATE)
    for i in np.flatnonzero(np.isin(k, (Ev.STAGE, *closing))).tolist():
        wid = int(w[i])
        if k[i] == Ev.STAGE:
            opened[wid] = (run_of[i], float(t[i]))
        elif wid in opened:
            run, since = opened.pop(wid)
            out[run] += float(t[i]) - since
    return out


def goodput_ettr(figures: dict[str, np.ndarray], sel: np.ndarray | None = None
                 ) -> tuple[float | None, float | None]:
    """(goodput = productive / held GPU-s, ETTR = productive / in-system time) over the
    jobs selected by ``sel`` (a mask over ``figures``' rows); ``None`` without jobs."""
    m = np.ones(figures["work_id"].size, bool) if sel is None else sel
    held = float(figures["held_gpu_s"][m].sum())
    in_system = float(figures["in_system_s"][m].sum())
    prod = figures["productive_gpu_s"][m]
    n = figures["n_gpus"][m].astype(np.float64)
    goodput = float(prod.sum()) / held if held > 0 else None
    ettr = float((prod / np.maximum(n, 1)).sum()) / in_system if in_system > 0 else None
    return goodput, ettr


def _infra(log: EventLog) -> dict[str, np.ndarray]:
    def arr(a: Any) -> np.ndarray:
        return np.frombuffer(a, dtype=a.typecode) if len(a) else np.empty(0, a.typecode)
    return {"t": arr(log.infra_t), "kind": arr(log.infra_kind),
            "subject": arr(log.infra_subject), "value": arr(log.infra_value),
            "label": arr(log.infra_label), "gpu_first": arr(log.infra_gpu_first),
            "gpu_last": arr(log.infra_gpu_last)}


def _class_name(code: int) -> str:
    return COMPONENTS[code] if 0 <= code < len(COMPONENTS) else "injected"


def failures_table(log: EventLog) -> dict[str, np.ndarray]:
    """One row per failure, repair or spare swap: time (s), event, class, GPUs, cause, and
    the lowest and highest global GPU id of the component (``gpu_first``, ``gpu_last``;
    an operator's restore: of its target; a spine switch: of its site).

    For a spine switch ``gpus`` is the site's GPUs × ``1/S`` (the GPU-equivalents of
    cross-pod bandwidth it costs; a switch still down does not fail again)."""
    f = _infra(log)
    sel = np.isin(f["kind"], (Infra.FAILURE, Infra.REPAIR, Infra.SPARE))
    names = {Infra.FAILURE: "failure", Infra.REPAIR: "repair", Infra.SPARE: "spare"}
    return {
        "t_s": f["t"][sel].copy(),
        "event": np.array([names[Infra(x)] for x in f["kind"][sel].tolist()], dtype=object),
        "component": np.array([_class_name(int(x)) for x in f["subject"][sel].tolist()],
                              dtype=object),
        "gpus": np.where(f["kind"][sel] == Infra.SPARE, 0.0, f["value"][sel]),
        "cause": np.array([log.reasons[int(x)] for x in f["label"][sel].tolist()],
                          dtype=object),
        "gpu_first": f["gpu_first"][sel].astype(np.int64),
        "gpu_last": f["gpu_last"][sel].astype(np.int64),
    }


def _down_gpu_s(f: dict[str, np.ndarray], code: int, horizon_s: float,
                restore: np.ndarray) -> float:
    """∫ GPUs down for class ``code`` (GPU-s): each failure from its time to its repair, or
    to an operator's earlier restore of a target holding its GPUs (the rows ``restore``),
    or to ``horizon_s``, as :mod:`emulator.failure_pairs` pairs them (the report's rule)."""
    fail = (f["kind"] == Infra.FAILURE) & (f["subject"] == code)
    rep = (f["kind"] == Infra.REPAIR) & (f["subject"] == code)
    if effect_of(COMPONENTS[code]) == "bandwidth":  # spines: never restored by an operator
        return float((f["value"][fail] * (horizon_s - f["t"][fail])).sum()
                     - (f["value"][rep] * (horizon_s - f["t"][rep])).sum())
    role = np.select([fail, rep, restore], [FAILURE, REPAIR, RESTORE], OTHER)
    by = ended_by(role, f["subject"], f["gpu_first"], f["gpu_last"])
    # Σ GPUs × (horizon − failed at) − Σ GPUs × (horizon − ended at), the ended ones in the
    # order they ended: with every failure ended by its own repair, the same sums (and
    # the same rounding) as the repair rows' own figures give
    closed = np.flatnonzero(fail & (by >= 0))
    closed = closed[np.argsort(by[closed], kind="stable")]
    return float((f["value"][fail] * (horizon_s - f["t"][fail])).sum()
                 - (f["value"][closed] * (horizon_s - f["t"][by[closed]])).sum())


def _classes(f: dict[str, np.ndarray], restore: np.ndarray, horizon_s: float,
             n_gpus: int) -> dict[str, Any]:
    """Failures, repairs, GPU-hours down and availability per class, over ``n_gpus``
    GPUs, from the infra rows ``f``."""
    by_class: dict[str, Any] = {}
    total = max(n_gpus * horizon_s, 1e-12)
    for code, name in enumerate(COMPONENTS):
        fails = int(((f["kind"] == Infra.FAILURE) & (f["subject"] == code)).sum())
        if not fails:
            continue
        down = 0.0 if name == "software" else _down_gpu_s(f, code, horizon_s, restore)
        by_class[name] = {
            "effect": effect_of(name),
            "failures": fails,
            "repairs": int(((f["kind"] == Infra.REPAIR) & (f["subject"] == code)).sum()),
            "gpu_h_down": down / 3600.0,
            "availability": 1.0 - down / total,
        }
    return by_class


def _by_site(f: dict[str, np.ndarray], restore: np.ndarray, horizon_s: float,
             gpu_site: np.ndarray, site_names: Sequence[str]) -> dict[str, Any]:
    """:func:`_classes` for each site that had a failure, over that site's GPUs (rows
    placed by their lowest GPU id; a spine switch's rows carry its site's)."""
    placed = f["gpu_first"] >= 0
    site = np.full(len(f["t"]), -1, dtype=np.int64)
    site[placed] = gpu_site[f["gpu_first"][placed]]
    out: dict[str, Any] = {}
    for sid, name in enumerate(site_names):
        rows = site == sid
        if not ((f["kind"][rows] == Infra.FAILURE) & (f["subject"][rows] >= 0)).any():
            continue
        sub = {k: v[rows] for k, v in f.items()}
        out[name] = _classes(sub, restore[rows], horizon_s, int((gpu_site == sid).sum()))
    return out


def failure_summary(log: EventLog, works: Sequence[Work], horizon_s: float,
                    n_gpus: int, gpu_site: np.ndarray | None = None,
                    site_names: Sequence[str] = ()) -> dict[str, Any]:
    """The ``failures`` key of ``summary.json`` (see the module docstring). ``by_class``
    is over all ``n_gpus`` GPUs of the run; with more than one site (``gpu_site``: the
    site of each GPU, ``site_names``), ``by_site`` gives the same figures per site that
    had a failure, over that site's GPUs."""
    f = _infra(log)
    # an operator's restore of a target (not the end of one timed failure of it), where
    # the log says which GPUs it concerns
    restore = (f["kind"] == Infra.REPAIR) & (f["subject"] == -1) & (f["gpu_first"] >= 0)
    restore[restore] = [is_restore(log.reasons[int(x)]) for x in f["label"][restore].tolist()]
    by_class = _classes(f, restore, horizon_s, n_gpus)
    jf = job_figures(log, works, horizon_s)
    c = log.work_columns()
    k = c["kind"]
    inter = k == Ev.INTERRUPT
    if inter.any():  # training only: a service's base work stopped by a failure is no job
        wid = c["work_id"][inter]
        inter[np.flatnonzero(inter)] = [works[int(i)].kind == "training"
                                        for i in wid.tolist()]
    lost_by_cause: dict[str, float] = {}
    for code, lost in zip(c["reason"][inter].tolist(), c["lost_gpu_s"][inter].tolist(),
                          strict=True):
        cause = log.reasons[code]
        lost_by_cause[cause] = lost_by_cause.get(cause, 0.0) + lost / 3600.0
    mttf = []
    for lo, hi in SIZE_BUCKETS:
        m = (jf["n_gpus"] >= lo) & (jf["n_gpus"] <= hi)
        if not m.any():
            continue
        n_int = int(jf["interruptions"][m].sum())
        exposure = float(jf["held_s"][m].sum())
        mttf.append({"gpus": f"{lo}-{hi}" if hi < (1 << 40) else f"{lo}+", "jobs": int(m.sum()),
                     "interruptions": n_int, "exposure_h": exposure / 3600.0,
                     "mttf_h": exposure / n_int / 3600.0 if n_int else None})
    goodput, ettr = goodput_ettr(jf)

    def count(kind: Infra) -> float:
        return float(f["value"][f["kind"] == kind].sum())

    by_site = (_by_site(f, restore, horizon_s, gpu_site, site_names)
               if gpu_site is not None and len(site_names) > 1 else None)
    return {
        "by_class": by_class,
        **({"by_site": by_site} if by_site is not None else {}),
        "failures": int((f["kind"] == Infra.FAILURE).sum()),
        "spares_used": int((f["kind"] == Infra.SPARE).sum()),
        "job_interruptions": int(inter.sum()),
        # failures only (the sum of lost_gpu_h_by_cause); work lost to preemptions is in
        # the jobs table's lost_gpu_s and compare's lost_gpu_h
        "lost_gpu_h": float(c["lost_gpu_s"][inter].sum()) / 3600.0,
        "lost_gpu_h_by_cause": dict(sorted(lost_by_cause.items())),
        "restart_gpu_h": float(jf["restart_gpu_s"].sum()) / 3600.0,
        "checkpoint_gpu_h": float(jf["checkpoint_gpu_s"].sum()) / 3600.0,
        "productive_gpu_h": float(jf["productive_gpu_s"].sum()) / 3600.0,
        "goodput": goodput,
        "ettr": ettr,
        "mttf_by_job_size": mttf,
        "replicas_lost": int((k == Ev.LOST).sum()) + int(count(Infra.REPLICAS_DOWN)),
        "base_replicas_stopped": int(count(Infra.REPLICAS_DOWN)),
        "base_replicas_restored": int(count(Infra.REPLICAS_UP)),
        "requests_retried": int(count(Infra.RETRIED)),
        "requests_failed": int(count(Infra.FAILED_REQUESTS)),
    }


def failure_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows for the terminal summary's failures table."""
    s = summary
    rows = [("failures", f"{s['failures']:,}"),
            ("job interruptions", f"{s['job_interruptions']:,}"),
            ("lost GPU-h", f"{s['lost_gpu_h']:,.1f}"),
            ("restart GPU-h", f"{s['restart_gpu_h']:,.1f}"),
            ("goodput", "—" if s["goodput"] is None else f"{100 * s['goodput']:.1f}%"),
            ("ETTR", "—" if s["ettr"] is None else f"{100 * s['ettr']:.1f}%"),
            ("spares used", f"{s['spares_used']:,}"),
            ("replicas lost", _replicas_lost(s)),
            ("requests retried / failed",
             f"{s['requests_retried']:,} / {s['requests_failed']:,}")]
    what_of = {"scale_out": "with scale-out", "bandwidth": "of spine capacity"}
    for name, cls in s["by_class"].items():
        what = what_of.get(cls["effect"], "available")
        rows.append((f"  {name}", f"{cls['failures']} failed, "
                                  f"{100 * cls['availability']:.3f}% {what}"))
    return rows


def _replicas_lost(s: dict[str, Any]) -> str:
    """The failures table's replicas-lost cell: the total, and how many of them were base
    replicas stopped (and how many replacements were placed) when any were."""
    base = int(s.get("base_replicas_stopped", 0))
    if not base:
        return f"{s['replicas_lost']:,}"
    return (f"{s['replicas_lost']:,} ({base:,} base, replaced; "
            f"{int(s.get('base_replicas_restored', 0)):,} replacements placed)")
