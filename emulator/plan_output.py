"""What ``gpuemu plan`` shows and writes: the answer table, the confidence statement, the
monotonicity notes, ``plan.csv`` (every evaluation and seed), ``plan.json`` and
``plan.png`` (the target figures against the varied value, or the answer across the grid).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from emulator.plan import Line, PlanResult, clopper_pearson

__all__ = ["answer_rows", "confidence", "evaluation_csv", "plan_json", "plot_plan"]


def confidence(line: Line) -> str:
    """The confidence statement for a line's answer (Clopper-Pearson, 95 %), naming the
    line's fixed outer values when the search is a grid."""
    fixed = "".join(f"{k}={v}, " for k, v in line.fixed.items())
    if line.answer is None:
        where = f" with {fixed[:-2]}" if fixed else ""
        return f"no value in the range meets the target on every seed{where}"
    e = line.evaluations[line.answer]
    n = len(e.seeds)
    low, _ = clopper_pearson(n, n, level=0.90)  # its lower end is the one-sided 95 % bound
    who = f"all {n} seeds meet" if n > 1 else "the one seed meets"
    return (f"{who} the target at {fixed}"
            f"{line.axis.path}={line.answer}; 95% lower confidence bound on the chance that "
            f"another seed meets it: {low:.0%} (Clopper-Pearson, one-sided)")


def answer_rows(result: PlanResult) -> list[dict[str, Any]]:
    """One row per line: the fixed outer values, the answer, seeds meeting at the
    neighbouring value, the target figures' means at the answer."""
    rows = []
    for line in result.lines:
        row: dict[str, Any] = dict(line.fixed)
        row[line.axis.path] = line.answer
        if line.answer is not None:
            e = line.evaluations[line.answer]
            row["seeds_meeting"] = f"{sum(e.met)}/{len(e.met)}"
            for c in result.target.comparisons:
                row[c.path] = e.mean(c.path)
        neighbour = None if line.answer is None else (
            line.answer + 1 if result.maximize else line.answer - 1)
        if neighbour is not None and neighbour in line.evaluations:
            n = line.evaluations[neighbour]
            row["next_value_meets"] = f"{sum(n.met)}/{len(n.met)} seeds at {neighbour}"
        row["evaluated"] = len(line.evaluations)
        row["confidence"] = confidence(line)
        rows.append(row)
    return rows


def evaluation_csv(result: PlanResult) -> str:
    """Every evaluation and seed: the values, the seed, met or not, each target figure."""
    paths = [a.path for a in result.axes]
    figs = [c.path for c in result.target.comparisons]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*paths, "seed", "met", *figs])
    for line in result.lines:
        for _, e in sorted(line.evaluations.items()):
            for i, seed in enumerate(e.seeds):
                w.writerow([*(e.values[p] for p in paths), seed, e.met[i],
                            *("" if e.figures[f][i] is None else e.figures[f][i]
                              for f in figs)])
    return buf.getvalue()


def _finite(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def plan_json(result: PlanResult, notes: list[str]) -> dict[str, Any]:
    """Settings, answers, notes and evaluations as JSON-ready data."""
    return {
        "scenario": result.scenario, "target": result.target.text,
        "vary": [{"path": a.path, "lo": a.lo, "hi": a.hi} for a in result.axes],
        "seeds": result.seeds, "maximize": result.maximize, "runs": result.runs,
        "answers": [{k: _finite(v) for k, v in r.items()} for r in answer_rows(result)],
        "monotonicity_notes": notes,
        "evaluations": [{"values": e.values, "met": e.met,
                         "figures": {k: [_finite(x) for x in v] for k, v in e.figures.items()}}
                        for line in result.lines for _, e in sorted(line.evaluations.items())],
    }


def plot_plan(result: PlanResult, path: Path) -> None:
    """One axis: each target figure (per seed and mean) against the value, the threshold
    and the answer. Several axes: the answer against the first outer axis, one line per
    combination of the others."""
    from emulator.plots import _save

    comps = result.target.comparisons
    if len(result.axes) == 1:
        line = result.lines[0]
        fig = Figure(figsize=(7.0, 3.0 * len(comps) + 0.8))
        for k, c in enumerate(comps):
            ax = fig.add_subplot(len(comps), 1, k + 1)
            xs = sorted(line.evaluations)
            for v in xs:
                pts = [y for y in line.evaluations[v].figures[c.path] if y is not None]
                ax.scatter([v] * len(pts), pts, s=12, color="0.55", zorder=2)
            means = [line.evaluations[v].mean(c.path) for v in xs]
            ax.plot([v for v, m in zip(xs, means, strict=True) if m is not None],
                    [m for m in means if m is not None], marker="o", label="mean over seeds")
            ax.axhline(c.value, color="tab:red", linestyle="--", label=f"target {c.op} "
                                                                       f"{c.value:g}")
            if line.answer is not None:
                ax.axvline(line.answer, color="tab:green", label=f"answer {line.answer}")
            ax.set_xlabel(line.axis.path)
            ax.set_ylabel(c.path, fontsize=8)
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
    else:
        fig = Figure(figsize=(7.0, 4.2))
        ax = fig.add_subplot()
        first = result.axes[0].path
        groups: dict[tuple[tuple[str, int], ...], list[Line]] = {}
        for line in result.lines:
            rest = tuple((k, v) for k, v in line.fixed.items() if k != first)
            groups.setdefault(rest, []).append(line)
        for rest, lines in groups.items():
            pts = [(ln.fixed[first], ln.answer) for ln in lines if ln.answer is not None]
            label = ", ".join(f"{k}={v}" for k, v in rest) or "answer"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        ax.set_xlabel(first)
        ax.set_ylabel(f"{'largest' if result.maximize else 'smallest'} {result.axes[-1].path}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    import textwrap

    fig.suptitle("\n".join(textwrap.wrap(result.target.text, 90)), fontsize=9)
    fig.tight_layout()
    _save(fig, path)
