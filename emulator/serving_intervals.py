"""Sums over time intervals at many times at once, for the serving model's fluid decode and
prefill shares: how much a set of weighted intervals ``[start, end)`` has covered by each
time, without a loop over either (binary searches and running sums).
"""

from __future__ import annotations

import numpy as np

__all__ = ["covered", "mean_level", "ramp"]


def ramp(offsets: np.ndarray, weights: np.ndarray | None, t: np.ndarray) -> np.ndarray:
    """``Σ_i weights_i · max(t - offsets_i, 0)`` at each of the sorted times ``t``
    (weights 1: ``None``), without sorting ``offsets``: each is counted from the first of
    ``t`` after it (a bin count and two running sums over ``t``)."""
    above = np.searchsorted(t, offsets, side="right")  # the first t later than each offset
    size = t.size + 1
    count = np.cumsum(np.bincount(above, weights, minlength=size))[:-1]
    moment = np.cumsum(np.bincount(above, offsets if weights is None else weights * offsets,
                                   minlength=size))[:-1]
    return t * count - moment


def covered(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray | None,
             t: np.ndarray) -> np.ndarray:
    """``Σ_i weights_i · (max(t - starts_i, 0) - max(t - ends_i, 0))`` at each of the
    sorted times ``t``: the weighted time the intervals ``[starts, ends)`` have covered by
    ``t`` (one :func:`ramp` over both ends, the ends weighted negatively)."""
    sign = np.concatenate([np.ones(starts.size), -np.ones(ends.size)])
    return ramp(np.concatenate([starts, ends]),
                 sign if weights is None else sign * np.concatenate([weights, weights]), t)


def mean_level(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray | None,
                points: np.ndarray) -> np.ndarray:
    """The mean over each stretch ``[points[k], points[k+1])`` of the summed ``weights``
    of the intervals ``[starts, ends)`` covering it (the last entry: the sum at the last
    point); exact for any points (an interval that covers part of a stretch counts for
    that part)."""
    area = covered(starts, ends, weights, points)
    width = np.diff(points)
    mean = np.divide(np.diff(area), width, out=np.zeros(width.size), where=width > 0)
    last = ((starts <= points[-1]) & (ends > points[-1]))
    tail = float(last.sum() if weights is None else weights[last].sum())
    return np.concatenate([mean, [tail]])
