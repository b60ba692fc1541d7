"""Helpers shared by the ``gpuemu`` commands: the one-line error exit, the user-error guard,
warnings about rejected work and trace rows (standard :mod:`logging`, shown by
:mod:`emulator.verbosity`), and the options several commands take.

User mistakes print one line (``error: …``) on stderr and exit with status 2, without a
traceback; user text in that line is never read as rich markup, control characters are
escaped and the line is capped (:func:`emulator.errors.one_line`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from emulator.errors import UserError, one_line
from emulator.policies.base import PolicyError
from emulator.units import UnitError, parse_duration

__all__ = [
    "EXIT_USER_ERROR",
    "ForceOption",
    "MaxMemoryOption",
    "SetOption",
    "_fail",
    "_fail_lines",
    "_guard",
    "_note_nameplate_over_connection",
    "_trace_rows",
    "_warn_idle_power_switches",
    "_warn_over_connection",
    "_warn_rejected",
    "_warn_small_power_cap",
    "_warn_trace_issues",
    "parse_until",
]

EXIT_USER_ERROR = 2

_log = logging.getLogger(__name__)


def _fail(message: str) -> None:
    """Print ``error: MESSAGE`` on one line of stderr (no markup) and exit with status 2."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text.assemble(("error:", "bold red"), " ", one_line(message)))
    raise typer.Exit(EXIT_USER_ERROR)


def _fail_lines(messages: Sequence[str]) -> None:
    """Print ``error: MESSAGE`` for each of ``messages`` (one line each, as :func:`_fail`)
    and exit with status 2."""
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    for message in messages:
        console.print(Text.assemble(("error:", "bold red"), " ", one_line(message)))
    raise typer.Exit(EXIT_USER_ERROR)


def _guard(fn):  # type: ignore[no-untyped-def]
    """Turn user errors into one line and exit code 2."""
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            _fail(str(exc))
        except UnitError as exc:
            _fail(str(exc))
        except PolicyError as exc:  # a plug-in's bad decision: the message names the policy
            _fail(str(exc))
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def _warn_rejected(infeasible: dict[int, str], kinds: Sequence[str] | None = None) -> None:
    """One warning per reason for work that can never run (rejected at submission), with
    its count: job-level figures (mean JCT …) cover only the jobs that do run, and a
    rejected inference service serves no request (``kinds``: each work's kind, by id)."""
    counts: dict[tuple[bool, str], int] = {}
    for work_id, reason in infeasible.items():
        service = kinds is not None and kinds[work_id] == "inference"
        counts[service, reason] = counts.get((service, reason), 0) + 1
    for (service, reason), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if service:
            _log.warning("%d inference service(s) will be rejected: %s; their requests are "
                         "not served", n, reason)
        else:
            _log.warning("%d job(s) will be rejected: %s; job figures cover the other jobs "
                         "only", n, reason)


def _warn_over_connection(summary: dict[str, object]) -> None:
    """One warning per site whose peak facility power went above its grid connection
    (``summary.json`` says so as ``peak_within_grid_connection: false``)."""
    sites = summary.get("sites")
    for site in sites if isinstance(sites, list) else []:
        if isinstance(site, dict) and site.get("peak_within_grid_connection") is False:
            _log.warning("site %s: peak facility power %.3g MW was above its grid_connection "
                         "of %.3g MW; a real site needs a larger connection or a power cap "
                         "(energy.power_cap)", one_line(str(site.get("name")), 80),
                         site.get("peak_facility_mw"), site.get("grid_connection_mw"))


def _note_nameplate_over_connection(sites: Sequence[object]) -> None:
    """A note per site whose facility power at full load (racks at nameplate × PUE) is
    above its grid connection: a run may then peak above the connection."""
    from emulator.units import format_power
    from topologies.describe import describe_site

    for i, site in enumerate(sites):
        d = describe_site(site)  # type: ignore[arg-type]
        if not d.within_budget:
            _log.info("sites.%d (%s): facility power at full load %s is above its "
                      "grid_connection of %s; a run may peak above it", i,
                      one_line(d.name, 80), format_power(d.facility_full_w),
                      format_power(d.grid_connection_w))


def _warn_small_power_cap(sites: Sequence[object]) -> None:
    """A warning per site whose constant power cap is below the full power of its smallest
    rack: almost surely a unit left out (``value: 500`` is 500 W, not 500 kW)."""
    from emulator.units import format_power
    from topologies.describe import describe_site

    for i, site in enumerate(sites):
        cap = getattr(getattr(getattr(site, "energy", None), "power_cap", None), "value", None)
        if cap is None:
            continue
        d = describe_site(site)  # type: ignore[arg-type]
        rack_w = min((h.rack_full_w for h in d.halls), default=0.0)
        if cap < rack_w:
            _log.warning("sites.%d.energy.power_cap.value: %s is below the full power of one "
                         "rack (%s; the site draws %s at full load): it will be held far "
                         "below its load (a unit left out? e.g. 18MW)", i, format_power(cap),
                         format_power(rack_w), format_power(d.facility_full_w))


def _warn_idle_power_switches(power: object, sites: Sequence[object]) -> None:
    """A warning for each ``power`` switch the scenario's sites give nothing to act on:
    ``defer_preemptible`` without any solar plant (every hour then counts as a solar hour,
    nothing is deferred) and ``carbon_aware`` without two sites and an energy model
    (placement is then the plain policy's)."""
    energies = [getattr(site, "energy", None) for site in sites]
    if getattr(power, "defer_preemptible", False) and not any(
            e is not None and e.solar is not None for e in energies):
        _log.warning("power.defer_preemptible: no site has a solar plant (energy.solar), so "
                     "every hour counts as a solar hour and no training is deferred")
    if getattr(power, "carbon_aware", False) and (
            len(sites) < 2 or all(e is None for e in energies)):
        why = (f"the scenario has {len(sites)} site" if len(sites) < 2
               else "no site has an energy section")
        _log.warning("power.carbon_aware: placement is carbon-aware across several sites "
                     "with an energy model, but %s: work is placed as without it", why)


def _warn_trace_issues(issues: Sequence[object], limit: int = 20) -> None:
    """Log each malformed trace row once (``file:line: why``) as a warning, at most
    ``limit`` of them, then one note per count of rows skipped, dropped or adjusted for one
    reason (``-q`` hides the notes)."""
    malformed = [i for i in issues if getattr(i, "kind", "malformed") == "malformed"]
    for issue in malformed[:limit]:
        _log.warning("skipped trace row %s", one_line(str(issue), 300))
    if len(malformed) > limit:
        _log.warning("… and %d more skipped trace rows", len(malformed) - limit)
    for issue in issues:
        if getattr(issue, "kind", "malformed") != "malformed":
            _log.info("trace %s", one_line(str(issue), 300))


def _trace_rows(issues: Sequence[object]) -> dict[str, object]:
    """``summary.json`` → ``run.trace_rows``: malformed rows, and rows skipped, dropped or
    adjusted, each by reason."""
    counts: dict[str, object] = {"malformed": 0}
    for issue in issues:
        kind = getattr(issue, "kind", "malformed")
        if kind == "malformed":
            counts["malformed"] = int(counts["malformed"]) + 1  # type: ignore[call-overload]
            continue
        by_reason = counts.setdefault(kind, {})
        assert isinstance(by_reason, dict)
        why = getattr(issue, "message", str(issue))
        by_reason[why] = by_reason.get(why, 0) + int(getattr(issue, "count", 1))
    return counts


SetOption = Annotated[list[str] | None, typer.Option(
    "--set", help="override a scenario value: KEY.PATH=VALUE (repeatable)")]
ForceOption = Annotated[bool, typer.Option(
    "--force", help="go on although the size estimate is above the memory budget")]
MaxMemoryOption = Annotated[str | None, typer.Option(
    "--max-memory", help="memory budget for the size estimate, e.g. 32GB (default "
                         "$GPUEMU_MAX_MEMORY or 16GB)")]


def parse_until(until: str | None, example: str = "2d") -> float | None:
    """``--until`` in simulated seconds (``None`` when not given); a value that is not a
    positive duration is a :class:`UserError` naming the option and an ``example``."""
    if until is None:
        return None
    try:
        until_s = parse_duration(until)
    except UnitError as exc:
        raise UserError(f"--until: {exc}") from None
    if not until_s > 0:
        raise UserError(f"--until: got {until!r}; expected a positive duration such as "
                        f"{example}")
    return until_s
