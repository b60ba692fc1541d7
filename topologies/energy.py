"""Energy section of a site: solar PPA, grid, tariff, carbon, cooling, battery, power cap.

Pure data (pydantic v2, frozen, unknown keys rejected), SI units after validation: power
in W, energy in J (``"40MWh"`` accepted), temperatures in °C, prices in the site's
``currency`` per kWh, carbon intensity in gCO2e/kWh, water use in L/kWh (of IT energy,
The Green Grid's WUE definition). The runtime models live in :mod:`emulator.energy`.

YAML shape (every block optional except where noted)::

    energy:
      utc_offset: 1              # local time = UTC + 1 h (tariff hours, daily cycle)
      solar:                     # pvlib clear-sky PV at the plant's coordinates
        capacity: 60MW           # DC peak (MWp); absolute, not scaled with the halls
        ac_capacity: 50MW        # inverter limit
        location: {lat: 33.92, lon: 8.13}
        clouds: {mean_clearness: 0.85, sd: 0.15, correlation_time: 3h}
      ppa: {price: 0.075}        # currency/kWh for every renewable kWh generated
      grid: {currency: TND, carbon: 475, tariff: [...], export_price: 0.075}
                                 # export_limit: default the site's grid_connection
      ambient: {mean: 19.5, daily_amplitude: 5, seasonal_amplitude: 7.5}
      cooling: {pue_min: 1.08, threshold: 20, pue_slope: 0.006}
      battery: {energy: 40MWh, power: 10MW, efficiency: 0.9}
      power_cap: {mode: renewable, grid_allowance: 5MW}
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from emulator.schema_base import ScenarioModel, field_error
from emulator.units import Seconds, Watts, format_power

__all__ = [
    "COOLING_DEFAULTS",
    "GRID_CARBON_G_PER_KWH",
    "AmbientConfig",
    "BatteryConfig",
    "CloudConfig",
    "CoolingConfig",
    "EnergyConfig",
    "GeoPoint",
    "GridConfig",
    "Joules",
    "PowerCapConfig",
    "PpaConfig",
    "SolarConfig",
    "TouPeriod",
    "parse_energy_j",
]

_ENERGY_UNITS = {"": 1.0, "j": 1.0, "kj": 1e3, "mj": 1e6, "gj": 1e9, "wh": 3.6e3,
                 "kwh": 3.6e6, "mwh": 3.6e9, "gwh": 3.6e12}
_NUMBER_UNIT = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_energy_j(value: str | float | int) -> float:
    """Joules from ``"40MWh"``, ``"500kWh"``, ``"3.6GJ"`` or a number of joules."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not an energy; expected e.g. '40MWh'")
    if isinstance(value, int | float):
        return float(value)
    m = _NUMBER_UNIT.match(value)
    if not m or m.group(2).lower() not in _ENERGY_UNITS:
        raise ValueError(f"{value!r} is not an energy; expected e.g. '40MWh' "
                         "(units J, kJ, MJ, GJ, Wh, kWh, MWh, GWh)")
    out = float(m.group(1)) * _ENERGY_UNITS[m.group(2).lower()]
    if not math.isfinite(out):
        raise ValueError(f"{value!r} is not a finite energy")
    return out


Joules = Annotated[float, BeforeValidator(parse_energy_j)]

GRID_CARBON_G_PER_KWH: dict[str, float] = {"TN": 475.0, "MA": 605.0}
"""Grid carbon intensity by country, gCO2e/kWh, 2023 (Ember, "Yearly electricity data",
2024 release: Tunisia ≈ 470-480, gas-fired; Morocco ≈ 595-615, coal > 60 %). Mid-points."""


class _Frozen(ScenarioModel):
    """Frozen, unknown keys rejected, numbers finite, no true/false for numbers."""


class GeoPoint(_Frozen):
    """WGS84 coordinates (degrees) and altitude (m) of a plant."""

    lat: float = Field(ge=-90.0, le=90.0, description="latitude, degrees north (WGS84)")
    lon: float = Field(ge=-180.0, le=180.0, description="longitude, degrees east (WGS84)")
    altitude: float = Field(
        default=0.0, ge=-500.0, le=9000.0, description="altitude above sea level, m")


class CloudConfig(_Frozen):
    """Seeded cloud process: the clear-sky index follows an AR(1) process.

    ``mean_clearness`` is the mean fraction of clear-sky irradiance reaching the panels,
    ``sd`` its standard deviation and ``correlation_time`` (s) how long a cloud state
    persists; values are clipped to [0, 1]. Drawn from the named stream
    ``energy/<site>/clouds``.
    """

    mean_clearness: float = Field(
        default=0.85, gt=0.0, le=1.0, description="mean fraction of clear-sky irradiance reaching "
                                                  "the panels, in (0, 1]")
    sd: float = Field(default=0.15, ge=0.0, le=1.0, description="standard deviation of the "
                                                                "clear-sky index (AR(1) process, "
                                                                "clipped to [0, 1])")
    correlation_time: Seconds = Field(
        default=3 * 3600.0, gt=0, description="how long a cloud state persists, e.g. 3h")


class AmbientConfig(_Frozen):
    """Outdoor dry-bulb temperature, °C: annual ``mean`` plus a seasonal cosine peaking on
    day of year ``hottest_day`` and a daily cosine peaking at local hour ``hottest_hour``."""

    mean: float = Field(default=20.0, ge=-40, le=50, description="annual mean outdoor dry-bulb "
                                                                 "temperature, degC")
    seasonal_amplitude: float = Field(
        default=7.0, ge=0, le=30, description="amplitude of the seasonal cosine, degC")
    daily_amplitude: float = Field(
        default=5.0, ge=0, le=25, description="amplitude of the daily cosine, degC")
    hottest_day: float = Field(
        default=205.0, ge=1, le=366, description="day of the year (1-366) on which the seasonal "
                                                 "cosine peaks")
    hottest_hour: float = Field(
        default=15.0, ge=0, le=24, description="local hour (0-24) at which the daily cosine peaks")


class SolarConfig(_Frozen):
    """A PV plant whose output the site buys (PPA), modelled with pvlib or read from CSV.

    pvlib path: sun position and Ineichen clear-sky irradiance (Linke turbidity
    climatology) at ``location``, transposed to the panel plane (``tilt``/``azimuth`` in
    degrees, or single-axis trackers), cell temperature (SAPM, open rack) from the site's
    ambient model, PVWatts DC at ``capacity`` W peak with ``temp_coefficient`` per °C,
    ``losses`` (soiling, wiring, mismatch; PVWatts' 14 % default), the inverter at
    ``inverter_efficiency`` clipped to ``ac_capacity``. ``annual_yield`` (kWh/kWp), when
    set, rescales the output so a clear-sky year yields that much (the rescaled output
    stays clipped at ``ac_capacity``, so a target above what the clipped plant can give
    yields less).

    CSV path: ``csv`` names a file with a ``t_s`` column (seconds from the scenario
    start) and ``power_w`` (W) or ``fraction`` (of ``capacity``); values are interpolated
    linearly and the series repeats with the span of its time column. Night values down
    to −2 % of the AC limit (standby draw) are read as 0 W; values below that or above
    1.5 × the AC limit are refused (:func:`emulator.energy.solar.csv_series`).
    """

    capacity: Watts = Field(gt=0, description="DC peak power, e.g. 60MW")
    ac_capacity: Watts | None = Field(default=None, gt=0, description="inverter (AC) limit, e.g. "
                                                                      "50MW; none: the DC capacity")
    location: GeoPoint | None = Field(default=None, description="plant coordinates; none: the "
                                                                "site's")
    tracking: Literal["fixed", "single-axis"] = Field(
        default="fixed", description="fixed panels or single-axis trackers")
    tilt: float | None = Field(
        default=None, ge=0.0, le=90.0, description="panel tilt from horizontal, degrees; none: the"
                                                   " absolute latitude")
    azimuth: float = Field(
        default=180.0, ge=0.0, lt=360.0, description="panel azimuth, degrees clockwise from north "
                                                     "(180: facing south)")
    losses: float = Field(default=0.14, ge=0.0, lt=1.0, description="DC system losses (soiling, "
                                                                    "wiring, mismatch) as a "
                                                                    "fraction (PVWatts default "
                                                                    "0.14)")
    inverter_efficiency: float = Field(
        default=0.96, gt=0.0, le=1.0, description="inverter efficiency as a fraction")
    temp_coefficient: float = Field(
        default=-0.0037, ge=-0.02, le=0.0, description="change of DC power per degC of cell "
                                                       "temperature above 25 degC, fraction (e.g. "
                                                       "-0.0037)")
    annual_yield: float | None = Field(
        default=None, gt=0, le=3000, description="if set, rescale so a clear-sky year yields this "
                                                 "many kWh per kWp")
    clouds: CloudConfig | None = Field(default=None, description="seeded cloud process; none: "
                                                                 "clear sky")
    ambient: AmbientConfig | None = Field(
        default=None, description="plant climate for cell temperature; default: the site's")
    csv: str | None = Field(default=None, description="CSV file with t_s (s from the scenario "
                                                      "start) and power_w (W) or fraction (of "
                                                      "capacity), used instead of pvlib; relative "
                                                      "to the scenario's folder")


class PpaConfig(_Frozen):
    """Renewable power purchase agreement.

    ``price``: currency/kWh paid for every renewable kWh generated (take-or-pay);
    ``firm``: a constant renewable block (W, e.g. a wind/hydro share) on top of solar.
    """

    price: float = Field(default=0.0, ge=0, description="price paid per renewable kWh generated "
                                                        "(take-or-pay), in the grid's currency")
    firm: Watts = Field(default=0.0, ge=0, description="constant renewable block on top of solar "
                                                       "(e.g. a wind or hydro share), e.g. 5MW")


class TouPeriod(_Frozen):
    """One time-of-use period: local hours ``[start, end)`` (wrapping past midnight),
    optionally only in ``months`` (1-12); ``price`` in currency/kWh. Earlier periods win."""

    name: str = Field(min_length=1, description="period name, e.g. peak")
    start: float = Field(ge=0.0, le=24.0, description="local hour at which the period starts "
                                                      "(0-24)")
    end: float = Field(ge=0.0, le=24.0, description="local hour at which the period ends "
                                                    "(exclusive; before start: wraps past "
                                                    "midnight)")
    price: float = Field(ge=0, description="import price in this period, grid currency per kWh")
    months: list[int] | None = Field(default=None, description="months (1-12) in which the period "
                                                               "applies; none: every month")

    @model_validator(mode="after")
    def _valid_months(self) -> TouPeriod:
        for m in self.months or []:
            if not 1 <= m <= 12:
                raise ValueError(f"months must be 1..12, got {m}")
        return self


class GridConfig(_Frozen):
    """Grid import and export.

    ``carbon`` gCO2e/kWh (default by country, :data:`GRID_CARBON_G_PER_KWH`; a site in a
    country without a default must give it); ``price``
    the flat import price and ``tariff`` time-of-use periods overriding it (currency/kWh);
    ``export_price`` paid for surplus renewable energy sent to the grid; ``export_limit``
    (W) caps that export, the rest is curtailed: ``None`` (the default) means the site's
    ``grid_connection``, since export flows through the same connection; set it to model
    a separate export line or a grid operator's lower limit. ``usd_per_unit`` converts the
    currency to US dollars for cross-site totals.
    """

    currency: str = Field(default="USD", min_length=1, description="currency of every price of the"
                                                                   " site (ISO 4217 code, e.g. "
                                                                   "USD, TND, MAD)")
    usd_per_unit: float = Field(default=1.0, gt=0, description="US dollars per unit of the "
                                                               "currency, for cross-site totals in"
                                                               " USD")
    carbon: float | None = Field(default=None, ge=0, description="grid carbon intensity, "
                                                                 "gCO2e/kWh; none: the country's "
                                                                 "default (TN and MA have one; "
                                                                 "elsewhere it must be given)")
    price: float = Field(default=0.0, ge=0, description="flat import price, currency per kWh "
                                                        "(tariff periods override it)")
    tariff: list[TouPeriod] = Field(default_factory=list, description="time-of-use periods; the "
                                                                      "first that matches the "
                                                                      "local time sets the price")
    export_price: float = Field(default=0.0, ge=0, description="price paid for surplus renewable "
                                                               "energy sent to the grid, currency "
                                                               "per kWh")
    export_limit: Watts | None = Field(
        default=None, ge=0, description="cap on export power, e.g. 10MW; none: the site's "
                                        "grid_connection (the rest is curtailed)")


class CoolingConfig(_Frozen):
    """PUE and WUE as functions of ambient temperature T (°C).

    ``PUE(T) = clip(pue_min + pue_slope·max(0, T − threshold), pue_min, pue_max)``;
    ``WUE(T) = wue + wue_slope·max(0, T − wue_threshold)`` L/kWh of IT energy. Fields left
    out take the defaults for the site's cooling type (:data:`COOLING_DEFAULTS`).
    """

    pue_min: float | None = Field(
        default=None, gt=1.0, le=3.0, description="PUE at or below the threshold temperature; "
                                                  "none: the cooling type's default")
    pue_max: float | None = Field(
        default=None, gt=1.0, le=3.0, description="highest PUE on hot days; none: the cooling "
                                                  "type's default")
    threshold: float | None = Field(
        default=None, ge=-20, le=50, description="ambient temperature (degC) above which PUE "
                                                 "rises; none: the cooling type's default")
    pue_slope: float | None = Field(
        default=None, ge=0, le=0.2, description="PUE increase per degC above the threshold; none: "
                                                "the cooling type's default")
    wue: float | None = Field(default=None, ge=0, le=10, description="water use at or below "
                                                                     "wue_threshold, L per kWh of "
                                                                     "IT energy; none: the cooling"
                                                                     " type's default")
    wue_threshold: float | None = Field(
        default=None, ge=-20, le=50, description="ambient temperature (degC) above which water use"
                                                 " rises; none: the cooling type's default")
    wue_slope: float | None = Field(
        default=None, ge=0, le=1, description="water use increase per degC above wue_threshold, "
                                              "L/kWh; none: the cooling type's default")


COOLING_DEFAULTS: dict[str, dict[str, float]] = {
    # Direct-to-chip warm-water loops with dry coolers: 1.05-1.15 in the literature; trim
    # chillers and fans work harder above ~20 °C. Closed loop: near-zero water, adiabatic
    # assist only on hot days. *Estimates* within the cited ranges.
    "liquid": {"pue_min": 1.08, "pue_max": 1.25, "threshold": 20.0, "pue_slope": 0.006,
               "wue": 0.05, "wue_threshold": 30.0, "wue_slope": 0.03},
    # Rear-door / in-row hybrid: between liquid and air (*estimate*).
    "hybrid": {"pue_min": 1.25, "pue_max": 1.55, "threshold": 18.0, "pue_slope": 0.010,
               "wue": 0.6, "wue_threshold": 20.0, "wue_slope": 0.05},
    # Air-cooled with evaporative assist: industry averages PUE ≈ 1.55-1.59 and
    # WUE ≈ 1.8 L/kWh are reached around 27 °C (*estimate* of the slope).
    "air": {"pue_min": 1.40, "pue_max": 1.90, "threshold": 15.0, "pue_slope": 0.013,
            "wue": 1.2, "wue_threshold": 15.0, "wue_slope": 0.05},
}
"""Default PUE/WUE temperature models per cooling type (see :class:`CoolingConfig`)."""


class BatteryConfig(_Frozen):
    """Battery: ``energy`` (J, e.g. ``"40MWh"``), ``power`` (W, charge and discharge
    limit), round-trip ``efficiency`` (split evenly between charge and discharge),
    ``initial_soc`` and ``min_soc`` as fractions of ``energy``."""

    energy: Joules = Field(gt=0, description="usable energy capacity, e.g. 40MWh")
    power: Watts = Field(gt=0, description="charge and discharge power limit, e.g. 10MW")
    efficiency: float = Field(
        default=0.9, gt=0.0, le=1.0, description="round-trip efficiency (split evenly between "
                                                 "charge and discharge)")
    initial_soc: float = Field(
        default=0.5, ge=0.0, le=1.0, description="state of charge at t=0, fraction of energy")
    min_soc: float = Field(default=0.05, ge=0.0, lt=1.0, description="lowest state of charge it "
                                                                     "discharges to, fraction of "
                                                                     "energy")

    @model_validator(mode="after")
    def _soc_order(self) -> BatteryConfig:
        if self.initial_soc < self.min_soc:
            raise ValueError(f"initial_soc {self.initial_soc} is below min_soc {self.min_soc}")
        return self


class PowerCapConfig(_Frozen):
    """Site facility power cap (W) the power controller keeps the site within.

    ``constant``: ``value`` W. ``renewable``: the renewable power available at the time
    plus the battery's discharge power plus ``grid_allowance`` W (e.g. run on sunshine).
    """

    mode: Literal["constant", "renewable"] = Field(
        default="constant", description="constant: value W; renewable: renewable power now + "
                                        "battery discharge power + grid_allowance")
    value: Watts | None = Field(default=None, gt=0, description="the cap in constant mode, e.g. "
                                                                "18MW")
    grid_allowance: Watts = Field(default=0.0, ge=0, description="grid power allowed on top of "
                                                                 "renewables in renewable mode, "
                                                                 "e.g. 5MW")

    @model_validator(mode="after")
    def _value_for_constant(self) -> PowerCapConfig:
        if self.mode == "constant" and self.value is None:
            raise ValueError("mode 'constant' needs a value, e.g. value: 18MW")
        if self.mode == "renewable" and self.value is not None:  # it would be ignored
            raise field_error(type(self), ("value",), self.value,
                              "no value in mode 'renewable' (the cap follows the renewable "
                              "power; grid power on top is grid_allowance)",
                              format_power(self.value))
        if self.mode == "constant" and self.grid_allowance:
            raise field_error(type(self), ("grid_allowance",), self.grid_allowance,
                              "none in mode 'constant' (the cap is value)",
                              format_power(self.grid_allowance))
        return self


class EnergyConfig(_Frozen):
    """The energy side of a site (see the module docstring for the YAML shape)."""

    utc_offset: float = Field(default=0.0, ge=-12, le=14, description="local time − UTC, h")
    solar: SolarConfig | None = Field(default=None, description="solar plant whose output the site"
                                                                " buys; none: no solar")
    ppa: PpaConfig = Field(default_factory=PpaConfig, description="renewable power purchase "
                                                                  "agreement (price and firm "
                                                                  "block)")
    grid: GridConfig = Field(default_factory=GridConfig, description="grid import/export prices, "
                                                                     "currency and carbon "
                                                                     "intensity")
    ambient: AmbientConfig = Field(
        default_factory=AmbientConfig, description="outdoor temperature model (drives PUE, WUE and"
                                                   " PV cell temperature)")
    cooling: CoolingConfig = Field(
        default_factory=CoolingConfig, description="PUE and WUE as functions of ambient "
                                                   "temperature")
    battery: BatteryConfig | None = Field(default=None, description="site battery; none: no "
                                                                    "battery")
    power_cap: PowerCapConfig | None = Field(
        default=None, description="facility power cap the power controller enforces; none: no cap "
                                  "beyond the grid connection")
