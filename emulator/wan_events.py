"""Cable cuts: scheduled or random WAN link failures, and their repairs.

YAML (scenario level)::

    wan_events:
      cuts:                          # scheduled
        - {cable: medusa, at: 12h, repair: 6h}   # repair: time until fixed (omit: never)
      random:                        # alternating renewal process per cable, seeded
        cables: [medusa]             # default: every cable of the scenario
        rate: 1/30d                  # cuts per second while the cable is up
        repair: 24h                  # mean repair time (exponential)

:func:`wan_schedule` turns this into a time-ordered list of ``(t, "cut"|"repair", cable)``
once per run (random times from the named stream ``wan/cuts/<cable>``).
:class:`WanState` applies them to the WAN graph: a cut removes the cable
(:func:`topologies.wan.cut_cable`), a repair rebuilds the graph with the cables still
down removed, so latencies reroute over what is left, or become unreachable (``inf``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import networkx as nx
from pydantic import Field

from emulator.rng import RngStreams
from emulator.schema_base import ScenarioModel
from emulator.units import PerSecond, Seconds, format_adaptive_duration
from topologies.config import SiteConfig
from topologies.wan import cut_cable, wan_graph

_log = logging.getLogger(__name__)

__all__ = ["CableCut", "RandomCuts", "WanEvent", "WanEventsConfig", "WanState",
           "note_cuts_cut_off", "wan_schedule"]

WanEvent = tuple[float, str, str]
"""``(time s, "cut" or "repair", cable name)``."""


class _Frozen(ScenarioModel):
    """Frozen, unknown keys rejected, numbers finite, no true/false for numbers."""


class CableCut(_Frozen):
    """One scheduled cut of ``cable`` at ``at`` (s), repaired ``repair`` s later (or never)."""

    cable: str = Field(min_length=1, description="name of the WAN link that is cut (a site's "
                                                 "wan[].name)")
    at: Seconds = Field(ge=0, description="simulated time of the cut, e.g. 2d")
    repair: Seconds | None = Field(default=None, gt=0, description="time from the cut to the "
                                                                   "repair, e.g. 6h; none: never "
                                                                   "repaired within the run")


class RandomCuts(_Frozen):
    """Random cuts: per cable, up-times exponential with ``rate`` (per s), repair times
    exponential with mean ``repair`` (s); ``cables`` empty means every cable."""

    cables: list[str] = Field(default_factory=list, description="names of the WAN links that can "
                                                                "be cut; empty: every link")
    rate: PerSecond = Field(gt=0, description="cuts per cable per unit time (up-times are "
                                              "exponential), e.g. 1/30d")
    repair: Seconds = Field(default=86400.0, gt=0, description="mean repair time (exponential), "
                                                               "e.g. 1d")


class WanEventsConfig(_Frozen):
    """Scheduled and random cable cuts of a scenario."""

    cuts: list[CableCut] = Field(default_factory=list, description="cuts at given times")
    random: RandomCuts | None = Field(default=None, description="cuts at random times (seeded); "
                                                                "none: no random cuts")


def cable_names(sites: Sequence[SiteConfig]) -> list[str]:
    """Every WAN cable name of the scenario, sorted."""
    return sorted({link.name for s in sites for link in s.wan})


def note_cuts_cut_off(events: Sequence[WanEvent], end_s: float, duration_s: float) -> None:
    """A note for the cable cuts of ``events`` that a run stopped early (``--until``) at
    ``end_s`` does not reach, though they fall within the scenario's ``duration_s`` (s);
    those at or after the duration got theirs from :func:`wan_schedule`."""
    cut = sorted((t, cable) for t, kind, cable in events
                 if kind == "cut" and end_s <= t < duration_s)
    if cut:
        _log.info("wan_events: %d cable cut(s) at or after the end of the run (%s, --until) "
                  "are not applied (the first: %s at %s)", len(cut),
                  format_adaptive_duration(end_s), cut[0][1], format_adaptive_duration(cut[0][0]))


def wan_schedule(cfg: WanEventsConfig, sites: Sequence[SiteConfig], horizon_s: float,
                 streams: RngStreams) -> list[WanEvent]:
    """Time-ordered cut/repair events within ``[0, horizon_s)``.

    Raises
    ------
    ValueError
        A cable that no site has (the message lists the known ones).
    """
    known = cable_names(sites)
    events: list[WanEvent] = []
    for i, cut in enumerate(cfg.cuts):
        if cut.cable not in known:
            raise ValueError(f"wan_events.cuts.{i}.cable: unknown cable {cut.cable!r}; "
                             f"cables of this scenario: {', '.join(known) or 'none'}")
        if cut.at >= horizon_s:  # legitimate, but not applied: say so, as for trace rows
            _log.info("wan_events.cuts.%d: the cut of %s at %s is at or after the end of the "
                      "run (%s); not applied", i, cut.cable, format_adaptive_duration(cut.at),
                      format_adaptive_duration(horizon_s))
        events.append((cut.at, "cut", cut.cable))
        if cut.repair is not None:
            events.append((cut.at + cut.repair, "repair", cut.cable))
    if cfg.random is not None:
        chosen = cfg.random.cables or known
        for cable in chosen:
            if cable not in known:
                raise ValueError(f"wan_events.random.cables: unknown cable {cable!r}; "
                                 f"cables of this scenario: {', '.join(known) or 'none'}")
        for cable in sorted(chosen):
            rng = streams.stream(f"wan/cuts/{cable}")
            t = float(rng.exponential(1.0 / cfg.random.rate))
            while t < horizon_s:
                down = float(rng.exponential(cfg.random.repair))
                events.append((t, "cut", cable))
                events.append((t + down, "repair", cable))
                t += down + float(rng.exponential(1.0 / cfg.random.rate))
    events = [e for e in events if e[0] < horizon_s]
    order = {"cut": 0, "repair": 1}
    return sorted(events, key=lambda e: (e[0], e[2], order[e[1]]))


class WanState:
    """The live WAN graph and which cables are down (a cable cut twice needs two repairs)."""

    def __init__(self, sites: Sequence[SiteConfig], graph: nx.Graph) -> None:
        self.sites = list(sites)
        self.graph = graph
        self.down: dict[str, int] = {}

    def is_down(self, cable: str) -> bool:
        """Whether ``cable`` is cut now (by at least one cut not yet repaired)."""
        return self.down.get(cable, 0) > 0

    def apply(self, kind: str, cable: str) -> bool:
        """Apply one event to the graph in place; ``True`` if the topology changed."""
        before = self.down.get(cable, 0)
        if kind == "cut":
            self.down[cable] = before + 1
            if before == 0:
                cut_cable(self.graph, cable)
                return True
            return False
        if before == 0:
            return False
        self.down[cable] = before - 1
        if self.down[cable] > 0:
            return False
        del self.down[cable]
        fresh = wan_graph(self.sites)
        for name in sorted(self.down):
            cut_cable(fresh, name)
        self.graph.clear()
        self.graph.update(fresh)
        return True
