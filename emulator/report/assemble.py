"""Build every figure of a run report and the files that hold it.

:func:`report_files` returns file name → bytes: ``report.html`` (self-contained) and one
``report-<figure>.png`` per drawn figure, beside it. Writing them is the caller's job
(:func:`emulator.outputs.add_to_result_set` adds them to a run folder's checksummed set;
``gpuemu run --report`` writes them with the run's results).
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.report.fig_cluster import gantt_figure, queue_figure, rack_heatmap_figure
from emulator.report.fig_energy import cost_figure, power_figure
from emulator.report.fig_latency import jct_cdf_figure, latency_figure
from emulator.report.figure import Figure
from emulator.report.html import render_html
from emulator.report.rundata import RunData

__all__ = ["BUILDERS", "build_figures", "report_files"]

BUILDERS: tuple[Callable[[RunData], Figure], ...] = (
    power_figure, cost_figure, rack_heatmap_figure, queue_figure, latency_figure,
    jct_cdf_figure, gantt_figure)
"""The report's figures, in page order."""


def build_figures(data: RunData) -> list[Figure]:
    """Every figure of the report (drawn, or left out with the reason)."""
    return [build(data) for build in BUILDERS]


def report_files(data: RunData) -> dict[str, bytes]:
    """``report.html`` and the PNG of each drawn figure, as file name → bytes."""
    figures = build_figures(data)
    files = {f"report-{f.slug}.png": f.png for f in figures if f.png is not None}
    files["report.html"] = render_html(data, figures).encode("utf-8")
    return files
