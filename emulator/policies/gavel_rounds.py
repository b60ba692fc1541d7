"""Gavel's allocation-then-rounds scheduling, shared by its max-min fairness policies.

Source: Narayanan et al., "Heterogeneity-Aware Cluster Scheduling Policies for Deep
Learning Workloads", OSDI 2020, sections 3 (policies as optimisation problems over an
allocation ``X``) and 5 (the round-based mechanism); simulator at
github.com/stanford-futuredata/gavel (``scheduler/policies/max_min_fairness.py``,
``scheduler/scheduler.py``). Not a policy itself.

*Allocation.* ``X[j, k]`` is the fraction of time job ``j`` should run on GPU type ``k``.
Max-min fairness maximises the smallest *normalised effective throughput*
``Σ_k T[j, k] · s_j · X[j, k] / (w_j · P_j)`` subject to ``Σ_k X[j, k] ≤ 1`` (a job runs on
one type at a time) and ``Σ_j s_j · X[j, k] ≤ n_k`` (GPUs of type ``k``), where ``T`` is
throughput (fraction of the job per second, ``1 / duration on k``), ``s_j`` the job's GPUs,
``w_j`` its weight (1) and ``P_j = Σ_k T[j, k] · n_k / N`` its throughput on an equal share
of every type. The heterogeneity-agnostic variant sets ``T = 1`` wherever a job can run.
It is a linear programme (maximise ``t`` with ``t ≤`` each job's term), solved by SciPy's
HiGHS (``scipy.optimize.linprog``); the LP may have several optima, and HiGHS returns a
vertex where Gavel's default solver (ECOS, interior point) returns an interior point.

*Rounds.* At each scheduling round (every ``scheduler.round_length``, 360 s in Gavel) a
job's priority on type ``k`` is ``X[j, k]`` divided by the share of its time in the system
it has so far received on ``k`` (infinite before it has run there). GPU types are served
fastest first; within a type, jobs by priority, each job at most once and only where its
GPUs fit. A running job assigned to its current type keeps its GPUs; otherwise it is
preempted (and may restart on another type in the same round).

Serving work and non-preemptible jobs are started first, wherever they fit, and never
moved. GPU types are the GPUs' names (a ``generic`` hall's ``gpu: v100``); per-type durations come
from a throughput table (``view.options["runtime_by_gpu_s"]``, set by Gavel trace replay);
a job without one runs equally fast everywhere (its runtime estimate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emulator.placement.base import PlacementRequest
from emulator.policies.base import (
    ClusterView,
    Decision,
    PreemptJob,
    QueuedJob,
    RunningJob,
    StartJob,
)

__all__ = ["GavelRounds", "max_min_allocation"]


def max_min_allocation(throughput: np.ndarray, scale: np.ndarray,
                       gpus_per_type: np.ndarray) -> np.ndarray:
    """The max-min fair allocation ``X`` (jobs × types) for ``throughput`` (jobs × types,
    0 where a job cannot run), job GPU counts ``scale`` and ``gpus_per_type``."""
    n_jobs, n_types = throughput.shape
    if n_jobs == 0:
        return np.zeros((0, n_types))
    total = float(gpus_per_type.sum())
    fair = throughput @ (gpus_per_type / total)  # P_j: throughput on an equal share
    coef = throughput * scale[:, None] / np.where(fair > 0, fair, 1.0)[:, None]
    nx = n_jobs * n_types
    # Variables: X flattened row-major, then t. Minimise -t.
    c = np.zeros(nx + 1)
    c[-1] = -1.0
    rows = []
    rhs = []
    for j in range(n_jobs):  # t - Σ_k coef[j,k] X[j,k] <= 0
        row = np.zeros(nx + 1)
        row[j * n_types:(j + 1) * n_types] = -coef[j]
        row[-1] = 1.0
        rows.append(row)
        rhs.append(0.0)
    for j in range(n_jobs):  # Σ_k X[j,k] <= 1
        row = np.zeros(nx + 1)
        row[j * n_types:(j + 1) * n_types] = 1.0
        rows.append(row)
        rhs.append(1.0)
    for k in range(n_types):  # Σ_j s_j X[j,k] <= n_k
        row = np.zeros(nx + 1)
        row[k:nx:n_types] = scale
        rows.append(row)
        rhs.append(float(gpus_per_type[k]))
    bounds = [(0.0, 1.0 if throughput.flat[i] > 0 else 0.0) for i in range(nx)]
    bounds.append((0.0, None))
    from scipy.optimize import linprog  # loaded only when an LP is solved (start-up)

    result = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds,
                     method="highs-ipm")
    if result.status != 0:  # cannot happen for this feasible, bounded LP; be explicit
        raise RuntimeError(f"max-min fairness LP failed: {result.message}")
    return np.clip(result.x[:nx].reshape(n_jobs, n_types), 0.0, 1.0)


@dataclass
class _Seen:
    """What the mechanism remembers of a job between rounds."""

    first_s: float
    request: PlacementRequest | None
    received_s: dict[str, float]


class GavelRounds:
    """The LP allocation and the round mechanism over one cluster (state across rounds)."""

    def __init__(self, heterogeneity_aware: bool) -> None:
        self.aware = heterogeneity_aware
        self._seen: dict[int, _Seen] = {}
        self._last_s: float | None = None
        self._types: tuple[np.ndarray, list[str], np.ndarray, np.ndarray] | None = None
        self._alloc: tuple[tuple[int, ...], np.ndarray] | None = None

    def _gpu_types(self, view: ClusterView) -> tuple[np.ndarray, list[str], np.ndarray,
                                                     np.ndarray]:
        """(type of each GPU, type names, GPUs per type, type of each NVLink domain)."""
        if self._types is None:
            index = view.scratch().index
            domain_name = [index.systems[int(index.rack_system[int(index.domain_rack[d])])]
                           .gpu.name for d in range(index.n_domains)]
            names = sorted(set(domain_name))
            domain_type = np.array([names.index(n) for n in domain_name], dtype=np.int64)
            gpu_type = domain_type[index.gpu_domain]
            counts = np.bincount(gpu_type, minlength=len(names))
            self._types = (gpu_type, names, counts, domain_type)
        return self._types

    def _runtimes(self, view: ClusterView, job: QueuedJob | RunningJob,
                  names: list[str]) -> np.ndarray:
        table = view.options.get("runtime_by_gpu_s", {})
        by_gpu = table.get(job.work_id) if isinstance(table, dict) else None
        if by_gpu:
            return np.array([by_gpu.get(n, math.inf) for n in names], dtype=float)
        est = job.est_duration_s if isinstance(job, QueuedJob) else math.inf
        return np.full(len(names), est if math.isfinite(est) else 1.0)

    def decide(self, view: ClusterView) -> list[Decision]:
        """One round: allocation, priorities, assignment, then preempt/start decisions."""
        gpu_type, names, counts, domain_type = self._gpu_types(view)
        now = view.now
        jobs: list[QueuedJob | RunningJob] = sorted(
            (j for j in (*view.running, *view.queue) if j.kind == "training" and j.preemptible),
            key=lambda j: j.work_id)  # a canonical order: the same jobs, the same LP
        ids = {j.work_id for j in jobs}
        self._seen = {w: s for w, s in self._seen.items() if w in ids}
        elapsed = 0.0 if self._last_s is None else now - self._last_s
        for j in jobs:
            seen = self._seen.setdefault(j.work_id, _Seen(now, None, {}))
            if isinstance(j, QueuedJob):
                seen.request = j.request
            elif j.gpus is not None and elapsed > 0:
                name = names[int(gpu_type[int(j.gpus[0])])]
                seen.received_s[name] = seen.received_s.get(name, 0.0) + elapsed
        self._last_s = now
        if not jobs and all(q.kind == "training" and q.preemptible for q in view.queue):
            return []
        runtimes = np.array([self._runtimes(view, j, names) for j in jobs],
                            dtype=float).reshape(len(jobs), len(names))
        speed = np.where(np.isfinite(runtimes), 1.0 / runtimes, 0.0)
        key = tuple(j.work_id for j in jobs)
        if self._alloc is None or self._alloc[0] != key:
            # As in Gavel, the allocation changes only when jobs arrive or leave; an LP
            # with several optima must not flip between them round after round.
            thr = speed if self.aware else (speed > 0).astype(float)
            scale = np.array([j.n_gpus for j in jobs], dtype=float)
            self._alloc = (key, max_min_allocation(thr, scale, counts.astype(float)))
        alloc = self._alloc[1]
        return self._assign(view, jobs, alloc, speed, names, counts, gpu_type, domain_type)

    def _assign(self, view: ClusterView, jobs: Sequence[QueuedJob | RunningJob],
                alloc: np.ndarray, speed: np.ndarray, names: list[str], counts: np.ndarray,
                gpu_type: np.ndarray, domain_type: np.ndarray) -> list[Decision]:
        now = view.now
        pairs: list[tuple[int, float, float, int, int]] = []
        mean_speed = speed.mean(axis=0) if len(jobs) else np.zeros(len(names))
        order = np.argsort(-mean_speed, kind="stable")  # fastest type first
        for rank, k in enumerate(order.tolist()):
            for i, j in enumerate(jobs):
                if speed[i, k] <= 0:
                    continue
                seen = self._seen[j.work_id]
                share = seen.received_s.get(names[k], 0.0) / max(now - seen.first_s, 1e-9)
                x = float(alloc[i, k])
                prio = (math.inf if x > 0 else 0.0) if share <= 0 else x / share
                pairs.append((rank, -prio, -x, j.work_id, i))
        pairs.sort()
        free = counts.copy()
        # Held by work this mechanism does not move (services, non-preemptible jobs).
        for r in view.running:
            if (r.kind != "training" or not r.preemptible) and r.gpus is not None:
                free -= np.bincount(gpu_type[r.gpus], minlength=len(names))
        decisions: list[Decision] = []
        scratch = view.scratch()
        for q in view.queue:  # serving and non-preemptible work first, never moved after
            if q.kind == "training" and q.preemptible:
                continue
            gpus = scratch.place(q.request)
            if gpus is not None:
                decisions.append(StartJob(q.work_id, gpus))
                free -= np.bincount(gpu_type[gpus], minlength=len(names))
        assigned: dict[int, int] = {}
        for _rank, _p, _x, wid, i in pairs:
            k = int(order[_rank])
            if wid in assigned or free[k] < jobs[i].n_gpus:
                continue
            assigned[wid] = k
            free[k] -= jobs[i].n_gpus
        moving: list[QueuedJob | RunningJob] = []
        for j in jobs:
            k = assigned.get(j.work_id)
            if isinstance(j, RunningJob):
                on = int(gpu_type[int(j.gpus[0])]) if j.gpus is not None else -1
                if k == on:
                    continue
                decisions.append(PreemptJob(j.work_id, "Gavel round"))
                if j.gpus is not None:
                    scratch.release(j.gpus)
                if k is not None:
                    moving.append(j)
            elif k is not None:
                moving.append(j)
        for j in moving:
            k = assigned[j.work_id]
            base = self._seen[j.work_id].request
            if base is None:
                continue  # never seen waiting: cannot be placed (does not happen)
            eligible = domain_type == k
            if base.eligible is not None:
                eligible = eligible & base.eligible
            gpus = scratch.place(PlacementRequest(base.n_gpus, base.group_size, eligible))
            if gpus is not None:
                decisions.append(StartJob(j.work_id, gpus))
        return decisions
