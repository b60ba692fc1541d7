"""``gpuemu`` commands beside ``run`` and ``validate``: schema, topology, calibrate, compare.

Each is registered on the application by :func:`register`; user mistakes end in one line and
exit code 2 through :func:`emulator.cli_common._guard`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emulator.cli_common import _guard, _warn_trace_issues, parse_until
from emulator.cli_executor import (
    CacheOption,
    NoCacheOption,
    SchedulerOption,
    SerialOption,
    WorkersOption,
)
from emulator.errors import UserError
from emulator.units import format_power, format_rate_bps

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the schema, topology, calibrate and compare commands to ``app``."""
    app.command()(schema)
    app.command()(topology)
    app.command()(calibrate)
    app.command()(compare)


def schema() -> None:
    """Print the JSON Schema of scenario files (for editors; docs/scenario.schema.json)."""
    from emulator.scenario_schema import schema_text

    print(schema_text(), end="")


def topology(
    preset: Annotated[str | None, typer.Argument(help="site preset name")] = None,
    list_: Annotated[bool, typer.Option("--list", help="list the presets")] = False,
) -> None:
    """Describe a site preset: racks, GPUs, power, fabric, WAN links."""
    _topology(preset, list_)


@_guard
def _topology(preset: str | None, list_: bool) -> None:
    from topologies.describe import describe_site
    from topologies.presets import list_presets, resolve_site

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    if list_ or preset is None:
        for name in list_presets():
            console.print(name)
        return
    try:
        site = resolve_site(preset, {})
    except KeyError as exc:
        raise UserError(exc.args[0] if exc.args else str(exc)) from None
    d = describe_site(site)
    t = Table(title=f"{preset} — {d.name} ({d.city}, {d.country})", show_header=False)
    t.add_column("what", style="bold")
    t.add_column("value")
    halls = ", ".join(f"{h.racks} x {h.system} in {h.name}" for h in d.halls)
    t.add_row("racks", f"{d.racks:,} ({halls})")
    systems = ", ".join(f"{n:,} {k}" for k, n in d.gpus_by_system.items())
    t.add_row("GPUs", f"{d.gpus:,} ({systems})")
    t.add_row("trays / CPUs", f"{d.trays:,} / {d.cpus:,}")
    t.add_row("NVLink domains", f"{d.nvlink_domains:,}")
    t.add_row("fabric", f"{d.pods} pods, {d.leaves:,} leaves, {d.spines:,} spines "
                        f"(switches {format_power(d.fabric_w)})")
    t.add_row("IT load, nameplate", f"{format_power(d.it_full_w)} "
                                      f"(racks {format_power(d.racks_full_w)})")
    t.add_row("facility (IT x PUE)", f"{format_power(d.facility_full_w)} at design PUE "
                                     f"{d.pue:.2f}, {d.cooling} cooling")
    if getattr(site, "energy", None) is not None:
        t.add_row("PUE in runs", "from the energy section: varies with ambient temperature "
                                 "(see docs/energy.md)")
    ok = "within" if d.within_budget else "[bold red]OVER[/]"
    t.add_row("grid connection", f"{format_power(d.grid_connection_w)} — {ok} budget, "
                                 f"headroom {format_power(d.headroom_w)}")
    for w in d.wan:
        t.add_row(f"WAN {w.name}", f"to {w.to}: {w.length_m / 1e3:,.0f} km, "
                                   f"{w.one_way_latency_s * 1e3:.2f} ms one way, "
                                   f"{format_rate_bps(w.capacity_bps)}")
    for src in d.sources:
        t.add_row("source", src)
    console.print(t)


def calibrate(
    out: Annotated[Path, typer.Option(help="hardware profile YAML to write")] = Path(
        "profile.yaml"),
    seconds: Annotated[float, typer.Option(help="wall seconds per test")] = 5.0,
) -> None:
    """Measure this machine's GPU (matmul rate, copy bandwidth, NVML power); write a profile."""
    _calibrate(out, seconds)


@_guard
def _calibrate(out: Path, seconds: float) -> None:
    from cupy_kernels.calibrate import (
        CalibrationUnavailable,
        profile_from_measurement,
        run_calibration,
        write_profile,
    )

    if not 0 < seconds <= 600:
        raise UserError(f"--seconds: got {seconds:g}; expected seconds per test in (0, 600]")
    if out.is_dir():
        raise UserError(f"--out: {out} is a folder; expected a file name such as profile.yaml")
    try:
        m = run_calibration(seconds)
    except CalibrationUnavailable as exc:
        raise UserError(f"calibrate needs a CUDA GPU: {exc}") from None
    profile = profile_from_measurement(m)
    try:
        write_profile(profile, out)
    except OSError as exc:
        raise UserError(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    console = Console(highlight=False)
    console.print(f"{m.device} ({m.date}, {m.software}); {m.power_note}")
    for r in m.matmul:
        rate = (f"{r.flops_per_s / 1e12:,.0f} TFLOP/s ({r.dtype})" if r.flops_per_s
                else r.note)
        eff = profile.efficiencies.get(r.precision)
        watts = f", {r.power.mean_w:,.0f} W" if r.power else ""
        console.print(f"  {r.precision} matmul: {rate}"
                      f"{f', {eff:.0%} of catalog' if eff else ''}{watts}")
    eff_bw = profile.efficiencies.get("hbm_bw")
    console.print(f"  copy: {m.copy_bytes_per_s / 1e9:,.0f} GB/s read+written"
                  f"{f', {eff_bw:.0%} of catalog HBM' if eff_bw else ''}")
    if m.idle_power is not None:
        console.print(f"  idle: {m.idle_power.mean_w:,.0f} W")
    console.print(f"wrote {out} (gpu: {profile.gpu!r})")


def compare(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    policies: Annotated[str, typer.Option(
        help="comma-separated queue policies (built-in names or module:Class)")
    ] = "fifo,backfill,las,fairshare",
    seeds: Annotated[int, typer.Option(
        help="seeds per policy (scenario seed, +1, …); 5 by default, since fewer make the "
             "95% intervals wide")] = 5,
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override KEY.PATH=VALUE; VALUE a,b,c sweeps a grid (repeatable)")] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    serial: SerialOption = False,
    cache: CacheOption = None,
    no_cache: NoCacheOption = False,
    until: Annotated[str | None, typer.Option(
        help="stop every run early, e.g. 2d (figures cover that time)")] = None,
) -> None:
    """Compare policies over seeds (and a --set grid): tables with 95% CIs, CSV/JSON, plots."""
    _compare(scenario, policies, seeds, out, set_ or [], workers, scheduler, serial, cache,
             no_cache, until)


@_guard
def _compare(scenario: Path, policies: str, seeds: int, out: Path | None,
             overrides: list[str], workers: int | None, scheduler: str | None = None,
             serial: bool = False, cache: Path | None = None, no_cache: bool = False,
             until: str | None = None) -> None:
    from emulator.cli_executor import cache_folder, executor_for, resume_note
    from emulator.compare_output import compare_command
    from emulator.interrupts import Interrupted

    until_s = parse_until(until)
    executor = executor_for(workers, scheduler, serial)
    cells: list[Path | None] = [None]

    def cache_for(folder: Path) -> Path | None:
        cells[0] = cache_folder(folder, cache, no_cache)
        return cells[0]

    try:
        with executor:
            compare_command(scenario, policies, seeds, out, overrides, workers or 1, Console(),
                            _warn_trace_issues, until_s, executor, cache_for)
    except Interrupted as exc:
        resume_note(exc, cells[0], executor.keys)
