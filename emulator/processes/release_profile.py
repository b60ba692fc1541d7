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

    def _returning(self, work: Work) -> int:
        """The GPUs ``work`` gives back when it ends: not those out of service or draining,
        which the core keeps out of the free pool (the core notes the holders of GPUs that
        start or stop draining as changed)."""
        if work.gpus is None:
            return work.n_gpus
        cluster = self.core.cluster
        out = cluster.down[work.gpus] | cluster.draining[work.gpus]
        return work.n_gpus - int(np.count_nonzero(out)) if out.any() else work.n_gpus

    def _entry(self, work_id: int) -> tuple[tuple[float, int], int] | None:
        """``((expected end, work id), GPUs it gives back)`` of running ``work_id``, noting
        whether its end floats with the clock; ``None`` if it no longer runs."""
        core = self.core
        work = core.running.get(work_id)
        if work is None:
            return None
        if work.kind == "training" and not math.isfinite(work.progress_start_s):
            self._floating.add(work_id)
        else:
            self._floating.discard(work_id)
        return (core.expected_end(work), work_id), self._returning(work)

    def _update(self, stale: set[int]) -> None:
        """Move the entries of ``stale`` work: all removals, then all insertions, each as
        one array operation (a round changes a few entries of thousands)."""
        gone = [self._key_of.pop(w) for w in stale if w in self._key_of]
        if gone:
            at = sorted(bisect.bisect_left(self.keys, key) for key in gone)
            for i in reversed(at):
                del self.keys[i]
            self.ends = np.delete(self.ends, at)
            self.gpus = np.delete(self.gpus, at)
        entries = sorted(e for e in map(self._entry, stale) if e is not None)
        if entries:
            where = [bisect.bisect_right(self.keys, key) for key, _g in entries]
            self.ends = np.insert(self.ends, where, [key[0] for key, _g in entries])
            self.gpus = np.insert(self.gpus, where, [g for _key, g in entries])
            for i, (key, _g) in zip(reversed(where), reversed(entries), strict=True):
                self.keys.insert(i, key)
                self._key_of[key[1]] = key

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
            self._update(stale)
            self._version = core.running_version
        return self.ends, self.gpus
