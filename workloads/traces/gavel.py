"""Readers for the Gavel simulator's job traces and throughput tables (Narayanan et al.,
"Heterogeneity-Aware Cluster Scheduling Policies for Deep Learning Workloads", OSDI 2020;
github.com/stanford-futuredata/gavel, ``scheduler/utils.py`` ``parse_trace``,
``scheduler/simulation_throughputs.json``).

A trace has one job per line, tab-separated: ``job_type, command, working_directory,
num_steps_arg, needs_data_dir, total_steps, scale_factor, priority_weight, SLO,
arrival_time`` (10 fields), or the older 7-field form of its ``traces/msr`` files,
``job_type, command, num_steps_arg, needs_data_dir, total_steps, arrival_time,
scale_factor``. Arrival times are seconds (fractions kept); ``scale_factor`` is the job's
GPU count; a job is done after ``total_steps`` steps.

A throughput table maps GPU type → ``"('<job type>', <scale factor>)"`` → ``{"null":
steps/s}`` (the job alone on its GPUs; Gavel's co-location entries are ignored), so a job
lasts ``total_steps / steps_per_s`` seconds on a GPU type: its speed depends on where it
runs.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from workloads.traces.common import (
    MAX_TRACE_GPUS,
    TraceFormatError,
    TraceIssue,
    check_path,
    decoded_lines,
    parse_float,
    parse_int,
)

__all__ = ["GavelJob", "GavelTrace", "ThroughputTable", "read_gavel", "read_throughputs"]


@dataclass(frozen=True)
class GavelJob:
    """One job: ``job_type`` (the throughput table's key), ``total_steps``,
    ``scale_factor`` (GPUs), ``priority_weight``, ``arrival_s`` and its ``line``."""

    line: int
    job_type: str
    total_steps: int
    scale_factor: int
    priority_weight: float
    arrival_s: float


@dataclass(frozen=True)
class GavelTrace:
    """The valid jobs sorted by ``(arrival_s, line)`` and the skipped lines."""

    path: Path
    jobs: tuple[GavelJob, ...]
    issues: tuple[TraceIssue, ...]


def _parse(fields: list[str]) -> tuple[str, int, int, float, float]:
    if len(fields) == 10:
        job_type, steps, scale, weight, arrival = (fields[0], fields[5], fields[6],
                                                   fields[7], fields[9])
    elif len(fields) == 7:
        job_type, steps, arrival, scale, weight = (fields[0], fields[4], fields[5],
                                                   fields[6], "1")
    else:
        raise ValueError(f"expected 10 (or 7) tab-separated fields, got {len(fields)}")
    if not job_type:
        raise ValueError("job_type: empty")
    return (job_type, parse_int(steps, "total_steps", minimum=1),
            parse_int(scale, "scale_factor", minimum=1, maximum=MAX_TRACE_GPUS),
            parse_float(weight, "priority_weight", strict=True),
            parse_float(arrival, "arrival_time"))


def read_gavel(path: str | Path) -> GavelTrace:
    """Read a Gavel trace; malformed lines (wrong fields, numbers that do not parse, a
    line that is not UTF-8) are skipped and listed in ``issues``."""
    p = check_path(path, "Gavel")
    jobs: list[GavelJob] = []
    issues: list[TraceIssue] = []
    bad: set[int] = set()
    shaped = False  # some line has a Gavel line's number of fields
    for line_no, raw in enumerate(decoded_lines(p, bad), start=1):
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        fields = text.split("\t")
        shaped = shaped or len(fields) in (10, 7)
        if line_no in bad:
            issues.append(TraceIssue(str(p), line_no, "not UTF-8 text"))
            continue
        try:
            jobs.append(GavelJob(line_no, *_parse(fields)))
        except ValueError as err:
            issues.append(TraceIssue(str(p), line_no, str(err)))
    if issues and not shaped:
        raise TraceFormatError(f"{p}: not a Gavel trace (no line has 10 or 7 tab-separated "
                               "fields)")
    jobs.sort(key=lambda j: (j.arrival_s, j.line))
    return GavelTrace(p, tuple(jobs), tuple(issues))


@dataclass(frozen=True)
class ThroughputTable:
    """Steps/s of each ``(job type, scale factor)`` on each GPU type, job alone."""

    path: Path
    steps_per_s: dict[tuple[str, int], dict[str, float]]

    def runtimes_s(self, job_type: str, scale_factor: int,
                   total_steps: int) -> dict[str, float]:
        """Seconds ``total_steps`` take on each GPU type with a positive throughput;
        ``KeyError`` naming the job type if the table lacks it."""
        try:
            row = self.steps_per_s[(job_type, scale_factor)]
        except KeyError:
            raise KeyError(f"throughput table {self.path.name} has no job type "
                           f"{job_type!r} on {scale_factor} GPU(s)") from None
        return {gpu: total_steps / thr for gpu, thr in sorted(row.items()) if thr > 0}


def read_throughputs(path: str | Path) -> ThroughputTable:
    """Read a Gavel-format throughput table (JSON); ``TraceFormatError`` if it is not one."""
    p = check_path(path, "Gavel throughput")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise TraceFormatError(f"{p}: not JSON ({err.msg} at line {err.lineno})") from None
    table: dict[tuple[str, int], dict[str, float]] = {}
    if not isinstance(data, dict):
        raise TraceFormatError(f"{p}: expected a mapping of GPU type to job types")
    for gpu, rows in data.items():
        if not isinstance(rows, dict):
            raise TraceFormatError(f"{p}: GPU type {gpu!r}: expected a mapping of job types")
        for key, entry in rows.items():
            try:
                job_type, scale = ast.literal_eval(key)
                thr = float(entry["null"])
            except (ValueError, SyntaxError, TypeError, KeyError):
                raise TraceFormatError(f"{p}: GPU type {gpu!r}, key {key!r}: expected "
                                       "\"('<job type>', <GPUs>)\": {\"null\": steps/s}") from None
            table.setdefault((str(job_type), int(scale)), {})[str(gpu)] = thr
    return ThroughputTable(p, table)
