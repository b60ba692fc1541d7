"""numpy columns as Arrow arrays, built from their buffers.

``pyarrow.array`` asks pandas whether its input is a Series first, which imports pandas
(about 0.2 s) into every run that writes a Parquet file. Writing results needs no pandas,
so each column is handed to Arrow as its raw buffers (values, validity bitmap, string
offsets) with :meth:`pyarrow.Array.from_buffers`, which never looks for pandas.

Conventions (the result tables' own): object columns become UTF-8 text (``None`` is
null), datetimes become UTC timestamps in µs, and every non-finite float (NaN or ±inf) is
null — a missing figure, never an infinite one. A masked array (:class:`numpy.ma.
MaskedArray`) of booleans is a boolean column whose masked entries are null (a flag that
does not apply to that row).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["arrow_column"]

_MAX_STRING_BYTES = 2**31 - 1
"""Arrow's ``string`` type has 32-bit offsets; longer text uses ``large_string``."""


def _validity(valid: np.ndarray) -> tuple[pa.Buffer | None, int]:
    """Arrow's validity bitmap (least significant bit first) and the null count."""
    nulls = int(valid.size - np.count_nonzero(valid))
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def _text(col: np.ndarray) -> pa.Array:
    values = col.tolist()
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    encoded = [b"" if v is None else str(v).encode("utf-8") for v in values]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    total = int(lengths.sum())
    kind, offset_type = ((pa.string(), np.int32) if total <= _MAX_STRING_BYTES
                         else (pa.large_string(), np.int64))
    offsets = np.zeros(len(values) + 1, dtype=offset_type)
    np.cumsum(lengths, out=offsets[1:])
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(kind, len(values), [bitmap, pa.py_buffer(offsets),
                                                     pa.py_buffer(b"".join(encoded))],
                                 null_count=nulls)


def arrow_column(col: np.ndarray) -> pa.Array:
    """One column as an Arrow array (see the module's conventions)."""
    if isinstance(col, np.ma.MaskedArray) and col.dtype.kind == "b":
        valid = ~np.ma.getmaskarray(col)
        bitmap, nulls = _validity(valid)
        bits = pa.py_buffer(np.packbits(np.ma.getdata(col) & valid, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), len(col), [bitmap, bits], null_count=nulls)
    col = np.asarray(col)
    n = len(col)
    if col.dtype == object:
        return _text(col)
    if col.dtype.kind == "U":
        return _text(col.astype(object))
    if col.dtype.kind == "b":
        bits = pa.py_buffer(np.packbits(col, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), n, [None, bits], null_count=0)
    if col.dtype.kind == "M":
        micro = np.ascontiguousarray(col.astype("datetime64[us]").view(np.int64))
        bitmap, nulls = _validity(~np.isnat(col))
        return pa.Array.from_buffers(pa.timestamp("us", tz="UTC"), n,
                                     [bitmap, pa.py_buffer(micro)], null_count=nulls)
    if col.dtype.kind not in "iuf":
        raise TypeError(f"no Arrow conversion for a column of dtype {col.dtype}")
    values = np.ascontiguousarray(col)
    if values.dtype.byteorder == ">":
        values = values.astype(values.dtype.newbyteorder("<"))
    bitmap, nulls = _validity(np.isfinite(values)) if col.dtype.kind == "f" else (None, 0)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), n,
                                 [bitmap, pa.py_buffer(values)], null_count=nulls)
