"""``gpuemu sweep``: run every ``--set`` grid point × seed of a scenario, in parallel, resumable.

Writes ``sweep.csv`` (one row per cell: point, swept values, seed, then every scalar of
that run's ``summary.json`` by dotted path), ``sweep.json`` (the same rows and the
settings) and prints the mean over seeds of a few headline figures per point. Cells run
on the executor chosen by :mod:`emulator.cli_executor`; finished ones are cached, so after
Ctrl-C the same command picks up where it stopped.
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

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
from emulator.interrupts import Interrupted
from emulator.sweep_study import SweepResult, run_sweep

__all__ = ["HEADLINE", "register", "sweep_csv"]

HEADLINE: dict[str, tuple[str, float, str]] = {
    "gpu_allocation_util": ("GPU alloc (%)", 100.0, "{:.1f}"),
    "requests.slo_attainment": ("SLO met (%)", 100.0, "{:.2f}"),
    "requests.ttft_s.p99": ("TTFT p99 (ms)", 1000.0, "{:.0f}"),
    "jct_s.mean": ("mean JCT (min)", 1 / 60, "{:.1f}"),
    "energy.facility_mwh": ("energy (MWh)", 1.0, "{:.2f}"),
}
"""Summary paths shown per point: label, scale to the label's unit, format."""


def register(app: typer.Typer) -> None:
    """Add ``gpuemu sweep`` to ``app``."""
    app.command()(sweep)


def sweep(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    set_: SetOption = None,
    seeds: Annotated[int, typer.Option(help="seeds per point (scenario seed, +1, …)")] = 1,
    until: Annotated[str | None, typer.Option(help="stop each run early, e.g. 6h")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    serial: SerialOption = False,
    cache: CacheOption = None,
    no_cache: NoCacheOption = False,
) -> None:
    """Run every --set grid point (KEY=a,b,c) × seed on dask: cached, resumable.

    One CSV row per run, with the run's summary figures."""
    _sweep(scenario, set_ or [], seeds, until, out, workers, scheduler, serial, cache, no_cache)


def sweep_csv(result: SweepResult) -> str:
    """The rows as CSV: fixed columns first, then every summary path seen, sorted."""
    fixed = ["point", *result.points[0].values, "seed", "wall_s"]
    rest = sorted({k for r in result.rows for k in r} - set(fixed))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fixed + rest, lineterminator="\n")
    writer.writeheader()
    for row in result.rows:
        writer.writerow({k: ("" if v is None or (isinstance(v, float) and not math.isfinite(v))
                             else v) for k, v in row.items()})
    return buf.getvalue()


def _finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
            and math.isfinite(v)]


def _mean(values: list[Any]) -> float:
    nums = _finite(values)
    return sum(nums) / len(nums) if nums else math.nan


def _table(result: SweepResult) -> Table:
    shown = [k for k in HEADLINE if any(r.get(k) is not None for r in result.rows)]
    table = Table(title=f"sweep of {result.scenario} (mean over {len(result.seeds)} seed"
                        f"{'s' if len(result.seeds) > 1 else ''})")
    table.add_column("point", style="bold")
    for k in shown:
        table.add_column(HEADLINE[k][0], justify="right")
    for point in result.points:
        rows = [r for r in result.rows if r["point"] == point.label]
        cells = []
        for k in shown:
            _, scale, fmt = HEADLINE[k]
            values = [r.get(k) for r in rows]
            m, n = _mean(values), len(_finite(values))
            # a run without the figure (no job finished: no mean JCT) is left out: say so
            of = f" ({n} of {len(rows)} runs)" if 0 < n < len(rows) else ""
            cells.append("—" if math.isnan(m) else fmt.format(m * scale) + of)
        table.add_row(point.label, *cells)
    return table


@_guard
def _sweep(scenario: Path, overrides: list[str], seeds: int, until: str | None,
           out: Path | None, workers: int | None, scheduler: str | None, serial: bool,
           cache: Path | None, no_cache: bool) -> None:
    from emulator.export import write_json
    from emulator.loader import read_yaml
    from emulator.outputs import check_replaceable, write_result_set

    until_s = parse_until(until, "6h")
    name = str(read_yaml(scenario).get("name", scenario.stem))
    folder = out if out is not None else Path("runs") / f"{name}-sweep"
    check_replaceable(folder, "sweep")
    cells_dir = cache_folder(folder, cache, no_cache)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    started = time.perf_counter()
    executor = executor_for(workers, scheduler, serial)
    try:
        with executor, cell_progress(console, f"sweep {name}") as progress:
            result = run_sweep(scenario, overrides, seeds, executor, cells_dir, until_s,
                               progress)
    except Interrupted as exc:
        resume_note(exc, cells_dir, executor.keys)
    console.print(_table(result))
    rows_json = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                  for k, v in r.items()} for r in result.rows]
    paths = write_result_set(folder, {
        "sweep.csv": lambda p: p.write_text(sweep_csv(result), encoding="utf-8"),
        "sweep.json": lambda p: write_json(p, {
            "scenario": result.scenario, "seeds": result.seeds, "until_s": until_s,
            "grid": [{"label": pt.label, "overrides": list(pt.overrides)}
                     for pt in result.points],
            "rows": rows_json}),
    }, {"command": "sweep", "scenario": str(scenario), "seeds": result.seeds})
    reused = len(result.rows) - executor.ran
    console.print(f"wrote {len(paths)} files to {folder}/ ({len(result.rows)} runs: "
                  f"{executor.ran} run on {executor.name}, {reused} from the cache "
                  f"{cells_dir or '(none: --no-cache)'}; {time.perf_counter() - started:.1f} s)")
