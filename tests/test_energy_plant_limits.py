"""The solar plant's AC limit holds for rescaled output and bounds what the run calls the
plant's peak (solar hours, renewable-to-IT ratio)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from emulator.energy.climate import ambient_c
from emulator.energy.solar import clear_sky_yield_kwh_per_kwp, solar_interval_mean_w
from topologies.energy import SolarConfig
from topologies.presets import resolve_site

JUNE = dt.datetime(2025, 6, 21, tzinfo=dt.UTC)
T60 = resolve_site("bizerte-20mw").energy.solar  # type: ignore[union-attr]


def _temp(start: dt.datetime, t: np.ndarray) -> np.ndarray:
    return ambient_c(T60.ambient, start, t, 1.0)  # type: ignore[arg-type]


def _day(cfg: SolarConfig) -> np.ndarray:
    ticks = np.arange(0.0, 86400.0, 300.0)
    return solar_interval_mean_w(cfg, 33.92, 8.13, 45.0, JUNE, ticks,
                                 np.full(ticks.size, 300.0), _temp, None)


def test_annual_yield_above_clear_sky_stays_within_the_inverter() -> None:
    # 2,500 kWh/kWp is ~1.46x the clear-sky yield: the rescaled peak was 57 MW > 50 MWac
    high = T60.model_copy(update={"annual_yield": 2500.0})
    p = _day(high)
    assert p.max() <= 50e6 * (1 + 1e-12), p.max() / 1e6
    assert p.max() > _day(T60).max()  # still rescaled where the inverter has room


def test_annual_yield_below_clear_sky_is_met_exactly() -> None:
    y = clear_sky_yield_kwh_per_kwp(T60, 33.92, 8.13, 45.0, 2025, _temp)
    low = T60.model_copy(update={"annual_yield": 0.8 * y})
    np.testing.assert_allclose(_day(low), 0.8 * _day(T60), rtol=1e-12)
