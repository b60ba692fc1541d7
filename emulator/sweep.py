"""Parameter grids from ``--set`` overrides: ``KEY=a,b,c`` is an axis of a sweep.

``gpuemu compare`` runs every point of the grid (each with every policy and seed). A value
is split on top-level commas, so ``--set tenants.eu-inference.share=0.2,0.4,0.6`` is an axis
of three values, and two such overrides make a 3 × N grid (cartesian product, in the order
given). A value that must contain a comma is written as YAML that says so: a flow list or
mapping (``[1,2]``, ``{a: 1, b: 2}``) or a quoted string (``'a,b'``) is one value.

>>> [p.label for p in expand_grid(["seed=1", "a.b=1,2", "c=x,y"])]
['a.b=1, c=x', 'a.b=1, c=y', 'a.b=2, c=x', 'a.b=2, c=y']
>>> expand_grid(["a=[1],[2]", "a.0=3"])[1].overrides   # in the order given, as run applies them
('a=[2]', 'a.0=3')
>>> expand_grid(["a=[1,2]"])[0].overrides
('a=[1,2]',)
>>> split_values("[8,16],[72]")
['[8,16]', '[72]']
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["GridPoint", "expand_grid", "split_values"]

_LITERAL_START = ("[", "{", "'", '"')
_OPEN = {"[": "]", "{": "}"}


@dataclass(frozen=True)
class GridPoint:
    """One point of a sweep: the ``--set`` overrides to apply and the swept values."""

    overrides: tuple[str, ...]
    values: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``"key=value, key2=value2"`` over the swept keys (``"base"`` with none)."""
        return ", ".join(f"{k}={v}" for k, v in self.values.items()) or "base"


def _one_yaml_value(text: str) -> bool:
    """Whether ``text`` is one whole YAML value (``[1,2]`` is; ``[1,2],[3]`` is not)."""
    import yaml

    try:
        yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return True


def split_values(raw: str) -> list[str]:
    """The values in ``raw``: split on commas outside brackets and quotes.

    A value that is one YAML flow collection or quoted string is one value; several of
    them separated by commas (``[8,16],[72]``) are several values.
    """
    text = raw.strip()
    if not text or (text.startswith(_LITERAL_START) and _one_yaml_value(text)):
        return [raw]
    parts, depth, quote, current = [], [], "", []
    for ch in raw:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in ("'", '"'):
            quote = ch
        elif ch in _OPEN:
            depth.append(_OPEN[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        elif ch == "," and not depth:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts if all(parts) else [raw]


def _refuse_overwritten_axis(key: str, swept: Sequence[str], option: str = "--set"
                             ) -> None:
    """A one-line error when the override of ``key`` would replace a field swept by an
    earlier override (the same path, or a field above it): every point would then run
    the later value while its row is labelled with the swept one. ``option`` is what the
    caller calls an override (``--set`` on the command line, ``overrides`` in the API)."""
    from emulator.errors import UserError, short

    one = "--set" if option == "--set" else "override"
    for axis in swept:
        if axis == key:
            raise UserError(f"{option} {short(key)}: set again after an earlier {one} sweeps "
                            f"it; expected one {one} per swept field, its values listed "
                            "once (e.g. KEY=1,2,3)")
        if axis.startswith(f"{key}."):
            raise UserError(f"{option} {short(key)}: replaces {short(axis)}, which an "
                            f"earlier {one} sweeps; expected it before that {one} (a later "
                            f"{one} refines an earlier one)")


def _refuse_repeated_values(key: str, values: Sequence[str], option: str = "--set") -> None:
    """A one-line error when a swept override lists one value twice: the point would run
    twice and show as two identical rows (or as one point of twice the seeds)."""
    from emulator.errors import UserError, short

    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise UserError(f"{option} {short(key)}: lists {short(value)} twice; expected "
                            "each value once (e.g. KEY=1,2,3)")
        seen.add(value)


def expand_grid(overrides: Sequence[str], option: str = "--set") -> list[GridPoint]:
    """Every combination of the comma-listed override values (one point if none list).

    Each point keeps every override in its command-line position, a swept one with the
    point's value in its place, so overrides apply in the order given (as ``gpuemu run``
    applies them): a fixed override after a swept one refines the swept value. Errors
    call an override ``option`` (``--set``, or ``overrides`` from the API).
    """
    slots: list[list[str]] = []
    axes: list[tuple[int, str]] = []  # (position in ``slots``, key) of each swept override
    for text in overrides:
        key, sep, raw = text.partition("=")
        values = split_values(raw) if sep else [raw]
        _refuse_overwritten_axis(key.strip(), [k for _, k in axes], option)
        if len(values) > 1:
            _refuse_repeated_values(key.strip(), values, option)
            axes.append((len(slots), key.strip()))
            slots.append([f"{key.strip()}={v}" for v in values])
        else:
            slots.append([text])
    points = []
    for combo in itertools.product(*slots):
        chosen = {key: combo[at].partition("=")[2] for at, key in axes}
        points.append(GridPoint(tuple(combo), chosen))
    return points
