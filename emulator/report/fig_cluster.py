"""Cluster figures: utilisation per rack over time, queues and waits per tenant, and a
Gantt chart of jobs on NVLink domains.

The heat map reads the ``rack_util`` table (kept for sites up to 256 racks, or with
``output.rack_series``); the queue panel the per-tenant ``queued_*`` columns of the
timeseries table; the waits the jobs table; the Gantt chart the runs of each work on each
NVLink domain from the events and placements tables (:mod:`emulator.report.segments`).
Large runs are bounded: the heat map is averaged down to at most :data:`MAX_RACK_ROWS`
rows and ``MAX_POINTS`` columns, the wait scatter keeps an even stride of jobs, and the
Gantt chart shows the :data:`MAX_DOMAINS` busiest domains and its :data:`MAX_BARS` longest
segments, saying so in the caption.
"""

from __future__ import annotations

import numpy as np

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
from emulator.report.segments import job_segments
from emulator.units import time_unit

__all__ = ["MAX_BARS", "MAX_DOMAINS", "MAX_RACK_ROWS", "gantt_figure", "queue_figure",
           "rack_heatmap_figure"]

MAX_RACK_ROWS = 256
MAX_DOMAINS = 96
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


def gantt_figure(data: RunData) -> Figure:
    """Each job's runs as bars on the NVLink domains it held, coloured by tenant."""
    slug, title = "gantt", "Jobs on NVLink domains (Gantt)"
    if not data.has("placements") or not data.has("events"):
        return omitted(slug, title, "the run has no events or placements table")
    seg = job_segments(data)
    if seg.size == 0:
        return omitted(slug, title, "no work was ever placed")
    jobs = data.columns("jobs", ["work_id", "tenant"])
    tenant_of = dict(zip(jobs["work_id"].tolist(), jobs["tenant"].tolist(), strict=True))
    busy = np.bincount(seg.domain, weights=(seg.end_s - seg.start_s) * seg.gpus)
    domains = np.flatnonzero(busy > 0) if busy.size else np.empty(0, np.int64)
    notes: list[str] = []
    if domains.size > MAX_DOMAINS:
        domains = np.sort(domains[np.argsort(-busy[domains], kind="stable")[:MAX_DOMAINS]])
        notes.append(f"the {MAX_DOMAINS} busiest of {np.count_nonzero(busy)} domains used")
    keep = np.flatnonzero(np.isin(seg.domain, domains))
    if keep.size > MAX_BARS:
        longest = np.argsort(-(seg.end_s[keep] - seg.start_s[keep]), kind="stable")
        keep = np.sort(keep[longest[:MAX_BARS]])
        notes.append(f"the {MAX_BARS:,} longest bars")
    row = np.searchsorted(domains, seg.domain[keep])
    scale, xlabel = time_axis(data)
    fig = new_figure(9.0, min(2.0 + 0.12 * domains.size, 10.0))
    ax = fig.add_subplot()
    tenants = np.array([tenant_of.get(int(w), "?") for w in seg.work_id[keep]], dtype=object)
    for tenant in sorted(set(tenants.tolist())):
        sel = tenants == tenant
        ax.barh(row[sel], (seg.end_s[keep][sel] - seg.start_s[keep][sel]) / scale,
                left=seg.start_s[keep][sel] / scale, height=0.8, label=tenant,
                color=tenant_colour(data, tenant),
                edgecolor="white", linewidth=0.3)
    ax.set_yticks(np.arange(domains.size), [str(d) for d in domains.tolist()],
                  fontsize="xx-small" if domains.size > 24 else "small")
    ax.set_ylabel("NVLink domain")
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, data.horizon_s / scale)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize="x-small", loc="upper right")
    caption = (f"{seg.size:,} (run, domain) segments of {len(set(seg.work_id.tolist())):,} "
               "works, from the event log's starts, stops and placements.")
    if notes:
        caption += " Shown: " + "; ".join(notes) + "."
    return Figure(slug, title, caption, png(fig))
