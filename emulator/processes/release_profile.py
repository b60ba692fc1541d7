"""When running work is expected to free its GPUs, kept sorted incrementally.

Backfill's reservation needs the running work sorted by expected end. Rebuilding that
from all running work at every change costs O(running) Python per round: on a campus with
thousands of jobs running and a large job blocked at the head, that was nine tenths of the
run. Here each change (a start, a release, a re-rate: the core records the work in
``Core.changed``) moves one entry; entries of jobs still staging their dataset, whose
expected end counts from *now*, are recomputed at every change, as a full rebuild would.
The arrays are the same, entry for entry, as sorting ``(end, work id, GPUs)`` afresh.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from emulator.core.core import Core
from emulator.work import Work

__all__ = ["ReleaseProfile"]


class ReleaseProfile:
    """``(expected end s, GPUs it gives back)`` of running work sorted by (end, work id)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.keys: list[tuple[float, int]] = []
        self.ends = np.empty(0, dtype=np.float64)
        self.gpus = np.empty(0, dtype=np.int64)
        self._key_of: dict[int, tuple[float, int]] = {}
        self._floating: set[int] = set()  # staging: expected end moves with the clock
        self._version = -1

    def _remove(self, work_id: int) -> None:
        key = self._key_of.pop(work_id, None)
        if key is None:
            return
        i = bisect.bisect_left(self.keys, key)
        del self.keys[i]
        self.ends = np.delete(self.ends, i)
        self.gpus = np.delete(self.gpus, i)

    def _returning(self, work: Work) -> int:
        """The GPUs ``work`` gives back when it ends: not those out of service or draining,
        which the core keeps out of the free pool (the core notes the holders of GPUs that
        start or stop draining as changed)."""
        if work.gpus is None:
            return work.n_gpus
        cluster = self.core.cluster
        out = cluster.down[work.gpus] | cluster.draining[work.gpus]
        return work.n_gpus - int(np.count_nonzero(out)) if out.any() else work.n_gpus

    def _insert(self, work_id: int) -> None:
        core = self.core
        work = core.running.get(work_id)
        if work is None:
            return
        key = (core.expected_end(work), work_id)
        i = bisect.bisect_right(self.keys, key)
        self.keys.insert(i, key)
        self.ends = np.insert(self.ends, i, key[0])
        self.gpus = np.insert(self.gpus, i, self._returning(work))
        self._key_of[work_id] = key
        if work.kind == "training" and not math.isfinite(work.progress_start_s):
            self._floating.add(work_id)
        else:
            self._floating.discard(work_id)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The sorted ends and GPUs, brought up to date if the running set changed."""
        core = self.core
        if self._version != core.running_version:
            if core.changed_all:  # too many changes went unread: start again from scratch
                core.changed_all = False
                self.keys, self._key_of, self._floating = [], {}, set()
                self.ends = np.empty(0, dtype=np.float64)
                self.gpus = np.empty(0, dtype=np.int64)
                core.changed = set(core.running)
            stale = core.changed | self._floating
            core.changed = set()
            self._floating = set()
            for work_id in sorted(stale):
                self._remove(work_id)
                self._insert(work_id)
            self._version = core.running_version
        return self.ends, self.gpus
