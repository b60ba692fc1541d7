"""Write results atomically: each file appears complete or not at all.

Files are written to a temporary name in the destination folder, flushed to disk and
renamed over the final name (``os.replace`` is atomic on POSIX), so an interrupted or
failed run never leaves a half-written file and never clobbers a previous result with a
partial one. Nothing is written before the run has finished.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from emulator.arrow_columns import arrow_column

__all__ = ["atomic_write", "atomic_write_all", "column_unit", "write_json", "write_parquet"]


def _written_temp(path: Path, write: Callable[[Path], None]) -> Path:
    """A temporary file beside ``path`` that ``write(tmp)`` filled, flushed to disk and
    readable by all (as results are shared); removed again if anything fails."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are for sharing
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then move ``tmp`` onto ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _written_temp(path, write)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_all(folder: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (name → bytes) into ``folder``, all of them or none.

    Every file is first written in full to a temporary name; only then are they renamed
    over their names, so a write that fails (disk full) leaves ``folder`` as it was
    rather than half old files and half new ones. Returns the paths written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    temps: list[tuple[Path, Path]] = []
    try:
        for name, content in files.items():
            path = folder / name
            temps.append((_written_temp(path, lambda tmp, c=content: tmp.write_bytes(c)),
                          path))
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    return [path for _, path in temps]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented, key-sorted JSON (stable bytes for the same data)."""
    text = json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


_UNITS: tuple[tuple[str, str], ...] = (
    ("_usd_per_kwh", "USD/kWh"), ("_s", "s"), ("_w", "W"), ("_j", "J"), ("_mwh", "MWh"),
    ("_mw", "MW"), ("_m3", "m3"), ("_t", "t CO2e"), ("_c", "degC"), ("_h", "h"),
)
"""Column-name suffixes and the unit each names (written as Parquet field metadata)."""

_NAMED_UNITS: dict[str, str] = {
    "price": "currency/kWh (the row's currency column)",
    "carbon": "gCO2e/kWh",
    "wue": "L/kWh of IT energy",
}
"""Columns whose unit their name does not state."""


def column_unit(name: str) -> str | None:
    """The unit a column's name states (``t_s`` → ``s``, ``price_usd_per_kwh`` →
    ``USD/kWh``), the grid price's (``price``: the row's ``currency`` per kWh), or None."""
    if name in _NAMED_UNITS:
        return _NAMED_UNITS[name]
    if name.endswith("gpu_s"):
        return "GPU-s"
    return next((unit for suffix, unit in _UNITS if name.endswith(suffix)), None)


def write_parquet(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Write equal-length columns as a Parquet table (units as field metadata ``unit``;
    non-finite floats as null, datetimes as UTC timestamps)."""
    fields, arrays = [], []
    for name, col in columns.items():
        array = arrow_column(col)
        unit = column_unit(name)
        fields.append(pa.field(name, array.type,
                               metadata=None if unit is None else {"unit": unit}))
        arrays.append(array)
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))
