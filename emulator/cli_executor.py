"""Command-line pieces shared by the commands that run many cells (compare, sweep, plan):
the executor options, the progress bar and the resume note after an interruption.

``--workers N`` runs cells on a local ``dask.distributed`` cluster of N worker processes
(default: one per CPU; 1 runs them in this process), ``--scheduler ADDRESS`` on a running
dask scheduler instead, ``--serial`` in this process. Finished cells are kept in the cache
folder (``--cache``, default ``OUT.cells`` beside the output folder), so the same command
after a Ctrl-C runs only what is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from emulator.cells import Cell
from emulator.executor import Executor, make_executor
from emulator.interrupts import Interrupted

__all__ = ["CacheOption", "NoCacheOption", "SchedulerOption", "SerialOption", "WorkersOption",
           "cache_folder", "cell_progress", "executor_for", "resume_note"]

WorkersOption = Annotated[int | None, typer.Option(
    "--workers", help="local dask worker processes (default: one per CPU; 1: in this "
                      "process)")]
SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", help="run cells on this dask scheduler, e.g. tcp://host:8786")]
SerialOption = Annotated[bool, typer.Option(
    "--serial", help="run the cells one by one in this process (no dask)")]
CacheOption = Annotated[Path | None, typer.Option(
    "--cache", help="folder of finished cells (default: OUT.cells beside --out)")]
NoCacheOption = Annotated[bool, typer.Option(
    "--no-cache", help="neither reuse nor keep finished cells")]


def executor_for(workers: int | None, scheduler: str | None, serial: bool) -> Executor:
    """The executor the options ask for (one-line errors for bad combinations)."""
    return make_executor(workers, scheduler, serial)


def cache_folder(out: Path, cache: Path | None, no_cache: bool) -> Path | None:
    """``--cache``, or ``OUT.cells`` beside the output folder; ``None`` with ``--no-cache``."""
    if no_cache:
        return None
    return cache if cache is not None else out.with_name(out.name + ".cells")


@contextmanager
def cell_progress(console: Console, what: str
                  ) -> Iterator[Callable[[int, int, Cell, dict[str, Any]], None]]:
    """A rich progress bar of cells done (a line per tenth when not on a terminal); yields
    the callback for :func:`emulator.cell_runner.run_cells`."""
    if not console.is_terminal:
        marks: list[int] = []

        def lines(done: int, total: int, cell: Cell, result: dict[str, Any]) -> None:
            if done == 1:  # a new batch (plan runs one per round)
                marks.clear()
            tenth = done * 10 // total
            if not marks or tenth > marks[-1] or done == total:
                marks.append(tenth)
                console.print(f"{what}: {done}/{total} cells", highlight=False)

        yield lines
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("cells"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int, cell: Cell, result: dict[str, Any]) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def resume_note(exc: Interrupted, cache: Path | None, keys: Collection[str] = ()) -> None:
    """Print what an interrupted study kept and how to resume it, then exit 128 + signal.

    ``keys`` are the cache keys of the command's cells (:attr:`Executor.keys`): only
    those found in ``cache`` are counted, since a shared cache holds other commands' cells.
    """
    if cache is not None and cache.is_dir():
        kept = sum(1 for key in keys if (cache / f"{key}.json").is_file())
        where = (f"finished cells are kept in {cache}/ ({kept} of this command's there); "
                 "run the same command again to resume")
    else:
        where = "no cache (--no-cache): finished cells were not kept"
    print(f"interrupted ({exc.name}); {where}", file=sys.stderr, flush=True)
    raise SystemExit(exc.exit_code)
