"""Site configuration models (pydantic v2, frozen, unknown keys rejected).

A :class:`SiteConfig` is pure data: halls of racks of one catalog system each, the
rail-optimised scale-out fabric, the WAN links to named places and the facility's power
envelope. Quantities accept human units at the edges (``"20MW"``, ``"1050km"``,
``"400Gbps"``, ``"3us"``) and are stored in SI (W, m, bit/s, s). Building a config has no
side effects; a bad value fails with pydantic's message naming the field path and value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, field_validator, model_validator

from emulator.schema_base import Label, ScenarioModel, field_error
from emulator.units import BitsPerSecond, Meters, Seconds, Watts
from topologies.catalog import CATALOG
from topologies.energy import COOLING_DEFAULTS, GRID_CARBON_G_PER_KWH, EnergyConfig
from topologies.failure_config import FailuresConfig
from topologies.places import PLACES

__all__ = [
    "FabricConfig",
    "HallConfig",
    "Location",
    "SiteConfig",
    "WanLinkConfig",
]


MAX_RACKS = 100_000
"""Most racks in one hall (a 500 MW campus has a few thousand); more is a typo."""
MAX_TRAYS_PER_RACK = 64
"""Most compute trays in one rack."""
MAX_GPUS_PER_NODE = 100_000
"""Most GPUs in one node of a generic system (the largest NVLink domains hold hundreds);
more overflows the GPU numbering even under ``--force``."""
MAX_SWITCH_PORTS = 100_000
"""Most ports on one leaf or spine switch, and the largest leaf oversubscription (real
switches have at most a few hundred ports); beyond it the fabric's integer arithmetic
would overflow."""


class _Frozen(ScenarioModel):
    """Frozen, unknown keys rejected, numbers finite (see :mod:`emulator.schema_base`)."""


class Location(_Frozen):
    """WGS84 coordinates in degrees."""

    lat: float = Field(ge=-90.0, le=90.0, description="latitude, degrees north (WGS84)")
    lon: float = Field(ge=-180.0, le=180.0, description="longitude, degrees east (WGS84)")


def _hall_schema_nodes(schema: dict[str, Any]) -> None:
    """The JSON Schema of a hall also names ``nodes``, which a generic hall may give
    instead of ``racks`` (see :meth:`HallConfig._nodes_are_racks`)."""
    schema["properties"]["nodes"] = {
        "type": "integer", "exclusiveMinimum": 0, "maximum": MAX_RACKS,
        "description": "generic system: number of nodes, each its own rack (instead of racks)"}
    schema.pop("required", None)
    schema["required"] = ["name", "system"]
    schema["oneOf"] = [{"required": ["racks"]}, {"required": ["nodes"]}]


class HallConfig(_Frozen):
    """One data hall: ``racks`` racks of the catalog system ``system``.

    ``trays_per_rack`` optionally packs fewer (or more) compute trays per rack than the
    catalog system does, e.g. one DGX H100 node per rack in a low-density air-cooled hall.
    The rack's non-GPU overhead power then scales per tray (see
    :func:`topologies.sizing.effective_system`).

    The ``generic`` system (trace replay with durations as given) is sized by
    ``gpus_per_node`` and ``nodes`` (any counts; ``nodes`` is accepted for ``racks``),
    with node-local NVLink unless ``nvlink: false`` and an optional GPU type name ``gpu``.
    """

    model_config = ConfigDict(json_schema_extra=_hall_schema_nodes)

    name: Label = Field(description="hall name, unique within the site")
    system: str = Field(description="catalog rack system of every rack in the hall, e.g. "
                                    "gb200-nvl72, or generic")
    # ``nodes`` is read as this field (an alias, not a rename before validation), so an
    # error in a hall that says ``nodes`` names ``nodes``.
    racks: int = Field(gt=0, le=MAX_RACKS, validation_alias=AliasChoices("racks", "nodes"),
                       description="number of racks (generic system: nodes; "
                                   "'nodes' is accepted as this field)")
    trays_per_rack: int | None = Field(
        default=None, gt=0, le=MAX_TRAYS_PER_RACK, description="compute trays per rack when not "
                                                               "the catalog system's count (whole "
                                                               "NVLink domains only)")
    gpus_per_node: int | None = Field(
        default=None, gt=0, le=MAX_GPUS_PER_NODE,
        description="generic system only: GPUs in one node")
    nvlink: bool = Field(
        default=True, description="generic system only: a node's GPUs share an NVLink domain")
    gpu: str | None = Field(
        default=None, min_length=1,
        description="generic system only: the GPU type's name (e.g. v100), for per-type "
                    "throughput tables")

    @model_validator(mode="before")
    @classmethod
    def _nodes_are_racks(cls, data: object) -> object:
        """A generic hall says ``nodes``: each node is its own rack (and tray); read as
        ``racks`` by the field's alias, never both."""
        if isinstance(data, dict) and "nodes" in data and "racks" in data:
            raise ValueError("give either 'nodes' or 'racks', not both")
        return data

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        if value not in CATALOG:
            known = ", ".join(sorted(CATALOG))
            raise ValueError(f"unknown system {value!r}; expected one of: {known}")
        return value

    @model_validator(mode="after")
    def _generic_fields(self) -> HallConfig:
        if self.system == "generic":
            if self.gpus_per_node is None:
                raise ValueError("system 'generic' needs gpus_per_node (GPUs per node)")
            if self.trays_per_rack is not None:
                raise ValueError("system 'generic' takes gpus_per_node and nodes, not "
                                 "trays_per_rack")
        elif self.gpus_per_node is not None or self.gpu is not None or not self.nvlink:
            raise ValueError(f"gpus_per_node, gpu and nvlink apply to system 'generic' only, "
                             f"not {self.system!r}")
        return self

    @model_validator(mode="after")
    def _whole_domains(self) -> HallConfig:
        """A rack's GPUs must split into whole NVLink domains (clamped to the rack)."""
        if self.trays_per_rack is None:
            return self
        spec = CATALOG[self.system]
        gpus = self.trays_per_rack * spec.gpus_per_tray
        domain = min(spec.nvlink_domain_gpus, gpus)
        if gpus % domain:
            fits = [t for t in range(1, MAX_TRAYS_PER_RACK + 1)
                    if (t * spec.gpus_per_tray) % min(spec.nvlink_domain_gpus,
                                                      t * spec.gpus_per_tray) == 0]
            fits = sorted(sorted(fits, key=lambda t: abs(t - self.trays_per_rack))[:2])
            raise ValueError(
                f"got trays_per_rack {self.trays_per_rack}; its {gpus} GPUs are not whole "
                f"NVLink domains of {domain} GPUs ({self.system}); expected e.g. "
                f"{' or '.join(map(str, fits))}")
        return self


class FabricConfig(_Frozen):
    """Rail-optimised leaf/spine scale-out fabric of a site.

    Attributes
    ----------
    kind
        Only ``"rail-optimised"``: NIC ``p`` of every tray goes to a rail-``p`` leaf of its pod.
    leaf_radix
        Ports per leaf and spine switch (64 for Quantum-2 at 400 Gb/s: NVIDIA Quantum-2
        QM9700 datasheet, 2022).
    oversubscription
        Leaf downlinks : uplinks ratio, >= 1 (1.0 is non-blocking). Also accepted as
        ``leaf_uplink_ratio``.
    racks_per_pod
        Racks per pod (scalable unit) sharing one set of rail leaves.
    nic_bandwidth
        Scale-out NIC rate per GPU in bit/s; ``None`` takes the catalog GPU's NIC rate.
    switch_power
        Power of one leaf or spine switch including its optics, W. *Estimate* (1.5 kW for a
        64-port 400 Gb/s switch with transceivers); used for the facility power budget.
    nvlink_latency, leaf_latency, spine_latency
        One-way GPU-to-GPU latency (s) of a transfer that stays inside the NVLink domain,
        crosses one leaf, or crosses the spine. *Estimates* (≈1 µs, 3 µs, 6 µs) including
        NIC and software overhead; override with measurements.
    """

    kind: Literal["rail-optimised"] = Field(
        default="rail-optimised", description="fabric topology; only rail-optimised: NIC p of "
                                              "every tray goes to a rail-p leaf of its pod")
    leaf_radix: int = Field(default=64, ge=4, le=MAX_SWITCH_PORTS,
                            description="ports per leaf and spine switch (64 for Quantum-2 "
                                        "QM9700 at 400 Gb/s)")
    oversubscription: float = Field(
        default=1.0, ge=1.0, le=MAX_SWITCH_PORTS,
        validation_alias=AliasChoices("oversubscription", "leaf_uplink_ratio"),
        description="leaf downlinks : uplinks ratio, >= 1 (1 is non-blocking); also accepted as "
                    "leaf_uplink_ratio")
    racks_per_pod: int = Field(default=16, gt=0, le=MAX_RACKS,
                               description="racks per pod (scalable unit) sharing one set of "
                                           "rail leaves")
    nic_bandwidth: BitsPerSecond | None = Field(
        default=None, gt=0, description="scale-out NIC rate per GPU, e.g. 400Gbps; none: the "
                                        "catalog GPU's NIC rate")
    switch_power: Watts = Field(default=1500.0, ge=0, description="power of one leaf or spine "
                                                                  "switch with its optics, e.g. "
                                                                  "1.5kW (estimate; for the "
                                                                  "facility power budget)")
    nvlink_latency: Seconds = Field(default=1e-6, ge=0, description="one-way GPU-to-GPU latency "
                                                                    "inside an NVLink domain, e.g."
                                                                    " 1us (estimate incl. NIC and "
                                                                    "software)")
    leaf_latency: Seconds = Field(default=3e-6, ge=0, description="one-way GPU-to-GPU latency "
                                                                  "through one leaf switch, e.g. "
                                                                  "3us (estimate)")
    spine_latency: Seconds = Field(default=6e-6, ge=0, description="one-way GPU-to-GPU latency "
                                                                   "through the spine, e.g. 6us "
                                                                   "(estimate)")

    @model_validator(mode="after")
    def _ordered_latencies(self) -> FabricConfig:
        if not self.nvlink_latency <= self.leaf_latency <= self.spine_latency:
            raise ValueError(
                "latencies must satisfy nvlink_latency <= leaf_latency <= spine_latency, got "
                f"{self.nvlink_latency!r} / {self.leaf_latency!r} / {self.spine_latency!r} s"
            )
        downlinks = int(self.leaf_radix * self.oversubscription / (1.0 + self.oversubscription))
        if downlinks >= self.leaf_radix:
            raise ValueError(
                f"oversubscription {self.oversubscription!r} leaves no uplink on a "
                f"{self.leaf_radix}-port leaf"
            )
        return self


class WanLinkConfig(_Frozen):
    """One WAN/subsea link from the site's gateway to a named place.

    ``length`` is the route length (m) including any terrestrial backhaul; ``overhead`` the
    one-way equipment/routing delay (s) added to propagation (*estimate*, 0.5 ms default);
    ``share`` the fraction of the cable's ``fibre_pairs × rate_per_pair`` (bit/s) this site
    may use.
    """

    name: Label = Field(description="link (cable) name, unique within the site; wan_events name it")
    to: str = Field(description="place at the far end, e.g. marseille")
    length: Meters = Field(gt=0, description="route length including terrestrial backhaul, e.g. "
                                             "1050km")
    fibre_pairs: int = Field(gt=0, description="fibre pairs of the cable")
    rate_per_pair: BitsPerSecond = Field(gt=0, description="capacity of one fibre pair, e.g. "
                                                           "18Tbps")
    overhead: Seconds = Field(default=0.5e-3, ge=0, description="one-way equipment and routing "
                                                                "delay added to propagation, e.g. "
                                                                "0.5ms (estimate)")
    share: float = Field(default=1.0, gt=0.0, le=1.0, description="fraction of the cable's "
                                                                  "capacity (fibre_pairs x "
                                                                  "rate_per_pair) this site may "
                                                                  "use, in (0, 1]")

    @field_validator("to")
    @classmethod
    def _known_place(cls, value: str) -> str:
        if value.lower() not in PLACES:
            known = ", ".join(sorted(PLACES))
            raise ValueError(f"unknown place {value!r}; expected one of: {known}")
        return value.lower()

    @property
    def capacity_bps(self) -> float:
        """Capacity available to the site, bit/s."""
        return self.fibre_pairs * self.rate_per_pair * self.share


class SiteConfig(_Frozen):
    """One datacenter site.

    ``grid_connection`` is the facility power cap (W) that IT load × ``pue`` must stay
    within; ``country`` an ISO 3166-1 alpha-2 code; ``sources`` cites every figure.
    ``pue`` is the design PUE used for the power budget; with an ``energy`` section (solar,
    grid, tariff, cooling, battery: :class:`~topologies.energy.EnergyConfig`) the run uses
    PUE as a function of ambient temperature instead. ``failures`` (absent: nothing
    fails) is the hardware failure model (:class:`~topologies.failure_config.FailuresConfig`).
    """

    name: Label = Field(description="site name")
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code, e.g."
                                                            " TN (residency rules and grid carbon "
                                                            "use it)")
    city: str = Field(description="city or nearest town")
    location: Location = Field(description="WGS84 coordinates of the site")
    grid_connection: Watts = Field(gt=0, description="facility power cap that IT load x PUE must "
                                                     "stay within, e.g. 20MW")
    pue: float = Field(default=1.2, gt=1.0, le=3.0, description="design power usage effectiveness "
                                                                "for the power budget (with an "
                                                                "energy section, runs use PUE as a"
                                                                " function of ambient temperature)")
    cooling: Literal["liquid", "air", "hybrid"] = Field(description="cooling type: liquid, air or "
                                                                    "hybrid (sets the default "
                                                                    "PUE/WUE temperature model)")
    halls: list[HallConfig] = Field(min_length=1, description="data halls of racks (a list given "
                                                              "inline replaces the preset's)")
    fabric: FabricConfig = Field(default=FabricConfig(), description="the scale-out (leaf/spine) "
                                                                     "fabric")
    wan: list[WanLinkConfig] = Field(
        default_factory=list, description="WAN/subsea links from the site's gateway to named "
                                          "places")
    energy: EnergyConfig | None = Field(default=None, description="solar PPA, grid, tariff, "
                                                                  "carbon, cooling, battery and "
                                                                  "power cap; none: no energy "
                                                                  "model (the design PUE, no "
                                                                  "prices)")
    failures: FailuresConfig | None = Field(
        default=None, description="hardware failure model (failure classes, rates, repair, "
                                  "spares, checkpointing); none: nothing fails")
    sources: list[str] = Field(default_factory=list, description="citations for the site's figures")
    notes: str = Field(default="", description="free text shown with the site's description")

    @model_validator(mode="after")
    def _unique_names(self) -> SiteConfig:
        for field, what, names in (("halls", "hall", [h.name for h in self.halls]),
                                   ("wan", "WAN link", [w.name for w in self.wan])):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                first = names.index(dupes[0])
                i = names.index(dupes[0], first + 1)
                raise field_error(type(self), (field, i, "name"), dupes[0],
                                  f"each {what} of a site to have its own name (also "
                                  f"{field}.{first}.name)")
        return self

    @model_validator(mode="after")
    def _pue_range(self) -> SiteConfig:
        """The energy section's PUE range, its own bounds or the cooling type's defaults
        (:data:`~topologies.energy.COOLING_DEFAULTS`), must not be upside down."""
        if self.energy is None:
            return self
        cfg = self.energy.cooling
        base = COOLING_DEFAULTS[self.cooling]
        low = base["pue_min"] if cfg.pue_min is None else cfg.pue_min
        high = base["pue_max"] if cfg.pue_max is None else cfg.pue_max
        if high < low:
            own = cfg.pue_max is not None
            raise field_error(type(self), ("energy", "cooling", "pue_max" if own else "pue_min"),
                              high if own else low,
                              f"a value at least pue_min ({low:g})" if own else
                              f"a value at most pue_max ({high:g}, the {self.cooling} "
                              "cooling default)")
        return self

    @model_validator(mode="after")
    def _grid_carbon_known(self) -> SiteConfig:
        """An energy section needs a grid carbon intensity: its own, or the country's
        default; without either every imported kWh would count as zero carbon."""
        if (self.energy is not None and self.energy.grid.carbon is None
                and self.country not in GRID_CARBON_G_PER_KWH):
            known = ", ".join(sorted(GRID_CARBON_G_PER_KWH))
            raise field_error(type(self), ("energy", "grid", "carbon"), None,
                              f"the grid's carbon intensity in gCO2e/kWh, e.g. carbon: 400 "
                              f"(defaults exist only for {known}, not {self.country})",
                              "none")
        return self
