"""Plain-data summary of a site for the CLI (``gpuemu topology PRESET``) and reports.

Everything is computed from the config with :mod:`topologies.sizing`; no graph is built.
Power figures are W (the CLI formats them); the facility figure is IT × PUE.
"""

from __future__ import annotations

from dataclasses import dataclass

from topologies.config import SiteConfig
from topologies.sizing import size_site
from topologies.wan import link_latency_s

__all__ = ["HallSummary", "SiteSummary", "WanLinkSummary", "describe_site", "site_power_budget_ok"]


@dataclass(frozen=True)
class HallSummary:
    """One hall: system, racks, GPUs, full-load rack power (W) and cooling."""

    name: str
    system: str
    racks: int
    gpus: int
    rack_full_w: float
    cooling: str


@dataclass(frozen=True)
class WanLinkSummary:
    """One WAN link: length (m), one-way latency (s), capacity for the site (bit/s)."""

    name: str
    to: str
    length_m: float
    one_way_latency_s: float
    capacity_bps: float


@dataclass(frozen=True)
class SiteSummary:
    """Counts and power envelope of a site; power in W, ``headroom_w`` = grid − facility."""

    name: str
    country: str
    city: str
    cooling: str
    pue: float
    racks: int
    gpus: int
    gpus_by_system: dict[str, int]
    trays: int
    cpus: int
    nvlink_domains: int
    pods: int
    leaves: int
    spines: int
    racks_full_w: float
    fabric_w: float
    it_full_w: float
    facility_full_w: float
    grid_connection_w: float
    headroom_w: float
    halls: tuple[HallSummary, ...]
    wan: tuple[WanLinkSummary, ...]
    sources: tuple[str, ...]

    @property
    def it_mw(self) -> float:
        """IT load at full utilisation by the nameplate (the design figure halls and the grid
        connection are sized by; a busy site draws less, see ``NODE_OVERHEAD_DRAW``), MW."""
        return self.it_full_w / 1e6

    @property
    def facility_mw(self) -> float:
        """Design facility load: nameplate IT load × PUE, MW."""
        return self.facility_full_w / 1e6

    @property
    def within_budget(self) -> bool:
        """Whether the design (nameplate) facility load fits the grid connection."""
        return self.headroom_w >= 0.0


def describe_site(site: SiteConfig) -> SiteSummary:
    """Summary of ``site``: counts, IT and facility power at full load, WAN links.

    IT load = racks at ``rack_full_w`` (catalog) + leaf and spine switches at
    ``fabric.switch_power`` (*estimate*); facility load = IT × PUE.
    """
    sz = size_site(site)
    by_system: dict[str, int] = {}
    for h in sz.halls:
        by_system[h.system.name] = by_system.get(h.system.name, 0) + h.gpus
    racks_w = sum(h.it_full_w for h in sz.halls)
    it_w = sz.it_full_w
    facility_w = it_w * site.pue
    cooling = {h.name: h.system.cooling for h in sz.halls}
    return SiteSummary(
        name=site.name,
        country=site.country,
        city=site.city,
        cooling=site.cooling,
        pue=site.pue,
        racks=sz.racks,
        gpus=sz.gpus,
        gpus_by_system=by_system,
        trays=sz.trays,
        cpus=sum(h.cpus for h in sz.halls),
        nvlink_domains=sz.domains,
        pods=sz.pods,
        leaves=sz.leaves,
        spines=sz.spines,
        racks_full_w=racks_w,
        fabric_w=sz.fabric_w,
        it_full_w=it_w,
        facility_full_w=facility_w,
        grid_connection_w=site.grid_connection,
        headroom_w=site.grid_connection - facility_w,
        halls=tuple(
            HallSummary(h.name, h.system.name, h.racks, h.gpus, h.rack_full_w, cooling[h.name])
            for h in sz.halls
        ),
        wan=tuple(
            WanLinkSummary(w.name, w.to, w.length, link_latency_s(w), w.capacity_bps)
            for w in site.wan
        ),
        sources=tuple(site.sources),
    )


def site_power_budget_ok(site: SiteConfig) -> bool:
    """True if the nameplate IT load × PUE fits ``site.grid_connection``."""
    return describe_site(site).within_budget
