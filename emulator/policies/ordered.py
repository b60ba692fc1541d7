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
GPU-seconds); policies only decide.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emulator.errors import UserError, short
from emulator.placement.base import Scratch
from emulator.placement.fit_counter import DomainCounts, FitCounter, domain_counts
from emulator.policies.base import (
    ClusterView,
    Decision,
    PreemptJob,
    QueuedJob,
    RunningColumns,
    RunningJob,
    StartJob,
)
from emulator.policies.options import duration

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


def clone_scratch(scratch: Scratch) -> Scratch:
    """An independent copy of a round's scratch (for trial placements)."""
    return scratch.clone()


def _fits_after(scratch: Scratch, job: QueuedJob, victims: Iterable[RunningJob]) -> bool:
    trial = clone_scratch(scratch)
    for v in victims:
        trial.release(v.gpus)  # type: ignore[arg-type]
    return trial.place(job.request) is not None


def free_by_preempting(scratch: Scratch, job: QueuedJob,
                       candidates: Sequence[RunningJob]) -> tuple[list[RunningJob],
                                                                 np.ndarray] | None:
    """Preempt a prefix of ``candidates`` (in order) so that ``job`` fits, then place it.

    Victims are added in the given order until the job fits; then every victim that is not
    needed after all (topology can make an early one useless) is dropped, latest first.
    On success the victims' GPUs are released on ``scratch``, the job is placed there and
    ``(victims, gpus)`` is returned; on failure ``scratch`` is unchanged and ``None`` is
    returned.
    """
    if isinstance(candidates, _RankedLazily):  # GPUs from the columns: no view built
        usable: Sequence[RunningJob] = candidates  # running work always holds its GPUs
        offered = candidates.offered_gpus()
    else:
        usable = [c for c in candidates if c.gpus is not None]
        offered = sum(c.n_gpus for c in usable)
    if scratch.free_gpus + offered < job.n_gpus:
        return None
    search = _victims_by_counts if scratch.placement.fits_anywhere else _victims_by_placing
    chosen = search(scratch, job, usable)
    if chosen is None:
        return None
    for v in chosen:
        scratch.release(v.gpus)  # type: ignore[arg-type]
    gpus = scratch.place(job.request)
    if gpus is None:  # cannot happen: the same releases placed it on a copy
        raise RuntimeError("placement differed between a scratch and its copy")
    return chosen, gpus


def _victims_by_counts(scratch: Scratch, job: QueuedJob,
                       usable: Sequence[RunningJob]) -> list[RunningJob] | None:
    """:func:`free_by_preempting`'s victims, each fit tested on free counts (for a
    placement policy whose answer depends on them alone): the same victims as placing on
    a trial copy each time, found with a few integer updates per victim.

    On a full scratch, a job of one GPU that any domain may hold fits as soon as one GPU
    comes back (its domain then holds one free group: :class:`FitCounter`'s answer), so
    its victim is the first candidate that gives one back (the counter's search would
    then prune those before it, which give back nothing), found without a counter."""
    request = job.request
    if (request.n_gpus == 1 and request.group_size == 1 and request.eligible is None
            and scratch.free_gpus == 0):
        for c in usable:
            if scratch.returned(c.gpus).size:  # type: ignore[arg-type]
                return [c]
        return None
    counter = FitCounter(scratch, job.request)
    chosen: list[RunningJob] = []
    counts: list[DomainCounts] = []
    for c in usable:
        counts.append(domain_counts(scratch, c.gpus))  # type: ignore[arg-type]
        counter.add(counts[-1])
        chosen.append(c)
        if counter.fits:
            break
    else:
        return None
    for i in range(len(chosen) - 2, -1, -1):  # prune victims that turn out not to be needed
        counter.remove(counts[i])
        if counter.fits:
            del chosen[i], counts[i]
        else:
            counter.add(counts[i])
    return chosen


def _victims_by_placing(scratch: Scratch, job: QueuedJob,
                        usable: Sequence[RunningJob]) -> list[RunningJob] | None:
    """:func:`free_by_preempting`'s victims, each fit tested by placing on a trial copy."""
    trial = clone_scratch(scratch)
    chosen: list[RunningJob] = []
    for c in usable:
        trial.release(c.gpus)  # type: ignore[arg-type]
        chosen.append(c)
        if trial.free_gpus >= job.n_gpus and clone_scratch(trial).place(job.request) is not None:
            break
    else:
        return None
    for c in reversed(chosen[:-1]):  # prune victims that turn out not to be needed
        rest = [v for v in chosen if v is not c]
        if _fits_after(scratch, job, rest):
            chosen = rest
    return chosen


@dataclass(frozen=True)
class Displacement:
    """Which running work a blocked job may displace, as a ranking and a threshold test.

    ``rank(r)`` orders running work most expendable first; ``may_displace(job, r)`` must
    hold for a prefix of that ranking (a threshold on the ranked quantity), so the victims
    of a job are a prefix of one ranking computed once per round. ``monotone`` declares
    that along the policy's queue order a later job never displaces more than an earlier
    one (e.g. LAS's levels, SRTF's remaining times), so a round may stop at the first job
    that can neither fit nor displace anything.
    """

    rank: Callable[[RunningJob], Any]
    may_displace: Callable[[QueuedJob, RunningJob], bool]
    monotone: bool = False
    rank_columns: Callable[[RunningColumns], Sequence[np.ndarray]] | None = None
    """The same ranking over :meth:`ClusterView.running_columns` as ``np.lexsort`` keys
    (the last one primary, the work id among them): then a round ranks running work with
    one C sort and builds views only for the jobs it offers as victims."""
    displaces_many: Callable[[RunningJob], np.ndarray] | None = None
    """``may_displace(job, r)`` for every job of the round's order at once (a boolean
    array in that order): then a round jumps over the jobs that neither fit nor may
    displace the most expendable running work, instead of testing them one by one."""
    score_columns: Callable[[RunningColumns], np.ndarray] | None = None
    """``may_displace`` as a comparison, with :attr:`bar`: each running job's score over
    the columns, such that ``may_displace(job, r)`` is ``score(r) > bar(job)``. With
    ``rank_columns``, a round then counts each job's victims on arrays, building no view
    but those of the victims it takes."""
    bar: Callable[[QueuedJob], float] | None = None
    """The score a running job must exceed for ``job`` to displace it (see
    :attr:`score_columns`)."""
    bars: np.ndarray | None = None
    """:attr:`bar` of every job of the round's order at once (an array in that order),
    with :attr:`score_columns`: a round then answers :attr:`displaces_many` for the most
    expendable running work from its score alone (``score > bars``), without building its
    view."""
    rank_ties: Callable[[RunningColumns], Sequence[np.ndarray]] | None = None
    """With :attr:`score_columns`: the keys :attr:`rank_columns` puts before its primary
    one, when that primary key is minus the score (``rank_columns(c) == (*rank_ties(c),
    -score_columns(c))``): a round then computes the pool's scores once for both, and takes
    the pool's work ids from the first tie key when it is ``c.work_id`` itself."""


class _RankedLazily(Sequence[RunningJob]):
    """Running work in a ranking's order, each view built on first access.

    The sort itself waits until an entry or :meth:`offered_gpus` is first needed: many
    rounds only ask whether a blocked job may displace anything, which the scores answer
    unsorted. ``scores`` are the entries' :attr:`Displacement.score_columns` (``None``
    without them).
    """

    def __init__(self, ids: np.ndarray, n_gpus: np.ndarray, scores: np.ndarray | None,
                 make: Callable[[int], RunningJob], keys: list[np.ndarray] | None = None,
                 made: dict[int, RunningJob] | None = None) -> None:
        self.ids = ids
        self.n_gpus = n_gpus
        self.scores = scores
        self._keys = keys  # np.lexsort keys not yet applied (None: in order already)
        self._make = make
        self._made: dict[int, RunningJob] = {} if made is None else made  # by work id
        self._len = int(ids.size)
        self._id_list: list[int] | None = None

    def _in_order(self) -> list[int]:
        if self._keys is not None:
            order = np.lexsort(self._keys) if self._keys else np.arange(self.ids.size)
            self.ids, self.n_gpus = self.ids[order], self.n_gpus[order]
            if self.scores is not None:
                self.scores = self.scores[order]
            self._keys = None
        if self._id_list is None:
            self._id_list = self.ids.tolist()
        return self._id_list

    def offered_gpus(self) -> int:
        """The GPUs of all the entries (of a :meth:`prefix`: of its first ``k``), summed
        on the ranking's order (whole numbers in float64: exact in any order)."""
        if not self._len:
            return 0
        self._in_order()
        return int(np.add.reduce(self.n_gpus[:self._len]))

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if not -self._len <= i < self._len:
            raise IndexError(i)
        work_id = self._in_order()[i % self._len]
        view = self._made.get(work_id)
        if view is None:
            view = self._made[work_id] = self._make(work_id)
        return view

    def __iter__(self):  # type: ignore[no-untyped-def, override]
        for i in range(self._len):
            yield self[i]

    def prefix(self, k: int) -> _RankedLazily:
        """The first ``k`` entries (sharing the views built so far)."""
        if k:
            self._in_order()
        out = _RankedLazily.__new__(_RankedLazily)
        out.ids, out.n_gpus, out.scores, out._keys = self.ids, self.n_gpus, self.scores, None
        out._id_list, out._make, out._made = self._id_list, self._make, self._made
        out._len = k
        return out

    def without(self, work_ids: set[int]) -> _RankedLazily:
        """The same ranking without ``work_ids`` (work preempted this round): removing
        entries keeps the others' order, so no new sort is needed."""
        keep = _not_in(self.ids, work_ids)
        return _RankedLazily(self.ids[keep], self.n_gpus[keep],
                             None if self.scores is None else self.scores[keep], self._make,
                             None if self._keys is None else [k[keep] for k in self._keys],
                             self._made)

    def count_displaceable(self, bar: float) -> int:
        """How many leading entries score above ``bar`` (they form a prefix, a
        :class:`Displacement` contract): one comparison over the scores, sorted or not."""
        assert self.scores is not None
        return int(np.count_nonzero(self.scores > bar))

    def top_score(self) -> float:
        """The score of the first entry: the highest (the prefix contract), sorted or not."""
        assert self.scores is not None and self._len
        return float(np.maximum.reduce(self.scores))  # ndarray.max's ufunc (NaN propagates)


def _not_in(ids: np.ndarray, work_ids: set[int]) -> np.ndarray:
    """Which entries of ``ids`` are not in ``work_ids`` (a round's few victims): one
    comparison per victim, cheaper than ``np.isin`` for the handful a round preempts."""
    if len(work_ids) > 16:
        return ~np.isin(ids, np.fromiter(work_ids, dtype=np.int64))
    keep: np.ndarray | None = None
    for work_id in work_ids:
        if keep is None:
            keep = ids != work_id
        else:
            keep &= ids != work_id
    return np.ones(ids.size, dtype=bool) if keep is None else keep


def _prefix_length(ranked: Sequence[RunningJob], holds: Callable[[RunningJob], bool]) -> int:
    """How many leading entries of ``ranked`` satisfy ``holds``, which holds for a prefix
    (a :class:`Displacement` contract): a binary search, O(log n) views."""
    lo, hi = 0, len(ranked)
    while lo < hi:
        mid = (lo + hi) // 2
        if holds(ranked[mid]):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _ranked_by_columns(view: ClusterView, columns: RunningColumns,
                       displacement: Displacement, preempted: set[int]) -> _RankedLazily:
    """The displacement pool (preemptible work started before now, not preempted this
    round) in ``displacement``'s order, from the running columns."""
    assert displacement.rank_columns is not None
    pool = columns.preemptible & (columns.start_s < view.now)
    if preempted:
        pool &= _not_in(columns.work_id, preempted)
    if displacement.rank_ties is not None and displacement.score_columns is not None:
        # negating after taking the pool gives the same keys as before it
        scores = np.asarray(displacement.score_columns(columns))[pool]
        ties = displacement.rank_ties(columns)
        keys = [np.asarray(k)[pool] for k in ties]
        ids = keys[0] if ties and ties[0] is columns.work_id else columns.work_id[pool]
        keys.append(-scores)
        return _RankedLazily(ids, columns.n_gpus[pool], scores, view.running_job, keys)
    keys = [np.asarray(k)[pool] for k in displacement.rank_columns(columns)]
    scores = (None if displacement.score_columns is None
              else np.asarray(displacement.score_columns(columns))[pool])
    return _RankedLazily(columns.work_id[pool], columns.n_gpus[pool], scores,
                         view.running_job, keys)


def _scored(ranked: Sequence[RunningJob]) -> bool:
    """Whether ``ranked`` carries the scores of its entries."""
    return isinstance(ranked, _RankedLazily) and ranked.scores is not None


def _displace_top_many(displacement: Displacement, ranked: Sequence[RunningJob]
                       ) -> np.ndarray:
    """Which jobs of the round's order may displace ``ranked[0]``, the most expendable
    running work: with :attr:`Displacement.bars` and a scored ranking, its score against
    every bar (NaN scores rank last, so the first entry's score is the highest other than
    NaN: ``fmax``; all NaN gives NaN, which displaces nothing, as in the pairwise test),
    else :attr:`Displacement.displaces_many` on its view."""
    if displacement.bars is not None and _scored(ranked):
        assert isinstance(ranked, _RankedLazily) and ranked.scores is not None
        return np.fmax.reduce(ranked.scores) > displacement.bars
    assert displacement.displaces_many is not None
    return displacement.displaces_many(ranked[0])


def _may_displace_top(displacement: Displacement, job: QueuedJob,
                      ranked: Sequence[RunningJob]) -> bool:
    """Whether ``job`` may displace the most expendable running work, ``ranked[0]``."""
    if isinstance(ranked, _RankedLazily) and ranked.scores is not None:
        assert displacement.bar is not None
        return ranked.top_score() > displacement.bar(job)
    return displacement.may_displace(job, ranked[0])


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
                    not ranked or not _may_displace_top(displacement, job, ranked)):
            if displacement.monotone and scratch.free_gpus < smallest:
                break  # neither this job nor any later one can fit or displace
            if can_skip and (not ranked or displacement.monotone):
                rest_from = position  # no later job can displace anything either
                break
            if can_skip and (displacement.displaces_many is not None
                             or (displacement.bars is not None and _scored(ranked))):
                assert sizes is not None
                if top_for != pool_for:
                    top_may = _displace_top_many(displacement, ranked)
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
                    if isinstance(ranked, _RankedLazily):  # the pool less this round's victims
                        ranked = ranked.without(preempted)
                    else:
                        if columns is None:
                            columns = view.running_columns()
                        ranked = _ranked_by_columns(view, columns, displacement, preempted)
                else:
                    if running is None:
                        running = [r for r in view.running if r.preemptible]
                    pool = [r for r in running
                            if r.work_id not in preempted and r.start_s < view.now]
                    if displacement is not None:
                        ranked = sorted(pool, key=displacement.rank)
                pool_for = len(preempted)
            if isinstance(ranked, _RankedLazily):  # build views only for what is used
                assert displacement is not None
                if ranked.scores is not None and displacement.bar is not None:
                    candidates = ranked.prefix(ranked.count_displaceable(displacement.bar(job)))
                else:
                    test = displacement.may_displace
                    candidates = ranked.prefix(_prefix_length(
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
