"""The running set's fixed figures as arrays, for policies that rank running work.

A preempting policy (LAS, SRTF) ranks the running work every round to pick victims.
Building a view object per running job for that costs O(running) Python per round, which
on a deep queue was most of the run. The figures a ranking needs — work id, GPUs, start
time, GPU-seconds attained before this run, priority, whether it may be preempted — do not
change while the work runs, so the core writes them here at its two choke points (a start,
a release) and a round reads them as arrays: attained GPU-seconds *now* are one vector
expression (``base + GPUs × (now − start)``, the same arithmetic as the per-job views).
Rows are kept in slots (a release moves the last row into the freed slot): their order
carries no meaning, rankings break ties by work id. The table is filled only once a
policy first asks for it (:meth:`RunningTable.activate`), so runs whose policies never
rank running work do not pay for it.

Expected ends also need where progress (re)started, the work left and the speed, which do
change while work runs (a launch, a staging that ends, a new speed). The core notes each
such change (:attr:`RunningTable.dirty`) and a read re-reads only those rows, so a round
does not walk every running job for them either. The expected end itself is kept as a row
too, computed when a row's figures are re-read (the same arithmetic as
:func:`expected_ends`, one float operation at a time, so the same bits): it does not move
with the clock once progress has started, so a read computes nothing for it unless some
training is still staging its dataset (its end is "now" plus its run time), in which case
the ends are computed from the rows as a whole.

A read copies the rows (the copies stay valid after the table changes) once per change:
reads between two changes (the rounds of arrivals that found the running set as it was)
share the same read-only copies and compute only what moves with the clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from emulator.policies.base import RunningColumns
from emulator.work import Work

__all__ = ["RunningTable", "expected_ends"]


def expected_ends(origin: np.ndarray, remaining: np.ndarray, speed: np.ndarray,
                  training: np.ndarray, est_duration_s: np.ndarray, now: float) -> np.ndarray:
    """Each work's expected end by its estimate (s), as :meth:`Core.expected_end` computes
    it, vectorised: remaining work at its speed from where progress (re)starts (now while
    its dataset is still staging); ``inf`` for serving work."""
    origin = np.where(np.isfinite(origin), origin, now)
    with np.errstate(invalid="ignore"):  # serving rows (inf × …) are replaced below
        ends = origin + est_duration_s * remaining / np.maximum(speed, 1e-9)
    return np.where(training, ends, np.inf)


class RunningTable:
    """Slot arrays of running work's fixed figures, written at start and release."""

    _INITIAL = 64
    _FLOATS = ("n_gpus", "start_s", "attained_base", "priority", "est_duration_s", "origin",
               "remaining", "speed", "end")
    _FLAGS = ("preemptible", "training")

    def __init__(self) -> None:
        self.active = False  # kept up to date only once a policy asked for it
        self.n = 0
        self.slot: dict[int, int] = {}
        self.works: list[Work] = []  # in slot order
        # One block per dtype (a read copies three arrays, a release moves three slots);
        # each figure is a row of its block, bound as an attribute by ``_bind``. Where
        # progress (re)started (``origin``), work left and speed change while work runs, so
        # rows are re-read from their work when the core notes a change (``dirty``) and,
        # while progress has not started (a dataset staging), at every read.
        self._ids = np.zeros(self._INITIAL, dtype=np.int64)
        self._floats = np.zeros((len(self._FLOATS), self._INITIAL), dtype=np.float64)
        self._flags = np.zeros((len(self._FLAGS), self._INITIAL), dtype=bool)
        self._bind()
        self.dirty: set[int] = set()
        self._staging: set[int] = set()  # training whose progress has not started: re-read
        self._copies: tuple[np.ndarray, ...] | None = None  # the rows as last copied

    def _bind(self) -> None:
        """Name each row of the blocks (``self.n_gpus`` … ``self.training``, ``work_id``)."""
        self.work_id = self._ids
        for k, name in enumerate(self._FLOATS):
            setattr(self, name, self._floats[k])
        for k, name in enumerate(self._FLAGS):
            setattr(self, name, self._flags[k])

    def add(self, work: Work) -> None:
        """``work`` started (its start time, GPUs and attained service are set)."""
        if self.n == self._ids.size:
            size = self._ids.size
            self._ids = np.concatenate((self._ids, np.zeros(size, dtype=np.int64)))
            self._floats = np.concatenate((self._floats, np.zeros_like(self._floats)), axis=1)
            self._flags = np.concatenate((self._flags, np.zeros_like(self._flags)), axis=1)
            self._bind()
        i = self.n
        self.work_id[i] = work.work_id
        self.n_gpus[i] = work.n_gpus
        self.start_s[i] = work.start_s
        self.attained_base[i] = work.attained_gpu_s
        self.priority[i] = work.priority
        self.preemptible[i] = work.preemptible and work.kind == "training"
        self.training[i] = work.kind == "training"
        self.est_duration_s[i] = work.est_duration_s
        self.origin[i] = math.nan  # the first refresh (it is dirty) writes its progress
        self.slot[work.work_id] = i
        self.works.append(work)
        self.n += 1
        self._copies = None
        self.dirty.add(work.work_id)  # its launch sets progress and speed after the start

    def activate(self, running: Iterable[Work]) -> None:
        """Start keeping the table, from the work running now."""
        self.clear()
        self.active = True
        for work in running:
            self.add(work)

    def remove(self, work_id: int) -> None:
        """``work_id`` stopped running: the last row moves into its slot."""
        i = self.slot.pop(work_id)
        self.dirty.discard(work_id)
        self._staging.discard(work_id)
        self._copies = None
        last = self.n - 1
        if i != last:
            self._ids[i] = self._ids[last]
            self._floats[:, i] = self._floats[:, last]
            self._flags[:, i] = self._flags[:, last]
            self.works[i] = self.works[last]
            self.slot[int(self.work_id[i])] = i
        self.works.pop()
        self.n = last

    def clear(self) -> None:
        """Nothing runs any more (the horizon)."""
        self.slot.clear()
        self.works.clear()
        self.dirty.clear()
        self._staging.clear()
        self._copies = None
        self.n = 0

    def _refresh(self) -> None:
        """Re-read progress, work left and speed of the rows that may have changed: those
        noted dirty and the training still staging its dataset."""
        if not self.dirty and not self._staging:
            return
        slot = self.slot
        ids = self.dirty | self._staging
        self.dirty.clear()
        self._staging.clear()
        for work_id in ids:
            i = slot.get(work_id)
            if i is None:
                continue
            work = self.works[i]
            figures = (work.progress_start_s, work.remaining, work.speed)
            if figures != (self.origin[i], self.remaining[i], self.speed[i]):
                self._set_progress(i, *figures)
                self._copies = None
            if self.training[i] and not math.isfinite(figures[0]):
                self._staging.add(work_id)

    def _set_progress(self, i: int, origin: float, remaining: float, speed: float) -> None:
        """Write row ``i``'s progress origin (s), work left (fraction) and speed, and its
        expected end (s): :func:`expected_ends`'s arithmetic on the row's stored figures,
        in the same order, so the same bits; NaN while a training job's progress has not
        started (its end moves with the clock: :meth:`columns` computes the ends then)."""
        self.origin[i], self.remaining[i], self.speed[i] = origin, remaining, speed
        if not self.training[i]:
            self.end[i] = math.inf
            return
        origin, remaining, speed = float(self.origin[i]), float(self.remaining[i]), float(
            self.speed[i])
        est = float(self.est_duration_s[i])
        self.end[i] = (origin + est * remaining / max(speed, 1e-9) if math.isfinite(origin)
                       else math.nan)

    def top_attained(self, now: float) -> float:
        """The most GPU-seconds any preemptible running job has attained by ``now``
        (``-inf`` when none runs), from the rows in place: no copy, no refresh (attained
        service needs neither progress nor speed)."""
        n = self.n
        pool = self.preemptible[:n]
        attained = self.attained_base[:n][pool] + self.n_gpus[:n][pool] * (
            now - self.start_s[:n][pool])
        return float(attained.max()) if attained.size else -math.inf

    def top_remaining(self, now: float) -> float:
        """The longest expected remaining time (s; expected end minus ``now``) of any
        preemptible running job started before ``now``: ``-inf`` when there is none, NaN
        when all of theirs are NaN (``fmax`` passes over NaN). From the rows in place, with
        the same arithmetic as on :meth:`columns` (so the same bits), but no copy."""
        self._refresh()
        n = self.n
        pool = self.start_s[:n] < now
        pool &= self.preemptible[:n]
        if self._staging:  # an end moves with the clock: computed from the rows
            ends = expected_ends(self.origin[:n], self.remaining[:n], self.speed[:n],
                                 self.training[:n], self.est_duration_s[:n], now)
        else:
            ends = self.end[:n]
        # The latest end less now is the longest of (end - now): rounding is monotone, so
        # the subtraction keeps the order and one subtraction after the reduction gives
        # the same bits. fmax passes over NaN (-inf when the pool is empty or all NaN).
        top = float(np.fmax.reduce(ends, where=pool, initial=-math.inf))
        if top == -math.inf:  # no pool, all NaN (or an end of -inf): as before
            scores = ends[pool] - now
            return float(np.fmax.reduce(scores)) if scores.size else -math.inf
        return top - now

    def columns(self, now: float) -> RunningColumns:
        """The arrays at time ``now`` (copies: still valid after the table changes); the
        table must have been activated (:meth:`activate`)."""
        assert self.active
        self._refresh()
        if self._copies is None:
            n = self.n
            blocks = (self._ids[:n].copy(), self._floats[:, :n].copy(),
                      self._flags[:, :n].copy())
            for block in blocks:  # shared by every read until the next change; its rows
                block.setflags(write=False)  # are views, read-only with it
            self._copies = (blocks[0], *blocks[1], *blocks[2])
        (work_id, n_gpus, start, attained_base, priority, est, origin, remaining, speed, end,
         preemptible, training) = self._copies
        if self._staging:  # an end moves with the clock: computed from the rows
            def ends() -> np.ndarray:
                return expected_ends(origin, remaining, speed, training, est, now)
        else:
            def ends() -> np.ndarray:
                return end
        return RunningColumns(now=now, work_id=work_id, n_gpus=n_gpus, start_s=start,
                              attained_gpu_s=attained_base + n_gpus * (now - start),
                              priority=priority, preemptible=preemptible,
                              expected_ends=ends)
