"""What ``gpuemu compare`` does around the runs: it shows and saves the comparison as rich
tables, Markdown, CSV, JSON and plots.

The numbers come from :func:`emulator.compare.aggregate` (mean and 95 % t-interval over
seeds); this module only formats them (:func:`format_value` picks each metric's unit) and
writes them as one crash-safe result set.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emulator.compare import (
    METRICS,
    CompareResult,
    RunMetrics,
    _scenario_data,
    aggregate,
    run_compare,
)

__all__ = [
    "compare_command",
    "format_value",
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
    from emulator.export import write_json
    from emulator.outputs import Writer, write_result_set
    from emulator.plots import plot_jct_cdf, plot_timeseries

    rows = aggregate(result)
    run_rows = []
    for r in result.runs:
        for scope, m in r.metrics.items():
            run_rows.append({"point": r.point, "policy": r.policy, "seed": r.seed,
                             "scope": scope, **{k: m.get(k) for k in METRICS},
                             "wall_s": round(r.wall_s, 3), "trace_issues": len(r.trace_issues)})
    sections = []
    for point in result.points:
        for scope in result.scopes():
            where = "" if point.label == "base" else f" — {point.label}"
            sections.append(f"### {scope}{where}\n\n{markdown_table(result, scope, point.label)}")
    texts = {
        "compare.csv": _csv_text(rows, ["point", "policy", "scope", "metric", "mean", "ci95",
                                        "low", "high", "n"]),
        "runs.csv": _csv_text(run_rows, ["point", "policy", "seed", "scope", *METRICS,
                                         "wall_s", "trace_issues"]),
        "compare.md": f"Mean ± 95% CI over seeds {result.seeds}.\n\n" + "\n\n".join(sections)
                      + "\n",
    }
    files: dict[str, Writer] = {name: (lambda p, t=text: p.write_text(t))  # type: ignore[misc]
                                for name, text in texts.items()}
    files["compare.json"] = lambda p: write_json(p, _json_safe({
        "scenario": result.scenario, "policies": result.policies, "seeds": result.seeds,
        "grid": [{"label": pt.label, "overrides": list(pt.overrides)} for pt in result.points],
        "confidence": "95% t-interval over seeds: mean ± t(0.975, n-1)·sd/√n",
        "aggregates": rows, "runs": run_rows}))
    many = len(result.points) > 1
    for i, point in enumerate(result.points):
        suffix = f"_{i}" if many else ""
        title = "" if not many else f" ({point.label})"
        runs = [r for r in result.runs if r.point == point.label]
        jcts = {p: np.concatenate([r.jct_s for r in runs if r.policy == p] or [np.empty(0)])
                for p in result.policies}
        files[f"jct_cdf{suffix}.png"] = (
            lambda p, j=jcts, t=title: plot_jct_cdf(j, p, f"JCT of finished training jobs{t}"))
        series = {}
        for p in result.policies:
            mine = [r for r in runs if r.policy == p and r.t_s.size]
            if mine:
                n = min(r.t_s.size for r in mine)
                series[p] = (mine[0].t_s[:n],
                             np.mean([r.busy_frac[:n] for r in mine], axis=0),
                             np.mean([r.queued[:n] for r in mine], axis=0))
        files[f"timeseries{suffix}.png"] = (
            lambda p, s=series, t=title: plot_timeseries(
                s, p, f"GPU allocation and queue, mean over seeds{t}"))
    return write_result_set(out, files, {"command": "compare", "scenario": result.scenario,
                                         "policies": result.policies, "seeds": result.seeds})


def format_value(metric: str, mean: float, half: float) -> str:
    """``mean ± half`` in the units of the metric's label (h, %, MWh, counts)."""
    if math.isnan(mean):
        return "—"
    scale, fmt = 1.0, "{:.2f}"
    if metric.endswith("_s"):
        scale = 1 / 3600.0
    elif metric in ("util", "slo"):
        scale, fmt = 100.0, "{:.1f}"
    elif metric == "energy_mwh":
        fmt = "{:.1f}"
    elif metric in ("finished", "lost_gpu_h"):
        fmt = "{:.0f}"
    text = fmt.format(mean * scale)
    return text if math.isnan(half) else f"{text} ± {fmt.format(half * scale)}"


def markdown_table(result: CompareResult, scope: str = "overall",
                   point: str | None = None) -> str:
    """A Markdown table of one scope (rows: policies; cells: mean ± 95 % CI)."""
    rows = aggregate(result)
    label = point if point is not None else result.points[0].label
    metrics = [m for m in METRICS if any(
        r["scope"] == scope and r["metric"] == m and r["n"] for r in rows)]
    lines = ["| policy | " + " | ".join(METRICS[m] for m in metrics) + " |",
             "|---|" + "---|" * len(metrics)]
    for policy in result.policies:
        cells = []
        for m in metrics:
            r = next(x for x in rows if x["point"] == label and x["policy"] == policy
                     and x["scope"] == scope and x["metric"] == m)
            cells.append(format_value(m, r["mean"], r["ci95"]))
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_tables(result: CompareResult, console: Any) -> None:
    """One rich table per grid point and scope (overall, then each tenant)."""
    from rich.table import Table

    rows = aggregate(result)
    for point in result.points:
        for scope in result.scopes():
            mine = [r for r in rows if r["point"] == point.label and r["scope"] == scope]
            metrics = [m for m in METRICS if any(r["metric"] == m and r["n"] for r in mine)]
            where = "" if point.label == "base" else f" — {point.label}"
            table = Table(title=f"{scope}{where} (mean ± 95% CI over {len(result.seeds)} "
                                f"seed{'s' if len(result.seeds) > 1 else ''})")
            table.add_column("policy", style="bold")
            for m in metrics:
                table.add_column(METRICS[m], justify="right")
            for policy in result.policies:
                cells = []
                for m in metrics:
                    r = next(x for x in mine if x["policy"] == policy and x["metric"] == m)
                    cells.append(format_value(m, r["mean"], r["ci95"]))
                table.add_row(policy, *cells)
            console.print(table)


def compare_command(scenario: Path, policies: str, seeds: int, out: Path | None,
                    overrides: Sequence[str], workers: int, console: Any,
                    warn: Callable[[Sequence[object]], None], executor: Any = None,
                    cache: Callable[[Path], Path | None] | None = None) -> list[Path]:
    """What ``gpuemu compare`` does: run, print the tables, write the files.

    ``executor`` runs the runs (:mod:`emulator.executor`); ``cache`` maps the output folder
    to the folder of cached runs (``None``: no cache)."""
    names = [p.strip() for p in policies.split(",") if p.strip()]
    started = time.perf_counter()
    warned = False

    def progress(run: RunMetrics, done: int, total: int) -> None:
        nonlocal warned
        if run.trace_issues and not warned:
            warn(run.trace_issues)  # the same trace rows are skipped in every run: once
            warned = True
        where = "" if run.point == "base" else f" [{run.point}]"
        console.print(f"[{done}/{total}] {run.policy} seed {run.seed}{where}: "
                      f"{run.wall_s:.1f} s", highlight=False, markup=False)

    data = _scenario_data(Path(scenario), ())
    name = str(data.get("name", Path(scenario).stem))
    folder = out if out is not None else Path("runs") / f"{name}-compare"
    result = run_compare(scenario, names, seeds, overrides, workers, progress, executor,
                         cache(folder) if cache is not None else None)
    print_tables(result, console)
    paths = write_compare(folder, result)
    console.print(f"wrote {len(paths)} files to {folder}/ ({len(result.runs)} runs, "
                  f"{time.perf_counter() - started:.1f} s)", highlight=False)
    return paths


def summary_json(result: CompareResult) -> str:
    """The aggregates as JSON text (for scripts and tests)."""
    return json.dumps(_json_safe(aggregate(result)), indent=1)
