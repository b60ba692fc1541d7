"""Whether a round's displacement can displace anything, known from two figures.

In a saturated cluster most rounds of a preempting ordering policy preempt nothing, yet a
full round ranks the running work and tests blocked jobs against it. For a greedy round
(:func:`~emulator.policies.ordered.greedy_round`) whose displacement is a comparison
(:attr:`~emulator.policies.ordered.Displacement.score_columns` against a
:attr:`~emulator.policies.ordered.Displacement.bar` per queued job), a job may displace
running work only if that work's score exceeds the job's bar. So when the highest score
among the work a round offers as victims (preemptible, started before now) is at most the
lowest bar in the queue, no job of the round has a candidate victim, and the round decides
exactly what it decides without a displacement: it starts what fits, in order, at a
comparison per job. And if then no queued job fits in the free GPUs (``view.free_gpus``,
which a view's scratch starts from), it decides nothing without being run at all.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emulator.policies.base import ClusterView, RunningColumns
from emulator.policies.ordered import Displacement

__all__ = ["displaces_anything", "live_displacement"]


def live_displacement(view: ClusterView, bars: np.ndarray,
                      displacement: Displacement | None) -> Displacement | None:
    """``displacement``, or ``None`` when no queued job, of ``bars`` the
    :attr:`~emulator.policies.ordered.Displacement.bar` values of the round's jobs, may
    displace any running work (and always ``displacement`` when that cannot be told from
    score columns)."""
    if displacement is None or displacement.score_columns is None or not bars.size:
        return displacement
    return displacement if displaces_anything(view, bars, displacement.score_columns) else None


def displaces_anything(view: ClusterView, bars: np.ndarray,
                       score_columns: Callable[[RunningColumns], np.ndarray]) -> bool:
    """Whether some queued job, of ``bars`` the non-empty
    :attr:`~emulator.policies.ordered.Displacement.bar` values of the round's jobs, may
    displace some running work scored by ``score_columns``
    (:attr:`~emulator.policies.ordered.Displacement.score_columns`): :func:`live_displacement`
    for a policy that builds its displacement only once the answer is yes."""
    columns = view.running_columns()
    pool = columns.preemptible & (columns.start_s < view.now)
    scores = np.asarray(score_columns(columns))[pool]
    if not scores.size:
        return False
    # fmax/fmin pass over NaN as the pairwise test does (a NaN compares false); all NaN
    # gives NaN, which compares false too
    return bool(np.fmax.reduce(scores) > np.fmin.reduce(bars))
