"""Latency figures: TTFT and TPOT p50/p99 over time with outages shaded; JCT CDF.

TTFT/TPOT read the per-request table (``output.requests``); requests are grouped by
arrival into at most :data:`MAX_TIME_BINS` bins and each bin's p50 and p99 are exact
(one sort of all requests, by bin then value). Unreachable requests have no TTFT: they
are left out of the percentiles and counted per bin in a panel of their own, as the
summary counts them as SLO misses. Cable cuts, GPU failures and maintenance from the
infrastructure table are shaded. The JCT CDF reads finished training jobs from the jobs
table, in the time unit their magnitude picks.
"""

from __future__ import annotations

import numpy as np

from emulator.plots import ecdf_steps
from emulator.report.figure import Figure, new_figure, omitted, png, shade, tenant_colour, time_axis
from emulator.report.rundata import RunData
from emulator.report.segments import outages
from emulator.units import time_unit

__all__ = ["MAX_TIME_BINS", "binned_percentiles", "jct_cdf_figure", "latency_figure"]

MAX_TIME_BINS = 240


def binned_percentiles(t: np.ndarray, values: np.ndarray, edges: np.ndarray,
                       quantiles: tuple[float, ...] = (0.5, 0.99)) -> np.ndarray:
    """Exact quantiles of ``values`` per bin of ``t`` (NaN values and empty bins: NaN).

    Returns an array (len(quantiles), len(edges) - 1); quantiles by linear interpolation
    between order statistics, as :func:`numpy.percentile`. Values are grouped by bin with
    one stable sort of the bin numbers (arrival times come nearly sorted), then each bin
    selects only the order statistics it needs (:func:`numpy.partition`, linear time).
    """
    n_bins = edges.size - 1
    out = np.full((len(quantiles), n_bins), np.nan)
    ok = ~np.isnan(values)
    t, values = t[ok], values[ok]
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, n_bins - 1)
    grouped = values[np.argsort(which, kind="stable")]
    counts = np.bincount(which, minlength=n_bins)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for b in np.flatnonzero(counts).tolist():
        seg = grouped[first[b]:first[b] + counts[b]]
        pos = [q * (seg.size - 1) for q in quantiles]
        ks = sorted({int(np.floor(p)) for p in pos} | {min(int(np.floor(p)) + 1, seg.size - 1)
                                                        for p in pos})
        part = np.partition(seg, ks)
        for i, p in enumerate(pos):
            lo = int(np.floor(p))
            hi = min(lo + 1, seg.size - 1)
            out[i, b] = part[lo] + (part[hi] - part[lo]) * (p - lo)
    return out


def latency_figure(data: RunData) -> Figure:
    """TTFT and TPOT p50/p99 per time bin, outages shaded, unreachable requests counted."""
    slug, title = "latency", "TTFT and TPOT over time"
    if not data.has("requests"):
        served = data.summary.get("requests", {}).get("count", 0)
        why = ("the run served no inference requests" if not served else
               "the run did not write per-request rows (output.requests: false); the "
               "summary still has whole-run percentiles")
        return omitted(slug, title, why)
    r = data.columns("requests", ["arrival_s", "wait_s", "ttft_s", "tpot_s"])
    if r["arrival_s"].size == 0:
        return omitted(slug, title, "the run served no inference requests")
    n_bins = min(MAX_TIME_BINS, max(10, int(np.sqrt(r["arrival_s"].size))))
    edges = np.linspace(0.0, max(data.horizon_s, float(r["arrival_s"].max())), n_bins + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    lost = np.isnan(r["wait_s"])  # origin cut off (requests unfinished at the end are not)
    spans = outages(data)
    scale, xlabel = time_axis(data)
    panels = 3 if lost.any() else 2
    fig = new_figure(9.0, 2.4 * panels + 0.6)
    axes = fig.subplots(panels, 1, sharex=True)
    for ax, name, label in ((axes[0], "ttft_s", "TTFT"), (axes[1], "tpot_s", "TPOT")):
        q = binned_percentiles(r["arrival_s"], r[name], edges)
        finite = q[np.isfinite(q)]
        unit, size = time_unit(float(finite.max()) if finite.size else 0.0)
        ax.plot(centres / scale, q[0] / size, color="tab:blue", lw=1.2, label=f"{label} p50")
        ax.plot(centres / scale, q[1] / size, color="tab:red", lw=1.2, label=f"{label} p99")
        for target in sorted(_targets(data, name)):
            ax.axhline(target / size, color="black", ls="--", lw=0.8,
                       label=f"{label} SLO" if not ax.get_legend_handles_labels()[1][2:]
                       else None)
        ax.set_ylabel(f"{label} ({unit})")
        if finite.size and finite.min() > 0 and finite.max() / finite.min() > 20:
            ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    if lost.any():
        counts = np.histogram(r["arrival_s"][lost], bins=edges)[0]
        axes[2].bar(edges[:-1] / scale, counts, width=np.diff(edges) / scale, align="edge",
                    color="tab:gray")
        axes[2].set_ylabel("unreachable")
        axes[2].grid(True, alpha=0.3)
    shaded: list[str] = []
    for ax in axes:
        shaded = shade(ax, spans, scale)
    axes[0].legend(fontsize="x-small", loc="upper left", ncol=3)
    axes[1].legend(fontsize="x-small", loc="upper left", ncol=2)
    axes[-1].set_xlabel(xlabel)
    caption = (f"{r['arrival_s'].size:,} requests by arrival time in {n_bins} bins "
               f"({(edges[1] - edges[0]) / 60:.3g} min each); exact p50/p99 per bin.")
    if lost.any():
        caption += (f" {int(lost.sum()):,} unreachable requests have no TTFT: left out of "
                    "the percentiles, counted in the bottom panel and as SLO misses.")
    caption += (" Shaded: " + ", ".join(shaded) + "."
                if spans else " No cable cut, failure or maintenance in this run.")
    return Figure(slug, title, caption, png(fig))


def _targets(data: RunData, name: str) -> set[float]:
    """Distinct SLO objectives (s) for ``name`` (``ttft_s``/``tpot_s``) over all tenants."""
    found: set[float] = set()
    for tenant in data.summary.get("tenants", {}).values():
        for target in tenant.get("requests", {}).get("slo_targets", []):
            if np.isfinite(target.get(name, np.inf)):
                found.add(float(target[name]))
    return found


def jct_cdf_figure(data: RunData) -> Figure:
    """Empirical CDF of finished training jobs' completion times, one line per tenant."""
    slug, title = "jct", "Job completion time CDF per tenant"
    jobs = data.columns("jobs", ["kind", "tenant", "jct_s"])
    if not jobs:
        return omitted(slug, title, "the run has no jobs table")
    done = (jobs["kind"] == "training") & np.isfinite(jobs["jct_s"]) & (jobs["jct_s"] > 0)
    if not done.any():
        return omitted(slug, title, "no training job finished within the run")
    unit, size = time_unit(float(np.median(jobs["jct_s"][done])))
    fig = new_figure(9.0, 3.8)
    ax = fig.add_subplot()
    for tenant in sorted(set(jobs["tenant"][done].tolist())):
        v = np.sort(jobs["jct_s"][done & (jobs["tenant"] == tenant)])
        x, y = ecdf_steps(v / size)
        ax.step(x, y, where="post", label=f"{tenant} (n={v.size})",
                color=tenant_colour(data, tenant))
    ax.set_xscale("log")
    ax.set_xlabel(f"job completion time, submit to finish ({unit})")
    ax.set_ylabel("fraction of finished jobs")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="x-small", loc="lower right")
    unfinished = int(((jobs["kind"] == "training") & ~done).sum())
    caption = f"{int(done.sum()):,} finished training jobs."
    if unfinished:
        caption += (f" {unfinished:,} did not finish (cut off at the horizon, rejected or "
                    "cancelled) and are not in the CDF.")
    return Figure(slug, title, caption, png(fig))
