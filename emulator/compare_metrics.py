"""The comparison figures a policy study needs beyond job times: TTFT p99, fairness
between tenants, and a digest of the schedule (to tell when policies did not differ).

Fairness (overall scope) is Jain's index over the tenants that submit training work
(the work a queue policy orders): tenant ``i``'s *normalised share* is

    x_i = (its training GPU-seconds / all training GPU-seconds) / quota_i,
    quota_i = e_i / Σ e_j   (over the tenants with training work),

and ``J = (Σ x_i)² / (n · Σ x_i²)``: 1 when every tenant got exactly its quota, ``1/n``
when one tenant got everything. Each tenant's own scope reports ``x_i`` as
``share_vs_quota`` (1: its quota; above: it borrowed). Demand is not capped: a tenant that
asks for little scores low without a policy being unfair to it, so read the index between
policies of one scenario, not as an absolute verdict.

``e_i`` is the entitlement the run's policy itself uses (:func:`entitlements`): for
``fairshare`` with ``quotas`` or ``weights`` in its options, its entitled GPUs (a quota,
or a weighted part of what the quotas leave, shared among every tenant with work that can
run, as the policy shares it); for every other policy (and ``fairshare`` without them) the
tenant's ``share`` weight, 1 when unset. Which one a run used is its ``entitlement``
(compare names it under its tables). A tenant entitled to nothing (quotas that leave no
rest, or no quota and every job of its rejected) has no ``share_vs_quota`` and is left out
of the index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence

import numpy as np

__all__ = ["SHARE_BASIS", "add_study_metrics", "entitlements", "fairness", "schedule_digest",
           "ttft_p99_s"]

SHARE_BASIS = "share"
"""The ``entitlement`` of a run measured against the tenants' ``share`` weights."""


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


def entitlements(policy: object, tenants: Sequence[str],
                 shares: Mapping[str, float | None], idle: Collection[str] = ()
                 ) -> tuple[dict[str, float | None], str]:
    """``({tenant: entitlement weight}, basis)``: what the queue ``policy`` (an instance)
    entitles each of ``tenants`` (every tenant with work in the jobs table) to, and the
    name of that basis.

    A fair-share policy with ``quotas`` or ``weights`` set (one with an ``entitlements``
    method, :class:`~emulator.policies.fairshare.FairSharePolicy`) gives its entitled
    fractions of the cluster (``quotas``, ``weights`` or ``quotas+weights``), shared as the
    policy shares them: among the tenants with a quota and those of ``tenants`` not in
    ``idle`` (the run's ``tenants_without_work``: every job and service of theirs was
    rejected, so the policy keeps no part for them), an ``idle`` tenant without a quota
    being entitled to 0. Any other policy is measured against the tenants' ``shares``
    (None: 1), basis :data:`SHARE_BASIS`."""
    quotas = getattr(policy, "quotas", None) or {}
    weights = getattr(policy, "weights", None) or {}
    entitle = getattr(policy, "entitlements", None)
    if not callable(entitle) or not (quotas or weights):
        return dict(shares), SHARE_BASIS
    view_weights = {t: 1.0 if shares.get(t) is None else float(shares[t])  # type: ignore[arg-type]
                    for t in tenants}
    everyone = sorted(set(tenants) | set(quotas))
    entitled = entitle([t for t in everyone if t not in idle or t in quotas], 1,
                       view_weights)
    basis = "+".join(name for name, on in (("quotas", quotas), ("weights", weights)) if on)
    return {t: float(entitled.get(t, 0.0)) for t in everyone}, basis


def fairness(jobs: Mapping[str, np.ndarray], weights: Mapping[str, float | None]
             ) -> tuple[float | None, dict[str, float]]:
    """``(Jain's index, {tenant: share_vs_quota})`` over tenants with training jobs in
    ``jobs`` (a jobs table: ``kind``, ``tenant``, ``gpu_s``); ``weights`` maps a tenant to
    its entitlement weight (:func:`entitlements`; None or absent: 1). No index (None) when
    no training GPU-seconds were held; a tenant of weight 0 has no ratio and is left out of
    the index (its GPU-seconds still count in the total)."""
    train = jobs["kind"] == "training"
    tenants = sorted({str(t) for t in jobs["tenant"][train].tolist()})
    if not tenants:
        return None, {}
    held = np.array([float(jobs["gpu_s"][train & (jobs["tenant"] == t)].sum())
                     for t in tenants])
    total = held.sum()
    w = np.array([1.0 if weights.get(t) is None else float(weights[t])  # type: ignore[arg-type]
                  for t in tenants])
    entitled = w > 0
    if total <= 0 or not entitled.any():
        return None, {}
    x = (held[entitled] / total) / (w[entitled] / w[entitled].sum())
    jain = float(x.sum() ** 2 / (x.size * (x**2).sum())) if (x**2).sum() > 0 else None
    names = [t for t, keep in zip(tenants, entitled, strict=True) if keep]
    return jain, {t: float(v) for t, v in zip(names, x, strict=True)}


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
