"""Supply side: time-of-use prices, and the per-tick dispatch of renewables, battery, grid.

Dispatch rule (per site, per sampling interval of length Δt, powers held over it):

1. renewable power ``R`` (solar + firm PPA block) serves the facility demand ``D`` first;
2. surplus ``R − D`` charges the battery (power limit, energy headroom, charge efficiency
   √η), the rest is exported (up to ``export_limit``: the site's grid connection unless
   ``grid.export_limit`` is set) and any remainder curtailed;
3. a deficit ``D − R`` is met by the battery (power limit, energy above ``min_soc``,
   discharge efficiency √η), then by grid import.

It holds exactly: ``R + import = D + export + charge − discharge + curtailed`` (the
energy balance the tests check every tick). Stored energy changes by
``(charge·√η − discharge/√η)·Δt``. All sites are dispatched in one vectorised call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from emulator.energy.climate import local_hour
from topologies.energy import GridConfig

__all__ = ["Dispatch", "dispatch", "tariff_price"]


def tariff_price(grid: GridConfig, start: dt.datetime, t_s: np.ndarray,
                 utc_offset_h: float) -> np.ndarray:
    """Import price (currency/kWh) at ``t_s``: the first matching time-of-use period, else
    the flat ``grid.price``."""
    t_s = np.asarray(t_s, dtype=float)
    price = np.full(t_s.shape, grid.price, dtype=float)
    if not grid.tariff:
        return price
    hour = local_hour(start, t_s, utc_offset_h)
    base = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    epoch = base.timestamp() + utc_offset_h * 3600.0
    # Month of each instant: exact via numpy datetime64 (vectorised).
    stamps = (np.round(epoch + t_s).astype(np.int64)).astype("datetime64[s]")
    month = (stamps.astype("datetime64[M]").astype(np.int64) % 12) + 1
    assigned = np.zeros(t_s.shape, dtype=bool)
    for period in grid.tariff:
        if period.start <= period.end:
            in_hours = (hour >= period.start) & (hour < period.end)
        else:  # wraps past midnight
            in_hours = (hour >= period.start) | (hour < period.end)
        if period.months is not None:
            in_hours &= np.isin(month, period.months)
        hit = in_hours & ~assigned
        price[hit] = period.price
        assigned |= hit
    return price


@dataclass(frozen=True)
class Dispatch:
    """One interval's flows per site, W (``soc_j``: stored energy after it, J)."""

    renewable_w: np.ndarray
    used_w: np.ndarray
    import_w: np.ndarray
    export_w: np.ndarray
    curtailed_w: np.ndarray
    charge_w: np.ndarray
    discharge_w: np.ndarray
    soc_j: np.ndarray


def dispatch(demand_w: np.ndarray, renewable_w: np.ndarray, soc_j: np.ndarray,
             batt_energy_j: np.ndarray, batt_power_w: np.ndarray, batt_eff: np.ndarray,
             batt_min_j: np.ndarray, export_limit_w: np.ndarray, dt_s: float) -> Dispatch:
    """Dispatch one interval of ``dt_s`` seconds for all sites (arrays per site).

    Sites without a battery have ``batt_power_w == 0``. ``export_limit_w`` may be ``inf``.
    """
    d = np.maximum(np.asarray(demand_w, dtype=float), 0.0)
    r = np.maximum(np.asarray(renewable_w, dtype=float), 0.0)
    used = np.minimum(r, d)
    surplus = r - used
    deficit = d - used
    eta = np.sqrt(batt_eff)
    if dt_s > 0:
        room_w = np.maximum(batt_energy_j - soc_j, 0.0) / (eta * dt_s)
        avail_w = np.maximum(soc_j - batt_min_j, 0.0) * eta / dt_s
    else:
        room_w = avail_w = np.zeros_like(d)
    charge = np.minimum(np.minimum(surplus, batt_power_w), room_w)
    discharge = np.minimum(np.minimum(deficit, batt_power_w), avail_w)
    export = np.minimum(surplus - charge, export_limit_w)
    curtailed = surplus - charge - export
    imported = deficit - discharge
    soc = soc_j + (charge * eta - discharge / eta) * dt_s
    soc = np.clip(soc, 0.0, batt_energy_j)
    return Dispatch(renewable_w=r, used_w=used, import_w=imported, export_w=export,
                    curtailed_w=curtailed, charge_w=charge, discharge_w=discharge, soc_j=soc)
