"""A serving replica's decode step times as functions of its batch (tabulated once per
service: the kernels are too costly to call at every batch a window's load passes
through)."""

from __future__ import annotations

import numpy as np

__all__ = ["TABLE_POINTS", "StepTable"]

TABLE_POINTS = 96
"""Batch sizes at which a service's step times are tabulated when it has more slots than
this (geometric between 1 and ``slots``; linear interpolation between them)."""


class StepTable:
    """A service's decode step GPU and host seconds as functions of the batch per replica.

    ``batches`` (ascending, from 1 to ``slots``) with ``gpu_s`` and ``host_s`` at each;
    between them the figures are interpolated linearly (both are affine in the batch but
    for the attention's and all-reduce's shape terms, so a few dozen points suffice).
    """

    __slots__ = ("batches", "gpu_s", "host_s", "slots", "step_s")

    def __init__(self, batches: np.ndarray, gpu_s: np.ndarray, host_s: np.ndarray) -> None:
        self.batches = np.asarray(batches, dtype=np.float64)
        self.gpu_s = np.asarray(gpu_s, dtype=np.float64)
        self.host_s = np.asarray(host_s, dtype=np.float64)
        self.slots = float(self.batches[-1])
        self.step_s = np.maximum(self.gpu_s, self.host_s)

    @staticmethod
    def grid(slots: int) -> np.ndarray:
        """The batch sizes to tabulate for ``slots`` sequence slots per replica."""
        top = max(int(slots), 1)
        if top <= TABLE_POINTS:
            return np.arange(1, top + 1, dtype=np.float64)
        return np.unique(np.round(np.geomspace(1.0, top, TABLE_POINTS), 6))

    def at(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(GPU s, host s) of a decode step at ``batch`` sequences per replica (the
        table's ends beyond its range: ``np.interp`` holds them)."""
        return (np.interp(batch, self.batches, self.gpu_s),
                np.interp(batch, self.batches, self.host_s))

    def step_at(self, batch: np.ndarray) -> np.ndarray:
        """A decode step's duration, ``max(G, H)`` (s), at ``batch`` sequences per replica
        (the table's ends beyond its range). ``max(G, H)`` is interpolated between the
        grid's batches, which differs slightly from :meth:`at`'s two interpolations where
        ``G`` and ``H`` cross between two of them."""
        return np.interp(batch, self.batches, self.step_s)
