"""Rack builder: GPUs, compute trays, CPUs and NVLink switch domains of one rack.

A GB200 NVL72 rack is 18 compute trays of 4 GPUs + 2 CPUs and one 72-GPU NVLink domain
(its 9 NVLink switch trays are one ``nvswitch`` node); an H100 HGX rack holds 4 nodes
("trays") of 8 GPUs, each node its own 8-GPU NVLink domain [catalog.py sources].
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from topologies.catalog import SystemSpec
from topologies.nodes import MEMBER, hw_node
from topologies.sizing import domain_gpus

__all__ = ["RackIds", "rack_graph"]


@dataclass(frozen=True)
class RackIds:
    """Site-local index of the first tray, GPU, CPU and NVLink domain of a rack."""

    rack: int = 0
    tray: int = 0
    gpu: int = 0
    cpu: int = 0
    domain: int = 0


def rack_graph(
    system: SystemSpec,
    *,
    site_id: int = 0,
    ids: RackIds | None = None,
    hall: str = "",
    nvlink_latency_s: float = 1e-6,
    graph: nx.Graph | None = None,
) -> nx.Graph:
    """Add one rack of ``system`` to ``graph`` (a new graph if ``None``) and return it.

    Parameters
    ----------
    system : SystemSpec
        Catalog system (possibly repackaged by :func:`topologies.sizing.effective_system`).
    site_id : int
        Site the rack belongs to (second element of every node id).
    ids : RackIds, optional
        Site-local index of the rack and of its first tray, GPU, CPU and NVLink domain.
    hall : str
        Hall name, stored on the rack node.
    nvlink_latency_s : float
        GPU-to-GPU one-way latency through the NVLink switch, s; each GPU–switch edge
        carries half of it.
    graph : networkx.Graph, optional
        Graph to add to.

    Returns
    -------
    networkx.Graph
        ``graph`` with nodes ``rack``, ``tray``, ``cpu``, ``gpu``, ``nvswitch``; GPU–NVLink
        switch edges have ``link="nvlink"``, ``bandwidth_bps`` (bit/s per direction) and
        ``latency_s``; containment edges have ``link="member"``.
    """
    g = nx.Graph() if graph is None else graph
    ids = ids or RackIds()
    rack = hw_node("rack", site_id, ids.rack)
    g.add_node(rack, kind="rack", site=site_id, index=ids.rack, hall=hall,
               system=system.name, power_full_w=system.rack_full_w)
    dom_size = domain_gpus(system)
    for d in range(system.gpus_per_rack // dom_size):
        sw = hw_node("nvswitch", site_id, ids.domain + d)
        g.add_node(sw, kind="nvswitch", site=site_id, index=ids.domain + d, rack=ids.rack,
                   gpus=dom_size)
        g.add_edge(sw, rack, link=MEMBER)
    nvlink_bps = system.gpu.nvlink_bw * 8.0
    for t in range(system.trays_per_rack):
        tray_i = ids.tray + t
        tray = hw_node("tray", site_id, tray_i)
        g.add_node(tray, kind="tray", site=site_id, index=tray_i, rack=ids.rack)
        g.add_edge(tray, rack, link=MEMBER)
        for c in range(system.cpus_per_tray):
            cpu_i = ids.cpu + t * system.cpus_per_tray + c
            cpu = hw_node("cpu", site_id, cpu_i)
            g.add_node(cpu, kind="cpu", site=site_id, index=cpu_i, tray=tray_i)
            g.add_edge(cpu, tray, link=MEMBER)
        for p in range(system.gpus_per_tray):
            slot = t * system.gpus_per_tray + p  # GPU number inside the rack
            gpu_i = ids.gpu + slot
            domain_i = ids.domain + slot // dom_size
            gpu = hw_node("gpu", site_id, gpu_i)
            g.add_node(gpu, kind="gpu", site=site_id, index=gpu_i, tray=tray_i, rack=ids.rack,
                       position=p, domain=domain_i)
            g.add_edge(gpu, tray, link=MEMBER)
            g.add_edge(gpu, hw_node("nvswitch", site_id, domain_i), link="nvlink",
                       bandwidth_bps=nvlink_bps, latency_s=nvlink_latency_s / 2)
    return g
