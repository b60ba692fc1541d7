"""Targets of ``gpuemu plan``: ``PATH OP NUMBER`` comparisons over ``summary.json``.

Grammar (no ``eval``; the text is tokenised and checked here)::

    target     := comparison ("and" comparison)*
    comparison := PATH OP NUMBER
    OP         := "<=" | ">=" | "<" | ">" | "==" | "!="
    PATH       := name ("." name)*        (letters, digits, "_", "-", "+")
    NUMBER     := a decimal or 1e3-style number; "%" divides by 100; in the summary's
                  own units (a unit word after it, "500 ms", is an error, never dropped)

``PATH`` is looked up in a run's summary by :func:`lookup`: mapping keys as written; a
site or tenant by its name or a unique prefix of it (``sites.bizerte`` finds
``bizerte-20mw``, ``tenants.eu`` finds ``eu-inference``; a prefix of several is an error
naming them); a key a mapping does not have is looked for one level further down when
exactly one child has it (``tenants.eu-inference.slo_attainment`` is
``tenants.eu-inference.requests.slo_attainment``); and ``peak_mw`` means
``peak_facility_mw``. The tenant and site names are checked against the scenario before
any run (:meth:`Target.check_names`), the rest of the path on the first summary.

>>> t = parse_target("tenants.eu.slo_attainment >= 99% and sites.bizerte.peak_mw <= 20")
>>> [str(c) for c in t.comparisons]
['tenants.eu.slo_attainment >= 0.99', 'sites.bizerte.peak_mw <= 20']
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from emulator.errors import UserError, did_you_mean, short

__all__ = ["ALIASES", "Comparison", "Target", "lookup", "parse_target"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
    "==": operator.eq, "!=": operator.ne,
}
_TOKEN = re.compile(r"\s*(?:(?P<op><=|>=|==|!=|<|>)|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)"
                    r"(?:[eE][-+]?\d+)?(?:\s*%)?)|(?P<word>[A-Za-z_][\w.+\-]*))")

_UNIT = re.compile(r"\s*(?P<unit>[A-Za-zµ][A-Za-z/]*)(?![\w.])")
_UNITS = frozenset({"ns", "us", "µs", "ms", "s", "sec", "min", "h", "hr", "hrs", "d",
                    "day", "days", "w", "kw", "mw", "gw", "wh", "kwh", "mwh", "gwh", "twh",
                    "j", "kj", "mj", "gj", "usd", "eur", "t", "kg", "tco2", "m3", "pct",
                    "percent", "req", "rps", "tok", "tokens", "gpus"})
"""Words read as a unit after a number (case ignored; anything with a ``/`` too): a
target's numbers are in the summary's own units, so these are refused, never dropped."""

ALIASES = {"peak_mw": "peak_facility_mw", "energy_mwh": "facility_energy_mwh"}
"""Short names accepted in a target path for the summary's own keys."""


@dataclass(frozen=True)
class Comparison:
    """``path op value``; ``value`` in the summary's own units."""

    path: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.path} {self.op} {self.value:g}"

    def holds(self, summary: dict[str, Any]) -> bool:
        """Whether the run's summary meets it (a missing or null figure does not)."""
        return self.holds_for(lookup(summary, self.path))

    def holds_for(self, x: float | None) -> bool:
        """Whether the figure ``x`` meets it (``None`` or NaN does not)."""
        return x is not None and math.isfinite(x) and _OPS[self.op](x, self.value)


@dataclass(frozen=True)
class Target:
    """All comparisons must hold (``and``)."""

    text: str
    comparisons: tuple[Comparison, ...]

    def holds(self, summary: dict[str, Any]) -> bool:
        """Whether every comparison holds in ``summary``."""
        return all(c.holds(summary) for c in self.comparisons)

    def check_paths(self, summary: dict[str, Any]) -> None:
        """A one-line error for a path that names nothing in ``summary`` (a typo), or names
        something that is not one figure (a group such as ``ttft_s``, a list, text): such a
        target could never be met. A null figure is a figure (a run may have none)."""
        for c in self.comparisons:
            try:
                value = _find(summary, c.path.split("."), c.path)
            except KeyError as exc:
                raise UserError(f"--target {c.path}: {exc.args[0]}") from None
            if value is None or isinstance(value, bool | int | float):
                continue
            raise UserError(f"--target {c.path}: {_not_a_figure(c.path, value)}")

    def check_names(self, tenants: list[str], sites: list[str],
                    work: Mapping[str, Collection[str]] | None = None) -> None:
        """A one-line error for a path ``tenants.NAME…`` or ``sites.NAME…`` whose NAME is no
        tenant or site of the scenario (nor a unique prefix of one), or a prefix of several,
        or whose site index is out of range: checked before any run. With ``work`` (each
        tenant's kinds of work: ``inference``, ``training``), also for a tenant's figure
        that is null whatever the run does, a latency or SLO attainment of a tenant with no
        inference service or a JCT or wait of one with no training work: such a target
        could never be met.

        Only these names can be checked without a run: the rest of a path follows the
        summary, whose keys depend on the run (energy, failures, routing), so it is checked
        on the first summary (:meth:`check_paths`). With one tenant a NAME that is none may
        still be a key of that tenant (the one-level skip), so that too waits for a run.
        """
        for c in self.comparisons:
            parts = c.path.split(".")
            if len(parts) < 2 or parts[0] not in _NAMED:
                continue
            names, what = (tenants, "tenant") if parts[0] == "tenants" else (sites, "site")
            part = parts[1]
            try:
                if what == "site" and part.isdigit():
                    if int(part) >= len(sites):
                        raise KeyError(f"index {part} out of range (the scenario has "
                                       f"{len(sites)} site(s))")
                elif what == "site" or len(tenants) > 1 or any(
                        n.startswith(part) for n in tenants):
                    name = _pick(part, names, what)
                    if what == "tenant" and work is not None:
                        _check_has_work(c.path, name, parts[2:], work)
            except KeyError as exc:
                raise UserError(f"--target {c.path}: {exc.args[0]}") from None


_NULL_WITHOUT = {"slo_attainment": "inference", "ttft_s": "inference",
                 "tpot_s": "inference", "jct_s": "training", "wait_s": "training",
                 "wait_incl_queued_s": "training"}
"""Tenant figures that are null in every run of a tenant without that kind of work."""


def _check_has_work(path: str, tenant: str, rest: list[str],
                    work: Mapping[str, Collection[str]]) -> None:
    """A :class:`UserError` when ``rest`` (the path below ``tenants.TENANT``) names a
    figure that ``tenant`` can never have (:data:`_NULL_WITHOUT`)."""
    if rest[:1] == ["requests"]:
        rest = rest[1:]
    kind = _NULL_WITHOUT.get(rest[0]) if rest else None
    if kind is None or kind in work.get(tenant, ()):
        return
    with_it = sorted(t for t, kinds in work.items() if kind in kinds)
    what, a_what = (("inference service", "an inference service") if kind == "inference"
                    else ("training work", "training work"))
    raise UserError(f"--target {path}: tenant {tenant!r} has no {what}, so its {rest[0]} "
                    "is null in every run and the target can never be met; expected a "
                    f"tenant with {a_what} ({', '.join(with_it) or 'none in this scenario'})")


def parse_target(text: str) -> Target:
    """Parse ``text`` (grammar above); a one-line :class:`UserError` naming the problem."""
    where = f"--target {short(text)}"
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise UserError(f"{where}: cannot read {short(text[pos:].strip())}; expected "
                            "PATH OP NUMBER, e.g. tenants.eu.slo_attainment >= 0.99")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        unit = _UNIT.match(text, pos) if kind == "num" else None
        if unit is not None and (unit["unit"].lower() in _UNITS or "/" in unit["unit"]):
            raise UserError(f"{where}: {m.group(kind)} {unit['unit']}: a unit is not read; "
                            "expected the number in the figure's own unit, as summary.json "
                            "has it (seconds for *_s, MW for *_mw, MWh for *_mwh, a fraction "
                            "for slo_attainment; N% divides by 100)")
    comparisons = []
    i = 0
    while True:
        part = tokens[i:i + 3]
        if [k for k, _ in part] != ["word", "op", "num"]:
            raise UserError(f"{where}: expected PATH OP NUMBER (OP one of "
                            f"{' '.join(_OPS)}), e.g. sites.bizerte.peak_mw <= 20")
        raw = part[2][1].replace(" ", "")
        value = float(raw.rstrip("%")) / (100.0 if raw.endswith("%") else 1.0)
        if not math.isfinite(value):
            raise UserError(f"{where}: {short(raw)} is not a finite number; expected a "
                            "number such as 0.99, 20 or 1.5e3")
        if _is_fraction(part[0][1]) and not 0.0 <= value <= 1.0:
            raise UserError(f"{where}: {part[0][1]} is a fraction from 0 to 1, got {raw}; "
                            "expected a threshold from 0 to 1, e.g. 0.99 or 99%")
        comparisons.append(Comparison(part[0][1], part[1][1], value))
        i += 3
        if i == len(tokens):
            break
        if tokens[i] != ("word", "and") or i + 1 == len(tokens):
            raise UserError(f"{where}: expected 'and' between comparisons, got "
                            f"{short(tokens[i][1])}")
        i += 1
    return Target(text, tuple(comparisons))


def _is_fraction(path: str) -> bool:
    """Whether the figure at ``path`` is a fraction from 0 to 1 by its name
    (``slo_attainment``, ``*_util``, ``*_share``): a threshold outside 0..1 on it (``>= 99``
    for 99 %) would be never or always met, whatever the run."""
    last = path.rsplit(".", 1)[-1]
    return last == "slo_attainment" or last.endswith(("_util", "_share"))


_NAMED = ("tenants", "sites")
"""Summary keys whose children are named by the scenario (a mapping by tenant name, a list
of sites by ``name``): a child may be named by a unique prefix of its name."""


def _pick(part: str, names: list[str], what: str) -> str:
    """The one name in ``names`` that is ``part`` or starts with it; a :class:`KeyError`
    naming the candidates when none or several do."""
    if part in names:
        return part
    hits = [n for n in names if n.startswith(part)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise KeyError(f"{part!r} is a prefix of more than one {what} "
                       f"({', '.join(hits)}); expected a unique prefix")
    raise KeyError(f"{part!r} names no {what}; expected one of "
                   f"{', '.join(names) or 'none'}")


def _find(node: Any, parts: list[str], path: str, named: bool = False) -> Any:
    """The value at ``parts`` below ``node`` (see the module notes); ``named``: ``node``'s
    children are named by the scenario (:data:`_NAMED`), so a unique prefix finds one."""
    if not parts:
        return node
    part, rest = ALIASES.get(parts[0], parts[0]), parts[1:]
    if isinstance(node, list) and part.isdigit():
        if int(part) >= len(node):
            raise KeyError(f"index {part} out of range (list has {len(node)})")
        return _find(node[int(part)], rest, path)
    if isinstance(node, list):
        named_items = {x["name"]: x for x in node
                       if isinstance(x, dict) and isinstance(x.get("name"), str)}
        return _find(named_items[_pick(part, list(named_items), "item")], rest, path)
    if not isinstance(node, dict):
        raise KeyError(f"{part!r} is below a number; expected a path to a figure")
    if part in node:
        return _find(node[part], rest, path, part in _NAMED)
    deeper = [v for v in node.values() if isinstance(v, dict) and part in v]
    if len(deeper) == 1:
        return _find(deeper[0][part], rest, path, part in _NAMED)
    if named:
        return _find(node[_pick(part, [str(k) for k in node], "item")], rest, path)
    keys = sorted(str(k) for k in node)
    # keys one level down are reachable too (the skip above), when only one child has them
    below = [str(k) for v in node.values() if isinstance(v, dict) for k in v]
    reachable = sorted({k for k in below if below.count(k) == 1} - set(keys))
    also = f" (or, one level down, {', '.join(reachable)})" if reachable else ""
    hint = did_you_mean(parts[0], [*keys, *reachable, *ALIASES]).removeprefix("; ")
    raise KeyError(f"no figure {parts[0]!r} there{f' ({hint})' if hint else ''}; "
                   f"expected one of {', '.join(keys)}{also}")


def _not_a_figure(path: str, value: Any) -> str:
    """Why ``value`` (found at ``path``) is not one number, and which path would be."""
    if isinstance(value, dict):
        keys = sorted(str(k) for k in value)
        figures = [k for k in keys if value[k] is None or isinstance(value[k], int | float)]
        pick = next((k for k in ("p99", "slo_attainment", "mean") if k in figures),
                    figures[0] if figures else keys[0] if keys else "")
        example = f", e.g. {path}.{pick}" if pick else ""
        return (f"names a group of figures ({', '.join(keys)}), not a number; expected a "
                f"path to one of them{example}")
    if isinstance(value, list):
        return (f"names a list of {len(value)} item(s), not a number; expected a path to "
                "one figure")
    return f"names {short(value)}, not a number; expected a path to one figure"


def lookup(summary: dict[str, Any], path: str) -> float | None:
    """The number at ``path`` in ``summary`` (see the module notes); ``None`` if it is null,
    absent or not a number."""
    try:
        value = _find(summary, path.split("."), path)
    except KeyError:
        return None
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, int | float) else None
