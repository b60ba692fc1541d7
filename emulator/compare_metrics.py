"""The comparison figures a policy study needs beyond job times: TTFT p99, fairness
between tenants, and a digest of the schedule (to tell when policies did not differ).

Fairness (overall scope) is Jain's index over the tenants that submit training work
(the work a queue policy orders): tenant ``i``'s *normalised share* is

    x_i = (its training GPU-seconds / all training GPU-seconds) / quota_i,
    quota_i = share_i / Σ share_j   (the tenant's ``share`` weight, 1 when unset),

and ``J = (Σ x_i)² / (n · Σ x_i²)``: 1 when every tenant got exactly its quota, ``1/n``
when one tenant got everything. Each tenant's own scope reports ``x_i`` as
``share_vs_quota`` (1: its quota; above: it borrowed). Demand is not capped: a tenant that
asks for little scores low without a policy being unfair to it, so read the index between
policies of one scenario, not as an absolute verdict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

__all__ = ["add_study_metrics", "fairness", "schedule_digest", "ttft_p99_s"]


def ttft_p99_s(requests: Mapping[str, object] | None) -> float | None:
    """The 99th-percentile time to first token (s) of a summary's ``requests`` section,
    or None when it has no requests."""
    ttft = (requests or {}).get("ttft_s")
    value = ttft.get("p99") if isinstance(ttft, Mapping) else None
    return float(value) if isinstance(value, int | float) else None


def _mean_of(section: object, key: str) -> float | None:
    """The ``mean`` of the statistics at ``section[key]`` (None when there is none)."""
    stats = section.get(key) if isinstance(section, Mapping) else None
    value = stats.get("mean") if isinstance(stats, Mapping) else None
    return float(value) if isinstance(value, int | float) else None


def fairness(jobs: Mapping[str, np.ndarray], weights: Mapping[str, float | None]
             ) -> tuple[float | None, dict[str, float]]:
    """``(Jain's index, {tenant: share_vs_quota})`` over tenants with training jobs in
    ``jobs`` (a jobs table: ``kind``, ``tenant``, ``gpu_s``); ``weights`` maps a tenant to
    its ``share`` (None: 1). No index (None) when no training GPU-seconds were held."""
    train = jobs["kind"] == "training"
    tenants = sorted({str(t) for t in jobs["tenant"][train].tolist()})
    if not tenants:
        return None, {}
    held = np.array([float(jobs["gpu_s"][train & (jobs["tenant"] == t)].sum())
                     for t in tenants])
    total = held.sum()
    if total <= 0:
        return None, {}
    w = np.array([1.0 if weights.get(t) is None else float(weights[t])  # type: ignore[arg-type]
                  for t in tenants])
    x = (held / total) / (w / w.sum())
    jain = float(x.sum() ** 2 / (x.size * (x**2).sum()))
    return jain, {t: float(v) for t, v in zip(tenants, x, strict=True)}


def schedule_digest(jobs: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of what a schedule decided: each job's id, state, start, end and
    preemptions (bytes of the jobs table's columns). Two runs with equal digests ran every
    job at the same times."""
    h = hashlib.sha256()
    for name in ("work_id", "start_s", "end_s", "preemptions"):
        col = np.ascontiguousarray(jobs[name])
        h.update(name.encode())
        h.update(col.tobytes())
    h.update("\0".join(str(s) for s in jobs["state"].tolist()).encode())
    return h.hexdigest()


def add_study_metrics(metrics: dict[str, dict[str, float | None]],
                      summary: Mapping[str, object], jobs: Mapping[str, np.ndarray],
                      weights: Mapping[str, float | None]) -> None:
    """Add ``ttft_p99_s`` and ``wait_incl_queued_mean_s`` (every scope), ``fairness``
    (overall) and ``share_vs_quota`` (each tenant with training work) to one run's
    ``metrics`` by scope, in place."""
    tenants = summary.get("tenants")
    tenants = tenants if isinstance(tenants, Mapping) else {}
    jain, ratio = fairness(jobs, weights)
    for scope, m in metrics.items():
        section = summary if scope == "overall" else tenants.get(scope, {})
        requests = section.get("requests") if isinstance(section, Mapping) else None
        m["ttft_p99_s"] = ttft_p99_s(requests if isinstance(requests, Mapping) else None)
        m["wait_incl_queued_mean_s"] = _mean_of(section, "wait_incl_queued_s")
        if scope == "overall":
            m["fairness"] = jain
        else:
            m["share_vs_quota"] = ratio.get(scope)
