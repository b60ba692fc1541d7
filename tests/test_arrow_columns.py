"""numpy → Arrow columns from buffers: same values and types as ``pyarrow.array``, no pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from emulator.arrow_columns import arrow_column

ROOT = Path(__file__).resolve().parent.parent


def test_floats_non_finite_become_null() -> None:
    col = np.array([1.5, np.nan, np.inf, -np.inf, -2.0])
    out = arrow_column(col)
    assert out.type == pa.float64()
    assert out.to_pylist() == [1.5, None, None, None, -2.0]
    assert out.null_count == 3


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint16", "float32", ">i8", ">f8"])
def test_numeric_dtypes_round_trip(dtype: str) -> None:
    col = np.arange(-3 if dtype[0] not in "u" else 0, 7).astype(dtype)
    out = arrow_column(col)
    assert out.to_pylist() == col.tolist()
    assert out.null_count == 0


def test_strided_column_is_copied_not_misread() -> None:
    col = np.arange(20, dtype=np.int64)[::3]
    assert arrow_column(col).to_pylist() == col.tolist()


def test_text_with_nulls_and_unicode() -> None:
    col = np.array(["gpu", None, "Tétouan", "", 7], dtype=object)
    out = arrow_column(col)
    assert out.type == pa.string()
    assert out.to_pylist() == ["gpu", None, "Tétouan", "", "7"]
    assert arrow_column(np.array(["a", "bc"])).to_pylist() == ["a", "bc"]


def test_booleans_and_datetimes() -> None:
    flags = np.array([True, False, True, True, False, False, True, False, True])
    assert arrow_column(flags).to_pylist() == flags.tolist()
    times = np.array(["2026-11-29T10:00:00", "NaT", "2026-11-29T10:00:00.000250"],
                     dtype="datetime64[ns]")
    out = arrow_column(times)
    assert out.type == pa.timestamp("us", tz="UTC")
    assert out.null_count == 1
    assert out.cast(pa.int64()).to_pylist()[2] - out.cast(pa.int64()).to_pylist()[0] == 250


def test_same_as_pyarrow_array() -> None:
    rng = np.random.default_rng(3)
    col = rng.normal(size=1000)
    col[rng.integers(0, 1000, 50)] = np.nan
    finite = np.isfinite(col)
    assert arrow_column(col).equals(pa.array(col, mask=~finite))


def test_a_run_that_writes_parquet_does_not_import_pandas(tmp_path: Path) -> None:
    """Writing results needs pyarrow, not pandas (about 0.2 s of every start-up)."""
    scenario = ROOT / "examples" / "tiresias_60.yaml"  # no solar site: pvlib needs pandas
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['emulator', 'run', {str(scenario)!r}, '--headless',"
        f" '--out', {str(tmp_path / 'out')!r}]\n"
        "try:\n    runpy.run_module('emulator', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('pandas', 'matplotlib', 'pvlib') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=300)
    assert (tmp_path / "out" / "jobs.parquet").exists()
    assert out.stdout.strip().splitlines()[-1] == "[]"
