"""PNG plots of policy comparisons (matplotlib, Agg canvas; no pyplot global state).

Plots are functions of numbers already computed from event logs (DESIGN principle 6): the
engine knows nothing of matplotlib. Each function draws one figure on its own
:class:`~matplotlib.figure.Figure` and writes it atomically.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = ["ecdf_steps", "fit_title", "plot_jct_cdf", "plot_timeseries"]

_DPI = 110
_TITLE_CHARS = 60
"""Characters of a title line before it wraps (a 7-inch figure holds about 60)."""
_MIN_TITLE_POINTS = 7.0


def fit_title(fig: Figure, ax: Axes, title: str) -> Text:
    """Set ``ax``'s title and lay ``fig`` out so that the title lies inside the figure:
    lines longer than :data:`_TITLE_CHARS` wrap (at most three lines each), and a title
    still too wide is set in a smaller font. Returns the title's text artist."""
    lines = [textwrap.fill(line, _TITLE_CHARS, max_lines=3, placeholder=" …",
                           break_on_hyphens=False) for line in title.split("\n")]
    text = ax.set_title("\n".join(lines))
    renderer = FigureCanvasAgg(fig).get_renderer()
    width = fig.get_figwidth() * fig.dpi
    while True:
        fig.tight_layout()
        box = text.get_window_extent(renderer)
        if (box.x0 >= 0 and box.x1 <= width) or text.get_fontsize() <= _MIN_TITLE_POINTS:
            return text
        text.set_fontsize(text.get_fontsize() - 1)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    FigureCanvasAgg(fig)
    fig.savefig(tmp, dpi=_DPI, format="png")
    os.replace(tmp, path)
    return path


def ecdf_steps(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points of an empirical CDF drawn with ``step(where="post")``: it rises from 0 at
    the first value, so one job (or one value repeated) is a visible vertical step, not a
    lone point."""
    n = sorted_values.size
    if n == 0:
        return sorted_values.astype(np.float64), np.zeros(0)
    x = np.concatenate((sorted_values[:1], sorted_values))
    y = np.concatenate(([0.0], np.arange(1, n + 1) / n))
    return x, y


def plot_jct_cdf(jct_s: Mapping[str, np.ndarray], path: Path, title: str = "") -> Path:
    """Empirical CDF of job completion times (hours, log scale), one line per policy."""
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    for name, values in jct_s.items():
        v = np.sort(np.asarray(values, dtype=np.float64))
        v = v[np.isfinite(v) & (v > 0)]
        if v.size == 0:
            continue
        x, y = ecdf_steps(v / 3600.0)
        ax.step(x, y, where="post", label=f"{name} (n={v.size})")
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (h)")
    ax.set_ylabel("fraction of finished jobs")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(loc="lower right", fontsize="small")
    fit_title(fig, ax, title or "JCT CDF")
    return _save(fig, path)


def plot_timeseries(series: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                    path: Path, title: str = "") -> Path:
    """GPU allocation (%) and queue length over time (days), one line per policy.

    ``series[name] = (t_s, busy_fraction, queued_count)``.
    """
    fig = Figure(figsize=(7.0, 5.2))
    util_ax, queue_ax = fig.subplots(2, 1, sharex=True)
    for name, (t, busy, queued) in series.items():
        days = np.asarray(t, dtype=np.float64) / 86400.0
        util_ax.step(days, 100.0 * np.asarray(busy), where="post", label=name)
        queue_ax.step(days, np.asarray(queued), where="post", label=name)
    util_ax.set_ylabel("GPUs allocated (%)")
    util_ax.set_ylim(0, 105)
    queue_ax.set_ylabel("jobs waiting")
    queue_ax.set_xlabel("simulated time (days)")
    for ax in (util_ax, queue_ax):
        ax.grid(True, alpha=0.3)
    if util_ax.lines:
        util_ax.legend(loc="lower right", fontsize="small")
    fit_title(fig, util_ax, title or "utilisation and queue length")
    return _save(fig, path)
