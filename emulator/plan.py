"""Capacity search for ``gpuemu plan``: the smallest (or largest) integer setting that meets
a target on every seed.

``--vary PATH --range LO..HI`` names an integer scenario field (any ``--set`` path, e.g.
``sites.0.halls.1.racks``). The target (:mod:`emulator.plan_target`) must hold on every
seed for a value to *meet* it. The search assumes monotonicity: when minimising, a value
that meets the target is followed by values that meet it too (more racks never hurt);
with ``maximize`` the other way round (more racks never lower the peak power). It
evaluates LO and HI first, then bisects the bracket: ⌈log2(HI − LO)⌉ + 2 evaluations of
``seeds`` runs each, every evaluation's runs together on the executor. When the executor
has more workers than a round's runs would use, each round evaluates ``points`` values
instead, cutting the bracket into ``points + 1`` parts (fewer, wider rounds).

Several ``--vary``: every combination of the values of all but the last axis is a *line*
(a small grid, each axis' whole range), and the last axis is bisected on each line; the
lines advance together, so each round's runs go to the executor at once.

Monotonicity is checked on what was evaluated, not assumed silently: the target, or any
one of its comparisons, met at a value and missed at a larger one (when minimising; a
smaller one when maximising) is reported, since the answer may then be wrong.

Confidence: when all ``n`` seeds meet the target, the one-sided 95 % Clopper-Pearson lower
bound on the probability that a further seed meets it is ``0.05 ** (1 / n)``; in general
the two-sided 95 % interval for ``k`` of ``n`` (:func:`clopper_pearson`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.cell_runner import run_cells
from emulator.cells import Cell
from emulator.errors import UserError, short
from emulator.executor import Executor, Progress
from emulator.plan_target import Target, lookup

__all__ = ["MAX_LINES", "Axis", "Evaluation", "Line", "PlanResult", "clopper_pearson",
           "parse_range", "run_plan"]

MAX_LINES = 64
"""Most grid lines (combinations of the outer ``--vary`` axes) one plan may search."""


@dataclass(frozen=True)
class Axis:
    """An integer scenario field and the range searched (inclusive)."""

    path: str
    lo: int
    hi: int


def parse_range(text: str, path: str) -> Axis:
    """``"LO..HI"`` for field ``path``; one-line errors."""
    lo_s, sep, hi_s = text.partition("..")
    try:
        lo, hi = int(lo_s), int(hi_s)
    except ValueError:
        lo = hi = -1
        sep = ""
    if not sep or lo > hi:
        raise UserError(f"--range {short(text)} (for {path}): expected LO..HI with integers "
                        "LO <= HI, e.g. 8..128")
    return Axis(path, lo, hi)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval for a proportion with ``k`` successes of ``n``."""
    from scipy.stats import beta

    alpha = 1.0 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


@dataclass
class Evaluation:
    """One value on one line: which seeds met the target and the target figures per seed."""

    values: dict[str, int]
    seeds: list[int]
    met: list[bool]
    figures: dict[str, list[float | None]]

    @property
    def ok(self) -> bool:
        """Met on every seed."""
        return all(self.met)

    def mean(self, path: str) -> float | None:
        """Mean over seeds of one target figure (``None`` if no seed has it)."""
        xs = [x for x in self.figures[path] if x is not None and math.isfinite(x)]
        return sum(xs) / len(xs) if xs else None


@dataclass
class Line:
    """The bisection over the last axis for one combination of the outer axes."""

    fixed: dict[str, int]
    axis: Axis
    maximize: bool
    evaluations: dict[int, Evaluation] = field(default_factory=dict)
    low: int = 0
    high: int = 0
    answer: int | None = None
    done: bool = False
    bracketed: bool = False

    def __post_init__(self) -> None:
        self.low, self.high = self.axis.lo, self.axis.hi

    def wanted(self, points: int = 1) -> list[int]:
        """Values to evaluate next (none when the search has ended): both ends first, then
        ``points`` values cutting the bracket into ``points + 1`` near-equal parts (1:
        bisection; more when idle workers can take them in the same round)."""
        if self.done:
            return []
        if not self.evaluations:
            return sorted({self.axis.lo, self.axis.hi})
        width = self.high - self.low
        cuts = {self.low + (width * k) // (points + 1) for k in range(1, points + 1)}
        return sorted(v for v in cuts if self.low < v < self.high) or \
            [(self.low + self.high) // 2]

    def record(self) -> None:
        """Advance the search with what has been evaluated."""
        ok = {v: e.ok for v, e in self.evaluations.items()}
        if not self.bracketed:  # the first round evaluated both ends
            lo, hi = self.axis.lo, self.axis.hi
            unfavourable, favourable = (hi, lo) if self.maximize else (lo, hi)
            if ok[unfavourable]:
                self.answer, self.done = unfavourable, True  # the whole range meets it
            elif not ok[favourable]:
                self.done = True  # not even the favourable end meets it: no answer
            self.bracketed = True
        else:  # the bracket keeps a missing end and a meeting end: move both inwards
            inside = sorted(v for v in ok if self.low < v < self.high)
            if self.maximize:  # low meets, high misses
                missing = [v for v in inside if not ok[v]]
                self.high = missing[0] if missing else self.high
                self.low = max([self.low, *(v for v in inside if ok[v] and v < self.high)])
            else:  # low misses, high meets
                meeting = [v for v in inside if ok[v]]
                self.high = meeting[0] if meeting else self.high
                self.low = max([self.low, *(v for v in inside if not ok[v] and v < self.high)])
        if not self.done and self.high - self.low <= 1:
            self.answer = self.low if self.maximize else self.high
            self.done = True

    def contradictions(self, target: Target) -> list[str]:
        """Where the evaluations contradict the monotonicity the search assumes: the target,
        or one of its comparisons, met (on every seed) at a value and missed at a larger
        one when minimising (at a smaller one when maximising)."""
        notes = []
        seq = sorted(self.evaluations.items())
        checks: list[tuple[str, Any]] = [("the target", lambda e: e.ok)]
        for c in target.comparisons:
            checks.append((c.path if len(target.comparisons) > 1 else "the target",
                           lambda e, c=c: all(c.holds_for(x) for x in e.figures[c.path])))
        seen: set[str] = set()
        for what, met in checks:
            for (v1, e1), (v2, e2) in itertools.pairwise(seq):
                wrong = met(e1) and not met(e2) if not self.maximize else \
                    met(e2) and not met(e1)
                note = (f"{what} is met at {self.axis.path}={v1 if met(e1) else v2} but "
                        f"missed at {v2 if met(e1) else v1}")
                if wrong and note not in seen:
                    seen.add(note)
                    notes.append(note)
        return notes


@dataclass
class PlanResult:
    """Every line's answer and evaluations, and the settings."""

    scenario: str
    axes: list[Axis]
    target: Target
    seeds: list[int]
    maximize: bool
    lines: list[Line]
    runs: int


def _data(base: dict[str, Any], values: dict[str, int],
          overrides: Sequence[str]) -> dict[str, Any]:
    """``base`` with the ``--set`` overrides, then the searched values, applied."""
    import copy

    from emulator.loader import apply_override, parse_override

    data = copy.deepcopy(base)
    for text in overrides:
        keys, value = parse_override(text)
        apply_override(data, keys, value)
    for path, number in values.items():  # errors name --vary, the option that gave them
        apply_override(data, path.strip().split("."), number, option="--vary")
    return data


def _cells(scenario: Path, base: dict[str, Any], values: dict[str, int], seeds: list[int],
           until_s: float | None, overrides: Sequence[str]) -> list[Cell]:
    data = _data(base, values, overrides)
    return [Cell({**data, "seed": s}, str(scenario), "summary", until_s,
                 {"values": values, "seed": s}) for s in seeds]


def _first_point(scenario: Path, base: dict[str, Any], axes: Sequence[Axis],
                 overrides: Sequence[str], target: Target, seeds: int) -> list[int]:
    """The seeds to run, from the validated scenario at the low end of every axis, and the
    target's tenant and site names checked against it (before anything runs)."""
    from emulator.loader import validate_scenario
    from emulator.sweep_study import seeds_from

    data = _data(base, {a.path: a.lo for a in axes}, overrides)
    loaded = validate_scenario(data, source=str(scenario))
    work = {name: {kind for kind, items in (("inference", t.inference),
                                            ("training", [*t.training, *t.jobs, *t.traces]))
                   if items}
            for name, t in loaded.scenario.tenants.items()}
    target.check_names(list(loaded.scenario.tenants), [s.name for s in loaded.sites], work)
    return seeds_from(loaded.scenario.seed, seeds)


def run_plan(scenario: Path, axes: Sequence[Axis], target: Target, seeds: int,
             executor: Executor, maximize: bool = False, until_s: float | None = None,
             overrides: Sequence[str] = (), cache: Path | None = None,
             progress: Progress | None = None, points: int = 1) -> PlanResult:
    """Search every line (see the module notes); one batch of runs per round, ``points``
    values per line and round after the first (1: bisection).

    The seeds come from ``seeds`` alone: a ``seed`` override or axis is refused. The
    target's tenant and site names are checked before any run
    (:meth:`~emulator.plan_target.Target.check_names`), its whole paths on the first
    summary to arrive."""
    from emulator.loader import read_yaml
    from emulator.sweep_study import refuse_seed

    if not axes:
        raise UserError("--vary: expected at least one PATH to vary, with --range LO..HI")
    refuse_seed(overrides, "--set", "plan")
    refuse_seed([a.path for a in axes], "--vary", "plan")
    if seeds < 1:
        raise UserError(f"--seeds: got {seeds}; expected at least 1")
    base = read_yaml(scenario)
    seed_list = _first_point(scenario, base, axes, overrides, target, seeds)
    outer = list(itertools.product(*(range(a.lo, a.hi + 1) for a in axes[:-1])))
    if len(outer) > MAX_LINES:
        raise UserError(f"--range: the outer --vary axes make {len(outer)} combinations; "
                        f"expected at most {MAX_LINES} (narrow their ranges)")
    lines = [Line(dict(zip((a.path for a in axes[:-1]), combo, strict=True)), axes[-1],
                  maximize) for combo in outer]
    from emulator.cli_common import _warn_trace_issues as warn_trace_issues
    from emulator.compare import user_paths

    runs = 0
    checked = False
    warned: set[str] = set()

    def check_first(done: int, total: int, cell: Cell, result: dict[str, Any]) -> None:
        """A typo in the target fails once, clearly, on the first summary to arrive (not
        after the whole first round has run, nor as "never met")."""
        nonlocal checked
        if not checked:
            target.check_paths(result["summary"])
            checked = True
        if progress is not None:
            progress(done, total, cell, result)

    while any(not line.done for line in lines):
        batch: list[tuple[Line, int, list[Cell]]] = []
        for line in lines:
            for v in line.wanted(points):
                values = {**line.fixed, axes[-1].path: v}
                batch.append((line, v, _cells(scenario, base, values, seed_list, until_s,
                                              overrides)))
        cells = [c for _, _, cs in batch for c in cs]
        results = run_cells(cells, executor, cache, check_first)
        runs += len(cells)
        fresh = [i for cell, r in zip(cells, results, strict=True)
                 for i in user_paths(r.get("trace_issues", []), cell) if i not in warned]
        warn_trace_issues(list(dict.fromkeys(fresh)))  # each malformed row once, as a run
        warned.update(fresh)
        at = 0
        for line, v, cs in batch:
            summaries = [r["summary"] for r in results[at:at + len(cs)]]
            at += len(cs)
            line.evaluations[v] = Evaluation(
                {**line.fixed, line.axis.path: v}, seed_list,
                [target.holds(s) for s in summaries],
                {c.path: [lookup(s, c.path) for s in summaries] for c in target.comparisons})
        for line in lines:
            if not line.done:
                line.record()
    return PlanResult(str(scenario), list(axes), target, seed_list, maximize, lines, runs)
