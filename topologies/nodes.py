"""Node ids and link kinds of the topology graph.

Hardware nodes are ``(kind, site_id, index)`` tuples where ``index`` counts from 0 within
the site (GPUs in hall → rack → tray → position order, the same order as the dense index);
places are ``("place", name)``. Every node also has a ``kind`` attribute.

Edges have a ``link`` attribute. ``"member"`` edges (GPU–tray, CPU–tray, tray–rack,
NVLink switch–rack) record containment and carry no traffic; data links (``"nvlink"``,
``"nic"``, ``"uplink"``, ``"border"``, ``"wan"``) carry ``bandwidth_bps`` (bit/s) and
``latency_s`` (s, one way). Route on :func:`data_links` so containment never shortcuts a path.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx

__all__ = [
    "DATA_LINKS",
    "KINDS",
    "MEMBER",
    "data_links",
    "gateway_node",
    "hw_node",
    "place_node",
]

KINDS = ("gpu", "tray", "cpu", "nvswitch", "rack", "leaf", "spine", "gateway", "place")
MEMBER = "member"
DATA_LINKS = ("nvlink", "nic", "uplink", "border", "wan")


def hw_node(kind: str, site_id: int, index: int) -> tuple[str, int, int]:
    """Id of hardware node number ``index`` of ``kind`` in site ``site_id``."""
    return (kind, site_id, index)


def gateway_node(site_id: int) -> tuple[str, int, int]:
    """Id of the WAN gateway of site ``site_id``."""
    return ("gateway", site_id, 0)


def place_node(name: str) -> tuple[str, str]:
    """Id of the place called ``name`` (lower case)."""
    return ("place", name.lower())


def data_links(graph: nx.Graph) -> nx.Graph:
    """Read-only view of ``graph`` without the ``"member"`` (containment) edges."""

    def keep(u: Hashable, v: Hashable) -> bool:
        return graph.edges[u, v].get("link") != MEMBER

    return nx.subgraph_view(graph, filter_edge=keep)
