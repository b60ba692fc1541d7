"""The waiting queue: work in arrival order, with policy views kept alongside.

Insertion finds its place by binary search on ``(submit time, work id)`` (a preempted job
returns to its original place); removal finds the entry the same way. The column store
keeps free room at both ends, and an entry added or removed moves whichever side of it is
shorter: jobs mostly start from near the front of a deep queue, and shifting the whole
tail of a 15,000-job queue for each cost a few per cent of a deep-queue run. Policies see the
views through a read-only window, never the list itself, and the figures of every view as
arrays in the same order (:meth:`WorkQueue.columns`: GPUs and estimated run time;
:meth:`WorkQueue.table`: every figure an ordering policy sorts by), so a policy can find
the jobs that could fit, or sort the queue, without a Python step per job.
"""

from __future__ import annotations

import bisect

import numpy as np

from emulator.policies.base import QueuedJob, QueueTable
from emulator.work import Work

__all__ = ["WorkQueue"]

_FIELDS = QueueTable._fields  # one row of the column store per field, in this order


class WorkQueue:
    """Queued work in ``(submit_s, work_id)`` order plus per-tenant counts."""

    def __init__(self, n_tenants: int) -> None:
        self.works: list[Work] = []
        self.views: list[QueuedJob] = []
        self._keys: list[tuple[float, int]] = []
        self.by_tenant = [0] * n_tenants
        # One row per QueueTable field, one column per entry: entry i is column lo + i.
        # Only the first two rows (GPUs, estimate) until a policy first asks for the whole
        # table: a run that never sorts the queue does not shift the other rows around.
        self._cols = np.zeros((2, 64), dtype=np.float64)
        self._lo = 0
        self.edits = 0
        """Changes other than an arrival at the end (an insert, a removal, a clear): with
        the length, tells a policy that the queue is the one it last saw plus arrivals."""

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """``(GPUs, estimated run time s)`` of each queued view, in queue order: read-only
        arrays, valid until the queue next changes."""
        lo, hi = self._lo, self._lo + len(self.works)
        gpus, est = self._cols[0, lo:hi], self._cols[1, lo:hi]
        gpus.flags.writeable = est.flags.writeable = False
        return gpus, est

    def table(self) -> QueueTable:
        """Every queued view's figures as read-only float arrays, in queue order (valid
        until the queue next changes)."""
        if self._cols.shape[0] < len(_FIELDS):  # first use: keep every row from now on
            full = np.zeros((len(_FIELDS), self._cols.shape[1]), dtype=np.float64)
            self._cols = full
            for i, (view, work) in enumerate(zip(self.views, self.works, strict=True)):
                self._set(i, view, work.tenant_idx)
        block = self._cols[:, self._lo:self._lo + len(self.works)]
        block.flags.writeable = False
        return QueueTable(*block)

    def _open(self, i: int) -> None:
        """Make room for an entry at position ``i``, moving the shorter side by one."""
        n = len(self.works)
        front = i < n - i  # fewer entries before the new one than after it
        if self._lo + n >= self._cols.shape[1] and not (front and self._lo > 0):
            # no room where it is needed: recentre (or grow), keeping a quarter of the free
            # room in front for entries that come back near the front
            old, width = self._cols, self._cols.shape[1]
            if n >= width // 2:
                width *= 2
            lo = (width - n) // 4
            self._cols = np.zeros((old.shape[0], width), dtype=np.float64)
            self._cols[:, lo:lo + n] = old[:, self._lo:self._lo + n]
            self._lo = lo
        cols, lo = self._cols, self._lo
        if i == n:  # at the end (an arrival) with room after it: nothing moves
            return
        if front and lo > 0:  # shift the front left (nothing to move for a new head)
            if i:
                cols[:, lo - 1:lo - 1 + i] = cols[:, lo:lo + i]
            self._lo = lo - 1
        else:  # shift the back right
            cols[:, lo + i + 1:lo + n + 1] = cols[:, lo + i:lo + n]

    def _close(self, i: int) -> None:
        """Drop the entry at position ``i``, moving the shorter side by one."""
        n, lo = len(self.works), self._lo
        cols = self._cols
        if i < n - 1 - i:  # shift the front right (nothing to move for the head)
            if i:
                cols[:, lo + 1:lo + 1 + i] = cols[:, lo:lo + i]
            self._lo = lo + 1
        elif i < n - 1:  # shift the back left (nothing to move for the last entry)
            cols[:, lo + i:lo + n - 1] = cols[:, lo + i + 1:lo + n]

    def _set(self, i: int, view: QueuedJob, tenant_idx: int) -> None:
        cols, c = self._cols, self._lo + i
        cols[0, c] = view.n_gpus
        cols[1, c] = view.est_duration_s
        if cols.shape[0] > 2:
            cols[2:, c] = (view.attained_gpu_s, view.remaining, view.submit_s, view.work_id,
                           view.priority, view.kind == "training", tenant_idx)

    def __len__(self) -> int:
        return len(self.works)

    def __bool__(self) -> bool:
        return bool(self.works)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.works)

    def append(self, work: Work) -> None:
        """Add newly submitted ``work`` at the end (arrivals come in time order)."""
        view = work.queued_view()
        self._open(len(self.works))
        self._set(len(self.works), view, work.tenant_idx)
        self.works.append(work)
        self.views.append(view)
        self._keys.append((work.submit_s, work.work_id))
        self.by_tenant[work.tenant_idx] += 1

    def insert(self, work: Work) -> None:
        """Put ``work`` back at its arrival-order place (fresh view: its figures changed)."""
        self.edits += 1
        key = (work.submit_s, work.work_id)
        i = bisect.bisect_right(self._keys, key)
        work.view = None
        view = work.queued_view()
        self._open(i)
        self._set(i, view, work.tenant_idx)
        self.works.insert(i, work)
        self.views.insert(i, view)
        self._keys.insert(i, key)
        self.by_tenant[work.tenant_idx] += 1

    def remove(self, work: Work) -> None:
        """Take ``work`` out of the queue."""
        self.edits += 1
        key = (work.submit_s, work.work_id)
        i = bisect.bisect_left(self._keys, key)
        if i >= len(self.works) or self.works[i] is not work:
            i = self.works.index(work)  # appended out of order (e.g. replicas): linear
        self._close(i)
        del self.works[i]
        del self.views[i]
        del self._keys[i]
        self.by_tenant[work.tenant_idx] -= 1
        work.view = None

    def clear(self) -> None:
        """Empty the queue."""
        self.edits += 1
        for w in self.works:
            w.view = None
        self.works.clear()
        self.views.clear()
        self._lo = 0
        self._keys.clear()
        self.by_tenant = [0] * len(self.by_tenant)
