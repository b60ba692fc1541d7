"""What every report figure shares: its record, the PNG canvas, the time axis, shading.

A figure builder returns a :class:`Figure`: a PNG (bytes) with its title and caption, or
no PNG and a ``note`` saying why it was left out (the run did not record what it needs).
Figures are drawn on their own :class:`matplotlib.figure.Figure` with the Agg canvas (no
pyplot global state, no display needed). Long series are reduced to at most
:data:`MAX_POINTS` bins before drawing, so a month-long run at a fine sampling interval
draws as fast as a day-long one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from emulator.report.rundata import RunData
from emulator.report.segments import Outage
from emulator.units import time_unit

__all__ = ["MAX_POINTS", "Figure", "bin_mean", "new_figure", "omitted", "png", "shade",
           "tenant_colour", "time_axis"]

MAX_POINTS = 1500
"""Most points a line of a report figure is drawn with (longer series are binned)."""

_DPI = 100


@dataclass(frozen=True)
class Figure:
    """One report figure: ``png`` bytes, or ``None`` with a ``note`` saying why not."""

    slug: str
    title: str
    caption: str = ""
    png: bytes | None = None
    note: str = ""


def omitted(slug: str, title: str, why: str) -> Figure:
    """A figure left out of the report, with the reason shown in its place."""
    return Figure(slug=slug, title=title, note=why)


def new_figure(width: float = 9.0, height: float = 4.0) -> MplFigure:
    """A figure on its own Agg canvas (inches)."""
    fig = MplFigure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def png(fig: MplFigure) -> bytes:
    """``fig`` as PNG bytes (tight layout)."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


def time_axis(data: RunData) -> tuple[float, str]:
    """(seconds per axis unit, axis label) for plots over the run's whole horizon."""
    unit, size = time_unit(max(data.horizon_s, 1.0))
    if unit in ("ms", "µs"):
        unit, size = "s", 1.0
    when = data.start.strftime("%Y-%m-%d %H:%M UTC")
    return size, f"time since {when} ({unit})"


def bin_mean(t: np.ndarray, values: np.ndarray, horizon_s: float,
             max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(bin start times, mean value per bin) with at most ``max_points`` bins.

    Series already short enough come back as they are. Empty bins are dropped.
    """
    t = np.asarray(t, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if t.size <= max_points:
        return t, values
    edges = np.linspace(0.0, max(horizon_s, float(t.max())) * (1 + 1e-12), max_points + 1)
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, max_points - 1)
    counts = np.bincount(which, minlength=max_points)
    sums = np.bincount(which, weights=values, minlength=max_points)
    keep = counts > 0
    return edges[:-1][keep], sums[keep] / counts[keep]


_SHADES = {"cable": ("tab:blue", "cable cut"), "gpus": ("tab:red", "GPUs down (failure)"),
           "maintenance": ("tab:orange", "maintenance")}


def shade(ax: Axes, spans: Sequence[Outage], scale: float) -> list[str]:
    """Shade each outage on ``ax`` (x in units of ``scale`` s); return legend labels used.

    GPUs taken down with a label naming maintenance are shaded as maintenance, other
    GPU outages as failures, cable cuts on their own colour. Overlapping spans of one
    colour are drawn as their union, so two racks drained together do not read darker
    than one.
    """
    used: list[str] = []
    by_shade: dict[str, list[tuple[float, float]]] = {}
    for o in spans:
        kind = "maintenance" if o.kind == "gpus" and "maint" in o.label.lower() else o.kind
        by_shade.setdefault(kind, []).append((o.start_s, o.end_s))
    for kind, intervals in by_shade.items():
        colour, label = _SHADES[kind]
        for start, end in _union(intervals):
            ax.axvspan(start / scale, end / scale, color=colour, alpha=0.15,
                       label=None if label in used else label)
            if label not in used:
                used.append(label)
    return used


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of ``intervals`` as disjoint, sorted intervals."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def tenant_colour(data: RunData, tenant: str) -> str:
    """One colour per tenant, the same in every figure (its order in the summary)."""
    names = list(data.summary.get("tenants", {}))
    index = names.index(tenant) if tenant in names else len(names)
    return f"C{index % 10}"
