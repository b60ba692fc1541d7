"""Terminal views of a run: the rich Live dashboard, headless progress, the summary table.

The dashboard is a subscriber of the event log: everything it shows is folded from the
work events, request batches and samples as they are appended; the engine does not know
it exists (DESIGN principle 6). Per-rack utilisation is drawn as a
strip of coloured cells (one per rack, or per group of racks on large sites).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from emulator.build import Simulation
from emulator.eventlog import Ev, EventLog, Sample
from emulator.failure_metrics import failure_rows
from emulator.request_stats import RequestStats
from emulator.units import format_duration, format_power

__all__ = ["Dashboard", "summary_table"]

_MAX_CELLS = 384
_CELLS_PER_LINE = 96


def _util_style(u: float) -> str:
    if u < 0.02:
        return "grey30"
    if u < 0.5:
        return "green"
    if u < 0.85:
        return "yellow"
    return "red"


def _bar(fraction: float, width: int = 30) -> Text:
    f = min(max(fraction, 0.0), 1.2)
    filled = round(min(f, 1.0) * width)
    style = "green" if f < 0.8 else "yellow" if f <= 1.0 else "bold red"
    return Text("█" * filled + "░" * (width - filled), style=style)


class LiveCounts:
    """What the dashboard shows, kept up to date by subscribing to the event log.

    Queued work and GPUs held per tenant, running work, and requests served and within
    their SLO per tenant are all folded from the log's work events and request batches
    as they are appended; nothing is read from the engine's state.
    """

    def __init__(self, log: EventLog, tenant_of_service: dict[int, int]) -> None:
        n = len(log.tenants)
        self.log = log
        self.queued = [0] * n
        self.gpus = [0] * n
        self.running = 0
        self.busy_gpus = 0
        self.served = [0] * n
        self.met = [0] * n
        self.events = 0
        self._tenant_of_service = tenant_of_service
        self._running_ids: set[int] = set()
        self._held_ids: set[int] = set()  # interrupted by a failure, not yet requeued
        log.subscribe_work(self._on_work)
        log.subscribe_requests(self._on_requests)

    def _on_work(self, row: int) -> None:
        log = self.log
        kind, tenant, gpus = log.work_kind[row], log.work_tenant[row], log.work_gpus[row]
        wid = log.work_id[row]
        self.events += 1
        if kind == Ev.SUBMIT:
            self.queued[tenant] += 1
        elif kind == Ev.START:
            self.queued[tenant] -= 1
            self._hold(wid, tenant, gpus, +1)
        elif kind == Ev.PREEMPT:
            self._hold(wid, tenant, gpus, -1)
            self.queued[tenant] += 1
        elif kind in (Ev.FINISH, Ev.LOST):
            self._hold(wid, tenant, gpus, -1)
        elif kind == Ev.INTERRUPT:
            self._hold(wid, tenant, gpus, -1)
            self._held_ids.add(wid)
        elif kind == Ev.REQUEUE:
            self._held_ids.discard(wid)
            self.queued[tenant] += 1
        elif kind in (Ev.REJECT, Ev.CANCEL):
            self.queued[tenant] -= 1
        elif kind == Ev.TRUNCATE:
            if wid in self._running_ids:
                self._hold(wid, tenant, gpus, -1)
            elif wid in self._held_ids:
                self._held_ids.discard(wid)
            else:
                self.queued[tenant] -= 1

    def _hold(self, wid: int, tenant: int, gpus: int, sign: int) -> None:
        self.gpus[tenant] += sign * gpus
        self.busy_gpus += sign * gpus
        self.running += sign
        if sign > 0:
            self._running_ids.add(wid)
        else:
            self._running_ids.discard(wid)

    def _on_requests(self, service: int, stats: RequestStats) -> None:
        tenant = self._tenant_of_service[service]
        self.served[tenant] += stats.count
        self.met[tenant] += stats.slo_met


class Dashboard:
    """Builds one frame of the live view; a subscriber of the simulation's event log."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.last: Sample | None = None
        tenants = {t: i for i, t in enumerate(sim.log.tenants)}
        services = {w.work_id: tenants[w.tenant] for w in sim.works if w.kind == "inference"}
        self.counts = LiveCounts(sim.log, services)
        sim.log.subscribe(self._on_sample)

    def _on_sample(self, sample: Sample) -> None:
        self.last = sample

    def _rack_strip(self, rack_util: np.ndarray) -> Text:
        n = rack_util.size
        if n > _MAX_CELLS:
            edges = np.linspace(0, n, _MAX_CELLS + 1).astype(int)
            cells = np.add.reduceat(rack_util, edges[:-1]) / np.diff(edges)
        else:
            cells = rack_util
        text = Text()
        for i, u in enumerate(cells.tolist()):
            if i and i % _CELLS_PER_LINE == 0:
                text.append("\n")
            text.append("■", style=_util_style(u))
        return text

    def frame(self) -> Panel:
        """The current frame."""
        sim = self.sim
        sc = sim.loaded.scenario
        now = sim.env.now
        counts = self.counts
        speed = now / sim.wall_s if sim.wall_s > 0 else 0.0
        header = Text.assemble(
            (f"{sc.name}", "bold"), f"  seed {sc.seed}  ",
            (f"t = {format_duration(now)} / {format_duration(sim.horizon_s)}", "cyan"),
            f"  speed {speed:,.0f}x  ",
            f"backend {sim.backend.name} ({sim.backend.device})  ",
            f"policy {sc.scheduler.queue}/{sc.scheduler.placement}")
        sample = self.last
        parts: list[Any] = [header]
        if sample is not None and sample.rack_util is not None:
            racks = sim.index.n_racks
            label = f"rack utilisation ({racks} racks" + (
                f", {racks / min(racks, _MAX_CELLS):.1f} per cell)" if racks > _MAX_CELLS
                else ")")
            parts += [Text(label, style="dim"), self._rack_strip(sample.rack_util)]
        power = Table.grid(padding=(0, 1))
        if sample is not None:
            for i, site in enumerate(sim.loaded.sites):
                cap = site.grid_connection
                fac = float(sample.facility_w[i])
                power.add_row(Text(site.name, style="bold"), _bar(fac / cap),
                              f"{format_power(fac)} / {format_power(cap)} facility",
                              f"IT {format_power(float(sample.it_w[i]))}")
        parts.append(power)
        tenants = Table(box=None, header_style="bold", pad_edge=False)
        for col in ("tenant", "queued", "GPUs held", "requests", "SLO met"):
            tenants.add_column(col, justify="left" if col == "tenant" else "right")
        for i, t in enumerate(sim.log.tenants):
            served = counts.served[i]
            slo = f"{100 * counts.met[i] / served:.1f}%" if served else "—"
            tenants.add_row(t, str(counts.queued[i]), f"{counts.gpus[i]:,}", f"{served:,}", slo)
        busy = counts.busy_gpus
        footer = Text(f"running {counts.running}  GPUs busy {busy:,}/{sim.index.n_gpus:,} "
                      f"({100 * busy / max(sim.index.n_gpus, 1):.1f}%)  "
                      f"events {counts.events:,}")
        parts += [tenants, footer]
        return Panel(Group(*parts), title="gpuemu", border_style="blue")


def _fmt(v: float | None, scale: float = 1.0, unit: str = "") -> str:
    return "—" if v is None else f"{v * scale:,.3g}{unit}"


def summary_table(summary: dict[str, Any]) -> Group:
    """The final summary as rich tables: training, inference, sites (fits 80 columns)."""
    tenants = summary["tenants"]
    t = Table(title=f"{summary['scenario']}: training", header_style="bold")
    for col in ("tenant", "done/sub", "JCT mean h", "JCT p99 h", "wait mean h", "wait p99 h",
                "GPU share"):
        t.add_column(col, justify="right")
    for name, ten in tenants.items():
        if ten["jobs"]["submitted"] == 0 and ten["services"] == 0:
            continue
        t.add_row(name, f"{ten['jobs']['finished']}/{ten['jobs']['submitted']}",
                  _fmt(ten["jct_s"]["mean"], 1 / 3600), _fmt(ten["jct_s"]["p99"], 1 / 3600),
                  _fmt(ten["wait_s"]["mean"], 1 / 3600), _fmt(ten["wait_s"]["p99"], 1 / 3600),
                  f"{100 * ten['gpu_share']:.1f}%")
    parts: list[Any] = [t]
    served = {k: v for k, v in tenants.items() if v["requests"]["count"]}
    if served:
        r = Table(title="inference", header_style="bold")
        for col in ("tenant", "requests", "TTFT p50 s", "TTFT p99 s", "TPOT p50 ms",
                    "TPOT p99 ms", "SLO met"):
            r.add_column(col, justify="right")
        for name, ten in served.items():
            req = ten["requests"]
            slo = req["slo_attainment"]
            r.add_row(name, f"{req['count']:,}", _fmt(req["ttft_s"]["p50"]),
                      _fmt(req["ttft_s"]["p99"]), _fmt(req["tpot_s"]["p50"], 1000),
                      _fmt(req["tpot_s"]["p99"], 1000),
                      "—" if slo is None else f"{100 * slo:.2f}%")
        parts.append(r)
    s = Table(title="sites", header_style="bold")
    for col in ("site", "GPUs", "IT MWh", "facility MWh", "peak MW", "grid MW", "cap MW",
                "over cap h"):
        s.add_column(col, justify="right")
    for site in summary["sites"]:
        # peak MW in red above the grid connection; over-cap hours in red when non-zero.
        peak = Text(f"{site['peak_facility_mw']:.2f}",
                    style="" if site["peak_within_grid_connection"] else "bold red")
        cap = site.get("power_cap_mw")
        over_h = site.get("over_cap_s", 0.0) / 3600.0
        s.add_row(site["name"], f"{site['gpus']:,}", f"{site['it_energy_mwh']:,.1f}",
                  f"{site['facility_energy_mwh']:,.1f}", peak,
                  f"{site['grid_connection_mw']:.2f}",
                  "—" if cap is None else f"{cap:.2f}",
                  Text(f"{over_h:,.2f}", style="bold red" if over_h > 0 else ""))
    parts.append(s)
    if summary.get("failures"):
        f = Table(title="failures", header_style="bold")
        f.add_column("", justify="left")
        f.add_column("", justify="right")
        for label, value in failure_rows(summary["failures"]):
            f.add_row(label, value)
        parts.append(f)
    with_energy = [site for site in summary["sites"] if site.get("energy")]
    if with_energy:
        e = Table(title="energy", header_style="bold")
        for col in ("site", "PUE", "renewable", "import MWh", "export MWh", "curtailed MWh",
                    "t CO2e", "cost", "water m3"):
            e.add_column(col, justify="right")
        for site in with_energy:
            en = site["energy"]
            cost = en.get("cost_usd")
            e.add_row(site["name"], f"{en.get('mean_pue', float('nan')):.2f}",
                      f"{100 * en.get('renewable_share', 0.0):.1f}%",
                      f"{en.get('grid_import_mwh', 0.0):,.1f}",
                      f"{en.get('grid_export_mwh', 0.0):,.1f}",
                      f"{en.get('curtailed_mwh', 0.0):,.1f}",
                      f"{en.get('carbon_t', 0.0):,.1f}",
                      "—" if cost is None else f"${cost:,.0f}",
                      f"{en.get('water_m3', 0.0):,.1f}")
        parts.append(e)
    parts.append(Text(f"GPU allocation {100 * summary['gpu_allocation_util']:.1f}%  "
                      f"compute util {100 * summary['gpu_compute_util']:.1f}%  "
                      f"jobs rejected {summary['jobs']['rejected']}, "
                      f"training jobs cut off at the horizon {summary['jobs']['truncated']}"))
    return Group(*parts)
