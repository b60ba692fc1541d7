"""When running work is expected to free its GPUs, kept sorted incrementally.

Backfill's reservation needs the running work sorted by expected end. Rebuilding that
from all running work at every change costs O(running) Python per round: on a campus with
thousands of jobs running and a large job blocked at the head, that was nine tenths of the
run. Here each change (a start, a release, a re-rate: the core records the work in
``Core.changed``) moves one entry; entries of jobs still staging their dataset, whose
expected end counts from *now*, are recomputed at every change, as a full rebuild would.
The arrays are the same, entry for entry, as sorting ``(end, work id, GPUs)`` afresh.

The two arrays live in buffers with spare room at the end: removing or inserting an entry
shifts the tail by one slot in place (one slice copy each), instead of ``np.delete`` and
``np.insert`` building new arrays (about 10 µs of call overhead each, four per round).
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
        self._ends = np.empty(64, dtype=np.float64)  # entries [0, len(keys)), then room
        self._gpus = np.empty(64, dtype=np.int64)
        self._key_of: dict[int, tuple[float, int]] = {}
        self._floating: set[int] = set()  # staging: expected end moves with the clock
        self._version = -1
        self.ends, self.gpus = self._ends[:0], self._gpus[:0]  # the last arrays handed out

    def _returning(self, work: Work) -> int:
        """The GPUs ``work`` gives back when it ends: not those out of service or draining,
        which the core keeps out of the free pool (the core notes the holders of GPUs that
        start or stop draining as changed)."""
        if work.gpus is None:
            return work.n_gpus
        cluster = self.core.cluster
        if not (cluster.n_down or cluster.n_draining):  # nothing out: all come back
            return work.n_gpus
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

    def _remove(self, i: int) -> None:
        """Drop entry ``i``: the tail moves one slot left (overlap-safe slice copy)."""
        n = len(self.keys)
        del self.keys[i]
        self._ends[i:n - 1] = self._ends[i + 1:n]
        self._gpus[i:n - 1] = self._gpus[i + 1:n]

    def _insert(self, key: tuple[float, int], gpus: int) -> None:
        """Put ``(key, gpus)`` in its sorted place: the tail moves one slot right."""
        n = len(self.keys)
        if n == self._ends.size:  # full: double the room
            self._ends = np.concatenate([self._ends, np.empty(n, dtype=np.float64)])
            self._gpus = np.concatenate([self._gpus, np.empty(n, dtype=np.int64)])
        i = bisect.bisect_right(self.keys, key)
        self._ends[i + 1:n + 1] = self._ends[i:n]
        self._gpus[i + 1:n + 1] = self._gpus[i:n]
        self._ends[i] = key[0]
        self._gpus[i] = gpus
        self.keys.insert(i, key)
        self._key_of[key[1]] = key

    def _update(self, stale: set[int]) -> None:
        """Move the entries of ``stale`` work: all removals, then all insertions (a round
        changes a few entries of thousands)."""
        gone = [self._key_of.pop(w) for w in stale if w in self._key_of]
        for i in sorted((bisect.bisect_left(self.keys, key) for key in gone), reverse=True):
            self._remove(i)
        for key, gpus in sorted(e for e in map(self._entry, stale) if e is not None):
            self._insert(key, gpus)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The sorted ends and GPUs, brought up to date if the running set changed."""
        core = self.core
        if self._version != core.running_version:
            if core.changed_all:  # too many changes went unread: start again from scratch
                core.changed_all = False
                self.keys, self._key_of, self._floating = [], {}, set()
                core.changed = set(core.running)
            stale = core.changed | self._floating
            core.changed = set()
            self._floating = set()
            self._update(stale)
            self._version = core.running_version
            n = len(self.keys)
            self.ends, self.gpus = self._ends[:n], self._gpus[:n]
            self.ends.flags.writeable = False  # views of the buffers: read, never written
            self.gpus.flags.writeable = False
        return self.ends, self.gpus
