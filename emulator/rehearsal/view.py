"""What the rehearsal adds to the dashboard: rack marks, the key legend and the feed.

Racks with a failed GPU are drawn as a red ``✖``, draining racks as a magenta ``▒``, racks
with a GPU cut off the scale-out network (a failed NIC or leaf switch: still usable inside
its NVLink domain) as a yellow ``◌`` (a failure wins over a drain, a drain over a cut), and
the cell under the cursor in reverse video. When the strip groups
several racks per cell, a cell takes the worst state of its racks. Per-rack states are
folded from the allocation masks once per frame: O(GPUs), vectorised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from emulator.core.allocation import ClusterState
from emulator.rehearsal.controls import LEGEND, Controls
from emulator.rehearsal.feed import EventFeed

__all__ = ["CUT_OFF", "DRAINING", "FAILED", "RehearsalView"]

FAILED = ("✖", "bold red")
DRAINING = ("▒", "magenta")
CUT_OFF = ("◌", "yellow")


class RehearsalView:
    """Marks for the rack strip and the panels under it (a dashboard overlay)."""

    def __init__(self, cluster: ClusterState, feed: EventFeed,
                 controls: Controls | None) -> None:
        self.cluster = cluster
        self.feed = feed
        self.controls = controls
        index = cluster.index
        self._rack_first_gpu = np.searchsorted(index.gpu_rack, np.arange(index.n_racks))

    def rack_states(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(failed, draining, cut off)`` boolean arrays per rack (a rack with any such
        GPU)."""
        c = self.cluster
        if c.index.n_racks == 0:
            return np.zeros(0, bool), np.zeros(0, bool), np.zeros(0, bool)
        first = self._rack_first_gpu
        cut = (np.logical_or.reduceat(c.isolated, first) if c.n_isolated
               else np.zeros(first.size, bool))
        return (np.logical_or.reduceat(c.down, first),
                np.logical_or.reduceat(c.draining, first), cut)

    def cell_marks(self, n_racks: int, n_cells: int) -> dict[int, tuple[str, str]]:
        """``{cell: (character, style)}`` for cells that are not drawn as utilisation."""
        failed, draining, cut = self.rack_states()
        if n_cells < n_racks:  # the dashboard's grouping of racks into cells
            edges = np.linspace(0, n_racks, n_cells + 1).astype(int)
            failed = np.logical_or.reduceat(failed, edges[:-1])
            draining = np.logical_or.reduceat(draining, edges[:-1])
            cut = np.logical_or.reduceat(cut, edges[:-1])
            cell_of_rack = np.searchsorted(edges, np.arange(n_racks), "right") - 1
        else:
            cell_of_rack = np.arange(n_racks)
        marks = {int(i): CUT_OFF for i in np.flatnonzero(cut)}
        marks.update({int(i): DRAINING for i in np.flatnonzero(draining)})
        marks.update({int(i): FAILED for i in np.flatnonzero(failed)})
        if self.controls is not None:
            cursor = int(cell_of_rack[self.controls.rack])
            char, style = marks.get(cursor, ("■", "white"))
            marks[cursor] = (char, f"{style} reverse")
        return marks

    def panels(self) -> list[Any]:
        """The key legend with the cursor's status (when keys are live) and the feed."""
        parts: list[Any] = []
        if self.controls is not None:
            parts.append(Text.assemble(("keys ", "bold"), (LEGEND, "dim")))
            parts.append(Text(self.controls.status(), style="cyan"))
        self.feed.update()
        if self.feed.lines:
            feed = Table.grid()
            for text, style in self.feed.lines:
                feed.add_row(Text(text, style=style))
            parts += [Text("events", style="bold"), feed]
        return parts
