"""Cells run through the on-disk cache: each looked up first, the rest run, each stored.

:func:`run_cells` is what ``gpuemu compare``, ``sweep`` and ``plan`` call with their
cells (:class:`~emulator.cells.Cell`) and an executor (:mod:`emulator.executor`): each cell
is looked up in the cache folder (``<sha256>.json``, keyed by
:func:`~emulator.cells.cell_key`), the rest run on the executor, and every result is
stored the moment it arrives (written to a temporary name and renamed, so a cell file is
whole or absent). A cell's failure is re-raised naming the cell.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from emulator.cells import Cell, cell_key, describe, payload
from emulator.errors import UserError
from emulator.executor import (
    ONE_LINE_ERRORS,
    CellError,
    DaskExecutor,
    Executor,
    Progress,
    SerialExecutor,
)

__all__ = ["run_cells"]


def _read_cached(path: Path) -> dict[str, Any] | None:
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, or a file cut short by a crash: run the cell again
    return result if isinstance(result, dict) and result else None


def _as_json(result: dict[str, Any]) -> str:
    from emulator.export import _json_default

    return json.dumps(result, sort_keys=True, default=_json_default)


def _store(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _named_failures(results: Iterator[tuple[int, dict[str, Any]]], cells: Sequence[Cell]
                    ) -> Iterator[tuple[int, dict[str, Any]]]:
    """``results`` as they come; a cell's failure re-raised naming the cell
    (:func:`~emulator.cells.describe`): a one-line error as the same error with the cell
    before its text (the scenario's own file paths in place of the cell's temporary
    copies of them, gone once it ended), any other with the cell in a note under its
    traceback."""
    from emulator.compare import user_paths

    try:
        yield from results
    except CellError as failure:
        cell = cells[failure.position]
        where, error = describe(cell), failure.error
        if isinstance(error, ONE_LINE_ERRORS):
            text = user_paths([str(error)], cell)[0]
            raise type(error)(f"{where}: {text}") from None
        error.add_note(f"(in the cell {where})")
        raise error from None


def run_cells(cells: Sequence[Cell], executor: Executor, cache: Path | None = None,
              progress: Progress | None = None) -> list[dict[str, Any]]:
    """Each cell's result, in the order given: from ``cache`` where present, else run on
    ``executor`` (each result stored in ``cache`` as soon as it arrives)."""
    keys = [cell_key(c) for c in cells]  # also validates every cell before anything runs
    executor.keys.update(keys)
    results: list[dict[str, Any] | None] = [None] * len(cells)
    if cache is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--cache {cache}: cannot create it ({exc.strerror or exc}); "
                            "expected a writable folder") from None
        for i, key in enumerate(keys):
            results[i] = _read_cached(cache / f"{key}.json")
    todo = [i for i, r in enumerate(results) if r is None]
    done = 0
    for i, r in enumerate(results):
        if r is not None:
            done += 1
            if progress is not None:
                progress(done, len(cells), cells[i], r)
    if todo:
        # one cell left runs here rather than wait for a local cluster to start; a running
        # scheduler the user named (already reached) gets it like any other
        remote = isinstance(executor, DaskExecutor) and executor.address is not None
        runner = executor if len(todo) > 1 or remote or isinstance(executor, SerialExecutor) \
            else SerialExecutor()
        for j, result in _named_failures(runner.run([payload(cells[i]) for i in todo]),
                                         [cells[i] for i in todo]):
            if runner is not executor:  # one cell left ran in-process: count it anyway
                executor.ran += 1
            i = todo[j]
            text = _as_json(result)  # every executor's result, and the cache's, read alike
            results[i] = json.loads(text)
            if cache is not None:
                _store(cache / f"{keys[i]}.json", text)
            done += 1
            if progress is not None:
                progress(done, len(cells), cells[i], results[i])
    return [r for r in results if r is not None]
