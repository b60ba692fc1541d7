"""Checks of the Python API's arguments (:mod:`emulator.api`), in the API's own words.

The library code under the API was written for the CLI, and its errors name the CLI's
options (``--seeds: got 0``, ``--set 'x': …``). A Python caller never typed those: each
argument of :func:`emulator.api.run` and :func:`emulator.api.sweep` is checked here first,
and a mistake is one :class:`~emulator.errors.UserError` line naming the parameter, the
value and what was expected (``seeds: got 0; expected a number of seeds per point, at
least 1``), never a ``TypeError`` from deep inside. :func:`api_words` rewrites what can only
fail later (a dask cluster that does not start, a cache folder that cannot be made).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emulator.errors import UserError, short

__all__ = ["OVERRIDES", "api_words", "cache_folder", "count", "folder", "overrides_list",
           "scheduler", "seed", "until_s"]

OVERRIDES = "overrides"
"""How override errors name the argument (the CLI's ``--set``)."""

_CLI_WORDS = {"--workers": "workers", "--scheduler": "scheduler", "--cache": "cache",
              "--seeds": "seeds", "--set": "overrides", "--until": "until",
              "--serial": "workers=1"}
"""The CLI option each API parameter stands for, for messages raised under the API."""
_CLI_OPTION = re.compile("|".join(re.escape(k) for k in sorted(_CLI_WORDS, key=len,
                                                                   reverse=True)) + r"\b")


def _whole(name: str, value: Any, what: str, least: int, most: int | None = None) -> int:
    """``value`` as an int from ``least`` to ``most`` (no upper bound: ``None``): an int
    (not a bool) or a string of one."""
    span = f"at least {least}" if most is None else f"from {least} to {most}"
    text = isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value) is not None
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not (text or integral):
        raise UserError(f"{name}: got {short(value)}; expected {what} (an int), {span}")
    number = int(value)
    if number < least or (most is not None and number > most):
        raise UserError(f"{name}: got {short(value)}; expected {what}, {span}")
    return number


def count(name: str, value: Any, what: str, most: int) -> int:
    """A count from 1 to ``most`` (``seeds``: :data:`emulator.sweep_study.MAX_SEEDS`,
    ``workers``: :data:`emulator.executor.MAX_WORKERS`, the CLI's bounds of the same
    options): an int or a string of one."""
    return _whole(name, value, what, 1, most)


def seed(value: Any) -> int | None:
    """``run``'s ``seed``: ``None`` (the scenario's) or a whole number ≥ 0."""
    return None if value is None else _whole("seed", value, "a whole-number seed", 0)


def until_s(until: Any) -> float | None:
    """``until`` in seconds: ``None``, a positive number of seconds or a duration string
    such as ``"6h"``."""
    from emulator.units import UnitError, parse_duration

    if until is None:
        return None
    if isinstance(until, bool) or not isinstance(until, str | numbers.Real):
        raise UserError(f"until: got {short(until)}; expected a duration such as '2d' or a "
                        "number of seconds")
    try:
        value = parse_duration(until) if isinstance(until, str) else float(until)
    except (UnitError, ValueError) as exc:
        raise UserError(f"until: {exc}") from None
    if not value > 0:
        raise UserError(f"until: got {short(until)}; expected a positive duration such as '2d'")
    return value


def overrides_list(overrides: Any) -> list[str]:
    """``overrides`` as a list of ``KEY.PATH=VALUE`` strings (one string is one)."""
    if isinstance(overrides, str):
        return [overrides]
    if not isinstance(overrides, Sequence):
        raise UserError(f"overrides: got {short(overrides)}; expected a 'KEY.PATH=VALUE' string "
                        "or a list of them")
    for text in overrides:
        if not isinstance(text, str):
            raise UserError(f"overrides: got {short(text)} in the list; expected "
                            "'KEY.PATH=VALUE' strings, e.g. 'seed=7'")
    return list(overrides)


def scheduler(value: Any) -> str | None:
    """A dask scheduler's address (``tcp://host:8786``) or ``None``."""
    if value is None:
        return None
    from emulator.executor import address_problem

    problem = address_problem(value) if isinstance(value, str) else None
    if not isinstance(value, str) or problem is not None:
        why = f"; {problem}" if problem is not None else ""
        raise UserError(f"scheduler: got {short(value)}; expected an address such as "
                        f"'tcp://host:8786' (or None: a local cluster){why}")
    return value


def cache_folder(value: Any) -> Path | None:
    """The cache folder (a path) or ``None``."""
    if value is None:
        return None
    return folder("cache", value, " (or None: no cache)")


def folder(name: str, value: Any, alternative: str = "") -> Path:
    """A folder path argument (``str`` or :class:`~pathlib.Path`, not empty)."""
    if not isinstance(value, str | Path) or not str(value).strip():
        raise UserError(f"{name}: got {short(value)}; expected a folder path{alternative}")
    return Path(value)


@contextmanager
def api_words() -> Iterator[None]:
    """Re-raise a :class:`UserError` whose line starts with a CLI option (``--workers: …``,
    ``--cache /x: …``) with the API parameter's name in its place, and the other option
    names in it likewise."""
    try:
        yield
    except UserError as exc:
        text = str(exc)
        if not text.startswith("--"):
            raise
        raise UserError(_CLI_OPTION.sub(lambda m: _CLI_WORDS[m.group(0)], text)) from None
