"""Tables at full width when stdout is not a terminal.

A rich console writing to a pipe or a file has no terminal to measure and assumes 80
columns, so a wide table would be wrapped or have its cells cut ("…"). Here a
non-terminal console is widened, for the one print, to the renderables' natural width.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.measure import Measurement

__all__ = ["print_full_width"]

_MAX_WIDTH = 100_000
"""Upper bound on a measured width (characters): no table of ours comes near it."""


def print_full_width(console: Console, *renderables: Any) -> None:
    """Print ``renderables`` on ``console``; on a non-terminal console first widen it to
    the widest renderable's natural width (never narrower than it was), then restore it."""
    width = console.width
    if not console.is_terminal and renderables:
        options = console.options.update(max_width=_MAX_WIDTH)
        console.width = max(width, *(Measurement.get(console, options, r).maximum
                                     for r in renderables))
    try:
        for renderable in renderables:
            console.print(renderable)
    finally:
        console.width = width
