"""Reader for the Pollux-processed Microsoft Philly job trace (one row per training job).

Header ``timestamp,duration,num_gpus,gpu_time,cluster``: submission time
``YYYY-MM-DD HH:MM:SS[.ffffff]`` (US Pacific local time, no zone), run time in seconds,
GPUs, GPU-seconds and the hashed virtual-cluster id (a tenant).
See ``data/philly_pollux/README.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from workloads.traces.common import (
    MAX_TRACE_GPUS,
    TraceIssue,
    check_path,
    csv_rows,
    parse_float,
    parse_int,
)

__all__ = ["PHILLY_COLUMNS", "PhillyJob", "PhillyTrace", "read_philly"]

PHILLY_COLUMNS = ("timestamp", "duration", "num_gpus", "gpu_time", "cluster")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_TIME_FORMAT_FRACTION = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class PhillyJob:
    """One job: ``submit_s`` seconds after the trace's first submission, ``duration_s`` run
    time (s), ``num_gpus``, ``cluster`` (virtual-cluster id) and its ``line`` in the file."""

    line: int
    submit_s: float
    duration_s: float
    num_gpus: int
    cluster: str


@dataclass(frozen=True)
class PhillyTrace:
    """The valid jobs sorted by ``(submit_s, line)``, the wall-clock ``start`` that
    ``submit_s`` counts from (``None`` if no row was valid), and the skipped rows."""

    path: Path
    jobs: tuple[PhillyJob, ...]
    start: datetime | None
    issues: tuple[TraceIssue, ...]


def _parse(row: dict[str, str]) -> tuple[datetime, float, int, str]:
    try:  # sub-second timestamps ("…:SS.ffffff") are kept to the microsecond
        when = datetime.strptime(row["timestamp"], _TIME_FORMAT_FRACTION
                                 if "." in row["timestamp"] else _TIME_FORMAT)
    except ValueError:
        raise ValueError(f"timestamp: {row['timestamp']!r} is not "
                         "'YYYY-MM-DD HH:MM:SS[.ffffff]'") from None
    duration = parse_float(row["duration"], "duration", strict=True)
    gpus = parse_int(row["num_gpus"], "num_gpus", minimum=1, maximum=MAX_TRACE_GPUS)
    parse_float(row["gpu_time"], "gpu_time", maximum=math.inf)
    if not row["cluster"]:
        raise ValueError("cluster: empty")
    return when, duration, gpus, row["cluster"]


def read_philly(path: str | Path) -> PhillyTrace:
    """Read a processed Philly CSV; malformed rows are skipped and listed in ``issues``."""
    p = check_path(path, "Philly")
    parsed: list[tuple[int, datetime, float, int, str]] = []
    issues: list[TraceIssue] = []
    for line, row in csv_rows(p, PHILLY_COLUMNS, "Philly"):
        if isinstance(row, str):
            issues.append(TraceIssue(str(p), line, row))
            continue
        try:
            parsed.append((line, *_parse(row)))
        except ValueError as err:
            issues.append(TraceIssue(str(p), line, str(err)))
    if not parsed:
        return PhillyTrace(p, (), None, tuple(issues))
    start = min(r[1] for r in parsed)
    jobs = sorted((PhillyJob(line, (when - start).total_seconds(), duration, gpus, cluster)
                   for line, when, duration, gpus, cluster in parsed),
                  key=lambda j: (j.submit_s, j.line))
    return PhillyTrace(p, tuple(jobs), start, tuple(issues))
