"""Parquet conventions: UTC datetime columns from the scenario's ``start`` beside the float
seconds, null (never inf or NaN) for missing figures, units as field metadata, and prices
with their currency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from emulator.export import column_unit, write_parquet
from emulator.results import collect, write_results
from emulator.table_conventions import with_currency, with_datetimes
from tests.conftest import SMALL_SITE, run_scenario, small_scenario

START = dt.datetime(2025, 9, 22, 6, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 1-day run of the small scenario with a Tunisian-dinar energy section, written."""
    data = small_scenario(duration="1d")
    data["sites"] = [{**SMALL_SITE, "energy": {
        "grid": {"currency": "TND", "usd_per_unit": 0.32, "price": 0.3},
        "solar": {"capacity": "2MW", "location": {"lat": 36.8, "lon": 10.2}}}}]
    data["start"] = START.isoformat()
    sim = run_scenario(data)
    out = tmp_path_factory.mktemp("conventions") / "run"
    write_results(out, collect(sim), {"seed": 7})
    return out


def test_time_points_gain_utc_datetimes(written: Path) -> None:
    jobs = pq.read_table(written / "jobs.parquet")
    assert jobs.schema.field("submit_time").type == pa.timestamp("us", tz="UTC")
    submit_s = jobs.column("submit_s").to_numpy(zero_copy_only=False)
    expected = [START + dt.timedelta(seconds=float(s)) for s in submit_s]
    got = jobs.column("submit_time").to_pylist()
    assert all(abs((g - e).total_seconds()) < 1e-6 for g, e in zip(got, expected, strict=True))
    # a job that never started has no start time: null in both columns
    assert jobs.column("start_s").null_count == jobs.column("start_time").null_count
    for name, column in (("requests", "arrival_time"), ("timeseries", "time"),
                         ("events", "time"), ("energy", "time"), ("energy_hourly", "time")):
        table = pq.read_table(written / f"{name}.parquet")
        assert table.schema.field(column).type == pa.timestamp("us", tz="UTC"), name
        assert table.num_rows and table.column(column).null_count == 0, name
        assert pc.min(table.column(column)).as_py() >= START, name
    hourly = pq.read_table(written / "energy_hourly.parquet")
    assert hourly.schema.field("hour_start").type == pa.timestamp("us", tz="UTC")
    # rows are clock hours: START is 06:30, so the first row is 06:00-07:00 and covers
    # the run's first 30 minutes (from START, its `time`)
    on_the_hour = START.replace(minute=0)
    assert hourly.column("hour_start").to_pylist()[:2] == [
        on_the_hour, on_the_hour + dt.timedelta(hours=1)]
    assert hourly.column("time").to_pylist()[:2] == [START, on_the_hour + dt.timedelta(hours=1)]
    assert hourly.column("dt_s").to_pylist()[:2] == [1800.0, 3600.0]


def test_no_float_in_any_table_is_nan_or_infinite(written: Path) -> None:
    checked = 0
    for path in sorted(written.glob("*.parquet")):
        table = pq.read_table(path)
        for field in table.schema:
            if pa.types.is_floating(field.type):
                col = table.column(field.name)
                assert not pc.any(pc.is_nan(col)).as_py(), f"{path.name}:{field.name}"
                assert not pc.any(pc.is_inf(col)).as_py(), f"{path.name}:{field.name}"
                checked += 1
    assert checked > 20
    jobs = pq.read_table(written / "jobs.parquet")
    unfinished = pc.sum(pc.not_equal(jobs.column("state"), "finished")).as_py()
    assert unfinished and jobs.column("jct_s").null_count == unfinished  # null, not NaN


def test_prices_carry_their_currency(written: Path) -> None:
    for name in ("energy", "energy_hourly"):
        table = pq.read_table(written / f"{name}.parquet")
        assert set(table.column("currency").to_pylist()) == {"TND"}
        price = table.column("price").to_numpy(zero_copy_only=False)
        usd = table.column("price_usd_per_kwh").to_numpy(zero_copy_only=False)
        assert np.allclose(usd, price * 0.32) and price.max() > 0
        assert table.schema.field("price_usd_per_kwh").metadata == {b"unit": b"USD/kWh"}
        assert b"currency" in table.schema.field("price").metadata[b"unit"]


def test_units_are_field_metadata(written: Path) -> None:
    jobs = pq.read_table(written / "jobs.parquet").schema
    assert jobs.field("submit_s").metadata == {b"unit": b"s"}
    assert jobs.field("gpu_s").metadata == {b"unit": b"GPU-s"}
    assert jobs.field("tenant").metadata is None
    assert column_unit("facility_w") == "W" and column_unit("carbon_t") == "t CO2e"


def test_write_parquet_turns_inf_and_nan_into_null(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_parquet(path, {"x": np.array([1.0, np.inf, -np.inf, np.nan]),
                         "n": np.arange(4, dtype=np.int64)})
    table = pq.read_table(path)
    assert table.column("x").to_pylist() == [1.0, None, None, None]
    assert table.column("n").to_pylist() == [0, 1, 2, 3]


def test_with_datetimes_keeps_seconds_and_marks_missing() -> None:
    table = {"t_s": np.array([0.0, 90.5, np.nan]), "wait_s": np.array([1.0, 2.0, 3.0])}
    out = with_datetimes(table, dt.datetime(2025, 1, 1, 1, tzinfo=dt.timezone(
        dt.timedelta(hours=1))))  # 01:00 at UTC+1 is midnight UTC
    assert list(out) == ["t_s", "time", "wait_s"]  # durations gain nothing
    assert out["t_s"] is table["t_s"]
    assert out["time"][0] == np.datetime64("2025-01-01T00:00:00", "us")
    assert out["time"][1] == np.datetime64("2025-01-01T00:01:30.500", "us")
    assert np.isnat(out["time"][2])


def test_with_currency_per_site_row() -> None:
    table = {"site": np.array(["a", "b"], dtype=object), "price": np.array([1.0, 10.0])}
    out = with_currency(table, {"a": ("EUR", 1.1), "b": ("MAD", 0.1)})
    assert list(out) == ["site", "price", "currency", "price_usd_per_kwh"]
    assert out["currency"].tolist() == ["EUR", "MAD"]
    assert np.allclose(out["price_usd_per_kwh"], [1.1, 1.0])
    with pytest.raises(KeyError, match="'b'"):
        with_currency(table, {"a": ("EUR", 1.1)})
