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
    "MAX_TRACE_GPUS",
    "MAX_TRACE_SECONDS",
    "MAX_TRACE_TOKENS",
    "TraceFormatError",
    "TraceIssue",
    "TraceNotFoundError",
    "check_path",
    "csv_rows",
    "decoded_lines",
    "parse_float",
    "parse_int",
]


@dataclass(frozen=True)
class TraceIssue:
    """A row a reader skipped: ``file`` path, 1-based ``line`` number and why.

    ``kind`` is ``"malformed"`` for one unusable row; ``"skipped"`` (valid rows that do
    not become work, e.g. CPU-only pods), ``"dropped"`` (rows outside the replayed time)
    and ``"adjusted"`` (rows replayed differently from the trace) count ``count`` rows
    of one file for one reason, with ``line`` 0.
    """

    file: str
    line: int
    message: str
    kind: str = "malformed"
    count: int = 1

    def __str__(self) -> str:
        if self.kind != "malformed":
            return f"{self.file}: {self.count:,} row(s) {self.kind}: {self.message}"
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


MAX_TRACE_GPUS = 1_000_000
"""Most GPUs one trace row may ask for; more is a corrupt row, reported and skipped."""
MAX_TRACE_TOKENS = 100_000_000
"""Most prompt or output tokens one trace request may have."""
MAX_TRACE_SECONDS = 100 * 366 * 86400.0
"""Largest time or duration (s) a trace row may hold: a century."""


def decoded_lines(path: Path, bad: set[int]) -> Iterator[str]:
    """The lines of ``path`` as text, decoded one by one (UTF-8, a leading BOM dropped).

    A line that is not UTF-8 is yielded with replacement characters and its 1-based
    number added to ``bad``, so one stray byte costs that row, not the whole file.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                bad.add(number)
                yield raw.decode("utf-8", errors="replace")


def csv_rows(path: Path, required: Sequence[str],
             what: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    """``(line, row)`` for each data row of a CSV file with a header.

    ``row`` maps each required column to its raw text, or is an error message string when
    the row cannot be used (wrong number of fields, not UTF-8, a field beyond the CSV
    reader's size limit). Blank lines are skipped; a UTF-8 BOM before the header is
    ignored. Raises :class:`TraceFormatError` when the file is empty or a required column
    is missing.
    """
    bad: set[int] = set()
    reader = csv.reader(decoded_lines(path, bad))
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise TraceFormatError(f"{path}: unreadable {what} CSV header ({err})") from None
    if header is None:
        raise TraceFormatError(f"{path}: empty file, expected a {what} CSV header")
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        shown = ",".join(header)
        shown = shown if len(shown) <= 200 else shown[:197] + "..."
        raise TraceFormatError(f"{path}: not a {what} CSV; missing column(s) "
                               f"{', '.join(missing)} in header {shown!r}")
    index = {c: header.index(c) for c in required}
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield start, f"unreadable CSV row ({err})"
            continue
        line = reader.line_num
        if any(n in bad for n in range(start, line + 1)):
            yield line, "not UTF-8 text"
            continue
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) != len(header):
            yield line, f"expected {len(header)} fields, got {len(fields)}"
            continue
        yield line, {c: fields[i].strip() for c, i in index.items()}


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def parse_int(text: str, column: str, minimum: int = 0, maximum: int | None = None) -> int:
    """``text`` as an integer in ``[minimum, maximum]``; ``ValueError`` naming ``column``.

    Accepts integral floats such as ``"8.0"``.
    """
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}: {_shown(text)} is not a number") from None
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{column}: {_shown(text)} is not an integer")
    if value < minimum:
        raise ValueError(f"{column}: {_shown(text)} is below {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{column}: {_shown(text)} is above {maximum:,}")
    return int(value)


def parse_float(text: str, column: str, minimum: float = 0.0, strict: bool = False,
                maximum: float = MAX_TRACE_SECONDS) -> float:
    """``text`` as a finite float ``>= minimum`` (``> minimum`` if ``strict``), ``<= maximum``."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}: {_shown(text)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{column}: {_shown(text)} is not finite")
    if value < minimum or (strict and value == minimum):
        bound = ">" if strict else ">="
        raise ValueError(f"{column}: {_shown(text)} must be {bound} {minimum:g}")
    if value > maximum:
        raise ValueError(f"{column}: {_shown(text)} is above {maximum:g}")
    return value
