"""Small array helpers shared by the kernels (backend-neutral: they take ``xp``)."""

from __future__ import annotations

from typing import Any

__all__ = ["f64"]


def f64(xp: Any, a: Any) -> Any:
    """``a`` as a float64 array of module ``xp`` (no copy when it already is one)."""
    return xp.asarray(a, dtype=xp.float64)
