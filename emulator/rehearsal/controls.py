"""Keys → cursor moves and injections of the live rehearsal.

The operator picks *what* with a cursor on the dashboard's rack strip and *what to do*
with one key:

=========  ============================================================================
←/→        previous / next rack (in domain scope: previous / next NVLink domain)
↑/↓        one row of the rack strip up / down
t          toggle the target scope: rack ↔ NVLink domain (on GB200 NVL72 they coincide)
f d r      fail / drain / restore the target under the cursor
l          select the next WAN cable; c / u cut / repair (up) the selected cable
p          switch the queue policy to the next one of :data:`POLICY_CYCLE`
=========  ============================================================================

An injection is a :class:`~emulator.planned_events.PlannedEvent` whose ``at`` is a
placeholder: the session applies it at the simulation's current time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emulator.planned_events import SCHEDULER, PlannedEvent
from emulator.targets import domain_target, rack_target
from topologies.index import TopologyIndex

__all__ = ["LEGEND", "POLICY_CYCLE", "Controls"]

POLICY_CYCLE = ("fifo", "backfill", "priority", "sjf", "srtf", "las", "fairshare")
"""Built-in queue policies (:mod:`emulator.policies.registry`) that ``p`` cycles through."""

LEGEND = ("←→↑↓ move  t rack/domain  f fail  d drain  r restore  "
          "l cable  c cut  u repair  p policy")
"""The key legend drawn under the dashboard."""

_ACTIONS = {"f": "fail", "d": "drain", "r": "restore"}


class Controls:
    """Cursor, scope, selected cable and policy; :meth:`handle` maps one key."""

    def __init__(self, index: TopologyIndex, cables: Sequence[str], policy: str,
                 row_racks: int) -> None:
        self.index = index
        self.cables = tuple(cables)
        self.cable = 0
        self.scope = "rack"
        self.domain = 0  # global NVLink domain id under the cursor
        self.policy = policy
        self.row_racks = max(int(row_racks), 1)  # racks per line of the dashboard strip

    @property
    def rack(self) -> int:
        """Global id of the rack under the cursor."""
        return int(self.index.domain_rack[self.domain])

    def target(self) -> str:
        """The target text under the cursor in the current scope."""
        if self.scope == "domain":
            return domain_target(self.index, self.domain)
        return rack_target(self.index, self.rack)

    def _to_rack(self, rack: int) -> None:
        rack = min(max(rack, 0), self.index.n_racks - 1)
        self.domain = int(np.searchsorted(self.index.domain_rack, rack, "left"))

    def handle(self, key: str) -> PlannedEvent | None:
        """Apply a cursor key, or return the injection a key asks for (``None`` if none)."""
        idx = self.index
        if key in ("left", "right"):
            step = -1 if key == "left" else 1
            if self.scope == "domain":
                self.domain = min(max(self.domain + step, 0), idx.n_domains - 1)
            else:
                self._to_rack(self.rack + step)
        elif key in ("up", "down"):
            self._to_rack(self.rack + (-1 if key == "up" else 1) * self.row_racks)
        elif key == "t":
            self.scope = "domain" if self.scope == "rack" else "rack"
        elif key in _ACTIONS:
            return PlannedEvent(at=0.0, target=self.target(), action=_ACTIONS[key])
        elif key == "l" and self.cables:
            self.cable = (self.cable + 1) % len(self.cables)
        elif key in ("c", "u") and self.cables:
            return PlannedEvent(at=0.0, target=f"link:{self.cables[self.cable]}",
                                action="fail" if key == "c" else "restore")
        elif key == "p":
            at = POLICY_CYCLE.index(self.policy) if self.policy in POLICY_CYCLE else -1
            nxt = POLICY_CYCLE[(at + 1) % len(POLICY_CYCLE)]
            return PlannedEvent(at=0.0, target=SCHEDULER, action="policy", value=nxt)
        return None

    def status(self) -> str:
        """One line: the target under the cursor, the selected cable, the policy."""
        cable = self.cables[self.cable] if self.cables else "none"
        return f"target {self.target()}  cable {cable}  policy {self.policy}"
