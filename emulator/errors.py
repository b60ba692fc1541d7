"""User-facing errors: one line naming the field, the value and what was expected.

The CLI catches :class:`UserError` (and the library errors it wraps), prints the message
on one line and exits with status 2, without a traceback. Everything else is a bug and
keeps its traceback.

User text (names, values, paths) is never trusted to be printable: :func:`one_line`
escapes control characters (a newline in a tenant name cannot break the one-line
promise) and caps the length, and :func:`short` quotes and shortens a value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel, ValidationError

__all__ = ["MAX_LINE", "PATTERN_WORDS", "UserError", "describe_validation_error",
           "did_you_mean", "number", "one_line", "short"]

MAX_LINE = 400
"""Longest error line printed (characters); longer messages are cut with ``…``."""


PATTERN_WORDS: dict[str, str] = {}
"""What a schema ``pattern`` asks for, in words (models register theirs)."""


class UserError(Exception):
    """A mistake in the user's input (file, option, scenario value)."""


def _escape_char(c: str) -> str:
    if c == "\t":
        return "\\t"
    if c == "\n":
        return "\\n"
    if c == "\r":
        return "\\r"
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` with control and line-breaking characters escaped, at most ``limit`` chars."""
    out = "".join(_escape_char(c) if (not c.isprintable() and c != " ") else c for c in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def short(value: object, limit: int = 60) -> str:
    """``repr(value)`` on one line, shortened to ``limit`` characters (a 1 MB value stays short)."""
    if isinstance(value, str) and len(value) > 4 * limit:
        value = value[: 4 * limit]  # repr of a huge string is never built
    if isinstance(value, int) and value.bit_length() > 200:  # never build a huge repr
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    text = one_line(text, 10 * limit)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _path(loc: tuple[object, ...], prefix: str) -> str:
    parts = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
    return ".".join(p for p in (prefix, parts) if p) or "(top level)"


_BOUNDS = {"greater_than": ("gt", "greater than"),
           "greater_than_equal": ("ge", "greater than or equal to"),
           "less_than": ("lt", "less than"),
           "less_than_equal": ("le", "less than or equal to")}
"""pydantic's numeric bound errors: the ``ctx`` key of the limit, and the words."""


def number(value: object) -> str:
    """A number for a message: ``1e18`` rather than ``1000000000000000000`` (from 1e15
    up), a whole float without its ``.0`` (``316224000``, as pydantic prints a limit),
    anything else as :func:`short`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return short(value)
    if isinstance(value, int) and value.bit_length() > 200:
        return short(value)
    if abs(value) >= 1e15:
        mantissa, _, exponent = f"{float(value):.6g}".partition("e")
        return f"{mantissa}e{int(exponent)}" if exponent else mantissa
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return short(value)


def _raw_at(data: object, loc: tuple[object, ...]) -> tuple[object, tuple[object, ...]]:
    """What the user wrote at ``loc`` inside ``data`` (the mapping validated), and the
    location without the parts that name no level of ``data``: a union member's tag
    (``lognormal``), a validator's name, or the ``fixed.value`` inside which a bare count
    (``tokens: 1e9``) is validated. ``(None, loc)`` when a list index is out of range.
    The caller checks that the value found is the one the error is about."""
    node, shown = data, []
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                node = node[part]
                shown.append(part)
        elif isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                return None, loc
            node = node[part]
            shown.append(part)
        else:  # a scalar a validator made into a mapping: the rest is that mapping's
            break
    return node, tuple(shown)


def _same_number(raw: object, value: object) -> bool:
    """Whether the user's ``raw`` (a number, numeric text or a quantity with its unit) is
    what became ``value``."""
    from emulator.units import quantity_formatter

    if isinstance(raw, bool) or isinstance(value, bool) or not isinstance(value, int | float):
        return raw == value
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float: only itself is the same number
        return raw == value
    if isinstance(raw, int | float):
        try:
            return float(raw) == number
        except OverflowError:
            return False
    if isinstance(raw, str):
        try:
            return float(raw) == number
        except ValueError:
            return quantity_formatter(raw, number) is not None
    return False


def _items(count: object, kind: object) -> str:
    """``1 entry`` / ``3 items``: a length limit in words (a mapping has entries)."""
    noun = "entr" if kind == "Dictionary" else "item"
    plural = ("y" if noun == "entr" else "") if count == 1 else ("ies" if noun == "entr" else "s")
    return f"{count} {noun}{plural}"


def describe_validation_error(err: ValidationError, prefix: str = "",
                              model: type[BaseModel] | None = None,
                              data: object = None) -> str:
    """One line for the most useful error of ``err``: ``path: got VALUE; expected …``.

    An unknown key is reported before the "missing" error it usually causes (``replicass``
    instead of ``replicas``), with a "did you mean" from the missing names beside it, or,
    when none is missing (a misspelt optional key), from the fields ``model`` (the model
    that was validated) accepts there.

    With ``data`` (the mapping that was validated), the value is shown as the user wrote
    it (``duration: got 4000d``, not the seconds it became), a numeric limit in the unit
    the user wrote (``expected a value less than or equal to 3,660 d``), and the path
    without the parts that are no level of the file (``tokens.lognormal.median`` is
    ``tokens.median``; a bare ``tokens: 1e19`` is ``tokens``).
    """
    errors = err.errors(include_url=False)
    extras = [e for e in errors if e["type"] == "extra_forbidden"]
    first = extras[0] if extras else errors[0]
    path = _path(first["loc"], prefix)
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    extra = len(errors) - 1
    more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
    if first["type"] == "missing":
        return f"{path}: missing; this field is required{more}"
    if first["type"] == "extra_forbidden":
        parent = first["loc"][:-1]
        missing = [str(e["loc"][-1]) for e in errors
                   if e["type"] == "missing" and e["loc"][:-1] == parent]
        hint = did_you_mean(str(first["loc"][-1]), missing)
        if not hint and model is not None:
            from emulator.field_names import field_names_at

            hint = did_you_mean(str(first["loc"][-1]), field_names_at(model, parent))
        if missing and extra == len(missing):  # the only other problems are what it replaced
            more = ""
        return (f"{path}: unknown field (value {short(first['input'])}); check the "
                f"spelling{hint}{more}")
    got = number(first["input"])
    in_unit = None  # shows a limit in the unit the user wrote the value in
    if data is not None:
        raw, shown = _raw_at(data, tuple(first["loc"]))
        if not isinstance(raw, dict | list) and _same_number(raw, first["input"]):
            path = _path(shown, prefix)
            if isinstance(raw, str) and (isinstance(first["input"], int | float)
                                         or first["type"] in _BOUNDS):
                from emulator.units import quantity_formatter

                got = one_line(raw.strip(), 60)  # numeric text or a quantity, unquoted
                if isinstance(first["input"], int | float):
                    in_unit = quantity_formatter(raw, float(first["input"]))
            elif isinstance(raw, int | float):
                got = number(raw)
    ctx = first.get("ctx") or {}
    if first["type"] == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        wanted = PATTERN_WORDS.get(pattern, f"text matching {pattern}")
        return f"{path}: got {got}; expected {wanted}{more}"
    if message.startswith("got ") or "; expected " in message:
        # a unit parser's or a validator's whole message: it shows the value already
        return f"{path}: {one_line(message)}{more}"
    if first["type"] in _BOUNDS and isinstance(ctx.get(_BOUNDS[first["type"]][0]), int | float):
        key, words = _BOUNDS[first["type"]]
        limit = ctx[key]
        shown_limit = in_unit(float(limit)) if in_unit is not None else number(limit)
        return f"{path}: got {got}; expected a value {words} {shown_limit}{more}"
    if first["type"] in ("too_short", "too_long"):
        bound = ("at least", ctx.get("min_length")) if first["type"] == "too_short" else (
            "at most", ctx.get("max_length"))
        return (f"{path}: got {got}; expected {bound[0]} "
                f"{_items(bound[1], ctx.get('field_type'))}{more}")
    for lead in ("Input should be ", "Value should be "):
        if message.startswith(lead):  # pydantic's "Input should be greater than 0"
            rest = message[len(lead):]
            if rest.startswith("'"):
                message = f"one of {rest}"
            elif rest.startswith(("a ", "an ", "one of", "at ")):
                message = rest
            else:
                message = f"a value {rest}"
            break
    else:
        if len(message) > 1 and message[1].islower():  # keep acronyms: "GPU counts …"
            message = message[0].lower() + message[1:]
    return f"{path}: got {got}; expected {message}{more}"
