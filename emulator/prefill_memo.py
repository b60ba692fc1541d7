"""One service's prefill (work, fixed) seconds by prompt length, computed in bulk.

A serving window asks the prefill kernel for every request's prompt: about forty array
operations on a few dozen prompts, once per service and window (the shipped Bizerte
example has 40,000 such calls). Prompt lengths are whole token counts and the kernel
treats each prompt on its own (:func:`cupy_kernels.inference.prefill_parts`: nothing is
summed across prompts), so a length's figures never change while the service runs.
:class:`PrefillMemo` keeps them in two tables indexed by length, filled for every length
below a bound in one kernel call; a longer prompt doubles the bound (one more call), so a
service pays a handful of calls in all instead of one per window. Each figure is bit for
bit what the kernel gives for the whole window.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["MAX_MEMO_TOKENS", "PrefillMemo"]

MAX_MEMO_TOKENS = 1 << 17
"""Prompts this long or longer go to the kernel every time (tables of at most 2 MiB)."""

Kernel = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class PrefillMemo:
    """(work s, fixed s) of one service's prompts by length (tokens), filled on demand."""

    __slots__ = ("_fixed", "_kernel", "_work")

    def __init__(self, kernel: Kernel) -> None:
        """``kernel(lengths)``: the (work, fixed) seconds of prompts of ``lengths`` tokens
        (float64), one entry each."""
        self._kernel = kernel
        self._work = np.empty(0, dtype=np.float64)
        self._fixed = np.empty(0, dtype=np.float64)

    def parts(self, prompts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(work, fixed) seconds of each of ``prompts`` (token counts)."""
        p = np.asarray(prompts)
        if p.size == 0 or p.dtype.kind not in "iu":
            return self._kernel(p.astype(np.float64))
        top = int(p.max())
        if int(p.min()) < 0 or top >= MAX_MEMO_TOKENS:
            return self._kernel(p.astype(np.float64))
        if top >= self._work.size:
            self._grow(top + 1)
        return self._work[p], self._fixed[p]

    def _grow(self, size: int) -> None:
        """Fill the tables for every length below ``size`` (at least double the old)."""
        old = self._work.size
        size = min(max(size, 2 * old, 1024), MAX_MEMO_TOKENS)
        work, fixed = self._kernel(np.arange(old, size, dtype=np.float64))
        self._work = np.concatenate([self._work, np.asarray(work, dtype=np.float64)])
        self._fixed = np.concatenate([self._fixed, np.asarray(fixed, dtype=np.float64)])
