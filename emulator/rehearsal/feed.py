"""The event feed: the last failures, repairs, drains, cuts and policy switches.

Folded from the event log's infrastructure events as they are appended (the log is the
only source): each call to :meth:`EventFeed.update` reads the rows added since the last.
"""

from __future__ import annotations

import math
from collections import deque

from emulator.eventlog import EventLog, Infra
from emulator.units import format_duration
from topologies.reliability import BANDWIDTH_LOSS, SCALE_OUT_LOSS

__all__ = ["EventFeed"]

_WORDS = {Infra.GPUS_DOWN: ("failed", "bold red"), Infra.GPUS_UP: ("repaired", "green"),
          Infra.FAILURE: ("failed", "bold red"), Infra.REPAIR: ("repaired", "green"),
          Infra.DRAIN: ("draining", "magenta"), Infra.UNDRAIN: ("drain ended", "green"),
          Infra.CABLE_CUT: ("cable cut", "bold red"), Infra.CABLE_REPAIR: ("cable repaired",
                                                                          "green"),
          Infra.POLICY: ("policy", "cyan")}

_INJECTED = ("fail", "drain", "restore")  # reasons written by the injector: "ACTION TARGET"


class EventFeed:
    """The last ``size`` feed lines as ``(text, style)``; RTT changes are left out."""

    def __init__(self, log: EventLog, size: int = 6) -> None:
        self.log = log
        self.lines: deque[tuple[str, str]] = deque(maxlen=size)
        self._seen = 0

    def update(self) -> None:
        """Fold the infrastructure events appended since the last call."""
        log = self.log
        end = len(log.infra_t)
        for row in range(self._seen, end):
            kind = Infra(log.infra_kind[row])
            if kind not in _WORDS:
                continue
            word, style = _WORDS[kind]
            label = log.reasons[log.infra_label[row]]
            value = log.infra_value[row]
            verb, _, rest = label.partition(" ")
            what = rest if verb in _INJECTED and rest else label  # "fail rack:…" → "rack:…"
            count = f" ({value:,.0f} GPUs)" if not math.isnan(value) else ""
            if kind == Infra.FAILURE and label in SCALE_OUT_LOSS:  # NIC, leaf switch
                count = f" ({value:,.0f} GPUs lose scale-out)"
            elif label in BANDWIDTH_LOSS:  # a spine switch: GPU-equivalents of bandwidth
                count = " (cross-pod bandwidth)"
            self.lines.append((f"{format_duration(log.infra_t[row])}  {word} {what}{count}",
                               style))
        self._seen = end
