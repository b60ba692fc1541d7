"""Planned events files (maintenance, drains, failures, cable cuts): format, reading, writing.

A planned events file lists what happens to the hardware at given simulated times, in
the spirit of Batsim's external events. YAML (a list, or a mapping with ``events:``)::

    events:
      - {at: 2h, target: "rack:bizerte/hall-a/0", action: drain, duration: 4h}
      - {at: 30m, target: "link:medusa", action: fail, duration: 6h}
      - {at: 1d, target: scheduler, action: policy, value: fairshare}

or CSV with the header ``at,target,action,duration,value`` (empty cells are unset).

Fields: ``at`` — simulated time since t=0 (a duration such as ``"2h"`` or seconds), or a
UTC date and time (``2025-03-21T06:00:00Z``; naive means UTC) counted from the
scenario's ``start``;
``target`` — see :mod:`emulator.targets` (``scheduler`` for ``policy``); ``action`` —
``drain`` (no new work on the GPUs, running work finishes), ``fail`` (GPUs out of service,
work on them preempted; on a ``link:`` target, the cable is cut), ``restore`` (failed GPUs
back, a drain ended, a cut cable repaired, power caps lifted), ``power-cap`` (cap each GPU
of the target at ``value`` watts, e.g. ``700W``: training on them slows down, see
:mod:`emulator.processes.gpu_caps`), ``policy`` (switch the queue policy to ``value``);
``duration`` — optional: the target is restored that long after ``at``.

Rows apply in time order (rows of one instant in file order). Two rows on the same target
may not overlap: a row that falls strictly inside an earlier row's timed window on that
target is refused, since the earlier row's automatic restore would end it halfway.
:func:`format_events` writes times as Python's ``repr`` of the float, so a recorded file
reads back to the exact simulated times.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from emulator.errors import UserError, describe_validation_error, one_line, short
from emulator.loader import parse_yaml
from emulator.schema_base import ScenarioModel
from emulator.units import Seconds, UnitError, parse_power

__all__ = ["ACTIONS", "PlannedEvent", "check_overlaps", "format_events", "read_events"]

ACTIONS = ("drain", "fail", "restore", "power-cap", "policy")
SCHEDULER = "scheduler"
_CSV_COLUMNS = ("at", "target", "action", "duration", "value")


class PlannedEvent(ScenarioModel):
    """One planned event (see the module docstring); times in seconds."""

    at: Seconds = Field(ge=0, description="simulated time of the event, e.g. 2h")
    target: str = Field(min_length=1, max_length=300,
                        description="rack:SITE/HALL/R, domain:…, link:NAME, scheduler …")
    action: Literal["drain", "fail", "restore", "power-cap", "policy"]
    duration: Seconds | None = Field(default=None, gt=0,
                                     description="restore the target this long after 'at'")
    value: str | float | None = Field(
        default=None, description="the queue policy name of a 'policy' action; the cap per "
                                  "GPU of a 'power-cap' action (e.g. 700W)")

    @model_validator(mode="after")
    def _value_fits_action(self) -> PlannedEvent:
        if self.action == "policy":
            if self.target != SCHEDULER:
                raise ValueError(f"target: got {short(self.target)}; a policy action "
                                 f"expected target {SCHEDULER!r}")
            if self.value is None:
                raise ValueError("value: missing; a policy action expected the queue "
                                 "policy name, e.g. fairshare")
            if not isinstance(self.value, str) or not 0 < len(self.value) <= 200:
                raise ValueError(f"value: got {short(self.value)}; a policy action expected "
                                 "the queue policy name, e.g. fairshare")
            if self.duration is not None:
                raise ValueError("duration: a policy action expected no duration (switch "
                                 "back with a later policy row)")
        elif self.target == SCHEDULER:
            raise ValueError(f"target: {SCHEDULER!r} expected the action policy")
        elif self.action == "power-cap":
            if self.value is None:
                raise ValueError("value: missing; a power-cap action expected the cap per "
                                 "GPU, e.g. 700W")
            if self.cap_w() <= 0:
                raise ValueError(f"value: got {short(self.value)}; expected a cap above 0 W")
        elif self.value is not None:
            raise ValueError(f"value: got {short(self.value)}; only policy and power-cap "
                             "actions take a value")
        if self.action == "restore" and self.duration is not None:
            raise ValueError("duration: a restore expected no duration")
        return self

    def cap_w(self) -> float:
        """A power-cap's value in W (a :class:`ValueError` naming it if it is no power)."""
        try:
            return parse_power(self.value)  # type: ignore[arg-type]
        except UnitError as exc:
            raise ValueError(f"value: {exc}") from None


def _rows_from_csv(text: str, where: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in _CSV_COLUMNS]
    if unknown or "at" not in header:
        raise UserError(f"{where}: CSV header {','.join(header) or '(none)'}; expected "
                        f"columns among {','.join(_CSV_COLUMNS)} with at, target, action")
    rows = []
    for row in reader:
        if None in row:
            raise UserError(f"{where}: line {reader.line_num}: more cells than columns; "
                            f"expected at most {len(header)} ({','.join(header)})")
        rows.append({k: v.strip() for k, v in row.items() if v is not None and v.strip()})
    return rows


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _at_from_date(row: object, start: dt.datetime | None, field: str) -> object:
    """``row`` with a date-time ``at`` replaced by seconds since ``start`` (else as is)."""
    if not isinstance(row, dict):
        return row
    value = row.get("at")
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise UserError(f"{field}: got {short(value)}; expected a duration such as 2h, "
                            "seconds, or an ISO date-time such as 2025-03-21T06:00:00Z") \
                from None
    if not isinstance(value, dt.date):
        return row
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if start is None:
        raise UserError(f"{field}: got the date {value.isoformat()}; expected a duration "
                        "since t=0 (dates need the scenario's start)")
    seconds = (value - start).total_seconds()
    if seconds < 0:
        raise UserError(f"{field}: {value.isoformat()} is before the scenario's start "
                        f"{start.isoformat()}; expected a later date-time")
    return {**row, "at": seconds}


def read_events(path: str | Path, start: dt.datetime | None = None) -> list[PlannedEvent]:
    """The events of a YAML or CSV file (``.csv`` by its suffix), validated; date-time
    ``at`` values count from ``start`` (the scenario's t=0, UTC).

    Raises
    ------
    UserError
        A missing or unreadable file, a bad row (naming ``events.N.field``), or overlapping
        timed rows on one target (targets are checked against a cluster later, by
        :func:`emulator.processes.planned_events.resolve_events`).
    """
    p = Path(path)
    where = one_line(str(p), 200)
    try:
        is_file, is_dir = p.is_file(), p.is_dir()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        raise UserError(f"{where}: not a usable file name ({exc}); expected a YAML or CSV "
                        "file of planned events") from None
    if not is_file:
        found = "is a directory" if is_dir else "events file not found"
        raise UserError(f"{where}: {found}; expected a YAML or CSV file of planned events")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{where}: cannot read ({exc}); expected a UTF-8 events file") from None
    if p.suffix.lower() == ".csv":
        rows: object = _rows_from_csv(text, where)
    else:
        data = parse_yaml(text, where)
        rows = data.get("events") if isinstance(data, dict) and set(data) == {"events"} \
            else data
        if rows is None:
            rows = []
    if not isinstance(rows, list):
        raise UserError(f"{where}: top level is {type(rows).__name__}; expected a list of "
                        "events or a mapping with 'events:'")
    events = []
    for i, row in enumerate(rows):
        try:
            row = _at_from_date(row, start, f"{where}: events.{i}.at")
            events.append(PlannedEvent.model_validate(row))
        except ValidationError as exc:
            raise UserError(f"{where}: "
                            f"{describe_validation_error(exc, f'events.{i}', PlannedEvent)}") \
                from None
    check_overlaps(events, where)
    return events


def check_overlaps(events: list[PlannedEvent], where: str) -> None:
    """Refuse a row on a target inside an earlier row's timed window on the same target."""
    windows: dict[str, tuple[int, float, float]] = {}  # target → (row, at, end)
    order = sorted(range(len(events)), key=lambda i: events[i].at)
    for i in order:
        e = events[i]
        if e.target == SCHEDULER:
            continue
        held = windows.get(e.target)
        if held is not None and held[1] < e.at < held[2]:
            raise UserError(f"{where}: events.{i}: {short(e.target)} at {e.at:g} s falls "
                            f"inside events.{held[0]}'s window on the same target (until "
                            f"{held[2]:g} s); expected events on one target not to overlap")
        if e.duration is not None:
            windows[e.target] = (i, e.at, e.at + e.duration)


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same string."""
    return "'" + value.replace("'", "''") + "'"


def format_events(events: list[PlannedEvent], header: str = "") -> str:
    """YAML text of ``events`` that :func:`read_events` reads back exactly (times as
    ``repr`` of the float: the shortest text giving the same number)."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines.append("events:" if events else "events: []")
    for e in events:
        fields = [f"at: {e.at!r}", f"target: {_scalar(e.target)}", f"action: {e.action}"]
        if e.duration is not None:
            fields.append(f"duration: {e.duration!r}")
        if isinstance(e.value, float):
            fields.append(f"value: {e.value!r}")
        elif e.value is not None:
            fields.append(f"value: {_scalar(e.value)}")
        lines.append("  - {" + ", ".join(fields) + "}")
    return "\n".join(lines) + "\n"
