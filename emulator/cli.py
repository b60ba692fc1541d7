"""The ``gpuemu`` command line: run and validate here; the other commands register from
their own modules (:mod:`emulator.cli_tools`).

User mistakes print one line (``error: …``) on stderr and exit with status 2, without a
traceback; user text in that line is never read as rich markup, control characters are
escaped and the line is capped (:func:`emulator.errors.one_line`). Results are written
only when a run has finished, as one crash-safe set (:mod:`emulator.outputs`). SIGINT and
SIGTERM print one line, leave any previous result as it was, and exit 130 / 143.
"""

from __future__ import annotations

import io
import logging
import math
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from emulator.errors import UserError, one_line
from emulator.interrupts import Interrupted, PartialKept, deferred, install
from emulator.verbosity import show_progress

if TYPE_CHECKING:
    from emulator.loader import LoadedScenario

_log = logging.getLogger(__name__)

app = typer.Typer(no_args_is_help=True,
                  help="gpuemu: emulate AI datacenters — GB200 sites, tenants, policies, power.")

from emulator.cli_common import (  # noqa: E402  (re-exported: older imports read them here)
    EXIT_USER_ERROR,
    ForceOption,
    MaxMemoryOption,
    SetOption,
    _fail_lines,
    _guard,
    _note_nameplate_over_connection,
    _trace_rows,
    _warn_idle_power_switches,
    _warn_over_connection,
    _warn_rejected,
    _warn_small_power_cap,
    _warn_trace_issues,
    parse_until,
)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    seed: Annotated[int | None, typer.Option(help="override the scenario's seed")] = None,
    until: Annotated[str | None, typer.Option(help="stop early, e.g. 2d")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    set_: SetOption = None,
    headless: Annotated[bool, typer.Option(help="no live dashboard")] = False,
    speed: Annotated[float | None, typer.Option(
        help="pace at N simulated seconds per wall second")] = None,
    backend: Annotated[str | None, typer.Option(help="auto, numpy or cupy")] = None,
    dashboard_svg: Annotated[Path | None, typer.Option(
        help="save the last dashboard frame as SVG")] = None,
    force: ForceOption = False,
    max_memory: MaxMemoryOption = None,
    keep_partial: Annotated[bool, typer.Option(
        help="on SIGINT/SIGTERM, write the results so far to OUT.partial (marked partial)")
    ] = False,
    report: Annotated[bool, typer.Option(
        help="also write report.html and its PNGs (see gpuemu report)")] = False,
    events: Annotated[Path | None, typer.Option(
        help="planned events file (YAML or CSV; replaces the scenario's events:), e.g. a "
             "rehearsal's OUT/events.yaml to replay it")] = None,
) -> None:
    """Run a scenario: live dashboard (or progress), then write results."""
    _run(scenario, seed, until, out, set_ or [], headless, speed, backend, dashboard_svg,
         force, max_memory, keep_partial, report, events)


def _check_size(loaded: object, force: bool, max_memory: str | None,
                show: bool, until_s: float | None = None) -> dict[str, float]:
    """The size estimate of a run to ``until_s`` (printed if ``show``); refuse (exit 2)
    above the memory budget unless ``force``. Returns the estimate's figures for the run
    record."""
    from emulator.estimate import budget_bytes, estimate_size
    from emulator.units import format_bytes

    est = estimate_size(loaded, until_s)  # type: ignore[arg-type]
    budget = budget_bytes(max_memory)
    if show:
        print(est.line(), flush=True)
    if est.memory_bytes > budget and not force:
        raise UserError(f"{est.line()}: above the memory budget of {format_bytes(budget)}; "
                        "expected a smaller scenario, a larger --max-memory (or "
                        "$GPUEMU_MAX_MEMORY), or --force")
    return {"jobs": round(est.jobs, 1), "requests": round(est.requests, 1),
            "events": round(est.events, 1), "memory_bytes": round(est.memory_bytes)}


@_guard
def _run(scenario: Path, seed: int | None, until: str | None, out: Path | None,
         overrides: list[str], headless: bool, speed: float | None, backend: str | None,
         dashboard_svg: Path | None, force: bool = False,
         max_memory: str | None = None, keep_partial: bool = False,
         report: bool = False, events: Path | None = None) -> None:
    from emulator.build import build
    from emulator.cli_report import run_extras
    from emulator.dashboard import Dashboard, summary_table
    from emulator.loader import load_scenario
    from emulator.outputs import check_replaceable
    from emulator.provenance import command_line, versions
    from emulator.rehearsal.keys import KeyReader
    from emulator.rehearsal.session import Rehearsal
    from emulator.results import collect, output_dir, write_results
    from emulator.wide_console import print_full_width

    if speed is not None and not (speed > 0 and math.isfinite(speed)):
        raise UserError(f"--speed: got {speed}; expected a positive number of simulated "
                        "seconds per wall second")
    if backend is not None and backend not in ("auto", "numpy", "cupy"):
        raise UserError(f"--backend: got {backend!r}; expected auto, numpy or cupy")
    until_s = parse_until(until)
    if dashboard_svg is not None:
        _check_svg_path(dashboard_svg)
    loaded = load_scenario(scenario, overrides, seed=seed)
    sc = loaded.scenario
    folder = out if out is not None else output_dir(sc.output.dir, sc.name, sc.seed)
    check_replaceable(folder, "run")
    estimate = _check_size(loaded, force, max_memory, show=False, until_s=until_s)
    sim = build(loaded, backend=backend, events_file=events)
    _log.debug("built %r: seed %d, %d work items, %d GPUs, horizon %g s", sc.name, sc.seed,
               len(sim.works), sim.index.n_gpus, sim.horizon_s)
    _warn_trace_issues(sim.trace_issues)
    _warn_rejected(sim.engine.infeasible, sim.works.kinds())
    _warn_small_power_cap(loaded.sites)
    _warn_idle_power_switches(sc.power, loaded.sites)
    rehearsal = Rehearsal(sim)  # records every applied event; keys when live
    console = Console(record=dashboard_svg is not None)
    if not console.is_terminal:  # logs and pipes: wide enough that no figure is cut
        console = Console(width=160, record=dashboard_svg is not None)
    if until_s is not None and until_s > sim.horizon_s:
        _log.info("--until %s is past the scenario's duration; stopping at %g d", until,
                  sim.horizon_s / 86400)
    live_view = console.is_terminal and not headless
    end = sim.horizon_s if until_s is None else min(until_s, sim.horizon_s)
    try:
        # The dashboard subscribes to the log: it must exist before the run to see it all.
        dash = (Dashboard(sim, until_s, rehearsal.view)
                if live_view or dashboard_svg is not None else None)
        if live_view:
            assert dash is not None
            with KeyReader() as keys, Live(dash.frame(), console=console,
                                           refresh_per_second=8, transient=False) as live:
                rehearsal.attach(keys)
                last = 0.0

                def refresh(s: object) -> None:
                    nonlocal last
                    rehearsal.pump()  # keys → injections at the current simulated time
                    now = time.perf_counter()
                    if now - last >= 0.1:
                        live.update(dash.frame())
                        last = now

                sim.run(until=until_s, on_progress=refresh, step_s=max(end / 2000, 1.0),
                        speed=speed, step_guard=deferred)
                live.update(dash.frame())
        elif console.is_terminal and show_progress():
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                          TextColumn("{task.percentage:>5.1f}%"), TimeElapsedColumn(),
                          console=console) as progress:
                task = progress.add_task(sc.name, total=end)
                sim.run(until=until_s, step_s=max(end / 500, 1.0), speed=speed,
                        on_progress=lambda s: progress.update(task, completed=s.env.now),
                        step_guard=deferred)
        else:
            marks = [0.1 * k for k in range(1, 11)]

            def lines(s: object) -> None:
                while marks and sim.env.now >= marks[0] * end - 1e-9:
                    frac = marks.pop(0)
                    print(f"{sc.name}: {100 * frac:.0f}% simulated "
                          f"({sim.env.now / 86400:.2f} d) in {sim.wall_s:.1f} s", flush=True)

            sim.run(until=until_s, step_s=max(end / 200, 1.0), speed=speed,
                    on_progress=lines if show_progress() else None, step_guard=deferred)
    except Interrupted as exc:
        if not keep_partial:
            raise
        # Signals wait until a simulation step ends (or, after a second, until the round
        # in progress ends), so the state is whole: close the run where it stopped and write
        # what it reached beside the output folder, marked.
        with deferred():
            sim.close_now()
            partial = folder.with_name(folder.name + ".partial")
            write_results(partial, collect(sim, include_requests=sc.output.requests),
                          {"partial": True, "interrupted_by": exc.name,
                           "reached_s": sim.horizon_s, "command": command_line(),
                           "seed": sc.seed, "until": until, "versions": versions()},
                          _provenance_files(loaded, rehearsal.files(), events))
        raise PartialKept(exc.signum, str(partial), sim.horizon_s) from None
    results = collect(sim, include_requests=sc.output.requests)
    run_info = {"wall_s": round(sim.wall_s, 3), "simulated_s": sim.horizon_s,
                "speedup": round(sim.horizon_s / sim.wall_s, 1) if sim.wall_s else None,
                "sim_events": sim.engine.sim_events, "rounds": sim.engine.rounds_run,
                "source": loaded.source,
                "trace_issues": sum(1 for i in sim.trace_issues if i.kind == "malformed"),
                "trace_rows": _trace_rows(sim.trace_issues),
                "command": command_line(), "seed": sc.seed, "until": until,
                "until_s": until_s, "versions": versions(), "size_estimate": estimate}
    paths = write_results(folder, results, run_info,
                          _provenance_files(loaded, rehearsal.files(), events),
                          run_extras({**results.summary, "run": run_info}, results.tables,
                                     sc.start, report, sc.output.trace))
    print_full_width(console, summary_table(results.summary))
    _warn_over_connection(results.summary)
    if sim.ended_when_done:
        console.print(f"every job ended at {sim.horizon_s / 86400:,.2f} d, before the "
                      f"planned end ({sim.planned_s / 86400:,.2f} d): the run stopped "
                      "there (engine.stop_when_done)")
    console.print(f"wrote {len(paths)} files to {folder}/ "
                  f"({sim.engine.sim_events:,} events, {sim.wall_s:.1f} s wall, "
                  f"{sim.horizon_s / max(sim.wall_s, 1e-9):,.0f}x real time)")
    if dashboard_svg is not None:
        frame_console = Console(record=True, width=120, file=io.StringIO())
        assert dash is not None
        frame_console.print(dash.frame())
        _write_svg(dashboard_svg, frame_console.export_svg(title=f"gpuemu run {scenario}"))


def _check_svg_path(path: Path) -> None:
    """:class:`UserError` before the run when ``--dashboard-svg`` cannot name a new file:
    a folder, or a path under a file (a missing folder is made when it is written)."""
    if path.is_dir():
        raise UserError(f"--dashboard-svg: {path} is a folder; expected a file name such "
                        "as dashboard.svg")
    above = next((p for p in path.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise UserError(f"--dashboard-svg: {path}: {above} is a file; expected a path in a "
                        "folder")


def _write_svg(path: Path, svg: str) -> None:
    """Write the dashboard frame ``svg`` to ``path`` (atomically); one line if it fails."""
    from emulator.export import atomic_write

    try:
        atomic_write(path, lambda tmp: tmp.write_text(svg, encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"--dashboard-svg: cannot write {path}: {exc.strerror or exc}; the "
                        "run's results were written") from None


def _provenance_files(loaded: LoadedScenario, rehearsal_files: dict[str, str],
                      events: Path | None) -> dict[str, str]:
    """``scenario.resolved.yaml`` and the rehearsal's ``events.yaml`` (if any) of a run: the
    resolved scenario's events are the run's own record when it has one, else the file
    ``--events`` gave, so running it reproduces the run."""
    from emulator.provenance import RESOLVED_NAME, command_line, resolved_yaml
    from emulator.rehearsal.recorder import EVENTS_NAME

    ref = (EVENTS_NAME if EVENTS_NAME in rehearsal_files
           else str(events.resolve()) if events is not None else None)
    return {RESOLVED_NAME: resolved_yaml(loaded, command_line(), ref), **rehearsal_files}


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    set_: SetOption = None,
    force: ForceOption = False,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Check a scenario file: print its size estimate and contents, or what is wrong.

    A scenario that does not load gets one line naming the field, the value and what was
    expected (exit code 2)."""
    _validate(scenario, set_ or [], force, max_memory)


@_guard
def _validate(scenario: Path, overrides: list[str], force: bool = False,
              max_memory: str | None = None) -> None:
    from emulator.build import build
    from emulator.loader import load_scenario
    from emulator.rejections import training_rejections
    from emulator.serving_capacity import serving_capacity
    from emulator.units import format_adaptive_duration
    from topologies.sizing import size_site

    loaded = load_scenario(scenario, overrides)
    sc = loaded.scenario
    _check_size(loaded, force, max_memory, show=True)
    sim = build(loaded, backend="numpy")  # every check a run makes before it starts
    _warn_trace_issues(sim.trace_issues)
    _note_nameplate_over_connection(loaded.sites)
    _warn_small_power_cap(loaded.sites)
    _warn_idle_power_switches(sc.power, loaded.sites)
    kinds = sim.works.kinds()  # no object per job is made for counting
    rejected = sum(1 for i in sim.engine.infeasible if kinds[i] == "training")
    gpus = sum(size_site(s).gpus for s in loaded.sites)
    n_train = sum(len(t.training) + len(t.jobs) for t in sc.tenants.values())
    n_inf = sum(len(t.inference) for t in sc.tenants.values())
    n_traces = sum(len(t.traces) for t in sc.tenants.values())
    n_jobs = int((kinds == "training").sum())
    traces = f" and {n_traces} trace(s)" if n_traces else ""
    lines = training_rejections(sim, sc.tenants) if rejected else []
    for line in lines:
        if not line.error:
            _log.warning("%s", line.text)
    if any(line.error for line in lines):  # a job named or split wrongly: each on its line
        _fail_lines([line.text for line in lines if line.error])
    print(f"{scenario}: valid — {sc.name!r}, {len(loaded.sites)} site(s), {gpus:,} GPUs, "
          f"{len(sc.tenants)} tenant(s), {n_train} training stream(s)/job(s){traces} "
          f"({n_jobs:,} training jobs generated), "
          f"{n_inf} inference service(s), {format_adaptive_duration(sc.duration)}")
    for i, reason in sim.engine.infeasible.items():
        if kinds[i] == "inference":
            _log.warning("inference service %r will be rejected: %s; its requests are not "
                         "served", sim.works[i].name, reason)
    sheet = serving_capacity(sim)
    if sheet:
        print("serving capacity, one replica saturated at the service's mean prompt and output "
              "(KV pool = kv_free_fraction of the memory the weights leave free):")
        for row in sheet:
            print("  " + row.line())


from emulator import cli_conventions, cli_report, cli_tools  # noqa: E402

cli_tools.register(app)
cli_conventions.register(app)
cli_report.register(app)
from emulator import cli_plan, cli_sweep  # noqa: E402

cli_sweep.register(app)
cli_plan.register(app)


def main() -> None:
    """Console-script entry point.

    SIGINT/SIGTERM end the command with one line; a malformed command line (an option
    value that is not a number, an unknown option) is one ``error:`` line too, exit 2.
    """
    import typer.main

    install()
    command = typer.main.get_command(app)
    try:
        try:
            code = command.main(args=sys.argv[1:], prog_name="gpuemu", standalone_mode=False)
        except Exception as exc:
            if type(exc).__name__ == "NoArgsIsHelpError" or not hasattr(exc, "format_message"):
                raise
            where = getattr(getattr(exc, "ctx", None), "command_path", "gpuemu")
            Console(stderr=True, highlight=False, soft_wrap=True).print(Text.assemble(
                ("error:", "bold red"), " ",
                one_line(f"{exc.format_message()} (see {where} --help)")))
            code = getattr(exc, "exit_code", EXIT_USER_ERROR)
    except (Interrupted, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else 2
        name = exc.name if isinstance(exc, Interrupted) else "SIGINT"
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the line
            signal.signal(sig, signal.SIG_IGN)
        if isinstance(exc, PartialKept):
            print(f"interrupted ({name}) at {exc.reached_s:g} s simulated; partial results "
                  f"in {exc.folder} (marked partial), earlier results left as they were",
                  file=sys.stderr, flush=True)
        else:
            print(f"interrupted ({name}); no results written, earlier results left as they "
                  "were", file=sys.stderr, flush=True)
        sys.exit(128 + signum)
    except Exception as exc:
        if type(exc).__name__ != "NoArgsIsHelpError":
            raise
        app()  # no arguments: the standard help screen
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
