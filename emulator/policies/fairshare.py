"""Weighted fair share of GPUs with per-tenant quotas, borrowing and reclaim.

Each tenant is entitled to a slice of the cluster: its ``quota`` (a fraction of all GPUs)
where one is set, otherwise a part of what the quotas leave, in proportion to its weight
(the tenant's ``share`` in the scenario, 1 when unset). Every round, waiting work is
offered to the tenant furthest below its entitlement first (smallest used/entitled ratio,
recomputed after each start), FIFO inside a tenant — progressive filling, i.e. weighted
max-min fairness. With one resource (GPUs) this is exactly Dominant Resource Fairness
(Ghodsi et al., "Dominant Resource Fairness", NSDI 2011); the quota/borrowing model is the
capacity scheduler's (Hadoop YARN CapacityScheduler; Kubernetes Kueue cohorts):

- *borrowing*: idle GPUs may be used by any tenant beyond its entitlement, unless its
  quota is *hard* (then the quota is a cap it never exceeds);
- *reclaim*: a tenant's job that would keep it within its entitlement but does not fit may
  preempt preemptible training of tenants that are above theirs: first the jobs whose
  preemption leaves their tenant at or above its own entitlement (borrowed GPUs), then the
  others; within each, the most over-served tenant first, latest started first
  (:func:`reclaim_rank`). Preempted work loses what it computed since its last checkpoint
  and pays its restore time on restart.

Options (``scheduler.options``):

- ``quotas``: ``{tenant: fraction}``, fractions in (0, 1] summing to at most 1;
- ``hard``: ``false`` (default), ``true`` (every quota is a cap) or a list of tenants;
- ``weights``: ``{tenant: weight}``, overriding the tenants' ``share``;
- ``reclaim``: ``true`` (default) to preempt borrowers for tenants below their share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from emulator.errors import UserError, did_you_mean, short
from emulator.policies.base import (
    ClusterView,
    Decision,
    PreemptJob,
    QueuePolicy,
    RunningJob,
    StartJob,
)
from emulator.policies.options import number_map, switch
from emulator.policies.ordered import MAX_PREEMPT_TRIES, free_by_preempting

__all__ = ["FairSharePolicy", "reclaim_rank"]


def reclaim_rank(r: RunningJob, used: Mapping[str, float],
                 entitled: Mapping[str, float]) -> tuple[bool, float, float, int]:
    """Sort key of a borrower's running job ``r`` as a reclaim victim (smallest first).

    First the jobs whose preemption leaves their tenant at or above its entitlement (GPUs
    that tenant borrowed: ``used`` and ``entitled`` GPUs per tenant), then the others; within
    each, the most over-served tenant (``used / entitled``) first, then latest started.
    Without the first key a tenant one GPU over its share could lose a large job where its
    one-GPU job would have made room, dropping it far below its own share while the GPUs
    freed beyond the need stayed idle."""
    e = entitled[r.tenant]
    over = used[r.tenant] / e if e > 0 else math.inf
    below_after = used[r.tenant] - r.n_gpus < e - 1e-9
    return below_after, -over, -r.start_s, r.work_id


class FairSharePolicy(QueuePolicy):
    """Weighted max-min fair share (DRF on GPUs) with quotas, borrowing and reclaim."""

    name = "fairshare"

    def __init__(self, quotas: Mapping[str, float] | None = None,
                 hard: bool | Sequence[str] = False,
                 weights: Mapping[str, float] | None = None, reclaim: bool = True,
                 **options: Any) -> None:
        super().__init__(**options)
        self.quotas = number_map(quotas, "quotas")
        for t, q in self.quotas.items():
            if not 0.0 < q <= 1.0:
                raise ValueError(f"quotas.{t} must be a fraction in (0, 1], got {q}")
        if sum(self.quotas.values()) > 1.0 + 1e-9:
            raise ValueError(f"quotas sum to {sum(self.quotas.values()):g}; at most 1")
        if isinstance(hard, bool):
            self.hard = set(self.quotas) if hard else set()
        elif not isinstance(hard, list | tuple | set | frozenset):
            raise UserError(f"scheduler.options.hard: got {short(hard)}; expected true, false "
                            "or a list of tenants")
        else:
            self.hard = {str(t) for t in hard}
            unknown = self.hard - set(self.quotas)
            if unknown:
                raise ValueError(f"hard names tenants without a quota: {sorted(unknown)}")
        self.weights = number_map(weights, "weights")
        for t, w in self.weights.items():
            if not (w > 0 and math.isfinite(w)):  # an infinite weight made entitlements NaN
                raise UserError(f"scheduler.options.weights.{t}: got {w:g}; expected a "
                                "positive finite number")
        self.reclaim = switch(reclaim, "reclaim")

    def check_tenants(self, tenants: Collection[str]) -> None:
        """A one-line :class:`UserError` for a tenant named in ``quotas``, ``hard`` or
        ``weights`` that is not one of ``tenants`` (a misspelt name would otherwise get
        nothing and its tenant no quota)."""
        for option, names in (("quotas", self.quotas), ("weights", self.weights),
                              ("hard", sorted(self.hard))):
            for name in names:
                if name not in tenants:
                    raise UserError(f"scheduler.options.{option}: got tenant {short(name)}; "
                                    f"expected one of {', '.join(sorted(tenants))}"
                                    f"{did_you_mean(name, tenants)}")

    def entitlements(self, tenants: Sequence[str], total_gpus: int,
                     view_weights: Mapping[str, float] | None = None) -> dict[str, float]:
        """GPUs each tenant is entitled to: its quota, or a weighted part of the rest."""
        weights = {t: float(self.weights.get(t, (view_weights or {}).get(t, 1.0)))
                   for t in tenants}
        out = {t: self.quotas[t] * total_gpus for t in tenants if t in self.quotas}
        others = [t for t in tenants if t not in self.quotas]
        rest = max(0.0, 1.0 - sum(self.quotas.get(t, 0.0) for t in tenants)) * total_gpus
        w_sum = sum(weights[t] for t in others)
        for t in others:
            out[t] = rest * weights[t] / w_sum if w_sum > 0 else 0.0
        return out

    def entitled_tenants(self, view: ClusterView, waiting: Iterable[str]) -> list[str]:
        """The tenants the cluster is shared among: every tenant of the view and those
        ``waiting``, less those the run gives no work at all (``view.options``'
        ``tenants_without_work``) unless they hold GPUs, wait or have a quota. A tenant
        with nothing to run would otherwise keep a slice of the cluster for ever, and
        adding one to a scenario would change every other tenant's schedule."""
        waiting = set(waiting)
        raw = view.options.get("tenants_without_work") if view.options else None
        idle = set(raw) if isinstance(raw, list | tuple | set | frozenset) else set()
        return sorted(t for t in set(view.tenant_gpus) | waiting
                      if t not in idle or t in waiting or t in self.quotas
                      or view.tenant_gpus.get(t, 0) > 0)

    def cap(self, tenant: str, total_gpus: int) -> float:
        """Most GPUs ``tenant`` may hold (``inf`` unless its quota is hard)."""
        return self.quotas[tenant] * total_gpus if tenant in self.hard else math.inf

    def decide(self, view: ClusterView) -> list[Decision]:
        """Progressive filling by used/entitled ratio; reclaim borrowed GPUs when blocked.

        The tenant to serve changes only when a job starts or a borrower is preempted, so
        the tenant's waiting jobs that can do nothing meanwhile (more GPUs than are free
        and no reclaim open to them, or past a hard quota) are passed over with one array
        comparison, not one step each: a deep queue costs a few steps per start, and the
        decisions are those of trying every job in turn."""
        decisions: list[Decision] = []
        if not view.queue:
            return decisions
        table = view.queue_table()
        by_tenant = self._jobs_by_tenant(view, table)
        tenants = self.entitled_tenants(view, by_tenant)
        raw = view.options.get("tenant_weights") if view.options else None
        entitled = self.entitlements(tenants, view.total_gpus,
                                     raw if isinstance(raw, Mapping) else None)
        used = {t: float(view.tenant_gpus.get(t, 0)) for t in tenants}
        sizes = table.n_gpus
        # per tenant with waiting work: queue positions (arrival order) and the next one
        pending: dict[str, list[Any]] = {t: [rows, sizes[rows], 0]
                                         for t, rows in by_tenant.items()}

        def ratio(t: str) -> tuple[float, str]:
            e = entitled[t]
            return (used[t] / e if e > 0 else math.inf), t

        scratch = view.scratch()
        running: list[RunningJob] | None = None
        preempted: set[int] = set()
        tries = 0

        def borrowers_for(tenant: str) -> list[RunningJob]:
            nonlocal running
            if running is None:
                running = [r for r in view.running if r.preemptible and r.start_s < view.now]
            return [r for r in running if r.work_id not in preempted
                    and r.tenant != tenant and used[r.tenant] > entitled[r.tenant]]

        while pending:
            tenant = min(pending, key=ratio)
            rows, tenant_sizes, at = pending[tenant]
            may_reclaim = self.reclaim and tries < MAX_PREEMPT_TRIES
            # the job found is within a hard quota: those past it are passed over here
            k = self._next_that_may_act(tenant_sizes, at, used[tenant],
                                        self.cap(tenant, view.total_gpus), scratch.free_gpus,
                                        entitled[tenant] if may_reclaim else None,
                                        lambda tenant=tenant: bool(borrowers_for(tenant)))
            if k >= len(rows) - 1:
                del pending[tenant]
            else:
                pending[tenant][2] = k + 1
            if k >= len(rows):
                continue
            job = view.queue[int(rows[k])]
            gpus = scratch.place(job.request)
            if (gpus is None and self.reclaim and tries < MAX_PREEMPT_TRIES
                    and used[tenant] + job.n_gpus <= entitled[tenant]):
                borrowers = borrowers_for(tenant)
                if borrowers:
                    tries += 1
                    borrowers.sort(key=lambda r: reclaim_rank(r, used, entitled))
                    freed = free_by_preempting(scratch, job, borrowers)
                    if freed is not None:
                        victims, gpus = freed
                        for v in victims:
                            preempted.add(v.work_id)
                            used[v.tenant] -= v.n_gpus
                            decisions.append(PreemptJob(
                                v.work_id, f"reclaim for tenant {tenant}"))
            if gpus is None:
                continue
            decisions.append(StartJob(job.work_id, gpus))
            used[tenant] += job.n_gpus
        return decisions

    @staticmethod
    def _jobs_by_tenant(view: ClusterView, table: Any) -> dict[str, np.ndarray]:
        """Each tenant's queue positions in arrival order, tenants in order of their first
        waiting job."""
        names = list(view.tenant_gpus)
        col = np.asarray(table.tenant)
        if col.size and col.min() < 0:  # a view that does not list every job's tenant
            col_names = [j.tenant for j in view.queue]
            names = list(dict.fromkeys([*names, *col_names]))
            position = {t: i for i, t in enumerate(names)}
            col = np.array([position[t] for t in col_names])
        col = col.astype(np.int64)
        present, first = np.unique(col, return_index=True)
        return {names[int(t)]: np.flatnonzero(col == t)
                for t in present[np.argsort(first)]}

    @staticmethod
    def _next_that_may_act(sizes: np.ndarray, at: int, used: float, cap: float, free: int,
                           reclaim_up_to: float | None,
                           has_borrowers: Callable[[], bool]) -> int:
        """The index, from ``at`` on, of the tenant's next job that may start or reclaim
        (``len(sizes)`` if none): within the hard cap and either no larger than the free
        GPUs or, when reclaim is open (``reclaim_up_to``: the tenant's entitlement), within
        the entitlement while some borrower exists. The jobs before it would each try a
        placement that cannot succeed and change nothing."""
        rest = sizes[at:]
        within_cap = used + rest <= cap
        fits = np.flatnonzero(within_cap & (rest <= free))
        first_fit = int(fits[0]) if fits.size else rest.size
        if reclaim_up_to is not None:
            may = np.flatnonzero(within_cap[:first_fit] & (used + rest[:first_fit]
                                                             <= reclaim_up_to))
            if may.size and has_borrowers():
                return at + int(may[0])
        return at + first_fit
