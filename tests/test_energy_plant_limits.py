"""The solar plant's AC limit holds for rescaled output and bounds what the run calls the
plant's peak (solar hours, renewable-to-IT ratio); the cooling's PUE range is checked
with the scenario."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from emulator.energy.climate import ambient_c
from emulator.energy.solar import clear_sky_yield_kwh_per_kwp, solar_interval_mean_w
from tests.conftest import one_error_line, run_cli
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


def test_inverter_larger_than_the_array_does_not_raise_the_plant_peak() -> None:
    # 1.9 MWp behind a 10 MW inverter: the plant gives at most 1.9 MW, so its solar hours
    # (>= 20 % of the peak) and the renewable-to-IT ratio are taken against 1.9 MW; with
    # 10 MW the threshold (2 MW) was never reached and deferred training never started.
    from emulator.energy.model import build_energy_model
    from emulator.rng import RngStreams

    site = resolve_site("bizerte-20mw").model_copy()
    solar = T60.model_copy(update={"capacity": 1.9e6, "ac_capacity": 10e6})
    site = site.model_copy(update={"energy": site.energy.model_copy(  # type: ignore[union-attr]
        update={"solar": solar})})
    model = build_energy_model([site], JUNE, 86400.0, 300.0, RngStreams(1))
    assert model is not None
    assert model.renewable_peak_w[0] == 1.9e6
    noon_utc = 11 * 3600.0
    assert model.in_solar_hours(noon_utc)
    assert not model.in_solar_hours(0.0)


@pytest.mark.parametrize("overrides,field,expected", [
    (["sites.0.energy.cooling.pue_max=1.05"], "sites.0.energy.cooling.pue_max",
     "got 1.05; expected a value at least pue_min (1.08)"),
    (["sites.0.energy.cooling.pue_min=1.3"], "sites.0.energy.cooling.pue_min",
     "got 1.3; expected a value at most pue_max (1.25, the liquid cooling default)"),
])
def test_upside_down_pue_range_is_reported_at_its_field(overrides: list[str], field: str,
                                                        expected: str) -> None:
    """It was found only while the run was built: a line without the file or the site
    ("energy.cooling: pue_max 1.05 is below pue_min 1.08"), after validate's size
    estimate."""
    sets = [a for o in overrides for a in ("--set", o)]
    proc = run_cli("validate", "examples/bizerte_20mw.yaml", *sets)
    assert "size estimate" not in proc.stdout
    line = one_error_line(proc)
    assert f"examples/bizerte_20mw.yaml: {field}: {expected}" in line


def test_an_energy_out_of_range_is_shown_as_written() -> None:
    """It was shown in joules: "battery.energy: got -18000000000; expected a value
    greater than 0"."""
    line = one_error_line(run_cli("validate", "examples/morocco_40mw.yaml", "--set",
                                  "sites.0.energy.battery.energy=-5MWh"))
    assert "sites.0.energy.battery.energy: got -5MWh; expected a value greater than 0 J" in line


def test_docs_give_the_facility_power_the_engine_computes() -> None:
    """docs/kernels.md gave ``it_w·pue``, leaving out the load-independent part the engine
    adds (``design_it_w``), and docs/energy.md left out the floor of 1 on ``PUE − f``."""
    from pathlib import Path

    from cupy_kernels.power import FIXED_FACILITY_FRACTION as F
    from cupy_kernels.power import facility_power

    docs = Path(__file__).parent.parent / "docs"
    assert "`it_w·(pue − f′) + f′·design_it_w`" in (docs / "kernels.md").read_text()
    assert "IT × (PUE(T) − f′) + f′ × design IT power" in (docs / "energy.md").read_text()
    for pue in (1.01, 1.08, 1.5):
        got = float(facility_power(np, 40.0, pue, 100.0))
        fixed = min(F, pue - 1.0)
        assert got == pytest.approx(40.0 * (pue - fixed) + fixed * 100.0)


def test_docs_say_which_pue_each_energy_table_holds() -> None:
    """energy.parquet's ``pue`` is PUE(T) (1.08 for an idle liquid-cooled hall whose
    facility/IT is 1.17) while energy_hourly.parquet's is facility/IT: the docs said
    neither, and called the sample's demand IT × PUE."""
    from pathlib import Path

    from emulator.energy.model import EnergySample

    doc = (Path(__file__).parent.parent / "docs" / "energy.md").read_text()
    assert "per tick it is PUE(T), the cooling model's PUE at the nameplate load" in doc
    assert "per hour it is facility ÷ IT energy" in doc
    assert "not ``demand_w / it_w``" in (EnergySample.__doc__ or "")
