"""Terminal views of a run: the rich Live dashboard, headless progress, the summary table.

The dashboard is a subscriber of the event log: everything it shows is folded from the
work events, request batches and samples as they are appended; the engine does not know
it exists (DESIGN principle 6). Per-rack utilisation is drawn as a
strip of coloured cells (one per rack, or per group of racks on large sites).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from emulator.build import Simulation
from emulator.eventlog import Ev, EventLog, Sample
from emulator.request_stats import RequestStats
from emulator.summary_table import summary_table
from emulator.units import format_adaptive_duration, format_duration, format_power

__all__ = ["Dashboard", "legend", "summary_table"]

_MAX_CELLS = 384
RECENT_S = 3600.0
"""Window of the dashboard's live TTFT p99 (simulated seconds)."""
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

    def __init__(self, log: EventLog, tenant_of_service: dict[int, int],
                 clock: Callable[[], float] = lambda: 0.0,
                 first_replica_id: int | None = None) -> None:
        """``first_replica_id``: the first work id made during the run (work from it on is
        an autoscaled replica, part of its service: neither a training job nor a
        service of its own); ``None``: none is told apart."""
        n = len(log.tenants)
        self._clock = clock
        self._recent: deque[tuple[float, int, RequestStats]] = deque()
        self.log = log
        self.queued = [0] * n
        self.gpus = [0] * n
        self.running = 0
        self.running_services = 0
        self.running_replicas = 0  # autoscaled replicas holding GPUs
        self._first_replica = first_replica_id
        self.busy_gpus = 0
        self.served = [0] * n
        self.met = [0] * n
        self.requests = [RequestStats() for _ in range(n)]  # since the start, per tenant
        self.events = 0
        self.cut_off = 0  # work cut off by the end of the run (truncated)
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
            if wid in self._held_ids:  # a service's base work going on at once on the
                # replicas a failure spared (Core.regroup): it never re-entered the queue
                self._held_ids.discard(wid)
            else:
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
            # Truncations close the run at its end (horizon or --until): the work was
            # still running or queued when the run stopped, and the last frame shows that
            # state rather than an emptied cluster.
            self.cut_off += 1
            self._held_ids.discard(wid)  # held by a failure when the run stopped

    @property
    def running_jobs(self) -> int:
        """Training jobs holding GPUs now (running work that is neither an inference
        service nor one of its autoscaled replicas)."""
        return self.running - self.running_services - self.running_replicas

    def _hold(self, wid: int, tenant: int, gpus: int, sign: int) -> None:
        self.gpus[tenant] += sign * gpus
        self.busy_gpus += sign * gpus
        self.running += sign
        if wid in self._tenant_of_service:
            self.running_services += sign
        elif self._first_replica is not None and wid >= self._first_replica:
            self.running_replicas += sign
        if sign > 0:
            self._running_ids.add(wid)
        else:
            self._running_ids.discard(wid)

    def _on_requests(self, service: int, stats: RequestStats) -> None:
        tenant = self._tenant_of_service[service]
        self.served[tenant] += stats.count
        self.met[tenant] += stats.slo_met
        self.requests[tenant].merge(stats)
        now = self._clock()
        self._recent.append((now, tenant, stats))
        while self._recent[0][0] < now - RECENT_S:  # bounded whether or not frames are drawn
            self._recent.popleft()

    def recent_ttft_p99(self, window_s: float = RECENT_S) -> list[float | None]:
        """Per tenant: TTFT p99 (s) of the requests reported in the last ``window_s``
        simulated seconds (``None`` where there were none), so a cable cut or an overload
        shows while it lasts instead of being diluted in the whole run."""
        now = self._clock()
        while self._recent and self._recent[0][0] < now - window_s:
            self._recent.popleft()
        merged: dict[int, RequestStats] = {}
        for _, tenant, stats in self._recent:
            merged.setdefault(tenant, RequestStats()).merge(stats)
        return [merged[i].stats("ttft_s")["p99"] if i in merged else None
                for i in range(len(self.requests))]


class Dashboard:
    """Builds one frame of the live view; a subscriber of the simulation's event log."""

    def __init__(self, sim: Simulation, until_s: float | None = None,
                 overlay: Any = None) -> None:
        self.sim = sim
        self.end_s = sim.horizon_s if until_s is None else min(until_s, sim.horizon_s)
        self.overlay = overlay  # rack marks and panels (emulator.rehearsal.view), or None
        self.last: Sample | None = None
        tenants = {t: i for i, t in enumerate(sim.log.tenants)}
        services = {w.work_id: tenants[w.tenant] for w in sim.works.others
                    if w.kind == "inference"}
        self.counts = LiveCounts(sim.log, services, clock=lambda: sim.env.now,
                                 first_replica_id=len(sim.works))
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
        marks = self.overlay.cell_marks(n, cells.size) if self.overlay is not None else {}
        text = Text()
        for i, u in enumerate(cells.tolist()):
            if i and i % _CELLS_PER_LINE == 0:
                text.append("\n")
            char, style = marks.get(i, ("■", _util_style(u)))
            text.append(char, style=style)
        return text

    def _energy_rows(self) -> Table | None:
        """Renewable power, grid import, price and carbon of each site with an energy
        model, from the log's latest energy sample (``None`` without one)."""
        log = self.sim.log
        if not log.energy:
            return None
        e = log.energy[-1]
        rows = Table.grid(padding=(0, 2))
        model = self.sim.ops.energy if self.sim.ops is not None else None
        units = model.currency if model is not None else None
        for i, site in enumerate(log.sites):
            unit = units[i] if units is not None and i < len(units) else ""
            rows.add_row(Text(site, style="bold"),
                         f"solar+wind {format_power(float(e.renewable_w[i]))}",
                         f"import {format_power(float(e.import_w[i]))}",
                         f"export {format_power(float(e.export_w[i]))}",
                         f"price {1000 * float(e.price[i]):,.1f} {unit}/MWh",
                         f"carbon {float(e.carbon[i]):,.0f} g/kWh")
        return rows

    def frame(self) -> Panel:
        """The current frame."""
        sim = self.sim
        sc = sim.loaded.scenario
        now = sim.env.now
        counts = self.counts
        speed = now / sim.wall_s if sim.wall_s > 0 else 0.0
        stop = (f" (--until; scenario {format_duration(sim.horizon_s)})"
                if self.end_s < sim.horizon_s else "")
        when = (sc.start + dt.timedelta(seconds=now)).strftime("%Y-%m-%d %H:%M UTC")
        header = Text.assemble(
            (f"{sc.name}", "bold"), f"  seed {sc.seed}  ",
            (f"t = {format_duration(now)} / {format_duration(self.end_s)}{stop}", "cyan"),
            f"  {when}  speed {speed:,.0f}x  ",
            f"backend {sim.backend.name} ({sim.backend.device})  ",
            f"policy {sc.scheduler.queue}/{sc.scheduler.placement}")
        sample = self.last
        parts: list[Any] = [header]
        if sample is not None and sample.rack_util is not None:
            racks = sim.index.n_racks
            label = f"rack utilisation ({racks} racks" + (
                f", {racks / min(racks, _MAX_CELLS):.1f} per cell)" if racks > _MAX_CELLS
                else ")")
            parts += [Text.assemble((label, "dim"), "  ", legend()),
                      self._rack_strip(sample.rack_util)]
        power = Table.grid(padding=(0, 1))
        if sample is not None:
            for i, site in enumerate(sim.loaded.sites):
                cap = site.grid_connection
                fac = float(sample.facility_w[i])
                power.add_row(Text(site.name, style="bold"), _bar(fac / cap),
                              f"{format_power(fac)} / {format_power(cap)} facility",
                              f"IT {format_power(float(sample.it_w[i]))}")
        parts.append(power)
        energy = self._energy_rows()
        if energy is not None:
            parts.append(energy)
        tenants = Table(box=None, header_style="bold", pad_edge=False)
        for col in ("tenant", "queued", "GPUs held", "requests", "TTFT p99 (last hour)",
                    "SLO met"):
            tenants.add_column(col, justify="left" if col == "tenant" else "right")
        recent = counts.recent_ttft_p99()
        for i, t in enumerate(sim.log.tenants):
            served = counts.served[i]
            slo = f"{100 * counts.met[i] / served:.1f}%" if served else "—"
            tenants.add_row(t, str(counts.queued[i]), f"{counts.gpus[i]:,}", f"{served:,}",
                            format_adaptive_duration(recent[i]), slo)
        busy = counts.busy_gpus
        footer = Text(f"running {counts.running_jobs} training job(s), "
                      f"{counts.running_services} inference service(s)"
                      + (f" (+{counts.running_replicas} autoscaled replica(s))"
                         if counts.running_replicas else "") + "  "
                      f"GPUs busy {busy:,}/{sim.index.n_gpus:,} "
                      f"({100 * busy / max(sim.index.n_gpus, 1):.1f}%)  "
                      f"work events {counts.events:,}"
                      + (f"  (run stopped: {counts.cut_off:,} work item(s) cut off)"
                         if counts.cut_off else ""))
        parts += [tenants, footer]
        if self.overlay is not None:
            parts += self.overlay.panels()
        return Panel(Group(*parts), title="gpuemu", border_style="blue")


def legend() -> Text:
    """Colour key of the rack strip (mean compute utilisation of a rack)."""
    text = Text()
    for style, label in (("grey30", "idle <2%"), ("green", "<50%"), ("yellow", "<85%"),
                         ("red", "≥85%")):
        text.append("■", style=style)
        text.append(f" {label}  ", style="dim")
    return text
