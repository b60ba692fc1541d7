"""Cluster figures: utilisation per rack over time, queues and waits per tenant, and a
Gantt chart of jobs on NVLink domains.

The heat map reads the ``rack_util`` table (kept for sites up to 256 racks, or with
``output.rack_series``); the queue panel the per-tenant ``queued_*`` columns of the
timeseries table; the waits the jobs table; the Gantt chart the runs of each work on each
NVLink domain from the events and placements tables (:mod:`emulator.report.segments`).
Large runs are bounded: the heat map is averaged down to at most :data:`MAX_RACK_ROWS`
rows and ``MAX_POINTS`` columns, the wait scatter keeps an even stride of jobs, and the
Gantt chart gives work sharing a domain at once a row (lane) each, shows the busiest
domains up to :data:`MAX_ROWS` rows and its :data:`MAX_BARS` longest segments, saying so
in the caption.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes

from emulator.report.figure import (
    MAX_POINTS,
    Figure,
    bin_mean,
    new_figure,
    omitted,
    png,
    tenant_colour,
    time_axis,
)
from emulator.report.rundata import RunData
from emulator.report.segments import Segments, job_segments, lanes
from emulator.units import time_unit

__all__ = ["MAX_BARS", "MAX_RACK_ROWS", "MAX_ROWS", "GanttLayout", "gantt_figure",
           "gantt_layout", "queue_figure", "rack_heatmap_figure"]

MAX_RACK_ROWS = 256
MAX_ROWS = 96
"""Most rows of the Gantt chart (lanes of the busiest NVLink domains)."""
MAX_BARS = 20_000
_MAX_WAIT_POINTS = 20_000
_COLUMNS = 400


def rack_heatmap_figure(data: RunData) -> Figure:
    """Mean compute utilisation of each rack over time (a heat map, 0..100 %)."""
    slug, title = "racks", "Utilisation per rack over time"
    if not data.has("rack_util"):
        return omitted(slug, title, "the run kept no per-rack samples (sites of more than "
                                    "256 racks keep them only with output.rack_series: "
                                    "true)")
    r = data.columns("rack_util", ["t_s", "rack", "util"])
    if r["t_s"].size == 0:
        return omitted(slug, title, "the run took no samples")
    times = np.unique(r["t_s"])
    n_racks = int(r["rack"].max()) + 1
    col = np.searchsorted(times, r["t_s"])
    grid = np.full((n_racks, times.size), np.nan, dtype=np.float64)
    grid[r["rack"].astype(np.int64), col] = r["util"]
    grid = _shrink(_shrink(grid, _COLUMNS, axis=1), MAX_RACK_ROWS, axis=0)
    scale, xlabel = time_axis(data)
    fig = new_figure(9.0, 3.2 + min(n_racks, 64) * 0.03)
    ax = fig.add_subplot()
    image = ax.imshow(100 * grid, aspect="auto", origin="lower", cmap="viridis", vmin=0,
                      vmax=100, interpolation="nearest",
                      extent=(0, data.horizon_s / scale, -0.5, n_racks - 0.5))
    fig.colorbar(image, ax=ax, label="compute utilisation (%)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rack (topology order)")
    caption = f"{n_racks} racks, {times.size} samples"
    if grid.shape != (n_racks, times.size):
        caption += f", averaged to {grid.shape[0]} rows × {grid.shape[1]} columns"
    return Figure(slug, title, caption + ".", png(fig))


def _shrink(grid: np.ndarray, most: int, axis: int) -> np.ndarray:
    """Average ``grid`` along ``axis`` into at most ``most`` equal groups (NaN ignored)."""
    n = grid.shape[axis]
    if n <= most:
        return grid
    edges = np.linspace(0, n, most + 1).astype(int)
    moved = np.moveaxis(grid, axis, 0)
    filled = np.nan_to_num(moved)
    counts = np.add.reduceat(~np.isnan(moved), edges[:-1], axis=0)
    sums = np.add.reduceat(filled, edges[:-1], axis=0)
    with np.errstate(invalid="ignore"):
        return np.moveaxis(sums / np.where(counts > 0, counts, np.nan), 0, axis)


def queue_figure(data: RunData) -> Figure:
    """Jobs waiting per tenant over time, and each training job's wait by submit time."""
    slug, title = "queues", "Queue length and wait per tenant"
    ts = data.columns("timeseries")
    jobs = data.columns("jobs", ["kind", "tenant", "submit_s", "wait_s"])
    if not ts or not jobs:
        return omitted(slug, title, "the run has no timeseries or jobs table")
    first_site = ts["site"] == ts["site"][0] if ts["site"].size else np.zeros(0, bool)
    scale, xlabel = time_axis(data)
    fig = new_figure(9.0, 5.6)
    ax_q, ax_w = fig.subplots(2, 1, sharex=True)
    tenants = [k[len("queued_"):] for k in ts if k.startswith("queued_")]
    for tenant in tenants:
        bt, v = bin_mean(ts["t_s"][first_site], ts[f"queued_{tenant}"][first_site],
                         data.horizon_s, MAX_POINTS)
        ax_q.step(bt / scale, v, where="post", label=tenant,
                  color=tenant_colour(data, tenant))
    ax_q.set_ylabel("work waiting")
    ax_q.grid(True, alpha=0.3)
    if ax_q.lines:
        ax_q.legend(fontsize="x-small", loc="upper left")
    train = (jobs["kind"] == "training") & np.isfinite(jobs["wait_s"])
    waits = jobs["wait_s"][train]
    unit, size = time_unit(float(np.nanmax(waits)) if waits.size else 0.0)
    stride = max(1, int(np.ceil(train.sum() / _MAX_WAIT_POINTS)))
    for tenant in sorted(set(jobs["tenant"][train].tolist())):
        sel = np.flatnonzero(train & (jobs["tenant"] == tenant))[::stride]
        ax_w.scatter(jobs["submit_s"][sel] / scale, jobs["wait_s"][sel] / size, s=8,
                     label=tenant, alpha=0.7, color=tenant_colour(data, tenant))
    ax_w.set_ylabel(f"wait before start ({unit})")
    ax_w.set_xlabel(xlabel)
    ax_w.grid(True, alpha=0.3)
    if waits.size:
        ax_w.legend(fontsize="x-small", loc="upper left")
    caption = ("Top: queued work per tenant at each sample (interval means when binned). "
               f"Bottom: wait of each training job that started, at its submit time "
               f"({int(train.sum())} jobs")
    caption += f", every {stride}th shown)." if stride > 1 else ")."
    never = int(((jobs["kind"] == "training") & ~np.isfinite(jobs["wait_s"])).sum())
    if never:
        caption += f" {never} job(s) never started and have no wait to plot."
    return Figure(slug, title, caption, png(fig))


@dataclass(frozen=True)
class GanttLayout:
    """Which segments the Gantt chart draws and on which row.

    One row per lane of an NVLink domain (:func:`~emulator.report.segments.lanes`): work
    sharing a domain at once gets a row each, so no bar hides another. ``keep`` indexes
    the segments drawn, ``row`` is each one's row; ``domain_of_row`` and ``first_of_row``
    (a domain's first lane) label the axis; ``notes`` say what is left out.
    """

    keep: np.ndarray
    row: np.ndarray
    domain_of_row: np.ndarray
    first_of_row: np.ndarray
    notes: list[str]

    @property
    def rows(self) -> int:
        """Number of rows (lanes) drawn."""
        return int(self.domain_of_row.size)


def gantt_layout(seg: Segments, max_rows: int = MAX_ROWS,
                 max_bars: int = MAX_BARS) -> GanttLayout:
    """The rows of the Gantt chart: the busiest domains (GPU-seconds held) with all their
    lanes, up to ``max_rows`` rows, and the ``max_bars`` longest bars in them."""
    lane = lanes(seg.domain, seg.start_s, seg.end_s)
    busy = np.bincount(seg.domain, weights=(seg.end_s - seg.start_s) * seg.gpus)
    n_lanes = np.zeros(busy.size, dtype=np.int64)
    np.maximum.at(n_lanes, seg.domain, lane + 1)
    used = np.flatnonzero(busy > 0)
    if used.size == 0:
        none = np.empty(0, dtype=np.int64)
        return GanttLayout(none, none, none, none.astype(bool), [])
    by_busy = used[np.argsort(-busy[used], kind="stable")]
    take = max(1, int(np.searchsorted(np.cumsum(n_lanes[by_busy]), max_rows, "right")))
    domains = np.sort(by_busy[:take])
    shown = np.minimum(n_lanes[domains], max_rows)  # only a lone domain can be cut
    notes: list[str] = []
    if take < used.size:
        notes.append(f"the {take} busiest of {used.size} domains used, in {shown.sum()} rows")
    if shown.sum() < n_lanes[domains].sum():
        notes.append(f"{shown.sum()} of domain {domains[0]}'s {n_lanes[domains[0]]} lanes")
    pos = np.minimum(np.searchsorted(domains, seg.domain), domains.size - 1)
    first = np.r_[0, np.cumsum(shown)[:-1]]
    keep = np.flatnonzero((domains[pos] == seg.domain) & (lane < shown[pos])
                          & (busy[seg.domain] > 0))
    if keep.size > max_bars:
        longest = np.argsort(-(seg.end_s[keep] - seg.start_s[keep]), kind="stable")
        keep = np.sort(keep[longest[:max_bars]])
        notes.append(f"the {max_bars:,} longest bars")
    domain_of_row = np.repeat(domains, shown)
    first_of_row = np.zeros(domain_of_row.size, dtype=bool)
    first_of_row[first] = True
    return GanttLayout(keep=keep, row=first[pos[keep]] + lane[keep],
                       domain_of_row=domain_of_row, first_of_row=first_of_row, notes=notes)


def gantt_figure(data: RunData) -> Figure:
    """Each job's runs as bars on the NVLink domains it held, coloured by tenant; jobs
    sharing a domain at once on their own rows (lanes) of it."""
    slug, title = "gantt", "Jobs on NVLink domains (Gantt)"
    if not data.has("placements") or not data.has("events"):
        return omitted(slug, title, "the run has no events or placements table")
    seg = job_segments(data)
    if seg.size == 0:
        return omitted(slug, title, "no work was ever placed")
    jobs = data.columns("jobs", ["work_id", "tenant"])
    tenant_of = dict(zip(jobs["work_id"].tolist(), jobs["tenant"].tolist(), strict=True))
    layout = gantt_layout(seg)
    if layout.rows == 0:
        return omitted(slug, title, "no work held GPUs for any length of time")
    keep, row = layout.keep, layout.row
    scale, xlabel = time_axis(data)
    fig = new_figure(9.0, min(2.0 + 0.1 * layout.rows, 12.0))
    ax = fig.add_subplot()
    tenants = np.array([tenant_of.get(int(w), "?") for w in seg.work_id[keep]], dtype=object)
    for tenant in sorted(set(tenants.tolist())):
        sel = tenants == tenant
        ax.barh(row[sel], (seg.end_s[keep][sel] - seg.start_s[keep][sel]) / scale,
                left=seg.start_s[keep][sel] / scale, height=0.8, label=tenant,
                color=tenant_colour(data, tenant),
                edgecolor="white", linewidth=0.3)
    _label_domains(ax, layout)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, data.horizon_s / scale)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize="x-small", loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False,
              ncol=min(len(set(tenants.tolist())), 6))  # above the bars, hiding none
    shared = layout.rows - int(layout.first_of_row.sum())
    caption = (f"{seg.size:,} (run, domain) segments of {len(set(seg.work_id.tolist())):,} "
               "works, from the event log's starts, stops and placements; one row per "
               "NVLink domain, and one more for each job sharing it at once "
               f"({shared} such rows).")
    if layout.notes:
        caption += " Shown: " + "; ".join(layout.notes) + "."
    return Figure(slug, title, caption, png(fig))


def _label_domains(ax: Axes, layout: GanttLayout) -> None:
    """Domain numbers on each domain's first row; a faint line between domains."""
    firsts = np.flatnonzero(layout.first_of_row)
    n_domains = firsts.size
    ax.set_yticks(firsts, [str(d) for d in layout.domain_of_row[firsts].tolist()],
                  fontsize="xx-small" if n_domains > 24 else "small")
    for r in firsts[1:].tolist():
        ax.axhline(r - 0.5, color="0.85", lw=0.4)
    ax.set_ylim(layout.rows - 0.5, -0.5)  # the first domain on top, its lanes below it
    ax.set_ylabel("NVLink domain (rows below a number: its lanes)")
