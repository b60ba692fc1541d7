"""``gpuemu report`` and ``gpuemu export``: an HTML report and a Perfetto trace of a run,
made from its output folder only; and the extra files ``gpuemu run --report`` (or
``output.trace: true``) writes with a run's results.

Both commands add their files to the run folder's checksummed result set by default
(:func:`emulator.outputs.add_to_result_set`); ``--out`` writes them elsewhere instead.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from emulator.cli_common import _guard
from emulator.errors import UserError, short
from emulator.units import UnitError, format_duration, parse_duration

__all__ = ["register", "run_extras"]

_log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add the report and export commands to ``app``."""
    app.command()(report)
    app.command()(export)


RunDirArgument = Annotated[Path, typer.Argument(help="output folder of gpuemu run")]


def report(
    run_dir: RunDirArgument,
    out: Annotated[Path | None, typer.Option(
        help="folder for report.html and its PNGs (default: RUN_DIR, added to its "
             "result set)")] = None,
) -> None:
    """Write report.html (self-contained, opens offline) and one PNG per figure."""
    _report(run_dir, out)


@_guard
def _report(run_dir: Path, out: Path | None) -> None:
    from emulator.report.assemble import build_figures
    from emulator.report.html import render_html
    from emulator.report.rundata import load_run

    data = load_run(run_dir)
    try:
        figures = build_figures(data)
    except (ValueError, OSError) as exc:  # unreadable Parquet, tables of different runs
        raise UserError(f"RUN_DIR {run_dir}: {exc}; expected the intact output of one "
                        "run") from None
    files = {f"report-{f.slug}.png": f.png for f in figures if f.png is not None}
    files["report.html"] = render_html(data, figures).encode("utf-8")
    # a figure left out this time must not leave an earlier report's PNG beside this one
    stale = [f"report-{f.slug}.png" for f in figures if f.png is None]
    folder = _write(run_dir, out, files, stale)
    left = [f"{f.slug} ({f.note})" for f in figures if f.png is None]
    print(f"wrote {folder / 'report.html'} and {len(files) - 1} figure(s)"
          + (f"; left out: {'; '.join(left)}" if left else ""))


def export(
    run_dir: RunDirArgument,
    perfetto: Annotated[bool, typer.Option(
        "--perfetto", help="Chrome / Perfetto trace-event JSON (open in ui.perfetto.dev)")
    ] = False,
    from_: Annotated[str | None, typer.Option(
        "--from", help="keep events from this simulated time, e.g. 1d")] = None,
    to: Annotated[str | None, typer.Option(
        help="keep events before this simulated time, e.g. 36h")] = None,
    max_events: Annotated[int, typer.Option(
        help="cap on trace events (instants, thinned counters, earliest slices kept)")
    ] = 1_000_000,
    out: Annotated[Path | None, typer.Option(
        help="trace file (default: RUN_DIR/trace.json, added to its result set)")] = None,
) -> None:
    """Export a run's event log in another format (so far: --perfetto)."""
    _export(run_dir, perfetto, from_, to, max_events, out)


def _seconds(option: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = parse_duration(value)
    except UnitError as exc:
        raise UserError(f"{option}: {exc}") from None
    if seconds < 0:
        raise UserError(f"{option}: got {value!r}; expected a simulated time ≥ 0 such as 1d")
    return seconds


def _window(from_: str | None, to: str | None, horizon_s: float
            ) -> tuple[float, float] | None:
    """The ``--from``/``--to`` window (s), inside the simulated ``[0, horizon_s]``.

    A window after the end of the run is a :class:`UserError`: the trace would show
    counter values at times never simulated. One that runs past the end stops there
    (:func:`~emulator.report.perfetto.build_trace` clips it and says so in the trace),
    with a note here too.
    """
    if from_ is None and to is None:
        return None
    lo = _seconds("--from", from_, 0.0)
    hi = _seconds("--to", to, max(horizon_s, lo))
    if to is not None and hi <= lo:
        raise UserError(f"--to: got {to!r}; expected a time after --from ({from_ or '0'})")
    end = f"{format_duration(horizon_s)} = {horizon_s:g} s"
    if lo >= horizon_s:
        raise UserError(f"--from: got {from_!r}; expected a time before the end of the run "
                        f"({end}): nothing after it was simulated")
    if hi > horizon_s:
        _log.info("--to %s is past the end of the run (%s); the trace stops there", to, end)
    return lo, hi


@_guard
def _export(run_dir: Path, perfetto: bool, from_: str | None, to: str | None,
            max_events: int, out: Path | None) -> None:
    from emulator.report.perfetto import build_trace
    from emulator.report.rundata import load_run

    if not perfetto:
        raise UserError("export: no format given; expected --perfetto (the trace-event "
                        "JSON; the only export format so far)")
    if max_events < 100:
        raise UserError(f"--max-events: got {max_events}; expected at least 100")
    data = load_run(run_dir)
    window = _window(from_, to, data.horizon_s)
    try:
        trace = build_trace(data, window, max_events)
    except (ValueError, OSError) as exc:
        raise UserError(f"RUN_DIR {run_dir}: {exc}; expected the intact output of one "
                        "run") from None
    text = json.dumps(trace, separators=(",", ":"), allow_nan=False)
    if out is not None and _same_folder(out.parent, run_dir):
        path = _add_trace(run_dir, out.name, text)
    elif out is not None:
        if out.is_dir():
            raise UserError(f"--out: {out} is a folder; expected a file name such as "
                            "trace.json")
        _refuse_file_above(out)
        _refuse_result_set(out, out.parent, "a file outside other runs' folders, or "
                                            "in RUN_DIR")
        from emulator.export import atomic_write

        try:
            atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        except OSError as exc:
            raise UserError(f"--out: cannot write {out}: {exc.strerror or exc}") from None
        path = out
    else:
        path = _write(run_dir, None, {"trace.json": text.encode("utf-8")}) / "trace.json"
    other = trace["otherData"]
    print(f"wrote {path}: {len(trace['traceEvents']):,} events"
          + (f" (truncated: {other['note']})" if other["truncated"] else "")
          + "; open it in https://ui.perfetto.dev")


def _write(run_dir: Path, out: Path | None, files: dict[str, bytes],
           stale: Sequence[str] = ()) -> Path:
    """Write ``files`` into ``out`` (created), or add them to ``run_dir``'s result set (also
    when ``out`` is ``run_dir`` itself, so its manifest keeps matching its files); remove
    the ``stale`` files of an earlier report there."""
    from emulator.export import atomic_write_all
    from emulator.outputs import add_to_result_set

    if out is None or _same_folder(out, run_dir):
        add_to_result_set(run_dir, files, remove=stale)
        return run_dir
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} is a file; expected a folder for the report")
    _refuse_file_above(out)
    _refuse_result_set(out, out, "a new or empty folder, or RUN_DIR itself")
    try:
        atomic_write_all(out, files)  # all or none: never new figures beside an old page
        for name in stale:
            (out / name).unlink(missing_ok=True)
    except OSError as exc:
        raise UserError(f"--out: cannot write to {out}: {exc.strerror or exc}") from None
    return out


def _add_trace(run_dir: Path, name: str, text: str) -> Path:
    """Add the trace ``name`` to ``run_dir``'s result set; a file the run wrote other than
    an earlier JSON trace (a table, the summary, the report) is never replaced."""
    from emulator.outputs import MANIFEST

    listed = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8")).get("files", {}) \
        if (run_dir / MANIFEST).is_file() else {}
    if name in (MANIFEST, "summary.json") or (name in listed and not name.endswith(".json")):
        raise UserError(f"--out: {run_dir / name} is one of the run's own files; expected a "
                        "new file name such as trace.json")
    return _write(run_dir, None, {name: text.encode("utf-8")}) / name


def _refuse_file_above(out: Path) -> None:
    """:class:`UserError` naming the file when a folder above ``out`` is a file (no
    folder can be made there; the system's own message would be "File exists")."""
    for above in out.parents:
        if above.exists():
            if not above.is_dir():
                raise UserError(f"--out: {out}: {above} is a file; expected a path in a "
                                "folder")
            return


def _same_folder(a: Path, b: Path) -> bool:
    """Whether paths ``a`` and ``b`` name one folder (symlinks and ``..`` resolved)."""
    return a.resolve() == b.resolve()


def _refuse_result_set(out: Path, folder: Path, expected: str) -> None:
    """:class:`UserError` when ``folder`` (where ``--out`` writes), or the folder holding
    it, is a run's result set: writing there would mix two runs' files and break the
    set's manifest."""
    from emulator.outputs import is_result_set

    for place in (folder, folder.parent):
        if is_result_set(place):
            raise UserError(f"--out {short(str(out))}: {short(str(place))} holds a run's "
                            "result set (manifest.json or summary.json) that would no longer "
                            f"match its manifest; expected {expected}")


def run_extras(summary: dict[str, Any], tables: dict[str, Any], start: dt.datetime,
               report_wanted: bool, trace_wanted: bool) -> dict[str, bytes]:
    """The report files and/or trace of a finished run, from its in-memory results."""
    from emulator.report.rundata import RunData

    data = RunData(summary=summary, start=start, tables=tables)
    files: dict[str, bytes] = {}
    if report_wanted:
        from emulator.report.assemble import report_files

        files.update(report_files(data))
    if trace_wanted:
        from emulator.report.perfetto import build_trace

        files["trace.json"] = json.dumps(build_trace(data), separators=(",", ":"),
                                         allow_nan=False).encode("utf-8")
    return files
