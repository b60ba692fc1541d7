"""Ambient temperature and the facility's PUE and WUE as functions of it (vectorised).

The ambient model is a daily and a seasonal cosine around the annual mean (°C); local time
is UTC plus the site's ``utc_offset``. PUE and WUE follow :class:`topologies.energy.CoolingConfig`:
flat up to a threshold temperature, then rising linearly (dry coolers, chillers and
evaporative assist work harder in the heat), PUE clipped to its maximum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from topologies.energy import COOLING_DEFAULTS, AmbientConfig, CoolingConfig

__all__ = ["CoolingModel", "ambient_c", "cooling_model", "day_of_year", "local_hour"]

_DAY_S = 86400.0
_YEAR_DAYS = 365.25


def _epoch_s(start: dt.datetime) -> float:
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    return start.timestamp()


def local_hour(start: dt.datetime, t_s: np.ndarray, utc_offset_h: float) -> np.ndarray:
    """Local clock hour (0..24) at ``t_s`` seconds after ``start``."""
    abs_s = _epoch_s(start) + np.asarray(t_s, dtype=float) + utc_offset_h * 3600.0
    return np.mod(abs_s, _DAY_S) / 3600.0


def day_of_year(start: dt.datetime, t_s: np.ndarray, utc_offset_h: float) -> np.ndarray:
    """Fractional day of year (1 on 1 January 00:00 local) at ``t_s`` after ``start``."""
    local0 = (start if start.tzinfo else start.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    jan1 = dt.datetime(local0.year, 1, 1, tzinfo=dt.UTC).timestamp() - utc_offset_h * 3600.0
    days = (_epoch_s(start) + np.asarray(t_s, dtype=float) - jan1) / _DAY_S
    return np.mod(days, _YEAR_DAYS) + 1.0


def ambient_c(cfg: AmbientConfig, start: dt.datetime, t_s: np.ndarray,
              utc_offset_h: float) -> np.ndarray:
    """Outdoor temperature (°C) at ``t_s`` seconds after ``start``."""
    doy = day_of_year(start, t_s, utc_offset_h)
    hour = local_hour(start, t_s, utc_offset_h)
    seasonal = cfg.seasonal_amplitude * np.cos(2 * np.pi * (doy - cfg.hottest_day) / _YEAR_DAYS)
    daily = cfg.daily_amplitude * np.cos(2 * np.pi * (hour - cfg.hottest_hour) / 24.0)
    return cfg.mean + seasonal + daily


@dataclass(frozen=True)
class CoolingModel:
    """Resolved PUE/WUE parameters (see :class:`topologies.energy.CoolingConfig`)."""

    pue_min: float
    pue_max: float
    threshold: float
    pue_slope: float
    wue: float
    wue_threshold: float
    wue_slope: float

    def pue(self, temp_c: np.ndarray) -> np.ndarray:
        """PUE (≥ 1) at ambient ``temp_c`` (°C)."""
        hot = np.maximum(np.asarray(temp_c, dtype=float) - self.threshold, 0.0)
        return np.clip(self.pue_min + self.pue_slope * hot, self.pue_min, self.pue_max)

    def wue_l_per_kwh(self, temp_c: np.ndarray) -> np.ndarray:
        """Water use (L per kWh of IT energy) at ambient ``temp_c`` (°C)."""
        hot = np.maximum(np.asarray(temp_c, dtype=float) - self.wue_threshold, 0.0)
        return self.wue + self.wue_slope * hot


def cooling_model(cooling_type: str, cfg: CoolingConfig) -> CoolingModel:
    """The site's cooling model: the type's defaults overridden by ``cfg``'s set fields."""
    base = dict(COOLING_DEFAULTS[cooling_type])
    base.update({k: v for k, v in cfg.model_dump().items() if v is not None})
    if base["pue_max"] < base["pue_min"]:
        raise ValueError(f"energy.cooling: pue_max {base['pue_max']} is below pue_min "
                         f"{base['pue_min']}")
    return CoolingModel(**base)
