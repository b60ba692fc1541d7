"""Which running work a blocked job may displace: a policy's ranking and threshold.

Kept apart from :mod:`emulator.policies.ordered` (the round's loop) so each file has one
concern. A :class:`Displacement` says how a policy ranks running work (most expendable
first) and which of it a queued job may displace (a prefix of that ranking);
:class:`RankedLazily` is that ranking over the running columns, building a running job's
view only when a round looks at it, and the helpers answer a round's questions about the
ranking's head without building views where the scores suffice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emulator.policies.base import ClusterView, QueuedJob, RunningColumns, RunningJob

__all__ = ["Displacement", "RankedLazily", "displace_top_many", "is_scored",
           "may_displace_top", "prefix_length", "ranked_by_columns"]


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


class RankedLazily(Sequence[RunningJob]):
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

    def prefix(self, k: int) -> RankedLazily:
        """The first ``k`` entries (sharing the views built so far)."""
        if k:
            self._in_order()
        out = RankedLazily.__new__(RankedLazily)
        out.ids, out.n_gpus, out.scores, out._keys = self.ids, self.n_gpus, self.scores, None
        out._id_list, out._make, out._made = self._id_list, self._make, self._made
        out._len = k
        return out

    def without(self, work_ids: set[int]) -> RankedLazily:
        """The same ranking without ``work_ids`` (work preempted this round): removing
        entries keeps the others' order, so no new sort is needed."""
        keep = _not_in(self.ids, work_ids)
        return RankedLazily(self.ids[keep], self.n_gpus[keep],
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


def prefix_length(ranked: Sequence[RunningJob], holds: Callable[[RunningJob], bool]) -> int:
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


def ranked_by_columns(view: ClusterView, columns: RunningColumns,
                       displacement: Displacement, preempted: set[int]) -> RankedLazily:
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
        return RankedLazily(ids, columns.n_gpus[pool], scores, view.running_job, keys)
    keys = [np.asarray(k)[pool] for k in displacement.rank_columns(columns)]
    scores = (None if displacement.score_columns is None
              else np.asarray(displacement.score_columns(columns))[pool])
    return RankedLazily(columns.work_id[pool], columns.n_gpus[pool], scores,
                         view.running_job, keys)


def is_scored(ranked: Sequence[RunningJob]) -> bool:
    """Whether ``ranked`` carries the scores of its entries."""
    return isinstance(ranked, RankedLazily) and ranked.scores is not None


def displace_top_many(displacement: Displacement, ranked: Sequence[RunningJob]
                       ) -> np.ndarray:
    """Which jobs of the round's order may displace ``ranked[0]``, the most expendable
    running work: with :attr:`Displacement.bars` and a scored ranking, its score against
    every bar (NaN scores rank last, so the first entry's score is the highest other than
    NaN: ``fmax``; all NaN gives NaN, which displaces nothing, as in the pairwise test),
    else :attr:`Displacement.displaces_many` on its view."""
    if displacement.bars is not None and is_scored(ranked):
        assert isinstance(ranked, RankedLazily) and ranked.scores is not None
        return np.fmax.reduce(ranked.scores) > displacement.bars
    assert displacement.displaces_many is not None
    return displacement.displaces_many(ranked[0])


def may_displace_top(displacement: Displacement, job: QueuedJob,
                      ranked: Sequence[RunningJob]) -> bool:
    """Whether ``job`` may displace the most expendable running work, ``ranked[0]``."""
    if isinstance(ranked, RankedLazily) and ranked.scores is not None:
        assert displacement.bar is not None
        return ranked.top_score() > displacement.bar(job)
    return displacement.may_displace(job, ranked[0])
