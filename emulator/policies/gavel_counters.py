"""What Gavel's round mechanism remembers of each job between rounds.

Kept apart from :mod:`emulator.policies.gavel_rounds` (the round mechanism) so each file
has one concern: :class:`Seen` is what the paper's mechanism keeps (when a job arrived,
what it asked for, the time it received on each type), :class:`GavelCounters` the
priority state of Gavel's simulator for ``mechanism: gavel``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emulator.placement.base import PlacementRequest
from emulator.policies.base import QueuedJob, RunningJob

__all__ = ["GavelCounters", "Seen"]


@dataclass
class Seen:
    """What the mechanism remembers of a job between rounds."""

    first_s: float
    request: PlacementRequest | None
    received_s: dict[str, float]


class GavelCounters:
    """The priority state of Gavel's simulator (``scheduler.py``: ``_job_time_so_far``,
    ``_worker_time_so_far``, ``_deficits``), for ``mechanism: gavel``.

    A job's priority on type ``k`` is its allocation ``X[j, k]`` divided by its share of
    the time type ``k`` has run jobs since the last allocation (each job's counter starts
    at half a round when it arrives and at every new allocation); ``X[j, k] · 1e9`` when
    that share is 0, and 0 where ``X[j, k]`` is. Ties go to the larger *deficit*: the time
    the job should have had on the type under the earlier allocations less what it had.
    """

    def __init__(self) -> None:
        self.job_s: dict[int, np.ndarray] = {}
        self.type_s: np.ndarray | None = None
        self.deficit: dict[int, np.ndarray] = {}
        self.half_s = 0.0

    def advance(self, jobs: Sequence[QueuedJob | RunningJob], ids: set[int], elapsed: float,
                gpu_type: np.ndarray, n_types: int, half_s: float) -> None:
        """Count the time since the last round for the running jobs; start new jobs'
        counters at half a round; forget jobs that left."""
        self.half_s = half_s
        if self.type_s is None:
            self.type_s = np.zeros(n_types)
        for j in jobs:
            mine = self.job_s.get(j.work_id)
            if mine is None:
                self.job_s[j.work_id] = np.full(n_types, half_s)
            elif isinstance(j, RunningJob) and j.gpus is not None and elapsed > 0:
                k = int(gpu_type[int(j.gpus[0])])
                mine[k] += elapsed
                self.type_s[k] += elapsed
        self.job_s = {w: v for w, v in self.job_s.items() if w in ids}
        self.deficit = {w: v for w, v in self.deficit.items() if w in ids}

    def reset(self, jobs: tuple[int, ...],
              previous: tuple[tuple[int, ...], np.ndarray] | None, since_s: float) -> None:
        """A new allocation: add each job's shortfall under the previous one to its
        deficit, and start every counter again at half a round."""
        assert self.type_s is not None
        row = {} if previous is None else {w: i for i, w in enumerate(previous[0])}
        for w in jobs:
            had = self.job_s[w] - self.half_s
            should = previous[1][row[w]] * since_s if previous is not None and w in row \
                else np.zeros_like(had)
            self.deficit[w] = self.deficit.get(w, np.zeros_like(had)) + should - had
            self.job_s[w] = np.full_like(had, self.half_s)
        self.type_s = np.full_like(self.type_s, self.half_s * len(jobs))

    def priority(self, work_id: int, k: int, x: float) -> tuple[float, float]:
        """(priority, deficit) of a job on type ``k`` with allocation ``x``."""
        assert self.type_s is not None
        total = float(self.type_s[k])
        share = float(self.job_s[work_id][k]) / total if total > 0 else 0.0
        prio = 0.0 if x <= 0 else (x / share if share > 0 else x * 1e9)
        deficit = self.deficit.get(work_id)
        return prio, 0.0 if deficit is None else float(deficit[k])
