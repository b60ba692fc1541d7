"""Compare's table cells say how many seeds a mean covers when it is fewer than were run,
and print mean counts precisely enough to agree with compare.csv."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from rich.console import Console

from emulator.compare import CompareResult, RunMetrics
from emulator.compare_output import markdown_table, print_tables, write_compare
from emulator.sweep import expand_grid


def _run(point: str, seed: int, finished: int, jct_s: float | None) -> RunMetrics:
    metrics = {"overall": {"finished": finished, "jct_mean_s": jct_s, "util": 0.5}}
    t = np.arange(4) * 600.0
    return RunMetrics(point, "backfill", seed, metrics,
                      np.array([] if jct_s is None else [jct_s]), t, np.full(4, 0.5),
                      np.zeros(4), 0.01)


def two_seed_result(overrides: list[str]) -> CompareResult:
    """Two seeds per point: seed 5 finishes no job (no JCT), seed 6 one of 8.64 min."""
    points = expand_grid(overrides)
    runs = [r for pt in points for r in (_run(pt.label, 5, 0, None),
                                         _run(pt.label, 6, 1, 518.4))]
    return CompareResult("s.yaml", ["backfill"], [5, 6], points, runs)


def test_cells_say_how_many_seeds_a_mean_covers(tmp_path: Path) -> None:
    result = two_seed_result([])
    table = markdown_table(result)
    assert "| 8.64 (1 of 2 seeds) |" in table  # mean JCT (min): seed 5 finished none
    assert "| 0.5 ± 6.4 |" in table  # finished: mean 0.5, not "0 ± 6"
    assert "| 50.0 ± 0.0 |" in table  # every seed: no count
    console = Console(record=True, width=200)
    print_tables(result, console)
    text = console.export_text()
    assert "8.64 (1 of 2 seeds)" in text and "0.5 ± 6.4" in text
    out = tmp_path / "cmp"
    write_compare(out, result)
    assert table in (out / "compare.md").read_text()
    with (out / "compare.csv").open() as f:
        rows = {r["metric"]: r for r in csv.DictReader(f) if r["scope"] == "overall"}
    assert rows["jct_mean_s"]["n"] == "1" and float(rows["jct_mean_s"]["mean"]) == 518.4
    assert float(rows["finished"]["mean"]) == 0.5
    assert math.isclose(float(rows["finished"]["ci95"]), 12.706 * math.sqrt(0.5) / math.sqrt(2))
