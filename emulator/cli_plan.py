"""``gpuemu plan``: the smallest (or largest) integer setting that meets a target.

``gpuemu plan SCENARIO --vary sites.0.halls.1.racks --range 8..64 --target
'tenants.eu-inference.slo_attainment >= 0.99' --seeds 3`` bisects the range
(:mod:`emulator.plan`) on the sweep executor (:mod:`emulator.cli_executor`), prints the
answer with a confidence statement and any monotonicity warning, and writes
``plan.csv``, ``plan.json`` and ``plan.png`` (:mod:`emulator.plan_output`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from emulator.cli_common import SetOption, _guard, parse_until
from emulator.cli_executor import (
    CacheOption,
    NoCacheOption,
    SchedulerOption,
    SerialOption,
    WorkersOption,
    cache_folder,
    cell_progress,
    executor_for,
    resume_note,
)
from emulator.errors import UserError
from emulator.interrupts import Interrupted

__all__ = ["register", "table_columns"]


def table_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every key of ``rows``, each row's keys in their order: a grid line without an
    answer has no ``seeds_meeting`` or target figures, and its row coming first must not
    drop those columns of the lines that have them."""
    columns: list[str] = []
    for row in rows:
        at = 0
        for key in row:
            if key in columns:
                at = columns.index(key) + 1
            else:
                columns.insert(at, key)
                at += 1
    return columns


def register(app: typer.Typer) -> None:
    """Add ``gpuemu plan`` to ``app``."""
    app.command()(plan)


def plan(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    vary: Annotated[list[str], typer.Option(
        "--vary", help="integer field to search, a --set path (repeat for a grid; the last "
                       "one is bisected)")],
    range_: Annotated[list[str], typer.Option(
        "--range", help="LO..HI for each --vary, in the same order")],
    target: Annotated[str, typer.Option(
        help="e.g. 'tenants.eu-inference.slo_attainment >= 0.99 and "
             "sites.bizerte.peak_mw <= 20'")],
    seeds: Annotated[int, typer.Option(help="seeds per value; all must meet the target")] = 3,
    maximize: Annotated[bool, typer.Option(
        "--maximize", help="find the largest value that meets the target")] = False,
    until: Annotated[str | None, typer.Option(help="stop each run early, e.g. 6h")] = None,
    set_: SetOption = None,
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    serial: SerialOption = False,
    cache: CacheOption = None,
    no_cache: NoCacheOption = False,
) -> None:
    """Find the smallest (--maximize: largest) --vary value meeting --target on every seed.

    By bisection; prints a table with its confidence and writes plan.csv/json/png."""
    _plan(scenario, vary, range_, target, seeds, maximize, until, set_ or [], out, workers,
          scheduler, serial, cache, no_cache)


@_guard
def _plan(scenario: Path, vary: list[str], ranges: list[str], target_text: str, seeds: int,
          maximize: bool, until: str | None, overrides: list[str], out: Path | None,
          workers: int | None, scheduler: str | None, serial: bool, cache: Path | None,
          no_cache: bool) -> None:
    from emulator.export import write_json
    from emulator.loader import read_yaml
    from emulator.outputs import check_replaceable, write_result_set
    from emulator.plan import parse_range, run_plan
    from emulator.plan_output import answer_rows, evaluation_csv, plan_json, plot_plan
    from emulator.plan_target import parse_target
    from emulator.sweep_study import check_seeds

    if len(vary) != len(ranges):
        raise UserError(f"--range: got {len(ranges)} for {len(vary)} --vary; expected one "
                        "LO..HI per --vary")
    if len(set(vary)) != len(vary):
        raise UserError(f"--vary: {', '.join(vary)} names a field twice; expected each once")
    check_seeds(seeds)  # before anything divides by it
    axes = [parse_range(r, v) for v, r in zip(vary, ranges, strict=True)]
    target = parse_target(target_text)
    until_s = parse_until(until, "6h")
    name = str(read_yaml(scenario).get("name", scenario.stem))
    folder = out if out is not None else Path("runs") / f"{name}-plan"
    check_replaceable(folder, "plan")
    cells_dir = cache_folder(folder, cache, no_cache)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    started = time.perf_counter()
    executor = executor_for(workers, scheduler, serial)
    try:
        with executor, cell_progress(console, f"plan {name}") as progress:
            lines = math.prod(a.hi - a.lo + 1 for a in axes[:-1])  # searched side by side
            points = max(1, executor.slots() // (seeds * lines))
            result = run_plan(scenario, axes, target, seeds, executor, maximize, until_s,
                              overrides, cells_dir, progress, points)
    except Interrupted as exc:
        resume_note(exc, cells_dir, executor.keys)
    rows = answer_rows(result)
    table = Table(title=f"{'largest' if maximize else 'smallest'} {axes[-1].path} meeting "
                        f"{target.text} on {len(result.seeds)} seeds")
    shown = [k for k in table_columns(rows) if k != "confidence"]
    for k in shown:
        table.add_column(k, justify="right")
    for row in rows:
        table.add_row(*("—" if row.get(k) is None else
                        f"{row[k]:.5g}" if isinstance(row.get(k), float) else str(row[k])
                        for k in shown))
    console.print(table)
    for row in rows:
        console.print(row["confidence"])
    notes = [n for line in result.lines for n in line.contradictions(target)]
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for note in notes:
        err.print(Text.assemble(("warning:", "yellow"), f" not monotone: {note}"))
    paths = write_result_set(folder, {
        "plan.csv": lambda p: p.write_text(evaluation_csv(result), encoding="utf-8"),
        "plan.json": lambda p: write_json(p, plan_json(result, notes)),
        "plan.png": lambda p: plot_plan(result, p),
    }, {"command": "plan", "scenario": str(scenario), "target": target.text})
    console.print(f"wrote {len(paths)} files to {folder}/ ({result.runs} runs: "
                  f"{executor.ran} run on {executor.name}, {result.runs - executor.ran} from "
                  f"the cache; {time.perf_counter() - started:.1f} s)")
