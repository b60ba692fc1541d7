"""Energy accounting: the battery's starting charge, clock-hour rows, sites without an
energy section."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from emulator.results import collect
from tests.conftest import SMALL_SITE, run_scenario, small_scenario

_NIGHT_GRID = {"carbon": 475, "price": 0.25, "currency": "TND", "usd_per_unit": 0.32}


def _run(energy: dict[str, Any] | None, start: str, duration: str,
         sites: list[dict[str, Any]] | None = None) -> Any:
    data = small_scenario(duration=duration)
    data["sites"] = sites or [{**SMALL_SITE, "energy": energy}]
    data["start"] = start
    return collect(run_scenario(data))


def test_starting_charge_is_not_renewable_and_not_free() -> None:
    """A night run with no renewables whose battery only discharges the charge it started
    with: none of it is renewable, and it costs and emits like a grid import."""
    res = _run({"solar": None, "ppa": {"price": 0.075, "firm": 0}, "grid": _NIGHT_GRID,
                "battery": {"energy": "2MWh", "power": "1MW", "efficiency": 0.81,
                            "initial_soc": 1.0}}, "2025-09-22T20:00:00", "4h")
    site = res.summary["sites"][0]["energy"]
    assert site["renewable_generated_mwh"] == 0.0 and site["grid_import_mwh"] == 0.0
    assert site["battery_discharge_mwh"] > 0.5  # served from the starting charge alone
    assert site["battery_initial_drawn_mwh"] == pytest.approx(site["battery_discharge_mwh"])
    assert site["renewable_share"] == pytest.approx(0.0, abs=1e-12)
    assert res.summary["energy"]["renewable_share"] == pytest.approx(0.0, abs=1e-12)
    assert site["carbon_t"] == pytest.approx(site["battery_discharge_mwh"] * 475e-3)
    assert site["cost_usd"] == pytest.approx(site["cost_initial_charge_usd"])
    assert site["cost_usd"] > 0
    # the stored energy fell by what it delivered over the one-way efficiency (0.9)
    assert site["battery_start_mwh"] - site["battery_end_mwh"] == pytest.approx(
        site["battery_discharge_mwh"] / 0.9)
    hourly = res.tables["energy_hourly"]
    assert hourly["initial_mwh"].sum() == pytest.approx(site["battery_initial_drawn_mwh"])
    assert hourly["carbon_t"].sum() == pytest.approx(site["carbon_t"])


def test_a_charge_put_back_by_renewables_costs_nothing() -> None:
    """Over a day the starting charge is drawn at night and refilled by solar: only the
    net shortfall max(start − end, 0)·√η is booked."""
    res = _run({"grid": _NIGHT_GRID,
                "battery": {"energy": "1MWh", "power": "0.4MW", "efficiency": 0.81,
                            "initial_soc": 0.5}}, "2025-09-22", "1d")
    site = res.summary["sites"][0]["energy"]
    shortfall = max(site["battery_start_mwh"] - site["battery_end_mwh"], 0.0) * 0.9
    assert site["battery_initial_drawn_mwh"] == pytest.approx(shortfall, abs=1e-9)
    hourly = res.tables["energy_hourly"]
    assert hourly["initial_mwh"].max() > 0 and hourly["initial_mwh"].min() < 0
    assert site["carbon_t"] == pytest.approx(
        (site["grid_import_mwh"] + site["battery_initial_drawn_mwh"]) * 475e-3)
    served = (site["renewable_used_mwh"] + site["battery_discharge_mwh"]
              - site["battery_initial_drawn_mwh"])
    assert site["renewable_share"] == pytest.approx(served / site["facility_mwh"])
    assert np.isfinite(site["cost_usd"])


def test_hourly_rows_are_clock_hours() -> None:
    """A run starting at 06:30 with 7-minute samples: rows are clock hours 06:00, 07:00 …
    (first and last partial, their length in dt_s), samples straddling an hour are split
    by time, and the rows add up to the run's totals."""
    data = small_scenario(duration="3h")
    data["sites"] = [{**SMALL_SITE, "energy": {"grid": {"carbon": 475}}}]
    data["start"] = "2025-09-22T06:30:00"
    data["engine"]["sample_interval"] = "7m"
    res = collect(run_scenario(data))
    hourly = res.tables["energy_hourly"]
    starts = [str(h)[:16] for h in hourly["hour_start"].tolist()]
    assert starts == [f"2025-09-22 {h:02d}:00" for h in (6, 7, 8, 9)]
    assert hourly["hour"].tolist() == [0, 1, 2, 3]
    assert hourly["t_s"].tolist() == [0.0, 1800.0, 5400.0, 9000.0]
    assert hourly["dt_s"].tolist() == pytest.approx([1800.0, 3600.0, 3600.0, 1800.0])
    site = res.summary["sites"][0]["energy"]
    assert hourly["demand_mwh"].sum() == pytest.approx(site["facility_mwh"])
    assert hourly["import_mwh"].sum() == pytest.approx(site["grid_import_mwh"])
    assert hourly["carbon_t"].sum() == pytest.approx(site["carbon_t"])
    # a full hour holds 60 minutes of energy: about 60/30 of the half first hour's
    per_s = hourly["it_mwh"] / hourly["dt_s"]
    assert per_s[1] == pytest.approx(per_s[0], rel=0.25)


@pytest.fixture(scope="module")
def mixed_sites() -> Any:
    """Bizerte with its energy section, Morocco without one (carbon known for MA) and a
    site in a country without a default grid intensity, also without one."""
    sites = [dict(SMALL_SITE),
             {"preset": "morocco-40mw", "energy": None,
              "halls": [{"name": "phase1-a", "system": "gb200-nvl72", "racks": 2}]},
             {"preset": "dense-250kw", "country": "FR", "energy": None}]
    return _run(None, "2025-09-22", "6h", sites=sites)


def test_site_without_energy_section_reports_null_not_zero(mixed_sites: Any) -> None:
    rows = {s["name"]: s["energy"] for s in mixed_sites.summary["sites"]}
    bizerte, morocco, fr = rows["bizerte-20mw"], rows["morocco-40mw"], rows["dense-250kw"]
    assert bizerte["energy_section"] and bizerte["cost_usd"] > 0 and bizerte["water_m3"] > 0
    for bare in (morocco, fr):
        assert bare["energy_section"] is False
        assert bare["cost_usd"] is None and bare["cost"] is None and bare["water_m3"] is None
        assert "cost_import_usd" not in bare
        assert bare["grid_import_mwh"] == pytest.approx(bare["facility_mwh"])
    # Morocco's grid intensity is known (605 g/kWh): its imports are counted; FR's is not
    assert morocco["carbon_t"] == pytest.approx(morocco["grid_import_mwh"] * 605e-3)
    assert fr["carbon_t"] is None
    total = mixed_sites.summary["energy"]
    assert total["cost_usd"] == pytest.approx(bizerte["cost_usd"])
    assert total["water_m3"] == pytest.approx(bizerte["water_m3"])
    assert total["carbon_t"] == pytest.approx(bizerte["carbon_t"] + morocco["carbon_t"])
    assert total["not_covered"] == {"carbon_t": ["dense-250kw"],
                                    "cost_usd": ["morocco-40mw", "dense-250kw"],
                                    "water_m3": ["morocco-40mw", "dense-250kw"]}


def test_tables_leave_unknown_prices_and_water_null(mixed_sites: Any) -> None:
    for name, water in (("energy", "wue"), ("energy_hourly", "water_m3")):
        table = mixed_sites.tables[name]
        site = table["site"]
        bare = site != "bizerte-20mw"
        assert np.isnan(table["price"][bare]).all() and np.isfinite(table["price"][~bare]).all()
        assert np.isnan(table[water][bare]).all()
        carbon = table["carbon" if name == "energy" else "carbon_t"]
        assert np.isnan(carbon[site == "dense-250kw"]).all()
        assert np.isfinite(carbon[site != "dense-250kw"]).all()


def test_summary_table_shows_n_a_for_a_site_without_energy(mixed_sites: Any) -> None:
    from rich.console import Console

    from emulator.summary_table import summary_table

    console = Console(width=200, record=True)
    console.print(summary_table(mixed_sites.summary))
    text = console.export_text()
    assert "n/a" in text and "no energy section" in text


def test_report_cost_figure_adds_up_to_the_summarys_cost() -> None:
    """The report's net cost is the summary's: the battery's starting charge drawn is one
    of its parts, and a site without an energy section is named as not costed."""
    from emulator.report.fig_energy import cost_figure
    from emulator.report.rundata import RunData

    res = _run({"solar": None, "ppa": {"price": 0.075, "firm": 0}, "grid": _NIGHT_GRID,
                "battery": {"energy": "2MWh", "power": "1MW", "efficiency": 0.81,
                            "initial_soc": 1.0}}, "2025-09-22T20:00:00", "4h")
    summary = dict(res.summary)
    bare = {"name": "bare", "energy": {"energy_section": False, "cost_usd": None}}
    summary["sites"] = [*summary["sites"], bare]
    cost = summary["sites"][0]["energy"]["cost_usd"]
    assert cost > 0
    fig = cost_figure(RunData(summary=summary, tables={}))
    assert fig.png is not None
    assert f"Net energy cost US${cost:,.0f}" in fig.caption
    assert "battery's starting charge drawn" in fig.caption
    assert "Not costed: bare" in fig.caption
