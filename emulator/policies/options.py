"""Reading ``scheduler.options`` values: one helper per kind, one error line each.

A policy's ``__init__`` takes its options as keyword arguments; the values come from YAML
or ``--set`` as they were written, so a switch may arrive as the text ``"false"`` (which
``bool()`` would read as true). :func:`switch` accepts ``true``/``false`` only, as the
scenario schema does for its own switches (docs/robustness.md), and
:func:`unknown_option` words the error for an option a policy does not take.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Mapping

import numpy as np

from emulator.errors import UserError, did_you_mean, short
from emulator.units import UnitError, parse_duration

__all__ = ["duration", "number", "number_map", "option_names", "switch", "unknown_option",
           "whole_number"]


def switch(value: object, option: str) -> bool:
    """The switch option ``option`` (``scheduler.options.OPTION``): ``true`` or ``false``
    only; anything else (``"false"``, ``0``, ``"yes"``) is a one-line :class:`UserError`."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise UserError(f"scheduler.options.{option}: got {short(value)}; expected true or "
                    "false")


def number(value: object, option: str) -> float:
    """The numeric option ``option`` (``scheduler.options.OPTION``) as a float: an int or a
    float only; text (``"abc"``, ``"2"``), a switch or anything else is a one-line
    :class:`UserError` (range checks stay with the policy)."""
    if not isinstance(value, bool | np.bool_) and isinstance(
            value, int | float | np.integer | np.floating):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float
            pass
    raise UserError(f"scheduler.options.{option}: got {short(value)}; expected a number")


def duration(value: object, option: str) -> float:
    """The duration option ``option`` in seconds (``"2h"``, ``"1920s"`` or a number of
    seconds); anything else is a one-line :class:`UserError` naming the option (range
    checks stay with the policy)."""
    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except UnitError as exc:  # "got 'abc'; expected a duration such as '7d'"
        raise UserError(f"scheduler.options.{option}: {exc}") from None


def whole_number(value: object, option: str) -> int:
    """The count option ``option`` as an int: a whole number only (``1e3`` is 1000; ``2.5``,
    text or a switch is a one-line :class:`UserError`)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    raise UserError(f"scheduler.options.{option}: got {short(value)}; expected a whole "
                    "number")


def number_map(value: object, option: str) -> dict[str, float]:
    """The option ``option`` that maps tenants to numbers (``{tenant: 0.5}``); ``None`` is
    empty. Anything but a mapping of numbers is a one-line :class:`UserError`."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UserError(f"scheduler.options.{option}: got {short(value)}; expected a mapping "
                        "of tenants to numbers, e.g. {research: 0.5}")
    return {str(t): number(v, f"{option}.{t}") for t, v in value.items()}


def option_names(cls: type) -> list[str]:
    """The keyword options a policy class takes: the named parameters of every
    ``__init__`` along its class hierarchy (each passes the rest on to its parent)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names.update(p.name for p in params if p.name != "self" and p.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY))
    return sorted(names)


def unknown_option(policy: str, given: Collection[str], accepted: Collection[str]
                   ) -> UserError:
    """The error for options ``given`` that the queue policy ``policy`` does not take."""
    name = sorted(given)[0]
    more = f" (and {len(given) - 1} more)" if len(given) > 1 else ""
    if not accepted:
        return UserError(f"scheduler.options: unknown option {name!r}{more} for queue policy "
                         f"{policy!r}; expected none (it takes no options)")
    return UserError(f"scheduler.options: unknown option {name!r}{more} for queue policy "
                     f"{policy!r}; expected one of {', '.join(sorted(accepted))}"
                     f"{did_you_mean(name, accepted)}")
