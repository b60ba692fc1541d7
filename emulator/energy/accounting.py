"""Energy results from the event log's energy samples: totals, per site, per hour.

Each :class:`~emulator.energy.model.EnergySample` holds for its interval ``dt_s``; energies
are power × ``dt_s``. Renewable share = (renewable energy serving demand directly + battery
discharge − energy drawn from the battery's starting charge) / facility energy: the battery
charges only from renewable surplus during the run, but the charge it starts with was not
generated in the run.

The starting charge (``initial_soc`` × battery energy) is a loan. In every interval the
part of the battery's level below its starting level that the interval takes away
(``min(initial, soc_before) − min(initial, soc_after)``, times the one-way efficiency √η:
the energy it delivers) is booked as *drawn from the starting charge*: like a grid import
at that interval's price and carbon intensity (without the loan the grid would have
supplied it, and the charge has to be put back). Renewable surplus that later refills the
battery up to its starting level is credited back the same way (negative draw). Over a run
the draws add up to ``max(initial − final, 0)·√η``: a run that ends with at least the
charge it started with pays nothing for it, one that ends with less pays for the
difference. Charge above the starting level is the run's own renewable energy.

Carbon counts grid imports and the starting charge drawn at the grid's intensity
(renewables at zero, a scope-2 market-based view). Cost = PPA price × renewable energy
generated (take-or-pay) + import price × (imports + starting charge drawn) − export price
× exports, in the site's currency and in US dollars; the parts are reported too
(``cost_ppa_usd``, ``cost_import_usd``, ``cost_initial_charge_usd``,
``export_revenue_usd``).

Grid and caps per site: ``peak_import_mw`` (highest interval-mean import),
``power_cap_mw`` (the highest value the configured power cap took, ``None`` without a
cap: a constant cap's value, a renewable cap's best moment), ``over_cap_s`` (seconds the
facility demand stayed above the cap), ``export_limit_mw`` (the limit export was held to:
``grid.export_limit``, by default the grid connection) and ``renewable_to_it_ratio``
(renewable peak power over the site's nameplate IT load: the plant is sized in
absolute watts, so shrinking a preset's halls without shrinking its plant makes it large).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import numpy as np

from emulator.energy.model import EnergySample

__all__ = ["cap_figures", "energy_hourly_table", "energy_summary", "energy_table",
           "initial_charge_drawn_w"]

_J_PER_MWH = 3.6e9
_J_PER_KWH = 3.6e6
_FLOWS = ("it_w", "demand_w", "renewable_w", "used_w", "import_w", "export_w",
          "curtailed_w", "charge_w", "discharge_w")


def _stack(samples: Sequence[EnergySample], name: str) -> np.ndarray:
    return np.array([getattr(s, name) for s in samples], dtype=float)


def cap_figures(samples: Sequence[EnergySample]
                ) -> tuple[list[float | None], np.ndarray, np.ndarray]:
    """Per site: the power cap's peak value (W, ``None`` where the site has no cap), the
    seconds its facility demand was above the cap, and the peak grid import (W)."""
    dt = np.array([s.dt_s for s in samples])[:, None]
    demand = _stack(samples, "demand_w")
    cap = _stack(samples, "cap_w")
    over_cap_s = ((demand > cap * (1 + 1e-9)) * dt).sum(0)
    finite = np.where(np.isfinite(cap), cap, -np.inf).max(0)
    cap_peak = [float(c) if np.isfinite(c) else None for c in finite.tolist()]
    return cap_peak, over_cap_s, _stack(samples, "import_w").max(0)


def initial_charge_drawn_w(samples: Sequence[EnergySample],
                           initial_soc_j: Sequence[float] | None,
                           batt_eff: Sequence[float] | None) -> np.ndarray:
    """Per interval and site, power (W, delivered side) drawn from the battery's starting
    charge: positive while the battery falls below its starting level, negative while
    renewable surplus refills it up to that level (module docstring). Zeros without
    ``initial_soc_j`` (no battery)."""
    n_sites = samples[0].it_w.size if samples else 0
    if initial_soc_j is None or not samples:
        return np.zeros((len(samples), n_sites))
    init = np.asarray(initial_soc_j, dtype=float)
    eta = np.sqrt(np.asarray(batt_eff, dtype=float)) if batt_eff is not None else 1.0
    after = _stack(samples, "soc_j")
    before = np.vstack([init[None, :], after[:-1]])
    drawn_j = np.minimum(init, before) - np.minimum(init, after)
    dt = np.array([s.dt_s for s in samples])[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(dt > 0, drawn_j * eta / np.where(dt > 0, dt, 1.0), 0.0)


def _mw(w: float) -> float | None:
    """W → MW, ``None`` for an infinite (absent) limit."""
    return float(w / 1e6) if np.isfinite(w) else None


def _site_figures(samples: Sequence[EnergySample], grid_connection_w: Sequence[float],
                  usd_per_unit: Sequence[float], currency: Sequence[str],
                  export_limit_w: Sequence[float] | None,
                  renewable_peak_w: Sequence[float] | None,
                  it_full_w: Sequence[float] | None,
                  initial_soc_j: Sequence[float] | None,
                  batt_eff: Sequence[float] | None,
                  configured: Sequence[bool] | None) -> list[dict[str, Any]]:
    dt = np.array([s.dt_s for s in samples])[:, None]
    e = {k: (_stack(samples, k) * dt).sum(0) for k in _FLOWS}  # J per site
    imp_kwh = _stack(samples, "import_w") * dt / _J_PER_KWH
    drawn = initial_charge_drawn_w(samples, initial_soc_j, batt_eff)
    drawn_kwh = drawn * dt / _J_PER_KWH
    drawn_j = drawn_kwh.sum(0) * _J_PER_KWH
    carbon_t = ((imp_kwh + drawn_kwh) * _stack(samples, "carbon")).sum(0) / 1e6
    cost_ppa = (_stack(samples, "renewable_w") * dt / _J_PER_KWH
                * _stack(samples, "ppa_price")).sum(0)
    price = _stack(samples, "price")
    cost_import = (imp_kwh * price).sum(0)
    cost_initial = (drawn_kwh * price).sum(0)
    export_revenue = (_stack(samples, "export_w") * dt / _J_PER_KWH
                      * _stack(samples, "export_price")).sum(0)
    cost = cost_ppa + cost_import + cost_initial - export_revenue
    soc_start = (np.zeros(drawn.shape[1]) if initial_soc_j is None
                 else np.asarray(initial_soc_j, dtype=float))
    soc_end = samples[-1].soc_j
    water_m3 = (_stack(samples, "it_w") * dt / _J_PER_KWH * _stack(samples, "wue")).sum(0) / 1e3
    demand = _stack(samples, "demand_w")
    cap_peak, over_cap_s, peak_import = cap_figures(samples)
    out = []
    for i in range(demand.shape[1]):
        dem = e["demand_w"][i]
        served = e["used_w"][i] + e["discharge_w"][i] - drawn_j[i]
        share = max(served, 0.0) / dem if dem > 0 else 0.0  # 0, not −1e-16
        peak = float(demand[:, i].max())
        out.append({
            "facility_mwh": float(dem / _J_PER_MWH),
            "it_mwh": float(e["it_w"][i] / _J_PER_MWH),
            "mean_pue": float(dem / e["it_w"][i]) if e["it_w"][i] > 0 else None,
            "renewable_generated_mwh": float(e["renewable_w"][i] / _J_PER_MWH),
            "renewable_used_mwh": float(e["used_w"][i] / _J_PER_MWH),
            "renewable_share": float(share),
            "grid_import_mwh": float(e["import_w"][i] / _J_PER_MWH),
            "grid_export_mwh": float(e["export_w"][i] / _J_PER_MWH),
            "curtailed_mwh": float(e["curtailed_w"][i] / _J_PER_MWH),
            "battery_charge_mwh": float(e["charge_w"][i] / _J_PER_MWH),
            "battery_discharge_mwh": float(e["discharge_w"][i] / _J_PER_MWH),
            "battery_start_mwh": float(soc_start[i] / _J_PER_MWH),
            "battery_end_mwh": float(soc_end[i] / _J_PER_MWH),
            "battery_initial_drawn_mwh": float(drawn_j[i] / _J_PER_MWH),
            "carbon_t": float(carbon_t[i]),
            "cost": float(cost[i]),
            "currency": currency[i],
            "cost_usd": float(cost[i] * usd_per_unit[i]),
            "cost_ppa_usd": float(cost_ppa[i] * usd_per_unit[i]),
            "cost_import_usd": float(cost_import[i] * usd_per_unit[i]),
            "cost_initial_charge_usd": float(cost_initial[i] * usd_per_unit[i]),
            "export_revenue_usd": float(export_revenue[i] * usd_per_unit[i]),
            "water_m3": float(water_m3[i]),
            "peak_facility_mw": peak / 1e6,
            "peak_import_mw": float(peak_import[i] / 1e6),
            "grid_connection_mw": float(grid_connection_w[i] / 1e6),
            "peak_within_connection": bool(peak <= grid_connection_w[i]),
            "power_cap_mw": None if cap_peak[i] is None else cap_peak[i] / 1e6,
            "over_cap_s": float(over_cap_s[i]),
        })
        row = out[-1]
        if configured is not None:
            row["energy_section"] = bool(configured[i])
            if not configured[i]:
                _not_modelled(row, float(samples[0].carbon[i]))
        if export_limit_w is not None:
            row["export_limit_mw"] = _mw(float(export_limit_w[i]))
            row["peak_export_mw"] = float(_stack(samples, "export_w")[:, i].max() / 1e6)
        if renewable_peak_w is not None and it_full_w is not None:
            row["renewable_to_it_ratio"] = (float(renewable_peak_w[i] / it_full_w[i])
                                            if it_full_w[i] > 0 else None)
    return out


_COST_PARTS = ("cost_ppa_usd", "cost_import_usd", "cost_initial_charge_usd",
               "export_revenue_usd")
_NOT_COVERED = ("carbon_t", "cost_usd", "water_m3")


def _not_modelled(row: dict[str, Any], carbon_g_per_kwh: float) -> None:
    """A site without an energy section: no prices, PPA or cooling water were given, so
    its cost and water are not computed (``None``, cost parts left out), not zero; its
    carbon is its imports at the country's grid intensity when that is known, else
    ``None``."""
    row.update(cost=None, currency=None, cost_usd=None, water_m3=None)
    for key in _COST_PARTS:
        row.pop(key, None)
    if carbon_g_per_kwh <= 0:
        row["carbon_t"] = None


def energy_summary(samples: Sequence[EnergySample], grid_connection_w: Sequence[float],
                   usd_per_unit: Sequence[float], currency: Sequence[str], *,
                   export_limit_w: Sequence[float] | None = None,
                   renewable_peak_w: Sequence[float] | None = None,
                   it_full_w: Sequence[float] | None = None,
                   initial_soc_j: Sequence[float] | None = None,
                   batt_eff: Sequence[float] | None = None,
                   configured: Sequence[bool] | None = None,
                   site_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Totals over all sites (``total``) and per site (``sites``); energies in MWh, carbon
    in t CO2e, water in m³, cost in US dollars for the total.

    With ``export_limit_w`` each site also reports ``export_limit_mw`` (``None``:
    unlimited) and ``peak_export_mw``; with ``renewable_peak_w`` and ``it_full_w`` (nameplate
    IT load) its ``renewable_to_it_ratio``. ``initial_soc_j`` (J) and ``batt_eff`` (round
    trip) per site: the battery's starting charge, booked as in the module docstring;
    ``None``: the battery starts empty. ``configured``: per site, whether it has an energy
    section; a site without one reports ``energy_section: false`` and ``None`` for what
    cannot be computed without it (cost, water; carbon where its country's grid intensity
    is unknown), and the totals of ``carbon_t``, ``cost_usd`` and ``water_m3`` add up the
    sites that have them: ``total.not_covered`` lists, per figure, the sites left out
    (``None`` for a figure no site has).
    """
    if not samples:
        return {}
    per_site = _site_figures(samples, grid_connection_w, usd_per_unit, currency,
                             export_limit_w, renewable_peak_w, it_full_w, initial_soc_j,
                             batt_eff, configured)
    names = [str(n) for n in site_names] if site_names is not None else [
        str(i) for i in range(len(per_site))]

    def tot(key: str) -> float:
        return float(sum(s[key] for s in per_site))

    def covered(key: str) -> float | None:
        values = [s[key] for s in per_site if s.get(key) is not None]
        return float(sum(values)) if values else None

    facility = tot("facility_mwh")
    renewable_served = (tot("renewable_used_mwh") + tot("battery_discharge_mwh")
                        - tot("battery_initial_drawn_mwh"))
    total = {
        "facility_mwh": facility,
        "renewable_generated_mwh": tot("renewable_generated_mwh"),
        "renewable_share": max(renewable_served, 0.0) / facility if facility > 0 else 0.0,
        "grid_import_mwh": tot("grid_import_mwh"),
        "grid_export_mwh": tot("grid_export_mwh"),
        "curtailed_mwh": tot("curtailed_mwh"),
        "battery_initial_drawn_mwh": tot("battery_initial_drawn_mwh"),
        "carbon_t": covered("carbon_t"),
        "cost_usd": covered("cost_usd"),
        "water_m3": covered("water_m3"),
        "not_covered": {key: [n for n, s in zip(names, per_site, strict=True)
                              if s.get(key) is None] for key in _NOT_COVERED},
    }
    total["not_covered"] = {k: v for k, v in total["not_covered"].items() if v}
    return {"total": total, "sites": per_site}


def _unknown(samples: Sequence[EnergySample], n_sites: int,
             configured: Sequence[bool] | None) -> tuple[np.ndarray, np.ndarray]:
    """Per site: whether its prices and water are unknown (no energy section), and whether
    its carbon intensity is (no energy section and no country default)."""
    if configured is None or not samples:
        return np.zeros(n_sites, bool), np.zeros(n_sites, bool)
    bare = ~np.asarray(configured, dtype=bool)
    return bare, bare & (samples[0].carbon <= 0)


def energy_table(samples: Sequence[EnergySample], site_names: Sequence[str],
                 configured: Sequence[bool] | None = None) -> dict[str, np.ndarray]:
    """One row per sample and site: every field of :class:`EnergySample` (SI units).

    ``configured``: per site, whether it has an energy section; a site without one has
    ``price`` and ``wue`` NaN (null in Parquet: not given, not zero), and ``carbon`` NaN
    where its country's grid intensity is unknown."""
    n_sites = len(site_names)
    n = len(samples)
    out: dict[str, np.ndarray] = {
        "t_s": np.repeat([s.t for s in samples], n_sites).astype(float),
        "dt_s": np.repeat([s.dt_s for s in samples], n_sites).astype(float),
        "site": np.tile(np.array(site_names, dtype=object), n),
    }
    no_price, no_carbon = _unknown(samples, n_sites, configured)
    for name in (*_FLOWS, "soc_j", "cap_w", "pue", "ambient_c", "wue", "price", "carbon"):
        values = _stack(samples, name) if n else np.empty((0, n_sites))
        mask = {"wue": no_price, "price": no_price, "carbon": no_carbon}.get(name)
        if mask is not None and mask.any():
            values = np.where(mask[None, :], np.nan, values)
        out[name] = values.reshape(-1)
    return out


def _clock_hour_pieces(t: np.ndarray, dt: np.ndarray, offset_s: float
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split intervals ``[t, t + dt)`` (s from the start) at clock-hour boundaries.

    ``offset_s``: seconds the start lies past a clock hour. Returns, per piece, the sample
    it comes from, its clock hour (0: the hour holding the start) and its length (s).
    """
    a = t + offset_s
    b = a + dt
    first = np.floor(a / 3600.0).astype(np.int64)
    last = np.maximum(np.ceil(b / 3600.0).astype(np.int64) - 1, first)
    count = last - first + 1
    sample = np.repeat(np.arange(t.size), count)
    hour = np.repeat(first, count) + (np.arange(count.sum())
                                      - np.repeat(np.cumsum(count) - count, count))
    lo = np.maximum(a[sample], hour * 3600.0)
    hi = np.minimum(b[sample], (hour + 1) * 3600.0)
    return sample, hour, np.maximum(hi - lo, 0.0)


def energy_hourly_table(samples: Sequence[EnergySample], site_names: Sequence[str],
                        initial_soc_j: Sequence[float] | None = None,
                        batt_eff: Sequence[float] | None = None,
                        start: datetime.datetime | None = None,
                        configured: Sequence[bool] | None = None) -> dict[str, np.ndarray]:
    """One row per clock hour (UTC) and site: energies in MWh, carbon in t, water in m³,
    mean PUE, ambient temperature (°C) and import price (time-weighted).

    Rows are clock hours, the hours tariffs and hourly carbon or solar data use: a run
    that starts at 06:30 has a first row 06:00-07:00 covering its first 30 minutes. Per
    row, ``hour`` counts clock hours from the one holding the start (0), ``hour_start`` is
    that clock hour (UTC datetime; left out without ``start``), ``t_s`` the first second
    of the run it covers (s from the start) and ``dt_s`` how many seconds of the run it
    covers (less than 3600 in a partial first or last hour). A sample interval that
    straddles an hour boundary is split between the two hours in proportion to time.
    ``start`` is the scenario's start (``None``: taken to be on the hour).
    ``initial_mwh`` is the energy drawn from the battery's starting charge (negative: put
    back), booked in ``carbon_t`` like an import (module docstring). ``configured`` as in
    :func:`energy_table`: a site without an energy section has ``price`` and ``water_m3``
    NaN, and ``carbon_t`` NaN where its grid intensity is unknown."""
    n_sites = len(site_names)
    if not samples:
        return {"hour": np.empty(0, np.int64), "site": np.empty(0, object)}
    epoch = offset_s = 0.0
    if start is not None:
        epoch = (start if start.tzinfo else start.replace(tzinfo=datetime.UTC)).timestamp()
        offset_s = float(np.round(np.mod(epoch, 3600.0), 6))
    t = np.array([s.t for s in samples], dtype=float)
    dt_s = np.array([s.dt_s for s in samples], dtype=float)
    sample, hour, piece_s = _clock_hour_pieces(t, dt_s, offset_s)
    hours = np.unique(hour)
    row = np.searchsorted(hours, hour)
    n_h = hours.size
    # share of each sample's interval that falls into its piece's hour
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(dt_s[sample] > 0, piece_s / np.where(dt_s[sample] > 0,
                                                              dt_s[sample], 1.0), 0.0)

    def by_hour(per_sample: np.ndarray) -> np.ndarray:
        """Sum of per-sample amounts (shape (samples, sites)) over each hour's pieces."""
        acc = np.zeros((n_h, n_sites))
        np.add.at(acc, row, per_sample[sample] * share[:, None])
        return acc.reshape(-1)

    covered = np.zeros(n_h)
    np.add.at(covered, row, piece_s)
    first_s = np.maximum(hours * 3600.0 - offset_s, 0.0)
    floor_us = round((epoch - offset_s) * 1e6)
    hour_start = (np.datetime64(floor_us, "us")
                  + (hours * 3600 * 10**6).astype("timedelta64[us]"))
    out: dict[str, np.ndarray] = {"hour": np.repeat(hours - hours[0], n_sites)}
    if start is not None:
        out["hour_start"] = np.repeat(hour_start, n_sites)
    out |= {
        "t_s": np.repeat(first_s, n_sites),
        "dt_s": np.repeat(covered, n_sites),
        "site": np.tile(np.array(site_names, dtype=object), n_h),
    }
    dt = dt_s[:, None]
    for name in _FLOWS:
        out[name.replace("_w", "_mwh")] = by_hour(_stack(samples, name) * dt / _J_PER_MWH)
    drawn = initial_charge_drawn_w(samples, initial_soc_j, batt_eff)
    out["initial_mwh"] = by_hour(drawn * dt / _J_PER_MWH)
    imp_kwh = (_stack(samples, "import_w") + drawn) * dt / _J_PER_KWH
    out["carbon_t"] = by_hour(imp_kwh * _stack(samples, "carbon") / 1e6)
    out["water_m3"] = by_hour(_stack(samples, "it_w") * dt / _J_PER_KWH
                              * _stack(samples, "wue") / 1e3)
    secs = by_hour(np.broadcast_to(dt, (len(samples), n_sites)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pue"] = out["demand_mwh"] / np.where(out["it_mwh"] > 0, out["it_mwh"], np.nan)
        out["ambient_c"] = by_hour(_stack(samples, "ambient_c") * dt) / secs
        out["price"] = by_hour(_stack(samples, "price") * dt) / secs
    no_price, no_carbon = _unknown(samples, n_sites, configured)
    for name, mask in (("price", no_price), ("water_m3", no_price), ("carbon_t", no_carbon)):
        if mask.any():
            out[name] = np.where(np.tile(mask, n_h), np.nan, out[name])
    return out
