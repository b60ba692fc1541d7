"""The waiting queue: work in arrival order, with policy views kept alongside.

Insertion finds its place by binary search on ``(submit time, work id)`` (a preempted job
returns to its original place); removal finds the entry the same way. Policies see the
views through a read-only window, never the list itself.
"""

from __future__ import annotations

import bisect

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

    def __len__(self) -> int:
        return len(self.works)

    def __bool__(self) -> bool:
        return bool(self.works)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.works)

    def append(self, work: Work) -> None:
        """Add newly submitted ``work`` at the end (arrivals come in time order)."""
        self.works.append(work)
        self.views.append(work.queued_view())
        self._keys.append((work.submit_s, work.work_id))
        self.by_tenant[work.tenant_idx] += 1

    def insert(self, work: Work) -> None:
        """Put ``work`` back at its arrival-order place (fresh view: its figures changed)."""
        key = (work.submit_s, work.work_id)
        i = bisect.bisect_right(self._keys, key)
        work.view = None
        self.works.insert(i, work)
        self.views.insert(i, work.queued_view())
        self._keys.insert(i, key)
        self.by_tenant[work.tenant_idx] += 1

    def remove(self, work: Work) -> None:
        """Take ``work`` out of the queue."""
        key = (work.submit_s, work.work_id)
        i = bisect.bisect_left(self._keys, key)
        if i >= len(self.works) or self.works[i] is not work:
            i = self.works.index(work)  # appended out of order (e.g. replicas): linear
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
