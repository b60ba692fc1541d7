"""Owned, named, reproducible random streams (DESIGN principle 5).

One scenario seed feeds a :class:`numpy.random.SeedSequence`; every consumer asks for a
stream by a stable name (``"arrivals/research/pretrain"``) and gets its own
``numpy.random.Generator``. A name maps to the same stream on every run and machine: the
name is hashed with SHA-256 (never Python's salted ``hash()``). Adding a new stream does
not shift the numbers any other stream draws, so scenarios stay comparable as they grow.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["RngStreams"]


class RngStreams:
    """Factory of independent named generators derived from one seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.seed = int(seed)

    def stream(self, name: str) -> np.random.Generator:
        """A fresh generator for ``name``; the same name always gives the same sequence."""
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, *words])))
