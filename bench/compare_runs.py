"""Compare two folders of example results: jobs tables and summaries, before and after.

For a refactor that must not move results: run every example into two folders (``gpuemu
run EXAMPLE --headless --out BEFORE/NAME`` on the old code, ``AFTER/NAME`` on the new),
then

    python bench/compare_runs.py BEFORE AFTER

prints, per run, IDENTICAL or the jobs-table columns (submit, start, end, state, GPUs,
GPU-seconds, preemptions, lost GPU-seconds, staging) and summary figures that differ,
before → after. The event-log digest and wall times are left out of the comparison (a
log format change moves the digest by itself).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

IGNORE = {"event_log_sha256", "run", "wall_s"}
COLUMNS = ("work_id", "submit_s", "start_s", "end_s", "state", "n_gpus", "gpu_s",
           "preemptions", "lost_gpu_s", "staging_s")


def flat(d: Any, prefix: str = "") -> dict[str, Any]:
    """A nested summary as ``{"a.b[0].c": value}``."""
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            if k not in IGNORE:
                out.update(flat(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out.update(flat(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = d
    return out


def compare(a: Path, b: Path) -> list[str]:
    """What differs between the runs in folders ``a`` and ``b`` (empty: identical)."""
    # Columns as numpy: a null float (missing figure; older outputs wrote NaN) reads as NaN,
    # so outputs from before and after nulls replaced NaN compare equal.
    ta, tb = pq.read_table(a / "jobs.parquet"), pq.read_table(b / "jobs.parquet")
    ja = {c: ta.column(c).to_numpy(zero_copy_only=False) for c in ta.column_names}
    jb = {c: tb.column(c).to_numpy(zero_copy_only=False) for c in tb.column_names}
    diffs = []
    if len(ja["work_id"]) != len(jb["work_id"]):
        diffs.append(f"jobs: {len(ja['work_id'])} rows -> {len(jb['work_id'])}")
    else:
        for c in COLUMNS:
            if c not in ja or c not in jb:
                diffs.append(f"jobs column {c} missing")
                continue
            x, y = np.asarray(ja[c]), np.asarray(jb[c])
            same = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x == y
            if not np.all(same):
                diffs.append(f"jobs.{c}: {int((~same).sum())} rows differ")
    sa = flat(json.loads((a / "summary.json").read_text()))
    sb = flat(json.loads((b / "summary.json").read_text()))
    for k in sorted(set(sa) | set(sb)):
        if sa.get(k, "<absent>") != sb.get(k, "<absent>"):
            diffs.append(f"summary {k}: {sa.get(k, '<absent>')} -> {sb.get(k, '<absent>')}")
    return diffs


def main() -> None:
    before, after = Path(sys.argv[1]), Path(sys.argv[2])
    for run in sorted(p.name for p in before.iterdir() if (p / "summary.json").exists()):
        if not (after / run / "summary.json").exists():
            print(f"{run}: missing in {after}")
            continue
        diffs = compare(before / run, after / run)
        print(f"{run}: {'IDENTICAL' if not diffs else 'DIFFERS'}")
        for line in diffs:
            print(f"    {line}")


if __name__ == "__main__":
    main()
