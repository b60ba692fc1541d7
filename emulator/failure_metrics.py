"""Failure and goodput figures of a run, computed from its event log.

Per training job (:func:`job_figures`), with ``n`` its GPUs and ``p`` the fraction of its
work done by the end (1 − the remaining fraction its terminal event logs):

* ``held_gpu_s``: GPU-seconds held over all its runs (starts to stops in the log);
* ``productive_gpu_s = n · p · steps · step_s`` — compute that counts;
* ``checkpoint_gpu_s = n · p · (full duration − steps · step_s)`` — checkpoint writes;
* ``lost_gpu_s``: work computed since the last checkpoint when a failure (or a
  preemption) stopped it (the log's interrupt and preempt events);
* ``restart_gpu_s``: restore + relaunch overhead paid after failures (the log's restart
  events, cut short where the run ended sooner);
* ``ettr = p · steps · step_s / (end − submit)``: effective training time ratio,
  productive time over wall time in the system (ended, or the horizon);
* ``interruptions``, and ``lost_by_cause`` (GPU-s per failure class).

``step_s`` and the full duration are those of the job's last run. For a job that never
staged data, was never re-rated and ran every run at the same network tier, the GPU-hours
add up exactly: ``held = productive + checkpoint + lost + restart`` (checked in the
tests). Failed GPUs can force a restarted job across NVLink domains (a slower tier);
then the split between productive and checkpoint time is approximate.

Per site (:func:`failure_summary`): failures, repairs and GPU-hours down per class,
availability per class (``1 − GPU-s down / (site GPUs × horizon)``; a GPU down for two
overlapping causes counts for both; for a NIC or leaf switch, whose GPUs stay in service,
"down" means without scale-out network, for a spine switch the GPUs × the share of the
site's cross-pod bandwidth lost, and the class's ``effect`` says which), spares used,
mean time to failure by job size bucket (exposure = time holding GPUs), serving replicas
lost and in-flight requests retried or failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emulator.eventlog import Ev, EventLog, Infra
from emulator.tables import runs
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
    restart_rows = np.flatnonzero(k == Ev.RESTART)
    planned = {(int(w[i]), float(t[i])): float(c["speed"][i]) for i in restart_rows}
    restart = np.zeros(n_works)
    for wid, s0, s1 in zip(r["work_id"].tolist(), r["start_s"].tolist(), r["end_s"].tolist(),
                           strict=True):
        o = planned.get((wid, s0))
        if o is not None:
            restart[wid] += min(o, s1 - s0)
    stops = (k == Ev.INTERRUPT) | (k == Ev.PREEMPT)
    lost = np.bincount(w[stops], weights=c["lost_gpu_s"][stops], minlength=n_works)
    inter = np.bincount(w[k == Ev.INTERRUPT], minlength=n_works)
    remaining = np.ones(n_works)  # the last remaining fraction the log gives per work
    marks = np.flatnonzero(np.isin(k, (Ev.INTERRUPT, Ev.PREEMPT, Ev.TRUNCATE, Ev.FINISH)))
    left = np.where(k[marks] == Ev.FINISH, 0.0, c["remaining"][marks])
    for wid, value in zip(w[marks].tolist(), left.tolist(), strict=True):
        if value == value:  # a queued job's truncation logs none (NaN): keep the last
            remaining[wid] = value
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
    done = 1.0 - remaining[ids_a] if ids else np.empty(0)
    in_system = end[ids_a] - submit[ids_a] if ids else np.empty(0)
    productive_s = done * compute
    return {
        "work_id": ids_a,
        "n_gpus": n.astype(np.int64),
        "held_gpu_s": held[ids_a] * n,
        "productive_gpu_s": productive_s * n,
        "checkpoint_gpu_s": done * (full - compute) * n,
        "lost_gpu_s": lost[ids_a],
        "restart_gpu_s": restart[ids_a] * n,
        "interruptions": inter[ids_a].astype(np.int64),
        "held_s": held[ids_a],
        "in_system_s": in_system,
        "ettr": np.divide(productive_s, in_system, out=np.full(len(ids), np.nan),
                          where=in_system > 0),
    }


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
            "label": arr(log.infra_label)}


def _class_name(code: int) -> str:
    return COMPONENTS[code] if 0 <= code < len(COMPONENTS) else "injected"


def failures_table(log: EventLog) -> dict[str, np.ndarray]:
    """One row per failure, repair or spare swap: time (s), event, class, GPUs, cause.

    For a spine switch ``gpus`` is the site's GPUs × ``1/S`` (the GPU-equivalents of
    cross-pod bandwidth it costs; 0 for a switch that was already down)."""
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
    }


def _down_gpu_s(f: dict[str, np.ndarray], code: int, horizon_s: float) -> float:
    """∫ GPUs down for class ``code`` (each failure from its time to its repair)."""
    fail = (f["kind"] == Infra.FAILURE) & (f["subject"] == code)
    rep = (f["kind"] == Infra.REPAIR) & (f["subject"] == code)
    return float((f["value"][fail] * (horizon_s - f["t"][fail])).sum()
                 - (f["value"][rep] * (horizon_s - f["t"][rep])).sum())


def failure_summary(log: EventLog, works: Sequence[Work], horizon_s: float,
                    n_gpus: int) -> dict[str, Any]:
    """The ``failures`` key of ``summary.json`` (see the module docstring)."""
    f = _infra(log)
    by_class: dict[str, Any] = {}
    total = max(n_gpus * horizon_s, 1e-12)
    for code, name in enumerate(COMPONENTS):
        fails = int(((f["kind"] == Infra.FAILURE) & (f["subject"] == code)).sum())
        if not fails:
            continue
        down = 0.0 if name == "software" else _down_gpu_s(f, code, horizon_s)
        by_class[name] = {
            "effect": effect_of(name),
            "failures": fails,
            "repairs": int(((f["kind"] == Infra.REPAIR) & (f["subject"] == code)).sum()),
            "gpu_h_down": down / 3600.0,
            "availability": 1.0 - down / total,
        }
    jf = job_figures(log, works, horizon_s)
    c = log.work_columns()
    k = c["kind"]
    inter = k == Ev.INTERRUPT
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

    return {
        "by_class": by_class,
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
        "replicas_lost": int((k == Ev.LOST).sum()),
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
            ("replicas lost", f"{s['replicas_lost']:,}"),
            ("requests retried / failed",
             f"{s['requests_retried']:,} / {s['requests_failed']:,}")]
    what_of = {"scale_out": "with scale-out", "bandwidth": "of spine capacity"}
    for name, cls in s["by_class"].items():
        what = what_of.get(cls["effect"], "available")
        rows.append((f"  {name}", f"{cls['failures']} failed, "
                                  f"{100 * cls['availability']:.3f}% {what}"))
    return rows
