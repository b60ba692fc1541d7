"""Building blocks shared by the ordering policies (not a policy itself).

Most queue policies in the literature differ only in *the order* in which they consider
waiting work and in *which running work* a waiting job may displace. :func:`greedy_round`
implements that common loop once, on the read-only view: take the queue in the policy's
order, start what fits on the round's scratch, and — when a job does not fit and the
policy allows it — free GPUs by preempting running work chosen by the policy
(:func:`free_by_preempting`), emitting :class:`PreemptJob` decisions before the
:class:`StartJob` that uses the freed GPUs (the engine applies decisions in order).

Preempted training keeps its progress up to its last checkpoint and pays its checkpoint
restore time when it starts again (the engine does the book-keeping and counts the lost
GPU-seconds); policies only decide. Which running work a job may displace is a policy's
:class:`~emulator.policies.displacement.Displacement`; the victims that let a job fit are
found by :func:`~emulator.policies.victims.free_by_preempting` (both re-exported here).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emulator.errors import UserError, short
from emulator.placement.base import Scratch
from emulator.policies.base import (
    ClusterView,
    Decision,
    PreemptJob,
    QueuedJob,
    RunningColumns,
    RunningJob,
    StartJob,
)
from emulator.policies.displacement import (
    Displacement,
    RankedLazily,
    displace_top_many,
    is_scored,
    may_displace_top,
    prefix_length,
    ranked_by_columns,
)
from emulator.policies.options import duration
from emulator.policies.victims import clone_scratch, free_by_preempting

__all__ = [
    "Displacement",
    "as_seconds_list",
    "clone_scratch",
    "free_by_preempting",
    "greedy_round",
    "queue_order",
    "services_first",
]

MAX_PREEMPT_TRIES = 32
"""Blocked jobs per round that may try to preempt (bounds a round's cost on long queues)."""


def services_first(job: QueuedJob) -> int:
    """0 for serving work (services and autoscaled replicas), 1 for training.

    Serving runs until the horizon (its estimate is infinite), so shortest-first and
    attained-service orders would otherwise starve it; training yields to serving.
    """
    return 1 if job.kind == "training" else 0


class _InOrder(Sequence[QueuedJob]):
    """The queue read through a permutation, without building the permuted list: a round
    that skips most of a deep queue looks up only the jobs it visits (the permutation stays
    an array until a whole pass over it is asked for)."""

    __slots__ = ("_idx", "_queue")

    def __init__(self, queue: Sequence[QueuedJob], idx: np.ndarray) -> None:
        self._queue = queue
        self._idx = idx

    def __len__(self) -> int:
        return len(self._idx)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if isinstance(i, slice):
            return [self._queue[k] for k in self._idx[i].tolist()]
        return self._queue[int(self._idx[i])]

    def __iter__(self):  # type: ignore[no-untyped-def, override]
        queue = self._queue
        return (queue[k] for k in self._idx.tolist())


def queue_order(view: ClusterView, *keys: np.ndarray) -> tuple[Sequence[QueuedJob], np.ndarray]:
    """The queue's jobs sorted by ``keys``, arrays over :meth:`ClusterView.queue_table`
    rows (``np.lexsort``'s convention: the last key is the primary one), and the
    permutation (queue positions in that order). One C sort per round instead of a Python
    key call per queued job; with the work id among the keys the order is total, the same
    as ``sorted`` on the equivalent key tuples."""
    idx = np.lexsort(keys)
    return _InOrder(view.queue, idx), idx


def greedy_round(view: ClusterView, order: Sequence[QueuedJob],
                 victims_for: Callable[[QueuedJob, Sequence[RunningJob]],
                                       list[RunningJob]] | None = None,
                 blocking: bool = False,
                 admit: Callable[[QueuedJob], bool] | None = None,
                 displacement: Displacement | None = None,
                 sizes: np.ndarray | None = None) -> list[Decision]:
    """Start ``order`` greedily; blocked jobs may preempt running work.

    Victims come from ``displacement`` (a ranking computed once per round, see
    :class:`Displacement`) or, for policies that need more, from ``victims_for(job,
    running)``, which returns the running work ``job`` may displace, most expendable first.
    Only preemptible training is ever offered, and never work already preempted this round.
    ``blocking`` stops at the first job that cannot start (head-of-line blocking);
    otherwise later jobs may start (work-conserving). ``admit`` may veto a job (e.g. a hard
    quota) before it is placed.

    ``sizes``: the GPUs of each job of ``order`` as an array, if the caller has it. Then,
    once nothing more can be displaced in the round (no tries left, nothing to displace,
    or a monotone displacement whose most expendable victim the job cannot displace), a
    work-conserving round without ``admit`` looks only at the jobs that fit in the free
    GPUs (one comparison) instead of stepping through every job: the decisions are the
    same, since a job that does not fit could then do nothing.
    """
    decisions: list[Decision] = []
    if not order:
        return decisions
    scratch = view.scratch()
    preempted: set[int] = set()
    tries = 0
    running: list[RunningJob] | None = None
    columns: RunningColumns | None = None
    pool: list[RunningJob] = []
    ranked: Sequence[RunningJob] = []
    pool_for = -1  # len(preempted) the pool was built for
    displaces = victims_for is not None or displacement is not None
    smallest = (int(np.minimum.reduce(sizes)) if sizes is not None  # ndarray.min's ufunc
                else min(j.n_gpus for j in order))
    can_skip = sizes is not None and not blocking and admit is None
    rest_from = -1  # position from which only jobs that fit now can change anything
    top_may: np.ndarray | None = None  # which jobs may displace ranked[0] …
    top_for = -1  # … for the pool of this version
    position, n_order = 0, len(order)
    while position < n_order:
        job = order[position]
        position += 1
        may_preempt = displaces and tries < MAX_PREEMPT_TRIES
        if not may_preempt and scratch.free_gpus < smallest:
            break  # nothing can start and nothing may be displaced
        if can_skip and not may_preempt:
            rest_from = position - 1
            break
        if admit is None and scratch.free_gpus < job.n_gpus and displacement is not None \
                and may_preempt and pool_for == len(preempted) and (
                    not ranked or not may_displace_top(displacement, job, ranked)):
            if displacement.monotone and scratch.free_gpus < smallest:
                break  # neither this job nor any later one can fit or displace
            if can_skip and (not ranked or displacement.monotone):
                rest_from = position  # no later job can displace anything either
                break
            if can_skip and (displacement.displaces_many is not None
                             or (displacement.bars is not None and is_scored(ranked))):
                assert sizes is not None
                if top_for != pool_for:
                    top_may = displace_top_many(displacement, ranked)
                    top_for = pool_for
                assert top_may is not None
                # Until a preemption changes the pool, free GPUs only shrink: the next job
                # that can do anything either fits now or may displace ranked[0].
                later = ((sizes[position:] <= scratch.free_gpus)
                         | top_may[position:]).nonzero()[0]
                position = position + int(later[0]) if later.size else n_order
                continue
            if not blocking:
                continue  # cannot fit and has nothing to displace
        if admit is not None and not admit(job):
            if blocking:
                break
            continue
        gpus = scratch.place(job.request)
        if gpus is None and may_preempt:
            if pool_for != len(preempted):
                # Work started at this very instant (an earlier round now) is left alone:
                # preempting it would only pay a restore for nothing.
                if displacement is not None and displacement.rank_columns is not None:
                    if isinstance(ranked, RankedLazily):  # the pool less this round's victims
                        ranked = ranked.without(preempted)
                    else:
                        if columns is None:
                            columns = view.running_columns()
                        ranked = ranked_by_columns(view, columns, displacement, preempted)
                else:
                    if running is None:
                        running = [r for r in view.running if r.preemptible]
                    pool = [r for r in running
                            if r.work_id not in preempted and r.start_s < view.now]
                    if displacement is not None:
                        ranked = sorted(pool, key=displacement.rank)
                pool_for = len(preempted)
            if isinstance(ranked, RankedLazily):  # build views only for what is used
                assert displacement is not None
                if ranked.scores is not None and displacement.bar is not None:
                    candidates = ranked.prefix(ranked.count_displaceable(displacement.bar(job)))
                else:
                    test = displacement.may_displace
                    candidates = ranked.prefix(prefix_length(
                        ranked, lambda r, job=job, test=test: test(job, r)))
            elif displacement is not None:
                test = displacement.may_displace
                candidates = list(itertools.takewhile(
                    lambda r, job=job, test=test: test(job, r), ranked))
            else:
                candidates = victims_for(job, pool) if pool else []  # type: ignore[misc]
            if candidates:
                tries += 1
                freed = free_by_preempting(scratch, job, candidates)
                if freed is not None:
                    victims, gpus = freed
                    for v in victims:
                        preempted.add(v.work_id)
                        decisions.append(PreemptJob(v.work_id, f"for work {job.work_id}"))
        if gpus is None:
            if blocking:
                break
            continue
        decisions.append(StartJob(job.work_id, gpus))
    if rest_from >= 0:
        assert sizes is not None
        _start_what_fits(scratch, order, sizes, rest_from, smallest, decisions)
    return decisions


def _start_what_fits(scratch: Scratch, order: Sequence[QueuedJob], sizes: np.ndarray,
                     start: int, smallest: int, decisions: list[Decision]) -> None:
    """The rest of a round in which nothing more can be displaced: start, in order, the
    jobs of ``order[start:]`` that fit. Free GPUs only shrink from here, so a job needing
    more than are free now never fits, and one step per job that does is enough (the
    positions that fit are converted one at a time, not listed whole: a saturated cluster
    fills after the first few)."""
    fits = (sizes[start:] <= scratch.free_gpus).nonzero()[0]
    for k in range(fits.size):
        if scratch.free_gpus < smallest:
            break
        job = order[start + int(fits[k])]
        if job.n_gpus > scratch.free_gpus:
            continue
        gpus = scratch.place(job.request)
        if gpus is not None:
            decisions.append(StartJob(job.work_id, gpus))


def as_seconds_list(values: Any, what: str) -> list[float]:
    """A strictly increasing list of positive seconds from numbers or strings like ``"2h"``."""
    if isinstance(values, str | int | float):
        out = [duration(values, what)]  # one threshold: the bad value is the option's own
        values = [values]
    elif isinstance(values, list | tuple):
        out = [duration(v, f"{what}.{i}") for i, v in enumerate(values)]
    else:
        raise UserError(f"scheduler.options.{what}: got {short(values)}; expected a list of "
                        "durations, e.g. [1h, 16h]")
    if any(v <= 0 for v in out) or any(b <= a for a, b in itertools.pairwise(out)):
        raise ValueError(f"{what} must be positive and strictly increasing, got {list(values)}")
    return out
