"""WAN/subsea links between site gateways and named places.

Each :class:`~topologies.config.WanLinkConfig` becomes one edge between the site's
gateway and a place, with ``length_m``, ``latency_s`` = length × 4.9 µs/km + overhead
(one way) and ``capacity_bps`` = fibre pairs × rate per pair × share. Latencies between
nodes are shortest paths on ``latency_s``, so removing an edge (a cable cut) reroutes
traffic over the remaining cables, or makes a place unreachable (``math.inf``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence

import networkx as nx

from topologies.config import SiteConfig, WanLinkConfig
from topologies.nodes import gateway_node, place_node
from topologies.places import FIBRE_S_PER_M, get_place

__all__ = [
    "cut_cable",
    "link_latency_s",
    "one_way_latency_s",
    "origin_rtt_s",
    "path_capacity_bps",
    "path_links",
    "wan_graph",
]


def link_latency_s(link: WanLinkConfig) -> float:
    """One-way latency of ``link``: propagation (4.9 µs/km) plus equipment overhead, s."""
    return link.length * FIBRE_S_PER_M + link.overhead


def wan_graph(sites: Sequence[SiteConfig], graph: nx.Graph | None = None) -> nx.Graph:
    """Graph of site gateways, places and the WAN links between them.

    Parameters
    ----------
    sites : sequence of SiteConfig
        Site ``i`` gets gateway node ``("gateway", i, 0)``.
    graph : networkx.Graph, optional
        Graph to add to.

    Returns
    -------
    networkx.Graph
        Gateway nodes (``kind="gateway"``, ``name``, ``lat``, ``lon``), place nodes
        (``kind="place"``, ``name``, ``lat``, ``lon``) and edges with ``link="wan"``,
        ``name`` (cable), ``length_m``, ``latency_s``, ``capacity_bps`` and
        ``bandwidth_bps`` (= capacity). Cables of one site to the same place share one
        edge: its ``cables`` attribute maps each cable name to its own figures, the edge
        takes the lowest latency (and that cable's length) and the summed capacity, and
        ``name`` joins the cable names with ``+``. :func:`cut_cable` removes one cable.
    """
    g = nx.Graph() if graph is None else graph
    for i, site in enumerate(sites):
        gw = gateway_node(i)
        g.add_node(gw, kind="gateway", site=i, name=site.name,
                   lat=site.location.lat, lon=site.location.lon)
        for link in site.wan:
            place = get_place(link.to)
            pn = place_node(place.name)
            g.add_node(pn, kind="place", name=place.name, lat=place.lat, lon=place.lon)
            cable = {"length_m": link.length, "latency_s": link_latency_s(link),
                     "capacity_bps": link.capacity_bps}
            if g.has_edge(gw, pn):  # parallel cables to the same place share one edge
                g.edges[gw, pn]["cables"][link.name] = cable
            else:
                g.add_edge(gw, pn, link="wan", cables={link.name: cable})
            _summarise(g.edges[gw, pn])
    return g


def _summarise(edge: dict) -> None:
    """Recompute an edge's summary attributes from its ``cables``."""
    cables = edge["cables"]
    fastest = min(cables.values(), key=lambda c: c["latency_s"])
    edge["name"] = "+".join(sorted(cables))
    edge["length_m"] = fastest["length_m"]
    edge["latency_s"] = fastest["latency_s"]
    edge["capacity_bps"] = sum(c["capacity_bps"] for c in cables.values())
    edge["bandwidth_bps"] = edge["capacity_bps"]


def cut_cable(graph: nx.Graph, cable: str) -> int:
    """Remove the cable named ``cable`` from every WAN edge of ``graph``, in place.

    An edge left with no cable is removed, so later latency queries reroute (or return
    ``math.inf``). Returns the number of edges the cable was removed from.
    """
    hits = [(u, v) for u, v, d in graph.edges(data=True)
            if d.get("link") == "wan" and cable in d["cables"]]
    for u, v in hits:
        edge = graph.edges[u, v]
        edge["cables"] = {k: c for k, c in edge["cables"].items() if k != cable}
        if edge["cables"]:
            _summarise(edge)
        else:
            graph.remove_edge(u, v)
    return len(hits)


def _resolve(graph: nx.Graph, name: str | Hashable) -> Hashable:
    """Node id for a site name, a place name, or a node id given as is."""
    if name in graph:
        return name
    if isinstance(name, str):
        for node, data in graph.nodes(data=True):
            if data.get("kind") == "gateway" and data.get("name") == name:
                return node
        if place_node(name) in graph:
            return place_node(name)
    raise KeyError(f"{name!r} is neither a site nor a place of this WAN graph")


def _wan_only(graph: nx.Graph) -> nx.Graph:
    def keep(u: Hashable, v: Hashable) -> bool:
        return graph.edges[u, v].get("link") == "wan"

    return nx.subgraph_view(graph, filter_edge=keep)


def one_way_latency_s(graph: nx.Graph, site: str | Hashable, place: str | Hashable) -> float:
    """Lowest one-way latency (s) from ``site`` to ``place`` over the WAN edges of ``graph``.

    ``site`` and ``place`` are site names, place names or node ids. Returns ``math.inf``
    when no path is left (e.g. after cable cuts removed the edges).

    Raises
    ------
    KeyError
        If a name is not in the graph.
    """
    src, dst = _resolve(graph, site), _resolve(graph, place)
    try:
        return float(nx.shortest_path_length(_wan_only(graph), src, dst, weight="latency_s"))
    except nx.NetworkXNoPath:
        return math.inf


def origin_rtt_s(graph: nx.Graph, site: str | Hashable, origin: str | Hashable) -> float:
    """Round-trip network time (s) for a request from ``origin`` (a place) to ``site``.

    Twice :func:`one_way_latency_s` (links are symmetric); ``math.inf`` if unreachable.
    """
    return 2.0 * one_way_latency_s(graph, site, origin)


def path_capacity_bps(graph: nx.Graph, source: str | Hashable, target: str | Hashable) -> float:
    """Bottleneck capacity (bit/s) of the lowest-latency WAN path; 0 if unreachable."""
    src, dst = _resolve(graph, source), _resolve(graph, target)
    view = _wan_only(graph)
    try:
        path = nx.shortest_path(view, src, dst, weight="latency_s")
    except nx.NetworkXNoPath:
        return 0.0
    if len(path) < 2:
        return math.inf
    return min(view.edges[a, b]["capacity_bps"] for a, b in itertools.pairwise(path))


def path_links(graph: nx.Graph, source: str | Hashable,
               target: str | Hashable) -> list[frozenset[Hashable]] | None:
    """The WAN edges (each as the set of its two nodes) of the lowest-latency path from
    ``source`` to ``target``: empty when they are one node, ``None`` if unreachable.

    Raises
    ------
    KeyError
        If a name is not in the graph.
    """
    src, dst = _resolve(graph, source), _resolve(graph, target)
    try:
        path = nx.shortest_path(_wan_only(graph), src, dst, weight="latency_s")
    except nx.NetworkXNoPath:
        return None
    return [frozenset((a, b)) for a, b in itertools.pairwise(path)]
