"""The waiting queue: work in arrival order, with policy views kept alongside.

Insertion finds its place by binary search on ``(submit time, work id)`` (a preempted job
returns to its original place); removal finds the entry the same way. Policies see the
views through a read-only window, never the list itself, and two figures of every view
as arrays in the same order (:meth:`WorkQueue.columns`: GPUs and estimated run time), so
a policy can find the jobs that could fit without a Python step per job.
"""

from __future__ import annotations

import bisect

import numpy as np

from emulator.policies.base import QueuedJob
from emulator.work import Work

__all__ = ["WorkQueue"]


class WorkQueue:
    """Queued work in ``(submit_s, work_id)`` order plus per-tenant counts."""

    def __init__(self, n_tenants: int) -> None:
        self.works: list[Work] = []
        self.views: list[QueuedJob] = []
        self._keys: list[tuple[float, int]] = []
        self.by_tenant = [0] * n_tenants
        # Rows: GPUs, estimated run time (s) of each entry's view; the first len(self) count.
        self._cols = np.zeros((2, 64), dtype=np.float64)

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """``(GPUs, estimated run time s)`` of each queued view, in queue order: read-only
        arrays, valid until the queue next changes."""
        n = len(self.works)
        gpus, est = self._cols[0, :n], self._cols[1, :n]
        gpus.flags.writeable = est.flags.writeable = False
        return gpus, est

    def _open(self, i: int) -> None:
        """Make room for an entry at position ``i`` (shifting the later ones)."""
        n = len(self.works)
        if n >= self._cols.shape[1]:
            grown = np.zeros((2, 2 * self._cols.shape[1]), dtype=np.float64)
            grown[:, :n] = self._cols[:, :n]
            self._cols = grown
        if i < n:
            self._cols[:, i + 1:n + 1] = self._cols[:, i:n].copy()

    def _set(self, i: int, view: QueuedJob) -> None:
        self._cols[0, i] = view.n_gpus
        self._cols[1, i] = view.est_duration_s

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
