"""Human units at the edges, SI inside.

Scenario and preset files accept strings such as ``"7d"``, ``"20MW"``, ``"800Gbps"``,
``"186GB"``, ``"1050km"`` or ``"6/d"``; the code works only in SI units (seconds, watts,
bit/s, bytes, metres, events per second). Each parser returns a float in SI units and
raises :class:`UnitError` (a ``ValueError``) with a one-line message naming the value
and what was expected, so pydantic can report the field path around it.

The pydantic ``Annotated`` aliases (``Seconds``, ``Watts`` …) are the types used in
config models: a plain number is taken as already SI, a string is parsed.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from emulator.errors import short

__all__ = [
    "Bits",
    "BitsPerSecond",
    "Bytes",
    "BytesPerSecond",
    "Meters",
    "PerSecond",
    "Seconds",
    "UnitError",
    "Watts",
    "format_adaptive_duration",
    "format_bytes",
    "format_duration",
    "format_power",
    "format_rate_bps",
    "parse_bandwidth_bps",
    "parse_bytes",
    "parse_duration",
    "parse_length_m",
    "parse_power",
    "parse_rate",
    "quantity_formatter",
    "time_unit",
]


class UnitError(ValueError):
    """A quantity string that cannot be read in the expected unit."""


_NUMBER = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_PATTERN = re.compile(rf"^\s*{_NUMBER}\s*([A-Za-z/µ]*)\s*$")

_DURATION = {
    "": 1.0, "s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9,
    "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0, "w": 604800.0,
}
# the same units spelled out ("2 weeks", "10/hour"), accepted but not listed in messages
_DURATION_WORDS = {
    "secs": 1.0, "second": 1.0, "seconds": 1.0, "mins": 60.0, "minute": 60.0,
    "minutes": 60.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0, "day": 86400.0,
    "days": 86400.0, "week": 604800.0, "weeks": 604800.0,
}
_POWER = {"": 1.0, "w": 1.0, "kw": 1e3, "mw": 1e6, "gw": 1e9}
_BANDWIDTH = {  # bits per second
    "": 1.0, "bps": 1.0, "kbps": 1e3, "mbps": 1e6, "gbps": 1e9, "tbps": 1e12, "pbps": 1e15,
    "b/s": 8.0, "kb/s": 8e3, "mb/s": 8e6, "gb/s": 8e9, "tb/s": 8e12,  # bytes/s, see below
}
_BYTES = {
    "": 1.0, "b": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15,
    "kib": 2.0**10, "mib": 2.0**20, "gib": 2.0**30, "tib": 2.0**40,
}
_LENGTH = {"": 1.0, "m": 1.0, "km": 1e3}
_ENERGY = {"": 1.0, "j": 1.0, "kj": 1e3, "mj": 1e6, "gj": 1e9, "wh": 3.6e3, "kwh": 3.6e6,
           "mwh": 3.6e9, "gwh": 3.6e12}


def _show(value: object) -> str:
    """``value`` quoted for a message: one line, at most 60 characters."""
    return short(value)


def _split(value: str | float | int, what: str, example: str) -> tuple[float, str]:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnitError(f"got {_show(value)}; expected a {what} such as {example!r}")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            raise UnitError(f"got {_show(value)}; expected a finite {what}") from None
        if not math.isfinite(number):
            raise UnitError(f"got {_show(value)}; expected a finite {what}")
        return number, ""
    match = _PATTERN.match(value)
    if not match:
        raise UnitError(f"got {_show(value)}; expected a {what} such as {example!r}")
    number = float(match.group(1))
    if not math.isfinite(number):
        raise UnitError(f"got {_show(value)}; expected a finite {what}")
    return number, match.group(2)


def _convert(value: str | float | int, table: dict[str, float], what: str, example: str,
             case_sensitive: bool = False, words: dict[str, float] | None = None) -> float:
    number, unit = _split(value, what, example)
    key = unit if case_sensitive else unit.lower()
    if words and key not in table and key in words:
        table = words
    if key not in table:
        units = ", ".join(sorted(k for k in table if k))
        spelled = " (or spelled out: 2 weeks, 1 day, 3 hours)" if words else ""
        raise UnitError(f"got {_show(value)}; the {what} unit {unit!r} is unknown; expected "
                        f"one of {units}{spelled}")
    result = number * table[key]
    if not math.isfinite(result):
        raise UnitError(f"got {_show(value)}; expected a finite {what}")
    return result


_COMPOUND_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-zµ]+)")


def _compound_duration(value: str) -> float | None:
    """Seconds of a duration written in several parts, largest first, such as ``"5h10m"``,
    ``"1d 12h"`` or ``"2h30m15s"`` (each part unsigned, with a unit); ``None`` when
    ``value`` is not such a sum of at least two parts."""
    parts: list[tuple[float, str]] = []
    pos = 0
    while pos < len(value):
        match = _COMPOUND_PART.match(value, pos)
        if match is None:
            return None if value[pos:].strip() else _sum_parts(value, parts)
        parts.append((float(match.group(1)), match.group(2)))
        pos = match.end()
    return _sum_parts(value, parts)


def _sum_parts(value: str, parts: list[tuple[float, str]]) -> float | None:
    if len(parts) < 2:
        return None
    scales = []
    for _, unit in parts:
        key = unit.lower()
        scale = _DURATION.get(key, _DURATION_WORDS.get(key))
        if scale is None:
            return None  # the one-part parser names the unknown unit
        scales.append(scale)
    if any(b >= a for a, b in itertools.pairwise(scales)):
        raise UnitError(f"got {_show(value)}; expected the parts of a duration largest "
                        "first, each unit once, such as '5h10m'")
    seconds = sum(number * scale for (number, _), scale in zip(parts, scales, strict=True))
    if not math.isfinite(seconds):
        raise UnitError(f"got {_show(value)}; expected a finite duration")
    return seconds


def parse_duration(value: str | float | int) -> float:
    """Seconds from ``"7d"``, ``"30m"`` (minutes), ``"250ms"``, ``"2h"``, the unit spelled
    out (``"2 weeks"``, ``"1 day"``), several parts largest first (``"5h10m"``,
    ``"1d 12h"``) or a number of seconds."""
    if isinstance(value, str):
        compound = _compound_duration(value)
        if compound is not None:
            return compound
    return _convert(value, _DURATION, "duration", "7d", words=_DURATION_WORDS)


def parse_power(value: str | float | int) -> float:
    """Watts from ``"20MW"``, ``"120kW"``, ``"700W"`` or a number of watts."""
    return _convert(value, _POWER, "power", "20MW")


def parse_bandwidth_bps(value: str | float | int) -> float:
    """Bits per second from ``"800Gbps"`` (bits) or ``"900GB/s"`` (bytes, upper-case B)."""
    _, unit = _split(value, "bandwidth", "800Gbps")
    lowered = unit.lower()
    if lowered.endswith("b/s") and unit[-3] == "B":  # bytes per second
        return _convert(value, {k: v for k, v in _BANDWIDTH.items() if k.endswith("b/s")},
                        "bandwidth", "800Gbps")
    if lowered.endswith("b/s"):  # bits written with a slash: "400Gb/s" is "400Gbps"
        bits = {k[:-3] + "b/s": v for k, v in _BANDWIDTH.items() if k.endswith("bps")}
        return _convert(value, bits, "bandwidth", "800Gbps")
    return _convert(value, {k: v for k, v in _BANDWIDTH.items() if not k.endswith("b/s")},
                    "bandwidth", "800Gbps")


def parse_bytes(value: str | float | int) -> float:
    """Bytes from ``"186GB"`` (decimal), ``"80GiB"`` (binary) or a number of bytes."""
    return _convert(value, _BYTES, "size in bytes", "186GB")


def parse_length_m(value: str | float | int) -> float:
    """Metres from ``"1050km"``, ``"300m"`` or a number of metres."""
    return _convert(value, _LENGTH, "length", "1050km")


def _parse_energy(value: str | float | int) -> float:
    """Joules from ``"40MWh"``, ``"3.6GJ"`` or a number of joules (for error lines; the
    scenario's own parser is :func:`topologies.energy.parse_energy_j`)."""
    return _convert(value, _ENERGY, "energy", "40MWh")


def parse_rate(value: str | float | int) -> float:
    """Events per second from ``"6/d"``, ``"40/s"``, ``"2/h"``.

    The period is required: a bare number would silently mean "per second" (``rate: 7``
    for training jobs is 604,800 a day), so it is refused with the two likely readings.
    """
    example = "expected a rate with its period such as '6/d' or '40/s'"
    if isinstance(value, str) and "/" in value:
        count, _, per = value.partition("/")
        try:
            n = float(count)
        except ValueError:
            raise UnitError(f"got {_show(value)}; {example}") from None
        if not math.isfinite(n):
            raise UnitError(f"got {_show(value)}; expected a finite rate")
        try:
            period = (parse_duration("1" + per.strip()) if per.strip().isalpha()
                      else parse_duration(per))
        except UnitError:
            raise UnitError(f"got {_show(value)}; {example} (period units: "
                            f"{', '.join(k for k in _DURATION if k)})") from None
        if period <= 0:
            raise UnitError(f"got {_show(value)}; expected a positive period, e.g. '6/d'")
        rate = n / period
        if not math.isfinite(rate):
            raise UnitError(f"got {_show(value)}; expected a finite rate")
        return rate
    if isinstance(value, int | float) and not isinstance(value, bool):
        shown = value if value > 0 else 6  # a rate of 0 or below would be refused next
        raise UnitError(f"got {_show(value)}; expected a rate with its period, e.g. "
                        f"'{shown}/s' or '{shown}/d' (a bare number has no unit)")
    raise UnitError(f"got {_show(value)}; {example}")


_ADAPTIVE_UNITS = (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3),
                   ("µs", 1e-6))
"""Duration units, largest first (:func:`time_unit`, and limits in error lines)."""


def _in_units(value: float, units: tuple[tuple[str, float], ...], sep: str = " ") -> str:
    """``value`` in the largest of ``units`` it reaches (0 in the SI unit), to 6
    significant figures."""
    unit, size = next(((u, s) for u, s in units if abs(value) >= s or (value == 0 and s == 1.0)),
                      units[-1])
    scaled = value / size
    whole = scaled.is_integer() and abs(scaled) < 1e15
    text = f"{int(scaled):,}" if whole else f"{scaled:,.6g}"
    return f"{text}{sep}{unit}"


_QUANTITIES: tuple[tuple[object, tuple[tuple[str, float], ...], str], ...] = (
    (parse_duration, _ADAPTIVE_UNITS, " "),
    (parse_power, (("GW", 1e9), ("MW", 1e6), ("kW", 1e3), ("W", 1.0)), " "),
    (parse_bytes, (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3),
                   ("B", 1.0)), " "),
    (parse_bandwidth_bps, (("Pbps", 1e15), ("Tbps", 1e12), ("Gbps", 1e9), ("Mbps", 1e6),
                           ("kbps", 1e3), ("bps", 1.0)), " "),
    (parse_length_m, (("km", 1e3), ("m", 1.0)), " "),
    (_parse_energy, (("GWh", 3.6e12), ("MWh", 3.6e9), ("kWh", 3.6e6), ("Wh", 3.6e3),
                     ("J", 1.0)), " "),
    (parse_rate, (("/s", 1.0), ("/min", 1 / 60), ("/h", 1 / 3600), ("/d", 1 / 86400)), ""),
)
"""Each quantity's parser, the units its limits are shown in, and the separator."""


def quantity_formatter(raw: str, value: float) -> Callable[[float], str] | None:
    """How to show a limit of the field where the user wrote ``raw`` (``"4000d"``), which
    became ``value`` in SI units: ``3,660 d`` for 316,224,000 s. ``None`` when ``raw``
    carries no unit, or is no quantity that gives ``value`` (or more than one kind does:
    ``0m``)."""
    if not isinstance(raw, str) or not re.search(r"[A-Za-zµ/]", raw):
        return None
    found = []
    for parse, units, sep in _QUANTITIES:
        try:
            if parse(raw) == value:  # type: ignore[operator]
                found.append((units, sep))
        except ValueError:
            continue
    if len(found) != 1:
        return None
    units, sep = found[0]
    return lambda limit: _in_units(limit, units, sep)


def _validator(parse):  # type: ignore[no-untyped-def]
    def run(value: object) -> float:
        return parse(value)  # UnitError is a ValueError: pydantic reports it with the field path
    return BeforeValidator(run)


def _schema(example: str) -> WithJsonSchema:
    """JSON Schema of a quantity: a number in SI units or a string with a unit."""
    return WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}],
                           "examples": [example]})


Seconds = Annotated[float, _validator(parse_duration), _schema("7d")]
Watts = Annotated[float, _validator(parse_power), _schema("20MW")]
BitsPerSecond = Annotated[float, _validator(parse_bandwidth_bps), _schema("800Gbps")]
Bits = BitsPerSecond
Bytes = Annotated[float, _validator(parse_bytes), _schema("186GB")]


def _parse_bytes_per_s(value: str | float | int) -> float:
    """Bytes/s: a plain number is already bytes/s; a string is a bandwidth (bits or bytes)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return parse_bandwidth_bps(value) / 8.0


BytesPerSecond = Annotated[float, _validator(_parse_bytes_per_s), _schema("900GB/s")]
Meters = Annotated[float, _validator(parse_length_m), _schema("1050km")]
PerSecond = Annotated[float, _validator(parse_rate), _schema("6/d")]


def format_duration(seconds: float) -> str:
    """Short human duration: ``'3d 04:05:06'`` or ``'12.3 s'``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    days, rem = divmod(round(seconds), 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def format_power(watts: float) -> str:
    """``'18.42 MW'`` style power."""
    for unit, scale in (("GW", 1e9), ("MW", 1e6), ("kW", 1e3)):
        if abs(watts) >= scale:
            return f"{watts / scale:.2f} {unit}"
    return f"{watts:.0f} W"


def format_bytes(n: float) -> str:
    """``'186 GB'`` style decimal size."""
    for unit, scale in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def format_rate_bps(bps: float) -> str:
    """``'480 Tb/s'`` style bit rate."""
    for unit, scale in (("Pb/s", 1e15), ("Tb/s", 1e12), ("Gb/s", 1e9), ("Mb/s", 1e6)):
        if abs(bps) >= scale:
            return f"{bps / scale:.3g} {unit}"
    return f"{bps:.0f} b/s"


def time_unit(seconds: float) -> tuple[str, float]:
    """The unit a duration of ``seconds`` reads best in, and its size in seconds.

    The largest of d, h, min, s, ms, µs that the magnitude reaches (at least one whole
    unit), so 90 s reads as minutes and 0.2 s as milliseconds; 0, NaN and infinity read
    in seconds. Tables pick one unit per column from its largest value with this.
    """
    magnitude = abs(seconds)
    if not math.isfinite(magnitude) or magnitude == 0:
        return "s", 1.0
    for unit, size in _ADAPTIVE_UNITS:
        if magnitude >= size:
            return unit, size
    return "µs", 1e-6


def format_adaptive_duration(seconds: float | None, digits: int = 3) -> str:
    """``seconds`` in the unit its magnitude picks: ``'4.2 min'``, ``'1.5 d'``, ``'12 ms'``.

    ``None`` and NaN print as an em dash; ``digits`` significant figures.
    """
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    if math.isinf(seconds):
        return "∞"
    unit, size = time_unit(seconds)
    return f"{seconds / size:.{digits}g} {unit}"
