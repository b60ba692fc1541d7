"""The ``failures:`` section of a site (pydantic v2, frozen, unknown keys rejected).

Absent, a site never fails (the run is exactly as without this feature). Present, every
failure class of :mod:`topologies.reliability` starts from the catalog defaults for the
site's systems (``defaults: false`` starts from zero: a class given a rate then gives
its ``repair`` too) and ``components`` overrides them::

    failures:
      components:
        gpu: {afr: 0.08}                 # failures per GPU per year
        rack: {mtbf: 1000w, repair: 8h}  # or a mean time between failures per unit
        hbm: {distribution: weibull, shape: 0.8}
      spares: 8            # hot-spare trays
      spare_swap: 30m      # time to swap one in
      restart: 10m         # relaunch overhead a job pays after an interruption
      checkpoint: young_daly
      checkpoint_bandwidth: 2TB/s
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from emulator.schema_base import ScenarioModel
from emulator.units import BytesPerSecond, Seconds
from topologies.reliability import COMPONENTS, HARDWARE_LOSS

__all__ = ["ComponentConfig", "FailuresConfig"]


class ComponentConfig(ScenarioModel):
    """Overrides for one failure class; unset fields keep the catalog default.

    ``afr``: failures per unit per year; ``mtbf``: mean time between failures of one unit
    (s); give one of them. ``distribution: weibull`` with ``shape`` k samples each unit's
    times between failures as a renewal process (scale set so the mean is the MTBF);
    ``detection``: time until a fault is found and the job can be restarted (s);
    ``repair``: time the unit's GPUs stay out of service (s).
    """

    afr: float | None = Field(default=None, ge=0.0, description="annualised failure rate: "
                              "failures per unit per year (give afr or mtbf)")
    mtbf: Seconds | None = Field(default=None, gt=0.0, description="mean time between "
                                 "failures of one unit, e.g. 1000w (give afr or mtbf)")
    distribution: Literal["exponential", "weibull"] = Field(
        default="exponential", description="times between failures: exponential (Poisson) or "
                                           "weibull (a renewal process per unit)")
    shape: float = Field(default=1.0, gt=0.0, le=20.0, description="Weibull shape k (1: "
                         "exponential; <1: infant mortality; >1: wear-out)")
    detection: Seconds | None = Field(default=None, ge=0.0, description="time until a fault is "
                                      "found and the job can restart, e.g. 5m (default: catalog)")
    repair: Seconds | None = Field(default=None, ge=0.0, description="time the unit's GPUs stay "
                                   "out of service, e.g. 8h (default: catalog)")

    @model_validator(mode="after")
    def _one_rate(self) -> ComponentConfig:
        if self.afr is not None and self.mtbf is not None:
            raise ValueError("give either afr or mtbf, not both")
        return self


MAX_RACKS_PER_FEED = 100_000
"""Most racks behind one power feed: the most racks of a hall (``topologies.config.MAX_RACKS``);
beyond it the feed numbering overflows."""


class FailuresConfig(ScenarioModel):
    """Hardware failure model of one site (see the module docstring)."""

    defaults: bool = Field(default=True, description="start every failure class from the "
                           "catalog defaults of the site's systems (false: from zero)")
    components: dict[str, ComponentConfig] = Field(
        default_factory=dict, description="overrides per failure class (gpu, hbm, nic, tray, "
                                          "nvlink_switch, switch, rack, pdu, software, spine)")
    spares: int = Field(default=0, ge=0, description="hot-spare trays in the site's pool")
    spare_swap: Seconds = Field(default=1800.0, gt=0.0, description="time to swap a hot spare "
                                "in for a failed tray, e.g. 30m")
    restart: Seconds = Field(default=600.0, ge=0.0, description="relaunch overhead a job pays "
                             "after an interruption, e.g. 10m")
    racks_per_feed: int = Field(default=4, gt=0, le=MAX_RACKS_PER_FEED,
                                description="racks behind one PDU / power feed (the blast "
                                            "radius of a pdu failure)")
    checkpoint: Literal["fixed", "young_daly"] = Field(
        default="fixed", description="checkpoint cadence: fixed (each job's "
                                     "checkpoint_interval) or young_daly (sqrt(2 x write time x "
                                     "job MTBF))")
    checkpoint_bandwidth: BytesPerSecond | None = Field(
        default=None, gt=0.0, description="storage write bandwidth for checkpoints, e.g. "
                                          "2TB/s (needed with young_daly)")

    @field_validator("components")
    @classmethod
    def _known_components(cls, value: dict[str, ComponentConfig]
                          ) -> dict[str, ComponentConfig]:
        for name in value:
            if name not in COMPONENTS:
                raise ValueError(f"a failure class, not {name!r}: one of "
                                 f"{', '.join(COMPONENTS)}")
        return value

    @model_validator(mode="after")
    def _repairable(self) -> FailuresConfig:
        for name, comp in self.components.items():
            # a hot spare replaces a failed tray within min(spare_swap, repair): it shortens
            # a repair, so with a repair of 0 s the GPUs would be back at once, spare or not
            if name in HARDWARE_LOSS and comp.repair == 0.0:
                raise ValueError(f"components.{name}.repair > 0 (it is 0 s; hot spares "
                                 f"shorten a repair, spares {self.spares} cannot replace one)")
            # without the catalog nothing else sets a repair time: it would be 0 s
            if (not self.defaults and name in HARDWARE_LOSS and comp.repair is None
                    and (comp.afr or comp.mtbf is not None)):
                raise ValueError(f"components.{name}.repair (a repair time > 0, e.g. 8h) "
                                 "with defaults false: no catalog figure fills it in")
        if self.checkpoint == "young_daly" and self.checkpoint_bandwidth is None:
            raise ValueError("checkpoint_bandwidth (storage write bandwidth, e.g. 2TB/s) "
                             "with checkpoint young_daly")
        return self
