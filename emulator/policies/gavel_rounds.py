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
HiGHS (``scipy.optimize.linprog``) or by ECOS; the LP may have several optima, and HiGHS
returns a vertex where ECOS, Gavel's default solver, returns an interior point. The
allocation is recomputed when jobs arrive or leave, no sooner than ``reset_interval``
after the last one (Gavel: 1920 s); jobs that arrived since wait for it.

*Rounds.* At each scheduling round (every ``scheduler.round_length``, 360 s in Gavel) a
job's priority on type ``k`` is ``X[j, k]`` divided by the share of its time in the system
it has so far received on ``k`` (infinite before it has run there). GPU types are served
fastest first (on average over the throughput table, fixed for the run; Gavel's fixed
order is V100, P100, K80); within a type, jobs by priority, each job at most once and only where its
GPUs fit. A running job assigned to its current type keeps its GPUs; otherwise it is
preempted (and may restart on another type in the same round). In round-based mode the
paper's mechanism asks for a round at every boundary while a round can change who runs
where: while a job in the allocation waits, or a running job is not on the first type
(in that order) that it can run on and that has its GPUs in service (a faster type was
full). A round where every job runs on its first such type assigns each its own type
again and is skipped. Without a round length (event-driven mode) it decides only at
arrivals and completions, and not when the queue is empty. ``mechanism: gavel`` swaps
these priorities for those of Gavel's simulator (:class:`GavelCounters`), shuffles the
types each round for the agnostic policy as it does, and asks for a round at every
boundary while jobs are active.

Serving work and non-preemptible jobs are started first, wherever they fit, and never
moved. GPU types are the GPUs' names (a ``generic`` hall's ``gpu: v100``); per-type durations come
from a throughput table (``view.options["runtime_by_gpu_s"]``, set by Gavel trace replay);
a job without one runs equally fast everywhere (its runtime estimate).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

from emulator.placement.base import PlacementRequest
from emulator.policies.base import (
    ClusterView,
    Decision,
    PreemptJob,
    QueuedJob,
    RejectJob,
    RunningJob,
    StartJob,
)
from emulator.policies.gavel_allocation import SOLVERS, max_min_allocation
from emulator.policies.gavel_counters import GavelCounters, Seen

__all__ = ["MECHANISMS", "SOLVERS", "GavelRounds", "max_min_allocation"]


MECHANISMS = ("paper", "gavel")
"""Round mechanisms: the paper's priorities (share of the job's time in the system), or
Gavel's simulator's (share of the type's time since the last allocation, deficits as
tie-break, a round at every boundary while jobs are active)."""


class GavelRounds:
    """The LP allocation and the round mechanism over one cluster (state across rounds)."""

    def __init__(self, heterogeneity_aware: bool, solver: str = "highs",
                 reset_interval_s: float = 0.0, mechanism: str = "paper") -> None:
        self.aware = heterogeneity_aware
        self.solver = solver
        self.reset_interval_s = reset_interval_s
        self.mechanism = mechanism
        self._alloc_s: float | None = None
        self._counters = GavelCounters()
        self._shuffler: random.Random | None = None
        self._shuffled: tuple[float, list[int]] | None = None
        self._seen: dict[int, Seen] = {}
        self._last_s: float | None = None
        self._types: tuple[np.ndarray, list[str], np.ndarray, np.ndarray] | None = None
        self._alloc: tuple[tuple[int, ...], np.ndarray] | None = None
        self._capacity: tuple[int, ...] | None = None  # GPUs per type the allocation had
        self._order: list[int] | None = None
        self._first: dict[int, int] = {}  # job → first type in order it can run on, in service

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

    @staticmethod
    def _in_service(view: ClusterView, gpu_type: np.ndarray,
                    counts: np.ndarray) -> tuple[int, ...]:
        """GPUs per type that work can get: all but those out of service or draining."""
        scratch = view.scratch()
        if scratch.down is None or scratch.draining is None:
            return tuple(counts.tolist())
        out = scratch.down | scratch.draining
        if not out.any():
            return tuple(counts.tolist())
        return tuple((counts - np.bincount(gpu_type[out], minlength=counts.size)).tolist())

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
        if self.mechanism == "gavel" and view.round_length_s is None:
            raise ValueError("mechanism 'gavel' needs scheduler.round_length (Gavel: 360s)")
        gpu_type, names, counts, domain_type = self._gpu_types(view)
        now = view.now
        jobs: list[QueuedJob | RunningJob] = sorted(
            (j for j in (*view.running, *view.queue) if j.kind == "training" and j.preemptible),
            key=lambda j: j.work_id)  # a canonical order: the same jobs, the same LP
        ids = {j.work_id for j in jobs}
        self._seen = {w: s for w, s in self._seen.items() if w in ids}
        elapsed = 0.0 if self._last_s is None else now - self._last_s
        paper = self.mechanism == "paper"  # Gavel's mechanism counts time in its counters
        for j in jobs:
            seen = self._seen.setdefault(j.work_id, Seen(now, None, {}))
            if isinstance(j, QueuedJob):
                seen.request = j.request
            elif paper and j.gpus is not None and elapsed > 0:
                name = names[int(gpu_type[int(j.gpus[0])])]
                seen.received_s[name] = seen.received_s.get(name, 0.0) + elapsed
        self._last_s = now
        if self.mechanism == "gavel":
            self._counters.advance(jobs, ids, elapsed, gpu_type, len(names),
                                   (view.round_length_s or 0.0) / 2.0)
        if not jobs and all(q.kind == "training" and q.preemptible for q in view.queue):
            return []
        runtimes = np.array([self._runtimes(view, j, names) for j in jobs],
                            dtype=float).reshape(len(jobs), len(names))
        speed = np.where(np.isfinite(runtimes), 1.0 / runtimes, 0.0)
        self._remember_first_types(view, jobs, speed, names, gpu_type, counts)
        rejects = self._never_fits(jobs, speed, names, counts)
        if rejects:
            refused = {d.work_id for d in rejects}
            keep = [i for i, j in enumerate(jobs) if j.work_id not in refused]
            jobs = [jobs[i] for i in keep]
            speed = speed[keep]
        key = tuple(j.work_id for j in jobs)
        due = (self._alloc_s is None or now - self._alloc_s >= self.reset_interval_s
               # Gavel's timer keeps 0 for "never", so an allocation made at time 0 does
               # not start its interval there
               or (self.mechanism == "gavel" and self._alloc_s == 0.0))
        capacity = self._in_service(view, gpu_type, counts)
        if (self._alloc is None or (self._alloc[0] != key and due)
                or capacity != self._capacity):  # failures and drains: a new allocation
            # As in Gavel, the allocation changes only when jobs arrive or leave (and, with
            # ``reset_interval``, not more often than that); an LP with several optima must
            # not flip between them round after round.
            thr = speed if self.aware else (speed > 0).astype(float)
            scale = np.array([j.n_gpus for j in jobs], dtype=float)
            if self.mechanism == "gavel":
                since = 0.0 if self._alloc_s is None else now - self._alloc_s
                self._counters.reset(key, self._alloc, since)
            self._capacity = capacity
            self._alloc = (key, max_min_allocation(thr, scale, np.array(capacity, float),
                                                   self.solver))
            self._alloc_s = now
        alloc_key, alloc_rows = self._alloc
        if alloc_key == key:
            alloc = alloc_rows
        else:  # jobs that arrived since the allocation wait for the next one (Gavel)
            row = {w: i for i, w in enumerate(alloc_key)}
            keep = [i for i, j in enumerate(jobs) if j.work_id in row]
            jobs = [jobs[i] for i in keep]
            speed = speed[keep]
            alloc = alloc_rows[[row[j.work_id] for j in jobs]].reshape(len(jobs), len(names))
        return [*rejects, *self._assign(view, jobs, alloc, speed, names, counts, gpu_type,
                                        domain_type)]

    @staticmethod
    def _never_fits(jobs: Sequence[QueuedJob | RunningJob], speed: np.ndarray,
                    names: list[str], counts: np.ndarray) -> list[Decision]:
        """A :class:`RejectJob` for each waiting job that no GPU type it can run on has
        enough GPUs for (a job runs on one type at a time): it would otherwise wait,
        allocated nothing, until the horizon."""
        out: list[Decision] = []
        for i, j in enumerate(jobs):
            if not isinstance(j, QueuedJob):
                continue
            usable = speed[i] > 0
            if np.any(usable & (counts >= j.n_gpus)):
                continue
            most = int(counts[usable].max()) if usable.any() else 0
            kinds = ", ".join(f"{n} ({int(c)})" for n, c, ok in zip(names, counts, usable,
                                                                   strict=True) if ok)
            out.append(RejectJob(j.work_id, f"needs {j.n_gpus} GPUs of one type; the most "
                                 f"of a type it runs on is {most}" +
                                 (f": {kinds}" if kinds else "")))
        return out

    def _remember_first_types(self, view: ClusterView, jobs: Sequence[QueuedJob | RunningJob],
                              speed: np.ndarray, names: list[str], gpu_type: np.ndarray,
                              counts: np.ndarray) -> None:
        """Note, for each of ``jobs``, the first GPU type in the serving order that it can
        run on and that has its GPUs in service (-1: none), for :meth:`next_wakeup`."""
        order = self._type_order(view, names)
        capacity = np.array(self._in_service(view, gpu_type, counts))
        first: dict[int, int] = {}
        for i, j in enumerate(jobs):
            first[j.work_id] = next((k for k in order
                                     if speed[i, k] > 0 and capacity[k] >= j.n_gpus), -1)
        self._first = first

    def _round_can_change(self, view: ClusterView, allocated: set[int]) -> bool:
        """Whether a round of the paper's mechanism now could start, stop or move a job.

        It can while a job in the allocation waits (its priority grows as others run), or
        while the allocation's next reallocation is due with a job waiting for it, or while
        a running job is not on its first type (:meth:`_remember_first_types`): a faster
        type is full and the jobs on it may swap with it as their priorities change. When
        every job runs on its first type, a round serves the types in order, and at each
        the jobs contending for it are exactly those on it now, which fit: each keeps its
        GPUs and nothing changes. ``allocated``: the work ids of the current allocation."""
        if self._alloc is None or self._types is None:
            return True
        due = self._alloc_s is None or view.now - self._alloc_s >= self.reset_interval_s
        for q in view.queue:
            if q.kind == "training" and q.preemptible and (due or q.work_id in allocated):
                return True
        gpu_type = self._types[0]
        for r in view.running:
            if r.kind != "training" or not r.preemptible or r.gpus is None:
                continue
            if int(gpu_type[int(r.gpus[0])]) != self._first.get(r.work_id, -1):
                return True
        return False

    def next_wakeup(self, view: ClusterView) -> float | None:
        """When (s) the next round must happen even if no work arrives or ends: once the
        ``reset_interval`` is over while jobs wait for the next allocation, and, in
        round-based mode, at the next boundary while training jobs are active (Gavel
        re-plans each round): always with ``mechanism: gavel``, and with the paper's
        mechanism while a round can change who runs where (:meth:`_round_can_change`).
        ``None``: no round is needed."""
        active = [j.work_id for j in (*view.queue, *view.running)
                  if j.kind == "training" and j.preemptible]
        if not active:
            return None
        when: list[float] = []
        allocated = set(self._alloc[0]) if self._alloc is not None else set()
        if (self._alloc is not None and self._alloc_s is not None
                and any(w not in allocated for w in active)):  # held until the next allocation
            when.append(max(self._alloc_s + self.reset_interval_s, view.now + 1e-6))
        if view.round_length_s is not None and (self.mechanism == "gavel"
                                                or self._round_can_change(view, allocated)):
            when.append(view.now + view.round_length_s)
        return min(when) if when else None

    def _type_order(self, view: ClusterView, names: list[str]) -> list[int]:
        """GPU types, fastest first, fixed for the run: by the mean over every job of the
        throughput table of its speed on the type relative to its fastest type (Gavel
        serves its types in the fixed order v100, p100, k80). Without a table every type
        is equally fast and the order is the types' names."""
        if self._order is None:
            table = view.options.get("runtime_by_gpu_s", {})
            score = np.zeros(len(names))
            for by_gpu in (table.values() if isinstance(table, dict) else ()):
                speed = np.array([1.0 / by_gpu[n] if n in by_gpu and by_gpu[n] > 0 else 0.0
                                  for n in names])
                if speed.max() > 0:
                    score += speed / speed.max()
            self._order = np.argsort(-score, kind="stable").tolist()
        return self._order

    def _assign(self, view: ClusterView, jobs: Sequence[QueuedJob | RunningJob],
                alloc: np.ndarray, speed: np.ndarray, names: list[str], counts: np.ndarray,
                gpu_type: np.ndarray, domain_type: np.ndarray) -> list[Decision]:
        """Start, keep or move ``jobs`` (those in the allocation); other running work keeps
        its GPUs."""
        now = view.now
        pairs: list[tuple[int, float, float, float, int, int]] = []
        order = self._type_order(view, names)
        gavel = self.mechanism == "gavel"
        if gavel and not self.aware:
            # Gavel's simulator serves the types in a fresh random order each round for its
            # heterogeneity-agnostic policies (``_worker_type_shuffler``, seeded seed + 5);
            # a second round at the same instant keeps that instant's order.
            if self._shuffler is None:
                # Gavel seeds it with its seed + 5; gpuemu's seed s draws as Gavel's s - 1,
                # so the default seed 1 draws Gavel's default (seed 0).
                seed = view.options.get("seed", 1)
                self._shuffler = random.Random((seed if isinstance(seed, int) else 1) + 4)
            if self._shuffled is None or self._shuffled[0] != now:
                shuffled = list(order)
                self._shuffler.shuffle(shuffled)
                self._shuffled = (now, shuffled)
            order = self._shuffled[1]
        for rank, k in enumerate(order):
            for i, j in enumerate(jobs):
                if speed[i, k] <= 0:
                    continue
                x = float(alloc[i, k])
                if gavel:
                    prio, deficit = self._counters.priority(j.work_id, k, x)
                    pairs.append((rank, -prio, -deficit, -x, j.work_id, i))
                    continue
                seen = self._seen[j.work_id]
                share = seen.received_s.get(names[k], 0.0) / max(now - seen.first_s, 1e-9)
                prio = (math.inf if x > 0 else 0.0) if share <= 0 else x / share
                pairs.append((rank, -prio, 0.0, -x, j.work_id, i))
        pairs.sort()
        # GPUs per type to hand out: those free now and those the allocation's running
        # jobs would give back. Work outside the allocation (services, non-preemptible
        # jobs) keeps its GPUs, and GPUs out of service or draining are in neither: a job
        # on draining GPUs gives them to no one when it stops.
        scratch = view.scratch()
        free = np.bincount(domain_type, weights=scratch.domain_free,
                           minlength=len(names)).astype(np.int64)
        holds: dict[int, tuple[int, int]] = {}  # running job → (its type, GPUs it returns)
        for j in jobs:
            if isinstance(j, RunningJob) and j.gpus is not None:
                back = scratch.returned(j.gpus)
                free += np.bincount(gpu_type[back], minlength=len(names))
                holds[j.work_id] = (int(gpu_type[int(j.gpus[0])]), int(back.size))
        decisions: list[Decision] = []
        for q in view.queue:  # serving and non-preemptible work first, never moved after
            if q.kind == "training" and q.preemptible:
                continue
            gpus = scratch.place(q.request)
            if gpus is not None:
                decisions.append(StartJob(q.work_id, gpus))
                free -= np.bincount(gpu_type[gpus], minlength=len(names))
        assigned: dict[int, int] = {}
        for _rank, _p, _d, _x, wid, i in pairs:
            k = order[_rank]
            on, back = holds.get(wid, (-1, 0))
            cost = back if on == k else jobs[i].n_gpus  # staying costs what it returns
            if wid in assigned or free[k] < cost:
                continue
            assigned[wid] = k
            free[k] -= cost
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
