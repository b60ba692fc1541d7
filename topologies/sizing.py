"""Sizing arithmetic shared by the graph builders, the index and the site summary.

Counts only (no graph, no per-GPU arrays): how many trays, NVLink domains, pods, leaves
and spines a hall or site has, and its full-load power. Keeping the formulas here means
the networkx graph and the dense index cannot drift apart.

Fabric sizing (rail-optimised, see :mod:`topologies.fabric`):

* a leaf of radix ``k`` with oversubscription ``o`` has ``d = floor(k·o/(1+o))`` GPU-facing
  downlinks and ``u = k - d`` spine-facing uplinks (``o = 1``, ``k = 64``: 32 + 32);
* a pod of ``R`` racks has ``T = R × trays_per_rack`` trays; each of its
  ``gpus_per_tray`` rails gets ``ceil(T / d)`` leaves, and tray ``t`` of the pod sends its
  GPU at position ``p`` to rail-``p`` leaf number ``t // d``;
* a site needs ``ceil(leaves × u / k)`` spine switches (every uplink lands on a spine port).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from topologies.catalog import SystemSpec, get_system
from topologies.config import FabricConfig, HallConfig, SiteConfig

__all__ = [
    "HallSizing",
    "SiteSizing",
    "effective_system",
    "leaf_ports",
    "size_hall",
    "size_site",
]


def effective_system(hall: HallConfig) -> SystemSpec:
    """The catalog system of ``hall``, repackaged if the hall overrides ``trays_per_rack``.

    The rack's non-GPU overhead (W) scales with the number of trays; the NVLink domain is
    clamped to the rack. The name gets a ``/N-per-rack`` suffix so the two never get confused.
    A ``generic`` hall becomes nodes of ``gpus_per_node`` GPUs, named
    ``generic/<gpu>-x<N>``, its domain the node (or one GPU without NVLink).
    """
    system = get_system(hall.system)
    if hall.gpus_per_node is not None:  # generic: one node per rack and tray
        n = hall.gpus_per_node
        gpu = system.gpu if hall.gpu is None else dataclasses.replace(system.gpu, name=hall.gpu)
        return dataclasses.replace(
            system, name=f"{system.name}/{hall.gpu or 'gpu'}-x{n}" + ("" if hall.nvlink
                                                                        else "-no-nvlink"),
            gpu=gpu, gpus_per_tray=n, trays_per_rack=1,
            nvlink_domain_gpus=n if hall.nvlink else 1)
    trays = hall.trays_per_rack
    if trays is None or trays == system.trays_per_rack:
        return system
    scale = trays / system.trays_per_rack
    return dataclasses.replace(
        system,
        name=f"{system.name}/{trays}-per-rack",
        trays_per_rack=trays,
        nvlink_domain_gpus=min(system.nvlink_domain_gpus, trays * system.gpus_per_tray),
        switch_trays_per_rack=math.ceil(system.switch_trays_per_rack * scale),
        rack_overhead_full_w=system.rack_overhead_full_w * scale,
        rack_overhead_idle_w=system.rack_overhead_idle_w * scale,
    )


def leaf_ports(fabric: FabricConfig) -> tuple[int, int]:
    """``(downlinks, uplinks)`` of one leaf switch (ports)."""
    o = fabric.oversubscription
    down = int(fabric.leaf_radix * o / (1.0 + o))
    return down, fabric.leaf_radix - down


def domain_gpus(system: SystemSpec) -> int:
    """GPUs per NVLink domain, clamped to the rack; must divide the rack's GPU count."""
    size = min(system.nvlink_domain_gpus, system.gpus_per_rack)
    if system.gpus_per_rack % size:
        raise ValueError(
            f"system {system.name!r}: NVLink domain of {size} GPUs does not divide a rack "
            f"of {system.gpus_per_rack}"
        )
    return size


@dataclass(frozen=True)
class HallSizing:
    """Counts for one hall. ``pod_racks[i]``/``pod_leaves_per_rail[i]`` describe pod ``i``."""

    name: str
    system: SystemSpec
    racks: int
    trays: int
    gpus: int
    cpus: int
    domains: int
    domain_gpus: int
    pod_racks: tuple[int, ...]
    pod_leaves_per_rail: tuple[int, ...]
    nic_bps: float

    @property
    def pods(self) -> int:
        """Number of pods in the hall."""
        return len(self.pod_racks)

    @property
    def rails(self) -> int:
        """Rails per pod (one per GPU position in a tray)."""
        return self.system.gpus_per_tray

    @property
    def leaves(self) -> int:
        """Leaf switches in the hall."""
        return self.rails * sum(self.pod_leaves_per_rail)

    @property
    def rack_full_w(self) -> float:
        """Power of one rack at full load, W."""
        return self.system.rack_full_w

    @property
    def it_full_w(self) -> float:
        """All racks at full load, W (fabric switches excluded)."""
        return self.racks * self.system.rack_full_w


@dataclass(frozen=True)
class SiteSizing:
    """Counts and full-load power for one site; ``halls`` in config order."""

    name: str
    halls: tuple[HallSizing, ...]
    leaf_down: int
    leaf_up: int
    spines: int
    switch_power_w: float

    @property
    def racks(self) -> int:
        """Racks in the site."""
        return sum(h.racks for h in self.halls)

    @property
    def gpus(self) -> int:
        """GPUs in the site."""
        return sum(h.gpus for h in self.halls)

    @property
    def trays(self) -> int:
        """Compute trays in the site."""
        return sum(h.trays for h in self.halls)

    @property
    def domains(self) -> int:
        """NVLink domains in the site."""
        return sum(h.domains for h in self.halls)

    @property
    def pods(self) -> int:
        """Pods in the site."""
        return sum(h.pods for h in self.halls)

    @property
    def leaves(self) -> int:
        """Leaf switches in the site."""
        return sum(h.leaves for h in self.halls)

    @property
    def spine_planes(self) -> int:
        """Spine nodes in the graph: ``min(leaf uplinks, spines)`` (see :mod:`fabric`)."""
        return min(self.leaf_up, self.spines)

    @property
    def fabric_w(self) -> float:
        """Leaf and spine switch power at full load, W (*estimate*)."""
        return (self.leaves + self.spines) * self.switch_power_w

    @property
    def it_full_w(self) -> float:
        """Nameplate IT load: racks at ``rack_full_w`` plus fabric switches, W (the design
        figure; a busy site draws less, see ``cupy_kernels.power.NODE_OVERHEAD_DRAW``)."""
        return sum(h.it_full_w for h in self.halls) + self.fabric_w


def size_hall(hall: HallConfig, fabric: FabricConfig) -> HallSizing:
    """Counts for ``hall`` under ``fabric``."""
    system = effective_system(hall)
    down, _ = leaf_ports(fabric)
    per_pod = fabric.racks_per_pod
    full, rest = divmod(hall.racks, per_pod)
    pod_racks = (per_pod,) * full + ((rest,) if rest else ())
    leaves_per_rail = tuple(math.ceil(r * system.trays_per_rack / down) for r in pod_racks)
    dom = domain_gpus(system)
    nic = fabric.nic_bandwidth if fabric.nic_bandwidth is not None else system.gpu.nic_bw * 8.0
    return HallSizing(
        name=hall.name,
        system=system,
        racks=hall.racks,
        trays=hall.racks * system.trays_per_rack,
        gpus=hall.racks * system.gpus_per_rack,
        cpus=hall.racks * system.trays_per_rack * system.cpus_per_tray,
        domains=hall.racks * system.gpus_per_rack // dom,
        domain_gpus=dom,
        pod_racks=pod_racks,
        pod_leaves_per_rail=leaves_per_rail,
        nic_bps=nic,
    )


def size_site(site: SiteConfig) -> SiteSizing:
    """Counts and full-load power for ``site``."""
    halls = tuple(size_hall(h, site.fabric) for h in site.halls)
    down, up = leaf_ports(site.fabric)
    leaves = sum(h.leaves for h in halls)
    spines = math.ceil(leaves * up / site.fabric.leaf_radix)
    return SiteSizing(
        name=site.name,
        halls=halls,
        leaf_down=down,
        leaf_up=up,
        spines=spines,
        switch_power_w=site.fabric.switch_power,
    )
