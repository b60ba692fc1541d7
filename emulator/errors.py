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
           "did_you_mean", "one_line", "short"]

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


def describe_validation_error(err: ValidationError, prefix: str = "",
                              model: type[BaseModel] | None = None) -> str:
    """One line for the most useful error of ``err``: ``path: got VALUE; expected …``.

    An unknown key is reported before the "missing" error it usually causes (``replicass``
    instead of ``replicas``), with a "did you mean" from the missing names beside it, or,
    when none is missing (a misspelt optional key), from the fields ``model`` (the model
    that was validated) accepts there.
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
    if first["type"] == "string_pattern_mismatch":
        pattern = str((first.get("ctx") or {}).get("pattern", ""))
        wanted = PATTERN_WORDS.get(pattern, f"text matching {pattern}")
        return f"{path}: got {short(first['input'])}; expected {wanted}{more}"
    if message.startswith("got "):  # a unit parser's message already shows the value
        return f"{path}: {one_line(message)}{more}"
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
    return f"{path}: got {short(first['input'])}; expected {message}{more}"
