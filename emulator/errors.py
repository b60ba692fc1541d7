"""User-facing errors: one line naming the field, the value and what was expected.

The CLI catches :class:`UserError` (and the library errors it wraps), prints the message
on one line and exits with status 2, without a traceback. Everything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["UserError", "describe_validation_error"]


class UserError(Exception):
    """A mistake in the user's input (file, option, scenario value)."""


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line for the first error of ``err``: ``path: got VALUE; expected …``."""
    first = err.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
    path = ".".join(p for p in (prefix, loc) if p) or "(top level)"
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    extra = len(err.errors()) - 1
    more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
    if first["type"] == "missing":
        return f"{path}: missing; this field is required{more}"
    if first["type"] == "extra_forbidden":
        return f"{path}: unknown field (value {_short(first['input'])}); check the spelling{more}"
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
    return f"{path}: got {_short(first['input'])}; expected {message}{more}"
