"""What ended each sampled failure: its own repair, an operator's restore, or nothing.

One rule, on plain arrays, so that the failure summary (:mod:`emulator.failure_metrics`,
from the event log) and the report's outage shading (:mod:`emulator.report.segments`, from
the written ``infra`` table) cannot pair a failure differently:

* a failure stays open until its repair: the next ``REPAIR`` row of the same group (the
  failure class) on the same GPUs (``gpu_first .. gpu_last``, the lowest and highest
  global GPU id the component holds), the oldest such failure first. A repair whose GPUs
  are unknown (-1: a log of an earlier version), or one among failures whose GPUs are all
  unknown, takes the oldest open failure of its group. A repair that finds none (a
  restore already ended its failure) ends nothing;
* an operator's restore of a target (a ``RESTORE`` row, its GPU range the target's) ends,
  at its time, every open failure whose GPUs all lie inside that range, whatever its group;
* a failure nothing ended is open at the end of the run (the caller's horizon).

Rows are taken in the order given (the log's order); times are in seconds.
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["FAILURE", "OTHER", "REPAIR", "RESTORE", "ended_by"]

OTHER, FAILURE, REPAIR, RESTORE = 0, 1, 2, 3
"""Row roles: ignored, a failure opens, its repair, an operator's restore of a target."""


def ended_by(role: np.ndarray, group: np.ndarray, gpu_first: np.ndarray,
             gpu_last: np.ndarray) -> np.ndarray:
    """For each row, the index of the row that ended it when it is a ``FAILURE`` that was
    ended (its repair or a restore), else -1 (not a failure, or still open at the end).

    ``role``: one of :data:`OTHER`, :data:`FAILURE`, :data:`REPAIR`, :data:`RESTORE` per
    row; ``group``: the failure class of a failure or repair row (a restore's is not
    read); ``gpu_first``/``gpu_last``: the GPU ids each row concerns (-1: not logged).
    """
    role = np.asarray(role)
    n = role.size
    out = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(role != OTHER)
    if rows.size == 0:
        return out
    groups = np.asarray(group)[rows].tolist()
    firsts = np.asarray(gpu_first)[rows].tolist()
    lasts = np.asarray(gpu_last)[rows].tolist()
    by_gpus: dict[tuple[int, int, int], deque[int]] = {}  # (group, first, last) → open rows
    by_group: dict[int, dict[int, None]] = {}  # group → open rows, oldest first
    where: dict[int, tuple[int, int, int]] = {}  # open row → its (group, first, last)

    def close(row: int, by: int) -> None:
        key = where.pop(row)
        by_gpus[key].remove(row)
        del by_group[key[0]][row]
        out[row] = by

    for i, kind, g, lo, hi in zip(rows.tolist(), role[rows].tolist(), groups, firsts, lasts,
                                  strict=True):
        if kind == FAILURE:
            key = (int(g), int(lo), int(hi))
            by_gpus.setdefault(key, deque()).append(i)
            by_group.setdefault(key[0], {})[i] = None
            where[i] = key
        elif kind == REPAIR:
            same = by_gpus.get((int(g), int(lo), int(hi)))
            if same:
                close(same[0], i)
                continue
            open_ = by_group.get(int(g))
            if open_ and (lo < 0 or all(where[r][1] < 0 for r in open_)):
                close(next(iter(open_)), i)
        elif kind == RESTORE and lo >= 0:
            for row in [r for r, (_, first, last) in where.items()
                        if lo <= first and last <= hi]:
                close(row, i)
    return out

