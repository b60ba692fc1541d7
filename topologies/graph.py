"""Composition of the topology graph: racks + fabric + gateway per site, WAN between sites.

The graph is the model of record for topology (DESIGN principle 3); hot paths use the
dense arrays of :func:`topologies.index.derive_index`, which number GPUs, trays, racks,
NVLink domains and leaves in the same order. Node ids are site-local
``(kind, site_id, index)``; :func:`build_graph` also stores the scenario-wide id as the
``gid`` attribute of ``gpu``, ``tray``, ``rack``, ``nvswitch`` and ``leaf`` nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from topologies.config import SiteConfig
from topologies.fabric import fabric_graph
from topologies.nodes import gateway_node, hw_node
from topologies.rack import RackIds, rack_graph
from topologies.sizing import size_site
from topologies.wan import wan_graph

__all__ = ["build_graph", "build_site_graph"]

_GID_KINDS = ("gpu", "tray", "rack", "nvswitch", "leaf")


def build_site_graph(
    site: SiteConfig, site_id: int = 0, *, graph: nx.Graph | None = None,
) -> nx.Graph:
    """Graph of one site: racks (GPUs, trays, CPUs, NVLink switches), fabric and gateway.

    Parameters
    ----------
    site : SiteConfig
        The site.
    site_id : int
        Site number used in node ids.
    graph : networkx.Graph, optional
        Graph to add to.

    Returns
    -------
    networkx.Graph
        See :mod:`topologies.nodes` for node ids and edge attributes. The gateway
        ``("gateway", site_id, 0)`` is joined to every spine plane by ``link="border"``
        edges sharing the site's total WAN capacity (bit/s). WAN edges are added by
        :func:`build_graph` / :func:`topologies.wan.wan_graph`.
    """
    g = nx.Graph() if graph is None else graph
    sz = size_site(site)
    ids = RackIds()
    for hall in sz.halls:
        system = hall.system
        for _ in range(hall.racks):
            rack_graph(system, site_id=site_id, ids=ids, hall=hall.name,
                       nvlink_latency_s=site.fabric.nvlink_latency, graph=g)
            ids = RackIds(
                rack=ids.rack + 1,
                tray=ids.tray + system.trays_per_rack,
                gpu=ids.gpu + system.gpus_per_rack,
                cpu=ids.cpu + system.trays_per_rack * system.cpus_per_tray,
                domain=ids.domain + system.gpus_per_rack // hall.domain_gpus,
            )
    fabric_graph(site, site_id=site_id, sizing=sz, graph=g)
    gw = gateway_node(site_id)
    g.add_node(gw, kind="gateway", site=site_id, name=site.name,
               lat=site.location.lat, lon=site.location.lon)
    wan_bps = sum(link.capacity_bps for link in site.wan)
    for k in range(sz.spine_planes):
        g.add_edge(hw_node("spine", site_id, k), gw, link="border",
                   bandwidth_bps=wan_bps / sz.spine_planes, latency_s=0.0)
    return g


def build_graph(sites: Sequence[SiteConfig]) -> nx.Graph:
    """Graph of every site plus the WAN (gateways, places, subsea/terrestrial links).

    Parameters
    ----------
    sites : sequence of SiteConfig
        Site ``i`` gets ``site_id = i``.

    Returns
    -------
    networkx.Graph
        Union of :func:`build_site_graph` for each site and
        :func:`topologies.wan.wan_graph`; hardware nodes carry ``gid``, their id in the
        scenario-wide dense index.
    """
    g = nx.Graph()
    offsets: list[dict[str, int]] = []
    running = dict.fromkeys(_GID_KINDS, 0)
    for i, site in enumerate(sites):
        build_site_graph(site, i, graph=g)
        offsets.append(dict(running))
        sz = size_site(site)
        for kind, count in (("gpu", sz.gpus), ("tray", sz.trays), ("rack", sz.racks),
                            ("nvswitch", sz.domains), ("leaf", sz.leaves)):
            running[kind] += count
    for node, data in g.nodes(data=True):
        kind = data.get("kind")
        if kind in running:
            data["gid"] = offsets[node[1]][kind] + data["index"]
    wan_graph(sites, graph=g)
    return g
