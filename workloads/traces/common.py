"""Shared pieces of the trace readers: issue records, errors and CSV header handling.

Readers never stop on a bad row: they skip it and record a :class:`TraceIssue` with the file
and 1-based line number. A missing file raises :class:`TraceNotFoundError` (a
``FileNotFoundError``) naming the path; a file that is not the expected format at all (empty,
or a header without the needed columns) raises :class:`TraceFormatError` (a ``ValueError``).
"""

from __future__ import annotations

import csv
import errno
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TraceFormatError",
    "TraceIssue",
    "TraceNotFoundError",
    "check_path",
    "csv_rows",
    "parse_float",
    "parse_int",
]


@dataclass(frozen=True)
class TraceIssue:
    """A row a reader skipped: ``file`` path, 1-based ``line`` number and why."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class TraceNotFoundError(FileNotFoundError):
    """The trace file does not exist (or is not a file)."""

    def __init__(self, path: Path, what: str) -> None:
        self.message = f"{what} trace file not found: {path}"
        super().__init__(errno.ENOENT, self.message, str(path))

    def __str__(self) -> str:
        return self.message


class TraceFormatError(ValueError):
    """The file is not a trace of the expected kind (empty, or required columns missing)."""


def check_path(path: str | Path, what: str) -> Path:
    """``path`` as a :class:`Path`, or :class:`TraceNotFoundError` if it is not a file."""
    p = Path(path)
    if not p.is_file():
        raise TraceNotFoundError(p, what)
    return p


def csv_rows(path: Path, required: Sequence[str],
             what: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    """``(line, row)`` for each data row of a CSV file with a header.

    ``row`` maps each required column to its raw text, or is an error message string when
    the row has the wrong number of fields. Blank lines are skipped. Raises
    :class:`TraceFormatError` when the file is empty or a required column is missing.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise TraceFormatError(f"{path}: empty file, expected a {what} CSV header")
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise TraceFormatError(f"{path}: not a {what} CSV; missing column(s) "
                                   f"{', '.join(missing)} in header {','.join(header)}")
        index = {c: header.index(c) for c in required}
        for fields in reader:
            line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != len(header):
                yield line, f"expected {len(header)} fields, got {len(fields)}"
                continue
            yield line, {c: fields[i].strip() for c, i in index.items()}


def parse_int(text: str, column: str, minimum: int = 0) -> int:
    """``text`` as an integer ``>= minimum``; ``ValueError`` naming ``column`` otherwise.

    Accepts integral floats such as ``"8.0"``.
    """
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}: {text!r} is not a number") from None
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{column}: {text!r} is not an integer")
    if value < minimum:
        raise ValueError(f"{column}: {text!r} is below {minimum}")
    return int(value)


def parse_float(text: str, column: str, minimum: float = 0.0, strict: bool = False) -> float:
    """``text`` as a finite float ``>= minimum`` (``> minimum`` if ``strict``)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{column}: {text!r} is not finite")
    if value < minimum or (strict and value == minimum):
        bound = ">" if strict else ">="
        raise ValueError(f"{column}: {text!r} must be {bound} {minimum:g}")
    return value
