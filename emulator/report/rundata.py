"""One run's results as arrays: read from its output folder, or from in-memory results.

A run folder holds ``summary.json``, one Parquet file per table (``jobs``, ``events``,
``placements``, ``timeseries``, and where recorded ``infra``, ``requests``, ``energy``,
``rack_util``) and ``scenario.resolved.yaml``. Tables are read column by column and only
when a figure asks, so a report on a run with tens of millions of requests reads the
few columns it plots. Time columns are seconds from the scenario's start; a column
stored as a timestamp is converted back to seconds from the start, and nulls in numeric
columns become NaN (so an unreachable request's TTFT reads as NaN either way).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from emulator.errors import UserError

__all__ = ["RunData", "load_run"]

Columns = dict[str, np.ndarray]
_DEFAULT_START = dt.datetime(2025, 3, 20, tzinfo=dt.UTC)


@dataclass
class RunData:
    """Summary, tables and the scenario's start time of one run.

    ``tables`` holds tables already in memory; ``folder`` (when set) is where the other
    tables are read from, on demand.
    """

    summary: dict[str, Any]
    start: dt.datetime = _DEFAULT_START
    folder: Path | None = None
    tables: dict[str, Columns] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.summary.get("scenario", "run"))

    @property
    def horizon_s(self) -> float:
        """Simulated seconds the run covered."""
        return float(self.summary.get("simulated_s", 0.0))

    def has(self, table: str) -> bool:
        """Whether the run recorded ``table``."""
        return table in self.tables or (
            self.folder is not None and (self.folder / f"{table}.parquet").is_file())

    def rows(self, table: str) -> int:
        """Row count of ``table`` (0 when absent), without reading its columns."""
        if table in self.tables:
            cols = self.tables[table]
            return len(next(iter(cols.values()))) if cols else 0
        if self.folder is not None and (self.folder / f"{table}.parquet").is_file():
            try:
                return int(pq.ParquetFile(self.folder / f"{table}.parquet").metadata.num_rows)
            except (pa.ArrowException, OSError) as exc:
                raise ValueError(f"{table}.parquet: {_first_line(exc)}") from None
        return 0

    def columns(self, table: str, names: Sequence[str] | None = None) -> Columns:
        """Columns ``names`` (all when ``None``) of ``table``; empty dict when absent."""
        if table in self.tables:
            cols = self.tables[table]
            return {k: np.asarray(v) for k, v in cols.items() if names is None or k in names}
        if not self.has(table):
            return {}
        assert self.folder is not None
        path = self.folder / f"{table}.parquet"
        try:
            schema = pq.read_schema(path)
            wanted = [n for n in (names or schema.names) if n in schema.names]
            read = pq.read_table(path, columns=wanted)
        except (pa.ArrowException, OSError) as exc:  # cut short, or not Parquet at all
            raise ValueError(f"{table}.parquet: {_first_line(exc)}") from None
        return {n: self._to_numpy(read.column(n)) for n in wanted}

    def _to_numpy(self, col: pa.ChunkedArray) -> np.ndarray:
        kind = col.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            stamps = col.cast(pa.timestamp("us", tz="UTC")).to_numpy(zero_copy_only=False)
            start = np.datetime64(self.start.astimezone(dt.UTC).replace(tzinfo=None), "us")
            return (stamps.astype("datetime64[us]") - start) / np.timedelta64(1, "s")
        if pa.types.is_duration(kind):
            return col.cast(pa.duration("us")).to_numpy(zero_copy_only=False) / np.timedelta64(
                1, "s")
        if pa.types.is_floating(kind) or (pa.types.is_integer(kind) and col.null_count):
            return col.cast(pa.float64()).fill_null(float("nan")).to_numpy()
        if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
            return col.to_numpy()
        return np.array(col.to_pylist(), dtype=object)


def _first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, without its final full stop."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).rstrip(".")


def _start_of(resolved: Mapping[str, Any] | None) -> dt.datetime:
    """The scenario's ``start`` (UTC) from its resolved YAML, else the scenario default."""
    value = (resolved or {}).get("start")
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return _DEFAULT_START
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return _DEFAULT_START


def start_from_yaml(text: str) -> dt.datetime:
    """The scenario start of a resolved-scenario YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return _DEFAULT_START
    return _start_of(data if isinstance(data, dict) else None)


def load_run(folder: Path) -> RunData:
    """The run in ``folder``; :class:`UserError` when it is not a run's output folder."""
    summary_path = folder / "summary.json"
    if not folder.is_dir():
        raise UserError(f"RUN_DIR {folder}: not a folder; expected the output folder of "
                        "gpuemu run (it holds summary.json)")
    if not summary_path.is_file():
        raise UserError(f"RUN_DIR {folder}: no summary.json; expected the output folder of "
                        "gpuemu run")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"RUN_DIR {folder}: summary.json cannot be read ({exc}); expected "
                        "the JSON a run writes") from None
    if not isinstance(summary, dict):
        raise UserError(f"RUN_DIR {folder}: summary.json is not a JSON object; expected the "
                        "summary a run writes")
    _check_manifest(folder)
    resolved = folder / "scenario.resolved.yaml"
    start = (start_from_yaml(resolved.read_text(encoding="utf-8")) if resolved.is_file()
             else _DEFAULT_START)
    return RunData(summary=summary, start=start, folder=folder)


def _check_manifest(folder: Path) -> None:
    """:class:`UserError` when ``folder``'s ``manifest.json`` lists a table or the resolved
    scenario that is not there: the result set is damaged, and a figure left out for want
    of it would blame the run. (Report figures and traces may be missing: they are
    written again. Checksums are not read here: hashing every table of a large run costs
    more than the report; ``emulator.outputs.verify`` does that.)"""
    path = folder / "manifest.json"
    if not path.is_file():
        return  # a folder written by hand or by an older version: read what is there
    try:
        listed = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise UserError(f"RUN_DIR {folder}: manifest.json cannot be read ({exc}); expected "
                        "the JSON object a run writes") from None
    for name in listed:
        if name.endswith((".parquet", ".yaml")) and not (folder / name).is_file():
            raise UserError(f"RUN_DIR {folder}: {name} is missing, though manifest.json "
                            "lists it; the result set is damaged (run the scenario again, "
                            "or restore the file)")
