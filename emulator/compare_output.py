"""What ``gpuemu compare`` does around the runs: it shows and saves the comparison as rich
tables, Markdown, CSV, JSON and plots.

The numbers come from :func:`emulator.compare.aggregate` (mean and 95 % t-interval over
seeds); this module only formats them (:func:`column_format` picks each column's unit:
times in ms, s, min, h or d by the column's largest value), warns when policies produced
identical schedules (:func:`identical_schedules`), and writes them as one crash-safe
result set. Tables on a console that is not a terminal are printed at full width.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emulator.compare import (
    DEFAULT_SEEDS,
    METRICS,
    CompareResult,
    RunMetrics,
    _scenario_data,
    aggregate,
    options_left_out,
    run_compare,
    t_quantile_975,
)
from emulator.units import format_adaptive_duration
from emulator.verbosity import show_progress

_log = logging.getLogger(__name__)

__all__ = [
    "column_format",
    "compare_command",
    "entitlement_bases",
    "entitlement_note",
    "format_value",
    "identical_schedules",
    "markdown_table",
    "print_tables",
    "summary_json",
    "write_compare",
]


def _csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v)
                         for k, v in row.items() if k in columns})
    return buf.getvalue()


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_compare(out: Path, result: CompareResult) -> list[Path]:
    """Write ``compare.csv``, ``runs.csv``, ``compare.json``, ``compare.md`` and the plots
    into ``out`` as one crash-safe result set (see :mod:`emulator.outputs`): an
    interrupted or failed write leaves the previous comparison as it was."""
    from emulator.compare_plots import plot_files, plot_index, plots_markdown
    from emulator.export import write_json
    from emulator.outputs import Writer, write_result_set

    rows = aggregate(result)
    index = plot_index(result)
    same = identical_schedules(result)
    note = entitlement_note(result)
    run_rows = []
    for r in result.runs:
        for scope, m in r.metrics.items():
            run_rows.append({"point": r.point, "policy": r.policy, "seed": r.seed,
                             "scope": scope, **{k: m.get(k) for k in METRICS},
                             "wall_s": round(r.wall_s, 3), "trace_issues": len(r.trace_issues),
                             "schedule_sha256": r.schedule})
    sections = []
    for point in result.points:
        for scope in result.scopes():
            where = "" if point.label == "base" else f" — {point.label}"
            sections.append(f"### {scope}{where}\n\n{markdown_table(result, scope, point.label)}")
    texts = {
        "compare.csv": _csv_text(rows, ["point", "policy", "scope", "metric", "mean", "ci95",
                                        "low", "high", "n"]),
        "runs.csv": _csv_text(run_rows, ["point", "policy", "seed", "scope", *METRICS,
                                         "wall_s", "trace_issues", "schedule_sha256"]),
        "compare.md": f"Mean ± 95% CI over seeds {result.seeds}; a mean over fewer seeds "
                      "says how many (the others had no value, e.g. no job finished).\n\n"
                      + (f"{note[0].upper()}{note[1:]}.\n\n" if note else "")
                      + "".join(f"Policies {', '.join(names)} produced identical schedules on "
                                f"every seed ({point}): their rows are equal.\n\n"
                                for point, names in same)
                      + "\n\n".join(sections) + "\n\n" + plots_markdown(index),
    }
    files: dict[str, Writer] = {name: (lambda p, t=text: p.write_text(t))  # type: ignore[misc]
                                for name, text in texts.items()}
    files["compare.json"] = lambda p: write_json(p, _json_safe({
        "scenario": result.scenario, "policies": result.policies, "seeds": result.seeds,
        "grid": [{"label": e.point.label, "overrides": list(e.point.overrides),
                  "values": e.point.values, "caption": e.caption, "plots": e.files}
                 for e in index],
        "confidence": "95% t-interval over seeds: mean ± t(0.975, n-1)·sd/√n",
        "identical_schedules": [{"point": pt, "policies": names} for pt, names in same],
        "entitlement": entitlement_bases(result),
        "aggregates": rows, "runs": run_rows}))
    files.update(plot_files(result, index))
    return write_result_set(out, files, {"command": "compare", "scenario": result.scenario,
                                         "policies": result.policies, "seeds": result.seeds})


_TIME_UNITS: tuple[tuple[float, str, float], ...] = (
    (1.0, "ms", 1e3), (120.0, "s", 1.0), (7200.0, "min", 1 / 60), (172800.0, "h", 1 / 3600))
"""(largest value in s, unit, scale) for a column of times; beyond the last: days."""


_BASIS_WORDS = {"share": "the tenants' share weights", "quotas": "its quotas",
                "weights": "its weights", "quotas+weights": "its quotas and weights"}
"""How the tables name each entitlement basis (:func:`emulator.compare_metrics.entitlements`)."""


def entitlement_bases(result: CompareResult) -> dict[str, str]:
    """For each policy, what its runs' ``fairness`` and ``share/quota`` were measured
    against (``share``, ``quotas``, ``weights`` or ``quotas+weights``; several, joined by
    ``, ``, when grid points differ)."""
    out = {}
    for policy in result.policies:
        bases = dict.fromkeys(r.entitlement for r in result.runs if r.policy == policy)
        out[policy] = ", ".join(bases) or "share"
    return out


def entitlement_note(result: CompareResult) -> str | None:
    """One line naming what fairness was measured against, per policy, when some policy
    used its own ``quotas``/``weights`` rather than the tenants' ``share`` weights; None
    when every run used the shares (the tables' usual meaning)."""
    bases = entitlement_bases(result)
    if all(b == "share" for b in bases.values()):
        return None
    groups: dict[str, list[str]] = {}
    for policy, basis in bases.items():
        words = ", ".join(_BASIS_WORDS.get(b, b) for b in basis.split(", "))
        groups.setdefault(words, []).append(policy)
    parts = [f"{', '.join(names)}: {words}" for words, names in groups.items()]
    return ("fairness and share/quota are measured against the entitlement each policy "
            "uses — " + "; ".join(parts))


def _time_unit(values_s: Sequence[float]) -> tuple[str, float]:
    """One unit for a column of times (s), by its largest magnitude: ms below 1 s, s below
    2 min, min below 2 h, h below 2 d, else d (all cells of a column share it)."""
    finite = [abs(v) for v in values_s if math.isfinite(v)]
    top = max(finite, default=0.0)
    if top == 0.0:
        return "s", 1.0  # nothing waited: "0.00 s", not milliseconds of nothing
    return next(((unit, scale) for limit, unit, scale in _TIME_UNITS if top < limit),
                ("d", 1 / 86400))


def _decimals(top: float) -> str:
    return "{:,.2f}" if top < 10 else "{:,.1f}" if top < 100 else "{:,.0f}"


def column_format(metric: str, means: Sequence[float]) -> tuple[str, float, str]:
    """``(header, scale, format)`` of one column: its label with the unit, the factor from
    the stored value (SI: s, fractions) to the shown one, and the number format.

    Times get an adaptive unit per column (``mean JCT (min)``, ``p99 TTFT (ms)``), so
    minute-long jobs do not print as ``0.02`` hours; the files keep seconds.
    """
    label = METRICS[metric]
    if metric.endswith("_s"):
        unit, scale = _time_unit(means)
        top = max((abs(v) * scale for v in means if math.isfinite(v)), default=0.0)
        return f"{label} ({unit})", scale, _decimals(top)
    if metric in ("util", "slo"):
        return label, 100.0, "{:.1f}"
    if metric == "fairness":
        return label, 1.0, "{:.3f}"
    if metric == "share_vs_quota":
        return label, 1.0, "{:.2f}"
    if metric == "energy_mwh":
        return label, 1.0, "{:,.1f}"
    if metric == "finished":  # a mean count: whole numbers stay whole, 0.5 is not "0"
        whole = all(float(v).is_integer() for v in means if math.isfinite(v))
        return label, 1.0, "{:,.0f}" if whole else "{:,.1f}"
    if metric == "lost_gpu_h":
        return label, 1.0, _decimals(max((abs(v) for v in means if math.isfinite(v)),
                                         default=0.0))
    return label, 1.0, "{:.2f}"


def _cell(mean: float, half: float, scale: float, fmt: str, n: int | None = None,
          seeds: int | None = None) -> str:
    """``mean ± half`` (no ± without an interval), and ``(n of seeds seeds)`` when the mean
    covers fewer seeds than were run (the others had no value: no job finished, ...)."""
    if math.isnan(mean):
        return "—"
    text = fmt.format(mean * scale)
    if not math.isnan(half):
        text += f" ± {fmt.format(half * scale)}"
    if n is not None and seeds is not None and n < seeds:
        text += f" ({n} of {seeds} seeds)"
    return text


def format_value(metric: str, mean: float, half: float, n: int | None = None,
                 seeds: int | None = None) -> str:
    """``mean ± half`` of one metric alone, in the unit :func:`column_format` picks for it
    (with ``(n of seeds seeds)`` when ``n`` is less than ``seeds``)."""
    _, scale, fmt = column_format(metric, [mean])
    return _cell(mean, half, scale, fmt, n, seeds)


SHOWN_WHERE_DIFFERENT = {"wait_incl_queued_mean_s": "wait_mean_s"}
"""Metrics shown in a table only where some policy's mean differs from the metric named
(a mean wait with queued jobs counted equals the mean wait when none was left queued)."""


def _same_as(mine: dict[tuple[str, str], dict[str, Any]], policies: Sequence[str],
             metric: str) -> bool:
    """Whether ``metric`` repeats its :data:`SHOWN_WHERE_DIFFERENT` partner for every
    policy (to 1e-9 relative), so its column would say nothing new."""
    other = SHOWN_WHERE_DIFFERENT.get(metric)
    if other is None:
        return False
    return all(mine[(p, metric)]["n"] == mine[(p, other)]["n"]
               and (mine[(p, metric)]["n"] == 0
                    or math.isclose(mine[(p, metric)]["mean"], mine[(p, other)]["mean"],
                                    rel_tol=1e-9, abs_tol=1e-9))
               for p in policies)


def _grid(result: CompareResult, rows: list[dict[str, Any]], point: str,
          scope: str) -> tuple[list[str], list[list[str]]]:
    """Headers and cells (rows: policies) of one point and scope: the metrics that have a
    value for some policy, each column in its own unit."""
    mine = {(r["policy"], r["metric"]): r for r in rows
            if r["point"] == point and r["scope"] == scope}
    metrics = [m for m in METRICS if any(mine[(p, m)]["n"] for p in result.policies)
               and not _same_as(mine, result.policies, m)]
    headers, columns = [], []
    for m in metrics:
        cells = [mine[(p, m)] for p in result.policies]
        header, scale, fmt = column_format(m, [c["mean"] for c in cells])
        headers.append(header)
        columns.append([_cell(c["mean"], c["ci95"], scale, fmt, c["n"], len(result.seeds))
                        for c in cells])
    return headers, [list(row) for row in zip(*columns, strict=True)] if columns else [
        [] for _ in result.policies]


def markdown_table(result: CompareResult, scope: str = "overall",
                   point: str | None = None) -> str:
    """A Markdown table of one scope (rows: policies; cells: mean ± 95 % CI)."""
    label = point if point is not None else result.points[0].label
    headers, body = _grid(result, aggregate(result), label, scope)
    lines = ["| policy | " + " | ".join(headers) + " |", "|---|" + "---|" * len(headers)]
    for policy, cells in zip(result.policies, body, strict=True):
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_tables(result: CompareResult, console: Any) -> None:
    """One rich table per grid point and scope (overall, then each tenant). On a console
    that is not a terminal (a pipe, a log) the tables are printed at their full width,
    never cut or wrapped at 80 columns."""
    from rich.table import Table

    from emulator.wide_console import print_full_width

    rows = aggregate(result)
    tables = []
    for point in result.points:
        for scope in result.scopes():
            headers, body = _grid(result, rows, point.label, scope)
            where = "" if point.label == "base" else f" — {point.label}"
            table = Table(title=f"{scope}{where} (mean ± 95% CI over {len(result.seeds)} "
                                f"seed{'s' if len(result.seeds) > 1 else ''})")
            table.add_column("policy", style="bold")
            for header in headers:
                table.add_column(header, justify="right")
            for policy, cells in zip(result.policies, body, strict=True):
                table.add_row(policy, *cells)
            tables.append(table)
    print_full_width(console, *tables)


def identical_schedules(result: CompareResult) -> list[tuple[str, list[str]]]:
    """``(point, policies)`` for each group of two or more policies whose runs had equal
    schedule digests on every seed: they started and ended every job at the same times,
    so their rows can only be equal."""
    groups = []
    for point in result.points:
        by_digests: dict[tuple[str, ...], list[str]] = {}
        for policy in result.policies:
            runs = sorted((r for r in result.runs if r.point == point.label
                           and r.policy == policy), key=lambda r: r.seed)
            digests = tuple(r.schedule for r in runs)
            if digests and all(digests):
                by_digests.setdefault(digests, []).append(policy)
        groups += [(point.label, names) for names in by_digests.values() if len(names) > 1]
    return groups


def _warn_identical(result: CompareResult) -> None:
    for point, names in identical_schedules(result):
        where = "" if point == "base" else f" at {point}"
        _log.warning("policies %s produced identical schedules on every seed%s: nothing "
                     "they would order differently happened (does anything queue?), so "
                     "their rows are equal", ", ".join(names), where)


def _note_seeds(seeds: int) -> None:
    if seeds == 1:
        _log.info("one seed: no confidence intervals (the default is %d seeds)",
                  DEFAULT_SEEDS)
    elif seeds < DEFAULT_SEEDS:
        _log.info("%d seeds: 95%% intervals are wide (t quantile %.2f); the default is %d",
                  seeds, t_quantile_975(seeds - 1), DEFAULT_SEEDS)


def _warn_options_left_out(data: dict[str, Any], policies: Sequence[str]) -> None:
    """Say which policies ran without scheduler options they take (the scenario's, given
    to its own policy only), so their rows differ from a single run of the scenario with
    that policy."""
    own = (data.get("scheduler") or {}).get("queue", "fifo")
    for policy, names in options_left_out(data, policies).items():
        _log.warning("%s ran with its own defaults for %s: the scenario's scheduler.options "
                     "go to its policy (%s) only; gpuemu run --set scheduler.queue=%s would "
                     "use them", policy, ", ".join(names), own, policy)


def compare_command(scenario: Path, policies: str, seeds: int, out: Path | None,
                    overrides: Sequence[str], workers: int, console: Any,
                    warn: Callable[[Sequence[object]], None],
                    until_s: float | None = None, executor: Any = None,
                    cache: Callable[[Path], Path | None] | None = None) -> list[Path]:
    """What ``gpuemu compare`` does: run (each run to ``until_s`` if given), print the
    tables, warn about policies that could not differ, write the files.

    ``executor`` runs the runs (:mod:`emulator.executor`); ``cache`` maps the output folder
    to the folder of cached runs (``None``: no cache)."""
    names = [p.strip() for p in policies.split(",") if p.strip()]
    started = time.perf_counter()
    warned: set[str] = set()

    def progress(run: RunMetrics, done: int, total: int) -> None:
        # each skipped row once: runs of one trace skip the same rows, but a --set grid
        # over the trace (its path, limit, offset) can skip other rows at other points
        fresh = [i for i in dict.fromkeys(run.trace_issues) if i not in warned]
        if fresh:
            warn(fresh)
            warned.update(fresh)
        where = "" if run.point == "base" else f" [{run.point}]"
        if show_progress():
            # a small run simulates in milliseconds: its unit, not "0.0 s"
            console.print(f"[{done}/{total}] {run.policy} seed {run.seed}{where}: "
                          f"{format_adaptive_duration(run.wall_s, 2)}", highlight=False,
                          markup=False)

    data = _scenario_data(Path(scenario), ())
    name = str(data.get("name", Path(scenario).stem))
    folder = out if out is not None else Path("runs") / f"{name}-compare"
    from emulator.outputs import check_replaceable

    check_replaceable(folder, "compare")  # before the runs, not after them
    result = run_compare(scenario, names, seeds, overrides, workers, progress, executor,
                         cache(folder) if cache is not None else None, until_s=until_s)
    _note_seeds(seeds)  # after the checks: a bad command line stays one error line
    _warn_options_left_out(data, names)
    print_tables(result, console)
    note = entitlement_note(result)
    if note is not None:
        console.print(note, highlight=False, markup=False, soft_wrap=True)
    _warn_identical(result)
    paths = write_compare(folder, result)
    console.print(f"wrote {len(paths)} files to {folder}/ ({len(result.runs)} runs, "
                  f"{time.perf_counter() - started:.1f} s)", highlight=False)
    return paths


def summary_json(result: CompareResult) -> str:
    """The aggregates as JSON text (for scripts and tests)."""
    return json.dumps(_json_safe(aggregate(result)), indent=1)
