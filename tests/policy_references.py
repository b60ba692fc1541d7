"""Plain reference versions of policy rounds that the shipped policies answer faster.

Each follows its policy's rule step by step, one queued job at a time, with no shortcut:
the tests run whole scenarios with these in place of the shipped rounds and require the
same event log (``tests/test_policy_fast_paths.py``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence

from emulator.policies.base import (
    ClusterView,
    Decision,
    PreemptJob,
    QueuedJob,
    RunningJob,
    StartJob,
)
from emulator.policies.fairshare import FairSharePolicy
from emulator.policies.ordered import MAX_PREEMPT_TRIES, free_by_preempting, greedy_round
from emulator.policies.priority import PriorityPolicy

__all__ = ["fairshare_round", "priority_round"]


def fairshare_round(policy: FairSharePolicy, view: ClusterView) -> list[Decision]:
    """Progressive filling: the tenant furthest below its entitlement offers its next job,
    tried in turn (placement, then reclaim from borrowers)."""
    decisions: list[Decision] = []
    if not view.queue:
        return decisions
    tenants = policy.entitled_tenants(view, {j.tenant for j in view.queue})
    raw = view.options.get("tenant_weights") if view.options else None
    entitled = policy.entitlements(tenants, view.total_gpus,
                                   raw if isinstance(raw, Mapping) else None)
    used = {t: float(view.tenant_gpus.get(t, 0)) for t in tenants}
    pending: dict[str, deque[QueuedJob]] = {}
    for job in view.queue:
        pending.setdefault(job.tenant, deque()).append(job)

    def ratio(t: str) -> tuple[float, str]:
        e = entitled[t]
        return (used[t] / e if e > 0 else math.inf), t

    scratch = view.scratch()
    running: list[RunningJob] | None = None
    preempted: set[int] = set()
    tries = 0
    while pending:
        tenant = min(pending, key=ratio)
        job = pending[tenant].popleft()
        if not pending[tenant]:
            del pending[tenant]
        if used[tenant] + job.n_gpus > policy.cap(tenant, view.total_gpus):
            continue
        gpus = scratch.place(job.request)
        if (gpus is None and policy.reclaim and tries < MAX_PREEMPT_TRIES
                and used[tenant] + job.n_gpus <= entitled[tenant]):
            if running is None:
                running = [r for r in view.running if r.preemptible and r.start_s < view.now]
            borrowers = [r for r in running if r.work_id not in preempted
                         and r.tenant != tenant and used[r.tenant] > entitled[r.tenant]]
            if borrowers:
                tries += 1
                borrowers.sort(key=lambda r: (  # borrowed GPUs first (a tenant kept at its share)
                    used[r.tenant] - r.n_gpus < entitled[r.tenant] - 1e-9,
                    -ratio(r.tenant)[0], -r.start_s, r.work_id))
                freed = free_by_preempting(scratch, job, borrowers)
                if freed is not None:
                    victims, gpus = freed
                    for v in victims:
                        preempted.add(v.work_id)
                        used[v.tenant] -= v.n_gpus
                        decisions.append(PreemptJob(v.work_id, f"reclaim for tenant {tenant}"))
        if gpus is None:
            continue
        decisions.append(StartJob(job.work_id, gpus))
        used[tenant] += job.n_gpus
    return decisions


def _lower_classes(job: QueuedJob, running: Sequence[RunningJob]) -> list[RunningJob]:
    """Running work of a strictly lower class, lowest first, then latest started."""
    lower = [r for r in running if r.priority < job.priority]
    return sorted(lower, key=lambda r: (r.priority, -r.start_s, r.work_id))


def priority_round(policy: PriorityPolicy, view: ClusterView) -> list[Decision]:
    """Class by class, arrival order inside a class; each blocked job gets its victims by
    scanning the running work."""
    order = sorted(view.queue, key=lambda j: (-j.priority, j.submit_s, j.work_id))
    return greedy_round(view, order, _lower_classes if policy.preempt else None,
                        blocking=not policy.work_conserving)
