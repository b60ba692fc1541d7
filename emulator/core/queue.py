"""The waiting queue: work in arrival order, with policy views kept alongside.

Insertion finds its place by binary search on ``(submit time, work id)`` (a preempted job
returns to its original place); removal finds the entry the same way. Policies see the
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
        # One row per QueueTable field, one column per entry; the first len(self) count.
        # Only the first two rows (GPUs, estimate) until a policy first asks for the whole
        # table: a run that never sorts the queue does not shift the other rows around.
        self._cols = np.zeros((2, 64), dtype=np.float64)

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """``(GPUs, estimated run time s)`` of each queued view, in queue order: read-only
        arrays, valid until the queue next changes."""
        n = len(self.works)
        gpus, est = self._cols[0, :n], self._cols[1, :n]
        gpus.flags.writeable = est.flags.writeable = False
        return gpus, est

    def table(self) -> QueueTable:
        """Every queued view's figures as read-only float arrays, in queue order (valid
        until the queue next changes)."""
        if self._cols.shape[0] < len(_FIELDS):  # first use: keep every row from now on
            full = np.zeros((len(_FIELDS), self._cols.shape[1]), dtype=np.float64)
            self._cols = full
            for i, view in enumerate(self.views):
                self._set(i, view)
        block = self._cols[:, :len(self.works)]
        block.flags.writeable = False
        return QueueTable(*block)

    def _open(self, i: int) -> None:
        """Make room for an entry at position ``i`` (shifting the later ones)."""
        n = len(self.works)
        if n >= self._cols.shape[1]:
            grown = np.zeros((self._cols.shape[0], 2 * self._cols.shape[1]),
                             dtype=np.float64)
            grown[:, :n] = self._cols[:, :n]
            self._cols = grown
        if i < n:
            self._cols[:, i + 1:n + 1] = self._cols[:, i:n].copy()

    def _set(self, i: int, view: QueuedJob) -> None:
        cols = self._cols
        cols[0, i] = view.n_gpus
        cols[1, i] = view.est_duration_s
        if cols.shape[0] > 2:
            cols[2:, i] = (view.attained_gpu_s, view.remaining, view.submit_s, view.work_id,
                           view.priority, view.kind == "training")

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
        self._set(len(self.works), view)
        self.works.append(work)
        self.views.append(view)
        self._keys.append((work.submit_s, work.work_id))
        self.by_tenant[work.tenant_idx] += 1

    def insert(self, work: Work) -> None:
        """Put ``work`` back at its arrival-order place (fresh view: its figures changed)."""
        key = (work.submit_s, work.work_id)
        i = bisect.bisect_right(self._keys, key)
        work.view = None
        view = work.queued_view()
        self._open(i)
        self._set(i, view)
        self.works.insert(i, work)
        self.views.insert(i, view)
        self._keys.insert(i, key)
        self.by_tenant[work.tenant_idx] += 1

    def remove(self, work: Work) -> None:
        """Take ``work`` out of the queue."""
        key = (work.submit_s, work.work_id)
        i = bisect.bisect_left(self._keys, key)
        if i >= len(self.works) or self.works[i] is not work:
            i = self.works.index(work)  # appended out of order (e.g. replicas): linear
        n = len(self.works)
        self._cols[:, i:n - 1] = self._cols[:, i + 1:n].copy()
        del self.works[i]
        del self.views[i]
        del self._keys[i]
        self.by_tenant[work.tenant_idx] -= 1
        work.view = None

    def clear(self) -> None:
        """Empty the queue."""
        for w in self.works:
            w.view = None
        self.works.clear()
        self.views.clear()
        self._keys.clear()
        self.by_tenant = [0] * len(self.by_tenant)
