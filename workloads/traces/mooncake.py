"""Reader for the Mooncake (Moonshot AI / Kimi, FAST'25) request traces, JSON Lines.

One object per line: ``timestamp`` (arrival, integer milliseconds from trace start),
``input_length`` and ``output_length`` (tokens) and ``hash_ids`` (ids of the 512-token
prompt blocks; equal ids at equal positions are a shared, cacheable prefix). See
``data/mooncake_conversation/README.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.errors import short
from workloads.requests import RequestArrays
from workloads.traces.common import (
    MAX_TRACE_SECONDS,
    MAX_TRACE_TOKENS,
    TraceIssue,
    check_path,
    decoded_lines,
)

__all__ = ["MOONCAKE_BLOCK_TOKENS", "MooncakeTrace", "read_mooncake"]

MOONCAKE_BLOCK_TOKENS = 512
"""Tokens per prefix block that one ``hash_ids`` entry stands for."""


@dataclass(frozen=True, eq=False)
class MooncakeTrace:
    """Valid requests sorted by ``(timestamp, line)``; ``requests.times_s`` in seconds from
    the trace's own zero. ``hash_ids[i]`` are request ``i``'s prefix-block ids and
    ``lines[i]`` its line in the file."""

    path: Path
    requests: RequestArrays
    hash_ids: tuple[tuple[int, ...], ...]
    lines: np.ndarray
    issues: tuple[TraceIssue, ...]


def _int_field(obj: dict[str, object], key: str, minimum: int, maximum: int) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key}: expected an integer, got {short(value, 40)}")
    if value < minimum:
        raise ValueError(f"{key}: {short(value, 40)} is below {minimum}")
    if value > maximum:
        raise ValueError(f"{key}: {short(value, 40)} is above {maximum:,}")
    return value


def _parse(text: str) -> tuple[int, int, int, tuple[int, ...]]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON: {err.msg}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    ts = _int_field(obj, "timestamp", 0, int(MAX_TRACE_SECONDS * 1000))
    prompt = _int_field(obj, "input_length", 1, MAX_TRACE_TOKENS)
    output = _int_field(obj, "output_length", 0, MAX_TRACE_TOKENS)
    ids = obj.get("hash_ids", [])
    if not isinstance(ids, list) or any(isinstance(h, bool) or not isinstance(h, int)
                                        for h in ids):
        raise ValueError("hash_ids: expected a list of integers")
    return ts, prompt, output, tuple(ids)


def read_mooncake(path: str | Path) -> MooncakeTrace:
    """Read a Mooncake JSONL trace; malformed lines are skipped and listed in ``issues``.

    Blank lines are ignored. ``hash_ids`` may be absent (empty tuple).
    """
    p = check_path(path, "Mooncake")
    rows: list[tuple[int, int, int, int, tuple[int, ...]]] = []
    issues: list[TraceIssue] = []
    bad: set[int] = set()
    for line, text in enumerate(decoded_lines(p, bad), start=1):
        if line in bad:
            issues.append(TraceIssue(str(p), line, "not UTF-8 text"))
            continue
        if not text.strip():
            continue
        try:
            ts, prompt, output, ids = _parse(text)
        except ValueError as err:
            issues.append(TraceIssue(str(p), line, str(err)))
            continue
        rows.append((ts, line, prompt, output, ids))
    rows.sort(key=lambda r: (r[0], r[1]))
    times = np.array([r[0] for r in rows], dtype=np.float64) / 1000.0  # the file's own zero
    requests = RequestArrays(times, np.array([r[2] for r in rows], dtype=np.int64),
                             np.array([r[3] for r in rows], dtype=np.int64))
    return MooncakeTrace(p, requests, tuple(r[4] for r in rows),
                         np.array([r[1] for r in rows], dtype=np.int64), tuple(issues))
