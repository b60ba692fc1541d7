"""Dense index arrays derived once from the topology graph.

Placement and the kernels index these arrays; they never walk the networkx graph per
event (DESIGN principle 3). Every array is indexed by a global id (GPU, rack, domain …)
that is contiguous from 0 across all sites of a scenario.

Communication tiers, slowest last: ``TIER_NVLINK`` (one NVLink domain), ``TIER_LEAF`` (one
pod: racks under the same rail-optimised leaf group, one leaf hop per rail), ``TIER_SPINE``
(one site, through the spine), ``TIER_WAN`` (several sites).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topologies.catalog import SystemSpec

__all__ = [
    "TIER_LEAF",
    "TIER_NAMES",
    "TIER_NVLINK",
    "TIER_SPINE",
    "TIER_WAN",
    "TopologyIndex",
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
