"""PV plant output (W AC) over a run: pvlib clear sky, optional seeded clouds, or a CSV.

Computed once per run for the whole horizon, vectorised (DESIGN principle 4): the engine's
sampler only indexes the precomputed interval means. pvlib (the photovoltaic community's
reference library) is imported lazily, so runs without solar never load it.

Model chain (pvlib): solar position (NREL SPA) → Ineichen clear-sky GHI/DNI/DHI with the
Linke turbidity climatology bundled with pvlib (monthly, aerosols included) → plane of
array (isotropic sky; fixed tilt or single-axis trackers with backtracking) → SAPM cell
temperature (open rack, glass/glass) → PVWatts DC at the plant's peak power → system
losses → inverter efficiency, clipped at the AC capacity.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from topologies.energy import CloudConfig, SolarConfig

__all__ = ["AirTemp", "ac_limit_w", "clear_sky_yield_kwh_per_kwp", "cloud_index", "csv_series",
           "pv_ac_w", "solar_interval_mean_w"]

AirTemp = Callable[[dt.datetime, np.ndarray], np.ndarray]
"""Ambient temperature (°C) at the plant as a function of (start, seconds after start)."""

SUBSTEP_S = 300.0
"""Solar output is evaluated every 5 min (at most) and averaged over each sample interval."""

NIGHT_DRAW_FRACTION = 0.02
"""Most negative measured PV output a CSV may hold, as a fraction of the plant's AC limit
(``ac_capacity``, else ``capacity``). A meter at the plant's connection reads slightly
negative at night: the inverters' standby draw and the step-up transformer's no-load
losses, a fraction of a percent of the rating. That draw is the plant's own auxiliary load,
not power the site buys, so such values are read as 0 W (as the pvlib path clips DC power
at 0); anything more negative is not a standby draw but a sign or unit mistake."""

OVER_CAPACITY_FACTOR = 1.5
"""Largest measured PV output a CSV may hold, as a multiple of the plant's AC limit. The
inverters cap AC output near their rating (a plant given without ``ac_capacity`` may run
somewhat over its DC nameplate in cold, bright, cloud-edge moments); values up to this
multiple are kept as measured, larger ones are another plant or another unit (kW or MW
written as W)."""


def pv_ac_w(cfg: SolarConfig, lat: float, lon: float, altitude: float,
            start: dt.datetime, t_s: np.ndarray, air_temp_c: np.ndarray,
            clearness: np.ndarray | None = None) -> np.ndarray:
    """AC power (W) of the plant ``cfg`` at times ``t_s`` (s after ``start``, UTC).

    ``air_temp_c`` is the ambient temperature at the plant (°C, same shape);
    ``clearness`` an optional clear-sky index (0..1) scaling the irradiance.
    """
    import pandas as pd
    import pvlib

    with warnings.catch_warnings():  # pvlib still calls pandas APIs pandas 3 deprecates
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return _pv_ac_w(pd, pvlib, cfg, lat, lon, altitude, start, t_s, air_temp_c, clearness)


def _pv_ac_w(pd: Any, pvlib: Any, cfg: SolarConfig, lat: float, lon: float, altitude: float,
             start: dt.datetime, t_s: np.ndarray, air_temp_c: np.ndarray,
             clearness: np.ndarray | None) -> np.ndarray:
    times = pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(t_s, unit="s"))
    if times.tz is None:
        times = times.tz_localize("UTC")
    loc = pvlib.location.Location(lat, lon, tz="UTC", altitude=altitude)
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, model="ineichen", solar_position=sp)
    if cfg.tracking == "single-axis":
        tr = pvlib.tracking.singleaxis(sp["apparent_zenith"], sp["azimuth"],
                                       axis_azimuth=180.0, max_angle=60.0, backtrack=True,
                                       gcr=0.35)
        tilt = tr["surface_tilt"].fillna(0.0)
        azimuth = tr["surface_azimuth"].fillna(180.0)
    else:
        tilt = abs(lat) if cfg.tilt is None else cfg.tilt
        azimuth = cfg.azimuth
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, sp["apparent_zenith"], sp["azimuth"], cs["dni"], cs["ghi"], cs["dhi"])
    poa_w = np.nan_to_num(poa["poa_global"].to_numpy(dtype=float), nan=0.0)
    if clearness is not None:
        poa_w = poa_w * clearness
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    cell = pvlib.temperature.sapm_cell(poa_w, air_temp_c, 2.0, **params)
    dc = pvlib.pvsystem.pvwatts_dc(poa_w, cell, cfg.capacity, cfg.temp_coefficient)
    dc = np.clip(np.asarray(dc, dtype=float), 0.0, None) * (1.0 - cfg.losses)
    ac = dc * cfg.inverter_efficiency
    return np.minimum(ac, ac_limit_w(cfg))


def ac_limit_w(cfg: SolarConfig) -> float:
    """Most AC power (W) the plant can deliver: its inverter limit ``ac_capacity`` (the
    DC ``capacity`` when none is given), never more than the DC ``capacity`` (an inverter
    larger than the array does not add power)."""
    if cfg.ac_capacity is None:
        return float(cfg.capacity)
    return float(min(cfg.ac_capacity, cfg.capacity))


def cloud_index(cfg: CloudConfig, t_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clear-sky index at times ``t_s`` (evenly spaced, s): AR(1) around the mean, in [0, 1].

    ``x[k] = φ·x[k−1] + √(1−φ²)·ε``, ``φ = exp(−Δt/τ)``, ε standard normal, so ``x`` is
    stationary with unit variance and correlation time τ; index = clip(mean + sd·x, 0, 1).
    """
    n = t_s.size
    if n == 0:
        return np.empty(0)
    step = float(t_s[1] - t_s[0]) if n > 1 else cfg.correlation_time
    phi = float(np.exp(-step / cfg.correlation_time))
    eps = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = eps[0]
    scale = np.sqrt(1.0 - phi * phi)
    # A linear recursion: scipy.signal.lfilter would vectorise it, but this runs once per
    # run over a few thousand points, not per event.
    for k in range(1, n):
        x[k] = phi * x[k - 1] + scale * eps[k]
    return np.clip(cfg.mean_clearness + cfg.sd * x, 0.0, 1.0)


def csv_series(cfg: SolarConfig, t_s: np.ndarray) -> np.ndarray:
    """AC power (W) at ``t_s`` from the user's CSV (``t_s`` + ``power_w`` or ``fraction``).

    Negative power down to :data:`NIGHT_DRAW_FRACTION` of the plant's AC limit (night
    standby draw) is read as 0 W. Raises ``ValueError`` with one line naming the file for a
    path that is not a file, a file that is not UTF-8 text, missing columns, a cell that is
    not a number, a row of another width, a value that is not finite, a power below that
    floor or above :data:`OVER_CAPACITY_FACTOR` × the AC limit (naming the line, column and
    value), or fewer than two increasing times.
    """
    assert cfg.csv is not None
    path = Path(cfg.csv)
    where = f"solar.csv: {str(path)!r}"
    expected = "expected a CSV file with columns t_s and power_w or fraction"
    if not path.exists():
        raise ValueError(f"solar.csv: file {str(path)!r} not found; {expected}")
    if not path.is_file():
        raise ValueError(f"{where} is not a file; {expected}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where} is not UTF-8 text; {expected}") from None
    except OSError as exc:
        raise ValueError(f"{where} cannot be read ({exc.strerror or exc}); {expected}") from None
    lines = text.splitlines()
    header = [h.strip() for h in lines[0].split(",")] if lines else []
    if "t_s" not in header or not ({"power_w", "fraction"} & set(header)):
        raise ValueError(f"{where} needs columns t_s and power_w or "
                         f"fraction; found {header}")
    rows: list[list[float]] = []
    numbers: list[int] = []
    for number, line in enumerate(lines[1:], start=2):
        body = line.split("#", 1)[0].strip()  # blank lines and '#' comments, as np.loadtxt
        if not body:
            continue
        cells = [c.strip() for c in body.split(",")]
        if len(cells) != len(header):
            raise ValueError(f"{where} line {number}: {len(cells)} values, the header has "
                             f"{len(header)} columns; expected one number per column")
        try:
            rows.append([float(c) for c in cells])
            numbers.append(number)
        except ValueError:
            raise ValueError(f"{where} line {number}: got {body[:60]!r}; expected a number "
                             "in every column") from None
    data = np.array(rows, dtype=float).reshape(len(rows), len(header))
    t = data[:, header.index("t_s")]
    if "power_w" in header:
        p = data[:, header.index("power_w")]
    else:
        p = data[:, header.index("fraction")] * cfg.capacity
    bad = np.flatnonzero(~(np.isfinite(t) & np.isfinite(p)))
    if bad.size:
        raise ValueError(f"{where}: data row {int(bad[0]) + 1} holds a value that is not "
                         "finite "
                         f"(t_s {t[bad[0]]:g}, power {p[bad[0]]:g} W); expected finite numbers")
    p = _plant_power(cfg, p, header, data, numbers, where)
    if t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError(f"{where} t_s must increase, at least two rows")
    span = t[-1] - t[0] + (t[-1] - t[-2])
    return np.interp(t_s, t, p, period=span)


def _plant_power(cfg: SolarConfig, p: np.ndarray, header: list[str], data: np.ndarray,
                 numbers: list[int], where: str) -> np.ndarray:
    """The measured power ``p`` (W) with night standby draw read as 0 W; a value beyond
    what the plant can give or draw is a ``ValueError`` naming its line and column."""
    limit = ac_limit_w(cfg)
    floor, ceiling = -NIGHT_DRAW_FRACTION * limit, OVER_CAPACITY_FACTOR * limit
    bad = np.flatnonzero((p < floor) | (p > ceiling))
    if bad.size:
        k = int(bad[0])
        column = "power_w" if "power_w" in header else "fraction"
        value = float(data[k, header.index(column)])
        scale = 1.0 if column == "power_w" else 1.0 / cfg.capacity
        unit = " W" if column == "power_w" else " of capacity"
        raise ValueError(
            f"{where} line {numbers[k]}, column {column}: got {value:g}; expected "
            f"{floor * scale:g} to {ceiling * scale:g}{unit} (a night standby draw of at most "
            f"{NIGHT_DRAW_FRACTION:.0%} of the plant's AC limit {limit:g} W, read as 0, "
            f"up to {OVER_CAPACITY_FACTOR:g} × it)")
    return np.maximum(p, 0.0)


def solar_interval_mean_w(cfg: SolarConfig, lat: float, lon: float, altitude: float,
                          start: dt.datetime, tick_s: np.ndarray, interval_s: np.ndarray,
                          air_temp_c: AirTemp, rng: np.random.Generator | None) -> np.ndarray:
    """Mean AC power (W) over each interval ``[tick_s[k], tick_s[k] + interval_s[k])``.

    Evaluated at the midpoints of sub-steps of at most :data:`SUBSTEP_S` and averaged.
    ``air_temp_c(start, t_s)`` gives the ambient temperature at the plant; ``rng`` draws the cloud
    process (unused without ``cfg.clouds``).
    """
    n_sub = max(1, int(np.ceil(float(np.max(interval_s, initial=0.0)) / SUBSTEP_S)))
    frac = (np.arange(n_sub) + 0.5) / n_sub
    t = (tick_s[:, None] + interval_s[:, None] * frac[None, :]).ravel()
    if cfg.csv is not None:
        p = csv_series(cfg, t)
    else:
        clear = None
        if cfg.clouds is not None and rng is not None:
            grid = np.arange(t.size) * (float(interval_s[0]) / n_sub if interval_s.size else 1.0)
            clear = cloud_index(cfg.clouds, grid, rng)
        p = pv_ac_w(cfg, lat, lon, altitude, start, t, air_temp_c(start, t), clear)
        if cfg.annual_yield is not None:
            # Rescaled output stays within the inverter: a target above what the clipped
            # plant can give yields less than asked (a lower one is met exactly).
            p = np.minimum(p * cfg.annual_yield / clear_sky_yield_kwh_per_kwp(
                cfg, lat, lon, altitude, start.year, air_temp_c), ac_limit_w(cfg))
    return p.reshape(-1, n_sub).mean(axis=1)


def clear_sky_yield_kwh_per_kwp(cfg: SolarConfig, lat: float, lon: float, altitude: float,
                                year: int, air_temp_c: AirTemp) -> float:
    """Clear-sky annual specific yield (kWh AC per kWp DC) of ``cfg`` for ``year``."""
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    days = 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
    t = np.arange(0.0, days * 86400.0, 900.0) + 450.0
    unscaled = cfg.model_copy(update={"annual_yield": None, "clouds": None})
    ac = pv_ac_w(unscaled, lat, lon, altitude, start, t, air_temp_c(start, t))
    return float(ac.sum() * 900.0 / 3.6e6 / (cfg.capacity / 1e3))

