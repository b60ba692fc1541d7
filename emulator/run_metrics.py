"""The figures of one policy study run, and the confidence interval of a metric over seeds.

Kept apart from :mod:`emulator.compare` (which runs the study) so each file has one
concern: :func:`run_metrics` reads one finished run's event log into a
:class:`RunMetrics` (the metrics of :data:`emulator.compare.METRICS` overall and per
tenant, the JCT samples and the utilisation and queue over time, all from the log), and
:func:`mean_ci` gives a metric's mean over seeds with its 95 % t-interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emulator.failure_metrics import goodput_ettr, job_figures

__all__ = ["RunMetrics", "mean_ci", "run_metrics", "t_quantile_975"]


_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
"""Student t 0.975 quantiles for 1..30 degrees of freedom (standard tables)."""


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom.

    Tabulated up to 30, then the Cornish-Fisher expansion around the normal quantile
    (error below 1e-4 there).
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963984540054
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci(values: Sequence[float | None]) -> tuple[float, float, int]:
    """``(mean, 95 % half-width, n)`` over the finite values; NaN where undefined."""
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(v[0]), math.nan, 1
    half = t_quantile_975(n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
    return float(v.mean()), half, n


@dataclass
class RunMetrics:
    """What one run contributes: metrics by scope, JCTs and the time series for plots."""

    point: str
    policy: str
    seed: int
    metrics: dict[str, dict[str, float | None]]
    jct_s: np.ndarray
    t_s: np.ndarray
    busy_frac: np.ndarray
    queued: np.ndarray
    wall_s: float
    trace_issues: list[str] = field(default_factory=list)
    schedule: str = ""
    """Digest of the run's schedule (:func:`emulator.compare_metrics.schedule_digest`)."""
    entitlement: str = "share"
    """What ``fairness`` and ``share_vs_quota`` were measured against: the tenants'
    ``share`` weights, or the run's policy's ``quotas``/``weights``
    (:func:`emulator.compare_metrics.entitlements`)."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (arrays as lists), for the sweep cache and worker transfers."""
        return {"point": self.point, "policy": self.policy, "seed": self.seed,
                "metrics": self.metrics, "jct_s": self.jct_s.tolist(),
                "t_s": self.t_s.tolist(), "busy_frac": self.busy_frac.tolist(),
                "queued": self.queued.tolist(), "wall_s": self.wall_s,
                "trace_issues": list(self.trace_issues), "schedule": self.schedule,
                "entitlement": self.entitlement}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunMetrics:
        """The inverse of :meth:`to_json`."""
        def arr(key: str) -> np.ndarray:
            return np.asarray(d[key], dtype=np.float64)

        scopes = d["metrics"]  # ``overall`` first, then the tenants sorted (as run_metrics)
        metrics = {k: scopes[k] for k in sorted(scopes, key=lambda k: (k != "overall", k))}
        return cls(d["point"], d["policy"], int(d["seed"]), metrics, arr("jct_s"),
                   arr("t_s"), arr("busy_frac"), arr("queued"), float(d["wall_s"]),
                   list(d.get("trace_issues", [])), str(d.get("schedule", "")),
                   str(d.get("entitlement", "share")))


def _scope_metrics(jobs: dict[str, np.ndarray], sel: np.ndarray, gpu_s: np.ndarray,
                   available: float, slo: float | None,
                   energy: float | None,
                   figures: dict[str, np.ndarray] | None = None) -> dict[str, float | None]:
    train = sel & (jobs["kind"] == "training")
    jct = jobs["jct_s"][train]
    jct = jct[~np.isnan(jct)]
    wait = jobs["wait_s"][train]
    wait = wait[~np.isnan(wait)]
    return {
        "jct_mean_s": float(jct.mean()) if jct.size else None,
        "jct_p99_s": float(np.percentile(jct, 99)) if jct.size else None,
        "wait_mean_s": float(wait.mean()) if wait.size else None,
        "util": float(gpu_s[sel].sum() / available) if available else None,
        "slo": slo,
        "energy_mwh": energy,
        "lost_gpu_h": float(jobs["lost_gpu_s"][train].sum() / 3600.0) if train.any() else None,
        "finished": float((jobs["state"][train] == "finished").sum()) if train.any() else None,
        **_goodput(jobs, sel, figures),
    }


def _goodput(jobs: dict[str, np.ndarray], sel: np.ndarray,
             figures: dict[str, np.ndarray] | None) -> dict[str, float | None]:
    """``goodput`` and ``ettr`` of the training jobs in ``sel`` (rows of ``jobs``)."""
    if figures is None:
        return {"goodput": None, "ettr": None}
    chosen = set(jobs["work_id"][sel].tolist())
    mask = np.array([i in chosen for i in figures["work_id"].tolist()], dtype=bool)
    goodput, ettr = goodput_ettr(figures, mask)
    return {"goodput": goodput, "ettr": ettr}


def run_metrics(sim: Any, point: str = "", policy: str = "", seed: int = 0) -> RunMetrics:
    """The metrics of one finished simulation (all from its event log)."""
    from emulator.compare_metrics import add_study_metrics, entitlements, schedule_digest
    from emulator.policies.registry import make_queue_policy
    from emulator.results import collect
    from emulator.tables import jobs_table

    summary = collect(sim, include_requests=False).summary
    jobs = jobs_table(sim.log, sim.works)
    figures = job_figures(sim.log, sim.works, sim.horizon_s)
    gpu_s = jobs["gpu_s"]  # from the log's runs (a run still open at the horizon was
    # closed by its truncation there)
    available = float(sim.index.n_gpus * sim.horizon_s)
    energy = (summary.get("energy") or {}).get("facility_mwh")
    metrics = {"overall": _scope_metrics(
        jobs, np.ones(jobs["kind"].size, bool), gpu_s, available,
        (summary.get("requests") or {}).get("slo_attainment"), energy, figures)}
    for tenant, ts in sorted((summary.get("tenants") or {}).items()):
        metrics[tenant] = _scope_metrics(
            jobs, jobs["tenant"] == tenant, gpu_s, available,
            (ts.get("requests") or {}).get("slo_attainment"), None, figures)
    sc = sim.loaded.scenario
    options = dict(sc.scheduler.options)
    # only an entitlement in the options can differ from the shares: no policy built else
    queue = make_queue_policy(sc.scheduler.queue, options) \
        if {"quotas", "weights"} & set(options) else None
    # tenants the run gave no work that can run: the policy keeps no part for them
    idle = sim.engine.rounds.options.get("tenants_without_work") or ()
    weights, basis = entitlements(queue, sorted({str(t) for t in jobs["tenant"].tolist()}),
                                  {name: t.share for name, t in sc.tenants.items()},
                                  frozenset(idle))
    add_study_metrics(metrics, summary, jobs, weights)
    samples = sim.log.samples
    t = np.array([s.t for s in samples], dtype=np.float64)
    busy = np.array([s.busy_gpus for s in samples], dtype=np.float64) / max(sim.index.n_gpus, 1)
    queued = np.array([sum(s.queue_by_tenant) for s in samples], dtype=np.float64)
    train = (jobs["kind"] == "training") & ~np.isnan(jobs["jct_s"])
    return RunMetrics(point, policy, seed, metrics, jobs["jct_s"][train], t, busy, queued,
                      sim.wall_s, [str(i) for i in sim.trace_issues], schedule_digest(jobs),
                      basis)
