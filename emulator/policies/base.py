"""The policy contract: a read-only view in, a list of decisions out.

Policies decide, the engine acts (DESIGN principle 2). A queue policy receives a
:class:`ClusterView` — the queue in arrival order, the running work, free capacity and a
tentative placement scratchpad — and returns :data:`Decision` objects. It never touches
simpy or the engine's state; the engine validates every decision (the job is queued, the
GPUs are free and count right, tensor-parallel groups sit inside one NVLink domain) and
raises :class:`PolicyError` naming the policy when one is wrong.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from emulator.placement.base import PlacementRequest, Scratch

__all__ = [
    "ClusterView",
    "Decision",
    "PolicyError",
    "PreemptJob",
    "QueuePolicy",
    "QueueTable",
    "QueuedJob",
    "RejectJob",
    "RunningColumns",
    "RunningJob",
    "StartJob",
]


class PolicyError(RuntimeError):
    """A policy returned something the engine cannot apply."""


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A waiting unit of work as policies see it.

    ``kind`` is ``"training"`` or ``"inference"``; ``est_duration_s`` is the runtime
    estimate (``inf`` for services, which run until the horizon).
    """

    work_id: int
    kind: str
    tenant: str
    name: str
    n_gpus: int
    group_size: int
    submit_s: float
    priority: int
    preemptible: bool
    est_duration_s: float
    request: PlacementRequest
    attained_gpu_s: float = 0.0
    remaining: float = 1.0
    preemptions: int = 0

    @property
    def est_remaining_s(self) -> float:
        """Estimated run time still needed (s): the estimate times the remaining fraction."""
        return self.est_duration_s * self.remaining


class QueueTable(NamedTuple):
    """The queue's figures as float arrays, one entry per queued job in queue order.

    What the ordering policies sort by, so that a round sorts with one ``np.lexsort``
    instead of a Python key call per job. ``training`` is 1.0 for training and 0.0 for
    serving work (services and autoscaled replicas). ``tenant`` is the position of the
    job's tenant among the keys of :attr:`ClusterView.tenant_gpus` (-1 if not there).
    """

    n_gpus: np.ndarray
    est_duration_s: np.ndarray
    attained_gpu_s: np.ndarray
    remaining: np.ndarray
    submit_s: np.ndarray
    work_id: np.ndarray
    priority: np.ndarray
    training: np.ndarray
    tenant: np.ndarray

    @property
    def est_remaining_s(self) -> np.ndarray:
        """Estimated run time still needed (s), as :attr:`QueuedJob.est_remaining_s`."""
        return self.est_duration_s * self.remaining


@dataclass(frozen=True, slots=True)
class RunningJob:
    """A running unit of work as policies see it (``expected_end_s`` from the estimate).

    ``attained_gpu_s`` counts GPU-seconds held so far, this run and earlier ones.
    """

    work_id: int
    kind: str
    tenant: str
    n_gpus: int
    start_s: float
    expected_end_s: float
    priority: int
    preemptible: bool
    attained_gpu_s: float = 0.0
    gpus: np.ndarray | None = None


class _OnFirstUse:
    """A method's result kept in the instance on first use, like
    :class:`functools.cached_property` without its lock (Python 3.11 takes one lock for
    every instance of the class, at every first read): a round builds one
    :class:`RunningColumns` and reads its expected ends once."""

    def __init__(self, method: Callable[[Any], Any]) -> None:
        self._method = method
        self._name = method.__name__
        self.__doc__ = method.__doc__

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._method(instance)
        return value


@dataclass(frozen=True)
class RunningColumns:
    """Read-only arrays over running work at one round's time, one entry per running job
    (in no particular order: rank with the work id as the last tie-break).

    ``attained_gpu_s`` counts this run and earlier ones up to ``now``; ``preemptible`` is
    true for preemptible training, the only work a policy may preempt. Each entry equals
    the figure of the job's :class:`RunningJob` in the same round.
    """

    now: float
    work_id: np.ndarray
    n_gpus: np.ndarray
    start_s: np.ndarray
    attained_gpu_s: np.ndarray
    priority: np.ndarray
    preemptible: np.ndarray
    expected_ends: Callable[[], np.ndarray] = field(repr=False, compare=False)

    @_OnFirstUse
    def expected_end_s(self) -> np.ndarray:
        """Expected end of each entry (s; ``inf`` for services), computed on first use."""
        return self.expected_ends()


@dataclass(frozen=True)
class StartJob:
    """Start queued work ``work_id`` on ``gpus`` (ids ordered group by group)."""

    work_id: int
    gpus: np.ndarray


@dataclass(frozen=True)
class RejectJob:
    """Refuse queued work ``work_id`` for good, with a reason for the user."""

    work_id: int
    reason: str


@dataclass(frozen=True)
class PreemptJob:
    """Stop running work ``work_id`` and put it back in the queue.

    Progress since its last periodic checkpoint is lost (and counted); when it restarts it
    pays its checkpoint restore time. The freed GPUs are free for later decisions of the
    same round (the engine applies decisions in order).
    """

    work_id: int
    reason: str = ""


Decision = StartJob | RejectJob | PreemptJob


class ReadOnlySequence(Sequence[QueuedJob]):
    """A list seen through a read-only window: no copy, no mutation from policies."""

    __slots__ = ("_items",)

    def __init__(self, items: list[QueuedJob]) -> None:
        self._items = items

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        return self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):  # type: ignore[no-untyped-def, override]
        return iter(self._items)


class ClusterView:
    """Read-only state for one scheduling round.

    ``queue`` is in arrival order; ``running`` is built on first access (policies that do
    not need it pay nothing). ``scratch()`` returns a fresh tentative copy of free
    capacity on which ``scratch.place(job.request)`` both finds and reserves GPUs.
    ``options`` holds the scenario's ``scheduler.options`` plus ``tenant_weights`` (each
    tenant's share), ``tenants_without_work`` (tenants with no job or service that can
    run), ``seed`` (the scenario's, for a policy's own random generator) and,
    for replayed throughput tables, ``runtime_by_gpu_s``.
    """

    def __init__(self, now: float, queue: Sequence[QueuedJob], total_gpus: int, free_gpus: int,
                 running: Callable[[], Sequence[RunningJob]],
                 scratch: Callable[[], Scratch], tenant_gpus: Mapping[str, int],
                 options: Mapping[str, Any],
                 release_profile: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
                 queue_columns: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
                 queue_table: Callable[[], QueueTable] | None = None,
                 running_columns: Callable[[], RunningColumns] | None = None,
                 top_attained: Callable[[], float] | None = None,
                 top_remaining: Callable[[], float] | None = None,
                 running_job: Callable[[int], RunningJob] | None = None,
                 idle_token: Callable[[int], object] | None = None,
                 arrival_token: Callable[[], tuple[object, ...] | None] | None = None,
                 round_length_s: float | None = None,
                 ) -> None:
        self.round_length_s = round_length_s
        """Round-based mode's round length in seconds (``scheduler.round_length``), or
        ``None`` when rounds happen at arrivals and completions."""
        self._idle_token = idle_token
        self._arrival_token = arrival_token
        self._running_columns = running_columns
        self._top_attained = top_attained
        self._top_remaining = top_remaining
        self._columns: RunningColumns | None = None  # the round's running columns, once read
        self._running_job = running_job
        self.now = now
        self._queue_columns = queue_columns
        self._queue_table = queue_table
        self.queue = queue
        self.total_gpus = total_gpus
        self.free_gpus = free_gpus
        self._running = running
        self._running_list: Sequence[RunningJob] | None = None
        self._release_profile = release_profile
        self._scratch = scratch
        self.tenant_gpus = tenant_gpus
        self.options = options

    @property
    def running(self) -> Sequence[RunningJob]:
        """Running work (built on first access, then kept for the round as a tuple:
        nothing starts or stops while a policy decides)."""
        if self._running_list is None:
            self._running_list = tuple(self._running())
        return self._running_list

    def scratch(self) -> Scratch:
        """A tentative copy of free capacity for this round."""
        return self._scratch()

    def idle_token(self, scanned: int) -> object | None:
        """A value equal between two rounds only if nothing a start decision reads changed
        between them: the free GPUs (and those cut off from scale-out), the running work
        and its expected ends, and the first ``scanned`` queued jobs; only time moved on.
        ``None`` when no such promise can be made (no engine support, a placement that
        reads more than the free state, or running work whose expected end moves with the
        clock). A policy whose decisions can only shrink as time passes on an unchanged
        state (EASY backfill) may then repeat an empty decision without deciding again.
        """
        return None if self._idle_token is None else self._idle_token(scanned)

    def arrival_token(self) -> tuple[object, ...] | None:
        """A tuple ``(queue, cluster version, running version, queue edits, queue
        length)``: two rounds whose tokens agree in all but the last entry saw the same free
        GPUs, the same running work and the same queue except for jobs that arrived in
        between, which are the queue's entries from the earlier length on. ``None`` when
        no such promise can be made (no engine support, or a placement that reads more
        than the free state). See :class:`~emulator.policies.arrival_skip.ArrivalSkip`."""
        return None if self._arrival_token is None else self._arrival_token()

    def queue_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """``(GPUs, estimated run time s)`` of each job in ``queue``, as two float arrays
        in queue order (read-only).

        Lets a policy pick the jobs that could fit with one comparison instead of a
        Python step per job (the engine keeps the arrays up to date).
        """
        if self._queue_columns is not None:
            return self._queue_columns()
        q = self.queue
        return (np.fromiter((j.n_gpus for j in q), dtype=np.float64, count=len(q)),
                np.fromiter((j.est_duration_s for j in q), dtype=np.float64, count=len(q)))

    def queue_table(self) -> QueueTable:
        """Every figure of each job in ``queue`` that ordering policies sort by, as float
        arrays in queue order (read-only; the engine keeps them up to date)."""
        if self._queue_table is not None:
            return self._queue_table()
        q = self.queue
        position = {t: i for i, t in enumerate(self.tenant_gpus)}
        rows = [(j.n_gpus, j.est_duration_s, j.attained_gpu_s, j.remaining, j.submit_s,
                 j.work_id, j.priority, j.kind == "training", position.get(j.tenant, -1))
                for j in q]
        block = np.array(rows, dtype=np.float64).reshape(len(q), len(QueueTable._fields))
        return QueueTable(*block.T)

    def running_columns(self) -> RunningColumns:
        """The running work's figures as arrays (:class:`RunningColumns`), for policies
        that rank all of it every round; the engine keeps them without building a view
        per job. Built on first use, then kept for the round (nothing starts or stops
        while a policy decides)."""
        if self._columns is None:
            self._columns = self._build_running_columns()
        return self._columns

    def top_attained_gpu_s(self) -> float:
        """The most GPU-seconds any preemptible running job has attained by now (``-inf``
        when none runs): what a policy ranking by attained service needs to know whether
        any running work could be displaced at all, read by the engine from its table
        without building the running columns."""
        if self._top_attained is not None:
            return self._top_attained()
        c = self.running_columns()
        attained = c.attained_gpu_s[c.preemptible]
        return float(attained.max()) if attained.size else -math.inf

    def top_remaining_s(self) -> float:
        """The longest expected remaining time (s; expected end minus now) of any
        preemptible running job that started before now (``-inf`` when there is none; NaN
        when all of theirs are NaN): what a policy ranking by remaining time needs to know
        whether any running work could be displaced at all, read by the engine from its
        table without building the running columns (the same figure as from
        :meth:`running_columns`)."""
        if self._top_remaining is not None:
            return self._top_remaining()
        c = self.running_columns()
        scores = (c.expected_end_s - c.now)[c.preemptible & (c.start_s < self.now)]
        return float(np.fmax.reduce(scores)) if scores.size else -math.inf

    def _build_running_columns(self) -> RunningColumns:
        if self._running_columns is not None:
            return self._running_columns()
        r = list(self.running)

        def column(values: list[float]) -> np.ndarray:
            return np.array(values, dtype=np.float64)

        ends = column([j.expected_end_s for j in r])
        return RunningColumns(
            now=self.now, work_id=np.array([j.work_id for j in r], dtype=np.int64),
            n_gpus=column([j.n_gpus for j in r]), start_s=column([j.start_s for j in r]),
            attained_gpu_s=column([j.attained_gpu_s for j in r]),
            priority=column([j.priority for j in r]),
            preemptible=np.array([j.preemptible for j in r], dtype=bool),
            expected_ends=lambda: ends)

    def running_job(self, work_id: int) -> RunningJob:
        """The view of running work ``work_id`` (as in :attr:`running`)."""
        if self._running_job is not None:
            return self._running_job(work_id)
        return next(r for r in self.running if r.work_id == work_id)

    def release_profile(self) -> tuple[np.ndarray, np.ndarray]:
        """When running work is expected to free GPUs: ``(end times s, GPUs)``, sorted by end.

        The engine's profile counts the GPUs a job gives back: not those out of service or
        draining, which stay out of the free pool when it ends (the fallback here, for a
        view built without the engine, counts all of them).

        Expected ends come from the runtime estimates (``inf`` for services). The engine
        caches the arrays until the running set changes, so reservation-based policies
        (backfill) cost O(log n) per round instead of O(n). The arrays are read-only views
        valid for the round they were read in (the engine moves entries in place when the
        running set changes): copy them to keep them longer.
        """
        if self._release_profile is not None:
            return self._release_profile()
        running = sorted(self.running, key=lambda r: (r.expected_end_s, r.work_id))
        return (np.array([r.expected_end_s for r in running], dtype=np.float64),
                np.array([r.n_gpus for r in running], dtype=np.int64))


class QueuePolicy(ABC):
    """Orders and admits queued work. Subclasses set ``name`` and implement ``decide``."""

    name: str = "policy"
    decides_nothing_when_full: bool = False
    """True if :meth:`decide` returns no decision whenever no GPU is free (it neither
    preempts nor rejects then): the engine then skips such rounds without asking."""

    def __init__(self, **options: Any) -> None:
        """``options``: what no subclass took; any is an unknown option (one error line
        naming it and the options this policy does take)."""
        if options:
            from emulator.policies.options import option_names, unknown_option

            cls = type(self)
            name = (self.name if self.name != QueuePolicy.name  # a plug-in: its reference
                    else f"{cls.__module__}:{cls.__qualname__}")
            raise unknown_option(name, options, option_names(cls))

    @abstractmethod
    def decide(self, view: ClusterView) -> list[Decision]:
        """Decisions for this round; an empty list means nothing to do."""
