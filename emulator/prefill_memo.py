"""One service's prefill (work, fixed) seconds by prompt length, computed once per length.

A serving window asks the prefill kernel for every request's prompt: about forty array
operations on a few dozen prompts, once per service and window (the shipped Bizerte
example has 40,000 such calls). Prompt lengths are whole token counts and the kernel
treats each prompt on its own (:func:`cupy_kernels.inference.prefill_parts`: nothing is
summed across prompts), so a length's figures never change while the service runs.
:class:`PrefillMemo` keeps them in two tables indexed by length, computes the lengths it
has not seen (once each, in one kernel call) and reads the rest, bit for bit what the
kernel gives for the whole window.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["MAX_MEMO_TOKENS", "PrefillMemo"]

MAX_MEMO_TOKENS = 1 << 20
"""Prompts this long or longer go to the kernel every time (tables of at most 16 MiB)."""

Kernel = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class PrefillMemo:
    """(work s, fixed s) of one service's prompts by length (tokens), filled on demand."""

    __slots__ = ("_fixed", "_kernel", "_known", "_work")

    def __init__(self, kernel: Kernel) -> None:
        """``kernel(lengths)``: the (work, fixed) seconds of prompts of ``lengths`` tokens
        (float64), one entry each."""
        self._kernel = kernel
        self._work = np.empty(0, dtype=np.float64)
        self._fixed = np.empty(0, dtype=np.float64)
        self._known = np.zeros(0, dtype=bool)

    def parts(self, prompts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(work, fixed) seconds of each of ``prompts`` (token counts)."""
        p = np.asarray(prompts)
        if p.size == 0 or p.dtype.kind not in "iu":
            return self._kernel(p.astype(np.float64))
        top = int(p.max())
        if int(p.min()) < 0 or top >= MAX_MEMO_TOKENS:
            return self._kernel(p.astype(np.float64))
        if top >= self._known.size:
            self._grow(top + 1)
        new = p[~self._known[p]]
        if new.size:
            lengths = np.unique(new)
            work, fixed = self._kernel(lengths.astype(np.float64))
            self._work[lengths] = work
            self._fixed[lengths] = fixed
            self._known[lengths] = True
        return self._work[p], self._fixed[p]

    def _grow(self, size: int) -> None:
        size = min(max(size, 2 * self._known.size, 1024), MAX_MEMO_TOKENS)
        old = self._known.size
        for name in ("_work", "_fixed", "_known"):
            table = getattr(self, name)
            grown = np.zeros(size, dtype=table.dtype)
            grown[:old] = table
            setattr(self, name, grown)
