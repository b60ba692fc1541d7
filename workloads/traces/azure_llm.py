"""Reader for the Azure LLM inference trace 2023 (Splitwise): one row per request.

Header ``TIMESTAMP,ContextTokens,GeneratedTokens``: arrival time
``YYYY-MM-DD HH:MM:SS.fffffff`` (7 fractional digits, no zone), prompt tokens and output
tokens. See ``data/azure_llm_2023/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from workloads.requests import RequestArrays
from workloads.traces.common import (
    MAX_TRACE_TOKENS,
    TraceIssue,
    check_path,
    csv_rows,
    parse_int,
)

__all__ = ["AZURE_LLM_COLUMNS", "AzureLLMTrace", "parse_azure_timestamp", "read_azure_llm"]

AZURE_LLM_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


def parse_azure_timestamp(text: str) -> tuple[datetime, float]:
    """``(whole-second datetime, fraction of a second)`` from ``2023-11-16 18:17:03.9799600``.

    The fraction is kept apart because :func:`datetime.strptime` reads at most 6 digits
    and float seconds since the epoch would lose the 100 ns resolution.
    """
    whole, _, frac = text.strip().partition(".")
    try:
        when = datetime.strptime(whole, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"TIMESTAMP: {text!r} is not 'YYYY-MM-DD HH:MM:SS.fffffff'") from None
    if frac and not frac.isdigit():
        raise ValueError(f"TIMESTAMP: {text!r} has a bad fraction of a second")
    return when, float(f"0.{frac}") if frac else 0.0


@dataclass(frozen=True, eq=False)
class AzureLLMTrace:
    """Valid requests sorted by arrival: ``requests.times_s`` counts seconds from ``start``
    (the first arrival, ``None`` if no row was valid); ``lines`` are their file lines."""

    path: Path
    requests: RequestArrays
    lines: np.ndarray
    start: datetime | None
    issues: tuple[TraceIssue, ...]


def read_azure_llm(path: str | Path) -> AzureLLMTrace:
    """Read an Azure LLM inference CSV; malformed rows are skipped and listed in ``issues``.

    Prompt tokens must be >= 1 and output tokens >= 0.
    """
    p = check_path(path, "Azure LLM")
    lines: list[int] = []
    whens: list[datetime] = []
    fracs: list[float] = []
    prompts: list[int] = []
    outputs: list[int] = []
    issues: list[TraceIssue] = []
    for line, row in csv_rows(p, AZURE_LLM_COLUMNS, "Azure LLM"):
        if isinstance(row, str):
            issues.append(TraceIssue(str(p), line, row))
            continue
        try:
            when, frac = parse_azure_timestamp(row["TIMESTAMP"])
            prompt = parse_int(row["ContextTokens"], "ContextTokens", minimum=1,
                               maximum=MAX_TRACE_TOKENS)
            output = parse_int(row["GeneratedTokens"], "GeneratedTokens", minimum=0,
                               maximum=MAX_TRACE_TOKENS)
        except ValueError as err:
            issues.append(TraceIssue(str(p), line, str(err)))
            continue
        lines.append(line)
        whens.append(when)
        fracs.append(frac)
        prompts.append(prompt)
        outputs.append(output)
    if not lines:
        return AzureLLMTrace(p, RequestArrays.empty(), np.empty(0, dtype=np.int64), None,
                             tuple(issues))
    start_whole = min(whens)
    whole = np.array([(w - start_whole).total_seconds() for w in whens])
    raw = whole + np.asarray(fracs)
    order = np.lexsort((np.asarray(lines), raw))  # by time, ties by line
    times = raw[order] - raw[order][0]
    start = start_whole + timedelta(seconds=float(raw[order][0]))
    requests = RequestArrays(times, np.asarray(prompts, dtype=np.int64)[order],
                             np.asarray(outputs, dtype=np.int64)[order])
    return AzureLLMTrace(p, requests, np.asarray(lines, dtype=np.int64)[order], start,
                         tuple(issues))
