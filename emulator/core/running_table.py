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
does not walk every running job for them either.
"""

from __future__ import annotations

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
    _ARRAYS = ("work_id", "n_gpus", "start_s", "attained_base", "priority", "preemptible",
               "training", "est_duration_s", "origin", "remaining", "speed")

    def __init__(self) -> None:
        self.active = False  # kept up to date only once a policy asked for it
        self.n = 0
        self.slot: dict[int, int] = {}
        self.works: list[Work] = []  # in slot order
        self.work_id = np.zeros(self._INITIAL, dtype=np.int64)
        self.n_gpus = np.zeros(self._INITIAL, dtype=np.float64)
        self.start_s = np.zeros(self._INITIAL, dtype=np.float64)
        self.attained_base = np.zeros(self._INITIAL, dtype=np.float64)
        self.priority = np.zeros(self._INITIAL, dtype=np.float64)
        self.preemptible = np.zeros(self._INITIAL, dtype=bool)
        self.training = np.zeros(self._INITIAL, dtype=bool)
        self.est_duration_s = np.zeros(self._INITIAL, dtype=np.float64)
        # Where progress (re)started, work left and speed: these change while work runs, so
        # rows are re-read from their work when the core notes a change (``dirty``) and,
        # while progress has not started (a dataset staging), at every read.
        self.origin = np.zeros(self._INITIAL, dtype=np.float64)
        self.remaining = np.zeros(self._INITIAL, dtype=np.float64)
        self.speed = np.zeros(self._INITIAL, dtype=np.float64)
        self.dirty: set[int] = set()

    def add(self, work: Work) -> None:
        """``work`` started (its start time, GPUs and attained service are set)."""
        if self.n == self.work_id.size:
            for name in self._ARRAYS:
                old = getattr(self, name)
                grown = np.zeros(2 * old.size, dtype=old.dtype)
                grown[:old.size] = old
                setattr(self, name, grown)
        i = self.n
        self.work_id[i] = work.work_id
        self.n_gpus[i] = work.n_gpus
        self.start_s[i] = work.start_s
        self.attained_base[i] = work.attained_gpu_s
        self.priority[i] = work.priority
        self.preemptible[i] = work.preemptible and work.kind == "training"
        self.training[i] = work.kind == "training"
        self.est_duration_s[i] = work.est_duration_s
        self.slot[work.work_id] = i
        self.works.append(work)
        self.n += 1
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
        last = self.n - 1
        if i != last:
            for name in self._ARRAYS:
                arr = getattr(self, name)
                arr[i] = arr[last]
            self.works[i] = self.works[last]
            self.slot[int(self.work_id[i])] = i
        self.works.pop()
        self.n = last

    def clear(self) -> None:
        """Nothing runs any more (the horizon)."""
        self.slot.clear()
        self.works.clear()
        self.dirty.clear()
        self.n = 0

    def _refresh(self) -> None:
        """Re-read progress, work left and speed of the rows that may have changed."""
        n = self.n
        slot = self.slot
        rows = {slot[w] for w in self.dirty if w in slot}
        rows.update(np.flatnonzero(~np.isfinite(self.origin[:n]) & self.training[:n]).tolist())
        self.dirty.clear()
        for i in rows:
            work = self.works[i]
            self.origin[i] = work.progress_start_s
            self.remaining[i] = work.remaining
            self.speed[i] = work.speed

    def columns(self, now: float) -> RunningColumns:
        """The arrays at time ``now`` (copies: still valid after the table changes); the
        table must have been activated (:meth:`activate`)."""
        assert self.active
        self._refresh()
        n = self.n
        n_gpus, start = self.n_gpus[:n].copy(), self.start_s[:n].copy()
        training, est = self.training[:n].copy(), self.est_duration_s[:n].copy()
        origin, remaining = self.origin[:n].copy(), self.remaining[:n].copy()
        speed = self.speed[:n].copy()
        return RunningColumns(now=now, work_id=self.work_id[:n].copy(), n_gpus=n_gpus,
                              start_s=start,
                              attained_gpu_s=self.attained_base[:n] + n_gpus * (now - start),
                              priority=self.priority[:n].copy(),
                              preemptible=self.preemptible[:n].copy(),
                              expected_ends=lambda: expected_ends(
                                  origin, remaining, speed, training, est, now))
