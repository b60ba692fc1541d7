"""Rail-optimised leaf/spine scale-out fabric of one site.

Rails: NIC ``p`` of every compute tray (the NIC next to GPU position ``p``) attaches to a
rail-``p`` leaf of the tray's pod, so same-position GPUs of a pod are one leaf hop apart
and cross-rail traffic first hops over NVLink (the rail-optimised compute fabric of NVIDIA's
DGX SuperPOD and Enterprise reference architectures; see ``docs/sources.md``). Leaf and spine
counts come from :mod:`topologies.sizing`.

Spines are modelled as ``P = min(u, S)`` *spine planes* (``u`` uplinks per leaf, ``S``
spine switches); every leaf spreads its ``u`` uplinks evenly over all planes, so any two
leaves of the site are two switch hops apart. When the site has at most ``radix`` leaves
(``S <= u``) each plane is exactly one spine switch, a true two-tier Clos. Larger sites
need more tiers in reality (a radix-64 two-tier fat tree tops out at 2,048 endpoints);
then a plane node stands for a spine block of ``switches`` switches and the graph keeps
its capacity and latency, not its internal wiring.
"""

from __future__ import annotations

import networkx as nx

from topologies.config import SiteConfig
from topologies.nodes import hw_node
from topologies.sizing import SiteSizing, size_site

__all__ = ["fabric_graph"]


def fabric_graph(
    site: SiteConfig,
    *,
    site_id: int = 0,
    sizing: SiteSizing | None = None,
    graph: nx.Graph | None = None,
) -> nx.Graph:
    """Add the leaves, spine planes and NIC/uplink edges of ``site`` to ``graph``.

    GPU nodes ``("gpu", site_id, i)`` are connected to their leaf (they are created here
    if absent, without attributes, so the fabric can be built on its own).

    Parameters
    ----------
    site : SiteConfig
        The site; ``site.fabric`` gives radix, oversubscription, pod size and latencies.
    site_id : int
        Site number used in node ids.
    sizing : SiteSizing, optional
        Precomputed :func:`topologies.sizing.size_site` result.
    graph : networkx.Graph, optional
        Graph to add to (usually one already holding the racks).

    Returns
    -------
    networkx.Graph
        Leaf nodes carry ``hall``, ``pod`` (site-local), ``rail``; spine nodes carry
        ``switches``. GPU–leaf edges: ``link="nic"``, ``bandwidth_bps`` = NIC rate,
        ``latency_s`` = leaf_latency / 2. Leaf–spine edges: ``link="uplink"``, ``links``
        (parallel cables), ``bandwidth_bps`` = links × port rate, ``latency_s`` =
        (spine_latency − leaf_latency) / 2, so a GPU→leaf→spine→leaf→GPU path adds up to
        ``spine_latency``.
    """
    g = nx.Graph() if graph is None else graph
    sz = sizing or size_site(site)
    fab = site.fabric
    down, up = sz.leaf_down, sz.leaf_up
    planes = sz.spine_planes
    for k in range(planes):
        switches = sz.spines // planes + (1 if k < sz.spines % planes else 0)
        g.add_node(hw_node("spine", site_id, k), kind="spine", site=site_id, index=k,
                   switches=switches)
    nic_latency = fab.leaf_latency / 2
    up_latency = (fab.spine_latency - fab.leaf_latency) / 2
    gpu0 = leaf0 = pod0 = 0
    for hall in sz.halls:
        system = hall.system
        gpt, tpr = system.gpus_per_tray, system.trays_per_rack
        rack_in_hall = 0
        for pod_racks, per_rail in zip(hall.pod_racks, hall.pod_leaves_per_rail, strict=True):
            for rail in range(gpt):
                for j in range(per_rail):
                    leaf_i = leaf0 + rail * per_rail + j
                    leaf = hw_node("leaf", site_id, leaf_i)
                    g.add_node(leaf, kind="leaf", site=site_id, index=leaf_i, hall=hall.name,
                               pod=pod0, rail=rail)
                    for k in range(planes):
                        links = up // planes + (1 if (k - leaf_i) % planes < up % planes else 0)
                        g.add_edge(leaf, hw_node("spine", site_id, k), link="uplink",
                                   links=links, bandwidth_bps=links * hall.nic_bps,
                                   latency_s=up_latency)
            for t in range(pod_racks * tpr):  # trays of this pod, in GPU-id order
                tray_gpu0 = gpu0 + (rack_in_hall * tpr + t) * gpt
                for p in range(gpt):
                    leaf_i = leaf0 + p * per_rail + t // down
                    gpu = hw_node("gpu", site_id, tray_gpu0 + p)
                    g.add_node(gpu, kind="gpu")  # merges with the rack builder's attributes
                    g.add_edge(gpu, hw_node("leaf", site_id, leaf_i), link="nic",
                               bandwidth_bps=hall.nic_bps, latency_s=nic_latency)
            rack_in_hall += pod_racks
            leaf0 += gpt * per_rail
            pod0 += 1
        gpu0 += hall.gpus
    return g
