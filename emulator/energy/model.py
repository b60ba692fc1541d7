"""The run's energy model: series precomputed once, dispatched once per sampling tick.

:func:`build_energy_model` evaluates, for every sampling interval of the horizon and every
site, the ambient temperature, PUE, WUE, renewable power (pvlib solar averaged over the
interval + firm PPA block), import price and carbon intensity, all vectorised. The engine's
sampler then calls :meth:`EnergyModel.pue_at` (facility power uses PUE(T)) and
:meth:`EnergyModel.step` with the site powers, which dispatches renewables, battery and
grid for that interval and returns an :class:`EnergySample` for the event log.

Sites without an ``energy`` section keep their design PUE, have no renewables and import
everything (carbon at their country's default intensity when known, price 0).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from emulator.energy.climate import ambient_c, cooling_model
from emulator.energy.solar import AirTemp, ac_limit_w, solar_interval_mean_w
from emulator.energy.supply import dispatch, tariff_price
from emulator.rng import RngStreams
from topologies.config import SiteConfig
from topologies.energy import GRID_CARBON_G_PER_KWH, AmbientConfig

__all__ = ["EnergyModel", "EnergySample", "build_energy_model"]

_SOLAR_HOURS_FRACTION = 0.2
"""A site is in its solar hours while its PV output is at least this fraction of AC capacity."""


@dataclass(frozen=True)
class EnergySample:
    """Energy flows of every site over one sampling interval ``[t, t + dt_s)``.

    Arrays have one value per site. Powers in W: ``it_w``, ``demand_w`` (facility: IT ×
    (PUE − f′) + f′ × design IT, f′ = min(f, PUE − 1),
    :func:`cupy_kernels.power.facility_power`),
    ``renewable_w`` (available), ``used_w`` (renewable serving demand),
    ``import_w``, ``export_w``, ``curtailed_w``, ``charge_w``/``discharge_w`` (battery,
    grid side), ``cap_w`` (site power cap, ``inf`` if none); ``soc_j`` stored energy (J)
    at the end; ``pue`` (PUE(T) at the nameplate load, not ``demand_w / it_w``);
    ``ambient_c`` (°C); ``wue`` (L/kWh IT); prices in currency/kWh;
    ``carbon`` gCO2e/kWh of imported energy.
    """

    t: float
    dt_s: float
    it_w: np.ndarray
    demand_w: np.ndarray
    renewable_w: np.ndarray
    used_w: np.ndarray
    import_w: np.ndarray
    export_w: np.ndarray
    curtailed_w: np.ndarray
    charge_w: np.ndarray
    discharge_w: np.ndarray
    soc_j: np.ndarray
    cap_w: np.ndarray
    pue: np.ndarray
    ambient_c: np.ndarray
    wue: np.ndarray
    price: np.ndarray
    export_price: np.ndarray
    ppa_price: np.ndarray
    carbon: np.ndarray

    def to_bytes(self) -> bytes:
        """Canonical bytes for the event-log digest."""
        parts = [np.float64(self.t).tobytes(), np.float64(self.dt_s).tobytes()]
        parts += [np.ascontiguousarray(getattr(self, f.name), dtype=np.float64).tobytes()
                  for f in fields(self) if f.name not in ("t", "dt_s")]
        return b"".join(parts)


class EnergyModel:
    """Precomputed per-site series on the sampling grid, and the battery state."""

    def __init__(self, sites: Sequence[SiteConfig], start: dt.datetime, horizon_s: float,
                 interval_s: float, streams: RngStreams) -> None:
        self.sites = list(sites)
        self.start = start
        self.horizon_s = float(horizon_s)
        self.interval_s = float(interval_s)
        n_ticks = max(1, math.ceil(self.horizon_s / self.interval_s))
        self.tick_s = np.arange(n_ticks) * self.interval_s
        self.dt_s = np.minimum(self.interval_s, self.horizon_s - self.tick_s)
        n = len(self.sites)
        shape = (n_ticks, n)
        self.ambient = np.zeros(shape)
        self.pue = np.zeros(shape)
        self.wue = np.zeros(shape)
        self.solar_w = np.zeros(shape)
        self.firm_w = np.zeros(n)
        self.price = np.zeros(shape)
        self.carbon = np.zeros(n)
        self.export_price = np.zeros(n)
        self.ppa_price = np.zeros(n)
        self.usd_per_unit = np.ones(n)
        self.currency = ["USD"] * n
        self.solar_ac_w = np.zeros(n)
        # Export is limited by the site's grid connection unless ``grid.export_limit`` says
        # otherwise; renewable surplus beyond it (after the battery) is curtailed.
        self.export_limit = np.array([float(s.grid_connection) for s in self.sites])
        self.batt_energy = np.zeros(n)
        self.batt_power = np.zeros(n)
        self.batt_eff = np.ones(n)
        self.batt_min = np.zeros(n)
        self.soc = np.zeros(n)
        self.cap_mode = [""] * n
        self.cap_value = np.full(n, np.inf)
        self.cap_allowance = np.zeros(n)
        self.configured = np.zeros(n, dtype=bool)
        for i, site in enumerate(self.sites):
            self._site_series(i, site, streams)
        self.initial_soc_j = self.soc.copy()
        """Stored energy at t = 0 per site (J): the charge the run was given, not earned."""
        # Fixed from here on: read-only, so that each tick's sample may hold a row or the
        # array itself instead of a copy (a sample costs what the dispatch needs).
        for fixed in (self.ambient, self.pue, self.wue, self.solar_w, self.price,
                      self.carbon, self.export_price, self.ppa_price, self.cap_value,
                      self.cap_allowance, self.batt_eff):
            fixed.setflags(write=False)
        self._eta = np.sqrt(self.batt_eff)  # one-way battery efficiency
        self._cap_renewable = np.array([m == "renewable" for m in self.cap_mode], dtype=bool)
        self.last: EnergySample | None = None
        # The last step's battery state before it, IT power, demand and the cap it
        # recorded (for close(): the cap reads the battery state, which has moved on).
        self._before: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    # -- precomputation ----------------------------------------------------------------
    def _site_series(self, i: int, site: SiteConfig, streams: RngStreams) -> None:
        e = site.energy
        country_carbon = GRID_CARBON_G_PER_KWH.get(site.country, 0.0)
        if e is None:
            self.pue[:, i] = site.pue
            self.ambient[:, i] = ambient_c(AmbientConfig(), self.start, self.tick_s, 0.0)
            self.carbon[i] = country_carbon
            return
        self.configured[i] = True
        t_mid = self.tick_s + self.dt_s / 2.0
        self.ambient[:, i] = ambient_c(e.ambient, self.start, t_mid, e.utc_offset)
        cool = cooling_model(site.cooling, e.cooling)
        self.pue[:, i] = cool.pue(self.ambient[:, i])
        self.wue[:, i] = cool.wue_l_per_kwh(self.ambient[:, i])
        if e.solar is not None:
            s = e.solar
            plant = s.location
            lat = plant.lat if plant else site.location.lat
            lon = plant.lon if plant else site.location.lon
            alt = plant.altitude if plant else 0.0
            amb = _plant_ambient(s.ambient or e.ambient, e.utc_offset)
            rng = streams.stream(f"energy/{site.name}/clouds")
            self.solar_w[:, i] = solar_interval_mean_w(s, lat, lon, alt, self.start,
                                                       self.tick_s, self.dt_s, amb, rng)
            self.solar_ac_w[i] = ac_limit_w(s)  # an inverter above the array adds nothing
        self.firm_w[i] = e.ppa.firm
        self.ppa_price[i] = e.ppa.price
        g = e.grid
        self.price[:, i] = tariff_price(g, self.start, t_mid, e.utc_offset)
        self.carbon[i] = g.carbon if g.carbon is not None else country_carbon
        self.export_price[i] = g.export_price
        self.usd_per_unit[i] = g.usd_per_unit
        self.currency[i] = g.currency
        if g.export_limit is not None:
            self.export_limit[i] = g.export_limit
        if e.battery is not None:
            b = e.battery
            self.batt_energy[i] = b.energy
            self.batt_power[i] = b.power
            self.batt_eff[i] = b.efficiency
            self.batt_min[i] = b.min_soc * b.energy
            self.soc[i] = b.initial_soc * b.energy
        if e.power_cap is not None:
            self.cap_mode[i] = e.power_cap.mode
            if e.power_cap.value is not None:
                self.cap_value[i] = e.power_cap.value
            self.cap_allowance[i] = e.power_cap.grid_allowance

    # -- queries by the engine and the policies ----------------------------------------
    def tick(self, now: float) -> int:
        """Index of the sampling interval holding time ``now``."""
        k = math.floor(now / self.interval_s + 1e-9)
        return min(max(k, 0), self.tick_s.size - 1)

    def pue_at(self, now: float) -> np.ndarray:
        """PUE per site for the interval starting at ``now``."""
        return self.pue[self.tick(now)]

    def renewable_at(self, now: float) -> np.ndarray:
        """Renewable power available per site (W) over the interval holding ``now``."""
        return self.solar_w[self.tick(now)] + self.firm_w

    def cap_at(self, now: float) -> np.ndarray:
        """Site facility power cap (W) at ``now``; ``inf`` where the site has none."""
        cap = self.cap_value.copy()
        ren = self._cap_renewable
        if not ren.any():
            return cap
        batt = np.minimum(self.batt_power,
                          np.maximum(self.soc - self.batt_min, 0.0) * self._eta
                          / self.interval_s)
        cap[ren] = (self.renewable_at(now) + batt + self.cap_allowance)[ren]
        return cap

    @property
    def renewable_peak_w(self) -> np.ndarray:
        """Most renewable power each site can receive (W): solar AC capacity (the DC
        capacity when no inverter limit is given or the inverter is the larger) plus the
        firm PPA block."""
        return self.solar_ac_w + self.firm_w

    @property
    def has_caps(self) -> bool:
        """Whether any site has a power cap."""
        return any(self.cap_mode)

    def in_solar_hours(self, now: float) -> bool:
        """Whether any site with solar produces at least 20 % of its AC capacity now."""
        has = self.solar_ac_w > 0
        if not has.any():
            return True
        sol = self.solar_w[self.tick(now)]
        return bool(np.any(sol[has] >= _SOLAR_HOURS_FRACTION * self.solar_ac_w[has]))

    def marginal_carbon(self, now: float) -> np.ndarray:
        """gCO2e/kWh of one more kWh at each site now: 0 while renewables exceed the last
        demand there, else the grid's intensity; ``inf`` at a site without an energy
        section in a country without a default intensity (its carbon is unknown, not 0)."""
        demand = self.last.demand_w if self.last is not None else np.zeros(len(self.sites))
        spare = self.renewable_at(now) - demand
        grid = np.where(self.configured | (self.carbon > 0), self.carbon, np.inf)
        return np.where(spare > 0, 0.0, grid)

    # -- the per-tick dispatch ---------------------------------------------------------
    def step(self, now: float, it_w: np.ndarray, facility_w: np.ndarray) -> EnergySample:
        """Dispatch the interval starting at ``now`` for the sites' current power."""
        dt_s = float(min(self.interval_s, max(self.horizon_s - now, 0.0)))
        self._before = (self.soc.copy(), np.array(it_w, dtype=float),
                        np.array(facility_w, dtype=float), self.cap_at(now))
        sample = self._dispatch(now, dt_s, *self._before)
        self.soc = sample.soc_j.copy()
        self.last = sample
        return sample

    def close(self, end_s: float) -> EnergySample | None:
        """The last interval dispatched again to end at ``end_s``, from the battery state
        before it (``None`` when it already ends by then): a run that stops between two
        samples is not charged for energy past its end."""
        last = self.last
        if last is None or self._before is None or last.t + last.dt_s <= end_s:
            return None
        soc, it_w, facility_w, cap = self._before
        sample = self._dispatch(last.t, max(end_s - last.t, 0.0), soc.copy(), it_w,
                                facility_w, cap)
        self.soc = sample.soc_j.copy()
        self.last = sample
        return sample

    def _dispatch(self, now: float, dt_s: float, soc: np.ndarray, it_w: np.ndarray,
                  facility_w: np.ndarray, cap: np.ndarray) -> EnergySample:
        k = self.tick(now)
        ren = self.solar_w[k] + self.firm_w
        d = dispatch(facility_w, ren, soc, self.batt_energy, self.batt_power,
                     self.batt_eff, self.batt_min, self.export_limit, dt_s)
        return EnergySample(
            t=float(now), dt_s=dt_s, it_w=it_w.copy(),
            demand_w=facility_w.copy(), renewable_w=d.renewable_w,
            used_w=d.used_w, import_w=d.import_w, export_w=d.export_w,
            curtailed_w=d.curtailed_w, charge_w=d.charge_w, discharge_w=d.discharge_w,
            soc_j=d.soc_j.copy(), cap_w=cap, pue=self.pue[k],
            ambient_c=self.ambient[k], wue=self.wue[k], price=self.price[k],
            export_price=self.export_price, ppa_price=self.ppa_price, carbon=self.carbon)


def _plant_ambient(cfg: AmbientConfig, utc_offset_h: float) -> AirTemp:
    """Ambient temperature (°C) at the plant as a function of (start, seconds after it)."""
    def temp(start: dt.datetime, t_s: np.ndarray) -> np.ndarray:
        return ambient_c(cfg, start, t_s, utc_offset_h)
    return temp


def build_energy_model(sites: Sequence[SiteConfig], start: dt.datetime, horizon_s: float,
                       interval_s: float, streams: RngStreams) -> EnergyModel | None:
    """The run's energy model, or ``None`` when no site has an ``energy`` section."""
    if not any(s.energy is not None for s in sites):
        return None
    return EnergyModel(sites, start, horizon_s, interval_s, streams)
