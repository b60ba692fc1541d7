"""Dense index arrays derived once from the site configs (same numbering as the graph).

Placement and the kernels index these arrays; they never walk the networkx graph per
event (DESIGN principle 3). Every array is indexed by a global id (GPU, rack, domain …)
that is contiguous from 0 across all sites of a scenario.

Communication tiers, slowest last: ``TIER_NVLINK`` (one NVLink domain), ``TIER_LEAF`` (one
pod: racks under the same rail-optimised leaf group, one leaf hop per rail), ``TIER_SPINE``
(one site, through the spine), ``TIER_WAN`` (several sites).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from topologies.catalog import SystemSpec
from topologies.config import SiteConfig
from topologies.nodes import gateway_node
from topologies.sizing import SiteSizing, size_site
from topologies.wan import link_latency_s, one_way_latency_s, path_capacity_bps, wan_graph

__all__ = [
    "TIER_LEAF",
    "TIER_NAMES",
    "TIER_NVLINK",
    "TIER_SPINE",
    "TIER_WAN",
    "TopologyIndex",
    "derive_index",
]

TIER_NVLINK = 0
TIER_LEAF = 1
TIER_SPINE = 2
TIER_WAN = 3
TIER_NAMES = ("nvlink", "leaf", "spine", "wan")


@dataclass(frozen=True, eq=False)
class TopologyIndex:
    """GPU → tray → rack → NVLink domain → leaf → pod → site, as int32 arrays.

    Per-GPU arrays have length ``n_gpus``; per-rack arrays length ``n_racks``, and so on.
    ``systems[rack_system[r]]`` is rack ``r``'s :class:`SystemSpec`.

    Bandwidths are bytes/s per GPU per direction for the tier a collective crosses:
    ``gpu_nvlink_bw`` inside the NVLink domain, ``gpu_nic_bw`` through the leaf,
    ``site_spine_bw_per_gpu[site]`` through the spine (NIC rate divided by the leaf→spine
    oversubscription), ``wan_bw_per_gpu`` between sites. ``tier_latency_s`` is the per-hop
    latency (alpha) of each tier in seconds.
    """

    n_gpus: int
    gpu_tray: np.ndarray
    gpu_rack: np.ndarray
    gpu_domain: np.ndarray
    gpu_leaf: np.ndarray
    gpu_pod: np.ndarray
    gpu_site: np.ndarray
    rack_system: np.ndarray
    rack_site: np.ndarray
    rack_hall: np.ndarray
    domain_rack: np.ndarray
    domain_size: np.ndarray
    leaf_pod: np.ndarray
    pod_site: np.ndarray
    systems: tuple[SystemSpec, ...]
    site_names: tuple[str, ...]
    hall_names: tuple[str, ...]
    gpu_nvlink_bw: np.ndarray
    gpu_nic_bw: np.ndarray
    site_spine_bw_per_gpu: np.ndarray
    wan_bw_per_gpu: float
    tier_latency_s: np.ndarray

    @property
    def n_racks(self) -> int:
        """Number of racks across all sites."""
        return int(self.rack_system.shape[0])

    @property
    def n_domains(self) -> int:
        """Number of NVLink domains across all sites."""
        return int(self.domain_size.shape[0])

    @property
    def n_leaves(self) -> int:
        """Number of leaf switches across all sites."""
        return int(self.leaf_pod.shape[0])

    @property
    def n_pods(self) -> int:
        """Number of pods (rail groups under one leaf layer) across all sites."""
        return int(self.pod_site.shape[0])

    @cached_property
    def domain_pod(self) -> np.ndarray:
        """The pod of each NVLink domain (computed once; placement reads it every call)."""
        return self.gpu_pod[np.searchsorted(self.gpu_domain, np.arange(self.n_domains))]

    @cached_property
    def domain_site(self) -> np.ndarray:
        """The site of each NVLink domain (computed once)."""
        return self.gpu_site[np.searchsorted(self.gpu_domain, np.arange(self.n_domains))]

    def slowest_tier(self, gpus: np.ndarray) -> int:
        """The slowest tier a collective over ``gpus`` must cross (a ``TIER_*`` constant)."""
        if gpus.size == 0:
            return TIER_NVLINK
        for tier, arr in ((TIER_NVLINK, self.gpu_domain), (TIER_LEAF, self.gpu_pod),
                          (TIER_SPINE, self.gpu_site)):
            sel = arr[gpus]
            if sel.min() == sel.max():
                return tier
        return TIER_WAN


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.shape[0], dtype=np.int64)
    np.cumsum(values[:-1], out=out[1:])
    return out


def derive_index(sites: Sequence[SiteConfig]) -> TopologyIndex:
    """Dense index arrays for ``sites``, computed from the configs with numpy arithmetic.

    The numbering matches :func:`topologies.graph.build_graph` (``gid`` attributes):
    sites in order, then halls, racks, trays and GPU positions; leaves by pod, then rail,
    then leaf within the rail. No graph is built, so a 270k-GPU campus takes about a second.

    Parameters
    ----------
    sites : sequence of SiteConfig
        The scenario's sites; ids are contiguous from 0 across them.

    Returns
    -------
    TopologyIndex
        Bandwidths in bytes/s per GPU per direction: ``gpu_nvlink_bw`` from the catalog,
        ``gpu_nic_bw`` from the fabric's ``nic_bandwidth`` or the catalog,
        ``site_spine_bw_per_gpu[s]`` = the site's lowest NIC rate / oversubscription.
        ``wan_bw_per_gpu``: with several sites, the lowest over site pairs of the
        bottleneck WAN capacity on their lowest-latency path divided by the GPU count of
        the smaller site of the pair (every GPU of a cross-site job sending at once); with
        one site, its total WAN capacity divided by its GPUs. It is never below 1 B/s, so
        it can divide. ``tier_latency_s`` = [nvlink, leaf, spine, wan] one-way alphas, s:
        the largest value over sites for the first three; ``wan`` = spine latency + the
        largest gateway-to-gateway WAN latency over site pairs (with one site: + its
        nearest place; ``inf`` if two sites are cut off from each other).
    """
    if not sites:
        raise ValueError("derive_index needs at least one site")
    sizings = [size_site(s) for s in sites]
    systems: list[SystemSpec] = []
    system_ids: dict[str, int] = {}
    hall_names: list[str] = []
    gpu_parts: dict[str, list[np.ndarray]] = {k: [] for k in (
        "tray", "rack", "domain", "leaf", "pod", "site", "nvlink", "nic")}
    rack_parts: dict[str, list[np.ndarray]] = {"system": [], "site": [], "hall": []}
    domain_rack: list[np.ndarray] = []
    domain_size: list[np.ndarray] = []
    leaf_pod: list[np.ndarray] = []
    pod_site: list[np.ndarray] = []
    spine_bw = np.zeros(len(sites), dtype=np.float64)
    off = dict.fromkeys(("gpu", "tray", "rack", "domain", "leaf", "pod"), 0)

    for s, (site, sz) in enumerate(zip(sites, sizings, strict=True)):
        spine_bw[s] = min(h.nic_bps for h in sz.halls) / 8.0 / site.fabric.oversubscription
        for hall in sz.halls:
            system = hall.system
            if system.name not in system_ids:
                system_ids[system.name] = len(systems)
                systems.append(system)
            hall_id = len(hall_names)
            hall_names.append(f"{site.name}/{hall.name}")
            gpt, tpr, gpr = system.gpus_per_tray, system.trays_per_rack, system.gpus_per_rack
            g = np.arange(hall.gpus, dtype=np.int64)
            rack_in_hall = g // gpr
            tray_in_hall = g // gpt
            pos = g % gpt
            pod_racks = np.asarray(hall.pod_racks, dtype=np.int64)
            per_rail = np.asarray(hall.pod_leaves_per_rail, dtype=np.int64)
            pod_first_rack = _exclusive_cumsum(pod_racks)
            pod_first_leaf = _exclusive_cumsum(gpt * per_rail)
            pod = rack_in_hall // site.fabric.racks_per_pod
            tray_in_pod = tray_in_hall - pod_first_rack[pod] * tpr
            leaf = pod_first_leaf[pod] + pos * per_rail[pod] + tray_in_pod // sz.leaf_down

            gpu_parts["tray"].append(tray_in_hall + off["tray"])
            gpu_parts["rack"].append(rack_in_hall + off["rack"])
            gpu_parts["domain"].append(g // hall.domain_gpus + off["domain"])
            gpu_parts["leaf"].append(leaf + off["leaf"])
            gpu_parts["pod"].append(pod + off["pod"])
            gpu_parts["site"].append(np.full(hall.gpus, s, dtype=np.int64))
            gpu_parts["nvlink"].append(np.full(hall.gpus, system.gpu.nvlink_bw))
            gpu_parts["nic"].append(np.full(hall.gpus, hall.nic_bps / 8.0))
            rack_parts["system"].append(np.full(hall.racks, system_ids[system.name]))
            rack_parts["site"].append(np.full(hall.racks, s))
            rack_parts["hall"].append(np.full(hall.racks, hall_id))
            d = np.arange(hall.domains, dtype=np.int64)
            domain_rack.append(d * hall.domain_gpus // gpr + off["rack"])
            domain_size.append(np.full(hall.domains, hall.domain_gpus))
            leaf_pod.append(np.repeat(np.arange(hall.pods) + off["pod"], gpt * per_rail))
            pod_site.append(np.full(hall.pods, s))
            for key, count in (("gpu", hall.gpus), ("tray", hall.trays), ("rack", hall.racks),
                               ("domain", hall.domains), ("leaf", hall.leaves),
                               ("pod", hall.pods)):
                off[key] += count

    def cat(parts: list[np.ndarray], dtype: type = np.int32) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False)

    wan_bw, wan_latency = _wan_figures(sites, sizings)
    fabrics = [s.fabric for s in sites]
    spine_latency = max(f.spine_latency for f in fabrics)
    tier_latency = np.array([
        max(f.nvlink_latency for f in fabrics),
        max(f.leaf_latency for f in fabrics),
        spine_latency,
        spine_latency + wan_latency,
    ], dtype=np.float64)
    return TopologyIndex(
        n_gpus=off["gpu"],
        gpu_tray=cat(gpu_parts["tray"]),
        gpu_rack=cat(gpu_parts["rack"]),
        gpu_domain=cat(gpu_parts["domain"]),
        gpu_leaf=cat(gpu_parts["leaf"]),
        gpu_pod=cat(gpu_parts["pod"]),
        gpu_site=cat(gpu_parts["site"]),
        rack_system=cat(rack_parts["system"]),
        rack_site=cat(rack_parts["site"]),
        rack_hall=cat(rack_parts["hall"]),
        domain_rack=cat(domain_rack),
        domain_size=cat(domain_size),
        leaf_pod=cat(leaf_pod),
        pod_site=cat(pod_site),
        systems=tuple(systems),
        site_names=tuple(s.name for s in sites),
        hall_names=tuple(hall_names),
        gpu_nvlink_bw=cat(gpu_parts["nvlink"], np.float64),
        gpu_nic_bw=cat(gpu_parts["nic"], np.float64),
        site_spine_bw_per_gpu=spine_bw,
        wan_bw_per_gpu=wan_bw,
        tier_latency_s=tier_latency,
    )


_MIN_WAN_BW = 1.0  # bytes/s: keeps wan_bw_per_gpu a valid divisor


def _wan_figures(sites: Sequence[SiteConfig], sizings: Sequence[SiteSizing]) -> tuple[float, float]:
    """``(wan_bw_per_gpu in bytes/s, WAN one-way latency in s)``, see :func:`derive_index`."""
    if len(sites) == 1:
        site, sz = sites[0], sizings[0]
        capacity = sum(link.capacity_bps for link in site.wan) / 8.0
        latency = min((link_latency_s(link) for link in site.wan), default=0.0)
        return max(capacity / sz.gpus, _MIN_WAN_BW), latency
    graph = wan_graph(sites)
    bw, latency = math.inf, 0.0
    for a, b in itertools.combinations(range(len(sites)), 2):
        capacity = path_capacity_bps(graph, gateway_node(a), gateway_node(b)) / 8.0
        bw = min(bw, capacity / min(sizings[a].gpus, sizings[b].gpus))
        latency = max(latency, one_way_latency_s(graph, gateway_node(a), gateway_node(b)))
    return max(bw, _MIN_WAN_BW), latency
