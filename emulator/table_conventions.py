"""Result tables as data tools expect them: time points as UTC datetimes beside the float
seconds, and prices with their currency.

The tables keep their float-second columns (``t_s``, ``submit_s`` …: seconds from the
scenario's ``start``, which the rest of the program reads) and gain a datetime column for
each time point (``time``, ``submit_time``, ``start_time``, ``end_time``,
``arrival_time``; ``hour_start`` for the hourly energy table): ``start + seconds``, UTC,
microsecond resolution, missing (NaT, null in Parquet) where the seconds are NaN (a job
that never started). Durations (``wait_s``, ``jct_s``, ``ttft_s`` …) stay seconds.

A price column (``price``: the site's grid price, in the site's currency per kWh) gains a
``currency`` column (ISO 4217 code, per row: sites may differ) and ``price_usd_per_kwh``
(converted with the site's ``usd_per_unit``), so no price is left without its unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np

__all__ = ["TIME_POINTS", "with_conventions", "with_currency", "with_datetimes"]

TIME_POINTS: dict[str, str] = {
    "t_s": "time",
    "submit_s": "submit_time",
    "start_s": "start_time",
    "end_s": "end_time",
    "arrival_s": "arrival_time",
}
"""Float-second time-point columns and the datetime column each gains."""

_HOUR_COLUMN = ("hour", "hour_start")
"""The hourly energy table's hour index (hours from ``start``) and its datetime column."""


def _datetimes(seconds: np.ndarray, start: dt.datetime) -> np.ndarray:
    """``start + seconds`` as ``datetime64[us]`` (UTC wall time), NaT where not finite."""
    base = np.datetime64(start.astimezone(dt.UTC).replace(tzinfo=None), "us")
    s = np.asarray(seconds, dtype=np.float64)
    finite = np.isfinite(s)
    us = np.zeros(s.shape, dtype=np.int64)
    us[finite] = np.rint(s[finite] * 1e6).astype(np.int64)
    out = base + us.astype("timedelta64[us]")
    out[~finite] = np.datetime64("NaT")
    return out


def with_datetimes(table: Mapping[str, np.ndarray],
                   start: dt.datetime) -> dict[str, np.ndarray]:
    """``table`` with a datetime column after each time-point column it has (an existing
    column of that name is left as it is)."""
    out: dict[str, np.ndarray] = {}
    for name, col in table.items():
        out[name] = col
        target = TIME_POINTS.get(name)
        if target is not None and target not in table and col.dtype.kind == "f":
            out[target] = _datetimes(col, start)
        elif (name, col.dtype.kind) == (_HOUR_COLUMN[0], "i") and _HOUR_COLUMN[1] not in table:
            out[_HOUR_COLUMN[1]] = _datetimes(col.astype(np.float64) * 3600.0, start)
    return out


def with_currency(table: Mapping[str, np.ndarray],
                  currency_by_site: Mapping[str, tuple[str, float]]) -> dict[str, np.ndarray]:
    """``table`` with ``currency`` and ``price_usd_per_kwh`` after its ``price`` column,
    when it has ``price`` and ``site`` columns; ``currency_by_site`` maps a site name to
    its ``(currency code, US dollars per unit)``."""
    if "price" not in table or "site" not in table or "currency" in table:
        return dict(table)
    sites = [str(s) for s in table["site"].tolist()]
    unknown = sorted(set(sites) - set(currency_by_site))
    if unknown:
        raise KeyError(f"no currency for site(s) {unknown}")
    code = np.array([currency_by_site[s][0] for s in sites], dtype=object)
    usd = np.array([currency_by_site[s][1] for s in sites], dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    for name, col in table.items():
        out[name] = col
        if name == "price":
            out["currency"] = code
            out["price_usd_per_kwh"] = np.asarray(col, dtype=np.float64) * usd
    return out


def with_conventions(tables: Mapping[str, Mapping[str, np.ndarray]], start: dt.datetime,
                     currency_by_site: Mapping[str, tuple[str, float]]
                     ) -> dict[str, dict[str, np.ndarray]]:
    """Every table with its datetime columns and, where it has prices, their currency."""
    return {name: with_datetimes(with_currency(t, currency_by_site), start)
            for name, t in tables.items()}
