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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["atomic_write", "write_json", "write_parquet"]


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then move ``tmp`` onto ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
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
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def write_parquet(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Write equal-length columns as a Parquet table."""
    arrays = {}
    for name, col in columns.items():
        if col.dtype == object:
            arrays[name] = pa.array([None if v is None else str(v) for v in col.tolist()],
                                    type=pa.string())
        else:
            arrays[name] = pa.array(col)
    table = pa.table(arrays)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))
