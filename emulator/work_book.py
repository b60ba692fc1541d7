"""Every work item of a run, by work id, without one Python object per job at rest.

A campus month has a million training jobs. Holding a :class:`~emulator.work.Work` for
each from the build to the end of the run cost about 400 bytes a job before it ever ran,
and as much again in the boxed floats of its run. The book holds training jobs as
columns instead (DESIGN 2, 6):

* **pending** (not yet submitted): the job's spec, tenant, placement request and runtime
  estimate, each an entry of a column or a shared object; the :class:`Work` is made when
  the job arrives (:meth:`WorkBook.arrive`);
* **live** (queued, running, held by a failure): the :class:`Work` object, which the core
  mutates;
* **retired** (finished or rejected): the outcome fields the tables and tests read, in
  columns (:data:`RETIRED_FIELDS`); the object is dropped.

Services and autoscaled replicas are few and stay objects for the whole run. Reading
``book[i]`` always gives a :class:`Work`: the live object, one made for a pending job (kept,
so the run then uses that same object), or, for a retired job, a new read-only copy built
from its columns, whose in-flight bookkeeping fields (rate, progress origin, staging
start) read as their defaults. Results never need those: they come from the event log.
"""

from __future__ import annotations

import heapq
import math
import operator
from collections.abc import Iterator, Sequence

import numpy as np

from emulator.placement.base import PlacementRequest
from emulator.work import DeferredSpecWork, Work
from workloads.spec import TrainingJobSpec

__all__ = ["FIXED_FIELDS", "RETIRED_FIELDS", "WorkBook", "fixed_fields"]

#: Outcome fields a retired job keeps (float64 columns); state, tier, epoch, preemptions
#: and interruptions are kept as integer columns besides.
RETIRED_FIELDS = ("start_s", "end_s", "duration_s", "step_s", "util", "remaining", "speed",
                  "full_duration_s", "attained_gpu_s", "lost_gpu_s", "staging_s")
_INT_FIELDS = ("tier", "epoch", "preemptions", "interruptions")
_STATES = ("finished", "rejected")
_get_floats = operator.attrgetter(*RETIRED_FIELDS)
_get_ints = operator.attrgetter(*_INT_FIELDS)


class WorkBook(Sequence[Work]):
    """Work items by id: training jobs ``0 .. n_jobs-1`` from columns, then other work."""

    def __init__(self, specs: Sequence[TrainingJobSpec], tenants: Sequence[str],
                 tenant_idx: np.ndarray, requests: Sequence[PlacementRequest],
                 request_idx: np.ndarray, estimates: np.ndarray,
                 others: Sequence[Work] = ()) -> None:
        """``specs[i]`` is job ``i`` (ids in arrival order); ``tenant_idx``, ``request_idx``
        (into ``requests``) and ``estimates`` (run-time estimate, s) are per job; ``others``
        (services) follow with ids ``n_jobs, n_jobs + 1, …``."""
        self.specs = specs
        self._head = getattr(specs, "head", None)  # JobSpecs: head fields without a spec
        self.tenants = tuple(tenants)
        self.tenant_idx = tenant_idx
        self.requests = list(requests)
        self.request_idx = request_idx
        self.estimates = estimates
        self.n_jobs = len(specs)
        self._live: list[Work | None] = [None] * self.n_jobs + list(others)
        for i, w in enumerate(others):
            if w.work_id != self.n_jobs + i:
                raise ValueError(f"work {w.work_id} at position {self.n_jobs + i}")
        self.retire_enabled = True  # off keeps every object (GPU-level tests, segments)
        self._retired: np.ndarray | None = None  # per job: retired yet
        self._floats = np.empty((0, 0))  # RETIRED_FIELDS by job
        self._ints = np.empty((0, 0), dtype=np.int32)  # _INT_FIELDS by job
        self._state = np.empty(0, dtype=np.int8)  # index into _STATES

    @classmethod
    def of(cls, works: Sequence[Work]) -> WorkBook:
        """A book of ready-made work objects (ids 0, 1, … in order); none is a column."""
        empty = np.empty(0, dtype=np.int64)
        return cls((), (), empty, (), empty, np.empty(0), works)

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._live)

    def __getitem__(self, i: int) -> Work:  # type: ignore[override]
        if not isinstance(i, int | np.integer):
            raise TypeError("WorkBook indexes by work id only")
        i = int(i)
        if i < 0:
            i += len(self._live)
        w = self._live[i]
        if w is not None:
            return w
        if i >= self.n_jobs:
            raise IndexError(i)
        if self._retired is not None and self._retired[i]:
            return self._copy_of_retired(i)
        return self.arrive(i)

    def __iter__(self) -> Iterator[Work]:
        for i in range(len(self._live)):
            yield self[i]

    def live(self, i: int) -> Work | None:
        """The object of work ``i`` if it has one now (arrived, not retired), else ``None``;
        never makes one."""
        return self._live[i] if 0 <= i < len(self._live) else None

    @property
    def others(self) -> list[Work]:
        """Work that is not a column job (services, then replicas as they are added)."""
        return self._live[self.n_jobs:]  # type: ignore[return-value]

    def kinds(self) -> np.ndarray:
        """Each work item's kind, by id (no object made)."""
        out = np.full(len(self._live), "training", dtype=object)
        for w in self.others:
            out[w.work_id] = w.kind
        return out

    def states(self) -> np.ndarray:
        """Each work item's state now, by id (no object made)."""
        out = np.full(len(self._live), "pending", dtype=object)
        if self._retired is not None:
            done = np.flatnonzero(self._retired)
            out[done] = np.array(_STATES, dtype=object)[self._state[done]]
        for i, w in enumerate(self._live):
            if w is not None:
                out[i] = w.state
        return out

    def arrival_order(self) -> Iterator[int]:
        """Work ids in submission order (submit time, then id), lazily."""
        others = [w.work_id for w in sorted(self.others, key=lambda w: (w.submit_s,
                                                                         w.work_id))]
        jobs = range(self.n_jobs)  # job ids are already in (submit time, id) order
        if not others:
            return iter(jobs)
        submit, live = self.submit_times(), self._live

        def key(i: int) -> tuple[float, int]:
            w = live[i]
            return (w.submit_s if w is not None else submit[i]), i

        return heapq.merge(jobs, others, key=key)

    def submit_times(self) -> list[float]:
        """Each job's submission time (s), by job id (no object made)."""
        values = getattr(self.specs, "values", None)
        if values is not None:
            return values("submit_s")
        return [s.submit_s for s in self.specs]

    # -- changing ------------------------------------------------------------------------
    def arrive(self, i: int) -> Work:
        """The object of pending job ``i``, made now and kept until it retires."""
        w = self._live[i]
        if w is None:
            if self._retired is not None and self._retired[i]:
                raise ValueError(f"job {i} has ended; it cannot arrive again")
            w = self._live[i] = self._make(i)
        return w

    def _make(self, i: int) -> Work:
        """A new object of job ``i`` as it is submitted (its fixed figures only); a job of
        a synthetic stream gets its spec made when first read."""
        t = int(self.tenant_idx[i])
        head = self._head(i) if self._head is not None else None
        if head is not None:
            name, submit_s, n_gpus, tp, priority, preemptible = head
            return DeferredSpecWork(
                self.specs, name, i, self.tenants[t], t, n_gpus, tp, submit_s, priority,
                preemptible, float(self.estimates[i]), self.requests[int(self.request_idx[i])])
        spec = self.specs[i]
        return Work(work_id=i, kind="training", tenant=self.tenants[t], tenant_idx=t,
                    spec=spec, n_gpus=spec.n_gpus, group_size=spec.tp,
                    submit_s=spec.submit_s, priority=spec.priority,
                    preemptible=spec.preemptible, est_duration_s=float(self.estimates[i]),
                    request=self.requests[int(self.request_idx[i])])

    def append(self, work: Work) -> None:
        """Add work made during the run (an autoscaled replica) with the next id."""
        if work.work_id != len(self._live):
            raise ValueError(f"work {work.work_id} appended at {len(self._live)}")
        self._live.append(work)

    def retire(self, work: Work) -> None:
        """Keep finished or rejected job ``work``'s outcome in columns; drop the object."""
        i = work.work_id
        if not self.retire_enabled or i >= self.n_jobs or work.state not in _STATES:
            return
        if self._retired is None:
            n = self.n_jobs
            self._retired = np.zeros(n, dtype=bool)
            self._floats = np.full((len(RETIRED_FIELDS), n), math.nan)
            self._state = np.zeros(n, dtype=np.int8)
            self._ints = np.zeros((len(_INT_FIELDS), n), dtype=np.int32)
        self._floats[:, i] = _get_floats(work)
        self._ints[:, i] = _get_ints(work)
        self._state[i] = _STATES.index(work.state)
        self._retired[i] = True
        self._live[i] = None

    def _copy_of_retired(self, i: int) -> Work:
        """A new object of retired job ``i`` with its outcome fields (not kept)."""
        w = self._make(i)
        for f, v in zip(RETIRED_FIELDS, self._floats[:, i].tolist(), strict=True):
            setattr(w, f, v)
        for f, v in zip(_INT_FIELDS, self._ints[:, i].tolist(), strict=True):
            setattr(w, f, v)
        w.state = _STATES[int(self._state[i])]
        return w


FIXED_FIELDS = ("kind", "tenant", "name", "model", "n_gpus", "tp", "pp", "dp", "parent")


def _fixed_of(w: Work) -> tuple[object, ...]:
    """A work item's fixed figures in :data:`FIXED_FIELDS` order (``tp`` and ``dp`` of a
    service's row: GPUs per replica and the replicas that row holds, so ``n_gpus = tp ·
    dp`` also for an autoscaled service's base work and each of its extra replicas; a
    service's base work counts the GPUs it was placed on, also after a failure left it
    fewer; ``parent`` -1 when none)."""
    spec = w.spec
    if isinstance(spec, TrainingJobSpec):
        tp, pp, dp = spec.tp, spec.pp, spec.dp
        n = w.n_gpus
    else:
        # a service's base work as placed at its start (a failure may leave it fewer)
        n = (spec.base_replicas * spec.gpus_per_replica if w.kind == "inference"
             else w.n_gpus)
        tp, pp, dp = spec.gpus_per_replica, 1, n // spec.gpus_per_replica
    return (w.kind, w.tenant, w.name, spec.model, n, tp, pp, dp,
            -1 if w.parent is None else w.parent)


def fixed_fields(works: Sequence[Work], rows: Sequence[int]) -> dict[str, list[object]]:
    """The fixed figures (:data:`FIXED_FIELDS`) of work ``rows``, one list per field; read
    from a book's columns without making an object per job."""
    out: dict[str, list[object]] = {f: [] for f in FIXED_FIELDS}
    if not isinstance(works, WorkBook) or works.n_jobs == 0:
        for i in rows:
            for f, v in zip(FIXED_FIELDS, _fixed_of(works[i]), strict=True):
                out[f].append(v)
        return out
    rows_a = np.asarray(rows, dtype=np.int64)
    jobs = rows_a[rows_a < works.n_jobs]
    specs = works.specs
    values = getattr(specs, "values", None)

    def column(name: str) -> np.ndarray:
        vals = values(name) if values is not None else [getattr(s, name) for s in specs]
        return np.fromiter(vals, dtype=object, count=works.n_jobs)

    cols = {"kind": np.full(jobs.size, "training", dtype=object),
            "tenant": np.array(works.tenants, dtype=object)[works.tenant_idx[jobs]]
            if works.tenants else np.empty(0, dtype=object),
            "parent": np.full(jobs.size, -1, dtype=object)}
    for f in ("name", "model", "n_gpus", "tp", "pp", "dp"):
        cols[f] = column(f)[jobs]
    others = [_fixed_of(works[i]) for i in rows_a[rows_a >= works.n_jobs].tolist()]
    for k, f in enumerate(FIXED_FIELDS):
        out[f] = cols[f].tolist() + [o[k] for o in others]
    return out
