"""Reader for the job traces of the Tiresias simulator (Gu et al., NSDI 2019).

The simulator of github.com/SymbioticLab/Tiresias (``simulator/README.md``) reads a CSV with
header ``job_id,num_gpu,submit_time,iterations,model_name,duration,interval``: submission
time and run time in seconds (whole seconds in its own traces; fractions are accepted here),
the job's GPU count and a model name. Only ``job_id``, ``num_gpu``, ``submit_time`` and
``duration`` are required; ``iterations`` and ``interval`` are ignored, ``model_name`` is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workloads.traces.common import (
    MAX_TRACE_GPUS,
    TraceIssue,
    check_path,
    csv_rows,
    parse_float,
    parse_int,
)

__all__ = ["TIRESIAS_COLUMNS", "TiresiasJob", "TiresiasTrace", "read_tiresias"]

TIRESIAS_COLUMNS = ("job_id", "num_gpu", "submit_time", "duration")


@dataclass(frozen=True)
class TiresiasJob:
    """One job: its trace ``job_id``, ``submit_s`` (s from the trace's zero), run time
    ``duration_s`` (s), ``num_gpus``, ``model`` name and ``line`` in the file."""

    line: int
    job_id: str
    submit_s: float
    duration_s: float
    num_gpus: int
    model: str


@dataclass(frozen=True)
class TiresiasTrace:
    """The valid jobs sorted by ``(submit_s, line)`` and the skipped rows."""

    path: Path
    jobs: tuple[TiresiasJob, ...]
    issues: tuple[TraceIssue, ...]


def _model_names(path: Path) -> dict[int, str]:
    """``model_name`` by line when the file has that optional column."""
    try:
        rows = csv_rows(path, ("model_name",), "Tiresias")
        return {line: row["model_name"] for line, row in rows if isinstance(row, dict)}
    except ValueError:
        return {}


def read_tiresias(path: str | Path) -> TiresiasTrace:
    """Read a Tiresias job CSV; malformed rows are skipped and listed in ``issues``.

    Times stay on the trace's own clock (its zero is the simulator's zero), so a replay
    starts where the Tiresias simulator does.
    """
    p = check_path(path, "Tiresias")
    models = _model_names(p)
    jobs: list[TiresiasJob] = []
    issues: list[TraceIssue] = []
    for line, row in csv_rows(p, TIRESIAS_COLUMNS, "Tiresias"):
        if isinstance(row, str):
            issues.append(TraceIssue(str(p), line, row))
            continue
        try:
            if not row["job_id"]:
                raise ValueError("job_id: empty")
            jobs.append(TiresiasJob(
                line=line, job_id=row["job_id"],
                submit_s=parse_float(row["submit_time"], "submit_time"),
                duration_s=parse_float(row["duration"], "duration", strict=True),
                num_gpus=parse_int(row["num_gpu"], "num_gpu", minimum=1,
                                   maximum=MAX_TRACE_GPUS),
                model=models.get(line, "")))
        except ValueError as err:
            issues.append(TraceIssue(str(p), line, str(err)))
    jobs.sort(key=lambda j: (j.submit_s, j.line))
    return TiresiasTrace(p, tuple(jobs), tuple(issues))
